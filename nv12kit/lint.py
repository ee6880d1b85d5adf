"""Conversion lint: name the bug in a user's NV12, their converter, and their node settings.

Three entry points:

:func:`diagnose`
    Compares a user's NV12 bytes with the RGB image they came from and names
    what went wrong (limited range fed to a full-range chip, BT.709 against
    BT.601, U/V or R/B swapped, I420 planes read as NV12, a wrong stride, a
    misaligned chroma plane, an int8 offset, ...).  Without the RGB image it
    says what the bytes alone can tell.
:func:`check_converter`
    Runs a user's conversion function on :func:`nv12kit.chart.test_chart`
    and on a bundled photo, then diagnoses what it returns.
:func:`lint_node`
    Checks the settings of the NV12 preprocessing node (mode, divisor, mean,
    std) against how the model was trained.

How :func:`diagnose` decides
----------------------------
Every convention nv12kit knows computes Y, U and V as a linear function of
R, G and B (plus an offset), so the bytes are compared with the reference
in the YUV domain, where the bugs have distinct shapes:

1. **Structure.**  Which bytes hold which samples: the stride, where the Y
   and chroma planes start (a header, padded plane heights, a shifted
   plane, chroma before Y), interleaved or planar chroma, an int8 offset
   (the top bit of every byte flipped), a flipped, mirrored or transposed
   frame.  Each candidate reading is scored by how well its samples are
   explained by *any* affine function of the reference's R, G and B (a
   free least-squares fit), which does not depend on the colour
   convention.  Candidates come from the data, not from a list of cases:
   strides from the period at which the bytes repeat and from usual
   alignments, plane offsets from where the reference's rows match the
   bytes (normalised cross-correlation).  A few rows that a shifted plane
   loses to neighbouring bytes are left out of the fit.
2. **Colour.**  On the bytes as read, every combination of matrix (BT.601,
   BT.709, BT.2020), range (full, limited), R/B order and U/V order is
   scored by its mean squared residual, after allowing for the encoder's
   rounding (a constant bias of up to 1.5 levels).  Chroma is compared
   after down-sampling the reference by each usual method (a corner pixel
   of each 2x2 block, the 2x2 average, Pillow's bicubic and bilinear
   shrinks) and the best one is kept, so a different chroma down-sampling
   method is never mistaken for a bug; it becomes a note.
3. **Model choice.**  A hypothesis that names ``k`` bugs costs
   ``E * 2**k + 0.1 * k``, with ``E`` its residual in levels squared: a bug
   is named only when it at least halves what is left to explain.  This is
   what tells BT.709 from BT.601 by its pattern rather than by an error
   threshold: the two predict different Y for saturated colours (up to
   about 30 levels on pure green), and the one that explains the bytes
   wins.  On an image without saturated colour both explain the bytes
   equally well, nothing is named, and a note says the image cannot tell.
   What the best hypothesis still leaves unexplained (more than 3 levels
   rms in Y, or more chroma error than the down-sampling methods disagree
   by) is reported as ``unknown``.

Without a reference, the bytes are checked for what they show on their own:
Y outside 16-235 (full range), the period of the rows (stride), and which
reading (as is, top bit flipped, planar chroma) decodes inside the RGB cube.

The evidence of each hypothesis includes the PSNR and mean absolute error
of the frame decoded under that hypothesis, next to the honest round trip
of the expected convention and the frame decoded as is.
"""

from __future__ import annotations

import html
import json
import math
import os
import pathlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product
from types import MappingProxyType
from typing import Any

import numpy as np
from PIL import Image

from .chart import test_chart
from .conventions import MATRICES, Convention, get_convention
from .convert import nv12_to_rgb, rgb_to_nv12
from .data import photo_path
from .errors import InputError
from .images import crop_to_even, load_image, pad_to_even, resize_to
from .preprocess import NODE_MODES
from .preprocess import per_channel  # lint also accepts None
from .yuv import NV12Frame, _size_message

__all__ = [
    "ISSUE_IDS",
    "ISSUE_DESCRIPTIONS",
    "NODE_FINDING_IDS",
    "Hypothesis",
    "Diagnosis",
    "NodeFinding",
    "diagnose",
    "check_converter",
    "lint_node",
    "test_chart",
]

#: The issue ids a :class:`Hypothesis` can carry, in the order they are reported.
ISSUE_IDS: tuple[str, ...] = (
    "ok",
    "range_mismatch",
    "matrix_mismatch",
    "uv_swapped",
    "rgb_bgr_swapped",
    "planar_layout",
    "stride",
    "misaligned",
    "int8_offset",
    "layout",
    "resized",
    "unknown",
)

#: One line per issue id: what it means.
ISSUE_DESCRIPTIONS: Mapping[str, str] = MappingProxyType(
    {
        "ok": "consistent with the expected convention (within rounding and chroma down-sampling)",
        "range_mismatch": "full range (0-255) against limited range (Y 16-235, chroma 16-240)",
        "matrix_mismatch": "a different colour matrix (BT.601, BT.709 or BT.2020)",
        "uv_swapped": "V stored before U (NV21 read as NV12, or YV12 as I420)",
        "rgb_bgr_swapped": "the converter was fed BGR as RGB (or the other way round)",
        "planar_layout": "planar chroma (I420: all U, then all V) read as interleaved NV12",
        "stride": "rows carry padding (stride > width) that the reader did not skip, or skipped wrongly",
        "misaligned": "a plane starts at the wrong place (header, padded plane height, off-by-some bytes)",
        "int8_offset": "every byte shifted by 128 (an int8 -128 offset applied twice or not at all)",
        "layout": "the frame is arranged differently (flipped, mirrored, transposed, or no chroma at all)",
        "resized": "the frame has another size than the image it should come from",
        "unknown": "the bytes do not match the reference under any bug nv12kit knows",
    }
)

#: The ids of :class:`NodeFinding`.
NODE_FINDING_IDS: tuple[str, ...] = ("mode", "order", "range", "divisor", "mean", "std", "scale", "ambiguous")


_BIAS_ALLOWANCE = 1.5  # levels of constant offset an encoder's rounding may cause
_PENALTY_FACTOR = 2.0  # each named bug must at least halve the residual ...
_PENALTY_ADD = 0.1  # ... and remove this many levels squared
_CLEAN_ENERGY = 2.0  # levels squared: a reading this good leaves nothing for a structural bug to explain
_MAX_Y_SAMPLES = 400_000
_MAX_C_SAMPLES = 200_000
_SEARCH_Y_SAMPLES = 60_000
_SEARCH_C_SAMPLES = 30_000
_CHROMA_METHODS = ("topleft", "box", "bicubic", "bilinear", "bottomright", "bottomleft", "topright")
_EXPECTED_METHOD = {"topleft": "topleft", "box": "box", "bicubic": "bicubic"}
_ALIGNMENTS = (16, 32, 64, 128, 256, 512, 1024)
_METHOD_WORDS = {
    "topleft": "the top-left pixel of each 2x2 block",
    "bottomright": "the bottom-right pixel of each 2x2 block",
    "bottomleft": "the bottom-left pixel of each 2x2 block",
    "topright": "the top-right pixel of each 2x2 block",
    "box": "the average of each 2x2 block",
    "bicubic": "a bicubic shrink (Pillow's resize)",
    "bilinear": "a bilinear shrink (Pillow's resize)",
}

Finding = tuple[str, str, str]  # (issue id, explanation, fix)


