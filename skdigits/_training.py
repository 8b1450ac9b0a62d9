"""Training plumbing shared by the estimators (TensorFlow backend)."""

import dataclasses
import math
import os

import numpy as np
from scipy.special import expit

from skdigits import _tuning
from skdigits._backend import keras, tf
from skdigits._tensors import to_tensor


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


# -- the fit plan: decided once, handed down -------------------------------------


@dataclasses.dataclass(frozen=True)
class FitPlan:
    """What one fit does, decided before anything trains.

    ``engine`` is "epoch" (one compiled call per epoch, see ``_epoch``) or
    "keras" (Keras's own loop over a ``tf.data`` pipeline of batches).
    """

    engine: str
    batch_size: int
    gd_variant: str
    epochs: int
    steps_per_epoch: int
    jit_compile: bool
    steps_per_execution: int


def auto_batch_size(n_samples):
    """``batch_size="auto"``: see the constants in ``_tuning``."""
    batch = _tuning.AUTO_BATCH_MAX
    while (
        batch > _tuning.AUTO_BATCH_MIN
        and n_samples < batch * _tuning.AUTO_MIN_STEPS_PER_EPOCH
    ):
        batch //= 2
    return batch


def auto_epochs(steps_per_epoch):
    """``epochs="auto"``: enough epochs for ``AUTO_STEPS`` steps, bounded."""
    wanted = math.ceil(_tuning.AUTO_STEPS / steps_per_epoch)
    return min(_tuning.AUTO_EPOCHS_MAX, max(_tuning.AUTO_EPOCHS_MIN, wanted))


def resolve_validation_fraction(fraction, n_samples):
    """``validation_fraction="auto"``: see the constants in ``_tuning``."""
    if fraction != "auto":
        return fraction
    held_out = n_samples * _tuning.AUTO_VALIDATION_FRACTION
    if held_out >= _tuning.AUTO_MIN_VALIDATION_ROWS:
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


