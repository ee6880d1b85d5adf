"""Reading the byte stream under a structural hypothesis (:class:`_Structure`), and what that hypothesis claims.

A structure says where the samples of an H x W frame sit in the stream: the
stride, where the Y and chroma planes start, interleaved or planar chroma,
an int8 offset (top bit flipped), a flipped, mirrored or transposed frame.
:func:`_structure_findings` words the bugs a structure names against the
reading the user asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .findings import Finding


@dataclass(frozen=True)
class _Structure:
    """Where the samples of an H x W frame sit in the byte stream."""

    stride: int
    plane_rows: int
    y_offset: int = 0
    uv_shift: int = 0
    planar: bool = False
    y_xor: bool = False
    uv_xor: bool = False
    geom: str = ""
    uv_stride: int = 0  # bytes per chroma row; 0: the luma stride (half of it for planar chroma)

    def uv_start(self) -> int:
        return self.y_offset + self.stride * self.plane_rows + self.uv_shift

    def chroma_stride(self) -> int:
        """Bytes from one chroma row to the next (of one plane, when planar)."""
        if self.uv_stride:
            return self.uv_stride
        return self.stride // 2 if self.planar else self.stride


def _gather(stream: np.ndarray, starts: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``width`` bytes at ``starts``; rows that leave the stream are flagged invalid (and zero)."""
    size = stream.size
    starts = np.asarray(starts, dtype=np.int64)
    valid = (starts >= 0) & (starts + width <= size)
    if size < width:
        return np.zeros((starts.size, width), np.uint8), np.zeros(starts.size, bool)
    idx = np.clip(starts, 0, size - width)[:, None] + np.arange(width)
    out = stream[idx]
    out[~valid] = 0
    return out, valid


_GEOMS = {
    "": lambda a: a,
    "flipud": lambda a: a[::-1],
    "fliplr": lambda a: a[:, ::-1],
    "rot180": lambda a: a[::-1, ::-1],
    "transpose": lambda a: a.swapaxes(0, 1),
}


