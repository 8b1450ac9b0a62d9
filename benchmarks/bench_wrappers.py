"""KerasClassifier against the other scikit-learn wrappers of Keras models.

The same user network (a Dense layer of 64 relu units, then a softmax per
class; for the first predictions also a small CNN on 8x8x1 images), the
same data (``load_digits``, pixels in [0, 1]), the same epochs, batch size
and optimizer (Adam, Keras's default rate), measured side by side in one
run on this machine against ``keras.wrappers.SKLearnClassifier`` (Keras
3.8+) and SciKeras's ``KerasClassifier`` (where it installs):

- a fit of 30 epochs at batch 32 on all 1,797 rows: the first in the
  process, then the median of interleaved rounds (each wrapper builds a new
  model per fit; skdigits reuses its compiled trainer across fits);
- the same fit with Keras's ``EarlyStopping(monitor="val_accuracy",
  restore_best_weights=True)`` (a patience of 30, so that every side trains
  every epoch) and ``ModelCheckpoint(save_best_only=True)`` on the last 10%
  of the rows (``validation_split=0.1``), against the same ``model.fit``
  and ``keras.wrappers``, interleaved, the median;
- a fit of a model class that overrides ``train_step`` (the guide's,
  counting its steps), against its own ``model.fit``;
- ``predict_proba`` of one row, steady (median); the Keras wrapper has no
  ``predict_proba``, so its ``predict`` is timed;
- the first ``predict_proba`` of one row after ``fit``, and after unpickling
  in a fresh process (imports not timed), for the Dense network and the CNN;
- ``GridSearchCV`` of 6 candidates x 3 folds over the units (32, 64, 128)
  and the epochs (10, 20), each side in a fresh process (imports and data
  not timed), alternating, the median; a scorer records how many epochs
  each fitted candidate trained. The Keras wrapper's routed parameters are
  ``model_kwargs`` and ``fit_kwargs`` dicts, searched as such.

SciKeras runs without ``random_state``: with it, SciKeras turns on
TensorFlow's global op determinism, which then breaks the Keras wrapper's
unseeded fits in the same process.

Writes ``bench_wrappers.md`` and ``bench_wrappers.json`` to ``--out``;
``--quick`` runs fewer rounds.

    python benchmarks/bench_wrappers.py [--quick] [--out bench-results]
"""

import os
import statistics
import sys
import tempfile
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from _networks import counting_dense, dense, keras_dense, small_cnn  # noqa: E402
from _report import (  # noqa: E402
    PEER_COLUMNS,
    after_unpickling,
    bench_arguments,
    child_json,
    peer_row,
    write_report,
)
from sklearn.datasets import load_digits  # noqa: E402

from skdigits import KerasClassifier  # noqa: E402

EPOCHS, BATCH = 30, 32


def ours(**params):
    return KerasClassifier(
        dense, epochs=EPOCHS, batch_size=BATCH, random_state=0, **params
    )


def scikeras_classifier(**params):
    from scikeras.wrappers import KerasClassifier as SciKerasClassifier

    return SciKerasClassifier(
        model=dense,
        loss="sparse_categorical_crossentropy",
        optimizer="adam",
        epochs=EPOCHS,
        batch_size=BATCH,
        verbose=0,
        **params,
    )


def keras_wrapper():
    from keras.wrappers import SKLearnClassifier

    return SKLearnClassifier(
        model=keras_dense,
        model_kwargs={"units": 64},
        fit_kwargs={"epochs": EPOCHS, "batch_size": BATCH, "verbose": 0},
    )


