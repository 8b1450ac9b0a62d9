"""
Search time against n_jobs
==========================

Wall-clock seconds of four searches on ``load_digits`` with ``n_jobs=1``,
``n_jobs=2`` (joblib's loky workers) and a Dask ``LocalCluster`` of 2
worker processes, all measured in one run of
``benchmarks/bench_parallel.py`` on 2 CPU cores (the file
``benchmarks/results/search_scaling.json`` holds the figures; the machine
is named in it). Each search ran in a fresh process, timed after its
imports, so the workers' own import of TensorFlow counts.

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
    figures = ", ".join(f"{s}: {row[s]:.1f} s" for s in SETTINGS)
    print(
        f"{row['search']}: {figures}; largest difference of a mean test "
        f"accuracy from n_jobs=1's: {row['n_jobs=2 score diff']:.4f}"
    )

# %%
# Seconds by setting
# ------------------
# A bar below its n_jobs=1 neighbour is a speed-up. The workers start with
# no TensorFlow: the import (about 4 s here) and each worker's own
# compilation cost more than two cores win back on the shortest searches.
fig, ax = plt.subplots(figsize=(8, 4.5), constrained_layout=True)
width = 0.27
labels = [row["key"] for row in results["results"]]
x = np.arange(len(labels))
for i, setting in enumerate(SETTINGS):
    seconds = [row[setting] for row in results["results"]]
    ax.bar(x + (i - 1) * width, seconds, width, label=setting)
ax.set_xticks(x, ["KerasMLP search", "own Dense model", "CNN cv=4", "MLPClassifier"])
ax.set_ylabel("seconds")
ax.grid(axis="y", alpha=0.3)
ax.legend()
if "--show" in sys.argv:
    plt.show()
