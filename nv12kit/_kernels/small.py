"""Kernels for frames of one band (up to 2**18 pixels, 512 x 512): the same bytes in the fewest passes.

At 224 x 224 (a data loader's crop) NumPy's per-call cost and every extra
pass over the frame count, so these kernels trade generality for passes;
:mod:`.bands` stays the reference path for every size (``tests/
test_kernels_fast.py`` compares the two, ``tests/test_kernels_exact.py``
runs both over every colour and every (Y, U, V)).

Encoding
    Each row is ``floor((N . x + K) / D)`` with the convention's exact
    rational row over a common denominator (the rounding's 1/2 folded into
    ``K``; fixed point: its own integers and a shift).  NumPy floor-divides
    an int32 array by a scalar exactly, so no pixel needs a second look.
    Luma reads each pixel once, as a 24-bit word ``x = b0 + 256 b1 + 65536 b2``
    (one strided read), and ``N . x`` is ``n0 x + (n1 - 256 n0)(x >> 8) +
    (n2 - 256 n1)(x >> 16)`` in uint32 arithmetic modulo 2**32.  Rows
    evaluated in float64 (horizon) differ from the exact floor only on pixels
    whose exact value is an integer (``D`` divides ``N . x + K``); for luma
    that boundary is enumerated once per convention and the pixels float64
    moves are kept in a table (horizon: 3,464 colours), applied to the
    boundary pixels of each frame.  Their chroma is the float64 formula
    itself, step for step.  2x2 block sums add the row pair as uint16 over
    all channels, then each pixel's three sums as one uint64 (16-bit lanes,
    no carry crosses).  U and V run together over flattened (2, n) arrays.
Decoding (nearest chroma)
    Full range is ``R = clip(Y + round(chroma term))``: R, G, B of a pixel
    sit in three 16-bit lanes of one uint64, so the frame is one packed add,
    one clip-and-cast and one store of 4-byte words 3 bytes apart (each
    word's spare byte is overwritten by the next pixel; checked once at run
    time, the band kernel otherwise).  Limited range is the band kernel's
    exact float32 ``floor(a*Y + S[uv])`` with fewer calls.
"""


from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Sequence
from fractions import Fraction

import numpy as np

from ..conventions import Convention
from .bands import (
    _BIAS,
    _LITTLE_ENDIAN,
    _U_OF_INDEX,
    _V_OF_INDEX,
    Perm,
    _exact_decode_forms,
    _fixed_point_rows,
    _float64_formula,
    _integer_form,
    _luma_split_tables,
    _scratch,
    _uv_index,
)

__all__ = ["SMALL_PIXELS", "encodable", "encode", "decodable", "decode"]

#: Frames with at most this many pixels take these kernels (the band kernels' band size).
SMALL_PIXELS = 1 << 18

_I32 = np.int32
_local = threading.local()


