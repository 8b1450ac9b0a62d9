"""The one training engine: compiled calls of many steps of the model's own
``train_step``, for any Keras model.

Keras's ``fit`` builds a ``tf.data`` iterator each epoch, launches a
compiled call every ``steps_per_execution`` batches and runs ``evaluate``
for the validation data. For a small network those fixed costs are most
of the time. Here the data are tensors held for the fit, and one call of a
compiled function runs many steps:

1. the rows of an epoch are taken in an order drawn by NumPy from
   ``(seed, epoch)`` (outside the compiled code: TensorFlow's stateless
   generators give other numbers under XLA than without);
2. a ``tf.while_loop`` calls the model's own ``train_step`` on each batch
   of the call's range, with the batch as ``fit`` hands it over
   (``(x, y)``, or ``(x, y, sample_weight)`` when there are weights), so
   that overrides of ``train_step``, ``compute_loss`` and
   ``compute_metrics``, added losses and compiled metrics behave as in
   ``fit``; the logs of a call are what its last step returned;
3. at the end of an epoch, a second compiled function runs ``test_step``
   over the validation rows, as ``evaluate`` would.

``run`` drives the callbacks through Keras's ``CallbackList`` hook for hook
as ``fit`` does with ``steps_per_execution``: a call is one "batch" whose
end step is the last it ran; metrics are reset at each epoch's start and
before validation, whose logs are added with ``val_``; the test hooks run
around validation; ``stop_training`` and ``BackupAndRestore``'s resumed
epoch are honoured, and the optimizer's ``finalize_variable_values`` runs at
the end, as in ``fit``.

Under XLA (``jit_compile``, chosen for stacks of dense layers), the data
tensors are padded to a coarse bucket of rows (so that the folds of a
cross-validation share one program) and the full batches run in the XLA
loop; an epoch's last, short batch runs through the same ``train_step``
compiled without XLA, so that every batch holds real rows only, as in Keras.

A *trainer* is a compiled copy of an architecture (of the model's own
class), taken from a cache for every fit of that architecture (a grid search
fits the same few again and again): the fit's weights and a fresh optimizer
state are loaded into it, and the trained weights and optimizer state copied
back out, so a fit on a reused trainer computes exactly what it would on a
new one. The estimator's own model is not touched while training runs.
"""

import collections
import json
import threading
import weakref

import numpy as np
import scipy.sparse as sp

from skdigits import _compat, _tuning
from skdigits._backend import keras, tf
from skdigits._tensors import to_tensor

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
    """The order of the ``n`` real rows in an epoch, then the padding rows
    (never read); with ``seed`` None, the rows in their own order."""
    if seed is None:
        return np.arange(rows, dtype=np.int32)
    order = np.random.default_rng([seed, epoch]).permutation(n)
    return np.concatenate([order, np.arange(n, rows)]).astype(np.int32)


class Rows:
    """The arrays of a fit's training or validation rows, as tensors.

    ``X`` are the inputs, ``Y`` the targets in the form the loss takes,
    ``weights`` the sample weights, or None where ``fit`` would get none
    (the batches are then ``(x, y)``, as Keras hands them to
    ``train_step``). With ``multiple``, the tensors are padded with zeros
    to ``bucket(n, multiple)`` rows (XLA's static shapes); no step reads
    the padding. A sparse matrix stays sparse (see ``sparse_rows``).
    """

    def __init__(self, X, Y, weights=None, multiple=None):
        self.n = X.shape[0]
        arrays = (X, Y) if weights is None else (X, Y, weights)
        sparse = any(sp.issparse(a) for a in arrays)
        if sparse and multiple is not None:  # pragma: no cover - the plan prevents it
            raise ValueError("sparse rows cannot be padded for XLA")
        self.rows = self.n if multiple is None else bucket(self.n, multiple)
        self.tensors = tuple(
            sparse_rows(a)
            if sp.issparse(a)
            else to_tensor(np.ascontiguousarray(a), self.rows)
            for a in arrays
        )


def sparse_rows(matrix):
    """A sparse matrix as tensors a compiled step takes rows of: its values
    and column indices as ragged rows, and an empty tensor whose shape
    holds the width (``take`` makes the rows dense)."""
    csr = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    csr.sum_duplicates()
    splits = csr.indptr.astype(np.int64)
    return (
        tf.RaggedTensor.from_row_splits(csr.data, splits),
        tf.RaggedTensor.from_row_splits(csr.indices.astype(np.int64), splits),
        tf.zeros((0, csr.shape[1]), tf.float32),
    )


