"""``KerasClassifier``: any Keras classifier, trained the skdigits way.

The classifier's part of a fit: class labels (binary, multiclass) or a
multilabel indicator matrix as targets, the output units they need, the
cross-entropy and accuracy that fit them, and probabilities out.
"""

import json
from numbers import Real

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d

from skdigits import _compile, _tuning
from skdigits._compat import Interval, StrOptions, _fit_context
from skdigits._estimator import KerasEstimator
from skdigits._preset import Preset, preset_constraints


def _sigmoid_layer(name):
    from skdigits._backend import keras

    return keras.layers.Activation("sigmoid", name=name)


HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")
MULTILABEL = "multilabel-indicator"


def _encode(encoder, y):
    """Class indices of ``y``; a clear error for labels never seen."""
    try:
        return encoder.transform(y).astype(np.int64)
    except ValueError as exc:
        raise ValueError(
            f"y has labels that are not among the classes {encoder.classes_!r}: {exc}"
        ) from None


def _labels(y):
    """``y`` as one column of labels, or the indicator matrix it is."""
    if y.ndim == 2 and y.shape[1] == 1:
        return column_or_1d(y, warn=True)
    if y.ndim == 2 and type_of_target(y) != MULTILABEL:
        raise ValueError(
            f"y of shape {y.shape} is {type_of_target(y)!r}: KerasClassifier "
            "takes class labels (one column) or a multilabel indicator "
            "matrix of 0/1 columns; for several columns of classes, wrap it in "
            "sklearn.multioutput.MultiOutputClassifier"
        )
    return y


