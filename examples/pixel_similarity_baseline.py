"""fast.ai's pixel-similarity baseline against learned models.
===========================================================

The "MNIST basics" baseline: average every training image of a digit into
an "ideal" digit, then call a new image the digit whose ideal it is closest
to (mean absolute or squared pixel distance). That is scikit-learn's
``NearestCentroid``. First 3s against 7s, as in the lesson, then all ten
digits, next to a linear model (``hidden_layer_sizes=()``), the 2LR MLP and
the model-zoo CNN.

    python examples/pixel_similarity_baseline.py [--quick]
"""

import argparse
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.neighbors import NearestCentroid

from skdigits import KerasCNNClassifier, KerasMLPClassifier
from skdigits.datasets import load_mnist
from skdigits.plotting import plot_digits


def report(name, model, X, y, X_test, y_test):
    start = time.perf_counter()
    model.fit(X, y)
    seconds = time.perf_counter() - start
    print(f"| {name} | {model.score(X_test, y_test):.4f} | {seconds:.1f} |", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description="fast.ai's pixel-similarity baseline")
    parser.add_argument("--quick", action="store_true", help="5,000 images, 2 epochs")
    parser.add_argument("--show", action="store_true", help="show the plots")
    args = parser.parse_args(argv)
    epochs = 2 if args.quick else 10

    X, y = load_mnist("train", return_X_y=True)
    X_test, y_test = load_mnist("test", return_X_y=True)
    if args.quick:
        X, y = X[:5_000], y[:5_000]

    def learned():
        return [
            ("linear model", KerasMLPClassifier((), epochs=epochs, random_state=0)),
            (
                "2LR MLP",
                KerasMLPClassifier.from_preset("2LR", epochs=epochs, random_state=0),
            ),
            ("zoo CNN", KerasCNNClassifier(epochs=epochs, random_state=0)),
        ]

    for title, digits in [("3s against 7s", [3, 7]), ("all ten digits", range(10))]:
        train, test = np.isin(y, list(digits)), np.isin(y_test, list(digits))
        data = (X[train], y[train], X_test[test], y_test[test])
        print(f"\n{title}: {len(data[0]):,} training, {len(data[2]):,} test images")
        print("| model | test accuracy | seconds |\n|---|---:|---:|")
        for name, model in [
            (
                "ideal digit, mean absolute distance",
                NearestCentroid(metric="manhattan"),
            ),
            ("ideal digit, squared distance", NearestCentroid()),
            *learned(),
        ]:
            report(name, model, *data)

    # The "ideal" digits: each class's mean image, the baseline's whole model.
    digits = np.unique(y)
    plot_digits(np.stack([X[y == d].mean(axis=0) for d in digits]), digits)
    if args.show:
        plt.show()


if __name__ == "__main__":
    main()
