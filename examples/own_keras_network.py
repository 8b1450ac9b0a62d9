"""
Your own Keras network, trained the skdigits way
================================================

:class:`~skdigits.KerasClassifier` takes a Keras model, or a function that
builds one, and makes a scikit-learn estimator of it: the training rules,
``GridSearchCV`` over the network's own parameters, pickling, and fast
predictions, for a network that is not one of skdigits's presets.

Here the network is a small convolutional one of our own on MNIST, with
dropout before its output layer. Run it as a script (``python
examples/own_keras_network.py``); ``--quick`` trains on fewer images for
fewer epochs, as the documentation build does.
"""

# %%
# The data
# --------
# MNIST ships with skdigits: rows of 784 pixels in [0, 1].
import sys

from skdigits.datasets import load_mnist

QUICK = "--quick" in sys.argv
n_train = 5_000 if QUICK else 20_000
X, y = load_mnist("train", return_X_y=True)
X_test, y_test = load_mnist("test", return_X_y=True)
X, y = X[:n_train], y[:n_train]

# %%
# The network, as a model function
# --------------------------------
# The function's own parameters (``filters``, ``dropout``) become
# parameters of the estimator, routed as ``model__filters``; ``meta`` says
# what the data are. The network takes 28x28x1 images: the estimator
# reshapes the rows of 784 pixels for it.
import keras


def small_convnet(meta, filters=16, dropout=0.2):
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(filters, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(2 * filters, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dropout(dropout),
            keras.layers.Dense(meta["n_classes_"], activation="softmax"),
        ]
    )


# %%
# Training with the rules
# -----------------------
# The training rules are off by default in ``KerasClassifier`` (the network
# trains as Keras's ``fit`` would train it); here the learning rate drops on
# a plateau of the validation accuracy and the best epoch's weights are
# kept. A 10% hold-out is monitored.
from skdigits import KerasClassifier
from skdigits.plotting import plot_history

clf = KerasClassifier(
    small_convnet,
    model__filters=16,
    learning_rate=3e-3,
    epochs=3 if QUICK else 10,
    validation_fraction=0.1,
    lr_patience=2,
    lr_factor=0.3,
    restore_best_weights=True,
    random_state=0,
)
clf.fit(X, y)
print(
    f"Test accuracy {clf.score(X_test, y_test):.4f} after {clf.n_iter_} epochs "
    f"(best epoch {clf.best_epoch_}, stopped: {clf.stop_reason_})"
)
fig = plot_history(clf)

# %%
# Tuning the network's own parameters
# -----------------------------------
# ``model__filters`` and ``model__dropout`` are ordinary estimator
# parameters: ``GridSearchCV`` sets them on clones, and each candidate
# trains the epochs it asks for. Fits of one architecture reuse its
# compiled training steps.
from sklearn.model_selection import GridSearchCV

search = GridSearchCV(
    clf.set_params(epochs=3 if QUICK else 5, restore_best_weights=False),
    {"model__filters": [8, 16], "model__dropout": [0.0, 0.2]},
    cv=2,
)
search.fit(X[: n_train // 2], y[: n_train // 2])
for params, score in zip(
    search.cv_results_["params"], search.cv_results_["mean_test_score"], strict=True
):
    print(f"  cross-validated accuracy {score:.4f}  {params}")

# %%
# Saving, and predicting one drawing at a time
# --------------------------------------------
# The network travels in Keras's own ``.keras`` format inside the pickle;
# a loaded model answers a single image in about a millisecond.
import pickle
import statistics
import time

best = pickle.loads(pickle.dumps(search.best_estimator_))
times = []
for image in X_test[:20]:
    start = time.perf_counter()
    best.predict_proba(image[None])
    times.append(time.perf_counter() - start)
print(
    f"Best {search.best_params_}: test accuracy {best.score(X_test, y_test):.4f}; "
    f"one image answered in {1e3 * statistics.median(times):.1f} ms (median of 20)"
)
