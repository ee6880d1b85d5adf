"""Bad input to rgb_to_nv12 / nv12_to_rgb fails with a helpful nv12kit error, and good input is left alone."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

import nv12kit
from nv12kit import ConventionError, InputError, NV12Frame, NV12KitError, nv12_to_rgb, rgb_to_nv12

__all__: list[str] = []

PRESETS = list(nv12kit.CONVENTIONS)


def good_image(h: int = 4, w: int = 6, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def good_frame(h: int = 4, w: int = 6, seed: int = 0) -> NV12Frame:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 256, (h, w), dtype=np.uint8)
    return NV12Frame(y, rng.integers(0, 256, (h // 2, w // 2, 2), dtype=np.uint8))


def raises(exc: type[Exception], func, *args, **kwargs) -> str:
    """Call ``func``, require ``exc`` (an nv12kit error that is also a ValueError), return its message."""
    with pytest.raises(exc) as info:
        func(*args, **kwargs)
    err = info.value
    assert isinstance(err, NV12KitError) and isinstance(err, ValueError), type(err).__mro__
    return str(err)


def assert_mentions(message: str, *fragments: str) -> None:
    for fragment in fragments:
        assert fragment.lower() in message.lower(), f"{fragment!r} not in message: {message}"


# ----------------------------------------------------------------------------
# sizes
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("h, w", [(480, 641), (481, 640), (481, 641), (2, 3), (3, 2)])
def test_odd_size_is_rejected_with_size_and_fix(h, w):
    msg = raises(InputError, rgb_to_nv12, np.zeros((h, w, 3), np.uint8))
    assert_mentions(msg, f"{h}x{w}", "even", "crop_to_even", "pad_to_even")


@pytest.mark.parametrize("name", PRESETS)
def test_odd_width_is_rejected_by_every_preset(name):
    msg = raises(InputError, rgb_to_nv12, np.zeros((4, 5, 3), np.uint8), convention=name)
    assert_mentions(msg, "4x5", "crop_to_even")


def test_odd_pil_image_is_rejected_with_fix():
    img = Image.fromarray(np.zeros((5, 8, 3), np.uint8))
    msg = raises(InputError, rgb_to_nv12, img)
    assert_mentions(msg, "5x8", "pad_to_even")


@pytest.mark.parametrize("shape", [(0, 0, 3), (0, 4, 3), (4, 0, 3)])
def test_empty_image_is_rejected(shape):
    msg = raises(InputError, rgb_to_nv12, np.zeros(shape, np.uint8))
    assert_mentions(msg, "empty", str(shape))


# ----------------------------------------------------------------------------
# dtypes
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_float_image_is_rejected_and_not_rescaled(dtype):
    msg = raises(InputError, rgb_to_nv12, np.full((4, 6, 3), 0.5, dtype))
    assert_mentions(msg, np.dtype(dtype).name, "uint8", "* 255", "astype(np.uint8)")
    assert re.search(r"\b(not|never) rescaled", msg), msg


@pytest.mark.parametrize("dtype", [np.uint16, np.int16, np.int32, np.int64])
def test_wide_integer_image_is_rejected_with_conversion(dtype):
    msg = raises(InputError, rgb_to_nv12, np.zeros((4, 6, 3), dtype))
    assert_mentions(msg, np.dtype(dtype).name, "uint8", "astype(np.uint8)")


def test_bool_image_is_rejected():
    msg = raises(InputError, rgb_to_nv12, np.zeros((4, 6, 3), bool))
    assert_mentions(msg, "bool", "uint8")


# ----------------------------------------------------------------------------
# shapes
# ----------------------------------------------------------------------------
def test_greyscale_2d_image_is_rejected_with_hint():
    msg = raises(InputError, rgb_to_nv12, np.zeros((4, 6), np.uint8))
    assert_mentions(msg, "(4, 6)", "(H, W, 3)", "np.repeat")


def test_rgba_image_is_rejected_with_alpha_hint():
    msg = raises(InputError, rgb_to_nv12, np.zeros((4, 6, 4), np.uint8))
    assert_mentions(msg, "(4, 6, 4)", "alpha", "[..., :3]")


def test_channel_first_image_gets_a_transpose_hint():
    msg = raises(InputError, rgb_to_nv12, np.zeros((3, 4, 6), np.uint8))
    assert_mentions(msg, "(3, 4, 6)", "CHW", "transpose(1, 2, 0)")


def test_batched_image_gets_a_batch_hint():
    msg = raises(InputError, rgb_to_nv12, np.zeros((1, 4, 6, 3), np.uint8))
    assert_mentions(msg, "(1, 4, 6, 3)", "batch", "image[0]")


def test_list_instead_of_array_is_rejected():
    img = good_image().tolist()
    msg = raises(InputError, rgb_to_nv12, img)
    assert_mentions(msg, "list", "numpy array", "load_image")


# ----------------------------------------------------------------------------
# options
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("func, arg", [(rgb_to_nv12, good_image()), (nv12_to_rgb, good_frame())])
@pytest.mark.parametrize("bad", ["bt601", "BT.709", "", "yuv"])
def test_unknown_convention_lists_valid_names(func, arg, bad):
    msg = raises(ConventionError, func, arg, convention=bad)
    assert_mentions(msg, repr(bad), *PRESETS)


@pytest.mark.parametrize("func, arg", [(rgb_to_nv12, good_image()), (nv12_to_rgb, good_frame())])
def test_non_string_convention_is_rejected(func, arg):
    msg = raises(ConventionError, func, arg, convention=601)
    assert_mentions(msg, "int", "Convention")


@pytest.mark.parametrize("func, arg", [(rgb_to_nv12, good_image()), (nv12_to_rgb, good_frame())])
@pytest.mark.parametrize("bad", ["RGBA", "yuv", "", None])
def test_bad_order_is_rejected(func, arg, bad):
    msg = raises(InputError, func, arg, order=bad)
    assert_mentions(msg, "'rgb'", "'bgr'", repr(bad))


# ----------------------------------------------------------------------------
# decode input
# ----------------------------------------------------------------------------
def test_decode_rejects_full_resolution_chroma():
    msg = raises(InputError, nv12_to_rgb, (np.zeros((4, 6), np.uint8), np.zeros((4, 6, 2), np.uint8)))
    assert_mentions(msg, "(4, 6, 2)", "(2, 3, 2)", "4:4:4")


def test_decode_rejects_flat_uv_rows_with_reshape_hint():
    msg = raises(InputError, nv12_to_rgb, (np.zeros((4, 6), np.uint8), np.zeros((2, 6), np.uint8)))
    assert_mentions(msg, "(2, 6)", "reshape(2, 3, 2)")


def test_decode_rejects_odd_y():
    msg = raises(InputError, nv12_to_rgb, (np.zeros((5, 6), np.uint8), np.zeros((2, 3, 2), np.uint8)))
    assert_mentions(msg, "odd height", "pad_to_even")


def test_decode_rejects_float_planes():
    msg = raises(InputError, nv12_to_rgb, (np.zeros((4, 6), np.float32), np.zeros((2, 3, 2), np.uint8)))
    assert_mentions(msg, "float32", "uint8")
    assert re.search(r"\b(not|never) rescaled", msg), msg


@pytest.mark.parametrize(
    "bad",
    [
        (np.zeros((4, 6), np.uint8),),
        [np.zeros((4, 6), np.uint8), np.zeros((2, 3, 2), np.uint8)],
        np.zeros((6, 6), np.uint8),
        b"\0" * 36,
    ],
    ids=["one-tuple", "list", "array", "bytes"],
)
def test_decode_rejects_things_that_are_not_frames(bad):
    msg = raises(InputError, nv12_to_rgb, bad)
    assert_mentions(msg, "NV12Frame", "(y, uv) tuple", type(bad).__name__)


# ----------------------------------------------------------------------------
# the user's arrays are never modified
# ----------------------------------------------------------------------------
def snapshot(arr: np.ndarray) -> tuple[np.ndarray, dict[str, bool], tuple[int, ...]]:
    flags = {k: bool(arr.flags[k]) for k in ("C_CONTIGUOUS", "F_CONTIGUOUS", "OWNDATA", "WRITEABLE", "ALIGNED")}
    return arr.copy(order="K"), flags, arr.strides


def assert_unchanged(arr: np.ndarray, before: tuple[np.ndarray, dict[str, bool], tuple[int, ...]]) -> None:
    data, flags, strides = before
    assert np.array_equal(arr, data)
    assert {k: bool(arr.flags[k]) for k in flags} == flags
    assert arr.strides == strides


def input_variants() -> dict[str, np.ndarray]:
    img = good_image(6, 10, seed=5)
    read_only = img.copy()
    read_only.setflags(write=False)
    return {
        "contiguous": img.copy(),
        "read-only": read_only,
        "bgr view": img.copy()[..., ::-1],
        "fortran": np.asfortranarray(img),
        "slice": np.pad(img, ((1, 1), (2, 2), (0, 0)))[1:-1, 2:-2],
    }


@pytest.mark.parametrize("name", PRESETS)
@pytest.mark.parametrize("variant", list(input_variants()))
def test_encode_leaves_input_untouched_and_unaliased(name, variant):
    img = input_variants()[variant]
    before = snapshot(img)
    frame = rgb_to_nv12(img, convention=name)
    assert_unchanged(img, before)
    y, uv = frame.y.copy(), frame.uv.copy()
    if img.flags.writeable:
        img[...] = 255 - img  # the frame must not be a view of the input
        assert np.array_equal(frame.y, y) and np.array_equal(frame.uv, uv)


@pytest.mark.parametrize("name", PRESETS)
def test_decode_leaves_planes_untouched(name):
    frame = good_frame(6, 10, seed=6)
    y, uv = frame.y.copy(), frame.uv.copy()
    y_before, uv_before = snapshot(y), snapshot(uv)
    frame_before = (frame.y.copy(), frame.uv.copy())
    out = nv12_to_rgb((y, uv), convention=name)
    assert_unchanged(y, y_before)
    assert_unchanged(uv, uv_before)
    out2 = nv12_to_rgb(frame, convention=name, order="bgr")
    assert np.array_equal(frame.y, frame_before[0]) and np.array_equal(frame.uv, frame_before[1])
    # The result is the caller's to modify, without reaching back into the frame or the planes.
    assert not np.shares_memory(out, y) and not np.shares_memory(out, uv)
    assert not np.shares_memory(out2, frame.y) and not np.shares_memory(out2, frame.uv)


def test_encode_of_a_failing_input_leaves_it_untouched():
    img = np.arange(5 * 6 * 3, dtype=np.uint8).reshape(5, 6, 3)
    before = snapshot(img)
    raises(InputError, rgb_to_nv12, img)
    assert_unchanged(img, before)
