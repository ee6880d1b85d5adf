"""The small-frame kernels (issue 17) against the band kernels, byte for byte.

``nv12kit._kernels.small`` computes frames of up to ``SMALL_PIXELS`` pixels
with other arithmetic (pixel words, int32 floor division, tables of the
float64 boundary cases, packed 16-bit lanes).  The band kernels are checked
against the references of ``tests/test_kernels_exact.py`` (which also runs
the small kernels over every colour and every (Y, U, V)); here both are run
on random frames, every grey, black and white, the extreme colours, odd and
tiny sizes, both channel orders and strided input, for every preset.
"""

from __future__ import annotations

import numpy as np
import pytest

import nv12kit
from nv12kit import CONVENTIONS, _kernels, nv12_to_rgb, pad_to_even, rgb_to_nv12
from nv12kit._kernels import bands, small
from nv12kit.augment import NV12RoundTrip, round_trip

NAMES = list(CONVENTIONS)
ORDERS = [(0, 1, 2), (2, 1, 0)]


def _frames() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(17)
    greys = np.repeat(np.arange(256, dtype=np.uint8), 4).reshape(32, 32, 1).repeat(3, axis=2)
    corners = np.array([[r, g, b] for r in (0, 255) for g in (0, 255) for b in (0, 255)], np.uint8)
    extremes = np.tile(corners, (4, 2, 1)).reshape(8, 8, 3)
    # Mostly black, with greys and random pixels: the path that drops black boundary pixels.
    dark = np.zeros((224, 224, 3), np.uint8)
    dark[::3, ::5] = rng.integers(0, 256, (75, 45, 1), dtype=np.uint8)
    dark[1::7, 2::3] = rng.integers(0, 256, (32, 74, 3), dtype=np.uint8)
    near_grey = np.clip(greys.astype(int) + rng.integers(-1, 2, greys.shape), 0, 255).astype(np.uint8)
    return {
        "random 224": rng.integers(0, 256, (224, 224, 3), dtype=np.uint8),
        "random 2x2": rng.integers(0, 256, (2, 2, 3), dtype=np.uint8),
        "random 2x6": rng.integers(0, 256, (2, 6, 3), dtype=np.uint8),
        "random 6x2": rng.integers(0, 256, (6, 2, 3), dtype=np.uint8),
        "random 18x34": rng.integers(0, 256, (18, 34, 3), dtype=np.uint8),
        "largest small": rng.integers(0, 256, (256, 1024, 3), dtype=np.uint8),
        "greys": greys,
        "near greys": near_grey,
        "extremes": extremes,
        "dark": dark,
        "photo": nv12kit.resize_to(nv12kit.load_image(nv12kit.data.photo_path("astronaut")), 224, 224),
    }


FRAMES = _frames()