# ============================================================================
# result objects
# ============================================================================
def _json_number(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _json_number(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_number(v) for v in value]
    return value if value is None or isinstance(value, str) else str(value)


def _fmt(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        if math.isinf(value):
            return "inf"
        if math.isnan(value):
            return "nan"
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


@dataclass(frozen=True)
class Hypothesis:
    """One explanation of the bytes: which bugs, how well it fits, and how to fix it.

    Attributes
    ----------
    issues : tuple of str
        Ids from :data:`ISSUE_IDS`; ``("ok",)`` when nothing is wrong.  Two
        bugs at once give two ids.
    explanation : str
        One line: what the bytes show.
    fix : str
        One line: what to change.
    evidence : dict
        Numbers behind it: ``psnr_db`` and ``mae`` of the frame decoded
        under this hypothesis against the reference, the residuals of the
        fit (``y_rms``, ``uv_rms``, in levels), and where relevant the
        stride, offsets and fitted slopes.
    score : float
        Plausibility in 0..1 relative to the other hypotheses of the same
        diagnosis (they sum to 1).  Without a reference image it is the
        confidence in what the bytes alone show.
    convention : str or None
        The convention the bytes appear to be encoded with, when known.
    """

    issues: tuple[str, ...]
    explanation: str
    fix: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    score: float = 0.0
    convention: str | None = None

    @property
    def is_ok(self) -> bool:
        """True when the hypothesis is "nothing wrong"."""
        return self.issues == ("ok",)

    @property
    def confidence(self) -> float:
        """The same number as :attr:`score`."""
        return self.score

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (non-finite numbers become ``None``)."""
        return {
            "issues": list(self.issues),
            "explanation": self.explanation,
            "fix": self.fix,
            "score": _json_number(self.score),
            "convention": self.convention,
            "evidence": _json_number(dict(self.evidence)),
        }


@dataclass(frozen=True)
class Diagnosis:
    """The ranked hypotheses about one NV12 frame (or converter).

    Attributes
    ----------
    hypotheses : tuple of Hypothesis
        Best first.
    expected : str
        The convention the frame was checked against.
    notes : tuple of str
        Things worth knowing that are not bugs (a different chroma
        down-sampling method, an image too grey to tell BT.601 from BT.709,
        what cannot be checked without a reference, ...).
    evidence : dict
        Numbers that do not belong to one hypothesis: the honest round trip
        of the expected convention (``honest_psnr_db``, ``honest_mae``) and
        the frame decoded as is (``as_is_psnr_db``, ``as_is_mae``).
    subject : str
        What was diagnosed, in words.
    reference : bool
        Whether a reference RGB image was available.

    Examples
    --------
    >>> import numpy as np, nv12kit
    >>> from nv12kit.lint import diagnose
    >>> from nv12kit.chart import test_chart
    >>> rgb = test_chart()
    >>> diagnose(rgb, nv12kit.rgb_to_nv12(rgb, convention="opencv")).top.issues
    ('range_mismatch',)
    >>> diagnose(rgb, nv12kit.rgb_to_nv12(rgb, convention="horizon")).is_ok
    True
    """

    hypotheses: tuple[Hypothesis, ...]
    expected: str
    notes: tuple[str, ...] = ()
    evidence: Mapping[str, Any] = field(default_factory=dict)
    subject: str = ""
    reference: bool = True

    @property
    def top(self) -> Hypothesis:
        """The best hypothesis."""
        return self.hypotheses[0]

    @property
    def is_ok(self) -> bool:
        """True when the best hypothesis is ``("ok",)``."""
        return self.top.is_ok

    @property
    def issues(self) -> tuple[str, ...]:
        """The issue ids of the best hypothesis."""
        return self.top.issues

    @property
    def confidence(self) -> float:
        """The score of the best hypothesis."""
        return self.top.score

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of everything (non-finite numbers become ``None``)."""
        return {
            "subject": self.subject,
            "expected": self.expected,
            "reference": self.reference,
            "is_ok": self.is_ok,
            "issues": list(self.issues),
            "hypotheses": [h.to_dict() for h in self.hypotheses],
            "notes": list(self.notes),
            "evidence": _json_number(dict(self.evidence)),
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """:meth:`to_dict` as a JSON string."""
        return json.dumps(self.to_dict(), indent=indent)

    def _rows(self) -> list[tuple[str, ...]]:
        rows = []
        for i, h in enumerate(self.hypotheses, 1):
            psnr = h.evidence.get("psnr_db")
            mae = h.evidence.get("mae")
            rows.append(
                (
                    str(i),
                    ", ".join(h.issues),
                    f"{h.score:.2f}",
                    "-" if psnr is None else _fmt(psnr),
                    "-" if mae is None else _fmt(mae),
                    h.explanation,
                    h.fix,
                )
            )
        return rows

    def __repr__(self) -> str:
        head = "ok" if self.is_ok else "BUG: " + ", ".join(self.issues)
        lines = [f"Diagnosis({head}; {self.subject}; expected {self.expected!r})"]
        ev = self.evidence
        if "honest_psnr_db" in ev:
            lines.append(
                f"  honest round trip {_fmt(ev['honest_psnr_db'])} dB (MAE {_fmt(ev['honest_mae'])}); "
                f"as is {_fmt(ev.get('as_is_psnr_db'))} dB (MAE {_fmt(ev.get('as_is_mae'))})"
            )
        for rank, issues, score, psnr, mae, explanation, fix in self._rows():
            lines.append(f"  {rank}. [{issues}] score {score}, PSNR {psnr} dB, MAE {mae}")
            lines.append(f"     {explanation}")
            lines.append(f"     fix: {fix}")
        for note in self.notes:
            lines.append(f"  note: {note}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        e = html.escape
        verdict = "ok" if self.is_ok else "bug: " + ", ".join(self.issues)
        colour = "#2e7d32" if self.is_ok else "#c62828"
        parts = [
            "<div class='nv12kit-diagnosis'>",
            f"<p><b style='color:{colour}'>{e(verdict)}</b> &mdash; {e(self.subject)}; "
            f"expected convention <code>{e(self.expected)}</code></p>",
        ]
        ev = self.evidence
        if "honest_psnr_db" in ev:
            parts.append(
                f"<p>honest round trip {e(_fmt(ev['honest_psnr_db']))} dB (MAE {e(_fmt(ev['honest_mae']))}); "
                f"decoded as is {e(_fmt(ev.get('as_is_psnr_db')))} dB (MAE {e(_fmt(ev.get('as_is_mae')))})</p>"
            )
        header = ("#", "issues", "score", "PSNR dB", "MAE", "explanation", "fix")
        parts.append("<table><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr></thead><tbody>")
        for row in self._rows():
            parts.append("<tr>" + "".join(f"<td>{e(cell)}</td>" for cell in row) + "</tr>")
        parts.append("</tbody></table>")
        if self.notes:
            parts.append("<ul>" + "".join(f"<li>{e(n)}</li>" for n in self.notes) + "</ul>")
        parts.append("</div>")
        return "".join(parts)


@dataclass(frozen=True)
class NodeFinding:
    """One problem with the settings of the NV12 preprocessing node.

    Attributes
    ----------
    id : str
        One of :data:`NODE_FINDING_IDS`.
    severity : {"error", "warning", "info"}
        ``error``: the model sees wrong inputs; ``warning``: slightly wrong
        or ambiguous; ``info``: worth knowing.
    message : str
        What is wrong, with the numbers.
    fix : str
        The corrected call, e.g. ``insert_nv12_node(model, mode="yuvbt601full2rgb", ...)``.
    """

    id: str
    severity: str
    message: str
    fix: str

    def to_dict(self) -> dict[str, str]:
        """The fields as a dict."""
        return {"id": self.id, "severity": self.severity, "message": self.message, "fix": self.fix}

    def __str__(self) -> str:
        return f"{self.severity}: {self.message} Fix: {self.fix}"


# ============================================================================
# inputs
# ============================================================================
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
        raise InputError(_size_message(size, w, h, layout, w, None, None))
    first = readings[0]
    first.alternatives = readings[1:]
    return first


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
        if not path.is_file():
            raise InputError(f"NV12 file {str(path)!r} does not exist or is not a file")
        if path.suffix.lower() == ".npy":
            try:
                arr = np.load(path, allow_pickle=False)
            except (OSError, ValueError) as exc:
                raise InputError(f"cannot read {str(path)!r} as a .npy array: {exc}") from exc
            return _as_source(arr, width, height, stride, layout, ref_hw)
        try:
            data = np.frombuffer(path.read_bytes(), dtype=np.uint8)
        except OSError as exc:
            raise InputError(f"cannot read NV12 file {str(path)!r}: {exc}") from exc
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


# ============================================================================
# reading the stream under a structural hypothesis
# ============================================================================
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

    def uv_start(self) -> int:
        return self.y_offset + self.stride * self.plane_rows + self.uv_shift


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
    if st.planar:
        cs = st.stride // 2
        u_starts = start + rows * cs
        v_starts = start + (st.plane_rows // 2) * cs + rows * cs
        u, ok_u = _gather(stream, u_starts, w // 2)
        v, ok_v = _gather(stream, v_starts, w // 2)
        ok_u &= (u_starts >= y_end) | (u_starts + w // 2 <= st.y_offset)
        ok_v &= (v_starts >= y_end) | (v_starts + w // 2 <= st.y_offset)
    else:
        starts = start + rows * st.stride
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
    if st.stride != base.stride:
        out.append(
            (
                "stride",
                f"the rows are {st.stride} bytes apart, not {base.stride}: the frame was written with row padding "
                f"(stride {st.stride} for width {w}) and read without it",
                f"read it with stride={st.stride} (NV12Frame.from_bytes(buf, {w}, {h}, stride={st.stride})), or "
                "write unpadded rows",
            )
        )
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
        if st.uv_shift != base.uv_shift:
            parts.append(_offset_words("the chroma plane", st.uv_shift - base.uv_shift, st.stride))
        out.append(
            (
                "misaligned",
                " and ".join(parts),
                "start each plane where it is: Y at byte 0, chroma at byte stride * height (check headers, "
                "padded plane heights and hand-computed offsets)",
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


# ============================================================================
# least squares from moments
# ============================================================================
def _design(features: np.ndarray) -> np.ndarray:
    """[R, G, B, 1] rows, float64."""
    n = features.shape[0]
    out = np.empty((n, 4), np.float64)
    out[:, :3] = features
    out[:, 3] = 1.0
    return out


@dataclass
class _Moments:
    """Sufficient statistics for linear predictions of targets from [R, G, B, 1]."""

    gram: np.ndarray  # (4, 4)
    cross: np.ndarray  # (4, T)
    sq: np.ndarray  # (T,)
    n: int

    @classmethod
    def of(cls, features: np.ndarray, targets: np.ndarray) -> _Moments:
        d = _design(features)
        t = targets.astype(np.float64)
        return cls(d.T @ d, d.T @ t, np.einsum("nt,nt->t", t, t), features.shape[0])

    def sse(self, coeffs: np.ndarray, offset: float, target: int, *, bias: float = _BIAS_ALLOWANCE) -> float:
        """Sum of squared residuals of ``target - (coeffs . rgb + offset)`` after removing a clipped bias."""
        a = np.append(coeffs, offset)
        sse = self.sq[target] - 2 * a @ self.cross[:, target] + a @ self.gram @ a
        if self.n == 0:
            return 0.0
        mu = (self.cross[3, target] - a @ self.gram[:, 3]) / self.n
        b = float(np.clip(mu, -bias, bias))
        return float(max(sse - self.n * (2 * b * mu - b * b), 0.0))

    def free_sse(self, target: int) -> float:
        """Residual of the best affine fit of ``target`` on R, G, B."""
        if self.n == 0:
            return 0.0
        ridge = 1e-9 * np.trace(self.gram) * np.eye(4)
        beta = np.linalg.solve(self.gram + ridge, self.cross[:, target])
        sse = self.sq[target] - 2 * beta @ self.cross[:, target] + beta @ self.gram @ beta
        return float(max(sse, 0.0))


def _row_grams(design: np.ndarray) -> np.ndarray:
    """Per-row Gram matrices (rows, 4, 4) of a (rows, width, 4) design."""
    return np.matmul(design.transpose(0, 2, 1), design)


def _trim_rows(
    design: np.ndarray,
    targets: Sequence[np.ndarray],
    valid: np.ndarray,
    *,
    grams: np.ndarray | None = None,
    share: float = 0.08,
) -> tuple[np.ndarray, float]:
    """Valid rows minus the few (at most ``share``) that no affine fit explains, and the mean squared residual.

    A shifted plane loses a few rows at one end to whatever bytes precede or
    follow it; those rows say nothing about the rest and are left out.
    """
    if not valid.any():
        return valid, math.inf
    if grams is None:
        grams = _row_grams(design)
    keep = valid.copy()
    budget = int(share * valid.sum())
    rows, width = design.shape[:2]
    flat_design = design.reshape(rows * width, 4)
    values = [t.reshape(rows, width).astype(np.float64) for t in targets]
    # Per-row cross products, so that leaving rows out costs a sum, not a copy.
    crosses = [np.matmul(v[:, None, :], design)[:, 0, :] for v in values]
    row_ms = np.zeros(rows)
    for attempt in range(2):
        gram = grams[keep].sum(axis=0)
        ridge = (1e-9 * np.trace(gram) + 1e-9) * np.eye(4)
        row_ms[:] = 0.0
        for v, cross in zip(values, crosses):
            beta = np.linalg.solve(gram + ridge, cross[keep].sum(axis=0))
            res = v - (flat_design @ beta).reshape(rows, width)
            row_ms += np.matmul(res[:, None, :], res[:, :, None])[:, 0, 0]
        row_ms /= width * len(values)
        if attempt or budget == 0:
            break
        kept_ms = row_ms[keep]
        limit = max(16 * float(np.median(kept_ms)), 9.0)
        worst = np.flatnonzero(keep)[kept_ms > limit]
        if worst.size == 0:
            break
        keep[worst[np.argsort(row_ms[worst])[::-1][:budget]]] = False
    return keep, float(row_ms[keep].mean()) if keep.any() else math.inf


def _free_ms(
    design: np.ndarray,
    targets: Sequence[np.ndarray],
    valids: Sequence[np.ndarray],
    grams: np.ndarray | None = None,
) -> tuple[float, float]:
    """Mean squared residual of free affine fits of each target plane (rows x width) on the design, and coverage.

    Each target has its own valid rows (a planar V plane can end where its U plane does not).
    """
    if grams is None:
        grams = _row_grams(design)
    total = 0.0
    count = 0
    coverage = 0.0
    for t, valid in zip(targets, valids):
        if not valid.any():
            continue
        keep, ms = _trim_rows(design, [t], valid, grams=grams)
        total += ms * keep.sum()
        count += int(keep.sum())
        coverage += float(keep.mean())
    if count == 0:
        return math.inf, 0.0
    return total / count, coverage / len(targets)


def _sample_rows(n: int, width: int, budget: int) -> np.ndarray:
    """Evenly spread row indices (of ``n`` rows of ``width``) giving about ``budget`` samples."""
    want = max(4, budget // max(width, 1))
    if want >= n:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, want).round().astype(np.int64))


# ============================================================================
# the reference: features for Y and for each chroma down-sampling method
# ============================================================================
class _Reference:
    def __init__(self, rgb: np.ndarray) -> None:
        self.rgb = rgb
        self.h, self.w = rgb.shape[:2]
        self._chroma: dict[str, np.ndarray] = {}

    def chroma(self, method: str) -> np.ndarray:
        """(H/2, W/2, 3) float64 RGB down-sampled by ``method``."""
        if method not in self._chroma:
            rgb = self.rgb
            if method == "topleft":
                out = rgb[0::2, 0::2].astype(np.float64)
            elif method == "bottomright":
                out = rgb[1::2, 1::2].astype(np.float64)
            elif method == "bottomleft":
                out = rgb[1::2, 0::2].astype(np.float64)
            elif method == "topright":
                out = rgb[0::2, 1::2].astype(np.float64)
            elif method == "box":
                out = (
                    rgb[0::2, 0::2].astype(np.float64) + rgb[0::2, 1::2] + rgb[1::2, 0::2] + rgb[1::2, 1::2]
                ) / 4.0
            else:
                resample = Image.Resampling.BICUBIC if method == "bicubic" else Image.Resampling.BILINEAR
                size = (self.w // 2, self.h // 2)
                out = np.stack(
                    [
                        np.asarray(
                            Image.fromarray(rgb[..., c].astype(np.float32), "F").resize(size, resample)
                        )
                        for c in range(3)
                    ],
                    axis=-1,
                ).astype(np.float64)
            self._chroma[method] = out
        return self._chroma[method]


# ============================================================================
# colour hypotheses
# ============================================================================
@dataclass(frozen=True)
class _Combo:
    matrix: str
    range: str
    bgr: bool
    swap: bool

    def issues(self, conv: Convention) -> list[str]:
        out = []
        if self.range != conv.range:
            out.append("range_mismatch")
        if self.matrix != conv.matrix:
            out.append("matrix_mismatch")
        if self.swap:
            out.append("uv_swapped")
        if self.bgr:
            out.append("rgb_bgr_swapped")
        return out

    @property
    def preset(self) -> str:
        return f"{self.matrix}-{self.range}"


def _encode_tables(conv: Convention) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    tables = {}
    for m, r in product(MATRICES, ("full", "limited")):
        if (m, r) == (conv.matrix, conv.range):
            tables[(m, r)] = conv.encode_matrix()
        else:
            tables[(m, r)] = get_convention(f"{m}-{r}").encode_matrix()
    return tables


@dataclass
class _ColourFit:
    combo: _Combo
    ms_y: float
    ms_c: float
    method: str
    method_ms: dict[str, float]

    @property
    def energy(self) -> float:
        return self.ms_y + self.ms_c


def _with_ones(features: np.ndarray) -> np.ndarray:
    """(rows, width, 3) -> (rows, width, 4) float64 with a column of ones."""
    out = np.empty(features.shape[:2] + (4,), np.float64)
    out[..., :3] = features
    out[..., 3] = 1.0
    return out


def _colour_fits(
    ref: _Reference,
    y: np.ndarray,
    uv: np.ndarray,
    y_ok: np.ndarray,
    c_ok: np.ndarray,
    conv: Convention,
    *,
    use_chroma: bool = True,
) -> tuple[list[_ColourFit], dict[str, float]]:
    """Every colour combination scored on the frame as read; also the free-fit residuals.

    ``c_ok`` is (H/2, 2): the valid rows of U and of V.
    """
    w = ref.w
    rows = np.flatnonzero(y_ok)
    rows = rows[_sample_rows(rows.size, w, _MAX_Y_SAMPLES)] if rows.size else rows
    keep, _ = _trim_rows(_with_ones(ref.rgb[rows]), [y[rows]], np.ones(rows.size, bool))
    rows = rows[keep]
    my = _Moments.of(ref.rgb[rows].reshape(-1, 3), y[rows].reshape(-1, 1))
    # Chroma: one set of moments per plane (U, V) and per down-sampling method.
    planes: list[dict[str, _Moments]] = []
    c_free = 0.0
    if use_chroma:
        free_total = 0.0
        free_n = 0
        for c in range(2):
            crow = np.flatnonzero(c_ok[:, c])
            crow = crow[_sample_rows(crow.size, w // 2, _MAX_C_SAMPLES // 2)] if crow.size else crow
            # Rows to leave out, judged with the down-sampling method that explains the plane best.
            trims = [
                _trim_rows(_with_ones(ref.chroma(m)[crow]), [uv[crow, :, c]], np.ones(crow.size, bool))
                for m in _CHROMA_METHODS
            ]
            crow = crow[min(trims, key=lambda t: t[1])[0]]
            values = uv[crow, :, c].reshape(-1, 1)
            moms = {m: _Moments.of(ref.chroma(m)[crow].reshape(-1, 3), values) for m in _CHROMA_METHODS}
            planes.append(moms)
            free_total += min(mom.free_sse(0) for mom in moms.values())
            free_n += values.size
        c_free = free_total / max(free_n, 1)
    tables = _encode_tables(conv)
    fits = []
    for (m, r), bgr, swap in product(tables, (False, True), (False, True)):
        if swap and not use_chroma:
            continue
        matrix, offset = tables[(m, r)]
        perm = [2, 1, 0] if bgr else [0, 1, 2]
        k = matrix[:, perm]
        ms_y = my.sse(k[0], offset[0], 0) / max(my.n, 1)
        per_method = {}
        if planes:
            # Plane c of the data is predicted by row 1 + c of the matrix, or by the other row if swapped.
            rows_for = (2, 1) if swap else (1, 2)
            for meth in _CHROMA_METHODS:
                sse = sum(planes[c][meth].sse(k[rows_for[c]], offset[rows_for[c]], 0) for c in range(2))
                per_method[meth] = sse / max(planes[0][meth].n + planes[1][meth].n, 1)
        best = min(per_method, key=per_method.__getitem__) if per_method else ""
        fits.append(_ColourFit(_Combo(m, r, bgr, swap), ms_y, per_method.get(best, 0.0), best, per_method))
    free = {
        "y_free_rms": math.sqrt(my.free_sse(0) / max(my.n, 1)),
        "uv_free_rms": math.sqrt(c_free),
        "y_samples": int(my.n),
        "uv_samples": int(sum(p["box"].n for p in planes)),
    }
    return fits, free


def _penalised(energy: float, k: int) -> float:
    return energy * _PENALTY_FACTOR**k + _PENALTY_ADD * k


# ============================================================================
# structure search
# ============================================================================
class _Search:
    """Scores candidate readings of the stream by free-fit residuals against the reference."""

    def __init__(self, stream: np.ndarray, ref: _Reference, base: _Structure) -> None:
        self.stream = stream
        self.flipped = stream ^ np.uint8(0x80)
        self.ref = ref
        self.base = base
        h, w = ref.h, ref.w
        self.rows = _sample_rows(h, w, _SEARCH_Y_SAMPLES)
        self.y_design = _with_ones(ref.rgb[self.rows])
        self.y_grams = _row_grams(self.y_design)
        self.crows = _sample_rows(h // 2, w // 2, _SEARCH_C_SAMPLES)
        # One design per chroma down-sampling method: the encoder's own method explains its chroma
        # best, and with the wrong one fine chroma detail would look like a misreading.
        self.c_designs = [_with_ones(ref.chroma(m)[self.crows]) for m in _CHROMA_METHODS]
        self.c_grams = [_row_grams(d) for d in self.c_designs]
        self._y: dict[_Structure, float] = {}
        self._c: dict[_Structure, float] = {}
        self._luma: np.ndarray | None = None

    def y_energy(self, st: _Structure) -> float:
        key = _Structure(**{**st.__dict__, "uv_shift": 0, "planar": False, "uv_xor": False})
        if key not in self._y:
            y, ok = _read_y(self.stream, st, self.ref.h, self.ref.w, self.rows)
            ms, coverage = _free_ms(self.y_design, [y], [ok], self.y_grams)
            self._y[key] = ms if coverage >= 0.3 else math.inf
        return self._y[key]

    def c_energy(self, st: _Structure) -> float:
        if st not in self._c:
            u, v, ok_u, ok_v = _read_uv(self.stream, st, self.ref.h, self.ref.w, self.crows)
            best = math.inf
            for design, grams in zip(self.c_designs, self.c_grams):
                ms, coverage = _free_ms(design, [u, v], [ok_u, ok_v], grams)
                if coverage >= 0.3:
                    best = min(best, ms)
            self._c[st] = best
        return self._c[st]

    def offsets(self, stride: int, xor: bool, geom: str = "", count: int = 2) -> list[int]:
        """Where the first rows of the reference best match the stream at this stride (masked NCC)."""
        ref, w, h = self.ref, self.ref.w, self.ref.h
        if self._luma is None:
            self._luma = ref.rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
        image = _GEOMS[geom](self._luma)
        rows = min(6, h)
        # A window of rows unlike the windows up to 8 rows away matches in one place only
        # (bands of identical rows, or stripes, match at many).
        top = max(min(h - rows - 8, 64), 1)
        span = min(h, top + rows + 8)
        uniq = np.full(top, np.inf)
        for k in range(1, min(9, span)):
            d_k = np.abs(image[: span - k] - image[k:span]).mean(axis=1)
            win = np.convolve(d_k, np.ones(rows), mode="valid")  # win[r]: window r against window r + k
            below = np.full(top, 0.0)
            above = np.full(top, np.inf)
            below[: min(top, win.size)] = win[:top]
            above[k:] = win[: top - k] if top > k else above[k:]
            uniq = np.minimum(uniq, np.minimum(below, above))
        first = int(np.argmax(uniq))
        # Horizontal differences: smooth gradients match anywhere, edges and texture in one place.
        luma = np.diff(image[first : first + rows], axis=1)
        length = (rows - 1) * stride + w - 1
        template = np.zeros(length)
        mask = np.zeros(length)
        for r in range(rows):
            template[r * stride : r * stride + w - 1] = luma[r]
            mask[r * stride : r * stride + w - 1] = 1.0
        template[mask > 0] -= template[mask > 0].mean()
        if not np.any(template):
            return []
        # Offsets of pixel (0, 0) from 8 rows lost at the start to a header of two rows and 4 KiB.
        lo = -min(first, 8) * stride
        hi = 2 * stride + 4096
        seg_start = first * stride + lo
        data = self.flipped if xor else self.stream
        seg = np.diff(data[seg_start : seg_start + (hi - lo) + length + 1].astype(np.float64))
        if seg.size < length + 1:
            return []
        n = 1 << int(math.ceil(math.log2(seg.size + length)))
        fs = np.fft.rfft(seg, n)
        fs2 = np.fft.rfft(seg * seg, n)
        ft = np.conj(np.fft.rfft(template, n))
        fm = np.conj(np.fft.rfft(mask, n))
        count_valid = seg.size - length + 1
        num = np.fft.irfft(fs * ft, n)[:count_valid]
        s1 = np.fft.irfft(fs * fm, n)[:count_valid]
        s2 = np.fft.irfft(fs2 * fm, n)[:count_valid]
        m = mask.sum()
        var = np.maximum(s2 - s1 * s1 / m, 1e-9)
        # |NCC|: a swapped R/B or a wrong matrix can turn the correlation of luma rows negative.
        ncc = np.abs(num / np.sqrt(var * (template**2).sum()))
        best: list[int] = []
        top_idx = np.argpartition(ncc, -min(8, ncc.size))[-min(8, ncc.size):]
        for i in top_idx[np.argsort(ncc[top_idx])[::-1]]:
            pos = int(i) + seg_start - first * stride  # stream position of pixel (0, 0)
            if all(abs(pos - b) > 2 for b in best):
                best.append(pos)
            if len(best) >= count:
                break
        return best


def _row_period_candidates(stream: np.ndarray, start: int, w: int, limit: int, count: int = 3) -> list[int]:
    """Lags in (w, limit] where the stream best repeats itself: candidate row strides."""
    seg = stream[max(start, 0) : max(start, 0) + min(24 * limit, stream.size)].astype(np.float64)
    if seg.size < 3 * limit:
        return []
    d = np.diff(seg)
    d -= d.mean()
    n = d.size
    spec = np.fft.rfft(d, 2 * n)
    ac = np.fft.irfft(spec * np.conj(spec))[: limit + 1]
    if ac[0] <= 0:
        return []
    ac = ac / ac[0] * n / (n - np.arange(limit + 1))
    lags = np.arange(w + 1, limit + 1)
    if lags.size == 0:
        return []
    vals = ac[lags]
    order = np.argsort(vals)[::-1]
    picked: list[int] = []
    for i in order:
        lag = int(lags[i])
        if vals[i] < 0.2:
            break
        if all(abs(lag - p) > 2 for p in picked):
            picked.append(lag)
        if len(picked) >= count:
            break
    return picked


def _search_structure(search: _Search, base: _Structure, *, fine: bool) -> _Structure:
    """The best reading of the Y plane, then of the chroma plane."""
    h, w = search.ref.h, search.ref.w

    def variant(st: _Structure, **changes: Any) -> _Structure:
        return _Structure(**{**st.__dict__, **changes})

    def n_issues(st: _Structure) -> int:
        return len({f[0] for f in _structure_findings(st, base, w, h)})

    y_cost: dict[_Structure, float] = {}

    def try_y(st: _Structure) -> None:
        if st not in y_cost:
            y_cost[st] = _penalised(search.y_energy(st), n_issues(st))

    # --- Y: int8 offset, geometry, stride and where the plane starts --------------------------
    # A reading that leaves only rounding noise cannot be beaten by one that names a bug
    # (that must halve the residual), so the search stops there.
    clean = search.y_energy(base) <= _CLEAN_ENERGY
    geoms = [""]
    if fine and not clean:
        geoms += ["flipud", "fliplr", "rot180"] + (["transpose"] if h == w else [])
    for xor, geom in product((False, True) if not clean else (False,), geoms):
        try_y(variant(base, y_xor=xor, geom=geom))
    if fine and not clean:
        strides = {base.stride}
        strides.update(_row_period_candidates(search.stream, base.y_offset, w, 2 * w))
        strides.update(s for s in (-(-w // a) * a for a in _ALIGNMENTS) if w < s <= 2 * w)
        for s, xor, geom in product(sorted(strides), (False, True), geoms):
            try_y(variant(base, stride=s, y_xor=xor, geom=geom))
            if geom in ("", "flipud"):  # headers in front of bottom-up buffers (BMP/DIB) are real
                for off in search.offsets(s, xor, geom):
                    try_y(variant(base, stride=s, y_xor=xor, geom=geom, y_offset=off))
            # The planes in the wrong order: chroma first, then Y.
            try_y(variant(base, stride=s, y_xor=xor, y_offset=base.y_offset + s * base.plane_rows // 2))
        best = min(y_cost, key=y_cost.__getitem__)
        s = best.stride
        for off in (1, -1, 2, -2, s, -s, 2 * s, -2 * s):
            try_y(variant(best, y_offset=best.y_offset + off))
    best = min(y_cost, key=y_cost.__getitem__)
    y_energy = search.y_energy(best)

    # --- chroma: interleaved or planar, int8 offset, where the plane starts -------------------
    c_cost: dict[_Structure, float] = {}

    def try_c(st: _Structure) -> None:
        if st not in c_cost:
            c_cost[st] = _penalised(search.c_energy(st) + y_energy, n_issues(st))

    clean = search.c_energy(best) <= _CLEAN_ENERGY
    for planar, uv_xor in product((False, True), (False, True)) if not clean else ((False, False),):
        try_c(variant(best, planar=planar, uv_xor=uv_xor))
    chosen = min(c_cost, key=c_cost.__getitem__)
    if fine and not clean:
        for rows in {h + 8, h + 16, *(-(-h // a) * a for a in (16, 32, 64))}:
            if rows > h:
                for planar, uv_xor in product((False, True), (False, True)):
                    try_c(variant(chosen, plane_rows=rows, planar=planar, uv_xor=uv_xor))
        chosen = min(c_cost, key=c_cost.__getitem__)
        if chosen.y_offset == base.y_offset + chosen.stride * chosen.plane_rows // 2:
            # Y after a chroma plane: the chroma is at the start.
            for planar, uv_xor in product((False, True), (False, True)):
                try_c(variant(chosen, planar=planar, uv_xor=uv_xor, uv_shift=base.y_offset - chosen.y_offset
                              - chosen.stride * chosen.plane_rows))
            chosen = min(c_cost, key=c_cost.__getitem__)
        cs = chosen.stride // 2 if chosen.planar else chosen.stride
        for sh in (1, -1, 2, -2, cs, -cs, 2 * cs, -2 * cs, 4 * cs, -4 * cs, 8 * cs, -8 * cs):
            try_c(variant(chosen, uv_shift=chosen.uv_shift + sh))
        chosen = min(c_cost, key=c_cost.__getitem__)
    if math.isinf(c_cost[chosen]):
        return best  # the chroma lies beyond the data under this reading: decide on Y alone
    return chosen


# ============================================================================
# evidence helpers
# ============================================================================
def _decode(y: np.ndarray, uv: np.ndarray, preset: str | Convention, bgr: bool, swap: bool) -> np.ndarray:
    if swap:
        uv = uv[..., ::-1]
    return nv12_to_rgb((y, np.ascontiguousarray(uv)), convention=preset, order="bgr" if bgr else "rgb")


def _errors(ref: np.ndarray, test: np.ndarray, rows: np.ndarray | None = None) -> tuple[float, float]:
    """PSNR (dB) and mean absolute error over the valid rows."""
    if rows is not None:
        if not rows.any():
            return math.nan, math.nan
        if not rows.all():
            ref, test = ref[rows], test[rows]
    d = ref.astype(np.int16) - test.astype(np.int16)
    flat = d.reshape(-1).astype(np.int64)
    mse = float(np.dot(flat, flat)) / d.size
    mae = float(np.abs(d).sum(dtype=np.int64)) / d.size
    return (math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)), mae


def _eval_rows(h: int, w: int, budget: int = 600_000) -> np.ndarray:
    """Row pairs to decode for the evidence: all of them for small frames, an even spread for large ones."""
    pairs = h // 2
    want = max(1, budget // max(2 * w, 1))
    chosen = np.arange(pairs) if want >= pairs else np.unique(np.linspace(0, pairs - 1, want).round().astype(int))
    return chosen


def _channel_fits(ref: np.ndarray, test: np.ndarray) -> dict[str, float]:
    """Per-channel slope and offset of ``test ~ slope * ref + offset``, and the green shift in saturated colours."""
    step = max(1, int(math.sqrt(ref.shape[0] * ref.shape[1] / 100_000)))
    r = ref[::step, ::step].reshape(-1, 3).astype(np.float64)
    t = test[::step, ::step].reshape(-1, 3).astype(np.float64)
    out = {}
    for c, name in enumerate("rgb"):
        x = r[:, c]
        var = x.var()
        slope = float(((x - x.mean()) * (t[:, c] - t[:, c].mean())).mean() / var) if var > 0 else math.nan
        out[f"slope_{name}"] = slope
        out[f"offset_{name}"] = float(t[:, c].mean() - (slope if var > 0 else 1.0) * x.mean())
    saturated = (r.max(axis=1) - r.min(axis=1)) >= 128
    out["saturated_share"] = float(saturated.mean())
    if saturated.sum() >= 16:
        out["green_offset_saturated"] = float((t[saturated, 1] - r[saturated, 1]).mean())
    return out


def _matrix_separation(ref: _Reference, conv: Convention) -> float:
    """RMS difference (levels) between the Y that BT.601 and BT.709 predict for this image."""
    step = max(1, int(math.sqrt(ref.h * ref.w / 50_000)))
    x = ref.rgb[::step, ::step].reshape(-1, 3).astype(np.float64)
    others = [m for m in MATRICES if m != conv.matrix]
    k0 = get_convention(f"{conv.matrix}-{conv.range}").encode_matrix()[0][0]
    seps = [float(np.sqrt(((x @ (k0 - get_convention(f"{m}-{conv.range}").encode_matrix()[0][0])) ** 2).mean()))
            for m in others]
    return min(seps) if seps else math.inf


# ============================================================================
# explanations
# ============================================================================
_MATRIX_NAMES = {"bt601": "BT.601", "bt709": "BT.709", "bt2020": "BT.2020"}


def _colour_findings(combo: _Combo, conv: Convention) -> list[Finding]:
    out = []
    if combo.range != conv.range:
        if combo.range == "limited":
            out.append(
                (
                    "range_mismatch",
                    f"the frame is limited range (Y 16-235) but {conv.name!r} expects full range: the chip "
                    "stretches nothing, so the image looks washed out",
                    "encode full range (nv12kit.rgb_to_nv12(img, convention=%r), not OpenCV's I420, which is "
                    "limited), or set the node to a video-range mode (mode='yuvbt601video2rgb')" % conv.name,
                )
            )
        else:
            out.append(
                (
                    "range_mismatch",
                    f"the frame is full range (Y 0-255) but {conv.name!r} expects limited range (Y 16-235): "
                    "contrast is crushed at both ends",
                    f"encode limited range (nv12kit.rgb_to_nv12(img, convention={conv.name!r})), or set the node "
                    "to a full-range mode (mode='yuvbt601full2rgb')",
                )
            )
    if combo.matrix != conv.matrix:
        out.append(
            (
                "matrix_mismatch",
                f"the frame was encoded with the {_MATRIX_NAMES[combo.matrix]} matrix but {conv.name!r} is "
                f"{_MATRIX_NAMES[conv.matrix]}: saturated colours shift (green most)",
                f"encode with {_MATRIX_NAMES[conv.matrix]} coefficients (nv12kit.rgb_to_nv12(img, "
                f"convention={conv.name!r})); with FFmpeg/libyuv pick the {_MATRIX_NAMES[conv.matrix]} matrix "
                "explicitly",
            )
        )
    if combo.swap:
        out.append(
            (
                "uv_swapped",
                "the chroma bytes are V first (NV21) where NV12 stores U first",
                "swap the chroma bytes (uv = uv[..., ::-1]) or write U first; with OpenCV use "
                "COLOR_RGB2YUV_I420 and interleave U then V",
            )
        )
    if combo.bgr:
        out.append(
            (
                "rgb_bgr_swapped",
                "the converter was fed BGR as RGB (red and blue exchanged; typical of cv2.imread)",
                "convert with cv2.cvtColor(img, cv2.COLOR_BGR2RGB) first, or tell the converter the order "
                "(nv12kit.rgb_to_nv12(img, order='bgr'))",
            )
        )
    return out


def _combine(findings: Sequence[Finding]) -> tuple[tuple[str, ...], str, str]:
    if not findings:
        return ("ok",), "", ""
    order = {k: i for i, k in enumerate(ISSUE_IDS)}
    seen: dict[str, Finding] = {}
    for f in findings:
        seen.setdefault(f[0], f)
    ids = tuple(sorted(seen, key=order.__getitem__))
    explanation = "; ".join(seen[i][1] for i in ids)
    fix = "; ".join(dict.fromkeys(seen[i][2] for i in ids))
    return ids, explanation[0].upper() + explanation[1:] + ".", fix[0].upper() + fix[1:] + "."


# ============================================================================
# diagnose with a reference
# ============================================================================
@dataclass
class _Candidate:
    structure: _Structure
    combo: _Combo
    fit: _ColourFit
    findings: list[Finding]
    penalised: float


def _align_reference(
    ref: np.ndarray, src: _Source
) -> tuple[np.ndarray, _Structure, list[Finding], list[str], bool]:
    """Bring the reference to the frame's geometry; return it, the base reading, findings, notes and fine-search."""
    hf, wf = src.height, src.width
    notes: list[str] = []
    hr, wr = ref.shape[:2]
    base = _Structure(stride=src.stride, plane_rows=src.plane_rows)
    if hr % 2 or wr % 2:
        cropped, padded = crop_to_even(ref), pad_to_even(ref)
        if cropped.shape[:2] == (hf, wf):
            notes.append(f"the reference is {hr}x{wr} (odd); the frame matches it cropped to even ({hf}x{wf})")
            return cropped, base, [], notes, True
        if padded.shape[:2] == (hf, wf):
            notes.append(f"the reference is {hr}x{wr} (odd); the frame matches it padded to even ({hf}x{wf})")
            return padded, base, [], notes, True
    if (hr, wr) == (hf, wf):
        return ref, base, [], notes, True
    # The frame was resized by some library; compare with the reference resized by the closest filter.
    resampled = [resize_to(ref, hf, wf, resample=m) for m in ("area", "bilinear", "bicubic", "nearest")]
    base_y = _Structure(stride=src.stride, plane_rows=src.plane_rows)
    resized = min(
        resampled,
        key=lambda img: min(
            _Search(src.stream, _Reference(img), base_y).y_energy(_Structure(**{**base_y.__dict__, "y_xor": x}))
            for x in (False, True)
        ),
    )
    resized_finding = (
        "resized",
        f"the frame is {hf}x{wf} (height x width) but the image is {hr}x{wr}",
        f"convert the image at the size the model takes (nv12kit.resize_to(img, {hf}, {wf}) first), or pass "
        "the image the frame was made from",
    )
    options: list[tuple[np.ndarray, _Structure, list[Finding]]] = [(resized, base, [resized_finding])]
    if hf >= hr and wf >= wr and hr % 2 == 0 and wr % 2 == 0:
        padded_findings = []
        if wf > wr:
            padded_findings.append(
                (
                    "stride",
                    f"the frame is {wf} pixels wide for a {wr}-wide image: its rows carry {wf - wr} bytes of padding",
                    f"crop the planes (y[:, :{wr}], uv[:, :{wr // 2}]) or read the buffer with stride={wf}",
                )
            )
        if hf > hr:
            padded_findings.append(
                (
                    "misaligned",
                    f"the planes have {hf} rows for a {hr}-row image: a reader that assumes {hr} rows starts the "
                    f"chroma {(hf - hr) * wf} bytes too early",
                    f"crop the planes to {hr} rows (y[:{hr}], uv[:{hr // 2}])",
                )
            )
        options.append((ref, _Structure(stride=src.stride, plane_rows=src.plane_rows), padded_findings))
    if (hf, wf) == (wr, hr):
        options.append(
            (
                np.ascontiguousarray(ref.swapaxes(0, 1)),
                base,
                [("layout", "the frame is transposed (rows and columns exchanged)", "swap width and height back")],
            )
        )
    best = None
    for img, st, finds in options:
        r = _Reference(img)
        search = _Search(src.stream, r, st)
        e = _penalised(search.y_energy(st), len(finds))
        if best is None or e < best[0]:
            best = (e, img, st, finds)
    assert best is not None
    _, img, st, finds = best
    fine = not any(f[0] == "resized" for f in finds)
    return img, st, finds, notes, fine


def _row_corr(stream: np.ndarray, lag: int, length: int) -> float:
    """Correlation of the stream's first differences with themselves ``lag`` bytes later."""
    seg = stream[: min(stream.size, length + lag + 1)].astype(np.float64)
    if seg.size <= lag + 2:
        return 0.0
    d = np.diff(seg)
    d -= d.mean()
    a, b = d[:-lag], d[lag:]
    den = math.sqrt(float((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else 0.0


def _pick_reading(src: _Source, rgb: np.ndarray | None) -> _Source:
    """Among readings that all explain a raw buffer's size, the one the content supports."""
    if not src.alternatives:
        return src
    readings = [src, *src.alternatives]
    if rgb is not None and rgb.shape[:2] == (src.height, src.width):
        ref = _Reference(rgb)

        def energy(r: _Source) -> float:
            base = _Structure(stride=r.stride, plane_rows=r.plane_rows)
            search = _Search(r.stream, ref, base)
            return min(
                search.y_energy(_Structure(**{**base.__dict__, "y_xor": xor, "geom": geom}))
                for xor, geom in product((False, True), ("", "flipud", "fliplr", "rot180"))
            )

        return min(readings, key=energy)
    return max(readings, key=lambda r: _row_corr(r.stream, r.stride, 16 * r.stride))


def _diagnose_with_reference(rgb: np.ndarray, src: _Source, conv: Convention) -> Diagnosis:
    ref_img, base, pre_findings, notes, fine = _align_reference(rgb, src)
    notes = src.notes + notes
    ref = _Reference(ref_img)
    h, w = ref.h, ref.w
    search = _Search(src.stream, ref, base)
    chosen = _search_structure(search, base, fine=fine)
    pre = src.findings + pre_findings

    structures = [chosen] if chosen == base else [chosen, base]
    enc_matrix, enc_offset = conv.encode_matrix()
    box = ref.chroma("box")[_sample_rows(h // 2, w // 2, 50_000)]
    ref_chroma_spread = float(min((box @ enc_matrix[c]).std() for c in (1, 2)))
    candidates: list[_Candidate] = []
    planes: dict[_Structure, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
    free_of: dict[_Structure, dict[str, float]] = {}
    for st in structures:
        y, uv, y_ok, c_ok = _read_planes(src.stream, st, h, w)
        planes[st] = (y, uv, y_ok, c_ok)
        use_chroma = c_ok.mean() >= 0.3
        struct_findings = _structure_findings(st, base, w, h)
        if not use_chroma and st == chosen:
            notes.append(
                "under the best reading the chroma plane lies (mostly) beyond the end of the data, so only Y was "
                "compared; U/V order cannot be checked"
            )
        flat = _flat_chroma(uv[c_ok.all(axis=1)]) if use_chroma else ""
        if flat and ref_chroma_spread > 4.0:
            # No chroma to compare: decide the colour from Y and say that the chroma is missing.
            use_chroma = False
            struct_findings = struct_findings + [
                ("layout", flat, "write the chroma plane: U then V for each 2x2 block (NV12), from the same image")
            ]
        fits, free = _colour_fits(ref, y, uv, y_ok, c_ok, conv, use_chroma=use_chroma)
        free_of[st] = free
        for fit in fits:
            findings = pre + struct_findings + _colour_findings(fit.combo, conv)
            k = len({f[0] for f in findings})
            candidates.append(_Candidate(st, fit.combo, fit, findings, _penalised(fit.energy, k)))
    candidates.sort(key=lambda c: c.penalised)

    # Distinct issue sets, best first.
    ranked: list[_Candidate] = []
    seen_sets: set[tuple[str, ...]] = set()
    for cand in candidates:
        ids = _combine(cand.findings)[0]
        if ids not in seen_sets:
            seen_sets.add(ids)
            ranked.append(cand)
    top = ranked[0]
    p_min = top.penalised
    temp = max(p_min, 0.25)
    weights = [math.exp(-(c.penalised - p_min) / temp) for c in ranked[:5]]
    total = sum(weights)

    # Global evidence: the honest round trip and the frame as given, decoded by the expected convention.
    # Large frames are decoded on an even spread of row pairs: the numbers are estimates to 0.1 dB.
    pairs = _eval_rows(h, w)
    rows_idx = np.sort(np.concatenate([2 * pairs, 2 * pairs + 1]))
    ref_s = ref_img[rows_idx]

    def sub(y: np.ndarray, uv: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return np.ascontiguousarray(y[rows_idx]), np.ascontiguousarray(uv[pairs]), ok[rows_idx]

    honest = rgb_to_nv12(ref_img, convention=conv)
    hy, huv, _ = sub(honest.y, honest.uv, np.ones(h, bool))
    h_psnr, h_mae = _errors(ref_s, nv12_to_rgb((hy, huv), convention=conv))
    y0, uv0, y0_ok, _ = planes[base] if base in planes else _read_planes(src.stream, base, h, w)
    y0s, uv0s, ok0s = sub(y0, uv0, y0_ok)
    as_is = _decode(y0s, uv0s, conv, False, False)
    a_psnr, a_mae = _errors(ref_s, as_is, ok0s)
    evidence: dict[str, Any] = {
        "honest_psnr_db": h_psnr,
        "honest_mae": h_mae,
        "as_is_psnr_db": a_psnr,
        "as_is_mae": a_mae,
        "as_is_mae_vs_honest": a_mae / h_mae if h_mae > 0 else math.inf,
        "width": w,
        "height": h,
    }
    evidence.update(_channel_fits(ref_s, as_is))
    separation = _matrix_separation(ref, conv)
    evidence["matrix_separation_levels"] = separation

    # A resized frame can only be compared approximately (resampling filters differ at edges).
    tol_y, tol_c = (15.0, 30.0) if not fine else (3.0, 9.0)
    # Fine chroma detail makes down-sampling methods disagree; an unlisted method may disagree as much.
    sample = _sample_rows(h // 2, w // 2, 50_000)
    disagreement = 0.0
    for m in ("topleft", "bicubic"):
        diff = (ref.chroma(m)[sample] - ref.chroma("box")[sample]) @ enc_matrix[1:].T
        disagreement = max(disagreement, float(np.sqrt((diff**2).mean())))
    tol_c = max(tol_c, 1.5 * disagreement)
    evidence["chroma_method_spread_levels"] = disagreement
    hypotheses = []
    for cand, weight in zip(ranked[:5], weights):
        y, uv, y_ok = sub(*planes[cand.structure][:3])
        ids, explanation, fix = _combine(cand.findings)
        ev: dict[str, Any] = {
            "y_rms": math.sqrt(cand.fit.ms_y),
            "uv_rms": math.sqrt(cand.fit.ms_c),
            "energy": cand.fit.energy,
            "penalised_energy": cand.penalised,
        }
        ev.update(free_of[cand.structure])
        conv_name = cand.combo.preset
        if ids == ("ok",):
            decoded = as_is if cand.structure == base else _decode(y, uv, conv, False, False)
            conv_name = conv.name
            explanation = (
                f"Consistent with {conv.name!r}: the bytes match the reference within rounding "
                f"(Y residual {ev['y_rms']:.2f} levels rms)."
            )
            fix = "Nothing to fix."
        else:
            decoded = _decode(y, uv, cand.combo.preset, cand.combo.bgr, cand.combo.swap)
        psnr, mae = _errors(ref_s, decoded, y_ok)
        ev["psnr_db"], ev["mae"] = psnr, mae
        ev["coverage"] = float(planes[cand.structure][2].mean())
        st = cand.structure
        if st.stride != base.stride or st.y_offset or st.uv_shift:
            ev.update(stride=st.stride, y_offset=st.y_offset, uv_offset=st.uv_start())
        if any(i in ids for i in ("range_mismatch", "matrix_mismatch")):
            # What the bug does to the colours the chip sees: per-channel fits of the frame as decoded.
            ev.update({k: v for k, v in evidence.items() if k.startswith(("slope_", "offset_", "green_offset"))})
        # The numbers a report shows first come first.
        ev = {k: ev[k] for k in ("psnr_db", "mae", "y_rms", "uv_rms")} | {
            k: v for k, v in ev.items() if k not in ("psnr_db", "mae", "y_rms", "uv_rms")
        }
        hypotheses.append(
            Hypothesis(ids, explanation, fix, ev, weight / total, conv_name if ids != ("unknown",) else None)
        )

    # Whatever the best hypothesis leaves unexplained is "unknown".
    best = hypotheses[0]
    y_rms, uv_rms = best.evidence["y_rms"], best.evidence["uv_rms"]
    if y_rms > tol_y or uv_rms > tol_c:
        known = tuple(i for i in best.issues if i != "ok")
        ids = known + ("unknown",)
        what = []
        if y_rms > tol_y:
            what.append(f"Y differs by {y_rms:.1f} levels rms")
        if uv_rms > tol_c:
            what.append(f"chroma by {uv_rms:.1f} levels rms")
        residual = (
            " and ".join(what)
            + f" (the best affine fit leaves Y {best.evidence['y_free_rms']:.1f} and chroma "
            + f"{best.evidence['uv_free_rms']:.1f} levels rms)"
        )
        if known:
            explanation = best.explanation + " Even so, " + residual + "."
        else:
            explanation = (
                "The bytes match the reference under no bug nv12kit knows: "
                + residual
                + "."
            )
        fix = (best.fix + " " if known else "") + (
            "Check the converter against nv12kit.rgb_to_nv12 on nv12kit.test_chart() plane by plane; "
            "make sure the frame comes from this image."
        )
        hypotheses[0] = Hypothesis(ids, explanation, fix, best.evidence, best.score, None)
    # Notes.
    top_h = hypotheses[0]
    method = top.fit.method
    expected_method = conv.chroma_down
    ms = top.fit.method_ms
    if method and method != expected_method and ms.get(method, 0) < 0.8 * ms.get(expected_method, math.inf):
        notes.append(
            f"chroma down-sampling differs: the frame's chroma is {_METHOD_WORDS[method]}, {conv.name!r} uses "
            f"{_METHOD_WORDS[expected_method]}; this is not a bug (each is a valid 4:2:0 encode), it only changes "
            "chroma at colour edges"
        )
    if separation < 0.5 and "matrix_mismatch" not in top_h.issues:
        notes.append(
            f"this image has little saturated colour: BT.601 and BT.709 predict Y only {separation:.2f} levels "
            "apart here, so the matrix cannot be told (nor would a mismatch do much harm on it); check with "
            "nv12kit.test_chart()"
        )
    if top_h.is_ok and h_mae > 0:
        notes.append(
            f"as decoded by {conv.name!r} the frame is {a_psnr:.1f} dB (MAE {a_mae:.2f}) against the honest round "
            f"trip's {h_psnr:.1f} dB (MAE {h_mae:.2f})"
        )
    subject = f"{src.what} ({w}x{h}) against a {rgb.shape[1]}x{rgb.shape[0]} RGB image"
    return Diagnosis(tuple(hypotheses), conv.name, tuple(dict.fromkeys(notes)), evidence, subject, True)


def _flat_chroma(uv: np.ndarray) -> str:
    u, v = uv[..., 0], uv[..., 1]
    if u.std() < 0.75 and v.std() < 0.75:
        mean_u, mean_v = float(u.mean()), float(v.mean())
        if abs(mean_u - 128) < 2 and abs(mean_v - 128) < 2:
            return "the chroma is flat at 128: the frame carries no colour (chroma dropped or never written)"
        return f"the chroma is constant (U {mean_u:.0f}, V {mean_v:.0f}): the chroma plane was never written"
    return ""


# ============================================================================
# diagnose from the bytes alone
# ============================================================================
def _gamut_share(y: np.ndarray, uv: np.ndarray, conv: Convention) -> float:
    """Share of pixels whose decode lands far outside 0..255 (more than chroma subsampling explains).

    Real frames decode inside the RGB cube apart from a few pixels at colour
    edges; bytes that are not what the reader thinks (top bit flipped, planar
    chroma read as interleaved) decode far outside it.
    """
    matrix, offset = conv.decode_matrix()
    u = np.repeat(np.repeat(uv[..., 0], 2, axis=0), 2, axis=1).astype(np.float32) - offset[1]
    v = np.repeat(np.repeat(uv[..., 1], 2, axis=0), 2, axis=1).astype(np.float32) - offset[2]
    luma = y.astype(np.float32) - offset[0]
    bad = np.zeros(y.shape, bool)
    for row in matrix:
        value = row[0] * luma + row[1] * u + row[2] * v
        bad |= (value < -16) | (value > 271)
    return float(bad.mean())


def _planar_view(uv: np.ndarray) -> np.ndarray:
    """The chroma bytes read as I420 (all U, then all V), interleaved."""
    flat = uv.reshape(-1)
    n = flat.size // 2
    return np.stack([flat[:n], flat[n:]], axis=-1).reshape(uv.shape)


def _diagnose_bytes(src: _Source, conv: Convention) -> Diagnosis:
    h, w = src.height, src.width
    stream = src.stream
    findings: list[tuple[Finding, float]] = [(f, 0.9) for f in src.findings]
    notes = list(src.notes)
    base = _Structure(stride=src.stride, plane_rows=src.plane_rows)
    evidence: dict[str, Any] = {"width": w, "height": h}

    # Stride: rows that repeat with another period than the width.
    periods = _row_period_candidates(stream, 0, w, 2 * w, count=1)
    if periods:
        c_w, c_s = _row_corr(stream, base.stride, 16 * 2 * w), _row_corr(stream, periods[0], 16 * 2 * w)
        evidence.update(row_corr_width=c_w, row_corr_best=c_s, row_period=periods[0])
        if c_s > 0.3 and c_s > 2 * max(c_w, 0.05):
            s = periods[0]
            base = _Structure(stride=s, plane_rows=src.plane_rows)
            findings.append(
                (
                    (
                        "stride",
                        f"the Y bytes repeat every {s} bytes, not every {w}: the rows look padded to a stride of {s} "
                        f"(row correlation {c_s:.2f} at {s} against {c_w:.2f} at {w})",
                        f"read the frame with stride={s}, or write unpadded rows",
                    ),
                    min(0.9, 0.5 + c_s - c_w),
                )
            )
    y, uv, _, c_ok = _read_planes(stream, base, h, w)
    if not c_ok.all():
        uv = uv[c_ok.all(axis=1)]
        y = y[: 2 * uv.shape[0]]

    # Int8 offset and planar chroma: which reading of the bytes decodes inside the RGB cube?
    pairs = _eval_rows(y.shape[0], w, 300_000)
    rows_idx = np.sort(np.concatenate([2 * pairs, 2 * pairs + 1]))
    ys, uvs = y[rows_idx], uv[pairs]
    flip = np.uint8(0x80)
    shares = {}
    constant_chroma = bool(uv.size) and uv[..., 0].std() < 0.75 and uv[..., 1].std() < 0.75
    if uvs.size:
        planar_uvs = _planar_view(uv)[pairs]
        # Constant chroma says nothing about its own layout or offset: only Y may be flipped then.
        chroma_options = (False,) if constant_chroma else (False, True)
        for y_xor, uv_xor, planar in product((False, True), chroma_options, chroma_options):
            c = planar_uvs if planar else uvs
            shares[(y_xor, uv_xor, planar)] = _gamut_share(ys ^ flip if y_xor else ys, c ^ flip if uv_xor else c, conv)
        as_is = shares[(False, False, False)]
        best = min(shares, key=lambda k: (shares[k], sum(k)))
        evidence.update(out_of_gamut=as_is, out_of_gamut_best=shares[best])
        if best != (False, False, False) and shares[best] < 0.5 * as_is and as_is - shares[best] > 0.01:
            conf = min(0.95, 0.5 + (as_is - shares[best]))
            y_xor, uv_xor, planar = best
            if y_xor or uv_xor:
                which = "every byte" if y_xor and uv_xor else ("the Y bytes" if y_xor else "the chroma bytes")
                findings.append(
                    (
                        (
                            "int8_offset",
                            f"{which} look shifted by 128: as they are, {as_is:.0%} of pixels decode far outside "
                            f"the RGB cube, with the top bit flipped {shares[best]:.0%}",
                            "apply the uint8 -> int8 offset exactly once (x ^ 0x80 undoes one)",
                        ),
                        conf,
                    )
                )
                y = y ^ flip if y_xor else y
                uv = uv ^ flip if uv_xor else uv
            if planar:
                findings.append(
                    (
                        (
                            "planar_layout",
                            f"read as interleaved, {as_is:.0%} of pixels decode far outside the RGB cube; read as "
                            f"planar (all U, then all V) only {shares[best]:.0%}",
                            "interleave U and V (uv = np.stack([u, v], axis=-1)) before handing the frame over",
                        ),
                        conf,
                    )
                )
                uv = _planar_view(uv)

    # Range from Y values outside 16..235 and chroma outside 16..240.
    outside = float(((y < 16) | (y > 235)).mean())
    c_outside = float(((uv < 16) | (uv > 240)).mean())
    p1, p99 = (float(v) for v in np.percentile(y, [1, 99]))
    evidence.update(y_outside_16_235=outside, uv_outside_16_240=c_outside, y_p1=p1, y_p99=p99,
                    y_min=int(y.min()), y_max=int(y.max()))
    if conv.range == "limited" and outside > 0.002:
        findings.append(
            (
                (
                    "range_mismatch",
                    f"{outside:.1%} of Y lies outside 16-235, which a limited-range encoder never produces, but "
                    f"{conv.name!r} expects limited range",
                    f"encode limited range (convention={conv.name!r}) or set the node to a full-range mode",
                ),
                min(0.95, 0.6 + 20 * outside),
            )
        )
    elif conv.range == "full" and outside == 0 and p1 <= 24 and p99 >= 225:
        findings.append(
            (
                (
                    "range_mismatch",
                    f"Y spans {int(y.min())}-{int(y.max())} and never leaves 16-235 although the picture has deep "
                    f"blacks and bright whites: it looks limited range, but {conv.name!r} expects full range",
                    f"encode full range (convention={conv.name!r}) or set the node to a video-range mode",
                ),
                0.55,
            )
        )
    elif conv.range == "full" and outside > 0:
        notes.append(f"{outside:.1%} of Y lies outside 16-235: consistent with full range, as {conv.name!r} expects")
    elif conv.range == "full":
        notes.append(
            "Y never leaves 16-235 but the picture has no deep blacks or bright whites, so the range cannot be told"
        )

    flat = _flat_chroma(uv) if uv.size >= 128 else ""  # a few samples are flat by chance
    if flat:
        if "128" in flat:
            notes.append(flat + " (or the scene is grey: without a reference this cannot be told)")
        else:
            findings.append(((("layout", flat, "write the chroma plane (U first, then V, per 2x2 block)")), 0.8))
    notes.append(
        "without a reference image the colour matrix, U/V order and R/B order cannot be checked; pass the RGB "
        "image the frame came from, or use nv12kit.check_converter"
    )
    if findings:
        ids, explanation, fix = _combine([f for f, _ in findings])
        conf = float(np.prod([c for _, c in findings]) ** (1 / len(findings)))
        top = Hypothesis(ids, explanation, fix, dict(evidence), conf, None)
        alt = Hypothesis(("ok",), "The bytes could still be a correct but unusual frame.", "Nothing to fix.",
                         {}, 1 - conf, None)
        hyps = (top, alt)
    else:
        conf = 0.5
        top = Hypothesis(
            ("ok",),
            "Nothing in the bytes alone looks wrong (range, stride, chroma layout, int8 offset).",
            "Nothing to fix; diagnose against the source image to check the colours.",
            dict(evidence),
            conf,
            None,
        )
        hyps = (top,)
    subject = f"{src.what} ({w}x{h}), bytes only"
    return Diagnosis(hyps, conv.name, tuple(dict.fromkeys(notes)), evidence, subject, False)


# ============================================================================
# public: diagnose
# ============================================================================
def diagnose(
    rgb: Any,
    nv12: Any,
    *,
    expected: str | Convention = "horizon",
    width: int | None = None,
    height: int | None = None,
    stride: int | None = None,
    layout: str | None = None,
) -> Diagnosis:
    """Name what is wrong with an NV12 frame, given the RGB image it was made from.

    Parameters
    ----------
    rgb : (H, W, 3) uint8 ndarray, PIL image, image path, or None
        The image the frame was converted from, RGB order.  ``None`` checks
        only what the bytes alone can tell (range, flat chroma, stride,
        planar chroma, int8 offset), with a confidence to match.
    nv12 : NV12Frame, tuple, dict, bytes, ndarray or path
        The user's frame: an :class:`~nv12kit.NV12Frame`; a ``(y, uv)``
        tuple in any common shape (``(H, W)``, vendor ``(1, H, W, 1)``;
        ``(H/2, W/2, 2)``, the forum's ``(H/2, W)``, vendor
        ``(1, H/2, W/2, 2)``) or ``(y, u, v)``; a feed dict as
        :meth:`NV12Frame.to_feed` makes; raw bytes, a 1-D uint8 array or
        OpenCV's ``(H*3/2, W)`` array; or a path to a raw ``.nv12``/``.yuv``
        file (or a ``.npy`` of any of these arrays).
    expected : str or Convention, optional
        The convention the chip (or its node) assumes; ``"horizon"`` by
        default (BT.601 full range).
    width, height : int, optional
        Size of raw bytes; taken from ``rgb`` when omitted.
    stride : int, optional
        Bytes per Y row of raw bytes, when the rows are padded.  When it is
        omitted and the size of the buffer shows padding, the padding is
        read and reported as a ``stride`` issue.
    layout : {"nv12", "nv21", "i420", "yv12"}, optional
        How raw bytes are to be read (default ``"nv12"``, as a chip reads them).

    Returns
    -------
    Diagnosis
        Ranked hypotheses; ``.top.issues`` names the bugs (ids from
        :data:`ISSUE_IDS`), ``.top.explanation`` and ``.top.fix`` say what
        and how, ``.top.evidence`` holds the numbers.

    Raises
    ------
    InputError
        Planes that are not uint8, odd sizes, a raw buffer whose size no
        stride or plane padding explains (the message has the arithmetic),
        raw bytes without a size, unreadable files.
    ConventionError
        An unknown ``expected`` name.

    Notes
    -----
    See the module documentation for how the hypotheses are scored.  A
    difference in chroma down-sampling (top-left, box, bicubic) is not a
    bug: it is reported as a note on ``ok``.  A frame whose size differs
    from the image's is compared with the image resized to it
    (``resized``), or cropped when the frame only carries padding.

    Examples
    --------
    >>> import nv12kit
    >>> from nv12kit.lint import diagnose
    >>> from nv12kit.chart import test_chart
    >>> rgb = test_chart()
    >>> frame = nv12kit.rgb_to_nv12(rgb, convention="bt709-full")
    >>> diagnose(rgb, frame).top.issues
    ('matrix_mismatch',)
    >>> nv21 = (frame.y, frame.uv[..., ::-1])
    >>> diagnose(rgb, nv21, expected="bt709-full").top.issues
    ('uv_swapped',)
    >>> diagnose(None, frame.to_bytes(stride=384), width=360, height=240).top.issues
    ('stride',)
    """
    conv = get_convention(expected)
    ref = _as_reference(rgb)
    ref_hw = None
    if ref is not None:
        ref_hw = (ref.shape[0] - ref.shape[0] % 2, ref.shape[1] - ref.shape[1] % 2)
    src = _as_source(nv12, width, height, stride, layout, ref_hw)
    even_ref = ref if ref is None or ref.shape[:2] == ref_hw else crop_to_even(ref)
    src = _pick_reading(src, even_ref)
    if src.unreadable is not None:
        ids, explanation, fix = _combine([src.unreadable])
        hyp = Hypothesis(ids, explanation, fix, {"bytes": int(src.stream.size)}, 0.9, None)
        subject = f"{src.what} ({src.width}x{src.height})"
        return Diagnosis((hyp,), conv.name, tuple(src.notes), {}, subject, ref is not None)
    if ref is None:
        return _diagnose_bytes(src, conv)
    return _diagnose_with_reference(ref, src, conv)


# ============================================================================
# public: check_converter
# ============================================================================
def _call_user(fn: Callable[..., Any], image: np.ndarray, what: str, style: dict[str, Any]) -> Any:
    """Call the user's converter with an array (or, if that fails, a PIL image); remember what worked."""
    kinds = [style["kind"]] if "kind" in style else ["array", "pil"]
    errors = []
    for kind in kinds:
        arg: Any = image.copy() if kind == "array" else Image.fromarray(image)
        try:
            out = fn(arg)
        except Exception as exc:  # noqa: BLE001 - the user's code may raise anything
            errors.append((kind, exc))
            continue
        if kind == "array" and not np.array_equal(arg, image):
            style["modified"] = True
        style["kind"] = kind
        return out
    desc = "; ".join(
        f"called with {'an (H, W, 3) uint8 array' if k == 'array' else 'a PIL image'} it raised "
        f"{_exc_name(e)}: {e}"
        for k, e in errors
    )
    raise InputError(f"the converter raised on {what}: {desc}") from errors[-1][1]


def _exc_name(exc: BaseException) -> str:
    cls = type(exc)
    return cls.__name__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__name__}"


def _converter_output(out: Any, h: int, w: int) -> Any:
    """Turn what a converter returned into something diagnose reads; garbage gets a clear error."""
    if isinstance(out, NV12Frame):
        return out
    if isinstance(out, Mapping):
        return out
    if isinstance(out, (bytes, bytearray, memoryview)):
        return bytes(out)
    if isinstance(out, np.ndarray):
        if out.dtype != np.uint8:
            raise InputError(
                f"the converter returned an array of dtype {out.dtype} (shape {out.shape}); NV12 is uint8 bytes"
            )
        return np.ascontiguousarray(out).reshape(-1)
    if isinstance(out, (tuple, list)) and len(out) in (2, 3):
        return tuple(out)
    raise InputError(
        f"the converter returned {type(out).__name__}; expected (y, uv) planes, (y, u, v), an NV12Frame, or a "
        f"single NV12 buffer (bytes or uint8 array) of {h}*{w}*3/2 = {h * w * 3 // 2} bytes"
    )


def check_converter(
    fn: Callable[..., Any], *, expected: str | Convention = "horizon", order: str = "rgb"
) -> Diagnosis:
    """Run a user's RGB -> NV12 function on the test chart and a photo, and diagnose what it returns.

    Parameters
    ----------
    fn : callable
        The converter.  It is called with an ``(H, W, 3)`` uint8 array (in
        ``order``); if that raises, with a PIL image instead (as the
        forum's recipe expects).  It may return ``(y, uv)`` in any common
        shape (the forum's ``(H, W)`` and ``(H/2, W)``, the vendor's
        ``(1, H, W, 1)`` and ``(1, H/2, W/2, 2)``), ``(y, u, v)``, an
        :class:`~nv12kit.NV12Frame`, or one NV12 buffer of ``H*W*3/2``
        bytes (bytes or a uint8 array of any shape).
    expected : str or Convention, optional
        The convention the chip assumes (default ``"horizon"``).
    order : {"rgb", "bgr"}, optional
        The channel order ``fn`` expects (``"bgr"`` for OpenCV-style code).

    Returns
    -------
    Diagnosis
        The diagnosis of the chart; what the photo showed is merged in
        (bugs seen on either image count).

    Raises
    ------
    InputError
        ``fn`` raised (the message says so and quotes it), or returned
        something that is not NV12 (the message says what it got and what
        was expected).

    Examples
    --------
    >>> import nv12kit
    >>> from nv12kit.lint import check_converter
    >>> def my_converter(img):  # fed an image loaded with cv2.imread, so BGR
    ...     return nv12kit.rgb_to_nv12(img[..., ::-1], convention="bt601-limited").to_bytes()
    >>> check_converter(my_converter).top.issues
    ('range_mismatch', 'rgb_bgr_swapped')
    """
    if not callable(fn):
        raise InputError(f"check_converter needs a function, got {type(fn).__name__}")
    if order not in ("rgb", "bgr"):
        raise InputError(f"order must be 'rgb' or 'bgr', got {order!r}")
    conv = get_convention(expected)
    images = [("the test chart", test_chart()), ("the photo 'coffee'", crop_to_even(load_image(photo_path("coffee"))))]
    style: dict[str, Any] = {}
    results = []
    for what, rgb in images:
        given = np.ascontiguousarray(rgb[..., ::-1]) if order == "bgr" else rgb
        out = _call_user(fn, given, what, style)
        h, w = rgb.shape[:2]
        try:
            nv12 = _converter_output(out, h, w)
            diag = diagnose(rgb, nv12, expected=conv, width=w, height=h)
        except InputError as exc:
            raise InputError(f"on {what} ({w}x{h}) the converter's result cannot be read as NV12: {exc}") from exc
        results.append((what, diag))
    notes = []
    if style.get("modified"):
        notes.append("the converter modified its input array in place")
    if style.get("kind") == "pil":
        notes.append("the converter takes a PIL image (calling it with an array raised)")
    (chart_what, chart), (photo_what, photo) = results
    # Bugs seen on either image count; the chart shows most of them.
    main, other, other_what = chart, photo, photo_what
    if chart.is_ok and not photo.is_ok:
        main, other, other_what = photo, chart, chart_what
        notes.append(f"{chart_what} looked fine but {photo_what} did not")
    elif not chart.is_ok and not photo.is_ok and chart.issues != photo.issues:
        notes.append(f"{photo_what} suggested {', '.join(photo.issues)} instead")
    elif not chart.is_ok and photo.is_ok:
        notes.append(f"{photo_what} alone looked fine; {chart_what} shows the bug")
    # The chart is a stress test: its round-trip figures say little, the photo's say more.
    notes += [n for n in main.notes if not (main is chart and n.startswith("as decoded"))]
    notes += [f"{other_what}: {n}" for n in other.notes if n not in notes]
    notes.append(_odd_size_note(fn, style, order))
    evidence = dict(main.evidence)
    prefix = "photo_" if main is chart else "chart_"
    evidence.update(
        {prefix + k: v for k, v in other.evidence.items() if k in ("as_is_psnr_db", "as_is_mae", "honest_psnr_db",
                                                                    "honest_mae")}
    )
    subject = "converter " + getattr(fn, "__name__", type(fn).__name__) + f" on {chart_what} and {photo_what}"
    return Diagnosis(main.hypotheses, conv.name, tuple(n for n in dict.fromkeys(notes) if n), evidence, subject, True)


def _odd_size_note(fn: Callable[..., Any], style: dict[str, Any], order: str) -> str:
    """What the converter does with an odd-sized image (a note, never a bug of the even case)."""
    odd = test_chart(33, 49, order=order)
    kind = style.get("kind", "array")
    try:
        out = fn(odd.copy() if kind == "array" else Image.fromarray(odd))
    except Exception as exc:  # noqa: BLE001 - refusing odd sizes is fine
        return f"on an odd-sized 49x33 image the converter raises ({_exc_name(exc)}), which is safe"
    try:
        src = _as_source(_converter_output(out, 33, 49), None, None, None, None, (32, 48))
    except InputError:
        shapes = ""
        if isinstance(out, (tuple, list)):
            shapes = " (shapes " + " and ".join(str(getattr(p, "shape", "?")) for p in out) + ")"
        return (
            f"on an odd-sized 49x33 image the converter returns planes that do not form an NV12 frame{shapes}, "
            "which a chip silently misreads; pad or crop to even first (nv12kit.pad_to_even / "
            "nv12kit.crop_to_even)"
        )
    return (
        f"on an odd-sized 49x33 image the converter returns a consistent {src.width}x{src.height} frame"
    )


# ============================================================================
# public: lint_node
# ============================================================================
def _three(value: Any, name: str) -> tuple[float, float, float] | None:
    """None, or a scalar or 3 finite numbers as 3 floats (Preprocess's own check)."""
    return None if value is None else per_channel(value, name)


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(round(float(v), 6))


def _call(mode: str | None, divisor: float, mean: Sequence[float], std: Sequence[float]) -> str:
    def seq(vals: Sequence[float]) -> str:
        return "(" + ", ".join(_num(v) for v in vals) + ")"

    return (
        f"insert_nv12_node(model, mode={mode!r}, divisor={_num(divisor)}, mean={seq(mean)}, std={seq(std)})"
    )


_IMAGENET_MEAN = (0.485, 0.456, 0.406)


def lint_node(
    *,
    mode: str | None,
    divisor: float | None,
    mean: float | Sequence[float],
    std: float | Sequence[float],
    train_order: str = "rgb",
    train_mean: float | Sequence[float] | None = None,
    train_std: float | Sequence[float] | None = None,
    train_scale: float | None = None,
    chip_range: str = "full",
) -> list[NodeFinding]:
    """Check NV12 node settings against how the model was trained.

    The node computes ``((colour_convert(x, mode) / divisor) - mean) / std``
    (hbdk4's ``insert_image_preprocess``; :func:`nv12kit.insert_nv12_node`).
    Training computed ``((x / train_scale) - train_mean) / train_std`` on
    ``train_order`` images.

    Parameters
    ----------
    mode : str or None
        The node's colour conversion: ``"yuvbt601full2rgb"``,
        ``"yuvbt601full2bgr"``, ``"yuvbt601video2rgb"``,
        ``"yuvbt601video2bgr"``, or ``None``/``"skip"`` (no conversion:
        the model was trained on YUV444).
    divisor : float or None
        What the node divides the converted pixel by.  ``None`` is flagged:
        the vendor documents it both as 256 and as 255.
    mean, std : float or 3 floats
        The node's normalisation, in units of ``x / divisor`` and in the
        model's channel order.
    train_order : {"rgb", "bgr", "yuv444"}, optional
        What the model was trained on.
    train_mean, train_std, train_scale : optional
        The training normalisation, when known.  ``train_scale`` is what
        training divided the 0-255 pixel by (255 for torchvision's
        ``ToTensor``); without it, statistics of at most 1.5 imply 255 and
        larger ones 1.  A missing ``train_mean`` or ``train_std`` is taken
        to equal the node's (so ``train_scale`` alone checks the divisor).
        Without any of them only the settings' own consistency is checked.
    chip_range : {"full", "video"}, optional
        The range of the NV12 the chip delivers (``"video"`` = limited).

    Returns
    -------
    list of NodeFinding
        Empty when nothing is wrong.  Every finding carries the same
        corrected call in ``.fix``, with all findings applied.

    Raises
    ------
    InputError
        Malformed arguments: an unknown mode, train_order or chip_range, a
        mean of 2 values, a zero std, a non-positive divisor or scale.

    Notes
    -----
    The normalisation is compared as a per-channel affine map of the pixel:
    a difference is reported in pixel levels at the worst end of 0..255.
    Up to 0.05 levels is float rounding and passes; up to 2 levels (255
    against 256 gives 1) is a warning; more is an error.

    Examples
    --------
    >>> from nv12kit.lint import lint_node
    >>> findings = lint_node(mode=None, divisor=1, mean=128, std=128, train_order="rgb")
    >>> [(f.id, f.severity) for f in findings]
    [('mode', 'error')]
    >>> print(findings[0].fix)
    insert_nv12_node(model, mode='yuvbt601full2rgb', divisor=1, mean=(128, 128, 128), std=(128, 128, 128))
    >>> [f.id for f in lint_node(mode="yuvbt601full2rgb", divisor=255, mean=0.5, std=0.5, train_scale=256)]
    ['divisor']
    >>> lint_node(mode="yuvbt601full2rgb", divisor=1, mean=128, std=128)
    []
    """
    if train_order not in ("rgb", "bgr", "yuv444"):
        raise InputError(f"train_order must be 'rgb', 'bgr' or 'yuv444', got {train_order!r}")
    if chip_range not in ("full", "video"):
        raise InputError(f"chip_range must be 'full' or 'video' (limited range), got {chip_range!r}")
    if mode not in set(NODE_MODES) | {"bgr2rgb", "rgb2bgr"}:
        raise InputError(f"unknown mode {mode!r}; expected one of {list(NODE_MODES)}")
    node_mean = _three(mean, "mean")
    node_std = _three(std, "std")
    assert node_mean is not None and node_std is not None
    if any(v == 0 for v in node_std):
        raise InputError(f"std must not contain 0 (it divides), got {std!r}")
    if divisor is not None:
        if isinstance(divisor, (bool, np.bool_)) or not isinstance(divisor, (int, float, np.integer, np.floating)):
            raise InputError(f"divisor must be a positive number or None, got {divisor!r}")
        if not math.isfinite(float(divisor)) or float(divisor) <= 0:
            raise InputError(f"divisor must be a positive number, got {divisor!r}")
    t_mean = _three(train_mean, "train_mean")
    t_std = _three(train_std, "train_std")
    if t_std is not None and any(v == 0 for v in t_std):
        raise InputError(f"train_std must not contain 0, got {train_std!r}")
    if train_scale is not None and (
        isinstance(train_scale, (bool, np.bool_))
        or not isinstance(train_scale, (int, float, np.integer, np.floating))
        or not float(train_scale) > 0
    ):
        raise InputError(f"train_scale must be a positive number, got {train_scale!r}")

    found: list[tuple[str, str, str]] = []  # (id, severity, message)
    rng = "full" if chip_range == "full" else "video"
    want_mode = None if train_order == "yuv444" else f"yuvbt601{rng}2{train_order}"

    # --- the colour conversion -----------------------------------------------------------------
    if mode in ("bgr2rgb", "rgb2bgr"):
        found.append(
            (
                "mode",
                "error",
                f"mode={mode!r} swaps the channels of an RGB/BGR input, but behind an NV12 input the node sees "
                f"YUV; use mode={want_mode!r}",
            )
        )
    elif mode in (None, "skip"):
        if train_order != "yuv444":
            found.append(
                (
                    "mode",
                    "error",
                    f"mode={mode!r} feeds the model YUV444 (it means the model was trained on YUV), but it was "
                    f"trained on {train_order.upper()}: the node must convert, mode={want_mode!r}",
                )
            )
    elif train_order == "yuv444":
        found.append(
            ("mode", "error", f"mode={mode!r} converts to {mode[-3:].upper()}, but the model was trained on YUV444; "
             "use mode=None")
        )
    else:
        m_range, m_order = ("full" if "full" in mode else "video"), mode[-3:]
        if m_order != train_order:
            found.append(
                (
                    "order",
                    "error",
                    f"mode={mode!r} gives {m_order.upper()} but the model was trained on {train_order.upper()}: red "
                    "and blue are exchanged",
                )
            )
        if m_range != rng:
            effect = "blacks turn grey and whites dim" if m_range == "video" else "contrast is stretched and clipped"
            found.append(
                (
                    "range",
                    "error",
                    f"mode={mode!r} decodes {m_range} range but the chip delivers {chip_range} range NV12: {effect}",
                )
            )
    fixed_mode = want_mode

    # --- the normalisation ---------------------------------------------------------------------
    fixed_divisor = float(divisor) if divisor is not None else (1.0 if max(node_mean) > 2 else 255.0)
    fixed_mean, fixed_std = node_mean, node_std
    if divisor is None:
        found.append(
            (
                "ambiguous",
                "warning",
                "divisor=None is documented both as 256 and as 255 by the vendor; pass the divisor explicitly",
            )
        )
    if t_mean is not None or t_std is not None or train_scale is not None:
        given = [v for v in (t_mean, t_std) if v is not None]
        if train_scale is not None:
            scale = float(train_scale)
        elif given and max(max(abs(x) for x in v) for v in given) <= 1.5:
            scale = 255.0
        else:
            scale = 1.0
        tm = t_mean if t_mean is not None else node_mean
        ts = t_std if t_std is not None else node_std
        g_node = np.array([1.0 / (fixed_divisor * sd) for sd in node_std])
        b_node = np.array([-m / sd for m, sd in zip(node_mean, node_std)])
        g_train = np.array([1.0 / (scale * sd) for sd in ts])
        b_train = np.array([-m / sd for m, sd in zip(tm, ts)])
        # Worst difference over x in 0..255, in pixel levels of the training input.
        err = np.maximum(np.abs(b_node - b_train), np.abs((g_node - g_train) * 255 + b_node - b_train))
        err = err * np.abs(1.0 / g_train)
        worst = float(err.max())
        if worst > 0.05:
            severity = "warning" if worst <= 2 else "error"
            same_stats = np.allclose(tm, node_mean) and np.allclose(ts, node_std)
            if same_stats and fixed_divisor != scale:
                found.append(
                    (
                        "divisor",
                        severity,
                        f"the node divides by {_num(fixed_divisor)} but training divided by {_num(scale)}"
                        + (" (255 against 256)" if {round(fixed_divisor), round(scale)} == {255, 256} else "")
                        + f": the model's inputs are off by up to {worst:.2f} pixel levels",
                    )
                )
            else:
                gain_ratio = g_node / g_train
                if np.any(np.abs(gain_ratio - 1) > 1e-4):
                    found.append(
                        (
                            "std",
                            severity,
                            f"the node scales pixels by 1/(divisor*std) = 1/{_vec(1 / g_node)} but training by "
                            f"1/{_vec(1 / g_train)}: the model's inputs are off by up to {worst:.1f} pixel levels",
                        )
                    )
                if np.any(np.abs(b_node - b_train) / g_train > 0.05):
                    found.append(
                        (
                            "mean",
                            severity,
                            f"the node subtracts mean/std = {_vec(-b_node)} but training {_vec(-b_train)}: the "
                            f"model's inputs are off by up to {worst:.1f} pixel levels",
                        )
                    )
            fixed_divisor, fixed_mean, fixed_std = scale, tm, ts
        if train_order == "bgr" and t_mean is not None and _is_imagenet_rgb(t_mean):
            found.append(
                (
                    "order",
                    "warning",
                    f"train_mean {_vec(t_mean)} is ImageNet's mean in RGB order, but the model was trained on BGR; "
                    "check the order of mean and std",
                )
            )
    else:
        # Only the settings themselves: 0-1 statistics with 0-255 pixels, or the reverse.
        if fixed_divisor >= 200 and max(node_mean) > 2:
            found.append(
                (
                    "scale",
                    "error",
                    f"divisor={_num(fixed_divisor)} scales pixels to about 0-1 but mean={_vec(node_mean)} is in "
                    "0-255 units: use divisor=1 with these mean and std, or give mean and std in 0-1 units",
                )
            )
            fixed_divisor = 1.0
        elif fixed_divisor <= 2 and 0 < max(node_mean) <= 1.0 and max(node_std) <= 1.0:
            found.append(
                (
                    "scale",
                    "error",
                    f"divisor={_num(fixed_divisor)} keeps pixels in 0-255 but mean={_vec(node_mean)} and "
                    f"std={_vec(node_std)} look like 0-1 statistics: use divisor=255",
                )
            )
            fixed_divisor = 255.0
        if train_order == "bgr" and _is_imagenet_rgb(node_mean):
            found.append(
                (
                    "order",
                    "warning",
                    f"mean {_vec(node_mean)} is ImageNet's mean in RGB order, but the model was trained on BGR: mean "
                    "and std must be in the model's channel order",
                )
            )
    fix = _call(fixed_mode, fixed_divisor, fixed_mean, fixed_std)
    return [NodeFinding(i, sev, msg, fix) for i, sev, msg in found]


def _is_imagenet_rgb(values: Sequence[float]) -> bool:
    """ImageNet's RGB mean (0.485, 0.456, 0.406), in 0-1 or 0-255 units, in RGB order (not BGR)."""
    vals = np.asarray(values, dtype=np.float64)
    ref = np.array(_IMAGENET_MEAN) * (255.0 if vals.max() > 1.5 else 1.0)
    return bool(np.allclose(vals, ref, rtol=0.02))


def _vec(values: Any) -> str:
    vals = [float(v) for v in np.asarray(values).reshape(-1)]
    if max(vals) - min(vals) < 1e-9:
        return f"{vals[0]:.4g}"
    return "(" + ", ".join(f"{v:.4g}" for v in vals) + ")"


