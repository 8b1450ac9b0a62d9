"""Regression: KerasMLPRegressor and KerasRegressor against their peers.

Measured side by side in one run on this machine:

- ``KerasMLPRegressor()`` against scikit-learn's ``MLPRegressor()``, both
  with their defaults, on standardised ``load_diabetes`` (442 rows) and
  ``make_friedman1`` (1,000 rows, noise 1): features and target scaled to
  mean 0 and variance 1 on the whole set, then 5 shuffled folds (KFold,
  seed 0); per fold both fit on the same rows, who goes first alternating;
  the mean test R², and the median fit seconds (the mean too, which
  includes the first skdigits fit of the process, which compiles);
- ``KerasRegressor`` with no arguments but a model function (a Dense layer
  of 100 relu units, then one linear unit: ``MLPRegressor()``'s network)
  on the same folds, its R² against ``MLPRegressor()``'s;
- ``KerasRegressor`` against ``keras.wrappers.SKLearnRegressor`` (Keras
  3.8+) on that network, 30 epochs at batch 32 on all of standardised
  ``load_diabetes``: a fit (median of interleaved rounds after the first of
  each), one-row ``predict`` (steady, median), and ``GridSearchCV`` of 6
  candidates x 3 folds (units 32/64/128, epochs 10/20) each side in a fresh
  process (imports and data not timed), alternating, the median.

Writes ``bench_regression.md`` and ``bench_regression.json`` to ``--out``;
``--quick`` runs 2 folds and fewer rounds.

    python benchmarks/bench_regression.py [--quick] [--out bench-results]
"""

import os
import statistics
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from _report import (  # noqa: E402
    PEER_COLUMNS,
    bench_arguments,
    child_json,
    peer_row,
    write_report,
)
from sklearn.datasets import load_diabetes, make_friedman1  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.metrics import r2_score  # noqa: E402
from sklearn.model_selection import KFold  # noqa: E402
from sklearn.neural_network import MLPRegressor  # noqa: E402

from skdigits import KerasMLPRegressor, KerasRegressor  # noqa: E402

EPOCHS, BATCH = 30, 32


def standardised(X, y):
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    y = (y - y.mean()) / y.std()
    return X.astype(np.float32), y.astype(np.float32)


def datasets():
    friedman = make_friedman1(n_samples=1000, noise=1.0, random_state=0)
    return {
        "load_diabetes": standardised(*load_diabetes(return_X_y=True)),
        "make_friedman1": standardised(*friedman),
    }


def dense(units=100, meta=None):
    """MLPRegressor()'s network: 100 relu units, one linear output."""
    import keras

    return keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dense(1),
        ]
    )


