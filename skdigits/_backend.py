"""TensorFlow and Keras, imported once for all of skdigits, quietly.

Every module of skdigits that needs them imports them from here. The first
import of TensorFlow is quiet (see ``_quiet_import``); without TensorFlow
(the base install has Keras but no backend) the import fails with one line
naming the extra to install.
"""

import os

from skdigits import _quiet_import, _threads

MISSING = (
    "skdigits trains through TensorFlow, which is not installed here: "
    "pip install 'skdigits[cpu]' (CPU only) or 'skdigits[tensorflow]'"
)


def _quiet_first_import():
    try:
        _quiet_import.install()  # (``import skdigits`` did, unless removed)
        import tensorflow
    except ModuleNotFoundError as exc:
        if exc.name != "tensorflow":
            raise  # a broken install: its own message says what is missing
        raise ImportError(MISSING, name="tensorflow") from None
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend != "tensorflow":
        raise ImportError(
            f"skdigits trains through TensorFlow, but KERAS_BACKEND is "
            f"{backend!r}: unset it or set it to 'tensorflow'"
        )
    import keras

    _threads.apply(tensorflow)  # before any op starts TensorFlow's runtime
    return tensorflow, keras


tf, keras = _quiet_first_import()

__all__ = ["keras", "tf"]
