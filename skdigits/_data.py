"""The fit's data as one object: validated samples (dense or sparse), the
targets as the estimator's kind encodes them, weights, ``meta``, and the
rows held out to monitor.

Sparse samples (CSR or CSC) stay sparse here: the engine makes each batch
dense as it trains, and the predictor each chunk as it predicts.
"""

import dataclasses
import math
import warnings
from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import validate_data

from skdigits import _plan

# What scikit-learn's validation accepts as sparse samples.
SPARSE_FORMATS = ("csr", "csc")


@dataclasses.dataclass
class FitData:
    """The validated data of one fit.

    ``X`` holds the samples (an array, or a CSR matrix), ``y`` the targets
    as the kind encodes them (class indices, a label indicator, values;
    None for nothing), ``weights`` the sample weights (class weights
    included), ``weighted`` whether ``train_step`` gets them (as in
    ``fit``: ``(x, y)`` without, ``(x, y, w)`` with), ``stratify`` what a
    hold-out is stratified by (or None), ``fitted`` the kind's fitted
    attributes of the targets (``classes_``, ...), ``meta`` what a model
    function receives, and ``validation`` the ``(X, y)`` given to monitor.
    """

    X: object
    y: object
    weights: np.ndarray
    weighted: bool
    meta: dict
    fitted: dict
    stratify: object = None
    validation: tuple | None = None

    @property
    def n_samples(self):
        return self.X.shape[0]

    @property
    def sample_shape(self):
        return tuple(self.X.shape[1:])


def validate_samples(estimator, X, y="no_validation", *, reset, y_numeric=False):
    """``X`` (and ``y``) checked by scikit-learn's ``validate_data``: float32
    samples of any shape, or a sparse matrix (as CSR), and ``y`` of one or
    more columns. ``y=None`` is scikit-learn's error for an estimator that
    needs targets, and no targets for one that does not."""
    kwargs = {
        "reset": reset,
        "dtype": np.float32,
        "allow_nd": True,
        "accept_sparse": SPARSE_FORMATS,
    }
    if y is None or isinstance(y, str):
        X = validate_data(estimator, X, y=y, **kwargs)
        y = None
    else:
        X, y = validate_data(
            estimator, X, y, multi_output=True, y_numeric=y_numeric, **kwargs
        )
    if sp.issparse(X):
        X = sp.csr_matrix(X, dtype=np.float32)
    return X, y


def model_input(model, X):
    """``X`` in the shape of the model's input, and that shape (None when
    it is the samples' own): rows of as many values are reshaped."""
    try:
        shape = tuple(model.input_shape[1:])
    except (AttributeError, ValueError, TypeError):
        return X, None
    sample = tuple(X.shape[1:])
    if len(shape) == len(sample) and all(
        s is None or s == t for s, t in zip(shape, sample, strict=True)
    ):
        return X, None
    if None not in shape and int(np.prod(shape)) == int(np.prod(sample)):
        if sp.issparse(X):
            raise ValueError(
                f"the model takes samples of shape {shape}, but X is a sparse "
                f"matrix of rows of {sample[0]} values: sparse samples need a "
                "model that takes rows"
            )
        return X.reshape(X.shape[0], *shape), shape
    raise ValueError(
        f"the model takes samples of shape {shape}, but X has samples of shape {sample}"
    )


def model_input_like(X, shape):
    """Samples in the model's input shape, as ``model_input`` found it."""
    return X if shape is None else X.reshape(X.shape[0], *shape)


def is_sparse(X):
    return sp.issparse(X)


def rows(arrays, index):
    """The rows ``index`` (a slice or integer array) of each array."""
    return tuple(None if a is None else a[index] for a in arrays)


def hold_out(n, *, stratify, fraction, split, wanted, rules, seed):
    """Which rows train and which validate: ``(train, val)`` index arrays or
    slices, val None when nothing is held out.

    ``split`` is Keras's ``validation_split`` (the last rows, before any
    shuffling), ``fraction`` the estimator's ``validation_fraction`` (a
    shuffled, seeded hold-out, stratified by ``stratify`` where given);
    ``wanted`` says that a callback monitors a validation metric, ``rules``
    that a training rule is on (see ``_plan.validation_fraction``).
    """
    if split is not None:
        if fraction != "auto":
            raise ValueError(
                "validation_split and validation_fraction are both set: give one"
            )
        if not (isinstance(split, Real) and 0 <= split < 1):
            raise ValueError(f"validation_split must be in [0, 1), got {split!r}")
        if split > 0:
            at = math.floor(n * (1.0 - split))  # as Keras's train_validation_split
            if at == n or at == 0:
                raise ValueError(
                    f"validation_split={split} leaves no rows to "
                    f"{'validate on' if at == n else 'train on'} among {n} samples"
                )
            return slice(0, at), slice(at, n)
        fraction = split
    fraction = _plan.validation_fraction(fraction, n, wanted=wanted, rules=rules)
    if fraction == 0:
        if wanted:
            raise ValueError(
                "a callback monitors a validation metric, but "
                "validation_fraction=0 holds nothing out: hold out some "
                "rows, or pass validation_data"
            )
        return slice(0, n), None
    try:
        keep, held = train_test_split(
            np.arange(n), test_size=fraction, stratify=stratify, random_state=seed
        )
    except ValueError as exc:
        if wanted:
            raise ValueError(
                f"cannot hold out a validation set from {n} samples ({exc}), "
                "which a callback monitors"
            ) from None
        kind, watched = (
            ("stratified ", "accuracy") if stratify is not None else ("", "loss")
        )
        warnings.warn(
            f"validation_fraction={fraction} cannot hold out a {kind}"
            f"validation set from {n} samples ({exc}); monitoring the "
            f"training {watched} instead.",
            UserWarning,
            stacklevel=6,
        )
        return slice(0, n), None
    return keep, held
