"""The one training engine: compiled calls of many steps, for any Keras model.

Keras's ``fit`` builds a ``tf.data`` iterator each epoch, launches a
compiled call every ``steps_per_execution`` batches and runs ``evaluate``
for the validation data. For a small network those fixed costs are most
of the time (on ``load_digits`` an epoch of Keras's ``fit`` took about
60 ms, of which the arithmetic is a few). Here the data are tensors held
for the fit, and one call of a compiled function runs many steps:

1. the rows of an epoch are taken in an order drawn by NumPy from
   ``(seed, epoch)`` (outside the compiled code: TensorFlow's stateless
   generators give other numbers under XLA than without);
2. a ``tf.while_loop`` runs Keras's own training step on each batch of the
   call's range: the model's ``compute_loss`` (its compiled loss and its
   regularisation), ``optimizer.apply``, the metrics;
3. at the end of an epoch, a second compiled function scores the
   validation rows in chunks, as ``evaluate`` would.

``run`` drives the callbacks through Keras's ``CallbackList`` hook for hook
as ``fit`` does with ``steps_per_execution``: a call is one "batch" whose
end step is the last it ran, and the logs are those ``fit`` gives
(``loss``, ``accuracy`` weighted by the sample weights, any other metrics,
and ``val_`` of each).

Under XLA (``jit_compile``, chosen for stacks of dense layers), every
batch has the same static shape: the rows are padded to a coarse bucket
(so that the folds of a cross-validation share one program) and the last
batch is the real rows of a full-size slice, the padding given no weight.
Without XLA the last batch is short, as in Keras.

A *trainer* is a compiled copy of an architecture, taken from a cache for
every fit of that architecture (a grid search fits the same few again and
again): the fit's weights and a fresh optimizer state are loaded into it,
and the trained weights copied back out, so a fit on a reused trainer
computes exactly what it would on a new one. The estimator's own model is
not touched while training runs.
"""

import collections
import inspect
import json
import threading
import weakref

import numpy as np

from skdigits import _tuning
from skdigits._backend import keras, tf
from skdigits._tensors import to_tensor

# Rows per forward pass when scoring the validation rows (see _tuning).
PREDICT_CHUNK = _tuning.PREDICT_CHUNK

# -- the data of a fit ------------------------------------------------------


