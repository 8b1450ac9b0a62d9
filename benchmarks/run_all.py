"""Run every benchmark and write one summary table (Markdown and JSON).

    python benchmarks/run_all.py [--quick] [--accuracy] [--out bench-results]

``--quick`` shrinks every workload (a few minutes; a smoke
test, not a pass/fail on speed). ``--accuracy`` adds the full-MNIST
accuracy runs (tens of minutes).
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import accuracy  # noqa: E402
import bench_core  # noqa: E402
import bench_main_job  # noqa: E402
import bench_peers  # noqa: E402
import bench_regression  # noqa: E402
import bench_serve  # noqa: E402
import bench_small  # noqa: E402
import bench_wrappers  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--accuracy", action="store_true")
    parser.add_argument("--out", default="bench-results")
    args = parser.parse_args(argv)
    common = ["--out", args.out] + (["--quick"] if args.quick else [])
    parts = [
        ("Against raw Keras", bench_core, "bench_core.md"),
        ("Against peers", bench_peers, "bench_peers.md"),
        ("Small data and short fits", bench_small, "bench_small.md"),
        ("Against the other Keras wrappers", bench_wrappers, "bench_wrappers.md"),
        ("Regression", bench_regression, "bench_regression.md"),
        ("Serving: skdigits serve", bench_serve, "bench_serve.md"),
    ]
    if not args.quick:  # two whole MNIST trainings even when quick
        parts.insert(0, ("The main job", bench_main_job, "main_job.md"))
    if args.accuracy:
        parts.append(("Accuracy on MNIST", accuracy, "accuracy.md"))
    sections = []
    for title, module, table in parts:
        module.main(common)
        sections.append(f"## {title}\n\n{(Path(args.out) / table).read_text()}")
    (Path(args.out) / "summary.md").write_text("\n".join(sections))
    print(f"\nWrote {Path(args.out) / 'summary.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