def keras_dense(X, y, units=100):
    """The same network, compiled, as ``keras.wrappers`` takes it."""
    model = dense(units, {"n_features_in_": X.shape[1]})
    model.compile(optimizer="adam", loss="mse")
    return model


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def quietly(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fn()


def folds(makers, X, y, n_folds):
    """Per maker: the test R² and the fit seconds of each fold."""
    results = {name: ([], []) for name in makers}
    splits = KFold(n_folds, shuffle=True, random_state=0).split(X)
    for i, (train, test) in enumerate(splits):
        order = list(makers) if i % 2 == 0 else list(makers)[::-1]
        for name in order:
            est = makers[name](i)
            X_fit, y_fit = X[train], y[train]
            seconds, _ = timed(
                lambda e=est, a=X_fit, b=y_fit: quietly(lambda: e.fit(a, b))
            )
            results[name][0].append(r2_score(y[test], est.predict(X[test])))
            results[name][1].append(seconds)
    return results


def keras_wrapper(units=100, epochs=EPOCHS):
    from keras.wrappers import SKLearnRegressor

    return SKLearnRegressor(
        model=keras_dense,
        model_kwargs={"units": units},
        fit_kwargs={"epochs": epochs, "batch_size": BATCH, "verbose": 0},
    )


def ours(units=100, epochs=EPOCHS):
    return KerasRegressor(
        dense, model__units=units, epochs=epochs, batch_size=BATCH, random_state=0
    )


SEARCH_CHILD = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
import bench_regression as b
from sklearn.model_selection import GridSearchCV
X, y = b.datasets()["load_diabetes"]
units, epochs = [32, 64, 128], [10, 20]
if sys.argv[1] == "skdigits":
    est, grid = b.ours(), {"model__units": units, "epochs": epochs}
else:
    est = b.keras_wrapper()
    grid = {
        "model_kwargs": [{"units": u} for u in units],
        "fit_kwargs": [{"epochs": e, "batch_size": b.BATCH, "verbose": 0}
                       for e in epochs],
    }
start = time.perf_counter()
search = GridSearchCV(est, grid, cv=3, scoring="r2").fit(X, y)
print(json.dumps([time.perf_counter() - start, search.best_score_]))
"""


def main(argv=None):
    args = bench_arguments(__doc__, argv, "2 folds, fewer rounds")
    q = args.quick
    rows = []

    def add(*a, **kw):
        rows.append(peer_row(*a, **kw))
        print(rows[-1], flush=True)

    n_folds = 2 if q else 5
    for name, (X, y) in datasets().items():
        results = folds(
            {
                "preset": lambda i: KerasMLPRegressor(random_state=i),
                "general": lambda i: KerasRegressor(dense, random_state=i),
                "peer": lambda i: MLPRegressor(random_state=i),
            },
            X,
            y,
            n_folds,
        )
        peer_r2, peer_s = (statistics.mean(v) for v in results["peer"])
        for label, key in (
            ("KerasMLPRegressor()", "preset"),
            ("KerasRegressor(model fn)", "general"),
        ):
            r2, seconds = (statistics.mean(v) for v in results[key])
            add(
                f"{label}: test R² on standardised {name}, mean of {n_folds} folds",
                r2,
                "MLPRegressor()",
                peer_r2,
                "R²",
                "ratio >= 1.0",
                ours_r2=results[key][0],
                peer_r2=results["peer"][0],
            )
            if key == "preset":
                add(
                    f"{label}: fit on {name}, median of {n_folds} folds",
                    statistics.median(results[key][1]),
                    "MLPRegressor()",
                    statistics.median(results["peer"][1]),
                    "s",
                    "ratio <= 1.0",
                    ours_fits=results[key][1],
                    peer_fits=results["peer"][1],
                )
                add(
                    f"{label}: fit on {name}, mean of {n_folds} folds (the "
                    "first fit of the process, which compiles, included)",
                    seconds,
                    "MLPRegressor()",
                    peer_s,
                    "s",
                )

    try:
        import keras.wrappers  # noqa: F401
    except ImportError:
        write_report(args.out, "bench_regression", rows, PEER_COLUMNS, quick=q)
        return 0
    X, y = datasets()["load_diabetes"]
    makers = {"skdigits": ours, "keras.wrappers": keras_wrapper}
    seconds = {name: [] for name in makers}
    fitted = {}
    for r in range((1 if q else 5) + 1):
        order = list(makers) if r % 2 == 0 else list(makers)[::-1]
        for name in order:
            est = makers[name]()
            s, fitted[name] = timed(lambda e=est: quietly(lambda: e.fit(X, y)))
            seconds[name].append(s)
    add(
        f"{EPOCHS}-epoch fit at batch {BATCH} on load_diabetes, median of "
        f"{len(seconds['skdigits']) - 1} interleaved",
        statistics.median(seconds["skdigits"][1:]),
        "keras.wrappers",
        statistics.median(seconds["keras.wrappers"][1:]),
        "s",
        "ratio <= 0.25",
        ours_fits=seconds["skdigits"],
        peer_fits=seconds["keras.wrappers"],
    )
    repeat = 10 if q else 30
    steady = {}
    for name, est in fitted.items():
        est.predict(X[:1])
        steady[name] = statistics.median(
            timed(lambda e=est: quietly(lambda: e.predict(X[:1])))[0]
            for _ in range(repeat)
        )
    add(
        f"1-row predict, steady, median of {repeat}",
        steady["skdigits"] * 1e3,
        "keras.wrappers",
        steady["keras.wrappers"] * 1e3,
        "ms",
        "ratio <= 0.05 (20x faster)",
    )
    searches = {name: [] for name in makers}
    for r in range(1 if q else 3):
        order = list(makers) if r % 2 == 0 else list(makers)[::-1]
        for name in order:
            searches[name].append(child_json(SEARCH_CHILD, name, timeout=3600))
    add(
        "GridSearchCV, 6 candidates x 3 folds, fresh process, median",
        statistics.median(s for s, _ in searches["skdigits"]),
        "keras.wrappers",
        statistics.median(s for s, _ in searches["keras.wrappers"]),
        "s",
        "ratio <= 0.3",
        ours_runs=searches["skdigits"],
        peer_runs=searches["keras.wrappers"],
    )
    write_report(args.out, "bench_regression", rows, PEER_COLUMNS, quick=q)
    return 0


if __name__ == "__main__":
    sys.exit(main())
