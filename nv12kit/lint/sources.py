"""Reading the user's NV12: frames, planes, feed dicts, bytes, arrays and files become one byte stream.

A :class:`_Source` is that stream plus what parsing found: the size, the
stride, padded plane heights, notes, and other readings that explain a raw
buffer's size equally well (the content decides between them later).  Sizes
of other formats (packed RGB, 4:2:2, a Y plane alone) are named here.  The
reference image is read here too (:func:`_as_reference`).
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._io import read_bytes, read_npy
from ..errors import InputError
from ..images import load_image
from ..yuv import NV12Frame, frame_size_message
from .findings import Finding

_ALIGNMENTS = (16, 32, 64, 128, 256, 512, 1024)  # row alignments of padded buffers, in bytes


@dataclass
class _Source:
    """The user's NV12 as one byte stream plus what parsing it found."""

    stream: np.ndarray
    height: int
    width: int
    stride: int
    plane_rows: int
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    what: str = ""
    alternatives: list[_Source] = field(default_factory=list)
    unreadable: Finding | None = None  # the bytes are some other format altogether
    uv_shift: int = 0  # bytes between the padded luma plane and the chroma plane (planes in separate buffers)
    uv_stride: int = 0  # bytes per chroma row when it is not the luma stride (0: the luma stride)


def _u8(x: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x)
    except Exception as exc:  # noqa: BLE001 - any conversion failure is bad input
        raise InputError(f"{name} must be a uint8 array, got {type(x).__name__}: {exc}") from exc
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.int8:
        # An int8 plane is what an int8 offset leaves behind; a uint8 NV12 reader sees its bytes.
        return np.ascontiguousarray(arr).view(np.uint8)
    if arr.dtype.kind == "f":
        hint = "floats are not rescaled: use np.clip(x, 0, 255).round().astype(np.uint8) if they hold 0-255 values"
    elif arr.dtype.kind in "iu":
        hint = "use np.clip(x, 0, 255).astype(np.uint8) if the values are 0-255"
    else:
        hint = "NV12 samples are 8-bit unsigned integers"
    raise InputError(f"{name} has dtype {arr.dtype} (shape {arr.shape}) but must be uint8; {hint}")


def _squeeze_plane(y: np.ndarray) -> np.ndarray:
    if y.ndim == 2:
        return y
    if y.ndim == 3 and y.shape[2] == 1:
        return y[:, :, 0]
    if y.ndim == 3 and y.shape[0] == 1:
        return y[0]
    if y.ndim == 4 and y.shape[0] == 1 and y.shape[3] == 1:
        return y[0, :, :, 0]
    if y.ndim == 4 and y.shape[0] == 1 and y.shape[1] == 1:
        return y[0, 0]
    hint = ""
    if y.ndim == 3 and y.shape[2] in (3, 4):
        hint = " It looks like an RGB image, not a Y plane."
    raise InputError(
        f"y has shape {y.shape}; expected (H, W), (H, W, 1), (1, H, W, 1) or (1, 1, H, W).{hint}"
    )


