"""
The MLP variations of the Flux.jl article
=========================================

The article's networks 4LS, 3LS and 2LR (four or three sigmoid layers, or
two with relu), each trained with the MSE and the cross-entropy loss, with
plain gradient descent and Adam, and with batch, stochastic and mini-batch
gradient descent, on MNIST. The training rules are off, so every run gets
the same epochs. ``--quick`` trains on 2,000 images for 2 epochs;
``--epochs N`` sets the epochs.
"""

# %%
# The data and the settings
# -------------------------
import argparse

from skdigits.datasets import load_mnist

parser = argparse.ArgumentParser(
    description="The MLP variations of the Flux.jl article"
)
parser.add_argument("--quick", action="store_true", help="2,000 images")
parser.add_argument("--epochs", type=int, default=None)
parser.add_argument("--show", action="store_true", help="show the plots")
args, _ = parser.parse_known_args()
n_train = 2_000 if args.quick else 60_000
epochs = args.epochs or (2 if args.quick else 10)

X, y = load_mnist("train", return_X_y=True)
X_test, y_test = load_mnist("test", return_X_y=True)
X, y = X[:n_train], y[:n_train]

# Plain gradient descent needs a larger step than Adam; batch_size picks the
# variant: None is batch gradient descent, 1 stochastic, 128 mini-batch.
LEARNING_RATES = {"sgd": 0.1, "adam": 1e-3}
VARIANTS = {"batch": None, "stochastic": 1, "mini-batch": 128}

# %%
# Every combination
# -----------------
# 3 networks x 2 losses x 2 optimizers x 3 variants: 36 fits.
import itertools
import time

from skdigits import RULES_OFF, KerasMLPClassifier

print(f"{n_train:,} training images, {epochs} epochs per run\n")
print("| model | loss | optimizer | GD variant | test accuracy | seconds |")
print("|---|---|---|---|---:|---:|")
runs = []
for model, loss, optimizer, variant in itertools.product(
    ("4LS", "3LS", "2LR"), ("mse", "crossentropy"), ("sgd", "adam"), VARIANTS
):
    clf = KerasMLPClassifier.from_preset(
        model,
        loss=loss,
        optimizer=optimizer,
        learning_rate=LEARNING_RATES[optimizer],
        batch_size=VARIANTS[variant],
        epochs=epochs,
        validation_fraction=0,
        **RULES_OFF,
        random_state=0,
    )
    start = time.perf_counter()
    clf.fit(X, y)
    seconds = time.perf_counter() - start
    accuracy = clf.score(X_test, y_test)
    print(
        f"| {model} | {loss} | {optimizer} | {variant} | {accuracy:.4f} "
        f"| {seconds:.1f} |",
        flush=True,
    )
    runs.append((f"{model} {loss} {optimizer} {variant}", accuracy))

# %%
# The test accuracy of each run: Adam and mini-batches carry the day, and
# the sigmoid networks need more steps than the relu one.
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(7, 9), constrained_layout=True)
names, accuracies = zip(*runs, strict=True)
ax.barh(names, accuracies)
ax.invert_yaxis()
ax.set_xlim(0, 1)
ax.set_xlabel("test accuracy")
ax.set_title(f"{n_train:,} images, {epochs} epochs, training rules off")
if args.show:
    plt.show()
