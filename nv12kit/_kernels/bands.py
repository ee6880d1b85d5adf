"""The arithmetic behind :mod:`nv12kit.convert`, band by band.

Every kernel is exact to its convention; speed comes from three habits:

* work on bands of rows, so temporaries stay in cache and bands can run on
  several cores (NumPy releases the GIL inside its loops);
* read each interleaved channel once, into reusable per-thread int32
  planes, so every later pass is over contiguous, cache-sized arrays;
* do the expensive exact step only where it can matter: a fast float32 pass
  finds the few pixels that lie on (or within its error of) a rounding
  boundary, and only those are recomputed exactly;
* better still, shift the exact value off the boundaries by a known margin
  where that is provably larger than float32's error (the nearest-chroma
  decode: per-chroma-sample lookup tables plus one float32 add per pixel),
  so no pixel needs recomputing.
"""

from __future__ import annotations

import functools
import math
import os
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction

import numpy as np
from PIL import Image

from ..conventions import Convention

__all__ = ["encode", "decode", "set_num_threads", "get_num_threads"]

# Pixels per band: 256K balances cache size (1 MiB int32 temporaries) against NumPy's
# per-call overhead (smaller bands measured slower, larger ones spill the cache); a 1080p
# frame is 8 bands, enough to share among cores.
_BAND_PIXELS = 1 << 18
_LITTLE_ENDIAN = sys.byteorder == "little"

Perm = tuple[int, int, int]


