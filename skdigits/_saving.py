"""A Keras model as bytes of Keras's native ``.keras`` format.

The estimators pickle their network this way, not as a live object graph:
the bytes are what ``keras.saving.save_model`` writes (the optimizer and
its state included), so any pickler (pickle, joblib, cloudpickle, skops)
sees plain data, and loading builds and compiles the model through Keras's
own deserialisation.

Keras finds a custom layer, activation, loss or metric when loading only if it is
registered (``keras.saving.register_keras_serializable``) in the loading
process, which happens when the module that defines it is imported. So
saving checks every custom object of the model: an unregistered one is a
``TypeError`` naming it, there and then, rather than a model that cannot be
loaded later; and the modules that define them travel with the bytes, to be
imported before loading, as pickle imports the modules of the classes it
loads.
"""

import importlib
import io
import json
import os
import tempfile
import warnings
import zipfile

from skdigits._backend import keras
from skdigits._quiet import upstream_noise


def _entries(config):
    """Every serialised object (a dict with "module" and "class_name")."""
    if isinstance(config, dict):
        if "module" in config and "class_name" in config:
            yield config
        for value in config.values():
            yield from _entries(value)
    elif isinstance(config, list):
        for value in config:
            yield from _entries(value)


def _custom_modules(config):
    """The modules defining the model's custom objects, which must be
    registered; a ``TypeError`` names those that are not."""
    modules, unregistered = set(), []
    for entry in _entries(config):
        module, name = entry.get("module") or "", entry["class_name"]
        if name == "function":  # by name: Keras's own, or registered
            try:
                with upstream_noise():
                    function = keras.saving.deserialize_keras_object(entry)
            except (TypeError, ValueError):
                unregistered.append(f"function {entry.get('config')!r}")
            else:
                modules.add(function.__module__)
        elif not module.startswith("keras"):
            registered = entry.get("registered_name") or name
            if keras.saving.get_registered_object(registered) is None:
                unregistered.append(f"{module}.{name}")
            else:
                modules.add(module)
    if unregistered:
        raise TypeError(
            f"cannot save the model: {', '.join(unregistered)} is not registered "
            "with Keras, so the saved model could not be loaded. Decorate it "
            "with @keras.saving.register_keras_serializable() (in a module "
            "that the loading process can import)."
        )
    return sorted(
        m
        for m in modules
        if m not in ("__main__", "builtins") and not m.startswith("keras")
    )


def model_to_bytes(model):
    """The ``.keras`` file of ``model``, as bytes, and the modules to import
    before loading it (those defining its custom objects)."""
    with tempfile.TemporaryDirectory() as folder, upstream_noise():
        path = os.path.join(folder, "model.keras")
        keras.saving.save_model(model, path)
        with open(path, "rb") as f:
            data = f.read()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        config = json.loads(archive.read("config.json"))
    return data, _custom_modules(config)


def model_from_bytes(data, modules=(), *, optimizer_state=True):
    """The model saved by ``model_to_bytes``: compiled as it was saved, with
    its optimizer's state, where it was saved compiled. With
    ``optimizer_state=False`` (a model whose optimizer never trained, such
    as an estimator's ``model`` parameter), Keras's warning that it skips
    the saved optimizer's variables is not shown: there are none to keep."""
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ImportError(
                f"the saved model uses custom objects from module {module!r}, "
                f"which cannot be imported here ({exc})"
            ) from exc
    with tempfile.TemporaryDirectory() as folder, upstream_noise():
        path = os.path.join(folder, "model.keras")
        with open(path, "wb") as f:
            f.write(data)
        with warnings.catch_warnings():
            if not optimizer_state:
                warnings.filterwarnings(
                    "ignore", "Skipping variable loading for optimizer", UserWarning
                )
            return keras.saving.load_model(path, compile=True)
