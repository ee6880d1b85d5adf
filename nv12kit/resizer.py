"""The resizer NV12 node: crop an ROI from a full frame, resize it in YUV, then the pyramid node.

Horizon's toolchains offer two NV12 input sources. The *pyramid* source
(:func:`nv12kit.insert_nv12_node`) takes Y/UV planes at the model's size. The
*resizer* source takes a whole camera frame of any size plus an ROI; the chip
crops the ROI and scales the Y and UV planes separately, in YUV, to the
model's size, and only then converts colour. :func:`insert_nv12_resizer`
emulates it in ONNX and :func:`resize_nv12_roi` does the same in numpy, bit
for bit.

What the vendor publishes, and what nv12kit chose where it is silent
-------------------------------------------------------------------
Published (hbdk4 ``Value.insert_roi_resize(mode, interp_mode="bilinear",
pad_mode="constant", pad_value=(0, -128))`` docstring, in the hbdk4 compiler
overlay; the OE doc on the older ``input_source: resizer``; Horizon developer
blog 10419 "resizer模型使用与部署"):

- inputs ``<name>_y``, ``<name>_uv`` (frame of any size) and ``<name>_roi``;
- ``interp_mode`` bilinear (default) or nearest; ``pad_mode`` constant
  (default) or border; ``pad_value`` a (Y, UV) pair, default ``(0, -128)``;
- the older resizer's scale step is ``((src_len - 1) * 65536 + (dst_len - 1)
  / 2) / (dst_len - 1)`` (Q16 fixed point, at most 4x down), i.e. an
  align-corners grid on those chips (blog 10419).

Chosen here (each ambiguous one is a parameter):

- **ROI** ``[1, 4]`` int32 ``(left, top, right, bottom)`` in Y pixels of the
  frame; ``right``/``bottom`` exclusive by default (``roi_end="inclusive"``
  for the convention where they are the last pixel). :func:`check_roi` wants
  ``left``/``top`` even and the width/height even, so the ROI covers whole
  2x2 chroma blocks. The node never fails on an ROI: odd coordinates take
  chroma from ``floor(left/2)`` to ``ceil(right/2)``; an empty or inverted
  ROI is widened to 2x2 Y pixels at ``(left, top)``. One ROI for the batch.
- **Chroma ROI** is the Y ROI halved: ``(left//2, top//2, ceil(right/2),
  ceil(bottom/2))`` in UV samples.
- **Outside the frame** the ROI is padded: ``pad="constant"`` with
  ``pad_value`` as uint8 (Y, UV), default ``(0, 128)`` (black, neutral
  chroma; hbdk4's ``(0, -128)`` is in a signed domain its docs do not
  define), or ``pad="border"`` (the nearest frame pixel, replicated).
- **The crop comes first**: sampling never reads frame pixels outside the
  ROI; at the ROI's edges the grid is clamped as ONNX Resize and OpenCV do.
- **Sampling grid** ``align``: ``"half_pixel"`` (default; OpenCV
  ``INTER_LINEAR``, ONNX Resize ``half_pixel``), ``"align_corners"`` (the
  grid of the Q16 step formula above) or ``"asymmetric"``. Nearest rounds the
  source coordinate by ``nearest_mode``: ``"round_prefer_ceil"`` (default;
  with ``half_pixel`` this is OpenCV ``INTER_NEAREST_EXACT`` and Pillow's
  NEAREST), ``"round_prefer_floor"`` or ``"floor"`` (with ``asymmetric``:
  OpenCV ``INTER_NEAREST``).
- **Arithmetic and rounding**: the bilinear weights are the exact rational
  ones (a source coordinate ``n/d`` with integer ``n``, ``d``), the result is
  rounded half up to uint8 exactly, in int64. A Q-format hardware
  interpolator approximates these weights and may differ by one level on
  some pixels; the exact rule is what an independent implementation can
  reproduce.

The resized planes then go through exactly the pyramid node (the same
:func:`nv12kit.insert_nv12_node` ops), so a full-frame ROI on a frame already
at the model's size gives the pyramid node's output bit for bit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .errors import InputError, ModelError
from .yuv import NV12Frame

if TYPE_CHECKING:
    import onnx

__all__ = [
    "RESIZER_ALIGNS",
    "ResizerInput",
    "check_roi",
    "insert_nv12_resizer",
    "resize_nv12_roi",
    "resizer_feed",
    "resizer_inputs",
]

RESIZER_ALIGNS = ("half_pixel", "align_corners", "asymmetric")
_INTERPOLATIONS = ("bilinear", "nearest")
_PADS = ("constant", "border")
_ROI_ENDS = ("exclusive", "inclusive")
_NEAREST_MODES = ("round_prefer_ceil", "round_prefer_floor", "floor")
_FLOOR_SHIFT = 1 << 30  # makes truncating int64 division floor for coordinates down to -2**30


# ----------------------------------------------------------------------------
# settings and ROI checks
# ----------------------------------------------------------------------------
def _check_settings(interpolation: str, pad: str, pad_value: Any, roi_end: str, align: str,
                    nearest_mode: str) -> tuple[int, int]:
    for value, allowed, what in ((interpolation, _INTERPOLATIONS, "interpolation"), (pad, _PADS, "pad"),
                                 (roi_end, _ROI_ENDS, "roi_end"), (align, RESIZER_ALIGNS, "align"),
                                 (nearest_mode, _NEAREST_MODES, "nearest_mode")):
        if value not in allowed:
            raise InputError(f"{what} must be one of {allowed}, got {value!r}")
    try:
        y_pad, uv_pad = (int(v) for v in pad_value)
    except (TypeError, ValueError):
        raise InputError(f"pad_value must be a (Y, UV) pair of uint8 values, got {pad_value!r}") from None
    if not (0 <= y_pad <= 255 and 0 <= uv_pad <= 255):
        raise InputError(
            f"pad_value must be uint8 (0-255), got {pad_value!r}; hbdk4 writes its default (0, -128) in a "
            "signed domain: use (0, 128) for black with neutral chroma"
        )
    return y_pad, uv_pad


def _roi_tuple(roi: Any) -> tuple[int, int, int, int]:
    arr = np.asarray(roi)
    if arr.size != 4 or not (np.issubdtype(arr.dtype, np.integer) or
                             (np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr)))):
        raise InputError(f"roi must be 4 integers (left, top, right, bottom) in Y pixels, got {roi!r}")
    left, top, right, bottom = (int(v) for v in arr.reshape(4))
    return left, top, right, bottom


def check_roi(roi: Any, frame_height: int, frame_width: int, *,
              roi_end: Literal["exclusive", "inclusive"] = "exclusive",
              allow_padding: bool = True) -> tuple[int, int, int, int]:
    """Check an ROI for the resizer and return it as ``(left, top, right, bottom)``, right/bottom exclusive.

    The node itself cannot raise inside onnxruntime: it pads, widens empty
    ROIs and floors odd chroma coordinates (see :mod:`nv12kit.resizer`).
    Call this first to turn those cases into clear errors.

    Parameters
    ----------
    roi : 4 integers
        ``(left, top, right, bottom)`` in Y pixels of the frame.
    frame_height, frame_width : int
        Size of the full frame (the Y plane).
    roi_end : {"exclusive", "inclusive"}, optional
        Whether ``right``/``bottom`` are one past the last pixel (default)
        or the last pixel.
    allow_padding : bool, optional
        Accept an ROI partly outside the frame (the node pads it). False
        makes that an error too.

    Returns
    -------
    tuple of 4 int
        ``(left, top, right, bottom)`` with exclusive right and bottom.

    Raises
    ------
    InputError
        Not 4 integers; ``left``/``top`` odd or the width/height odd (an ROI
        must cover whole 2x2 chroma blocks); empty; entirely outside the
        frame; or, with ``allow_padding=False``, partly outside.

    Examples
    --------
    >>> check_roi((0, 0, 64, 32), 480, 640)
    (0, 0, 64, 32)
    >>> check_roi((0, 0, 63, 31), 480, 640, roi_end="inclusive")
    (0, 0, 64, 32)
    >>> check_roi((1, 0, 65, 32), 480, 640)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nv12kit.errors.InputError: roi left=1 is odd; ... (use left=0 or left=2)
    """
    if roi_end not in _ROI_ENDS:
        raise InputError(f"roi_end must be one of {_ROI_ENDS}, got {roi_end!r}")
    left, top, right, bottom = _roi_tuple(roi)
    if roi_end == "inclusive":
        right, bottom = right + 1, bottom + 1
    for name, value in (("left", left), ("top", top)):
        if value % 2:
            raise InputError(
                f"roi {name}={value} is odd; NV12 shares one chroma sample per 2x2 block, so left and top "
                f"must be even (use {name}={value - 1} or {name}={value + 1})"
            )
    width, height = right - left, bottom - top
    if width <= 0 or height <= 0:
        raise InputError(
            f"roi {(left, top, right, bottom)} is empty ({width}x{height} pixels, {roi_end} right/bottom); "
            "give (left, top, right, bottom) with right > left and bottom > top"
        )
    if width % 2 or height % 2:
        last = "right - 1 and bottom - 1" if roi_end == "inclusive" else "right and bottom"
        raise InputError(
            f"roi {(left, top, right, bottom)} is {width}x{height} pixels; NV12 needs an even width and height "
            f"so the ROI covers whole chroma blocks (make {last} even with {roi_end} ends)"
        )
    if right <= 0 or bottom <= 0 or left >= frame_width or top >= frame_height:
        raise InputError(
            f"roi {(left, top, right, bottom)} lies entirely outside the {frame_width}x{frame_height} frame; "
            "the model would see only padding. Check the ROI's coordinate order (left, top, right, bottom)"
        )
    outside = left < 0 or top < 0 or right > frame_width or bottom > frame_height
    if outside and not allow_padding:
        raise InputError(
            f"roi {(left, top, right, bottom)} reaches outside the {frame_width}x{frame_height} frame; clip it "
            "to the frame or pass allow_padding=True to accept the node's padding"
        )
    return left, top, right, bottom


# ----------------------------------------------------------------------------
# the numpy resizer
# ----------------------------------------------------------------------------
def _numerators(out: int, align: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(A, B, d) with source coordinate ``(A * in_len + B) / d`` for output index ``i`` (int64 vectors)."""
    i = np.arange(out, dtype=np.int64)
    if align == "half_pixel":
        return 2 * i + 1, np.full(out, -out, np.int64), 2 * out
    if align == "align_corners":
        return i, -i, max(out - 1, 1)
    return i, np.zeros(out, np.int64), out


