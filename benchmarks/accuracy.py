"""Test accuracy on full MNIST, with the epochs and time it took, and how
test accuracy grows with wall-clock time.

Trains each named model on the 60,000 training images, as its settings say
(its epoch chosen on a hold-out of the training set where its rules choose
one, never on the test set), then scores the 10,000 test images. With
``--curves`` it also scores the test images after every epoch, to draw test
accuracy against the seconds of training so far (the scoring is not
counted, and does not steer training); ``accuracy_curves.json`` holds the
points.

    python benchmarks/accuracy.py [--models cnn cnn-v0.1 ...] [--seeds 0 1 2]
                                  [--curves] [--quick] [--out DIR]
    python benchmarks/accuracy.py --small   # load_digits and MNIST subsets
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _report import machine, preset_network, write_report  # noqa: E402

from skdigits import KerasCNNClassifier, KerasMLPClassifier  # noqa: E402
from skdigits.datasets import load_mnist  # noqa: E402

MODELS = {
    # The default CNN, as `skdigits train` runs it.
    "cnn": lambda seed: KerasCNNClassifier(random_state=seed, verbose=1),
    # The defaults of skdigits 0.1 (plateau drops over up to 20 epochs).
    "cnn-v0.1": lambda seed: KerasCNNClassifier.from_preset(
        "v0.1", random_state=seed, verbose=1
    ),
    "cnn-wide": lambda seed: KerasCNNClassifier.from_preset(
        "wide", random_state=seed, verbose=1
    ),
    # The model zoo's network and schedule as published.
    "cnn-zoo": lambda seed: KerasCNNClassifier.from_preset(
        "zoo", random_state=seed, verbose=1
    ),
    "cnn-bn-shift": lambda seed: KerasCNNClassifier.from_preset(
        "bn-shift", random_state=seed, verbose=1
    ),
    # 32 relu units overfit MNIST (99.6% training accuracy against 96.8% on
    # the test set): a small L2 penalty and earlier drops of a higher rate.
    "2LR": lambda seed: KerasMLPClassifier.from_preset(
        "2LR",
        l2=3e-4,
        learning_rate=3e-3,
        lr_patience=3,
        epochs=40,
        random_state=seed,
        verbose=1,
    ),
}
# Not an estimator: the zoo's network in plain Keras (model.fit), 20 epochs
# of Adam at 3e-3 and batch 128, the zoo's 10x drops after 5 flat epochs of
# the validation accuracy (Keras's ReduceLROnPlateau), on the same rows.
RAW_ZOO = "zoo-raw-keras"


# Seconds spent scoring the test images during the current fit (not counted).
SKIPPED = {}


def test_scorer(X_test, y_test, points):
    """A Keras callback that scores the test images after each epoch and
    records (seconds of training so far, test accuracy); its own time is not
    counted (it is left in SKIPPED[0] for the caller)."""
    import keras
    import numpy as np

    class TestCurve(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start, self.skipped = time.perf_counter(), 0.0

        def on_epoch_end(self, epoch, logs=None):
            now = time.perf_counter()
            proba = self.model.predict(X_test, batch_size=2000, verbose=0)
            accuracy = float((np.argmax(proba, axis=1) == y_test).mean())
            points.append((now - self.start - self.skipped, accuracy))
            self.skipped += time.perf_counter() - now
            SKIPPED[0] = self.skipped

        def __deepcopy__(self, memo):  # the estimator fits on copies
            return self

    return TestCurve()


def raw_zoo(X, y, X_test, y_test, seed, epochs, points):
    """The zoo network in plain Keras; returns (test accuracy, epochs)."""
    import keras
    import numpy as np
    from sklearn.model_selection import train_test_split

    model = preset_network(KerasCNNClassifier.from_preset("zoo"), 784, seed=seed)
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    train, val = train_test_split(
        np.arange(len(X)), test_size=0.1, stratify=y, random_state=seed
    )
    Y = np.eye(10, dtype=np.float32)[y]
    callbacks = [
        keras.callbacks.ReduceLROnPlateau("val_accuracy", factor=0.1, patience=5)
    ]
    if points is not None:
        callbacks.append(test_scorer(X_test, y_test, points))
    history = model.fit(
        X[train],
        Y[train],
        batch_size=128,
        epochs=epochs,
        validation_data=(X[val], Y[val]),
        callbacks=callbacks,
        verbose=0,
    )
    proba = model.predict(X_test, batch_size=2000, verbose=0)
    return float((proba.argmax(axis=1) == y_test).mean()), len(history.epoch)


def small_data(out, quick):
    """Test accuracy of the default MLP and CNN and of MLPClassifier on
    small data: 5 stratified 75/25 splits of load_digits (the mean), and the
    first 1,000 and 5,000 MNIST training images (the 10,000 test images)."""
    import warnings

    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    makers = {
        "KerasMLPClassifier()": lambda seed: KerasMLPClassifier(random_state=seed),
        "KerasCNNClassifier()": lambda seed: KerasCNNClassifier(random_state=seed),
        "MLPClassifier()": lambda seed: MLPClassifier(random_state=seed),
    }
    X, y = load_digits(return_X_y=True)
    splits = [
        train_test_split(X / 16, y, test_size=0.25, random_state=s, stratify=y)
        for s in range(2 if quick else 5)
    ]
    X_mnist, y_mnist = load_mnist(return_X_y=True)
    X_test, y_test = load_mnist("test", return_X_y=True)
    data = {f"load_digits, mean of {len(splits)} splits": splits}
    for n in (1_000, 5_000):
        data[f"MNIST, first {n:,} training images"] = [
            (X_mnist[:n], X_test, y_mnist[:n], y_test)
        ]
    rows = []
    for name, runs in data.items():
        row = {"data": name}
        for model, make in makers.items():
            scores = []
            for seed, (X_tr, X_te, y_tr, y_te) in enumerate(runs):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    scores.append(make(seed).fit(X_tr, y_tr).score(X_te, y_te))
            row[model] = statistics.fmean(scores)
        rows.append(row)
        print(row, flush=True)
    write_report(
        out,
        "small_data_accuracy",
        rows,
        [("data", lambda r: r["data"])]
        + [(m, lambda r, m=m: f"{r[m]:.4f}") for m in makers],
        quick=quick,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models",
        nargs="+",
        default=["cnn", "cnn-v0.1", "cnn-wide", "2LR"],
        choices=[*MODELS, RAW_ZOO],
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--curves", action="store_true", help="test accuracy by time")
    parser.add_argument("--quick", action="store_true", help="5,000 images, 2 epochs")
    parser.add_argument(
        "--small", action="store_true", help="the small-data accuracies only"
    )
    parser.add_argument("--out", default="bench-results")
    args = parser.parse_args(argv)
    if args.small:
        small_data(Path(args.out), args.quick)
        return 0

    X, y = load_mnist(return_X_y=True)
    X_test, y_test = load_mnist("test", return_X_y=True)
    if args.quick:
        X, y = X[:5_000], y[:5_000]
    rows, curves = [], {}
    for name in args.models:
        for seed in args.seeds:
            points = [] if args.curves else None
            start = time.perf_counter()
            if name == RAW_ZOO:
                accuracy, epochs = raw_zoo(
                    X, y, X_test, y_test, seed, 2 if args.quick else 20, points
                )
                best, stopped = None, "max_epochs"
            else:
                clf = MODELS[name](seed)
                if args.quick:
                    clf.set_params(epochs=2)
                if points is not None:
                    clf.set_params(callbacks=[test_scorer(X_test, y_test, points)])
                clf.fit(X, y)
                accuracy = clf.score(X_test, y_test)
                epochs, best, stopped = clf.n_iter_, clf.best_epoch_, clf.stop_reason_
            seconds = time.perf_counter() - start - SKIPPED.pop(0, 0.0)
            rows.append(
                {
                    "model": name,
                    "seed": seed,
                    "test accuracy": accuracy,
                    "epochs": epochs,
                    "best epoch": best,
                    "stop reason": stopped,
                    "seconds": seconds,
                    "training images": len(X),
                }
            )
            if points is not None:
                curves[f"{name} (seed {seed})"] = points
            print(rows[-1], flush=True)
    for name in args.models:  # mean and spread over the seeds
        runs = [r for r in rows if r["model"] == name]
        if len(runs) > 1:
            accuracies = [r["test accuracy"] for r in runs]
            rows.append(
                {
                    "model": f"{name}, mean of {len(runs)} seeds",
                    "seed": None,
                    "test accuracy": statistics.fmean(accuracies),
                    "spread": (min(accuracies), max(accuracies)),
                    "epochs": statistics.fmean(r["epochs"] for r in runs),
                    "best epoch": None,
                    "stop reason": "",
                    "seconds": statistics.fmean(r["seconds"] for r in runs),
                    "training images": len(X),
                }
            )
    out = Path(args.out)
    write_report(
        out,
        "accuracy",
        rows,
        [
            ("model", lambda r: r["model"]),
            ("seed", lambda r: "" if r["seed"] is None else str(r["seed"])),
            (
                "test accuracy",
                lambda r: (
                    f"{r['test accuracy']:.4f}"
                    + (
                        f" ({r['spread'][0]:.4f}-{r['spread'][1]:.4f})"
                        if "spread" in r
                        else ""
                    )
                ),
            ),
            (
                "epochs (best)",
                lambda r: (
                    f"{r['epochs']:g}"
                    + ("" if r["best epoch"] is None else f" ({r['best epoch']})")
                ),
            ),
            ("stopped", lambda r: r["stop reason"]),
            ("seconds", lambda r: f"{r['seconds']:.0f}"),
            ("training images", lambda r: f"{r['training images']:,}"),
        ],
        quick=args.quick,
    )
    if curves:
        (out / "accuracy_curves.json").write_text(
            json.dumps({"machine": machine(), "quick": args.quick, "curves": curves})
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
