"""
A first fit on load_digits
==========================

scikit-learn's 8x8 digits with the default parameters of both estimators:
the learning curves with the learning-rate drops, the test digits the CNN
gets wrong, and its confusion matrix. Runs in seconds.

    python examples/first_fit_load_digits.py [--quick] [--show]
"""

import argparse

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.model_selection import train_test_split

from skdigits import KerasCNNClassifier, KerasMLPClassifier
from skdigits.plotting import plot_digits, plot_history


def main(argv=None):
    parser = argparse.ArgumentParser(description="A first fit on load_digits")
    parser.add_argument("--quick", action="store_true", help="(already quick)")
    parser.add_argument("--show", action="store_true", help="show the plots")
    args = parser.parse_args(argv)

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16, y, test_size=0.25, random_state=0, stratify=y
    )
    mlp = KerasMLPClassifier(random_state=0).fit(X_train, y_train)
    cnn = KerasCNNClassifier(random_state=0).fit(X_train, y_train)
    for model in (mlp, cnn):
        print(
            f"{type(model).__name__}: test accuracy "
            f"{model.score(X_test, y_test):.4f} after {model.n_iter_} epochs "
            f"of batch {model.batch_size_} (stopped: {model.stop_reason_})"
        )
        plot_history(model)

    y_pred = cnn.predict(X_test)
    wrong = y_pred != y_test
    plot_digits(X_test[wrong], y_test[wrong], y_pred[wrong], max_digits=20)
    ConfusionMatrixDisplay.from_predictions(y_test, y_pred, colorbar=False)
    if args.show:
        plt.show()


if __name__ == "__main__":
    main()
