"""Grouped steps: many mini-batches in one XLA-compiled call.

Keras's ``steps_per_execution`` loops in a TensorFlow graph that fetches
each batch from the input pipeline and launches the compiled step once per
batch. For a small network that launch costs more than the arithmetic: the
2LR MLP's step at batch 128 takes about 0.3 ms of work and 1 ms in all.
Here the input pipeline hands over a group of batches at once, stacked as
``(group, batch, ...)``, and the train step loops over them inside one XLA
program, so the per-batch cost is the arithmetic alone.

Every group of a fit has one shape, so XLA compiles once: the last group
of an epoch is padded, and a row count says how many rows are real. Batches
past the count are skipped. In the last real batch the padding rows get
zero weight and the real rows' weights are scaled so that the loss is the
mean over the real rows, as Keras computes it for a short batch; the loss
and accuracy logs count real rows only.
"""

import math

import tensorflow as tf

from skdigits._training import shuffled_index_chunks, without_autotune

# Rows per compiled call: measured on the 2LR MLP (60,000 rows, batch 128),
# groups of 4,096 to 32,768 rows ran an epoch in 0.29-0.39 s, 2,048 in
# 0.47-0.61 s (the launches again), with Keras's loop at 0.47-0.60 s.
GROUP_ROWS = 8192


def group_size(batch_size, n_samples):
    """Batches per group: ``GROUP_ROWS`` rows, at most one epoch's batches."""
    return max(1, min(GROUP_ROWS // batch_size, math.ceil(n_samples / batch_size)))


def make_grouped_dataset(arrays, batch_size, seed):
    """Shuffled groups ``(*stacked arrays, n_real_rows)`` for ``grouped_train_step``.

    Returns the dataset and its number of groups per epoch. The order of
    the rows is exactly that of ``make_dataset`` with the same ``seed``;
    only the packing differs. The dataset repeats without end, so that one
    iterator (and its prefetching) runs on across epochs: pass the groups
    per epoch to ``fit`` as ``steps_per_epoch``. A fresh iterator each epoch
    cost 0.1-0.3 s before its first group, against 0.3 s for the epoch
    (measured while tf.data's autotuning was on; see ``without_autotune``).
    """
    tensors = tuple(tf.constant(a) for a in arrays)
    n_samples = len(arrays[0])
    group = group_size(batch_size, n_samples)
    rows = group * batch_size

    def stack(index):
        n_real = tf.shape(index, out_type=tf.int32)[0]
        # Pad with row 0: real data (no NaN can come of it), given no weight.
        index = tf.pad(index, [[0, rows - n_real]])
        stacked = tuple(
            tf.reshape(tf.gather(t, index), (group, batch_size, *t.shape[1:]))
            for t in tensors
        )
        return (*stacked, n_real)

    # Two groups ahead: one being trained on, the next being gathered.
    dataset = (
        shuffled_index_chunks(n_samples, rows, seed).repeat().map(stack).prefetch(2)
    )
    return without_autotune(dataset), math.ceil(n_samples / rows)


def grouped_train_step(model):
    """A ``train_step`` for ``model`` that runs a whole group of batches.

    Each batch's step is that of Keras's TensorFlow ``train_step``: the
    compiled loss (with any regularisation), the optimizer's update, the
    loss tracker and the compiled metrics.
    """

    def train_step(data):
        x, y, sample_weight, n_real = data
        batch = tf.shape(x)[1]
        n_batches = (n_real + batch - 1) // batch

        def one_batch(i):
            real = tf.minimum(n_real - i * batch, batch)
            weight = sample_weight[i] * tf.cast(
                tf.range(batch) < real, sample_weight.dtype
            )
            # Keras divides a batch's weighted loss by its number of rows.
            scale = tf.cast(batch, weight.dtype) / tf.cast(real, weight.dtype)
            with tf.GradientTape() as tape:
                y_pred = model(x[i], training=True)
                loss = model.compute_loss(
                    x=x[i], y=y[i], y_pred=y_pred, sample_weight=weight * scale
                )
                model._loss_tracker.update_state(loss, sample_weight=real)
                loss = model.optimizer.scale_loss(loss)
            gradients = tape.gradient(loss, model.trainable_weights)
            model.optimizer.apply(gradients, model.trainable_weights)
            model.compute_metrics(x[i], y[i], y_pred, sample_weight=weight)
            return (i + 1,)

        tf.while_loop(lambda i: i < n_batches, one_batch, (tf.constant(0),))
        return model.get_metrics_result()

    return train_step


def use_grouped_steps(model, grouped):
    """Install (or remove) the grouped train step on ``model``.

    It is an attribute of the instance, shadowing the class's method, so
    that the saved and pickled model stays a plain Keras model. Keras
    caches the traced train function; it is rebuilt only on a change.
    """
    installed = "train_step" in vars(model)
    if grouped and not installed:
        model.train_step = grouped_train_step(model)
    elif installed and not grouped:
        del model.train_step
    else:
        return
    model.train_function = None
