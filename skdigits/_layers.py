"""Keras layers of skdigits's own networks.

Registered with Keras's serialization, so that a saved model (``.keras``,
and the estimators' pickles, which hold one) loads wherever skdigits is
installed.
"""

from skdigits._backend import keras, tf


@keras.saving.register_keras_serializable(package="skdigits")
class PixelShift(keras.layers.Layer):
    """Shift each training image by a random whole number of pixels.

    Each image of a batch moves by its own offsets, drawn uniformly from
    ``-pixels`` to ``pixels`` rows and columns; the border pixels are
    repeated into the gap (as ``RandomTranslation(fill_mode="nearest")``).
    Whole-pixel shifts need no interpolation: the shifted batch is two
    gathers of the input, a small fraction of a step's time, where
    ``RandomTranslation``'s bilinear transform costs several percent of it.
    At inference the layer passes its input through.

    Parameters
    ----------
    pixels : int
        The largest shift, in pixels, up, down, left or right.
    seed : int or None
        Seed of the offsets.

    Examples
    --------
    >>> import numpy as np
    >>> from skdigits._layers import PixelShift
    >>> images = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    >>> shifted = PixelShift(1, seed=0)(images, training=True)
    >>> shifted.shape
    TensorShape([1, 4, 4, 1])
    """

    def __init__(self, pixels, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(pixels, bool) or int(pixels) != pixels or pixels < 0:
            raise ValueError(f"pixels must be a whole number >= 0, got {pixels!r}")
        self.pixels = int(pixels)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=None):
        if not training or self.pixels == 0:
            return images
        shape = tf.shape(images)
        n, height, width = shape[0], shape[1], shape[2]
        offsets = keras.random.randint(
            (n, 2), -self.pixels, self.pixels + 1, seed=self.seed_generator
        )
        rows = tf.clip_by_value(
            tf.range(height)[None, :] - offsets[:, :1], 0, height - 1
        )
        columns = tf.clip_by_value(
            tf.range(width)[None, :] - offsets[:, 1:], 0, width - 1
        )
        images = tf.gather(images, rows, axis=1, batch_dims=1)
        return tf.gather(images, columns, axis=2, batch_dims=1)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "pixels": self.pixels, "seed": self.seed}
