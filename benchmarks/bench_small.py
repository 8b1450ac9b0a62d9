"""Small data and short fits: what a scikit-learn user runs first.

Measured side by side in one run on this machine, against scikit-learn's
``MLPClassifier`` with its defaults:

- a default fit on ``load_digits`` (stratified 75/25 splits), seconds and
  test accuracy, the two alternating split by split; the first fit in the
  process (tracing and XLA compilation) is reported on its own row;
- a 1-epoch MLP fit on ``load_digits`` in a warm process, against raw Keras
  (``Sequential.fit`` of one epoch on a new model of the same layers) and
  ``MLPClassifier(max_iter=1)``;
- ``GridSearchCV`` of 6 candidates x 3 folds on ``load_digits``, each in a
  fresh process (imports and data loading not timed), 3 of each side,
  alternating, the median;
- a 2-epoch fit of the 2LR MLP on MNIST (batch 128, rate 1e-3, no hold-out),
  the first in the process, then the median of 9 more, alternating with
  ``MLPClassifier``'s;
- the first ``predict_proba`` of one row after ``fit``, and after unpickling
  in a fresh process, then the steady (median) figure, and the unpickling;
- resident memory over 50 default fits in one process.

Writes ``bench_small.md`` and ``bench_small.json`` to ``--out``; ``--quick``
shrinks every workload for a smoke run.

    python benchmarks/bench_small.py [--quick] [--out bench-results]
"""

import statistics
import sys
import time
import warnings

import numpy as np
from _report import (
    PEER_COLUMNS,
    after_unpickling,
    bench_arguments,
    child_json,
    peer_row,
    preset_network,
    write_report,
)
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from skdigits import MLP_PRESETS, RULES_OFF, KerasCNNClassifier, KerasMLPClassifier
from skdigits.datasets import load_mnist


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def digits_split(seed):
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16, y, test_size=0.25, random_state=seed, stratify=y)


def quiet_sklearn(fn):
    """MLPClassifier warns when it stops at max_iter; that is its default."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fn()


def default_fits(seeds):
    """Per split: (our seconds, our accuracy, sklearn seconds, accuracy)."""
    results = []
    for i, seed in enumerate(seeds):
        X, X_test, y, y_test = digits_split(seed)
        makers = {
            "ours": KerasMLPClassifier(random_state=seed),
            "peer": MLPClassifier(random_state=seed),
        }
        runs = {}
        # Alternate who goes first, so a slow stretch hits both alike.
        for name in ("ours", "peer")[:: 1 if i % 2 else -1]:
            est = makers[name]
            start = time.perf_counter()
            quiet_sklearn(lambda e=est, X=X, y=y: e.fit(X, y))
            seconds = time.perf_counter() - start
            runs[name] = (seconds, est.score(X_test, y_test))
        results.append((*runs["ours"], *runs["peer"]))
    return results


def one_epoch_fits(repeat):
    """Median seconds of a 1-epoch fit: ours, raw Keras, MLPClassifier."""
    X, _, y, _ = digits_split(0)
    Y = np.eye(10, dtype=np.float32)[y]
    est = KerasMLPClassifier(epochs=1, random_state=0)
    ours, raw, peer = [], [], []
    for i in range(repeat + 1):
        o, _ = timed(lambda i=i: est.set_params(random_state=i).fit(X, y))

        def keras_fit():
            model = preset_network(est, X.shape[1])
            model.compile(optimizer="adam", loss="categorical_crossentropy")
            model.fit(X, Y, batch_size=128, epochs=1, verbose=0)

        r, _ = timed(keras_fit)
        p, _ = timed(lambda: quiet_sklearn(lambda: MLPClassifier(max_iter=1).fit(X, y)))
        if i:  # the first round warms the process up
            ours.append(o), raw.append(r), peer.append(p)
    return statistics.median(ours), statistics.median(raw), statistics.median(peer)


SEARCH_CHILD = """
import json, sys, time, warnings
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier
from skdigits import KerasMLPClassifier