def _odd_message(h: int, w: int, uv_size: int | None = None) -> str:
    odd = " and ".join(n for n, s in (("height", h), ("width", w)) if s % 2)
    msg = (
        f"the Y plane is {h}x{w} (height x width): its {odd} is odd, and NV12 needs even sizes "
        "(one U,V pair per 2x2 block)."
    )
    if uv_size is not None and uv_size == (h // 2) * (w // 2) * 2:
        msg += (
            f" The chroma has {uv_size} values, for a {h // 2 * 2}x{w // 2 * 2} frame: this is the forum "
            "recipe's silent mismatch on odd images, which a chip would misread."
        )
    return msg + " Pad or crop the RGB image before converting: nv12kit.pad_to_even(img) or nv12kit.crop_to_even(img)."


def _planes_source(y: Any, uv: Any, what: str) -> _Source:
    signed = [n for n, p in (("y", y), ("uv", uv)) if getattr(p, "dtype", None) == np.int8]
    y_arr = _squeeze_plane(_u8(y, "y"))
    uv_arr = _u8(uv, "uv")
    h, w = y_arr.shape
    if h == 0 or w == 0:
        raise InputError(f"y is empty (shape {y_arr.shape})")
    if h % 2 or w % 2:
        raise InputError(_odd_message(h, w, uv_arr.size))
    need = h * w // 2
    if uv_arr.size != need:
        raise InputError(
            f"uv has {uv_arr.size} values (shape {uv_arr.shape}) but a {h}x{w} (height x width) Y plane needs "
            f"{h // 2} x {w // 2} x 2 = {need} chroma samples, as (H/2, W/2, 2), the forum's (H/2, W) or the "
            f"vendor's (1, H/2, W/2, 2); check that y and uv come from the same frame"
        )
    notes = []
    if signed:
        notes.append(
            f"{' and '.join(signed)} had dtype int8; their bytes were read as uint8, as a uint8 NV12 input reads them"
        )
    if uv_arr.shape in ((2, h // 2, w // 2), (1, 2, h // 2, w // 2)):
        notes.append(
            f"uv has the channels-first shape {uv_arr.shape}: its bytes are a U plane then a V plane, "
            "which is how an NV12 reader sees them"
        )
    stream = np.concatenate([y_arr.reshape(-1), uv_arr.reshape(-1)])
    return _Source(stream, h, w, w, h, notes=notes, what=what)


def _raw_source(
    buf: np.ndarray, width: Any, height: Any, stride: Any, layout: str, ref_hw: tuple[int, int] | None, what: str
) -> _Source:
    notes: list[str] = []
    if width is None or height is None:
        if ref_hw is None:
            raise InputError(
                f"{what} of {buf.size} bytes needs width= and height= (and stride= if rows are padded): raw "
                "NV12 carries no header"
            )
        h0, w0 = ref_hw
        height = h0 if height is None else height
        width = w0 if width is None else width
        notes.append(f"width and height ({width}x{height}) taken from the reference image")
    if isinstance(width, (bool, np.bool_)) or isinstance(height, (bool, np.bool_)):
        raise InputError(f"width and height must be integers, got {width!r}, {height!r}")
    try:
        w = int(width)
        h = int(height)
    except (TypeError, ValueError) as exc:
        raise InputError(f"width and height must be integers, got {width!r}, {height!r}") from exc
    if layout != "nv12":
        # The user says how the bytes are laid out: read them so, as NV12 planes.
        frame = NV12Frame.from_bytes(buf, w, h, layout=layout, stride=stride)
        notes.append(f"the bytes were read as {layout}, as asked")
        return _planes_source(frame.y, frame.uv, what)
    size = buf.size
    if stride is not None or size == w * h * 3 // 2 or w <= 0 or h <= 0 or w % 2 or h % 2:
        if stride is not None and ref_hw is not None and w > 0 and h > 0 and not (w % 2 or h % 2):
            s = int(stride) if isinstance(stride, (int, np.integer)) and not isinstance(stride, bool) else w
            if s >= w and size > s * h * 3 // 2:
                return _decoder_buffer(buf, h, w, s, notes, what)
        NV12Frame.from_bytes(buf, w, h, stride=stride)  # validates geometry and size, with the arithmetic
        s = w if stride is None else int(stride)
        return _Source(np.ascontiguousarray(buf), h, w, s, h, notes=notes, what=what)
    # Sizes of other formats are named before any padding is guessed (3 bytes per pixel is not a stride of 2w).
    frame_bytes = w * h * 3 // 2
    other = {
        3 * w * h: ("packed RGB/BGR (3 bytes per pixel)", "convert it with nv12kit.rgb_to_nv12 first"),
        4 * w * h: ("packed RGBA/BGRA (4 bytes per pixel)", "drop alpha and convert it with nv12kit.rgb_to_nv12"),
        2 * w * h: (
            "YUV 4:2:2 (YUYV/UYVY or NV16, 2 bytes per pixel)",
            "convert 4:2:2 to NV12 (e.g. cv2.cvtColor(..., cv2.COLOR_YUV2RGB_YUYV) then nv12kit.rgb_to_nv12)",
        ),
        w * h: ("a Y plane only (1 byte per pixel, no chroma)", "append the interleaved UV plane (NV12)"),
    }
    if size in other:
        what_it_is, fix = other[size]
        explanation = (
            f"the buffer has {size} bytes, but a {w}x{h} NV12 frame has {w}*{h}*3/2 = {frame_bytes}: it is "
            f"{what_it_is}, not NV12"
        )
        src = _Source(np.ascontiguousarray(buf), h, w, w, h, notes=notes, what=what)
        src.unreadable = ("layout", explanation, fix)
        return src
    # Every padding that explains the size is a candidate reading; the content decides between them.
    readings: list[_Source] = []
    data = np.ascontiguousarray(buf)
    if (2 * size) % (3 * h) == 0 and w < 2 * size // (3 * h) <= 4 * w:
        s2 = 2 * size // (3 * h)
        finding = (
            "stride",
            f"the buffer has {size} bytes = {s2} x {h} x 3/2: its rows are {s2} bytes ({s2 - w} bytes of padding), "
            f"not {w}",
            f"read it with stride={s2} (NV12Frame.from_bytes(buf, {w}, {h}, stride={s2})), or pack the rows if the "
            f"consumer expects {w}-byte rows",
        )
        readings.append(_Source(data, h, w, s2, h, findings=[finding], notes=list(notes), what=what))
    for s3 in (w, *sorted({-(-w // a) * a for a in _ALIGNMENTS} - {w})):
        if (2 * size) % (3 * s3):
            continue
        hp = 2 * size // (3 * s3)
        if h < hp <= h + 128 and hp % 2 == 0:
            findings = [
                (
                    "misaligned",
                    f"the buffer holds planes of {hp} rows, not {h}: a reader that assumes {h} rows starts the "
                    f"chroma {(hp - h) * s3} bytes too early",
                    f"read it with height={hp} and crop to {h} rows, or have the producer write unpadded planes",
                )
            ]
            if s3 != w:
                findings.append(
                    (
                        "stride",
                        f"its rows are {s3} bytes ({s3 - w} bytes of padding), not {w}",
                        f"read it with stride={s3}",
                    )
                )
            readings.append(_Source(data, h, w, s3, hp, findings=findings, notes=list(notes), what=what))
    if not readings:
        if size > frame_bytes and size % frame_bytes == 0:
            notes.append(
                f"the buffer holds {size // frame_bytes} frames of {frame_bytes} bytes (a raw video?); the first "
                "one was diagnosed"
            )
            return _Source(np.ascontiguousarray(buf[:frame_bytes]), h, w, w, h, notes=notes, what=what)
        if size > frame_bytes and ref_hw is not None:
            return _decoder_buffer(buf, h, w, w, notes, what)
        raise InputError(frame_size_message(size, w, h, layout, w, None, None))
    first = readings[0]
    first.alternatives = readings[1:]
    return first


def _is_flat_bytes(x: Any) -> bool:
    return isinstance(x, (bytes, bytearray, memoryview)) or (isinstance(x, np.ndarray) and x.ndim == 1)


def _pair_source(
    y_buf: Any, uv_buf: Any, width: Any, height: Any, stride: Any, ref_hw: tuple[int, int] | None
) -> _Source:
    """Planes in separate buffers (V4L2 NV12M, Android Image planes): one stream, chroma where its buffer starts."""
    y_arr = _u8(np.frombuffer(bytes(y_buf), np.uint8) if not isinstance(y_buf, np.ndarray) else y_buf, "y_bytes")
    uv_arr = _u8(np.frombuffer(bytes(uv_buf), np.uint8) if not isinstance(uv_buf, np.ndarray) else uv_buf, "uv_bytes")
    if width is None or height is None:
        if ref_hw is None:
            raise InputError("planes in separate buffers need width= and height= (and stride= if rows are padded)")
        height, width = ref_hw if height is None and width is None else (height or ref_hw[0], width or ref_hw[1])
    w, h = _as_size(width, "width"), _as_size(height, "height")
    if w % 2 or h % 2:
        raise InputError(_odd_message(h, w))
    if stride is not None:
        s = _as_size(stride, "stride")
    elif y_arr.size % h == 0 and y_arr.size // h >= w:
        s = y_arr.size // h
    else:
        s = max(w, -(-(y_arr.size - w) // max(h - 1, 1)))  # Android: the last row lacks its padding
    if s < w or s * (h - 1) + w > y_arr.size:
        raise InputError(
            f"y_bytes has {y_arr.size} bytes, too few for {h} rows of {w} bytes with stride {s} "
            f"({s * (h - 1) + w} needed); check width, height and stride"
        )
    rows = h // 2
    # V4L2 NV12M: the chroma rows are padded like the luma rows; otherwise what the buffer's size says.
    # Android's chroma buffer may lack the last byte of its last row (its V sample is then lost).
    if s * (rows - 1) + w - 1 <= uv_arr.size <= s * rows:
        cs = s
    else:
        cs = uv_arr.size // rows if uv_arr.size % rows == 0 else -(-(uv_arr.size - w + 1) // max(rows - 1, 1))
    if cs < w or cs * (rows - 1) + w - 1 > uv_arr.size:
        raise InputError(
            f"uv_bytes has {uv_arr.size} bytes, too few for {rows} interleaved chroma rows of {w} bytes "
            f"({w * rows} at least); check width, height and that it is the chroma plane"
        )
    stream = np.concatenate([y_arr[: s * h], np.zeros(max(0, s * h - y_arr.size), np.uint8), uv_arr,
                             np.full(max(0, cs * (rows - 1) + w - uv_arr.size), 128, np.uint8)])
    src = _Source(stream, h, w, s, h, what="(y_bytes, uv_bytes) buffers", uv_stride=0 if cs == s else cs)
    src.notes.append(
        f"the planes came in separate buffers: Y with stride {s}, chroma with stride {cs}, read as one stream "
        f"with the chroma at byte {s * h}"
    )
    return src


def _as_size(value: Any, what: str) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise InputError(f"{what} must be an integer, got {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what} must be an integer, got {value!r}") from exc


def _decoder_buffer(buf: np.ndarray, h: int, w: int, stride: int, notes: list[str], what: str) -> _Source:
    """A buffer larger than one frame, as decoders allocate them: the content says where the planes are."""
    extra = buf.size - stride * h * 3 // 2
    notes = notes + [
        f"the buffer has {extra} bytes more than one {w}x{h} frame with stride {stride}: read as a decoder's "
        "buffer (padded plane heights, gaps between planes), whose planes were searched for"
    ]
    return _Source(np.ascontiguousarray(buf), h, w, stride, h, notes=notes, what=what)


def _as_source(
    nv12: Any, width: Any, height: Any, stride: Any, layout: Any, ref_hw: tuple[int, int] | None
) -> _Source:
    lay = "nv12" if layout is None else str(layout).lower()
    if lay not in ("nv12", "nv21", "i420", "yv12"):
        raise InputError(f"layout must be one of 'nv12', 'nv21', 'i420', 'yv12', got {layout!r}")
    if isinstance(nv12, NV12Frame):
        return _planes_source(nv12.y, nv12.uv, f"NV12Frame {nv12.width}x{nv12.height}")
    if isinstance(nv12, Mapping):
        ys = [k for k in nv12 if str(k).endswith("_y")]
        uvs = [k for k in nv12 if str(k).endswith("_uv")]
        if len(ys) != 1 or len(uvs) != 1:
            raise InputError(
                f"a dict of planes needs exactly one '<name>_y' and one '<name>_uv' key (as NV12Frame.to_feed "
                f"makes), got keys {sorted(map(str, nv12))}"
            )
        return _planes_source(nv12[ys[0]], nv12[uvs[0]], f"feed {ys[0]}/{uvs[0]}")
    if isinstance(nv12, (tuple, list)):
        if len(nv12) == 2 and all(_is_flat_bytes(p) for p in nv12):
            return _pair_source(nv12[0], nv12[1], width, height, stride, ref_hw)
        if len(nv12) == 2:
            return _planes_source(nv12[0], nv12[1], "(y, uv) planes")
        if len(nv12) == 3:
            y, u, v = (_u8(p, n) for p, n in zip(nv12, ("y", "u", "v")))
            if u.shape != v.shape:
                raise InputError(f"u and v must have the same shape, got {u.shape} and {v.shape}")
            uv = np.stack([u.reshape(-1), v.reshape(-1)], axis=-1)
            src = _planes_source(y, uv, "(y, u, v) planes")
            src.notes.append("separate U and V planes were interleaved U first, as NV12 stores them")
            return src
        raise InputError(
            f"a sequence of planes must be (y, uv) or (y, u, v), got {len(nv12)} items; "
            "raw bytes should be passed as bytes or a 1-D uint8 array"
        )
    if isinstance(nv12, (str, os.PathLike)):
        path = pathlib.Path(os.fspath(nv12))
        if not path.exists():
            raise InputError(f"NV12 file {str(path)!r} does not exist or is not a file")
        # Both readers refuse a FIFO, device or directory before opening it and check sizes before allocating.
        if path.suffix.lower() == ".npy":
            return _as_source(read_npy(path), width, height, stride, layout, ref_hw)
        data = np.frombuffer(read_bytes(path, what="NV12 file"), dtype=np.uint8)
        return _raw_source(data, width, height, stride, lay, ref_hw, f"file {path.name!r}")
    if isinstance(nv12, (bytes, bytearray, memoryview)):
        data = np.frombuffer(bytes(nv12), dtype=np.uint8)
        return _raw_source(data, width, height, stride, lay, ref_hw, "raw buffer")
    if isinstance(nv12, np.ndarray):
        arr = _u8(nv12, "the NV12 buffer")
        if arr.ndim == 1:
            return _raw_source(arr, width, height, stride, lay, ref_hw, "raw buffer")
        flat_2d = arr[0] if arr.ndim == 3 and arr.shape[0] == 1 else arr
        if flat_2d.ndim == 2 and ref_hw is not None and flat_2d.shape == ref_hw and width is None:
            h, w = ref_hw
            src = _Source(np.ascontiguousarray(flat_2d).reshape(-1), h, w, w, h, what=f"{flat_2d.shape} array")
            src.unreadable = (
                "layout",
                f"the array is {h}x{w}, the size of the image: a Y plane without chroma, not an NV12 buffer "
                f"({h * 3 // 2}x{w})",
                "append the interleaved UV plane (NV12), or pass (y, uv)",
            )
            return src
        if flat_2d.ndim == 2 and flat_2d.shape[0] % 3 == 0:
            # OpenCV's single-array NV12 / I420: (H * 3 / 2, W).
            h = flat_2d.shape[0] * 2 // 3
            w = flat_2d.shape[1]
            return _raw_source(
                np.ascontiguousarray(flat_2d).reshape(-1),
                w if width is None else width,
                h if height is None else height,
                stride,
                lay,
                ref_hw,
                f"({flat_2d.shape[0]}, {flat_2d.shape[1]}) buffer",
            )
        raise InputError(
            f"a single NV12 array must be 1-D raw bytes or OpenCV's (H*3/2, W) layout, got shape {arr.shape}; "
            "pass planes as a (y, uv) tuple"
        )
    raise InputError(
        f"cannot read NV12 from a {type(nv12).__name__}; pass an NV12Frame, a (y, uv) tuple, raw bytes (with "
        "width and height) or a file path"
    )


def _as_reference(rgb: Any) -> np.ndarray | None:
    if rgb is None:
        return None
    if isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3:
        if rgb.shape[0] < 2 or rgb.shape[1] < 2:
            raise InputError(f"the reference image is too small: shape {rgb.shape}")
        return np.ascontiguousarray(rgb)
    return load_image(rgb)