def bucket(n, multiple):
    """``n`` rounded up to a multiple of ``multiple`` and to 1/8 of a power of 2.

    Folds of a cross-validation differ by a few rows; rounding their batch
    count up to a coarse grid (at most 12.5% more) gives them one shape.
    """
    units = -(-n // multiple)
    grain = 1 << max(0, units.bit_length() - 4)
    return -(-units // grain) * grain * multiple


def epoch_order(n, rows, seed, epoch):
    """The order of the ``n`` real rows in an epoch, then the padding rows;
    with ``seed`` None, the rows in their own order (no shuffling)."""
    if seed is None:
        return np.arange(rows, dtype=np.int32)
    order = np.random.default_rng([seed, epoch]).permutation(n)
    return np.concatenate([order, np.arange(n, rows)]).astype(np.int32)


class Rows:
    """The arrays of a fit's training or validation rows, as tensors.

    ``X`` are the inputs, ``Y`` the targets in the form the loss takes,
    ``classes`` the class indices (for the accuracy), ``weights`` the
    sample weights. With ``multiple``, the rows are padded with zeros to
    ``bucket(n, multiple)`` (XLA's static shapes).
    """

    def __init__(self, X, Y, classes, weights, multiple=None):
        self.n = len(X)
        self.rows = self.n if multiple is None else bucket(self.n, multiple)
        self.tensors = tuple(
            to_tensor(np.ascontiguousarray(a), self.rows)
            for a in (X, Y, classes.astype(np.int32), weights)
        )


# -- the compiled functions -------------------------------------------------


def _predicted_class(y_pred, threshold):
    if y_pred.shape[-1] == 1:  # one unit: class 1 above the threshold
        return tf.cast(y_pred[:, 0] > threshold, tf.int32)
    return tf.argmax(y_pred, axis=-1, output_type=tf.int32)


def _loss_function(model):
    """``model.compute_loss`` called as Keras's own steps call it."""
    takes_training = "training" in inspect.signature(model.compute_loss).parameters

    def loss(x, y, y_pred, weight, training):
        if takes_training:
            return model.compute_loss(
                x=x, y=y, y_pred=y_pred, sample_weight=weight, training=training
            )
        return model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=weight)

    return loss


def _rescales_short_batches(model):
    """Whether a padded batch's loss weights need scaling to the real rows.

    Keras's default reduction divides the weighted sum by the number of
    rows, padding included; "sum" and the weight-normalised reductions
    ignore rows of weight 0 already.
    """
    reduction = getattr(keras.losses.get(model.loss), "reduction", None)
    return reduction in (None, "sum_over_batch_size", "auto")


# The learning-rate schedules the engine applies step by step (see
# ``scheduled_rate``; their constants are in ``_tuning``). The rate is an
# argument of the compiled call rather than a Keras LearningRateSchedule in
# the optimizer: a schedule there counts the optimizer's iterations, which
# a reused trainer carries from fit to fit.
SCHEDULES = ("one-cycle", "cosine")


def scheduled_rate(schedule, step, total, peak):
    """The learning rate at ``step`` of ``total`` steps (tensors).

    "cosine" falls from ``peak`` to 0 along a half cosine; "one-cycle" first
    rises from ``peak * _tuning.ONE_CYCLE_START`` to ``peak`` along a half
    cosine over ``_tuning.ONE_CYCLE_WARMUP`` of the steps, then falls the
    same way to 0.
    """
    t = tf.cast(step, tf.float32) / tf.cast(tf.maximum(total, 1), tf.float32)
    pi = tf.constant(np.pi, tf.float32)
    if schedule == "cosine":
        return peak * 0.5 * (1.0 + tf.cos(pi * t))
    warm, start = _tuning.ONE_CYCLE_WARMUP, _tuning.ONE_CYCLE_START
    rising = start + (1.0 - start) * 0.5 * (
        1.0 - tf.cos(pi * tf.minimum(t / warm, 1.0))
    )
    falling = 0.5 * (1.0 + tf.cos(pi * tf.maximum(t - warm, 0.0) / (1.0 - warm)))
    return peak * tf.where(t < warm, rising, falling)


def compiled_functions(
    model, metrics, batch_size, jit_compile, threshold=0.5, schedule=None
):
    """The compiled ``train(...)`` and ``evaluate(...)`` of a compiled model.

    ``train(x, y, classes, w, n, order, first, last, step0, total, peak)``
    runs steps ``first`` to ``last - 1`` of an epoch and returns the sums of
    its logs: the loss (times the real rows of each batch), the weighted
    hits and the weights. With a ``schedule`` (one of ``SCHEDULES``), each
    step first sets the optimizer's learning rate for step ``step0 + i`` of
    the ``total`` steps of the fit, peaking at ``peak``.
    ``evaluate(x, y, classes, w, n)`` returns the same sums over the first
    ``n`` rows. ``metrics`` are ``(metric, weighted)`` pairs updated along;
    a one-unit output predicts class 1 above ``threshold`` (0.5 for a
    probability, 0 for a logit).
    """
    optimizer = model.optimizer
    loss_of = _loss_function(model)
    rescale = jit_compile and _rescales_short_batches(model)
    padded = jit_compile  # XLA needs every batch the same shape

    def batch_of(x, y, classes, w, n, index_source, start, size):
        """One batch of ``size`` rows from ``start`` of ``index_source``."""
        real = tf.minimum(n - start, size)
        if padded:
            index = tf.slice(index_source, [start], [size])
            mask = tf.cast(tf.range(size) < real, w.dtype)
        else:
            index = index_source[start : start + real]
            mask = None
        w_b = tf.gather(w, index)
        if mask is not None:
            w_b *= mask
        loss_w = w_b
        if rescale:
            # Keras divides a batch's weighted loss by its number of rows.
            loss_w = w_b * (tf.cast(size, w.dtype) / tf.cast(real, w.dtype))
        return (
            tf.gather(x, index),
            tf.gather(y, index),
            tf.gather(classes, index),
            w_b,
            loss_w,
            mask,
            real,
        )

    def update(y_pred, y_b, c_b, w_b, mask, value, real, sums):
        value = tf.cast(value, w_b.dtype)
        for metric, weighted in metrics:
            metric.update_state(y_b, y_pred, sample_weight=w_b if weighted else mask)
        hits = (
            tf.cast(tf.equal(c_b, _predicted_class(y_pred, threshold)), w_b.dtype) * w_b
        )
        loss_sum, hit_sum, weight_sum = sums
        return (
            loss_sum + value * tf.cast(real, value.dtype),
            hit_sum + tf.reduce_sum(hits),
            weight_sum + tf.reduce_sum(w_b),
        )

    def zero_sums(dtype):
        zero = tf.constant(0.0, dtype)
        return zero, zero, zero

    def train(x, y, classes, w, n, order, first, last, step0, total, peak):
        def step(i, *sums):
            if schedule is not None:
                rate = scheduled_rate(schedule, step0 + i, total, peak)
                optimizer.learning_rate.assign(rate)
            x_b, y_b, c_b, w_b, loss_w, mask, real = batch_of(
                x, y, classes, w, n, order, i * batch_size, batch_size
            )
            with tf.GradientTape() as tape:
                y_pred = model(x_b, training=True)
                value = loss_of(x_b, y_b, y_pred, loss_w, True)
                scaled = optimizer.scale_loss(value)
            weights = model.trainable_weights
            optimizer.apply(tape.gradient(scaled, weights), weights)
            return (i + 1, *update(y_pred, y_b, c_b, w_b, mask, value, real, sums))

        _, *sums = tf.while_loop(
            lambda i, *_: i < last, step, (first, *zero_sums(w.dtype))
        )
        return tuple(sums)

    def evaluate(x, y, classes, w, n):
        chunk = tf.minimum(PREDICT_CHUNK, tf.shape(x)[0])
        if padded:  # a static chunk that divides the padded rows
            chunk = min(PREDICT_CHUNK, x.shape[0])

        def step(start, *sums):
            x_b, y_b, c_b, w_b, loss_w, mask, real = batch_of(
                x, y, classes, w, n, tf.range(tf.shape(x)[0]), start, chunk
            )
            y_pred = model(x_b, training=False)
            value = loss_of(x_b, y_b, y_pred, loss_w, False)
            return (
                start + chunk,
                *update(y_pred, y_b, c_b, w_b, mask, value, real, sums),
            )

        _, *sums = tf.while_loop(
            lambda start, *_: start < n,
            step,
            (tf.constant(0, n.dtype), *zero_sums(w.dtype)),
        )
        return tuple(sums)

    return (
        tf.function(train, jit_compile=jit_compile, reduce_retracing=True),
        tf.function(evaluate, jit_compile=jit_compile, reduce_retracing=True),
    )


# -- trainers and their reuse -------------------------------------------------


class Trainer:
    """A compiled Keras model, its metrics and compiled functions.

    ``model`` is compiled with its optimizer and loss; ``metrics`` are
    ``(metric, weighted)`` pairs of built Keras metrics, logged beside the
    loss and the accuracy.
    """

    shared = True

    def __init__(self, model, metrics=(), threshold=0.5):
        self.model = model
        self.metrics = list(metrics)
        self.threshold = threshold
        self._functions = {}
        self._metrics_built = not self.metrics
        optimizer = model.optimizer
        optimizer.build(model.trainable_variables)
        self._initial_optimizer_state = [v.numpy() for v in optimizer.variables]

    def build_metrics(self, x, y):
        """Create the metrics' variables eagerly, on one row (Keras creates
        some on first use, which a compiled loop cannot do)."""
        if self._metrics_built:
            return
        y_pred = self.model(x[:1], training=False)
        for metric, _ in self.metrics:
            metric.update_state(y[:1], y_pred)
            metric.reset_state()
        self._metrics_built = True

    def functions(self, batch_size, jit_compile, schedule=None):
        """The compiled ``(train, evaluate)`` for batches of ``batch_size``."""
        key = (batch_size, jit_compile, schedule)
        if key not in self._functions:
            self._functions[key] = compiled_functions(
                self.model,
                self.metrics,
                batch_size,
                jit_compile,
                self.threshold,
                schedule,
            )
        return self._functions[key]

    def load(self, model, optimizer_state=None, learning_rate=None):
        """Start from ``model``'s variables and a fresh (or given) optimizer.

        ``learning_rate`` (a float) sets a fresh optimizer's rate; a given
        state carries its own.
        """
        if model is not self.model:
            _copy_variables(model.variables, self.model.variables)
        optimizer = self.model.optimizer
        state = optimizer_state
        if state is None:
            state = self._initial_optimizer_state
        _assign(optimizer.variables, state)
        if learning_rate is not None and optimizer_state is None:
            optimizer.learning_rate = learning_rate

    def weights(self):
        """The model's variables, as arrays, in ``model.variables`` order."""
        return [np.asarray(v.numpy()) for v in self.model.variables]

    def optimizer_state(self):
        return [np.asarray(v.numpy()) for v in self.model.optimizer.variables]


def _assign(variables, values):
    variables = list(variables)
    if len(variables) != len(values):
        raise ValueError(
            f"cannot restore {len(values)} saved values into {len(variables)} "
            "variables: the optimizer state does not fit this model"
        )
    for variable, value in zip(variables, values, strict=True):
        variable.assign(value)


def _copy_variables(source, target):
    source, target = list(source), list(target)
    shapes = [tuple(v.shape) for v in source]
    if shapes != [tuple(v.shape) for v in target]:  # pragma: no cover - a bug
        raise RuntimeError("trainer and model differ in their variables")
    _assign(target, [np.asarray(v.numpy()) for v in source])


def assign_weights(model, values):
    """Set every variable of ``model`` (as ``Trainer.weights`` lists them)."""
    _assign(model.variables, values)


def assign_optimizer_state(trainer, values):
    """Put back an optimizer state that ``Trainer.optimizer_state`` read."""
    _assign(trainer.model.optimizer.variables, values)


def _canonical(config, names):
    """``config`` as JSON with layer names numbered and seeds dropped.

    Keras names layers by a counter of the process ("dense_7"), and the
    estimators seed each fit's layers anew; neither changes the computation
    that a trainer compiles (seeded layers keep their state in variables,
    which a trainer loads), so they are left out of its key.
    """

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("seed", "name")}
        if isinstance(value, list | tuple):
            return [strip(v) for v in value]
        if isinstance(value, str) and value in names:
            return f"#{names[value]}"
        return value

    return json.dumps(strip(config), sort_keys=True, default=repr)


