"""Shared fixtures: the 8x8 digits set and module-scoped fitted estimators."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # quiet TensorFlow's banners

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
