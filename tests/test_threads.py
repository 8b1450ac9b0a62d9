"""Each worker's TensorFlow gets its share of the cores, and stays quiet."""

import os
import subprocess
import sys
import textwrap

import joblib
import pytest
from joblib import Parallel, delayed

from skdigits import _threads


@pytest.mark.parametrize(
    ("environ", "dask_threads", "expected"),
    [
        ({}, None, None),  # the main process: TensorFlow's default
        ({"OMP_NUM_THREADS": "4"}, None, 4),  # a loky worker, or the user
        ({"OMP_NUM_THREADS": " 3 "}, None, 3),
        ({"OMP_NUM_THREADS": "0"}, None, None),
        ({"OMP_NUM_THREADS": "many"}, None, None),
        ({"OMP_NUM_THREADS": "1"}, 2, 2),  # a Dask worker: its nanny's 1 loses
        ({"OMP_NUM_THREADS": "4", "TF_NUM_INTRAOP_THREADS": "7"}, None, None),
        ({"TF_NUM_INTRAOP_THREADS": "7"}, 2, None),
    ],
)
def test_share_rules(environ, dask_threads, expected):
    assert _threads.share(environ, dask_threads=dask_threads) == expected


def _pools():
    """(intra-op, inter-op) threads of this process's TensorFlow, after
    importing skdigits as a worker's first task does."""
    import skdigits._backend as backend

    config = backend.tf.config.threading
    return (
        config.get_intra_op_parallelism_threads(),
        config.get_inter_op_parallelism_threads(),
    )


@pytest.mark.slow  # four fresh workers import TensorFlow: about 15 s
def test_a_worker_on_16_cores_of_4_workers_gets_4_threads(monkeypatch):
    # joblib computes its workers' environment from cpu_count(): make this
    # machine report 16 cores, then start 4 workers as GridSearchCV would.
    from joblib import _parallel_backends

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(_parallel_backends, "cpu_count", lambda *a, **k: 16)
    pools = Parallel(n_jobs=4, backend="loky")(delayed(_pools)() for _ in range(8))
    assert set(pools) == {(4, 4)}


def test_two_workers_on_this_machine_share_its_cores(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    cores = joblib.cpu_count()
    pools = Parallel(n_jobs=2, backend="loky")(delayed(_pools)() for _ in range(2))
    share = max(cores // 2, 1)
    assert set(pools) == {(share, share)}


def _fresh(code, **env):
    environ = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    environ.update(env)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=environ,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


POOLS = """
import skdigits._backend as b
c = b.tf.config.threading
print(c.get_intra_op_parallelism_threads(), c.get_inter_op_parallelism_threads())
"""


def test_the_main_process_keeps_tensorflows_default():
    assert _fresh(POOLS).stdout.split() == ["0", "0"]


def test_explicit_settings_win():
    # TensorFlow reads these itself; skdigits sets nothing over them.
    done = _fresh(POOLS, OMP_NUM_THREADS="1", TF_NUM_INTRAOP_THREADS="2")
    assert done.stdout.split() == ["0", "0"]
    done = _fresh(
        textwrap.dedent(
            """
            import tensorflow as tf
            tf.config.threading.set_intra_op_parallelism_threads(2)
            tf.config.threading.set_inter_op_parallelism_threads(1)
            """
        )
        + POOLS,
        OMP_NUM_THREADS="1",
    )
    assert done.stdout.split() == ["2", "1"]


@pytest.mark.slow  # two workers import TensorFlow and train: about 30 s
def test_workers_are_quiet():
    # A search with n_jobs=2 prints nothing and warns nothing, in the main
    # process or in its workers (whose output reaches the same console).
    done = _fresh(
        """
        from sklearn.datasets import load_digits
        from sklearn.model_selection import GridSearchCV
        from skdigits import KerasMLPClassifier
        X, y = load_digits(return_X_y=True)
        GridSearchCV(
            KerasMLPClassifier(epochs=2, random_state=0),
            {"hidden_layer_sizes": [(8,), (16,)]},
            cv=2,
            n_jobs=2,
        ).fit(X[:400] / 16, y[:400])
        """,
        PYTHONWARNINGS="error",
    )
    assert done.stdout == "" and done.stderr == ""


def _fit_in_worker(X, y):
    """(this process's id, the trainers its cache held before a fit)."""
    from skdigits import KerasMLPClassifier, _engine

    cached = sum(len(trainers) for trainers in _engine._idle.values())
    KerasMLPClassifier(hidden_layer_sizes=(8,), epochs=1, random_state=0).fit(X, y)
    return os.getpid(), cached


@pytest.mark.slow  # two workers import TensorFlow: about 15 s
def test_a_second_search_finds_the_workers_warm(digits):
    # joblib keeps its loky workers between calls, and the trainers that the
    # first call's fits compiled stay cached in them: the second call's fits
    # reuse them instead of compiling again.
    X, _, y, _ = digits
    first = Parallel(n_jobs=2, backend="loky")(
        delayed(_fit_in_worker)(X, y) for _ in range(4)
    )
    second = Parallel(n_jobs=2, backend="loky")(
        delayed(_fit_in_worker)(X, y) for _ in range(4)
    )
    # Which worker runs which task is joblib's choice: one worker may have
    # run every task of the first call. The workers of the first call that
    # the second call used must have held trainers before its fits.
    workers = {pid for pid, _ in first}
    kept = [cached for pid, cached in second if pid in workers]
    assert kept, "the second call ran in new worker processes"
    assert all(cached >= 1 for cached in kept)
