"""What a fit compiles: the optimizer, loss and metrics, from parameters.

Each is given as SciKeras and Keras users give them (a name, a class, an
instance, or for metrics a list of those), with routed parameters
(``optimizer__learning_rate``, ``loss__label_smoothing``,
``metrics__0__threshold``) for the classes and names; an instance is
copied, never trained in place. The loss also decides the form of the
targets: class indices for a sparse loss, a 0/1 column for one output
unit, one-hot rows otherwise.
"""

import numpy as np

from skdigits import _compat
from skdigits._backend import keras
from skdigits._routing import entries_arguments

# The loss "crossentropy" picks the cross-entropy that fits the model's
# output: per unit (binary) for sigmoid outputs or one unit, over the
# classes (categorical) for softmax outputs; from logits for a linear one.
CROSSENTROPY = "crossentropy"


def output_activation(model):
    """The name of the activation of ``model``'s output, or None.

    The last layer's (a ``Dense`` with an activation, or an ``Activation``
    layer); None when it cannot be told (a custom layer).
    """
    layer = model.layers[-1] if model.layers else None
    activation = getattr(layer, "activation", None)
    if activation is None:
        return None
    name = keras.activations.serialize(activation)
    return name if isinstance(name, str) else None


def output_units(model):
    """The number of output units of a single-output ``model``."""
    inputs = getattr(model, "inputs", None) or ()
    if len(inputs) > 1:
        raise ValueError(
            f"the model has {len(inputs)} inputs; skdigits's estimators take "
            "models with one input"
        )
    if len(model.outputs or ()) > 1:
        raise ValueError(
            f"the model has {len(model.outputs)} outputs; skdigits's "
            "estimators take models with one output (of class probabilities "
            "or logits for a classifier)"
        )
    shape = model.output_shape
    if not isinstance(shape, tuple) or len(shape) != 2:
        raise ValueError(
            f"the model's output has shape {shape}; a classifier needs "
            "(n_samples, n_units): one unit for a binary sigmoid output, or "
            "one per class"
        )
    return int(shape[-1])


def copied(obj):
    """A new object like ``obj``, from its config."""
    return type(obj).from_config(obj.get_config())


def make_optimizer(spec, params, learning_rate=None):
    """A new Keras optimizer from a name, class or instance, and its routed
    ``params``; ``learning_rate``, when given, sets the rate."""
    if learning_rate is not None and "learning_rate" in params:
        raise ValueError(
            "learning_rate and optimizer__learning_rate are both set: give one"
        )
    ((entry, arguments),), _ = entries_arguments(spec, params, "optimizer")
    if isinstance(entry, str):
        try:
            entry = type(keras.optimizers.get(entry))
        except ValueError:
            raise ValueError(
                f"optimizer={entry!r} is not a Keras optimizer name "
                "(for example 'sgd', 'adam', 'rmsprop', 'adagrad')"
            ) from None
    if isinstance(entry, type) and issubclass(entry, keras.optimizers.Optimizer):
        optimizer = entry(**arguments)
    elif isinstance(entry, keras.optimizers.Optimizer):
        optimizer = copied(entry)
    else:
        raise TypeError(
            "optimizer must be a Keras optimizer name, class or instance, "
            f"got {entry!r}"
        )
    if learning_rate is not None:
        optimizer.learning_rate = learning_rate
    return optimizer


def learning_rate_of(optimizer):
    """The optimizer's learning rate as a float, or None for a schedule."""
    if isinstance(optimizer.get_config().get("learning_rate"), dict):
        return None  # a serialised LearningRateSchedule
    rate = optimizer.learning_rate
    return float(np.asarray(rate.numpy() if hasattr(rate, "numpy") else rate))


def _loss_name(loss):
    if isinstance(loss, str):
        return loss
    if isinstance(loss, type):
        return loss.__name__
    fn = getattr(loss, "fn", None)  # Keras's LossFunctionWrapper
    return getattr(fn or loss, "__name__", type(loss).__name__)


