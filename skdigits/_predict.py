"""The fast predictor of a trained Keras model, for any model.

Keras's ``predict`` builds a ``tf.data`` pipeline and a progress bar per
call: tens of milliseconds for one row. ``make_predictor`` returns a
function from an array of samples to the model's outputs (float64) that
costs a fraction of a millisecond for one row, in one of two forms:

- a stack of dense layers (``keras.Sequential`` of ``Dense``,
  ``Activation`` and inference-time no-op layers) runs as NumPy matrix
  products in float64: nothing is traced, so the first call (after fit, or
  after loading in a fresh process) costs what every later one does, and a
  row's result does not depend on the rows predicted with it (float32
  products round differently by batch size, by about 1e-7);
- any other model runs as one traced TensorFlow graph, traced and run once
  on a blank sample when the predictor is made (TensorFlow prepares its
  kernels on first use: without this the first prediction would pay
  30-50 ms). A ``Sequential`` model's last softmax or sigmoid
  ``Activation`` layer is left to NumPy, in float64.
"""

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, softmax

from skdigits import _tuning
from skdigits._backend import keras, tf


def _softmax(x):
    return softmax(x, axis=-1)


# NumPy forms of the common activations (float64 in, float64 out). Others
# run Keras's own function.
_NUMPY_ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0.0),
    "sigmoid": expit,
    "tanh": np.tanh,
    "softmax": _softmax,
}

# Layers that do nothing at inference time.
_INFERENCE_NO_OPS = (
    keras.layers.Dropout,
    keras.layers.GaussianNoise,
    keras.layers.GaussianDropout,
    keras.layers.InputLayer,
)


def _activation_name(activation):
    name = keras.activations.serialize(activation)
    return name if isinstance(name, str) else None


def _numpy_activation(activation):
    found = _NUMPY_ACTIVATIONS.get(_activation_name(activation))
    if found is not None:
        return found

    def keras_activation(x, f=activation):
        return np.asarray(f(tf.constant(x)), np.float64)

    return keras_activation


def _dense_stack(model, sample_shape):
    """The ``(kernel, bias, activation)`` steps of a dense stack, or None."""
    if not isinstance(model, keras.Sequential) or len(sample_shape) != 1:
        return None
    steps = []
    for layer in model.layers:
        if isinstance(layer, _INFERENCE_NO_OPS):
            continue
        if isinstance(layer, keras.layers.Activation):
            steps.append((None, None, _numpy_activation(layer.activation)))
        elif type(layer) is keras.layers.Dense:
            weights = [np.asarray(w, np.float64) for w in layer.get_weights()]
            if len(weights) == 1:
                weights.append(np.zeros(weights[0].shape[1]))
            steps.append((*weights, _numpy_activation(layer.activation)))
        else:
            return None
    return steps


def is_dense_stack(model, sample_shape):
    """Whether ``model`` is a stack of dense layers on flat samples."""
    if not isinstance(model, keras.Sequential) or len(sample_shape) != 1:
        return False
    return all(
        isinstance(layer, _INFERENCE_NO_OPS + (keras.layers.Activation,))
        or type(layer) is keras.layers.Dense
        for layer in model.layers
    )


def make_predictor(model, sample_shape, chunk=None):
    """A function from samples (an array of ``sample_shape`` samples) to the
    model's outputs, float64, shape ``(n, units)``; a traced graph runs
    ``chunk`` samples at a time (default ``PREDICT_CHUNK``)."""
    steps = _dense_stack(model, sample_shape)
    if steps is not None:
        return _numpy_forward(steps)
    return _graph_forward(model, tuple(sample_shape), chunk or _tuning.PREDICT_CHUNK)


def _numpy_forward(steps):
    def forward(X):
        X = X.astype(np.float64, copy=False)  # a sparse X stays sparse
        for kernel, bias, activation in steps:
            if kernel is not None:
                X = np.asarray(X @ kernel) + bias
            elif sp.issparse(X):
                X = X.toarray()
            X = activation(X)
        return X

    return forward


def _graph_forward(model, sample_shape, chunk):
    layers, tail = None, None
    if isinstance(model, keras.Sequential) and model.layers:
        last = model.layers[-1]
        name = (
            _activation_name(last.activation)
            if type(last) is keras.layers.Activation
            else None
        )
        if name in ("softmax", "sigmoid"):
            layers, tail = model.layers[:-1], _NUMPY_ACTIVATIONS[name]

    def call(x):
        if layers is None:
            return model(x, training=False)
        for layer in layers:
            x = layer(x, training=False)
        return x

    graph = tf.function(
        call, input_signature=[tf.TensorSpec([None, *sample_shape], tf.float32)]
    ).get_concrete_function()
    graph(tf.zeros((1, *sample_shape)))

    def dense(X):  # a sparse chunk is made dense here, never the whole matrix
        return X.toarray() if sp.issparse(X) else X

    def forward(X):
        X = X.astype(np.float32, copy=False)
        n = X.shape[0]
        if n <= chunk:  # no copy for the usual small call
            out = graph(tf.constant(dense(X))).numpy()
        else:
            out = np.concatenate(
                [
                    graph(tf.constant(dense(X[i : i + chunk]))).numpy()
                    for i in range(0, n, chunk)
                ]
            )
        out = out.astype(np.float64).reshape(n, -1)
        return out if tail is None else tail(out)

    return forward
