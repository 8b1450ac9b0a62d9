"""scikit-learn estimators wrapping Keras MLP and CNN digit classifiers."""

from skdigits import callbacks
from skdigits._cnn import KerasCNNClassifier
from skdigits._mlp import KerasMLPClassifier
from skdigits._models import MLP_PRESETS, build_cnn, build_mlp, infer_image_shape

__version__ = "0.1.0"

__all__ = [
    "MLP_PRESETS",
    "KerasCNNClassifier",
    "KerasMLPClassifier",
    "build_cnn",
    "build_mlp",
    "callbacks",
    "infer_image_shape",
]
