"""Export a fitted estimator for runtimes without Python's TensorFlow.

The exported model takes what ``predict_proba`` takes (samples as the
estimator receives them: rows of pixels for the presets; the reshaping to
the network's input happens inside) and returns the class probabilities,
columns in the order of ``classes_``. Keras writes each format
(``keras.Model.export``): ONNX through tf2onnx, run by onnxruntime (and
ONNX Runtime Web, in a browser); LiteRT (TensorFlow Lite), run by the
LiteRT interpreter (``ai-edge-litert``), on phones too; a TensorFlow
SavedModel, for TensorFlow Serving and other TensorFlow runtimes.

The class labels travel with the model: in the ONNX file's metadata
(``skdigits.classes``, a JSON list), and for LiteRT and SavedModel in a JSON
file beside the ``.tflite`` file (``<file>.json``) or inside the SavedModel
folder (``skdigits.json``). That JSON (and the ONNX metadata) also names
the input, its shape and the estimator.
"""

import contextlib
import io
import json
import os
import warnings
from pathlib import Path

import numpy as np

from skdigits._backend import keras, tf
from skdigits._onnx import INPUT_NAME, METADATA_KEY
from skdigits._quiet import upstream_noise
from skdigits._quiet_import import filtered_stderr

# Formats, Keras's name for each, and the oldest Keras that writes it.
FORMATS = {
    "onnx": ("onnx", (3, 13)),
    "litert": ("litert", (3, 13)),
    "savedmodel": ("tf_saved_model", (3, 3)),
}
# TensorFlow 2.16's LiteRT converter aborts on Keras 3.13's models ("LLVM
# ERROR: Failed to infer result type(s)"); 2.18.1 is the oldest tested to
# work (CI's .ci/oldest-export.txt).
LITERT_TENSORFLOW = (2, 18, 1)


class ClassProbabilities(keras.layers.Layer):
    """The network's outputs as class probabilities, as ``predict_proba``
    computes them: one sigmoid unit gives ``[1 - p, p]``, logits their
    softmax (or sigmoid), independent sigmoid units are normalised."""

    def __init__(self, units, from_logits, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.from_logits = from_logits

    def call(self, outputs):
        ops = keras.ops
        if self.units == 1:
            p = ops.sigmoid(outputs) if self.from_logits else outputs
            p = ops.clip(p, 0.0, 1.0)
            return ops.concatenate([1.0 - p, p], axis=-1)
        if self.from_logits:
            return ops.softmax(outputs, axis=-1)
        return outputs / ops.sum(outputs, axis=-1, keepdims=True)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "from_logits": self.from_logits,
        }


def inference_model(estimator):
    """A Keras model from samples, as ``predict_proba`` takes them, to the
    class probabilities of the fitted ``estimator``."""
    samples = keras.Input(estimator.input_shape_, name=INPUT_NAME)
    x = samples
    if estimator._reshape_to is not None:
        x = keras.layers.Reshape(estimator._reshape_to)(x)
    x = estimator._predicting_model(estimator.model_)(x, training=False)
    head = estimator._export_head()
    if head is not None:
        x = head(x)
    model = keras.Model(samples, x, name="skdigits_export")
    model(np.zeros((1, *estimator.input_shape_), np.float32))  # Keras needs a call
    return model


def description(estimator, format):
    """What travels beside the exported model: labels, input, estimator."""
    from skdigits import __version__

    return {
        **estimator._export_info(),
        "input": INPUT_NAME,
        "input_shape": list(estimator.input_shape_),
        "format": format,
        "estimator": type(estimator).__name__,
        "skdigits": __version__,
    }


def labels_path(path, format):
    """Where the JSON description of an exported LiteRT or SavedModel is."""
    path = Path(path)
    if format == "savedmodel":
        return path / "skdigits.json"
    return path.with_name(path.name + ".json")


def _version(text, parts=2):
    return tuple(int(part) for part in text.split("+")[0].split(".")[:parts])


def _check_versions(format):
    """A clear error where Keras or TensorFlow is too old for ``format``
    (an old TensorFlow's LiteRT converter aborts the whole process)."""
    wanted = FORMATS[format][1]
    if _version(keras.version()) < wanted:
        raise ImportError(
            f"exporting to {format} needs Keras {'.'.join(map(str, wanted))} or "
            f"later (found {keras.version()}): pip install 'skdigits[export]'"
        )
    if format == "litert" and _version(tf.__version__, 3) < LITERT_TENSORFLOW:
        raise ImportError(
            "exporting to LiteRT needs TensorFlow "
            f"{'.'.join(map(str, LITERT_TENSORFLOW))} or later (found "
            f"{tf.__version__}, whose converter fails on Keras 3 models)"
        )


def export(estimator, path, format="onnx"):
    """Write ``estimator`` (fitted) to ``path`` in ``format``; return the
    path of the model (and for LiteRT and SavedModel write the labels'
    JSON, see ``labels_path``)."""
    if format not in FORMATS:
        raise ValueError(
            f"format={format!r} is not an export format; use one of {sorted(FORMATS)}"
        )
    _check_versions(format)
    path = Path(os.fspath(path))
    info = description(estimator, format)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The converters talk: Keras prints where it saved, TensorFlow's C++
    # logs its passes (absl lines below TF_CPP_MIN_LOG_LEVEL are dropped).
    with (
        upstream_noise(),
        warnings.catch_warnings(),
        contextlib.redirect_stdout(io.StringIO()),
        filtered_stderr(),
    ):
        # Keras patches tf2onnx for NumPy 2 and says so (np.object).
        warnings.simplefilter("ignore", FutureWarning)
        if format == "onnx":
            try:
                import onnx  # noqa: F401  (labels go into its metadata)
                import tf2onnx  # noqa: F401
            except ImportError as exc:
                raise ImportError(
                    f"exporting to ONNX needs tf2onnx and onnx ({exc}): "
                    "pip install 'skdigits[export]'"
                ) from None
        model = inference_model(estimator)
        model.export(str(path), format=FORMATS[format][0], verbose=False)
    if format == "onnx":
        _add_onnx_metadata(path, info)
    else:
        labels_path(path, format).write_text(json.dumps(info, indent=1) + "\n")
    return path


def _add_onnx_metadata(path, info):
    import onnx

    model = onnx.load(str(path))
    entries = [("skdigits.description", json.dumps(info))]
    if "classes" in info:  # a classifier's labels
        entries.insert(0, (METADATA_KEY, json.dumps(info["classes"])))
    for key, value in entries:
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))