def trainer_key(model, sample_shape, compile_config):
    """A key naming the computation a trainer of ``model`` compiles, or None.

    ``compile_config`` describes the optimizer (less a float learning
    rate, which a trainer sets), the loss and the metrics. None when the
    architecture cannot be described by its config (a subclassed model
    without ``get_config``): such fits compile their own model.
    """
    try:
        config = model.get_config()
        names = {}
        for layer in model.layers:
            names.setdefault(layer.name, len(names))
        names.setdefault(model.name, len(names))
        return (
            type(model).__qualname__,
            _canonical(config, names),
            tuple(sample_shape),
            json.dumps(compile_config, sort_keys=True, default=repr),
        )
    except (NotImplementedError, TypeError, ValueError, AttributeError):
        return None


def new_trainer(model, compile_args, metrics, threshold=0.5):
    """A trainer for fits of ``model``'s architecture.

    It trains a clone of ``model`` compiled with ``compile_args`` (a dict
    of ``compile``'s arguments), and logs ``metrics`` (``(metric,
    weighted)`` pairs, copied); ``threshold`` is as in
    ``compiled_functions``. A model that cannot be cloned trains
    itself, compiled unless it arrives compiled and ``compile_args`` is
    None; such a trainer is never shared with other fits.
    """
    try:
        net = keras.models.clone_model(model)
    except (NotImplementedError, TypeError, ValueError):
        net = model
    if compile_args is not None:
        net.compile(**compile_args)
    trainer = Trainer(net, [(fresh_metric(m), w) for m, w in metrics], threshold)
    trainer.shared = net is not model
    return trainer


