"""Re-triage after a fix: the before/after of every number and verdict against an earlier triage.

``triage(..., baseline=previous)`` (CLI: ``--baseline previous.json``) takes
an earlier :class:`~nv12kit.triage.TriageReport`, its ``to_dict()`` or the
JSON file it wrote. The comparison lists, for the verdict and for every image
matched by name (unmatched ones are listed), the NV12 cosine, the noise
floors (mean and worst), the quantised cosines when present and the
convention sensitivity when present: before, after, the change (after -
before) and, for cosines, the ratio of the losses ``(1 - after) / (1 -
before)``. A baseline from another model, convention or setting is allowed
(that is the point: after a fix); the parameters that differ are listed
first.

>>> row = BaselineRow("a.png", "nv12 cos", 0.9, 0.99)
>>> round(row.change, 2), round(row.loss_ratio, 2)
(0.09, 0.1)
"""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ._io import jsonable, read_bytes
from .errors import InputError

__all__ = ["BaselineRow", "BaselineComparison", "load_baseline", "compare_baseline"]

#: A triage JSON larger than this is refused (a real one is tens of kilobytes).
MAX_BASELINE_BYTES = 64 * 1024 * 1024


def load_baseline(value: Any, *, option: str = "baseline") -> tuple[dict[str, Any], str]:
    """An earlier triage as its ``to_dict()`` form, and where it came from.

    Parameters
    ----------
    value : TriageReport, mapping or path
        The report, its ``to_dict()``, or the JSON file ``to_json`` (CLI
        ``--json``) wrote.
    option : str, optional
        The option's name in messages (the CLI passes ``"--baseline"``).

    Raises
    ------
    InputError
        A missing, unreadable or corrupt file, or JSON that is not a triage report.
    """
    if hasattr(value, "to_dict") and hasattr(value, "verdict"):
        data, where = value.to_dict(), "a TriageReport"
    elif isinstance(value, Mapping):
        data, where = dict(value), "a dict"
    elif isinstance(value, (str, os.PathLike)):
        where = str(pathlib.Path(value).name)
        raw = read_bytes(value, max_bytes=MAX_BASELINE_BYTES, what=f"{option} JSON")
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"{option} {where!r} is not valid JSON ({exc}); give the file that "
                             "nv12kit triage --json wrote") from None
    else:
        raise InputError(f"{option} must be a TriageReport, its to_dict() or the path of a triage JSON, got "
                         f"{type(value).__name__}")
    ok = (isinstance(data, dict) and isinstance(data.get("verdict"), dict)
          and isinstance(data["verdict"].get("id"), str) and isinstance(data.get("images"), list)
          and all(isinstance(i, dict) and "name" in i for i in data["images"])
          and isinstance(data.get("parameters", {}), dict))
    if not ok:
        raise InputError(f"{option} {where!r} is not a triage report (no verdict id or images list); give the JSON "
                         "that nv12kit triage --json (TriageReport.to_json) wrote")
    return data, where


@dataclass
class BaselineRow:
    """One number before and after. ``before``/``after`` are None where that report lacks it."""

    image: str
    metric: str
    before: Any
    after: Any
    cosine: bool = True  # a cosine: its loss ratio is shown

    @property
    def change(self) -> float | None:
        """after - before (numbers only)."""
        if isinstance(self.before, (int, float)) and isinstance(self.after, (int, float)):
            return float(self.after) - float(self.before)
        return None

    @property
    def loss_ratio(self) -> float | None:
        """(1 - after) / (1 - before) for cosines: below 1, the loss shrank."""
        if not self.cosine or self.change is None or 1.0 - float(self.before) <= 0:
            return None
        return (1.0 - float(self.after)) / (1.0 - float(self.before))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, with the change and the loss ratio."""
        return {**asdict(self), "change": self.change, "loss_ratio": self.loss_ratio}


@dataclass
class BaselineComparison:
    """The before/after of a triage against its baseline."""

    source: str
    rows: list[BaselineRow]
    differing: list[tuple[str, Any, Any]] = field(default_factory=list)
    only_before: list[str] = field(default_factory=list)
    only_after: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Terminal lines."""
        out = [f"before/after (baseline: {self.source}):"]
        out += [f"  parameter {k} differs: {_short(b)} -> {_short(a)}" for k, b, a in self.differing]
        for row in self.rows:
            where = f"{row.image}: " if row.image else ""
            extra = ""
            if row.change is not None:
                extra = f" (change {row.change:+.2e}" + (
                    f", loss x{row.loss_ratio:.2g})" if row.loss_ratio is not None else ")")
            out.append(f"  {where}{row.metric}: {_value(row.before)} -> {_value(row.after)}{extra}")
        if self.only_before:
            out.append(f"  only in the baseline: {', '.join(self.only_before)}")
        if self.only_after:
            out.append(f"  new images: {', '.join(self.only_after)}")
        return out

    def to_dict(self) -> dict[str, Any]:
        """The JSON's ``baseline`` block."""
        return {"source": self.source,
                "differing_parameters": [{"parameter": k, "before": jsonable(b), "after": jsonable(a)}
                                         for k, b, a in self.differing],
                "rows": [r.to_dict() for r in self.rows], "only_in_baseline": list(self.only_before),
                "new_images": list(self.only_after)}


