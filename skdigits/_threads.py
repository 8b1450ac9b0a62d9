"""TensorFlow's thread pools sized to this process's share of the cores.

TensorFlow sizes its intra-op and inter-op pools to every core of the
machine unless told otherwise, and (in the CPU wheels) ignores
``OMP_NUM_THREADS``. So ``GridSearchCV(n_jobs=k)`` on 16 cores would run
k processes of 16 threads each. The pools can be set only before
TensorFlow's runtime starts, so ``_backend`` applies the share right after
the import, and every fit applies it again (a no-op once set or too late).

The share, first rule that applies:

1. ``TF_NUM_INTRAOP_THREADS`` is set, or TensorFlow's pools were set
   explicitly: the user's choice, left alone.
2. A Dask worker: its thread count (``threads_per_worker``). Its tasks run
   in that many threads sharing the process's pool; Dask's nanny sets
   ``OMP_NUM_THREADS=1`` for it, which would leave one core for all of them.
3. ``OMP_NUM_THREADS``: what joblib's loky workers get
   (``max(cpu_count() // n_jobs, 1)``, or ``inner_max_num_threads``, or the
   parent's own setting), and a user's explicit limit.
4. Otherwise (the main process): TensorFlow's own default, every core.
"""

import os
import sys


def _dask_threads():
    """The thread count of the Dask worker this process runs, else None."""
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return None
    try:
        worker = distributed.get_worker()
    except (ValueError, AttributeError):
        return None  # not inside a worker
    threads = getattr(worker.state, "nthreads", None) or getattr(worker, "nthreads", 0)
    return int(threads) or None


def share(environ=None, dask_threads=None):
    """The intra-op thread count this process should use, or None to leave
    TensorFlow's pools as they are (rules 1 and 4 above).

    ``dask_threads`` is the Dask worker's thread count where this process
    is one (found by ``_dask_threads`` when not given).
    """
    environ = os.environ if environ is None else environ
    if "TF_NUM_INTRAOP_THREADS" in environ:
        return None
    if dask_threads is None:
        dask_threads = _dask_threads()
    if dask_threads:
        return dask_threads
    limit = environ.get("OMP_NUM_THREADS", "").strip()
    if limit.isdigit() and int(limit) >= 1:
        return int(limit)
    return None


def apply(tf, environ=None):
    """Size ``tf``'s pools to ``share()``; return the intra-op count set,
    or None where nothing was set (the user's setting, TensorFlow's default,
    or a runtime already started)."""
    threads = share(environ)
    config = tf.config.threading
    if threads is None or config.get_intra_op_parallelism_threads() != 0:
        return None
    try:
        config.set_intra_op_parallelism_threads(threads)
        if "TF_NUM_INTEROP_THREADS" not in (os.environ if environ is None else environ):
            config.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        return None  # the runtime has started: too late, keep its pools
    return threads
