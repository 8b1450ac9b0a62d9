"""
Search time against n_jobs
==========================

Wall-clock seconds of four searches on ``load_digits`` with ``n_jobs=1``,
``n_jobs=2`` (joblib's loky workers) and a Dask ``LocalCluster`` of 2
worker processes, all measured in one run of
``benchmarks/bench_parallel.py`` on 2 CPU cores (the file
``benchmarks/results/search_scaling.json`` holds the figures; the machine
is named in it). Each search ran in a fresh process, timed after its
imports, so the loky workers' own import of TensorFlow counts (the Dask
workers import skdigits as the cluster starts, untimed); then the same
search ran again in that process, with the workers joblib and Dask keep
between searches already warm.

Run ``python benchmarks/bench_parallel.py --out benchmarks/results`` to
measure your machine (about 10 minutes); ``--quick`` here changes nothing.
"""

# %%
# The measured figures
# --------------------
import json
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
results = json.loads(
    (here.parent / "benchmarks" / "results" / "search_scaling.json").read_text()
)
SETTINGS = ("n_jobs=1", "n_jobs=2", "dask 2 workers")
print(f"Measured on {results['machine']} ({results['date']})")
for row in results["results"]:
    first = ", ".join(f"{s}: {row[s]:.1f} s" for s in SETTINGS)
    again = ", ".join(f"{s}: {row[s + ' again']:.1f} s" for s in SETTINGS)
    print(
        f"{row['search']}: first {first}; again {again}; largest difference "
        f"of a mean test accuracy from n_jobs=1's: {row['n_jobs=2 score diff']:.4f}"
    )

# %%
# Seconds by setting
# ------------------
# A bar below its n_jobs=1 neighbour is a speed-up. Left, the first search
# of a session: each loky worker imports TensorFlow (about 4 s on 2 cores)
# and compiles its own trainers, which costs more than two cores win back on
# the shortest searches. Right, the same search again: the workers are warm.
fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), sharey=True, constrained_layout=True)
width = 0.27
labels = [row["key"] for row in results["results"]]
x = np.arange(len(labels))
panels = [("first search in a fresh process", ""), ("the same search again", " again")]
for ax, (title, tail) in zip(axes, panels, strict=True):
    for i, setting in enumerate(SETTINGS):
        seconds = [row[setting + tail] for row in results["results"]]
        ax.bar(x + (i - 1) * width, seconds, width, label=setting)
    ax.set_xticks(
        x, ["KerasMLP\nsearch", "own Dense\nmodel", "CNN\ncv=4", "MLP-\nClassifier"]
    )
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
axes[0].set_ylabel("seconds")
axes[0].legend()
if "--show" in sys.argv:
    plt.show()
