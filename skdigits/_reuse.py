"""Compiled Keras models reused across fits of the same architecture.

A fresh Keras model traces its train function on its first ``fit`` (and
with XLA compiles it): 0.3-2.5 s, against a few milliseconds per step on
small data. A grid search or a cross-validation fits the same architecture
on data of the same shape again and again, so the estimators train a
*trainer*, a compiled model taken from this cache, instead of their own
model: its weights, non-trainable state and optimizer state are set from
the fit's fresh model before training and copied back after, so a fit on a
reused trainer computes exactly what it would on a new one.

The cache holds at most ``TRAINER_CACHE_SIZE`` idle trainers per process
(least recently used first out); a trainer is used by one fit at a time.
"""

import collections
import threading

import numpy as np

from skdigits import _tuning

_lock = threading.Lock()
_idle = collections.OrderedDict()  # key -> list of idle Trainer


class Trainer:
    """A compiled Keras model and the optimizer state it started with.

    ``train_epoch`` is the model's compiled epoch function, where the fit
    trains through one (see _epoch), else None.
    """

    def __init__(self, model, train_epoch=None):
        self.model = model
        self.train_epoch = train_epoch
        optimizer = model.optimizer
        optimizer.build(model.trainable_variables)
        self._initial_optimizer_state = [v.numpy() for v in optimizer.variables]

    def load(self, model, optimizer_state=None, learning_rate=None):
        """Start from ``model``'s variables and a fresh (or given) optimizer."""
        _copy_variables(model.variables, self.model.variables)
        state = optimizer_state
        if state is None:
            state = self._initial_optimizer_state
        _assign(self.model.optimizer.variables, state)
        if learning_rate is not None and optimizer_state is None:
            self.model.optimizer.learning_rate = learning_rate

    def store(self, model):
        """Copy the trained variables to ``model``; return the optimizer state."""
        _copy_variables(self.model.variables, model.variables)
        return [v.numpy() for v in self.model.optimizer.variables]


def _assign(variables, values):
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


def acquire(key, build):
    """An idle trainer for ``key``, or the new one that ``build()`` returns."""
    with _lock:
        trainers = _idle.get(key)
        if trainers:
            _idle.move_to_end(key)
            return trainers.pop()
    return build()


def release(key, trainer):
    """Give ``trainer`` back for later fits of ``key``."""
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
