"""The pure Keras model builders."""

import inspect

import numpy as np
import pytest

from skdigits import (
    CNN_PRESETS,
    MLP_PRESETS,
    KerasCNNClassifier,
    KerasMLPClassifier,
    build_cnn,
    build_mlp,
    infer_image_shape,
)


def dense_units(model):
    return [layer.units for layer in model.layers if hasattr(layer, "units")]


@pytest.mark.parametrize(
    ("preset", "units", "activation"),
    [
        ("4LS", [16, 16, 16, 10], "sigmoid"),
        ("3LS", [60, 60, 10], "sigmoid"),
        ("2LR", [32, 10], "softmax"),
    ],
)
def test_mlp_presets(preset, units, activation):
    model = build_mlp(784, 10, seed=0, **MLP_PRESETS[preset])
    assert dense_units(model) == units
    assert model.layers[-1].get_config()["activation"] == activation


def test_linear_mlp():
    model = build_mlp(64, 10, hidden_layer_sizes=())
    assert dense_units(model) == [10]
    assert model.count_params() == 64 * 10 + 10


def test_mlp_l2_penalises_every_kernel():
    model = build_mlp(20, 3, hidden_layer_sizes=(8,), l2=0.01, seed=0)
    model(np.zeros((1, 20), dtype="float32"))
    kernels = [layer.kernel for layer in model.layers if hasattr(layer, "kernel")]
    expected = 0.01 * sum(float(np.sum(np.square(k.numpy()))) for k in kernels)
    np.testing.assert_allclose(float(sum(model.losses)), expected, rtol=1e-5)
    assert build_mlp(20, 3, seed=0).losses == []


def test_same_seed_same_weights_and_layers_differ():
    a, b = (
        build_mlp(20, 3, hidden_layer_sizes=(8, 8), seed=1),
        build_mlp(20, 3, hidden_layer_sizes=(8, 8), seed=1),
    )
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    # Each layer has its own seed: two equal-shaped kernels differ.
    k1, k2 = a.layers[1].get_weights()[0], b.layers[2].get_weights()[0]
    assert not np.array_equal(k1, k2)


@pytest.mark.parametrize(
    ("builder", "estimator", "presets"),
    [
        (build_mlp, KerasMLPClassifier, MLP_PRESETS),
        (build_cnn, KerasCNNClassifier, CNN_PRESETS),
    ],
)
def test_default_preset_is_the_defaults(builder, estimator, presets):
    # One source of truth: the builders' and the estimators' defaults are the
    # "default" preset, and from_preset("default") is the default estimator.
    default = presets["default"]
    built = inspect.signature(builder).parameters
    params = estimator().get_params()
    for name, value in default.items():
        assert params[name] == value
        if name in built:
            assert built[name].default == value
    assert estimator.from_preset("default").get_params() == params


def test_zoo_cnn_architecture():
    zoo = CNN_PRESETS["zoo"]
    model = build_cnn(
        (28, 28),
        10,
        filters=zoo["filters"],
        batch_norm=False,
        shift=0,
        dense_units=None,
        dropout=0,
        seed=0,
    )
    convs = [layer for layer in model.layers if "conv" in layer.name]
    assert [c.filters for c in convs] == [16, 32, 32]
    assert all(c.kernel_size == (3, 3) for c in convs)
    # 28 -> 14 -> 7 -> 3 after three 2x2 poolings: 3 * 3 * 32 = 288 inputs.
    assert model.layers[-2].get_weights()[0].shape == (288, 10)
    assert model.output_shape == (None, 10)


def test_default_cnn_head_and_its_seeds():
    import keras

    model = build_cnn((28, 28), 10, seed=0)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [d.units for d in dense] == [128, 10]
    assert any(isinstance(layer, keras.layers.Dropout) for layer in model.layers)
    assert not any("batch_norm" in layer.name for layer in model.layers)
    # The head's seeds come after the others': the convolutions of a model
    # without it start from the same weights.
    plain = build_cnn((28, 28), 10, dense_units=None, dropout=0, seed=0)
    first = [layer for layer in model.layers if "conv" in layer.name][0]
    first_plain = [layer for layer in plain.layers if "conv" in layer.name][0]
    np.testing.assert_array_equal(first.get_weights()[0], first_plain.get_weights()[0])
    with pytest.raises(ValueError, match="dropout"):
        build_cnn((28, 28), 10, dropout=1.0)


def test_cnn_noise_only_in_training():
    model = build_cnn((8, 8), 3, noise_std=0.5, seed=0)
    x = np.random.RandomState(0).rand(4, 64).astype("float32")
    np.testing.assert_array_equal(model(x, training=False), model(x, training=False))
    assert not np.allclose(model(x, training=True), model(x, training=False))


def test_cnn_batch_norm_replaces_conv_bias():
    model = build_cnn((28, 28), 10, batch_norm=True, seed=0)
    convs = [layer for layer in model.layers if "conv" in layer.name]
    norms = [layer for layer in model.layers if "batch_norm" in layer.name]
    assert len(norms) == len(convs) == 3
    assert not any(conv.use_bias for conv in convs)
    assert model.output_shape == (None, 10)


def test_cnn_shift_only_in_training():
    shifted = build_cnn((8, 8), 3, noise_std=0, shift=0.25, seed=0)
    plain = build_cnn((8, 8), 3, noise_std=0, shift=0, seed=0)
    x = np.random.RandomState(0).rand(16, 64).astype("float32")
    np.testing.assert_array_equal(shifted(x, training=False), plain(x, training=False))
    assert not np.allclose(shifted(x, training=True), plain(x, training=True))


def test_cnn_shift_keeps_the_other_layers_seeds():
    plain = build_cnn((28, 28), 10, shift=0, seed=3)
    shifted = build_cnn((28, 28), 10, shift=0.1, seed=3)
    for wa, wb in zip(plain.get_weights(), shifted.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)


@pytest.mark.parametrize("shift", [-0.1, 1.0])
def test_cnn_bad_shift(shift):
    with pytest.raises(ValueError, match="shift"):
        build_cnn((8, 8), 3, shift=shift)


def test_cnn_too_small_names_image_shape():
    with pytest.raises(ValueError, match="image_shape"):
        build_cnn((4, 4), 10)


@pytest.mark.parametrize(("n", "shape"), [(784, (28, 28)), (64, (8, 8))])
def test_infer_image_shape(n, shape):
    assert infer_image_shape(n) == shape


def test_infer_image_shape_not_square():
    with pytest.raises(ValueError, match="image_shape"):
        infer_image_shape(783)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"hidden_layer_sizes": (0,)}, ValueError),
        ({"hidden_layer_sizes": (1.5,)}, TypeError),
        ({"hidden_layer_sizes": "ab"}, TypeError),
        ({"activation": "nope"}, ValueError),
        ({"output_activation": "relu"}, ValueError),
        ({"l2": -1e-4}, ValueError),
    ],
)
def test_mlp_bad_arguments(kwargs, error):
    with pytest.raises(error):
        build_mlp(4, 2, **kwargs)