def _axis_samples(start: int, in_len: int, out: int, plane_len: int, *, interpolation: str, align: str,
                  nearest_mode: str) -> tuple[list[tuple[np.ndarray, np.ndarray, np.ndarray]], int]:
    """Per tap: (absolute index clamped into the plane, in-plane mask, weight); and the weights' sum."""
    a, b, d = _numerators(out, align)
    n = np.clip(a * in_len + b, 0, (in_len - 1) * d)
    if interpolation == "nearest":
        if nearest_mode == "floor":
            j = n // d
        elif nearest_mode == "round_prefer_ceil":
            j = (2 * n + d) // (2 * d)
        else:
            j = (2 * n + d - 1) // (2 * d)
        taps = [(j, np.ones(out, np.int64))]
        d = 1
    else:
        j0 = n // d
        rem = n - j0 * d
        taps = [(j0, d - rem), (j0 + (rem > 0), rem)]
    result = []
    for j, weight in taps:
        absolute = start + j
        clamped = np.clip(absolute, 0, plane_len - 1)
        result.append((clamped, (absolute == clamped).astype(np.int64), weight))
    return result, d


def _resize_plane(plane: np.ndarray, box: tuple[int, int, int, int], size: tuple[int, int], pad_value: int,
                  *, interpolation: str, pad: str, align: str, nearest_mode: str) -> np.ndarray:
    """(H, W, C) uint8 plane, box (left, top, right, bottom) exclusive -> (size[0], size[1], C) uint8."""
    left, top, right, bottom = box
    common = {"interpolation": interpolation, "align": align, "nearest_mode": nearest_mode}
    rows, dy = _axis_samples(top, bottom - top, size[0], plane.shape[0], **common)
    cols, dx = _axis_samples(left, right - left, size[1], plane.shape[1], **common)
    total = np.zeros((size[0], size[1], plane.shape[2]), np.int64)
    for r_index, r_mask, r_weight in rows:
        for c_index, c_mask, c_weight in cols:
            values = plane[r_index][:, c_index].astype(np.int64)
            if pad == "constant":
                inside = (r_mask[:, None] * c_mask[None, :])[:, :, None]
                values = values * inside + pad_value * (1 - inside)
            total += values * (r_weight[:, None] * c_weight[None, :])[:, :, None]
    den = dy * dx
    return ((2 * total + den) // (2 * den)).astype(np.uint8)


def _effective_boxes(roi: tuple[int, int, int, int], roi_end: str
                     ) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]]:
    """The Y box and the chroma box the node uses, exclusive ends, empty ROIs widened to 2x2."""
    left, top, right, bottom = roi
    if roi_end == "inclusive":
        right, bottom = right + 1, bottom + 1
    right, bottom = max(right, left + 2), max(bottom, top + 2)
    chroma = (left // 2, top // 2, -((-right) // 2), -((-bottom) // 2))
    return (left, top, right, bottom), chroma


def resize_nv12_roi(
    frame: NV12Frame,
    roi: Any,
    size: tuple[int, int],
    *,
    interpolation: Literal["bilinear", "nearest"] = "bilinear",
    pad: Literal["constant", "border"] = "constant",
    pad_value: tuple[int, int] = (0, 128),
    roi_end: Literal["exclusive", "inclusive"] = "exclusive",
    align: Literal["half_pixel", "align_corners", "asymmetric"] = "half_pixel",
    nearest_mode: Literal["round_prefer_ceil", "round_prefer_floor", "floor"] = "round_prefer_ceil",
) -> NV12Frame:
    """Crop ``roi`` from an NV12 frame and resize its Y and UV planes to ``size``, as the resizer node does.

    The same arithmetic as :func:`insert_nv12_resizer`'s node, bit for bit:
    these are "the Y/UV planes after the resizer". The ROI is not checked
    (the node accepts anything); call :func:`check_roi` for clear errors.

    Parameters
    ----------
    frame : NV12Frame
        The full frame.
    roi : 4 integers
        ``(left, top, right, bottom)`` in Y pixels.
    size : (height, width)
        The output size (the model's), both even.
    interpolation, pad, pad_value, roi_end, align, nearest_mode
        As in :func:`insert_nv12_resizer`.

    Returns
    -------
    NV12Frame
        ``size[0] x size[1]``.

    Examples
    --------
    >>> import numpy as np
    >>> frame = NV12Frame(np.arange(16, dtype=np.uint8).reshape(4, 4) * 10, np.full((2, 2, 2), 128, np.uint8))
    >>> resize_nv12_roi(frame, (0, 0, 2, 2), (4, 4)).y
    array([[ 0,  3,  8, 10],
           [10, 13, 18, 20],
           [30, 33, 38, 40],
           [40, 43, 48, 50]], dtype=uint8)
    """
    y_pad, uv_pad = _check_settings(interpolation, pad, pad_value, roi_end, align, nearest_mode)
    height, width = (int(v) for v in size)
    if height <= 0 or width <= 0 or height % 2 or width % 2:
        raise InputError(f"size must be a positive, even (height, width), got {size!r}")
    if not isinstance(frame, NV12Frame):
        raise InputError(f"frame must be an NV12Frame, got {type(frame).__name__}")
    y_box, uv_box = _effective_boxes(_roi_tuple(roi), roi_end)
    common = {"interpolation": interpolation, "pad": pad, "align": align, "nearest_mode": nearest_mode}
    y = _resize_plane(frame.y[:, :, None], y_box, (height, width), y_pad, **common)[:, :, 0]
    uv = _resize_plane(frame.uv, uv_box, (height // 2, width // 2), uv_pad, **common)
    return NV12Frame(y, uv)


# ----------------------------------------------------------------------------
# finding and feeding resizer inputs
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ResizerInput:
    """A resizer input triple of a model: ``<name>_y``, ``<name>_uv`` (any frame size) and ``<name>_roi``.

    Attributes
    ----------
    name : str
        The original image input.
    y, uv, roi : str
        The three inputs.
    height, width : int or None
        The size the ROI is resized to, when nv12kit inserted the node.
    settings : dict
        The recorded settings (``source == "resizer"``); empty for models
        made elsewhere.
    """

    name: str
    y: str
    uv: str
    roi: str
    height: int | None
    width: int | None
    settings: dict[str, Any]


def resizer_inputs(model: Any) -> list[ResizerInput]:
    """The resizer input triples of a model (:func:`nv12kit.nv12_inputs` finds their Y/UV pairs too).

    Parameters
    ----------
    model : str, os.PathLike or onnx.ModelProto

    Returns
    -------
    list of ResizerInput
        Empty if the model has none.
    """
    from .graph import nv12_inputs
    from .model import graph_inputs, load_model

    proto = load_model(model)
    names = {v.name for v in graph_inputs(proto)}
    found = []
    for pair in nv12_inputs(proto):
        roi = pair.name + "_roi"
        if roi not in names:
            continue
        settings = dict(pair.settings)
        size = settings.get("size") or (None, None)
        found.append(ResizerInput(pair.name, pair.y, pair.uv, roi, size[0], size[1], settings))
    return found


def resizer_feed(frame: NV12Frame, roi: Any, name: str) -> dict[str, np.ndarray]:
    """The three input tensors of a resizer input called ``name``: the frame's planes and the ROI.

    Returns
    -------
    dict of str to numpy.ndarray
        ``{name_y: (1, H, W, 1) uint8, name_uv: (1, H/2, W/2, 2) uint8, name_roi: (1, 4) int32}``.

    Examples
    --------
    >>> import numpy as np
    >>> frame = NV12Frame(np.zeros((4, 6), np.uint8), np.full((2, 3, 2), 128, np.uint8))
    >>> feed = resizer_feed(frame, (0, 0, 4, 4), "image")
    >>> sorted(feed), feed["image_roi"]
    (['image_roi', 'image_uv', 'image_y'], array([[0, 0, 4, 4]], dtype=int32))
    """
    feed = frame.to_feed(name)
    feed[name + "_roi"] = np.asarray(_roi_tuple(roi), dtype=np.int32).reshape(1, 4)
    return feed


# ----------------------------------------------------------------------------
# the ONNX node
# ----------------------------------------------------------------------------
class _Ops:
    """int64 index arithmetic for the node, on top of graph's builder."""

    def __init__(self, builder: Any) -> None:
        self.b = builder
        self.count = 0

    def __call__(self, op_type: str, inputs: Sequence[str], **attrs: Any) -> str:
        self.count += 1
        return self.b.op(op_type, inputs, f"{op_type.lower()}_{self.count}", **attrs)

    def const(self, value: Any, dtype: Any = np.int64) -> str:
        self.count += 1
        return self.b.const(f"c{self.count}", np.asarray(value, dtype))

    def clamp(self, x: str, lo: str, hi: str) -> str:
        """min(max(x, lo), hi) with Where, which every opset from 11 has for int64."""
        x = self("Where", [self("Less", [x, lo]), lo, x])
        return self("Where", [self("Greater", [x, hi]), hi, x])

    def floor_half(self, x: str, *, ceil: bool = False) -> str:
        """floor(x / 2) (or ceil) of an int64 that may be negative; Div truncates toward zero."""
        shifted = self("Add", [x, self.const(2 * _FLOOR_SHIFT + (1 if ceil else 0))])
        return self("Sub", [self("Div", [shifted, self.const(2)]), self.const(_FLOOR_SHIFT)])


def _axis_taps(ops: _Ops, start: str, stop: str, plane_len: str, out: int, *, interpolation: str, align: str,
               nearest_mode: str) -> tuple[list[tuple[str, str, str]], int]:
    """The graph version of :func:`_axis_samples`: (clamped index, mask, weight) names per tap, and d."""
    a, b, d = _numerators(out, align)
    in_len = ops("Sub", [stop, start])
    n = ops("Add", [ops("Mul", [ops.const(a), in_len]), ops.const(b)])
    hi = ops("Mul", [ops("Sub", [in_len, ops.const(1)]), ops.const(d)])
    n = ops.clamp(n, ops.const(0), hi)
    if interpolation == "nearest":
        if nearest_mode == "floor":
            j = ops("Div", [n, ops.const(d)])
        else:
            bias = d if nearest_mode == "round_prefer_ceil" else d - 1
            j = ops("Div", [ops("Add", [ops("Mul", [n, ops.const(2)]), ops.const(bias)]), ops.const(2 * d)])
        taps, d = [(j, None)], 1
    else:
        j0 = ops("Div", [n, ops.const(d)])
        rem = ops("Sub", [n, ops("Mul", [j0, ops.const(d)])])
        step = ops("Cast", [ops("Greater", [rem, ops.const(0)])], to=7)  # INT64
        taps = [(j0, ops("Sub", [ops.const(d), rem])), (ops("Add", [j0, step]), rem)]
    result = []
    last = ops("Sub", [plane_len, ops.const(1)])
    for j, weight in taps:
        absolute = ops("Add", [start, j])
        clamped = ops.clamp(absolute, ops.const(0), last)
        mask = ops("Cast", [ops("Equal", [absolute, clamped])], to=7)
        result.append((clamped, mask, weight))
    return result, d


def _plane_node(ops: _Ops, plane: str, box: Sequence[str], size: tuple[int, int], pad_value: int, *,
                interpolation: str, pad: str, align: str, nearest_mode: str) -> str:
    """Ops taking an NHWC uint8 plane and an int64 box to the resized NHWC uint8 plane."""
    shape = ops("Shape", [plane])
    plane_h = ops("Gather", [shape, ops.const(1)], axis=0)
    plane_w = ops("Gather", [shape, ops.const(2)], axis=0)
    common = {"interpolation": interpolation, "align": align, "nearest_mode": nearest_mode}
    left, top, right, bottom = box
    rows, dy = _axis_taps(ops, top, bottom, plane_h, size[0], **common)
    cols, dx = _axis_taps(ops, left, right, plane_w, size[1], **common)
    pad_const = ops.const(pad_value)
    one = ops.const(1)

    def padded(x: str, mask: str, shape: list[int]) -> str:
        if pad != "constant":
            return x
        mask = ops("Reshape", [mask, ops.const(shape)])
        inverse = ops("Sub", [one, mask])
        return ops("Add", [ops("Mul", [x, mask]), ops("Mul", [pad_const, inverse])])

    terms = []
    for r_index, r_mask, r_weight in rows:
        picked = ops("Cast", [ops("Gather", [plane, r_index], axis=1)], to=7)
        picked = padded(picked, r_mask, [1, -1, 1, 1])
        for c_index, c_mask, c_weight in cols:
            value = padded(ops("Gather", [picked, c_index], axis=2), c_mask, [1, 1, -1, 1])
            if interpolation == "bilinear":
                weight = ops("Mul", [ops("Reshape", [r_weight, ops.const([1, -1, 1, 1])]),
                                     ops("Reshape", [c_weight, ops.const([1, 1, -1, 1])])])
                value = ops("Mul", [value, weight])
            terms.append(value)
    total = terms[0]
    for term in terms[1:]:
        total = ops("Add", [total, term])
    if interpolation == "bilinear":
        den = dy * dx
        total = ops("Div", [ops("Add", [ops("Mul", [total, ops.const(2)]), ops.const(den)]), ops.const(2 * den)])
    return ops("Cast", [total], to=2)  # UINT8


def insert_nv12_resizer(
    model: Any,
    *,
    input_name: str | None = None,
    size: tuple[int, int] | None = None,
    interpolation: Literal["bilinear", "nearest"] = "bilinear",
    pad: Literal["constant", "border"] = "constant",
    pad_value: tuple[int, int] = (0, 128),
    roi_end: Literal["exclusive", "inclusive"] = "exclusive",
    align: Literal["half_pixel", "align_corners", "asymmetric"] = "half_pixel",
    nearest_mode: Literal["round_prefer_ceil", "round_prefer_floor", "floor"] = "round_prefer_ceil",
    **node_kwargs: Any,
) -> onnx.ModelProto:
    """Return a copy of a float model behind an emulated NV12 *resizer* (Horizon's ``insert_roi_resize``).

    The image input ``<name>`` is replaced by ``<name>_y`` ``[N, Hf, Wf, 1]``
    and ``<name>_uv`` ``[N, Hf/2, Wf/2, 2]`` uint8 for a frame of any (even)
    size, and ``<name>_roi`` ``[1, 4]`` int32 ``(left, top, right, bottom)``
    in Y pixels, one ROI for the whole batch. The node crops the ROI from
    both planes (chroma coordinates halved), resizes Y to the model's
    ``(H, W)`` and UV to ``(H/2, W/2)`` in YUV, rounds to uint8 as a hardware
    resizer writes 8-bit planes, then converts and normalises with exactly
    the ops of :func:`nv12kit.insert_nv12_node` (the pyramid node).

    Parameters
    ----------
    model : str, os.PathLike or onnx.ModelProto
        The float model; never modified.
    input_name : str, optional
        The image input; found automatically when there is only one.
    size : (height, width), optional
        The output size of the resizer. Defaults to the model's static input
        size; needed (and must agree) when the model's size is dynamic.
    interpolation : {"bilinear", "nearest"}, optional
        hbdk4's ``interp_mode``.
    pad : {"constant", "border"}, optional
        hbdk4's ``pad_mode``: what the ROI sees outside the frame.
    pad_value : (int, int), optional
        uint8 (Y, UV) for ``pad="constant"``; default black with neutral
        chroma (hbdk4's default ``(0, -128)`` is in a signed domain).
    roi_end : {"exclusive", "inclusive"}, optional
        Whether ``right``/``bottom`` are one past the last pixel or the last pixel.
    align : {"half_pixel", "align_corners", "asymmetric"}, optional
        The sampling grid (ONNX Resize's ``coordinate_transformation_mode``).
    nearest_mode : {"round_prefer_ceil", "round_prefer_floor", "floor"}, optional
        How nearest rounds the source coordinate.
    **node_kwargs
        ``mode``, ``divisor``, ``mean``, ``std``, ``layout``, ``upsample`` as
        in :func:`nv12kit.insert_nv12_node` (``Preprocess.node_kwargs()``).

    Returns
    -------
    onnx.ModelProto
        The new model; ``metadata_props["nv12kit.nv12_node"]`` records the
        settings with ``"source": "resizer"``.

    Raises
    ------
    ModelError
        As :func:`nv12kit.insert_nv12_node`; or the model's size is dynamic
        and ``size`` is not given, or ``size`` contradicts it or is odd; or
        the model already has an input ``<name>_roi``.
    InputError
        An unknown ``interpolation``, ``pad``, ``roi_end``, ``align`` or
        ``nearest_mode``, or a ``pad_value`` outside 0-255.

    Notes
    -----
    The semantics chosen where Horizon's docs are silent (ROI order and
    ends, chroma ROI, padding, grid, exact rational weights rounded half up)
    are described in :mod:`nv12kit.resizer`. The node never raises on an ROI;
    :func:`check_roi` does, in Python.

    Examples
    --------
    >>> import numpy as np, onnxruntime as ort
    >>> from onnx import TensorProto, helper
    >>> x = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, 4, 4])
    >>> y = helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 3, 4, 4])
    >>> float_model = helper.make_model(
    ...     helper.make_graph([helper.make_node("Identity", ["image"], ["out"])], "g", [x], [y]),
    ...     opset_imports=[helper.make_opsetid("", 17)])
    >>> model = insert_nv12_resizer(float_model, mean=0, std=1, mode=None)
    >>> [i.name for i in model.graph.input]
    ['image_y', 'image_uv', 'image_roi']
    >>> frame = NV12Frame(np.full((8, 10), 100, np.uint8), np.full((4, 5, 2), 128, np.uint8))
    >>> session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    >>> session.run(None, resizer_feed(frame, (0, 0, 10, 8), "image"))[0].shape
    (1, 3, 4, 4)
    """
    import onnx
    from onnx import TensorProto, helper

    from .graph import NODE_METADATA_KEY, _all_names, _Builder, insert_nv12_node, nv12_inputs
    from .model import ImageInputSpec, load_model

    y_pad, uv_pad = _check_settings(interpolation, pad, pad_value, roi_end, align, nearest_mode)
    source = load_model(model)
    existing = nv12_inputs(source)
    if existing and input_name not in {v.name for v in source.graph.input}:
        pairs = ", ".join(f"{p.y}/{p.uv}" for p in existing)
        raise ModelError(f"the model already has the NV12 inputs {pairs} (a node was inserted already); "
                         "pass the float model instead")
    spec = ImageInputSpec.from_model(source, input_name, layout=node_kwargs.get("layout"))
    static = spec.static_size
    if size is None:
        if static is None:
            raise ModelError(
                f"the model's input {spec.name!r} has a dynamic size ({spec.height}x{spec.width}); the resizer "
                "scales the ROI to a fixed size. Pass size=(height, width) or export the model at the deployed size"
            )
        size = static
    height, width = (int(v) for v in size)
    if static is not None and static != (height, width):
        raise ModelError(f"size={size!r} contradicts the model's input size {static}; leave size out")
    if height <= 0 or width <= 0 or height % 2 or width % 2:
        raise ModelError(f"size must be a positive, even (height, width) for NV12, got {size!r}")
    roi_name = f"{spec.name}_roi"
    if roi_name in _all_names(source):
        raise ModelError(f"the model already uses the name {roi_name!r}; was the resizer inserted already?")

    new = insert_nv12_node(source, input_name=spec.name, **node_kwargs)
    y_name, uv_name = f"{spec.name}_y", f"{spec.name}_uv"
    taken = _all_names(new)
    prefix = f"nv12kit/{spec.name}/resizer/"
    while any(n.startswith(prefix) for n in taken):
        prefix = "_" + prefix
    b = _Builder(prefix)
    ops = _Ops(b)
    roi = ops("Cast", [ops("Reshape", [roi_name, ops.const([4])])], to=7)
    left, top, right, bottom = (ops("Gather", [roi, ops.const(k)], axis=0) for k in range(4))
    if roi_end == "inclusive":
        right, bottom = ops("Add", [right, ops.const(1)]), ops("Add", [bottom, ops.const(1)])
    right = ops("Where", [ops("Less", [right, ops("Add", [left, ops.const(2)])]), ops("Add", [left, ops.const(2)]),
                         right])
    bottom = ops("Where", [ops("Less", [bottom, ops("Add", [top, ops.const(2)])]), ops("Add", [top, ops.const(2)]),
                           bottom])
    chroma = (ops.floor_half(left), ops.floor_half(top), ops.floor_half(right, ceil=True),
              ops.floor_half(bottom, ceil=True))
    common = {"interpolation": interpolation, "pad": pad, "align": align, "nearest_mode": nearest_mode}
    y_out = _plane_node(ops, y_name, (left, top, right, bottom), (height, width), y_pad, **common)
    uv_out = _plane_node(ops, uv_name, chroma, (height // 2, width // 2), uv_pad, **common)

    graph = new.graph
    for node in graph.node:  # the pyramid node now reads the resized planes
        node.input[:] = [y_out if i == y_name else uv_out if i == uv_name else i for i in node.input]
    batch = spec.batch if spec.batch is not None else "N"
    y_info = helper.make_tensor_value_info(y_name, TensorProto.UINT8, [batch, "frame_height", "frame_width", 1])
    uv_info = helper.make_tensor_value_info(uv_name, TensorProto.UINT8,
                                            [batch, "frame_height_half", "frame_width_half", 2])
    roi_info = helper.make_tensor_value_info(roi_name, TensorProto.INT32, [1, 4])
    inputs = list(graph.input)
    position = [v.name for v in inputs].index(y_name)
    inputs = [v for v in inputs if v.name not in (y_name, uv_name)]
    del graph.input[:]
    graph.input.extend(inputs[:position] + [y_info, uv_info, roi_info] + inputs[position:])
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(b.nodes + nodes)
    graph.initializer.extend(b.initializers)

    part = helper.make_graph(b.nodes, "nv12kit_resizer", [y_info, uv_info, roi_info],
                             [helper.make_tensor_value_info(y_out, TensorProto.UINT8, ["n", "h", "w", 1]),
                              helper.make_tensor_value_info(uv_out, TensorProto.UINT8, ["n", "h2", "w2", 2])],
                             b.initializers)
    alone = helper.make_model(part, opset_imports=list(new.opset_import))
    alone.ir_version = new.ir_version
    try:
        onnx.checker.check_model(alone)
    except onnx.checker.ValidationError as exc:  # pragma: no cover - would be a bug in the builder
        raise ModelError(f"the resizer node nv12kit built does not validate: {exc}") from exc

    entry = next(p for p in new.metadata_props if p.key == NODE_METADATA_KEY)
    records = json.loads(entry.value)
    records[-1].update({"source": "resizer", "roi": roi_name, "size": [height, width],
                        "interpolation": interpolation, "pad": pad, "pad_value": [y_pad, uv_pad],
                        "roi_end": roi_end, "align": align, "nearest_mode": nearest_mode})
    entry.value = json.dumps(records)
    return new
