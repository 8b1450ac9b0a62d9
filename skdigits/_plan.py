"""The fit plan: what one fit does, decided once before anything trains.

Nothing here imports Keras: the plan is made from the estimator's
parameters and the size of the data, then handed to the engine.
"""

import dataclasses
import math

from skdigits import _tuning


@dataclasses.dataclass(frozen=True)
class FitPlan:
    """What one fit does.

    ``epochs`` is the last epoch to train (Keras's ``epochs`` of ``fit``),
    starting after ``initial_epoch``; each epoch runs ``steps_per_epoch``
    batches of ``batch_size`` rows, ``steps_per_call`` of them per compiled
    call (Keras's ``steps_per_execution``: batch-level callback hooks run
    once per call), the whole call XLA-compiled when ``jit_compile``; the
    validation rows are scored in batches of ``validation_batch_size``,
    ``validation_steps_per_call`` of them per call (None: all in one).
    """

    batch_size: int
    gd_variant: str
    initial_epoch: int
    epochs: int
    steps_per_epoch: int
    steps_per_call: int
    jit_compile: bool
    lr_schedule: str | None = None
    peak_lr: float | None = None
    validation_batch_size: int | None = None
    validation_steps_per_call: int | None = None

    @property
    def n_epochs(self):
        """The number of epochs this fit may train."""
        return self.epochs - self.initial_epoch


def auto_batch_size(n_samples):
    """``batch_size="auto"``: see the constants in ``_tuning``."""
    batch = _tuning.AUTO_BATCH_MAX
    while (
        batch > _tuning.AUTO_BATCH_MIN
        and n_samples < batch * _tuning.AUTO_MIN_STEPS_PER_EPOCH
    ):
        batch //= 2
    return batch


def auto_epochs(steps_per_epoch, scheduled=False, least=None, steps=None):
    """``epochs="auto"``: enough epochs for ``AUTO_STEPS`` steps, bounded.

    At least ``least`` epochs where given; else ``AUTO_EPOCHS_MIN`` with a
    constant learning rate (the plateau rules need epochs to act on),
    ``AUTO_EPOCHS_MIN_SCHEDULED`` with a schedule that decays to the end of
    the fit.
    """
    wanted = math.ceil((steps or _tuning.AUTO_STEPS) / steps_per_epoch)
    if least is None:
        least = (
            _tuning.AUTO_EPOCHS_MIN_SCHEDULED if scheduled else _tuning.AUTO_EPOCHS_MIN
        )
    return min(_tuning.AUTO_EPOCHS_MAX, max(least, wanted))


def validation_fraction(fraction, n_samples, *, wanted=False, rules=True):
    """The share of ``n_samples`` rows to hold out.

    ``"auto"`` holds out ``AUTO_VALIDATION_FRACTION`` when ``wanted`` (a
    callback monitors a validation metric), or when training ``rules`` are
    on and that makes at least ``AUTO_MIN_VALIDATION_ROWS`` rows; otherwise
    nothing (every row trains).
    """
    if fraction != "auto":
        return fraction
    held_out = n_samples * _tuning.AUTO_VALIDATION_FRACTION
    if wanted or (rules and held_out >= _tuning.AUTO_MIN_VALIDATION_ROWS):
        return _tuning.AUTO_VALIDATION_FRACTION
    return 0.0


def resolve_batch_size(batch_size, n_samples):
    """The batch size actually used, and the gradient-descent variant."""
    if batch_size == "auto":
        batch_size = auto_batch_size(n_samples)
    if batch_size == 1:
        return 1, "stochastic"
    if batch_size is None or batch_size == -1 or batch_size >= n_samples:
        return n_samples, "batch"
    return int(batch_size), "mini-batch"


def make_plan(
    *,
    batch_size,
    epochs,
    n_samples,
    initial_epoch=0,
    dense_stack=False,
    jit="auto",
    lr_schedule=None,
    peak_lr=None,
    steps_per_execution="auto",
    validation_batch_size=None,
    min_auto_epochs=None,
    auto_steps=None,
):
    """The plan of a fit on ``n_samples`` training rows.

    ``batch_size`` and ``epochs`` are the estimator's parameters (an int or
    "auto"; ``epochs`` counts from ``initial_epoch``). ``jit="auto"``
    compiles with XLA a stack of dense layers (``dense_stack``: XLA's
    fused steps are cheaper there, while convolutions run faster on
    TensorFlow's oneDNN kernels) when the fit may run ``MIN_STEPS_FOR_XLA``
    steps. A call runs a whole epoch of a dense stack (its steps cost less
    than a call), or ``ROWS_PER_CALL`` rows of any other model (so that
    progress shows and callbacks hear from the fit). ``lr_schedule`` (see
    ``_engine.scheduled_rate``) peaks at ``peak_lr`` and spans this fit's
    steps.
    """
    batch, variant = resolve_batch_size(batch_size, n_samples)
    steps = math.ceil(n_samples / batch)
    if epochs == "auto":
        epochs = auto_epochs(
            steps,
            scheduled=lr_schedule is not None,
            least=min_auto_epochs,
            steps=auto_steps,
        )
    if jit == "auto":
        jit = dense_stack and steps * epochs >= _tuning.MIN_STEPS_FOR_XLA
    val_per_call = None
    if steps_per_execution != "auto":  # as Keras's evaluate, validation too
        per_call = min(steps, int(steps_per_execution))
        val_per_call = int(steps_per_execution)
    elif dense_stack:
        per_call = steps
    else:
        per_call = max(1, min(steps, _tuning.ROWS_PER_CALL // batch))
    return FitPlan(
        batch_size=batch,
        gd_variant=variant,
        initial_epoch=int(initial_epoch),
        epochs=int(initial_epoch + epochs),
        steps_per_epoch=steps,
        steps_per_call=per_call,
        jit_compile=bool(jit),
        lr_schedule=lr_schedule,
        peak_lr=None if lr_schedule is None else float(peak_lr),
        validation_batch_size=int(validation_batch_size or batch),
        validation_steps_per_call=val_per_call,
    )
