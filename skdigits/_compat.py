"""Every private name of TensorFlow, Keras and scikit-learn that skdigits uses.

Each is here because no public API does the job; tests/test_compat.py fails
when one disappears or stops working, so that an upgrade fails loudly.
"""

import contextlib
import warnings

# scikit-learn's tools for third-party estimators live in private modules;
# its developer guide tells estimator authors to use them.
# - _fit_context: validates the parameters against _parameter_constraints
#   once per fit, and skips nested validation (sklearn >= 1.3).
# - _param_validation: the constraint types of _parameter_constraints.
# - _check_sample_weight: validation of sample_weight, as every scikit-learn
#   estimator does it (non-negative, the right length, a float dtype).
from sklearn.base import _fit_context  # noqa: F401
from sklearn.utils._param_validation import Interval, Options, StrOptions  # noqa: F401
from sklearn.utils.validation import _check_sample_weight  # noqa: F401


def _gradient_registry():
    """TensorFlow's global registry of gradient functions, or None.

    Keras's TensorFlow optimizer all-reduces the gradients even under the
    default strategy, and each trace of that registers a ``CustomGradient-N``
    entry here that is never removed: it keeps the traced graph alive, about
    5 MB a fit (keras-team/keras#17458; seen with TensorFlow 2.16-2.21).
    TensorFlow has no public API to unregister a gradient.
    """
    try:
        from tensorflow.python.framework import ops

        return ops._gradient_registry._registry
    except (ImportError, AttributeError):
        return None


_warned = False


@contextlib.contextmanager
def released_custom_gradients():
    """Forget the custom gradients that TensorFlow registers while tracing.

    An entry is only read while the backward pass is traced, so the ones
    registered during a fit can go once it returns. Where the registry is
    not found (a newer TensorFlow), this warns once that fits may keep
    memory, and does nothing.
    """
    global _warned
    registry = _gradient_registry()
    if registry is None:
        if not _warned:
            _warned = True
            warnings.warn(
                "skdigits cannot find TensorFlow's gradient registry in this "
                "TensorFlow version; each new trace may keep a few MB alive "
                "(keras-team/keras#17458).",
                RuntimeWarning,
                stacklevel=3,
            )
        yield
        return
    before = set(registry)
    try:
        yield
    finally:
        for name in set(registry) - before:
            if name.startswith("CustomGradient-"):
                registry.pop(name, None)


# -- Keras's fit, where the engine does what it does --------------------------


def symbolic_build(model, data_batch):
    """Create a compiled model's loss, metric and optimizer variables on
    symbolic tensors of ``data_batch``'s shapes, as ``fit`` does before it
    traces its step (``Trainer._symbolic_build``, private): a compiled loop
    cannot create variables."""
    model._symbolic_build(data_batch=data_batch)


def resumed_epoch(model):
    """The epoch ``BackupAndRestore`` resumes from, set on the model in its
    ``on_train_begin`` (``Trainer._initial_epoch``, which ``fit`` reads)."""
    return getattr(model, "_initial_epoch", None)


def set_resumed_epoch(model, epoch):
    """Clear (or set) that epoch, as a new ``Trainer`` starts with None: a
    reused trainer must not resume a fit of an earlier estimator."""
    model._initial_epoch = epoch


def compile_arguments(model):
    """The arguments ``model.compile`` was given, as given: names, classes,
    functions and objects (``Trainer._compile_config``, private). The public
    compile config holds them serialised, and a custom metric or loss that
    is not registered cannot be rebuilt from it."""
    return dict(model._compile_config.config)


def monitor_mode(model, monitor):
    """ "max" or "min": which way ``monitor`` improves, resolved as Keras's
    own callbacks resolve ``mode="auto"`` (a ``ValueError`` where Keras
    cannot tell). Asks Keras's ``EarlyStopping`` (its ``_set_monitor_op``,
    private; in older Keras it is set in ``__init__`` from the name)."""
    from skdigits._backend import keras

    probe = keras.callbacks.EarlyStopping(monitor=monitor, mode="auto")
    probe.set_model(model)
    if getattr(probe, "monitor_op", None) is None:
        probe._set_monitor_op()
    return "max" if bool(probe.monitor_op(1.0, 0.0)) else "min"