def test_the_largest_frame_here_is_still_small():
    h, w = FRAMES["largest small"].shape[:2]
    assert h * w == small.SMALL_PIXELS


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("frame", list(FRAMES))
def test_small_encode_equals_the_band_encode(name, frame):
    conv = CONVENTIONS[name]
    if not small.encodable(conv):
        pytest.skip(f"{name} has no small-frame encoder")
    rgb = FRAMES[frame]
    for perm in ORDERS:
        want_y, want_uv = bands.encode(rgb, conv, perm)
        got_y, got_uv = small.encode(rgb, conv, perm)
        assert np.array_equal(got_y, want_y), f"{name} {frame} {perm}: Y differs"
        assert np.array_equal(got_uv, want_uv), f"{name} {frame} {perm}: UV differs"


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("frame", ["random 224", "random 2x2", "random 18x34", "largest small", "extremes"])
def test_small_decode_equals_the_band_decode(name, frame):
    conv = CONVENTIONS[name]
    if not small.decodable(conv):
        pytest.skip(f"{name} has no small-frame decoder")
    rng = np.random.default_rng(len(frame))
    h, w = FRAMES[frame].shape[:2]
    y = rng.integers(0, 256, (h, w), dtype=np.uint8)
    uv = rng.integers(0, 256, (h // 2, w // 2, 2), dtype=np.uint8)
    y[0, :2] = (0, 255)
    uv[0, 0] = (0, 255)
    for perm in ORDERS:
        assert np.array_equal(small.decode(y, uv, conv, perm), bands.decode(y, uv, conv, perm)), f"{name} {perm}"


# User conventions that reach the other branches: float64 evaluation with box chroma or other roundings, a
# float64 row whose boundary is too dense to tabulate (coarse coefficients), top-left chroma elsewhere.
USER = [
    CONVENTIONS["horizon"].replace(name="horizon-box", chroma_down="box"),
    CONVENTIONS["horizon"].replace(name="horizon-nearest", rounding="nearest"),
    CONVENTIONS["horizon"].replace(name="horizon-floor", rounding="floor"),
    CONVENTIONS["bt601-full"].replace(
        name="coarse",
        evaluation="float64",
        encode_coefficients=((0.5, 0.25, 0.25), (-0.25, -0.25, 0.5), (0.5, -0.25, -0.25)),
    ),
    CONVENTIONS["bt709-limited"].replace(name="bt709-topleft", chroma_down="topleft"),
    CONVENTIONS["libyuv"].replace(name="libyuv-topleft", chroma_down="topleft"),
]


@pytest.mark.parametrize("conv", USER, ids=[c.name for c in USER])
@pytest.mark.parametrize("frame", ["random 224", "greys", "near greys", "extremes", "dark", "random 18x34"])
def test_small_encode_equals_the_band_encode_for_user_conventions(conv, frame):
    assert small.encodable(conv)
    rgb = FRAMES[frame]
    for perm in ORDERS:
        want_y, want_uv = bands.encode(rgb, conv, perm)
        got_y, got_uv = small.encode(rgb, conv, perm)
        assert np.array_equal(got_y, want_y), f"{conv.name} {frame} {perm}: Y differs"
        assert np.array_equal(got_uv, want_uv), f"{conv.name} {frame} {perm}: UV differs"


def test_a_dense_float64_boundary_is_rechecked_pixel_by_pixel():
    coarse = USER[3]
    assert small._int_rows(coarse)[0]._fixes((0, 1, 2)) is None  # too dense to tabulate
    assert small._int_rows(CONVENTIONS["horizon"])[0]._fixes((0, 1, 2)) is not None


def test_strided_input_takes_the_small_path_and_gives_the_same_bytes():
    rgb = FRAMES["random 224"]
    bgr_view = rgb[:, :, ::-1]  # not C-contiguous
    for name in ["horizon", "bt709-limited", "libyuv", "opencv"]:
        conv = CONVENTIONS[name]
        want = bands.encode(bgr_view, conv, (2, 1, 0))
        got = small.encode(bgr_view, conv, (2, 1, 0))
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1]), name


def test_dispatch_picks_the_small_kernels_by_size():
    conv = CONVENTIONS["horizon"]
    assert small.encodable(conv) and small.decodable(conv)
    assert not small.encodable(CONVENTIONS["pil"])  # Pillow's own code
    assert not small.decodable(CONVENTIONS["opencv"])  # OpenCV's fixed point decodes in the band kernels
    rgb = FRAMES["random 224"]
    assert np.array_equal(_kernels.encode(rgb, conv, (0, 1, 2))[0], small.encode(rgb, conv, (0, 1, 2))[0])


def test_the_packed_decode_falls_back_when_the_word_store_is_not_sequential(monkeypatch):
    conv = CONVENTIONS["bt601-full"]
    y, uv = bands.encode(FRAMES["random 224"], conv, (0, 1, 2))
    assert small._overlapping_store_works()
    monkeypatch.setattr(small, "_overlapping_store_works", lambda: False)
    assert not small.decodable(conv)
    assert np.array_equal(_kernels.decode(y, uv, conv, (0, 1, 2)), bands.decode(y, uv, conv, (0, 1, 2)))


def test_float64_boundary_table_holds_exactly_the_pixels_float64_moves():
    # horizon's Y: the exact value is an integer on 16774 colours; float64 lands below it on 3464.
    row = small._int_rows(CONVENTIONS["horizon"])[0]
    codes, values, black_exact, by_pair = row._fixes((0, 1, 2))
    r, g, b = (codes >> 0) & 255, (codes >> 8) & 255, codes >> 16
    float64 = (0.299 * r.astype(np.float64) + 0.587 * g + 0.114 * b).astype(np.uint8)
    exact = (299 * r.astype(np.int64) + 587 * g + 114 * b) // 1000
    assert codes.size == 3464 and black_exact and by_pair is not None
    assert np.array_equal(values, float64) and np.all(values == exact - 1)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(224, 224), (223, 224), (5, 7), (1, 1), (2, 3)])
def test_round_trip_is_convert_encode_then_decode(name, shape):
    rgb = np.random.default_rng(shape[0] * shape[1]).integers(0, 256, (*shape, 3), dtype=np.uint8)
    rgb[0, 0] = (128, 128, 128)
    padded = pad_to_even(rgb, mode="edge")
    want = nv12_to_rgb(rgb_to_nv12(padded, convention=name), convention=name)[: shape[0], : shape[1]]
    assert np.array_equal(round_trip(rgb, name), want)
    assert np.array_equal(NV12RoundTrip(name)(rgb), want)


# ----------------------------------------------------------------------------
# the fused round trip (nv12kit._kernels.fused): encode + decode in one go, against the band kernels
# ----------------------------------------------------------------------------
from nv12kit._kernels import fused  # noqa: E402