def fresh_metric(metric):
    """A new, unused Keras metric like the built ``metric``."""
    return type(metric).from_config(metric.get_config())


_lock = threading.Lock()
_idle = collections.OrderedDict()  # key -> list of idle Trainer
# Trainers that train their model itself (it cannot be cloned), by model,
# so that later fits of that model (warm starts, partial_fit) reuse them.
_own = weakref.WeakKeyDictionary()


def acquire(key, build, model):
    """An idle trainer for ``key``, or the new one that ``build()`` returns.

    With no key, the trainer that trains ``model`` itself, if any.
    """
    if key is None:
        trainer = _own.get(model)
        if trainer is None:
            trainer = build()
            if not trainer.shared:
                _own[model] = trainer
        return trainer
    with _lock:
        trainers = _idle.get(key)
        if trainers:
            _idle.move_to_end(key)
            return trainers.pop()
    return build()


def release(key, trainer):
    """Give ``trainer`` back for later fits of ``key``."""
    if key is None or not trainer.shared:
        return
    with _lock:
        _idle.setdefault(key, []).append(trainer)
        _idle.move_to_end(key)
        while sum(len(t) for t in _idle.values()) > _tuning.TRAINER_CACHE_SIZE:
            oldest = next(iter(_idle))
            _idle[oldest].pop(0)
            if not _idle[oldest]:
                del _idle[oldest]


