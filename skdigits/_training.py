"""Training plumbing shared by the estimators (TensorFlow backend)."""

import contextlib
import math
import os

import keras
import numpy as np
import tensorflow as tf

# Rows per compiled call: small batches run many steps inside one
# tf.function call, hiding Keras's per-step Python overhead.
ROWS_PER_EXECUTION = 2048
MIN_STEPS_FOR_MULTI_STEP = 32
# With XLA the MLP trains in grouped steps (see _grouped): a 60,000-row
# epoch at batch 128 takes about 0.3 s instead of 0.5-0.6 s, but tracing
# and compiling cost about 2.5 s per fit: worth it for long fits only.
MIN_STEPS_FOR_XLA = 4000
# Rows per forward pass at predict and validation time: measured fastest
# for the CNN (cache-sized activations), near the best for the MLP.
PREDICT_CHUNK = 512
# Rows up to which predicting runs an XLA-compiled forward pass: a one-row
# predict_proba took 0.55-0.69 ms against 0.81-1.09 ms through the graph
# executor (MLP), 0.87-1.45 against 1.01-2.02 ms (CNN); at 10,000 rows the
# graph was as fast or faster, and it compiles nothing.
XLA_PREDICT_ROWS = 32
# Batches fetched ahead of the train step. A gather of one batch takes a
# small fraction of a step, so a few suffice; autotuning is off (see
# ``without_autotune``).
PREFETCH_BATCHES = 8


def honour_thread_limit():
    """Give TensorFlow the thread budget that OMP_NUM_THREADS sets.

    joblib's workers (``GridSearchCV(n_jobs=k)``) get ``OMP_NUM_THREADS``
    of ``cores // k``; BLAS and OpenMP honour it, TensorFlow does not, so
    two workers would each run a thread per core and slow each other down.
    Applied only before TensorFlow's runtime starts, and only when neither
    ``TF_NUM_INTRAOP_THREADS`` nor an explicit TensorFlow setting says
    otherwise.
    """
    limit = os.environ.get("OMP_NUM_THREADS", "")
    if not limit.isdigit() or int(limit) < 1 or "TF_NUM_INTRAOP_THREADS" in os.environ:
        return
    threading = tf.config.threading
    if threading.get_intra_op_parallelism_threads() != 0:
        return
    try:
        threading.set_intra_op_parallelism_threads(int(limit))
        threading.set_inter_op_parallelism_threads(int(limit))
    except RuntimeError:
        pass  # the runtime has started: too late, keep its pools


def resolve_batch_size(batch_size, n_samples):
    """The batch size actually used, and the gradient-descent variant."""
    if batch_size == 1:
        return 1, "stochastic"
    if batch_size is None or batch_size == -1 or batch_size >= n_samples:
        return n_samples, "batch"
    return int(batch_size), "mini-batch"