FUSED = [
    CONVENTIONS["horizon"],
    USER[2],  # horizon-floor
    CONVENTIONS["horizon"].replace(name="horizon-exact", evaluation="exact"),  # no float64 table at all
    CONVENTIONS["bt601-full"].replace(name="bt601-topleft-f64", chroma_down="topleft", rounding="truncate",
                                      evaluation="float64"),
    CONVENTIONS["bt709-full"].replace(name="bt709-topleft-floor", chroma_down="topleft", rounding="floor"),
]


def _band_round_trip(rgb: np.ndarray, conv, perm) -> np.ndarray:
    return bands.decode(*bands.encode(rgb, conv, perm), conv, perm)


@pytest.mark.parametrize("conv", FUSED, ids=[c.name for c in FUSED])
def test_fused_round_trip_equals_band_encode_then_decode(conv):
    for perm in ORDERS:
        assert fused.round_trippable(conv, perm), f"{conv.name} {perm} should take the fused path"
        for frame, rgb in FRAMES.items():  # sizes change from frame to frame: the scratch is rebuilt
            got = fused.round_trip(rgb, conv, perm)
            assert got.shape == rgb.shape and got.dtype == np.uint8 and got.flags.c_contiguous
            assert np.array_equal(got, _band_round_trip(rgb, conv, perm)), f"{conv.name} {frame} {perm}"


def test_fused_round_trip_of_strided_input_and_every_grey_in_every_position():
    conv = CONVENTIONS["horizon"]
    rgb = FRAMES["random 224"]
    assert np.array_equal(fused.round_trip(rgb[:, :, ::-1], conv, (2, 1, 0)),
                          _band_round_trip(rgb[:, :, ::-1], conv, (2, 1, 0)))
    # Greys, black and white sit on every row's rounding boundary; shifted by one pixel each way, each
    # grey is once a block's top-left pixel.
    greys = FRAMES["greys"]
    for dy in (0, 1):
        for dx in (0, 1):
            shifted = np.ascontiguousarray(np.roll(greys, (dy, dx), axis=(0, 1)))
            for perm in ORDERS:
                assert np.array_equal(fused.round_trip(shifted, conv, perm), _band_round_trip(shifted, conv, perm))


def test_fused_round_trip_declines_what_it_cannot_compute(monkeypatch):
    for name in NAMES:  # of the presets only horizon has top-left chroma, full range and nearest chroma
        assert fused.round_trippable(CONVENTIONS[name], (0, 1, 2)) == (name == "horizon"), name
    assert not fused.round_trippable(USER[3].replace(chroma_down="topleft"), (0, 1, 2))  # boundary too dense
    assert not fused.round_trippable(USER[1], (0, 1, 2))  # rounded to nearest, U reaches 256 before the clip
    assert not fused.eligible((223, 224, 3)) and not fused.eligible((1024, 1024, 3)) and fused.eligible((2, 2, 3))
    monkeypatch.setattr(fused, "_overlapping_store_works", lambda: False)
    monkeypatch.setattr(fused, "_PLANS", {})  # forget the decisions taken so far
    assert not fused.round_trippable(CONVENTIONS["horizon"], (0, 1, 2))
    rgb = FRAMES["random 224"]
    assert np.array_equal(_kernels.round_trip(rgb, CONVENTIONS["horizon"], (0, 1, 2)),
                          _band_round_trip(rgb, CONVENTIONS["horizon"], (0, 1, 2)))


@pytest.mark.parametrize("name", [n for n in NAMES if CONVENTIONS[n].decoder is None])
def test_kernels_round_trip_is_encode_then_decode_for_every_preset(name):
    conv = CONVENTIONS[name]
    for frame in ["random 224", "random 2x6", "dark", "largest small"]:
        rgb = FRAMES[frame]
        for perm in ORDERS:
            assert np.array_equal(_kernels.round_trip(rgb, conv, perm), _band_round_trip(rgb, conv, perm)), frame
    big = np.random.default_rng(5).integers(0, 256, (514, 512, 3), dtype=np.uint8)  # one band too many
    assert np.array_equal(_kernels.round_trip(big, conv, (0, 1, 2)), _band_round_trip(big, conv, (0, 1, 2)))


def test_fused_round_trip_on_two_threads_at_once():
    from concurrent.futures import ThreadPoolExecutor

    conv = CONVENTIONS["horizon"]
    frames = [FRAMES["random 224"], FRAMES["photo"], FRAMES["dark"], FRAMES["random 18x34"]] * 8
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda rgb: fused.round_trip(rgb, conv, (0, 1, 2)), frames))
    for rgb, got in zip(frames, results):
        assert np.array_equal(got, _band_round_trip(rgb, conv, (0, 1, 2)))