def clear():
    """Forget every idle trainer (tests; freeing memory)."""
    with _lock:
        _idle.clear()


# -- the loop ---------------------------------------------------------------------


def _logs(sums, metrics, prefix=""):
    loss_sum, hit_sum, weight_sum = (float(s) for s in sums[1:])
    n = sums[0]
    logs = {
        f"{prefix}loss": loss_sum / n if n else float("nan"),
        f"{prefix}accuracy": hit_sum / weight_sum if weight_sum else 0.0,
    }
    for metric, _ in metrics:
        logs[f"{prefix}{metric.name}"] = float(metric.result())
    return logs


def run(trainer, plan, train, val, callbacks, seed, verbose=0):
    """Train ``trainer.model`` as ``plan`` says; return Keras's ``History``.

    ``train`` and ``val`` (or None) are ``Rows``; ``callbacks`` are Keras
    callbacks, driven as ``fit`` drives them; ``seed`` draws each epoch's
    order of the rows (None keeps their order).
    """
    model = trainer.model
    train_calls, evaluate = trainer.functions(
        plan.batch_size, plan.jit_compile, plan.lr_schedule
    )
    total = tf.constant(plan.n_epochs * plan.steps_per_epoch, tf.int32)
    peak = tf.constant(plan.peak_lr or 0.0, tf.float32)
    history = keras.callbacks.History()
    hooks = keras.callbacks.CallbackList(
        [*callbacks, history],
        add_progbar=verbose > 0,
        model=model,
        verbose=verbose,
        epochs=plan.epochs,
        steps=plan.steps_per_epoch,
    )
    n = tf.constant(train.n, tf.int32)
    trainer.build_metrics(train.tensors[0], train.tensors[1])
    model.stop_training = False
    hooks.on_train_begin()
    logs = {}
    for epoch in range(plan.initial_epoch, plan.epochs):
        for metric, _ in trainer.metrics:
            metric.reset_state()
        hooks.on_epoch_begin(epoch)
        order = tf.constant(epoch_order(train.n, train.rows, seed, epoch))
        totals = np.zeros(3)
        for first in range(0, plan.steps_per_epoch, plan.steps_per_call):
            last = min(first + plan.steps_per_call, plan.steps_per_epoch)
            hooks.on_train_batch_begin(first)
            step0 = (epoch - plan.initial_epoch) * plan.steps_per_epoch
            sums = train_calls(
                *train.tensors,
                n,
                order,
                tf.constant(first, tf.int32),
                tf.constant(last, tf.int32),
                tf.constant(step0, tf.int32),
                total,
                peak,
            )
            totals += [float(s) for s in sums]
            rows = min(last * plan.batch_size, train.n)
            logs = _logs((rows, *totals), trainer.metrics)
            hooks.on_train_batch_end(last - 1, dict(logs))
            if model.stop_training:
                break
        epoch_logs = dict(logs)
        if val is not None:
            for metric, _ in trainer.metrics:
                metric.reset_state()
            sums = evaluate(*val.tensors, tf.constant(val.n, tf.int32))
            epoch_logs.update(_logs((val.n, *sums), trainer.metrics, "val_"))
        hooks.on_epoch_end(epoch, epoch_logs)
        logs = epoch_logs
        if model.stop_training:
            break
    hooks.on_train_end(logs)
    return history
