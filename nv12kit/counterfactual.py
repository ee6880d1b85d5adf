"""What another convention would cost: the decisive image's NV12 loss under each convention the chip could use.

The NV12 loss depends strongly on how chroma is down-sampled (top-left pixel,
2x2 box average, bicubic) and rounded. For some users the cheapest fix is an
ISP or converter setting, not retraining; this module measures that number.

The candidates are derived from the presets' fields, not from a list of names:

``yours``
    The triage's own convention: its cosine is the triage's NV12 cosine.
``same node``
    Conventions the chip could be configured for without touching the NV12
    node: the same colour matrix and range as the node decodes, a different
    chroma down-sampling or rounding. These are your convention with each
    chroma down-sampling method (and, for a float arithmetic that does not
    round to nearest, with rounding to nearest too), and every preset of the
    node's matrix and range. One NV12 pass each, through the triage's own
    NV12 model.
``other node``
    The presets of the other range the node can decode (the node modes are
    BT.601 full or limited, "video"): what the other chip configuration would
    cost, through an NV12 model built for it. BT.709 and BT.2020 are listed as
    not measured: no node mode decodes them.

Each candidate is judged with the verdict rules and thresholds of the
triage, on the same image and noise floor: ``verdict`` is what the decisive
image's verdict would be with that NV12 cosine.

>>> from nv12kit.counterfactual import candidate_conventions
>>> [(c.name, group) for c, group, _ in candidate_conventions("horizon", ("bt601", "full"))][:3]
[('horizon', 'yours'), ('horizon (box chroma)', 'same node'), ('horizon (bicubic chroma)', 'same node')]
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .conventions import _CHROMA_DOWN, CONVENTIONS, Convention, get_convention
from .errors import NV12KitError
from .verdicts import Thresholds, _NV12Loss, decide

__all__ = ["ConventionRow", "ConventionSensitivity", "candidate_conventions", "measure_convention_sensitivity",
           "node_family"]

_COMPARED = ("matrix", "range", "arithmetic", "chroma_down", "rounding", "evaluation", "encode_coefficients")
_MATRIX_FIELDS = ("matrix", "range", "arithmetic", "chroma_down", "chroma_up", "rounding", "evaluation",
                  "encode_coefficients")
_NODE_RANGE = {"full": "full", "video": "limited"}


def node_family(mode: str | None) -> tuple[str, str] | None:
    """(matrix, range) an NV12 node decodes with, from its mode; None for a YUV444 model (no conversion).

    >>> node_family("yuvbt601video2bgr")
    ('bt601', 'limited')
    """
    if not mode or not mode.startswith("yuvbt601"):
        return None
    word = mode[len("yuvbt601"):].split("2")[0]
    return ("bt601", _NODE_RANGE[word]) if word in _NODE_RANGE else None


def _node_mode(mode: str, rng: str) -> str:
    """``mode`` switched to decode range ``rng``."""
    word = {v: k for k, v in _NODE_RANGE.items()}[rng]
    return f"yuvbt601{word}2{mode.rsplit('2', 1)[1]}"


def _differs(candidate: Convention, yours: Convention) -> str:
    """What differs from your convention, as ``chroma down box (yours topleft)``."""
    parts = []
    for name in _COMPARED:
        a, b = getattr(candidate, name), getattr(yours, name)
        if name in ("rounding", "evaluation", "encode_coefficients") and candidate.arithmetic != yours.arithmetic:
            continue  # the arithmetic says it: the fixed-point ones ignore rounding and coefficients
        if a != b:
            if name == "encode_coefficients":
                parts.append("vendor coefficients" if a is not None else "standard coefficients")
            else:
                parts.append(f"{name.replace('_', ' ')} {a} (yours {b})")
    return "; ".join(parts) or "the same arithmetic"


def candidate_conventions(convention: str | Convention, family: tuple[str, str]
                          ) -> list[tuple[Convention, str, str]]:
    """(convention, group, what differs) for yours and every candidate, derived from the presets' fields.

    ``family`` is the (matrix, range) the NV12 node decodes with. Candidates
    that encode exactly like one already listed are left out.
    """
    yours = get_convention(convention)
    out = [(yours, "yours", "")]
    seen = {tuple(getattr(yours, f) for f in _MATRIX_FIELDS)}

    def add(candidate: Convention, group: str) -> None:
        key = tuple(getattr(candidate, f) for f in _MATRIX_FIELDS)
        if key not in seen:
            seen.add(key)
            out.append((candidate, group, _differs(candidate, yours)))

    if (yours.matrix, yours.range) == family:
        roundings = [yours.rounding] + (["nearest"] if yours.arithmetic == "float" and yours.rounding != "nearest"
                                        else [])
        for rounding in roundings:
            for chroma in _CHROMA_DOWN:
                if (chroma, rounding) == (yours.chroma_down, yours.rounding):
                    continue
                extra = "" if rounding == yours.rounding else f", rounding {rounding}"
                add(yours.replace(name=f"{yours.name} ({chroma} chroma{extra})", chroma_down=chroma,
                                  rounding=rounding), "same node")
    for preset in CONVENTIONS.values():
        if (preset.matrix, preset.range) == family:
            add(preset, "same node")
    for preset in CONVENTIONS.values():
        if preset.matrix == family[0] and preset.range != family[1]:
            add(preset, "other node")
    return out


@dataclass
class ConventionRow:
    """One candidate convention on the decisive image."""

    name: str
    group: str  # "yours", "same node" or "other node"
    differs: str
    cosine: float
    loss: float
    ratio: float | None  # loss / your loss; below 1 is better
    verdict: str  # the decisive image's verdict with this NV12 cosine
    nv12_rule_fires: bool
    node_mode: str | None
    summary: str

    @property
    def times_smaller(self) -> float | None:
        """How many times smaller than your loss (None when either is zero)."""
        return 1.0 / self.ratio if self.ratio else None

    def change_text(self) -> str:
        """``5.3x smaller``, ``2.0x larger`` or ``the same``."""
        if self.ratio is None or not np.isfinite(self.ratio):
            return "-"
        if self.ratio <= 0:
            return "no loss at all"
        if abs(self.ratio - 1) < 0.05:
            return "about the same"
        return f"{1 / self.ratio:.1f}x smaller" if self.ratio < 1 else f"{self.ratio:.1f}x larger"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dataclasses.asdict(self)


@dataclass
class ConventionSensitivity:
    """The decisive image's NV12 loss under each candidate convention (see the module notes)."""

    image: str
    convention: str
    rows: list[ConventionRow]
    healthy_limit: float  # the largest loss the verdict rules call healthy on this image (the NV12 rule alone)
    not_measured: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def cosines(self) -> dict[str, float]:
        """{convention name: cosine}: the JSON's ``convention_sensitivity``."""
        return {row.name: row.cosine for row in self.rows}

    def best_fix(self) -> ConventionRow | None:
        """The candidate that would turn the image healthy with the smallest loss, same-node ones first."""
        healthy = [r for r in self.rows if r.group != "yours" and r.verdict == "healthy"]
        healthy.sort(key=lambda r: (r.group != "same node", r.loss))
        return healthy[0] if healthy else None

    def recommendation(self, verdict_id: str) -> str | None:
        """The first recommendation when a convention the chip could use turns an NV12 loss healthy."""
        fix = self.best_fix()
        if verdict_id != "nv12_specific_loss" or fix is None:
            return None
        node = f"; the NV12 node must then be built with mode {fix.node_mode!r}" if fix.group == "other node" else ""
        return (f"Configure the chip/ISP for {fix.name} ({fix.differs}): the NV12 loss on {self.image} would be "
                f"{fix.loss:.1e} ({fix.change_text()}), healthy under the same thresholds{node}.")

    def lines(self) -> list[str]:
        """Terminal lines: one per candidate."""
        yours = self.rows[0]
        out = [f"what another convention would cost (on {self.image}; yours: {self.convention}, 1 - cos "
               f"{yours.loss:.2e}, healthy at or below {self.healthy_limit:.2e}):"]
        for row in self.rows[1:]:
            out.append(f"  with {row.name} [{row.group}: {row.differs}] your loss would be {row.loss:.2e} "
                       f"({row.change_text()}) -> {row.verdict}")
        out += [f"  not measured: {n}" for n in self.not_measured]
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready details (the mapping itself is :meth:`cosines`)."""
        return {"image": self.image, "convention": self.convention, "healthy_limit": self.healthy_limit,
                "rows": [r.to_dict() for r in self.rows], "not_measured": list(self.not_measured),
                "seconds": self.seconds}


def healthy_limit(result: Any, t: Thresholds) -> float:
    """The largest NV12 loss the NV12 rule accepts on ``result``'s noise floor."""
    ref_loss = max(1.0 - result.noise.floor(t.reference_amplitude), 1e-12)
    return min(t.max_absolute_loss, max(t.max_loss_ratio * ref_loss, t.negligible_loss))


