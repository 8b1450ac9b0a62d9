"""
Where the main job's time goes
==============================

``skdigits train`` with its defaults against skdigits 0.2's default, two
whole processes measured side by side in one run of
``benchmarks/bench_main_job.py`` on 2 CPU cores, and the new default's
time split into the network's arithmetic, the augmentation, the engine's
own work and the rest of the process (the file
``benchmarks/results/main_job.json`` holds the figures; the machine is
named in it).

Run ``python benchmarks/bench_main_job.py --out benchmarks/results`` to
measure your machine (about 8 minutes); ``--quick`` here changes nothing.
"""

# %%
# The measured figures
# --------------------
import json
import sys
from pathlib import Path

import matplotlib.pyplot as plt

here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
results = json.loads(
    (here.parent / "benchmarks" / "results" / "main_job.json").read_text()
)
print(f"Measured on {results['machine']} ({results['date']}), {results['precision']}")
for name in ("old", "new"):
    run = results[name]
    print(
        f"{name}: {run['wall seconds']:.0f} s, {run['cpu percent']}% CPU, "
        f"{run['epochs']} epochs, test accuracy {run['test accuracy']:.4f}"
    )
print(f"new / old: {results['ratio']:.2f}")

# %%
# The two processes, split
# ------------------------
# Each bar is one whole ``skdigits train`` process. The new default's bar is
# split as the benchmark measured it; skdigits 0.2's is one block.
split = results["split seconds"]
fig, ax = plt.subplots(figsize=(8, 3.2), constrained_layout=True)
ax.barh(1, results["old"]["wall seconds"], color="0.6", label="skdigits 0.2")
left = 0.0
for part, seconds in split.items():
    ax.barh(0, max(seconds, 0.0), left=left, label=part)
    left += max(seconds, 0.0)
ax.set_yticks([0, 1], ["this release", "skdigits 0.2"])
ax.set_xlabel("seconds of the whole process")
ax.grid(axis="x", alpha=0.3)
ax.legend(loc="lower right", fontsize="small")
if "--show" in sys.argv:
    plt.show()
