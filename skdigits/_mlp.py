"""The multilayer perceptrons: presets of ``KerasClassifier`` and ``KerasRegressor``."""

from numbers import Real

from skdigits import _tuning
from skdigits._classifier import PresetClassifier
from skdigits._compat import Interval, StrOptions
from skdigits._models import build_mlp
from skdigits._presets import MLP_PRESETS
from skdigits._regressor import PresetRegressor

_DEFAULT = MLP_PRESETS["default"]


class KerasMLPClassifier(PresetClassifier):
    """A Keras multilayer perceptron as a scikit-learn classifier.

    Parameters
    ----------
    hidden_layer_sizes : sequence of int, default=(256,)
        Width of each hidden layer; ``()`` is a linear (softmax) model. The
        article's MLPs are presets: ``from_preset("2LR")`` is ``(32,)``.
    activation : str, default="relu"
        Keras activation of the hidden layers.
    output_activation : {"softmax", "sigmoid"}, default="softmax"
        Activation of the output layer. With "sigmoid", cross-entropy is the
        per-output binary cross-entropy and ``predict_proba`` normalises the
        outputs to sum to 1.
    l2 : float, default=0.0
        L2 penalty: ``l2 * sum(kernel ** 2)`` over every layer is added to
        the loss (Keras's ``L2`` regularizer). scikit-learn's
        ``MLPClassifier(alpha=a)`` penalises the same sum by
        ``0.5 * a / batch_size``, so ``a = 2 * batch_size * l2``.
    optimizer : str or keras.optimizers.Optimizer subclass, default="adam"
        A Keras optimizer name ("sgd" is plain gradient descent) or class.
    learning_rate : float, default=5e-3
        The optimizer's (initial) learning rate.
    loss : {"crossentropy", "mse"}, default="crossentropy"
        The cost function, on one-hot targets.
    batch_size : int, "auto" or None, default="auto"
        1 is stochastic gradient descent; None, -1 or at least the number of
        training samples is batch gradient descent; otherwise mini-batch.
        "auto" is 128, halved while an epoch would have fewer than 8 steps,
        down to 16 (see Notes).
    epochs : int or "auto", default="auto"
        The maximum number of passes over the training data. "auto" gives
        about 1,000 gradient steps, at least 20 and at most 200 epochs.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes (keyed by label), multiplied into the sample
        weights; "balanced" weighs classes inversely to their frequency.
    warm_start : bool, default=False
        Continue from the fitted weights on the next ``fit`` (with a fresh
        optimizer), instead of starting anew.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the hold-out split, the shuffling and the noise.
    verbose : int, default=0
        1 prints a line per epoch and why training stopped; 2 also shows
        Keras's progress bar.
    callbacks : list of keras.callbacks.Callback, default=None
        Extra callbacks; fit uses deep copies, kept in ``callbacks_``. A
        whole epoch runs in one compiled call, so batch-level hooks run once
        per epoch. A callback that monitors a validation metric (``val_...``)
        makes "auto" hold out validation rows.
    validation_fraction : float or "auto", default="auto"
        Share of the training data held out (stratified, shuffled, seeded)
        to monitor; 0 monitors the training accuracy and loss. "auto" holds
        out 10% when that makes at least 1,000 rows (and a training rule is
        on), or when a callback monitors a validation metric, else nothing.
    lr_schedule : {"one-cycle", "cosine"} or None, default=None
        The learning rate's course over each fit, step by step, peaking at
        ``learning_rate`` (see :class:`KerasClassifier`); None keeps it
        constant, dropped on a plateau by ``lr_patience``.
    lr_patience : int or None, default=5
        Epochs without improvement before the learning rate drops; None
        never drops it.
    lr_factor : float, default=0.1
        Multiplier of each drop.
    min_lr : float, default=1e-6
        The learning rate never drops below this.
    patience : int or None, default=10
        Epochs without improvement before stopping as converged; None
        disables it.
    target_accuracy : float or None, default=None
        Stop once the monitored accuracy reaches this; None disables it.
    restore_best_weights : bool, default=True
        End with the weights of the best epoch.
    checkpoint_path : str, path or None, default=None
        Save the best model to this ``.keras`` file during training.
    jit_compile : bool or "auto", default="auto"
        Compile the training steps with XLA; "auto" does when the fit may
        run 1,000 steps or more.
    **kwargs
        Routed parameters, as :class:`KerasClassifier` takes them
        (``optimizer__momentum=0.9``, ``callbacks__patience=3``, ...).

    Attributes
    ----------
    model_ : keras.Model
        The trained network.
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    n_features_in_ : int
        Number of features seen during fit.
    input_shape_ : tuple
        The shape of one sample, ``(n_features_in_,)``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features, when X had string column names.
    batch_size_ : int
        The batch size used.
    gd_variant_ : str
        "stochastic", "mini-batch" or "batch".
    history_ : dict of lists
        Per-epoch "loss", "accuracy", "learning_rate", and with validation
        "val_loss" and "val_accuracy".
    n_iter_ : int
        Epochs trained.
    best_epoch_ : int or None
        The epoch (1-based) with the best monitored accuracy in the last fit.
    best_score_ : float
        That accuracy.
    stop_reason_ : str
        "max_epochs", "target_accuracy", "converged", "nan", or "callback"
        when one of ``callbacks`` stopped training.
    callbacks_ : list of keras.callbacks.Callback
        The fitted copies of ``callbacks``.

    See Also
    --------
    KerasClassifier : Any Keras classifier; this is one of its presets.
    KerasCNNClassifier : A convolutional network.

    Notes
    -----
    The defaults adapt to the size of the data, in gradient steps rather
    than epochs. On all of MNIST (54,000 rows after the hold-out) they give
    batches of 128 and at most 20 epochs, monitored on 6,000 held-out rows.
    On scikit-learn's ``load_digits`` (1,347 training rows) they give
    batches of 128 and at most 91 epochs on every row, monitored on the
    training accuracy and loss: a 10% hold-out would be 135 rows, whose
    accuracy moves in steps of 0.74%, too coarse to steer training. An
    epoch improves on a higher accuracy, or the same one with a loss lower
    by more than 0.01%.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdigits import KerasMLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = KerasMLPClassifier(random_state=0).fit(X / 16, y)
    >>> clf.batch_size_, clf.predict(X[:3] / 16)
    (128, array([0, 1, 2]))
    """

    _parameter_constraints: dict = {
        **PresetClassifier._parameter_constraints,
        "hidden_layer_sizes": ["array-like", int],
        "activation": [str],
        "output_activation": [StrOptions({"softmax", "sigmoid"})],
        "l2": [Interval(Real, 0, None, closed="left")],
    }
    _presets = MLP_PRESETS

    def __init__(
        self,
        hidden_layer_sizes=_DEFAULT["hidden_layer_sizes"],
        *,
        activation=_DEFAULT["activation"],
        output_activation=_DEFAULT["output_activation"],
        l2=0.0,
        optimizer="adam",
        learning_rate=5e-3,
        loss="crossentropy",
        batch_size="auto",
        epochs="auto",
        class_weight=None,
        warm_start=False,
        random_state=None,
        verbose=0,
        callbacks=None,
        validation_fraction="auto",
        lr_schedule=None,
        lr_patience=5,
        lr_factor=0.1,
        min_lr=1e-6,
        patience=10,
        target_accuracy=None,
        restore_best_weights=True,
        checkpoint_path=None,
        jit_compile="auto",
        **kwargs,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.output_activation = output_activation
        self.l2 = l2
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
        vars(self).update(kwargs)

    def _builder_arguments(self, meta):
        return {
            "n_features": meta["n_features_in_"],
            "n_classes": meta["n_classes_"],
            "hidden_layer_sizes": self.hidden_layer_sizes,
            "activation": self.activation,
            "output_activation": self._output_activation(meta),
            "l2": self.l2,
        }

    _builder = staticmethod(build_mlp)


class KerasMLPRegressor(PresetRegressor):
    """A Keras multilayer perceptron as a scikit-learn regressor.

    :class:`KerasMLPClassifier`'s network with a linear output of one unit
    per target column, its named gradient-descent variants, and a schedule
    measured to beat ``MLPRegressor()`` on small data: 20 epochs from a rate
    of 1e-2 falling on a cosine to 0. The training rules are there to turn
    on (``lr_schedule=None, lr_patience=5, patience=10,
    restore_best_weights=True`` is the classifier's plateau set); they
    monitor the loss (held out where 10% of the rows make at least 1,000).

    Parameters
    ----------
    hidden_layer_sizes : sequence of int, default=(256,)
        Width of each hidden layer; ``()`` is a linear model.
    activation : str, default="relu"
        Keras activation of the hidden layers.
    l2 : float, default=0.0
        L2 penalty of every kernel, ``l2 * sum(kernel ** 2)`` added to the
        loss.
    optimizer : str or keras.optimizers.Optimizer subclass, default="adam"
        A Keras optimizer name or class.
    learning_rate : float, default=1e-2
        The optimizer's (peak) learning rate.
    loss : {"mse", "mae", "huber"}, default="mse"
        The cost function.
    batch_size : int, "auto" or None, default="auto"
        1 is stochastic gradient descent; None, -1 or at least the number of
        training samples is batch gradient descent; otherwise mini-batch.
        "auto" is 128, halved while an epoch would have fewer than 8 steps,
        down to 16.
    epochs : int or "auto", default=20
        The number of passes; "auto" gives about 2,000 gradient steps, at
        least 9 and at most 200 epochs.
    warm_start : bool, default=False
        Continue from the fitted weights on the next ``fit``.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the hold-out split and the shuffling.
    verbose : int, default=0
        1 prints a line per epoch and why training stopped.
    callbacks : list of keras.callbacks.Callback, default=None
        Extra callbacks; fit uses deep copies, kept in ``callbacks_``.
    validation_fraction : float or "auto", default="auto"
        Share of the training data held out (shuffled, seeded) to monitor.
    lr_schedule : {"one-cycle", "cosine"} or None, default="cosine"
        The learning rate's course over each fit; None keeps it constant
        (dropped on a plateau by ``lr_patience``).
    lr_patience : int or None, default=None
        Epochs without a lower loss before the learning rate drops (with
        ``lr_schedule=None``).
    lr_factor : float, default=0.1
        Multiplier of each drop.
    min_lr : float, default=1e-6
        The learning rate never drops below this.
    patience : int or None, default=None
        Epochs without improvement before stopping as converged.
    restore_best_weights : bool, default=False
        End with the weights of the epoch with the lowest monitored loss.
    checkpoint_path : str, path or None, default=None
        Save the best model to this ``.keras`` file during training.
    jit_compile : bool or "auto", default="auto"
        Compile the training steps with XLA; "auto" does when the fit may
        run 1,000 steps or more.
    **kwargs
        Routed parameters (``optimizer__momentum=0.9``, ...).

    Attributes
    ----------
    model_ : keras.Model
        The trained network.
    n_outputs_ : int
        The number of target columns.
    n_features_in_ : int
        Number of features seen during fit.
    input_shape_ : tuple
        The shape of one sample.
    batch_size_ : int
        The batch size used.
    gd_variant_ : str
        "stochastic", "mini-batch" or "batch".
    history_ : dict of lists
        Per-epoch "loss", "learning_rate", and with validation "val_loss".
    n_iter_ : int
        Epochs trained.
    best_epoch_ : int or None
        The epoch with the lowest monitored loss in the last fit.
    best_score_ : float
        That loss.
    stop_reason_ : str
        "max_epochs", "converged", "nan", or "callback".

    See Also
    --------
    KerasRegressor : Any Keras regressor; this is one of its presets.
    KerasMLPClassifier : The same network for classification.

    Examples
    --------
    >>> from sklearn.datasets import make_friedman1
    >>> from skdigits import KerasMLPRegressor
    >>> X, y = make_friedman1(n_samples=200, random_state=0)
    >>> reg = KerasMLPRegressor(random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    """

    _parameter_constraints: dict = {
        **PresetRegressor._parameter_constraints,
        "hidden_layer_sizes": ["array-like", int],
        "activation": [str],
        "l2": [Interval(Real, 0, None, closed="left")],
    }
    _presets = {"default": {}}
    _auto_steps = _tuning.REGRESSION_AUTO_STEPS

    def __init__(
        self,
        hidden_layer_sizes=_DEFAULT["hidden_layer_sizes"],
        *,
        activation=_DEFAULT["activation"],
        l2=0.0,
        optimizer="adam",
        learning_rate=_tuning.MLP_REGRESSOR_LEARNING_RATE,
        loss="mse",
        batch_size="auto",
        epochs=_tuning.MLP_REGRESSOR_EPOCHS,
        warm_start=False,
        random_state=None,
        verbose=0,
        callbacks=None,
        validation_fraction="auto",
        lr_schedule="cosine",
        lr_patience=None,
        lr_factor=0.1,
        min_lr=1e-6,
        patience=None,
        restore_best_weights=False,
        checkpoint_path=None,
        jit_compile="auto",
        **kwargs,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.l2 = l2
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.loss = loss
        self.batch_size = batch_size
        self.epochs = epochs
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
        self.restore_best_weights = restore_best_weights
        self.checkpoint_path = checkpoint_path
        self.jit_compile = jit_compile
        vars(self).update(kwargs)

    def _builder_arguments(self, meta):
        return {
            "n_features": meta["n_features_in_"],
            "n_classes": meta["n_outputs_"],
            "hidden_layer_sizes": self.hidden_layer_sizes,
            "activation": self.activation,
            "output_activation": "linear",
            "l2": self.l2,
        }

    _builder = staticmethod(build_mlp)
