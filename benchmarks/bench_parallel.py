"""Search time against n_jobs: 1, 2, and a Dask LocalCluster of 2 workers.

The three skdigits searches of issue 25 and scikit-learn's MLPClassifier as
the peer, on ``load_digits``. Each search runs in a fresh process (as a new
user's would), timed after that process's imports: the loky workers' import
of TensorFlow is part of the time; the Dask cluster's workers import
skdigits as they start (``preload``), which is not timed. Then the same
search runs again in that process ("again"): the workers that joblib and
Dask keep between searches are warm, with TensorFlow imported and
skdigits's trainers compiled; whether it gave the first results is recorded.
The runs alternate between settings; each figure is the smaller of
``--rounds`` runs. Every run also records its scores: the table shows whether
the best candidate equals n_jobs=1's, and the largest difference of a mean
test score (the CNN's cross-validation has no best candidate: its workers'
single thread rounds differently from the main process's two).

Writes ``search_scaling.json`` and ``search_scaling.md`` to ``--out``.
``benchmarks/results/search_scaling.json`` holds a run's figures for the
docs' plot (``examples/search_scaling.py``).

    python benchmarks/bench_parallel.py [--quick] [--rounds 2] [--out bench-results]
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

SEARCHES = {
    "mlp": "GridSearchCV(KerasMLPClassifier(), 6 candidates, cv=3)",
    "dense": "GridSearchCV(KerasClassifier(own Dense model), 6 candidates, cv=3)",
    "cnn": "cross_val_score(KerasCNNClassifier(), cv=4)",
    "peer": "GridSearchCV(MLPClassifier(), 6 candidates, cv=3) (peer)",
}
SETTINGS = ("n_jobs=1", "n_jobs=2", "dask 2 workers")

# One search, run in a fresh process: prints its seconds and scores as JSON.
CHILD = r"""
import contextlib, json, sys, time, warnings
which, setting, quick = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
import numpy as np
from joblib import parallel_config
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.neural_network import MLPClassifier
from skdigits import KerasClassifier, KerasCNNClassifier, KerasMLPClassifier
from skdigits._backend import keras

warnings.simplefilter("ignore", ConvergenceWarning)
X, y = load_digits(return_X_y=True)
X = (X / 16).astype("float32")
if quick:
    X, y = X[:600], y[:600]


def dense(meta, hidden=32):
    return keras.Sequential([
        keras.Input((meta["n_features_in_"],)),
        keras.layers.Dense(hidden, activation="relu"),
        keras.layers.Dense(meta["n_classes_"], activation="softmax"),
    ])


def search(n_jobs):
    if which == "mlp":
        est, grid = KerasMLPClassifier(random_state=0), {
            "hidden_layer_sizes": [(32,), (64,), (128,)],
            "learning_rate": [1e-3, 3e-3],
        }
    elif which == "dense":
        est = KerasClassifier(
            dense, loss="sparse_categorical_crossentropy", epochs=10, random_state=0
        )
        grid = {
            "model__hidden": [32, 64, 128],
            "optimizer__learning_rate": [1e-3, 3e-3],
        }
    elif which == "peer":
        est, grid = MLPClassifier(random_state=0), {
            "hidden_layer_sizes": [(32,), (64,), (128,)],
            "learning_rate_init": [1e-3, 3e-3],
        }
    else:
        scores = cross_val_score(
            KerasCNNClassifier(random_state=0), X.reshape(-1, 8, 8), y, cv=4,
            n_jobs=n_jobs,
        )
        return scores.tolist(), None
    s = GridSearchCV(est, grid, cv=3, n_jobs=n_jobs).fit(X, y)
    return s.cv_results_["mean_test_score"].tolist(), str(s.best_params_)


with contextlib.ExitStack() as stack:
    n_jobs = 1 if setting == "n_jobs=1" else 2
    if setting == "dask 2 workers":
        import distributed
        cluster = stack.enter_context(distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True,
            dashboard_address=None,
            # Workers import skdigits (and TensorFlow) as they start, as a
            # Dask user's cluster would: the cluster's start is not timed.
            preload=["skdigits"],
        ))
        stack.enter_context(distributed.Client(cluster))
        stack.enter_context(parallel_config(backend="dask"))
        n_jobs = -1
    start = time.perf_counter()
    scores, best = search(n_jobs)
    seconds = time.perf_counter() - start
    # The same search again in this session: joblib keeps its loky workers
    # (and Dask its cluster's) between searches, with TensorFlow imported
    # and skdigits's compiled trainers cached.
    start = time.perf_counter()
    again_scores, again_best = search(n_jobs)
    again = time.perf_counter() - start
    same = (again_scores, again_best) == (scores, best)
print(json.dumps({
    "seconds": seconds, "again": again, "again same": same,
    "scores": scores, "best": best,
}))
"""


def run_one(which, setting, quick):
    done = subprocess.run(
        [sys.executable, "-c", CHILD, which, setting, "1" if quick else "0"],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{which} / {setting} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from _report import machine

    rounds = 1 if args.quick else args.rounds
    runs = {(w, s): [] for w in SEARCHES for s in SETTINGS}
    for _ in range(rounds):
        for which in SEARCHES:
            for setting in SETTINGS:
                runs[which, setting].append(run_one(which, setting, args.quick))
    results = []
    for which, title in SEARCHES.items():
        best = {s: min(runs[which, s], key=lambda r: r["seconds"]) for s in SETTINGS}
        serial = best["n_jobs=1"]
        row = {"search": title, "key": which}
        for setting in SETTINGS:
            row[setting] = best[setting]["seconds"]
            row[f"{setting} again"] = min(r["again"] for r in runs[which, setting])
            row[f"{setting} again same"] = all(
                r["again same"] for r in runs[which, setting]
            )
            row[f"{setting} same best"] = best[setting]["best"] == serial["best"]
            row[f"{setting} score diff"] = max(
                abs(a - b)
                for a, b in zip(best[setting]["scores"], serial["scores"], strict=True)
            )
        results.append(row)
    args.out.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": machine(),
        "quick": args.quick,
        "rounds": rounds,
        "date": time.strftime("%Y-%m-%d"),
        "results": results,
    }
    (args.out / "search_scaling.json").write_text(json.dumps(report, indent=1))
    lines = [
        f"Search time against n_jobs ({report['machine']}; smaller of "
        f"{rounds} fresh-process runs; first search, then the same again)",
        "",
        "| search | run | n_jobs=1 s | n_jobs=2 s | ratio | Dask 2 workers s "
        "| ratio | same best (2 / Dask) | largest score difference (2 / Dask) "
        "| again gave the first results (1 / 2 / Dask) |",
        "|---|---|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for r in results:
        for run, tail in (("first", ""), ("again", " again")):
            one, two, dask = (r[s + tail] for s in SETTINGS)
            lines.append(
                f"| {r['search']} | {run} | {one:.1f} | {two:.1f} | "
                f"{two / one:.2f} | {dask:.1f} | {dask / one:.2f} | "
                f"{r['n_jobs=2 same best']} / {r['dask 2 workers same best']} | "
                f"{r['n_jobs=2 score diff']:.4f} / "
                f"{r['dask 2 workers score diff']:.4f} | "
                + " / ".join(str(r[f"{s} again same"]) for s in SETTINGS)
                + " |"
            )
    text = "\n".join(lines) + "\n"
    (args.out / "search_scaling.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
