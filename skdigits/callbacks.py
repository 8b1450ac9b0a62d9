"""Training rules as Keras callbacks.

They work on any compiled Keras model, and the estimators use them:

- :class:`LearningRateDrop` lowers the learning rate on a plateau;
- :class:`EarlyExit` stops at a target accuracy, on convergence, or on a
  NaN/infinite loss;
- :class:`BestModel` keeps the best weights in memory, restores them at the
  end, and optionally saves the best model to a ``.keras`` file.

Each watches one value of the epoch logs (``monitor``, an accuracy by
default), which improves upwards or downwards as ``mode`` says; ``"auto"``
asks Keras, as its own callbacks do at the first epoch's end: a loss goes
down, a compiled metric the way it declares (accuracies and AUCs up, errors
down), and a name Keras cannot tell is an error.

An epoch *improves* when the monitored value is strictly better than the best
so far, or equal to it with a loss lower by more than ``LOSS_TOLERANCE`` of
itself (``val_loss`` for a ``val_`` metric, ``loss`` for another, when the
logs have it): on small data the accuracy moves in coarse steps and ties for
many epochs while the network still gets better. A plateau of both is no
progress. Epoch numbers in the state of these callbacks are 1-based, as Keras
prints them.
"""

import inspect
import math
import os
import sys
import time
import weakref
from numbers import Integral, Real

import numpy as np

from skdigits import _compat
from skdigits._backend import keras
from skdigits._quiet import upstream_noise

__all__ = ["BestModel", "EarlyExit", "EpochReport", "LearningRateDrop"]

# A tie in accuracy counts as progress only if the loss fell by more than
# this share of itself (relative: a training loss near 0 keeps improving).
LOSS_TOLERANCE = 1e-4


def _check_int(name, value, *, allow_none=False):
    if value is None and allow_none:
        return
    if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


def _learning_rate(model):
    # Through the variable's numpy(): keras.ops.convert_to_numpy calls
    # np.array on a TensorFlow value, which NumPy 2.4 warns about.
    rate = model.optimizer.learning_rate
    return float(rate.numpy() if hasattr(rate, "numpy") else rate)


# Snapshots of the weights, one compiled read per model: an eager read costs
# about 0.1 ms a variable here, and EarlyExit takes a snapshot every epoch,
# which on load_digits is a few milliseconds (0.077 s of a 0.82 s fit of 100
# epochs). Kept per model, weakly: the estimators reuse their models.
_readers = weakref.WeakKeyDictionary()


def _weights(model):
    """A copy of ``model.get_weights()``, read in one compiled call."""
    if keras.backend.backend() != "tensorflow":
        return model.get_weights()
    from skdigits._backend import tf

    variables = model.weights
    key = tuple(id(v) for v in variables)
    reader = _readers.get(model)
    if reader is None or reader[0] != key:
        # Reads give tensors that later updates of the variables do not
        # change (TensorFlow copies a variable's buffer before writing it
        # while a read of it is alive).
        read = tf.function(lambda: [tf.identity(v.value) for v in variables])
        reader = _readers[model] = (key, read.get_concrete_function())
    return [t.numpy() for t in reader[1]()]


def _finite_loss(logs):
    loss = logs.get("loss")
    return loss is not None and math.isfinite(float(loss))


class _Repr:
    """A repr of the constructor's arguments, as scikit-learn estimators have."""

    def __repr__(self):
        names = inspect.signature(type(self).__init__).parameters
        args = ", ".join(
            f"{name}={getattr(self, name)!r}" for name in names if name != "self"
        )
        return f"{type(self).__name__}({args})"


MODES = ("auto", "min", "max")