def measure_convention_sensitivity(
    result: Any,
    rgb: np.ndarray,
    out_feat: np.ndarray,
    *,
    convention: str | Convention,
    nv12_runner: Any,
    mode: str | None,
    thresholds: Thresholds,
    node_findings: Any = (),
    input_name: str,
    output: str,
    feed: Callable[[Any, Any, str], Mapping[str, np.ndarray]],
    build_runner: Callable[[str], Any] | None = None,
    other_node_hint: str = "your own NV12 model was given",
) -> ConventionSensitivity | None:
    """Measure every candidate on the decisive image.

    Parameters
    ----------
    result : ImageResult
        The decisive image's result (its noise floor and NV12 cosine).
    rgb, out_feat : ndarray
        The image at the model's size and the float model's ``output`` on it.
    nv12_runner : runner
        The triage's NV12 model (decodes with ``mode``).
    mode : str or None
        The node's mode; None (a model trained on YUV444) measures nothing.
    build_runner : callable, optional
        ``mode -> runner`` of an NV12 model with another node mode, for the
        ``other node`` group; None leaves that group out.
    other_node_hint : str, optional
        Why that group was left out, for the report's "not measured" list.

    Returns
    -------
    ConventionSensitivity or None
        None when the node converts nothing (``mode`` None).
    """
    from .convert import rgb_to_nv12
    from .metrics import compare_arrays

    started = time.perf_counter()
    family = node_family(mode)
    if family is None:
        return None
    yours = get_convention(convention)
    runners: dict[str, Any] = {}
    limit = healthy_limit(result, thresholds)
    current = result.nv12_cosine
    current_loss = 1.0 - current if current is not None else float("nan")
    rows: list[ConventionRow] = []
    elsewhere = [name for name, c in CONVENTIONS.items() if c.matrix != family[0]]
    not_measured = [f"{', '.join(elsewhere)}: the NV12 node modes decode {family[0].upper()} only"] if elsewhere else []
    for candidate, group, differs in candidate_conventions(yours, family):
        node_mode = mode if group != "other node" else _node_mode(mode, candidate.range)  # type: ignore[arg-type]
        if group == "yours":
            cosine = current
        else:
            if group == "other node":
                if build_runner is None:
                    not_measured.append(f"{candidate.name}: needs an NV12 model for mode {node_mode!r} "
                                        f"({other_node_hint})")
                    continue
                if node_mode not in runners:
                    runners[node_mode] = build_runner(node_mode)
                runner = runners[node_mode]
            else:
                runner = nv12_runner
            try:
                frame = rgb_to_nv12(rgb, convention=candidate)
            except NV12KitError as exc:
                not_measured.append(f"{candidate.name}: {exc}")
                continue
            cosine = compare_arrays(out_feat, runner.run(feed(runner, frame, input_name))[output]).cosine
        if cosine is None:
            continue
        loss = 1.0 - cosine
        ratio = loss / current_loss if current_loss and np.isfinite(current_loss) and current_loss > 0 else None
        probe = dataclasses.replace(result, nv12_cosine=cosine, verdict=None)
        verdict = decide(probe, thresholds, node_findings=node_findings).id
        rows.append(ConventionRow(candidate.name, group, differs or "-", float(cosine), float(loss), ratio, verdict,
                                  _NV12Loss.measure(probe, thresholds).fires, node_mode, candidate.summary()))
    if not rows:
        return None
    return ConventionSensitivity(result.name, yours.name, rows, limit, not_measured,
                                 time.perf_counter() - started)
