"""The Flux model-zoo CNN on MNIST, through KerasCNNClassifier.from_preset("zoo").
===============================================================================

Three 3x3 convolution + 2x2 max-pooling blocks (16, 32, 32 filters), then a
softmax layer; Adam at 3e-3, batch 128, Gaussian input noise, a 10%
validation hold-out, and the zoo's training rules: drop the learning rate
by 10x after 5 epochs without improvement, stop at 99.9% validation
accuracy or after 10 flat epochs, keep the best model. (The estimator's
defaults add batch normalisation and random shifts, for about 99.4%.)

    python examples/cnn_model_zoo.py [--quick] [--output mnist_conv.keras]
"""

import argparse
import time

import matplotlib.pyplot as plt
from sklearn.metrics import ConfusionMatrixDisplay

from skdigits import KerasCNNClassifier
from skdigits.datasets import load_mnist
from skdigits.plotting import plot_digits, plot_history


def main(argv=None):
    parser = argparse.ArgumentParser(description="The Flux model-zoo CNN on MNIST")
    parser.add_argument("--quick", action="store_true", help="5,000 images, 2 epochs")
    parser.add_argument("--output", default=None, help="save the best model (.keras)")
    parser.add_argument("--show", action="store_true", help="show the plots")
    args = parser.parse_args(argv)

    X, y = load_mnist("train", return_X_y=True)
    X_test, y_test = load_mnist("test", return_X_y=True)
    if args.quick:
        X, y = X[:5_000], y[:5_000]
    clf = KerasCNNClassifier.from_preset(
        "zoo",
        validation_fraction=0.1,
        target_accuracy=0.999,
        epochs=2 if args.quick else 20,
        checkpoint_path=args.output,
        random_state=0,
        verbose=1,
    )
    start = time.perf_counter()
    clf.fit(X, y)
    seconds = time.perf_counter() - start
    print(
        f"Test accuracy {clf.score(X_test, y_test):.4f} after {clf.n_iter_} "
        f"epochs in {seconds:.0f} s (stopped: {clf.stop_reason_}; best "
        f"validation accuracy {clf.best_score_:.4f} at epoch {clf.best_epoch_})"
    )

    # The learning curves with the rate drops, the test digits it gets
    # wrong, and where the mistakes fall.
    plot_history(clf)
    y_pred = clf.predict(X_test)
    wrong = y_pred != y_test
    plot_digits(X_test[wrong], y_test[wrong], y_pred[wrong], max_digits=30)
    ConfusionMatrixDisplay.from_predictions(y_test, y_pred, colorbar=False)
    if args.show:
        plt.show()


if __name__ == "__main__":
    main()
