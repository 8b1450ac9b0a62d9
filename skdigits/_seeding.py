"""Reproducible Keras models without touching the user's global seeds.

Keras gives each unseeded initializer and random layer (``Dropout``,
``GaussianNoise``, ...) its seed when it is created, drawn from Python's
``random`` module (``keras.random.SeedGenerator`` and the initializers call
``make_default_seed``). A model built or cloned inside ``seeded`` therefore
gets the same weights and random streams for the same seed, in any process,
and the caller's ``random`` state is put back afterwards. (A layer that
calls ``keras.random`` with ``seed=None`` while running draws from Keras's
global generator instead, which no estimator parameter can reach.)
"""

import contextlib
import random
import threading

_lock = threading.RLock()  # a model function may build models itself


@contextlib.contextmanager
def seeded(seed):
    """Inside, Python's ``random`` draws from ``seed``; restored afterwards."""
    with _lock:
        state = random.getstate()
        random.seed(int(seed))
        try:
            yield
        finally:
            random.setstate(state)
