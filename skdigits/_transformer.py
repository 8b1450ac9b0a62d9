"""``KerasTransformer``: a Keras model's outputs (or a layer's) as features.

The transformer's part of a fit: targets that are the samples themselves
when ``y`` is None (an autoencoder), or numeric targets as given; then
``transform`` returns the outputs of the model, or of the layer named by
``output_layer`` (an embedding), one column per value.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from skdigits import _compile, _data, _tuning
from skdigits._backend import keras
from skdigits._compat import _fit_context
from skdigits._estimator import KerasEstimator
from skdigits._regressor import check_target_shape


class KerasTransformer(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, KerasEstimator
):
    """A Keras model as a scikit-learn transformer: embeddings, encoders.

    ``fit(X)`` trains the model to reproduce ``X`` (an autoencoder), or
    ``fit(X, y)`` to predict ``y`` with the loss given; ``transform(X)``
    returns the outputs of the trained model, or of its layer named
    ``output_layer`` (the code of an autoencoder, an embedding), flattened
    to one column per value. The same engine, routed parameters, callbacks,
    training rules, ``partial_fit``, ``warm_start``, ``initialize`` and
    pickling as :class:`KerasRegressor`; ``get_feature_names_out`` and
    ``set_output(transform="pandas")`` make it a ``Pipeline`` step.

    Parameters
    ----------
    model : keras.Model, callable or None, default=None
        A Keras model (cloned and seeded anew for each fit), or a function
        that returns one, as :class:`KerasRegressor` takes it (``meta``
        holds ``n_features_in_``, ``X_shape_``, ``X_dtype_``,
        ``n_outputs_``, ``target_type_``).
    output_layer : str or None, default=None
        The name of the layer whose output ``transform`` returns; None
        returns the model's output. The model must be functional or
        ``Sequential`` to name a layer.
    optimizer : str, class or keras.optimizers.Optimizer, default="adam"
        The optimizer; ``optimizer__<name>`` parameters reach its class.
    learning_rate : float or None, default=None
        The optimizer's (initial) learning rate; None keeps its own.
    loss : str, class, keras.losses.Loss or callable, default="mse"
        Any Keras loss, between the model's output and ``y`` (``X`` itself
        when ``y`` is None).
    metrics : list or None, default=None
        Keras metrics to log beside the loss.
    batch_size : int, "auto" or None, default=32
        As :class:`KerasRegressor`'s.
    epochs : int or "auto", default="auto"
        The maximum number of passes; "auto" gives about 2,000 steps.
    warm_start : bool, default=False
        Continue from the fitted weights on the next ``fit``.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the random layers, the hold-out and the order of
        the rows.
    verbose : int, default=0
        1 prints a line per epoch; 2 also shows Keras's progress bar.
    callbacks : list, dict, Callback or None, default=None
        Extra Keras callbacks.
    validation_fraction : float or "auto", default="auto"
        Share of the training data held out to monitor (see
        :class:`KerasRegressor`).
    lr_schedule : {"one-cycle", "cosine"} or None, default=None
        The learning rate's course over each fit.
    lr_patience : int or None, default=None
        Epochs without a lower monitored loss before the rate drops.
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
        Compile the training steps with XLA ("auto": dense stacks).
    **kwargs
        Routed parameters and bare parameters of the model function.

    Attributes
    ----------
    model_ : keras.Model
        The trained network.
    n_features_in_ : int
        ``X.shape[1]`` of the training data.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features, when X had string column names.
    n_outputs_ : int
        The number of values of a training target.
    input_shape_ : tuple
        The shape of one training sample.
    history_ : dict of lists
        Per-epoch what ``model.fit``'s history holds, and "learning_rate".
    n_iter_ : int
        Epochs trained.

    See Also
    --------
    KerasRegressor : The same targets, predicted.

    Examples
    --------
    >>> import keras
    >>> from sklearn.datasets import load_digits
    >>> from skdigits import KerasTransformer
    >>> def autoencoder(meta):
    ...     n = meta["n_features_in_"]
    ...     return keras.Sequential([
    ...         keras.Input((n,)),
    ...         keras.layers.Dense(8, activation="relu", name="code"),
    ...         keras.layers.Dense(n),
    ...     ])
    >>> X, _ = load_digits(return_X_y=True)
    >>> enc = KerasTransformer(autoencoder, output_layer="code", random_state=0)
    >>> enc.fit_transform(X / 16).shape
    (1797, 8)
    """

    _parameter_constraints: dict = {
        **KerasEstimator._parameter_constraints,
        "output_layer": [str, None],
    }
    _auto_steps = _tuning.REGRESSION_AUTO_STEPS

    def __init__(
        self,
        model=None,
        *,
        output_layer=None,
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
        self.output_layer = output_layer
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

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None, validation_data=None):
        """Train the model: on ``X`` itself when ``y`` is None, else on ``y``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, ...)
            Samples.
        y : array-like of shape (n_samples, ...) or None, default=None
            Targets; None trains the model to reproduce ``X``.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the loss.
        validation_data : tuple (X_val, y_val), default=None
            Data to monitor (``y_val`` None for an autoencoder).

        Returns
        -------
        self : object
            The fitted transformer.
        """
        return self._fit(
            X,
            y,
            sample_weight,
            warm=self.warm_start and hasattr(self, "model_"),
            partial=False,
            classes=None,
            validation_data=validation_data,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, sample_weight=None):
        """Train one more epoch on ``X`` (and ``y``), without re-initialising.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, ...)
            Samples.
        y : array-like or None, default=None
            Targets; None trains on ``X`` itself.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples.

        Returns
        -------
        self : object
            The estimator.
        """
        return self._partial_fit(X, y, sample_weight)

    # -- the transformer's part of a fit -------------------------------------

    def _fit_targets(self, y, X, *, warm, classes, weights):
        if y is None:
            kind, y = "autoencoder", X
        else:
            y = np.asarray(y, dtype=np.float32)
            kind = "continuous" if y.ndim == 1 else "continuous-multioutput"
        n_outputs = 1 if y.ndim == 1 else int(np.prod(y.shape[1:]))
        fitted = {"n_outputs_": n_outputs, "_target_kind": kind}
        return y, fitted, {"n_outputs_": n_outputs, "target_type_": kind}

    def _encode_targets(self, y, fitted, X):
        if y is None:
            if fitted["_target_kind"] != "autoencoder":
                raise ValueError("validation_data needs y_val: fit was given y")
            return X
        return np.asarray(y, dtype=np.float32)

    def _validation_pair(self, validation_data, data):
        if isinstance(validation_data, tuple | list) and len(validation_data) == 2:
            X_val, y_val = validation_data
            if y_val is None:  # an autoencoder's: X alone
                X_val, _ = self._input_samples(X_val, reset=False)
                X_val, _ = _data.validate_samples(self, X_val, reset=False)
                return X_val, self._encode_targets(None, data.fitted, X_val)
        return super()._validation_pair(validation_data, data)

    def _make_loss(self, params, model, data):
        return _compile.make_loss(self.loss, params, None, None)

    def _check_outputs(self, model, compile_args, data):
        if compile_args.get("loss") is None:
            return None  # the model's own train_step
        y = data.y
        if sp.issparse(y):
            return check_target_shape(model, np.empty((0, y.shape[1])), "X")
        form = _compile.target_form(compile_args["loss"], None)
        if form == "index":  # a sparse loss: class indices, one per sample
            return None
        what = "X" if data.fitted["_target_kind"] == "autoencoder" else "y"
        return check_target_shape(model, y, what)

    def _loss_targets(self, y, compile_args, units):
        if sp.issparse(y) or y.ndim > 1:
            return y
        return y.reshape(-1, 1)

    # -- transforming --------------------------------------------------------

    def _predicting_model(self, model):
        if self.output_layer is None:
            return model
        try:
            layer = model.get_layer(self.output_layer)
        except ValueError:
            names = [layer.name for layer in model.layers]
            raise ValueError(
                f"output_layer={self.output_layer!r} is not a layer of the "
                f"model; its layers are {names}"
            ) from None
        if isinstance(model, keras.Sequential):
            # The layers up to it as a Sequential of their own: a stack of
            # dense layers is then predicted by NumPy in float64, as a whole
            # model's is, so that a row's output does not depend on the rows
            # transformed with it.
            stop = model.layers.index(layer) + 1
            return keras.Sequential(
                [keras.Input(model.input_shape[1:]), *model.layers[:stop]]
            )
        try:
            return keras.Model(model.inputs, layer.output)
        except (AttributeError, ValueError, TypeError) as exc:
            raise ValueError(
                f"output_layer needs a functional or Sequential model, whose "
                f"layers' outputs can be read ({exc})"
            ) from None

    def _fit_steps(self, *args, **kwargs):
        commit = super()._fit_steps(*args, **kwargs)

        def commit_with_width():
            commit()
            self._n_features_out = int(self._predictor(self._blank()).shape[1])

        return commit_with_width

    def _blank(self):
        shape = self._reshape_to or self.input_shape_
        return np.zeros((1, *shape), np.float32)

    def transform(self, X):
        """The outputs of the model (or of ``output_layer``) for ``X``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, ...)
            Samples, as ``fit`` took them.

        Returns
        -------
        Xt : ndarray of shape (n_samples, n_features_out)
            The outputs, float32, flattened to one column per value.
        """
        check_is_fitted(self)
        return self._outputs(X).astype(np.float32)

    def _export_head(self):
        return None

    def _export_info(self):
        return {"output": "transformed features"}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        # transform's outputs are float32, the network's precision.
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