def take(tensor, index):
    """The rows ``index`` of a tensor, or of ``sparse_rows``, made dense."""
    if not isinstance(tensor, tuple):
        return tf.gather(tensor, index)
    values, columns, shape = tensor
    values, columns = tf.gather(values, index), tf.gather(columns, index)
    at = tf.stack([values.value_rowids(), columns.flat_values], axis=1)
    size = tf.shape(index, out_type=tf.int64)[0]
    return tf.scatter_nd(at, values.flat_values, [size, shape.shape[1]])


def span(tensor, start, stop):
    """Rows ``start`` to ``stop - 1`` (see ``take``)."""
    if not isinstance(tensor, tuple):
        return tensor[start:stop]
    return take(tensor, tf.range(start, stop))


# -- the compiled functions -------------------------------------------------


def _pythonify(logs):
    """Logs as ``fit`` hands them to callbacks: floats, nested dicts flat."""
    result = {}
    for key, value in sorted(dict(logs).items()):
        if isinstance(value, dict):
            result.update(_pythonify(value))
            continue
        value = np.asarray(value)
        result[key] = float(value) if value.ndim == 0 else value
    return result


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


# The methods that decide the structure of the logs a step returns: where a
# model overrides none of them, its steps return ``get_metrics_result()``.
_LOG_METHODS = ("compute_metrics", "get_metrics_result")


def stock_logs(model, method):
    """Whether ``model``'s ``method`` ("train_step" or "test_step") returns
    ``model.get_metrics_result()``, as Keras's own does: neither it nor the
    methods it ends with are overridden."""
    return all(
        getattr(type(model), name) is getattr(keras.Model, name)
        for name in (method, *_LOG_METHODS)
    )


def _steps_loop(step, first, last, logs=None):
    """``step(i)`` for each ``i`` in ``[first, last)`` in a
    ``tf.while_loop``; the logs of the last step.

    The loop carries the logs, so it needs their structure before it runs:
    ``logs`` gives it (a model's ``get_metrics_result()`` where its steps
    return that). Otherwise the first step runs outside the loop, to learn
    the structure of whatever the model's step returns; ``step`` is then
    traced twice, which cost a first fit 0.4 s (an MLP on ``load_digits``)
    to about 1 s (the default CNN) here.
    """
    if logs is None:
        logs = step(first)
        first = first + 1

    def body(i, _):
        return i + 1, step(i)

    _, logs = tf.while_loop(lambda i, _: i < last, body, (first, logs))
    return logs


def compiled_functions(model, batch_size, jit_compile, schedule=None):
    """The compiled ``train``, ``tail`` and ``evaluate`` of a compiled model.

    ``train(tensors, n, order, first, last, step0, total, peak)`` runs
    steps ``first`` to ``last - 1`` of an epoch through ``model.train_step``
    and returns the logs of the last; under ``jit_compile`` they must be
    full batches, and ``tail`` (the same, without XLA) runs the short last
    batch. With a ``schedule`` (one of ``SCHEDULES``), each step first sets
    the optimizer's learning rate for step ``step0 + i`` of the ``total``
    steps of the fit, peaking at ``peak``. ``evaluate(tensors, n, size,
    first, last)`` runs ``model.test_step`` on batches ``first`` to
    ``last - 1`` of ``size`` of the first ``n`` rows and returns the logs of
    the last.
    """
    optimizer = model.optimizer
    # Such steps start the loop from ``get_metrics_result()``, read at trace
    # time inside the compiled function: only its structure matters.
    stock_train = stock_logs(model, "train_step")
    stock_test = stock_logs(model, "test_step")

    def make_train(static):
        def train(tensors, n, order, first, last, step0, total, peak):
            def step(i):
                if schedule is not None:
                    rate = scheduled_rate(schedule, step0 + i, total, peak)
                    optimizer.learning_rate.assign(rate)
                start = i * batch_size
                if static:  # a full batch, of a shape XLA knows
                    index = tf.slice(order, [start], [batch_size])
                else:
                    index = order[start : tf.minimum(start + batch_size, n)]
                return model.train_step(tuple(take(t, index) for t in tensors))

            logs = model.get_metrics_result() if stock_train else None
            return _steps_loop(step, first, last, logs)

        return train

    def evaluate(tensors, n, size, first, last):
        def step(i):
            start = i * size
            stop = tf.minimum(start + size, n)
            batch = tuple(span(t, start, stop) for t in tensors)
            return model.test_step(batch)

        logs = model.get_metrics_result() if stock_test else None
        return _steps_loop(step, first, last, logs)

    def compiled(function, jit):
        return tf.function(function, jit_compile=jit, reduce_retracing=True)

    train = compiled(make_train(jit_compile), jit_compile)
    tail = compiled(make_train(False), False) if jit_compile else train
    return train, tail, compiled(evaluate, False)


