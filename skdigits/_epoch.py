"""Whole epochs in one call: how the MLP trains.

Keras's ``fit`` launches a compiled step per batch (or per few batches),
builds a new ``tf.data`` iterator each epoch and runs ``evaluate`` for the
validation data. For a small network those fixed costs are most of the
time: on load_digits (1,212 rows, batch 32) an epoch took about 60 ms of
which the arithmetic is a few. Here the training data is one dataset
element, repeated, and one call of the train step runs a whole epoch:

1. the rows are taken in the epoch's order, a permutation drawn by NumPy
   from ``(seed, epoch)`` (drawn outside the compiled step: TensorFlow's
   stateless generators give other numbers under XLA than without);
2. a ``tf.while_loop`` runs Keras's step on each batch: the compiled loss
   (with any regularisation), ``optimizer.apply``;
3. the validation rows are scored, so the step's logs hold ``loss``,
   ``accuracy``, ``val_loss`` and ``val_accuracy`` as Keras's would.

The rows are padded to a multiple of the batch size (and to a coarse bucket,
so that folds of slightly different sizes share a shape): XLA compiles one
program per shape, and the last batch of an epoch is the real rows of a
full-size slice, the padding given no weight. A batch's loss is the weighted
mean over its real rows, as Keras computes it for a short batch.
"""

import numpy as np
import tensorflow as tf


def bucket(n, multiple):
    """``n`` rounded up to a multiple of ``multiple`` and to 1/8 of a power of 2.

    Folds of a cross-validation differ by a few rows; rounding their batch
    count up to a coarse grid (at most 12.5% more) gives them one shape.
    """
    units = -(-n // multiple)
    grain = 1 << max(0, units.bit_length() - 4)
    return -(-units // grain) * grain * multiple


def _padded(arrays, rows):
    n = len(arrays[0])
    return tuple(
        np.concatenate([a, np.zeros((rows - n, *a.shape[1:]), a.dtype)])
        if rows > n
        else a
        for a in arrays
    )


def epoch_order(n, rows, seed, epoch):
    """The order of the ``n`` real rows in an epoch, then the padding rows."""
    order = np.random.default_rng([seed, epoch]).permutation(n)
    return np.concatenate([order, np.arange(n, rows)]).astype(np.int32)


def epoch_dataset(train, val, batch_size, seed, epochs):
    """The dataset of epochs that ``epoch_train_step`` takes.

    ``train`` and ``val`` are ``(X, Y, sample_weight)`` arrays (``val`` may be
    None); ``epochs`` is the range of epoch numbers to train. Each element is
    the whole (padded) data with its number of real rows, and the epoch's
    order of the rows: pass ``steps_per_epoch=1``.
    """
    n = len(train[0])
    rows = bucket(n, batch_size)
    parts = (*_padded(train, rows), np.int32(n))
    if val is not None:
        n_val = len(val[0])
        parts += (*_padded(val, bucket(n_val, 1)), np.int32(n_val))
    orders = np.stack([epoch_order(n, rows, seed, e) for e in epochs])
    data = tf.data.Dataset.from_tensors(parts).repeat()
    return tf.data.Dataset.zip(data, tf.data.Dataset.from_tensor_slices(orders))


def _weighted_hits(y, y_pred, weight):
    hit = tf.equal(tf.argmax(y, axis=-1), tf.argmax(y_pred, axis=-1))
    return tf.reduce_sum(tf.cast(hit, weight.dtype) * weight)


def epoch_train_step(model, batch_size, validate):
    """A ``train_step`` for ``model`` that trains one epoch per call."""

    def train_step(data):
        parts, order = data
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
                loss = model.compute_loss(
                    x=x_b, y=y_b, y_pred=y_pred, sample_weight=w_b * scale
                )
                scaled = model.optimizer.scale_loss(loss)
            gradients = tape.gradient(scaled, model.trainable_weights)
            model.optimizer.apply(gradients, model.trainable_weights)
            return (
                i + 1,
                loss_sum + loss * tf.cast(real, loss.dtype),
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
            logs["val_loss"] = model.compute_loss(
                x=x_val,
                y=y_val,
                y_pred=y_pred,
                sample_weight=w_val * scale,
                training=False,
            )
            logs["val_accuracy"] = tf.math.divide_no_nan(
                _weighted_hits(y_val, y_pred, w_val), tf.reduce_sum(w_val)
            )
        return logs

    return train_step