def _buf(name: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """A per-thread scratch buffer, found with one dict lookup while its shape and dtype stay the same.

    At 224 x 224 the bookkeeping of the general buffer pool (``_scratch``) is
    a measurable share of the run time.  One view per name is kept, so a
    replaced buffer is never held on to.
    """
    try:
        view = _local.views[name]
    except (AttributeError, KeyError):
        view = None
    if view is None or view.shape != shape or view.dtype.type is not dtype:
        view = _local.__dict__.setdefault("views", {})[name] = _scratch(name, shape, dtype)
    return view


# ----------------------------------------------------------------------------
# encoding
# ----------------------------------------------------------------------------
def _pixel_words(rgb: np.ndarray) -> np.ndarray:
    """(h, w) uint32 scratch: ``b0 + 256*b1 + 65536*b2`` of each pixel's bytes, in one strided read.

    A uint32 read starting at the last byte of the previous pixel holds that
    byte in its low 8 bits and the pixel's three bytes above it, so a right
    shift by 8 leaves exactly the pixel.  ``rgb`` must be C-contiguous.
    """
    h, w = rgb.shape[:2]
    flat = rgb.reshape(-1)
    words = _buf("s_words", (h * w,), np.uint32)
    shifted = np.ndarray((h * w - 1,), np.uint32, buffer=flat, offset=2, strides=(3,))
    np.right_shift(shifted, np.uint32(8), out=words[1:])
    words[0] = int(flat[0]) | int(flat[1]) << 8 | int(flat[2]) << 16
    return words.reshape(h, w)


class _IntRow:
    """One of Y, U, V as ``floor((N . x + K) / D)`` in int32, clipped to 0..255.

    A power-of-two ``D`` is an arithmetic shift (the fixed-point
    arithmetics).  With ``exact`` (rows evaluated in float64) the pixels
    whose exact value lies on a rounding boundary are recomputed by it.
    """

    def __init__(
        self,
        numer: Sequence[int],
        constant: int,
        denom: int,
        *,
        top: int,
        exact: Callable[[list[np.ndarray]], np.ndarray] | None = None,
    ) -> None:
        self.numer = tuple(numer)
        self.constant = _I32(constant)
        self.denom = _I32(denom)
        self.shift = denom.bit_length() - 1 if denom & (denom - 1) == 0 else None
        self.exact = exact
        self.top = top
        # ``top`` is the largest source value: 255 for pixels, 1020 for 2x2 sums.
        low = sum(min(n, 0) for n in numer) * top + constant
        high = sum(max(n, 0) for n in numer) * top + constant
        self.clip = low < 0 or high // denom > 255
        self._word_weights: dict[Perm, tuple[np.uint32, np.uint32, np.uint32]] = {}
        self._fix_tables: dict[Perm, tuple[np.ndarray, np.ndarray, bool, np.ndarray | None] | None] = {}

    @staticmethod
    def usable(numer: Sequence[int], constant: int, top: int) -> bool:
        """Whether every partial sum fits int32."""
        return sum(abs(n) for n in numer) * top + abs(constant) < 2**31

    def on_words(self, words: np.ndarray, dest: np.ndarray, rgb: np.ndarray, perm: Perm) -> None:
        """From :func:`_pixel_words` of ``rgb``, whose channel ``perm[c]`` is the convention's channel c.

        With ``x = b0 + 256*b1 + 65536*b2``, ``n0*b0 + n1*b1 + n2*b2`` equals
        ``n0*x + (n1 - 256*n0)*(x >> 8) + (n2 - 256*n1)*(x >> 16)``: exact in
        uint32 arithmetic modulo 2**32, and the true value fits int32.
        """
        weights = self._word_weights.get(perm)
        if weights is None:
            by_byte = [0, 0, 0]
            for c in range(3):
                by_byte[perm[c]] = self.numer[c]
            n0, n1, n2 = by_byte
            weights = tuple(np.uint32(v % 2**32) for v in (n0, n1 - 256 * n0, n2 - 256 * n1))
            self._word_weights[perm] = weights
        shape = words.shape
        acc = _buf("s_wacc", shape, np.uint32)
        tmp = _buf("s_wtmp", shape, np.uint32)
        np.multiply(words, weights[0], out=acc)
        np.right_shift(words, np.uint32(8), out=tmp)
        tmp *= weights[1]
        acc += tmp
        np.right_shift(words, np.uint32(16), out=tmp)
        tmp *= weights[2]
        acc += tmp
        signed = acc.view(_I32)
        if self.constant:
            signed += self.constant
        fixes = self._fixes(perm) if self.exact is not None else None
        near, count = self._finish(signed, dest, detect=self.exact is not None and (fixes is None or fixes[0].size > 0))
        if not count:
            return
        if fixes is not None and fixes[2] and count > near.size // 64:
            # Black is on every luma boundary yet never needs a fix (0 is exact in float64): common
            # in photos, it is dropped before the indices are gathered.
            np.logical_and(near, words, out=near)
        idx = np.flatnonzero(near)
        if fixes is None:
            pixels = rgb.reshape(-1, 3)[idx]
            dest.reshape(-1)[idx] = self.exact([pixels[:, perm[c]] for c in range(3)])
            return
        # Boundary pixels whose float64 result is not the exact floor: look their words up.
        codes, values, _, by_pair = fixes
        found = words.reshape(-1)[idx]
        if by_pair is not None:  # bytes 0 and 1 of a boundary pixel determine byte 2
            fixed = by_pair[found & np.uint32(0xFFFF)]
            hit = fixed >= 0
            dest.reshape(-1)[idx[hit]] = fixed[hit]
            return
        pos = np.searchsorted(codes, found)
        pos[pos == codes.size] = 0
        hit = codes[pos] == found
        dest.reshape(-1)[idx[hit]] = values[pos[hit]]

    def enumerable(self) -> bool:
        """Whether the boundary of this (float64-evaluated, per-pixel) row is small enough to tabulate."""
        if self.exact is None or self.top != 255:
            return False
        denom = int(self.denom)
        period = max(denom // math.gcd(n, denom) for n in self.numer)
        return 65536 * -(-256 // period) <= 1 << 18

    def _fixes(self, perm: Perm) -> tuple[np.ndarray, np.ndarray, bool, np.ndarray | None] | None:
        """Every pixel whose float64 result differs from the exact one: (sorted pixel words, float64 results,
        whether black is exact, the results by the pixel's first two bytes when those determine the third).

        Only pixels on a rounding boundary (``D`` divides ``N . x + K``) can
        differ.  For each (c0, c1) at most a few c2 solve that congruence, so
        the boundary is enumerated directly and the float64 formula
        evaluated on it once.  None if it is too large to enumerate (then
        boundary pixels are recomputed one by one).
        """
        if perm in self._fix_tables:
            return self._fix_tables[perm]
        table = None
        if self.enumerable():
            n0, n1, n2 = self.numer
            denom, constant = int(self.denom), int(self.constant)
            # Enumerate the other two channels and solve the congruence for the one with the longest period.
            periods = [denom // math.gcd(n, denom) for n in self.numer]
            solve = max(range(3), key=periods.__getitem__)
            others = [c for c in range(3) if c != solve]
            period, step = periods[solve], denom // periods[solve]
            first = np.repeat(np.arange(256, dtype=np.int64), 256)
            second = np.tile(np.arange(256, dtype=np.int64), 256)
            rhs = -(self.numer[others[0]] * first + self.numer[others[1]] * second + constant) % denom
            solvable = rhs % step == 0
            inverse = pow(self.numer[solve] // step, -1, period) if period > 1 else 0
            base = (rhs[solvable] // step) * inverse % period
            repeats = -(-256 // period)
            solved = np.concatenate([base + t * period for t in range(repeats)])
            inside = solved < 256
            sources = [np.empty(0, np.int64)] * 3
            sources[others[0]] = np.tile(first[solvable], repeats)[inside]
            sources[others[1]] = np.tile(second[solvable], repeats)[inside]
            sources[solve] = solved[inside]
            exact = np.clip((n0 * sources[0] + n1 * sources[1] + n2 * sources[2] + constant) // denom, 0, 255)
            float64 = self.exact(sources)
            differ = float64 != exact
            codes = sum(sources[c][differ] << (8 * perm[c]) for c in range(3)).astype(np.uint32)
            order = np.argsort(codes)
            codes, values = codes[order], float64[differ][order].astype(np.uint8)
            black_exact = not np.any(codes == 0)
            by_pair = None
            if denom // math.gcd(self.numer[perm.index(2)], denom) >= 256:
                by_pair = np.full(65536, -1, np.int16)
                by_pair[codes & 0xFFFF] = values
            table = (codes, values, black_exact, by_pair)
        self._fix_tables[perm] = table
        return table

    def _finish(self, acc: np.ndarray, dest: np.ndarray, *, detect: bool) -> tuple[np.ndarray | None, int]:
        """``dest = clip(acc // D)``; with ``detect``, the mask of boundary pixels and their count."""
        if self.shift is not None:
            quotient = np.right_shift(acc, self.shift, out=acc)
            near = None
        else:
            quotient = np.floor_divide(acc, self.denom, out=_buf("s_quot", acc.shape, _I32))
            near = None
            if detect:
                # On a boundary exactly when D divides the numerator: quotient * D == numerator.
                back = np.multiply(quotient, self.denom, out=_buf("s_back", acc.shape, _I32))
                near = np.equal(back, acc, out=_buf("s_near", acc.shape, np.bool_))
        if self.clip:
            quotient.clip(_I32(0), _I32(255), out=quotient)
        np.copyto(dest, quotient, casting="unsafe")
        return near, 0 if near is None else int(np.count_nonzero(near))


class _Float64Row:
    """``c0*x0 + c1*x1 + c2*x2 + offset`` in float64, left to right, rounded: ``_float64_formula`` on float64 planes."""

    def __init__(self, coeffs: np.ndarray, offset: float, rounding: str, top: int) -> None:
        self.coeffs = [np.float64(c) for c in coeffs]
        self.offset = np.float64(offset)
        self.rounding = rounding
        # Clipping is a no-op when every rounded value lies in [0, 256) with room to spare for float64's error.
        exact = [Fraction(float(c)) for c in coeffs]
        half = Fraction(1, 2) if rounding == "nearest" else Fraction(0)
        low = sum(min(c, 0) for c in exact) * top + Fraction(float(offset)) + half
        high = sum(max(c, 0) for c in exact) * top + Fraction(float(offset)) + half
        self.clip = not (low >= Fraction(1, 1000) and high <= 256 - Fraction(1, 1000))


@functools.lru_cache(maxsize=64)
def _int_rows(conv: Convention, divisor: int = 1) -> tuple[_IntRow, ...] | None:
    """Y, U, V of a convention on sources summed over ``divisor`` pixels; None if int32 could overflow."""
    if conv.arithmetic != "float":
        return tuple(_IntRow(numer, constant, 1 << shift, top=255) for numer, constant, shift in _fixed_forms(conv))
    matrix, offset = conv.exact_encode_matrix()
    boundary = Fraction(1, 2) if conv.rounding == "nearest" else Fraction(0)
    float_matrix, float_offset = conv.encode_matrix()
    rows = []
    for k in range(3):
        numer, constant, denom = _integer_form([c / divisor for c in matrix[k]], offset[k] + boundary)
        if not _IntRow.usable(numer, constant, 255 * divisor):
            return None
        exact = None
        if conv.evaluation == "float64":
            formula = {"coeffs": float_matrix[k] / divisor, "offset": float(float_offset[k]), "rounding": conv.rounding}
            exact = functools.partial(_float64_formula, **formula)
        rows.append(_IntRow(numer, constant, denom, top=255 * divisor, exact=exact))
    return tuple(rows)


def _fixed_forms(conv: Convention) -> list[tuple[tuple[int, ...], int, int]]:
    """``(N, K, s)`` per row of the fixed-point arithmetics, as the band kernels hold them."""
    return [(row.numer, row.constant, row.shift) for row in _fixed_point_rows(conv)]


@functools.lru_cache(maxsize=64)
def _float64_rows(conv: Convention, divisor: int = 1) -> tuple[_Float64Row, ...]:
    """The convention's formulas evaluated in float64, as the band kernels' recheck computes them."""
    float_matrix, float_offset = conv.encode_matrix()
    return tuple(
        _Float64Row(float_matrix[k] / divisor, float(float_offset[k]), conv.rounding, 255 * divisor) for k in range(3)
    )


class _Chroma:
    """U and V together, over flattened planes: each NumPy call computes both rows (two long inner loops).

    Integer rows: ``floor((N . x + K) / D)`` per row, as :class:`_IntRow`.
    Float64 rows: :class:`_Float64Row`'s steps, the same IEEE operations
    element by element.  (Float64-evaluated conventions take the latter: at
    a quarter of the pixels, correcting the boundary pixels of integer rows
    costs more than the float64 formula.)
    """

    def __init__(self, u: _IntRow | _Float64Row, v: _IntRow | _Float64Row) -> None:
        self.float64 = isinstance(u, _Float64Row)
        if isinstance(u, _Float64Row) and isinstance(v, _Float64Row):
            self.dtype: type = np.float64
            self.columns = [np.array([[u.coeffs[c]], [v.coeffs[c]]]) for c in range(3)]
            self.constant = np.array([[u.offset], [v.offset]])
            self.rounding = u.rounding
            self.bounds = (np.float64(0), np.float64(255))
        elif isinstance(u, _IntRow) and isinstance(v, _IntRow) and u.exact is None and v.exact is None:
            self.dtype = _I32
            self.columns = [np.array([[u.numer[c]], [v.numer[c]]], _I32) for c in range(3)]
            self.constant = np.array([[u.constant], [v.constant]], _I32)
            self.shift = u.shift if u.shift is not None and u.shift == v.shift else None
            self.denoms = (u.denom, v.denom)
            self.bounds = (_I32(0), _I32(255))
        else:  # pragma: no cover - the rows above are the only kinds
            raise TypeError("U and V rows of different kinds")
        self.clip = u.clip or v.clip

    def __call__(self, planes: Sequence[np.ndarray], uv: np.ndarray) -> None:
        flat = [p.reshape(1, -1) for p in planes]
        shape = (2, flat[0].shape[1])
        acc = _buf("s_cacc", shape, self.dtype)
        tmp = _buf("s_ctmp", shape, self.dtype)
        np.multiply(flat[0], self.columns[0], out=acc)
        np.multiply(flat[1], self.columns[1], out=tmp)
        acc += tmp
        np.multiply(flat[2], self.columns[2], out=tmp)
        acc += tmp
        acc += self.constant
        if self.float64:
            if self.rounding == "nearest":
                acc += 0.5
                np.floor(acc, out=acc)
            elif self.rounding == "floor":
                np.floor(acc, out=acc)
            result = acc  # "truncate": the cast truncates toward zero (after the clip)
        elif self.shift is not None:
            result = np.right_shift(acc, self.shift, out=acc)
        else:
            result = tmp
            np.floor_divide(acc[0], self.denoms[0], out=result[0])
            np.floor_divide(acc[1], self.denoms[1], out=result[1])
        if self.clip:
            result.clip(*self.bounds, out=result)
        pairs = uv.reshape(-1, 2)
        np.copyto(pairs[:, 0], result[0], casting="unsafe")  # one row at a time: a (2, M) -> (M, 2)
        np.copyto(pairs[:, 1], result[1], casting="unsafe")  # copy would iterate over the 2 innermost


@functools.lru_cache(maxsize=64)
def _chroma_rows(conv: Convention, divisor: int) -> _Chroma:
    """U and V of ``conv`` for chroma sources summed over ``divisor`` pixels (1: top-left or fixed-point means)."""
    if conv.arithmetic == "float" and conv.evaluation == "float64":
        rows = _float64_rows(conv, divisor)
    else:
        rows = _int_rows(conv, divisor)
    return _Chroma(rows[1], rows[2])


def _chroma(conv: Convention, divisor: int, planes: Sequence[np.ndarray], uv: np.ndarray) -> None:
    """U and V of ``conv`` from chroma source planes into ``uv``."""
    _chroma_rows(conv, divisor)(planes, uv)


def _planes(name: str, block: np.ndarray, perm: Perm, dtype: type = _I32) -> list[np.ndarray]:
    """Channels ``perm`` of an (h, w, 3) uint8 block as contiguous scratch planes (one strided copy)."""
    planes = _buf(name, (3, *block.shape[:2]), dtype)
    np.copyto(planes, block.transpose(2, 0, 1), casting="unsafe")
    return [planes[perm[c]] for c in range(3)]


def _block_sums(rgb: np.ndarray, perm: Perm, dtype: type = _I32) -> tuple[np.ndarray, list[np.ndarray]]:
    """2x2 block sums of each channel of a C-contiguous (h, w, 3) uint8 image, as (h/2, w/2) scratch planes.

    Returns the (3, h/2, w/2) array in memory order and its planes in ``perm``
    order.  The row pair is added as uint16 over all channels at once; then
    each pixel's three uint16 sums are read as one uint64 (its 4th lane spills
    into the next pixel and is ignored) and the two pixels of a block are
    added in one go: every lane stays below 2**16, so no carry crosses lanes.
    """
    h, w = rgb.shape[:2]
    hh, hw = h // 2, w // 2
    buffer = _buf("s_rows16", (hh * w * 3 + 4,), np.uint16)  # + 8 bytes: the last read spills over
    np.add(rgb[0::2], rgb[1::2], out=buffer[: hh * w * 3].reshape(hh, w, 3), dtype=np.uint16)
    left = np.ndarray((hh, hw), np.uint64, buffer=buffer, offset=0, strides=(12 * hw, 12))
    right = np.ndarray((hh, hw), np.uint64, buffer=buffer, offset=6, strides=(12 * hw, 12))
    packed = _buf("s_packed", (hh, hw), np.uint64)
    np.add(left, right, out=packed)
    sums = _buf("s_sums", (3, hh, hw), dtype)
    np.copyto(sums, packed.view(np.uint16).reshape(hh, hw, 4).transpose(2, 0, 1)[:3])
    return sums, [sums[perm[c]] for c in range(3)]


def encodable(conv: Convention) -> bool:
    """Whether :func:`encode` computes ``conv`` (all but Pillow's arithmetic and bicubic chroma)."""
    if conv.chroma_down not in ("topleft", "box") or conv.arithmetic == "pillow":
        return False
    box_ints = conv.chroma_down == "box" and conv.arithmetic == "float" and conv.evaluation != "float64"
    return _int_rows(conv) is not None and (not box_ints or _int_rows(conv, 4) is not None)


def encode(rgb: np.ndarray, conv: Convention, perm: Perm) -> tuple[np.ndarray, np.ndarray]:
    """Y (H, W) and UV (H/2, W/2, 2) of a validated (H, W, 3) uint8 image; needs ``encodable(conv)``."""
    rgb = np.ascontiguousarray(rgb)
    height, width = rgb.shape[:2]
    y = np.empty((height, width), np.uint8)
    uv = np.empty((height // 2, width // 2, 2), np.uint8)
    _int_rows(conv)[0].on_words(_pixel_words(rgb), y, rgb, perm)
    if conv.chroma_down == "topleft":
        chroma = _chroma_rows(conv, 1)
        _chroma(conv, 1, _planes("s_corners", rgb[0::2, 0::2], perm, chroma.dtype), uv)
    elif conv.arithmetic != "float":
        # libyuv (and fixed point generally) rounds the 2x2 mean first: (sum + 2) >> 2.
        sums, planes = _block_sums(rgb, perm)
        sums += _I32(2)
        sums >>= 2
        _chroma(conv, 1, planes, uv)
    else:
        # The exact mean is the sum / 4; the /4 is folded into the formula.
        _chroma(conv, 4, _block_sums(rgb, perm, _chroma_rows(conv, 4).dtype)[1], uv)
    return y, uv


# ----------------------------------------------------------------------------
# decoding
# ----------------------------------------------------------------------------
_LANES = np.uint64(0x0000_0001_0001_0001)  # Y into 16-bit lanes 0, 1 and 2 of a uint64
_LOW, _HIGH = np.uint16(_BIAS), np.uint16(_BIAS + 255)
_F32_ZERO, _F32_TOP = np.float32(0), np.float32(255.5)  # clip then truncating cast == floor, clipped to 0..255


@functools.lru_cache(maxsize=64)
def _packed_steps(conv: Convention, perm: Perm) -> np.ndarray:
    """(65536, 2) uint64 by chroma pair: lane ``perm[c]`` holds channel c's rounded chroma term + bias.

    Full range decodes exactly as ``R = clip(Y + round_half_up(chroma term))``
    (Y's coefficient is 1), so each lane needs one add.  Lane 3 holds the bias
    alone and becomes a zero byte.  Each row holds the word twice: the two
    pixels of a horizontal pair share their chroma.
    """
    word = np.full(65536, _BIAS << 48, np.uint64)
    for c, (_, b, cc, d) in enumerate(_exact_decode_forms(conv)):
        step = (2 * (b * _U_OF_INDEX + cc * _V_OF_INDEX) + d) // (2 * d) + _BIAS  # floor(x + 1/2), exactly
        word |= step.astype(np.uint64) << np.uint64(16 * perm[c])
    return np.stack([word, word], axis=-1)


@functools.cache
def _overlapping_store_works() -> bool:
    """Whether NumPy copies into a strided view of overlapping 4-byte words one after another, in order.

    The packed decode relies on it (each word's spare byte is overwritten by
    the next word); checked once on a frame-sized example.
    """
    count = 1 << 16
    words = np.arange(count, dtype=np.uint32) * np.uint32(0x01030507)
    words &= np.uint32(0x00FFFFFF)
    flat = np.zeros(3 * count, np.uint8)
    _store_words(flat, words)
    expected = words.view(np.uint8).reshape(count, 4)[:, :3] if _LITTLE_ENDIAN else None
    return expected is not None and np.array_equal(flat.reshape(count, 3), expected)


def _store_words(flat: np.ndarray, words: np.ndarray) -> None:
    """Bytes 0-2 of each uint32 word, one pixel after another, into ``flat`` (3 bytes per word)."""
    count = words.size
    view = np.ndarray((count - 1,), np.uint32, buffer=flat, offset=0, strides=(3,))
    np.copyto(view, words[:-1])  # word k also writes byte 3k+3, which word k+1 then overwrites
    flat[-3:] = words[-1:].view(np.uint8)[:3]


def _decode_packed(y: np.ndarray, uv: np.ndarray, conv: Convention, out: np.ndarray, perm: Perm) -> None:
    """Full range, nearest chroma: R, G, B of each pixel in 16-bit lanes of one uint64."""
    h, w = y.shape
    block = _buf("d_block", (h // 2, w // 2), np.intp)
    np.copyto(block, _uv_index(uv))  # intp indices make take fastest
    step = _buf("d_step", (h // 2, w // 2, 2), np.uint64)
    np.take(_packed_steps(conv, perm), block, axis=0, out=step, mode="clip")  # indices are < 65536
    lanes = _buf("d_lanes", (h, w), np.uint64)
    np.copyto(lanes, y)
    lanes *= _LANES
    pairs = lanes.reshape(h // 2, 2, w)
    pairs += step.reshape(h // 2, 1, w)
    halves = lanes.view(np.uint16)
    pixels = _buf("d_bytes", (h * w, 4), np.uint8)
    halves.reshape(h * w, 4).clip(_LOW, _HIGH, out=pixels, casting="unsafe")  # 512 + v -> v
    _store_words(out.reshape(-1), pixels.view(np.uint32)[:, 0])


def _decode_split_small(y: np.ndarray, uv: np.ndarray, tables: list[tuple[np.float32, np.ndarray]],
                        out: np.ndarray, perm: Perm) -> None:
    """The band kernel's exact ``floor(a*Y + S[uv])`` in float32 (see ``_luma_split_tables``), in fewer calls."""
    h, w = y.shape
    block = _buf("d_block", (h // 2, w // 2), np.intp)
    np.copyto(block, _uv_index(uv))
    luma = _buf("d_luma", (h, w), np.float32)
    value = _buf("d_value", (h // 2, 2, w), np.float32)
    step = _buf("d_step1", (h // 2, w // 2), np.uint64)
    channel = _buf("d_channel", (h, w), np.uint8)
    gain = None
    for c, (a, table) in enumerate(tables):
        if a != gain:  # in practice every channel has the same luma gain
            np.multiply(y, a, out=luma)
            gain = a
        np.take(table, block, out=step, mode="clip")  # indices are < 65536: clip never acts
        np.add(luma.reshape(h // 2, 2, w), step.view(np.float32)[:, None, :], out=value)
        # Clip, then the cast truncates: floor, as the band kernel does.  Casting into a contiguous
        # plane and then storing the bytes is faster than one strided float32 -> uint8 cast.
        flat = value.reshape(h, w)
        flat.clip(_F32_ZERO, _F32_TOP, out=flat)
        np.copyto(channel, flat, casting="unsafe")
        out[..., perm[c]] = channel


def decodable(conv: Convention) -> bool:
    """Whether :func:`decode` computes ``conv``: nearest chroma, the exact float decode, a fast form available."""
    if conv.chroma_up != "nearest" or conv.arithmetic in ("opencv", "pillow"):
        return False
    if conv.range == "full":
        return _overlapping_store_works()
    return _luma_split_tables(conv) is not None


def decode(y: np.ndarray, uv: np.ndarray, conv: Convention, perm: Perm) -> np.ndarray:
    """(H, W, 3) uint8 from validated planes; needs ``decodable(conv)``."""
    out = np.empty((*y.shape, 3), np.uint8)
    if conv.range == "full":
        _decode_packed(y, uv, conv, out, perm)
    else:
        _decode_split_small(y, uv, _luma_split_tables(conv), out, perm)
    return out
