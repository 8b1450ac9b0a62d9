"""The CPU's choices: oneDNN asked for on x86-64, bfloat16 only where the CPU
multiplies it natively (both branches forced), the whole-pixel shift."""

import subprocess
import sys

import numpy as np
import pytest
from scipy import ndimage
from sklearn.datasets import load_digits

from skdigits import KerasCNNClassifier, _cpu, build_cnn
from skdigits._layers import PixelShift


def test_cpu_flags_read_the_kernels_list(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nmodel name\t: AMD EPYC\n"
        "flags\t\t: fpu sse2 avx2 fma avx512f avx512_bf16\n\nprocessor\t: 1\n"
    )
    flags = _cpu.cpu_flags.__wrapped__(str(cpuinfo))
    assert {"avx2", "avx512f", "avx512_bf16"} <= flags
    assert _cpu.cpu_flags.__wrapped__(str(tmp_path / "missing")) == frozenset()


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"avx2", "fma"}, "float32"),
        ({"avx2", "avx512f", "avx512_vnni"}, "float32"),
        ({"avx512f", "avx512_bf16"}, "mixed_bfloat16"),
        ({"amx_tile", "amx_bf16"}, "mixed_bfloat16"),
        (set(), "float32"),
    ],
)
def test_auto_precision_is_bfloat16_only_with_native_products(flags, expected):
    assert _cpu.auto_precision(flags) == expected
    assert _cpu.resolve_precision("auto", flags) == expected
    # An explicit choice wins over the CPU.
    assert _cpu.resolve_precision("float32", {"avx512_bf16"}) == "float32"
    with pytest.raises(ValueError, match="precision"):
        _cpu.resolve_precision("float16", flags)


@pytest.mark.parametrize(
    ("environ", "machine", "modules", "asked"),
    [
        ({}, "x86_64", {}, True),
        ({"TF_ENABLE_ONEDNN_OPTS": "0"}, "x86_64", {}, False),  # the user's
        ({"TF_ENABLE_ONEDNN_OPTS": "1"}, "x86_64", {}, False),
        ({}, "x86_64", {"tensorflow": object()}, False),  # too late
        ({}, "aarch64", {}, False),  # TensorFlow's own choice there
    ],
)
def test_onednn_is_asked_for_unless_chosen(environ, machine, modules, asked):
    before = dict(environ)
    assert _cpu.choose_onednn(environ, machine, modules) is asked
    if asked:
        assert environ == {"TF_ENABLE_ONEDNN_OPTS": "1"}
    else:
        assert environ == before


def onednn_in_a_fresh_process(env_value):
    env = {"PATH": "/usr/bin:/bin"}
    if env_value is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = env_value
    code = (
        "import os, platform, skdigits, skdigits._backend\n"
        "print(os.environ.get('TF_ENABLE_ONEDNN_OPTS'), platform.machine())"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # quiet, oneDNN's start-up line included
    return done.stdout.split()


def test_import_asks_for_onednn_and_keeps_the_users_choice():
    value, machine = onednn_in_a_fresh_process(None)
    assert value == ("1" if machine in ("x86_64", "AMD64") else "None")
    assert onednn_in_a_fresh_process("0")[0] == "0"


@pytest.mark.parametrize(
    ("flags", "precision", "expected"),
    [
        ({"avx2", "fma"}, "auto", "float32"),
        ({"avx512f", "avx512_bf16"}, "auto", "mixed_bfloat16"),
        ({"avx512f", "avx512_bf16"}, "float32", "float32"),
    ],
)
def test_the_cnn_trains_in_the_precision_chosen(
    monkeypatch, flags, precision, expected
):
    # Both branches, forced: the CPU's flags are what the choice reads.
    monkeypatch.setattr(_cpu, "cpu_flags", lambda: frozenset(flags))
    X, y = load_digits(return_X_y=True)
    X = X / 16
    clf = KerasCNNClassifier(epochs=20, precision=precision, random_state=0)
    clf.fit(X[:900], y[:900])
    assert clf.precision_ == expected
    convs = [layer for layer in clf.model_.layers if "conv" in layer.name]
    assert {c.dtype_policy.name for c in convs} == {expected}
    assert clf.model_.layers[-1].dtype_policy.name == "float32"  # the softmax
    assert all(v.dtype == "float32" for v in clf.model_.trainable_variables)
    proba = clf.predict_proba(X[900:])
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    # bfloat16 learns too: within a few points of float32's accuracy here.
    assert clf.score(X[900:], y[900:]) > 0.9


def test_pixel_shift_moves_each_image_as_scipy_does():
    # Each training image is the input moved by whole pixels, its border
    # repeated: scipy's ndimage.shift(order=0, mode="nearest") by some
    # offset within the bound; inference passes the input through.
    rng = np.random.RandomState(0)
    images = rng.rand(200, 9, 7, 1).astype("float32")
    layer = PixelShift(2, seed=0)
    shifted = np.asarray(layer(images, training=True))
    np.testing.assert_array_equal(np.asarray(layer(images)), images)
    offsets = []
    for image, out in zip(images[..., 0], shifted[..., 0], strict=True):
        found = [
            (dy, dx)
            for dy in range(-2, 3)
            for dx in range(-2, 3)
            if np.array_equal(
                ndimage.shift(image, (dy, dx), order=0, mode="nearest"), out
            )
        ]
        assert len(found) == 1
        offsets.append(found[0])
    # Every offset of the 5 x 5 is drawn, each image its own.
    assert len(set(offsets)) == 25


def test_pixel_shift_in_the_cnn_saves_and_checks_its_argument(tmp_path):
    import keras

    model = build_cnn((28, 28), 10, shift=2, seed=0)
    shifts = [layer for layer in model.layers if isinstance(layer, PixelShift)]
    assert [layer.pixels for layer in shifts] == [2]
    fraction = build_cnn((28, 28), 10, shift=0.05, seed=0)
    assert any(
        isinstance(lay, keras.layers.RandomTranslation) for lay in fraction.layers
    )
    path = tmp_path / "cnn.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert [lay.pixels for lay in loaded.layers if isinstance(lay, PixelShift)] == [2]
    x = np.random.RandomState(0).rand(3, 784).astype("float32")
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0)
    )
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="shift"):
            build_cnn((28, 28), 10, shift=bad)
    with pytest.raises(ValueError, match="pixels"):
        PixelShift(-1)
