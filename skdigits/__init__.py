"""scikit-learn estimators around Keras models, and digit presets.

The estimators, builders and callbacks import Keras and TensorFlow on first
use, so that ``skdigits.datasets`` loads MNIST without them.
"""

import importlib
import os

from skdigits import _cpu, _quiet_import

# TensorFlow's C++ start-up lines are noise for a library's user; set before
# TensorFlow is first imported (the estimators import it lazily, through
# skdigits._backend). A user's own setting wins. The absl lines that this
# does not reach are dropped during TensorFlow's first import, by whoever
# it is imported (see _quiet_import).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# oneDNN's kernels on every x86-64 CPU, not only those TensorFlow turns
# them on for (see _cpu); TF_ENABLE_ONEDNN_OPTS=0 keeps Eigen's.
_cpu.choose_onednn()
_quiet_import.install()

__version__ = "0.1.0"

_LAZY = {
    "CNN_PRESETS": "skdigits._presets",
    "KerasClassifier": "skdigits._classifier",
    "KerasCNNClassifier": "skdigits._cnn",
    "KerasMLPClassifier": "skdigits._mlp",
    "KerasMLPRegressor": "skdigits._mlp",
    "KerasRegressor": "skdigits._regressor",
    "KerasTransformer": "skdigits._transformer",
    "MLP_PRESETS": "skdigits._presets",
    "RULES_OFF": "skdigits._presets",
    "build_cnn": "skdigits._models",
    "build_mlp": "skdigits._models",
    "infer_image_shape": "skdigits._models",
    "callbacks": "skdigits.callbacks",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'skdigits' has no attribute {name!r}")
    module = importlib.import_module(_LAZY[name])
    value = module if name == "callbacks" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
