"""Write the pickles that test_release_pickles.py loads.

Run once with the release whose pickles must keep loading (skdigits at
commit 848eeb9, on the oldest versions of .ci/oldest.txt, so that newer
Keras versions read what the oldest wrote):

    python tests/scripts/make_release_pickles.py tests/data

Each pickle holds a fitted estimator and the predictions it made, which a
later release must reproduce after loading it.
"""

import pickle
import sys
from pathlib import Path

import keras
import numpy as np
from sklearn.datasets import load_digits

from skdigits import KerasClassifier, KerasCNNClassifier, KerasMLPClassifier


def main(folder):
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    X, y = X[:300], y[:300]
    given = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    estimators = {
        "mlp": KerasMLPClassifier((16,), epochs=3, random_state=0),
        "cnn": KerasCNNClassifier(epochs=1, random_state=0),
        "given": KerasClassifier(given, epochs=3, random_state=0),
    }
    for name, est in estimators.items():
        est.fit(X, y)
        record = {"estimator": est, "X": X[:20], "proba": est.predict_proba(X[:20])}
        Path(folder, f"release-0.2-{name}.pkl").write_bytes(pickle.dumps(record))


if __name__ == "__main__":
    main(sys.argv[1])