def _row_spec(tensor):
    """A tensor's spec with any number of rows (``sparse_rows`` too)."""
    if isinstance(tensor, tuple):
        values, columns, width = tensor
        return (
            tf.RaggedTensorSpec([None, None], values.dtype, 1, tf.int64),
            tf.RaggedTensorSpec([None, None], columns.dtype, 1, tf.int64),
            tf.TensorSpec(width.shape, width.dtype),
        )
    return tf.TensorSpec([None, *tensor.shape[1:]], tensor.dtype)


def trace_for_any_rows(functions, plan, train, val):
    """Trace the calls that run without XLA once for any number of rows.

    A first call traces for its row count, and a second count (the next
    fold of a cross-validation) would trace again, relaxed: here the one
    relaxed trace is made first, and every later call runs it. (XLA's
    calls keep static shapes: their rows are bucketed instead.)
    """
    scalar = tf.TensorSpec([], tf.int32)
    train_call, tail, evaluate = functions
    calls = [tail] if plan.jit_compile else [train_call]
    specs = tuple(_row_spec(t) for t in train.tensors)
    order = tf.TensorSpec([None], tf.int32)
    rate = tf.TensorSpec([], tf.float32)
    for call in calls:
        call.get_concrete_function(
            specs, scalar, order, scalar, scalar, scalar, scalar, rate
        )
    if val is not None:
        val_specs = tuple(_row_spec(t) for t in val.tensors)
        evaluate.get_concrete_function(val_specs, scalar, scalar, scalar, scalar)


# -- trainers and their reuse -------------------------------------------------


