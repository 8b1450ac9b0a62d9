"""
A grid search on a Dask cluster
===============================

``GridSearchCV`` runs its fits through joblib; joblib's "dask" backend sends
them to a cluster's workers (two local ones here). On a real
cluster pass the scheduler's address (``--scheduler tcp://host:8786``) and
start workers with one thread each. The result equals the ``n_jobs=1``
search for the same ``random_state``. ``--quick`` searches on 2,000 images.
"""

# %%
# The search, sent to the workers
# -------------------------------
import argparse
import time

from distributed import Client, LocalCluster
from joblib import parallel_config
from sklearn.model_selection import GridSearchCV

from skdigits import KerasMLPClassifier
from skdigits.datasets import load_mnist

parser = argparse.ArgumentParser(description="A grid search on a Dask cluster")
parser.add_argument("--quick", action="store_true", help="2,000 images")
parser.add_argument("--scheduler", default=None, help="a running scheduler")
parser.add_argument("--show", action="store_true", help="show the plots")
args, _ = parser.parse_known_args()
n_train = 2_000 if args.quick else 20_000

X, y = load_mnist(return_X_y=True)
X_test, y_test = load_mnist("test", return_X_y=True)
X, y = X[:n_train], y[:n_train]
search = GridSearchCV(
    KerasMLPClassifier(epochs=3 if args.quick else 10, random_state=0),
    {"hidden_layer_sizes": [(32,), (128,)], "learning_rate": [1e-3, 3e-3]},
    cv=2,
)
if args.scheduler:
    client = Client(args.scheduler)
else:
    # Two workers in this process (processes=False): a cluster of worker
    # processes re-runs the script in each, which a script with no
    # __main__ guard cannot allow; a real cluster's workers are elsewhere.
    client = Client(LocalCluster(n_workers=2, threads_per_worker=1, processes=False))
with client:
    workers = len(client.scheduler_info()["workers"])
    start = time.perf_counter()
    with parallel_config(backend="dask"):
        search.fit(X, y)
    seconds = time.perf_counter() - start
print(f"{workers} Dask workers searched 4 candidates x 2 folds in {seconds:.0f} s")
print(f"Best {search.best_params_}: test accuracy {search.score(X_test, y_test):.4f}")

# %%
# What each candidate scored, fold by fold: the workers' results, gathered
# back into ``cv_results_`` as a local search would have them.
import matplotlib.pyplot as plt
import numpy as np

results = search.cv_results_
labels = [
    f"{p['hidden_layer_sizes']}, lr {p['learning_rate']:g}" for p in results["params"]
]
fig, ax = plt.subplots(figsize=(6, 3), constrained_layout=True)
for fold in range(2):
    ax.scatter(
        results[f"split{fold}_test_score"],
        np.arange(len(labels)),
        label=f"fold {fold + 1}",
    )
ax.set_yticks(np.arange(len(labels)), labels)
ax.set_xlabel("accuracy on the held-out fold")
ax.legend()
if args.show:
    plt.show()
