"""Pure Keras model builders: no scikit-learn here.

Both builders return an uncompiled ``keras.Sequential`` that takes rows of
pixels, shape ``(n_samples, n_features)``, and outputs class probabilities.
The output activation is a layer of its own (the last), so that the logits
before it can be read without a second model.
Every layer gets its own seed derived from ``seed``, so that the same seed
builds the same weights without touching Keras's global random state.
"""

from math import isqrt
from numbers import Integral

import numpy as np

from skdigits import _tuning
from skdigits._backend import keras
from skdigits._layers import PixelShift
from skdigits._presets import CNN_PRESETS, MLP_PRESETS

_MLP = MLP_PRESETS["default"]
_CNN = CNN_PRESETS["default"]


def _seeds(seed, n):
    """``n`` independent layer seeds from one integer (or None)."""
    return np.random.RandomState(seed).randint(0, 2**31 - 1, size=n).tolist()


def _check_positive_ints(name, values):
    if isinstance(values, Integral):
        values = (values,)
    try:
        values = tuple(values)
    except TypeError:
        raise TypeError(
            f"{name} must be a sequence of positive integers, got {values!r}"
        ) from None
    if not all(isinstance(v, Integral) and not isinstance(v, bool) for v in values):
        raise TypeError(f"{name} must hold integers, got {values!r}")
    if any(v < 1 for v in values):
        raise ValueError(f"{name} must hold positive integers, got {values!r}")
    return tuple(int(v) for v in values)


def _check_activation(name, activation):
    try:
        keras.activations.get(activation)
    except ValueError:
        raise ValueError(
            f"{name}={activation!r} is not a Keras activation "
            "(for example 'relu', 'sigmoid', 'tanh')"
        ) from None


OUTPUT_ACTIVATIONS = ("softmax", "sigmoid", "linear")


def _check_output_activation(output_activation):
    if output_activation not in OUTPUT_ACTIVATIONS:
        raise ValueError(
            f"output_activation must be one of {OUTPUT_ACTIVATIONS}, "
            f"got {output_activation!r}"
        )


def build_mlp(
    n_features,
    n_classes,
    *,
    hidden_layer_sizes=_MLP["hidden_layer_sizes"],
    activation=_MLP["activation"],
    output_activation=_MLP["output_activation"],
    l2=0.0,
    seed=None,
):
    """Build a multilayer perceptron for rows of ``n_features`` pixels.

    The defaults are ``MLP_PRESETS["default"]``, ``KerasMLPClassifier``'s
    network; ``build_mlp(784, 10, **MLP_PRESETS["2LR"])`` builds an article's.

    Parameters
    ----------
    n_features : int
        Number of input features (pixels).
    n_classes : int
        Number of output units.
    hidden_layer_sizes : sequence of int, default=(256,)
        Width of each hidden layer; ``()`` gives a linear model.
    activation : str, default="relu"
        Keras activation of the hidden layers.
    output_activation : {"softmax", "sigmoid", "linear"}, default="softmax"
        Activation of the output layer: "linear" for regression.
    l2 : float, default=0.0
        Keras L2 penalty of every kernel: ``l2 * sum(kernel ** 2)`` is added
        to the loss.
    seed : int or None, default=None
        Seed of the weight initialisers.

    Returns
    -------
    model : keras.Sequential
        The uncompiled model.

    Examples
    --------
    >>> from skdigits import build_mlp
    >>> model = build_mlp(784, 10, hidden_layer_sizes=(32,), seed=0)
    >>> model.output_shape
    (None, 10)
    """
    sizes = _check_positive_ints("hidden_layer_sizes", hidden_layer_sizes)
    _check_activation("activation", activation)
    _check_output_activation(output_activation)
    if not l2 >= 0:
        raise ValueError(f"l2 must be >= 0, got {l2}")
    penalty = keras.regularizers.L2(l2) if l2 > 0 else None
    seeds = _seeds(seed, len(sizes) + 1)
    layers = [keras.Input((n_features,))]
    for width, layer_seed in zip(sizes, seeds, strict=False):
        layers.append(
            keras.layers.Dense(
                width,
                activation=activation,
                kernel_initializer=keras.initializers.GlorotUniform(layer_seed),
                kernel_regularizer=penalty,
            )
        )
    layers += [
        keras.layers.Dense(
            n_classes,
            kernel_initializer=keras.initializers.GlorotUniform(seeds[-1]),
            kernel_regularizer=penalty,
        ),
        keras.layers.Activation(output_activation, name="output_activation"),
    ]
    return keras.Sequential(layers, name="mlp")


