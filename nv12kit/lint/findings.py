"""What lint reports: the issue ids, :class:`Hypothesis`, :class:`Diagnosis` and :class:`NodeFinding`.

Also what every check shares to report: the ``Finding`` tuple (issue id,
explanation, fix) and :func:`_combine`, which merges findings into the ids,
explanation and fix of one hypothesis.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

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


Finding = tuple[str, str, str]  # (issue id, explanation, fix)


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
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)  # to_dict writes non-finite numbers as null

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