def steps_per_execution(batch_size, n_samples):
    """Steps per compiled call: many for long epochs of small batches.

    Tracing the multi-step loop costs about 0.4 s once per fit, which only
    pays off when an epoch has many steps.
    """
    steps = math.ceil(n_samples / batch_size)
    if steps < MIN_STEPS_FOR_MULTI_STEP:
        return 1
    return max(1, min(steps, ROWS_PER_EXECUTION // batch_size))


def make_dataset(arrays, batch_size, seed=None):
    """A ``tf.data`` pipeline of batches of ``arrays``, shuffled when seeded.

    Each epoch has a new order (see ``shuffled_index_chunks``). Batches are
    gathered by index from tensors held once in memory, as Keras does for
    NumPy input.
    """
    tensors = tuple(tf.constant(a) for a in arrays)
    n_samples = len(arrays[0])
    if batch_size >= n_samples:
        # Batch gradient descent: the whole set every step, nothing to shuffle.
        dataset = tf.data.Dataset.from_tensors(tensors)
    elif seed is None:
        dataset = tf.data.Dataset.from_tensor_slices(tensors).batch(batch_size)
    else:
        dataset = (
            shuffled_index_chunks(n_samples, batch_size, seed)
            .map(lambda i: tuple(tf.gather(t, i) for t in tensors))
            .prefetch(PREFETCH_BATCHES)
        )
    return without_autotune(dataset)


def without_autotune(dataset):
    """``dataset`` with tf.data's autotuning off.

    Autotuning runs a model thread beside each iterator, and deleting the
    iterator waits for that thread to finish. Keras deletes an epoch's
    iterator as the next epoch begins; measured here (TensorFlow 2.21,
    2 cores), that wait left the process idle for 3 to 20 seconds in about
    one epoch in three. These pipelines have nothing to tune (a gather per
    batch, a fixed prefetch).
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def shuffled_index_chunks(n_samples, chunk, seed):
    """Index vectors of ``chunk`` rows (the last may be short), one pass an epoch.

    Each pass over the data draws a new order from a stateless shuffle keyed
    by ``(seed, pass number)``: the order depends on ``seed`` alone, not on
    TensorFlow's global seed, which ``Dataset.shuffle`` would mix in.
    """
    passes = tf.Variable(0, dtype=tf.int64, trainable=False)

    def one_pass(_):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n_samples, dtype=tf.int64),
            seed=tf.stack([tf.constant(seed, tf.int64), passes.assign_add(1)]),
        )
        starts = tf.data.Dataset.range(0, n_samples, chunk)
        return starts.map(lambda start: order[start : start + chunk])

    return (
        tf.data.Dataset.range(1)
        .flat_map(one_pass)
        .apply(tf.data.experimental.assert_cardinality(math.ceil(n_samples / chunk)))
    )


@contextlib.contextmanager
def released_custom_gradients():
    """Forget the custom gradients that TensorFlow registers while tracing.

    Keras's TensorFlow optimizer all-reduces the gradients even under the
    default strategy, and each trace of that registers a ``CustomGradient-N``
    entry in TensorFlow's global gradient registry, never removed: it keeps
    the whole traced graph alive, about 5 MB a fit (keras-team/keras#17458).
    An entry is only read while the backward pass is traced, so the ones
    registered during a fit can go once it returns. A no-op where that
    registry is not found.
    """
    try:
        from tensorflow.python.framework import ops

        registry = ops._gradient_registry._registry
    except (ImportError, AttributeError):  # pragma: no cover - other TF
        yield
        return
    before = set(registry)
    try:
        yield
    finally:
        for name in set(registry) - before:
            if name.startswith("CustomGradient-"):
                registry.pop(name, None)


def use_xla(model_supports_xla, batch_size, n_samples, epochs):
    """Whether to compile the train step with XLA for this fit."""
    steps = math.ceil(n_samples / batch_size) * epochs
    return model_supports_xla and steps >= MIN_STEPS_FOR_XLA


def make_optimizer(optimizer, learning_rate):
    """A fresh Keras optimizer from a name or an Optimizer class."""
    if isinstance(optimizer, str):
        try:
            optimizer = type(keras.optimizers.get(optimizer))
        except ValueError:
            raise ValueError(
                f"optimizer={optimizer!r} is not a Keras optimizer name "
                "(for example 'sgd', 'adam', 'rmsprop', 'adagrad')"
            ) from None
    elif not isinstance(optimizer, type) or not issubclass(
        optimizer, keras.optimizers.Optimizer
    ):
        raise TypeError(
            "optimizer must be a Keras optimizer name or Optimizer class "
            f"(set its rate with learning_rate=), got {optimizer!r}"
        )
    return optimizer(learning_rate=learning_rate)


def make_loss(loss, output_activation):
    """The Keras loss on one-hot targets for the output activation."""
    if loss == "mse":
        return keras.losses.MeanSquaredError()
    if output_activation == "sigmoid":
        # Independent sigmoid outputs: each is a yes/no for its class.
        return keras.losses.BinaryCrossentropy()
    return keras.losses.CategoricalCrossentropy()


def _float64_twin(model):
    """A float64 copy of ``model``, with the same weights."""
    config = model.get_config()
    for layer in config["layers"]:
        layer["config"]["dtype"] = "float64"
    twin = keras.Sequential.from_config(config)
    twin.set_weights(model.get_weights())
    return twin


def make_logits_fn(model, n_features, dtype="float32"):
    """A traced forward pass up to the output activation (the last layer).

    Calling the traced graph directly costs a fraction of ``model.predict``
    per call. Up to ``XLA_PREDICT_ROWS`` rows, where TensorFlow's graph
    executor costs more than the arithmetic, the pass runs XLA-compiled
    instead: one program, padded to a power of two of rows because XLA
    compiles once per input shape (on first use: about 0.1 s for the MLP,
    0.3-0.5 s for the CNN); a fitted model compiles at most
    ``log2(XLA_PREDICT_ROWS) + 1`` shapes.

    With ``dtype="float64"`` the pass runs on a float64 copy of the model:
    float32 matmuls round a row differently depending on how many rows share
    the call, by about 1e-7, and float64 pushes that far below anything a
    caller compares. The output activation itself is left to the caller
    (NumPy, float64) for the same reason.
    """
    if dtype == "float64":
        model = _float64_twin(model)

    def logits(x):
        for layer in model.layers[:-1]:
            x = layer(x, training=False)
        return x

    def trace(jit_compile):
        return tf.function(
            logits,
            input_signature=[tf.TensorSpec([None, n_features], dtype)],
            jit_compile=jit_compile,
        ).get_concrete_function()

    graph = trace(False)
    compiled = None  # traced on the first small call

    def run(chunk):
        nonlocal compiled
        n = len(chunk)
        if n > XLA_PREDICT_ROWS:
            return graph(tf.constant(chunk)).numpy()
        if compiled is None:
            compiled = trace(True)
        padded = 1 << (n - 1).bit_length()  # the next power of two
        if padded != n:
            chunk = np.pad(chunk, ((0, padded - n), (0, 0)))
        return compiled(tf.constant(chunk)).numpy()[:n]

    def predict(X):
        X = X.astype(dtype, copy=False)
        if len(X) <= PREDICT_CHUNK:
            return run(X)
        return np.concatenate(
            [run(X[i : i + PREDICT_CHUNK]) for i in range(0, len(X), PREDICT_CHUNK)]
        )

    return predict


class EpochReport(keras.callbacks.Callback):
    """One line per epoch in the model zoo's spirit, then why training stopped.

    It reads the state of the rule callbacks, so it must come after them.
    It also records each epoch's learning rate in the logs.
    """

    def __init__(self, *, monitor, epochs, best, early_exit, lr_drop=None, verbose=0):
        super().__init__()
        self.monitor = monitor
        self.epochs = epochs
        self.best = best
        self.early_exit = early_exit
        self.lr_drop = lr_drop
        self.verbose = verbose

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        logs.setdefault(
            "learning_rate",
            float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)),
        )
        if not self.verbose:
            return
        parts = [f"Epoch {epoch + 1}/{self.epochs}: loss {logs['loss']:.4f}"]
        parts += [
            f"{key} {logs[key]:.4f}"
            for key in ("accuracy", "val_accuracy")
            if key in logs
        ]
        line = ", ".join(parts)
        if self.best.improved_:
            line += " - new best"
            if self.best.filepath is not None:
                line += f", saving to {self.best.filepath}"
        if self.lr_drop is not None and self.lr_drop.drops_:
            dropped_at, new_lr = self.lr_drop.drops_[-1]
            if dropped_at == epoch + 1:
                line += f" - dropping learning rate to {new_lr:.3g}"
        print(line, flush=True)

    def on_train_end(self, logs=None):
        if not self.verbose:
            return
        reason = self.early_exit.stop_reason_
        why = {
            "max_epochs": f"reached the maximum of {self.epochs} epochs",
            "target_accuracy": f"{self.monitor} reached {self.early_exit.target}",
            "converged": (
                f"converged: no improvement of {self.monitor} for "
                f"{self.early_exit.patience} epochs"
            ),
            "nan": "the loss became NaN or infinite; last good weights restored",
        }[reason]
        line = f"Stopped: {why}."
        if self.best.best_epoch_ is not None:
            line += (
                f" Best {self.monitor} {self.best.best_:.4f} at epoch "
                f"{self.best.best_epoch_}"
            )
            line += " (weights restored)." if self.best.restore else "."
        print(line, flush=True)
