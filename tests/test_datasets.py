"""The bundled MNIST loader and the IDX reader."""

import gzip
import os
import shutil

import numpy as np
import pytest

from skdigits.datasets import FILES, _load_verified, load_idx, load_mnist, mnist_path

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.parametrize(
    ("split", "n", "counts"),
    [("train", 60000, TRAIN_COUNTS), ("test", 10000, TEST_COUNTS)],
)
def test_load_mnist(split, n, counts):
    data = load_mnist(split)
    assert data.data.shape == (n, 784)
    assert data.data.dtype == np.float32
    assert 0 <= data.data.min() and data.data.max() == 1
    assert data.target.dtype == np.int64
    assert np.bincount(data.target).tolist() == counts
    np.testing.assert_array_equal(data.target_names, np.arange(10))
    assert "LeCun" in data.DESCR


def test_layouts_and_scaling():
    images, y = load_mnist("test", return_X_y=True, as_images=True, scale=False)
    assert images.shape == (10000, 28, 28)
    assert images.dtype == np.uint8 and images.max() == 255
    rows, _ = load_mnist("test", return_X_y=True)
    np.testing.assert_allclose(rows, images.reshape(10000, -1) / 255, rtol=1e-6)
    assert y[:5].tolist() == [7, 2, 1, 0, 4]


def test_returns_copies():
    X, _ = load_mnist("test", return_X_y=True, scale=False)
    X[:] = 0
    again, _ = load_mnist("test", return_X_y=True, scale=False)
    assert again.max() == 255


def _copy_split(tmp_path, split="test", gunzip=False):
    for name in FILES[split]:
        if gunzip:
            with (
                gzip.open(mnist_path(name)) as src,
                open(tmp_path / name.removesuffix(".gz"), "wb") as dst,
            ):
                shutil.copyfileobj(src, dst)
        else:
            shutil.copy(mnist_path(name), tmp_path / name)


@pytest.mark.parametrize("gunzip", [False, True])
def test_data_home(tmp_path, gunzip):
    _copy_split(tmp_path, gunzip=gunzip)
    X, y = load_mnist("test", return_X_y=True, data_home=tmp_path)
    X0, y0 = load_mnist("test", return_X_y=True)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


def test_data_home_file_replaced_on_disk(tmp_path):
    # The same process must see a file that changed, and reject a truncated
    # replacement by name instead of returning the old content.
    _copy_split(tmp_path, gunzip=True)
    labels = tmp_path / "t10k-labels-idx1-ubyte"
    _, y = load_mnist("test", return_X_y=True, data_home=tmp_path)
    raw = bytearray(labels.read_bytes())
    raw[8] = (raw[8] + 1) % 10  # the first label
    labels.write_bytes(bytes(raw))
    os.utime(labels, ns=(10**18, 10**18))  # a new modification time
    _, changed = load_mnist("test", return_X_y=True, data_home=tmp_path)
    assert changed[0] == (y[0] + 1) % 10
    np.testing.assert_array_equal(changed[1:], y[1:])
    labels.write_bytes(bytes(raw[:-10]))
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte is truncated"):
        load_mnist("test", data_home=tmp_path)


def test_data_home_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="t10k-images"):
        load_mnist("test", data_home=tmp_path)


def test_bad_split():
    with pytest.raises(ValueError, match="split"):
        load_mnist("validation")


def test_checksum_failure(tmp_path):
    # A valid IDX file whose content differs from MNIST's by one pixel.
    name = "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(open(mnist_path(name), "rb").read()))
    raw[-1] = (raw[-1] + 1) % 10
    bad = tmp_path / name
    bad.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(ValueError, match="checksum"):
        _load_verified(
            str(bad), "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
        )


def test_truncated_files(tmp_path):
    full = gzip.decompress(open(mnist_path("t10k-labels-idx1-ubyte.gz"), "rb").read())
    short = tmp_path / "short-idx1-ubyte"
    short.write_bytes(full[:-10])
    with pytest.raises(ValueError, match="truncated"):
        load_idx(short)
    cut_gz = tmp_path / "cut.gz"
    cut_gz.write_bytes(
        open(mnist_path("t10k-labels-idx1-ubyte.gz"), "rb").read()[:2000]
    )
    with pytest.raises(ValueError, match="corrupt or truncated"):
        load_idx(cut_gz)
    not_idx = tmp_path / "text"
    not_idx.write_bytes(b"hello world")
    with pytest.raises(ValueError, match="magic"):
        load_idx(not_idx)


@pytest.mark.parametrize("dtype", [">i2", ">i4", ">f4", ">f8", "u1"])
def test_load_idx_types(tmp_path, dtype):
    codes = {">i2": 0x0B, ">i4": 0x0C, ">f4": 0x0D, ">f8": 0x0E, "u1": 0x08}
    data = np.arange(24).reshape(2, 3, 4).astype(dtype)
    header = bytes([0, 0, codes[dtype], 3]) + np.array([2, 3, 4], ">u4").tobytes()
    path = tmp_path / "x.idx"
    path.write_bytes(header + data.tobytes())
    loaded = load_idx(path)
    np.testing.assert_array_equal(loaded, data)
    assert loaded.dtype.isnative
