"""Test accuracy on full MNIST, with the epochs and time it took.

Trains each named model on the 60,000 training images with the settings
below (the CNNs' defaults; for the 2LR MLP an L2 penalty and 40 epochs)
and the training rules (the monitored accuracy comes from a hold-out
of the training set, never from the test set), then scores the 10,000 test
images once.

    python benchmarks/accuracy.py [--models cnn cnn-zoo cnn-bn-shift 2LR] [--quick]
                                  [--out DIR]
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _report import write_report  # noqa: E402

from skdigits import KerasCNNClassifier, KerasMLPClassifier  # noqa: E402
from skdigits.datasets import load_mnist  # noqa: E402

MODELS = {
    "cnn": lambda: KerasCNNClassifier(random_state=0, verbose=1),
    # The model zoo's network and schedule as published (not run by default).
    "cnn-zoo": lambda: KerasCNNClassifier.from_preset("zoo", random_state=0, verbose=1),
    "cnn-bn-shift": lambda: KerasCNNClassifier.from_preset(
        "bn-shift", random_state=0, verbose=1
    ),
    # 32 relu units overfit MNIST (99.6% training accuracy against 96.8% on
    # the test set): a small L2 penalty and earlier drops of a higher rate.
    "2LR": lambda: KerasMLPClassifier.from_preset(
        "2LR",
        l2=3e-4,
        learning_rate=3e-3,
        lr_patience=3,
        epochs=40,
        random_state=0,
        verbose=1,
    ),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models", nargs="+", default=["cnn", "cnn-bn-shift", "2LR"], choices=MODELS
    )
    parser.add_argument("--quick", action="store_true", help="5,000 images, 2 epochs")
    parser.add_argument("--out", default="bench-results")
    args = parser.parse_args(argv)

    X, y = load_mnist(return_X_y=True)
    X_test, y_test = load_mnist("test", return_X_y=True)
    if args.quick:
        X, y = X[:5_000], y[:5_000]
    rows = []
    for name in args.models:
        clf = MODELS[name]()
        if args.quick:
            clf.set_params(epochs=2)
        start = time.perf_counter()
        clf.fit(X, y)
        seconds = time.perf_counter() - start
        rows.append(
            {
                "model": name,
                "test accuracy": clf.score(X_test, y_test),
                "epochs": clf.n_iter_,
                "best epoch": clf.best_epoch_,
                "stop reason": clf.stop_reason_,
                "seconds": seconds,
                "training images": len(X),
            }
        )
        print(rows[-1], flush=True)
    write_report(
        args.out,
        "accuracy",
        rows,
        [
            ("model", lambda r: r["model"]),
            ("test accuracy", lambda r: f"{r['test accuracy']:.4f}"),
            ("epochs (best)", lambda r: f"{r['epochs']} ({r['best epoch']})"),
            ("stopped", lambda r: r["stop reason"]),
            ("seconds", lambda r: f"{r['seconds']:.0f}"),
            ("training images", lambda r: f"{r['training images']:,}"),
        ],
        quick=args.quick,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
