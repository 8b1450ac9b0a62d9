"""Speed of the estimators against raw Keras on the same model and data.

Measures, side by side in one run on this machine:

- seconds per epoch of ``fit`` (the median of the steady epochs, after the
  first), for the CNN (its defaults) and the 2LR MLP at batch 128, and for
  the MLP at batch 1 (stochastic gradient descent), against
  ``keras.Model.fit`` with default settings on the same model, training rows
  and validation rows, and against SciKeras's ``KerasClassifier`` on the
  same model (batch 128). The epochs are interleaved: after each of ours,
  each peer trains one epoch (one ``fit`` or ``partial_fit`` call), so a
  slow stretch of the machine does not fall on one of them alone. Keras's
  own input pipeline stalls for seconds at some epoch boundaries (see
  ``without_autotune`` in earlier skdigits); between calls those stalls fall
  outside the peers' timed epochs, so this favours the peers if anything;
- seconds of whole fits as a user runs them (CNN and the 2LR MLP at batch
  128): ours against one ``keras.Model.fit`` call of all the epochs, the two
  alternating. These count set-up, tracing and those stalls;
- ``predict_proba`` on one sample and on 10,000 rows, against
  ``keras.Model.predict`` and SciKeras's ``predict_proba``.

SciKeras is measured where it is installed (``pip install scikeras``);
otherwise its column says so.

Writes a Markdown table and JSON (``--out``). ``--quick`` uses subsets and
finishes in a few minutes; the figures then say so.

    python benchmarks/bench_core.py [--quick] [--out bench-results]
"""

import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from _report import bench_arguments, preset_network, write_report  # noqa: E402

from skdigits import MLP_PRESETS, KerasCNNClassifier, KerasMLPClassifier  # noqa: E402
from skdigits.datasets import load_mnist  # noqa: E402


class EpochTimer(keras.callbacks.Callback):
    """Wall time of each epoch (training and validation)."""

    def __init__(self):
        super().__init__()
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self._start)


def steady(times):
    """Median epoch time after the first (which includes tracing)."""
    return statistics.median(times[1:] if len(times) > 1 else times)


class Interleave(keras.callbacks.Callback):
    """After each of our epochs, one epoch of every peer.

    Epoch k of each contender then runs back to back, so a slow stretch of a
    shared machine slows them alike instead of landing on one of them.
    It must come after our ``EpochTimer``, which then leaves the peers out.
    """

    def __init__(self, peers):
        super().__init__()
        self.peers = peers  # callables, each training its model one epoch

    def __deepcopy__(self, memo):
        # The estimator fits on copies of its callbacks; the peers' models
        # and timers must stay the ones the benchmark reads.
        return self

    def on_epoch_end(self, epoch, logs=None):
        for run_epoch in self.peers:
            run_epoch()


def _raw_split(X, y):
    """The raw Keras peers' training and validation arrays: a stratified 10%
    held out, as the estimator's default ``validation_fraction``."""
    from sklearn.model_selection import train_test_split

    idx_train, idx_val = train_test_split(
        np.arange(len(X)), test_size=0.1, stratify=y, random_state=0
    )
    Y = np.eye(10, dtype=np.float32)[y]
    return X[idx_train], Y[idx_train], (X[idx_val], Y[idx_val])


