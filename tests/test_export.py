"""Exported models answer as the estimator, each in its own runtime."""

import json
import subprocess
import sys

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

pytest.importorskip(
    "tf2onnx", reason="the export extra: pip install 'skdigits[export]'"
)
onnxruntime = pytest.importorskip("onnxruntime")
litert = pytest.importorskip("ai_edge_litert.interpreter")

import keras  # noqa: E402

from skdigits import (  # noqa: E402
    KerasClassifier,
    KerasCNNClassifier,
    KerasMLPClassifier,
)
from skdigits._export import labels_path  # noqa: E402
from skdigits._onnx import OnnxClassifier  # noqa: E402
from skdigits.datasets import load_mnist  # noqa: E402

FORMATS = {"onnx": "model.onnx", "litert": "model.tflite", "savedmodel": "model"}


@pytest.fixture(scope="module")
def mnist():
    X, y = load_mnist(return_X_y=True)
    X_test, y_test = load_mnist("test", return_X_y=True)
    return X[:6000], y[:6000], X_test, y_test


@pytest.fixture(scope="module")
def defaults(mnist):
    """The default MLP and CNN, trained briefly on MNIST."""
    X, y, _, _ = mnist
    return {
        "mlp": KerasMLPClassifier(epochs=3, random_state=0).fit(X, y),
        "cnn": KerasCNNClassifier(epochs=1, random_state=0).fit(X, y),
    }


def run_exported(path, format, X):
    """The class probabilities of ``X`` from the exported model, by its own
    runtime: onnxruntime, the LiteRT interpreter, a reloaded SavedModel."""
    X = np.asarray(X, np.float32)
    if format == "onnx":
        return OnnxClassifier(path).predict_proba(X)
    if format == "litert":
        interpreter = litert.Interpreter(model_path=str(path))
        (inp,), (out,) = (
            interpreter.get_input_details(),
            interpreter.get_output_details(),
        )
        interpreter.resize_tensor_input(inp["index"], X.shape)
        interpreter.allocate_tensors()
        interpreter.set_tensor(inp["index"], X)
        interpreter.invoke()
        return interpreter.get_tensor(out["index"])
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    return np.concatenate(
        [
            loaded.serve(tf.constant(X[i : i + 2000])).numpy()
            for i in range(0, len(X), 2000)
        ]
    )


def check_parity(est, format, X, tmp_path):
    path = est.export(tmp_path / FORMATS[format], format=format)
    got = run_exported(path, format, X)
    expected = est.predict_proba(X)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got.argmax(axis=1), expected.argmax(axis=1))
    np.testing.assert_allclose(got, expected, atol=1e-4)
    return path


@pytest.mark.parametrize("format", sorted(FORMATS))
@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_parity_on_test_images(name, format, defaults, mnist, tmp_path):
    _, _, X_test, _ = mnist
    est = defaults[name]
    path = check_parity(est, format, X_test[:500], tmp_path)
    # The labels travel with the model.
    if format == "onnx":
        assert OnnxClassifier(path).classes_.tolist() == est.classes_.tolist()
    else:
        info = json.loads(labels_path(path, format).read_text())
        assert info["classes"] == est.classes_.tolist()
        assert info["input_shape"] == [784]


@pytest.mark.slow
@pytest.mark.parametrize("format", sorted(FORMATS))
@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_parity_on_all_10000_test_images(name, format, defaults, mnist, tmp_path):
    _, _, X_test, _ = mnist
    check_parity(defaults[name], format, X_test, tmp_path)


def test_any_model_exports_labels_binary_heads_and_reshaping(mnist, tmp_path):
    X, y, X_test, _ = mnist
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(1),  # a logit: "crossentropy" reads it so
        ]
    )
    labels = np.array(["other", "seven"])[(y == 7).astype(int)]
    est = KerasClassifier(model, epochs=2, random_state=0).fit(X, labels)
    assert est._from_logits and est._units == 1
    path = check_parity(est, "onnx", X_test[:300], tmp_path)
    onnx_model = OnnxClassifier(path)
    assert onnx_model.classes_.tolist() == ["other", "seven"]
    np.testing.assert_array_equal(
        onnx_model.predict(X_test[:300]), est.predict(X_test[:300])
    )


def test_export_errors(defaults, tmp_path):
    with pytest.raises(ValueError, match="format"):
        defaults["mlp"].export(tmp_path / "m.bin", format="pickle")
    with pytest.raises(NotFittedError):
        KerasMLPClassifier().export(tmp_path / "m.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not an ONNX model"):
        OnnxClassifier(tmp_path / "junk.onnx")


def test_export_command(defaults, mnist, tmp_path):
    import joblib

    _, _, X_test, _ = mnist
    joblib.dump(defaults["mlp"], tmp_path / "model.joblib")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "skdigits",
            "export",
            "model.joblib",
            "digits.tflite",
            "--format",
            "litert",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "digits.tflite.json" in done.stdout
    got = run_exported(tmp_path / "digits.tflite", "litert", X_test[:50])
    np.testing.assert_allclose(
        got, defaults["mlp"].predict_proba(X_test[:50]), atol=1e-4
    )


@pytest.mark.parametrize("format", sorted(FORMATS))
def test_regressor_and_transformer_export_their_outputs(mnist, format, tmp_path):
    # Values out, not probabilities: a regressor's prediction and a
    # transformer's features, computed by each format's runtime.
    from skdigits import KerasRegressor, KerasTransformer

    X, y, X_test, _ = mnist
    X, X_test = X[:1000], X_test[:200]

    def net(meta):
        return keras.Sequential(
            [
                keras.Input((784,)),
                keras.layers.Dense(16, activation="relu", name="code"),
                keras.layers.Dense(2),
            ]
        )

    Y = np.column_stack([y[:1000], X.mean(axis=1)]).astype(np.float32)
    reg = KerasRegressor(net, epochs=1, random_state=0).fit(X, Y)
    enc = KerasTransformer(net, output_layer="code", epochs=1, random_state=0)
    enc.fit(X, Y)
    for est, expected in ((reg, reg.predict(X_test)), (enc, enc.transform(X_test))):
        path = est.export(tmp_path / type(est).__name__ / FORMATS[format], format)
        if format == "onnx":
            session = onnxruntime.InferenceSession(str(path))
            name = session.get_inputs()[0].name
            got = session.run(None, {name: X_test.astype(np.float32)})[0]
        else:
            got = run_exported(path, format, X_test)
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    info = (
        json.loads(labels_path(path, "savedmodel").read_text())
        if (format == "savedmodel")
        else None
    )
    if info is not None:
        assert "classes" not in info and info["output"] == "transformed features"