def infer_image_shape(n_features):
    """The square ``(side, side)`` image shape of ``n_features`` pixels.

    Raises a ``ValueError`` that names ``image_shape`` when ``n_features`` is
    not a square number.
    """
    side = isqrt(n_features)
    if side * side != n_features:
        raise ValueError(
            f"cannot infer image_shape from {n_features} features: "
            f"{n_features} is not a square number of pixels. Pass "
            "image_shape=(height, width), or X of shape "
            "(n_samples, height, width)."
        )
    return (side, side)


def build_cnn(
    image_shape,
    n_classes,
    *,
    filters=_CNN["filters"],
    kernel_size=3,
    noise_std=_CNN["noise_std"],
    batch_norm=_CNN["batch_norm"],
    shift=_CNN["shift"],
    dense_units=_CNN["dense_units"],
    dropout=_CNN["dropout"],
    output_activation="softmax",
    precision="float32",
    seed=None,
):
    """Build a convolutional network for rows of ``height * width`` pixels.

    Each entry of ``filters`` adds a ``kernel_size`` convolution ("same"
    padding, relu) and a 2x2 max-pooling; then, with ``dense_units``, a
    relu ``Dense`` layer of that many units and ``Dropout(dropout)``; a
    ``Dense`` layer of ``output_activation`` ends it.
    Gaussian noise of ``noise_std`` is added to the input during training
    only, as in the Flux model zoo. The defaults are ``KerasCNNClassifier``'s
    network (``CNN_PRESETS["default"]``: the zoo's layers with batch
    normalisation and random shifts); ``batch_norm=False, shift=0`` is the
    model zoo's network as published (``CNN_PRESETS["zoo"]``).

    Parameters
    ----------
    image_shape : tuple of (int, int)
        Height and width of the images.
    n_classes : int
        Number of output units.
    filters : sequence of int, default=(8, 32, 32)
        Filters of each convolution block.
    kernel_size : int, default=3
        Side of the square convolution kernels.
    noise_std : float, default=0.1
        Standard deviation of the training-time input noise; 0 disables it.
    batch_norm : bool, default=True
        Batch normalisation between each convolution and its relu.
    shift : "auto", int or float, default="auto"
        Largest random translation during training: an int is whole pixels
        (each image moved by its own offsets, a cheap gather; see
        ``PixelShift``), a float in [0, 1) a fraction of the height and
        width, moved with bilinear interpolation (``RandomTranslation``;
        0.05 moves a 28-pixel digit by up to 1.4 pixels). The border pixels
        are repeated into the gap; 0 disables it. "auto" is 2 pixels for
        images of at least 20 pixels a side (MNIST) and 0.05 for smaller
        ones (on ``load_digits``' 8x8 images a pixel is an eighth of the
        digit).
    dense_units : int or None, default=128
        Units of the hidden ``Dense`` layer before the output; None has none
        (the model zoo's network).
    dropout : float, default=0.3
        Dropout rate before the output layer, during training only.
    output_activation : {"softmax", "sigmoid", "linear"}, default="softmax"
        Activation of the output layer ("sigmoid" for multilabel targets).
    precision : {"float32", "mixed_bfloat16"}, default="float32"
        The layers' Keras dtype policy: "mixed_bfloat16" computes in
        bfloat16 with float32 weights (fast only on CPUs with native
        bfloat16 products); the output activation stays float32.
    seed : int or None, default=None
        Seed of the initialisers, the shifts and the noise.

    Returns
    -------
    model : keras.Sequential
        The uncompiled model, taking inputs of shape ``(n, height * width)``.

    Examples
    --------
    >>> from skdigits import build_cnn
    >>> model = build_cnn((28, 28), 10, seed=0)
    >>> model.output_shape
    (None, 10)
    """
    filters = _check_positive_ints("filters", filters)
    height, width = _check_positive_ints("image_shape", image_shape)
    (kernel_size,) = _check_positive_ints("kernel_size", kernel_size)
    if noise_std < 0:
        raise ValueError(f"noise_std must be >= 0, got {noise_std}")
    if isinstance(shift, str) and shift == "auto":
        big = min(height, width) >= _tuning.AUTO_SHIFT_MIN_SIDE
        shift = _tuning.AUTO_SHIFT_PIXELS if big else _tuning.AUTO_SHIFT_FRACTION
    whole_pixels = isinstance(shift, Integral) and not isinstance(shift, bool)
    if isinstance(shift, str | bool) or not (
        shift >= 0 if whole_pixels else 0 <= shift < 1
    ):
        raise ValueError(
            f"shift must be 'auto', a whole number of pixels >= 0 or a "
            f"fraction in [0, 1), got {shift!r}"
        )
    smallest = 2 ** len(filters)
    if min(height, width) < smallest:
        raise ValueError(
            f"image_shape {(height, width)} is too small for {len(filters)} "
            f"2x2 max-pooling stages: each side needs at least {smallest} pixels"
        )
    if dense_units is not None:
        (dense_units,) = _check_positive_ints("dense_units", dense_units)
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    _check_output_activation(output_activation)
    if precision not in ("float32", "mixed_bfloat16"):
        raise ValueError(
            f"precision must be 'float32' or 'mixed_bfloat16', got {precision!r}"
        )
    # Every layer but the output activation computes in ``precision``.
    policy = {} if precision == "float32" else {"dtype": precision}
    # Layer seeds: one per convolution, then the output layer, the noise,
    # the shifts, the hidden dense layer and the dropout (each appended
    # after the others, so that the earlier layers' seeds stay put).
    seeds = _seeds(seed, len(filters) + 5)
    dense_seed, noise_seed, shift_seed, hidden_seed, dropout_seed = seeds[
        len(filters) :
    ]
    layers = [
        keras.Input((height * width,)),
        keras.layers.Reshape((height, width, 1), **policy),
    ]
    if whole_pixels and shift > 0:
        layers.append(PixelShift(int(shift), seed=shift_seed, **policy))
    elif shift > 0:
        # "nearest" repeats the border, the background whatever its scale.
        layers.append(
            keras.layers.RandomTranslation(
                shift, shift, fill_mode="nearest", seed=shift_seed, **policy
            )
        )
    if noise_std > 0:
        layers.append(keras.layers.GaussianNoise(noise_std, seed=noise_seed, **policy))
    for n_filters, layer_seed in zip(filters, seeds, strict=False):
        init = keras.initializers.GlorotUniform(layer_seed)
        if batch_norm:
            # The normalisation's shift replaces the convolution's bias.
            layers += [
                keras.layers.Conv2D(
                    n_filters,
                    kernel_size,
                    padding="same",
                    use_bias=False,
                    kernel_initializer=init,
                    **policy,
                ),
                # Momentum 0.9 (PyTorch's default; Keras's is 0.99) settles
                # the moving statistics within tens of steps, so that short
                # fits on small data predict well too.
                keras.layers.BatchNormalization(momentum=0.9, **policy),
                keras.layers.Activation("relu", **policy),
            ]
        else:
            layers.append(
                keras.layers.Conv2D(
                    n_filters,
                    kernel_size,
                    padding="same",
                    activation="relu",
                    kernel_initializer=init,
                    **policy,
                )
            )
        layers.append(keras.layers.MaxPooling2D(2, **policy))
    layers.append(keras.layers.Flatten(**policy))
    if dense_units is not None:
        layers.append(
            keras.layers.Dense(
                dense_units,
                activation="relu",
                kernel_initializer=keras.initializers.GlorotUniform(hidden_seed),
                **policy,
            )
        )
    if dropout > 0:
        layers.append(keras.layers.Dropout(dropout, seed=dropout_seed, **policy))
    layers += [
        keras.layers.Dense(
            n_classes,
            kernel_initializer=keras.initializers.GlorotUniform(dense_seed),
            **policy,
        ),
        keras.layers.Activation(
            output_activation,
            name="output_activation",
            **({"dtype": "float32"} if policy else {}),
        ),
    ]
    return keras.Sequential(layers, name="cnn")
