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

import functools
import sys

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


@functools.lru_cache(maxsize=32)
def _fixed_nearest_tables(dec: Decoder) -> tuple[tuple[int, ...], np.ndarray] | None:
    """Integer fixed point, nearest chroma: per channel ``(Y gain, (65536, 2) int32 table by chroma pair)``.

    Channel c is ``round((A*(Y - y0) + B*(U - u0) + C*(V - v0)) / 2**s)``;
    the table holds ``B*(U - u0) + C*(V - v0) - A*y0 + half`` (``half`` is
    2**(s-1) for "half-up", 0 for "floor"; with clipping "truncate" equals
    "floor": a negative value clips to 0 either way), twice (a block's two
    columns).  None when the int32 sums could overflow or the rounding needs
    more than a shift.
    """
    if dec.dtype != "fixed" or any(float(o) != int(o) for o in dec.offsets):
        return None
    rounding = "floor" if dec.rounding == "truncate" and dec.clip else dec.rounding
    if rounding not in ("floor", "half-up") or (rounding == "half-up" and dec.shift == 0):
        return None
    y0, u0, v0 = (int(o) for o in dec.offsets)
    half = (1 << (dec.shift - 1)) if rounding == "half-up" else 0
    index = np.arange(65536, dtype=np.int64)
    u, v = (index & 0xFF) - u0, (index >> 8) - v0  # U in the low byte, as NV12 stores the pair
    gains, tables = [], []
    for a, b, c in dec.coefficients:
        a, b, c = int(a), int(b), int(c)
        luma_low, luma_high = (0, 255 - y0) if dec.clamp_luma else (-y0, 255 - y0)
        bound = max(abs(a * luma_low), abs(a * luma_high)) + (abs(b) + abs(c)) * 255 + half
        if bound >= 2**31 - 2**16:
            return None
        chroma = b * u + c * v + half - (0 if dec.clamp_luma else a * y0)
        gains.append(a)
        tables.append(np.repeat(chroma.astype(np.int32)[:, None], 2, axis=1))
    return tuple(gains), np.stack(tables)


def _decode_fixed_nearest(y: np.ndarray, uv: np.ndarray, dec: Decoder, perm: Perm,
                          tables: tuple[tuple[int, ...], np.ndarray]) -> np.ndarray:
    """The fixed-point decode of :func:`_fixed_channels` for nearest chroma, in int32 over the whole frame."""
    gains, chroma = tables
    h, w = y.shape
    hh = h // 2
    pairs = uv.view(np.uint16)[..., 0] if sys.byteorder == "little" else uv.view(np.uint16)[..., 0].byteswap()
    block = pairs.astype(np.intp)
    steps = np.take(chroma, block, axis=1, mode="clip")  # (3, h/2, w/2, 2); indices are < 65536
    out = np.empty((h, w, 3), np.uint8)
    luma = y.astype(np.int32)
    if dec.clamp_luma:
        luma -= np.int32(dec.offsets[0])
        np.maximum(luma, 0, out=luma)
    value = np.empty((hh, 2, w), np.int32)
    plane = np.empty((h, w), np.uint8)
    scaled = None
    for c in range(3):
        if scaled is None or gains[c] != gains[c - 1]:
            scaled = np.multiply(luma, np.int32(gains[c]))
        np.add(scaled.reshape(hh, 2, w), steps[c].reshape(hh, 1, w), out=value)
        if dec.shift:
            value >>= dec.shift  # arithmetic shift: floor
        if dec.clip:
            np.clip(value, 0, 255, out=value)
        else:
            value &= 255
        np.copyto(plane, value.reshape(h, w), casting="unsafe")
        out[..., perm[c]] = plane
    return out


def _twice(plane: np.ndarray, ftype: type) -> np.ndarray:
    """(h/2, w/2) uint8 -> (h/2, w) of ``ftype``, each value twice; float32 pairs are made as one uint64 each."""
    if ftype is not np.float32 or sys.byteorder != "little":
        return np.repeat(plane, 2, axis=1).astype(ftype)
    single = plane.astype(np.float32)
    pairs = np.multiply(single.view(np.uint32), np.uint64(0x1_0000_0001))  # bits of x in both halves
    return pairs.view(np.float32).reshape(plane.shape[0], 2 * plane.shape[1])


