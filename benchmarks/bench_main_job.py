"""The main job (``skdigits train`` with its defaults) against skdigits 0.2's,
and where the new default's time goes.

Both commands run as whole processes under GNU ``time -v``, alternating:
the new one from this checkout, the old one from ``--old-ref`` (the code at
that commit, extracted with ``git archive`` and put first on
``PYTHONPATH``, with the same installed libraries). Each reports its wall
time, CPU share and test accuracy. One epoch of the Flux model-zoo CNN in
plain Keras (``model.fit`` on all of MNIST) gives the unit both are also
expressed in. Then the new default's time is split, its epochs timed in
a warm process (the median of 3 epochs, timed by a callback):

- training steps: the epochs without shifts (the network's forward pass,
  gradients and Adam update, with the engine's gather of the rows, the
  schedule and the metrics);
- augmentation: the epochs with the default shifts less those without;
- rest of the fit: the main job's training seconds less its epochs
  (compiling, the first epoch's warm-up, the checkpoints);
- rest of the process: the main job's wall time less its training seconds
  (importing TensorFlow, loading MNIST, testing, saving, the plot).

The epochs' CPU share (user and system seconds over wall seconds) is
measured too, once with oneDNN as skdigits chooses it and once with
``TF_ENABLE_ONEDNN_OPTS=0`` (Eigen's kernels), to show what limits the
process's share.

Writes ``main_job.json`` and ``main_job.md`` to ``--out``;
``benchmarks/results/main_job.json`` holds a run's figures for the docs'
plot (``examples/main_job_time.py``).

    python benchmarks/bench_main_job.py [--quick] [--rounds 1] [--out bench-results]
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The environment as given, before importing skdigits here sets
# TF_ENABLE_ONEDNN_OPTS: each child chooses for itself.
ENVIRON = dict(os.environ)
# skdigits 0.2's default: the last commit before the new one.
OLD_REF = "2e6abf2"

ENGINE = r"""
import json, os, statistics, sys, time
from skdigits import KerasCNNClassifier
from skdigits._backend import keras
from skdigits.datasets import load_mnist

quick = sys.argv[1] == "1"
X, y = load_mnist("train", return_X_y=True)
if quick:
    X, y = X[:6000], y[:6000]


def cpu():
    return sum(os.times()[:2])  # this process's user and system seconds


class EpochTimer(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.seconds, self.cpu = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.start, self.start_cpu = time.perf_counter(), cpu()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)
        self.cpu.append(cpu() - self.start_cpu)


out = {}
for name, params in (("with shifts", {}), ("without shifts", {"shift": 0})):
    # Compiled first, then the median of 3 epochs.
    KerasCNNClassifier(random_state=0, epochs=1, **params).fit(X[:2048], y[:2048])
    clf = KerasCNNClassifier(
        random_state=0, epochs=3, callbacks=[EpochTimer()], **params
    ).fit(X, y)
    timer = clf.callbacks_[0]
    out[name] = statistics.median(timer.seconds)
    out[name + ", CPU percent"] = round(100 * sum(timer.cpu) / sum(timer.seconds))
print(json.dumps(out))
"""

ZOO_EPOCH = r"""
import json, sys, time
from accuracy import raw_zoo
from skdigits.datasets import load_mnist

X, y = load_mnist("train", return_X_y=True)
X_test, y_test = load_mnist("test", return_X_y=True)
if sys.argv[1] == "1":
    X, y = X[:6000], y[:6000]
