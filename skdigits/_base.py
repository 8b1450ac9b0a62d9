"""The shared scikit-learn estimator around a Keras classifier."""

import copy
import os
import warnings
from abc import abstractmethod
from numbers import Integral, Real

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from skdigits import _epoch, _reuse, _saving, _training, _tuning
from skdigits._backend import keras
from skdigits._compat import (
    Interval,
    Options,
    StrOptions,
    _check_sample_weight,
    _fit_context,
    released_custom_gradients,
)
from skdigits._quiet import upstream_noise
from skdigits.callbacks import BestModel, EarlyExit, EpochReport, LearningRateDrop

HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")


def _normalise(scores):
    return scores / scores.sum(axis=1, keepdims=True)


def _encode(encoder, y):
    """Class indices of ``y``; a clear error for labels never seen."""
    try:
        return encoder.transform(y).astype(np.int64)
    except ValueError as exc:
        raise ValueError(
            f"y has labels that are not among the classes {encoder.classes_!r}: {exc}"
        ) from None


class BaseKerasClassifier(ClassifierMixin, BaseEstimator):
    """Base class of the Keras digit classifiers; do not use it directly.

    Subclasses name the network to build (``_model_spec``), how to predict
    (``_make_predictor``) and how they train (``_engine``), and may reshape
    their input (``_as_rows``). Everything else is shared: validation, the
    fit plan (``_training.make_plan``), training a cached compiled trainer
    (``_reuse``) under the training rules, and pickling.
    """

    _parameter_constraints: dict = {
        "optimizer": [str, type],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "loss": [StrOptions({"crossentropy", "mse"})],
        "batch_size": [
            Interval(Integral, 1, None, closed="left"),
            Options(Integral, {-1}),
            StrOptions({"auto"}),
            None,
        ],
        "epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, tuple, None],
        "validation_fraction": [
            Interval(Real, 0, 1, closed="left"),
            StrOptions({"auto"}),
        ],
        "lr_patience": [Interval(Integral, 1, None, closed="left"), None],
        "lr_factor": [Interval(Real, 0, 1, closed="neither")],
        "min_lr": [Interval(Real, 0, None, closed="left")],
        "patience": [Interval(Integral, 1, None, closed="left"), None],
        "target_accuracy": [Interval(Real, 0, 1, closed="right"), None],
        "restore_best_weights": ["boolean"],
        "checkpoint_path": [str, os.PathLike, None],
    }

    @abstractmethod
    def __init__(
        self,
        *,
        optimizer,
        learning_rate,
        loss,
        batch_size,
        epochs,
        warm_start,
        random_state,
        verbose,
        callbacks,
        validation_fraction,
        lr_patience,
        lr_factor,
        min_lr,
        patience,
        target_accuracy,
        restore_best_weights,
        checkpoint_path,
    ):
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.loss = loss
        self.batch_size = batch_size
        self.epochs = epochs
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.validation_fraction = validation_fraction
        self.lr_patience = lr_patience
        self.lr_factor = lr_factor
        self.min_lr = min_lr
        self.patience = patience
        self.target_accuracy = target_accuracy
        self.restore_best_weights = restore_best_weights
        self.checkpoint_path = checkpoint_path

    # The named sets of parameters that ``from_preset`` knows.
    _presets: dict = {}

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

    # -- what subclasses provide ------------------------------------------

    # "epoch" (one compiled call per epoch, see _epoch) or "keras" (Keras's
    # own loop over batches); see _training.make_plan.
    _engine = "keras"

    @abstractmethod
    def _model_spec(self, n_features, n_classes, image_shape):
        """The builder and its arguments (all but ``seed``) for this fit.

        ``image_shape`` is the shape of 3-D or 4-D input, else None. The
        pair is also the architecture's key for reusing compiled trainers.
        """

    def _build_model(self, n_features, n_classes, seed, image_shape=None):
        """A new, seeded, uncompiled network for this estimator's parameters."""
        builder, kwargs = self._model_spec(n_features, n_classes, image_shape)
        return builder(**kwargs, seed=seed)

    def _as_rows(self, X, *, reset):
        """Rows of features from the accepted layouts, and the image shape.

        The shape is that of image input (3-D or 4-D), else None.
        """
        return X, None

    def _output_activation(self):
        return "softmax"

    def _set_architecture(self, kwargs):
        """Record fitted attributes that describe the built model."""

    @abstractmethod
    def _make_predictor(self):
        """A function from float rows to logits, for ``predict_proba``."""

    # -- fitting -----------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, validation_data=None):
        """Train the network with the training rules.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows of pixels.
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
        reuse = self.warm_start and hasattr(self, "model_")
        return self._fit(
            X,
            y,
            sample_weight=sample_weight,
            validation_data=validation_data,
            reuse=reuse,
            epochs=self.epochs,
            rules=True,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train one more epoch on ``X, y``, without re-initialising.

        The training rules other than the NaN stop are off, all of ``X`` is
        trained on, and the optimizer carries on from its last state.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows of pixels.
        y : array-like of shape (n_samples,)
            Class labels.
        classes : array-like of shape (n_classes,), default=None
            Every class; required on the first call.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples.

        Returns
        -------
        self : object
            The estimator.
        """
        reuse = hasattr(self, "model_")
        if not reuse and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit")
        return self._fit(
            X,
            y,
            sample_weight=sample_weight,
            classes=classes,
            reuse=reuse,
            epochs=1,
            rules=False,
        )

    def _fit(
        self,
        X,
        y,
        *,
        sample_weight,
        reuse,
        epochs,
        rules,
        classes=None,
        validation_data=None,
    ):
        X, image_shape = self._as_rows(X, reset=not reuse)
        X, y = validate_data(self, X, y, reset=not reuse, dtype=np.float32)
        check_classification_targets(y)
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float32, ensure_non_negative=True
        )
        if reuse:
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
        if not np.any(sample_weight > 0):
            raise ValueError(
                "Sample weights must contain at least one non-zero number."
            )
        y_idx = _encode(encoder, y)
        present = np.unique(y_idx[sample_weight > 0])
        if not reuse and classes is None and len(present) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least two classes "
                "with positive sample weight; got one class: "
                f"{encoder.classes_[present]}"
            )
        if len(encoder.classes_) < 2:
            raise ValueError(
                f"classes must hold at least two classes, got {encoder.classes_!r}"
            )

        _training.honour_thread_limit()
        rng = check_random_state(self.random_state)
        init_seed, split_seed, shuffle_seed = rng.randint(0, 2**31 - 1, size=3)
        val = None
        if validation_data is not None:
            val = self._validation_arrays(validation_data, encoder)
        elif rules:
            fraction = _training.resolve_validation_fraction(
                self.validation_fraction, len(X)
            )
            if fraction > 0:
                X, y_idx, sample_weight, val = self._hold_out(
                    X, y_idx, sample_weight, fraction, split_seed
                )
        plan = _training.make_plan(self._engine, self.batch_size, epochs, len(X))
        # Everything that can reject the input or the parameters runs before
        # any state changes, so that a failed fit leaves no half-fitted model.
        optimizer = _training.optimizer_class(self.optimizer)
        loss = _training.make_loss(self.loss, self._output_activation())
        if reuse:
            builder, kwargs = self._spec_
            model = self.model_
        else:
            callbacks = self._copy_user_callbacks()
            builder, kwargs = self._model_spec(
                X.shape[1], len(encoder.classes_), image_shape
            )
            model = builder(**kwargs, seed=int(init_seed))
        # partial_fit carries on with the optimizer's state; fit (a new
        # model, or a warm start) starts a fresh optimizer, as scikit-learn.
        state = None
        if reuse and not rules:
            saved_class, saved = self._optimizer_state
            state = saved if saved_class == optimizer.__name__ else None
        key, trainer = self._trainer(plan, builder, kwargs, optimizer, loss, val)
        try:
            if not reuse:
                self.model_, self.callbacks_, self.history_, self.n_iter_ = (
                    model,
                    callbacks,
                    {},
                    0,
                )
                self._spec_ = (builder, kwargs)
                self._set_architecture(kwargs)
            self._encoder, self.classes_ = encoder, encoder.classes_
            self.batch_size_, self.gd_variant_ = plan.batch_size, plan.gd_variant
            self._plan = plan
            trainer.load(model, state, self.learning_rate)
            self._train(
                trainer, plan, X, y_idx, sample_weight, val, rules, shuffle_seed
            )
            self._optimizer_state = (optimizer.__name__, trainer.store(model))
        finally:
            _reuse.release(key, trainer)
        self._predictor = self._make_predictor()
        return self

    def _trainer(self, plan, builder, kwargs, optimizer, loss, val):
        """A compiled trainer for this plan and architecture (see _reuse)."""
        validate = val is not None
        key = (
            builder.__qualname__,
            repr(sorted(kwargs.items())),
            optimizer,
            repr(loss.get_config()),
            plan.engine,
            plan.batch_size if plan.engine == "epoch" else None,
            plan.jit_compile,
            plan.steps_per_execution,
            validate,
        )

        def build():
            net = builder(**kwargs, seed=0)
            net_optimizer = optimizer(learning_rate=self.learning_rate)
            if plan.engine == "epoch":
                # The epoch function applies the loss itself (see _epoch).
                net.compile(optimizer=net_optimizer)
                train_epoch = _epoch.epoch_function(
                    net, loss, plan.batch_size, validate, plan.jit_compile
                )
                return _reuse.Trainer(net, train_epoch)
            net.compile(
                optimizer=net_optimizer,
                loss=loss,
                # Weighted: Keras's plain `metrics` ignore sample weights.
                weighted_metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
                jit_compile=plan.jit_compile,
                steps_per_execution=plan.steps_per_execution,
            )
            return _reuse.Trainer(net)

        return key, _reuse.acquire(key, build)

    def _one_hot(self, y_idx):
        return np.eye(len(self.classes_), dtype=np.float32)[y_idx]

    def _copy_user_callbacks(self):
        # Fit on copies: the parameter itself must not change (it would hold
        # the model after fit and no longer clone or pickle cleanly).
        callbacks = list(self.callbacks or ())
        for cb in callbacks:
            if not isinstance(cb, keras.callbacks.Callback):
                raise TypeError(
                    "callbacks must hold keras.callbacks.Callback instances, "
                    f"got {cb!r}"
                )
        return copy.deepcopy(callbacks)

    def _validation_arrays(self, validation_data, encoder):
        if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
            raise ValueError("validation_data must be a tuple (X_val, y_val)")
        X_val, y_val = validation_data
        X_val, _ = self._as_rows(X_val, reset=False)
        X_val, y_val = validate_data(self, X_val, y_val, reset=False, dtype=np.float32)
        y_val = _encode(encoder, y_val)
        return X_val, y_val, np.ones(len(X_val), dtype=np.float32)

    def _hold_out(self, X, y_idx, sample_weight, fraction, seed):
        """Split off a stratified, shuffled, seeded validation set."""
        try:
            train, val = train_test_split(
                np.arange(len(X)),
                test_size=fraction,
                stratify=y_idx,
                random_state=seed,
            )
        except ValueError as exc:
            warnings.warn(
                f"validation_fraction={self.validation_fraction} cannot hold out "
                f"a stratified validation set from {len(X)} samples ({exc}); "
                "monitoring the training accuracy instead.",
                UserWarning,
                stacklevel=4,
            )
            return X, y_idx, sample_weight, None
        val_arrays = (X[val], y_idx[val], sample_weight[val])
        return X[train], y_idx[train], sample_weight[train], val_arrays

    def _rule_callbacks(self, monitor, rules, total_epochs):
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
            verbose=self.verbose,
        )
        # The report reads the rules' state of the epoch: it comes last.
        ordered = [lr_drop, early_exit, best, report]
        return [cb for cb in ordered if cb is not None], early_exit, best

    def _train(self, trainer, plan, X, y_idx, sample_weight, val, rules, seed):
        arrays = (X, self._one_hot(y_idx), sample_weight)
        if val is not None:
            X_val, y_val, w_val = val
            val = (X_val, self._one_hot(y_val), w_val)
        start = self.n_iter_
        epochs = range(start, start + plan.epochs)
        monitor = "accuracy" if val is None else "val_accuracy"
        ours, early_exit, best = self._rule_callbacks(monitor, rules, epochs.stop)
        callbacks = ours + self.callbacks_
        verbose = 1 if self.verbose >= 2 else 0
        with released_custom_gradients(), upstream_noise():
            if plan.engine == "epoch":
                inputs, rows = _epoch.epoch_inputs(arrays, val, plan.batch_size)
                orders = (_epoch.epoch_order(len(X), rows, seed, e) for e in epochs)
                history = _epoch.run_epochs(
                    trainer.model,
                    trainer.train_epoch,
                    inputs,
                    orders,
                    epochs,
                    callbacks,
                    verbose,
                )
            else:
                history = trainer.model.fit(
                    _training.make_dataset(arrays, plan.batch_size, seed),
                    validation_data=(
                        None
                        if val is None
                        else _training.make_dataset(val, _tuning.PREDICT_CHUNK)
                    ),
                    initial_epoch=start,
                    epochs=epochs.stop,
                    steps_per_epoch=plan.steps_per_epoch,
                    callbacks=callbacks,
                    shuffle=False,  # the dataset shuffles itself, seeded
                    verbose=verbose,
                )
        for cb in self.callbacks_:
            cb.set_model(None)  # keep no reference to the shared trainer
        for key in HISTORY_KEYS:
            if key in history.history:
                self.history_.setdefault(key, []).extend(
                    float(v) for v in history.history[key]
                )
        self.n_iter_ = start + len(history.epoch)
        self.best_epoch_ = best.best_epoch_
        self.best_score_ = best.best_score_
        self.stop_reason_ = early_exit.stop_reason_
        if self.stop_reason_ == "nan":
            warnings.warn(
                f"training stopped at epoch {early_exit.stopped_epoch_}: the loss "
                "became NaN or infinite, and the last good weights were restored. "
                "Try a lower learning_rate.",
                RuntimeWarning,
                stacklevel=4,
            )

    # -- predicting --------------------------------------------------------

    def predict_proba(self, X):
        """Class probabilities, columns ordered as ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows of pixels.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities; each row sums to 1.
        """
        check_is_fitted(self)
        X, _ = self._as_rows(X, reset=False)
        X = validate_data(self, X, reset=False, dtype=np.float32)
        logits = self._predictor(X).astype(np.float64, copy=False)
        if self._output_activation() == "sigmoid":
            # Independent sigmoid outputs, normalised to a distribution.
            return _normalise(expit(logits))
        return softmax(logits, axis=1)

    def predict(self, X):
        """The most probable class of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows of pixels.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        proba = self.predict_proba(X)  # first: it checks that we are fitted
        return self.classes_[np.argmax(proba, axis=1)]

    # -- pickling ----------------------------------------------------------

    def __getstate__(self):
        # The network travels as Keras's own .keras bytes, not as a live
        # object graph; the predictor is rebuilt from it on load. (The
        # parent returns the live __dict__: copy before changing.)
        state = dict(super().__getstate__())
        state.pop("_predictor", None)
        if "model_" in state:
            state["model_"] = _saving.model_to_bytes(state["model_"])
        return state

    def __setstate__(self, state):
        if isinstance(state.get("model_"), bytes):
            state = {**state, "model_": _saving.model_from_bytes(state["model_"])}
        super().__setstate__(state)
        if "model_" in state:
            self._predictor = self._make_predictor()
            # scikit-learn's first input check in a process has narwhals
            # look for dataframe plugins among the installed packages
            # (6-14 ms here); a loaded model pays it now, not in its first
            # prediction. (After fit, fit's own check has paid it.)
            check_array(np.zeros((1, self.n_features_in_), np.float32))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags
