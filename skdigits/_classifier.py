"""``KerasClassifier``: any Keras classifier, trained the skdigits way."""

import contextlib
import copy
import inspect
import math
import os
import signal
import threading
import warnings
from numbers import Integral, Real

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from skdigits import _compile, _engine, _plan, _predict, _routing, _saving, _tuning
from skdigits._backend import keras, tf
from skdigits._compat import (
    Interval,
    Options,
    StrOptions,
    _check_sample_weight,
    _fit_context,
    released_custom_gradients,
)
from skdigits._quiet import upstream_noise
from skdigits._seeding import seeded
from skdigits.callbacks import BestModel, EarlyExit, EpochReport, LearningRateDrop

HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")


def _encode(encoder, y):
    """Class indices of ``y``; a clear error for labels never seen."""
    try:
        return encoder.transform(y).astype(np.int64)
    except ValueError as exc:
        raise ValueError(
            f"y has labels that are not among the classes {encoder.classes_!r}: {exc}"
        ) from None


def _honour_thread_limit():
    """Give TensorFlow the thread budget that OMP_NUM_THREADS sets.

    joblib's workers (``GridSearchCV(n_jobs=k)``) get ``OMP_NUM_THREADS``
    of ``cores // k``; BLAS and OpenMP honour it, TensorFlow does not, so
    two workers would each run a thread per core and slow each other down.
    Applied only before TensorFlow's runtime starts, and only when neither
    ``TF_NUM_INTRAOP_THREADS`` nor an explicit TensorFlow setting says
    otherwise.
    """
    limit = os.environ.get("OMP_NUM_THREADS", "")
    if not limit.isdigit() or int(limit) < 1 or "TF_NUM_INTRAOP_THREADS" in os.environ:
        return
    threading_config = tf.config.threading
    if threading_config.get_intra_op_parallelism_threads() != 0:
        return
    try:
        threading_config.set_intra_op_parallelism_threads(int(limit))
        threading_config.set_inter_op_parallelism_threads(int(limit))
    except RuntimeError:
        pass  # the runtime has started: too late, keep its pools