raw_zoo(X[:1024], y[:1024], X_test[:10], y_test[:10], 0, 1, None)  # compiled
start = time.perf_counter()
raw_zoo(X, y, X_test[:10], y_test[:10], 0, 1, None)
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def main_job(which, old_tree, folder, quick):
    """One ``skdigits train`` process under ``time -v``: its figures."""
    env = dict(ENVIRON)
    if which == "old":
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(old_tree), env.get("PYTHONPATH")) if p
        )
    command = [
        "/usr/bin/time",
        "-v",
        sys.executable,
        "-m",
        "skdigits",
        "train",
        "--output",
        str(folder / f"{which}.joblib"),
    ]
    if quick:
        command += ["--max-samples", "6000"]
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=folder, timeout=3600
    )
    if done.returncode != 0:
        raise RuntimeError(f"{which}: {done.stderr[-3000:]}")
    wall = re.search(
        r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", done.stderr
    )
    hours, minutes, seconds = (float(g) if g else 0.0 for g in wall.groups())
    cpu = re.search(r"Percent of CPU this job got: (\d+)%", done.stderr)
    accuracy = re.search(r"Test accuracy: ([\d.]+)", done.stdout)
    epochs = re.search(r"after (\d+) epochs in (\d+) s", done.stdout)
    return {
        "wall seconds": hours * 3600 + minutes * 60 + seconds,
        "cpu percent": int(cpu.group(1)),
        "test accuracy": float(accuracy.group(1)),
        "epochs": int(epochs.group(1)),
        "training seconds": int(epochs.group(2)),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6,000 images")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--old-ref", default=OLD_REF)
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).parent))
    from _report import child_json, machine

    from skdigits import _cpu

    quick = "1" if args.quick else "0"
    runs = {"old": [], "new": []}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        old_tree = tmp / "old"
        old_tree.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.old_ref, "skdigits"],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(old_tree)], input=archive, check=True)
        for _ in range(args.rounds):
            for which in ("old", "new"):
                runs[which].append(main_job(which, old_tree, tmp, args.quick))
                print(which, runs[which][-1], flush=True)
    zoo = child_json(ZOO_EPOCH, quick)["seconds"]
    engine = child_json(ENGINE, quick)
    # The same epochs on Eigen's kernels (oneDNN off), for the CPU share.
    eigen = child_json(ENGINE, quick, env={**ENVIRON, "TF_ENABLE_ONEDNN_OPTS": "0"})
    old = min(runs["old"], key=lambda r: r["wall seconds"])
    new = min(runs["new"], key=lambda r: r["wall seconds"])
    epochs = new["epochs"]
    split = {
        "training steps": epochs * engine["without shifts"],
        "augmentation": epochs * (engine["with shifts"] - engine["without shifts"]),
        "rest of the fit": new["training seconds"] - epochs * engine["with shifts"],
        "rest of the process": new["wall seconds"] - new["training seconds"],
    }
    report = {
        "machine": machine(),
        "cpu flags": sorted(
            _cpu.cpu_flags() & {"avx2", "avx512f", "avx512_vnni"}
            | (_cpu.cpu_flags() & _cpu.BF16_FLAGS)
        ),
        "precision": _cpu.auto_precision(),
        "quick": args.quick,
        "date": time.strftime("%Y-%m-%d"),
        "old ref": args.old_ref,
        "runs": runs,
        "old": old,
        "new": new,
        "ratio": new["wall seconds"] / old["wall seconds"],
        "zoo raw-Keras epoch seconds": zoo,
        "epoch seconds": engine,
        "epoch seconds, oneDNN off": eigen,
        "split seconds": split,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "main_job.json").write_text(json.dumps(report, indent=1))
    lines = [
        f"`skdigits train` with its defaults ({report['machine']}; "
        f"{report['precision']}; the faster of {args.rounds} run(s) each, "
        "alternating)",
        "",
        "| code | wall s | in zoo epochs | CPU | epochs | test accuracy |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in (
        ("skdigits 0.2 (" + args.old_ref + ")", old),
        ("this checkout", new),
    ):
        lines.append(
            f"| {name} | {r['wall seconds']:.1f} | {r['wall seconds'] / zoo:.1f} | "
            f"{r['cpu percent']}% | {r['epochs']} | {r['test accuracy']:.4f} |"
        )
    lines += [
        "",
        f"Ratio new/old: {report['ratio']:.2f}. One raw-Keras epoch of the "
        f"zoo CNN: {zoo:.1f} s.",
        "",
        "| new default's time | seconds | share |",
        "|---|---:|---:|",
    ]
    for part, seconds in split.items():
        lines.append(
            f"| {part} | {seconds:.1f} | {seconds / new['wall seconds']:.0%} |"
        )
    lines += [
        "",
        "| an epoch of the new default (median of 3) | seconds | CPU |",
        "|---|---:|---:|",
    ]
    for kernels, figures in (("as chosen", engine), ("oneDNN off", eigen)):
        for name in ("with shifts", "without shifts"):
            lines.append(
                f"| {name}, {kernels} | {figures[name]:.2f} | "
                f"{figures[name + ', CPU percent']}% |"
            )
    text = "\n".join(lines) + "\n"
    (args.out / "main_job.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
