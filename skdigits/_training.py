"""The training step of a fit: the rules as callbacks, the engine lease, and
Keras's own ``fit`` where the engine cannot honour a model.

Everything here works on plain data (a model, its compile arguments, the
frozen plan, the fit's rows) and knows nothing of the estimator's kind.
"""

import contextlib
import dataclasses
import signal
import threading

import numpy as np
import scipy.sparse as sp

from skdigits import _compile, _engine
from skdigits._backend import keras, tf
from skdigits._compat import released_custom_gradients
from skdigits._quiet import upstream_noise
from skdigits.callbacks import BestModel, EarlyExit, EpochReport, LearningRateDrop


@dataclasses.dataclass(frozen=True)
class Rules:
    """The training rules' settings of a fit (off where None)."""

    monitor: str
    lr_patience: int | None = None
    lr_factor: float = 0.1
    min_lr: float = 1e-6
    patience: int | None = None
    target: float | None = None
    restore_best_weights: bool = False
    checkpoint_path: object = None

    @property
    def any_on(self):
        return (
            self.lr_patience is not None
            or self.patience is not None
            or self.target is not None
            or self.restore_best_weights
        )


@dataclasses.dataclass
class Trained:
    """What training returns: Keras's history, the trained variables and
    optimizer state (None where they are in the model), the rules."""

    history: object
    weights: list | None
    optimizer_state: list | None
    early_exit: EarlyExit
    best: BestModel
    callbacks: list


@contextlib.contextmanager
def uninterrupted():
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


def rule_callbacks(rules, on, callbacks, total_epochs, verbose):
    """The callbacks of a fit, in order: the training rules (those ``on``),
    the user's ``callbacks``, the epoch report; and the ``EarlyExit`` and
    ``BestModel`` rules."""
    monitor = rules.monitor
    lr_drop = None
    if on and rules.lr_patience is not None:
        lr_drop = LearningRateDrop(
            monitor, rules.lr_patience, rules.lr_factor, rules.min_lr
        )
    early_exit = EarlyExit(
        monitor,
        target=rules.target if on else None,
        patience=rules.patience if on else None,
    )
    best = BestModel(
        monitor,
        filepath=rules.checkpoint_path if on else None,
        restore=on and rules.restore_best_weights,
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


def untrained(rules, plan):
    """What ``initialize`` records in place of training."""
    history = keras.callbacks.History()
    history.history, history.epoch = {}, []
    _, early_exit, best = rule_callbacks(rules, False, [], plan.epochs, 0)
    for rule in (early_exit, best):
        rule._reset()
    early_exit.stop_reason_ = early_exit.stopped_epoch_ = None
    return Trained(history, None, None, early_exit, best, [])


def keras_fit_reason(model, compile_args):
    """Why Keras's own ``fit`` must train ``model`` rather than the engine
    (its class overrides ``fit``, or it runs eagerly), or None."""
    if type(model).fit is not keras.Model.fit:
        return f"{type(model).__name__} overrides fit()"
    if compile_args.get("run_eagerly"):
        return "the model runs eagerly (run_eagerly=True)"
    return None


def train(model, compile_args, plan, rows, rules, callbacks, how):
    """Train as ``plan`` says, on a trainer of ``model``'s architecture (or
    through Keras's own ``fit`` where the engine cannot honour the model).

    ``rows`` is ``(train, val)``, each ``(X, Y, weights)`` or val None;
    ``how`` holds ``seed``, ``verbose``, ``warm``, ``partial`` and
    ``weighted``.
    """
    ordered, early_exit, best = rule_callbacks(
        rules, not how["partial"], callbacks, plan.epochs, how["verbose"]
    )
    if keras_fit_reason(model, compile_args) is not None:
        history = _keras_fit(model, compile_args, plan, rows, ordered, how)
        weights = state = None
    else:
        history, weights, state = _engine_fit(
            model, compile_args, plan, rows, ordered, callbacks, how
        )
    _record_rates(history, ordered[-1])
    return Trained(history, weights, state, early_exit, best, callbacks)


def _engine_fit(model, compile_args, plan, rows, ordered, callbacks, how):
    train_set, val_set = rows
    weighted = how["weighted"]
    multiple = plan.batch_size if plan.jit_compile else None
    train_rows = _engine.Rows(
        train_set[0], train_set[1], train_set[2] if weighted else None, multiple
    )
    val_rows = None
    if val_set is not None:
        val_rows = _engine.Rows(
            val_set[0], val_set[1], val_set[2] if weighted else None
        )
    sample = train_set[0].shape[1:]
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
        trainer.load(model, state, _compile.learning_rate_of(compile_args["optimizer"]))
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
        return history, None, None  # already in the model
    return history, weights, state


def _record_rates(history, report):
    """``history_``'s "learning_rate": the epochs' rates the report read,
    where no callback logged them (the logs stay as ``fit`` makes them)."""
    if "learning_rate" not in history.history:
        history.history["learning_rate"] = list(report.rates_)


def _dataset(x, y, w):
    """A ``tf.data`` dataset of the rows; a sparse ``x`` stays sparse until
    its batches are made dense."""
    if sp.issparse(x):
        coo = x.tocoo()
        x = tf.sparse.reorder(
            tf.SparseTensor(
                np.column_stack([coo.row, coo.col]).astype(np.int64),
                coo.data.astype(np.float32),
                coo.shape,
            )
        )
    return tf.data.Dataset.from_tensor_slices((x, y) if w is None else (x, y, w))


def _dense_batches(*batch):
    return tuple(
        tf.sparse.to_dense(t) if isinstance(t, tf.SparseTensor) else t for t in batch
    )


def _keras_fit(model, compile_args, plan, rows, callbacks, how):
    """Train ``model`` in place with Keras's own ``fit``, as the plan says,
    and return the history. The rows are shuffled by a ``tf.data`` shuffle
    seeded from the fit's seed, so that a fit is reproducible without
    global seeds."""
    snapshot = None
    if how["warm"] and model.compiled:  # the fitted model: put back on failure
        snapshot = (
            [np.asarray(v.numpy()) for v in model.variables],
            [np.asarray(v.numpy()) for v in model.optimizer.variables],
        )
    else:
        model.compile(**_compile.fresh(compile_args))
    (x, y, w), val = rows
    data = _dataset(x, y, w if how["weighted"] else None)
    if how["seed"] is not None:
        data = data.shuffle(x.shape[0], seed=how["seed"], reshuffle_each_iteration=True)
    validation = None
    if val is not None:
        validation = _dataset(*val[:2], val[2] if how["weighted"] else None)
        size = plan.validation_batch_size or plan.batch_size
        validation = validation.batch(size).map(_dense_batches)
    try:
        with released_custom_gradients(), upstream_noise():
            return model.fit(
                data.batch(plan.batch_size).map(_dense_batches),
                shuffle=False,  # shuffled above, seeded
                epochs=plan.epochs,
                initial_epoch=plan.initial_epoch,
                validation_data=validation,
                callbacks=callbacks,
                verbose=1 if how["verbose"] >= 2 else 0,
            )
    except BaseException:
        if snapshot is not None:
            _engine.assign_weights(model, snapshot[0])
            _engine.assign_optimizer_state(model, snapshot[1])
        raise


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


def install(model, compile_args, weights, optimizer_state):
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