@contextlib.contextmanager
def _uninterrupted():
    """Inside, Ctrl-C waits for the block to end (in the main thread), so
    that the fitted state is assigned whole."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = signal.signal(signal.SIGINT, lambda *args: received.append(args))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received and callable(previous):
            previous(*received[0])


def _monitors_validation(callbacks):
    """Whether a callback watches a validation metric (``val_...``)."""
    return any(str(getattr(cb, "monitor", "")).startswith("val_") for cb in callbacks)


class KerasClassifier(ClassifierMixin, BaseEstimator):
    """Any Keras classifier as a scikit-learn estimator.

    Bring a Keras model, or a function that builds one: ``fit`` clones or
    builds it (seeded by ``random_state``), compiles it unless it arrives
    compiled, and trains it with the training rules on skdigits's engine;
    ``predict_proba`` answers in a fraction of a millisecond. Parameters
    reach the model function by ``model__name`` (or by bare name), the
    optimizer, loss, metrics and callbacks by ``optimizer__name`` and so
    on, as in SciKeras, so that ``set_params``, ``clone`` and
    ``GridSearchCV`` reach them all.

    Parameters
    ----------
    model : keras.Model, callable or None, default=None
        A Keras model (cloned and seeded anew for each fit: the object
        given is never trained), or a function that returns one. The
        function receives its routed parameters, and where its signature
        names them ``meta`` (a dict: ``n_features_in_``, ``X_shape_``,
        ``X_dtype_``, ``y_dtype_``, ``classes_``, ``n_classes_``,
        ``target_type_``, ``n_outputs_``, ``n_outputs_expected_``),
        ``compile_kwargs`` (``optimizer``, an instance with its routed
        parameters, ``loss`` and ``metrics``) and ``params`` (this
        estimator's parameters). The model takes samples of the shape the
        data have (2-D rows, images, sequences), or of any shape with as
        many values (rows of pixels for an image model, say), and outputs
        one unit per class, or one sigmoid unit for two classes.
    optimizer : str, class or keras.optimizers.Optimizer, default="adam"
        The optimizer; ``optimizer__<name>`` parameters reach its class.
        Ignored (as loss and metrics) when the model arrives compiled.
    learning_rate : float or None, default=None
        The optimizer's (initial) learning rate; None keeps the
        optimizer's own (or ``optimizer__learning_rate``).
    loss : str, class, keras.losses.Loss or callable, default="crossentropy"
        "crossentropy" is the cross-entropy for the model's output
        (categorical for softmax units, binary for sigmoid units or one
        unit, from logits for a linear output); any Keras loss otherwise,
        with ``loss__<name>`` parameters for a class. The targets are class
        indices for a sparse loss, one-hot rows otherwise.
    metrics : list or None, default=None
        Keras metrics to log beside the loss: names, classes or instances.
        Where skdigits compiles the model, it adds the accuracy (weighted
        by the sample weights) unless these have one.
    batch_size : int, "auto" or None, default=32
        Keras's default. 1 is stochastic gradient descent; None, -1 or at
        least the number of training samples is batch gradient descent;
        otherwise mini-batch. "auto" is 128, halved while an epoch would
        have fewer than 8 steps, down to 16.
    epochs : int or "auto", default="auto"
        The maximum number of passes over the training data. "auto" gives
        about 1,000 gradient steps, at least 1 and at most 200 epochs.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes (keyed by label), multiplied into the
        sample weights; "balanced" weighs classes inversely to their
        frequency.
    warm_start : bool, default=False
        Continue from the fitted weights and optimizer state on the next
        ``fit``, as a further ``model.fit`` would, instead of starting
        anew; the architecture must not change.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the random layers, the hold-out split and the
        order of the rows, without touching global seeds.
    verbose : int, default=0
        1 prints a line per epoch and why training stopped; 2 also shows
        Keras's progress bar.
    callbacks : list, dict, Callback or None, default=None
        Extra Keras callbacks (instances, deep-copied for each fit and kept
        in ``callbacks_``, or classes with ``callbacks__<name>``
        parameters). Their ``self.model`` is the model being trained. A
        compiled call runs many steps, so batch-level hooks run once per
        call, as with Keras's ``steps_per_execution`` (the fit setting
        ``steps_per_execution=1`` calls them at every step).
    validation_fraction : float or "auto", default="auto"
        Share of the training data held out (stratified, shuffled, seeded)
        to monitor; 0 monitors the training accuracy and loss. "auto" holds
        out 10% when a callback monitors a validation metric (``val_...``),
        or when a training rule is on and 10% makes at least 1,000 rows;
        else nothing.
    lr_schedule : {"one-cycle", "cosine"} or None, default=None
        The learning rate's course over each fit, step by step, peaking at
        ``learning_rate``: "one-cycle" rises from a tenth of it over the
        first quarter of the steps, then falls to 0; "cosine" falls from it
        to 0. None keeps it constant (the plateau rule ``lr_patience`` may
        still drop it; the two cannot be combined).
    lr_patience : int or None, default=None
        Epochs without improvement before the learning rate drops; None
        never drops it. (The training rules are off by default here, so
        that a model trains as Keras's ``fit`` trains it; the presets turn
        them on with values tuned for their networks.)
    lr_factor : float, default=0.1
        Multiplier of each drop.
    min_lr : float, default=1e-6
        The learning rate never drops below this.
    patience : int or None, default=None
        Epochs without improvement before stopping as converged; None
        disables it.
    target_accuracy : float or None, default=None
        Stop once the monitored accuracy reaches this; None disables it.
    restore_best_weights : bool, default=False
        End with the weights of the best epoch.
    checkpoint_path : str, path or None, default=None
        Save the best model to this ``.keras`` file during training.
    jit_compile : bool or "auto", default="auto"
        Compile the training steps with XLA. "auto" does for a stack of
        dense layers when the fit may run 1,000 steps or more.
    **kwargs
        Routed parameters (``model__units=64``, ``optimizer__momentum=0.9``,
        ``loss__label_smoothing=0.1``, ``metrics__0__threshold=0.6``,
        ``callbacks__patience=3``, ``fit__validation_split=0.2``,
        ``predict__batch_size=1024``) and bare parameters of the model
        function (``units=64``); Keras's ``validation_split``,
        ``shuffle``, ``validation_batch_size``, ``steps_per_execution``
        and ``run_eagerly`` are fit settings.

    Attributes
    ----------
    model_ : keras.Model
        The trained network, of the class of the model given, compiled,
        with its optimizer and its state.
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    n_features_in_ : int
        ``X.shape[1]`` of the training data.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features, when X had string column names.
    input_shape_ : tuple
        The shape of one training sample, ``X.shape[1:]``.
    batch_size_ : int
        The batch size used.
    gd_variant_ : str
        "stochastic", "mini-batch" or "batch".
    history_ : dict of lists
        Per-epoch what ``model.fit``'s history holds ("loss", the metrics,
        with validation their ``val_`` forms) and the "learning_rate".
    n_iter_ : int
        Epochs trained.
    best_epoch_ : int or None
        The epoch (1-based) with the best monitored score in the last fit
        (the accuracy where it is logged, else the loss).
    best_score_ : float
        That score.
    stop_reason_ : str
        "max_epochs", "target_accuracy", "converged", "nan", or "callback"
        when one of ``callbacks`` stopped training.
    callbacks_ : list of keras.callbacks.Callback
        The fitted copies of ``callbacks``.

    See Also
    --------
    KerasMLPClassifier : Multilayer perceptrons, a preset.
    KerasCNNClassifier : A convolutional network for digits, a preset.

    Notes
    -----
    The defaults adapt to the size of the data in gradient steps rather
    than epochs (see the user guide). Fitted state is all or nothing: an
    exception or ``KeyboardInterrupt`` during ``fit`` leaves the estimator
    as it was.

    Examples
    --------
    >>> import keras
    >>> from sklearn.datasets import load_digits
    >>> from skdigits import KerasClassifier
    >>> def build(units, meta):
    ...     return keras.Sequential([
    ...         keras.Input((meta["n_features_in_"],)),
    ...         keras.layers.Dense(units, activation="relu"),
    ...         keras.layers.Dense(meta["n_classes_"], activation="softmax"),
    ...     ])
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = KerasClassifier(build, model__units=64, random_state=0)
    >>> clf.fit(X / 16, y).predict(X[:3] / 16)
    array([0, 1, 2])
    """

    _parameter_constraints: dict = {
        "model": [None, callable, keras.Model],
        "optimizer": [str, type, keras.optimizers.Optimizer],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), None],
        "loss": [str, type, keras.losses.Loss, callable],
        "metrics": [list, tuple, str, type, keras.metrics.Metric, None],
        "batch_size": [
            Interval(Integral, 1, None, closed="left"),
            Options(Integral, {-1}),
            StrOptions({"auto"}),
            None,
        ],
        "epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, tuple, dict, type, keras.callbacks.Callback, None],
        "validation_fraction": [
            Interval(Real, 0, 1, closed="left"),
            StrOptions({"auto"}),
        ],
        "lr_schedule": [StrOptions(set(_engine.SCHEDULES)), None],
        "lr_patience": [Interval(Integral, 1, None, closed="left"), None],
        "lr_factor": [Interval(Real, 0, 1, closed="neither")],
        "min_lr": [Interval(Real, 0, None, closed="left")],
        "patience": [Interval(Integral, 1, None, closed="left"), None],
        "target_accuracy": [Interval(Real, 0, 1, closed="right"), None],
        "restore_best_weights": ["boolean"],
        "checkpoint_path": [str, os.PathLike, None],
        "jit_compile": ["boolean", StrOptions({"auto"})],
    }

    def __init__(
        self,
        model=None,
        *,
        optimizer="adam",
        learning_rate=None,
        loss="crossentropy",
        metrics=None,
        batch_size=_tuning.KERAS_BATCH_SIZE,
        epochs="auto",
        class_weight=None,
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
        target_accuracy=None,
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
        self.class_weight = class_weight
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
        self.target_accuracy = target_accuracy
        self.restore_best_weights = restore_best_weights
        self.checkpoint_path = checkpoint_path
        self.jit_compile = jit_compile
        vars(self).update(kwargs)

    # -- parameters -------------------------------------------------------------

    @classmethod
    def _named_parameters(cls):
        """The parameters of the constructor's signature, in order."""
        return [
            p.name
            for p in inspect.signature(cls.__init__).parameters.values()
            if p.name != "self" and p.kind is not p.VAR_KEYWORD
        ]

    def _extra(self):
        """The routed and bare parameters beyond the signature's."""
        named = set(self._named_parameters())
        return {
            k: v
            for k, v in vars(self).items()
            if k not in named and not k.startswith("_") and not k.endswith("_")
        }

    def get_params(self, deep=True):
        """The estimator's parameters, routed and bare ones included.

        Parameters
        ----------
        deep : bool, default=True
            Also the parameters of parameters that are estimators.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        params = {name: getattr(self, name) for name in self._named_parameters()}
        params.update(self._extra())
        if deep:
            for name, value in list(params.items()):
                if hasattr(value, "get_params") and not isinstance(value, type):
                    for key, sub in value.get_params().items():
                        params[f"{name}__{key}"] = sub
        return params

    def set_params(self, **params):
        """Set parameters, routed ones (``model__units=64``) included.

        Parameters
        ----------
        **params : dict
            Parameter names and their new values.

        Returns
        -------
        self : object
            The estimator.
        """
        extra = set(self._extra())
        plain = {}
        for key, value in params.items():
            if _routing.is_routed(key) or key in extra:
                setattr(self, key, value)
            else:
                plain[key] = value
        if plain:
            super().set_params(**plain)
        return self

    def __sklearn_clone__(self):
        # A network given as a parameter is read, never trained (each fit
        # clones it): clones share it, where scikit-learn would deep-copy it
        # (through Keras's saving, with its warnings) for every fit of a
        # search.
        params = self.get_params(deep=False)
        shared = {k: v for k, v in params.items() if isinstance(v, keras.Model)}
        new = type(self)(
            **{k: clone(v, safe=False) for k, v in params.items() if k not in shared},
            **shared,
        )
        if hasattr(self, "_metadata_request"):
            new._metadata_request = copy.deepcopy(self._metadata_request)
        return new

    # -- the steps of a fit, each overridable -----------------------------------

    def _input_samples(self, X, *, reset):
        """``X`` in the layout the estimator takes, and what that says for
        ``meta`` (a hook: the CNN preset turns images into rows)."""
        return X, {}

    def _architecture(self, meta):
        """What the parameters say of the network; a warm start must not
        change it."""
        model = self.model
        # Identities that survive pickling (a warm start after loading): a
        # model's class and config, a function's qualified name.
        if isinstance(model, keras.Model):
            kind = type(model)
            ident = (kind.__module__, kind.__qualname__, model.to_json())
        elif hasattr(model, "__qualname__"):
            ident = (getattr(model, "__module__", None), model.__qualname__)
        else:
            ident = model
        extra = {
            k: v
            for k, v in self._extra().items()
            if not _routing.is_routed(k) or k.startswith("model__")
        }
        extra = {k: v for k, v in extra.items() if k not in _routing.BARE_FIT_SETTINGS}
        return repr((ident, sorted(extra.items()), meta["X_shape_"][1:]))

    def _build(self, meta, compile_kwargs, seed):
        """A new network for this fit, seeded: a clone of the ``model``
        parameter (with its weights), or what its function returns."""
        factory = self.model
        if factory is None:
            raise ValueError(
                f"{type(self).__name__} needs a model: a keras.Model, or a "
                "function that returns one (model=...)"
            )
        extra = self._extra()
        if isinstance(factory, keras.Model):
            given = set(_routing.bare(extra)) - set(_routing.BARE_FIT_SETTINGS)
            given |= {f"model__{k}" for k in _routing.routed(extra, "model")}
            if given:
                raise ValueError(
                    f"{sorted(given)[0]} cannot reach a model given built: pass a "
                    "function that builds the model instead"
                )
            with seeded(seed), upstream_noise():
                try:
                    model = _engine.clone(factory)
                except (NotImplementedError, TypeError, ValueError) as exc:
                    raise TypeError(
                        f"the {type(factory).__name__} given as model cannot be "
                        f"cloned from its config ({exc}); give it get_config() "
                        "and from_config(), or pass a function that builds it"
                    ) from exc
                if factory.built:
                    model.set_weights(factory.get_weights())
            return model
        if not callable(factory):
            raise TypeError(
                f"model must be a keras.Model or a function, got {factory!r}"
            )
        arguments = _routing.model_arguments(
            factory,
            extra,
            meta=meta,
            compile_kwargs=compile_kwargs,
            params=lambda: self.get_params(deep=False),
        )
        with seeded(seed), upstream_noise():
            model = factory(**arguments)
        if not isinstance(model, keras.Model):
            raise TypeError(
                f"the model function returned {type(model).__name__}, not a keras.Model"
            )
        return model

    def _compile_settings(self, model, extra, warm):
        """``compile``'s arguments for this fit (new objects), and whether
        they are the user's own: those the model arrived compiled with (a
        compiled ``model`` parameter, or a model function that compiles),
        else the parameters'. Where skdigits compiles, it adds the accuracy
        (weighted by the sample weights) unless the metrics have one."""
        source = None
        if warm:
            if self._compiled_by_user and self.model_.compiled:
                source = self.model_
        elif model.compiled:
            source = model
        elif (
            isinstance(getattr(self, "model", None), keras.Model)
            and self.model.compiled
        ):
            source = self.model
        units = _compile.output_units(model)
        activation = _compile.output_activation(model)
        routed_loss = _routing.routed(extra, "loss")
        if source is not None:
            args = _compile.compiled_args(source)
            if self.learning_rate is not None:
                args["optimizer"].learning_rate = self.learning_rate
            # Compiled without a loss: the parameter's, unless the model's
            # own train_step needs none (as in Keras's guide to it).
            own_step = type(model).train_step is not keras.Model.train_step
            if args.get("loss") is None and not own_step:
                args["loss"] = _compile.make_loss(
                    self.loss, routed_loss, activation, units
                )
            return args, True
        args = {
            "optimizer": _compile.make_optimizer(
                self.optimizer, _routing.routed(extra, "optimizer"), self.learning_rate
            ),
            "loss": _compile.make_loss(self.loss, routed_loss, activation, units),
            "metrics": _compile.make_metrics(
                getattr(self, "metrics", None), _routing.routed(extra, "metrics")
            ),
        }
        if "accuracy" not in _compile.metric_names(args):
            form = _compile.target_form(args["loss"], units)
            args["weighted_metrics"] = [
                _compile.accuracy_metric(form, _compile.from_logits(args["loss"]))
            ]
        return args, False

    def _compile_kwargs(self, extra):
        """What a model function that compiles itself gets as
        ``compile_kwargs``: the optimizer built from its parameters, the
        ``loss`` and ``metrics`` parameters (a Keras loss, or None for
        "crossentropy", which needs the model's output to be chosen; a model
        compiled without a loss gets it)."""
        optimizer = _compile.make_optimizer(
            self.optimizer, _routing.routed(extra, "optimizer"), self.learning_rate
        )
        loss = self.loss
        if loss == _compile.CROSSENTROPY:
            loss = None
        return {
            "optimizer": optimizer,
            "loss": loss,
            "metrics": getattr(self, "metrics", None),
        }

    def _fitted_extra(self, model, meta):
        """Fitted attributes a preset adds (a hook)."""
        return {}

    # -- fitting ---------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, validation_data=None):
        """Train the network with the training rules.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples: rows of features (a DataFrame too), or arrays of the
            shape the model takes.
        y : array-like of shape (n_samples,)
            Class labels, of any type.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the loss and the accuracy.
        validation_data : tuple (X_val, y_val), default=None
            Data to monitor instead of a hold-out of ``validation_fraction``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        warm = self.warm_start and hasattr(self, "model_")
        return self._fit(
            X,
            y,
            sample_weight,
            warm=warm,
            partial=False,
            classes=None,
            validation_data=validation_data,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train one more epoch on ``X, y``, without re-initialising.

        The training rules other than the NaN stop are off, all of ``X`` is
        trained on, and the optimizer carries on from its last state.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples.
        y : array-like of shape (n_samples,)
            Class labels.
        classes : array-like of shape (n_classes,), default=None
            Every class, on the first call; None takes those of ``y`` (and a
            later call with another label is an error).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples.

        Returns
        -------
        self : object
            The estimator.
        """
        warm = hasattr(self, "model_")
        return self._fit(
            X,
            y,
            sample_weight,
            warm=warm,
            partial=True,
            classes=classes,
            validation_data=None,
        )

    def initialize(self, X, y):
        """Make the estimator fitted from its model, without training.

        As SciKeras's ``initialize``: the network is built (or cloned from
        the ``model`` given, with its weights) and compiled, and the fitted
        attributes are set from ``X`` and ``y`` (the classes, the input
        shape), so that ``predict``, ``score``, ``export`` and pickling work
        on a model trained elsewhere. ``history_`` is empty, ``n_iter_`` 0
        and ``stop_reason_`` None. A later ``fit`` trains anew (or, with
        ``warm_start``, from these weights).

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples, as ``fit`` takes them (a few rows suffice).
        y : array-like of shape (n_samples,)
            Class labels: every class the model predicts.

        Returns
        -------
        self : object
            The initialized estimator.
        """
        self._validate_params()
        return self._fit(
            X,
            y,
            None,
            warm=False,
            partial=False,
            classes=None,
            validation_data=None,
            train=False,
        )

    def _fit(self, X, y, sample_weight, **how):
        # Fitted state is all or nothing: whatever the steps set before
        # failing (scikit-learn's validation sets n_features_in_ at once) is
        # put back, and the network is only written in the final commit.
        before = {
            k: v for k, v in vars(self).items() if k.endswith("_") or k.startswith("_")
        }
        try:
            commit = self._fit_steps(X, y, sample_weight, **how)
            with _uninterrupted():
                commit()
        except BaseException:
            for key in [k for k in vars(self) if k.endswith("_") or k.startswith("_")]:
                if key not in before:
                    delattr(self, key)
            vars(self).update(before)
            raise
        if self.stop_reason_ == "nan":
            warnings.warn(
                f"training stopped at epoch {self._nan_epoch}: the loss "
                "became NaN or infinite, and the last good weights were restored. "
                "Try a lower learning_rate.",
                RuntimeWarning,
                stacklevel=3,
            )
        return self

    def _fit_steps(
        self,
        X,
        y,
        sample_weight,
        *,
        warm,
        partial,
        classes,
        validation_data,
        train=True,
    ):
        """Every step of a fit up to its commit, which it returns (with
        ``train`` False, of ``initialize``: nothing trains)."""
        _honour_thread_limit()
        extra = self._extra()
        settings = self._fit_settings(extra)
        data = self._fit_data(X, y, sample_weight, settings, warm=warm, classes=classes)
        rng = check_random_state(self.random_state)
        init_seed, split_seed, shuffle_seed = (
            int(s) for s in rng.randint(0, 2**31 - 1, size=3)
        )
        meta = data["meta"]
        # partial_fit carries on with the callbacks of the earlier calls; a
        # fit (warm or not) starts from copies of the parameter's.
        if partial and warm:
            callbacks = self.callbacks_
        else:
            callbacks = _compile.make_callbacks(
                settings["callbacks"], _routing.routed(extra, "callbacks")
            )
        model = self._network(meta, data["X"].shape[1:], extra, init_seed, warm)
        compile_args, by_user = self._compile_settings(model, extra, warm)
        if settings.get("run_eagerly") is not None:
            compile_args["run_eagerly"] = bool(settings["run_eagerly"])
        units = _compile.output_units(model)
        n_classes = len(data["encoder"].classes_)
        if units not in (n_classes, 1) or (units == 1 and n_classes != 2):
            raise ValueError(
                f"the model has {units} output units, but y has {n_classes} "
                "classes: give it one unit per class (or one sigmoid unit for "
                "two classes)"
            )
        X_model, reshape_to = self._model_input(model, data["X"])
        form = _compile.target_form(compile_args["loss"], units)
        targets = self._targets(data["y"], form, n_classes)
        rows, val = self._split(
            X_model,
            targets,
            data,
            settings,
            callbacks if train else [],
            partial or not train,
            split_seed,
            validation_data,
            reshape_to,
            form,
            n_classes,
        )
        plan = self._make_plan(
            model, compile_args, settings, X_model, rows, warm, partial
        )
        monitor = self._monitor(compile_args, val is not None, partial or not train)
        how = {
            "seed": shuffle_seed if settings.get("shuffle", True) else None,
            "verbose": int(settings["verbose"]),
            "warm": warm,
            "partial": partial,
            "weighted": data["weighted"],
        }
        if train:
            history, weights, optimizer_state, rules = self._train(
                model, compile_args, plan, rows, val, callbacks, monitor, how
            )
        else:
            history, weights, optimizer_state = keras.callbacks.History(), None, None
            history.history, history.epoch = {}, []
            rules = self._rule_callbacks(monitor, False, [], plan.epochs, 0)[1:]
            for rule in rules:
                rule._reset()
            rules[0].stop_reason_ = rules[0].stopped_epoch_ = None
            callbacks = []
        return self._commit_function(
            warm=warm,
            model=model,
            weights=weights,
            data=data,
            meta=meta,
            plan=plan,
            history=history,
            rules=rules,
            callbacks=callbacks,
            compile_args=compile_args,
            by_user=by_user,
            optimizer_state=optimizer_state,
            units=units,
            reshape_to=reshape_to,
            extra=extra,
        )

    # The rows per validation batch where no setting gives one: None is
    # Keras's (the training batch size); presets score in larger chunks.
    _validation_batch_size = None
    # epochs="auto"'s floor (None: _tuning.AUTO_EPOCHS_MIN, the presets').
    _min_auto_epochs = _tuning.GENERAL_AUTO_EPOCHS_MIN
    # What batch_size=None means: Keras's 32 here, batch GD in the presets.
    _none_batch_size = _tuning.KERAS_BATCH_SIZE

    def _fit_settings(self, extra):
        """The fit's Keras settings: the parameters, then routed ones."""
        batch_size = self.batch_size
        if batch_size is None and self._none_batch_size is not None:
            batch_size = self._none_batch_size
        return _routing.fit_settings(
            {
                "batch_size": batch_size,
                "epochs": self.epochs,
                "verbose": self.verbose,
                "class_weight": self.class_weight,
                "callbacks": self.callbacks,
                "validation_batch_size": self._validation_batch_size,
                "steps_per_execution": "auto",
            },
            extra,
        )

    def _network(self, meta, sample, extra, seed, warm):
        """The network this fit trains: the fitted one for a warm start (its
        architecture unchanged), else a new one, built."""
        if warm:
            if self._architecture(meta) != self._architecture_:
                raise ValueError(
                    "warm_start: the parameters of the network changed since the "
                    "last fit; fit with warm_start=False to build it anew"
                )
            return self.model_
        model = self._build(meta, lambda: self._compile_kwargs(extra), seed)
        if not model.built:
            with seeded(seed), upstream_noise():
                model(np.zeros((1, *sample), np.float32))
        return model

    def _make_plan(self, model, compile_args, settings, X_model, train, warm, partial):
        """The fit's plan, its conflicts checked before anything trains."""
        peak = None
        if self.lr_schedule is not None:
            if self.lr_patience is not None:
                raise ValueError(
                    f"lr_schedule={self.lr_schedule!r} sets the learning rate of "
                    "every step; it cannot be combined with lr_patience (drops "
                    "on a plateau): set lr_patience=None"
                )
            peak = _compile.learning_rate_of(compile_args["optimizer"])
            if peak is None:
                raise ValueError(
                    "lr_schedule needs a number as the optimizer's learning rate, "
                    "not a Keras LearningRateSchedule"
                )
        steps_per_execution = settings.get("steps_per_execution", "auto")
        if steps_per_execution != "auto" and not (
            isinstance(steps_per_execution, Integral) and steps_per_execution >= 1
        ):
            raise ValueError(
                "steps_per_execution must be 'auto' or an integer >= 1, got "
                f"{steps_per_execution!r}"
            )
        plan = _plan.make_plan(
            batch_size=settings["batch_size"],
            epochs=1 if partial else settings["epochs"],
            n_samples=train[0].shape[0],
            initial_epoch=self.n_iter_ if warm else 0,
            dense_stack=_predict.is_dense_stack(model, X_model.shape[1:]),
            jit=self.jit_compile,
            lr_schedule=self.lr_schedule,
            peak_lr=peak,
            steps_per_execution=steps_per_execution,
            validation_batch_size=settings.get("validation_batch_size"),
            min_auto_epochs=self._min_auto_epochs,
        )
        reason = _keras_fit_reason(model, compile_args)
        if reason is not None and self.lr_schedule is not None:
            raise ValueError(
                f"lr_schedule needs skdigits's engine, but {reason}, so Keras's "
                "own fit trains it: set lr_schedule=None (or use a Keras "
                "LearningRateScheduler callback)"
            )
        return plan

    def _monitor(self, compile_args, validation, partial):
        """What the training rules watch: the accuracy where the compiled
        metrics log it, else the loss (``val_`` with validation rows)."""
        logged = "accuracy" in _compile.metric_names(compile_args)
        if not logged and self.target_accuracy is not None and not partial:
            raise ValueError(
                "target_accuracy needs the accuracy in the logs, but the "
                "model's compiled metrics have none: compile it with "
                "metrics=['accuracy']"
            )
        name = "accuracy" if logged else "loss"
        return f"val_{name}" if validation else name

    def _fit_data(self, X, y, sample_weight, settings, *, warm, classes):
        """Validated arrays, class encoding, weights and ``meta``."""
        X, found = self._input_samples(X, reset=not warm)
        if warm:
            self._check_sample_shape(X)
        X, y = validate_data(
            self, X, y, reset=not warm, dtype=np.float32, allow_nd=True
        )
        check_classification_targets(y)
        weights = _check_sample_weight(
            sample_weight, X, dtype=np.float32, ensure_non_negative=True
        )
        if warm:
            encoder = self._encoder
            if classes is not None and not np.array_equal(
                np.unique(classes), self.classes_
            ):
                raise ValueError(
                    f"classes={classes!r} differs from the classes of the "
                    f"earlier fit, {self.classes_!r}"
                )
        else:
            encoder = LabelEncoder().fit(y if classes is None else classes)
        if not np.any(weights > 0):
            raise ValueError(
                "Sample weights must contain at least one non-zero number."
            )
        y_idx = _encode(encoder, y)
        class_weight = settings.get("class_weight")
        if class_weight is not None:
            weights = weights * compute_sample_weight(class_weight, y).astype(
                np.float32
            )
        present = np.unique(y_idx[weights > 0])
        if not warm and classes is None and len(present) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least two classes "
                "with positive sample weight; got one class: "
                f"{encoder.classes_[present]}"
            )
        if len(encoder.classes_) < 2:
            raise ValueError(
                f"classes must hold at least two classes, got {encoder.classes_!r}"
            )
        n_classes = len(encoder.classes_)
        meta = {
            "n_features_in_": X.shape[1],
            "X_shape_": X.shape,
            "X_dtype_": X.dtype,
            "y_dtype_": np.asarray(y).dtype,
            "classes_": encoder.classes_,
            "n_classes_": n_classes,
            "target_type_": "binary" if n_classes == 2 else "multiclass",
            "n_outputs_": 1,
            "n_outputs_expected_": 1,
            **found,
        }
        return {
            "X": X,
            "y": y_idx,
            "weights": weights,
            # Keras's train_step gets (x, y) without weights, (x, y, w) with.
            "weighted": sample_weight is not None or class_weight is not None,
            "encoder": encoder,
            "meta": meta,
        }

    def _check_sample_shape(self, X):
        """A clear error for samples (images, sequences) of another shape
        than the fitted ones; rows are checked by scikit-learn."""
        shape = getattr(X, "shape", None)
        if shape is not None and len(shape) > 2 and shape[1:] != self.input_shape_:
            raise ValueError(
                f"X has samples of shape {tuple(shape[1:])}, but the estimator "
                f"was fitted on samples of shape {self.input_shape_}"
            )

    @staticmethod
    def _model_input(model, X):
        """``X`` in the shape of the model's input, and that shape (None when
        it is the samples' own): rows of as many values are reshaped."""
        try:
            shape = tuple(model.input_shape[1:])
        except (AttributeError, ValueError, TypeError):
            return X, None
        sample = X.shape[1:]
        if len(shape) == len(sample) and all(
            s is None or s == t for s, t in zip(shape, sample, strict=True)
        ):
            return X, None
        if None not in shape and int(np.prod(shape)) == int(np.prod(sample)):
            return X.reshape(len(X), *shape), shape
        raise ValueError(
            f"the model takes samples of shape {shape}, but X has samples of "
            f"shape {sample}"
        )

    @staticmethod
    def _targets(y_idx, form, n_classes):
        if form == "index":
            return y_idx.astype(np.int32)
        if form == "column":
            return y_idx.astype(np.float32).reshape(-1, 1)
        return np.eye(n_classes, dtype=np.float32)[y_idx]

    def _split(
        self,
        X,
        targets,
        data,
        settings,
        callbacks,
        partial,
        seed,
        validation_data,
        reshape_to,
        form,
        n_classes,
    ):
        """The training and validation arrays ``(X, targets, classes,
        weights)``; validation None when nothing is monitored."""
        y_idx, weights = data["y"], data["weights"]
        train = (X, targets, y_idx, weights)
        if validation_data is not None:
            if (
                not isinstance(validation_data, tuple | list)
                or len(validation_data) != 2
            ):
                raise ValueError("validation_data must be a tuple (X_val, y_val)")
            X_val, y_val = validation_data
            X_val, _ = self._input_samples(X_val, reset=False)
            X_val, y_val = validate_data(
                self, X_val, y_val, reset=False, dtype=np.float32, allow_nd=True
            )
            if reshape_to is not None:
                X_val = X_val.reshape(len(X_val), *reshape_to)
            v_idx = _encode(data["encoder"], y_val)
            val = (
                X_val,
                self._targets(v_idx, form, n_classes),
                v_idx,
                np.ones(len(X_val), np.float32),
            )
            return train, val
        if partial:
            return train, None
        fraction = self.validation_fraction
        split = settings.get("validation_split")
        if split is not None:
            if fraction != "auto":
                raise ValueError(
                    "validation_split and validation_fraction are both set: give one"
                )
            if not (isinstance(split, Real) and 0 <= split < 1):
                raise ValueError(f"validation_split must be in [0, 1), got {split!r}")
            if split > 0:
                # As Keras's fit: the last rows, before any shuffling.
                at = math.ceil(len(X) * (1.0 - split))
                if at == len(X) or at == 0:
                    raise ValueError(
                        f"validation_split={split} leaves no rows to "
                        f"{'validate on' if at == len(X) else 'train on'} "
                        f"among {len(X)} samples"
                    )
                return tuple(a[:at] for a in train), tuple(a[at:] for a in train)
            fraction = split
        wanted = _monitors_validation(callbacks)
        rules = (
            self.lr_patience is not None
            or self.patience is not None
            or self.target_accuracy is not None
            or self.restore_best_weights
        )
        fraction = _plan.validation_fraction(
            fraction, len(X), wanted=wanted, rules=rules
        )
        if fraction == 0:
            if wanted:
                raise ValueError(
                    "a callback monitors a validation metric, but "
                    "validation_fraction=0 holds nothing out: hold out some "
                    "rows, or pass validation_data"
                )
            return train, None
        try:
            keep, held = train_test_split(
                np.arange(len(X)), test_size=fraction, stratify=y_idx, random_state=seed
            )
        except ValueError as exc:
            if wanted:
                raise ValueError(
                    f"cannot hold out a stratified validation set from {len(X)} "
                    f"samples ({exc}), which a callback monitors"
                ) from None
            warnings.warn(
                f"validation_fraction={fraction} cannot hold out a stratified "
                f"validation set from {len(X)} samples ({exc}); monitoring the "
                "training accuracy instead.",
                UserWarning,
                stacklevel=5,
            )
            return train, None
        return tuple(a[keep] for a in train), tuple(a[held] for a in train)

    def _rule_callbacks(self, monitor, rules, callbacks, total_epochs, verbose):
        """The callbacks of a fit, in order: the training rules (those on),
        the user's ``callbacks``, the epoch report; and the ``EarlyExit`` and
        ``BestModel`` rules."""
        lr_drop = None
        if rules and self.lr_patience is not None:
            lr_drop = LearningRateDrop(
                monitor, self.lr_patience, self.lr_factor, self.min_lr
            )
        early_exit = EarlyExit(
            monitor,
            target=self.target_accuracy if rules else None,
            patience=self.patience if rules else None,
        )
        best = BestModel(
            monitor,
            filepath=self.checkpoint_path if rules else None,
            restore=rules and self.restore_best_weights,
        )
        report = EpochReport(
            early_exit=early_exit,
            best=best,
            lr_drop=lr_drop,
            epochs=total_epochs,
            verbose=verbose,
        )
        # The report reads the rules' state of the epoch, and the learning
        # rate (for history_), after the user's callbacks.
        ordered = [lr_drop, early_exit, best, *callbacks, report]
        return [cb for cb in ordered if cb is not None], early_exit, best

    def _train(self, model, compile_args, plan, train, val, callbacks, monitor, how):
        """Train on a trainer of ``model``'s architecture (or through Keras's
        own ``fit`` where the engine cannot honour the model); return the
        history, the trained variables, the optimizer state and the rules."""
        weighted = how["weighted"]
        ordered, early_exit, best = self._rule_callbacks(
            monitor, not how["partial"], callbacks, plan.epochs, how["verbose"]
        )
        reason = _keras_fit_reason(model, compile_args)
        if reason is not None:
            history, weights, state = _keras_fit(
                model, compile_args, plan, train, val, ordered, how
            )
            _record_rates(history, ordered[-1])
            return history, weights, state, (early_exit, best)
        multiple = plan.batch_size if plan.jit_compile else None
        train_rows = _engine.Rows(
            train[0], train[1], train[3] if weighted else None, multiple=multiple
        )
        val_rows = None
        if val is not None:
            val_rows = _engine.Rows(val[0], val[1], val[3] if weighted else None)
        sample = train[0].shape[1:]
        key = _engine.trainer_key(model, sample, _compile.compile_spec(compile_args))
        trainer = _engine.acquire(
            key,
            lambda: _engine.new_trainer(
                model, lambda: _compile.fresh(compile_args), sample
            ),
            model,
        )
        snapshot = None
        if trainer.model is model and how["warm"]:  # trains the fitted model itself
            snapshot = trainer.weights(), trainer.optimizer_state()
        try:
            state = None
            if how["warm"] and trainer.model is not model:
                state = _optimizer_state_for(model, trainer.model)
            elif how["warm"]:
                state = snapshot[1]
            trainer.load(
                model, state, _compile.learning_rate_of(compile_args["optimizer"])
            )
            with released_custom_gradients(), upstream_noise():
                history = _engine.run(
                    trainer,
                    plan,
                    train_rows,
                    val_rows,
                    ordered,
                    how["seed"],
                    verbose=1 if how["verbose"] >= 2 else 0,
                )
            weights, state = trainer.weights(), trainer.optimizer_state()
        except BaseException:
            if snapshot is not None:
                _engine.assign_weights(model, snapshot[0])
                _engine.assign_optimizer_state(model, snapshot[1])
            raise
        finally:
            for cb in callbacks:
                cb.set_model(None)  # keep no reference to the trainer
            _engine.release(key, trainer)
        if trainer.model is model:
            weights = state = None  # already in the model
        _record_rates(history, ordered[-1])
        return history, weights, state, (early_exit, best)

    def _commit_function(
        self,
        *,
        warm,
        model,
        weights,
        data,
        meta,
        plan,
        history,
        rules,
        callbacks,
        compile_args,
        by_user,
        optimizer_state,
        units,
        reshape_to,
        extra,
    ):
        """The last step of a fit, as a function: everything it computes is
        done here, and the function only assigns."""
        early_exit, best = rules
        sample_shape = data["X"].shape[1:]
        model_shape = reshape_to or sample_shape
        chunk = _routing.predict_settings(extra).get("batch_size")
        if not warm:
            _install(model, compile_args, weights, optimizer_state)
        previous = {} if not warm else self.history_
        new = history.history
        merged = {k: list(v) for k, v in previous.items()}
        for key in new:
            merged.setdefault(key, []).extend(float(v) for v in new[key])
        n_iter = (self.n_iter_ if warm else 0) + len(history.epoch)
        fitted = {
            "model_": model,
            "classes_": data["encoder"].classes_,
            "input_shape_": tuple(sample_shape),
            "batch_size_": plan.batch_size,
            "gd_variant_": plan.gd_variant,
            "history_": merged,
            "n_iter_": n_iter,
            "best_epoch_": best.best_epoch_,
            "best_score_": best.best_score_,
            "stop_reason_": early_exit.stop_reason_,
            "callbacks_": callbacks,
            "_encoder": data["encoder"],
            "_compiled_by_user": by_user,
            "_plan": plan,
            "_architecture_": self._architecture(meta),
            "_reshape_to": reshape_to,
            "_from_logits": _compile.from_logits(compile_args["loss"]),
            "_units": units,
            "_predict_chunk": chunk,
            "_nan_epoch": early_exit.stopped_epoch_,
            **self._fitted_extra(model, meta),
        }
        predictor = None
        if not warm:
            predictor = _predict.make_predictor(model, model_shape, chunk)
        dense = _predict.is_dense_stack(model, model_shape)

        def commit():
            if warm:
                _install(self.model_, compile_args, weights, optimizer_state)
            vars(self).update(fitted)
            vars(self).pop("_optimizer_state", None)  # pickles of skdigits 0.2
            if predictor is not None:
                self._predictor = predictor
            elif dense:  # a NumPy predictor holds copies of the weights
                self._predictor = _predict.make_predictor(model, model_shape, chunk)

        return commit

    # -- predicting ------------------------------------------------------------------

    def predict_proba(self, X):
        """Class probabilities, columns ordered as ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples, as ``fit`` took them.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities; each row sums to 1.
        """
        check_is_fitted(self)
        X, _ = self._input_samples(X, reset=False)
        self._check_sample_shape(X)
        X = validate_data(self, X, reset=False, dtype=np.float32, allow_nd=True)
        if self._reshape_to is not None:
            X = X.reshape(len(X), *self._reshape_to)
        out = self._predictor(X)
        if self._units == 1:
            p = expit(out[:, 0]) if self._from_logits else out[:, 0]
            p = np.clip(p, 0.0, 1.0)
            return np.column_stack([1.0 - p, p])
        if self._from_logits:
            return softmax(out, axis=1)
        # Softmax outputs sum to 1 up to rounding; sigmoid outputs are
        # independent and normalised to a distribution.
        return out / out.sum(axis=1, keepdims=True)

    def predict(self, X):
        """The most probable class of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples, as ``fit`` took them.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        proba = self.predict_proba(X)  # first: it checks that we are fitted
        return self.classes_[np.argmax(proba, axis=1)]

    # -- exporting -----------------------------------------------------------------

    def export(self, path, format="onnx"):
        """Write the fitted model for runtimes without TensorFlow's Python.

        The exported model takes what ``predict_proba`` takes and returns
        the class probabilities, columns in the order of ``classes_``; the
        labels travel with it (see the user guide's "Deploying" page).
        Needs ``pip install 'skdigits[export]'``.

        Parameters
        ----------
        path : str or path
            The file (``.onnx``, ``.tflite``) or, for a SavedModel, the
            folder to write.
        format : {"onnx", "litert", "savedmodel"}, default="onnx"
            ONNX (onnxruntime, ONNX Runtime Web), LiteRT (TensorFlow Lite,
            for phones) or a TensorFlow SavedModel.

        Returns
        -------
        path : pathlib.Path
            Where the model was written.
        """
        check_is_fitted(self)
        from skdigits._export import export

        return export(self, path, format)

    # -- pickling ------------------------------------------------------------------

    def __getstate__(self):
        # The network travels as Keras's own .keras bytes, not as a live
        # object graph; the predictor is rebuilt from it on load. (The
        # parent returns the live __dict__: copy before changing.)
        state = dict(super().__getstate__())
        state.pop("_predictor", None)
        if "model_" in state:
            state["model_"], state["_model_modules"] = _saving.model_to_bytes(
                state["model_"]
            )
        # A network given as a parameter travels the same way (Keras's own
        # pickling of it warns under NumPy 2.4).
        given = {
            k: _saving.model_to_bytes(v)
            for k, v in state.items()
            if isinstance(v, keras.Model) and k != "model_"
        }
        if given:
            state = {k: v for k, v in state.items() if k not in given}
            state["_given_models"] = given
        return state

    def __setstate__(self, state):
        state = dict(state)
        for key, (data, modules) in state.pop("_given_models", {}).items():
            # Never trained: its optimizer holds no state.
            state[key] = _saving.model_from_bytes(data, modules, optimizer_state=False)
        if isinstance(state.get("model_"), bytes):
            model = _saving.model_from_bytes(
                state["model_"], state.get("_model_modules", ())
            )
            state = {**state, "model_": model}
        super().__setstate__(state)
        if "model_" in state:
            shape = self._reshape_to or self.input_shape_
            self._predictor = _predict.make_predictor(
                self.model_, shape, self._predict_chunk
            )
            # scikit-learn's first input check in a process has narwhals
            # look for dataframe plugins among the installed packages
            # (6-14 ms here); a loaded model pays it now, not in its first
            # prediction. (After fit, fit's own check has paid it.)
            check_array(np.zeros((1, *self.input_shape_), np.float32), allow_nd=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags


def _record_rates(history, report):
    """``history_``'s "learning_rate": the epochs' rates the report read,
    where no callback logged them (the logs stay as ``fit`` makes them)."""
    if "learning_rate" not in history.history:
        history.history["learning_rate"] = list(report.rates_)


def _keras_fit_reason(model, compile_args):
    """Why Keras's own ``fit`` must train ``model`` rather than the engine
    (its class overrides ``fit``, or it runs eagerly), or None."""
    if type(model).fit is not keras.Model.fit:
        return f"{type(model).__name__} overrides fit()"
    if compile_args.get("run_eagerly"):
        return "the model runs eagerly (run_eagerly=True)"
    return None


def _keras_fit(model, compile_args, plan, train, val, callbacks, how):
    """Train ``model`` in place with Keras's own ``fit``, as the plan says;
    the history, and None for weights and optimizer state (they are in the
    model). The rows are shuffled by a ``tf.data`` shuffle seeded from the
    fit's seed, so that a fit is reproducible without global seeds."""
    snapshot = None
    if how["warm"] and model.compiled:  # the fitted model: put back on failure
        snapshot = (
            [np.asarray(v.numpy()) for v in model.variables],
            [np.asarray(v.numpy()) for v in model.optimizer.variables],
        )
    else:
        model.compile(**_compile.fresh(compile_args))
    x, y, _, w = train
    data = tf.data.Dataset.from_tensor_slices((x, y, w) if how["weighted"] else (x, y))
    if how["seed"] is not None:
        data = data.shuffle(len(x), seed=how["seed"], reshuffle_each_iteration=True)
    validation = None
    if val is not None:
        validation = (val[0], val[1], val[3]) if how["weighted"] else val[:2]
    try:
        with released_custom_gradients(), upstream_noise():
            history = model.fit(
                data.batch(plan.batch_size),
                shuffle=False,  # shuffled above, seeded
                epochs=plan.epochs,
                initial_epoch=plan.initial_epoch,
                validation_data=validation,
                validation_batch_size=plan.validation_batch_size,
                callbacks=callbacks,
                verbose=1 if how["verbose"] >= 2 else 0,
            )
    except BaseException:
        if snapshot is not None:
            _engine.assign_weights(model, snapshot[0])
            _engine.assign_optimizer_state(model, snapshot[1])
        raise
    return history, None, None


def _optimizer_state_for(model, net):
    """The optimizer state of the fitted ``model`` when ``net``'s optimizer
    can carry on from it (the same class and variables), else None: a warm
    start continues training as a further ``model.fit`` would."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not model.compiled or not optimizer.built:
        return None
    target = net.optimizer
    if type(optimizer) is not type(target):
        return None
    shapes = [tuple(v.shape) for v in optimizer.variables]
    if shapes != [tuple(v.shape) for v in target.variables]:
        return None
    return [np.asarray(v.numpy()) for v in optimizer.variables]


def _install(model, compile_args, weights, optimizer_state):
    """Make ``model`` the trained model: compiled as it was trained, with the
    trained ``weights`` and ``optimizer_state`` (None where it trained
    itself and has them)."""
    if weights is None:
        if not model.compiled:  # initialize(): nothing trained it
            model.compile(**_compile.fresh(compile_args))
            # Built, as after a fit: a saved copy then loads with its
            # optimizer's variables (Keras warns where they are missing).
            model.optimizer.build(model.trainable_variables)
        return
    model.compile(**_compile.fresh(compile_args))
    _engine.assign_weights(model, weights)
    _engine.assign_optimizer_state(model, optimizer_state)


class PresetClassifier(KerasClassifier):
    """A ``KerasClassifier`` whose network one of skdigits's builders makes.

    A preset names the builder (``_builder``) and what its parameters give
    it (``_builder_arguments``); everything else is ``KerasClassifier``'s.
    Its constructor lists its own parameters instead of ``model``.
    """

    _parameter_constraints: dict = {
        **{
            k: v
            for k, v in KerasClassifier._parameter_constraints.items()
            if k not in ("model", "metrics")
        },
        "optimizer": [str, type],
        "loss": [StrOptions({"crossentropy", "mse"})],
    }
    # The named sets of parameters that ``from_preset`` knows.
    _presets: dict = {}
    _builder = None
    # Measured defaults (see _tuning): validation in large chunks, at least
    # AUTO_EPOCHS_MIN epochs for "auto", and None for batch GD.
    _validation_batch_size = _tuning.PREDICT_CHUNK
    _min_auto_epochs = None
    _none_batch_size = None

    @classmethod
    def from_preset(cls, name, **params):
        """An estimator with a named preset's parameters; ``params`` override.

        The MLP presets are ``MLP_PRESETS`` ("default", "4LS", "3LS",
        "2LR"), the CNN presets ``CNN_PRESETS`` ("default", "zoo",
        "bn-shift"); "default" gives the estimator's own defaults.

        Examples
        --------
        >>> from skdigits import KerasCNNClassifier, KerasMLPClassifier
        >>> KerasMLPClassifier.from_preset("3LS").hidden_layer_sizes
        (60, 60)
        >>> KerasCNNClassifier.from_preset("bn-shift", epochs=5).batch_norm
        True
        """
        if name not in cls._presets:
            raise ValueError(
                f"unknown {cls.__name__} preset {name!r}; "
                f"use one of {sorted(cls._presets)}"
            )
        return cls(**{**cls._presets[name], **params})

    def _builder_arguments(self, meta):  # pragma: no cover - presets define it
        raise NotImplementedError

    def _build(self, meta, compile_kwargs, seed):
        extra = self._extra()
        unknown = sorted(
            k
            for k in extra
            if not _routing.is_routed(k) and k not in _routing.BARE_FIT_SETTINGS
        )
        unknown += sorted(f"model__{k}" for k in _routing.routed(extra, "model"))
        if unknown:
            raise ValueError(
                f"{unknown[0]} is not a parameter of {type(self).__name__}"
            )
        with upstream_noise():
            return self._builder(**self._builder_arguments(meta), seed=seed)

    def _architecture(self, meta):
        return repr(sorted(self._builder_arguments(meta).items()))
