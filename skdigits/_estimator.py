"""``KerasEstimator``: what every kind of skdigits estimator shares.

A fit is five named steps, each handing plain data to the next:
``_fit_data`` (the validated samples and targets, one ``FitData``),
``_compiled_network`` (the model and what it compiles with),
``_fit_setup`` (every decision of the fit, made once and checked for
conflicts before anything trains: a frozen ``FitSetup``), training
(``_training.train``), and ``_commit_function`` (the fitted attributes,
assigned all at once). The kinds (classifier, regressor, transformer) add
their target handling and the meaning of the model's output through the
hooks in the section "the kind's hooks".
"""

import dataclasses
import os
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from skdigits import (
    _compile,
    _data,
    _engine,
    _plan,
    _predict,
    _routing,
    _threads,
    _training,
    _tuning,
)
from skdigits._backend import keras, tf
from skdigits._building import NetworkBuilding
from skdigits._compat import (
    Interval,
    Options,
    StrOptions,
    _check_sample_weight,
    _fit_context,
)
from skdigits._parameters import RoutedParameters
from skdigits._pickling import KerasPickling


@dataclasses.dataclass(frozen=True)
class FitSetup:
    """Every decision of one fit, made before anything trains.

    ``rows`` is ``(train, val)``, each ``(X, Y, weights)`` in the model's
    input shape and the loss's target form (val None where nothing is
    monitored); ``reshape_to`` the model's sample shape where the data's
    differs; ``units`` the model's output units (None where they are not
    one axis); ``how`` the engine's settings (``seed``, ``verbose``,
    ``warm``, ``partial``, ``weighted``).
    """

    plan: _plan.FitPlan
    rules: _training.Rules
    rows: tuple
    callbacks: list
    reshape_to: tuple | None
    units: int | None
    how: dict


def _monitors_validation(callbacks):
    """Whether a callback watches a validation metric (``val_...``)."""
    return any(str(getattr(cb, "monitor", "")).startswith("val_") for cb in callbacks)


