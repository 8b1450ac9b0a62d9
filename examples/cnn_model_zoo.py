"""
The Flux model-zoo CNN on MNIST
===============================

``KerasCNNClassifier.from_preset("zoo")``: three 3x3 convolution and 2x2
max-pooling blocks (16, 32, 32 filters), then a softmax layer; Adam at
3e-3, batch 128, Gaussian input noise, a 10% validation hold-out, and the
zoo's rules: drop the learning rate 10x after 5 epochs without improvement,
stop at 99.9% validation accuracy or after 10 flat epochs, keep the best
model. ``--quick`` trains on 5,000 images for 2 epochs; ``--output
FILE.keras`` saves the best model as it trains.
"""

# %%
# Training
# --------
import argparse
import time

from skdigits import KerasCNNClassifier
from skdigits.datasets import load_mnist

parser = argparse.ArgumentParser(description="The Flux model-zoo CNN on MNIST")
parser.add_argument("--quick", action="store_true", help="5,000 images, 2 epochs")
parser.add_argument("--output", default=None, help="save the best model (.keras)")
parser.add_argument("--show", action="store_true", help="show the plots")
args, _ = parser.parse_known_args()

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

# %%
# The learning curves
# -------------------
# Dotted lines mark the rate drops; the green band is the best epoch.
from skdigits.plotting import plot_digits, plot_history

fig = plot_history(clf)

# %%
# The mistakes
# ------------
# The first test digits it gets wrong, and where all its mistakes fall.
y_pred = clf.predict(X_test)
wrong = y_pred != y_test
fig = plot_digits(X_test[wrong], y_test[wrong], y_pred[wrong], max_digits=30)

# %%
from sklearn.metrics import ConfusionMatrixDisplay

ConfusionMatrixDisplay.from_predictions(y_test, y_pred, colorbar=False)
if args.show:
    import matplotlib.pyplot as plt

    plt.show()
