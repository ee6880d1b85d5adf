"""Where real allocators put the planes of a YUV 4:2:0 frame: strides, padded plane heights, gaps, presets.

A decoder or camera buffer is rarely ``W * H * 3 / 2`` packed bytes: rows are
padded to an alignment (the *stride* or line size), the luma plane is padded
in height before the chroma plane starts, allocators leave gaps between
planes, and some APIs hand over each plane in its own buffer.
:class:`PlaneLayout` says where each plane starts and how far apart its rows
are; :func:`plane_layout` computes it for a named allocator preset
(:data:`LAYOUT_PRESETS`) or from explicit numbers, and :func:`read_yuv`
(in :mod:`nv12kit.yuv`) reads a frame with it.

Presets (what each aligns, and where the rule comes from):

``"packed"``
    Rows of ``stride`` bytes (default: the width), chroma right after the
    luma (``uv_offset = stride * height``): what ``NV12Frame.to_bytes``
    writes and what most chips expect.
``"ffmpeg"``
    ``av_frame_get_buffer`` / libswscale output as PyAV 18 hands it over
    (its bundled FFmpeg): line sizes aligned to 16 bytes per plane
    (``av_image_fill_linesizes`` on the aligned width), planes padded to a
    height of ``align(H, 32)`` rows (``padded_height = FFALIGN(height, 32)``
    in ``get_video_buffer``, libavutil/frame.c) and 64 bytes of padding
    after each plane.  Measured: a 300x200 NV12 frame has line size 304 and
    its chroma at byte ``304 * 224 + 64 = 68160``; I420 (yuv420p) chroma
    planes have line size ``align(W/2, 16)`` and V starts 64 bytes after the
    padded U plane.
``"v4l2"``
    ``V4L2_PIX_FMT_NV12`` (single-planar API): the chroma plane immediately
    follows the luma plane and has the same ``bytesperline`` (the stride the
    driver reports; default the width).  ``V4L2_PIX_FMT_NV12M`` (the
    multi-planar API) puts the planes in two buffers: pass a
    ``(y_bytes, uv_bytes)`` pair; "if the Y plane has pad bytes after each
    row, then the CbCr plane has as many pad bytes after its rows" (Linux
    kernel documentation, pixfmt-nv12m).
``"android"``
    MediaCodec ``COLOR_FormatYUV420SemiPlanar`` output buffers: the chroma
    starts at ``stride * slice_height`` (``MediaFormat.KEY_STRIDE`` and
    ``KEY_SLICE_HEIGHT``: "the offset of the U plane is sliceHeight *
    stride").  The values are device dependent; this preset assumes the
    common 16-byte stride and 16-row slice-height alignment: pass
    ``stride=`` and ``uv_offset=stride * slice_height`` from the codec's
    ``MediaFormat`` when they differ.  Camera2 ``Image`` planes
    (``YUV_420_888`` with a pixel stride of 2) are separate buffers: pass
    ``(planes[0] bytes, planes[1] bytes)`` with ``stride=`` the Y
    ``rowStride`` and ``uv_stride=`` the U ``rowStride``.  The U plane's
    buffer of a semi-planar ``Image`` ends one byte early (its last V sample
    sits only in the V plane's buffer): append it,
    ``bytes(planes[1].buffer) + bytes(planes[2].buffer)[-1:]``.
``"qcom-venus"``
    Qualcomm Venus NV12 (``msm_media_info.h``: ``VENUS_Y_STRIDE`` and
    ``VENUS_UV_STRIDE`` align the width to 128 bytes, ``VENUS_Y_SCANLINES``
    the height to 32 rows); the chroma plane starts after the padded luma
    plane, which is then a multiple of 4096 bytes (page aligned).
"""

from __future__ import annotations

import operator
import os
import pathlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from ._io import read_bytes
from .errors import InputError

_SEMI_PLANAR = ("nv12", "nv21")
_LAYOUTS = ("nv12", "nv21", "i420", "yv12")

