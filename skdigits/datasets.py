"""MNIST, bundled with the package, and a reader for any IDX file.

MNIST is by Y. LeCun, C. Cortes and C. J. C. Burges, under the Creative
Commons Attribution-Share Alike 3.0 licence (see the NOTICE file).
"""

import functools
import gzip
import hashlib
import os
import zlib
from importlib import resources

import numpy as np
from sklearn.utils import Bunch

__all__ = ["load_idx", "load_mnist"]

FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
# SHA-256 of the uncompressed bundled files.
SHA256 = {
    "train-images-idx3-ubyte.gz": (
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
    ),
    "train-labels-idx1-ubyte.gz": (
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
    ),
    "t10k-images-idx3-ubyte.gz": (
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
    ),
}
# IDX type codes (third byte of the magic number).
_IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

DESCR = """MNIST handwritten digits (Y. LeCun, C. Cortes, C. J. C. Burges;
CC BY-SA 3.0). 60,000 training and 10,000 test images of 28x28 grey pixels,
0 = background, with their digit labels 0-9."""


def _read_bytes(path):
    """The uncompressed content of ``path`` (gzipped or not)."""
    with open(path, "rb") as f:
        head = f.read(2)
    try:
        if head == b"\x1f\x8b":
            with gzip.open(path, "rb") as f:
                return f.read()
        with open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path} is corrupt or truncated: {exc}") from None


def _parse_idx(raw, path):
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    dtype, ndim = _IDX_TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path} is truncated: its header is incomplete")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"{path} is truncated or corrupt: shape {shape} needs {expected} "
            f"bytes of data, found {len(raw) - header}"
        )
    return np.frombuffer(raw, dtype, offset=header).reshape(shape)


def load_idx(path):
    """Read an IDX file (gzipped or not) into a NumPy array.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    array : ndarray
        The data, of the file's shape and dtype (native byte order).

    Examples
    --------
    >>> from skdigits.datasets import load_idx, mnist_path
    >>> load_idx(mnist_path("t10k-labels-idx1-ubyte.gz")).shape
    (10000,)
    """
    array = _parse_idx(_read_bytes(path), path)
    return array.astype(array.dtype.newbyteorder("="))


def mnist_path(filename):
    """The path of a bundled MNIST file."""
    return os.fspath(resources.files("skdigits") / "data" / "mnist" / filename)


def _load_verified(path, sha256):
    """Read and check one file, once per process while it stays unchanged.

    The cache key holds the file's size and modification time, so a file
    replaced on disk is read again. Callers get copies.
    """
    stat = os.stat(path)
    return _load_cached(os.fspath(path), stat.st_size, stat.st_mtime_ns, sha256)


@functools.lru_cache(maxsize=8)
def _load_cached(path, size, mtime_ns, sha256):
    raw = _read_bytes(path)
    if sha256 is not None and hashlib.sha256(raw).hexdigest() != sha256:
        raise ValueError(
            f"{path} failed its checksum: the file is corrupt or not the "
            "standard MNIST file"
        )
    array = _parse_idx(raw, path)
    array.flags.writeable = False
    return array


def load_mnist(
    split="train", *, return_X_y=False, as_images=False, scale=True, data_home=None
):
    """Load the MNIST training or test set.

    The bundled files are checked against their SHA-256 when first read in a
    process; later calls reuse the decoded arrays while the files are
    unchanged on disk (same size and modification time).

    Parameters
    ----------
    split : {"train", "test"}, default="train"
        60,000 training or 10,000 test images.
    return_X_y : bool, default=False
        Return ``(X, y)`` instead of a Bunch.
    as_images : bool, default=False
        X of shape ``(n, 28, 28)`` instead of rows of 784 pixels.
    scale : bool, default=True
        float32 pixels in [0, 1]; False keeps uint8 0-255.
    data_home : str, os.PathLike or None, default=None
        A folder holding the four files under the standard MNIST names
        (Fashion-MNIST and EMNIST digits come in the same layout); None uses
        the bundled MNIST. Such files are checked for structure only.

    Returns
    -------
    data : Bunch or tuple
        ``data``, ``target`` (int64), ``target_names``, ``DESCR``, or
        ``(X, y)`` with ``return_X_y=True``.

    Examples
    --------
    >>> from skdigits.datasets import load_mnist
    >>> X, y = load_mnist("test", return_X_y=True)
    >>> X.shape, X.dtype, y[:5]
    ((10000, 784), dtype('float32'), array([7, 2, 1, 0, 4]))
    """
    if split not in FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    arrays = []
    for filename in FILES[split]:
        if data_home is None:
            path, sha256 = mnist_path(filename), SHA256[filename]
        else:
            path, sha256 = _find(data_home, filename), None
        arrays.append(_load_verified(path, sha256))
    images, labels = arrays
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(
            f"images of shape {images.shape} and labels of shape "
            f"{labels.shape} do not make a data set"
        )
    if scale:
        # One pass: uint8 -> float32 in [0, 1], no float64 temporary.
        X = np.multiply(images, np.float32(1 / 255), dtype=np.float32)
    else:
        X = images.copy()
    if not as_images:
        X = X.reshape(len(X), -1)
    y = labels.astype(np.int64)
    if return_X_y:
        return X, y
    return Bunch(data=X, target=y, target_names=np.unique(y), DESCR=DESCR, split=split)


def _find(data_home, filename):
    """``filename`` in ``data_home``, gzipped or not."""
    for name in (filename, filename.removesuffix(".gz")):
        path = os.path.join(os.fspath(data_home), name)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(
        f"{filename} (or its uncompressed form) is not in {os.fspath(data_home)}"
    )