class KerasClassifier(ClassifierMixin, KerasEstimator):
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
        one unit per class, or one sigmoid unit for two classes; for
        multilabel targets one unit per label (sigmoid, or logits).
    optimizer : str, class or keras.optimizers.Optimizer, default="adam"
        The optimizer; ``optimizer__<name>`` parameters reach its class.
        Ignored (as loss and metrics) when the model arrives compiled.
    learning_rate : float or None, default=None
        The optimizer's (initial) learning rate; None keeps the
        optimizer's own (or ``optimizer__learning_rate``).
    loss : str, class, keras.losses.Loss or callable, default="crossentropy"
        "crossentropy" is the cross-entropy for the model's output
        (categorical for softmax units, binary for sigmoid units, one unit
        or multilabel targets, from logits for a linear output); any Keras
        loss otherwise,
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
        The class labels (for multilabel targets, the label indices
        ``0 .. n_labels - 1``, as ``MLPClassifier`` has them).
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
    ``y`` may be class labels (binary or multiclass) or a multilabel
    indicator matrix, as scikit-learn's ``type_of_target`` names them; a
    sparse ``X`` (CSR or CSC) is made dense one batch at a time. The
    defaults adapt to the size of the data in gradient steps rather
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
        **KerasEstimator._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "target_accuracy": [Interval(Real, 0, 1, closed="right"), None],
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

    # -- the classifier's part of a fit ------------------------------------

    _y_numeric = False
    _score_metric = "accuracy"
    # Pickles of skdigits 0.2 hold no target type: one column of labels.
    _target_type = "multiclass"

    @property
    def _multilabel(self):
        return self._target_type == MULTILABEL

    def _fit_targets(self, y, X, *, warm, classes, weights):
        y = _labels(y)
        kind = MULTILABEL if y.ndim == 2 else None
        if warm and (kind == MULTILABEL) != self._multilabel:
            raise ValueError(
                f"y is {type_of_target(y)!r}, but the estimator was fitted on "
                f"{self._target_type!r} targets"
            )
        if kind == MULTILABEL:
            return self._multilabel_targets(y, warm=warm)
        check_classification_targets(y)
        encoder = self._encoder if warm else None
        if warm and classes is not None:
            if not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(
                    f"classes={classes!r} differs from the classes of the "
                    f"earlier fit, {self.classes_!r}"
                )
        if encoder is None:
            encoder = LabelEncoder().fit(y if classes is None else classes)
        y_idx = _encode(encoder, y)
        present = np.unique(y_idx[weights > 0])
        if not warm and classes is None and len(present) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least two classes "
                "with positive sample weight; got one class: "
                f"{encoder.classes_[present]}"
            )
        n_classes = len(encoder.classes_)
        if n_classes < 2:
            raise ValueError(
                f"classes must hold at least two classes, got {encoder.classes_!r}"
            )
        kind = "binary" if n_classes == 2 else "multiclass"
        fitted = {
            "classes_": encoder.classes_,
            "_encoder": encoder,
            "_target_type": kind,
        }
        return y_idx, fitted, self._meta(encoder.classes_, kind, 1)

    def _multilabel_targets(self, y, *, warm):
        n_labels = y.shape[1]
        if warm and n_labels != len(self.classes_):
            raise ValueError(
                f"y has {n_labels} labels, but the estimator was fitted on "
                f"{len(self.classes_)}"
            )
        fitted = {
            "classes_": np.arange(n_labels),
            "_encoder": None,
            "_target_type": MULTILABEL,
            "_label_dtype": y.dtype,
        }
        meta = self._meta(np.arange(n_labels), MULTILABEL, n_labels)
        return y.astype(np.float32), fitted, meta

    @staticmethod
    def _meta(classes, kind, n_outputs):
        return {
            "classes_": classes,
            "n_classes_": len(classes),
            "target_type_": kind,
            "n_outputs_": n_outputs,
            "n_outputs_expected_": 1,
        }

    def _encode_targets(self, y, fitted, X):
        y = _labels(y)
        if fitted["_target_type"] == MULTILABEL:
            if y.ndim != 2 or y.shape[1] != len(fitted["classes_"]):
                raise ValueError(
                    f"validation y of shape {y.shape} does not fit the "
                    f"{len(fitted['classes_'])} labels of the training y"
                )
            return y.astype(np.float32)
        return _encode(fitted["_encoder"], y)

    def _target_weights(self, y, settings):
        class_weight = settings.get("class_weight")
        if class_weight is None:
            return None
        labels = _labels(y) if y.ndim == 2 else y
        return compute_sample_weight(class_weight, labels).astype(np.float32)

    def _stratify(self, y):
        return None if y.ndim == 2 else y

    def _make_loss(self, params, model, data):
        return _compile.make_loss(
            self.loss,
            params,
            _compile.output_activation(model),
            _compile.output_units(model),
            binary=data.meta["target_type_"] == MULTILABEL,
        )

    def _added_metrics(self, compile_args, model, data):
        # The accuracy, weighted by the sample weights, unless the metrics
        # have one (a multilabel one is per label, as Keras's "accuracy").
        if "accuracy" in _compile.metric_names(compile_args):
            return []
        units = _compile.output_units(model)
        form = _compile.target_form(compile_args["loss"], units)
        if data.meta["target_type_"] == MULTILABEL:
            form = "column"
        logits = _compile.from_logits(compile_args["loss"])
        return [_compile.accuracy_metric(form, logits)]

    def _check_outputs(self, model, compile_args, data):
        units = _compile.output_units(model)
        n = data.meta["n_classes_"]
        if data.meta["target_type_"] == MULTILABEL:
            if units != n or _compile.output_activation(model) == "softmax":
                raise ValueError(
                    f"the model has {units} output units"
                    f"{' of softmax' if units == n else ''}, but y is a "
                    f"multilabel indicator of {n} labels: give it one sigmoid "
                    "unit (or logit) per label"
                )
        elif units not in (n, 1) or (units == 1 and n != 2):
            raise ValueError(
                f"the model has {units} output units, but y has {n} "
                "classes: give it one unit per class (or one sigmoid unit for "
                "two classes)"
            )
        return units

    def _loss_targets(self, y, compile_args, units):
        form = _compile.target_form(compile_args.get("loss"), units)
        if y.ndim == 2:  # a multilabel indicator
            if form == "index":
                raise ValueError(
                    "a sparse loss takes class indices, but y is a multilabel "
                    "indicator: use a binary cross-entropy"
                )
            return y
        if form == "index":
            return y.astype(np.int32)
        if form == "column":
            return y.astype(np.float32).reshape(-1, 1)
        return np.eye(units, dtype=np.float32)[y]

    # -- fitting (the signature of a classifier's partial_fit) ----------------

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train one more epoch on ``X, y``, without re-initialising.

        The training rules other than the NaN stop are off, all of ``X`` is
        trained on, and the optimizer carries on from its last state.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, ...)
            Samples.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a multilabel indicator matrix.
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
        return self._partial_fit(X, y, sample_weight, classes)

    # -- predicting ----------------------------------------------------------

    def predict_proba(self, X):
        """Class probabilities, columns ordered as ``classes_``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, ...)
            Samples, as ``fit`` took them.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities; each row sums to 1 (for multilabel targets, the
            probability of each label).
        """
        out = self._outputs(X)  # first: it checks that we are fitted
        if self._multilabel:
            return expit(out) if self._from_logits else np.clip(out, 0.0, 1.0)
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
        X : array-like or sparse matrix of shape (n_samples, ...)
            Samples, as ``fit`` took them.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Labels from ``classes_``; for multilabel targets the indicator
            matrix (a label where its probability exceeds 0.5).
        """
        proba = self.predict_proba(X)
        if self._multilabel:
            return (proba > 0.5).astype(self._label_dtype)
        return self.classes_[np.argmax(proba, axis=1)]

    def _export_head(self):
        from skdigits._export import ClassProbabilities

        if self._multilabel:
            return None if not self._from_logits else _sigmoid_layer("probabilities")
        return ClassProbabilities(self._units, self._from_logits, name="probabilities")

    def _export_info(self):
        classes = self.classes_.tolist()
        try:
            json.dumps(classes)
        except TypeError:
            raise TypeError(
                f"cannot export class labels {self.classes_!r}: labels must "
                "be numbers, strings or booleans"
            ) from None
        what = "label" if self._multilabel else "class"
        return {
            "classes": classes,
            "output": f"{what} probabilities, columns in the order of classes",
        }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class PresetClassifier(Preset, KerasClassifier):
    """A ``KerasClassifier`` whose network one of skdigits's builders makes."""

    _parameter_constraints: dict = preset_constraints(
        KerasClassifier, ("crossentropy", "mse")
    )

    def _output_activation(self, meta):
        """The builder's output activation: sigmoid units for multilabel
        targets, else the parameter's."""
        if meta.get("target_type_") == MULTILABEL:
            return "sigmoid"
        return getattr(self, "output_activation", "softmax")