def _raw_model(est, n_features):
    """The estimator's architecture, compiled with Keras's default settings."""
    model = preset_network(est, n_features)
    optimizer = {
        "class_name": est.optimizer,
        "config": {"learning_rate": est.learning_rate},
    }
    model.compile(
        optimizer=keras.optimizers.get(optimizer),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def raw_keras_peer(est, X, y, batch_size):
    """(one-epoch runner, its epoch timer) for ``keras.Model.fit`` with default
    settings on the estimator's architecture, rows and kind of hold-out."""
    X_train, Y_train, validation = _raw_split(X, y)
    timer = EpochTimer()
    model = None

    def run_epoch():
        nonlocal model
        if model is None:
            # Built at the first call, inside our fit: the estimator then
            # knows its input (the CNN its image shape).
            model = _raw_model(est, X.shape[1])
        # Keras keeps its traced train and test steps between calls; the
        # arrays are turned into a dataset before the timed epoch begins.
        model.fit(
            X_train,
            Y_train,
            batch_size=batch_size,
            epochs=1,
            validation_data=validation,
            callbacks=[timer],
            verbose=0,
        )

    return run_epoch, timer


def time_whole_fits(fitted, X, y, epochs, batch_size, rounds):
    """Seconds of whole fits as a user runs them: ours (a fresh clone of
    ``fitted``) against one ``keras.Model.fit`` call of all the epochs on a
    fresh model. Set-up, tracing and anything between the epochs count. The
    two alternate, ours first in even rounds, to spread a slow stretch of
    the machine; returns (our fits, raw Keras fits, our epochs, raw Keras
    epochs), the epochs as lists of seconds per fit."""
    from sklearn.base import clone

    X_train, Y_train, validation = _raw_split(X, y)
    fits = {"ours": [], "raw": []}
    epoch_times = {"ours": [], "raw": []}

    def ours():
        timer = EpochTimer()
        est = clone(fitted).set_params(epochs=epochs, callbacks=[timer])
        start = time.perf_counter()
        est.fit(X, y)
        fits["ours"].append(time.perf_counter() - start)
        epoch_times["ours"].append(est.callbacks_[0].times)

    def raw():
        timer = EpochTimer()
        start = time.perf_counter()
        _raw_model(fitted, X.shape[1]).fit(
            X_train,
            Y_train,
            batch_size=batch_size,
            epochs=epochs,
            validation_data=validation,
            callbacks=[timer],
            verbose=0,
        )
        fits["raw"].append(time.perf_counter() - start)
        epoch_times["raw"].append(timer.times)

    for r in range(rounds):
        for run in (ours, raw) if r % 2 == 0 else (raw, ours):
            run()
    return fits["ours"], fits["raw"], epoch_times["ours"], epoch_times["raw"]


try:
    from scikeras.wrappers import KerasClassifier as SciKerasClassifier
except ImportError:  # an optional peer
    SciKerasClassifier = None

# Epoch times of the SciKeras fits: SciKeras may copy its callbacks.
_SCIKERAS_EPOCHS = []


class _SharedTimer(EpochTimer):
    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        _SCIKERAS_EPOCHS.append(self.times[-1])


def scikeras_peer(est, X, y, batch_size):
    """(one-epoch runner, the SciKeras classifier) for the same model, batch
    size, optimizer and a 10% validation split; ``partial_fit`` trains one
    epoch a call, its first call building and tracing the model."""
    _SCIKERAS_EPOCHS.clear()
    peer = SciKerasClassifier(
        model=lambda: preset_network(est, X.shape[1]),
        loss="categorical_crossentropy",
        optimizer=type(keras.optimizers.get(est.optimizer)),
        optimizer__learning_rate=est.learning_rate,
        metrics=["accuracy"],
        batch_size=batch_size,
        validation_split=0.1,
        callbacks=[_SharedTimer()],
        random_state=0,
        verbose=0,
    )
    return lambda: peer.partial_fit(X, y, classes=np.arange(10)), peer


def time_fit(make_estimator, X, y, epochs, batch_size, *, scikeras):
    """Seconds per steady epoch of ours, raw Keras and SciKeras (NaN where
    not measured), with their epochs interleaved; also our fitted estimator
    and the SciKeras classifier (or None)."""
    timer = EpochTimer()
    est = make_estimator(batch_size=batch_size, random_state=0)
    raw_epoch, raw_timer = raw_keras_peer(est, X, y, batch_size)
    peers = [raw_epoch]
    peer = None
    if scikeras and SciKerasClassifier is not None:
        scikeras_epoch, peer = scikeras_peer(est, X, y, batch_size)
        peers.append(scikeras_epoch)
    est.set_params(
        epochs=epochs,
        # The peers hold out 10% of any number of rows.
        validation_fraction=0.1,
        callbacks=[timer, Interleave(peers)],
        # Keep every epoch: no early exit, same work as the peers.
        target_accuracy=None,
        patience=None,
    )
    est.fit(X, y)
    ours = steady(est.callbacks_[0].times)
    peer_epoch = steady(_SCIKERAS_EPOCHS) if peer is not None else float("nan")
    return ours, steady(raw_timer.times), peer_epoch, est, peer


def time_call(fn, repeat):
    fn()  # warm
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _cell(value, spec):
    """A figure, or why there is none."""
    if value == value:  # not NaN
        return format(value, spec)
    return "not measured" if SciKerasClassifier is not None else "not installed"


def main(argv=None):
    args = bench_arguments(__doc__, argv, "subsets, minutes")

    X, y = load_mnist(return_X_y=True)
    X_test, _ = load_mnist("test", return_X_y=True)
    n = 12_000 if args.quick else 60_000
    n_sgd = 3_000 if args.quick else 60_000
    X, y = X[:n], y[:n]
    rows = []

    def mlp(**params):
        return KerasMLPClassifier(**MLP_PRESETS["2LR"], **params)

    def add(work, ours, raw, scikeras=float("nan"), **extra):
        rows.append(
            {
                "work": work,
                "skdigits": ours,
                "raw Keras": raw,
                "ratio": ours / raw,
                "SciKeras": scikeras,
                "ratio to SciKeras": ours / scikeras,
                **extra,
            }
        )
        print(rows[-1], flush=True)

    cnn_epochs = 3 if args.quick else 6
    for label, make, batch, n_rows, epochs in [
        ("CNN (defaults), batch 128", KerasCNNClassifier, 128, n, cnn_epochs),
        ("2LR MLP, batch 128", mlp, 128, n, 4),
        ("2LR MLP, batch 1 (stochastic)", mlp, 1, n_sgd, 2),
    ]:
        # SciKeras at batch 1 would take as long as raw Keras: minutes.
        ours, raw, peer_epoch, est, peer = time_fit(
            make, X[:n_rows], y[:n_rows], epochs, batch, scikeras=batch > 1
        )
        add(f"{label}: seconds per epoch of {n_rows:,} rows", ours, raw, peer_epoch)
        if batch == 1:
            continue
        # Whole fits, as a user runs them: ours against one Keras fit call.
        whole_epochs, rounds = 3, 1 if args.quick else 2
        fits, raw_fits, epochs_ours, epochs_raw = time_whole_fits(
            est, X[:n_rows], y[:n_rows], whole_epochs, batch, rounds
        )
        add(
            f"{label.split(',')[0]}: a whole {whole_epochs}-epoch fit on {n_rows:,} "
            f"rows, set-up included, s (mean of {rounds})",
            statistics.fmean(fits),
            statistics.fmean(raw_fits),
            fits=fits,
            raw_fits=raw_fits,
            epochs=epochs_ours,
            raw_epochs=epochs_raw,
        )
        for n_pred in (1, 10_000):
            sample = X_test[:n_pred]
            repeat = 50 if n_pred == 1 else 5
            ours_p = time_call(lambda s=sample, e=est: e.predict_proba(s), repeat)
            raw_p = time_call(
                lambda s=sample, e=est: e.model_.predict(s, verbose=0),
                10 if n_pred == 1 else 3,
            )
            peer_p = (
                time_call(lambda s=sample, p=peer: p.predict_proba(s), repeat)
                if peer is not None
                else float("nan")
            )
            add(
                f"{label.split(',')[0]}: predict_proba of {n_pred:,} rows, ms",
                ours_p * 1e3,
                raw_p * 1e3,
                peer_p * 1e3,
            )

    write_report(
        args.out,
        "bench_core",
        rows,
        [
            ("work", lambda r: r["work"]),
            ("skdigits", lambda r: f"{r['skdigits']:.3f}"),
            ("raw Keras", lambda r: f"{r['raw Keras']:.3f}"),
            ("ratio", lambda r: f"{r['ratio']:.2f}"),
            ("SciKeras", lambda r: _cell(r["SciKeras"], ".3f")),
            ("ratio to SciKeras", lambda r: _cell(r["ratio to SciKeras"], ".2f")),
        ],
        quick=args.quick,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
