"""
Tuning a Pipeline with GridSearchCV
===================================

A ``MinMaxScaler`` and a ``KerasMLPClassifier`` in a ``Pipeline``, tuned
by ``GridSearchCV`` over the width of the hidden layer and the learning
rate; the best model is pickled and reloaded. ``--quick`` searches on 2,000
MNIST images instead of 10,000; ``--n-jobs 2`` runs the fits in two
processes.
"""

# %%
# The data: raw MNIST pixels
# --------------------------
# ``scale=False`` keeps the 0-255 pixels, for the scaler to handle.
import argparse

from skdigits.datasets import load_mnist

parser = argparse.ArgumentParser(description="Tuning a Pipeline with GridSearchCV")
parser.add_argument("--quick", action="store_true", help="2,000 images")
parser.add_argument("--n-jobs", type=int, default=1)
parser.add_argument("--show", action="store_true", help="show the plots")
args, _ = parser.parse_known_args()
n_train = 2_000 if args.quick else 10_000

X, y = load_mnist("train", return_X_y=True, scale=False)
X_test, y_test = load_mnist("test", return_X_y=True, scale=False)
X, y = X[:n_train], y[:n_train]

# %%
# The search
# ----------
# Four candidates, two folds each. Fits of the same architecture reuse its
# compiled training steps, so the search costs little more than its epochs.
import time

from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skdigits import KerasMLPClassifier

pipe = make_pipeline(
    MinMaxScaler(),
    KerasMLPClassifier(epochs=3 if args.quick else 10, random_state=0),
)
grid = {
    "kerasmlpclassifier__hidden_layer_sizes": [(32,), (128,)],
    "kerasmlpclassifier__learning_rate": [1e-3, 3e-3],
}
search = GridSearchCV(pipe, grid, cv=2, n_jobs=args.n_jobs)
start = time.perf_counter()
search.fit(X, y)
print(
    f"Searched {len(search.cv_results_['params'])} candidates x 2 folds "
    f"in {time.perf_counter() - start:.0f} s (n_jobs={args.n_jobs})"
)
print(f"Best: {search.best_params_}")

# %%
# Each candidate's cross-validated accuracy, with its spread over the folds.
import matplotlib.pyplot as plt

results = search.cv_results_
labels = [
    f"{p['kerasmlpclassifier__hidden_layer_sizes']}, "
    f"lr {p['kerasmlpclassifier__learning_rate']:g}"
    for p in results["params"]
]
fig, ax = plt.subplots(figsize=(6, 3), constrained_layout=True)
ax.barh(labels, results["mean_test_score"], xerr=results["std_test_score"])
ax.set_xlim(min(results["mean_test_score"]) - 0.05, 1)
ax.set_xlabel("mean cross-validated accuracy")
ax.set_title("GridSearchCV over KerasMLPClassifier")

# %%
# The best model, pickled and reloaded
# ------------------------------------
# The network travels in Keras's ``.keras`` format inside the pickle: the
# reloaded pipeline predicts exactly as the original.
import pickle

best = pickle.loads(pickle.dumps(search.best_estimator_))
same = (best.predict(X_test) == search.best_estimator_.predict(X_test)).all()
print(
    f"Reloaded from a pickle: test accuracy {best.score(X_test, y_test):.4f}, "
    f"same predictions: {same}"
)
if args.show:
    plt.show()
