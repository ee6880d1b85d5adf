"""The NV12 round trip (encode, then decode) of a small frame in one go: issue 17's augmentation.

For conventions with top-left chroma, full range, nearest chroma and
per-pixel rows (``horizon``), :func:`round_trip` gives exactly
``decode(*encode(rgb))`` of :mod:`.small`, without storing Y or UV:

Encoding in 24-bit fixed point
    Each of Y, U, V is ``floor(t)``, ``t = (N . x + K) / D`` (the
    convention's exact rational row, as :mod:`.small` holds it), computed as
    ``F >> 24`` with ``F = A . x + k``: ``A = floor(N * 2**24 / D) + 1`` and
    ``k = ceil(K * 2**24 / D) + 1023``.  Then ``err = F - 2**24 t`` lies in
    ``[1023, 2048)`` for every colour (the coefficient errors are in
    ``(0, 1]``) and a non-integer ``t`` is at least ``2**24 / D`` from the
    next integer, so ``F >> 24 == floor(t)``.  On a rounding boundary (``t``
    an integer) ``err`` is an integer: 1023 for black, at least 1024 for any
    other colour, so "bits 10-23 of ``F`` are ``0...01``" finds exactly the
    boundary pixels other than black.  The bounds are checked with exact
    fractions when a row is built (else the convention is not taken here).
    ``F`` is computed by the pixel-word trick of :mod:`.small` (modulo
    ``2**32``, exact since ``0 <= F < 2**32``).  Rows evaluated in float64
    differ from ``floor(t)`` only on boundary pixels; the colours where they
    do are tabulated once per convention (:meth:`.small._IntRow._fixes`;
    black must not be one of them) and corrected by table lookup.
Decoding
    Y goes into bytes 0-2 of a word (one multiply by ``0x010101``); each
    channel is ``clip(Y + s)``, ``s`` the rounded chroma term of the block's
    (U, V), computed bytewise as ``min(max(Y, L), H) + S`` with the words L,
    H, S of the block's chroma pair (three small tables), and the words are
    stored 3 bytes apart.

``tests/test_kernels_exact.py`` runs every colour through Y, U and V of the
round trip against the references; ``tests/test_kernels_fast.py`` compares
it with the band kernels' encode and decode.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from ..conventions import Convention
from .bands import _LITTLE_ENDIAN, _U_OF_INDEX, _V_OF_INDEX, Perm, _exact_decode_forms
from .small import (
    SMALL_PIXELS,
    _int_rows,
    _IntRow,
    _overlapping_store_works,
)

__all__ = ["round_trippable", "round_trip", "plan_for", "run", "eligible"]

_SHIFT = 24
_WINDOW = 1 << 10  # F - 2**24 floor(t) lies in [_WINDOW, 2 * _WINDOW) exactly on a boundary pixel other than black
_FRACTION_HIGH = np.uint32((1 << _SHIFT) - _WINDOW)  # bits 10-23 of F ...
_ON_BOUNDARY = np.uint32(_WINDOW)  # ... are 0b00...01 exactly there
_U32 = np.uint32
_local = threading.local()


class _ScaledRow:
    """One row of Y, U, V as ``F = A . x + k`` in uint32 (``F >> 24`` is the result) and its float64 fixes."""

    def __init__(self, row: _IntRow, perm: Perm) -> None:
        denom = int(row.denom)
        numer = [Fraction(n * 2**_SHIFT, denom) for n in row.numer]
        scaled = [math.floor(n) + 1 for n in numer]
        constant = Fraction(int(row.constant) * 2**_SHIFT, denom)
        k = math.ceil(constant) + _WINDOW - 1
        # err = F - 2**24 t = e_k + sum(e_c x_c) with 0 < e_c <= 1 and _WINDOW - 1 <= e_k < _WINDOW.  On a
        # boundary err is an integer: _WINDOW - 1 for black (when black is on it), at least _WINDOW otherwise.
        errors = [a - n for a, n in zip(scaled, numer)]
        high = sum(errors) * 255 + (k - constant)
        t_low = (sum(min(n, 0) for n in row.numer) * 255 + int(row.constant)) / Fraction(denom)
        t_high = (sum(max(n, 0) for n in row.numer) * 255 + int(row.constant)) / Fraction(denom)
        gap = Fraction(2**_SHIFT, denom)  # the least distance of a non-integer t from an integer, scaled
        self.valid = (
            high < gap
            and t_low >= 0 and (t_high + high / 2**_SHIFT) < 256  # 0 <= F < 2**32, no clip needed
        )
        by_byte = [0, 0, 0]
        for c in range(3):
            by_byte[perm[c]] = scaled[c]
        n0, n1, n2 = by_byte
        self.weights = tuple(_U32(v % 2**32) for v in (n0, n1 - 256 * n0, n2 - 256 * n1))
        self.k = _U32(k % 2**32)
        self.codes = self.values = self.delta = None
        self.key_byte = -1
        self.fixes = False  # whether any pixel needs its float64 result
        self.detectable = high < 2 * _WINDOW <= gap  # the boundary test below is exact
        if row.exact is not None and self.valid:
            self._tabulate(row, perm)

    def _tabulate(self, row: _IntRow, perm: Perm) -> None:
        """The boundary colours whose float64 result is not ``floor(t)``: their pixel words and results.

        When one channel's coefficient has a period of at least 256 modulo
        ``D``, the other two bytes of a boundary pixel determine it: then the
        correction (float64 result - ``floor(t)``, modulo 2**32) is looked up
        by those two bytes, else by binary search of the sorted words.
        """
        fixes = row._fixes(perm)
        if fixes is None:
            self.valid = False
            return
        codes = fixes[0]
        if codes.size and not self.detectable:
            self.valid = False
            return
        sources = [(codes.astype(np.int64) >> (8 * perm[c])) & 0xFF for c in range(3)]
        values = np.clip(row.exact(sources), 0, 255).astype(np.int64)  # the float64 result, clipped as encode does
        self.codes, self.values = codes, values.astype(np.uint8)
        self.fixes = codes.size > 0
        if not fixes[2]:  # black needs a fix, yet the boundary test leaves it out
            self.valid = False
        denom = int(row.denom)
        periods = [denom // math.gcd(n, denom) for n in row.numer]
        determined = [perm[c] for c in range(3) if periods[c] >= 256]
        if determined:
            self.key_byte = determined[0]
            exact = sum(n * s for n, s in zip(row.numer, sources)) + int(row.constant)
            delta = np.zeros(65536, np.int64)
            delta[self._key(codes)] = values - exact // denom
            self.delta = (delta % 2**32).astype(_U32)

    def _key(self, words: np.ndarray) -> np.ndarray:
        """The two bytes of each word other than ``key_byte``, as one 16-bit number."""
        if self.key_byte == 2:
            return words & 0xFFFF
        if self.key_byte == 0:
            return words >> 8
        return (words & 0xFF) | ((words >> 8) & 0xFF00)

    def fix(self, words: np.ndarray, idx: np.ndarray, dest: np.ndarray) -> None:
        """Set ``dest[idx]`` (flat, holding ``floor(t)``) to the float64 result of boundary pixels ``words[idx]``."""
        found = words[idx]
        if self.delta is not None:
            dest[idx] += self.delta[self._key(found)]
            return
        codes = self.codes
        pos = np.searchsorted(codes, found)
        pos[pos == codes.size] = 0
        hit = codes[pos] == found
        dest[idx[hit]] = self.values[pos[hit]]


class _Plan:
    """Everything of a (convention, channel order) the round trip needs, built once."""

    def __init__(self, conv: Convention, perm: Perm) -> None:
        rows = _int_rows(conv)
        self.rows = [] if rows is None else [_ScaledRow(row, perm) for row in rows]
        self.valid = len(self.rows) == 3 and all(row.valid for row in self.rows)
        if self.valid:
            y, u, v = self.rows
            self.luma_weights = y.weights
            self.luma_k = y.k
            # U and V together over (2, n): one call computes both.
            self.chroma_weights = [np.array([[u.weights[j]], [v.weights[j]]], _U32) for j in range(3)]
            self.chroma_k = np.array([[u.k], [v.k]], _U32)
            self.clamps = _clamp_words(conv, perm)
            self.valid = self.clamps is not None


@functools.lru_cache(maxsize=64)
def _built_plan(conv: Convention, perm: Perm) -> _Plan:
    return _Plan(conv, perm)


# (id(conv), perm) -> (conv, its plan or None when the round trip cannot compute it): found by the
# convention's identity, since hashing a Convention costs microseconds.  Holding conv keeps its id unique.
_PLANS: dict[tuple[int, Perm], tuple[Convention, _Plan | None]] = {}


def _remember(conv: Convention, perm: Perm, plan: _Plan | None) -> None:
    if len(_PLANS) > 256:
        _PLANS.clear()
    _PLANS[(id(conv), perm)] = (conv, plan)


def _plan(conv: Convention, perm: Perm) -> _Plan:
    """The plan of (conv, perm); ``round_trippable(conv, perm)`` must hold."""
    found = _PLANS.get((id(conv), perm))
    if found is not None and found[0] is conv and found[1] is not None:
        return found[1]
    if not round_trippable(conv, perm):
        raise ValueError(f"the fused round trip cannot compute {conv.name}")  # internal: callers check first
    return _PLANS[(id(conv), perm)][1]


@functools.lru_cache(maxsize=64)
def _clamp_words(conv: Convention, perm: Perm) -> np.ndarray | None:
    """(3, 65536, 2) uint32 by chroma pair: the words L, H and S of a pixel, each twice (a block's two columns).

    Full range decodes each channel as ``clip(Y + s)``, ``s`` the rounded
    chroma term (Y's coefficient is 1).  With Y in bytes 0-2 of a word,
    ``min(max(Y, L), H) + S`` bytewise (modulo 256) is that clip: byte
    ``perm[c]`` of L, H, S holds channel c's ``max(0, -s)``, ``min(255,
    255 - s)``, ``s % 256`` (checked for every Y and every ``s`` that occurs).
    None if Y's coefficient is not 1.
    """
    forms = _exact_decode_forms(conv)
    if any(a != d for a, _, _, d in forms):
        return None
    words = np.zeros((3, 65536), np.int64)
    luma = np.arange(256)
    for c, (_, b, cc, d) in enumerate(forms):
        step = (2 * (b * _U_OF_INDEX + cc * _V_OF_INDEX) + d) // (2 * d)  # floor(x + 1/2), exactly
        low, high, add = np.clip(-step, 0, 255), np.clip(255 - step, 0, 255), step % 256
        always_white, always_black = step >= 255, step <= -255
        low[always_white], high[always_white], add[always_white] = 0, 0, 255
        low[always_black], high[always_black], add[always_black] = 255, 255, 1
        values, first = np.unique(step, return_index=True)
        got = (np.minimum(np.maximum(luma[:, None], low[first]), high[first]) + add[first]) % 256
        if not np.array_equal(got, np.clip(luma[:, None] + values, 0, 255)):  # pragma: no cover - by construction
            return None
        for k, part in enumerate((low, high, add)):
            words[k] |= part << (8 * perm[c])
    return np.repeat(words.astype(np.uint32)[..., None], 2, axis=-1)


def round_trippable(conv: Convention, perm: Perm) -> bool:
    """Whether :func:`round_trip` computes ``conv`` (top-left chroma, full range, nearest chroma, its own decode)."""
    found = _PLANS.get((id(conv), perm))
    if found is not None and found[0] is conv:
        return found[1] is not None
    able = (conv.chroma_down == "topleft" and conv.arithmetic == "float" and conv.range == "full"
            and conv.chroma_up == "nearest" and conv.decoder is None and _LITTLE_ENDIAN
            and _overlapping_store_works() and _built_plan(conv, perm).valid)
    _remember(conv, perm, _built_plan(conv, perm) if able else None)
    return able


class _Buffers:
    """The scratch arrays of one frame size and their views, made once per thread (one lookup a call)."""

    def __init__(self, h: int, w: int) -> None:
        hh, hw = h // 2, w // 2
        n, m = h * w, hh * hw
        self.shape = (h, w)
        self.words, self.acc, self.tmp = (np.empty(n, _U32) for _ in range(3))
        self.near = np.empty(n, np.bool_)
        self.corners = np.empty((1, m), _U32)
        self.corner_plane = self.corners.reshape(hh, hw)
        self.corner_source = self.words.reshape(h, w)[0::2, 0::2]
        self.c8, self.c16 = np.empty((1, m), _U32), np.empty((1, m), _U32)
        self.cacc, self.ctmp = np.empty((2, m), _U32), np.empty((2, m), _U32)
        self.cnear = np.empty((2, m), np.bool_)
        self.block = np.empty(m, np.intp)
        self.luma_bytes = self.acc.view(np.uint8).reshape(hh, 2, 4 * w)
        self.clamps = np.empty((3, m, 2), _U32)
        self.low, self.high, self.add = (t.view(np.uint8).reshape(hh, 1, 4 * w) for t in self.clamps)


def _buffers(h: int, w: int) -> _Buffers:
    bufs = getattr(_local, "buffers", None)
    if bufs is None or bufs.shape != (h, w):
        bufs = _local.buffers = _Buffers(h, w)  # one size kept: a data loader's crops share theirs
    return bufs


def _boundary(acc: np.ndarray, tmp: np.ndarray, near: np.ndarray) -> np.ndarray | None:
    """Flat indices of the boundary pixels of ``acc`` other than black; None if none."""
    np.bitwise_and(acc, _FRACTION_HIGH, out=tmp)
    np.equal(tmp, _ON_BOUNDARY, out=near)
    idx = np.flatnonzero(near)
    return idx if idx.size else None


def _scaled(words: np.ndarray, s8: np.ndarray, s16: np.ndarray, weights: Sequence[np.ndarray | np.uint32],
            k: np.ndarray | np.uint32 | None, acc: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    """``acc = w0*x + w1*(x >> 8) + w2*(x >> 16) + k`` modulo 2**32 (broadcasting: U and V at once)."""
    np.multiply(words, weights[0], out=acc)
    np.multiply(s8, weights[1], out=tmp)
    acc += tmp
    np.multiply(s16, weights[2], out=tmp)
    acc += tmp
    if k is not None:
        acc += k
    return acc


def round_trip(rgb: np.ndarray, conv: Convention, perm: Perm) -> np.ndarray:
    """``decode(*encode(rgb))`` of a validated (H, W, 3) uint8 image with even sides; needs ``round_trippable``."""
    return run(rgb, _plan(conv, perm))


def plan_for(conv: Convention, perm: Perm, shape: tuple[int, ...]) -> _Plan | None:
    """The plan :func:`run` needs for a frame of ``shape``, or None if the fused round trip does not apply."""
    found = _PLANS.get((id(conv), perm))
    if found is None or found[0] is not conv:
        round_trippable(conv, perm)
        found = _PLANS[(id(conv), perm)]
    return found[1] if eligible(shape) else None


def run(rgb: np.ndarray, plan: _Plan) -> np.ndarray:
    """The round trip of a validated (H, W, 3) uint8 image with even sides, by a plan of :func:`plan_for`."""
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    n = h * w
    b = _buffers(h, w)
    # Pixel words (see small._pixel_words): a uint32 read from each pixel's previous byte, shifted.
    flat = rgb.reshape(-1)
    words = b.words
    np.right_shift(np.ndarray((n - 1,), _U32, buffer=flat, offset=2, strides=(3,)), _U32(8), out=words[1:])
    words[0] = int.from_bytes(flat[:3].tobytes(), "little")

    # Luma: Y = F >> 24, then the tabulated float64 results on boundary pixels.
    y_row = plan.rows[0]
    weights, acc, tmp = plan.luma_weights, b.acc, b.tmp
    np.multiply(words, weights[0], out=acc)
    np.right_shift(words, _U32(8), out=tmp)
    tmp *= weights[1]
    acc += tmp
    np.right_shift(words, _U32(16), out=tmp)
    tmp *= weights[2]
    acc += tmp
    acc += plan.luma_k
    idx = _boundary(acc, b.tmp, b.near) if y_row.fixes else None
    luma = np.right_shift(acc, _U32(_SHIFT), out=acc)
    if idx is not None:
        y_row.fix(words, idx, luma)

    # Chroma of each block's top-left pixel, U and V at once over (2, m).
    corners = b.corners
    np.copyto(b.corner_plane, b.corner_source)
    np.right_shift(corners, _U32(8), out=b.c8)
    np.right_shift(corners, _U32(16), out=b.c16)
    cacc = _scaled(corners, b.c8, b.c16, plan.chroma_weights, plan.chroma_k, b.cacc, b.ctmp)
    cidx = [None, None]
    for j in (0, 1):
        row = plan.rows[1 + j]
        if row.fixes:
            cidx[j] = _boundary(cacc[j], b.ctmp[j], b.cnear[j])
    np.right_shift(cacc, _U32(_SHIFT), out=cacc)
    for j in (0, 1):
        if cidx[j] is not None:
            plan.rows[1 + j].fix(corners[0], cidx[j], cacc[j])
    # The chroma pair as NV12 stores it (U in the low byte): an index into the clamp tables.
    cacc[1] <<= _U32(8)
    np.bitwise_or(cacc[0], cacc[1], out=b.block)

    # Decode: Y into bytes 0-2 of its word, then each block's clip(Y + s) as min(max(Y, L), H) + S bytewise.
    np.multiply(luma, _U32(0x010101), out=luma)
    np.take(plan.clamps, b.block, axis=1, out=b.clamps, mode="clip")  # indices are < 65536
    pairs = b.luma_bytes
    np.maximum(pairs, b.low, out=pairs)
    np.minimum(pairs, b.high, out=pairs)
    pairs += b.add
    # Word k also writes byte 3k + 3, which word k + 1 then overwrites (small._overlapping_store_works):
    # one spare byte at the end takes the last word's.
    spare = np.empty(3 * n + 1, np.uint8)
    np.copyto(np.ndarray((n,), _U32, buffer=spare, strides=(3,)), luma)
    return spare[:-1].reshape(h, w, 3)


def eligible(rgb_shape: tuple[int, ...]) -> bool:
    """Whether a frame of this shape takes the fused path (one small-kernel band, even sides)."""
    h, w = rgb_shape[:2]
    return h * w <= SMALL_PIXELS and h % 2 == 0 and w % 2 == 0 and h >= 2 and w >= 2
