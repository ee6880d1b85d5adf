"""Decoders of real NV12 nodes whose arithmetic is not the exact inverse.

A :class:`nv12kit.conventions.Decoder` says how a node computes R, G and B:
its coefficients, the dtype of every product and sum, how it rounds and
whether it clamps.  This module carries that out, step by step in the
node's own order, so the result is the node's to the bit (see
``tests/test_decoders.py``, which checks the ``openvino`` preset against
OpenVINO itself).  :func:`nv12kit.nv12_to_rgb` dispatches here when a
convention has a decoder; conventions without one decode in
:mod:`nv12kit._kernels`.
"""

from __future__ import annotations

import numpy as np

from ._kernels import _bilinear_up16
from .conventions import Convention, Decoder

__all__ = ["decode", "decode_yuv444"]

Perm = tuple[int, int, int]

# Rows per pass: keeps the float and int64 temporaries of a band near a few MiB.
_BAND_ROWS = 256


def _nearest_up(plane: np.ndarray) -> np.ndarray:
    """Each chroma sample over its 2x2 block."""
    return np.repeat(np.repeat(plane, 2, axis=0), 2, axis=1)


def _round_float(values: np.ndarray, rounding: str) -> np.ndarray:
    """Round floats to integral floats exactly (no ``x + 0.5`` that could itself round)."""
    if rounding == "half-even":
        return np.rint(values)
    if rounding == "floor":
        return np.floor(values)
    if rounding == "truncate":
        return np.trunc(values)
    if rounding == "half-up":
        low = np.floor(values)
        return low + (values - low >= 0.5)  # values - floor(values) is exact in binary floating point
    magnitude = np.abs(values)  # half-away
    low = np.floor(magnitude)
    return np.copysign(low + (magnitude - low >= 0.5), values)


def _round_fixed(numer: np.ndarray, shift: int, rounding: str) -> np.ndarray:
    """``numer / 2**shift`` rounded to an integer, exactly, in int64."""
    if shift == 0:
        return numer
    floor = numer >> shift
    rest = numer - (floor << shift)  # 0 <= rest < 2**shift
    half = 1 << (shift - 1)
    if rounding == "floor":
        return floor
    if rounding == "truncate":
        return floor + ((rest != 0) & (numer < 0))
    if rounding == "half-up":
        return floor + (rest >= half)
    if rounding == "half-even":
        return floor + ((rest > half) | ((rest == half) & ((floor & 1) == 1)))
    # half-away: ties go up for positive values, down (stay at floor) for negative ones
    return floor + ((rest > half) | ((rest == half) & (numer > 0)))


def _saturate(values: np.ndarray, clip: bool) -> np.ndarray:
    if clip:
        return np.clip(values, 0, 255).astype(np.uint8)
    return (values.astype(np.int64) % 256).astype(np.uint8)


def _float_channels(y: np.ndarray, u: np.ndarray, v: np.ndarray, dec: Decoder, scale: int) -> list[np.ndarray]:
    """R, G, B of one band in the decoder's float type; U and V arrive multiplied by ``scale`` (exact)."""
    ftype = np.float32 if dec.dtype == "float32" else np.float64
    y0, u0, v0 = (ftype(o) for o in dec.offsets)
    luma = y.astype(ftype) - y0
    if dec.clamp_luma:
        np.maximum(luma, ftype(0), out=luma)
    # U*scale/scale is exact (scale is 1 or 16 and the values are small integers)
    cb = u.astype(ftype) / ftype(scale) - u0
    cr = v.astype(ftype) / ftype(scale) - v0
    out = []
    for row in dec.coefficients:
        c0, c1, c2 = (ftype(c) for c in row)
        value = luma * c0
        value += cb * c1  # left to right, each product rounded to ftype: no fused multiply-add
        value += cr * c2
        out.append(_saturate(_round_float(value, dec.rounding), dec.clip))
    return out


def _fixed_channels(y: np.ndarray, u: np.ndarray, v: np.ndarray, dec: Decoder, scale: int) -> list[np.ndarray]:
    """R, G, B of one band in exact integers; bilinear chroma (``scale`` 16) adds 4 bits to the shift."""
    y0, u0, v0 = dec.offsets
    luma = y.astype(np.int64) - y0
    if dec.clamp_luma:
        np.maximum(luma, 0, out=luma)
    luma *= scale
    cb = u.astype(np.int64) - u0 * scale
    cr = v.astype(np.int64) - v0 * scale
    shift = dec.shift + (4 if scale == 16 else 0)
    out = []
    for c0, c1, c2 in dec.coefficients:
        numer = c0 * luma + c1 * cb + c2 * cr
        out.append(_saturate(_round_fixed(numer, shift, dec.rounding), dec.clip))
    return out


def _decode_planes(y: np.ndarray, u_full: np.ndarray, v_full: np.ndarray, dec: Decoder, scale: int,
                   perm: Perm) -> np.ndarray:
    height, width = y.shape
    out = np.empty((height, width, 3), np.uint8)
    channels = _fixed_channels if dec.dtype == "fixed" else _float_channels
    for top in range(0, height, _BAND_ROWS):
        bottom = min(top + _BAND_ROWS, height)
        for c, plane in enumerate(channels(y[top:bottom], u_full[top:bottom], v_full[top:bottom], dec, scale)):
            out[top:bottom, :, perm[c]] = plane
    return out


def decode(y: np.ndarray, uv: np.ndarray, conv: Convention, perm: Perm) -> np.ndarray:
    """(H, W, 3) uint8 from validated NV12 planes, by ``conv.decoder``.

    Chroma is spread as ``conv.chroma_up`` says: ``"nearest"`` replicates
    each sample over its 2x2 block; ``"bilinear"`` is the centre-sited
    interpolation of :mod:`nv12kit._kernels` (weights 3/4 and 1/4, edges
    clamped), carried exactly (as sixteenths) into the decoder's arithmetic.
    """
    dec = conv.decoder
    if dec is None:
        raise ValueError("convention has no decoder")  # internal: convert dispatches only with one
    if conv.chroma_up == "bilinear":
        return _decode_planes(y, _bilinear_up16(uv[..., 0]), _bilinear_up16(uv[..., 1]), dec, 16, perm)
    return _decode_planes(y, _nearest_up(uv[..., 0]), _nearest_up(uv[..., 1]), dec, 1, perm)


def decode_yuv444(yuv: np.ndarray, conv: Convention, perm: Perm) -> np.ndarray:
    """(H, W, 3) uint8 from a full-resolution YUV image, by ``conv.decoder``."""
    dec = conv.decoder
    if dec is None:
        raise ValueError("convention has no decoder")
    return _decode_planes(yuv[..., 0], yuv[..., 1], yuv[..., 2], dec, 1, perm)