def _decode_float_nearest(y: np.ndarray, uv: np.ndarray, dec: Decoder, perm: Perm) -> np.ndarray:
    """:func:`_float_channels` for nearest chroma, the same float operations in the same order, fewer passes.

    ``luma*c0`` is computed once for channels sharing ``c0``; ``cb*c1`` and
    ``cr*c2`` once per chroma block (each pixel of a block would compute the
    same product) and added to the pixels in the decoder's order.  A zero
    coefficient's term is skipped: adding a product that is +-0 changes at
    most the sign of a zero, which rounds and saturates to the same byte.
    """
    ftype = np.float32 if dec.dtype == "float32" else np.float64
    y0, u0, v0 = (ftype(o) for o in dec.offsets)
    h, w = y.shape
    hh = h // 2
    luma = y.astype(ftype)
    luma -= y0
    if dec.clamp_luma:
        np.maximum(luma, ftype(0), out=luma)
    # Chroma per block, each sample twice (the block's two columns), as (h/2, 1, w) rows.
    cb, cr = (_twice(uv[..., k], ftype) for k in (0, 1))
    cb -= u0
    cr -= v0
    out = np.empty((h, w, 3), np.uint8)
    value = np.empty((hh, 2, w), ftype)
    plane = np.empty((h, w), np.uint8)
    in_place = {"half-even": np.rint, "floor": np.floor, "truncate": np.trunc}.get(dec.rounding)
    scaled, gain = None, None
    for c, row in enumerate(dec.coefficients):
        c0, c1, c2 = (ftype(k) for k in row)
        if scaled is None or c0 != gain:
            scaled, gain = luma * c0, c0
        np.copyto(value, scaled.reshape(hh, 2, w))
        if c1 != 0:
            value += (cb * c1).reshape(hh, 1, w)
        if c2 != 0:
            value += (cr * c2).reshape(hh, 1, w)
        if in_place is not None and dec.clip:
            # The same rounding and clip as _round_float and _saturate, without temporaries.
            in_place(value, out=value)
            np.clip(value, ftype(0), ftype(255), out=value)
            np.copyto(plane, value.reshape(h, w), casting="unsafe")
            out[..., perm[c]] = plane
        else:
            out[..., perm[c]] = _saturate(_round_float(value.reshape(h, w), dec.rounding), dec.clip)
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
    tables = _fixed_nearest_tables(dec)
    if tables is not None:
        def nearest(y_band: np.ndarray, uv_band: np.ndarray) -> np.ndarray:
            return _decode_fixed_nearest(y_band, uv_band, dec, perm, tables)
    elif dec.dtype != "fixed":
        def nearest(y_band: np.ndarray, uv_band: np.ndarray) -> np.ndarray:
            return _decode_float_nearest(y_band, uv_band, dec, perm)
    else:
        return _decode_planes(y, _nearest_up(uv[..., 0]), _nearest_up(uv[..., 1]), dec, 1, perm)
    if y.shape[0] <= _BAND_ROWS:
        return nearest(y, uv)
    out = np.empty((*y.shape, 3), np.uint8)
    for top in range(0, y.shape[0], _BAND_ROWS):  # an even number of rows: bands meet between chroma rows
        out[top : top + _BAND_ROWS] = nearest(y[top : top + _BAND_ROWS], uv[top // 2 : (top + _BAND_ROWS) // 2])
    return out


def decode_yuv444(yuv: np.ndarray, conv: Convention, perm: Perm) -> np.ndarray:
    """(H, W, 3) uint8 from a full-resolution YUV image, by ``conv.decoder``."""
    dec = conv.decoder
    if dec is None:
        raise ValueError("convention has no decoder")
    return _decode_planes(yuv[..., 0], yuv[..., 1], yuv[..., 2], dec, 1, perm)
