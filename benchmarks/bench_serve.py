"""``skdigits serve``: prediction round trips through the JSON API.

    python benchmarks/bench_serve.py [--quick] [--out bench-results]

For the default MLP and the default CNN (trained briefly on MNIST: the
timing does not depend on how well), a fresh ``skdigits serve MODEL --port
0`` process is started as a user starts it; once it announces its URL,
PNG drawings of digits are POSTed to ``/predict`` one at a time over one
kept-alive connection. Reported: the first request after start, and the
median and 95th percentile of the rest, each the whole round trip (PNG
decoding, MNIST-style preprocessing, the prediction, the JSON answer).
"""

import http.client
import io
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import joblib
import numpy as np
from _report import bench_arguments, write_report
from PIL import Image, ImageDraw

from skdigits import KerasCNNClassifier, KerasMLPClassifier
from skdigits.datasets import load_mnist

TARGET = "<= 30 ms"


def drawings(n, seed=0):
    """PNG bytes of ``n`` random strokes on a 280x280 pad, as the page sends."""
    rng = np.random.default_rng(seed)
    pictures = []
    for _ in range(n):
        image = Image.new("L", (280, 280), 255)
        points = [tuple(map(float, p)) for p in rng.uniform(40, 240, size=(4, 2))]
        ImageDraw.Draw(image).line(points, fill=0, width=18, joint="curve")
        data = io.BytesIO()
        image.save(data, format="PNG")
        pictures.append(data.getvalue())
    return pictures


def round_trips(model_path, pictures):
    """Seconds of each POST /predict to a freshly started server."""
    process = subprocess.Popen(
        [sys.executable, "-m", "skdigits", "serve", str(model_path), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        host, port = re.search(r"http://([^:/]+):(\d+)/", line).groups()
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        seconds = []
        for body in pictures:
            start = time.perf_counter()
            connection.request(
                "POST", "/predict", body=body, headers={"Content-Type": "image/png"}
            )
            answer = connection.getresponse()
            answer.read()
            seconds.append(time.perf_counter() - start)
            if answer.status != 200:
                raise RuntimeError(f"POST /predict answered {answer.status}")
        connection.close()
        return seconds
    finally:
        process.terminate()
        process.wait(timeout=30)


def main(argv=None):
    args = bench_arguments(__doc__, argv, "fewer requests")
    X, y = load_mnist(return_X_y=True)
    X, y = X[:2_000], y[:2_000]
    models = {
        "KerasMLPClassifier()": KerasMLPClassifier(epochs=2, random_state=0),
        "KerasCNNClassifier()": KerasCNNClassifier(epochs=1, random_state=0),
    }
    pictures = drawings(21 if args.quick else 201)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, model in models.items():
            path = Path(folder) / "model.joblib"
            joblib.dump(model.fit(X, y), path)
            seconds = np.array(round_trips(path, pictures)) * 1e3
            rest = seconds[1:]
            rows.append(
                {
                    "model": name,
                    "first ms": float(seconds[0]),
                    "median ms": float(statistics.median(rest)),
                    "p95 ms": float(np.percentile(rest, 95)),
                    "requests": len(seconds),
                    "target": TARGET,
                }
            )
            print(rows[-1], flush=True)
    columns = [
        ("model served", lambda r: r["model"]),
        ("first request after start, ms", lambda r: f"{r['first ms']:.1f}"),
        ("median, ms", lambda r: f"{r['median ms']:.1f}"),
        ("95th percentile, ms", lambda r: f"{r['p95 ms']:.1f}"),
        ("requests", lambda r: str(r["requests"])),
        ("target", lambda r: r["target"]),
    ]
    write_report(args.out, "bench_serve", rows, columns, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