def make_loss(spec, params, activation, units, *, binary=False):
    """A new Keras loss from the ``loss`` parameter and its routed
    ``params``, for a model whose output has ``units`` units of
    ``activation``; "crossentropy" is per unit where ``binary`` (multilabel
    targets) or the output says so."""
    if spec == CROSSENTROPY:
        from_logits = activation == "linear"
        kind = keras.losses.CategoricalCrossentropy
        if binary or units == 1 or activation == "sigmoid":
            kind = keras.losses.BinaryCrossentropy
        try:  # loss__label_smoothing=0.1, say
            return kind(**{"from_logits": from_logits, **params})
        except TypeError as exc:
            raise ValueError(
                f"the loss 'crossentropy' ({kind.__name__}) does not take "
                f"{sorted(params)}: {exc}"
            ) from None
    if spec == "mse" and not params:
        return keras.losses.MeanSquaredError()
    ((entry, arguments),), _ = entries_arguments(spec, params, "loss")
    if isinstance(entry, str):
        try:
            found = keras.losses.get(entry)
        except ValueError:
            found = None
        if found is None:
            raise ValueError(f"loss={entry!r} is not a Keras loss name")
        if arguments:
            if isinstance(found, keras.losses.Loss):
                return type(found).from_config({**found.get_config(), **arguments})
            raise ValueError(
                f"loss__{next(iter(arguments))}: the loss {entry!r} is a "
                "function; give its class to set parameters"
            )
        return copied(found) if isinstance(found, keras.losses.Loss) else found
    if isinstance(entry, type) and issubclass(entry, keras.losses.Loss):
        return entry(**arguments)
    if isinstance(entry, keras.losses.Loss):
        return copied(entry)
    if callable(entry):
        return entry
    raise TypeError(
        f"loss must be 'crossentropy' or a Keras loss name, class, instance "
        f"or function, got {entry!r}"
    )


def target_form(loss, units):
    """How the targets reach ``loss``: "index" (class indices, for a sparse
    loss, or for no loss: a ``train_step`` of the model's own then gets the
    labels as ``fit`` would), "column" (0/1, one unit) or "onehot"."""
    if loss is None or "sparse" in _loss_name(loss).lower():
        return "index"
    return "column" if units == 1 else "onehot"


def from_logits(loss):
    """Whether ``loss`` reads logits (so predictions need the activation)."""
    try:
        config = loss.get_config() if isinstance(loss, keras.losses.Loss) else {}
    except NotImplementedError:
        config = {}
    return bool(config.get("from_logits", False))


# Metric names that Keras resolves to the accuracy that fits the loss.
ACCURACY_NAMES = ("accuracy", "acc")


def make_metrics(spec, params):
    """The metrics to compile from the ``metrics`` parameter (None, a name,
    class or instance, or a list of those) and its routed ``params``: new
    objects, and names of the accuracy left as names (Keras's ``compile``
    picks the accuracy that fits the loss)."""
    if spec is None:
        if params:
            raise ValueError(f"metrics__{next(iter(params))} is set, but no metrics")
        return []
    if isinstance(spec, dict):
        raise TypeError("metrics must be a list: a classifier has one output")
    entries, _ = entries_arguments(spec, params, "metrics")
    built = []
    for entry, arguments in entries:
        if isinstance(entry, str) and entry in ACCURACY_NAMES and not arguments:
            built.append(entry)
        else:
            built.append(make_metric(entry, arguments))
    return built


def accuracy_metric(form, logits):
    """The accuracy skdigits logs as "accuracy" (weighted by the sample
    weights) where the metrics have none, for targets of ``form`` (see
    ``target_form``) and an output of logits or probabilities."""
    if form == "index":
        return keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    if form == "column":
        if not logits:
            return keras.metrics.BinaryAccuracy(name="accuracy")
        try:
            return keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.0)
        except ValueError:  # Keras before 3.4 takes thresholds in (0, 1) only
            return LogitBinaryAccuracy(name="accuracy")
    return keras.metrics.CategoricalAccuracy(name="accuracy")


@keras.saving.register_keras_serializable(package="skdigits")
def logit_binary_accuracy(y_true, y_pred):
    """The binary accuracy of logits: a logit above 0 is a 1."""
    return keras.metrics.binary_accuracy(y_true, keras.ops.sigmoid(y_pred))


