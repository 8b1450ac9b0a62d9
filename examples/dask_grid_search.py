"""A grid search spread over a Dask cluster (a local one by default).
==================================================================

GridSearchCV runs its fits through joblib; joblib's "dask" backend sends
them to the cluster's workers. On a real cluster pass the scheduler's
address, and start one worker per GPU (``dask cuda worker`` from dask-cuda
does that), each with one thread.

    python examples/dask_grid_search.py [--quick] [--scheduler tcp://host:8786]
"""

import argparse
import time

from distributed import Client, LocalCluster
from joblib import parallel_config
from sklearn.model_selection import GridSearchCV

from skdigits import KerasMLPClassifier
from skdigits.datasets import load_mnist


def main(argv=None):
    parser = argparse.ArgumentParser(description="A grid search on a Dask cluster")
    parser.add_argument("--quick", action="store_true", help="2,000 images")
    parser.add_argument("--scheduler", default=None, help="a running scheduler")
    args = parser.parse_args(argv)
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
        client = Client(LocalCluster(n_workers=2, threads_per_worker=1))
    with client:
        print(f"Dask workers: {len(client.scheduler_info()['workers'])}")
        start = time.perf_counter()
        with parallel_config(backend="dask"):
            search.fit(X, y)
        print(f"Searched 4 candidates x 2 folds in {time.perf_counter() - start:.0f} s")
    print(
        f"Best {search.best_params_}: test accuracy {search.score(X_test, y_test):.4f}"
    )


if __name__ == "__main__":
    main()
