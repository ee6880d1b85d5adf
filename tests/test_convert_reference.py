"""Each conversion preset is bit-exact to its real reference.

Every reference here is written out plainly and independently of nv12kit:
the forum's Pillow recipe, OpenCV's cvtColor, libyuv's integer formulas and
the published float formulas, all as stated in
/work/shared/design/CONVENTIONS.md.  nv12kit is only ever the thing under
test.  Inputs: the bundled photos, random images, an image holding every
24-bit colour, and an NV12 frame holding every (Y, U, V) combination.
"""

from __future__ import annotations

import math
from fractions import Fraction

import cv2
import numpy as np
import pytest
from forum_recipe import forum_rgb_to_nv12
from PIL import Image

import nv12kit
from nv12kit import InputError, NV12Frame, nv12_to_rgb, rgb_to_nv12

__all__: list[str] = []

GENERIC = [f"{m}-{r}" for m in ("bt601", "bt709", "bt2020") for r in ("full", "limited")]
# Luma weights from the standards (CONVENTIONS.md), typed in again on purpose.
KR_KB = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722), "bt2020": (0.2627, 0.0593)}


# ----------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------
def assert_identical(got: np.ndarray, want: np.ndarray, what: str) -> None:
    """Byte equality, with the number and first positions of mismatches on failure."""
    assert got.shape == want.shape, f"{what}: shape {got.shape} != reference {want.shape}"
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != reference {want.dtype}"
    bad = np.argwhere(got != want)
    if bad.size:
        first = [tuple(int(i) for i in p) for p in bad[:5]]
        samples = [(int(got[p]), int(want[p])) for p in first]
        raise AssertionError(
            f"{what}: {len(bad)} of {got.size} samples differ; first at {first} (got, want) = {samples}"
        )


def assert_close(got: np.ndarray, want: np.ndarray, what: str, *, tol: int, min_identical: float) -> None:
    """At most ``tol`` levels apart everywhere and identical on at least ``min_identical`` of samples."""
    assert got.shape == want.shape, f"{what}: shape {got.shape} != reference {want.shape}"
    diff = np.abs(got.astype(np.int16) - want.astype(np.int16))
    identical = float(np.mean(diff == 0))
    assert diff.max() <= tol, f"{what}: max diff {diff.max()} > {tol} at {np.unravel_index(diff.argmax(), diff.shape)}"
    assert identical >= min_identical, f"{what}: only {identical:.6%} identical (need {min_identical:.4%})"


def as_uint8(values: np.ndarray) -> np.ndarray:
    """Cast integer results that must already be 0..255 (a reference never clips silently)."""
    assert values.min() >= 0 and values.max() <= 255, (values.min(), values.max())
    return values.astype(np.uint8)


