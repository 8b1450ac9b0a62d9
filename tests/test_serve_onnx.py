"""``skdigits serve model.onnx``: the same page and API, without TensorFlow."""

import json
import re
import subprocess
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest

pytest.importorskip("flask")
pytest.importorskip("waitress")
pytest.importorskip("onnxruntime")
pytest.importorskip(
    "tf2onnx", reason="the export extra: pip install 'skdigits[export]'"
)

from test_serve import STROKES, picture  # noqa: E402

from skdigits import KerasMLPClassifier  # noqa: E402
from skdigits._serve import create_app  # noqa: E402
from skdigits.datasets import load_mnist  # noqa: E402


@pytest.fixture(scope="module")
def model():
    X, y = load_mnist(return_X_y=True)
    return KerasMLPClassifier(epochs=5, random_state=0).fit(X[:10_000], y[:10_000])


def post(url, data, content_type="image/png"):
    request = urllib.request.Request(
        url + "predict", data=data, headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_onnx_server_answers_as_the_estimator_without_tensorflow(model, tmp_path):
    path = model.export(tmp_path / "digits.onnx")
    # -X importtime reports every module the process imports, when it does.
    process = subprocess.Popen(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "skdigits",
            "serve",
            str(path),
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        match = re.search(r"http://\S+/", line)
        assert match, (line, process.stderr.read() if process.poll() else "")
        url = match.group(0)
        assert "OnnxClassifier" in line
        reference = create_app(model).test_client()
        for digit, strokes in STROKES.items():
            data = picture(strokes)
            status, answer = post(url, data)
            expected = reference.post(
                "/predict", data=data, content_type="image/png"
            ).get_json()
            assert status == 200
            assert answer["digit"] == expected["digit"] == digit
            np.testing.assert_allclose(
                answer["probabilities"], expected["probabilities"], atol=1e-4
            )
            assert answer["image"] == expected["image"]
            assert answer["unsure"] == expected["unsure"]
        # Bad requests get a 4xx, and the server carries on.
        assert post(url, b"not an image")[0] == 400
        assert post(url, b"", "text/plain")[0] == 415
        with urllib.request.urlopen(url + "health", timeout=30) as response:
            health = json.loads(response.read())
        assert health["model"] == "OnnxClassifier"
        assert post(url, picture(STROKES[1]))[1]["digit"] == 1
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    imported = {
        line.rsplit("|", 1)[-1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "onnxruntime" in imported and "flask" in imported
    heavy = sorted(
        name
        for name in imported
        if name.split(".")[0] in ("tensorflow", "keras", "tf2onnx", "jax", "torch")
    )
    assert heavy == []