# ----------------------------------------------------------------------------
# bands and threads
# ----------------------------------------------------------------------------
def _default_threads() -> int:
    env = os.environ.get("NV12KIT_NUM_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


_threads = _default_threads()
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def set_num_threads(n: int) -> None:
    """Use ``n`` threads for conversions (1 = single-threaded; default: cores, at most 4).

    The environment variable ``NV12KIT_NUM_THREADS`` sets the default.
    """
    global _threads, _pool
    if not isinstance(n, int) or n < 1:
        from ..errors import InputError

        raise InputError(f"the number of threads must be a positive int, got {n!r}")
    with _pool_lock:
        _threads = n
        if _pool is not None:
            _pool.shutdown(wait=False)
            _pool = None


def get_num_threads() -> int:
    """The number of threads conversions use."""
    return _threads


def _run(task: Callable[[int, int], None], height: int, width: int) -> None:
    """Call ``task(top, bottom)`` for each band of even height, on the thread pool if it pays."""
    rows = max(2, (_BAND_PIXELS // max(width, 1)) & ~1)
    bands = [(top, min(top + rows, height)) for top in range(0, height, rows)]
    if _threads == 1 or len(bands) == 1:
        for top, bottom in bands:
            task(top, bottom)
        return
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_threads, thread_name_prefix="nv12kit")
        pool = _pool
    for future in [pool.submit(task, top, bottom) for top, bottom in bands]:
        future.result()


# ----------------------------------------------------------------------------
# exact integer forms of the float formulas
# ----------------------------------------------------------------------------
def _integer_form(coeffs: Sequence[Fraction], constant: Fraction) -> tuple[tuple[int, ...], int, int]:
    """``sum(c*x) + constant == (sum(N*x) + K) / D`` with integers N, K and D > 0."""
    denominator = math.lcm(*(c.denominator for c in coeffs), constant.denominator)
    return tuple(int(c * denominator) for c in coeffs), int(constant * denominator), denominator


def _exact_floor(sources: Sequence[np.ndarray], numer: tuple[int, ...], constant: int, denom: int) -> np.ndarray:
    """``floor((sum(N*x) + K) / D)`` in int64, clipped to 0..255 (for a few pixels)."""
    acc = numer[0] * sources[0].astype(np.int64)
    acc += numer[1] * sources[1].astype(np.int64)
    acc += numer[2] * sources[2].astype(np.int64)
    acc += constant
    acc //= denom
    return np.clip(acc, 0, 255).astype(np.uint8)


def _round_float(values: np.ndarray, rounding: str) -> np.ndarray:
    """Round float values as a convention says, clip to 0..255, cast to uint8."""
    if rounding == "nearest":
        values = np.floor(values + 0.5)
    elif rounding == "floor":
        values = np.floor(values)
    # "truncate": the cast truncates toward zero; clipping first keeps it defined.
    values = np.clip(values, 0, 255)
    return values.astype(np.uint8)


def _float64_formula(sources: Sequence[np.ndarray], coeffs: np.ndarray, offset: float, rounding: str) -> np.ndarray:
    """``c0*R + c1*G + c2*B + offset`` evaluated left to right in float64, as NumPy code does."""
    value = coeffs[0] * sources[0].astype(np.float64)
    value += coeffs[1] * sources[1]
    value += coeffs[2] * sources[2]
    value += offset
    return _round_float(value, rounding)


def _scratch(name: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """A per-thread reusable buffer: fresh allocations of band-sized arrays cost page faults.

    The view for a (name, shape, dtype) seen before is returned from a cache:
    at small sizes building it is a measurable share of a kernel's time.
    """
    views = _local.__dict__.setdefault("views", {})
    view = views.get((name, shape, dtype))
    if view is not None:
        return view
    buffers = _local.__dict__.setdefault("buffers", {})
    size = math.prod(shape)
    key = (name, np.dtype(dtype).str)
    buf = buffers.get(key)
    if buf is None or buf.size < size or len(views) > 1024:
        if buf is None or buf.size < size:
            buf = buffers[key] = np.empty(size, dtype)
        views.clear()  # no cached view may keep a replaced buffer alive
    view = views[(name, shape, dtype)] = buf[:size].reshape(shape)
    return view


_local = threading.local()


def _planes(name: str, sources: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Copy three (possibly strided) channels into contiguous int32 scratch planes, read once each."""
    planes = []
    for c, src in enumerate(sources):
        plane = _scratch(f"{name}{c}", src.shape, np.int32)
        np.copyto(plane, src, casting="unsafe")
        planes.append(plane)
    return planes


class _Row:
    """Computes one of Y, U, V from three contiguous int32 planes into ``dest``."""

    def __call__(self, planes: Sequence[np.ndarray], dest: np.ndarray) -> None:  # pragma: no cover - interface
        raise NotImplementedError


def _weighted_int32(planes: Sequence[np.ndarray], numer: Sequence[int], constant: int) -> np.ndarray:
    """``sum(N*x) + K`` in an int32 scratch buffer."""
    acc = _scratch("acc", planes[0].shape, np.int32)
    tmp = _scratch("tmp", planes[0].shape, np.int32)
    np.multiply(planes[0], np.int32(numer[0]), out=acc)
    np.multiply(planes[1], np.int32(numer[1]), out=tmp)
    acc += tmp
    np.multiply(planes[2], np.int32(numer[2]), out=tmp)
    acc += tmp
    acc += np.int32(constant)
    return acc


def _recheck(
    dest: np.ndarray, near: np.ndarray, planes: Sequence[np.ndarray], exact: Callable[[list[np.ndarray]], np.ndarray]
) -> None:
    """Overwrite ``dest`` where ``near`` with ``exact`` of the same pixels."""
    idx = np.flatnonzero(near)
    if idx.size:
        values = exact([p.reshape(-1)[idx] for p in planes])
        if dest.flags.c_contiguous:  # a flat index is several times cheaper than (rows, cols)
            dest.reshape(-1)[idx] = values
        else:
            rows, cols = np.divmod(idx, near.shape[1])
            dest[rows, cols] = values


class _ShiftRow(_Row):
    """Fixed point with a power-of-two divisor: ``(sum(N*x) + K) >> s`` (OpenCV, libyuv)."""

    def __init__(self, numer: Sequence[int], constant: int, shift: int) -> None:
        self.numer, self.constant, self.shift = tuple(numer), constant, shift
        low = sum(min(n, 0) for n in numer) * 255 + constant
        high = sum(max(n, 0) for n in numer) * 255 + constant
        self.clip = low < 0 or (high >> shift) > 255

    def __call__(self, planes: Sequence[np.ndarray], dest: np.ndarray) -> None:
        acc = _weighted_int32(planes, self.numer, self.constant)
        acc >>= self.shift
        if self.clip:
            np.clip(acc, 0, 255, out=acc)
        np.copyto(dest, acc, casting="unsafe")


class _DivideRow(_Row):
    """Exact ``floor((sum(N*x) + K) / D)`` for a small D, via float32 and no recheck.

    It computes ``(2*acc + 1) / (2*D)`` in float32: the integer is exact
    below 2**24 and the +1 keeps every value at least ``1/(2D)`` from an
    integer, far more than float32's error (3e-5 for values up to 256).
    With ``float64`` set (``evaluation="float64"``) the values that sit
    exactly on a boundary, where float64 may land on either side, are
    recomputed with the float64 formula.
    """

    MAX_DENOMINATOR = 8192

    def __init__(
        self,
        numer: Sequence[int],
        constant: int,
        denom: int,
        *,
        top: int,
        float64: dict[str, object] | None,
    ) -> None:
        self.numer = tuple(2 * n for n in numer)
        self.constant = 2 * constant + 1
        self.scale = np.float32(1.0 / (2 * denom))
        self.tie = np.float32(1.0 / denom)
        self.float64 = None if float64 is None else functools.partial(_float64_formula, **float64)
        # ``top`` is the largest source value: 255 for pixels, 1020 for 2x2 sums.
        low = sum(min(n, 0) for n in numer) * top + constant
        high = sum(max(n, 0) for n in numer) * top + constant
        self.clip = low < 0 or high // denom > 255

    @staticmethod
    def usable(numer: Sequence[int], constant: int, denom: int, top: int) -> bool:
        return (
            denom <= _DivideRow.MAX_DENOMINATOR and 2 * (sum(abs(n) for n in numer) * top + abs(constant)) + 1 < 2**24
        )

    def __call__(self, planes: Sequence[np.ndarray], dest: np.ndarray) -> None:
        acc = _weighted_int32(planes, self.numer, self.constant)
        quotient = _scratch("quotient", acc.shape, np.float32)
        floored = _scratch("floored", acc.shape, np.float32)
        np.copyto(quotient, acc, casting="unsafe")  # exact: |acc| < 2**24
        quotient *= self.scale
        np.floor(quotient, out=floored)
        if self.clip:
            np.clip(floored, 0, 255, out=floored)
        np.copyto(dest, floored, casting="unsafe")
        if self.float64 is not None:
            quotient -= floored  # the fraction; exactly 1/(2D) on a boundary
            near = _scratch("near", acc.shape, np.bool_)
            np.less(quotient, self.tie, out=near)
            _recheck(dest, near, planes, self.float64)


class _Float32Row(_Row):
    """The formula in float32, with pixels near a rounding boundary recomputed exactly."""

    MARGIN = 5e-4  # float32's error is below 2e-4 for these formulas

    def __init__(self, coeffs: np.ndarray, constant: float, exact: Callable[[list[np.ndarray]], np.ndarray]) -> None:
        self.coeffs = coeffs.astype(np.float32)
        self.constant = np.float32(constant)
        self.exact = exact

    def __call__(self, planes: Sequence[np.ndarray], dest: np.ndarray) -> None:
        value = _scratch("value", planes[0].shape, np.float32)
        tmp = _scratch("ftmp", planes[0].shape, np.float32)
        for c in range(3):
            np.copyto(tmp if c else value, planes[c], casting="unsafe")
            if c:
                tmp *= self.coeffs[c]
                value += tmp
            else:
                value *= self.coeffs[0]
        value += self.constant
        np.rint(value, out=tmp)
        tmp -= value
        near = _scratch("near", value.shape, np.bool_)
        np.less(np.abs(tmp, out=tmp), self.MARGIN, out=near)
        np.floor(value, out=value)
        np.clip(value, 0, 255, out=value)
        np.copyto(dest, value, casting="unsafe")
        _recheck(dest, near, planes, self.exact)


@functools.lru_cache(maxsize=64)
def _float_rows(conv: Convention, divisor: int = 1) -> tuple[_Row, ...]:
    """Engines for Y, U, V of a "float" convention; sources are summed over ``divisor`` pixels.

    Cached: building them does exact fraction arithmetic, and they hold no per-call state.
    """
    matrix, offset = conv.exact_encode_matrix()
    boundary = Fraction(1, 2) if conv.rounding == "nearest" else Fraction(0)
    float_matrix, float_offset = conv.encode_matrix()
    rows: list[_Row] = []
    for k in range(3):
        coeffs = [c / divisor for c in matrix[k]]
        numer, constant, denom = _integer_form(coeffs, offset[k] + boundary)
        float64 = None
        if conv.evaluation == "float64":
            float64 = {"coeffs": float_matrix[k] / divisor, "offset": float(float_offset[k]), "rounding": conv.rounding}
        if _DivideRow.usable(numer, constant, denom, 255 * divisor):
            rows.append(_DivideRow(numer, constant, denom, top=255 * divisor, float64=float64))
            continue
        if float64 is not None:
            exact = functools.partial(_float64_formula, **float64)
        else:
            exact = functools.partial(_exact_floor, numer=numer, constant=constant, denom=denom)
        rows.append(_Float32Row(np.array([float(c) for c in coeffs]), float(offset[k] + boundary), exact))
    return tuple(rows)


# OpenCV's 20-bit BT.601 limited-range constants (modules/imgproc/src/color_yuv.simd.hpp).
_CV_SHIFT = 20
_CV_HALF = 1 << (_CV_SHIFT - 1)
_CV_ENCODE = ((269484, 528482, 102760), (-155188, -305135, 460324), (460324, -385875, -74448))
_CV_Y, _CV_UB, _CV_UG, _CV_VG, _CV_VR = 1220542, 2116026, -409993, -852492, 1673527

# libyuv's 8-bit BT.601 constants: rows Y, U, V over (R, G, B), and their rounding constants.
_LIBYUV = {
    "limited": (((66, 129, 25), (-38, -74, 112), (112, -94, -18)), (0x1080, 0x8000, 0x8000)),
    "full": (((77, 150, 29), (-43, -85, 128), (128, -107, -21)), (128, 0x8000, 0x8000)),
}


@functools.lru_cache(maxsize=8)
def _fixed_point_rows(conv: Convention) -> tuple[_Row, ...]:
    if conv.arithmetic == "opencv":
        bases = (16, 128, 128)
        return tuple(_ShiftRow(_CV_ENCODE[k], (bases[k] << _CV_SHIFT) + _CV_HALF, _CV_SHIFT) for k in range(3))
    coeffs, constants = _LIBYUV[conv.range]
    return tuple(_ShiftRow(coeffs[k], constants[k], 8) for k in range(3))


def _block_sum(rgb: np.ndarray) -> np.ndarray:
    """Sum of each 2x2 block, per channel: (h/2, w/2, 3) uint16."""
    out = rgb[0::2, 0::2].astype(np.uint16)
    out += rgb[0::2, 1::2]
    out += rgb[1::2, 0::2]
    out += rgb[1::2, 1::2]
    return out


def _block_sums(planes: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Sum of each 2x2 block of contiguous int32 planes, as int32 (h/2, w/2) scratch planes.

    Summing the planes row pair first keeps every pass a long contiguous loop;
    ``_block_sum`` on the interleaved image runs inner loops of length 3.
    """
    sums = []
    for c, plane in enumerate(planes):
        h, w = plane.shape
        rows = _scratch(f"r{c}", (h // 2, w), np.int32)
        np.add(plane[0::2], plane[1::2], out=rows)
        total = _scratch(f"q{c}", (h // 2, w // 2), np.int32)
        np.add(rows[:, 0::2], rows[:, 1::2], out=total)
        sums.append(total)
    return sums


def _resize_half_bicubic(plane: np.ndarray) -> np.ndarray:
    """Pillow's default ``resize`` (antialiased bicubic) of a uint8 plane to half size."""
    h, w = plane.shape
    return np.asarray(Image.fromarray(plane).resize((w // 2, h // 2)))


def _pil_ycbcr(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(np.ascontiguousarray(rgb), "RGB").convert("YCbCr"))


def _encode_pillow(rgb: np.ndarray, conv: Convention) -> tuple[np.ndarray, np.ndarray]:
    height, width = rgb.shape[:2]
    ycc = _pil_ycbcr(rgb)
    y = np.ascontiguousarray(ycc[..., 0])
    uv = np.empty((height // 2, width // 2, 2), np.uint8)
    if conv.chroma_down == "bicubic":
        uv[..., 0] = _resize_half_bicubic(np.ascontiguousarray(ycc[..., 1]))
        uv[..., 1] = _resize_half_bicubic(np.ascontiguousarray(ycc[..., 2]))
    elif conv.chroma_down == "topleft":
        uv[...] = ycc[0::2, 0::2, 1:]
    else:
        total = _block_sum(rgb)
        total += 2
        total >>= 2
        uv[...] = _pil_ycbcr(total.astype(np.uint8))[..., 1:]
    return y, uv


def encode(rgb: np.ndarray, conv: Convention, perm: Perm) -> tuple[np.ndarray, np.ndarray]:
    """Y (H, W) and UV (H/2, W/2, 2) of a validated (H, W, 3) uint8 image."""
    if conv.arithmetic == "pillow":
        return _encode_pillow(rgb[..., list(perm)] if perm != (0, 1, 2) else rgb, conv)
    height, width = rgb.shape[:2]
    y = np.empty((height, width), np.uint8)
    uv = np.empty((height // 2, width // 2, 2), np.uint8)
    fixed = conv.arithmetic in ("opencv", "libyuv")
    rows = _fixed_point_rows(conv) if fixed else _float_rows(conv)
    box_rows = _float_rows(conv, divisor=4) if conv.chroma_down == "box" and not fixed else None
    bicubic = conv.chroma_down == "bicubic"
    full_chroma = np.empty((2, height, width), np.uint8) if bicubic else None

    def channels(block: np.ndarray) -> list[np.ndarray]:
        return [block[..., c] for c in perm]

    def task(top: int, bottom: int) -> None:
        band = rgb[top:bottom]
        planes = _planes("p", channels(band))
        rows[0](planes, y[top:bottom])
        half = slice(top // 2, bottom // 2)
        if bicubic:
            rows[1](planes, full_chroma[0, top:bottom])
            rows[2](planes, full_chroma[1, top:bottom])
            return
        if conv.chroma_down == "topleft":
            chroma_planes, chroma_rows = _planes("q", channels(band[0::2, 0::2])), rows
        elif fixed:
            # libyuv (and fixed point generally) rounds the 2x2 mean first: (sum + 2) >> 2.
            chroma_planes, chroma_rows = _block_sums(planes), rows
            for mean in chroma_planes:
                mean += 2
                mean >>= 2
        else:
            # The exact mean is the sum / 4; the /4 is folded into the formula.
            chroma_planes, chroma_rows = _block_sums(planes), box_rows
        chroma_rows[1](chroma_planes, uv[half, :, 0])
        chroma_rows[2](chroma_planes, uv[half, :, 1])

    _run(task, height, width)
    if bicubic:
        uv[..., 0] = _resize_half_bicubic(full_chroma[0])
        uv[..., 1] = _resize_half_bicubic(full_chroma[1])
    return y, uv


# ----------------------------------------------------------------------------
# decoding
# ----------------------------------------------------------------------------
# The packed adds put two horizontally adjacent pixels in one wider word and
# add the same chroma step to both halves at once, which also spreads chroma
# over the 2x2 block without materialising an up-sampled plane.  A bias of
# 512 keeps every half positive and far from overflow; after clipping to
# 512..767 the cast to uint8 removes the bias for free (512 = 2 * 256).
_BIAS = 512


def _uv_index(uv: np.ndarray) -> np.ndarray:
    """Each chroma pair as one uint16, U in the low byte: an index into 65536-entry tables."""
    pairs = uv.view(np.uint16)[..., 0]
    return pairs if _LITTLE_ENDIAN else pairs.byteswap()


_INDEX = np.arange(65536, dtype=np.int64)
_U_OF_INDEX, _V_OF_INDEX = (_INDEX & 0xFF) - 128, (_INDEX >> 8) - 128


@functools.lru_cache(maxsize=32)
def _exact_decode_forms(conv: Convention) -> list[tuple[int, int, int, int]]:
    """Per channel ``(A, B, C, D)``: value = (A*(Y - y0) + B*(U - 128) + C*(V - 128)) / D exactly."""
    matrix, _ = conv.exact_decode_matrix()
    forms = []
    for row in matrix:
        numer, _, denom = _integer_form(row, Fraction(0))
        forms.append((*numer, denom))
    return forms


@functools.lru_cache(maxsize=32)
def _full_range_steps(conv: Convention) -> np.ndarray:
    """(3, 65536) uint32: round-half-up of the chroma term + bias, in both 16-bit halves."""
    steps = []
    for _, b, c, d in _exact_decode_forms(conv):
        numer = b * _U_OF_INDEX + c * _V_OF_INDEX
        steps.append((2 * numer + d) // (2 * d))  # floor(numer/d + 1/2), exactly
    return ((np.stack(steps) + _BIAS) * 0x10001).astype(np.uint32)


@functools.lru_cache(maxsize=32)
def _chroma_numerators(conv: Convention) -> np.ndarray:
    """(3, 65536) int64: the exact chroma numerators B*(U-128) + C*(V-128)."""
    return np.stack([b * _U_OF_INDEX + c * _V_OF_INDEX for _, b, c, _ in _exact_decode_forms(conv)])


@functools.lru_cache(maxsize=32)
def _chroma_terms32(conv: Convention) -> np.ndarray:
    """(3, 65536) float32: the chroma terms plus the 1/2 of round-half-up, for the fast pass."""
    denominators = np.array([d for *_, d in _exact_decode_forms(conv)])[:, None]
    return (_chroma_numerators(conv) / denominators + 0.5).astype(np.float32)


def _wrap64(value: int) -> int:
    """An integer reduced to int64's range modulo 2**64 (two's complement)."""
    return (value + 2**63) % 2**64 - 2**63


def _centred_chroma(uv: np.ndarray, top: int, bottom: int) -> tuple[np.ndarray, np.ndarray]:
    """U - 128 and V - 128 of a band's chroma rows, as int64 scratch arrays."""
    half = uv[top // 2 : bottom // 2]
    u = _scratch("u", half.shape[:2], np.int64)
    v = _scratch("v", half.shape[:2], np.int64)
    np.copyto(u, half[..., 0])
    np.copyto(v, half[..., 1])
    u -= 128
    v -= 128
    return u, v


def _decode_opencv(y: np.ndarray, uv: np.ndarray, out: np.ndarray, perm: Perm) -> None:
    height, width = y.shape
    # OpenCV computes (max(Y-16, 0)*CY + chroma + half) >> 20.  Y is clamped at 16 below and the
    # -16*CY, the rounding half and the bias go into the chroma term, so every 32-bit half stays
    # in 0..2**31 and the shifted result lands in 512 + (-258..560).
    bias = _CV_HALF - 16 * _CV_Y + (_BIAS << _CV_SHIFT)
    # Multiplying by 2**32 + 1 copies a term into both 32-bit halves; folding that factor into
    # the constants (int64 arithmetic wraps modulo 2**64, which keeps the identity) saves a pass.
    both = 0x100000001
    weights = [(_wrap64(wu * both), _wrap64(wv * both)) for wu, wv in ((0, _CV_VR), (_CV_UG, _CV_VG), (_CV_UB, 0))]
    packed_bias = _wrap64(bias * both)

    def task(top: int, bottom: int) -> None:
        h = bottom - top
        y16 = _scratch("y16", (h, width), np.uint16)
        np.copyto(y16, y[top:bottom])
        np.clip(y16, 16, 255, out=y16)
        y32 = _scratch("y32", (h, width), np.uint32)
        np.copyto(y32, y16)
        y32 *= np.uint32(_CV_Y)
        pairs = y32.view(np.uint64).reshape(h // 2, 2, width // 2)
        u, v = _centred_chroma(uv, top, bottom)
        term = _scratch("term", u.shape, np.int64)
        tmp = _scratch("tmp64", u.shape, np.int64)
        total = _scratch("total", pairs.shape, np.uint64)
        value16 = _scratch("value16", (h, width), np.uint16)
        for c, (wu, wv) in enumerate(weights):
            if wu and wv:
                np.multiply(u, np.int64(wu), out=term)
                np.multiply(v, np.int64(wv), out=tmp)
                term += tmp
            else:
                np.multiply(u if wu else v, np.int64(wu or wv), out=term)
            term += np.int64(packed_bias)
            np.add(pairs, term.view(np.uint64)[:, None, :], out=total)
            np.right_shift(total.view(np.uint32).reshape(h, width), np.uint32(_CV_SHIFT), out=value16, casting="unsafe")
            np.clip(value16, _BIAS, _BIAS + 255, out=value16)
            out[top:bottom, :, perm[c]] = value16

    _run(task, height, width)


def _decode_opencv_plain(y: np.ndarray, uv: np.ndarray, out: np.ndarray, perm: Perm) -> None:
    """OpenCV's arithmetic without packing, for big-endian machines."""
    luma = np.maximum(y.astype(np.int64) - 16, 0) * _CV_Y
    u = uv[..., 0].astype(np.int64) - 128
    v = uv[..., 1].astype(np.int64) - 128
    for c, term in enumerate([_CV_VR * v, _CV_VG * v + _CV_UG * u, _CV_UB * u]):
        up = np.repeat(np.repeat(term, 2, axis=0), 2, axis=1)
        out[..., perm[c]] = np.clip((luma + up + _CV_HALF) >> _CV_SHIFT, 0, 255)


def _decode_full_range(y: np.ndarray, uv: np.ndarray, conv: Convention, out: np.ndarray, perm: Perm) -> None:
    """R = Y + round(chroma term) exactly: the per-pixel work is one packed small-integer add."""
    height, width = y.shape
    table, index = _full_range_steps(conv), _uv_index(uv)

    def task(top: int, bottom: int) -> None:
        y16 = y[top:bottom].astype(np.uint16)
        h = bottom - top
        pairs = y16.view(np.uint32).reshape(h // 2, 2, width // 2)
        block = index[top // 2 : bottom // 2]
        for c in range(3):
            value = (pairs + np.take(table[c], block)[:, None, :]).view(np.uint16).reshape(h, width)
            np.clip(value, _BIAS, _BIAS + 255, out=value)
            out[top:bottom, :, perm[c]] = value

    _run(task, height, width)


@functools.lru_cache(maxsize=32)
def _luma_split_tables(conv: Convention) -> list[tuple[np.float32, np.ndarray]] | None:
    """Per channel ``(a, S)`` with ``floor(a*Y + S[uv])`` (float32) equal to the exact decode.

    The exact value is ``p/q*Y + t(U, V)`` with the luma gain ``p/q`` (1 for full
    range, 255/219 for limited) and ``t`` the chroma term, offsets and the 1/2 of
    round-half-up.  Since ``p*Y`` is an integer,
    ``floor(p/q*Y + t) == floor((p*Y + T) / q)`` with ``T = floor(q*t)``, and that
    equals ``floor((p*Y + T + 1/2) / q)``, a value at least ``1/(2q)`` from any
    integer.  Float32 misses the exact sum by far less (checked below), so its
    floor is exact with no recheck.  ``S`` is (65536,) uint64: each entry holds
    ``(T + 1/2)/q`` twice, so one lookup per chroma sample also fills both pixels
    of a horizontal pair.  None if the bound does not hold (then the general
    path is used).
    """
    y0 = 16 if conv.range == "limited" else 0
    tables = []
    for a, b, c, d in _exact_decode_forms(conv):
        gain = Fraction(a, d)
        q = gain.denominator
        # T = floor(q * ((b*U' + c*V' - a*y0)/d + 1/2)) = floor((2q*(b*U' + c*V' - a*y0) + q*d) / (2d)).
        if 2 * q * ((abs(b) + abs(c)) * 128 + a * y0) + q * d >= 2**62:
            return None
        numer = 2 * q * (b * _U_OF_INDEX + c * _V_OF_INDEX - a * y0) + q * d
        big_t = numer // (2 * d)
        exact = (2 * big_t + 1) / (2 * q)  # float64 of a rational, within 1e-13 of it
        # Float32 errors: the table entry, a*Y and the sum, each at most half an ulp of
        # the largest magnitude involved; they must stay below the margin 1/(2q).
        largest = float(np.abs(exact).max()) + 255 * float(gain)
        if 3 * largest * 2.0**-24 + 1e-9 >= 1 / (2 * q):
            return None
        single = exact.astype(np.float32)
        tables.append((np.float32(gain), np.stack([single, single], axis=-1).view(np.uint64)[:, 0]))
    return tables


def _decode_split(y: np.ndarray, uv: np.ndarray, tables: list[tuple[np.float32, np.ndarray]],
                  out: np.ndarray, perm: Perm) -> None:
    """Exact nearest-chroma decode as ``floor(a*Y + S[uv])`` in float32: a handful of passes per channel."""
    height, width = y.shape
    index = _uv_index(uv)
    top_value = np.float32(255.5)  # clip then truncating cast == floor, clipped to 0..255

    def task(top: int, bottom: int) -> None:
        h = bottom - top
        block = _scratch("block", (h // 2, width // 2), np.intp)
        np.copyto(block, index[top // 2 : bottom // 2])  # intp indices make take fastest
        luma = _scratch("luma", (h, width), np.float32)
        value = _scratch("value", (h // 2, 2, width), np.float32)
        step = _scratch("step", (h // 2, width // 2), np.uint64)
        gain = None
        for c, (a, table) in enumerate(tables):
            if a != gain:  # in practice every channel has the same luma gain
                np.multiply(y[top:bottom], a, out=luma)
                gain = a
            np.take(table, block, out=step, mode="clip")  # indices are < 65536: clip never acts
            np.add(luma.reshape(h // 2, 2, width), step.view(np.float32)[:, None, :], out=value)
            np.clip(value, np.float32(0), top_value, out=value)
            out[top:bottom, :, perm[c]] = value.reshape(h, width)

    _run(task, height, width)


def _decode_general(y: np.ndarray, uv: np.ndarray, conv: Convention, out: np.ndarray, perm: Perm) -> None:
    """Any float convention with nearest chroma: float32, with near-half pixels redone exactly."""
    height, width = y.shape
    forms = _exact_decode_forms(conv)
    numerators = _chroma_numerators(conv)
    y0 = 16 if conv.range == "limited" else 0
    gains = [np.float32(a / d) for a, _, _, d in forms]
    terms = _chroma_terms32(conv)
    index = _uv_index(uv)

    def task(top: int, bottom: int) -> None:
        h = bottom - top
        luma = y[top:bottom].astype(np.float32)
        luma -= np.float32(y0)
        block = index[top // 2 : bottom // 2]
        for c in range(3):
            step = np.repeat(np.take(terms[c], block), 2, axis=1)
            value = (luma.reshape(h // 2, 2, width) * gains[c] + step[:, None, :]).reshape(h, width)
            dist = value - np.rint(value)
            near = np.abs(dist, out=dist) < _Float32Row.MARGIN
            np.floor(value, out=value)
            np.clip(value, 0, 255, out=value)
            channel = value.astype(np.uint8)
            rows, cols = np.nonzero(near)
            if rows.size:
                a, _, _, d = forms[c]
                numer = a * (y[top + rows, cols].astype(np.int64) - y0)
                numer += numerators[c][block[rows // 2, cols // 2]]
                channel[rows, cols] = np.clip((2 * numer + d) // (2 * d), 0, 255)
            out[top:bottom, :, perm[c]] = channel

    _run(task, height, width)


def _bilinear_up16(plane: np.ndarray) -> np.ndarray:
    """16x the centre-sited 2x linear up-sampling (weights 3/4, 1/4; edges clamped), int64 exact."""
    p = plane.astype(np.int64)

    def up(a: np.ndarray, axis: int) -> np.ndarray:
        n = a.shape[axis]
        prev = np.take(a, np.r_[0, np.arange(n - 1)], axis=axis)
        nxt = np.take(a, np.r_[np.arange(1, n), n - 1], axis=axis)
        pair = np.stack([3 * a + prev, 3 * a + nxt], axis=axis + 1)
        shape = list(a.shape)
        shape[axis] = 2 * n
        return pair.reshape(shape)

    return up(up(p, 0), 1)


def _decode_bilinear(y: np.ndarray, uv: np.ndarray, conv: Convention, out: np.ndarray, perm: Perm) -> None:
    """Exact decode with bilinear chroma: everything scaled by 16 stays an integer."""
    y0 = 16 if conv.range == "limited" else 0
    u16 = _bilinear_up16(uv[..., 0]) - 128 * 16
    v16 = _bilinear_up16(uv[..., 1]) - 128 * 16
    luma = y.astype(np.int64) - y0
    for c, (a, b, cc, d) in enumerate(_exact_decode_forms(conv)):
        numer = 16 * a * luma + b * u16 + cc * v16
        out[..., perm[c]] = np.clip((2 * numer + 16 * d) // (32 * d), 0, 255)


def _decode_pillow(y: np.ndarray, uv: np.ndarray, conv: Convention, perm: Perm) -> np.ndarray:
    if conv.chroma_up == "nearest":
        u = np.repeat(np.repeat(uv[..., 0], 2, axis=0), 2, axis=1)
        v = np.repeat(np.repeat(uv[..., 1], 2, axis=0), 2, axis=1)
    else:
        u = np.clip((_bilinear_up16(uv[..., 0]) + 8) // 16, 0, 255).astype(np.uint8)
        v = np.clip((_bilinear_up16(uv[..., 1]) + 8) // 16, 0, 255).astype(np.uint8)
    planes = [Image.fromarray(np.ascontiguousarray(p)) for p in (y, u, v)]
    rgb = np.asarray(Image.merge("YCbCr", planes).convert("RGB"))
    return np.ascontiguousarray(rgb[..., list(perm)] if perm != (0, 1, 2) else rgb)


def decode(y: np.ndarray, uv: np.ndarray, conv: Convention, perm: Perm) -> np.ndarray:
    """(H, W, 3) uint8 from validated planes."""
    if conv.arithmetic == "pillow":
        return _decode_pillow(y, uv, conv, perm)
    out = np.empty((*y.shape, 3), np.uint8)
    if conv.chroma_up == "bilinear":
        _decode_bilinear(y, uv, conv, out, perm)
    elif conv.arithmetic == "opencv":
        if _LITTLE_ENDIAN:
            _decode_opencv(y, uv, out, perm)
        else:
            _decode_opencv_plain(y, uv, out, perm)
    elif conv.range == "full" and _LITTLE_ENDIAN:  # full range: R, G, B = Y + a chroma term
        _decode_full_range(y, uv, conv, out, perm)
    else:
        tables = _luma_split_tables(conv)
        if tables is not None:
            _decode_split(y, uv, tables, out, perm)
        else:
            _decode_general(y, uv, conv, out, perm)
    return out


def yuv444_decode(yuv: np.ndarray, conv: Convention, perm: Perm) -> np.ndarray:
    """Exact decode of a full-resolution YUV image (no subsampling)."""
    y0 = 16 if conv.range == "limited" else 0
    centred = yuv.astype(np.int64) - np.array([y0, 128, 128])
    out = np.empty(yuv.shape, np.uint8)
    for c, (a, b, cc, d) in enumerate(_exact_decode_forms(conv)):
        numer = a * centred[..., 0] + b * centred[..., 1] + cc * centred[..., 2]
        out[..., perm[c]] = np.clip((2 * numer + d) // (2 * d), 0, 255)
    return out
