"""Exhaustive exactness of the fast conversion kernels (issue 18: speed must not cost exactness).

The kernels reach their speed with lookup tables, float32 passes and block
sums on int32 planes.  These tests check them against slow, obviously correct
references written here from the textbook numbers alone (Kr, Kb, the range
scales and the fixed-point formulas in CONVENTIONS.md), in exact integer
arithmetic derived with :class:`fractions.Fraction`:

* decode: every (Y, U, V) combination, 2**24 of them, for every preset with
  nearest chroma that nv12kit computes itself (OpenCV's and Pillow's own
  arithmetic are checked against those libraries elsewhere);
* encode: every RGB colour through the per-pixel Y formula, and the 4M
  mixed 2x2 blocks of the all-colours image through the chroma path.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np
import pytest

import nv12kit
from nv12kit import CONVENTIONS, nv12_to_rgb, rgb_to_nv12

# Kr, Kb as the decimals the standards write (independent of nv12kit.conventions.MATRICES).
KR_KB = {
    "bt601": (Fraction("0.299"), Fraction("0.114")),
    "bt709": (Fraction("0.2126"), Fraction("0.0722")),
    "bt2020": (Fraction("0.2627"), Fraction("0.0593")),
}
# Horizon's published 3-decimal encode coefficients (rows Y, U, V; columns R, G, B).
HORIZON = ((0.299, 0.587, 0.114), (-0.169, -0.331, 0.5), (0.5, -0.419, -0.081))
# libyuv's 8-bit formulas: (coefficients R, G, B; added constant) for Y, U, V, then >> 8.
LIBYUV = {
    "limited": (((66, 129, 25), 0x1080), ((-38, -74, 112), 0x8000), ((112, -94, -18), 0x8000)),
    "full": (((77, 150, 29), 128), ((-43, -85, 128), 0x8000), ((128, -107, -21), 0x8000)),
}

# Presets whose arithmetic is nv12kit's own (not OpenCV's or Pillow's), from the package itself.
OWN = [n for n, c in CONVENTIONS.items() if c.arithmetic in ("float", "libyuv")]
OWN_NEAREST = [n for n in OWN if CONVENTIONS[n].chroma_up == "nearest"]


def round_half_up(numer: np.ndarray, denom: int) -> np.ndarray:
    """``floor(numer/denom + 1/2)`` exactly, clipped to 0..255, as uint8."""
    return np.clip((2 * numer + denom) // (2 * denom), 0, 255).astype(np.uint8)


def integer_row(coeffs: tuple[Fraction, ...], constant: Fraction = Fraction(0)) -> tuple[list[int], int, int]:
    """``sum(c*x) + constant`` as ``(sum(N*x) + K) / D`` with integers."""
    denom = math.lcm(*(c.denominator for c in (*coeffs, constant)))
    return [int(c * denom) for c in coeffs], int(constant * denom), denom


def textbook_rows(matrix: str, rng: str) -> tuple[tuple[Fraction, ...], ...]:
    """Encode rows Y, U, V (over R, G, B) from Kr and Kb, range-scaled, without offsets."""
    kr, kb = KR_KB[matrix]
    kg = 1 - kr - kb
    y = (kr, kg, kb)
    u = tuple(-w / (2 * (1 - kb)) for w in y[:2]) + ((1 - kb) / (2 * (1 - kb)),)
    v = ((1 - kr) / (2 * (1 - kr)),) + tuple(-w / (2 * (1 - kr)) for w in y[1:])
    if rng == "limited":
        return (
            tuple(c * Fraction(219, 255) for c in y),
            tuple(c * Fraction(224, 255) for c in u),
            tuple(c * Fraction(224, 255) for c in v),
        )
    return y, u, v


def test_textbook_rows_are_the_published_bt601_numbers():
    y, u, v = textbook_rows("bt601", "full")
    assert y == (Fraction("0.299"), Fraction("0.587"), Fraction("0.114"))
    assert round(float(u[0]), 6) == -0.168736 and u[2] == Fraction(1, 2)
    assert round(float(v[1]), 6) == -0.418688 and v[0] == Fraction(1, 2)
    ly, _, _ = textbook_rows("bt601", "limited")
    assert [round(float(c) * 255, 3) for c in ly] == [65.481, 128.553, 24.966]


# ----------------------------------------------------------------------------
# decode: all 2**24 (Y, U, V)
# ----------------------------------------------------------------------------
PAIRS = 1 << 16


@functools.lru_cache(maxsize=1)
def all_yuv_frame() -> nv12kit.NV12Frame:
    """A 128 x 131072 frame: chroma block (i, j) carries the pair j (U = j % 256, V = j // 256)
    and Y = 4i, 4i+1 (top row), 4i+2, 4i+3 (bottom row), so every Y meets every pair once."""
    i = np.arange(64, dtype=np.int64)[:, None, None, None]
    r = np.arange(2)[None, :, None, None]
    s = np.arange(2)[None, None, None, :]
    y = np.broadcast_to(4 * i + 2 * r + s, (64, 2, PAIRS, 2)).reshape(128, 2 * PAIRS).astype(np.uint8)
    j = np.arange(PAIRS)
    uv = np.stack([j % 256, j // 256], axis=-1).astype(np.uint8)
    return nv12kit.NV12Frame(y, np.ascontiguousarray(np.broadcast_to(uv, (64, PAIRS, 2))))


def by_y_and_pair(rgb: np.ndarray) -> np.ndarray:
    """Decoded (128, 131072, 3) -> (256 Y, 65536 pairs, 3), undoing the frame's layout."""
    return rgb.reshape(64, 2, PAIRS, 2, 3).transpose(0, 1, 3, 2, 4).reshape(256, PAIRS, 3)


@functools.lru_cache(maxsize=2)
def decode_reference(matrix: str, rng: str) -> np.ndarray:
    """(256 Y, 65536 pairs, 3) uint8: the exact inverse, rounded half up, clipped."""
    kr, kb = KR_KB[matrix]
    kg = 1 - kr - kb
    # R = Y' + 2(1-Kr) V', G = Y' - (2Kb(1-Kb) U' + 2Kr(1-Kr) V') / Kg, B = Y' + 2(1-Kb) U', where
    # limited range scales Y' = (Y - 16) * 255/219 and U', V' = (U, V - 128) * 255/224.
    ys, cs, y0 = (Fraction(255, 219), Fraction(255, 224), 16) if rng == "limited" else (Fraction(1), Fraction(1), 0)
    rows = (
        (ys, Fraction(0), 2 * (1 - kr) * cs),
        (ys, -2 * kb * (1 - kb) / kg * cs, -2 * kr * (1 - kr) / kg * cs),
        (ys, 2 * (1 - kb) * cs, Fraction(0)),
    )
    luma = np.arange(256, dtype=np.int64)[:, None] - y0
    pair = np.arange(PAIRS, dtype=np.int64)
    du, dv = pair % 256 - 128, pair // 256 - 128
    out = np.empty((256, PAIRS, 3), np.uint8)
    for c, row in enumerate(rows):
        (ny, nu, nv), _, denom = integer_row(row)
        assert 2 * (abs(ny) * 255 + (abs(nu) + abs(nv)) * 128) + denom < 2**62  # int64 is exact
        chroma = nu * du + nv * dv
        for lo in range(0, 256, 32):  # 32 Y values at a time: 16 MiB int64 temporaries
            out[lo : lo + 32, :, c] = round_half_up(ny * luma[lo : lo + 32] + chroma, denom)
    return out


@pytest.mark.parametrize("name", OWN_NEAREST)
def test_decode_is_exact_for_every_yuv_combination(name):
    conv = CONVENTIONS[name]
    want = decode_reference(conv.matrix, conv.range)
    frame = all_yuv_frame()
    if conv.decoder is not None:
        # nv12_to_rgb runs the node's own (inexact) decoder for these (tests/test_decoders.py checks it
        # against the node); the exact kernels must still be exact for the convention.
        got = by_y_and_pair(nv12kit._kernels.decode(frame.y, frame.uv, conv, (0, 1, 2)))
    else:
        got = by_y_and_pair(nv12_to_rgb(frame, convention=name))
    bad = np.argwhere(got != want)
    assert not bad.size, f"{name}: {len(bad)} of 3*2**24 values differ; first (Y, U+256V, channel) {bad[:3].tolist()}"


@pytest.mark.parametrize("name", ["bt709-limited", "bt2020-full"])
def test_bgr_decode_is_exact_too(name):
    conv = CONVENTIONS[name]
    got = by_y_and_pair(nv12_to_rgb(all_yuv_frame(), convention=name, order="bgr"))
    assert np.array_equal(got, decode_reference(conv.matrix, conv.range)[..., ::-1])


def test_user_convention_with_another_chroma_down_decodes_like_its_preset():
    # Decoding ignores chroma_down: a user convention must take the same fast path.
    mine = CONVENTIONS["bt601-limited"].replace(name="mine", chroma_down="topleft")
    got = by_y_and_pair(nv12_to_rgb(all_yuv_frame(), convention=mine))
    assert np.array_equal(got, decode_reference("bt601", "limited"))


# ----------------------------------------------------------------------------
# encode: all 2**24 colours through Y, the all-colours image's blocks through U and V
# ----------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def all_colours() -> np.ndarray:
    """4096x4096 RGB holding every colour once (R slowest, B fastest)."""
    index = np.arange(1 << 24, dtype=np.uint32).reshape(4096, 4096)
    return np.stack([index >> 16, (index >> 8) & 0xFF, index & 0xFF], axis=-1).astype(np.uint8)


def exact_rows(name: str, sources: list[np.ndarray], divisor: int) -> list[np.ndarray]:
    """Y, U, V of a textbook preset: sum(c * x) / divisor + offset, rounded half up."""
    conv = CONVENTIONS[name]
    offsets = (Fraction(16 if conv.range == "limited" else 0), Fraction(128), Fraction(128))
    out = []
    for row, offset in zip(textbook_rows(conv.matrix, conv.range), offsets):
        (nr, ng, nb), k, denom = integer_row(tuple(c / divisor for c in row), offset)
        out.append(round_half_up(nr * sources[0] + ng * sources[1] + nb * sources[2] + k, denom))
    return out


def horizon_rows(sources: list[np.ndarray]) -> list[np.ndarray]:
    """Horizon's reference code: the 3-decimal formula in float64, left to right, then astype(uint8)."""
    out = []
    for (a, b, c), offset in zip(HORIZON, (0.0, 128.0, 128.0)):
        value = a * sources[0].astype(np.float64) + b * sources[1] + c * sources[2] + offset
        out.append(np.clip(value, 0, 255).astype(np.uint8))
    return out


def libyuv_rows(rng: str, sources: list[np.ndarray]) -> list[np.ndarray]:
    return [(n[0] * sources[0] + n[1] * sources[1] + n[2] * sources[2] + k) >> 8 for n, k in LIBYUV[rng]]


def chroma_sources(rgb: np.ndarray, down: str) -> list[np.ndarray]:
    """Per channel int64 (h/2, w/2): the 2x2 block sums ("box") or top-left pixels."""
    if down == "topleft":
        return [rgb[0::2, 0::2, c].astype(np.int64) for c in range(3)]
    return [
        rgb[0::2, 0::2, c].astype(np.int64) + rgb[0::2, 1::2, c] + rgb[1::2, 0::2, c] + rgb[1::2, 1::2, c]
        for c in range(3)
    ]


def encode_reference(name: str, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    conv = CONVENTIONS[name]
    pixels = [rgb[..., c].astype(np.int64) for c in range(3)]
    blocks = chroma_sources(rgb, conv.chroma_down)
    if conv.arithmetic == "libyuv":
        means = [(s + 2) >> 2 for s in blocks]  # libyuv averages the RGB block first
        y = libyuv_rows(conv.range, pixels)[0]
        u, v = libyuv_rows(conv.range, means)[1:]
    elif name == "horizon":
        y = horizon_rows(pixels)[0]
        u, v = horizon_rows(blocks)[1:]
    else:
        divisor = 4 if conv.chroma_down == "box" else 1
        y = exact_rows(name, pixels, 1)[0]
        u, v = exact_rows(name, blocks, divisor)[1:]
    return y.astype(np.uint8), u.astype(np.uint8), v.astype(np.uint8)


def test_every_own_preset_has_an_encode_reference_here():
    for name in OWN:
        conv = CONVENTIONS[name]
        known = conv.arithmetic == "libyuv" or name == "horizon" or conv.encode_coefficients is None
        assert known and conv.chroma_down in ("box", "topleft"), f"{name}: no reference in this file"


@pytest.mark.parametrize("name", OWN)
def test_encode_is_exact_for_every_colour(name):
    rgb = all_colours()
    frame = rgb_to_nv12(rgb, convention=name)
    for what, got, want in zip("YUV", (frame.y, frame.u, frame.v), encode_reference(name, rgb)):
        bad = np.argwhere(got != want)
        assert not bad.size, f"{name} {what}: {len(bad)} samples differ, first {bad[:3].tolist()}"


@pytest.mark.parametrize("name", ["bt709-limited", "libyuv"])
def test_box_chroma_is_exact_on_random_blocks_and_bgr(name):
    # The all-colours image's blocks are smooth; random ones stress the block sums.
    rgb = np.random.default_rng(18).integers(0, 256, (1080, 1920, 3), dtype=np.uint8)
    y, u, v = encode_reference(name, rgb)
    frame = rgb_to_nv12(np.ascontiguousarray(rgb[..., ::-1]), convention=name, order="bgr")
    assert np.array_equal(frame.y, y) and np.array_equal(frame.u, u) and np.array_equal(frame.v, v)


# ----------------------------------------------------------------------------
# the small-frame kernels (issue 17): the same exhaustive checks, one tile of at most 2**18 pixels at a time
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", OWN_NEAREST)
def test_small_frame_decode_is_exact_for_every_yuv_combination(name):
    from nv12kit._kernels import small

    conv = CONVENTIONS[name]
    if not small.decodable(conv):
        pytest.skip(f"{name} decodes in the band kernels only")
    frame = all_yuv_frame()
    width = small.SMALL_PIXELS // frame.y.shape[0]
    got = np.concatenate(
        [
            small.decode(frame.y[:, left : left + width], frame.uv[:, left // 2 : (left + width) // 2], conv, (0, 1, 2))
            for left in range(0, frame.y.shape[1], width)
        ],
        axis=1,
    )
    bad = np.argwhere(by_y_and_pair(got) != decode_reference(conv.matrix, conv.range))
    assert not bad.size, f"{name}: {len(bad)} values differ; first (Y, U+256V, channel) {bad[:3].tolist()}"


@pytest.mark.parametrize("name", OWN)
def test_small_frame_encode_is_exact_for_every_colour(name):
    from nv12kit._kernels import small

    conv = CONVENTIONS[name]
    assert small.encodable(conv)
    rgb = all_colours()
    want = encode_reference(name, rgb)
    tile = 256  # 256 x 256 tiles: every 2x2 block inside one tile
    got = [np.empty_like(w) for w in want]
    for top in range(0, rgb.shape[0], tile):
        for left in range(0, rgb.shape[1], tile):
            y, uv = small.encode(rgb[top : top + tile, left : left + tile], conv, (0, 1, 2))
            got[0][top : top + tile, left : left + tile] = y
            half = slice(top // 2, (top + tile) // 2), slice(left // 2, (left + tile) // 2)
            got[1][half], got[2][half] = uv[..., 0], uv[..., 1]
    for what, g, w in zip("YUV", got, want):
        bad = np.argwhere(g != w)
        assert not bad.size, f"{name} {what}: {len(bad)} samples differ, first {bad[:3].tolist()}"


def test_small_frame_horizon_bgr_encode_is_exact_for_every_colour():
    # The float64 boundary tables are built per channel order.
    from nv12kit._kernels import small

    rgb = all_colours()
    want = encode_reference("horizon", rgb)
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    for top in range(0, rgb.shape[0], 256):
        for left in range(0, rgb.shape[1], 256):
            y, uv = small.encode(bgr[top : top + 256, left : left + 256], CONVENTIONS["horizon"], (2, 1, 0))
            half = slice(top // 2, top // 2 + 128), slice(left // 2, left // 2 + 128)
            assert np.array_equal(y, want[0][top : top + 256, left : left + 256]), (top, left)
            assert np.array_equal(uv[..., 0], want[1][half]) and np.array_equal(uv[..., 1], want[2][half]), (top, left)


# ----------------------------------------------------------------------------
# the fused round trip (issue 17): encode and decode in one go, every colour through Y, U and V
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("perm", [(0, 1, 2), (2, 1, 0)], ids=["rgb", "bgr"])
def test_fused_round_trip_is_exact_for_every_colour(perm):
    # Each colour fills a 2x2 block, so it is every block's top-left pixel (chroma) and each pixel (luma)
    # once; the expected result is the references' encode, then the exact decode of that (Y, U, V).
    from nv12kit._kernels import fused

    conv = CONVENTIONS["horizon"]
    assert fused.round_trippable(conv, perm)
    colours = all_colours().reshape(-1, 3)
    y, u, v = (row.astype(np.int64) for row in horizon_rows([colours[:, c] for c in range(3)]))
    expected = decode_reference(conv.matrix, conv.range)[y, u + 256 * v]  # (2**24, 3) by colour
    del y, u, v
    side = 256  # 256 x 256 colours a tile: 512 x 512 pixels, the largest small frame
    for start in range(0, 1 << 24, side * side):
        tile = colours[start : start + side * side].reshape(side, 1, side, 1, 3)
        tile = np.broadcast_to(tile, (side, 2, side, 2, 3)).reshape(2 * side, 2 * side, 3)
        got = fused.round_trip(np.ascontiguousarray(tile[..., perm]), conv, perm)[..., perm]
        want = np.broadcast_to(expected[start : start + side * side].reshape(side, 1, side, 1, 3),
                               (side, 2, side, 2, 3)).reshape(2 * side, 2 * side, 3)
        bad = np.argwhere(got != want)
        assert not bad.size, f"colours from {start}: {len(bad)} values differ, first {bad[:3].tolist()}"
