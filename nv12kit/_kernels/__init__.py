"""The arithmetic behind :mod:`nv12kit.convert`: exact to each convention, in pure NumPy.

Two sets of kernels compute the same bytes:

* :mod:`.bands`: any size, in bands of rows that can run on several threads;
* :mod:`.small`: frames of one band (at most :data:`SMALL_PIXELS`, 512 x 512)
  with the fewest passes, for a data loader's crops (224 x 224);
* :mod:`.fused`: the round trip (encode, then decode) of such a frame in one
  go, for conventions it can compute (:func:`round_trip`).

``tests/test_kernels_exact.py`` checks both against references written from
the standards' numbers; ``tests/test_kernels_fast.py`` checks them against
each other.
"""

from __future__ import annotations

import numpy as np

from ..conventions import Convention
from .bands import Perm, _bilinear_up16, get_num_threads, set_num_threads, yuv444_decode
from .bands import decode as decode_bands
from .bands import encode as encode_bands
from .fused import plan_for as _fused_plan
from .fused import run as _run_fused
from .small import SMALL_PIXELS, decodable, encodable
from .small import decode as decode_small
from .small import encode as encode_small

__all__ = ["encode", "decode", "round_trip", "yuv444_decode", "set_num_threads", "get_num_threads", "SMALL_PIXELS"]
__all__ += ["_bilinear_up16"]  # nv12kit._decoders reuses it


def encode(rgb: np.ndarray, conv: Convention, perm: Perm) -> tuple[np.ndarray, np.ndarray]:
    """Y (H, W) and UV (H/2, W/2, 2) of a validated (H, W, 3) uint8 image with even sides."""
    if rgb.shape[0] * rgb.shape[1] <= SMALL_PIXELS and encodable(conv):
        return encode_small(rgb, conv, perm)
    return encode_bands(rgb, conv, perm)


def decode(y: np.ndarray, uv: np.ndarray, conv: Convention, perm: Perm) -> np.ndarray:
    """(H, W, 3) uint8 from validated planes."""
    if y.size <= SMALL_PIXELS and decodable(conv):
        return decode_small(y, uv, conv, perm)
    return decode_bands(y, uv, conv, perm)


def round_trip(rgb: np.ndarray, conv: Convention, perm: Perm) -> np.ndarray:
    """``decode(*encode(rgb))`` of a validated (H, W, 3) uint8 image with even sides, byte for byte.

    Small frames of conventions :mod:`.fused` computes take it; the others
    are encoded and decoded (the caller dispatches a convention's own
    decoder, :attr:`Convention.decoder`, itself).
    """
    plan = _fused_plan(conv, perm, rgb.shape)
    if plan is not None:
        return _run_fused(rgb, plan)
    y, uv = encode(rgb, conv, perm)
    return decode(y, uv, conv, perm)