def make_plan(engine, batch_size, epochs, n_samples):
    """The plan of a fit on ``n_samples`` training rows.

    ``batch_size`` and ``epochs`` are the estimator's parameters (an int or
    "auto"). The MLP's epoch step is XLA-compiled when the fit may run
    ``MIN_STEPS_FOR_XLA`` steps; the CNN stays on TensorFlow's oneDNN
    convolutions, with several steps per call for long epochs of small
    batches.
    """
    batch, variant = resolve_batch_size(batch_size, n_samples)
    steps = math.ceil(n_samples / batch)
    if epochs == "auto":
        epochs = auto_epochs(steps)
    if engine == "epoch":
        jit, per_call = steps * epochs >= _tuning.MIN_STEPS_FOR_XLA, 1
    else:
        jit, per_call = False, 1
        if steps >= _tuning.MIN_STEPS_FOR_MULTI_STEP:
            per_call = max(1, min(steps, _tuning.ROWS_PER_EXECUTION // batch))
    return FitPlan(engine, batch, variant, int(epochs), steps, jit, per_call)


# -- the CNN's input pipeline ---------------------------------------------------------


def make_dataset(arrays, batch_size, seed=None):
    """A ``tf.data`` pipeline of batches of ``arrays``.

    Seeded, it shuffles and repeats without end, a new order each pass (see
    ``shuffled_index_chunks``): pass ``steps_per_epoch``, so that one
    iterator serves the whole fit (a new iterator cost about 30 ms, each
    epoch). Unseeded, it is one pass in order (validation). Batches are
    gathered by index from tensors held once in memory.
    """
    tensors = tuple(to_tensor(a) for a in arrays)
    n_samples = len(arrays[0])
    if batch_size >= n_samples:
        # Batch gradient descent: the whole set every step, nothing to shuffle.
        dataset = tf.data.Dataset.from_tensors(tensors)
        if seed is not None:
            dataset = dataset.repeat()
    elif seed is None:
        dataset = tf.data.Dataset.from_tensor_slices(tensors).batch(batch_size)
    else:
        dataset = (
            shuffled_index_chunks(n_samples, batch_size, seed)
            .repeat()
            .map(lambda i: tuple(tf.gather(t, i) for t in tensors))
            .prefetch(_tuning.PREFETCH_BATCHES)
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


def optimizer_class(optimizer):
    """The Keras optimizer class that a name or a class stands for."""
    if isinstance(optimizer, str):
        try:
            return type(keras.optimizers.get(optimizer))
        except ValueError:
            raise ValueError(
                f"optimizer={optimizer!r} is not a Keras optimizer name "
                "(for example 'sgd', 'adam', 'rmsprop', 'adagrad')"
            ) from None
    if not isinstance(optimizer, type) or not issubclass(
        optimizer, keras.optimizers.Optimizer
    ):
        raise TypeError(
            "optimizer must be a Keras optimizer name or Optimizer class "
            f"(set its rate with learning_rate=), got {optimizer!r}"
        )
    return optimizer


def make_loss(loss, output_activation):
    """The Keras loss on one-hot targets for the output activation."""
    if loss == "mse":
        return keras.losses.MeanSquaredError()
    if output_activation == "sigmoid":
        # Independent sigmoid outputs: each is a yes/no for its class.
        return keras.losses.BinaryCrossentropy()
    return keras.losses.CategoricalCrossentropy()


# -- predicting -----------------------------------------------------------------


# NumPy forms of the common hidden activations: the first TensorFlow op of a
# process costs milliseconds, so a first prediction with these needs none.
# Other activations run Keras's own function.
_NUMPY_ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0.0),
    "sigmoid": expit,
    "tanh": np.tanh,
}


def dense_forward(model):
    """A NumPy float64 forward pass of a stack of Dense layers, up to the logits.

    The MLP predicts with this instead of a traced TensorFlow function:
    nothing is traced or compiled, so the first call (after fit, or after
    loading in a fresh process) costs what every later one does, a fraction
    of a millisecond for one row. float64 keeps a row's result independent of
    the rows predicted with it (float32 matmuls round differently by batch
    size, by about 1e-7).
    """
    layers = []
    for layer in model.layers[:-1]:  # the last is the output activation
        kernel, bias = (np.asarray(w, np.float64) for w in layer.get_weights())
        name = keras.activations.serialize(layer.activation)
        activation = _NUMPY_ACTIVATIONS.get(name)
        if activation is None:
            keras_activation = layer.activation

            def activation(x, f=keras_activation):
                return f(x).numpy()

        layers.append((kernel, bias, activation))

    def logits(X):
        X = X.astype(np.float64, copy=False)
        for kernel, bias, activation in layers:
            X = activation(X @ kernel + bias)
        return X

    return logits


def graph_logits(model, n_features):
    """The logits of ``model`` (all layers but the last) as a traced graph.

    Traced and run once on a blank row here, when a fit or a load ends
    (about 0.1 s for the CNN): TensorFlow prepares its convolution kernels on
    first use, and Keras's eager layer calls cost about 2 ms each while
    cold, so without this the caller's first prediction would pay 30-50 ms.
    """
    head = model.layers[:-1]

    def forward(x):
        for layer in head:
            x = layer(x, training=False)
        return x

    graph = tf.function(
        forward, input_signature=[tf.TensorSpec([None, n_features], tf.float32)]
    ).get_concrete_function()
    graph(tf.zeros((1, n_features)))

    def predict(X):
        X = X.astype(np.float32, copy=False)
        chunk = _tuning.PREDICT_CHUNK
        if len(X) <= chunk:  # no copy for the usual small call
            return graph(tf.constant(X)).numpy()
        return np.concatenate(
            [
                graph(tf.constant(X[i : i + chunk])).numpy()
                for i in range(0, len(X), chunk)
            ]
        )

    return predict