X, y = load_digits(return_X_y=True)
X = X / 16
sizes = [(64,), (128,), (256,)]
if sys.argv[1] == "skdigits":
    est = KerasMLPClassifier(random_state=0)
    grid = {"hidden_layer_sizes": sizes, "learning_rate": [1e-3, 5e-3]}
else:
    est = MLPClassifier(random_state=0)
    grid = {"hidden_layer_sizes": sizes, "learning_rate_init": [1e-3, 5e-3]}
warnings.simplefilter("ignore", ConvergenceWarning)
start = time.perf_counter()
search = GridSearchCV(est, grid, cv=3).fit(X, y)
print(json.dumps([time.perf_counter() - start, search.best_score_]))
"""


def search_in_fresh_process(which):
    return child_json(SEARCH_CHILD, which)


def two_epoch_2lr(n, rounds):
    """Seconds of 2-epoch fits: the first in the process, then ``rounds`` more
    of each side."""
    X, y = load_mnist(return_X_y=True)
    X, y = X[:n], y[:n]
    common = {"random_state": 0}
    ours = KerasMLPClassifier(
        **MLP_PRESETS["2LR"],
        learning_rate=1e-3,
        batch_size=128,
        epochs=2,
        validation_fraction=0,
        **RULES_OFF,
        **common,
    )
    peer = MLPClassifier(
        hidden_layer_sizes=(32,),
        batch_size=128,
        max_iter=2,
        tol=0,
        n_iter_no_change=10**9,
        **common,
    )
    ours_times, peer_times = [], []
    for _ in range(1 + rounds):  # interleaved, so that load falls on both
        ours_times.append(timed(lambda: ours.fit(X, y))[0])
        peer_times.append(timed(lambda: quiet_sklearn(lambda: peer.fit(X, y)))[0])
    return ours_times, peer_times


def first_predictions(Estimator, repeat=50):
    """(first after fit, steady, first after unpickling in a fresh process,
    steady there, the unpickling itself), in ms, for one row."""
    X, X_test, y, _ = digits_split(0)
    est = quiet_sklearn(lambda: Estimator(random_state=0).fit(X, y))
    row = X_test[:1]
    first, _ = timed(lambda: est.predict_proba(row))
    steady = statistics.median(
        timed(lambda: est.predict_proba(row))[0] for _ in range(repeat)
    )
    loaded = after_unpickling(
        est,
        row,
        imports="import sklearn.neural_network, skdigits, keras",
        calls=51,
    )
    return (first * 1e3, steady * 1e3, *loaded)


def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def memory_over_fits(n_fits):
    X, _, y, _ = digits_split(0)
    sizes = []
    for i in range(n_fits):
        KerasMLPClassifier(random_state=i).fit(X[:500], y[:500])
        sizes.append(rss_mib())
    return sizes


def main(argv=None):
    args = bench_arguments(__doc__, argv, "small workloads")
    q = args.quick
    rows = []

    def add(*args, **kwargs):
        rows.append(peer_row(*args, **kwargs))
        print(rows[-1], flush=True)

    # The first fit in the process traces and compiles: on its own row.
    X, X_test, y, y_test = digits_split(0)
    first, _ = timed(lambda: KerasMLPClassifier(random_state=0).fit(X, y))
    peer_first, _ = timed(
        lambda: quiet_sklearn(lambda: MLPClassifier(random_state=0).fit(X, y))
    )
    add(
        "load_digits, default fit, the first in a process (tracing, compiling)",
        first,
        "MLPClassifier()",
        peer_first,
        "s",
    )
    seeds = range(2) if q else range(5)
    fits = default_fits(seeds)
    add(
        f"load_digits, default fit, mean of {len(fits)} splits (warm process)",
        statistics.fmean(f[0] for f in fits),
        "MLPClassifier()",
        statistics.fmean(f[2] for f in fits),
        "s",
        "ratio <= 1.0",
        splits=fits,
    )
    add(
        f"load_digits, default fit, mean test accuracy of {len(fits)} splits",
        statistics.fmean(f[1] for f in fits),
        "MLPClassifier()",
        statistics.fmean(f[3] for f in fits),
        "accuracy",
        "ratio >= 1.0",
    )

    ours, raw, peer = one_epoch_fits(3 if q else 10)
    add(
        "load_digits, 1-epoch MLP fit (warm process), median",
        ours,
        "MLPClassifier(max_iter=1)",
        peer,
        "s",
        "<= 0.15 s",
        raw_keras=raw,
    )
    add("load_digits, 1-epoch MLP fit: raw Keras fit", ours, "raw Keras", raw, "s")

    searches = {"skdigits": [], "sklearn": []}
    for _ in range(1 if q else 3):  # alternating, so that load falls on both
        for which, results in searches.items():
            results.append(search_in_fresh_process(which))
    (ours_search, ours_score), (peer_search, peer_score) = (
        (statistics.median(t for t, _ in results), results[0][1])
        for results in searches.values()
    )
    add(
        "load_digits, GridSearchCV 6 candidates x 3 folds (fresh process), "
        f"median of {len(searches['skdigits'])}, alternating",
        ours_search,
        "MLPClassifier()",
        peer_search,
        "s",
        "ratio <= 1.0",
        best_score=ours_score,
        peer_best_score=peer_score,
        ours_searches=[t for t, _ in searches["skdigits"]],
        peer_searches=[t for t, _ in searches["sklearn"]],
    )
    add(
        "load_digits, that search's best cross-validated accuracy",
        ours_score,
        "MLPClassifier()",
        peer_score,
        "accuracy",
    )

    n = 12_000 if q else 60_000
    ours_2lr, peer_2lr = two_epoch_2lr(n, 2 if q else 9)
    add(
        f"2LR MLP, 2-epoch fit on {n:,} MNIST rows, the first in the process",
        ours_2lr[0],
        "MLPClassifier",
        peer_2lr[0],
        "s",
    )
    add(
        f"2LR MLP, 2-epoch fit on {n:,} MNIST rows, again: median of "
        f"{len(ours_2lr) - 1}, interleaved",
        statistics.median(ours_2lr[1:]),
        "MLPClassifier",
        statistics.median(peer_2lr[1:]),
        "s",
        "ratio <= 1.0",
        ours_fits=ours_2lr,
        peer_fits=peer_2lr,
    )

    # scikit-learn's first input check in a process discovers narwhals's
    # plugins (several ms): MLPClassifier pays it in its first prediction,
    # skdigits when it is unpickled (so the unpickling is a row too).
    peer_figures = first_predictions(MLPClassifier)
    for Estimator, limits in (
        (KerasMLPClassifier, ("<= 5 ms", "< 1 ms")),
        (KerasCNNClassifier, ("<= 20 ms", "< 2 ms")),
    ):
        name = Estimator.__name__
        after_fit, steady, after_load, steady_load, load = first_predictions(Estimator)
        peer_after_load, peer_load = peer_figures[2], peer_figures[4]
        add(
            f"{name}: first 1-row predict_proba after fit",
            after_fit,
            "",
            0,
            "ms",
            limits[0],
        )
        add(
            f"{name}: later 1-row predict_proba (median)",
            steady,
            "",
            0,
            "ms",
            limits[1],
        )
        add(
            f"{name}: first 1-row predict_proba after unpickling, fresh process",
            after_load,
            "MLPClassifier()",
            peer_after_load,
            "ms",
            limits[0],
        )
        add(f"{name}: later calls there (median)", steady_load, "", 0, "ms", limits[1])
        add(
            f"{name}: the unpickling itself, fresh process",
            load,
            "MLPClassifier()",
            peer_load,
            "ms",
        )

    n_fits = 20 if q else 50
    sizes = memory_over_fits(n_fits)
    add(
        f"RSS growth from fit 10 to fit {n_fits} (default MLP, 500 rows)",
        sizes[-1] - sizes[9],
        "",
        0,
        "MiB",
        "flat",
        rss=sizes,
    )

    write_report(
        args.out,
        "bench_small",
        rows,
        PEER_COLUMNS,
        quick=q,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
