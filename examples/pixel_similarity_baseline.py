"""
fast.ai's pixel-similarity baseline
===================================

The "MNIST basics" baseline: average every training image of a digit into
an "ideal" digit, then call a new image the digit whose ideal it is closest
to (mean absolute or squared pixel distance): scikit-learn's
``NearestCentroid``. First 3s against 7s, as in the lesson, then all ten
digits, beside a linear model, the 2LR MLP and the default CNN.
``--quick`` trains on 5,000 images for 2 epochs.
"""

# %%
# The ideal digits
# ----------------
# Each class's mean image is the baseline's whole model.
import argparse

import numpy as np

from skdigits.datasets import load_mnist
from skdigits.plotting import plot_digits

parser = argparse.ArgumentParser(description="fast.ai's pixel-similarity baseline")
parser.add_argument("--quick", action="store_true", help="5,000 images, 2 epochs")
parser.add_argument("--show", action="store_true", help="show the plots")
args, _ = parser.parse_known_args()
epochs = 2 if args.quick else 10

X, y = load_mnist("train", return_X_y=True)
X_test, y_test = load_mnist("test", return_X_y=True)
if args.quick:
    X, y = X[:5_000], y[:5_000]
digits = np.unique(y)
fig = plot_digits(np.stack([X[y == d].mean(axis=0) for d in digits]), digits)

# %%
# Baseline against learned models
# -------------------------------
import time

from sklearn.neighbors import NearestCentroid

from skdigits import KerasCNNClassifier, KerasMLPClassifier


def models():
    return [
        ("ideal digit, mean absolute distance", NearestCentroid(metric="manhattan")),
        ("ideal digit, squared distance", NearestCentroid()),
        ("linear model", KerasMLPClassifier((), epochs=epochs, random_state=0)),
        (
            "2LR MLP",
            KerasMLPClassifier.from_preset("2LR", epochs=epochs, random_state=0),
        ),
        ("default CNN", KerasCNNClassifier(epochs=epochs, random_state=0)),
    ]


scores = {}
for title, chosen in [("3s against 7s", [3, 7]), ("all ten digits", range(10))]:
    train, test = np.isin(y, list(chosen)), np.isin(y_test, list(chosen))
    print(f"\n{title}: {train.sum():,} training, {test.sum():,} test images")
    print("| model | test accuracy | seconds |\n|---|---:|---:|")
    for name, model in models():
        start = time.perf_counter()
        model.fit(X[train], y[train])
        seconds = time.perf_counter() - start
        scores[title, name] = model.score(X_test[test], y_test[test])
        print(f"| {name} | {scores[title, name]:.4f} | {seconds:.1f} |", flush=True)

# %%
# The baseline does well on 3s against 7s and far worse on ten digits,
# where learned features pay off.
import matplotlib.pyplot as plt

names = [name for name, _ in models()]
fig, ax = plt.subplots(figsize=(7, 3.5), constrained_layout=True)
for offset, title in ((-0.2, "3s against 7s"), (0.2, "all ten digits")):
    ax.barh(
        np.arange(len(names)) + offset,
        [scores[title, name] for name in names],
        height=0.4,
        label=title,
    )
ax.set_yticks(np.arange(len(names)), names)
ax.invert_yaxis()
ax.set_xlim(0.5, 1)
ax.set_xlabel("test accuracy")
ax.legend(loc="lower left")
if args.show:
    plt.show()
