"""Tests for nv12kit.images: loading, mode rules, even sizes, resizing."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile, ImageOps

from nv12kit.errors import InputError, NV12KitError
from nv12kit.images import (
    crop_to_even,
    even_size_error_message,
    is_even_size,
    load_image,
    pad_to_even,
    resize_to,
)

try:  # OpenCV is an external reference only; the package never needs it.
    import cv2
except ImportError:  # pragma: no cover
    cv2 = None

needs_cv2 = pytest.mark.skipif(cv2 is None, reason="opencv not installed")

RNG = np.random.default_rng(1234)


def random_rgb(h: int = 6, w: int = 10) -> np.ndarray:
    return RNG.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def check_output(out: np.ndarray, h: int, w: int) -> None:
    assert out.dtype == np.uint8
    assert out.shape == (h, w, 3)
    assert out.flags.c_contiguous


def expected_16_to_8(v: int) -> int:
    # Independent of the implementation: exact rational, rounded half up.
    return int(Fraction(v * 255, 65535) + Fraction(1, 2))


# --------------------------------------------------------------------------
# EXIF orientation
# --------------------------------------------------------------------------


@pytest.fixture
def exif6_jpeg(tmp_path: Path) -> Path:
    """A 32 (H) x 64 (W) stored JPEG with a red top-left block and orientation 6."""
    stored = np.full((32, 64, 3), (0, 0, 200), dtype=np.uint8)
    stored[:16, :16] = (230, 20, 20)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    path = tmp_path / "rot6.jpg"
    Image.fromarray(stored).save(path, quality=95, exif=exif)
    return path


def test_exif_orientation_6_transposes_the_shape(exif6_jpeg: Path) -> None:
    out = load_image(exif6_jpeg)
    check_output(out, 64, 32)


def test_exif_orientation_6_pixels_follow_exif_transpose(exif6_jpeg: Path) -> None:
    out = load_image(exif6_jpeg)
    with Image.open(exif6_jpeg) as im:
        ref = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    np.testing.assert_array_equal(out, ref)
    # A 90 degree clockwise turn brings the stored top-left block to the top-right.
    block = out[:16, -16:].reshape(-1, 3).mean(axis=0)
    assert block[0] > 180 and block[2] < 60
    assert out[-16:, :16, 2].mean() > 150


def test_exif_orientation_is_honoured_for_pil_images(exif6_jpeg: Path) -> None:
    with Image.open(exif6_jpeg) as im:
        out = load_image(im)
        assert im.size == (64, 32)  # the caller's image is not rotated in place
    np.testing.assert_array_equal(out, load_image(exif6_jpeg))


@needs_cv2
def test_exif_orientation_matches_opencv(exif6_jpeg: Path) -> None:
    ref = cv2.imread(str(exif6_jpeg), cv2.IMREAD_COLOR)  # applies EXIF orientation
    out = load_image(exif6_jpeg, order="bgr")
    assert out.shape == ref.shape
    # Different JPEG decoders may differ by a few levels, never by a rotation.
    assert np.abs(out.astype(int) - ref.astype(int)).max() <= 8


# --------------------------------------------------------------------------
# Mode rules, from files
# --------------------------------------------------------------------------


def save(tmp_path: Path, im: Image.Image, name: str) -> Path:
    path = tmp_path / name
    im.save(path)
    return path


def test_rgb_png_is_returned_as_stored(tmp_path: Path) -> None:
    rgb = random_rgb()
    out = load_image(save(tmp_path, Image.fromarray(rgb), "rgb.png"))
    check_output(out, 6, 10)
    np.testing.assert_array_equal(out, rgb)


def test_grey_png_is_replicated(tmp_path: Path) -> None:
    grey = RNG.integers(0, 256, size=(5, 7), dtype=np.uint8)
    out = load_image(save(tmp_path, Image.fromarray(grey), "l.png"))
    check_output(out, 5, 7)
    for c in range(3):
        np.testing.assert_array_equal(out[:, :, c], grey)


def test_bilevel_png_is_black_and_white(tmp_path: Path) -> None:
    bits = RNG.integers(0, 2, size=(4, 9)).astype(bool)
    path = save(tmp_path, Image.fromarray(bits).convert("1"), "bw.png")
    with Image.open(path) as im:
        assert im.mode == "1"
    out = load_image(path)
    np.testing.assert_array_equal(out[:, :, 1], np.where(bits, 255, 0))
    assert np.all(out[:, :, 0] == out[:, :, 2])


def palette_image(mode: str = "P") -> tuple[Image.Image, np.ndarray]:
    palette = RNG.integers(0, 256, size=(256, 3), dtype=np.uint8)
    index = RNG.integers(0, 256, size=(6, 8), dtype=np.uint8)
    im = Image.frombytes("P", (8, 6), index.tobytes())
    im.putpalette(palette.tobytes())
    if mode == "PA":
        im = im.convert("PA")
    return im, palette[index]


def test_palette_png_goes_through_the_palette(tmp_path: Path) -> None:
    im, expected = palette_image()
    path = tmp_path / "p.png"
    im.save(path, transparency=3)  # transparency is discarded, not composited
    with Image.open(path) as reread:
        assert reread.mode == "P"
    np.testing.assert_array_equal(load_image(path), expected)


def test_palette_with_alpha_discards_alpha() -> None:
    im, expected = palette_image("PA")
    assert im.mode == "PA"
    np.testing.assert_array_equal(load_image(im), expected)


def test_rgba_png_drops_alpha_and_keeps_stored_colour(tmp_path: Path) -> None:
    rgba = RNG.integers(0, 256, size=(6, 10, 4), dtype=np.uint8)
    rgba[0, 0, 3] = 0  # fully transparent pixel keeps its colour
    path = save(tmp_path, Image.frombytes("RGBA", (10, 6), rgba.tobytes()), "rgba.png")
    out = load_image(path)
    np.testing.assert_array_equal(out, rgba[:, :, :3])
    with Image.open(path) as im:
        np.testing.assert_array_equal(out, np.asarray(im.convert("RGB")))


@needs_cv2
@pytest.mark.parametrize("mode", ["RGBA", "LA", "L", "P"])
def test_files_match_opencv_imread_color(tmp_path: Path, mode: str) -> None:
    if mode == "P":
        im, _ = palette_image()
    else:
        bands = len(mode)
        data = RNG.integers(0, 256, size=(6, 10, bands), dtype=np.uint8)
        im = Image.frombytes(mode, (10, 6), data.tobytes())
    path = save(tmp_path, im, f"{mode}.png")
    ref = cv2.imread(str(path), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(load_image(path, order="bgr"), ref)


def test_grey_alpha_png_drops_alpha(tmp_path: Path) -> None:
    la = RNG.integers(0, 256, size=(5, 6, 2), dtype=np.uint8)
    out = load_image(save(tmp_path, Image.frombytes("LA", (6, 5), la.tobytes()), "la.png"))
    np.testing.assert_array_equal(out, np.repeat(la[:, :, :1], 3, axis=2))


def test_premultiplied_modes_keep_stored_colour() -> None:
    rgba = RNG.integers(0, 256, size=(3, 4, 4), dtype=np.uint8)
    rgb_a = Image.frombytes("RGBa", (4, 3), rgba.tobytes())
    np.testing.assert_array_equal(load_image(rgb_a), rgba[:, :, :3])
    l_a = Image.frombytes("La", (4, 3), rgba[:, :, :2].copy().tobytes())
    np.testing.assert_array_equal(load_image(l_a), np.repeat(rgba[:, :, :1], 3, axis=2))


def test_rgbx_drops_the_padding_band() -> None:
    rgbx = RNG.integers(0, 256, size=(3, 4, 4), dtype=np.uint8)
    im = Image.frombytes("RGBX", (4, 3), rgbx.tobytes())
    np.testing.assert_array_equal(load_image(im), rgbx[:, :, :3])


def test_cmyk_tiff_uses_pillow_conversion(tmp_path: Path) -> None:
    cmyk = RNG.integers(0, 256, size=(4, 5, 4), dtype=np.uint8)
    cmyk[0, 0] = (255, 0, 0, 0)  # pure cyan
    cmyk[0, 1] = (0, 0, 0, 255)  # black
    cmyk[0, 2] = (0, 0, 0, 0)  # white
    im = Image.frombytes("CMYK", (5, 4), cmyk.tobytes())
    path = save(tmp_path, im, "cmyk.tif")
    out = load_image(path)
    np.testing.assert_array_equal(out, np.asarray(im.convert("RGB")))
    assert out[0, 0].tolist() == [0, 255, 255]
    assert out[0, 1].tolist() == [0, 0, 0]
    assert out[0, 2].tolist() == [255, 255, 255]


@pytest.mark.parametrize("mode", ["YCbCr", "LAB", "HSV"])
def test_other_colour_spaces_use_pillow_conversion(mode: str) -> None:
    data = RNG.integers(0, 256, size=(4, 5, 3), dtype=np.uint8)
    im = Image.frombytes(mode, (5, 4), data.tobytes())
    np.testing.assert_array_equal(load_image(im), np.asarray(im.convert("RGB")))


def test_ycbcr_tiff_neutral_chroma_is_grey(tmp_path: Path) -> None:
    data = np.full((2, 2, 3), 128, dtype=np.uint8)
    data[..., 0] = 90
    path = save(tmp_path, Image.frombytes("YCbCr", (2, 2), data.tobytes()), "y.tif")
    out = load_image(path)
    assert np.abs(out.astype(int) - 90).max() <= 1


def test_hsv_primary_is_red() -> None:
    im = Image.frombytes("HSV", (1, 1), bytes([0, 255, 255]))
    assert load_image(im)[0, 0].tolist() == [255, 0, 0]


SIXTEEN = [0, 1, 128, 129, 257, 385, 386, 32767, 32768, 65406, 65407, 65535]


def test_sixteen_bit_png_is_rounded_to_eight_bits(tmp_path: Path) -> None:
    values = np.array([SIXTEEN], dtype=np.uint16)
    path = tmp_path / "sixteen.png"
    Image.fromarray(values).save(path)
    with Image.open(path) as im:
        assert im.mode == "I;16"
    out = load_image(path)
    expected = [expected_16_to_8(v) for v in SIXTEEN]
    assert out[0, :, 0].tolist() == expected
    # The rule rounds (v >> 8 would give 0 for 257 and 254 for 65407).
    assert expected[:7] == [0, 0, 0, 1, 1, 1, 2]
    assert expected[-3:] == [254, 255, 255]
    np.testing.assert_array_equal(out[..., 0], out[..., 2])


@pytest.mark.parametrize("mode, dtype", [("I;16B", ">u2"), ("I;16L", "<u2"), ("I;16", "<u2")])
def test_sixteen_bit_byte_orders_give_the_same_values(mode: str, dtype: str) -> None:
    raw = np.array(SIXTEEN, dtype=dtype).tobytes()
    im = Image.frombytes(mode, (len(SIXTEEN), 1), raw)
    assert load_image(im)[0, :, 1].tolist() == [expected_16_to_8(v) for v in SIXTEEN]


def test_int32_mode_in_16_bit_range_is_scaled(tmp_path: Path) -> None:
    values = np.array([SIXTEEN], dtype=np.int32)
    im = Image.fromarray(values)
    assert im.mode == "I"
    path = save(tmp_path, im, "i.tif")
    assert load_image(path)[0, :, 0].tolist() == [expected_16_to_8(v) for v in SIXTEEN]


@pytest.mark.parametrize("bad", [70000, -1])
def test_int32_mode_outside_16_bit_range_is_ambiguous(bad: int) -> None:
    im = Image.fromarray(np.array([[0, bad]], dtype=np.int32))
    with pytest.raises(InputError, match="ambiguous") as info:
        load_image(im)
    assert str(bad) in str(info.value)


def test_float_mode_is_rejected_with_fix(tmp_path: Path) -> None:
    path = save(tmp_path, Image.fromarray(np.full((2, 2), 0.5, np.float32)), "f.tif")
    with pytest.raises(InputError, match="ambiguous") as info:
        load_image(path)
    assert "(x * 255).round().astype(np.uint8)" in str(info.value)
    assert str(path) in str(info.value)


# --------------------------------------------------------------------------
# Broken files
# --------------------------------------------------------------------------


def test_truncated_jpeg_is_rejected_naming_the_path(tmp_path: Path) -> None:
    full = io.BytesIO()
    Image.fromarray(random_rgb(64, 64)).save(full, "JPEG")
    path = tmp_path / "truncated.jpg"
    path.write_bytes(full.getvalue()[: len(full.getvalue()) // 2])
    with pytest.raises(InputError, match="corrupt or truncated") as info:
        load_image(path)
    assert str(path) in str(info.value)
    assert "Pillow" in str(info.value)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_garbage_file_is_not_identified(tmp_path: Path) -> None:
    path = tmp_path / "garbage.png"
    path.write_bytes(b"definitely not an image " * 40)
    with pytest.raises(InputError, match="could not identify") as info:
        load_image(str(path))
    assert str(path) in str(info.value)


def test_missing_file_is_rejected_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.jpg"
    with pytest.raises(InputError, match="does not exist") as info:
        load_image(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, NV12KitError)
    assert isinstance(info.value.__cause__, FileNotFoundError)


def test_directory_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="directory") as info:
        load_image(tmp_path)
    assert str(tmp_path) in str(info.value)


@pytest.mark.parametrize("source", [b"\x89PNG", [[1, 2, 3]], None, 3])
def test_unsupported_source_types_are_rejected(source: object) -> None:
    with pytest.raises(InputError, match="cannot read a"):
        load_image(source)  # type: ignore[arg-type]


# --------------------------------------------------------------------------
# Arrays
# --------------------------------------------------------------------------


def test_uint8_rgb_array_is_returned_as_is() -> None:
    rgb = random_rgb()
    out = load_image(rgb)
    check_output(out, 6, 10)
    np.testing.assert_array_equal(out, rgb)


def test_grey_arrays_are_replicated() -> None:
    grey = RNG.integers(0, 256, size=(4, 5), dtype=np.uint8)
    expected = np.stack([grey] * 3, axis=-1)
    np.testing.assert_array_equal(load_image(grey), expected)
    np.testing.assert_array_equal(load_image(grey[:, :, None]), expected)


def test_rgba_array_drops_alpha() -> None:
    rgba = RNG.integers(0, 256, size=(4, 5, 4), dtype=np.uint8)
    out = load_image(rgba)
    check_output(out, 4, 5)
    np.testing.assert_array_equal(out, rgba[:, :, :3])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_array_is_rejected_with_fix(dtype: type) -> None:
    x = np.full((4, 5, 3), 0.5, dtype=dtype)
    with pytest.raises(InputError) as info:
        load_image(x)
    msg = str(info.value)
    assert "(x * 255).round().astype(np.uint8)" in msg
    assert "np.clip(x, 0, 255).round().astype(np.uint8)" in msg
    assert "(4, 5, 3)" in msg


def test_uint16_array_is_rejected_with_fix() -> None:
    with pytest.raises(InputError) as info:
        load_image(np.zeros((4, 5, 3), np.uint16))
    assert "(x >> 8).astype(np.uint8)" in str(info.value)
    assert "32767" in str(info.value)


def test_channels_first_array_is_rejected_with_fix() -> None:
    chw = np.zeros((3, 16, 20), np.uint8)
    with pytest.raises(InputError) as info:
        load_image(chw)
    assert "x.transpose(1, 2, 0)" in str(info.value)
    assert "(3, 16, 20)" in str(info.value)


@pytest.mark.parametrize(
    "shape, fix", [((1, 16, 20, 3), "x[0]"), ((1, 3, 16, 20), "x[0].transpose(1, 2, 0)")]
)
def test_batched_array_is_rejected_with_fix(shape: tuple[int, ...], fix: str) -> None:
    with pytest.raises(InputError) as info:
        load_image(np.zeros(shape, np.uint8))
    assert f"`{fix}`" in str(info.value)


@pytest.mark.parametrize(
    "array",
    [
        np.zeros((4, 5, 2), np.uint8),
        np.zeros((5,), np.uint8),
        np.zeros((2, 4, 5, 3), np.uint8),
        np.zeros((4, 5, 3), np.int32),
        np.zeros((4, 5), bool),
        np.zeros((4, 5, 3), np.complex64),
        np.zeros((0, 5, 3), np.uint8),
        np.zeros((4, 0), np.uint8),
        np.array(7, np.uint8),
    ],
    ids=["2ch", "1d", "batch2", "int32", "bool", "complex", "empty-h", "empty-w", "0d"],
)
def test_other_arrays_are_rejected_with_their_shape(array: np.ndarray) -> None:
    with pytest.raises(InputError) as info:
        load_image(array)
    assert str(array.shape) in str(info.value)


VIEWS = {
    "flip-w": lambda a: a[:, ::-1],
    "flip-h": lambda a: a[::-1],
    "flip-channels": lambda a: a[:, :, ::-1],
    "flip-all": lambda a: a[::-1, ::-1, ::-1],
    "strided": lambda a: a[::2, 1::3],
    "transposed": lambda a: a.transpose(1, 0, 2),
    "fortran": lambda a: np.asfortranarray(a),
}


GREY_VIEWS = {
    "flip-w": lambda a: a[:, ::-1],
    "flip-hw": lambda a: a[::-1, ::-1],
    "strided": lambda a: a[::2, 1::3],
    "transposed": lambda a: a.T,
}
VIEW_CASES = [(c, name, f) for c in (3, 4) for name, f in VIEWS.items()] + [
    (0, name, f) for name, f in GREY_VIEWS.items()
]


@pytest.mark.parametrize(
    "channels, make_view",
    [(c, f) for c, _, f in VIEW_CASES],
    ids=[f"{c or 'grey'}-{name}" for c, name, _ in VIEW_CASES],
)
def test_non_contiguous_views_match_their_contiguous_copy(channels: int, make_view) -> None:
    shape = (9, 13, channels) if channels else (9, 13)
    v = make_view(RNG.integers(0, 256, size=shape, dtype=np.uint8))
    assert not v.flags.c_contiguous
    for order in ("rgb", "bgr"):
        out = load_image(v, order=order)
        assert out.flags.c_contiguous
        np.testing.assert_array_equal(out, load_image(np.ascontiguousarray(v), order=order))


def test_bgr_order_reverses_channels(tmp_path: Path) -> None:
    rgb = random_rgb()
    np.testing.assert_array_equal(load_image(rgb, order="bgr"), rgb[:, :, ::-1])
    path = save(tmp_path, Image.fromarray(rgb), "x.png")
    bgr = load_image(path, order="bgr")
    assert bgr.flags.c_contiguous
    np.testing.assert_array_equal(bgr, rgb[:, :, ::-1])
    np.testing.assert_array_equal(load_image(Image.fromarray(rgb), order="bgr"), bgr)


@pytest.mark.parametrize("order", ["RGB ", "yuv", None, 1])
def test_unknown_order_is_rejected(order: object) -> None:
    with pytest.raises(InputError, match="order must be"):
        load_image(random_rgb(), order=order)  # type: ignore[arg-type]


@pytest.mark.parametrize("order", ["rgb", "bgr"])
@pytest.mark.parametrize("shape", [(6, 8, 3), (6, 8, 4), (6, 8)])
def test_callers_array_is_unchanged(order: str, shape: tuple[int, ...]) -> None:
    original = RNG.integers(0, 256, size=shape, dtype=np.uint8)
    before = original.copy()
    names = ("writeable", "c_contiguous", "f_contiguous", "owndata", "aligned")
    flags = {name: getattr(original.flags, name) for name in names}
    out = load_image(original, order=order)
    np.testing.assert_array_equal(original, before)
    assert {name: getattr(original.flags, name) for name in names} == flags
    if out is not original:  # only an (H, W, 3) uint8 "rgb" input may come back as is
        assert not np.shares_memory(out, original)
    else:
        assert shape == (6, 8, 3) and order == "rgb"


def test_read_only_array_is_accepted() -> None:
    rgb = random_rgb()
    rgb.flags.writeable = False
    np.testing.assert_array_equal(load_image(rgb, order="bgr"), rgb[:, :, ::-1])
    assert not rgb.flags.writeable


def test_callers_pil_image_is_unchanged() -> None:
    im = Image.frombytes("RGBA", (6, 4), RNG.integers(0, 256, size=(4, 6, 4), dtype=np.uint8).tobytes())
    before = im.tobytes()
    load_image(im)
    assert im.mode == "RGBA" and im.size == (6, 4) and im.tobytes() == before


def test_results_from_files_are_writable(tmp_path: Path) -> None:
    path = save(tmp_path, Image.fromarray(random_rgb()), "w.png")
    assert load_image(path).flags.writeable
    assert load_image(Image.open(path)).flags.writeable


# --------------------------------------------------------------------------
# Even sizes
# --------------------------------------------------------------------------


def test_even_size_message_names_size_reason_and_fixes() -> None:
    msg = even_size_error_message(481, 641)
    assert "481x641" in msg
    assert "height and width are odd" in msg
    assert "2x2" in msg
    assert "nv12kit.pad_to_even(img)" in msg
    assert "nv12kit.crop_to_even(img)" in msg
    assert "the width is odd" in even_size_error_message(480, 641)


def test_is_even_size() -> None:
    assert is_even_size(np.zeros((4, 6, 3), np.uint8))
    assert not is_even_size(np.zeros((5, 6), np.uint8))
    assert not is_even_size(np.zeros((4, 7, 3), np.uint8))
    assert is_even_size(Image.new("RGB", (6, 4)))
    assert not is_even_size(Image.new("RGB", (7, 4)))
    with pytest.raises(InputError):
        is_even_size(np.zeros(4, np.uint8))
    with pytest.raises(InputError):
        is_even_size([[1, 2]])  # type: ignore[arg-type]


def test_odd_image_is_padded_by_repeating_the_edge() -> None:
    img = random_rgb(5, 7)
    out = pad_to_even(img)
    check_output(out, 6, 8)
    np.testing.assert_array_equal(out[:5, :7], img)
    np.testing.assert_array_equal(out[5, :7], img[4])
    np.testing.assert_array_equal(out[:5, 7], img[:, 6])
    np.testing.assert_array_equal(out[5, 7], img[4, 6])


def test_reflect_padding_mirrors_about_the_last_row() -> None:
    img = random_rgb(5, 7)
    out = pad_to_even(img, mode="reflect")
    np.testing.assert_array_equal(out[5, :7], img[3])
    np.testing.assert_array_equal(out[:5, 7], img[:, 5])


def test_constant_padding_is_zero() -> None:
    img = np.full((3, 4, 3), 200, np.uint8)
    out = pad_to_even(img, mode="constant")
    assert out.shape == (4, 4, 3)
    assert np.all(out[3] == 0) and np.all(out[:3] == 200)


def test_only_the_odd_dimension_is_padded() -> None:
    assert pad_to_even(random_rgb(4, 7)).shape == (4, 8, 3)
    assert pad_to_even(random_rgb(5, 8)).shape == (6, 8, 3)
    assert pad_to_even(np.zeros((1, 1), np.uint8), mode="reflect").shape == (2, 2)


@pytest.mark.parametrize("func", [pad_to_even, crop_to_even])
def test_even_input_comes_back_as_an_equal_copy(func) -> None:
    img = random_rgb(4, 6)
    before = img.copy()
    out = func(img)
    np.testing.assert_array_equal(out, img)
    assert not np.shares_memory(out, img)
    out[...] = 0
    np.testing.assert_array_equal(img, before)


def test_odd_image_is_cropped_at_bottom_right() -> None:
    img = random_rgb(5, 7)
    out = crop_to_even(img)
    check_output(out, 4, 6)
    np.testing.assert_array_equal(out, img[:4, :6])
    grey = img[:, :, 0]
    assert crop_to_even(grey).shape == (4, 6)


def test_one_pixel_dimension_cannot_be_cropped() -> None:
    with pytest.raises(InputError, match="pad_to_even"):
        crop_to_even(np.zeros((1, 6, 3), np.uint8))


@pytest.mark.parametrize("func", [pad_to_even, crop_to_even, lambda x: resize_to(x, 4, 4)])
@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((5, 7, 3), np.float32),
        np.zeros((5, 7, 4), np.uint8),
        np.zeros((3, 5, 7), np.uint8),
        np.zeros((0, 7, 3), np.uint8),
        np.zeros(7, np.uint8),
        Image.new("RGB", (7, 5)),
        "image.png",
    ],
    ids=["float", "rgba", "chw", "empty", "1d", "pil", "path"],
)
def test_helpers_reject_bad_images(func, bad) -> None:
    with pytest.raises(InputError):
        func(bad)


def test_unknown_pad_mode_is_rejected() -> None:
    with pytest.raises(InputError, match="mode must be one of"):
        pad_to_even(random_rgb(5, 5), mode="wrap")  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    grey=st.booleans(),
    mode=st.sampled_from(["edge", "reflect", "constant"]),
)
def test_pad_and_crop_give_even_sizes_and_keep_the_origin(h, w, grey, mode) -> None:
    img = RNG.integers(0, 256, size=(h, w) if grey else (h, w, 3), dtype=np.uint8)
    padded = pad_to_even(img[::-1], mode=mode)
    assert padded.shape[:2] == (h + h % 2, w + w % 2)
    assert padded.shape[2:] == img.shape[2:]
    assert is_even_size(padded)
    np.testing.assert_array_equal(padded[:h, :w], img[::-1])
    if h > 1 and w > 1:
        cropped = crop_to_even(img)
        assert cropped.shape[:2] == (h - h % 2, w - w % 2)
        np.testing.assert_array_equal(cropped, img[: h - h % 2, : w - w % 2])


# --------------------------------------------------------------------------
# resize_to
# --------------------------------------------------------------------------


@pytest.mark.parametrize("resample", ["nearest", "bilinear", "bicubic", "lanczos", "area", "AREA"])
def test_resize_gives_the_requested_size(resample: str) -> None:
    out = resize_to(random_rgb(9, 13), 6, 4, resample=resample)
    check_output(out, 6, 4)


def test_nearest_upscale_replicates_pixels() -> None:
    img = random_rgb(3, 4)
    out = resize_to(img, 6, 8, resample="nearest")
    np.testing.assert_array_equal(out, img.repeat(2, axis=0).repeat(2, axis=1))


def test_bilinear_matches_pillow() -> None:
    img = random_rgb(17, 23)
    ref = np.asarray(Image.fromarray(img).resize((11, 7), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(resize_to(img, 7, 11), ref)


def test_area_halving_averages_2x2_blocks() -> None:
    img = random_rgb(8, 10)
    means = img.reshape(4, 2, 5, 2, 3).astype(float).mean(axis=(1, 3))
    out = resize_to(img, 4, 5, resample="area")
    # Pillow filters rows then columns, rounding to uint8 after each pass.
    assert np.abs(out - means).max() <= 1


@needs_cv2
def test_area_halving_matches_opencv_inter_area() -> None:
    img = random_rgb(16, 20)
    ref = cv2.resize(img, (10, 8), interpolation=cv2.INTER_AREA)
    assert np.abs(resize_to(img, 8, 10, resample="area").astype(int) - ref).max() <= 1


def test_resize_of_grey_and_views() -> None:
    grey = RNG.integers(0, 256, size=(8, 10), dtype=np.uint8)
    assert resize_to(grey, 4, 5).shape == (4, 5)
    img = random_rgb(8, 10)
    np.testing.assert_array_equal(resize_to(img[:, ::-1], 4, 5), resize_to(img[:, ::-1].copy(), 4, 5))


def test_resize_to_same_size_is_an_equal_copy() -> None:
    img = random_rgb(5, 7)
    out = resize_to(img, 5, 7)
    np.testing.assert_array_equal(out, img)
    assert not np.shares_memory(out, img)


@pytest.mark.parametrize(
    "height, width, resample",
    [
        (0, 4, "bilinear"),
        (4, -1, "bilinear"),
        (4.0, 4, "bilinear"),
        (True, 4, "bilinear"),
        (4, "4", "bilinear"),
        (4, 4, "cubic"),
        (4, 4, None),
        (4, 4, Image.Resampling.BILINEAR),
    ],
)
def test_resize_rejects_bad_arguments(height, width, resample) -> None:
    with pytest.raises(InputError):
        resize_to(random_rgb(), height, width, resample=resample)


def test_resize_accepts_numpy_integer_sizes() -> None:
    assert resize_to(random_rgb(), np.int64(3), np.uint16(5)).shape == (3, 5, 3)