class _Monitor(_Repr, keras.callbacks.Callback):
    """Reads the monitored value and tracks strict improvement."""

    def __init__(self, monitor, mode, verbose):
        super().__init__()
        if not isinstance(monitor, str):
            raise TypeError(f"monitor must be a metric name, got {monitor!r}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.monitor = monitor
        self.mode = mode
        self.verbose = verbose

    def _reset(self):
        self.best_ = math.nan
        self.best_loss_ = math.inf
        self.best_epoch_ = None
        self._sign = None

    def _direction(self):
        """+1 where higher is better, -1 where lower is (resolved once)."""
        if self._sign is None:
            mode = self.mode
            if mode == "auto":
                mode = _compat.monitor_mode(self.model, self.monitor)
            self._sign = 1.0 if mode == "max" else -1.0
        return self._sign

    def _needs_monitor(self):
        """Whether this rule acts on the monitored value (else it only keeps
        track of it, where the logs have it)."""
        return True

    def _monitored(self, logs):
        if self.monitor not in logs:
            if not self._needs_monitor():
                return None
            raise ValueError(
                f"{type(self).__name__} monitors {self.monitor!r}, but the "
                f"epoch logs only have {sorted(logs)}. Compile the model with "
                "that metric (metrics=['accuracy'] for the accuracy), and pass "
                "validation data to monitor a 'val_' one."
            )
        return float(logs[self.monitor])

    def _reached(self, value, target):
        return self._direction() * (value - target) >= 0

    def _improves(self, epoch, logs):
        """Record the epoch's value and tell whether it beats the best so far."""
        value = self._monitored(logs)
        if value is None:
            return False
        sign = self._direction()
        loss_key = "val_loss" if self.monitor.startswith("val_") else "loss"
        loss = math.inf
        if loss_key != self.monitor and loss_key in logs:
            loss = float(logs[loss_key])
        lower = loss < self.best_loss_ * (1 - LOSS_TOLERANCE)
        first = self.best_epoch_ is None
        if first or sign * value > sign * self.best_ or (value == self.best_ and lower):
            self.best_, self.best_loss_, self.best_epoch_ = value, loss, epoch + 1
            return True
        return False

    def _say(self, message):
        if self.verbose:
            print(f"{type(self).__name__}: {message}", flush=True)


class LearningRateDrop(_Monitor):
    """Multiply the learning rate by ``factor`` on a plateau.

    After ``patience`` epochs without improvement of ``monitor``, the
    optimizer's learning rate is multiplied by ``factor``, clamped at
    ``min_lr``, and the count starts again. Each epoch's learning rate is
    written to the logs as ``"learning_rate"`` (so it lands in the History).

    Parameters
    ----------
    monitor : str, default="val_accuracy"
        The value to watch in the epoch logs.
    patience : int, default=5
        Epochs without improvement before a drop.
    factor : float, default=0.1
        Multiplier, in (0, 1).
    min_lr : float, default=1e-6
        The learning rate never goes below this.
    verbose : int, default=0
        Print a line at each drop.
    mode : {"auto", "max", "min"}, default="auto"
        Whether ``monitor`` improves upwards or downwards; "auto" resolves
        it as Keras's callbacks do (see the module's docstring).

    Attributes
    ----------
    drops_ : list of (int, float)
        The epoch (1-based) after which each drop happened, and the new rate.

    Examples
    --------
    >>> from skdigits.callbacks import LearningRateDrop
    >>> rule = LearningRateDrop(monitor="accuracy", patience=2, factor=0.5)
    >>> rule.patience
    2
    """

    def __init__(
        self,
        monitor="val_accuracy",
        patience=5,
        factor=0.1,
        min_lr=1e-6,
        verbose=0,
        mode="auto",
    ):
        super().__init__(monitor, mode, verbose)
        _check_int("patience", patience)
        if not isinstance(factor, Real) or not 0 < factor < 1:
            raise ValueError(f"factor must be in (0, 1), got {factor!r}")
        if not isinstance(min_lr, Real) or min_lr < 0:
            raise ValueError(f"min_lr must be >= 0, got {min_lr!r}")
        self.patience = patience
        self.factor = factor
        self.min_lr = min_lr

    def on_train_begin(self, logs=None):
        self._reset()
        self.wait_ = 0
        self.drops_ = []

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        lr = _learning_rate(self.model)
        logs["learning_rate"] = lr
        if self._improves(epoch, logs):
            self.wait_ = 0
            return
        self.wait_ += 1
        if self.wait_ < self.patience:
            return
        self.wait_ = 0
        # The rate is stored in float32: compare there, or a clamped rate
        # would look above min_lr forever.
        if lr > np.float32(self.min_lr):
            new_lr = max(lr * self.factor, self.min_lr)
            # Keras raises a TypeError here for a LearningRateSchedule.
            self.model.optimizer.learning_rate = new_lr
            self.drops_.append((epoch + 1, new_lr))
            self._say(f"epoch {epoch + 1}: dropping learning rate to {new_lr:.3g}")


class EarlyExit(_Monitor):
    """Stop training at a target accuracy, on convergence, or on NaN.

    Training stops when the monitored value reaches ``target`` (at least it,
    or at most for a value that improves downwards; ``"target_accuracy"``),
    after ``patience`` epochs without improvement
    (``"converged"``), or when the epoch's loss is NaN or infinite
    (``"nan"``); in that last case the weights of the last good epoch are
    put back. When another callback stopped training first (a
    ``keras.callbacks.EarlyStopping``, say) the reason is ``"callback"``;
    otherwise ``"max_epochs"``.

    Parameters
    ----------
    monitor : str, default="val_accuracy"
        The value to watch in the epoch logs.
    target : float or None, default=0.999
        Stop once the value reaches this; None disables it.
    patience : int or None, default=10
        Epochs without improvement before stopping; None disables it.
    verbose : int, default=0
        Print a line when stopping.
    mode : {"auto", "max", "min"}, default="auto"
        Whether ``monitor`` improves upwards or downwards; "auto" resolves
        it as Keras's callbacks do (see the module's docstring).

    Attributes
    ----------
    stop_reason_ : str
        ``"max_epochs"``, ``"target_accuracy"``, ``"converged"``, ``"nan"``
        or ``"callback"``.
    stopped_epoch_ : int or None
        The epoch (1-based) at which the rule stopped training.

    Examples
    --------
    >>> from skdigits.callbacks import EarlyExit
    >>> EarlyExit(target=0.99, patience=3).target
    0.99
    """

    def __init__(
        self, monitor="val_accuracy", target=0.999, patience=10, verbose=0, mode="auto"
    ):
        super().__init__(monitor, mode, verbose)
        if target is not None and (
            not isinstance(target, Real)
            or isinstance(target, bool)
            or not math.isfinite(target)
        ):
            raise ValueError(f"target must be a finite number or None, got {target!r}")
        _check_int("patience", patience, allow_none=True)
        self.target = target
        self.patience = patience

    def on_train_begin(self, logs=None):
        self._reset()
        self.wait_ = 0
        self.stop_reason_ = None
        self.stopped_epoch_ = None
        self._good_weights = _weights(self.model)

    def _needs_monitor(self):
        return self.target is not None or self.patience is not None

    def _stop(self, epoch, reason, message):
        self.stop_reason_ = reason
        self.stopped_epoch_ = epoch + 1
        self.model.stop_training = True
        self._say(f"epoch {epoch + 1}: {message}")

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        if not _finite_loss(logs):
            self.model.set_weights(self._good_weights)
            self._stop(epoch, "nan", f"loss is {logs.get('loss')}, weights restored")
            return
        self._good_weights = _weights(self.model)
        value = self._monitored(logs)
        if value is None:
            return
        if self._improves(epoch, logs):
            self.wait_ = 0
        else:
            self.wait_ += 1
        if self.target is not None and self._reached(value, self.target):
            self._stop(
                epoch, "target_accuracy", f"{self.monitor} reached {self.target}"
            )
        elif self.patience is not None and self.wait_ >= self.patience:
            self._stop(
                epoch,
                "converged",
                f"no improvement of {self.monitor} for {self.patience} epochs",
            )

    def on_train_end(self, logs=None):
        if self.stop_reason_ is None:
            # Keras clears stop_training when fit starts: set now, another
            # callback stopped training before the last epoch.
            stopped = bool(getattr(self.model, "stop_training", False))
            self.stop_reason_ = "callback" if stopped else "max_epochs"
        self._good_weights = None


class BestModel(_Monitor):
    """Keep the best weights in memory; restore them, and save the best model.

    Parameters
    ----------
    monitor : str, default="val_accuracy"
        The value to watch in the epoch logs.
    filepath : str, os.PathLike or None, default=None
        Where to save the best model (a ``.keras`` file, written at each
        improvement); None keeps it in memory only.
    restore : bool, default=True
        Put the best weights back at the end of training.
    verbose : int, default=0
        Print a line at each improvement.
    mode : {"auto", "max", "min"}, default="auto"
        Whether ``monitor`` improves upwards or downwards; "auto" resolves
        it as Keras's callbacks do (see the module's docstring).

    Attributes
    ----------
    best_ : float
        The best monitored value (NaN before the first epoch).
    best_epoch_ : int or None
        Its epoch (1-based).
    improved_ : bool
        Whether the last epoch improved.

    Examples
    --------
    >>> from skdigits.callbacks import BestModel
    >>> BestModel(filepath="best.keras").restore
    True
    """

    def __init__(
        self,
        monitor="val_accuracy",
        filepath=None,
        restore=True,
        verbose=0,
        mode="auto",
    ):
        super().__init__(monitor, mode, verbose)
        if filepath is not None:
            if not isinstance(filepath, str | os.PathLike):
                raise TypeError(f"filepath must be a path or None, got {filepath!r}")
            if not os.fspath(filepath).endswith(".keras"):
                raise ValueError(
                    f"filepath must end in '.keras' (Keras's format), got {filepath!r}"
                )
        self.filepath = filepath
        self.restore = restore

    def _needs_monitor(self):
        return self.restore or self.filepath is not None

    def on_train_begin(self, logs=None):
        self._reset()
        self.improved_ = False
        self._best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        self.improved_ = _finite_loss(logs) and self._improves(epoch, logs)
        if not self.improved_:
            return
        self._best_weights = _weights(self.model)
        message = f"epoch {epoch + 1}: new best {self.monitor} {self.best_:.4f}"
        if self.filepath is not None:
            folder = os.path.dirname(os.fspath(self.filepath))
            if folder:
                os.makedirs(folder, exist_ok=True)
            with upstream_noise():
                self.model.save(self.filepath)
            message += f", saved to {os.fspath(self.filepath)}"
        self._say(message)

    def on_train_end(self, logs=None):
        if self.restore and self._best_weights is not None:
            self.model.set_weights(self._best_weights)
        self._best_weights = None

    @property
    def best_score_(self):
        """The best monitored value, NaN when no epoch had a finite loss (or
        the logs never had it)."""
        return self.best_ if self.best_epoch_ is not None else np.nan


def _duration(seconds):
    """A short human reading of a duration: "48 s", "3 min 05 s", "1 h 02 min"."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class EpochReport(_Repr, keras.callbacks.Callback):
    """One line per epoch in the model zoo's spirit, then why training stopped.

    Each line gives the epoch's loss and accuracies, its time and an estimate
    of the time left (the mean epoch so far, times the epochs to go). On a
    terminal (``progress``), a bar shows how far the epoch is, redrawn in
    place at each compiled call; elsewhere (a log file, a notebook) only the
    lines are written. It reads the state of the rule callbacks it is given
    (which must come before it in the callback list), and records each
    epoch's learning rate in ``rates_`` (the logs' ``"learning_rate"``
    where a callback logged it), leaving the logs as they are.

    Parameters
    ----------
    early_exit : EarlyExit
        The rule whose ``stop_reason_`` the last line reports.
    best : BestModel
        The rule whose improvements and best epoch the lines report.
    lr_drop : LearningRateDrop or None, default=None
        The rule whose drops the lines report.
    epochs : int or None, default=None
        The number of epochs asked for, printed as "Epoch k/epochs".
    verbose : int, default=0
        0 prints nothing (the learning rate is still logged).
    progress : bool or None, default=None
        Draw the bar within an epoch; None draws it when standard output is
        a terminal.

    Examples
    --------
    >>> from skdigits.callbacks import BestModel, EarlyExit, EpochReport
    >>> EpochReport(early_exit=EarlyExit(), best=BestModel(), epochs=5).epochs
    5
    """

    def __init__(
        self, *, early_exit, best, lr_drop=None, epochs=None, verbose=0, progress=None
    ):
        super().__init__()
        self.early_exit = early_exit
        self.best = best
        self.lr_drop = lr_drop
        self.epochs = epochs
        self.verbose = verbose
        self.progress = progress

    def on_train_begin(self, logs=None):
        self._times = []
        self.rates_ = []
        self._bar = self.progress
        if self._bar is None:
            self._bar = bool(self.verbose) and sys.stdout.isatty()

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        steps = (self.params or {}).get("steps")
        if not (self.verbose and self._bar and steps):
            return
        done = batch + 1
        width = 30
        filled = int(width * done / steps)
        elapsed = time.perf_counter() - self._start
        left = elapsed * (steps - done) / done
        print(
            f"\r  [{'=' * filled}{'.' * (width - filled)}] {done}/{steps} steps,"
            f" {_duration(left)} left in this epoch   ",
            end="",
            flush=True,
        )

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        # LearningRateDrop (or Keras's ReduceLROnPlateau) may have logged it.
        self.rates_.append(logs.get("learning_rate", _learning_rate(self.model)))
        self._times.append(time.perf_counter() - self._start)
        if not self.verbose:
            return
        of = "" if self.epochs is None else f"/{self.epochs}"
        parts = [f"Epoch {epoch + 1}{of}: loss {float(logs['loss']):.4f}"]
        parts += [
            f"{key} {float(logs[key]):.4f}"
            for key in ("accuracy", "val_accuracy")
            if key in logs
        ]
        parts.append(_duration(self._times[-1]))
        if self.epochs is not None and epoch + 1 < self.epochs:
            mean = sum(self._times) / len(self._times)
            parts.append(f"about {_duration(mean * (self.epochs - epoch - 1))} left")
        line = ", ".join(parts)
        if self.best.improved_:
            line += " - new best"
            if self.best.filepath is not None:
                line += f", saving to {self.best.filepath}"
        if self.lr_drop is not None and self.lr_drop.drops_:
            dropped_at, new_lr = self.lr_drop.drops_[-1]
            if dropped_at == epoch + 1:
                line += f" - dropping learning rate to {new_lr:.3g}"
        if self._bar:
            print("\r\x1b[2K", end="")  # the bar's line, cleared
        print(line, flush=True)

    def on_train_end(self, logs=None):
        if not self.verbose:
            return
        monitor = self.early_exit.monitor
        reason = self.early_exit.stop_reason_
        why = {
            "max_epochs": f"reached the maximum of {self.epochs} epochs",
            "target_accuracy": f"{monitor} reached {self.early_exit.target}",
            "converged": (
                f"converged: no improvement of {monitor} for "
                f"{self.early_exit.patience} epochs"
            ),
            "nan": "the loss became NaN or infinite; last good weights restored",
            "callback": "a callback stopped training",
        }[reason]
        line = f"Stopped: {why}."
        if self.best.best_epoch_ is not None:
            line += (
                f" Best {self.best.monitor} {self.best.best_:.4f} at epoch "
                f"{self.best.best_epoch_}"
            )
            line += " (weights restored)." if self.best.restore else "."
        print(line, flush=True)