class Trainer:
    """A compiled Keras model and its compiled functions.

    ``model`` is compiled (optimizer, loss, metrics) and of the class the
    user's model has; its metrics are those ``fit`` would log.
    """

    shared = True

    def __init__(self, model):
        self.model = model
        self._functions = {}
        self._built = False
        optimizer = model.optimizer
        optimizer.build(model.trainable_variables)
        self._initial_optimizer_state = [v.numpy() for v in optimizer.variables]

    def build(self, tensors):
        """Create the compiled loss's and metrics' variables before tracing
        (a compiled loop cannot create them), as ``fit`` does, on a batch of
        the shapes of ``tensors``."""
        if self._built:
            return
        _compat.symbolic_build(self.model, tuple(span(t, 0, 1) for t in tensors))
        self._built = True

    def functions(self, batch_size, jit_compile, schedule=None):
        """The compiled ``(train, tail, evaluate)`` for batches of
        ``batch_size``."""
        key = (batch_size, jit_compile, schedule)
        if key not in self._functions:
            self._functions[key] = compiled_functions(
                self.model, batch_size, jit_compile, schedule
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


def assign_optimizer_state(model, values):
    """Give ``model``'s (compiled) optimizer a state that
    ``Trainer.optimizer_state`` read, building it first."""
    optimizer = model.optimizer
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    _assign(optimizer.variables, values)


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


def _layer_classes(model):
    """The classes of ``model``'s layers, nested models' included, by name."""
    classes = {}
    for layer in getattr(model, "layers", None) or ():
        classes[type(layer).__name__] = type(layer)
        classes.update(_layer_classes(layer))
    return classes


def clone(model):
    """A new model like ``model``, of its own class, with new variables and
    not compiled.

    Built by the class's ``from_config`` (Keras's ``clone_model`` rebuilds a
    subclass of ``Sequential`` or of a functional model as the plain class,
    and compiles the clone from the compile config, which an unregistered
    custom metric or loss cannot be rebuilt from); custom layers need no
    registration, as with ``clone_model``. Raises ``TypeError``,
    ``ValueError`` or ``NotImplementedError`` for a model that its config
    cannot rebuild.
    """
    kind = type(model)
    with keras.saving.custom_object_scope(_layer_classes(model)):
        new = kind.from_config(model.get_config())
    if type(new) is not kind:  # pragma: no cover - a from_config of another class
        raise TypeError(f"{kind.__name__}.from_config returned {type(new).__name__}")
    return new


def new_trainer(model, compile_args, sample):
    """A trainer for fits of ``model``'s architecture.

    It trains a clone of ``model`` (of its class) compiled with
    ``compile_args`` (a function returning ``compile``'s arguments, new
    objects each call), built on a batch of ``sample`` (one sample's
    arrays). A model that cannot be cloned trains itself; such a trainer is
    never shared with other fits.
    """
    try:
        net = clone(model)
        if not net.built:
            net(np.zeros((1, *sample), np.float32))
        if [tuple(v.shape) for v in net.variables] != [
            tuple(v.shape) for v in model.variables
        ]:
            raise ValueError("the clone's variables differ from the model's")
    except (NotImplementedError, TypeError, ValueError):
        net = model
    net.compile(**compile_args())
    trainer = Trainer(net)
    trainer.shared = net is not model
    return trainer


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


def _validate(trainer, plan, hooks, evaluate, val):
    """The validation logs, with the test hooks around its calls, as
    ``fit``'s call of ``evaluate`` gives them (without the ``val_``
    prefix)."""
    size = plan.validation_batch_size or plan.batch_size
    steps = -(-val.n // size)
    per_call = plan.validation_steps_per_call or steps
    n, batch = tf.constant(val.n, tf.int32), tf.constant(size, tf.int32)
    hooks.on_test_begin()
    trainer.model.reset_metrics()
    logs = {}
    for first in range(0, steps, per_call):
        last = min(first + per_call, steps)
        hooks.on_test_batch_begin(first)
        bounds = tf.constant(first, tf.int32), tf.constant(last, tf.int32)
        out = evaluate(val.tensors, n, batch, *bounds)
        logs = _pythonify(out)
        hooks.on_test_batch_end(last - 1, dict(logs))
    hooks.on_test_end(dict(logs))
    return logs


def _train_epoch(trainer, plan, train, hooks, functions, order, epoch, counts):
    """One epoch's calls; the logs of the last."""
    model = trainer.model
    train_call, tail, _ = functions
    n, total, peak = counts
    step0 = (epoch - plan.initial_epoch) * plan.steps_per_epoch
    short = train.n % plan.batch_size and plan.jit_compile
    logs = {}
    for first in range(0, plan.steps_per_epoch, plan.steps_per_call):
        last = min(first + plan.steps_per_call, plan.steps_per_epoch)
        hooks.on_train_batch_begin(first)
        # Under XLA the full batches run in the XLA loop, a short last one
        # through the same steps without XLA.
        full_last = last - 1 if short and last == plan.steps_per_epoch else last
        for call, a, b in ((train_call, first, full_last), (tail, full_last, last)):
            if a < b:
                out = call(
                    train.tensors,
                    n,
                    order,
                    tf.constant(a, tf.int32),
                    tf.constant(b, tf.int32),
                    tf.constant(step0, tf.int32),
                    total,
                    peak,
                )
        logs = _pythonify(out)
        hooks.on_train_batch_end(last - 1, dict(logs))
        if model.stop_training:
            break
    return logs


def run(trainer, plan, train, val, callbacks, seed, verbose=0):
    """Train ``trainer.model`` as ``plan`` says; return Keras's ``History``.

    ``train`` and ``val`` (or None) are ``Rows``; ``callbacks`` are Keras
    callbacks, driven as ``fit`` drives them; ``seed`` draws each epoch's
    order of the rows (None keeps their order).
    """
    model = trainer.model
    functions = trainer.functions(plan.batch_size, plan.jit_compile, plan.lr_schedule)
    counts = (
        tf.constant(train.n, tf.int32),
        tf.constant(plan.n_epochs * plan.steps_per_epoch, tf.int32),
        tf.constant(plan.peak_lr or 0.0, tf.float32),
    )
    history = keras.callbacks.History()
    hooks = keras.callbacks.CallbackList(
        [*callbacks, history],
        add_progbar=verbose > 0,
        model=model,
        verbose=verbose,
        epochs=plan.epochs,
        steps=plan.steps_per_epoch,
    )
    trainer.build(train.tensors)
    trace_for_any_rows(functions, plan, train, val)
    model.stop_training = False
    _compat.set_resumed_epoch(model, None)
    hooks.on_train_begin()
    # BackupAndRestore sets the epoch to resume from in on_train_begin.
    initial_epoch = _compat.resumed_epoch(model) or plan.initial_epoch
    logs = None
    for epoch in range(initial_epoch, plan.epochs):
        model.reset_metrics()
        hooks.on_epoch_begin(epoch)
        order = tf.constant(epoch_order(train.n, train.rows, seed, epoch))
        epoch_logs = _train_epoch(
            trainer, plan, train, hooks, functions, order, epoch, counts
        )
        if val is not None:
            val_logs = _validate(trainer, plan, hooks, functions[2], val)
            epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
        hooks.on_epoch_end(epoch, epoch_logs)
        logs = epoch_logs
        if model.stop_training:
            break
    if plan.epochs > initial_epoch:
        model.optimizer.finalize_variable_values(model.trainable_weights)
    hooks.on_train_end(logs)
    return history
