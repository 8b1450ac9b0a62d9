"""scikit-learn's own estimator checks, over every estimator."""

import functools

import keras
import pytest
from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks

from skdigits import (
    KerasClassifier,
    KerasCNNClassifier,
    KerasMLPClassifier,
    KerasMLPRegressor,
    KerasRegressor,
    KerasTransformer,
)


def _small_network(meta, units=16):
    """A user's model function: one hidden layer, a softmax per class (a
    sigmoid per label for multilabel targets)."""
    multilabel = meta["target_type_"] == "multilabel-indicator"
    return keras.Sequential(
        [
            keras.Input(meta["X_shape_"][1:]),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dense(
                meta["n_classes_"], activation="sigmoid" if multilabel else "softmax"
            ),
        ]
    )


def _small_regressor(meta, units=16):
    """A user's regression model function: one linear unit per output."""
    return keras.Sequential(
        [
            keras.Input(meta["X_shape_"][1:]),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dense(meta["n_outputs_"]),
        ]
    )


def _small_autoencoder(meta, units=4):
    """A user's encoder: a code layer, then the features again (an
    autoencoder, fitted without y), or the targets (fitted on y)."""
    autoencoder = meta["target_type_"] == "autoencoder"
    return keras.Sequential(
        [
            keras.Input(meta["X_shape_"][1:]),
            keras.layers.Dense(units, activation="relu", name="code"),
            keras.layers.Dense(
                meta["n_features_in_"] if autoencoder else meta["n_outputs_"]
            ),
        ]
    )


class Named:
    """A model function whose repr is its name: scikit-learn's test ids hold
    the estimators' reprs, which must be equal in every pytest-xdist worker
    (a function's repr holds its address)."""

    def __init__(self, function):
        functools.update_wrapper(self, function)

    def __call__(self, *args, **kwargs):
        return self.__wrapped__(*args, **kwargs)

    def __repr__(self):
        return self.__wrapped__.__name__.lstrip("_")


small_network = Named(_small_network)
small_regressor = Named(_small_regressor)
small_autoencoder = Named(_small_autoencoder)


# Default parameters, as a user first tries them (random_state only).
MLP = KerasMLPClassifier(random_state=0)
CNN = KerasCNNClassifier(random_state=0)
ANY = KerasClassifier(small_network, random_state=0)
REG = KerasRegressor(small_regressor, random_state=0)
MLP_REG = KerasMLPRegressor(random_state=0)
ENCODER = KerasTransformer(small_autoencoder, output_layer="code", random_state=0)

SAMPLE_WEIGHT_REASON = (
    "mini-batch training does not make a weight of 2 equal to a repeated "
    "sample; scikit-learn's MLPClassifier passes only with full-batch lbfgs"
)
NOT_AN_IMAGE_REASON = (
    "feeds the CNN data that is not an image it can take (2-30 features: not "
    "square, or at most 5x5 pixels, too small for three 2x2 poolings): an "
    "image_shape error"
)

# The checks that feed data of 2-30 features: for the CNN, not images.
CNN_NOT_IMAGE_CHECKS = [
    "check_classifiers_multilabel_output_format_decision_function",
    "check_classifiers_multilabel_output_format_predict",
    "check_classifiers_multilabel_output_format_predict_proba",
    "check_classifiers_multilabel_representation_invariance",
    "check_estimator_sparse_array",
    "check_estimator_sparse_matrix",
    "check_estimator_sparse_tag",
    "check_sample_weight_equivalence_on_sparse_data",
    "check_classifier_data_not_an_array",
    "check_classifiers_classes",
    "check_class_weight_classifiers",
    "check_classifiers_train",
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_dtype_object",
    "check_estimators_dtypes",
    "check_estimators_fit_returns_self",
    "check_estimators_nan_inf",
    "check_estimators_overwrite_params",
    "check_estimators_partial_fit_n_features",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_fit2d_1feature",
    "check_fit2d_predict1d",
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_fit_score_takes_y",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_pipeline_consistency",
    "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input",
    "check_sample_weight_equivalence_on_dense_data",
    "check_sample_weights_list",
    "check_sample_weights_not_an_array",
    "check_sample_weights_not_overwritten",
    "check_sample_weights_pandas_series",
    "check_sample_weights_shape",
    "check_supervised_y_2d",
]


def expected_failed_checks(estimator):
    if isinstance(estimator, KerasCNNClassifier):
        return dict.fromkeys(CNN_NOT_IMAGE_CHECKS, NOT_AN_IMAGE_REASON)
    return dict.fromkeys(
        [
            "check_sample_weight_equivalence_on_dense_data",
            "check_sample_weight_equivalence_on_sparse_data",
        ],
        SAMPLE_WEIGHT_REASON,
    )


# An expected failure that passes fails the run (xfail_strict in pyproject.toml).
@parametrize_with_checks(
    [MLP, CNN, ANY, REG, MLP_REG, ENCODER],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _messages(exc):
    """The message of an exception and of those it was raised from."""
    while exc is not None:
        yield str(exc)
        exc = exc.__cause__ or exc.__context__


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
def test_cnn_fails_non_image_checks_with_image_shape_error():
    results = check_estimator(
        CNN,
        on_fail=None,
        expected_failed_checks=dict.fromkeys(CNN_NOT_IMAGE_CHECKS, "not an image"),
    )
    failed = [r for r in results if r["status"] in ("failed", "xfail")]
    # Of the checks this scikit-learn has (1.6 has no sparse-tag check).
    ran = {r["check_name"] for r in results}
    assert {r["check_name"] for r in failed} == set(CNN_NOT_IMAGE_CHECKS) & ran
    for result in failed:
        assert any("image_shape" in m for m in _messages(result["exception"])), (
            result["check_name"],
            result["exception"],
        )
