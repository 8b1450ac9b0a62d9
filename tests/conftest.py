"""Shared fixtures: the 8x8 digits set, module-scoped fitted estimators, and
``skdigits serve`` in a subprocess."""

import os
import re
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # quiet TensorFlow's banners

import joblib  # noqa: E402
import pytest  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from skdigits import KerasCNNClassifier, KerasMLPClassifier  # noqa: E402


@pytest.fixture(scope="session")
def digits():
    """(X_train, X_test, y_train, y_test): 8x8 digits scaled to [0, 1]."""
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def fitted_mlp(digits):
    X_train, _, y_train, _ = digits
    return KerasMLPClassifier(epochs=15, learning_rate=0.01, random_state=0).fit(
        X_train, y_train
    )


@pytest.fixture(scope="module")
def fitted_cnn(digits):
    X_train, _, y_train, _ = digits
    return KerasCNNClassifier(epochs=8, random_state=0).fit(X_train, y_train)


@pytest.fixture(scope="module")
def serve_in_subprocess(tmp_path_factory):
    """A function that serves a fitted model with ``skdigits serve`` in a
    subprocess (``--port 0``), as a user starts it, and returns its URL once
    announced. The servers stop when the module's tests end."""
    processes = []

    def start(model):
        path = tmp_path_factory.mktemp("served") / "model.joblib"
        joblib.dump(model, path)
        process = subprocess.Popen(
            [sys.executable, "-m", "skdigits", "serve", str(path), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        processes.append(process)
        line = process.stdout.readline()  # the announcement, once warmed
        match = re.search(r"http://\S+/", line)
        if match is None:
            process.kill()
            pytest.fail(f"no URL announced: {line!r} {process.stderr.read()}")
        return match.group(0)

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=30)
