"""Robust image loading, even-size helpers and resizing.

Everything in nv12kit works on one image type: a C-contiguous ``(H, W, 3)``
``uint8`` array, RGB unless a function says otherwise.  :func:`load_image`
turns the things users actually have (file paths, PIL images, arrays in
assorted layouts) into that type, honouring EXIF orientation and applying one
documented rule per Pillow mode.  Anything ambiguous (float data, 16-bit
arrays, channels-first layouts) is refused with a message saying how to
convert it, rather than guessed.

NV12 stores chroma at half resolution in both directions, so frames must have
an even height and width.  :func:`pad_to_even` and :func:`crop_to_even` fix odd
sizes, :func:`is_even_size` checks them and :func:`even_size_error_message`
builds the one error message the package uses for them.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Literal, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from nv12kit._io import current_pixel_budget, open_regular
from nv12kit.errors import InputError

__all__ = [
    "load_image",
    "pad_to_even",
    "crop_to_even",
    "is_even_size",
    "even_size_error_message",
    "resize_to",
    "image_files",
    "image_sources",
    "IMAGE_SUFFIXES",
    "check_uint8_image",
    "uint8_dtype_fix",
    "prepare_image",
]

#: File suffixes :func:`image_files` treats as images (lower case).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".gif")

ImageSource = Union[str, os.PathLike, Image.Image, np.ndarray]

_ORDERS = ("rgb", "bgr")

_PAD_MODES = {
    "edge": {"mode": "edge"},
    "reflect": {"mode": "reflect"},
    "constant": {"mode": "constant", "constant_values": 0},
}

_RESAMPLE = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "area": Image.Resampling.BOX,
}

# Modes whose colour channels are kept as stored and whose last band is dropped.
_DROP_LAST_BAND = ("RGBA", "RGBa", "RGBX")
_GREY_WITH_ALPHA = ("LA", "La")
_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N")
# Colour spaces that Pillow converts to RGB itself.
_PILLOW_CONVERTS = ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV")

_FLOAT_FIX = (
    "Convert it to uint8 yourself: `(x * 255).round().astype(np.uint8)` for 0-1 "
    "data, or `np.clip(x, 0, 255).round().astype(np.uint8)` for 0-255 data."
)
_UINT16_FIX = (
    "Scale it to 8 bits yourself: `(x >> 8).astype(np.uint8)` (truncating, as "
    "OpenCV does) or `((x.astype(np.uint32) * 255 + 32767) // 65535)"
    ".astype(np.uint8)` (rounding, as load_image does for 16-bit image files). "
    "If the data use fewer than 16 bits (10- or 12-bit sensor data), shift by "
    "(bits - 8) instead."
)


# --------------------------------------------------------------------------
# load_image
# --------------------------------------------------------------------------


def load_image(
    source: ImageSource,
    *,
    order: Literal["rgb", "bgr"] = "rgb",
    max_pixels: int | None | Literal["current"] = "current",
) -> np.ndarray:
    """Load an image as a C-contiguous ``(H, W, 3)`` ``uint8`` array.

    Parameters
    ----------
    source : str, os.PathLike, PIL.Image.Image or numpy.ndarray
        A path to an image file Pillow can read, an already opened PIL image,
        or an array.  Arrays are taken to be channels-last and already in RGB
        order (see Notes for the shapes and dtypes accepted).
    order : {"rgb", "bgr"}, optional
        Channel order of the result.  ``"bgr"`` reverses the channels (for
        arrays, it reverses whatever order the array had).
    max_pixels : int, None or "current", optional
        Pixel budget of an image *file*, read from its header before
        decoding; ``None`` for no limit. The default is the budget in force:
        ``8192 * 8192`` (about 67 Mpx) unless raised with
        :func:`nv12kit._io.pixel_budget` (which ``--max-pixels`` uses on the
        command line). Raise it for large images you trust.

    Returns
    -------
    numpy.ndarray
        ``(H, W, 3)`` ``uint8``, C-contiguous.  A uint8 ``(H, W, 3)`` array
        that is already C-contiguous is returned as is (the same object) when
        ``order="rgb"``; copy it before modifying it if the original must stay
        untouched.  Every other result is a new array.

    Raises
    ------
    InputError
        The file is missing, is a directory, is not an image Pillow can
        identify, or is corrupt or truncated; the image or array has a mode,
        dtype or shape whose meaning is ambiguous (see Notes); ``order`` is
        not ``"rgb"`` or ``"bgr"``; the path is a FIFO, device or socket
        (refused before it is opened, so it cannot block); the file has more
        than ``max_pixels`` pixels (refused before decoding; Pillow's
        ``DecompressionBombWarning`` is not passed on).

    Notes
    -----
    Files and PIL images are rotated and flipped according to their EXIF
    orientation tag (:func:`PIL.ImageOps.exif_transpose`), as phone cameras,
    browsers and ``cv2.imread`` do.  For multi-frame files (GIF, multi-page
    TIFF) the first frame is used.  Files are decoded in full inside a
    ``try`` so that truncated files raise instead of coming back half grey;
    ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES`` is left alone.

    Each Pillow mode is turned into RGB by one rule:

    ========================  ================================================
    Mode                      Rule
    ========================  ================================================
    ``RGB``                   as is
    ``L``, ``1``              grey replicated to 3 channels (``1`` -> 0 / 255)
    ``P``, ``PA``             through the palette to RGB; alpha discarded
    ``RGBA``, ``RGBX``        alpha (padding) discarded, colour kept as stored
    ``LA``, ``La``            alpha discarded, grey replicated to 3 channels
    ``RGBa``                  alpha discarded, colour kept as stored (still
                              premultiplied: not un-premultiplied)
    ``CMYK``                  Pillow's ``convert("RGB")``: a naive formula
                              that ignores any ICC profile
    ``YCbCr``, ``LAB``,       Pillow's ``convert("RGB")``
    ``HSV``
    ``I;16``, ``I;16B``,      16-bit grey scaled to 8 bits by rounding
    ``I;16L``, ``I;16N``      ``v * 255 / 65535``, i.e.
                              ``(v * 255 + 32767) // 65535``; replicated
    ``I``                     as 16-bit grey when every value is in
                              0..65535, else :class:`InputError`
    ``F``                     :class:`InputError` (0-1 or 0-255 is ambiguous)
    any other mode            ``convert("RGB")`` if Pillow can, else
                              :class:`InputError`
    ========================  ================================================

    Alpha is *dropped, not composited*: fully transparent pixels keep the
    colour stored under them.  This is what ``PIL.Image.convert("RGB")`` and
    ``cv2.imread(path, cv2.IMREAD_COLOR)`` do for RGBA and LA files, so the
    pixels match what training data loaders built on either library see.
    An ``I`` image that holds 0..255 data comes out nearly black under the
    16-bit rule; convert it with ``img.convert("L")`` first.

    Arrays follow the same rules:

    - ``uint8`` ``(H, W, 3)``: as is (a contiguous copy only if needed).
    - ``uint8`` ``(H, W)`` or ``(H, W, 1)``: grey replicated to 3 channels.
    - ``uint8`` ``(H, W, 4)``: the fourth channel (alpha) dropped.
    - float arrays: :class:`InputError`.  Floats are never rescaled silently,
      because 0-1 and 0-255 data cannot be told apart reliably.
    - ``uint16`` arrays: :class:`InputError`.  Unlike a 16-bit file, a uint16
      array may hold 10- or 12-bit sensor data, so the scale is the caller's.
    - channels-first ``(3, H, W)``, batched ``(1, H, W, 3)``, other dtypes and
      shapes, and empty arrays: :class:`InputError` with the fix.

    Views with any strides (``img[:, ::-1]``, ``img[..., ::-1]``,
    ``img[::2]``) are read correctly.  The caller's array or PIL image is
    never modified.

    Examples
    --------
    >>> import numpy as np
    >>> from PIL import Image
    >>> from nv12kit.images import load_image
    >>> load_image(np.zeros((2, 4), dtype=np.uint8)).shape
    (2, 4, 3)
    >>> rgba = Image.new("RGBA", (4, 2), (10, 20, 30, 0))
    >>> load_image(rgba)[0, 0].tolist()
    [10, 20, 30]
    >>> load_image(rgba, order="bgr")[0, 0].tolist()
    [30, 20, 10]
    """
    order = _check_order(order)
    if isinstance(source, np.ndarray):
        rgb = _array_to_rgb(source)
    elif isinstance(source, Image.Image):
        rgb = _pil_image_to_rgb(source)
    elif isinstance(source, (str, os.PathLike)):
        budget = current_pixel_budget() if isinstance(max_pixels, str) and max_pixels == "current" else max_pixels
        rgb = _file_to_rgb(source, _check_max_pixels(budget))
    else:
        raise InputError(
            f"load_image cannot read a {type(source).__name__}; pass a file "
            "path (str or pathlib.Path), a PIL.Image.Image or a numpy array. "
            "For bytes in memory use `PIL.Image.open(io.BytesIO(data))`."
        )
    if order == "bgr":
        rgb = rgb[:, :, ::-1]
    return np.ascontiguousarray(rgb)


def _check_order(order: object) -> str:
    if not isinstance(order, str) or order.lower() not in _ORDERS:
        raise InputError(f"order must be 'rgb' or 'bgr', got {order!r}.")
    return order.lower()


def _file_to_rgb(path: str | os.PathLike[str], max_pixels: int | None) -> np.ndarray:
    name = os.fspath(path)
    if os.path.isdir(name):
        raise InputError(
            f"{name!r} is a directory, not an image file; pass the path of one "
            "image file (loop over the folder's files to load several)."
        )
    try:
        # A FIFO or device named frame.png is refused here, before Pillow could block on it.
        fh = open_regular(name, what="image file")
    except InputError as exc:
        if isinstance(exc.__cause__, FileNotFoundError):
            raise InputError(
                f"image file {name!r} does not exist (relative paths are resolved "
                f"against the current directory {os.getcwd()!r}); check the path."
            ) from exc.__cause__
        raise
    with fh, warnings.catch_warnings():
        # Our pixel budget below replaces Pillow's warning (which would reach the user as noise).
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        opened = _open_image(fh, name, max_pixels)
        with opened:
            _check_pixels(opened.size, name, max_pixels)
            _decode(opened, f"image file {name!r}")
            return _pil_to_rgb(_exif_transpose(opened, name), f"image file {name!r}")


def _check_max_pixels(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise InputError(f"max_pixels must be a positive integer (or None for no limit), got {value!r}")
    return int(value)


def _too_large(name: str, size: str, max_pixels: int | None) -> str:
    limit = "no limit" if max_pixels is None else f"{max_pixels / 1e6:.1f} Mpx ({max_pixels} pixels)"
    return (
        f"image file {name!r} is {size}, above the pixel budget of {limit}, checked before decoding (it could "
        "be a decompression bomb: a small file that decodes to gigabytes). If you trust the file, raise the "
        "budget: load_image(path, max_pixels=...) in Python, --max-pixels on the command line"
    )


def _check_pixels(size: tuple[int, int], name: str, max_pixels: int | None) -> None:
    width, height = size
    if max_pixels is not None and width * height > max_pixels:
        raise InputError(_too_large(name, f"{width}x{height} = {width * height / 1e6:.1f} Mpx", max_pixels))


def _open_image(fh: Any, name: str, max_pixels: int | None) -> Image.Image:
    """Image.open on an already opened file, with our messages (reads the header only)."""
    try:
        return Image.open(fh)
    except UnidentifiedImageError as exc:
        raise InputError(
            f"Pillow could not identify {name!r} as an image: the format is "
            "unknown or unsupported, or the file is not an image at all "
            f"(Pillow said: {exc}). Check the file, or convert it to PNG or "
            "JPEG."
        ) from exc
    except Image.DecompressionBombError as exc:
        # Pillow's own guard (2 x PIL.Image.MAX_IMAGE_PIXELS) fired before we could read the size.
        message = _too_large(name, f"larger than Pillow's limit ({exc})", max_pixels)
        raise InputError(message + "; above Pillow's limit, also raise PIL.Image.MAX_IMAGE_PIXELS") from exc
    except OSError as exc:
        raise InputError(f"cannot open image file {name!r}: {exc}") from exc


def _pil_image_to_rgb(image: Image.Image) -> np.ndarray:
    filename = getattr(image, "filename", "") or ""
    where = f"PIL image from {filename!r}" if filename else "PIL image"
    _decode(image, where)
    return _pil_to_rgb(_exif_transpose(image, where), where)


def _decode(image: Image.Image, where: str) -> None:
    """Decode the pixels now, so corrupt data raises here, with a clear message."""
    try:
        image.load()
    except MemoryError:
        raise
    except Exception as exc:  # decoders raise OSError, SyntaxError, ValueError, ...
        raise InputError(
            f"{where} is corrupt or truncated: Pillow could not decode it "
            f"({type(exc).__name__}: {exc}). Re-copy or re-export the file."
        ) from exc


def _exif_transpose(image: Image.Image, where: str) -> Image.Image:
    try:
        transposed = ImageOps.exif_transpose(image)
    except Exception as exc:
        raise InputError(
            f"{where} has an EXIF block Pillow cannot apply ({exc}); strip the "
            "EXIF data (e.g. re-save the image) or pass the pixels as an array."
        ) from exc
    return image if transposed is None else transposed


def _grey_to_rgb(grey: np.ndarray) -> np.ndarray:
    return np.repeat(grey[:, :, np.newaxis], 3, axis=2)


def _scale_16_to_8(values: np.ndarray) -> np.ndarray:
    # Round v*255/65535 to nearest with integers only; no ties are possible.
    wide = values.astype(np.uint32)
    return ((wide * 255 + 32767) // 65535).astype(np.uint8)


def _pil_to_rgb(image: Image.Image, where: str) -> np.ndarray:
    """Apply the documented mode rule to a decoded PIL image."""
    mode = image.mode
    if mode == "RGB":
        return np.array(image)
    if mode == "L":
        return _grey_to_rgb(np.asarray(image))
    if mode == "1":
        return _grey_to_rgb(np.asarray(image).astype(np.uint8) * 255)
    if mode in _DROP_LAST_BAND:
        return np.array(np.asarray(image)[:, :, :3])
    if mode in _GREY_WITH_ALPHA:
        return _grey_to_rgb(np.asarray(image)[:, :, 0])
    if mode in _SIXTEEN_BIT:
        return _grey_to_rgb(_scale_16_to_8(np.asarray(image)))
    if mode == "I":
        values = np.asarray(image)
        lo, hi = int(values.min()), int(values.max())
        if lo < 0 or hi > 65535:
            raise InputError(
                f"{where} has mode 'I' (32-bit integer) with values in "
                f"[{lo}, {hi}], outside 0..65535, so its scale to 8 bits is "
                "ambiguous. Convert it yourself, e.g. "
                "`np.clip(np.asarray(img), 0, 255).astype(np.uint8)` if the "
                "values are already 0-255 pixel values, or rescale your range "
                "to 0-255, and pass the uint8 array."
            )
        return _grey_to_rgb(_scale_16_to_8(values))
    if mode == "F":
        raise InputError(
            f"{where} has mode 'F' (32-bit float), whose scale (0-1 or 0-255) "
            "is ambiguous; floats are never rescaled silently. With "
            "`x = np.asarray(img)`: " + _FLOAT_FIX + " Then pass the array."
        )
    try:
        converted = image.convert("RGB")
    except Exception as exc:
        if mode in _PILLOW_CONVERTS:
            reason = "Pillow failed to convert it to RGB"
        else:
            reason = "its mode is not one nv12kit knows and Pillow cannot convert it to RGB"
        raise InputError(
            f"{where} has mode {mode!r}: {reason} ({exc}). Convert it to an RGB "
            "image or a uint8 (H, W, 3) array yourself and pass that."
        ) from exc
    return np.array(converted)


def _describe(array: np.ndarray) -> str:
    return f"dtype {array.dtype}, shape {array.shape}"


def _value_range(array: np.ndarray) -> str:
    try:
        return f", values in [{array.min():g}, {array.max():g}]"
    except (TypeError, ValueError):
        return ""


def _array_to_rgb(array: np.ndarray) -> np.ndarray:
    if array.size == 0:
        raise InputError(
            f"got an empty array (shape {array.shape}); an image needs at least "
            "one pixel."
        )
    if array.dtype != np.uint8:
        kind = {"f": "a floating-point array", "b": "a boolean array"}.get(array.dtype.kind, "an array")
        raise InputError(
            f"got {kind} ({_describe(array)}{_value_range(array)}); load_image needs uint8: {uint8_dtype_fix(array)}"
        )
    shape = array.shape
    if array.ndim == 2:
        return _grey_to_rgb(array)
    if array.ndim == 3:
        channels = shape[2]
        if channels == 3:
            return array
        if channels == 4:
            return array[:, :, :3]
        if channels == 1:
            return _grey_to_rgb(array[:, :, 0])
        if shape[0] in (1, 3, 4):
            raise InputError(
                f"got an array of shape {shape}, which looks channels-first "
                "(C, H, W); load_image needs channels-last (H, W, 3). Use "
                "`x.transpose(1, 2, 0)`."
            )
    if array.ndim == 4 and shape[0] == 1:
        channels_first = shape[1] in (1, 3, 4) and shape[3] not in (1, 3, 4)
        inner = "x[0].transpose(1, 2, 0)" if channels_first else "x[0]"
        raise InputError(
            f"got an array of shape {shape}, which looks like a batch of one "
            f"image; load_image takes a single (H, W, 3) image. Use `{inner}`."
        )
    raise InputError(
        f"got an array of shape {shape}; expected (H, W, 3) RGB, (H, W, 4) "
        "RGBA or (H, W) grey, uint8."
    )


# --------------------------------------------------------------------------
# Even sizes
# --------------------------------------------------------------------------


def even_size_error_message(height: int, width: int) -> str:
    """Build the message used everywhere for an image of odd size.

    Parameters
    ----------
    height, width : int
        The offending size in pixels.

    Returns
    -------
    str
        A message naming the size, which dimension is odd, why NV12 needs
        even sizes, and the two fixes.

    Examples
    --------
    >>> from nv12kit.images import even_size_error_message
    >>> print(even_size_error_message(481, 640))  # doctest: +NORMALIZE_WHITESPACE
    NV12 needs an even height and width because its chroma is subsampled 2x2
    (one U,V pair per 2x2 block of pixels), but the image is 481x640
    (height x width): the height is odd. Fix it with nv12kit.pad_to_even(img)
    (adds a row/column at the bottom/right) or nv12kit.crop_to_even(img)
    (drops the last row/column).
    """
    odd = [name for name, size in (("height", height), ("width", width)) if size % 2]
    if len(odd) == 2:
        which = "the height and width are odd"
    elif odd:
        which = f"the {odd[0]} is odd"
    else:
        which = "both are even"
    return (
        "NV12 needs an even height and width because its chroma is subsampled "
        "2x2 (one U,V pair per 2x2 block of pixels), but the image is "
        f"{height}x{width} (height x width): {which}. Fix it with "
        "nv12kit.pad_to_even(img) (adds a row/column at the bottom/right) or "
        "nv12kit.crop_to_even(img) (drops the last row/column)."
    )


def is_even_size(image: np.ndarray | Image.Image) -> bool:
    """Tell whether an image has an even height and width.

    Parameters
    ----------
    image : numpy.ndarray or PIL.Image.Image
        An array laid out ``(H, W, ...)`` (at least 2-D) or a PIL image.

    Returns
    -------
    bool
        True when both the height and the width are even.

    Raises
    ------
    InputError
        ``image`` is neither a PIL image nor an array of at least 2 dimensions.

    Examples
    --------
    >>> import numpy as np
    >>> from nv12kit.images import is_even_size
    >>> is_even_size(np.zeros((480, 640, 3), np.uint8))
    True
    >>> is_even_size(np.zeros((481, 640), np.uint8))
    False
    """
    if isinstance(image, Image.Image):
        width, height = image.size
    elif isinstance(image, np.ndarray) and image.ndim >= 2:
        height, width = image.shape[:2]
    else:
        described = (
            f"an array of shape {image.shape}"
            if isinstance(image, np.ndarray)
            else f"a {type(image).__name__}"
        )
        raise InputError(
            f"is_even_size needs an (H, W, ...) array or a PIL image, got {described}."
        )
    return height % 2 == 0 and width % 2 == 0


def uint8_dtype_fix(array: np.ndarray) -> str:
    """How to turn an array of another dtype into uint8 pixels, without guessing its scale.

    The one wording for every function that takes 8-bit pixels or planes:
    floats are never rescaled silently (0-1 and 0-255 data look alike),
    16-bit data need an explicit shift.

    >>> "astype(np.uint8)" in uint8_dtype_fix(np.zeros(2, np.float32))
    True
    """
    kind = array.dtype.kind
    if kind == "f":
        return "floats are not rescaled silently, because 0-1 and 0-255 data look alike. " + _FLOAT_FIX
    if array.dtype == np.uint16:
        return "16-bit data need an explicit scale to 8 bits. " + _UINT16_FIX
    if kind == "b":
        return "convert it with `x.astype(np.uint8) * 255` if it is a black-and-white image."
    return "if the values are 0-255, use `np.clip(x, 0, 255).astype(np.uint8)` (larger values are not 8-bit data)."


def check_uint8_image(
    image: object,
    *,
    name: str = "image",
    grey: bool = False,
    batch: bool = False,
    even: bool = False,
    pil: bool = False,
) -> np.ndarray:
    """Check that ``image`` is uint8 pixels, channels last: the one validator every function taking pixels uses.

    Nothing is converted: a wrong dtype or layout is refused with the shape,
    the dtype and the fix in the message (:func:`load_image` converts).

    Parameters
    ----------
    image : numpy.ndarray or PIL.Image.Image
        ``(H, W, 3)`` uint8.
    name : str, optional
        What the messages call it (e.g. ``"pad_to_even's image"``).
    grey : bool, optional
        Also accept ``(H, W)``.
    batch : bool, optional
        Also accept ``(N, H, W, 3)``.
    even : bool, optional
        Require even height and width (NV12's 2x2 chroma blocks).
    pil : bool, optional
        Accept a PIL image, loaded with :func:`load_image`.

    Returns
    -------
    numpy.ndarray
        ``image`` itself (or the loaded PIL image); no copy is made.

    Raises
    ------
    InputError
        Anything else, with the fix in the message.

    Examples
    --------
    >>> check_uint8_image(np.zeros((2, 4, 3), np.uint8), even=True).shape
    (2, 4, 3)
    """
    shapes = ["(H, W, 3)"] + (["(H, W)"] if grey else []) + (["(N, H, W, 3)"] if batch else [])
    expected = f"a uint8 numpy array of shape {' or '.join(shapes)}"
    if pil and isinstance(image, Image.Image):
        image = load_image(image)
    if not isinstance(image, np.ndarray):
        how = "files" if pil else "PIL images and files"
        raise InputError(
            f"{name} must be {expected}, got a {type(image).__name__}; "
            f"load {how} with nv12kit.load_image(path) first"
        )
    if image.dtype != np.uint8:
        raise InputError(
            f"{name} must have dtype uint8, got {_describe(image)}{_value_range(image)}; {uint8_dtype_fix(image)}"
        )
    shape = image.shape
    ok = (image.ndim == 3 and shape[2] == 3) or (grey and image.ndim == 2) or (
        batch and image.ndim == 4 and shape[3] == 3)
    if not ok:
        if image.ndim == 3 and shape[0] in (1, 3) and shape[2] not in (1, 3):
            hint = "it looks channel-first (CHW): pass image.transpose(1, 2, 0)"
            if shape[2] == 4:
                hint += "; if it is RGBA instead, drop the alpha channel with image[..., :3]"
        elif image.ndim == 3 and shape[2] == 4:
            hint = "drop the alpha channel with image[..., :3]"
        elif image.ndim == 2 or (image.ndim == 3 and shape[2] == 1):
            hint = "for greyscale use np.repeat(image[..., None], 3, axis=2), or nv12kit.load_image(image)"
        elif image.ndim == 4 and shape[0] == 1:
            hint = "remove the batch axis with image[0]"
        else:
            hint = "nv12kit.load_image brings images to (H, W, 3)"
        raise InputError(f"{name} must have shape {' or '.join(shapes)}, got {shape}; {hint}")
    if image.size == 0:
        raise InputError(f"{name} is empty: shape {shape}")
    if even:
        height, width = shape[-3:-1] if image.ndim >= 3 else shape
        if height % 2 or width % 2:
            raise InputError(even_size_error_message(height, width))
    return image


def pad_to_even(
    image: np.ndarray, *, mode: Literal["edge", "reflect", "constant"] = "edge"
) -> np.ndarray:
    """Pad an image by one row and/or column so its height and width are even.

    Parameters
    ----------
    image : numpy.ndarray
        ``uint8`` array of shape ``(H, W, 3)`` or ``(H, W)``.
    mode : {"edge", "reflect", "constant"}, optional
        How the new row/column is filled: ``"edge"`` repeats the last
        row/column, ``"reflect"`` mirrors about it (copies row ``H-2``;
        a 1-pixel dimension is repeated), ``"constant"`` fills with 0.

    Returns
    -------
    numpy.ndarray
        New C-contiguous ``uint8`` array of the same layout with even height
        and width.  An even-sized input comes back as an equal copy.

    Raises
    ------
    InputError
        ``image`` is not a non-empty ``uint8`` ``(H, W, 3)`` or ``(H, W)``
        array, or ``mode`` is unknown.

    See Also
    --------
    crop_to_even : drop the odd row/column instead.

    Notes
    -----
    Padding is added at the bottom and right only, so the top-left origin is
    kept: pixel (0, 0) stays the first pixel of the first 2x2 chroma block,
    and chroma siting relative to the original pixels is unchanged.  Padding
    changes what the model sees at the border; cropping loses one row or
    column.  Either is better than the silent mismatch NV12 otherwise gets.

    Examples
    --------
    >>> import numpy as np
    >>> from nv12kit.images import pad_to_even
    >>> img = np.arange(9, dtype=np.uint8).reshape(3, 3)
    >>> pad_to_even(img)
    array([[0, 1, 2, 2],
           [3, 4, 5, 5],
           [6, 7, 8, 8],
           [6, 7, 8, 8]], dtype=uint8)
    """
    array = check_uint8_image(image, name="pad_to_even's image", grey=True)
    if not isinstance(mode, str) or mode not in _PAD_MODES:
        raise InputError(
            f"pad_to_even mode must be one of {sorted(_PAD_MODES)}, got {mode!r}."
        )
    height, width = array.shape[:2]
    pad_h, pad_w = height % 2, width % 2
    if not (pad_h or pad_w):
        return np.array(array, order="C", copy=True)
    widths = [(0, pad_h), (0, pad_w)] + [(0, 0)] * (array.ndim - 2)
    return np.ascontiguousarray(np.pad(array, widths, **_PAD_MODES[mode]))


def crop_to_even(image: np.ndarray) -> np.ndarray:
    """Drop the last row and/or column so the height and width are even.

    Parameters
    ----------
    image : numpy.ndarray
        ``uint8`` array of shape ``(H, W, 3)`` or ``(H, W)``.

    Returns
    -------
    numpy.ndarray
        New C-contiguous ``uint8`` array of the same layout, ``H - H % 2`` by
        ``W - W % 2``.  An even-sized input comes back as an equal copy.

    Raises
    ------
    InputError
        ``image`` is not a non-empty ``uint8`` ``(H, W, 3)`` or ``(H, W)``
        array, or a dimension is 1 pixel (cropping would leave nothing; use
        :func:`pad_to_even`).

    See Also
    --------
    pad_to_even : add a row/column instead.

    Notes
    -----
    Only the bottom row and right column are dropped, so the top-left origin
    is kept and pixel (0, 0) stays aligned with the chroma siting.

    Examples
    --------
    >>> import numpy as np
    >>> from nv12kit.images import crop_to_even
    >>> crop_to_even(np.zeros((481, 641, 3), np.uint8)).shape
    (480, 640, 3)
    """
    array = check_uint8_image(image, name="crop_to_even's image", grey=True)
    height, width = array.shape[:2]
    if height == 1 or width == 1:
        raise InputError(
            f"crop_to_even cannot crop a {height}x{width} (height x width) image: "
            "a 1-pixel dimension would become empty. Use nv12kit.pad_to_even(img)."
        )
    return array[: height - height % 2, : width - width % 2].copy(order="C")


# --------------------------------------------------------------------------
# Resizing
# --------------------------------------------------------------------------


def _check_size(value: object, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{name} must be a positive integer, got {value!r}.")
    if value <= 0:
        raise InputError(f"{name} must be a positive integer, got {value}.")
    return int(value)


def resize_to(
    image: np.ndarray,
    height: int,
    width: int,
    *,
    resample: Literal["nearest", "bilinear", "bicubic", "lanczos", "area"] = "bilinear",
) -> np.ndarray:
    """Resize a ``uint8`` image to ``height`` x ``width`` with Pillow.

    Parameters
    ----------
    image : numpy.ndarray
        ``uint8`` array of shape ``(H, W, 3)`` or ``(H, W)``.
    height, width : int
        Target size in pixels (positive).
    resample : {"nearest", "bilinear", "bicubic", "lanczos", "area"}, optional
        Pillow filter; ``"area"`` is Pillow's ``BOX`` filter.

    Returns
    -------
    numpy.ndarray
        New C-contiguous ``uint8`` array ``(height, width, 3)`` (or
        ``(height, width)`` for a 2-D input).

    Raises
    ------
    InputError
        ``image`` is not a non-empty ``uint8`` ``(H, W, 3)`` or ``(H, W)``
        array, a size is not a positive integer, or ``resample`` is unknown.

    Notes
    -----
    Pillow widens its filters when shrinking (antialiasing), so
    ``"bilinear"`` matches Pillow-based loaders (torchvision with PIL images,
    ``antialias=True``), not ``cv2.resize(..., INTER_LINEAR)``, which samples
    only the 2x2 nearest pixels.  ``"area"`` averages whole source pixels
    like ``cv2.INTER_AREA`` when shrinking.  To match a training pipeline
    exactly, resize with the same library it used and pass the result in.

    Examples
    --------
    >>> import numpy as np
    >>> from nv12kit.images import resize_to
    >>> resize_to(np.zeros((480, 640, 3), np.uint8), 224, 224).shape
    (224, 224, 3)
    """
    array = check_uint8_image(image, name="resize_to's image", grey=True)
    height = _check_size(height, "height")
    width = _check_size(width, "width")
    key = resample.lower() if isinstance(resample, str) else None
    if key not in _RESAMPLE:
        raise InputError(
            f"resample must be one of {list(_RESAMPLE)}, got {resample!r}."
        )
    pil = Image.fromarray(np.ascontiguousarray(array))
    return np.array(pil.resize((width, height), resample=_RESAMPLE[key]))


def image_files(folder: str | os.PathLike[str], *, recursive: bool = False) -> list[str]:
    """The image files in a folder, sorted by name.

    Parameters
    ----------
    folder : str or os.PathLike
        Directory to list.
    recursive : bool, optional
        Include sub-folders.

    Returns
    -------
    list of str
        Paths of files whose suffix (any case) is in :data:`IMAGE_SUFFIXES`;
        hidden files are skipped.

    Raises
    ------
    InputError
        If ``folder`` is not a directory.

    Examples
    --------
    >>> import nv12kit.data
    >>> from nv12kit.images import image_files
    >>> [os.path.basename(p) for p in image_files(nv12kit.data.photo_path("coffee").parent)]
    ['astronaut.png', 'chelsea_odd.png', 'coffee.png']
    """
    import pathlib

    root = pathlib.Path(folder)
    if not root.is_dir():
        raise InputError(f"{str(folder)!r} is not a folder; pass a directory that holds images")
    pattern = "**/*" if recursive else "*"
    found = [
        p for p in root.glob(pattern)
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    ]
    return [str(p) for p in sorted(found)]


def image_sources(images: object, *, name: str = "images", hint: str = "give at least one image") -> list:
    """A list of images from one image, a sequence of them, or a folder (its image files).

    Parameters
    ----------
    images : path, PIL image, array, iterable of those, or folder
        What the user passed.
    name, hint : str, optional
        The argument's name and what to do, for the error messages.

    Raises
    ------
    InputError
        An empty folder or an empty sequence.
    """
    import pathlib
    from collections.abc import Iterable

    if isinstance(images, (str, os.PathLike)) and pathlib.Path(images).is_dir():
        files = image_files(images)
        if not files:
            raise InputError(f"the folder {str(images)!r} holds no image files; {hint}")
        return files
    if isinstance(images, (str, os.PathLike, np.ndarray)) or not isinstance(images, Iterable):
        return [images]
    items = list(images)
    if not items:
        raise InputError(f"{name} is empty; {hint}")
    return items


def prepare_image(
    image: Any, size: tuple[int, int] | None, *, even: bool = True
) -> tuple[np.ndarray, list[str], tuple[int, int]]:
    """Load an image and fit it to the model: resized to a static size, else cropped to even sides.

    The one place that decides what the model sees; the notes that say what
    was done (for the terminal and the report) come with it.

    Parameters
    ----------
    image : path, PIL image or array
        Anything :func:`load_image` takes.
    size : (int, int) or None
        The model's static height and width; ``None`` for a dynamic size.
    even : bool, optional
        Crop a dynamic-size image to even sides (NV12 needs them).

    Returns
    -------
    rgb : numpy.ndarray
        (H, W, 3) uint8 at the model's size.
    notes : list of str
        What was done to it, for reports.
    original_shape : (int, int)
        Height and width as loaded.
    """
    rgb = load_image(image)
    original = (int(rgb.shape[0]), int(rgb.shape[1]))
    notes = []
    if size is not None and rgb.shape[:2] != tuple(size):
        notes.append(f"image resized from {rgb.shape[0]}x{rgb.shape[1]} to the model's {size[0]}x{size[1]} "
                     "(bilinear, Pillow)")
        rgb = resize_to(rgb, size[0], size[1])
    elif size is None and even and (rgb.shape[0] % 2 or rgb.shape[1] % 2):
        notes.append(f"image cropped from {rgb.shape[0]}x{rgb.shape[1]} to even sides for NV12")
        rgb = crop_to_even(rgb)
    return rgb, notes, original
