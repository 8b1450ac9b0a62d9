"""Turn a picture of a handwritten digit into an MNIST-like row of pixels.

MNIST digits were fitted into a 20x20 box keeping their aspect ratio
(anti-aliased to grey levels), then placed in a 28x28 field so that their
centre of mass is at the centre; ink is light on a dark background. This
does the same to any picture (needs Pillow: ``skdigits[plot]``).
"""

import os

import numpy as np
from scipy import ndimage

__all__ = ["load_digit", "preprocess_digit"]

_BOX, _FIELD = 20, 28


def preprocess_digit(image):
    """An MNIST-like digit from a grey image of any size and polarity.

    Parameters
    ----------
    image : array-like of shape (height, width)
        Grey levels, dark-on-light or light-on-dark, any numeric range.

    Returns
    -------
    row : ndarray of shape (784,), float32
        Pixels in [0, 1], light ink on a dark field, as ``load_mnist`` gives.

    Examples
    --------
    >>> import numpy as np
    >>> from skdigits.images import preprocess_digit
    >>> picture = np.full((90, 60), 255.0)  # dark stroke on white paper
    >>> picture[10:80, 25:35] = 0
    >>> float(preprocess_digit(picture).reshape(28, 28)[14, 14])
    1.0
    """
    from PIL import Image

    grey = np.asarray(image, dtype=np.float64)
    if grey.ndim != 2 or min(grey.shape) < 2:
        raise ValueError(f"expected a 2-D grey image, got shape {grey.shape}")
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    background = np.median(border)
    # Ink is whatever differs from the background, made light on dark.
    ink = np.abs(grey - background)
    if ink.max() <= 0:
        raise ValueError("the image is blank: no digit found")
    ink /= ink.max()
    rows, cols = np.nonzero(ink > 0.2)
    ink = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]

    height, width = ink.shape
    scale = _BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    boxed = np.asarray(
        Image.fromarray((ink * 255).astype(np.uint8)).resize(size, Image.LANCZOS),
        dtype=np.float64,
    )
    field = np.zeros((_FIELD, _FIELD))
    top, left = (_FIELD - size[1]) // 2, (_FIELD - size[0]) // 2
    field[top : top + size[1], left : left + size[0]] = boxed
    centre = ndimage.center_of_mass(field)
    shift = np.round(np.subtract((_FIELD - 1) / 2, centre)).astype(int)
    field = ndimage.shift(field, shift, order=0, mode="constant")
    field = np.clip(field / max(field.max(), 1e-12), 0, 1)
    return field.astype(np.float32).reshape(-1)


def load_digit(path, *, max_pixels=None):
    """Read a picture (PNG, JPEG, ...) and preprocess it like MNIST.

    Transparent pixels count as background.

    Parameters
    ----------
    path : str, os.PathLike or binary file object
        The picture, or its bytes in an open file (``io.BytesIO(data)``).
    max_pixels : int or None, default=None
        Refuse pictures of more pixels than this before decoding them (a
        small compressed file can hold a huge image); None is Pillow's own
        decompression-bomb limit.

    Returns
    -------
    row : ndarray of shape (784,), float32

    Raises
    ------
    ValueError
        When the data is not a readable image, is too large, or shows no
        digit.
    """
    from PIL import Image, UnidentifiedImageError

    name = path if isinstance(path, str | os.PathLike) else "the data"
    try:
        picture = Image.open(path)
    except UnidentifiedImageError:
        raise ValueError(
            f"{name} is not an image Pillow can read (PNG, JPEG, ...)"
        ) from None
    except Image.DecompressionBombError as exc:
        raise ValueError(f"{name} is too large an image ({exc})") from None
    with picture:
        width, height = picture.size
        if max_pixels is not None and width * height > max_pixels:
            raise ValueError(
                f"{name} is {width}x{height} pixels, more than the "
                f"{max_pixels:,} accepted"
            )
        try:
            picture.load()
        except OSError as exc:  # truncated or corrupt, though recognised
            raise ValueError(f"{name} is a damaged image ({exc})") from None
        if picture.mode in ("RGBA", "LA") or "transparency" in picture.info:
            rgba = picture.convert("RGBA")
            flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            picture = Image.alpha_composite(flat, rgba)
        grey = np.asarray(picture.convert("L"))
    return preprocess_digit(grey)
