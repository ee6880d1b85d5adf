"""RGB/BGR <-> NV12 conversion, bit-exact to the convention it names.

The arithmetic lives in :mod:`nv12kit._kernels`; this module checks the
input and picks the kernel.  Each preset is checked byte for byte against
its real reference in the tests (OpenCV, Pillow, libyuv's integer formulas,
the exact and float64 formulas).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from . import _decoders, _kernels
from ._kernels import get_num_threads, set_num_threads
from .conventions import Convention, get_convention
from .errors import InputError
from .images import check_uint8_image
from .yuv import NV12Frame

__all__ = ["rgb_to_nv12", "nv12_to_rgb", "yuv444_to_rgb", "as_rgb_array", "set_num_threads", "get_num_threads"]


# ----------------------------------------------------------------------------
# input checks
# ----------------------------------------------------------------------------
def _check_order(order: str) -> tuple[int, int, int]:
    if order == "rgb":
        return (0, 1, 2)
    if order == "bgr":
        return (2, 1, 0)
    raise InputError(f"order must be 'rgb' or 'bgr', got {order!r}")


def as_rgb_array(image: object, *, name: str = "image") -> np.ndarray:
    """Validate an (H, W, 3) uint8 image with even sides; PIL images are loaded.

    :func:`nv12kit.images.check_uint8_image` with ``even=True, pil=True``.

    Raises
    ------
    InputError
        For anything else, with the shape or dtype and the fix in the message.
    """
    return check_uint8_image(image, name=name, even=True, pil=True)


def _as_frame(frame: object) -> NV12Frame:
    if isinstance(frame, NV12Frame):
        return frame
    if isinstance(frame, tuple) and len(frame) == 2:
        return NV12Frame(*frame)
    raise InputError(
        f"expected an nv12kit.NV12Frame or a (y, uv) tuple of arrays, got {type(frame).__name__}; "
        "build one with NV12Frame(y, uv) or NV12Frame.from_bytes(buf, width, height)"
    )


# ----------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------
def rgb_to_nv12(
    image: np.ndarray | Image.Image, *, convention: str | Convention = "horizon", order: str = "rgb"
) -> NV12Frame:
    """Convert an RGB (or BGR) image to NV12 under a named convention.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray or PIL.Image.Image
        H and W must be even.  Any strides are fine (``img[:, :, ::-1]``
        included).  PIL images go through :func:`nv12kit.load_image`
        (EXIF orientation, mode rules).
    convention : str or Convention, default "horizon"
        A name from :data:`nv12kit.CONVENTIONS` or a :class:`Convention`.
    order : {"rgb", "bgr"}, default "rgb"
        Channel order of ``image`` (``"bgr"`` for OpenCV arrays).

    Returns
    -------
    NV12Frame
        ``.y`` (H, W) and ``.uv`` (H/2, W/2, 2), both uint8, U first.

    Raises
    ------
    InputError
        Wrong dtype (floats are never rescaled), wrong shape, odd size.
    ConventionError
        Unknown convention name.

    Notes
    -----
    Each convention is exact to its reference: ``"opencv"`` to
    ``cv2.cvtColor(COLOR_RGB2YUV_I420)``, ``"pil"`` to the
    ``convert('YCbCr')`` + ``resize`` recipe, ``"libyuv"`` and
    ``"libyuv-jpeg"`` to libyuv's integer formulas.  The float conventions
    round their formula as ``Convention.evaluation`` says: the textbook ones
    (``"bt709-limited"``, ...) round the exact value (halves up);
    ``"horizon"`` truncates the formula evaluated in float64, as Horizon's
    NumPy reference code does.  See :mod:`nv12kit.conventions`.

    Large images are converted in bands of rows on several threads
    (:func:`set_num_threads`); the result does not depend on the number.

    Examples
    --------
    >>> import numpy as np
    >>> from nv12kit import rgb_to_nv12
    >>> grey = np.full((4, 6, 3), 128, np.uint8)
    >>> frame = rgb_to_nv12(grey, convention="bt601-limited")
    >>> frame.y[0, 0], frame.uv[0, 0].tolist()
    (np.uint8(126), [128, 128])
    """
    conv = get_convention(convention)
    perm = _check_order(order)
    rgb = as_rgb_array(image)
    y, uv = _kernels.encode(rgb, conv, perm)
    return NV12Frame._from_owned(y, uv)


def nv12_to_rgb(
    frame: NV12Frame | tuple[np.ndarray, np.ndarray], *, convention: str | Convention = "horizon", order: str = "rgb"
) -> np.ndarray:
    """Decode NV12 to an (H, W, 3) uint8 RGB (or BGR) image.

    Parameters
    ----------
    frame : NV12Frame or (y, uv) tuple
        The planes; vendor shapes (1, H, W, 1) / (1, H/2, W/2, 2) are
        accepted in the tuple form.
    convention : str or Convention, default "horizon"
        The convention the bytes are in.
    order : {"rgb", "bgr"}, default "rgb"
        Channel order of the result.

    Returns
    -------
    (H, W, 3) uint8 ndarray

    Notes
    -----
    ``"opencv"`` is byte-identical to ``cv2.cvtColor(COLOR_YUV2RGB_NV12)``;
    ``"pil"`` runs Pillow's own YCbCr-to-RGB code.  The float conventions
    compute ``M @ (yuv - offset)`` with the exact inverse of the standard
    matrix in exact arithmetic, round to nearest (halves up) and clip to
    0-255.  Chroma is spread over each 2x2 block as ``chroma_up`` says
    (nearest, as NV12 nodes on the chips do, by default).  libyuv's own
    decoder uses 6-bit coefficients; the ``"libyuv"`` presets decode with
    the float formula instead, which may differ from it by a level or two.
    A convention with a ``decoder`` (the ``"openvino"`` and
    ``"ascend-aipp"`` presets) decodes with that node's own arithmetic
    instead: ``"openvino"`` is bit-exact to OpenVINO's NV12 conversion.

    Examples
    --------
    >>> import numpy as np
    >>> from nv12kit import NV12Frame, nv12_to_rgb
    >>> frame = NV12Frame(np.full((2, 2), 81, np.uint8), np.array([[[90, 240]]], np.uint8))
    >>> nv12_to_rgb(frame, convention="opencv")[0, 0].tolist()
    [254, 0, 0]
    """
    conv = get_convention(convention)
    perm = _check_order(order)
    frm = _as_frame(frame)
    if conv.decoder is not None:  # a real node's own arithmetic (nv12kit.conventions.Decoder)
        return _decoders.decode(frm.y, frm.uv, conv, perm)
    return _kernels.decode(frm.y, frm.uv, conv, perm)


def yuv444_to_rgb(yuv: np.ndarray, *, convention: str | Convention = "horizon", order: str = "rgb") -> np.ndarray:
    """Decode a full-resolution (H, W, 3) uint8 YUV image (no subsampling).

    Useful to separate the cost of chroma subsampling from the colour
    matrix: ``yuv444_to_rgb`` of a 4:4:4 encode loses only 8-bit rounding.
    """
    if not isinstance(yuv, np.ndarray) or yuv.dtype != np.uint8 or yuv.ndim != 3 or yuv.shape[2] != 3:
        shape = getattr(yuv, "shape", None)
        dtype = getattr(yuv, "dtype", type(yuv).__name__)
        raise InputError(f"yuv must be an (H, W, 3) uint8 array, got shape {shape}, dtype {dtype}")
    conv = get_convention(convention)
    perm = _check_order(order)
    if conv.decoder is not None:
        return _decoders.decode_yuv444(yuv, conv, perm)
    return _kernels.yuv444_decode(yuv, conv, perm)
