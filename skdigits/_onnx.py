"""An exported ONNX model as a classifier, run by onnxruntime.

No TensorFlow or Keras here: ``skdigits serve model.onnx`` serves with this
(extra ``serve-onnx``), in a process that never imports them.
"""

import json

import numpy as np

# The exported model's input, and the ONNX metadata key of its labels.
INPUT_NAME = "pixels"
METADATA_KEY = "skdigits.classes"


class OnnxClassifier:
    """A model exported by ``export(..., format="onnx")``, for predictions.

    It answers as the estimator it was exported from: ``predict_proba``
    (columns in the order of ``classes_``) and ``predict`` take the same
    samples.

    Parameters
    ----------
    path : str or path
        The ``.onnx`` file.
    threads : int, default=1
        onnxruntime's threads per prediction (one is fastest for the few
        rows of a request).
    """

    def __init__(self, path, threads=1):
        try:
            import onnxruntime
        except ImportError:
            raise ImportError(
                "running an ONNX model needs onnxruntime: "
                "pip install 'skdigits[serve-onnx]'"
            ) from None
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            self._session = onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # noqa: BLE001 - onnxruntime's own errors
            raise ValueError(
                f"{path} is not an ONNX model onnxruntime can run: {exc}"
            ) from None
        metadata = self._session.get_modelmeta().custom_metadata_map
        if METADATA_KEY not in metadata:
            raise ValueError(
                f"{path} has no class labels ({METADATA_KEY}): export it with "
                "skdigits (skdigits export, or the estimator's export method)"
            )
        self.classes_ = np.asarray(json.loads(metadata[METADATA_KEY]))
        (inputs,) = self._session.get_inputs()
        self._input = inputs.name
        self.input_shape_ = tuple(int(side) for side in inputs.shape[1:])
        self.n_features_in_ = int(np.prod(self.input_shape_))
        self.path = str(path)

    def predict_proba(self, X):
        """Class probabilities of the samples ``X``, as the estimator's."""
        X = np.asarray(X, dtype=np.float32)
        X = X.reshape(len(X), *self.input_shape_)
        (proba,) = self._session.run(None, {self._input: X})
        return proba.astype(np.float64)

    def predict(self, X):
        """The most probable class of each sample."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __repr__(self):
        return f"OnnxClassifier({self.path!r})"
