"""Whole epochs in one call: how the MLP trains.

Keras's ``fit`` launches a compiled step per batch (or per few batches),
builds a new ``tf.data`` iterator each epoch and runs ``evaluate`` for the
validation data. For a small network those fixed costs are most of the
time: on load_digits (1,212 rows, batch 32) an epoch took about 60 ms of
which the arithmetic is a few. Here the data are tensors held for the fit,
and one call of a compiled function runs a whole epoch:

1. the rows are taken in the epoch's order, a permutation drawn by NumPy
   from ``(seed, epoch)`` (drawn outside the compiled step: TensorFlow's
   stateless generators give other numbers under XLA than without);
2. a ``tf.while_loop`` runs a training step on each batch: the loss (with
   any regularisation), ``optimizer.apply``;
3. the validation rows are scored, so the logs hold ``loss``,
   ``accuracy``, ``val_loss`` and ``val_accuracy`` as Keras's would.

``run_epochs`` calls it once per epoch and drives the callbacks through
Keras's ``CallbackList``, hook for hook as ``fit`` does, with one "batch"
per epoch.

The rows are padded to a multiple of the batch size (and to a coarse bucket,
so that folds of slightly different sizes share a shape): XLA compiles one
program per shape, and the last batch of an epoch is the real rows of a
full-size slice, the padding given no weight. A batch's loss is the weighted
mean over its real rows, as Keras computes it for a short batch.
"""

import numpy as np

from skdigits._backend import keras, tf
from skdigits._tensors import to_tensor


def bucket(n, multiple):
    """``n`` rounded up to a multiple of ``multiple`` and to 1/8 of a power of 2.

    Folds of a cross-validation differ by a few rows; rounding their batch
    count up to a coarse grid (at most 12.5% more) gives them one shape.
    """
    units = -(-n // multiple)
    grain = 1 << max(0, units.bit_length() - 4)
    return -(-units // grain) * grain * multiple


def epoch_order(n, rows, seed, epoch):
    """The order of the ``n`` real rows in an epoch, then the padding rows."""
    order = np.random.default_rng([seed, epoch]).permutation(n)
    return np.concatenate([order, np.arange(n, rows)]).astype(np.int32)


def epoch_inputs(train, val, batch_size):
    """The tensors that ``epoch_function`` takes, and the padded row count.

    ``train`` and ``val`` are ``(X, Y, sample_weight)`` arrays (``val`` may be
    None). The training rows are padded to ``bucket(n, batch_size)``, the
    validation rows to ``bucket(n_val, 1)``; each part carries its number of
    real rows.
    """
    n = len(train[0])
    rows = bucket(n, batch_size)
    parts = [to_tensor(a, rows) for a in train] + [tf.constant(n, tf.int32)]
    if val is not None:
        n_val = len(val[0])
        parts += [to_tensor(a, bucket(n_val, 1)) for a in val]
        parts.append(tf.constant(n_val, tf.int32))
    return tuple(parts), rows


def _weighted_hits(y, y_pred, weight):
    hit = tf.equal(tf.argmax(y, axis=-1), tf.argmax(y_pred, axis=-1))
    return tf.reduce_sum(tf.cast(hit, weight.dtype) * weight)


def epoch_function(model, loss, batch_size, validate, jit_compile):
    """A compiled function ``(inputs, order) -> logs`` that trains one epoch.

    ``model`` must be compiled with its optimizer. A batch's loss is
    ``loss`` (reduced over the batch's rows, as Keras's compiled loss) plus
    the model's regularisation losses; ``optimizer.apply`` updates the
    weights. The logs are those Keras's ``fit`` gives: ``loss``,
    ``accuracy`` (weighted), and with validation ``val_loss`` and
    ``val_accuracy``.
    """
    optimizer = model.optimizer

    def total_loss(y, y_pred, weight):
        value = loss(y, y_pred, sample_weight=weight)
        for penalty in model.losses:
            value += tf.cast(tf.reduce_sum(penalty), value.dtype)
        return value

    def train_epoch(parts, order):
        x, y, w, n_real = parts[:4]
        n_batches = (n_real + batch_size - 1) // batch_size

        def one_batch(i, loss_sum, hits, weight_sum):
            start = i * batch_size
            index = tf.slice(order, [start], [batch_size])
            real = tf.minimum(n_real - start, batch_size)
            mask = tf.cast(tf.range(batch_size) < real, w.dtype)
            x_b, y_b = tf.gather(x, index), tf.gather(y, index)
            w_b = tf.gather(w, index) * mask
            # Keras divides a batch's weighted loss by its number of rows.
            scale = tf.cast(batch_size, w.dtype) / tf.cast(real, w.dtype)
            with tf.GradientTape() as tape:
                y_pred = model(x_b, training=True)
                value = total_loss(y_b, y_pred, w_b * scale)
                scaled = optimizer.scale_loss(value)
            gradients = tape.gradient(scaled, model.trainable_weights)
            optimizer.apply(gradients, model.trainable_weights)
            return (
                i + 1,
                loss_sum + value * tf.cast(real, value.dtype),
                hits + _weighted_hits(y_b, y_pred, w_b),
                weight_sum + tf.reduce_sum(w_b),
            )

        zero = tf.constant(0.0, w.dtype)
        _, loss_sum, hits, weight_sum = tf.while_loop(
            lambda i, *_: i < n_batches,
            one_batch,
            (tf.constant(0, n_batches.dtype), zero, zero, zero),
        )
        logs = {
            "loss": loss_sum / tf.cast(n_real, loss_sum.dtype),
            "accuracy": tf.math.divide_no_nan(hits, weight_sum),
        }
        if validate:
            x_val, y_val, w_val, n_val = parts[4:]
            y_pred = model(x_val, training=False)
            # The loss over the real rows only, as Keras's evaluate gives it.
            scale = tf.cast(tf.shape(x_val)[0], w_val.dtype) / tf.cast(
                n_val, w_val.dtype
            )
            logs["val_loss"] = total_loss(y_val, y_pred, w_val * scale)
            logs["val_accuracy"] = tf.math.divide_no_nan(
                _weighted_hits(y_val, y_pred, w_val), tf.reduce_sum(w_val)
            )
        return logs

    return tf.function(train_epoch, jit_compile=jit_compile)


def run_epochs(model, train_epoch, inputs, orders, epochs, callbacks, verbose=0):
    """Train ``epochs`` (a range) with ``callbacks``, as Keras's ``fit`` would.

    Each epoch is one batch to the callbacks (``steps=1``); ``orders`` holds
    each epoch's row order. Returns the ``keras.callbacks.History``.
    """
    history = keras.callbacks.History()
    hooks = keras.callbacks.CallbackList(
        [*callbacks, history],
        add_progbar=verbose > 0,
        model=model,
        verbose=verbose,
        epochs=epochs.stop,
        steps=1,
    )
    model.stop_training = False
    hooks.on_train_begin()
    logs = {}
    for epoch, order in zip(epochs, orders, strict=True):
        hooks.on_epoch_begin(epoch)
        hooks.on_train_batch_begin(0)
        logs = {key: float(v) for key, v in train_epoch(inputs, order).items()}
        hooks.on_train_batch_end(0, dict(logs))
        hooks.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    hooks.on_train_end(logs)
    return history
