"""Speed of the estimators against raw Keras on the same model and data.

Measures, side by side in one run on this machine:

- seconds per epoch of ``fit`` (steady epochs, after the first), for the
  model-zoo CNN and the 2LR MLP at batch 128, and for the MLP at batch 1
  (stochastic gradient descent), against ``keras.Model.fit`` with default
  settings on the same model, training rows and validation rows;
- ``predict_proba`` on one sample and on 10,000 rows, against
  ``keras.Model.predict``.

Writes a Markdown table and JSON (``--out``). ``--quick`` uses subsets and
finishes in a few minutes; the figures then say so.

    python benchmarks/bench_core.py [--quick] [--out bench-results]
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from _report import write_report  # noqa: E402

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


def time_fit(make_estimator, X, y, epochs, batch_size):
    """(ours, raw Keras) seconds per steady epoch on identical data."""
    timer = EpochTimer()
    est = make_estimator(
        epochs=epochs,
        batch_size=batch_size,
        callbacks=[timer],
        random_state=0,
        # Keep every epoch: no early exit, same work as the raw loop.
        target_accuracy=None,
        patience=None,
    )
    est.fit(X, y)
    ours = steady(est.callbacks_[0].times)

    # Raw Keras: the same architecture, rows and hold-out, default settings.
    from sklearn.model_selection import train_test_split

    idx_train, idx_val = train_test_split(
        np.arange(len(X)), test_size=0.1, stratify=y, random_state=0
    )
    Y = np.eye(10, dtype=np.float32)[y]
    model = est._build_model(X.shape[1], 10, 0)
    model.compile(
        optimizer=keras.optimizers.get(
            {
                "class_name": est.optimizer,
                "config": {"learning_rate": est.learning_rate},
            }
        ),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    raw_timer = EpochTimer()
    model.fit(
        X[idx_train],
        Y[idx_train],
        batch_size=batch_size,
        epochs=epochs,
        validation_data=(X[idx_val], Y[idx_val]),
        callbacks=[raw_timer],
        verbose=0,
    )
    return ours, steady(raw_timer.times), est


def time_call(fn, repeat):
    fn()  # warm
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="subsets, minutes")
    parser.add_argument("--out", default="bench-results", help="output folder")
    args = parser.parse_args(argv)

    X, y = load_mnist(return_X_y=True)
    X_test, _ = load_mnist("test", return_X_y=True)
    n = 12_000 if args.quick else 60_000
    n_sgd = 3_000 if args.quick else 60_000
    X, y = X[:n], y[:n]
    rows = []

    def mlp(**params):
        return KerasMLPClassifier(**MLP_PRESETS["2LR"], **params)

    for label, make, batch, n_rows, epochs in [
        ("zoo CNN, batch 128", KerasCNNClassifier, 128, n, 3),
        ("2LR MLP, batch 128", mlp, 128, n, 4),
        ("2LR MLP, batch 1 (stochastic)", mlp, 1, n_sgd, 2),
    ]:
        ours, raw, est = time_fit(make, X[:n_rows], y[:n_rows], epochs, batch)
        steps = est.model_.optimizer.iterations.numpy() / est.n_iter_
        rows.append(
            {
                "work": f"{label}: seconds per epoch of {n_rows:,} rows",
                "skdigits": ours,
                "raw Keras": raw,
                "ratio": ours / raw,
                "per step ms (skdigits / Keras)": (
                    f"{ours / steps * 1e3:.3f} / {raw / steps * 1e3:.3f}"
                ),
            }
        )
        print(rows[-1], flush=True)
        if batch == 128:
            for n_pred in (1, 10_000):
                sample = X_test[:n_pred]
                ours_p = time_call(
                    lambda s=sample, e=est: e.predict_proba(s), 50 if n_pred == 1 else 5
                )
                raw_p = time_call(
                    lambda s=sample, e=est: e.model_.predict(s, verbose=0),
                    10 if n_pred == 1 else 3,
                )
                rows.append(
                    {
                        "work": (
                            f"{label.split(',')[0]}: predict_proba of "
                            f"{n_pred:,} rows, ms"
                        ),
                        "skdigits": ours_p * 1e3,
                        "raw Keras": raw_p * 1e3,
                        "ratio": ours_p / raw_p,
                    }
                )
                print(rows[-1], flush=True)

    write_report(
        args.out,
        "bench_core",
        rows,
        [
            ("work", lambda r: r["work"]),
            ("skdigits", lambda r: f"{r['skdigits']:.3f}"),
            ("raw Keras", lambda r: f"{r['raw Keras']:.3f}"),
            ("ratio", lambda r: f"{r['ratio']:.2f}"),
        ],
        quick=args.quick,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