class RawFit:
    """``model.fit`` on a new compiled model of ``make``, as the wrappers
    build one per fit; ``callbacks`` makes each fit's callbacks."""

    def __init__(self, make, callbacks=None, **fit_kwargs):
        self.make, self.callbacks, self.fit_kwargs = make, callbacks, fit_kwargs

    def fit(self, X, y):
        model = self.make({"n_features_in_": X.shape[1], "n_classes_": 10})
        model.compile(
            optimizer="adam",
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        callbacks = self.callbacks() if self.callbacks else None
        self.history_ = model.fit(
            X,
            y,
            epochs=EPOCHS,
            batch_size=BATCH,
            verbose=0,
            callbacks=callbacks,
            **self.fit_kwargs,
        ).history
        self.model_ = model
        return self


def keras_callbacks(folder):
    """EarlyStopping and ModelCheckpoint on the validation accuracy, as a
    Keras user writes them (new objects for each fit)."""
    import keras

    return [
        keras.callbacks.EarlyStopping(
            monitor="val_accuracy", patience=EPOCHS, restore_best_weights=True
        ),
        keras.callbacks.ModelCheckpoint(
            os.path.join(folder, "best.keras"),
            monitor="val_accuracy",
            save_best_only=True,
        ),
    ]


def callback_makers(folder):
    """The fit with Keras's callbacks, on each side."""
    from _networks import keras_dense_accuracy

    def ours_with_callbacks():
        return KerasClassifier(
            dense,
            epochs=EPOCHS,
            batch_size=BATCH,
            random_state=0,
            metrics=["accuracy"],
            callbacks=keras_callbacks(os.path.join(folder, "skdigits")),
            validation_split=0.1,
        )

    def raw_with_callbacks():
        return RawFit(
            dense,
            callbacks=lambda: keras_callbacks(os.path.join(folder, "keras")),
            validation_split=0.1,
        )

    makers = {"skdigits": ours_with_callbacks, "model.fit": raw_with_callbacks}
    try:
        from keras.wrappers import SKLearnClassifier

        def wrapper_with_callbacks():
            return SKLearnClassifier(
                model=keras_dense_accuracy,
                model_kwargs={"units": 64},
                fit_kwargs={
                    "epochs": EPOCHS,
                    "batch_size": BATCH,
                    "verbose": 0,
                    "validation_split": 0.1,
                    "callbacks": keras_callbacks(os.path.join(folder, "wrapper")),
                },
            )

        makers["keras.wrappers"] = wrapper_with_callbacks
    except ImportError:
        pass
    return makers


def available_peers():
    peers = {}
    try:
        from keras.wrappers import SKLearnClassifier  # noqa: F401

        peers["keras.wrappers"] = keras_wrapper
    except ImportError:
        pass
    try:
        import scikeras  # noqa: F401

        peers["SciKeras"] = scikeras_classifier
    except ImportError:
        pass
    return peers


def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def quietly(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


def fits(makers, rounds):
    """Seconds of fits: each maker's first, then ``rounds`` interleaved."""
    X, y = digits()
    seconds = {name: [] for name in makers}
    for r in range(rounds + 1):
        order = list(makers) if r % 2 == 0 else list(makers)[::-1]
        for name in order:
            est = makers[name]()
            seconds[name].append(timed(lambda e=est: quietly(lambda: e.fit(X, y))))
    return seconds


def predict_one(est, X, repeat):
    method = getattr(est, "predict_proba", None) or est.predict
    row = X[:1]
    first = timed(lambda: quietly(lambda: method(row)))
    steady = statistics.median(
        timed(lambda: quietly(lambda: method(row))) for _ in range(repeat)
    )
    return first, steady


SEARCH_CHILD = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
import bench_wrappers as b
from sklearn.model_selection import GridSearchCV
X, y = b.digits()
which = sys.argv[1]
trained = []

def scorer(est, X, y):
    if which == "keras.wrappers":
        asked = est.fit_kwargs["epochs"]
        done = len(est.history_.history["loss"])
    else:
        asked = est.get_params()["epochs"]
        done = len(est.history_["loss"])
    trained.append((asked, done))
    return (est.predict(X) == y).mean()

units, epochs = [32, 64, 128], [10, 20]
if which == "skdigits":
    est, grid = b.ours(), {"model__units": units, "epochs": epochs}
elif which == "SciKeras":
    est, grid = b.scikeras_classifier(), {"model__units": units, "epochs": epochs}
else:
    est = b.keras_wrapper()
    grid = {
        "model_kwargs": [{"units": u} for u in units],
        "fit_kwargs": [{"epochs": e, "batch_size": b.BATCH, "verbose": 0}
                       for e in epochs],
    }
start = time.perf_counter()
search = GridSearchCV(est, grid, cv=3, scoring=scorer).fit(X, y)
print(json.dumps([time.perf_counter() - start, search.best_score_, trained]))
"""


def search_in_fresh_process(which):
    seconds, score, trained = child_json(SEARCH_CHILD, which, timeout=3600)
    return seconds, score, trained


def main(argv=None):
    args = bench_arguments(__doc__, argv, "fewer rounds")
    q = args.quick
    peers = available_peers()
    rows = []

    def add(*args, **kwargs):
        rows.append(peer_row(*args, **kwargs))
        print(rows[-1], flush=True)

    # Fits of the same epochs and batch size.
    makers = {"skdigits": ours, **peers}
    seconds = fits(makers, 1 if q else 5)
    for name in peers:
        add(
            f"{EPOCHS}-epoch fit at batch {BATCH} on load_digits, the first in "
            "the process",
            seconds["skdigits"][0],
            name,
            seconds[name][0],
            "s",
        )
        add(
            f"{EPOCHS}-epoch fit at batch {BATCH} on load_digits, median of "
            f"{len(seconds[name]) - 1} interleaved",
            statistics.median(seconds["skdigits"][1:]),
            name,
            statistics.median(seconds[name][1:]),
            "s",
            "ratio <= 1.0",
            ours_fits=seconds["skdigits"],
            peer_fits=seconds[name],
        )

    # Fits with Keras's EarlyStopping and ModelCheckpoint, and of a model
    # class with its own train_step, against model.fit.
    with tempfile.TemporaryDirectory() as folder:
        callback_seconds = fits(callback_makers(folder), 1 if q else 5)
    work = (
        f"{EPOCHS}-epoch fit at batch {BATCH} with EarlyStopping and "
        "ModelCheckpoint on val_accuracy, median of "
    )
    for name in callback_seconds:
        if name != "skdigits":
            add(
                work + f"{len(callback_seconds[name]) - 1} interleaved",
                statistics.median(callback_seconds["skdigits"][1:]),
                name,
                statistics.median(callback_seconds[name][1:]),
                "s",
                "ratio <= 0.25",
                ours_fits=callback_seconds["skdigits"],
                peer_fits=callback_seconds[name],
            )
    subclass_seconds = fits(
        {
            "skdigits": lambda: KerasClassifier(
                counting_dense, epochs=EPOCHS, batch_size=BATCH, random_state=0
            ),
            "model.fit": lambda: RawFit(counting_dense),
        },
        1 if q else 5,
    )
    add(
        f"{EPOCHS}-epoch fit of a model class overriding train_step, median of "
        f"{len(subclass_seconds['model.fit']) - 1} interleaved",
        statistics.median(subclass_seconds["skdigits"][1:]),
        "model.fit",
        statistics.median(subclass_seconds["model.fit"][1:]),
        "s",
        "ratio <= 0.5",
        ours_fits=subclass_seconds["skdigits"],
        peer_fits=subclass_seconds["model.fit"],
    )

    # One-row predictions.
    X, y = digits()
    fitted = {name: quietly(lambda m=m: m().fit(X, y)) for name, m in makers.items()}
    repeat = 10 if q else 30
    first, steady = predict_one(fitted["skdigits"], X, repeat)
    for name in peers:
        _, peer_steady = predict_one(fitted[name], X, repeat)
        method = "predict" if name == "keras.wrappers" else "predict_proba"
        add(
            f"1-row predict_proba, steady, median of {repeat} (peer: {method})",
            steady * 1e3,
            name,
            peer_steady * 1e3,
            "ms",
            "ratio <= 0.05 (20x faster)",
        )
    add(
        "Dense: first 1-row predict_proba after fit",
        first * 1e3,
        "",
        0,
        "ms",
        "<= 5 ms",
    )
    cnn = KerasClassifier(small_cnn, epochs=5, batch_size=BATCH, random_state=0)
    images = X.reshape(-1, 8, 8, 1)
    quietly(lambda: cnn.fit(images, y))
    cnn_first, cnn_steady = predict_one(cnn, images, repeat)
    add(
        "CNN: first 1-row predict_proba after fit",
        cnn_first * 1e3,
        "",
        0,
        "ms",
        "<= 20 ms",
    )
    add("CNN: later 1-row predict_proba (median)", cnn_steady * 1e3, "", 0, "ms")
    peer_load = None
    if "SciKeras" in peers:
        peer_load = after_unpickling(fitted["SciKeras"], X[:1])
    for label, est, row, limit in (
        ("Dense", fitted["skdigits"], X[:1], "<= 5 ms"),
        ("CNN", cnn, images[:1], "<= 20 ms"),
    ):
        first_load, steady_load, load = after_unpickling(est, row)
        add(
            f"{label}: first 1-row predict_proba after unpickling, fresh process",
            first_load,
            "SciKeras (Dense)" if peer_load else "",
            peer_load[0] if peer_load else 0,
            "ms",
            limit,
        )
        add(
            f"{label}: the unpickling itself, fresh process",
            load,
            "SciKeras (Dense)" if peer_load else "",
            peer_load[2] if peer_load else 0,
            "ms",
        )

    # Grid searches in fresh processes, alternating.
    sides = ["skdigits", *peers]
    searches = {side: [] for side in sides}
    for _ in range(1 if q else 2):
        for side in sides:
            searches[side].append(search_in_fresh_process(side))
    ours_times = [s for s, _, _ in searches["skdigits"]]
    for name in peers:
        peer_times = [s for s, _, _ in searches[name]]
        honoured = all(a == d for _, _, t in searches[name] for a, d in t)
        add(
            "GridSearchCV 6 candidates x 3 folds (units x epochs), fresh "
            f"process, median of {len(peer_times)}",
            statistics.median(ours_times),
            f"{name} (every candidate's epochs: {'yes' if honoured else 'NO'})",
            statistics.median(peer_times),
            "s",
            "ratio <= 1.0",
            ours_searches=searches["skdigits"],
            peer_searches=searches[name],
        )
    ours_honoured = all(a == d for _, _, t in searches["skdigits"] for a, d in t)
    add(
        "skdigits: every candidate trained the epochs it asked for (1 = yes)",
        float(ours_honoured),
        "",
        0,
        "",
        "1",
    )
    write_report(args.out, "bench_wrappers", rows, PEER_COLUMNS, quick=q)
    return 0


if __name__ == "__main__":
    sys.exit(main())
