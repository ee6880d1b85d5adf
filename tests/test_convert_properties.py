"""Property tests of rgb_to_nv12 / nv12_to_rgb: shapes, channel order, round trips, strides."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import nv12kit
from nv12kit import LAYOUTS, NV12Frame, nv12_to_rgb, rgb_to_nv12

__all__: list[str] = []

PRESETS = list(nv12kit.CONVENTIONS)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Worst round-trip error (levels) of an image whose 2x2 blocks are each one colour, so
# that 4:2:0 itself loses nothing.  Rounded full-range presets: 2.  Truncating encoders
# (horizon's astype, libyuv's >>8, Pillow's >>6) can lose nearly a level in Y and in U or
# V, and U is multiplied by 1.772 on the way back: 3.  Limited range stretches by 255/219: 3.
FLAT_TOLERANCE = {
    "horizon": 3,
    "libyuv-jpeg": 3,
    "bt601-full": 2,
    "bt709-full": 2,
    "bt2020-full": 2,
    "opencv": 3,
    "libyuv": 3,
    "bt601-limited": 3,
    "bt709-limited": 3,
    "bt2020-limited": 3,
    "openvino": 3,
    "rknn-rga": 3,
    "tidl": 3,
    "ascend-aipp": 3,
}


# ----------------------------------------------------------------------------
# strategies
# ----------------------------------------------------------------------------
sides = st.integers(1, 32).map(lambda n: 2 * n)
edge_values = st.sampled_from([0, 1, 2, 15, 16, 17, 127, 128, 129, 234, 235, 236, 239, 240, 241, 253, 254, 255])


@st.composite
def even_images(draw: st.DrawFn) -> np.ndarray:
    """(H, W, 3) uint8, H and W even in 2..64: uniform noise, or sparse edits of a constant."""
    h, w = draw(sides), draw(sides)
    if draw(st.booleans()):
        seed = draw(st.integers(0, 2**32 - 1))
        return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    values = st.one_of(edge_values, st.integers(0, 255))
    return draw(arrays(np.uint8, (h, w, 3), elements=values, fill=values))


@st.composite
def flat_images(draw: st.DrawFn) -> np.ndarray:
    """Images whose every 2x2 block is one colour (4:4:4 content that 4:2:0 keeps exactly)."""
    blocks = draw(even_images())[0::2, 0::2]
    return np.repeat(np.repeat(blocks, 2, axis=0), 2, axis=1)


@st.composite
def frames(draw: st.DrawFn) -> NV12Frame:
    h, w = draw(sides), draw(sides)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return NV12Frame(
        rng.integers(0, 256, (h, w), dtype=np.uint8), rng.integers(0, 256, (h // 2, w // 2, 2), dtype=np.uint8)
    )


def max_error(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())


def same_frame(a: NV12Frame, b: NV12Frame) -> bool:
    return np.array_equal(a.y, b.y) and np.array_equal(a.uv, b.uv)


# ----------------------------------------------------------------------------
# shapes and dtypes
# ----------------------------------------------------------------------------
@SETTINGS
@given(img=even_images())
def test_every_preset_gives_nv12_shapes_and_uint8(img):
    h, w = img.shape[:2]
    for name in PRESETS:
        frame = rgb_to_nv12(img, convention=name)
        assert isinstance(frame, NV12Frame), name
        assert frame.y.shape == (h, w) and frame.uv.shape == (h // 2, w // 2, 2), name
        assert frame.y.dtype == np.uint8 and frame.uv.dtype == np.uint8, name
        back = nv12_to_rgb(frame, convention=name)
        assert back.shape == (h, w, 3) and back.dtype == np.uint8, name


# ----------------------------------------------------------------------------
# channel order
# ----------------------------------------------------------------------------
@SETTINGS
@given(img=even_images())
def test_bgr_order_on_reversed_channels_gives_the_same_frame(img):
    bgr = img[..., ::-1]
    for name in PRESETS:
        rgb_frame = rgb_to_nv12(img, convention=name)
        assert same_frame(rgb_to_nv12(bgr, convention=name, order="bgr"), rgb_frame), name
        assert same_frame(rgb_to_nv12(np.ascontiguousarray(bgr), convention=name, order="bgr"), rgb_frame), name


@SETTINGS
@given(frame=frames())
def test_bgr_decode_is_rgb_decode_reversed(frame):
    for name in PRESETS:
        rgb = nv12_to_rgb(frame, convention=name)
        assert np.array_equal(nv12_to_rgb(frame, convention=name, order="bgr"), rgb[..., ::-1]), name


# ----------------------------------------------------------------------------
# round trips
# ----------------------------------------------------------------------------
def test_flat_tolerance_table_covers_every_preset_but_pil():
    assert set(FLAT_TOLERANCE) == set(PRESETS) - {"pil"}


@SETTINGS
@given(img=flat_images())
def test_flat_image_round_trips_within_tolerance(img):
    for name, tol in FLAT_TOLERANCE.items():
        back = nv12_to_rgb(rgb_to_nv12(img, convention=name), convention=name)
        assert max_error(back, img) <= tol, name


@SETTINGS
@given(img=flat_images())
def test_flat_image_round_trips_through_pillow_arithmetic(img):
    # The "pil" preset shrinks chroma with an antialiased bicubic filter that mixes
    # neighbouring blocks, so only Pillow's arithmetic with block chroma round-trips.
    for down in ("topleft", "box"):
        conv = nv12kit.get_convention("pil").replace(name=f"pil-{down}", chroma_down=down)
        assert max_error(nv12_to_rgb(rgb_to_nv12(img, convention=conv), convention=conv), img) <= 3, down


@SETTINGS
@given(colour=arrays(np.uint8, (3,)), h=sides, w=sides)
def test_constant_image_round_trips_through_pil_preset(colour, h, w):
    img = np.broadcast_to(colour, (h, w, 3)).copy()
    back = nv12_to_rgb(rgb_to_nv12(img, convention="pil"), convention="pil")
    assert max_error(back, img) <= 3


@SETTINGS
@given(frame=frames(), stride_pad=st.integers(0, 8))
def test_frame_survives_bytes_in_every_layout(frame, stride_pad):
    w, h = frame.width, frame.height
    for layout in LAYOUTS:
        assert NV12Frame.from_bytes(frame.to_bytes(layout=layout), w, h, layout=layout) == frame, layout
        stride = w + 2 * stride_pad
        buf = frame.to_bytes(layout=layout, stride=stride)
        assert NV12Frame.from_bytes(buf, w, h, layout=layout, stride=stride) == frame, (layout, stride)


@SETTINGS
@given(img=even_images())
def test_encoded_frame_survives_bytes_in_every_layout(img):
    h, w = img.shape[:2]
    for name in ("horizon", "opencv", "bt709-limited"):
        frame = rgb_to_nv12(img, convention=name)
        for layout in LAYOUTS:
            assert NV12Frame.from_bytes(frame.to_bytes(layout=layout), w, h, layout=layout) == frame, (name, layout)


# ----------------------------------------------------------------------------
# strides: any view of the data gives what its contiguous copy gives
# ----------------------------------------------------------------------------
def row_major_views(img: np.ndarray) -> dict[str, np.ndarray]:
    h, w = img.shape[:2]
    big = np.zeros((h + 3, 2 * w + 5, 4), np.uint8)
    big[1 : h + 1, 2 : 2 + 2 * w : 2, 1:] = img
    out = {
        "flipped columns": img[:, ::-1],
        "flipped rows": img[::-1],
        "slice of a bigger array": big[1 : h + 1, 2 : 2 + 2 * w : 2, 1:],
        "reversed channels of reversed channels": img[..., ::-1][..., ::-1],
    }
    assert np.array_equal(out["slice of a bigger array"], img)
    assert not out["slice of a bigger array"].flags.c_contiguous
    return out


def column_major_views(img: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "fortran order": np.asfortranarray(img),
        "transposed storage": np.ascontiguousarray(img.transpose(1, 0, 2)).transpose(1, 0, 2),
    }


def check_views_encode_like_copies(views: dict[str, np.ndarray]) -> None:
    for what, view in views.items():
        copy = np.ascontiguousarray(view)
        for name in PRESETS:
            got, want = rgb_to_nv12(view, convention=name), rgb_to_nv12(copy, convention=name)
            assert same_frame(got, want), (what, name, got, want)


@SETTINGS
@given(img=even_images())
def test_non_contiguous_inputs_encode_like_their_contiguous_copies(img):
    check_views_encode_like_copies(row_major_views(img))


@SETTINGS
@example(img=np.ones((2, 2, 3), np.uint8))
@given(img=even_images())
def test_column_major_inputs_encode_like_their_contiguous_copies(img):
    check_views_encode_like_copies(column_major_views(img))


@SETTINGS
@given(frame=frames())
def test_non_contiguous_planes_decode_like_contiguous_ones(frame):
    y, uv = frame.y, frame.uv
    h, w = y.shape
    big_y = np.zeros((h, 2 * w), np.uint8)
    big_y[:, ::2] = y
    big_uv = np.zeros((h // 2 + 1, w // 2, 3), np.uint8)
    big_uv[1:, :, 1:] = uv
    variants = {
        "flipped": (y[:, ::-1], uv[:, ::-1]),
        "strided slices": (big_y[:, ::2], big_uv[1:, :, 1:]),
        "fortran order": (np.asfortranarray(y), np.asfortranarray(uv)),
    }
    for what, (vy, vuv) in variants.items():
        contiguous = (np.ascontiguousarray(vy), np.ascontiguousarray(vuv))
        for name in PRESETS:
            want = nv12_to_rgb(contiguous, convention=name)
            assert np.array_equal(nv12_to_rgb((vy, vuv), convention=name), want), (what, name)


@pytest.mark.parametrize("name", PRESETS)
def test_tuple_and_vendor_shapes_decode_like_the_frame(name):
    rng = np.random.default_rng(3)
    frame = NV12Frame(rng.integers(0, 256, (6, 10), dtype=np.uint8), rng.integers(0, 256, (3, 5, 2), dtype=np.uint8))
    want = nv12_to_rgb(frame, convention=name)
    assert np.array_equal(nv12_to_rgb((frame.y, frame.uv), convention=name), want)
    feed = frame.to_feed("img")
    assert np.array_equal(nv12_to_rgb((feed["img_y"], feed["img_uv"]), convention=name), want)
