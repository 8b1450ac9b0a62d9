"""``skdigits serve``: start-up, memory, round trips, and the page's answer.

    python benchmarks/bench_serve.py [--quick] [--out bench-results]

For the default MLP and the default CNN (trained briefly on MNIST: the
timing does not depend on how well), each served two ways, side by side in
one run: the joblib file (``skdigits serve model.joblib``, with
TensorFlow) and the exported ONNX file (``skdigits serve model.onnx``,
onnxruntime, no TensorFlow). For each, a fresh server process is started as
a user starts it, and measured:

- start to ready: from starting the process to its announcing its URL
  (it has loaded the model and answered one warm-up drawing by then);
- resident memory (RSS) of the process after the requests;
- PNG drawings of random strokes POSTed to ``/predict`` one at a time over
  one kept-alive connection: the first request, and the median and 95th
  percentile of the rest (PNG decoding, MNIST-style preprocessing, the
  prediction, the JSON answer);
- with headless Chromium (``chromium`` and ``chromium-driver``, and
  Selenium): digits drawn on the page with pointer strokes, and the time
  from the pen lifting to the answer on the page (the page's own
  ``performance.now()`` figures), median of the drawings.

Also one-row ``predict_proba`` in the benchmark's own process, steady
(median of 200): the exported model on onnxruntime (the "onnx" rows), the
estimator itself (the "joblib" rows).
"""

import http.client
import io
import re
import shutil
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


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Server:
    """``skdigits serve MODEL --port 0`` in a fresh process."""

    def __init__(self, model_path):
        start = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "skdigits", "serve", str(model_path), "--port", "0"],
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline()
        self.ready_s = time.perf_counter() - start
        match = re.search(r"http://([^:/]+):(\d+)/", line)
        if match is None:
            self.close()
            raise RuntimeError(f"the server did not start: {line!r}")
        self.host, self.port = match.group(1), int(match.group(2))
        self.url = f"http://{self.host}:{self.port}/"

    def round_trips(self, pictures):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
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

    def close(self):
        self.process.terminate()
        self.process.wait(timeout=30)


# Digits drawn on the page, as offsets from the pad's centre.
_ANGLES = np.linspace(0, 2 * np.pi, 24)
PAGE_STROKES = [
    [[(0, -90), (0, 90)]],
    [[(70 * np.cos(a), 95 * np.sin(a)) for a in _ANGLES]],
    [[(-70, -80), (70, -80), (-20, 90)]],
    [[(-60, -60), (0, -90), (60, -60), (-60, 90), (70, 90)]],
    [[(-50, -90), (-50, 0), (60, 0)], [(30, -90), (30, 90)]],
]


def page_latencies(url, drawings_count):
    """Milliseconds from the pen lifting to the answer on the page, for
    digits drawn with pointer strokes in headless Chromium; None without
    a browser."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.common.actions import interaction
        from selenium.webdriver.common.actions.action_builder import ActionBuilder
        from selenium.webdriver.common.actions.pointer_input import PointerInput
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait
    except ImportError:
        return None
    if chromium is None or driver_path is None:
        return None
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1000,800")
    driver = webdriver.Chrome(
        service=webdriver.ChromeService(executable_path=driver_path), options=options
    )
    latencies = []
    try:
        driver.get(url)
        pad = driver.find_element(By.ID, "pad")
        body = driver.find_element(By.TAG_NAME, "body")
        for i in range(drawings_count):
            driver.find_element(By.ID, "clear").click()
            for line in PAGE_STROKES[i % len(PAGE_STROKES)]:
                kind = interaction.POINTER_MOUSE
                actions = ActionBuilder(driver, mouse=PointerInput(kind, "pen"))
                pointer = actions.pointer_action
                pointer.move_to(pad, int(line[0][0]), int(line[0][1])).pointer_down()
                for x, y in line[1:]:
                    pointer.move_to(pad, int(x), int(y))
                pointer.pointer_up()
                actions.perform()
                WebDriverWait(driver, 30).until(
                    lambda d: (
                        body.get_attribute("data-state") == "done"
                        and body.get_attribute("data-sent")
                        == body.get_attribute("data-answered")
                    )
                )
            latencies.append(float(body.get_attribute("data-latency-ms")))
    finally:
        driver.quit()
    return latencies


def onnx_one_row(est, folder, X, repeat):
    """Median ms of one-row predict_proba: the exported model on
    onnxruntime, and the estimator itself."""
    from skdigits._onnx import OnnxClassifier

    exported = OnnxClassifier(est.export(Path(folder) / "one-row.onnx"))

    def median_ms(fn):
        fn(X[:1])
        times = []
        for i in range(repeat):
            start = time.perf_counter()
            fn(X[i : i + 1])
            times.append(time.perf_counter() - start)
        return statistics.median(times) * 1e3

    return median_ms(exported.predict_proba), median_ms(est.predict_proba)


def main(argv=None):
    args = bench_arguments(__doc__, argv, "fewer requests and drawings")
    X, y = load_mnist(return_X_y=True)
    X, y = X[:2_000], y[:2_000]
    models = {
        "KerasMLPClassifier()": KerasMLPClassifier(epochs=2, random_state=0),
        "KerasCNNClassifier()": KerasCNNClassifier(epochs=1, random_state=0),
    }
    pictures = drawings(21 if args.quick else 201)
    n_drawings = 10 if args.quick else 20
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, model in models.items():
            model.fit(X, y)
            paths = {"joblib": Path(folder) / "model.joblib"}
            joblib.dump(model, paths["joblib"])
            try:
                paths["onnx"] = model.export(Path(folder) / "model.onnx")
            except ImportError as exc:  # the export extra is missing
                print(f"not served as ONNX: {exc}")
            one_row = {}
            if "onnx" in paths:
                one_row["onnx"], one_row["joblib"] = onnx_one_row(model, folder, X, 200)
            for kind, path in paths.items():
                server = Server(path)
                try:
                    seconds = np.array(server.round_trips(pictures)) * 1e3
                    rss = rss_mib(server.process.pid)
                    page = page_latencies(server.url, n_drawings)
                finally:
                    server.close()
                rest = seconds[1:]
                rows.append(
                    {
                        "model": name,
                        "served": kind,
                        "ready s": server.ready_s,
                        "rss MiB": rss,
                        "first ms": float(seconds[0]),
                        "median ms": float(statistics.median(rest)),
                        "p95 ms": float(np.percentile(rest, 95)),
                        "requests": len(seconds),
                        "page ms": statistics.median(page) if page else None,
                        "page drawings": page,
                        "one-row ms": one_row.get(kind),
                    }
                )
                print(rows[-1], flush=True)
    columns = [
        ("model", lambda r: r["model"]),
        ("served from", lambda r: r["served"]),
        ("start to ready, s", lambda r: f"{r['ready s']:.2f}"),
        ("RSS, MiB", lambda r: f"{r['rss MiB']:.0f}"),
        ("first request, ms", lambda r: f"{r['first ms']:.1f}"),
        ("median, ms", lambda r: f"{r['median ms']:.1f}"),
        ("95th percentile, ms", lambda r: f"{r['p95 ms']:.1f}"),
        ("requests", lambda r: str(r["requests"])),
        (
            "page: pen lift to answer, median ms",
            lambda r: "no browser" if r["page ms"] is None else f"{r['page ms']:.0f}",
        ),
        (
            "1-row predict_proba in process, median ms",
            lambda r: "" if r["one-row ms"] is None else f"{r['one-row ms']:.3f}",
        ),
    ]
    write_report(args.out, "bench_serve", rows, columns, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