class KerasEstimator(RoutedParameters, NetworkBuilding, KerasPickling, BaseEstimator):
    """The shared base of skdigits's estimators (not to be used directly).

    See :class:`KerasClassifier`, :class:`KerasRegressor` and
    :class:`KerasTransformer` for the parameters.
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
        "restore_best_weights": ["boolean"],
        "checkpoint_path": [str, os.PathLike, None],
        "jit_compile": ["boolean", StrOptions({"auto"})],
    }

    # The rows per validation batch where no setting gives one: None is
    # Keras's (the training batch size); presets score in larger chunks.
    _validation_batch_size = None
    # epochs="auto"'s floor (None: _tuning.AUTO_EPOCHS_MIN, the presets').
    _min_auto_epochs = _tuning.GENERAL_AUTO_EPOCHS_MIN
    # The gradient steps epochs="auto" aims at (None: _tuning.AUTO_STEPS).
    _auto_steps = None
    # What batch_size=None means: Keras's 32 here, batch GD in the presets.
    _none_batch_size = _tuning.KERAS_BATCH_SIZE

    # -- the kind's hooks (classifier, regressor, transformer) -------------

    # validate_data's y_numeric; the logged metric the rules watch where the
    # compiled metrics have it (else the loss).
    _y_numeric = True
    _score_metric = None

    def _fit_targets(self, y, X, *, warm, classes, weights):
        """``(y, fitted, meta)``: the targets as the kind encodes them, the
        kind's fitted attributes, and its part of ``meta``."""
        raise NotImplementedError

    def _encode_targets(self, y, fitted):
        """Further targets (validation data) as ``fitted`` encodes them."""
        raise NotImplementedError

    def _target_weights(self, y, settings):
        """Weights the targets add (class weights), or None."""
        return None

    def _stratify(self, y):
        """What a hold-out is stratified by, or None."""
        return None

    def _make_loss(self, params, model, data):
        """The loss the ``loss`` parameter names, for ``model``."""
        return _compile.make_loss(
            self.loss,
            params,
            _compile.output_activation(model),
            _compile.output_units(model),
        )

    def _added_metrics(self, compile_args, model, data):
        """Weighted metrics skdigits compiles beside the user's."""
        return []

    def _check_outputs(self, model, compile_args, data):
        """A clear error where the model's outputs do not fit the targets;
        the output units (or None)."""
        raise NotImplementedError

    def _loss_targets(self, y, compile_args, units):
        """The encoded targets in the form the loss takes."""
        raise NotImplementedError

    def _predicting_model(self, model):
        """The model whose outputs ``_outputs`` returns."""
        return model

    def _fitted_extra(self, model, meta):
        """Fitted attributes a preset adds (a hook)."""
        return {}

    # -- fitting -----------------------------------------------------------

    def _fit(self, X, y, sample_weight, **how):
        # Fitted state is all or nothing: whatever the steps set before
        # failing (scikit-learn's validation sets n_features_in_ at once) is
        # put back, and the network is only written in the final commit.
        before = {
            k: v for k, v in vars(self).items() if k.endswith("_") or k.startswith("_")
        }
        try:
            commit = self._fit_steps(X, y, sample_weight, **how)
            with _training.uninterrupted():
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
        _threads.apply(tf)  # a no-op unless a Dask worker started after import
        extra = self._extra()
        settings = self._fit_settings(extra)
        data = self._fit_data(X, y, sample_weight, settings, warm=warm, classes=classes)
        if validation_data is not None:
            data.validation = self._validation_pair(validation_data, data)
        seeds = [
            int(s)
            for s in check_random_state(self.random_state).randint(0, 2**31 - 1, size=3)
        ]
        model = self._network(data.meta, data.sample_shape, extra, seeds[0], warm)
        compile_args, by_user = self._compile_settings(model, extra, data, warm)
        if settings.get("run_eagerly") is not None:
            compile_args["run_eagerly"] = bool(settings["run_eagerly"])
        setup = self._fit_setup(
            model, compile_args, data, settings, extra, seeds, warm, partial, train
        )
        if train:
            trained = _training.train(
                model,
                compile_args,
                setup.plan,
                setup.rows,
                setup.rules,
                setup.callbacks,
                setup.how,
            )
        else:
            trained = _training.untrained(setup.rules, setup.plan)
        return self._commit_function(
            model, compile_args, by_user, data, setup, trained, extra, warm
        )

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
                "class_weight": getattr(self, "class_weight", None),
                "callbacks": self.callbacks,
                "validation_batch_size": self._validation_batch_size,
                "steps_per_execution": "auto",
            },
            extra,
        )

    def _fit_data(self, X, y, sample_weight, settings, *, warm, classes):
        """The validated samples, the targets as the kind encodes them, the
        weights and ``meta``: one ``FitData``."""
        X, found = self._input_samples(X, reset=not warm)
        if warm:
            self._check_sample_shape(X)
        X, y = _data.validate_samples(
            self, X, y, reset=not warm, y_numeric=self._y_numeric
        )
        weights = _check_sample_weight(
            sample_weight, X, dtype=np.float32, ensure_non_negative=True
        )
        if not np.any(weights > 0):
            raise ValueError(
                "Sample weights must contain at least one non-zero number."
            )
        target_weights = self._target_weights(y, settings)
        if target_weights is not None:
            weights = weights * target_weights
        encoded, fitted, kind_meta = self._fit_targets(
            y, X, warm=warm, classes=classes, weights=weights
        )
        meta = {
            "n_features_in_": X.shape[1],
            "X_shape_": X.shape,
            "X_dtype_": X.dtype,
            "y_dtype_": None if y is None else np.asarray(y).dtype,
            **kind_meta,
            **found,
        }
        return _data.FitData(
            X=X,
            y=encoded,
            weights=weights,
            # Keras's train_step gets (x, y) without weights, (x, y, w) with.
            weighted=sample_weight is not None or target_weights is not None,
            meta=meta,
            fitted=fitted,
            stratify=self._stratify(encoded),
        )

    def _validation_pair(self, validation_data, data):
        """``validation_data`` validated and encoded as this fit's data."""
        if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
            raise ValueError("validation_data must be a tuple (X_val, y_val)")
        X_val, y_val = validation_data
        X_val, _ = self._input_samples(X_val, reset=False)
        X_val, y_val = _data.validate_samples(
            self, X_val, y_val, reset=False, y_numeric=self._y_numeric
        )
        return X_val, self._encode_targets(y_val, data.fitted, X_val)

    def _check_sample_shape(self, X):
        """A clear error for samples (images, sequences) of another shape
        than the fitted ones; rows are checked by scikit-learn."""
        shape = getattr(X, "shape", None)
        if shape is not None and len(shape) > 2 and shape[1:] != self.input_shape_:
            raise ValueError(
                f"X has samples of shape {tuple(shape[1:])}, but the estimator "
                f"was fitted on samples of shape {self.input_shape_}"
            )

    def _fit_setup(
        self, model, compile_args, data, settings, extra, seeds, warm, partial, train
    ):
        """Every decision of the fit, its conflicts checked: a ``FitSetup``."""
        units = self._check_outputs(model, compile_args, data)
        X, reshape_to = _data.model_input(model, data.X)
        # partial_fit carries on with the callbacks of the earlier calls; a
        # fit (warm or not) starts from copies of the parameter's.
        if partial and warm:
            callbacks = self.callbacks_
        else:
            callbacks = _compile.make_callbacks(
                settings["callbacks"], _routing.routed(extra, "callbacks")
            )
        targets = self._loss_targets(data.y, compile_args, units)
        rows = self._rows(
            (X, targets, data.weights),
            data,
            settings,
            compile_args,
            units,
            reshape_to,
            wanted=_monitors_validation(callbacks) and train,
            hold_out=not partial and train,
            seed=seeds[1],
        )
        monitor = self._monitor(compile_args, rows[1] is not None, partial or not train)
        plan = self._make_plan(
            model, compile_args, settings, rows[0][0], data, warm, partial
        )
        how = {
            "seed": seeds[2] if settings.get("shuffle", True) else None,
            "verbose": int(settings["verbose"]),
            "warm": warm,
            "partial": partial,
            "weighted": data.weighted,
        }
        return FitSetup(
            plan,
            self._rules(monitor),
            rows,
            callbacks if train else [],
            reshape_to,
            units,
            how,
        )

    def _rows(
        self,
        arrays,
        data,
        settings,
        compile_args,
        units,
        reshape_to,
        *,
        wanted,
        hold_out,
        seed,
    ):
        """The training and validation rows, ``(X, Y, weights)`` each."""
        if data.validation is not None:
            X_val, y_val = data.validation
            X_val = _data.model_input_like(X_val, reshape_to)
            val = (
                X_val,
                self._loss_targets(y_val, compile_args, units),
                np.ones(X_val.shape[0], np.float32),
            )
            return arrays, val
        if not hold_out:
            return arrays, None
        keep, held = _data.hold_out(
            data.n_samples,
            stratify=data.stratify,
            fraction=self.validation_fraction,
            split=settings.get("validation_split"),
            wanted=wanted,
            rules=self._rules("loss").any_on,
            seed=seed,
        )
        if held is None:
            return arrays, None
        return _data.rows(arrays, keep), _data.rows(arrays, held)

    def _rules(self, monitor):
        return _training.Rules(
            monitor=monitor,
            lr_patience=self.lr_patience,
            lr_factor=self.lr_factor,
            min_lr=self.min_lr,
            patience=self.patience,
            target=getattr(self, "target_accuracy", None),
            restore_best_weights=self.restore_best_weights,
            checkpoint_path=self.checkpoint_path,
        )

    def _make_plan(self, model, compile_args, settings, X_model, data, warm, partial):
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
            reason = _training.keras_fit_reason(model, compile_args)
            if reason is not None:
                raise ValueError(
                    f"lr_schedule needs skdigits's engine, but {reason}, so "
                    "Keras's own fit trains it: set lr_schedule=None (or use a "
                    "Keras LearningRateScheduler callback)"
                )
        steps_per_execution = settings.get("steps_per_execution", "auto")
        if steps_per_execution != "auto" and not (
            isinstance(steps_per_execution, Integral) and steps_per_execution >= 1
        ):
            raise ValueError(
                "steps_per_execution must be 'auto' or an integer >= 1, got "
                f"{steps_per_execution!r}"
            )
        sparse = _data.is_sparse(data.X)
        if sparse and self.jit_compile is True:
            raise ValueError(
                "jit_compile=True cannot train on sparse X (XLA needs dense "
                "batches of static shapes): set jit_compile='auto' or False"
            )
        return _plan.make_plan(
            batch_size=settings["batch_size"],
            epochs=1 if partial else settings["epochs"],
            n_samples=X_model.shape[0],
            initial_epoch=self.n_iter_ if warm else 0,
            dense_stack=_predict.is_dense_stack(model, X_model.shape[1:]),
            jit=False if sparse else self.jit_compile,
            lr_schedule=self.lr_schedule,
            peak_lr=peak,
            steps_per_execution=steps_per_execution,
            validation_batch_size=settings.get("validation_batch_size"),
            min_auto_epochs=self._min_auto_epochs,
            auto_steps=self._auto_steps,
        )

    def _monitor(self, compile_args, validation, partial):
        """What the training rules watch: the kind's score where the
        compiled metrics log it, else the loss (``val_`` with validation)."""
        score = self._score_metric
        logged = score is not None and score in _compile.metric_names(compile_args)
        if (
            not logged
            and getattr(self, "target_accuracy", None) is not None
            and not partial
        ):
            raise ValueError(
                "target_accuracy needs the accuracy in the logs, but the "
                "model's compiled metrics have none: compile it with "
                "metrics=['accuracy']"
            )
        name = score if logged else "loss"
        return f"val_{name}" if validation else name

    def _commit_function(
        self, model, compile_args, by_user, data, setup, trained, extra, warm
    ):
        """The last step of a fit, as a function: everything it computes is
        done here, and the function only assigns."""
        model_shape = setup.reshape_to or data.sample_shape
        chunk = _routing.predict_settings(extra).get("batch_size")
        if not warm:
            _training.install(
                model, compile_args, trained.weights, trained.optimizer_state
            )
        merged = {k: list(v) for k, v in (self.history_ if warm else {}).items()}
        for key, values in trained.history.history.items():
            merged.setdefault(key, []).extend(float(v) for v in values)
        fitted = {
            "model_": model,
            **data.fitted,
            "input_shape_": data.sample_shape,
            "batch_size_": setup.plan.batch_size,
            "gd_variant_": setup.plan.gd_variant,
            "history_": merged,
            "n_iter_": (self.n_iter_ if warm else 0) + len(trained.history.epoch),
            "best_epoch_": trained.best.best_epoch_,
            "best_score_": trained.best.best_score_,
            "stop_reason_": trained.early_exit.stop_reason_,
            "callbacks_": trained.callbacks,
            "_compiled_by_user": by_user,
            "_plan": setup.plan,
            "_architecture_": self._architecture(data.meta),
            "_reshape_to": setup.reshape_to,
            "_from_logits": _compile.from_logits(compile_args["loss"]),
            "_units": setup.units,
            "_predict_chunk": chunk,
            "_nan_epoch": trained.early_exit.stopped_epoch_,
            **self._fitted_extra(model, data.meta),
        }
        dense = _predict.is_dense_stack(model, model_shape)

        def make_predictor():
            return _predict.make_predictor(
                self._predicting_model(model), model_shape, chunk
            )

        predictor = None if warm else make_predictor()

        def commit():
            if warm:
                _training.install(
                    self.model_, compile_args, trained.weights, trained.optimizer_state
                )
            vars(self).update(fitted)
            vars(self).pop("_optimizer_state", None)  # pickles of skdigits 0.2
            if predictor is not None:
                self._predictor = predictor
            elif dense:  # a NumPy predictor holds copies of the weights
                self._predictor = make_predictor()

        return commit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, validation_data=None):
        """Train the network with the training rules.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, ...)
            Samples: rows of features (a DataFrame, a CSR or CSC matrix
            too), or arrays of the shape the model takes.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the loss and the metrics.
        validation_data : tuple (X_val, y_val), default=None
            Data to monitor instead of a hold-out of ``validation_fraction``.

        Returns
        -------
        self : object
            The fitted estimator.
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

    def _partial_fit(self, X, y, sample_weight, classes=None):
        return self._fit(
            X,
            y,
            sample_weight,
            warm=hasattr(self, "model_"),
            partial=True,
            classes=classes,
            validation_data=None,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train one more epoch on ``X, y``, without re-initialising.

        The training rules other than the NaN stop are off, all of ``X`` is
        trained on, and the optimizer carries on from its last state.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, ...)
            Samples.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples.

        Returns
        -------
        self : object
            The estimator.
        """
        return self._partial_fit(X, y, sample_weight)

    def initialize(self, X, y=None):
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
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets, as ``fit`` takes them (for a classifier: every class
            the model predicts).

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

    # -- predicting ----------------------------------------------------------

    def _outputs(self, X):
        """The predicting model's outputs for ``X`` (float64, 2-D)."""
        check_is_fitted(self)
        X, _ = self._input_samples(X, reset=False)
        self._check_sample_shape(X)
        X, _ = _data.validate_samples(self, X, reset=False)
        return self._predictor(_data.model_input_like(X, self._reshape_to))

    def export(self, path, format="onnx"):
        """Write the fitted model for runtimes without TensorFlow's Python.

        The exported model takes what ``predict`` takes and returns what
        the kind's predictions are made of (a classifier's class
        probabilities, columns in the order of ``classes_``; a regressor's
        values); the labels travel with it (see the user guide's
        "Deploying" page). Needs ``pip install 'skdigits[export]'``.

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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        tags.input_tags.sparse = True
        return tags
