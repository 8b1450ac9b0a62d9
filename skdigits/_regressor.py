"""``KerasRegressor``: any Keras regressor, trained the skdigits way.

The regressor's part of a fit: numeric targets of one or more columns, an
output of as many units, the mean squared error by default, and the
outputs as predictions; ``score`` is R², as scikit-learn's regressors.
"""

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.validation import column_or_1d

from skdigits import _compile, _tuning
from skdigits._estimator import KerasEstimator
from skdigits._preset import Preset, preset_constraints


def output_shape(model):
    """The shape of one sample of ``model``'s single output."""
    inputs = getattr(model, "inputs", None) or ()
    if len(inputs) > 1 or len(model.outputs or ()) > 1:
        _compile.output_units(model)  # raises, naming what is wrong
    return tuple(model.output_shape[1:])


def numeric_targets(y):
    """``y`` as float32 values, one column or the columns it has."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    return y.astype(np.float32)


def check_target_shape(model, y, what="y"):
    """A clear error where ``model``'s output does not fit targets ``y``;
    the output units (the last axis), or None for a sample shape of more
    axes."""
    out = output_shape(model)
    target = (1,) if y.ndim == 1 else tuple(y.shape[1:])
    fits = len(out) == len(target) and all(
        o is None or o == t for o, t in zip(out, target, strict=True)
    )
    if not fits:
        raise ValueError(
            f"the model outputs samples of shape {out}, but {what} has samples "
            f"of shape {target}: give the model an output of "
            f"{target[0] if len(target) == 1 else target} units"
        )
    return int(out[-1]) if len(out) == 1 else None


class KerasRegressor(RegressorMixin, KerasEstimator):
    """Any Keras regressor as a scikit-learn estimator.

    The regression counterpart of :class:`KerasClassifier`, with the same
    engine, routed parameters (``model__``, ``optimizer__``, ``loss__``,
    ``metrics__``, ``callbacks__``, ``fit__``, ``predict__``), ``meta``,
    ``compile_kwargs``, callbacks, training rules, ``partial_fit``,
    ``warm_start``, ``initialize``, pickling and export. ``score`` is R².

    Parameters
    ----------
    model : keras.Model, callable or None, default=None
        A Keras model (cloned and seeded anew for each fit), or a function
        that returns one; it receives its routed parameters and, where its
        signature names them, ``meta`` (``n_features_in_``, ``X_shape_``,
        ``X_dtype_``, ``y_dtype_``, ``n_outputs_``, ``target_type_``),
        ``compile_kwargs`` and ``params``. Its output has one unit per
        target column (one for a 1-D ``y``).
    optimizer : str, class or keras.optimizers.Optimizer, default="adam"
        The optimizer; ``optimizer__<name>`` parameters reach its class.
    learning_rate : float or None, default=None
        The optimizer's (initial) learning rate; None keeps its own.
    loss : str, class, keras.losses.Loss or callable, default="mse"
        Any Keras loss ("mse", "mae", "huber", ...), with ``loss__<name>``
        parameters for a class.
    metrics : list or None, default=None
        Keras metrics to log beside the loss (``keras.metrics.R2Score()``
        logs "r2_score"); none are added.
    batch_size : int, "auto" or None, default=32
        As :class:`KerasClassifier`'s: 1 is stochastic gradient descent,
        None or -1 batch gradient descent.
    epochs : int or "auto", default="auto"
        The maximum number of passes; "auto" gives about 2,000 gradient
        steps, at least 1 and at most 200 epochs.
    warm_start : bool, default=False
        Continue from the fitted weights and optimizer state on the next
        ``fit``.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the random layers, the hold-out and the order of
        the rows, without touching global seeds.
    verbose : int, default=0
        1 prints a line per epoch; 2 also shows Keras's progress bar.
    callbacks : list, dict, Callback or None, default=None
        Extra Keras callbacks, as :class:`KerasClassifier` takes them.
    validation_fraction : float or "auto", default="auto"
        Share of the training data held out (shuffled, seeded) to monitor;
        "auto" holds out 10% when a callback monitors a validation metric,
        or when a training rule is on and 10% makes at least 1,000 rows.
    lr_schedule : {"one-cycle", "cosine"} or None, default=None
        The learning rate's course over each fit (see
        :class:`KerasClassifier`).
    lr_patience : int or None, default=None
        Epochs without a lower monitored loss before the learning rate
        drops; None never drops it.
    lr_factor : float, default=0.1
        Multiplier of each drop.
    min_lr : float, default=1e-6
        The learning rate never drops below this.
    patience : int or None, default=None
        Epochs without improvement before stopping as converged.
    restore_best_weights : bool, default=False
        End with the weights of the epoch with the lowest monitored loss.
    checkpoint_path : str, path or None, default=None
        Save the best model to this ``.keras`` file during training.
    jit_compile : bool or "auto", default="auto"
        Compile the training steps with XLA; "auto" does for a stack of
        dense layers when the fit may run 1,000 steps or more.
    **kwargs
        Routed parameters and bare parameters of the model function.

    Attributes
    ----------
    model_ : keras.Model
        The trained network, compiled, with its optimizer state.
    n_outputs_ : int
        The number of target columns.
    n_features_in_ : int
        ``X.shape[1]`` of the training data.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features, when X had string column names.
    input_shape_ : tuple
        The shape of one training sample.
    batch_size_ : int
        The batch size used.
    gd_variant_ : str
        "stochastic", "mini-batch" or "batch".
    history_ : dict of lists
        Per-epoch what ``model.fit``'s history holds, and "learning_rate".
    n_iter_ : int
        Epochs trained.
    best_epoch_ : int or None
        The epoch (1-based) with the lowest monitored loss in the last fit.
    best_score_ : float
        That loss.
    stop_reason_ : str
        "max_epochs", "converged", "nan" or "callback".
    callbacks_ : list of keras.callbacks.Callback
        The fitted copies of ``callbacks``.

    See Also
    --------
    KerasMLPRegressor : A multilayer perceptron, a preset.
    KerasClassifier : The classifier on the same engine.

    Examples
    --------
    >>> import keras
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import scale
    >>> from skdigits import KerasRegressor
    >>> def build(meta):
    ...     return keras.Sequential([
    ...         keras.Input((meta["n_features_in_"],)),
    ...         keras.layers.Dense(64, activation="relu"),
    ...         keras.layers.Dense(1),
    ...     ])
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = KerasRegressor(build, random_state=0).fit(scale(X), scale(y))
    >>> reg.predict(scale(X)[:2]).shape
    (2,)
    """

    _parameter_constraints: dict = dict(KerasEstimator._parameter_constraints)
    _auto_steps = _tuning.REGRESSION_AUTO_STEPS

    def __init__(
        self,
        model=None,
        *,
        optimizer="adam",
        learning_rate=None,
        loss="mse",
        metrics=None,
        batch_size=_tuning.KERAS_BATCH_SIZE,
        epochs="auto",
        warm_start=False,
        random_state=None,
        verbose=0,
        callbacks=None,
        validation_fraction="auto",
        lr_schedule=None,
        lr_patience=None,
        lr_factor=0.1,
        min_lr=1e-6,
        patience=None,
        restore_best_weights=False,
        checkpoint_path=None,
        jit_compile="auto",
        **kwargs,
    ):
        self.model = model
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.loss = loss
        self.metrics = metrics
        self.batch_size = batch_size
        self.epochs = epochs
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.validation_fraction = validation_fraction
        self.lr_schedule = lr_schedule
        self.lr_patience = lr_patience
        self.lr_factor = lr_factor
        self.min_lr = min_lr
        self.patience = patience
        self.restore_best_weights = restore_best_weights
        self.checkpoint_path = checkpoint_path
        self.jit_compile = jit_compile
        vars(self).update(kwargs)

    # -- the regressor's part of a fit -------------------------------------

    def _fit_targets(self, y, X, *, warm, classes, weights):
        y = numeric_targets(y)
        if not np.all(np.isfinite(y)):
            raise ValueError("y holds NaN or infinite values")
        n_outputs = 1 if y.ndim == 1 else int(np.prod(y.shape[1:]))
        if warm and (y.ndim, n_outputs) != (self._y_ndim, self.n_outputs_):
            raise ValueError(
                f"y has samples of shape {y.shape[1:]}, but the estimator was "
                f"fitted on {self.n_outputs_} output(s)"
            )
        kind = "continuous" if y.ndim == 1 else "continuous-multioutput"
        fitted = {"n_outputs_": n_outputs, "_y_ndim": y.ndim}
        meta = {"n_outputs_": n_outputs, "target_type_": kind}
        return y, fitted, meta

    def _encode_targets(self, y, fitted, X):
        y = numeric_targets(y)
        if y.ndim != fitted["_y_ndim"]:
            raise ValueError(
                f"validation y has {y.ndim} dimension(s), the training y "
                f"{fitted['_y_ndim']}"
            )
        return y

    def _make_loss(self, params, model, data):
        if self.loss == _compile.CROSSENTROPY:
            raise ValueError(
                "loss='crossentropy' is a classifier's loss: use a regression "
                "loss (for example 'mse', 'mae', 'huber')"
            )
        return _compile.make_loss(self.loss, params, None, None)

    def _check_outputs(self, model, compile_args, data):
        return check_target_shape(model, data.y)

    def _loss_targets(self, y, compile_args, units):
        return y.reshape(-1, 1) if y.ndim == 1 else y

    # -- predicting ----------------------------------------------------------

    def predict(self, X):
        """The predicted values.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, ...)
            Samples, as ``fit`` took them.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Values, of the shape of the training ``y``'s samples.
        """
        out = self._outputs(X)
        if self._y_ndim == 1:
            return out[:, 0]
        return out

    def _export_head(self):
        return None

    def _export_info(self):
        return {"output": "predicted values", "n_outputs": self.n_outputs_}


class PresetRegressor(Preset, KerasRegressor):
    """A ``KerasRegressor`` whose network one of skdigits's builders makes."""

    _parameter_constraints: dict = preset_constraints(
        KerasRegressor, ("mse", "mae", "huber")
    )