def _value(v: Any) -> str:
    return "-" if v is None else f"{v:.6f}" if isinstance(v, float) else str(v)


def _short(v: Any, width: int = 80) -> str:
    text = json.dumps(jsonable(v)) if not isinstance(v, str) else v
    return text if len(text) <= width else text[: width - 3] + "..."


def _image_numbers(image: Mapping[str, Any], thresholds: Mapping[str, Any]) -> dict[str, tuple[Any, bool]]:
    """{metric: (value, is a cosine)} of one image of a report's to_dict()."""
    out: dict[str, tuple[Any, bool]] = {"verdict": ((image.get("verdict") or {}).get("id"), False),
                                        "nv12 cos": (image.get("nv12_cosine"), True)}
    summary = (image.get("noise") or {}).get("summary") or {}
    amps = sorted({float(thresholds.get("floor_amplitude", 2.0)), float(thresholds.get("reference_amplitude", 3.0))})
    for amp in amps:
        numbers = summary.get(f"{amp:g}") or {}
        out[f"noise ±{amp:g} mean"] = (numbers.get("mean"), True)
        out[f"noise ±{amp:g} worst"] = (numbers.get("min"), True)
    for key, value in (image.get("quantized") or {}).items():
        out[f"quantized {key}"] = (value, True)
    return out


def compare_baseline(before: Mapping[str, Any], after: Mapping[str, Any], *, source: str = "baseline"
                     ) -> BaselineComparison:
    """Before/after of two triage reports in their ``to_dict()`` form."""
    b_params, a_params = before.get("parameters") or {}, jsonable(after.get("parameters") or {})
    differing = [(k, b_params.get(k), a_params.get(k)) for k in dict.fromkeys([*a_params, *b_params])
                 if k != "images" and jsonable(b_params.get(k)) != a_params.get(k)]
    b_t, a_t = before.get("thresholds") or {}, after.get("thresholds") or {}
    differing += [(f"threshold {k}", b_t.get(k), a_t.get(k)) for k in dict.fromkeys([*a_t, *b_t])
                  if b_t.get(k) != a_t.get(k)]
    rows = [BaselineRow("", "verdict", before["verdict"].get("id"), after["verdict"].get("id"), cosine=False),
            BaselineRow("", "worst image", before.get("worst_image"), after.get("worst_image"), cosine=False)]
    b_images = {i["name"]: i for i in before.get("images", [])}
    a_images = {i["name"]: i for i in after.get("images", [])}
    for name, image in a_images.items():
        if name not in b_images:
            continue
        old = _image_numbers(b_images[name], a_t)
        for metric, (value, cosine) in _image_numbers(image, a_t).items():
            rows.append(BaselineRow(name, metric, old.get(metric, (None, cosine))[0], value, cosine))
        for metric in old.keys() - _image_numbers(image, a_t).keys():
            rows.append(BaselineRow(name, metric, old[metric][0], None, old[metric][1]))
    b_cs, a_cs = before.get("convention_sensitivity") or {}, after.get("convention_sensitivity") or {}
    images = [(d.get("convention_sensitivity_details") or {}).get("image") for d in (before, after)]
    where = "convention sensitivity" + (f" ({images[0]} -> {images[1]})" if images[0] != images[1] else
                                        f" ({images[1]})" if images[1] else "")
    for name in dict.fromkeys([*a_cs, *b_cs]):
        rows.append(BaselineRow(where, f"with {name}", b_cs.get(name), a_cs.get(name)))
    return BaselineComparison(source, rows, differing, [n for n in b_images if n not in a_images],
                              [n for n in a_images if n not in b_images])
