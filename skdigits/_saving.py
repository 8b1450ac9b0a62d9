"""A Keras model as bytes of Keras's native ``.keras`` format.

The estimators pickle their network this way, not as a live object graph:
the bytes are what ``keras.saving.save_model`` writes, so any pickler
(pickle, joblib, cloudpickle, skops) sees plain data, and loading builds
the model through Keras's own deserialisation.
"""

import os
import tempfile

from skdigits._backend import keras
from skdigits._quiet import upstream_noise


def model_to_bytes(model):
    """The ``.keras`` file of ``model`` (architecture and weights), as bytes."""
    with tempfile.TemporaryDirectory() as folder, upstream_noise():
        path = os.path.join(folder, "model.keras")
        keras.saving.save_model(model, path)
        with open(path, "rb") as f:
            return f.read()


def model_from_bytes(data):
    """The model saved by ``model_to_bytes``, uncompiled."""
    with tempfile.TemporaryDirectory() as folder, upstream_noise():
        path = os.path.join(folder, "model.keras")
        with open(path, "wb") as f:
            f.write(data)
        return keras.saving.load_model(path, compile=False)
