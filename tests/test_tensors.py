"""Arrays handed to TensorFlow without a second copy."""

import numpy as np
import pytest
import tensorflow as tf

from skdigits import _tensors


@pytest.mark.parametrize(
    "array",
    [
        np.arange(35, dtype=np.float32).reshape(7, 5)[:, ::2],  # not contiguous
        np.arange(7, dtype=np.int32),
        np.arange(1, dtype=np.float32),
    ],
    ids=["strided", "int32", "one-row"],
)
def test_tensor_is_aligned_and_zero_padded(array):
    # TensorFlow aborts the process on a misaligned buffer, so every input
    # handed over without a copy must start on an aligned boundary.
    tensor = _tensors.to_tensor(array, 9)
    assert tensor.dtype.as_numpy_dtype == array.dtype
    got = tensor.numpy()
    np.testing.assert_array_equal(got[: len(array)], array)
    assert got.shape == (9, *array.shape[1:]) and not got[len(array) :].any()
    for _ in range(20):
        out = _tensors.aligned_empty((3, 5), np.float32)
        assert out.ctypes.data % _tensors.TENSOR_ALIGNMENT == 0
    assert float(tf.reduce_sum(tensor)) == float(array.sum())  # a kernel reads it


def test_tensor_without_padding_is_a_copy():
    array = np.arange(12, dtype=np.float32).reshape(4, 3)
    tensor = _tensors.to_tensor(array)
    array[0, 0] = 99  # the caller's array stays the caller's
    assert tensor.shape == (4, 3) and float(tensor[0, 0]) == 0
