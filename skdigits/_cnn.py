"""The convolutional-network estimator (the Flux model-zoo CNN is a preset)."""

from numbers import Integral, Real

import numpy as np

from skdigits._classifier import PresetClassifier
from skdigits._compat import Interval, StrOptions
from skdigits._cpu import PRECISIONS, resolve_precision
from skdigits._models import build_cnn, infer_image_shape
from skdigits._presets import CNN_PRESETS

_DEFAULT = CNN_PRESETS["default"]


class KerasCNNClassifier(PresetClassifier):
    """A convolutional network for digits as a scikit-learn classifier.

    The Flux model zoo's network, made lean and quick to train: three
    blocks of 3x3 convolution (8, 32, 32 filters, relu) and 2x2
    max-pooling, then a relu ``Dense`` layer of 128 units with dropout and a
    softmax output. Each training image is shifted at random by up to 2
    whole pixels (MNIST; 5% of the side on images under 20 pixels), and
    the learning rate follows a one-cycle schedule: it rises over the
    first quarter of the steps, then decays to 0 by the last. On all of
    MNIST that is 8 epochs on every row, for about 99.4% (see the
    benchmarks). ``from_preset("v0.2")`` gives skdigits 0.2's default (16
    first filters, sub-pixel shifts, 9 epochs),
    ``from_preset("v0.1")`` skdigits 0.1's default
    (batch normalisation, rate drops on a plateau over up to 20 epochs),
    ``from_preset("zoo")`` the model zoo's network and schedule as
    published. X is canonically 2-D rows of ``height * width`` pixels (so
    scalers and Pipelines work); ``(n, height, width)`` and ``(n, height,
    width, 1)`` arrays are accepted too.

    Parameters
    ----------
    filters : sequence of int, default=(8, 32, 32)
        Filters of each convolution block.
    kernel_size : int, default=3
        Side of the square convolution kernels.
    image_shape : tuple (height, width) or None, default=None
        None takes it from 3-D or 4-D input, or infers a square image from
        the number of features (784 -> 28x28, 64 -> 8x8).
    noise_std : float, default=0.0
        Standard deviation of the training-time Gaussian input noise.
    batch_norm : bool, default=False
        Batch normalisation between each convolution and its relu.
    shift : "auto", int or float, default="auto"
        Largest random translation during training: an int is whole pixels
        (each image moved by its own offsets), a float in [0, 1) a fraction
        of the image's height and width, moved with bilinear interpolation
        (0.05 moves 28-pixel digits by up to 1.4 pixels); 0 disables it.
        "auto" is 2 pixels on images of at least 20 pixels a side, 0.05 on
        smaller ones (see :func:`build_cnn`).
    dense_units : int or None, default=128
        Units of the relu ``Dense`` layer before the output; None has none
        (the model zoo's network).
    dropout : float, default=0.3
        Dropout rate before the output layer, during training.
    optimizer : str or keras.optimizers.Optimizer subclass, default="adam"
        A Keras optimizer name ("sgd" is plain gradient descent) or class.
    learning_rate : float, default=5e-3
        The optimizer's learning rate: the peak of the one-cycle schedule.
    loss : {"crossentropy", "mse"}, default="crossentropy"
        The cost function, on one-hot targets.
    batch_size : int, "auto" or None, default="auto"
        1 is stochastic gradient descent; None, -1 or at least the number of
        training samples is batch gradient descent; otherwise mini-batch.
        "auto" is 128, halved while an epoch would have fewer than 8 steps,
        down to 16 (as in :class:`KerasMLPClassifier`).
    epochs : int or "auto", default="auto"
        The number of passes over the training data (the most, when a rule
        may stop earlier). "auto" gives about 1,000 gradient steps, at least
        8 epochs with a schedule (20 without) and at most 200: 8 on all of
        MNIST, 91 on ``load_digits``.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes (keyed by label), multiplied into the sample
        weights; "balanced" weighs classes inversely to their frequency.
    warm_start : bool, default=False
        Continue from the fitted weights on the next ``fit``.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the hold-out split, the shuffling and the noise.
    verbose : int, default=0
        1 prints a line per epoch and why training stopped; 2 also shows
        Keras's progress bar.
    callbacks : list of keras.callbacks.Callback, default=None
        Extra callbacks; fit uses deep copies, kept in ``callbacks_``. A
        callback that monitors a validation metric (``val_...``) makes "auto"
        hold out validation rows.
    validation_fraction : float or "auto", default="auto"
        Share of the training data held out to monitor; 0 monitors the
        training accuracy and loss. "auto" holds out 10% when that makes at
        least 1,000 rows (and a training rule is on), or when a callback
        monitors a validation metric, else nothing.
    lr_schedule : {"one-cycle", "cosine"} or None, default="one-cycle"
        The learning rate's course over each fit, step by step, peaking at
        ``learning_rate`` (see :class:`KerasClassifier`); None keeps it
        constant, dropped on a plateau by ``lr_patience``.
    lr_patience : int or None, default=None
        Epochs without improvement before the learning rate drops (with
        ``lr_schedule=None``: "v0.1" drops 0.3x after 3 flat epochs).
    lr_factor : float, default=0.3
        Multiplier of each drop.
    min_lr : float, default=1e-6
        The learning rate never drops below this.
    patience : int or None, default=None
        Epochs without improvement before stopping as converged.
    target_accuracy : float or None, default=None
        Stop once the monitored accuracy reaches this; None disables it.
    restore_best_weights : bool, default=False
        End with the weights of the best epoch (on a schedule that decays
        to 0 the last epoch is as good, and with no rule on, every row
        trains: no hold-out).
    checkpoint_path : str, path or None, default=None
        Save the best model to this ``.keras`` file during training.
    jit_compile : bool or "auto", default="auto"
        Compile the training steps with XLA; "auto" leaves convolutions to
        TensorFlow's own kernels.
    precision : {"auto", "float32", "mixed_bfloat16"}, default="auto"
        The network's Keras dtype policy. "mixed_bfloat16" computes in
        bfloat16 with float32 weights and a float32 output; "auto" chooses
        it only where the CPU multiplies bfloat16 natively (AVX512_BF16 or
        AMX-BF16 in ``/proc/cpuinfo``), float32 elsewhere, where bfloat16
        is emulated and slower.
    **kwargs
        Routed parameters, as :class:`KerasClassifier` takes them.

    Attributes
    ----------
    image_shape_ : tuple (height, width)
        The image shape used.
    precision_ : str
        The dtype policy the network was built with ("float32" or
        "mixed_bfloat16").
    model_, classes_, n_features_in_, feature_names_in_, input_shape_, \
batch_size_, gd_variant_, history_, n_iter_, best_epoch_, best_score_, \
stop_reason_, callbacks_
        As in :class:`KerasMLPClassifier`.

    See Also
    --------
    KerasClassifier : Any Keras classifier; this is one of its presets.
    KerasMLPClassifier : Multilayer perceptrons.

    Notes
    -----
    The defaults adapt to the size of the data as
    :class:`KerasMLPClassifier`'s do. On scikit-learn's ``load_digits``
    (8x8 images) they reach about 99% test accuracy; on all of MNIST they
    give the schedule above: batches of 128, at most 20 epochs, a 10%
    hold-out to monitor.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdigits import KerasCNNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = KerasCNNClassifier(epochs=2, random_state=0).fit(X / 16, y)
    >>> clf.image_shape_
    (8, 8)
    """

    _parameter_constraints: dict = {
        **PresetClassifier._parameter_constraints,
        "filters": ["array-like", Integral],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "image_shape": [tuple, list, None],
        "noise_std": [Interval(Real, 0, None, closed="left")],
        "batch_norm": ["boolean"],
        "shift": [
            StrOptions({"auto"}),
            Interval(Integral, 0, None, closed="left"),
            Interval(Real, 0, 1, closed="left"),
        ],
        "dense_units": [Interval(Integral, 1, None, closed="left"), None],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "precision": [StrOptions({"auto", *PRECISIONS})],
    }
    _presets = CNN_PRESETS
    _added_parameters = {"precision": "float32"}  # skdigits 0.2 built float32
    _builder = staticmethod(build_cnn)

    def __init__(
        self,
        filters=_DEFAULT["filters"],
        *,
        kernel_size=3,
        image_shape=None,
        noise_std=_DEFAULT["noise_std"],
        batch_norm=_DEFAULT["batch_norm"],
        shift=_DEFAULT["shift"],
        dense_units=_DEFAULT["dense_units"],
        dropout=_DEFAULT["dropout"],
        optimizer="adam",
        learning_rate=_DEFAULT["learning_rate"],
        loss="crossentropy",
        batch_size="auto",
        epochs=_DEFAULT["epochs"],
        class_weight=None,
        warm_start=False,
        random_state=None,
        verbose=0,
        callbacks=None,
        validation_fraction=_DEFAULT["validation_fraction"],
        lr_schedule=_DEFAULT["lr_schedule"],
        lr_patience=_DEFAULT["lr_patience"],
        lr_factor=_DEFAULT["lr_factor"],
        min_lr=1e-6,
        patience=_DEFAULT["patience"],
        target_accuracy=None,
        restore_best_weights=_DEFAULT["restore_best_weights"],
        checkpoint_path=None,
        jit_compile="auto",
        precision="auto",
        **kwargs,
    ):
        self.filters = filters
        self.kernel_size = kernel_size
        self.image_shape = image_shape
        self.noise_std = noise_std
        self.batch_norm = batch_norm
        self.shift = shift
        self.dense_units = dense_units
        self.dropout = dropout
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.loss = loss
        self.batch_size = batch_size
        self.epochs = epochs
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.validation_fraction = validation_fraction
        self.lr_schedule = lr_schedule
        self.lr_patience = lr_patience
        self.lr_factor = lr_factor
        self.min_lr = min_lr
        self.patience = patience
        self.target_accuracy = target_accuracy
        self.restore_best_weights = restore_best_weights
        self.checkpoint_path = checkpoint_path
        self.jit_compile = jit_compile
        self.precision = precision
        vars(self).update(kwargs)

    def _input_samples(self, X, *, reset):
        """Rows of pixels from the accepted layouts, and the image shape of
        3-D or 4-D input (for ``meta``)."""
        if not hasattr(X, "ndim"):
            X = np.asarray(X)
        if X.ndim == 4:
            if X.shape[-1] != 1:
                raise ValueError(
                    "KerasCNNClassifier takes single-channel images: X of shape "
                    f"{X.shape} has {X.shape[-1]} channels"
                )
            X = X[..., 0]
        if X.ndim != 3:
            return X, {}
        shape = tuple(int(side) for side in X.shape[1:])
        expected = self.image_shape if reset else self.image_shape_
        if expected is not None and tuple(expected) != shape:
            raise ValueError(
                f"X holds images of shape {shape}, but image_shape is {tuple(expected)}"
            )
        return X.reshape(len(X), -1), {"image_shape": shape}

    def _builder_arguments(self, meta):
        n_features = meta["n_features_in_"]
        shape = self.image_shape or meta.get("image_shape")
        if shape is None:
            shape = infer_image_shape(n_features)
        elif len(shape) != 2 or int(np.prod(shape)) != n_features:
            raise ValueError(
                f"image_shape {tuple(shape)} does not match the {n_features} "
                "features of X"
            )
        arguments = {
            "image_shape": tuple(int(side) for side in shape),
            "n_classes": meta["n_classes_"],
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "noise_std": self.noise_std,
            "batch_norm": self.batch_norm,
            "shift": self.shift,
            "dense_units": self.dense_units,
            "dropout": self.dropout,
        }
        # Named only where it is not the softmax, so that the architecture
        # of a multiclass fit reads as in skdigits 0.2 (warm starts of its
        # pickles).
        if self._output_activation(meta) != "softmax":
            arguments["output_activation"] = self._output_activation(meta)
        precision = resolve_precision(self.precision)
        if precision != "float32":  # likewise
            arguments["precision"] = precision
        return arguments

    def _fitted_extra(self, model, meta):
        arguments = self._builder_arguments(meta)
        return {
            "image_shape_": arguments["image_shape"],
            "precision_": arguments.get("precision", "float32"),
        }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags
