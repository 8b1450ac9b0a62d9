"""skdigits against its peers: scikit-learn's MLPClassifier, parallel search,
peak memory and scaling. Every figure is measured side by side in one run.

- 2LR MLP epoch at batch 128, a whole 10-epoch fit, and 6,000 steps of
  batch 1, against ``MLPClassifier`` with the same layers, batch size and
  Adam rate;
- GridSearchCV of 8 candidates x 2 folds on 10,000 images, ``n_jobs=2``
  against ``n_jobs=1``, and the same ratio for SciKeras where it is
  installed (2 candidates x 2 folds, as in the issue's figure);
- peak resident memory of a CNN fit (one epoch), skdigits against raw
  Keras ``model.fit``, each in a fresh process;
- MLP fit time for 1k, 10k and 60k samples (one epoch each).

Writes ``bench_peers.md`` and ``bench_peers.json`` to ``--out``; ``--quick``
shrinks every workload for a smoke run.

    python benchmarks/bench_peers.py [--quick] [--out bench-results]
"""

import os
import subprocess
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _report import PEER_COLUMNS, bench_arguments, peer_row, write_report  # noqa: E402
from bench_core import EpochTimer, SciKerasClassifier, steady  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402

from skdigits import MLP_PRESETS, RULES_OFF, KerasMLPClassifier  # noqa: E402
from skdigits.datasets import load_mnist  # noqa: E402

# As MLPClassifier trains: every row, every epoch, the last weights.
NO_RULES = {**RULES_OFF, "validation_fraction": 0}


def scikeras_2lr():
    """The 2LR model for SciKeras (module level, so workers can unpickle it)."""
    from skdigits import build_mlp

    return build_mlp(784, 10, **MLP_PRESETS["2LR"], seed=0)


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def search_seconds(estimator, grid, X, y):
    """Wall seconds of a 2-fold GridSearchCV, by ``n_jobs`` (1 and 2)."""
    seconds = {}
    for n_jobs in (1, 2):
        search = GridSearchCV(estimator, grid, cv=2, n_jobs=n_jobs, refit=False)
        seconds[n_jobs] = timed(lambda s=search: s.fit(X, y))
    return seconds


def ours_2lr(batch_size, epochs):
    return KerasMLPClassifier(
        **MLP_PRESETS["2LR"],
        learning_rate=1e-3,  # MLPClassifier's learning_rate_init
        batch_size=batch_size,
        epochs=epochs,
        random_state=0,
        **NO_RULES,
    )


def sklearn_2lr(batch_size, epochs):
    return MLPClassifier(
        hidden_layer_sizes=(32,),
        solver="adam",
        learning_rate_init=1e-3,
        batch_size=batch_size,
        max_iter=epochs,
        shuffle=True,
        random_state=0,
        tol=0,
        n_iter_no_change=10**9,
    )


def ours_epoch_seconds(X, y, batch_size, epochs=10):
    """Median steady epoch of a normal multi-epoch fit (as users run it)."""
    est = ours_2lr(batch_size, epochs).set_params(callbacks=[EpochTimer()])
    est.fit(X, y)
    return steady(est.callbacks_[0].times)  # fit trains on a copy


def sklearn_epoch_seconds(X, y, batch_size):
    """(4 epochs - 1 epoch) / 3 after a warm-up fit, so set-up cancels out."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sklearn_2lr(batch_size, 1).fit(X, y)
        one = timed(lambda: sklearn_2lr(batch_size, 1).fit(X, y))
        four = timed(lambda: sklearn_2lr(batch_size, 4).fit(X, y))
    return (four - one) / 3


PEAK_CHILD = """
import os, sys, threading, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np, keras
from skdigits import KerasCNNClassifier, build_cnn
from skdigits.datasets import load_mnist

def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

X, y = load_mnist(return_X_y=True)
X, y = X[: int(sys.argv[2])].copy(), y[: int(sys.argv[2])].copy()
peak, done = [rss_mib()], threading.Event()

def watch():  # the high-water mark of the current RSS during the fit
    while not done.is_set():
        peak.append(rss_mib())
        time.sleep(0.005)

before = rss_mib()
watcher = threading.Thread(target=watch)
watcher.start()
try:  # a failed fit must still stop the watcher, or the child hangs
    if sys.argv[1] == "skdigits":
        KerasCNNClassifier(epochs=1, random_state=0).fit(X, y)
    else:
        from sklearn.model_selection import train_test_split
        # The same layers as the estimator's defaults build.
        params = KerasCNNClassifier().get_params()
        keys = ("filters", "kernel_size", "noise_std", "batch_norm", "shift")
        model = build_cnn((28, 28), 10, seed=0, **{k: params[k] for k in keys})
        model.compile(optimizer=keras.optimizers.Adam(3e-3),
                      loss="categorical_crossentropy", metrics=["accuracy"])
        tr, va = train_test_split(np.arange(len(X)), test_size=0.1, stratify=y,
                                  random_state=0)
        Y = np.eye(10, dtype="float32")[y]
        model.fit(X[tr], Y[tr], batch_size=128, epochs=1,
                  validation_data=(X[va], Y[va]), verbose=0)