@keras.saving.register_keras_serializable(package="skdigits")
class LogitBinaryAccuracy(keras.metrics.MeanMetricWrapper):
    """``logit_binary_accuracy`` as a metric that improves upwards (as
    Keras's accuracies say, for callbacks' ``mode="auto"``)."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(logit_binary_accuracy, name=name, dtype=dtype)
        self._direction = "up"

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


def metric_names(compile_args):
    """The names the compiled metrics log under."""
    names = []
    for key in ("metrics", "weighted_metrics"):
        for entry in compile_args.get(key) or []:
            names.append(entry if isinstance(entry, str) else entry.name)
    return names


def fresh(compile_args):
    """``compile``'s arguments with new optimizer, loss and metric objects,
    so that two models never share an optimizer or a metric's state."""

    def new(entry):
        if isinstance(entry, keras.optimizers.Optimizer | keras.losses.Loss):
            return copied(entry)
        if isinstance(entry, keras.metrics.Metric):
            return copied(entry)
        if isinstance(entry, list | tuple):
            return [new(e) for e in entry]
        if isinstance(entry, dict):
            return {k: new(v) for k, v in entry.items()}
        return entry

    return {k: new(v) for k, v in compile_args.items()}


def compile_spec(compile_args):
    """A description of what ``compile_args`` compile (less a float learning
    rate, which a trainer sets for each fit), for the key of compiled work."""

    def spec(entry):
        if isinstance(entry, keras.optimizers.Optimizer):
            config = dict(entry.get_config())
            config.pop("name", None)  # numbered by Keras per process ("adam_3")
            if isinstance(config.get("learning_rate"), float | int):
                config.pop("learning_rate")
            return {"class": type(entry).__qualname__, "config": config}
        if isinstance(entry, list | tuple):
            return [spec(e) for e in entry]
        if isinstance(entry, dict):
            return {k: spec(v) for k, v in entry.items()}
        if isinstance(entry, str | int | float | bool) or entry is None:
            return entry
        try:
            return keras.saving.serialize_keras_object(entry)
        except (TypeError, ValueError):  # pragma: no cover - unserialisable
            return repr(entry)

    return spec(compile_args)


def compiled_args(model):
    """``compile``'s arguments for another model as ``model`` is compiled:
    new optimizer, loss and metric objects like its own (the optimizer an
    instance, of the class a name gave)."""
    args = _compat.compile_arguments(model)
    args["optimizer"] = model.optimizer
    return fresh(args)


def make_metric(entry, arguments=None):
    """A new Keras metric from a name, class, instance or function."""
    arguments = arguments or {}
    if isinstance(entry, str):
        try:
            found = keras.metrics.get(entry)
        except ValueError:
            raise ValueError(f"metrics: {entry!r} is not a Keras metric name") from None
        if isinstance(found, keras.metrics.Metric):
            # Named as given, as Keras's compile names it.
            return type(found).from_config(
                {**found.get_config(), **arguments, "name": entry}
            )
        if isinstance(found, type):
            return found(**{"name": entry, **arguments})
        return keras.metrics.MeanMetricWrapper(found, name=entry, **arguments)
    if isinstance(entry, type) and issubclass(entry, keras.metrics.Metric):
        return entry(**arguments)
    if isinstance(entry, keras.metrics.Metric):
        return copied(entry)
    if isinstance(entry, dict):
        return keras.metrics.deserialize(entry)
    if callable(entry):
        return keras.metrics.MeanMetricWrapper(entry, name=entry.__name__)
    raise TypeError(f"metrics: {entry!r} is not a Keras metric")


def make_callbacks(spec, params):
    """New Keras callbacks from the ``callbacks`` parameter (None, a class
    or instance, or a list or dict of them) and its routed ``params``.
    Instances are deep copies: the parameter never holds a trained model."""
    import copy

    if spec is None:
        if params:
            raise ValueError(
                f"callbacks__{next(iter(params))} is set, but no callbacks"
            )
        return []
    entries, _ = entries_arguments(spec, params, "callbacks")
    # One deep copy of all the instances, so that callbacks that refer to
    # each other (an EpochReport to its rules) still do in the copies.
    copies = iter(
        copy.deepcopy(
            [e for e, _ in entries if isinstance(e, keras.callbacks.Callback)]
        )
    )
    built = []
    for entry, arguments in entries:
        if isinstance(entry, type) and issubclass(entry, keras.callbacks.Callback):
            built.append(entry(**arguments))
        elif isinstance(entry, keras.callbacks.Callback):
            built.append(next(copies))
        else:
            raise TypeError(
                "callbacks must hold keras.callbacks.Callback instances or "
                f"classes, got {entry!r}"
            )
    return built
