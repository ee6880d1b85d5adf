"""What :func:`nv12kit.evaluate` returns: the per-variant table, the decomposition, the flips, the noise floor."""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._io import atomic_write, jsonable

__all__ = ["EvaluationResult"]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _points(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:+.1f} points"


def _cos(value: float | None) -> str:
    return "-" if value is None else f"{value:.6f}"


@dataclass
class EvaluationResult:
    """The collapse, measured on a set of frames.

    Attributes
    ----------
    variants : dict of str to dict
        Per variant (``feat``, ``nv12``, and with quantisation
        ``quantized_feat``, ``quantized_nv12``): ``frames``; with labels
        ``top1`` (and ``top5`` with 5 classes or more), the number correct
        and a 95 % Wilson interval; ``agreement_with_feat`` (top-1); the
        distribution of ``cos(feat, variant)`` per frame; with a metric,
        its mean and a 95 % interval.
    decomposition : dict or None
        ``lost_to_nv12``, and with quantisation ``lost_to_quantization``,
        ``lost_in_total``, ``lost_to_both_together`` (the interaction:
        total minus the two alone) and ``nv12_under_int8``; the frames lost
        and gained per variant.
    flips : dict
        Per variant: how many frames feat gets right and the variant wrong,
        and the worst of them (lowest cosine first).
    noise : dict
        The noise floor on the sample and the frames whose NV12 loss lies beyond it.
    labels : dict
        Where the labels came from and how class names were mapped.
    parameters, notes : dict, list
    timing, run_notes : dict, list
        How long it took and how it ran (workers, resume): these differ from run to run, the rest does not.
    cosines : dict of str to numpy.ndarray
        ``cos(feat, variant)`` of every frame, in set order (for figures; not in the JSON).
    """

    variants: dict[str, dict[str, Any]]
    decomposition: dict[str, Any] | None
    flips: dict[str, dict[str, Any]]
    noise: dict[str, Any]
    labels: dict[str, Any]
    parameters: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    timing: dict[str, float] = field(default_factory=dict)
    run_notes: list[str] = field(default_factory=list)  # about this run (workers, resume), not about the model
    cosines: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    sources: dict[str, Any] = field(default_factory=dict, repr=False)  # key -> what to read a flip's thumbnail from

    @property
    def frames(self) -> int:
        return int(self.variants["feat"]["frames"])

    def exit_code(self, max_loss: float = 0.01) -> int:
        """1 when the NV12 path (or, quantised, the whole path) loses more than ``max_loss`` of the measure, else 0."""
        d = self.decomposition
        if not d:
            return 0
        loss = d.get("lost_in_total", d["lost_to_nv12"])
        return 1 if max(loss, d["lost_to_nv12"]) > max_loss else 0

    def to_dict(self) -> dict[str, Any]:
        """Everything but the per-frame cosine arrays, JSON-ready."""
        return jsonable({
            "frames": self.frames,
            "labels": self.labels,
            "variants": self.variants,
            "decomposition": self.decomposition,
            "noise": self.noise,
            "flips": self.flips,
            "notes": list(self.notes),
            "parameters": self.parameters,
            "timing": dict(self.timing),
            "run_notes": list(self.run_notes),
        })

    def to_json(self, path: str | os.PathLike[str]) -> pathlib.Path:
        """Write :meth:`to_dict` as JSON, atomically."""
        return atomic_write(path, json.dumps(self.to_dict(), indent=2, allow_nan=False).encode("utf-8"))

    def to_html(self, path: str | os.PathLike[str], *, figures: Sequence[tuple[str, str]] | None = None,
                thumbnails: bool = True) -> pathlib.Path:
        """Write a self-contained HTML report, atomically.

        Parameters
        ----------
        path : str or os.PathLike
        figures : sequence of (caption, data URI), optional
            Figures to show; :func:`nv12kit.plots.evaluation_figures` draws
            the cosine histograms and the accuracy bars (the command line
            passes them). Without them the report says how to add them.
        thumbnails : bool, optional
            The flipped frames as small inline PNGs (read again from their files).
        """
        from .html import render_evaluation_html

        page = render_evaluation_html(self, figures=figures, thumbnails=thumbnails, standalone=True)
        return atomic_write(path, page.encode("utf-8"))

    def _repr_html_(self) -> str:
        from .html import render_evaluation_html

        return render_evaluation_html(self, figures=None, thumbnails=False, standalone=False)

    def table_rows(self) -> list[dict[str, str]]:
        """The per-variant table as text cells (for the terminal and notebooks)."""
        rows = []
        for name, row in self.variants.items():
            cells = {"variant": name}
            if "top1" in row:
                low, high = row["top1_ci95"]
                cells["top-1"] = f"{_pct(row['top1'])} [{_pct(low)}, {_pct(high)}]"
            if "top5" in row:
                cells["top-5"] = _pct(row["top5"])
            if "agreement_with_feat" in row:
                cells["agrees with feat"] = _pct(row["agreement_with_feat"])
            if "metric" in row:
                low, high = row["metric_ci95"]
                cells["metric"] = f"{row['metric']:.4f} [{low:.4f}, {high:.4f}]"
            cos = row.get("cosine_to_feat")
            cells["cos(feat, v) mean / p05 / min"] = ("-" if cos is None else
                                                      f"{_cos(cos['mean'])} / {_cos(cos['p05'])} / {_cos(cos['min'])}")
            rows.append(cells)
        return rows

    def decomposition_lines(self) -> list[str]:
        d = self.decomposition
        if not d:
            return ["no decomposition: the model is not a classifier and no metric was given"]
        m = d["measure"]
        lines = [f"{m} lost to the NV12 conversion (feat -> nv12): {_points(d['lost_to_nv12'])}"]
        if "lost_in_total" in d:
            lines += [f"{m} lost to quantisation (feat -> quantized_feat): {_points(d['lost_to_quantization'])}",
                      f"{m} lost in total (feat -> quantized_nv12): {_points(d['lost_in_total'])}",
                      f"of which only the two together (total - NV12 - quantisation): "
                      f"{_points(d['lost_to_both_together'])}",
                      f"NV12 under int8 (quantized_feat -> quantized_nv12): {_points(d['nv12_under_int8'])}"]
        for v, f in (d.get("frames") or {}).items():
            if isinstance(f, dict):
                lines.append(f"frames {v} gets wrong that feat gets right: {f['lost']}; right that feat gets wrong: "
                             f"{f['gained']}")
            else:
                lines.append(f"frames right in nv12 and in quantized_feat but wrong in quantized_nv12: {f}")
        return lines

    def summary_lines(self) -> list[str]:
        rows = self.table_rows()
        keys = list(dict.fromkeys(k for r in rows for k in r))
        cells = [keys] + [[r.get(k, "-") for k in keys] for r in rows]
        widths = [max(len(c[i]) for c in cells) for i in range(len(keys))]
        lines = [f"{self.frames} frames"]
        lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(cell, widths)) for cell in cells]
        lines += self.decomposition_lines()
        n = self.noise
        if n.get("floor_loss") is not None:
            lines.append(f"noise floor (±{n['amplitude']:g}, {n['sample_frames']} sampled frames x "
                         f"{n['trials_per_frame']} trials, {n['quantile']:.0%} quantile of 1 - cos): "
                         f"{n['floor_loss']:.2e}; NV12 loss beyond it on {n['frames_outside']} of {self.frames} frames")
        for note in self.notes + self.run_notes:
            lines.append(f"note: {note}")
        return lines

    def __repr__(self) -> str:
        return "EvaluationResult\n" + "\n".join(self.summary_lines())
