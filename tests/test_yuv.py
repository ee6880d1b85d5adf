"""Tests for nv12kit.yuv: NV12Frame, raw byte layouts, read_yuv/write_yuv."""

from __future__ import annotations

import copy
import pickle
import re

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nv12kit import _io
from nv12kit.errors import InputError
from nv12kit.yuv import LAYOUTS, NV12Frame, frame_nbytes, read_yuv, write_yuv

PLANAR = ("i420", "yv12")


def random_frame(h, w, seed=0):
    rng = np.random.default_rng(seed)
    return NV12Frame(
        rng.integers(0, 256, (h, w), dtype=np.uint8),
        rng.integers(0, 256, (h // 2, w // 2, 2), dtype=np.uint8),
    )


def padded(rows, stride):
    """Independent, loop-based row padding (the thing under test uses views)."""
    return b"".join(bytes(r.tobytes()) + b"\0" * (stride - r.size) for r in rows)


# ---------------------------------------------------------------------------
# round trips (property tests)
# ---------------------------------------------------------------------------


@st.composite
def frames_and_options(draw):
    h = 2 * draw(st.integers(1, 32))
    w = 2 * draw(st.integers(1, 32))
    layout = draw(st.sampled_from(LAYOUTS))
    if draw(st.booleans()):
        stride = None
    elif layout in PLANAR:
        stride = w + 2 * draw(st.integers(0, 8))
    else:
        stride = w + draw(st.integers(0, 16))
    seed = draw(st.integers(0, 2**32 - 1))
    return random_frame(h, w, seed), layout, stride


@settings(max_examples=300, deadline=None)
@given(frames_and_options())
def test_bytes_round_trip_for_every_layout_and_stride(case):
    frame, layout, stride = case
    buf = frame.to_bytes(layout=layout, stride=stride)
    assert isinstance(buf, bytes)
    assert len(buf) == frame_nbytes(frame.width, frame.height, layout=layout, stride=stride)
    back = NV12Frame.from_bytes(buf, frame.width, frame.height, layout=layout, stride=stride)
    assert back == frame
    np.testing.assert_array_equal(back.y, frame.y)
    np.testing.assert_array_equal(back.uv, frame.uv)


@settings(max_examples=100, deadline=None)
@given(frames_and_options())
def test_strided_bytes_match_loop_based_padding(case):
    frame, layout, stride = case
    s = frame.width if stride is None else stride
    y_part = padded(frame.y, s)
    if layout == "nv12":
        c_part = padded(frame.uv.reshape(frame.height // 2, -1), s)
    elif layout == "nv21":
        c_part = padded(frame.uv[..., ::-1].reshape(frame.height // 2, -1), s)
    else:
        first, second = (frame.u, frame.v) if layout == "i420" else (frame.v, frame.u)
        c_part = padded(first, s // 2) + padded(second, s // 2)
    assert frame.to_bytes(layout=layout, stride=stride) == y_part + c_part


def test_padding_bytes_are_ignored_when_reading():
    frame = random_frame(4, 6)
    buf = bytearray(frame.to_bytes(layout="nv12", stride=10))
    for row in range(6):  # 4 Y rows + 2 UV rows, pad bytes at 6..9
        buf[row * 10 + 6 : row * 10 + 10] = b"\xff" * 4
    assert NV12Frame.from_bytes(buf, 6, 4, stride=10) == frame


# ---------------------------------------------------------------------------
# byte layouts against independent constructions
# ---------------------------------------------------------------------------


def test_tiny_frame_has_the_documented_bytes():
    y = np.array([[1, 2], [3, 4]], np.uint8)
    uv = np.array([[[50, 60]]], np.uint8)  # U=50, V=60
    f = NV12Frame(y, uv)
    assert f.to_bytes(layout="nv12") == bytes([1, 2, 3, 4, 50, 60])
    assert f.to_bytes(layout="nv21") == bytes([1, 2, 3, 4, 60, 50])
    assert f.to_bytes(layout="i420") == bytes([1, 2, 3, 4, 50, 60])
    assert f.to_bytes(layout="yv12") == bytes([1, 2, 3, 4, 60, 50])
    assert f.to_bytes(layout="nv12", stride=3) == bytes([1, 2, 0, 3, 4, 0, 50, 60, 0])
    assert f.to_bytes(layout="i420", stride=4) == bytes([1, 2, 0, 0, 3, 4, 0, 0, 50, 0, 60, 0])


def test_nv12_is_y_then_interleaved_uv_with_u_first():
    f = random_frame(6, 8, seed=1)
    assert f.to_bytes(layout="nv12") == f.y.tobytes() + f.uv.tobytes()
    chroma = np.frombuffer(f.to_bytes(), np.uint8)[48:].reshape(3, 4, 2)
    np.testing.assert_array_equal(chroma[..., 0], f.u)


def test_nv21_swaps_chroma_bytes_pairwise_relative_to_nv12():
    f = random_frame(6, 8, seed=2)
    nv12 = np.frombuffer(f.to_bytes(layout="nv12"), np.uint8)
    nv21 = np.frombuffer(f.to_bytes(layout="nv21"), np.uint8)
    n = 6 * 8
    np.testing.assert_array_equal(nv21[:n], nv12[:n])
    np.testing.assert_array_equal(nv21[n:].reshape(-1, 2), nv12[n:].reshape(-1, 2)[:, ::-1])


def test_i420_and_yv12_planes_are_raveled_u_and_v():
    f = random_frame(6, 8, seed=3)
    n, q = 48, 12
    i420 = np.frombuffer(f.to_bytes(layout="i420"), np.uint8)
    yv12 = np.frombuffer(f.to_bytes(layout="yv12"), np.uint8)
    np.testing.assert_array_equal(i420[:n], f.y.ravel())
    np.testing.assert_array_equal(i420[n : n + q], f.uv[..., 0].ravel())
    np.testing.assert_array_equal(i420[n + q :], f.uv[..., 1].ravel())
    np.testing.assert_array_equal(yv12[n : n + q], f.uv[..., 1].ravel())
    np.testing.assert_array_equal(yv12[n + q :], f.uv[..., 0].ravel())


# ---------------------------------------------------------------------------
# against OpenCV
# ---------------------------------------------------------------------------


def smooth_rgb(h, w, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("h,w", [(2, 2), (8, 12), (48, 64), (120, 160)])
def test_opencv_i420_bytes_parse_and_reemit_identically(h, w):
    i420 = cv2.cvtColor(smooth_rgb(h, w), cv2.COLOR_RGB2YUV_I420)
    assert i420.shape == (h * 3 // 2, w)
    frame = NV12Frame.from_bytes(i420.ravel(), w, h, layout="i420")
    np.testing.assert_array_equal(frame.y, i420[:h])
    assert frame.to_bytes(layout="i420") == i420.tobytes()


@pytest.mark.parametrize("h,w", [(2, 2), (8, 12), (48, 64)])
def test_our_nv21_is_what_opencv_calls_nv21(h, w):
    frame = random_frame(h, w, seed=h + w)
    nv12 = np.frombuffer(frame.to_bytes(layout="nv12"), np.uint8).reshape(h * 3 // 2, w)
    nv21 = np.frombuffer(frame.to_bytes(layout="nv21"), np.uint8).reshape(h * 3 // 2, w)
    rgb_nv12 = cv2.cvtColor(nv12, cv2.COLOR_YUV2RGB_NV12)
    rgb_nv21 = cv2.cvtColor(nv21, cv2.COLOR_YUV2RGB_NV21)
    np.testing.assert_array_equal(rgb_nv12, rgb_nv21)
    # Reading NV21 bytes as NV12 must differ, or the test above proves nothing.
    assert not np.array_equal(rgb_nv12, cv2.cvtColor(nv21, cv2.COLOR_YUV2RGB_NV12))


@pytest.mark.parametrize("h,w", [(2, 2), (8, 12), (48, 64)])
def test_our_yv12_and_i420_decode_like_opencv_and_like_nv12(h, w):
    frame = random_frame(h, w, seed=7 * h + w)

    def as2d(layout):
        return np.frombuffer(frame.to_bytes(layout=layout), np.uint8).reshape(h * 3 // 2, w)

    rgb_i420 = cv2.cvtColor(as2d("i420"), cv2.COLOR_YUV2RGB_I420)
    rgb_yv12 = cv2.cvtColor(as2d("yv12"), cv2.COLOR_YUV2RGB_YV12)
    rgb_nv12 = cv2.cvtColor(as2d("nv12"), cv2.COLOR_YUV2RGB_NV12)
    np.testing.assert_array_equal(rgb_i420, rgb_yv12)
    np.testing.assert_array_equal(rgb_i420, rgb_nv12)
    assert not np.array_equal(rgb_i420, cv2.cvtColor(as2d("yv12"), cv2.COLOR_YUV2RGB_I420))


def test_u_channel_is_blue_difference_for_opencv():
    # U high, V neutral must decode bluish: proves U sits at uv[..., 0].
    y = np.full((4, 4), 128, np.uint8)
    uv = np.zeros((2, 2, 2), np.uint8)
    uv[..., 0], uv[..., 1] = 220, 128
    nv12 = np.frombuffer(NV12Frame(y, uv).to_bytes(), np.uint8).reshape(6, 4)
    r, g, b = cv2.cvtColor(nv12, cv2.COLOR_YUV2RGB_NV12)[0, 0].astype(int)
    assert b > r + 100 and b > g + 100


# ---------------------------------------------------------------------------
# constructor validation
# ---------------------------------------------------------------------------


def planes(h, w):
    return np.zeros((h, w), np.uint8), np.zeros((h // 2, w // 2, 2), np.uint8)


@pytest.mark.parametrize("h,w", [(481, 640), (480, 641), (3, 3)])
def test_odd_size_frame_is_rejected_with_fix(h, w):
    y = np.zeros((h, w), np.uint8)
    uv = np.zeros((h // 2, w // 2, 2), np.uint8)
    with pytest.raises(InputError) as exc:
        NV12Frame(y, uv)
    msg = str(exc.value)
    assert f"{w}x{h}" in msg
    assert "pad_to_even" in msg and "crop_to_even" in msg


def test_empty_frame_is_rejected():
    with pytest.raises(InputError, match="empty"):
        NV12Frame(np.zeros((0, 4), np.uint8), np.zeros((0, 2, 2), np.uint8))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_planes_are_rejected_with_conversion_recipe(dtype):
    y, uv = planes(4, 4)
    with pytest.raises(InputError) as exc:
        NV12Frame(y.astype(dtype), uv)
    msg = str(exc.value)
    assert str(np.dtype(dtype)) in msg
    assert "np.clip(x, 0, 255).round().astype(np.uint8)" in msg
    assert "not rescaled" in msg


@pytest.mark.parametrize("dtype", [np.int16, np.uint16, np.int64, np.bool_])
def test_non_uint8_integer_planes_are_rejected(dtype):
    y, uv = planes(4, 4)
    with pytest.raises(InputError, match=str(np.dtype(dtype))):
        NV12Frame(y, uv.astype(dtype))


@pytest.mark.parametrize(
    "y_shape,uv_shape,needle",
    [
        ((4, 4, 3), (2, 2, 2), "RGB image"),
        ((4,), (2, 2, 2), "expected"),
        ((2, 4, 4, 1), (2, 2, 2), "one item"),
        ((1, 1, 4, 4), (2, 2, 2), "NCHW"),
        ((4, 4), (2, 4), r"reshape\(2, 2, 2\)"),
        ((4, 4), (2, 2, 2, 1), r"\(2, 2, 2\)"),
        ((4, 4), (4, 4, 2), "4:4:4"),
        ((4, 4), (1, 2, 2, 2, 1), "must be"),
        ((4, 4), (2, 2), "must be"),
        ((4, 4), (2, 2, 3), "must be"),
        ((8, 4), (2, 2, 2), "must be"),
    ],
)
def test_wrong_plane_shapes_are_rejected(y_shape, uv_shape, needle):
    with pytest.raises(InputError, match=needle):
        NV12Frame(np.zeros(y_shape, np.uint8), np.zeros(uv_shape, np.uint8))


def test_channels_first_chroma_gets_a_hint():
    with pytest.raises(InputError, match="moveaxis"):
        NV12Frame(np.zeros((4, 6), np.uint8), np.zeros((2, 2, 3), np.uint8))


def test_non_array_input_is_rejected():
    with pytest.raises(InputError):
        NV12Frame([[1, 2], [3]], np.zeros((1, 1, 2), np.uint8))  # ragged


def test_vendor_tensor_shapes_are_accepted_and_squeezed():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 256, (1, 4, 6, 1), dtype=np.uint8)
    uv = rng.integers(0, 256, (1, 2, 3, 2), dtype=np.uint8)
    f = NV12Frame(y, uv)
    assert f.y.shape == (4, 6) and f.uv.shape == (2, 3, 2)
    np.testing.assert_array_equal(f.y, y[0, :, :, 0])
    np.testing.assert_array_equal(f.uv, uv[0])
    assert NV12Frame(y[0], uv[0]) == f  # (H, W, 1) Y


def test_non_contiguous_inputs_are_stored_contiguous():
    big_y = np.arange(8 * 12, dtype=np.uint8).reshape(8, 12)
    big_uv = np.arange(4 * 6 * 2, dtype=np.uint8).reshape(4, 6, 2)
    f = NV12Frame(big_y[::2, ::3], big_uv[::2, ::3])
    assert f.y.flags.c_contiguous and f.uv.flags.c_contiguous
    np.testing.assert_array_equal(f.y, big_y[::2, ::3])
    np.testing.assert_array_equal(f.uv, big_uv[::2, ::3])


def test_planes_are_read_only():
    f = random_frame(4, 4)
    for arr in (f.y, f.uv, f.u, f.v):
        assert not arr.flags.writeable
        with pytest.raises(ValueError):
            arr[0, 0] = 1


def test_users_arrays_keep_their_flags_and_are_not_aliased():
    y, uv = planes(4, 4)
    f = NV12Frame(y, uv)
    assert y.flags.writeable and uv.flags.writeable
    y[0, 0] = 99
    uv[0, 0, 0] = 99
    assert f.y[0, 0] == 0 and f.uv[0, 0, 0] == 0

    frozen_y, frozen_uv = planes(4, 4)
    frozen_y.setflags(write=False)
    frozen_uv.setflags(write=False)
    NV12Frame(frozen_y, frozen_uv)
    assert not frozen_y.flags.writeable and not frozen_uv.flags.writeable


def test_from_planes_interleaves_u_then_v():
    y = np.zeros((4, 6), np.uint8)
    u = np.full((2, 3), 10, np.uint8)
    v = np.full((2, 3), 20, np.uint8)
    f = NV12Frame.from_planes(y, u, v)
    np.testing.assert_array_equal(f.u, u)
    np.testing.assert_array_equal(f.v, v)
    assert f.uv[0, 0].tolist() == [10, 20]
    assert not f.y.flags.writeable and y.flags.writeable


def test_from_planes_rejects_wrong_chroma_shape_and_dtype():
    y = np.zeros((4, 6), np.uint8)
    good = np.zeros((2, 3), np.uint8)
    with pytest.raises(InputError, match=r"v has shape \(4, 6\)"):
        NV12Frame.from_planes(y, good, np.zeros((4, 6), np.uint8))
    with pytest.raises(InputError, match="float32"):
        NV12Frame.from_planes(y, good.astype(np.float32), good)
    with pytest.raises(InputError, match="pad_to_even"):
        NV12Frame.from_planes(np.zeros((3, 6), np.uint8), good, good)


# ---------------------------------------------------------------------------
# small API
# ---------------------------------------------------------------------------


def test_properties_and_nbytes():
    f = random_frame(6, 10)
    assert (f.height, f.width, f.shape) == (6, 10, (6, 10))
    assert f.nbytes == 6 * 10 * 3 // 2 == len(f.to_bytes())
    np.testing.assert_array_equal(f.u, f.uv[..., 0])
    np.testing.assert_array_equal(f.v, f.uv[..., 1])


def test_to_feed_uses_hbdk4_names_shapes_and_dtypes():
    f = random_frame(6, 10)
    feed = f.to_feed("images")
    assert list(feed) == ["images_y", "images_uv"]
    assert feed["images_y"].shape == (1, 6, 10, 1)
    assert feed["images_uv"].shape == (1, 3, 5, 2)
    assert all(a.dtype == np.uint8 for a in feed.values())
    np.testing.assert_array_equal(feed["images_y"][0, :, :, 0], f.y)
    np.testing.assert_array_equal(feed["images_uv"][0], f.uv)
    assert NV12Frame(feed["images_y"], feed["images_uv"]) == f


@pytest.mark.parametrize("name", ["", None, 3])
def test_to_feed_rejects_bad_names(name):
    with pytest.raises(InputError, match="name"):
        random_frame(2, 2).to_feed(name)


def test_repr_shows_size_and_plane_means():
    y = np.full((4, 6), 100, np.uint8)
    uv = np.empty((2, 3, 2), np.uint8)
    uv[..., 0], uv[..., 1] = 120, 131
    assert repr(NV12Frame(y, uv)) == "NV12Frame(6x4, Y mean 100.0, U mean 120.0, V mean 131.0)"


def test_equality_is_exact_and_frames_are_unhashable():
    a = random_frame(4, 4, seed=1)
    b = NV12Frame(a.y.copy(), a.uv.copy())
    assert a == b and not (a != b)
    uv = a.uv.copy()
    uv[1, 1, 1] ^= 1
    assert a != NV12Frame(a.y, uv)
    assert a != random_frame(4, 6, seed=1)
    assert a != "frame"
    with pytest.raises(TypeError):
        hash(a)


def test_copy_pickle_and_deepcopy_give_equal_frozen_frames():
    a = random_frame(4, 6, seed=2)
    for b in (a.copy(), pickle.loads(pickle.dumps(a)), copy.deepcopy(a)):
        assert b == a
        assert not np.shares_memory(b.y, a.y)
        assert not b.y.flags.writeable and not b.uv.flags.writeable


# ---------------------------------------------------------------------------
# from_bytes / frame_nbytes validation
# ---------------------------------------------------------------------------


def test_from_bytes_accepts_all_buffer_types_and_does_not_alias():
    f = random_frame(4, 6, seed=3)
    raw = f.to_bytes()
    ba = bytearray(raw)
    for buf in (raw, ba, memoryview(raw), np.frombuffer(raw, np.uint8)):
        assert NV12Frame.from_bytes(buf, 6, 4) == f
    g = NV12Frame.from_bytes(ba, 6, 4)
    ba[0] ^= 0xFF
    assert g == f


@pytest.mark.parametrize(
    "buf,needle",
    [
        (np.zeros(36, np.float32), "float32"),
        (np.zeros((6, 6), np.uint8), "ravel"),
        ("not bytes", "read_yuv"),
        (12345, "expected bytes"),
        (memoryview(bytes(72))[::2], "contiguous"),
    ],
)
def test_from_bytes_rejects_non_byte_buffers(buf, needle):
    with pytest.raises(InputError, match=needle):
        NV12Frame.from_bytes(buf, 6, 4)


def test_frame_nbytes_is_stride_times_height_times_three_halves():
    assert frame_nbytes(640, 480) == 460800
    for layout in LAYOUTS:
        assert frame_nbytes(1920, 1080, layout=layout, stride=2048) == 2048 * 1080 * 3 // 2
    assert frame_nbytes(6, 4, layout="nv12", stride=7) == 42


@pytest.mark.parametrize("w,h", [(641, 480), (640, 481)])
def test_odd_width_or_height_in_from_bytes_is_rejected_with_fix(w, h):
    with pytest.raises(InputError, match="crop_to_even"):
        NV12Frame.from_bytes(bytes(460800), w, h)
    with pytest.raises(InputError, match="odd"):
        frame_nbytes(w, h)


@pytest.mark.parametrize("w,h", [(0, 4), (4, -2), (4.0, 4), ("4", 4), (True, 4)])
def test_bad_width_or_height_types_and_values_are_rejected(w, h):
    with pytest.raises(InputError):
        frame_nbytes(w, h)


def test_stride_smaller_than_width_is_rejected():
    with pytest.raises(InputError, match=r"stride=6 is smaller than width=8"):
        NV12Frame.from_bytes(bytes(36), 8, 4, stride=6)
    with pytest.raises(InputError, match="smaller"):
        random_frame(4, 8).to_bytes(stride=6)


@pytest.mark.parametrize("layout", PLANAR)
def test_odd_stride_for_planar_layout_is_rejected(layout):
    with pytest.raises(InputError, match="odd"):
        random_frame(4, 8).to_bytes(layout=layout, stride=9)
    with pytest.raises(InputError, match="even"):
        frame_nbytes(8, 4, layout=layout, stride=9)


def test_odd_stride_is_fine_for_semi_planar_layouts():
    f = random_frame(4, 8)
    for layout in ("nv12", "nv21"):
        buf = f.to_bytes(layout=layout, stride=9)
        assert NV12Frame.from_bytes(buf, 8, 4, layout=layout, stride=9) == f


@pytest.mark.parametrize("layout", ["yuyv", "NV16x", "rgb", None, 12])
def test_unknown_layout_lists_valid_layouts(layout):
    with pytest.raises(InputError) as exc:
        random_frame(2, 2).to_bytes(layout=layout)
    assert all(name in str(exc.value) for name in LAYOUTS)


def test_layout_aliases_point_to_our_name_and_case_is_ignored():
    with pytest.raises(InputError, match="'i420'"):
        frame_nbytes(4, 4, layout="yuv420p")
    with pytest.raises(InputError, match="4:2:2"):
        frame_nbytes(4, 4, layout="NV16")
    f = random_frame(4, 4)
    assert f.to_bytes(layout="NV21") == f.to_bytes(layout="nv21")


def size_error(nbytes, w, h, **kw):
    with pytest.raises(InputError) as exc:
        NV12Frame.from_bytes(bytes(nbytes), w, h, **kw)
    return str(exc.value)


def test_wrong_size_message_states_both_counts_layout_and_stride():
    msg = size_error(1000, 640, 480, layout="nv21", stride=704)
    assert "1000" in msg and str(704 * 480 * 3 // 2) in msg
    assert "nv21" in msg and "stride=704" in msg and "640x480" in msg


@pytest.mark.parametrize(
    "nbytes,needle",
    [
        (640 * 480 * 3, "packed RGB/BGR"),
        (640 * 480 * 4, "RGBA"),
        (640 * 480 * 2, "4:2:2"),
        (640 * 480, "Y (grey) plane only"),
        (704 * 480 * 3 // 2, "stride=704; pass stride=704"),
        (640 * 496 * 3 // 2, "height=496"),
        (641 * 481 + 320 * 240 * 2, "odd-sized picture of 641x481"),
        (641 * 481 + 321 * 241 * 2, "odd-sized picture of 641x481"),
        (640 * 481 + 320 * 241 * 2, "640x481"),
        (640 * 480 * 3 // 2 * 4, "4 frames"),
        (640 * 480 * 3 // 2 + 54, "54 extra bytes"),
        (640 * 480 * 3 // 2 - 100, "100 bytes missing"),
        (0, "empty"),
    ],
)
def test_wrong_size_message_guesses_the_cause(nbytes, needle):
    msg = size_error(nbytes, 640, 480)
    assert needle in msg
    assert str(nbytes) in msg and "460800" in msg


def test_decoder_aligned_1088_rows_and_2048_stride_are_recognised():
    assert "height=1088" in size_error(1920 * 1088 * 3 // 2, 1920, 1080)
    msg = size_error(2048 * 1088 * 3 // 2, 1920, 1080)
    assert "stride=2048" in msg and "1088" in msg


def test_needless_stride_is_recognised():
    msg = size_error(640 * 480 * 3 // 2, 640, 480, stride=704)
    assert "stride=None" in msg


# ---------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("stride", [None, 16])
def test_write_then_read_round_trips(tmp_path, layout, stride):
    f = random_frame(6, 10, seed=9)
    p = write_yuv(tmp_path / f"f.{layout}", f, layout=layout, stride=stride)
    assert p == tmp_path / f"f.{layout}"
    assert p.stat().st_size == frame_nbytes(10, 6, layout=layout, stride=stride)
    assert p.read_bytes() == f.to_bytes(layout=layout, stride=stride)
    assert read_yuv(str(p), 10, 6, layout=layout, stride=stride) == f


def test_write_yuv_is_atomic_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "frame.nv12"
    target.write_bytes(b"precious")

    def broken_replace(src, dst):
        raise OSError("no rename today")

    monkeypatch.setattr(_io.os, "replace", broken_replace)
    with pytest.raises(OSError, match="no rename today"):
        write_yuv(target, random_frame(4, 4))
    assert target.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["frame.nv12"]


def test_write_yuv_bad_stride_leaves_existing_file_alone(tmp_path):
    target = tmp_path / "frame.nv12"
    target.write_bytes(b"precious")
    with pytest.raises(InputError):
        write_yuv(target, random_frame(4, 8), stride=3)
    assert target.read_bytes() == b"precious"


def test_write_yuv_rejects_non_frames_and_missing_directory(tmp_path):
    with pytest.raises(InputError, match="NV12Frame"):
        write_yuv(tmp_path / "f.nv12", np.zeros((6, 4), np.uint8))
    with pytest.raises(InputError, match="nowhere"):
        write_yuv(tmp_path / "nowhere" / "f.nv12", random_frame(2, 2))


def test_read_yuv_missing_file_names_the_path(tmp_path):
    missing = tmp_path / "absent.nv12"
    with pytest.raises(InputError, match=re.escape(str(missing))):
        read_yuv(missing, 4, 4)


def test_read_yuv_directory_is_rejected(tmp_path):
    with pytest.raises(InputError, match="directory"):
        read_yuv(tmp_path, 4, 4)


def test_read_yuv_wrong_size_names_path_and_both_counts(tmp_path):
    p = tmp_path / "clip.yuv"
    p.write_bytes(bytes(640 * 480 * 3))
    with pytest.raises(InputError) as exc:
        read_yuv(p, 640, 480)
    msg = str(exc.value)
    assert str(p) in msg
    assert "921600" in msg and "460800" in msg
    assert "packed RGB/BGR" in msg


def test_read_yuv_validates_geometry_before_touching_the_file(tmp_path):
    with pytest.raises(InputError, match="odd"):
        read_yuv(tmp_path / "absent.nv12", 5, 4)
    with pytest.raises(InputError, match="unknown layout"):
        read_yuv(tmp_path / "absent.nv12", 4, 4, layout="bgr")


def test_1080p_round_trip_is_fast():
    import time

    f = random_frame(1080, 1920)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for layout in LAYOUTS:
            buf = f.to_bytes(layout=layout, stride=2048)
            NV12Frame.from_bytes(buf, 1920, 1080, layout=layout, stride=2048)
        best = min(best, time.perf_counter() - t0)
    # About 3 ms on one slow core; a per-pixel Python loop would take seconds.
    assert best < 0.25


# --- buffers laid out by real allocators (issue 15) ---------------------------------------------


def _pyav_planes(rgb: np.ndarray, fmt: str):
    av = pytest.importorskip("av")
    return av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=fmt).planes


@pytest.mark.parametrize("fmt, layout", [("nv12", "nv12"), ("yuv420p", "i420")])
@pytest.mark.parametrize("hw", [(200, 300), (90, 130), (226, 350)])
def test_read_yuv_ffmpeg_preset_matches_ffmpeg_buffers(fmt: str, layout: str, hw: tuple[int, int]) -> None:
    """The "ffmpeg" preset reads FFmpeg's own buffer (PyAV's planes at their addresses) bit for bit."""
    h, w = hw
    rgb = np.random.default_rng(7).integers(0, 256, (h, w, 3), dtype=np.uint8)
    planes = _pyav_planes(rgb, fmt)
    base = planes[0].buffer_ptr
    buf = np.zeros(max(p.buffer_ptr - base + p.buffer_size for p in planes), np.uint8)
    for p in planes:
        buf[p.buffer_ptr - base : p.buffer_ptr - base + p.buffer_size] = np.frombuffer(p, np.uint8)
    frame = read_yuv(buf, w, h, layout=layout, preset="ffmpeg")
    y = np.frombuffer(planes[0], np.uint8).reshape(h, planes[0].line_size)[:, :w]
    assert np.array_equal(frame.y, y)
    if layout == "nv12":
        uv = np.frombuffer(planes[1], np.uint8).reshape(h // 2, planes[1].line_size)[:, :w]
        assert np.array_equal(frame.uv.reshape(h // 2, w), uv)
    else:
        for c in (0, 1):
            plane = np.frombuffer(planes[1 + c], np.uint8).reshape(h // 2, planes[1 + c].line_size)[:, : w // 2]
            assert np.array_equal(frame.uv[..., c], plane)


def test_read_yuv_bytes_offsets_and_pairs() -> None:
    rng = np.random.default_rng(0)
    f = NV12Frame(rng.integers(0, 256, (4, 6), dtype=np.uint8), rng.integers(0, 256, (2, 3, 2), dtype=np.uint8))
    packed = f.to_bytes()
    assert read_yuv(packed, 6, 4) == f
    assert read_yuv(bytearray(packed) + bytearray(10), 6, 4, preset="packed") == f  # trailing bytes allowed
    # Header, padded rows, an own chroma stride and a gap, written by hand from the definition.
    buf = np.full(300, 9, np.uint8)
    for r in range(4):
        buf[16 + r * 8 : 16 + r * 8 + 6] = f.y[r]
    for r in range(2):
        buf[100 + r * 10 : 100 + r * 10 + 6] = f.uv[r].reshape(-1)
    assert read_yuv(buf, 6, 4, stride=8, y_offset=16, uv_stride=10, uv_offset=100) == f
    assert read_yuv((buf[16:48].tobytes(), buf[100:120]), 6, 4, stride=8, uv_stride=10) == f


def test_read_yuv_layout_errors() -> None:
    with pytest.raises(InputError, match="unknown layout preset 'gstreamer'.*ffmpeg"):
        read_yuv(bytes(36), 6, 4, preset="gstreamer")
    with pytest.raises(InputError, match="chroma plane needs bytes 24 to 36.*has 30 bytes"):
        read_yuv(bytes(30), 6, 4, preset="packed")
    with pytest.raises(InputError, match="uv_stride=4 is smaller"):
        read_yuv(bytes(64), 6, 4, uv_stride=4)
    with pytest.raises(InputError, match="v_offset is for planar"):
        read_yuv(bytes(64), 6, 4, v_offset=30)
    with pytest.raises(InputError, match="pair"):
        read_yuv((bytes(24), bytes(12), bytes(1)), 6, 4)
    with pytest.raises(InputError, match="odd"):
        read_yuv(bytes(64), 5, 4, preset="ffmpeg")
