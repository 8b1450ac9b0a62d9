"""Writing a benchmark's results: JSON for machines, Markdown for people."""

import argparse
import json
import os
import pickle
import platform
import subprocess
import sys
import tempfile
from pathlib import Path


def machine():
    """What the figures were measured on.

    The versions come from the installed packages' metadata: importing
    TensorFlow here would print its banner and would decide oneDNN for the
    children this process starts.
    """
    from importlib import metadata

    def version(*names):
        for name in names:
            try:
                return metadata.version(name)
            except metadata.PackageNotFoundError:
                continue
        return "not installed"

    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, TensorFlow "
        f"{version('tensorflow', 'tensorflow-cpu')}, Keras {version('keras')}"
    )


def preset_network(est, n_features, n_classes=10, seed=0):
    """A new, uncompiled network of a preset estimator's architecture, as
    its fit builds it (through the preset's builder)."""
    meta = {"n_features_in_": n_features, "n_classes_": n_classes}
    return est._builder(**est._builder_arguments(meta), seed=seed)


def peer_row(work, ours, peer_name, peer, unit, target="", **extra):
    """A table row comparing our figure with a peer's (``peer`` 0: none)."""
    return {
        "work": work,
        "skdigits": ours,
        "peer": peer_name,
        "peer figure": peer,
        "unit": unit,
        "ratio": ours / peer if peer else float("nan"),
        "target": target,
        **extra,
    }


# The columns of a table of peer_row rows.
PEER_COLUMNS = [
    ("work", lambda r: r["work"]),
    ("skdigits", lambda r: f"{r['skdigits']:.4g}"),
    ("peer", lambda r: r["peer"]),
    ("peer figure", lambda r: f"{r['peer figure']:.4g}" if r["peer"] else ""),
    ("unit", lambda r: r["unit"]),
    ("ratio", lambda r: f"{r['ratio']:.2f}" if r["peer"] else ""),
    ("target", lambda r: r["target"] or ""),
]


def write_report(out, name, rows, columns, *, quick):
    """Write ``out/name.json`` and ``out/name.md`` and print the table.

    ``columns`` is a list of ``(header, format)`` pairs, ``format`` turning a
    row (a dict) into the cell's text.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    where = machine()
    (out / f"{name}.json").write_text(
        json.dumps({"machine": where, "quick": quick, "rows": rows}, indent=2)
    )
    lines = [
        f"Measured on {where}{' (--quick workloads)' if quick else ''}.",
        "",
        "| " + " | ".join(header for header, _ in columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    lines += ["| " + " | ".join(cell(r) for _, cell in columns) + " |" for r in rows]
    table = "\n".join(lines)
    (out / f"{name}.md").write_text(table + "\n")
    print(table)


def bench_arguments(doc, argv, quick_help):
    """The ``--quick`` and ``--out`` options every benchmark script takes."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--out", default="bench-results", help="output folder")
    return parser.parse_args(argv)


def child_json(code, *args, timeout=1800, env=None):
    """Run ``code`` in a fresh Python process (in this folder, so that the
    benchmark modules import; with ``env``, in that environment) and return
    the JSON of its last output line."""
    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=timeout,
        cwd=Path(__file__).parent,
        env=env,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


_LOAD_CHILD = """
import pickle, statistics, sys, time
import numpy as np
{imports}  # imports are not timed
x = np.load(sys.argv[2])
with open(sys.argv[1], "rb") as f:
    start = time.perf_counter()
    est = pickle.load(f)
    load = time.perf_counter() - start
times = []
for _ in range({calls}):
    start = time.perf_counter()
    est.predict_proba(x)
    times.append(time.perf_counter() - start)
print(times[0], statistics.median(times[1:]), load)
"""


def after_unpickling(est, rows, *, imports="import skdigits, keras", calls=21):
    """In a fresh process: the first ``predict_proba(rows)`` after unpickling
    ``est``, the median of the later calls, and the unpickling itself, in ms
    (the imports are done, and not timed, before)."""
    import numpy as np

    with tempfile.TemporaryDirectory() as folder:
        path, x = Path(folder) / "est.pkl", Path(folder) / "x.npy"
        path.write_bytes(pickle.dumps(est))
        np.save(x, rows)
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                _LOAD_CHILD.format(imports=imports, calls=calls),
                str(path),
                str(x),
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
            cwd=Path(__file__).parent,
        ).stdout.split()
    return tuple(float(v) * 1e3 for v in out)
