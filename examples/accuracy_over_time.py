"""
Accuracy against time on MNIST
==============================

Test accuracy on the 10,000 MNIST test images against the seconds of
training, for skdigits 0.1's default CNN, today's default (a one-cycle
schedule on a leaner network), the "wide" preset and the Flux model zoo's
network trained by plain Keras, all measured in one run of
``benchmarks/accuracy.py --curves`` on 2 CPU cores (the file
``benchmarks/results/accuracy_curves.json`` holds the points; the machine
is named in it). Each point is an epoch; the test images were scored after
each epoch only to draw this, never to steer training.

Run ``python benchmarks/accuracy.py --curves --models cnn-v0.1 cnn
cnn-wide zoo-raw-keras --out benchmarks/results`` to measure your machine
(about 15 minutes); ``--quick`` here changes nothing.
"""

# %%
# The measured points
# -------------------
import json
import sys
from pathlib import Path

import matplotlib.pyplot as plt

here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
results = json.loads(
    (here.parent / "benchmarks" / "results" / "accuracy_curves.json").read_text()
)
print(f"Measured on {results['machine']}")
for name, points in results["curves"].items():
    seconds, accuracy = points[-1]
    print(f"{name}: test accuracy {accuracy:.4f} after {seconds:.0f} s")

# %%
# Test accuracy against wall-clock seconds
# ----------------------------------------
# The dotted line is 99.4%, the default's target. A point is the network
# at the end of that epoch; "v0.1" and "wide" then go back to the epoch best
# on their 10% hold-out, so the fitted estimator scores that epoch's point.
LABELS = {
    "cnn-v0.1": "skdigits 0.1's default (plateau drops)",
    "cnn": "default (one-cycle, lean)",
    "cnn-wide": 'preset "wide"',
    "zoo-raw-keras": "model zoo network, plain Keras",
}
fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
for name, points in results["curves"].items():
    model = name.split(" ")[0]
    seconds, accuracy = zip(*points, strict=True)
    ax.plot(seconds, accuracy, "o-", label=LABELS.get(model, model))
ax.axhline(0.994, color="grey", linestyle=":", linewidth=1)
ax.set_ylim(0.98, 0.997)
ax.set_xlabel("seconds of training")
ax.set_ylabel("test accuracy")
ax.grid(alpha=0.3)
ax.legend(loc="lower right")
if "--show" in sys.argv:
    plt.show()