__all__ = ["LAYOUT_PRESETS", "PlaneLayout", "plane_layout", "read_yuv_layout"]

#: The allocator presets :func:`plane_layout` knows, with what each aligns.
LAYOUT_PRESETS: Mapping[str, str] = MappingProxyType(
    {
        "packed": "rows of stride bytes (default the width), chroma right after the luma",
        "ffmpeg": "line sizes aligned to 16 bytes, planes padded to align(H, 32) rows plus 64 bytes",
        "v4l2": "V4L2_PIX_FMT_NV12: chroma right after the luma, same bytesperline (pass stride=)",
        "android": "MediaCodec YUV420SemiPlanar: stride aligned to 16, chroma at stride * align(H, 16)",
        "qcom-venus": "Qualcomm Venus NV12: stride aligned to 128, chroma at stride * align(H, 32)",
    }
)


def _align(x: int, a: int) -> int:
    return -(-x // a) * a


@dataclass(frozen=True)
class PlaneLayout:
    """Where the planes of a ``width`` x ``height`` frame sit in a buffer.

    Attributes
    ----------
    width, height : int
        Frame size in pixels.
    layout : {"nv12", "nv21", "i420", "yv12"}
        Interleaved (``nv12``/``nv21``) or planar chroma, and its order.
    y_stride, uv_stride : int
        Bytes from one row to the next in the luma and chroma planes (for
        planar layouts, in each chroma plane).
    y_offset, uv_offset : int
        Byte where the luma plane and the (first) chroma plane start.
    v_offset : int or None
        Planar layouts: byte where the second chroma plane starts.
    preset : str
        The preset it was computed from (``"custom"`` when every number was given).
    """

    width: int
    height: int
    layout: str
    y_stride: int
    uv_stride: int
    y_offset: int
    uv_offset: int
    v_offset: int | None
    preset: str

    @property
    def chroma_row_bytes(self) -> int:
        """Bytes of chroma samples in one chroma row (of one plane, when planar)."""
        return self.width if self.layout in _SEMI_PLANAR else self.width // 2

    @property
    def nbytes(self) -> int:
        """The fewest bytes a single buffer holding the frame can have (up to the last chroma sample)."""
        rows = self.height // 2
        last = self.uv_offset if self.v_offset is None else max(self.uv_offset, self.v_offset)
        return max(self.y_offset + self.y_stride * (self.height - 1) + self.width,
                   last + self.uv_stride * (rows - 1) + self.chroma_row_bytes)

    def read(self, data: Any, uv_data: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """The planes ``y`` (H, W) and ``uv`` (H/2, W/2, 2) in ``data``, or in ``data`` and ``uv_data``.

        With two buffers (planes in separate buffers), ``uv_offset`` (and
        ``v_offset``) count from the start of ``uv_data``.
        """
        y_buf = _load(data)
        c_buf = y_buf if uv_data is None else _load(uv_data)
        w, h = self.width, self.height
        y = _rows(y_buf, self.y_offset, self.y_stride, h, w, "luma")
        if self.layout in _SEMI_PLANAR:
            both = _rows(c_buf, self.uv_offset, self.uv_stride, h // 2, w, "chroma").reshape(h // 2, w // 2, 2)
            uv = both if self.layout == "nv12" else both[..., ::-1]
        else:
            assert self.v_offset is not None
            first = _rows(c_buf, self.uv_offset, self.uv_stride, h // 2, w // 2, "first chroma")
            second = _rows(c_buf, self.v_offset, self.uv_stride, h // 2, w // 2, "second chroma")
            uv = np.stack([first, second] if self.layout == "i420" else [second, first], axis=-1)
        return np.ascontiguousarray(y), np.ascontiguousarray(uv)

    def read_call(self, source: str = "buf") -> str:
        """The :func:`nv12kit.read_yuv` call that reads a buffer laid out like this."""
        args = [f"{source}, {self.width}, {self.height}"]
        if self.layout != "nv12":
            args.append(f"layout={self.layout!r}")
        args += [f"stride={self.y_stride}", f"uv_stride={self.uv_stride}"]
        if self.y_offset:
            args.append(f"y_offset={self.y_offset}")
        args.append(f"uv_offset={self.uv_offset}")
        if self.v_offset is not None:
            args.append(f"v_offset={self.v_offset}")
        return "nv12kit.read_yuv(" + ", ".join(args) + ")"


def _rows(buf: np.ndarray, start: int, stride: int, rows: int, width: int, what: str) -> np.ndarray:
    """``rows`` rows of ``width`` bytes, ``stride`` apart from ``start``; the last row may end the buffer."""
    end = start + stride * (rows - 1) + width
    if what == "chroma" and end == buf.size + 1:
        raise InputError(
            f"the chroma buffer has {buf.size} bytes, one short of its last V byte (byte {end - 1}): Android "
            "Image planes end so; append the last byte of the V plane's buffer: "
            "bytes(planes[1].buffer) + bytes(planes[2].buffer)[-1:]"
        )
    if start < 0 or end > buf.size:
        raise InputError(
            f"the {what} plane needs bytes {start} to {end} ({rows} rows of {width} bytes, {stride} apart) but the "
            f"buffer has {buf.size} bytes; check the stride, the plane offsets and the preset"
        )
    idx = start + np.arange(rows, dtype=np.int64)[:, None] * stride + np.arange(width)
    return buf[idx]


def plane_layout(
    width: int,
    height: int,
    *,
    layout: str = "nv12",
    preset: str | None = None,
    stride: int | None = None,
    uv_stride: int | None = None,
    y_offset: int = 0,
    uv_offset: int | None = None,
    v_offset: int | None = None,
) -> PlaneLayout:
    """Where the planes of a frame are, for an allocator preset, with any number given explicitly.

    Parameters
    ----------
    width, height : int
        Frame size in pixels; both even.
    layout : {"nv12", "nv21", "i420", "yv12"}
        Chroma layout.
    preset : str, optional
        One of :data:`LAYOUT_PRESETS` (default ``"packed"``); see the module
        docstring for what each aligns and the sources.
    stride, uv_stride : int, optional
        Bytes per luma row and per chroma row; the preset's when omitted.
    y_offset : int
        Byte where the luma plane starts (a header in front).
    uv_offset, v_offset : int, optional
        Byte where the (first) chroma plane and, for planar layouts, the
        second one start; the preset's when omitted.

    Returns
    -------
    PlaneLayout

    Raises
    ------
    InputError
        An unknown preset, odd sizes, a stride smaller than a row, negative offsets.

    Examples
    --------
    >>> lay = plane_layout(300, 200, preset="ffmpeg")
    >>> lay.y_stride, lay.uv_offset
    (304, 68160)
    >>> plane_layout(300, 200, preset="qcom-venus").uv_offset  # 384 * 224, a multiple of 4096
    86016
    """
    w, h = _as_int(width, "width"), _as_int(height, "height")
    if w <= 0 or h <= 0 or w % 2 or h % 2:
        raise InputError(f"width and height must be even and positive for YUV 4:2:0, got {w}x{h} (width x height)")
    lay = str(layout).lower()
    if lay not in _LAYOUTS:
        raise InputError(f"unknown layout {layout!r}; valid layouts are {', '.join(_LAYOUTS)}")
    name = "packed" if preset is None else str(preset).lower()
    if name not in LAYOUT_PRESETS:
        raise InputError(f"unknown layout preset {preset!r}; known presets: {', '.join(LAYOUT_PRESETS)}")
    semi = lay in _SEMI_PLANAR
    row_align, rows_align, gap = {"packed": (1, 2, 0), "v4l2": (1, 2, 0), "ffmpeg": (16, 32, 64),
                                  "android": (16, 16, 0), "qcom-venus": (128, 32, 0)}[name]
    ys = _align(w, row_align) if stride is None else _as_int(stride, "stride")
    if ys < w:
        raise InputError(f"stride={ys} is smaller than width={w}: each luma row needs at least {w} bytes")
    if uv_stride is not None:
        cs = _as_int(uv_stride, "uv_stride")
    elif name == "ffmpeg" and not semi:
        cs = _align(w // 2, row_align)
    else:
        cs = ys if semi else ys // 2
    if cs < (w if semi else w // 2):
        raise InputError(
            f"uv_stride={cs} is smaller than a chroma row ({w if semi else w // 2} bytes for {lay} at width {w})"
        )
    yo = _as_int(y_offset, "y_offset")
    plane_rows = _align(h, rows_align)
    uo = yo + ys * plane_rows + gap if uv_offset is None else _as_int(uv_offset, "uv_offset")
    vo = None
    if not semi:
        vo = uo + cs * (plane_rows // 2) + gap if v_offset is None else _as_int(v_offset, "v_offset")
    elif v_offset is not None:
        raise InputError(f"v_offset is for planar layouts (i420, yv12); {lay} interleaves U and V")
    if min(yo, uo, vo if vo is not None else 0) < 0:
        raise InputError(f"plane offsets must be >= 0, got y_offset={yo}, uv_offset={uo}, v_offset={vo}")
    explicit = stride is not None and uv_stride is not None and uv_offset is not None
    return PlaneLayout(w, h, lay, ys, cs, yo, uo, vo, "custom" if explicit and preset is None else name)


def read_yuv_layout(
    source: Any,
    width: int,
    height: int,
    *,
    layout: str = "nv12",
    preset: str | None = None,
    stride: int | None = None,
    uv_stride: int | None = None,
    y_offset: int = 0,
    uv_offset: int | None = None,
    v_offset: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The planes ``(y, uv)`` of a frame in a file, bytes or a ``(y_bytes, uv_bytes)`` pair, per :func:`plane_layout`.

    Unlike the packed reader, trailing bytes are allowed (allocators round
    buffer sizes up); a buffer too small for the layout is an error that
    names the plane.  :func:`nv12kit.read_yuv` calls this when it is given
    bytes, a pair, a preset or any plane geometry, and wraps the planes in
    an :class:`~nv12kit.NV12Frame`.
    """
    pair = isinstance(source, (tuple, list))
    if pair and len(source) != 2:
        raise InputError(f"planes in separate buffers are a (y_bytes, uv_bytes) pair, got {len(source)} items")
    lay = plane_layout(width, height, layout=layout, preset=preset, stride=stride, uv_stride=uv_stride,
                       y_offset=y_offset, uv_offset=0 if pair and uv_offset is None else uv_offset,
                       v_offset=v_offset)
    if pair:
        return lay.read(_load(source[0]), _load(source[1]))
    return lay.read(_load(source))


def _as_int(value: Any, what: str) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise InputError(f"{what} must be an integer, got {value!r}")
    try:
        return operator.index(value)
    except TypeError as exc:
        raise InputError(f"{what} must be an integer, got {value!r} ({type(value).__name__})") from exc


def _load(source: Any) -> np.ndarray:
    """A file's bytes, or a bytes-like object or 1-D uint8 array, as a 1-D uint8 array."""
    if isinstance(source, (str, os.PathLike)):
        return np.frombuffer(read_bytes(pathlib.Path(os.fspath(source)), what="raw YUV file"), np.uint8)
    if isinstance(source, np.ndarray):
        if source.dtype != np.uint8 or source.ndim != 1:
            raise InputError(
                f"a raw YUV buffer array must be 1-D uint8 bytes, got dtype {source.dtype} and shape {source.shape}"
            )
        return source
    try:
        view = memoryview(source)
    except TypeError as exc:
        raise InputError(
            f"expected a path, bytes, bytearray, memoryview or a 1-D uint8 array, got {type(source).__name__}"
        ) from exc
    if not view.c_contiguous:
        raise InputError("raw YUV buffer memoryview is not contiguous; pass bytes(view)")
    return np.frombuffer(view, dtype=np.uint8)