def interleave(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(h, w) U and V planes -> (h, w, 2), U first."""
    return np.stack([u, v], axis=-1)


def nearest_up(plane: np.ndarray) -> np.ndarray:
    return np.repeat(np.repeat(plane, 2, axis=0), 2, axis=1)


def block_mean(plane: np.ndarray) -> np.ndarray:
    """Exact float64 mean of each 2x2 block."""
    p = plane.astype(np.float64)
    return (p[0::2, 0::2] + p[0::2, 1::2] + p[1::2, 0::2] + p[1::2, 1::2]) / 4.0


def round_half_up(x: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(x + 0.5), 0, 255).astype(np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


def flat_444(img: np.ndarray) -> np.ndarray:
    """Each 2x2 block filled with its top-left colour: an image 4:2:0 loses nothing of."""
    return nearest_up(img[0::2, 0::2])


# ----------------------------------------------------------------------------
# the references, each written from its source and nothing else
# ----------------------------------------------------------------------------
def ref_pil(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y, uv = forum_rgb_to_nv12(Image.fromarray(rgb))
    return y, uv.reshape(uv.shape[0], -1, 2)


def i420_to_planes(buf: np.ndarray, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Parse OpenCV's (H*3/2, W) I420 buffer by hand: Y, then U, then V, then interleave."""
    flat = buf.reshape(-1)
    assert flat.size == h * w * 3 // 2
    y = flat[: h * w].reshape(h, w)
    u = flat[h * w : h * w + h * w // 4].reshape(h // 2, w // 2)
    v = flat[h * w + h * w // 4 :].reshape(h // 2, w // 2)
    return y, interleave(u, v)


def ref_opencv(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h, w = rgb.shape[:2]
    return i420_to_planes(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420), h, w)


def _libyuv(rgb: np.ndarray, *, jpeg: bool) -> tuple[np.ndarray, np.ndarray]:
    r, g, b = (rgb[..., c].astype(np.int64) for c in range(3))
    if jpeg:
        y = (77 * r + 150 * g + 29 * b + 128) >> 8
    else:
        y = (66 * r + 129 * g + 25 * b + 0x1080) >> 8

    def avg(p: np.ndarray) -> np.ndarray:
        return (p[0::2, 0::2] + p[0::2, 1::2] + p[1::2, 0::2] + p[1::2, 1::2] + 2) >> 2

    ra, ga, ba = avg(r), avg(g), avg(b)
    if jpeg:
        u = (-43 * ra - 85 * ga + 128 * ba + 0x8000) >> 8
        v = (128 * ra - 107 * ga - 21 * ba + 0x8000) >> 8
    else:
        u = (112 * ba - 74 * ga - 38 * ra + 0x8000) >> 8
        v = (112 * ra - 94 * ga - 18 * ba + 0x8000) >> 8
    return as_uint8(y), interleave(as_uint8(u), as_uint8(v))


def ref_libyuv(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _libyuv(rgb, jpeg=False)


def ref_libyuv_jpeg(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _libyuv(rgb, jpeg=True)


def ref_horizon(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Horizon's published float formula, float64, evaluated as written, truncated by astype."""
    r, g, b = (rgb[..., c].astype(np.float64) for c in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    u = -0.169 * r - 0.331 * g + 0.5 * b + 128
    v = 0.5 * r - 0.419 * g - 0.081 * b + 128
    # Every value is in [0, 256), so astype is well defined (no wrap-around hides here).
    for plane in (y, u, v):
        assert plane.min() >= 0 and plane.max() < 256
    return y.astype(np.uint8), interleave(u[0::2, 0::2].astype(np.uint8), v[0::2, 0::2].astype(np.uint8))


EXACT_REFERENCES = {
    "pil": ref_pil,
    "opencv": ref_opencv,
    "libyuv": ref_libyuv,
    "libyuv-jpeg": ref_libyuv_jpeg,
    "horizon": ref_horizon,
}


def textbook_encode(rgb: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Float64 YCbCr from Kr, Kb; chroma from the 2x2 box mean; round to nearest."""
    matrix, rng = name.split("-")
    kr, kb = KR_KB[matrix]
    kg = 1.0 - kr - kb

    def ycbcr(r: np.ndarray, g: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ...]:
        y = kr * r + kg * g + kb * b
        cb = (b - y) / (2 * (1 - kb))
        cr = (r - y) / (2 * (1 - kr))
        if rng == "limited":
            return y * 219 / 255 + 16, cb * 224 / 255 + 128, cr * 224 / 255 + 128
        return y, cb + 128, cr + 128

    full = [rgb[..., c].astype(np.float64) for c in range(3)]
    y, _, _ = ycbcr(*full)
    _, cb, cr = ycbcr(*(block_mean(p) for p in full))
    return round_half_up(y), interleave(round_half_up(cb), round_half_up(cr))


def textbook_decode(y: np.ndarray, u: np.ndarray, v: np.ndarray, name: str) -> np.ndarray:
    """Float64 inverse of :func:`textbook_encode` (solved by hand), nearest chroma, round to nearest."""
    matrix, rng = name.split("-")
    kr, kb = KR_KB[matrix]
    kg = 1.0 - kr - kb
    yf = y.astype(np.float64)
    cb = nearest_up(u).astype(np.float64) - 128
    cr = nearest_up(v).astype(np.float64) - 128
    if rng == "limited":
        yf = (yf - 16) * 255 / 219
        cb = cb * 255 / 224
        cr = cr * 255 / 224
    r = yf + 2 * (1 - kr) * cr
    b = yf + 2 * (1 - kb) * cb
    g = (yf - kr * r - kb * b) / kg
    return np.stack([round_half_up(r), round_half_up(g), round_half_up(b)], axis=-1)


def bt601_full_decode(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The BT.601 full-range inverse with the rounded constants of CONVENTIONS.md."""
    yf = y.astype(np.float64)
    du = nearest_up(u).astype(np.float64) - 128
    dv = nearest_up(v).astype(np.float64) - 128
    r = yf + 1.402 * dv
    g = yf - 0.344136 * du - 0.714136 * dv
    b = yf + 1.772 * du
    return np.stack([round_half_up(r), round_half_up(g), round_half_up(b)], axis=-1)


def check_exact(rgb: np.ndarray, name: str, what: str) -> None:
    frame = rgb_to_nv12(rgb, convention=name)
    y, uv = EXACT_REFERENCES[name](rgb)
    assert_identical(frame.y, y, f"{what} {name} Y")
    assert_identical(frame.uv, uv, f"{what} {name} UV")


# ----------------------------------------------------------------------------
# sanity of the test inputs themselves
# ----------------------------------------------------------------------------
def test_all_colours_image_holds_every_colour_once(all_colours):
    packed = (all_colours[..., 0].astype(np.uint32) << 16) | (all_colours[..., 1].astype(np.uint32) << 8)
    packed |= all_colours[..., 2]
    assert np.array_equal(np.sort(packed, axis=None), np.arange(1 << 24, dtype=np.uint32))


def test_flat_quarters_hold_every_colour_as_a_whole_block(all_colours_flat):
    seen = []
    for q in range(4):
        img = all_colours_flat(q)
        assert np.array_equal(img, flat_444(img))
        tl = img[0::2, 0::2].astype(np.uint32)
        seen.append(((tl[..., 0] << 16) | (tl[..., 1] << 8) | tl[..., 2]).ravel())
    assert np.array_equal(np.sort(np.concatenate(seen)), np.arange(1 << 24, dtype=np.uint32))


def test_exhaustive_yuv_frame_holds_every_yuv_combination(all_yuv_frame):
    y = all_yuv_frame.y.astype(np.uint32)
    uv = nearest_up(all_yuv_frame.u).astype(np.uint32), nearest_up(all_yuv_frame.v).astype(np.uint32)
    packed = (y << 16) | (uv[0] << 8) | uv[1]
    assert np.array_equal(np.sort(packed, axis=None), np.arange(1 << 24, dtype=np.uint32))


def test_photos_are_real_and_even(photos):
    assert len(photos) == 3
    for name, img in photos.items():
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3, name
        assert img.shape[0] % 2 == 0 and img.shape[1] % 2 == 0, name
        assert img.std() > 20, f"{name} looks blank"


# ----------------------------------------------------------------------------
# 1, 2, 4, 5: exact encoders (pil, opencv, libyuv, libyuv-jpeg, horizon)
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(EXACT_REFERENCES))
def test_encode_is_byte_identical_to_reference_on_photos(name, photos):
    for photo, img in photos.items():
        check_exact(img, name, photo)


@pytest.mark.parametrize("name", list(EXACT_REFERENCES))
def test_encode_is_byte_identical_to_reference_on_random_images(name, random_rgb):
    check_exact(random_rgb, name, f"random {random_rgb.shape}")


@pytest.mark.parametrize("name", list(EXACT_REFERENCES))
def test_encode_is_byte_identical_to_reference_on_every_colour(name, all_colours):
    check_exact(all_colours, name, "all colours")


@pytest.mark.parametrize("name", list(EXACT_REFERENCES))
def test_encode_chroma_is_byte_identical_with_every_colour_as_a_block(name, all_colours_flat):
    # The all-colours image feeds only a quarter of the colours to a top-left chroma
    # sampler; these four images feed all of them, as whole 2x2 blocks.
    for q in range(4):
        check_exact(all_colours_flat(q), name, f"flat quarter {q}")


def test_forum_recipe_on_odd_size_silently_mismatches_and_nv12kit_refuses(odd_photo):
    h, w = odd_photo.shape[:2]
    y, uv = forum_rgb_to_nv12(Image.fromarray(odd_photo))
    assert y.shape == (h, w)
    assert uv.shape == (h // 2, w // 2 * 2)
    # The planes no longer describe one picture: Y has more rows or columns than 2x the chroma.
    assert (y.shape[0], y.shape[1]) != (2 * uv.shape[0], uv.shape[1])
    with pytest.raises(InputError, match=f"{h}x{w}"):
        rgb_to_nv12(odd_photo, convention="pil")


def test_forum_recipe_on_cropped_odd_photo_matches_pil_preset(odd_photo):
    img = nv12kit.crop_to_even(odd_photo)
    assert img.shape[:2] == (odd_photo.shape[0] // 2 * 2, odd_photo.shape[1] // 2 * 2)
    check_exact(img, "pil", "cropped odd photo")


def test_opencv_bgr_encode_is_byte_identical_to_cv2(photos, all_colours):
    for what, rgb in [*photos.items(), ("all colours", all_colours)]:
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        h, w = bgr.shape[:2]
        y, uv = i420_to_planes(cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420), h, w)
        frame = rgb_to_nv12(bgr, convention="opencv", order="bgr")
        assert_identical(frame.y, y, f"{what} BGR Y")
        assert_identical(frame.uv, uv, f"{what} BGR UV")


# ----------------------------------------------------------------------------
# 3: OpenCV decode
# ----------------------------------------------------------------------------
def nv12_buffer(frame: NV12Frame) -> np.ndarray:
    """NV12 bytes built by hand as OpenCV wants them: (H*3/2, W)."""
    h, w = frame.shape
    return np.concatenate([frame.y.ravel(), frame.uv.ravel()]).reshape(h * 3 // 2, w)


def random_frames() -> list[NV12Frame]:
    frames = []
    for seed, (h, w) in enumerate([(2, 2), (6, 10), (30, 46), (480, 640)]):
        rng = np.random.default_rng(100 + seed)
        frames.append(
            NV12Frame(
                rng.integers(0, 256, (h, w), dtype=np.uint8), rng.integers(0, 256, (h // 2, w // 2, 2), dtype=np.uint8)
            )
        )
    return frames


@pytest.mark.parametrize("frame", random_frames(), ids=lambda f: f"{f.height}x{f.width}")
def test_opencv_decode_is_byte_identical_to_cv2_rgb_bgr_and_nv21(frame):
    buf = nv12_buffer(frame)
    assert_identical(nv12_to_rgb(frame, convention="opencv"), cv2.cvtColor(buf, cv2.COLOR_YUV2RGB_NV12), "RGB")
    assert_identical(
        nv12_to_rgb(frame, convention="opencv", order="bgr"), cv2.cvtColor(buf, cv2.COLOR_YUV2BGR_NV12), "BGR"
    )
    h, w = frame.shape
    nv21 = np.frombuffer(frame.to_bytes(layout="nv21"), np.uint8).reshape(h * 3 // 2, w)
    # Same chroma bytes, swapped: the NV21 buffer differs from the NV12 one unless U == V everywhere.
    assert not np.array_equal(nv21, buf)
    assert_identical(nv12_to_rgb(frame, convention="opencv"), cv2.cvtColor(nv21, cv2.COLOR_YUV2RGB_NV21), "NV21")


def test_opencv_decode_of_photo_encodes_is_byte_identical_to_cv2(photos):
    for what, img in photos.items():
        frame = rgb_to_nv12(img, convention="opencv")
        want = cv2.cvtColor(nv12_buffer(frame), cv2.COLOR_YUV2RGB_NV12)
        assert_identical(nv12_to_rgb(frame, convention="opencv"), want, what)


def test_opencv_decode_is_byte_identical_to_cv2_for_every_yuv_combination(all_yuv_frame):
    buf = nv12_buffer(all_yuv_frame)
    assert_identical(
        nv12_to_rgb(all_yuv_frame, convention="opencv"), cv2.cvtColor(buf, cv2.COLOR_YUV2RGB_NV12), "exhaustive RGB"
    )
    assert_identical(
        nv12_to_rgb(all_yuv_frame, convention="opencv", order="bgr"),
        cv2.cvtColor(buf, cv2.COLOR_YUV2BGR_NV12),
        "exhaustive BGR",
    )


# ----------------------------------------------------------------------------
# 6: generic presets against the float64 formulas from Kr and Kb
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", GENERIC)
def test_generic_encode_matches_float64_formula(name, photos, all_colours):
    inputs = [*photos.items(), ("all colours", all_colours)]
    inputs += [(f"random {s}", np.random.default_rng(s).integers(0, 256, (30, 46, 3), dtype=np.uint8)) for s in (0, 1)]
    for what, rgb in inputs:
        frame = rgb_to_nv12(rgb, convention=name)
        y, uv = textbook_encode(rgb, name)
        # Same formula, other order of float operations: a value on a .5 boundary may move one level.
        assert_close(frame.y, y, f"{what} {name} Y", tol=1, min_identical=0.999)
        assert_close(frame.uv, uv, f"{what} {name} UV", tol=1, min_identical=0.999)


@pytest.mark.parametrize("name", GENERIC)
def test_generic_decode_matches_float64_inverse_for_every_yuv_combination(name, all_yuv_frame, all_yuv_planes):
    want = textbook_decode(*all_yuv_planes, name)
    assert_close(nv12_to_rgb(all_yuv_frame, convention=name), want, f"exhaustive {name}", tol=1, min_identical=0.999)
    bgr = nv12_to_rgb(all_yuv_frame, convention=name, order="bgr")
    assert_identical(bgr, np.ascontiguousarray(nv12_to_rgb(all_yuv_frame, convention=name)[..., ::-1]), "BGR")


# Exact rational arithmetic: Kr and Kb are decimals with four places, so every value
# of the formulas is a fraction P / Q of int64s and rounding half up is exact.
KR_KB_10K = {"bt601": (2990, 1140), "bt709": (2126, 722), "bt2020": (2627, 593)}


def exact_round(p: np.ndarray, q: int) -> tuple[np.ndarray, np.ndarray]:
    """floor(P/Q + 1/2) clipped to 0..255, and where P/Q is exactly k + 1/2."""
    twice = 2 * p + q
    return np.clip(twice // (2 * q), 0, 255).astype(np.uint8), twice % (2 * q) == 0


def exact_encode(
    rgb: np.ndarray, name: str, *, luma: bool = True
) -> tuple[tuple[np.ndarray | None, ...], tuple[np.ndarray | None, ...]]:
    """(y, u, v) and their tie masks, in exact arithmetic; chroma from the exact 2x2 mean.

    ``luma=False`` skips Y (returned as None) for images that only test chroma.
    """
    matrix, rng = name.split("-")
    a, c = KR_KB_10K[matrix]
    g = 10000 - a - c

    def block_sum(k: int) -> np.ndarray:
        p = rgb[..., k]
        return p[0::2, 0::2].astype(np.int64) + p[0::2, 1::2] + p[1::2, 0::2] + p[1::2, 1::2]

    sr, sg, sb = block_sum(0), block_sum(1), block_sum(2)
    luma4 = a * sr + g * sg + c * sb  # 4 * 10000 * Y of the block mean
    # Cb = (B - Y) / (2 (1 - Kb)): over the block mean that is (1e4 sB - luma4) / (8 (1e4 - c)).
    qb, qr = 8 * (10000 - c), 8 * (10000 - a)
    y: tuple[np.ndarray | None, np.ndarray | None] = (None, None)
    if luma:
        lum = a * rgb[..., 0].astype(np.int64) + g * rgb[..., 1].astype(np.int64) + c * rgb[..., 2].astype(np.int64)
    if rng == "full":
        if luma:
            y = exact_round(lum, 10000)
        u = exact_round(10000 * sb - luma4 + 128 * qb, qb)
        v = exact_round(10000 * sr - luma4 + 128 * qr, qr)
    else:
        if luma:
            y = exact_round(219 * lum + 16 * 2550000, 2550000)
        u = exact_round(224 * (10000 * sb - luma4) + 128 * 255 * qb, 255 * qb)
        v = exact_round(224 * (10000 * sr - luma4) + 128 * 255 * qr, 255 * qr)
    return (y[0], u[0], v[0]), (y[1], u[1], v[1])


def exact_decode(y: np.ndarray, u: np.ndarray, v: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 3) RGB and tie mask of the exact inverse, nearest chroma."""
    matrix, rng = name.split("-")
    a, c = KR_KB_10K[matrix]
    g = 10000 - a - c
    yi = y.astype(np.int64)
    du = nearest_up(u).astype(np.int64) - 128
    dv = nearest_up(v).astype(np.int64) - 128
    # R = Y' + 2(1-Kr) V', B = Y' + 2(1-Kb) U', G = Y' - (Kr 2(1-Kr) V' + Kb 2(1-Kb) U') / Kg, over a
    # common denominator q; limited range scales Y' = (Y-16) 255/219 and U', V' by 255/224.
    if rng == "full":
        q, luma, k = 10000 * g, yi * 10000 * g, 1
    else:
        q, luma, k = 219 * 224 * 10000 * g, (yi - 16) * 255 * 224 * 10000 * g, 255 * 219
    r = exact_round(luma + 2 * (10000 - a) * g * k * dv, q)
    b = exact_round(luma + 2 * (10000 - c) * g * k * du, q)
    gr = exact_round(luma - (2 * a * (10000 - a) * dv + 2 * c * (10000 - c) * du) * k, q)
    return np.stack([r[0], gr[0], b[0]], axis=-1), np.stack([r[1], gr[1], b[1]], axis=-1)


def assert_exact(got: np.ndarray, want: np.ndarray, what: str) -> None:
    """Equal to the exact result everywhere, exact .5 ties included (they round up)."""
    bad = np.argwhere(got != want)
    assert not bad.size, f"{what}: {len(bad)} samples differ from the exact formula, first {bad[:3].tolist()}"


@pytest.mark.parametrize("name", GENERIC)
def test_generic_encode_is_exact_for_every_colour(name, all_colours, all_colours_flat):
    # The all-colours image covers every Y; the flat quarters put every colour through the chroma path.
    images = [("all colours", all_colours)] + [(f"flat quarter {q}", all_colours_flat(q)) for q in range(4)]
    for what, rgb in images:
        frame = rgb_to_nv12(rgb, convention=name)
        luma = what == "all colours"  # the flat quarters repeat the same colours for Y
        (y, u, v), _ = exact_encode(rgb, name, luma=luma)
        if luma:
            assert_exact(frame.y, y, f"{what} {name} Y")
        assert_exact(frame.u, u, f"{what} {name} U")
        assert_exact(frame.v, v, f"{what} {name} V")


@pytest.mark.parametrize("name", GENERIC)
def test_generic_decode_is_exact_for_every_yuv_combination(name, all_yuv_frame, all_yuv_planes):
    want, _ = exact_decode(*all_yuv_planes, name)
    assert_exact(nv12_to_rgb(all_yuv_frame, convention=name), want, f"exhaustive {name}")


def test_exact_references_agree_with_fractions_on_samples():
    """The int64 rational references above, checked against fractions.Fraction on a few pixels."""
    rng = np.random.default_rng(7)
    rgb = rng.integers(0, 256, (2, 2, 3), dtype=np.uint8)
    yuv = rng.integers(0, 256, (3,), dtype=np.uint8)
    for name in GENERIC:
        matrix, rngname = name.split("-")
        kr, kb = (Fraction(x, 10000) for x in KR_KB_10K[matrix])
        kg = 1 - kr - kb
        ys, cs = (Fraction(219, 255), Fraction(224, 255)) if rngname == "limited" else (Fraction(1), Fraction(1))
        yoff = 16 if rngname == "limited" else 0

        def rnd(x: Fraction) -> int:
            return min(255, max(0, math.floor(x + Fraction(1, 2))))

        (y, u, v), _ = exact_encode(rgb, name)
        r, g, b = (Fraction(int(rgb[0, 0, k])) for k in range(3))
        luma = kr * r + kg * g + kb * b
        assert y[0, 0] == rnd(luma * ys + yoff)
        mr, mg, mb = (Fraction(int(rgb[..., k].sum()), 4) for k in range(3))
        mluma = kr * mr + kg * mg + kb * mb
        assert u[0, 0] == rnd((mb - mluma) / (2 * (1 - kb)) * cs + 128)
        assert v[0, 0] == rnd((mr - mluma) / (2 * (1 - kr)) * cs + 128)
        got, _ = exact_decode(*(np.full(s, x, np.uint8) for s, x in zip([(2, 2), (1, 1), (1, 1)], yuv)), name)
        y1 = (int(yuv[0]) - yoff) / ys
        cb, cr = ((int(x) - 128) / cs for x in yuv[1:])
        rr, bb = y1 + 2 * (1 - kr) * cr, y1 + 2 * (1 - kb) * cb
        assert got[0, 0].tolist() == [rnd(rr), rnd((y1 - kr * rr - kb * bb) / kg), rnd(bb)]


# Values that are exactly k + 1/2 in real arithmetic: "round to nearest" rounds halves up.
# Evaluated naively in float64, rounding noise lands them just below the tie and they would
# round down; nv12kit rounds the exact value.
ENCODE_TIES = [
    # (preset, RGB of a flat 2x2 image, plane, value naive float64 gives, exact value)
    ("bt601-full", (37, 1, 25), "y", 14, 15),  # .299*37 + .587*1 + .114*25 = 14.5
    ("bt601-full", (0, 175, 175), "v", 40, 41),  # 128 - 122.675/1.402 = 40.5
    ("bt601-limited", (76, 30, 19), "y", 52, 53),
    ("bt709-full", (0, 14, 76), "y", 15, 16),
    ("bt709-limited", (13, 163, 113), "y", 125, 126),
    ("bt2020-full", (251, 1, 251), "y", 81, 82),
    ("bt2020-full", (0, 171, 171), "v", 42, 43),
]


@pytest.mark.parametrize("name, rgb, plane, got, exact", ENCODE_TIES)
def test_encode_tie_cases_are_real_ties(name, rgb, plane, got, exact):
    img = np.broadcast_to(np.array(rgb, np.uint8), (2, 2, 3)).copy()
    values, ties = exact_encode(img, name)
    k = "yuv".index(plane)
    assert ties[k][0, 0] and values[k][0, 0] == exact == got + 1


@pytest.mark.parametrize("name, rgb, plane, _got, exact", ENCODE_TIES)
def test_encode_rounds_exact_half_up(name, rgb, plane, _got, exact):
    img = np.broadcast_to(np.array(rgb, np.uint8), (2, 2, 3)).copy()
    assert int(getattr(rgb_to_nv12(img, convention=name), plane)[0, 0]) == exact


@pytest.mark.parametrize("name", ["bt601-full", "horizon", "libyuv-jpeg"])
def test_decode_rounds_exact_half_up(name):
    frame = NV12Frame(np.zeros((2, 2), np.uint8), np.array([[[253, 128]]], np.uint8))
    assert nv12_to_rgb(frame, convention=name)[0, 0].tolist() == [0, 0, 222]


# ----------------------------------------------------------------------------
# 7: horizon decode against the BT.601 full-range inverse
# ----------------------------------------------------------------------------
def test_horizon_decode_is_within_one_level_of_bt601_full_inverse(all_yuv_frame, all_yuv_planes):
    want = bt601_full_decode(*all_yuv_planes)
    got = nv12_to_rgb(all_yuv_frame, convention="horizon")
    assert_close(got, want, "exhaustive horizon decode", tol=1, min_identical=0.999)


def test_horizon_decode_is_identical_to_bt601_full_inverse_almost_everywhere(all_yuv_frame, all_yuv_planes):
    # The rounded constants .344136/.714136 move three (U, V) pairs of G by a level; the rest must agree.
    want = bt601_full_decode(*all_yuv_planes)
    got = nv12_to_rgb(all_yuv_frame, convention="horizon")
    assert_close(got, want, "exhaustive horizon decode", tol=1, min_identical=0.9999)


# ----------------------------------------------------------------------------
# 8: pil decode is Pillow's own YCbCr -> RGB
# ----------------------------------------------------------------------------
def pillow_decode(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    planes = [Image.fromarray(np.ascontiguousarray(p)) for p in (y, nearest_up(u), nearest_up(v))]
    return np.asarray(Image.merge("YCbCr", planes).convert("RGB"))


def test_pil_decode_is_pillows_own_for_every_yuv_combination(all_yuv_frame, all_yuv_planes):
    assert_identical(nv12_to_rgb(all_yuv_frame, convention="pil"), pillow_decode(*all_yuv_planes), "exhaustive pil")


@pytest.mark.parametrize("frame", random_frames(), ids=lambda f: f"{f.height}x{f.width}")
def test_pil_decode_is_pillows_own_on_random_frames(frame):
    want = pillow_decode(frame.y, frame.u, frame.v)
    assert_identical(nv12_to_rgb(frame, convention="pil"), want, "pil RGB")
    assert_identical(nv12_to_rgb(frame, convention="pil", order="bgr"), np.ascontiguousarray(want[..., ::-1]), "BGR")


# ----------------------------------------------------------------------------
# 9: honest round-trip numbers
# ----------------------------------------------------------------------------
def test_bt601_full_round_trip_psnr_on_photos_is_high_and_444_is_far_better(photos):
    for what, img in photos.items():
        honest = psnr(nv12_to_rgb(rgb_to_nv12(img, convention="bt601-full"), convention="bt601-full"), img)
        flat = flat_444(img)
        lossless_chroma = psnr(nv12_to_rgb(rgb_to_nv12(flat, convention="bt601-full"), convention="bt601-full"), flat)
        assert honest > 30, f"{what}: 4:2:0 round trip PSNR {honest:.1f} dB"
        # 8-bit quantisation alone costs little; subsampling is the loss (CONVENTIONS.md: 52-57 vs 36-39 dB).
        assert lossless_chroma > 50, f"{what}: 4:4:4-flat round trip PSNR {lossless_chroma:.1f} dB"
        assert lossless_chroma > honest + 10, f"{what}: 4:4:4 {lossless_chroma:.1f} dB vs 4:2:0 {honest:.1f} dB"


# Worst round-trip error (levels) of a 4:4:4-flat image over every colour, per preset.
# Rounded full-range float presets lose at most 1 level; limited range 2 (255/219 > 1);
# truncating encoders (horizon: astype, libyuv: >>8, Pillow: >>6) up to 3, because the
# truncation error of U or V is multiplied by up to 1.772 on the way back.
FLAT_ROUND_TRIP_MAX = {
    "horizon": 3,
    "opencv": 2,
    "libyuv": 3,
    "libyuv-jpeg": 3,
    "bt601-full": 1,
    "bt601-limited": 2,
    "bt709-full": 1,
    "bt709-limited": 2,
    "bt2020-full": 1,
    "bt2020-limited": 2,
    "openvino": 2,
    "rknn-rga": 2,
    "tidl": 2,
    "ascend-aipp": 2,
    # Pillow arithmetic with block chroma; the "pil" preset's bicubic chroma mixes
    # neighbouring blocks, so a flat image does not round-trip through it at all.
    "pil+topleft": 3,
}


def flat_round_trip_convention(name: str) -> nv12kit.Convention:
    if name == "pil+topleft":
        return nv12kit.get_convention("pil").replace(name=name, chroma_down="topleft")
    return nv12kit.get_convention(name)


def test_flat_round_trip_table_covers_every_preset():
    assert set(nv12kit.CONVENTIONS) - {"pil"} == set(FLAT_ROUND_TRIP_MAX) - {"pil+topleft"}


@pytest.mark.parametrize("name", list(FLAT_ROUND_TRIP_MAX))
def test_flat_round_trip_error_is_bounded_over_every_colour(name, all_colours_flat):
    conv = flat_round_trip_convention(name)
    worst = 0
    for q in range(4):
        rgb = all_colours_flat(q)
        back = nv12_to_rgb(rgb_to_nv12(rgb, convention=conv), convention=conv)
        # Nearest chroma decodes the four pixels of a flat block alike: the top-left one tells all.
        worst = max(worst, int(np.abs(back[0::2, 0::2].astype(np.int16) - rgb[0::2, 0::2]).max()))
    # Equality, not <=: a looser kernel fails, and so does a silently improved one (update the table).
    assert worst == FLAT_ROUND_TRIP_MAX[name]
