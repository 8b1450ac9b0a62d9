"""
Regression: a Keras MLP against scikit-learn's
===============================================

:class:`~skdigits.KerasMLPRegressor` is the MLP preset with a linear
output, and :class:`~skdigits.KerasRegressor` takes any Keras regression
model. Here both are cross-validated on scikit-learn's Friedman #1 problem
beside ``MLPRegressor()``, each with its defaults, and the test predictions
of one fold are plotted against the truth.

Run it as a script (``python examples/regression_mlp.py``); ``--quick``
uses fewer rows and folds, as the documentation build does.
"""

# %%
# The data
# --------
# ``make_friedman1``: 10 features, 5 of them informative, noise 1. The
# features and the target are standardised.
import sys
import warnings

import numpy as np
from sklearn.datasets import make_friedman1

QUICK = "--quick" in sys.argv
X, y = make_friedman1(n_samples=400 if QUICK else 1000, noise=1.0, random_state=0)
X = (X - X.mean(axis=0)) / X.std(axis=0)
y = (y - y.mean()) / y.std()

# %%
# Three regressors, their defaults
# --------------------------------
# The model function gives :class:`~skdigits.KerasRegressor` the network of
# ``MLPRegressor()``: 100 relu units, then one linear unit per target.
import keras
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.neural_network import MLPRegressor

from skdigits import KerasMLPRegressor, KerasRegressor


def mlp(meta, units=100):
    return keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dense(meta["n_outputs_"]),
        ]
    )


regressors = {
    "KerasMLPRegressor()": KerasMLPRegressor(random_state=0),
    "KerasRegressor(mlp)": KerasRegressor(mlp, random_state=0),
    "MLPRegressor()": MLPRegressor(random_state=0),
}
folds = KFold(2 if QUICK else 5, shuffle=True, random_state=0)
predictions = {}
for name, reg in regressors.items():
    with warnings.catch_warnings():  # MLPRegressor stops at max_iter
        warnings.simplefilter("ignore", ConvergenceWarning)
        predictions[name] = cross_val_predict(reg, X, y, cv=folds)
    r2 = 1 - np.mean((predictions[name] - y) ** 2) / np.var(y)
    print(f"{name:22s} cross-validated R² {r2:.3f}")

# %%
# Predictions against the truth
# -----------------------------
import matplotlib.pyplot as plt

fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), sharex=True, sharey=True)
for ax, (name, predicted) in zip(axes, predictions.items(), strict=True):
    ax.scatter(y, predicted, s=6, alpha=0.5)
    ax.plot([y.min(), y.max()], [y.min(), y.max()], color="black", lw=1)
    ax.set_title(name)
    ax.set_xlabel("true (standardised)")
axes[0].set_ylabel("cross-validated prediction")
fig.tight_layout()
plt.show()
