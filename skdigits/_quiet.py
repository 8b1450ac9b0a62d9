"""Silence what upstream libraries print or warn where skdigits calls them.

Only inside skdigits's own calls, never globally: a user's warning filters
and logging configuration are left as they are.
"""

import contextlib
import logging
import warnings

# NumPy 2.4 warns when np.array() copies a TensorFlow value, which Keras's
# convert_to_numpy does (saving a model, reading a variable).
_NUMPY_COPY = r"__array__ implementation doesn't accept a copy keyword"


class _DropRetracing(logging.Filter):
    """TensorFlow logs 'triggered tf.function retracing' when many models of
    one architecture are traced in a row; the estimators reuse compiled
    trainers (see _engine), so the advice does not apply."""

    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


_retracing = _DropRetracing()


@contextlib.contextmanager
def upstream_noise():
    """Inside: no NumPy copy warnings from Keras, no retracing log lines."""
    logger = logging.getLogger("tensorflow")
    logger.addFilter(_retracing)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=_NUMPY_COPY, category=DeprecationWarning
            )
            yield
    finally:
        logger.removeFilter(_retracing)