finally:
    done.set()
watcher.join()
print(before, max(peak))
"""


def peak_memory_mb(which, n):
    """(RSS just before the fit, highest RSS during it) in MiB, in a fresh
    process fitting the CNN for one epoch."""
    out = subprocess.run(
        [sys.executable, "-c", PEAK_CHILD, which, str(n)],
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    ).stdout.split()
    return float(out[0]), float(out[1])


def main(argv=None):
    args = bench_arguments(__doc__, argv, "small workloads")
    q = args.quick

    X, y = load_mnist(return_X_y=True)
    rows = []

    def add(*args, **kwargs):
        rows.append(peer_row(*args, **kwargs))
        print(rows[-1], flush=True)

    n = 12_000 if q else 60_000
    add(
        f"2LR MLP epoch, batch 128, {n:,} rows",
        ours_epoch_seconds(X[:n], y[:n], 128),
        "MLPClassifier",
        sklearn_epoch_seconds(X[:n], y[:n], 128),
        "s",
        "ratio <= 1.0",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        add(
            f"2LR MLP, whole fit of 10 epochs at batch 128, {n:,} rows "
            "(set-up, tracing and compilation included)",
            timed(lambda: ours_2lr(128, 10).fit(X[:n], y[:n])),
            "MLPClassifier",
            timed(lambda: sklearn_2lr(128, 10).fit(X[:n], y[:n])),
            "s",
        )
    n_sgd = 1_000 if q else 6_000
    add(
        f"2LR MLP, {n_sgd:,} steps of batch 1",
        ours_epoch_seconds(X[:n_sgd], y[:n_sgd], 1, epochs=3),
        "MLPClassifier",
        sklearn_epoch_seconds(X[:n_sgd], y[:n_sgd], 1),
        "s",
        "ratio <= 1.0",
    )

    n_grid = 2_000 if q else 10_000
    grid = {
        "hidden_layer_sizes": [(32,), (64,)],
        "learning_rate": [1e-3, 3e-3],
        "batch_size": [64, 128],
    }
    search_times = search_seconds(
        KerasMLPClassifier(epochs=2 if q else 5, random_state=0),
        grid,
        X[:n_grid],
        y[:n_grid],
    )
    add(
        f"GridSearchCV 8 candidates x 2 folds, {n_grid:,} images: n_jobs=2 "
        "against n_jobs=1",
        search_times[2],
        "skdigits, n_jobs=1",
        search_times[1],
        "s",
        "ratio <= 0.75",
    )

    if SciKerasClassifier is not None:
        peer_times = search_seconds(
            SciKerasClassifier(
                model=scikeras_2lr,
                loss="categorical_crossentropy",
                optimizer="adam",
                epochs=2 if q else 5,
                batch_size=128,
                random_state=0,
                verbose=0,
            ),
            {"optimizer__learning_rate": [1e-3, 3e-3]},
            X[:n_grid],
            y[:n_grid],
        )
        add(
            f"SciKeras GridSearchCV 2 candidates x 2 folds, {n_grid:,} images: "
            "n_jobs=2 against n_jobs=1",
            peer_times[2],
            "SciKeras, n_jobs=1",
            peer_times[1],
            "s",
            "(peer's own ratio)",
        )

    n_mem = 10_000 if q else 60_000
    ours_before, ours_peak = peak_memory_mb("skdigits", n_mem)
    raw_before, raw_peak = peak_memory_mb("keras", n_mem)
    add(
        f"CNN fit on {n_mem:,} images: RSS growth during the fit",
        ours_peak - ours_before,
        "raw Keras model.fit",
        raw_peak - raw_before,
        "MiB",
        "ratio <= 1.5",
    )
    add(
        f"CNN fit on {n_mem:,} images: highest RSS during the fit",
        ours_peak,
        "raw Keras model.fit",
        raw_peak,
        "MiB",
    )

    sizes = (1_000, 5_000, 10_000) if q else (1_000, 10_000, 60_000)
    base = None
    for size in sizes:
        seconds = ours_epoch_seconds(X[:size], y[:size], 128, epochs=4)
        base = base or seconds / size
        add(
            f"2LR MLP epoch on {size:,} rows (scaling)",
            seconds,
            "linear from the smallest",
            base * size,
            "s",
        )

    write_report(
        args.out,
        "bench_peers",
        rows,
        PEER_COLUMNS,
        quick=q,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
