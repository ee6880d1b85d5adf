"""RGB/BGR <-> NV12 conversion, bit-exact to the convention it names.

The kernels work on bands of rows so that their temporaries stay in the CPU
cache, and each arithmetic uses the narrowest integer type that is still
exact.  Each preset is checked byte for byte against its real reference in
the tests (OpenCV, Pillow, libyuv's integer formulas, the float64 formulas).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

import numpy as np
from PIL import Image

from .conventions import Convention, get_convention
from .errors import InputError
from .yuv import NV12Frame

__all__ = ["rgb_to_nv12", "nv12_to_rgb", "yuv444_to_rgb"]

# Pixels per band: 256K keeps a band's temporaries in the L2/L3 cache (about 1 MiB each as
# int32) while keeping NumPy's per-call overhead small (a 1080p frame is 8 bands).
_BAND_PIXELS = 1 << 18

# OpenCV's 20-bit BT.601 limited-range constants (modules/imgproc/src/color_yuv.simd.hpp).
_CV_SHIFT = 20
_CV_HALF = 1 << (_CV_SHIFT - 1)
_CV_ENCODE = np.array(
    [
        [269484, 528482, 102760],  # Y
        [-155188, -305135, 460324],  # U
        [460324, -385875, -74448],  # V
    ],
    dtype=np.int64,
)
_CV_Y, _CV_UB, _CV_UG, _CV_VG, _CV_VR = 1220542, 2116026, -409993, -852492, 1673527

# libyuv's 8-bit BT.601 constants: (Y row, U row, V row), each (R, G, B), plus rounding offsets.
_LIBYUV = {
    "limited": (
        np.array([[66, 129, 25], [-38, -74, 112], [112, -94, -18]], dtype=np.int32),
        np.array([0x1080, 0x8000, 0x8000], dtype=np.int32),
    ),
    "full": (
        np.array([[77, 150, 29], [-43, -85, 128], [128, -107, -21]], dtype=np.int32),
        np.array([128, 0x8000, 0x8000], dtype=np.int32),
    ),
}


# ----------------------------------------------------------------------------
# input checks
# ----------------------------------------------------------------------------
def _check_order(order: str) -> tuple[int, int, int]:
    if order == "rgb":
        return (0, 1, 2)
    if order == "bgr":
        return (2, 1, 0)
    raise InputError(f"order must be 'rgb' or 'bgr', got {order!r}")


def _odd_size_message(height: int, width: int) -> str:
    return (
        f"NV12 needs an even height and width (chroma is shared by 2x2 blocks), got {height}x{width} (HxW). "
        "Make the image even first: nv12kit.crop_to_even(img) drops the last row/column, "
        "nv12kit.pad_to_even(img) repeats it"
    )


def as_rgb_array(image: object, *, name: str = "image") -> np.ndarray:
    """Validate an (H, W, 3) uint8 image with even sides; PIL images are loaded.

    Raises
    ------
    InputError
        For anything else, with the shape or dtype and the fix in the message.
    """
    if isinstance(image, Image.Image):
        from .images import load_image

        image = load_image(image)
    if not isinstance(image, np.ndarray):
        raise InputError(
            f"{name} must be an (H, W, 3) uint8 numpy array or a PIL image, got {type(image).__name__}; "
            "load files with nv12kit.load_image(path)"
        )
    if image.dtype != np.uint8:
        if np.issubdtype(image.dtype, np.floating):
            hint = (
                "floats are never rescaled silently: for 0-1 data use (x * 255).round().astype(np.uint8), "
                "for 0-255 data use np.clip(x, 0, 255).round().astype(np.uint8)"
            )
        else:
            hint = "convert it with np.clip(x, 0, 255).astype(np.uint8) if its values are 0-255"
        raise InputError(f"{name} must have dtype uint8, got {image.dtype}; {hint}")
    if image.ndim != 3 or image.shape[2] != 3:
        if image.ndim == 3 and image.shape[0] == 3 and image.shape[2] != 3:
            hint = "it looks channel-first (CHW): pass image.transpose(1, 2, 0)"
        elif image.ndim == 3 and image.shape[2] == 4:
            hint = "drop the alpha channel with image[..., :3]"
        elif image.ndim == 2:
            hint = "for greyscale use np.repeat(image[..., None], 3, axis=2)"
        elif image.ndim == 4 and image.shape[0] == 1:
            hint = "remove the batch axis with image[0]"
        else:
            hint = "expected (height, width, 3)"
        raise InputError(f"{name} must have shape (H, W, 3), got {image.shape}; {hint}")
    height, width = image.shape[:2]
    if height == 0 or width == 0:
        raise InputError(f"{name} is empty: shape {image.shape}")
    if height % 2 or width % 2:
        raise InputError(_odd_size_message(height, width))
    return image


def _as_frame(frame: object) -> NV12Frame:
    if isinstance(frame, NV12Frame):
        return frame
    if isinstance(frame, tuple) and len(frame) == 2:
        return NV12Frame(*frame)
    raise InputError(
        f"expected an nv12kit.NV12Frame or a (y, uv) tuple of arrays, got {type(frame).__name__}; "
        "build one with NV12Frame(y, uv) or NV12Frame.from_bytes(buf, width, height)"
    )


def _bands(height: int, width: int) -> tuple[range, int]:
    rows = max(2, (_BAND_PIXELS // max(width, 1)) & ~1)
    return range(0, height, rows), rows


# ----------------------------------------------------------------------------
# chroma down-sampling helpers
# ----------------------------------------------------------------------------
def _block_sum(rgb: np.ndarray, dtype: type) -> np.ndarray:
    """Sum of each 2x2 block, per channel: (h/2, w/2, 3)."""
    out = rgb[0::2, 0::2].astype(dtype)
    out += rgb[0::2, 1::2]
    out += rgb[1::2, 0::2]
    out += rgb[1::2, 1::2]
    return out


def _block_mean_rounded(rgb: np.ndarray) -> np.ndarray:
    """2x2 mean rounded half up, ``(sum + 2) >> 2``, as libyuv does."""
    total = _block_sum(rgb, np.uint16)
    total += 2
    total >>= 2
    return total.astype(np.uint8)


def _resize_half_bicubic(plane: np.ndarray) -> np.ndarray:
    """Pillow's default ``resize`` (antialiased bicubic) of a uint8 plane to half size."""
    h, w = plane.shape
    return np.asarray(Image.fromarray(plane).resize((w // 2, h // 2)))


# ----------------------------------------------------------------------------
# float arithmetic
# ----------------------------------------------------------------------------
def _round_float(values: np.ndarray, rounding: str) -> np.ndarray:
    if rounding == "nearest":
        values = np.floor(values + 0.5)
    elif rounding == "floor":
        values = np.floor(values)
    # "truncate": astype truncates toward zero; clipping first keeps it defined.
    np.clip(values, 0, 255, out=values)
    return values.astype(np.uint8)


def _planes(rgb: np.ndarray, perm: tuple[int, int, int], dtype: type) -> tuple[np.ndarray, ...]:
    """Split (h, w, 3) into three contiguous planes in R, G, B order.

    Reading an interleaved channel is the costly step of every encoder; doing
    it once, into the arithmetic's own dtype, keeps the rest of the work on
    contiguous arrays that NumPy vectorises.
    """
    return tuple(rgb[..., c].astype(dtype, order="C") for c in perm)


def _apply_perm(rgb: np.ndarray, perm: tuple[int, int, int]) -> np.ndarray:
    return rgb if perm == (0, 1, 2) else rgb[..., list(perm)]


def _float64_formula(planes: tuple[np.ndarray, ...], coeffs: np.ndarray, offset: float, rounding: str) -> np.ndarray:
    """The float formula ``c0*R + c1*G + c2*B + offset`` evaluated left to right in float64, then rounded."""
    value = coeffs[0] * planes[0].astype(np.float64)
    value += coeffs[1] * planes[1]
    value += coeffs[2] * planes[2]
    value += offset
    return _round_float(value, rounding)


class _FloatEncoder:
    """Encoder that equals the float64 formula on every pixel, computed quickly.

    Where the coefficients are exact decimals with three places (Horizon's
    published ones), the formula is evaluated exactly in int32 scaled by
    1000.  Otherwise it is evaluated in float32, whose error stays below
    2e-4.  Either way the result can differ from the float64 formula only
    where the value lies on (or, for float32, very near) a rounding
    boundary; those few pixels are recomputed in float64.
    """

    _MARGIN = 5e-4
    _SCALE = 1000

    def __init__(self, conv: Convention) -> None:
        matrix, offset = conv.encode_matrix()
        self.matrix = matrix
        self.offset = offset
        self.rounding = conv.rounding
        # Where rounding flips: at integers for floor/truncate, at halves for nearest.
        self.boundary = 0.5 if conv.rounding == "nearest" else 0.0
        scaled = np.concatenate([matrix.ravel(), offset]) * self._SCALE
        bound = np.abs(np.round(matrix * self._SCALE)).sum(axis=1).max() * 255 + np.abs(scaled[-3:]).max() + self._SCALE
        self.decimal = bool(np.all(np.abs(scaled - np.round(scaled)) < 1e-9)) and bound < 2**24
        self.int_matrix = np.round(matrix * self._SCALE).astype(np.int32)
        self.int_offset = np.round((offset + self.boundary) * self._SCALE).astype(np.int64)
        self.dtype = np.int32 if self.decimal else np.float32
        # Rows whose formula cannot leave 0..255 over the whole RGB cube need no clipping.
        low = np.minimum(matrix, 0).sum(axis=1) * 255 + offset + self.boundary
        high = np.maximum(matrix, 0).sum(axis=1) * 255 + offset + self.boundary
        self.needs_clip = (low < 0) | (high >= 256)
        self.matrix32 = matrix.astype(np.float32)

    def channel(self, planes: tuple[np.ndarray, ...], row: int) -> np.ndarray:
        if self.decimal:
            out, near = self._channel_decimal(planes, row)
        else:
            out, near = self._channel_float32(planes, row)
        idx = np.flatnonzero(near)
        if idx.size:
            picked = tuple(p.reshape(-1)[idx] for p in planes)
            out.reshape(-1)[idx] = _float64_formula(picked, self.matrix[row], self.offset[row], self.rounding)
        return out

    def _channel_decimal(self, planes: tuple[np.ndarray, ...], row: int) -> tuple[np.ndarray, np.ndarray]:
        c = self.int_matrix[row]
        acc = planes[0] * c[0]
        acc += planes[1] * c[1]
        acc += planes[2] * c[2]
        acc += np.int32(self.int_offset[row])
        # floor(acc / 1000): exact in float32 because |acc| < 2**24 and the +0.5 keeps 5e-4 of margin.
        quotient = acc.astype(np.float32)
        quotient += np.float32(0.5)
        quotient *= np.float32(1.0 / self._SCALE)
        floored = np.floor(quotient)
        # acc % 1000 == 0 (the value sits exactly on a boundary) <=> the fraction is 0.0005.
        quotient -= floored
        near = quotient < np.float32(1.0 / self._SCALE)
        if self.needs_clip[row]:
            np.clip(floored, 0, 255, out=floored)
        return floored.astype(np.uint8), near

    def _channel_float32(self, planes: tuple[np.ndarray, ...], row: int) -> tuple[np.ndarray, np.ndarray]:
        c = self.matrix32[row]
        value = planes[0] * c[0]
        value += planes[1] * c[1]
        value += planes[2] * c[2]
        value += np.float32(self.offset[row] + self.boundary)
        dist = value - np.rint(value)
        near = np.abs(dist, out=dist) < self._MARGIN
        np.floor(value, out=value)
        if self.needs_clip[row]:
            np.clip(value, 0, 255, out=value)
        return value.astype(np.uint8), near


def _encode_float(rgb: np.ndarray, conv: Convention, perm: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    height, width = rgb.shape[:2]
    enc = _FloatEncoder(conv)
    y = np.empty((height, width), np.uint8)
    uv = np.empty((height // 2, width // 2, 2), np.uint8)
    starts, rows = _bands(height, width)
    for top in starts:
        band = rgb[top : top + rows]
        y[top : top + rows] = enc.channel(_planes(band, perm, enc.dtype), 0)
        half = slice(top // 2, (top + rows) // 2)
        if conv.chroma_down == "topleft":
            planes = _planes(band[0::2, 0::2], perm, enc.dtype)
            for k in (1, 2):
                uv[half, :, k - 1] = enc.channel(planes, k)
        elif conv.chroma_down == "box":
            # The formula on the exact block mean, in float64 (cheap at quarter size).
            mean = _block_sum(band, np.float64) * 0.25
            planes = tuple(np.ascontiguousarray(mean[..., c]) for c in perm)
            for k in (1, 2):
                uv[half, :, k - 1] = _float64_formula(planes, enc.matrix[k], enc.offset[k], enc.rounding)
    if conv.chroma_down == "bicubic":
        for k in (1, 2):
            plane = np.empty((height, width), np.uint8)
            for top in starts:
                plane[top : top + rows] = enc.channel(_planes(rgb[top : top + rows], perm, enc.dtype), k)
            uv[..., k - 1] = _resize_half_bicubic(plane)
    return y, uv


# ----------------------------------------------------------------------------
# OpenCV arithmetic (20-bit fixed point, BT.601 limited)
# ----------------------------------------------------------------------------
def _cv_channel(planes: tuple[np.ndarray, ...], row: int) -> np.ndarray:
    c = _CV_ENCODE[row]
    base = 16 if row == 0 else 128
    acc = planes[0] * np.int32(c[0])
    acc += planes[1] * np.int32(c[1])
    acc += planes[2] * np.int32(c[2])
    acc += np.int32((base << _CV_SHIFT) + _CV_HALF)
    acc >>= _CV_SHIFT
    # Always 16..240 by construction, so no clipping is needed before the cast.
    return acc.astype(np.uint8)


def _libyuv_channel_factory(range_: str) -> Callable[[tuple[np.ndarray, ...], int], np.ndarray]:
    coeffs, offsets = _LIBYUV[range_]

    def channel(planes: tuple[np.ndarray, ...], row: int) -> np.ndarray:
        c = coeffs[row]
        acc = planes[0] * np.int32(c[0])
        acc += planes[1] * np.int32(c[1])
        acc += planes[2] * np.int32(c[2])
        acc += np.int32(offsets[row])
        acc >>= 8
        return acc.astype(np.uint8)

    return channel


def _encode_integer(
    rgb: np.ndarray,
    conv: Convention,
    perm: tuple[int, int, int],
    channel: Callable[[tuple[np.ndarray, ...], int], np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    height, width = rgb.shape[:2]
    y = np.empty((height, width), np.uint8)
    uv = np.empty((height // 2, width // 2, 2), np.uint8)
    starts, rows = _bands(height, width)
    for top in starts:
        band = rgb[top : top + rows]
        y[top : top + rows] = channel(_planes(band, perm, np.int32), 0)
        half = slice(top // 2, (top + rows) // 2)
        if conv.chroma_down == "topleft":
            src = band[0::2, 0::2]
        elif conv.chroma_down == "box":
            src = _block_mean_rounded(band)
        else:
            continue
        planes = _planes(src, perm, np.int32)
        uv[half, :, 0] = channel(planes, 1)
        uv[half, :, 1] = channel(planes, 2)
    if conv.chroma_down == "bicubic":
        for k in (1, 2):
            plane = np.empty((height, width), np.uint8)
            for top in starts:
                plane[top : top + rows] = channel(_planes(rgb[top : top + rows], perm, np.int32), k)
            uv[..., k - 1] = _resize_half_bicubic(plane)
    return y, uv


# ----------------------------------------------------------------------------
# Pillow arithmetic (its own C code)
# ----------------------------------------------------------------------------
def _pil_ycbcr(rgb: np.ndarray, perm: tuple[int, int, int]) -> np.ndarray:
    src = np.ascontiguousarray(_apply_perm(rgb, perm))
    return np.asarray(Image.fromarray(src, "RGB").convert("YCbCr"))


def _encode_pillow(rgb: np.ndarray, conv: Convention, perm: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    height, width = rgb.shape[:2]
    ycc = _pil_ycbcr(rgb, perm)
    y = np.ascontiguousarray(ycc[..., 0])
    uv = np.empty((height // 2, width // 2, 2), np.uint8)
    if conv.chroma_down == "bicubic":
        uv[..., 0] = _resize_half_bicubic(np.ascontiguousarray(ycc[..., 1]))
        uv[..., 1] = _resize_half_bicubic(np.ascontiguousarray(ycc[..., 2]))
    elif conv.chroma_down == "topleft":
        uv[...] = ycc[0::2, 0::2, 1:]
    else:
        uv[...] = _pil_ycbcr(_block_mean_rounded(rgb), perm)[..., 1:]
    return y, uv


# ----------------------------------------------------------------------------
# decoding
# ----------------------------------------------------------------------------
def _bilinear_up(plane: np.ndarray) -> np.ndarray:
    """Centre-sited 2x linear up-sampling (weights 3/4, 1/4; edges clamped), float64."""
    p = plane.astype(np.float64)

    def up(a: np.ndarray, axis: int) -> np.ndarray:
        n = a.shape[axis]
        prev = np.take(a, np.r_[0, np.arange(n - 1)], axis=axis)
        nxt = np.take(a, np.r_[np.arange(1, n), n - 1], axis=axis)
        even = 0.75 * a + 0.25 * prev
        odd = 0.75 * a + 0.25 * nxt
        out = np.stack([even, odd], axis=axis + 1)
        shape = list(a.shape)
        shape[axis] = 2 * n
        return out.reshape(shape)

    return up(up(p, 0), 1)


def _uv_index(frame: NV12Frame) -> np.ndarray:
    """Each chroma pair as one uint16, U in the low byte: an index into 65536-entry tables."""
    pairs = frame.uv.view(np.uint16)[..., 0]
    return pairs if _LITTLE_ENDIAN else pairs.byteswap()


@functools.lru_cache(maxsize=32)
def _chroma_term_table(conv: Convention) -> np.ndarray:
    """(3, 65536) float64: the chroma part of R, G, B for every (U, V), by the float64 formula."""
    matrix, offset = conv.decode_matrix()
    matrix = np.where(np.abs(matrix) < 1e-12, 0.0, matrix)  # exact zeros, not 1e-17 noise
    index = np.arange(65536)
    u = (index & 0xFF).astype(np.float64) - offset[1]
    v = (index >> 8).astype(np.float64) - offset[2]
    return np.stack([matrix[c, 1] * u + matrix[c, 2] * v for c in range(3)])


@functools.lru_cache(maxsize=32)
def _full_range_step_table(conv: Convention) -> np.ndarray:
    """(3, 65536) uint32: round(chroma term) + bias, duplicated into both 16-bit halves."""
    steps = np.floor(_chroma_term_table(conv) + 0.5).astype(np.int64)
    return ((steps + _BIAS) * 0x10001).astype(np.uint32)


@functools.lru_cache(maxsize=1)
def _opencv_term_table() -> np.ndarray:
    """(3, 65536) uint64: OpenCV's chroma terms plus bias, duplicated into both 32-bit halves."""
    index = np.arange(65536, dtype=np.int64)
    u = (index & 0xFF) - 128
    v = (index >> 8) - 128
    # OpenCV computes (max(Y-16, 0)*CY + chroma + half) >> 20.  Y is clamped at 16 below and the
    # -16*CY, the rounding half and the bias go into this term, so every 32-bit half stays in
    # 0..2**31 and the shifted result lands in 512 + (-258..560).
    bias = _CV_HALF - 16 * _CV_Y + (_BIAS << _CV_SHIFT)
    terms = np.stack([_CV_VR * v, _CV_VG * v + _CV_UG * u, _CV_UB * u]) + bias
    return terms.astype(np.uint64) * np.uint64(0x100000001)


def _decode_float(frame: NV12Frame, conv: Convention, perm: tuple[int, int, int]) -> np.ndarray:
    height, width = frame.height, frame.width
    out = np.empty((height, width, 3), np.uint8)
    matrix, offset = conv.decode_matrix()
    y_gain = 1.0 if abs(matrix[0, 0] - 1.0) < 1e-12 else matrix[0, 0]
    if conv.chroma_up == "bilinear":
        matrix = np.where(np.abs(matrix) < 1e-12, 0.0, matrix)
        u = _bilinear_up(frame.uv[..., 0]) - offset[1]
        v = _bilinear_up(frame.uv[..., 1]) - offset[2]
        luma = (frame.y.astype(np.float64) - offset[0]) * y_gain
        for c in range(3):
            out[..., perm[c]] = _round_float(luma + matrix[c, 1] * u + matrix[c, 2] * v, "nearest")
        return out
    index = _uv_index(frame)
    starts, rows = _bands(height, width)
    if y_gain == 1.0 and offset[0] == 0.0 and _LITTLE_ENDIAN:
        # Full range: R = Y + round(chroma term) exactly, so the per-pixel work is a small-integer add.
        table = _full_range_step_table(conv)
        for top in starts:
            y16 = frame.y[top : top + rows].astype(np.uint16)
            h = y16.shape[0]
            pairs = y16.view(np.uint32).reshape(h // 2, 2, width // 2)
            block = index[top // 2 : top // 2 + h // 2]
            for c in range(3):
                step = np.take(table[c], block)
                value = (pairs + step[:, None, :]).view(np.uint16).reshape(h, width)
                np.clip(value, _BIAS, _BIAS + 255, out=value)
                out[top : top + h, :, perm[c]] = value
        return out
    table = _chroma_term_table(conv)
    for top in starts:
        luma = (frame.y[top : top + rows].astype(np.float64) - offset[0]) * y_gain
        h = luma.shape[0]
        block = index[top // 2 : top // 2 + h // 2]
        for c in range(3):
            step = np.repeat(np.take(table[c], block), 2, axis=1)
            value = (luma.reshape(h // 2, 2, width) + step[:, None, :]).reshape(h, width)
            out[top : top + h, :, perm[c]] = _round_float(value, "nearest")
    return out


# The packed adds put two horizontally adjacent pixels in one wider word and
# add the same chroma step to both halves at once, which also spreads chroma
# over the 2x2 block without materialising an up-sampled plane.  A bias of
# 512 keeps every half positive and far from overflow; after clipping to
# 512..767 the cast to uint8 removes the bias for free (512 = 2 * 256).
_BIAS = 512
_LITTLE_ENDIAN = sys.byteorder == "little"


def _decode_opencv(frame: NV12Frame, conv: Convention, perm: tuple[int, int, int]) -> np.ndarray:
    if conv.chroma_up != "nearest":
        return _decode_float(frame, conv, perm)
    if not _LITTLE_ENDIAN:
        return _decode_opencv_plain(frame, perm)
    height, width = frame.height, frame.width
    out = np.empty((height, width, 3), np.uint8)
    table = _opencv_term_table()
    index = _uv_index(frame)
    starts, rows = _bands(height, width)
    for top in starts:
        y32 = np.clip(frame.y[top : top + rows].astype(np.uint16), 16, 255).astype(np.uint32)
        y32 *= np.uint32(_CV_Y)
        h = y32.shape[0]
        pairs = y32.view(np.uint64).reshape(h // 2, 2, width // 2)
        block = index[top // 2 : top // 2 + h // 2]
        for c in range(3):
            value = (pairs + np.take(table[c], block)[:, None, :]).view(np.uint32).reshape(h, width)
            value >>= _CV_SHIFT
            value16 = value.astype(np.uint16)
            np.clip(value16, _BIAS, _BIAS + 255, out=value16)
            out[top : top + h, :, perm[c]] = value16
    return out


def _decode_opencv_plain(frame: NV12Frame, perm: tuple[int, int, int]) -> np.ndarray:
    """OpenCV's arithmetic without packing, for big-endian machines."""
    y = np.maximum(frame.y.astype(np.int64) - 16, 0) * _CV_Y
    u = frame.uv[..., 0].astype(np.int64) - 128
    v = frame.uv[..., 1].astype(np.int64) - 128
    out = np.empty((frame.height, frame.width, 3), np.uint8)
    for c, term in enumerate([_CV_VR * v, _CV_VG * v + _CV_UG * u, _CV_UB * u]):
        up = np.repeat(np.repeat(term, 2, axis=0), 2, axis=1)
        out[..., perm[c]] = np.clip((y + up + _CV_HALF) >> _CV_SHIFT, 0, 255)
    return out


def _decode_pillow(frame: NV12Frame, conv: Convention, perm: tuple[int, int, int]) -> np.ndarray:
    if conv.chroma_up == "nearest":
        u = np.repeat(np.repeat(frame.uv[..., 0], 2, axis=0), 2, axis=1)
        v = np.repeat(np.repeat(frame.uv[..., 1], 2, axis=0), 2, axis=1)
    else:
        u = _round_float(_bilinear_up(frame.uv[..., 0]), "nearest")
        v = _round_float(_bilinear_up(frame.uv[..., 1]), "nearest")
    planes = [Image.fromarray(np.ascontiguousarray(p)) for p in (frame.y, u, v)]
    rgb = np.asarray(Image.merge("YCbCr", planes).convert("RGB"))
    return np.ascontiguousarray(_apply_perm(rgb, perm))


# ----------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------
def rgb_to_nv12(image: np.ndarray | Image.Image, *, convention: str | Convention = "horizon", order: str = "rgb") -> NV12Frame:
    """Convert an RGB (or BGR) image to NV12 under a named convention.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray or PIL.Image.Image
        H and W must be even.  Any strides are fine (``img[:, :, ::-1]``
        included).  PIL images go through :func:`nv12kit.load_image`
        (EXIF orientation, mode rules).
    convention : str or Convention, default "horizon"
        A name from :data:`nv12kit.CONVENTIONS` or a :class:`Convention`.
    order : {"rgb", "bgr"}, default "rgb"
        Channel order of ``image`` (``"bgr"`` for OpenCV arrays).

    Returns
    -------
    NV12Frame
        ``.y`` (H, W) and ``.uv`` (H/2, W/2, 2), both uint8, U first.

    Raises
    ------
    InputError
        Wrong dtype (floats are never rescaled), wrong shape, odd size.
    ConventionError
        Unknown convention name.

    Notes
    -----
    Each convention is exact to its reference: ``"opencv"`` to
    ``cv2.cvtColor(COLOR_RGB2YUV_I420)``, ``"pil"`` to the
    ``convert('YCbCr')`` + ``resize`` recipe, ``"libyuv"`` and
    ``"libyuv-jpeg"`` to libyuv's integer formulas, and the float
    conventions (``"horizon"``, ``"bt709-limited"``, ...) to their formula
    evaluated in float64.  See :mod:`nv12kit.conventions`.

    Examples
    --------
    >>> import numpy as np
    >>> from nv12kit import rgb_to_nv12
    >>> grey = np.full((4, 6, 3), 128, np.uint8)
    >>> frame = rgb_to_nv12(grey, convention="bt601-limited")
    >>> frame.y[0, 0], frame.uv[0, 0].tolist()
    (np.uint8(126), [128, 128])
    """
    conv = get_convention(convention)
    perm = _check_order(order)
    rgb = as_rgb_array(image)
    if conv.arithmetic == "float":
        y, uv = _encode_float(rgb, conv, perm)
    elif conv.arithmetic == "opencv":
        y, uv = _encode_integer(rgb, conv, perm, _cv_channel)
    elif conv.arithmetic == "libyuv":
        y, uv = _encode_integer(rgb, conv, perm, _libyuv_channel_factory(conv.range))
    else:
        y, uv = _encode_pillow(rgb, conv, perm)
    return NV12Frame._from_owned(y, uv)


def nv12_to_rgb(frame: NV12Frame | tuple[np.ndarray, np.ndarray], *, convention: str | Convention = "horizon", order: str = "rgb") -> np.ndarray:
    """Decode NV12 to an (H, W, 3) uint8 RGB (or BGR) image.

    Parameters
    ----------
    frame : NV12Frame or (y, uv) tuple
        The planes; vendor shapes (1, H, W, 1) / (1, H/2, W/2, 2) are
        accepted in the tuple form.
    convention : str or Convention, default "horizon"
        The convention the bytes are in.
    order : {"rgb", "bgr"}, default "rgb"
        Channel order of the result.

    Returns
    -------
    (H, W, 3) uint8 ndarray

    Notes
    -----
    ``"opencv"`` is byte-identical to ``cv2.cvtColor(COLOR_YUV2RGB_NV12)``;
    ``"pil"`` runs Pillow's own YCbCr-to-RGB code.  The float conventions
    compute ``M @ (yuv - offset)`` in float64 with the exact inverse of the
    standard matrix and round to nearest (``floor(x + 0.5)``), then clip to
    0-255.  Chroma is spread over each 2x2 block as ``chroma_up`` says
    (nearest, as NV12 nodes on the chips do, by default).  libyuv's own
    decoder uses 6-bit coefficients; the ``"libyuv"`` presets decode with
    the float formula instead, which may differ from it by a level or two.

    Examples
    --------
    >>> import numpy as np
    >>> from nv12kit import NV12Frame, nv12_to_rgb
    >>> frame = NV12Frame(np.full((2, 2), 81, np.uint8), np.array([[[90, 240]]], np.uint8))
    >>> nv12_to_rgb(frame, convention="opencv")[0, 0].tolist()
    [254, 0, 0]
    """
    conv = get_convention(convention)
    perm = _check_order(order)
    frm = _as_frame(frame)
    if conv.arithmetic == "opencv":
        return _decode_opencv(frm, conv, perm)
    if conv.arithmetic == "pillow":
        return _decode_pillow(frm, conv, perm)
    return _decode_float(frm, conv, perm)


def yuv444_to_rgb(yuv: np.ndarray, *, convention: str | Convention = "horizon", order: str = "rgb") -> np.ndarray:
    """Decode a full-resolution (H, W, 3) uint8 YUV image (no subsampling).

    Useful to separate the cost of chroma subsampling from the colour
    matrix: ``yuv444_to_rgb`` of a 4:4:4 encode loses only 8-bit rounding.
    """
    if not isinstance(yuv, np.ndarray) or yuv.dtype != np.uint8 or yuv.ndim != 3 or yuv.shape[2] != 3:
        raise InputError(
            f"yuv must be an (H, W, 3) uint8 array, got {getattr(yuv, 'shape', None)} {getattr(yuv, 'dtype', type(yuv).__name__)}"
        )
    conv = get_convention(convention)
    perm = _check_order(order)
    matrix, offset = conv.decode_matrix()
    matrix = np.where(np.abs(matrix) < 1e-12, 0.0, matrix)
    centred = yuv.astype(np.float64) - offset
    rgb = _round_float(centred @ matrix.T, "nearest")
    return np.ascontiguousarray(_apply_perm(rgb, perm))