def _read_y(stream: np.ndarray, st: _Structure, h: int, w: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the Y plane under ``st`` (after undoing its geometry), and which of them lie inside the data."""
    if st.geom == "transpose":
        full, valid = _gather(stream, st.y_offset + np.arange(h) * st.stride, w)
        out, ok = np.ascontiguousarray(full.T)[rows], np.full(rows.size, bool(valid.all()))
    else:
        src_rows = h - 1 - rows if st.geom in ("flipud", "rot180") else rows
        out, ok = _gather(stream, st.y_offset + src_rows * st.stride, w)
        if st.geom in ("fliplr", "rot180"):
            out = out[:, ::-1]
    if st.y_xor:
        out = out ^ np.uint8(0x80)
    return out, ok


def _read_uv(
    stream: np.ndarray, st: _Structure, h: int, w: int, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """U and V rows under ``st``, and which rows of each lie inside the data."""
    start = st.uv_start()
    if st.geom:
        all_rows = np.arange(h // 2)
        u, v, ok_u, ok_v = _read_uv(stream, _Structure(**{**st.__dict__, "geom": ""}), h, w, all_rows)
        geo = _GEOMS[st.geom]
        u, v = np.ascontiguousarray(geo(u)), np.ascontiguousarray(geo(v))
        if st.geom == "transpose":
            ok_u = np.full(w // 2, bool(ok_u.all()))
            ok_v = np.full(w // 2, bool(ok_v.all()))
        else:
            ok_u, ok_v = geo(ok_u[:, None])[:, 0], geo(ok_v[:, None])[:, 0]
        return u[rows], v[rows], ok_u[rows], ok_v[rows]
    y_end = st.y_offset + st.stride * h  # chroma read from inside this reading's Y plane is not chroma
    cs = st.chroma_stride()
    if st.planar:
        u_starts = start + rows * cs
        v_starts = start + (st.plane_rows // 2) * cs + rows * cs
        u, ok_u = _gather(stream, u_starts, w // 2)
        v, ok_v = _gather(stream, v_starts, w // 2)
        ok_u &= (u_starts >= y_end) | (u_starts + w // 2 <= st.y_offset)
        ok_v &= (v_starts >= y_end) | (v_starts + w // 2 <= st.y_offset)
    else:
        starts = start + rows * cs
        both, ok_u = _gather(stream, starts, w)
        ok_u &= (starts >= y_end) | (starts + w <= st.y_offset)
        ok_v = ok_u
        u, v = both[:, 0::2], both[:, 1::2]
    if st.uv_xor:
        u, v = u ^ np.uint8(0x80), v ^ np.uint8(0x80)
    return np.ascontiguousarray(u), np.ascontiguousarray(v), ok_u, ok_v


def _read_planes(
    stream: np.ndarray, st: _Structure, h: int, w: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The whole frame under ``st``: y (H, W), uv (H/2, W/2, 2) and the valid rows of each."""
    y, y_ok = _read_y(stream, st, h, w, np.arange(h))
    u, v, ok_u, ok_v = _read_uv(stream, st, h, w, np.arange(h // 2))
    uv = np.stack([u, v], axis=-1)
    return np.ascontiguousarray(y), uv, y_ok, np.stack([ok_u, ok_v], axis=-1)


def _structure_findings(st: _Structure, base: _Structure, w: int, h: int) -> list[Finding]:
    """The issues a structure claims relative to the base reading, with explanation and fix."""
    out: list[Finding] = []
    if st.y_xor or st.uv_xor:
        which = "every byte" if st.y_xor and st.uv_xor else ("the Y bytes" if st.y_xor else "the chroma bytes")
        out.append(
            (
                "int8_offset",
                f"{which} are shifted by 128 (top bit flipped): an int8 offset of -128 was applied twice or "
                "not at all",
                "apply the uint8 -> int8 offset exactly once (x ^ 0x80 undoes one); feed the chip uint8 NV12 "
                "unless it is set up for int8 input",
            )
        )
    if st.planar:
        out.append(
            (
                "planar_layout",
                "the chroma is planar (a U plane, then a V plane: I420/YV12) but is read as interleaved NV12",
                "interleave it: uv = np.stack([u, v], axis=-1) (or write NV12 directly: "
                "nv12kit.rgb_to_nv12(img).to_bytes())",
            )
        )
    call = _read_call(st, w, h)
    chroma_stride_differs = st.chroma_stride() != base.chroma_stride() and st.uv_stride != 0
    if st.stride != base.stride or chroma_stride_differs:
        parts = []
        if st.stride != base.stride:
            parts.append(
                f"the rows are {st.stride} bytes apart, not {base.stride}: the frame was written with row padding "
                f"(stride {st.stride} for width {w}) and read without it"
            )
        if chroma_stride_differs:
            parts.append(f"the chroma rows are {st.chroma_stride()} bytes apart, not {base.chroma_stride()}")
        out.append(("stride", " and ".join(parts), f"read it with {call}, or write unpadded rows"))
    chroma_bytes = st.stride * st.plane_rows // 2
    if st.uv_start() == base.y_offset and st.y_offset == base.y_offset + chroma_bytes:
        out.append(
            (
                "layout",
                "the chroma plane comes first and the Y plane after it: the planes are in the wrong order",
                "write the Y plane first, then the interleaved UV plane",
            )
        )
    elif st.y_offset != base.y_offset or st.uv_shift != base.uv_shift or st.plane_rows != base.plane_rows:
        parts = []
        if st.y_offset != base.y_offset:
            parts.append(_offset_words("the Y plane", st.y_offset - base.y_offset, st.stride))
        if st.plane_rows != base.plane_rows:
            parts.append(
                f"the planes are {st.plane_rows} rows high, not {base.plane_rows} (padded plane height), so the "
                f"chroma starts {(st.plane_rows - base.plane_rows) * st.stride} bytes later than a "
                f"{base.plane_rows}-row reader expects"
            )
        shift = st.uv_start() - st.y_offset - st.stride * st.plane_rows
        base_shift = base.uv_start() - base.y_offset - base.stride * base.plane_rows
        if shift != base_shift:
            gap = "a gap" if shift > base_shift else "an overlap"
            parts.append(
                _offset_words("the chroma plane", shift - base_shift, st.stride)
                + f" ({gap} of {abs(shift - base_shift)} bytes between the planes)"
            )
        out.append(
            (
                "misaligned",
                " and ".join(parts),
                f"start each plane where it is: {call} (check headers, padded plane heights and allocator gaps)",
            )
        )
    if st.geom:
        what = {
            "flipud": ("the frame is upside down", "flip it back: np.flipud (check bottom-up BMP/DIB buffers)"),
            "fliplr": ("the frame is mirrored left to right", "mirror it back: np.fliplr"),
            "rot180": ("the frame is rotated by 180 degrees", "rotate it back: np.rot90(x, 2)"),
            "transpose": ("the frame is transposed (rows and columns exchanged)", "swap width and height back"),
        }[st.geom]
        out.append(("layout", what[0], what[1]))
    return out


def _offset_words(plane: str, delta: int, stride: int) -> str:
    rows, rest = divmod(abs(delta), stride)
    if rest == 0:
        amount = f"{rows} row{'s' if rows != 1 else ''} ({abs(delta)} bytes)"
    else:
        amount = f"{abs(delta)} bytes"
    return f"{plane} starts {amount} {'later' if delta > 0 else 'earlier'} than it should"


def _plane_height_alignment(st: _Structure, h: int) -> int:
    """The smallest usual row alignment (1, 2, 16, 32, 64) that pads ``h`` rows to the plane height."""
    for a in (1, 2, 16, 32, 64):
        if -(-h // a) * a == st.plane_rows:
            return a
    return 0  # not a usual alignment


def _geometry(st: _Structure, h: int) -> dict[str, int]:
    """Where the planes are under ``st``, as evidence."""
    return {
        "y_offset": st.y_offset,
        "y_stride": st.stride,
        "uv_stride": st.chroma_stride(),
        "uv_offset": st.uv_start(),
        "plane_rows": st.plane_rows,
        "plane_height_alignment": _plane_height_alignment(st, h),
        "uv_gap": st.uv_start() - st.y_offset - st.stride * st.plane_rows,
    }


def _read_call(st: _Structure, w: int, h: int) -> str:
    """A ready-to-use ``nv12kit.read_yuv(...)`` call that reads the bytes as ``st`` lays them out.

    When an allocator preset lays the planes out the same way, the call names it.
    """
    from ..yuv_layouts import LAYOUT_PRESETS, plane_layout

    layout = "i420" if st.planar else "nv12"
    v_offset = st.uv_start() + st.chroma_stride() * (st.plane_rows // 2) if st.planar else None
    if st.y_offset == 0 and not st.geom:
        for name in LAYOUT_PRESETS:
            lay = plane_layout(w, h, layout=layout, preset=name)
            if (lay.y_stride, lay.uv_stride, lay.uv_offset, lay.v_offset) == (
                st.stride, st.chroma_stride(), st.uv_start(), v_offset
            ) and name != "packed":
                return f"nv12kit.read_yuv(buf, {w}, {h}{', layout=' + repr(layout) if st.planar else ''}, " \
                    f"preset={name!r})"
    args = [f"buf, {w}, {h}"]
    if st.planar:
        args.append(f"layout={layout!r}")
    args.append(f"stride={st.stride}")
    if st.uv_stride or st.planar:
        args.append(f"uv_stride={st.chroma_stride()}")
    if st.y_offset:
        args.append(f"y_offset={st.y_offset}")
    args.append(f"uv_offset={st.uv_start()}")
    if v_offset is not None:
        args.append(f"v_offset={v_offset}")
    return "nv12kit.read_yuv(" + ", ".join(args) + ")"
