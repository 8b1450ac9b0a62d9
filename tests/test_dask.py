"""A hyperparameter search on Dask gives the n_jobs=1 result (slow: CI)."""

import os

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from skdigits import KerasMLPClassifier


@pytest.fixture
def restored_environ():
    """Put os.environ back after the test: starting a LocalCluster sets
    OMP_NUM_THREADS=1 (and MKL's) in this process for its workers, which
    every later subprocess of the test run would inherit (one TensorFlow
    thread there, two here: floats rounded differently)."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.mark.slow
def test_grid_search_on_local_dask_cluster(digits, restored_environ):
    distributed = pytest.importorskip("distributed")
    from joblib import parallel_config

    X, X_test, y, _ = digits
    X, y = X[:500], y[:500]

    def search():
        return GridSearchCV(
            KerasMLPClassifier(epochs=3, learning_rate=0.01, random_state=0),
            {"hidden_layer_sizes": [(8,), (16,)], "batch_size": [32, 64]},
            cv=2,
        )

    serial = search().fit(X, y)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        with parallel_config(backend="dask"):
            on_dask = search().fit(X, y)
        # The fits really ran in the two worker processes.
        assert len(client.scheduler_info()["workers"]) == 2
    np.testing.assert_array_equal(
        on_dask.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]
    )
    assert on_dask.best_params_ == serial.best_params_
    np.testing.assert_array_equal(
        on_dask.predict_proba(X_test), serial.predict_proba(X_test)
    )


@pytest.mark.slow
def test_a_dask_worker_shares_its_threads(restored_environ):
    # The nanny sets OMP_NUM_THREADS=1 in its worker, yet the worker runs
    # two tasks at once on one TensorFlow: its pools get both threads.
    distributed = pytest.importorskip("distributed")

    def pools():
        import skdigits._backend as backend

        config = backend.tf.config.threading
        omp = os.environ.get("OMP_NUM_THREADS")
        return (
            omp,
            config.get_intra_op_parallelism_threads(),
            config.get_inter_op_parallelism_threads(),
        )

    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        assert client.submit(pools, pure=False).result() == ("1", 2, 2)
