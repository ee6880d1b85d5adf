"""The verdict: every rule of the triage, judged on one image's measurements.

:func:`decide` evaluates each rule on its own, with its own numbers:

1. ``conversion_bug``: the lint of the user's NV12 data, then the lint of the
   node settings (each is a finding of its own);
2. ``over_sensitive_model``: the noise floor at ``floor_amplitude``;
3. ``nv12_specific_loss``: the NV12 loss against the floor at
   ``reference_amplitude`` (relative size) and against the negligible and
   severe levels (absolute size);
4. ``quantization``: the int8 NV12 variant against the int8 feat variant.

The first rule that fires, in that order, is the verdict (its wording does
not depend on the others). Every other rule that fires is kept in the
verdict's ``also``, as a :class:`SecondaryFinding` with its own evidence, so
a report never hides a second problem behind the first. ``healthy`` is the
verdict only when no rule fires, and never appears in ``also``.

The NV12 rule uses the same thresholds whether or not the model is
over-sensitive: the loss is read against the model's *own* ±3 floor. For an
over-sensitive model that floor is itself low, so the relative test is
harder to fail (the finding means "NV12 costs more than even this fragile
model's noise does"); the severe absolute limit still applies. The finding
states both numbers, so the reader can judge.

>>> from nv12kit.verdicts import Thresholds, Verdict
>>> Verdict("healthy", "Healthy", "test", [], []).to_dict()["also"]
[]
>>> Thresholds().max_loss_ratio
2.0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from .errors import InputError

__all__ = ["VERDICTS", "Thresholds", "Verdict", "SecondaryFinding", "decide", "merge_also"]

#: Verdict ids, most urgent first, with their generic one-line titles. A verdict's own ``title`` is more
#: specific: it says which rule decided and with what numbers (see :func:`decide`).
VERDICTS: dict[str, str] = {
    "conversion_bug": "Conversion bug: the NV12 data or the node settings do not match the model's training",
    "over_sensitive_model": "Over-sensitive model: its output moves a lot under a few pixel values of noise",
    "nv12_specific_loss": "NV12-specific loss: the NV12 round trip costs more than the model can take",
    "quantization": "Quantisation: the int8 NV12 variant departs from the int8 feat variant",
    "healthy": "Healthy: the NV12 loss is negligible or inside the noise floor",
}

_RECOMMENDATIONS: dict[str, list[str]] = {
    "conversion_bug": [
        "Fix the conversion (or the node settings) first; nothing else in this report means much until then.",
        "Re-run the triage with the corrected NV12 data to see what is left.",
    ],
    "over_sensitive_model": [
        "The model is over-fitted to tiny input detail: retrain or fine-tune with pixel-noise augmentation "
        "(±3 levels) and NV12 round-trip augmentation (nv12kit.rgb_to_nv12 then nv12_to_rgb with the chip's "
        "convention).",
        "Expect the same fragility under sensor noise and JPEG artefacts, not only NV12.",
        "Run nv12kit.layer_divergence(..., compare='noise') to see which layers amplify the noise.",
    ],
    "nv12_specific_loss": [
        "Check that the convention matches the chip: range (full/video), matrix (BT.601/709), chroma siting.",
        "Fine-tune with NV12 round-trip augmentation so the model learns to ignore chroma subsampling.",
        "If the chip supports it, use bilinear chroma up-sampling in the node.",
        "Run nv12kit.layer_divergence(..., compare='nv12') to find the layer where the loss grows.",
    ],
    "quantization": [
        "Look at the input node's quantisation: the Y/UV to RGB conversion and the normalisation are quantised "
        "on the chip. Calibrate with real NV12 frames from the camera.",
        "Keep the preprocessing in higher precision (int16) if the toolchain allows, or exclude it from int8.",
    ],
    "healthy": [
        "The NV12 node is not what costs accuracy here.",
        "If accuracy still drops on the chip, dump the vendor runtime's outputs (.npz) and compare them with "
        "nv12kit.compare against the float model's.",
    ],
}

_URGENCY = list(VERDICTS)


@dataclass(frozen=True)
class Thresholds:
    """The numbers the verdict compares against. All are cosines or ``1 - cosine`` losses.

    Attributes
    ----------
    floor_amplitude : float
        Noise amplitude (pixel values) at which over-sensitivity is judged. Default 2.
    min_floor_mean : float
        Over-sensitive if the mean cosine at ``floor_amplitude`` is below this.
        Default 0.98: a well-trained classifier keeps 0.98-0.999 at ±2.
    min_floor_worst : float
        Over-sensitive if the worst trial at ``floor_amplitude`` is below this. Default 0.90.
    reference_amplitude : float
        The noise floor the NV12 loss is read against. Default 3 (the forum's 2-3 pixel values).
    max_loss_ratio : float
        Relative test: the NV12 loss ``1 - cos`` may be at most this many times the
        floor's ``1 - mean cos`` at ``reference_amplitude``. Default 2.
    negligible_loss : float
        Absolute test: a loss ``1 - cos`` at or below this (cosine 0.999) is negligible
        whatever the ratio. Default 1e-3.
    max_absolute_loss : float
        A loss above this (cosine 0.98) is a problem whatever the floor. Default 0.02.
    """

    floor_amplitude: float = 2.0
    min_floor_mean: float = 0.98
    min_floor_worst: float = 0.90
    reference_amplitude: float = 3.0
    max_loss_ratio: float = 2.0
    negligible_loss: float = 1e-3
    max_absolute_loss: float = 0.02

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
                raise InputError(f"threshold {f.name} must be a positive number, got {value!r}")
            object.__setattr__(self, f.name, float(value))
        for name in ("min_floor_mean", "min_floor_worst"):
            if getattr(self, name) > 1:
                raise InputError(f"threshold {name} is a cosine and must be at most 1, got {getattr(self, name)}")

    @classmethod
    def coerce(cls, value: Thresholds | Mapping[str, float] | None) -> Thresholds:
        """``Thresholds`` from None (the defaults), a Thresholds, or a dict of overrides."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, Mapping):
            known = {f.name for f in fields(cls)}
            unknown = sorted(set(value) - known)
            if unknown:
                raise InputError(f"unknown thresholds {unknown}; the thresholds are {sorted(known)}")
            return cls(**dict(value))
        raise InputError(f"thresholds must be a Thresholds or a dict, got {type(value).__name__}")

    def to_dict(self) -> dict[str, float]:
        """The values, by name."""
        return asdict(self)


@dataclass
class SecondaryFinding:
    """A rule that fires besides the verdict's own: its id, headline, what decided it and its numbers.

    ``image`` names the frame it fired on when that is not the frame that
    decided the verdict (``None``: the same frame).
    """

    id: str
    title: str
    decided_by: str
    evidence: list[str]
    image: str | None = None

    def headline(self) -> str:
        """``id (on image): title``, one line."""
        where = f" (on {self.image})" if self.image else ""
        return f"{self.id}{where}: {self.title}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


@dataclass
class Verdict:
    """One verdict: its id, title, what decided it, the numbers and what to do.

    ``also`` holds every other rule that fired, most urgent first, each with
    its own evidence (empty when only one rule fired, and for ``healthy``).
    """

    id: str
    title: str
    decided_by: str
    evidence: list[str]
    recommendations: list[str]
    also: list[SecondaryFinding] = field(default_factory=list)

    def findings(self, image: str | None = None) -> list[SecondaryFinding]:
        """This verdict (unless healthy) and its ``also``, as findings; ``image`` names the frame."""
        own = [] if self.id == "healthy" else [
            SecondaryFinding(self.id, self.title, self.decided_by, list(self.evidence), image)]
        return own + [SecondaryFinding(f.id, f.title, f.decided_by, list(f.evidence), f.image or image)
                      for f in self.also]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def merge_also(verdict: Verdict, others: Sequence[tuple[str, Verdict]]) -> list[SecondaryFinding]:
    """``verdict.also``, plus every rule that fires on another image but not on the deciding one.

    ``others`` are ``(image name, verdict)`` of the other images, most urgent
    first; the first image on which a rule fires gives its finding, naming
    the image.

    >>> main = Verdict("over_sensitive_model", "t", "noise floor", [], [])
    >>> other = Verdict("nv12_specific_loss", "loss", "relative and absolute size", ["1 - cos 0.1"], [])
    >>> [f.headline() for f in merge_also(main, [("b.png", other), ("c.png", main)])]
    ['nv12_specific_loss (on b.png): loss']
    """
    found = list(verdict.also)
    seen = ({verdict.id} | {f.id for f in found}) - {"healthy"}
    for name, other in others:
        for finding in other.findings(name):
            if finding.id not in seen:
                seen.add(finding.id)
                found.append(finding)
    return found


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6f}"
    return str(value)


def _loss(cosine: float | None) -> float:
    return 1.0 - cosine if cosine is not None and np.isfinite(cosine) else float("inf")


# ----------------------------------------------------------------------------
# the rules, each on its own
# ----------------------------------------------------------------------------
def decide(
    result: Any,
    thresholds: Thresholds,
    *,
    node_findings: Sequence[Any] = (),
) -> Verdict:
    """The verdict for one image (an :class:`nv12kit.triage.ImageResult`), from its measurements.

    Every rule is evaluated (see the module docstring); the most urgent that
    fires is the verdict, the others go to its ``also``.
    """
    fired = _fired(result, thresholds, node_findings)
    if not fired:
        return _healthy(result, thresholds, _NV12Loss.measure(result, thresholds))
    verdict, *others = fired
    verdict.also = [f for other in others for f in other.findings()]
    return verdict


def _fired(result: Any, t: Thresholds, node_findings: Sequence[Any]) -> list[Verdict]:
    """Every rule that fires on ``result``, most urgent first."""
    fired: list[Verdict] = []
    if result.diagnosis is not None and not result.diagnosis.is_ok:
        top = result.diagnosis.top
        evidence = [f"your NV12 was checked against the convention: {', '.join(top.issues)}",
                    f"{top.explanation}"]
        evidence += [f"{k} = {_fmt(v) if isinstance(v, float) else v}" for k, v in list(top.evidence.items())[:4]]
        fired.append(Verdict("conversion_bug", VERDICTS["conversion_bug"], "lint of your NV12 data", evidence,
                             [f"Fix: {top.fix}"] + _RECOMMENDATIONS["conversion_bug"]))
    errors = [f for f in node_findings if getattr(f, "severity", "") == "error"]
    if errors:
        fired.append(Verdict("conversion_bug", VERDICTS["conversion_bug"], "lint of the node settings",
                             [f.message for f in errors], [f"Fix: {f.fix}" for f in errors]
                             + _RECOMMENDATIONS["conversion_bug"]))
    over = _over_sensitive(result, t)
    if over is not None:
        fired.append(over)
    loss = _NV12Loss.measure(result, t)
    if loss.fires:
        fired.append(loss.verdict(t, over_sensitive=over is not None))
    quantised = _quantization(result, t, loss)
    if quantised is not None:
        fired.append(quantised)
    return fired


def _over_sensitive(result: Any, t: Thresholds) -> Verdict | None:
    floor = result.noise.summary(t.floor_amplitude)
    if not (floor["mean"] < t.min_floor_mean or floor["min"] < t.min_floor_worst):
        return None
    floor_text = (f"noise ±{t.floor_amplitude:g}: mean cosine {floor['mean']:.6f}, worst of "
                  f"{result.noise.trials} trials {floor['min']:.6f}")
    which = []
    if floor["mean"] < t.min_floor_mean:
        which.append(f"mean {floor['mean']:.4f} < {t.min_floor_mean:g}")
    if floor["min"] < t.min_floor_worst:
        which.append(f"worst {floor['min']:.4f} < {t.min_floor_worst:g}")
    evidence = [floor_text + f" ({'; '.join(which)})",
                f"NV12 loss for comparison: cosine {_fmt(result.nv12_cosine)}"]
    if t.floor_amplitude in result.noise.top1:
        evidence.append(f"top-1 class kept in {result.noise.top1[t.floor_amplitude]:.0%} of noisy trials")
    title = (f"Over-sensitive model: ±{t.floor_amplitude:g} pixel values of noise already move its output "
             f"(mean cosine {floor['mean']:.4f}, worst {floor['min']:.4f})")
    return Verdict("over_sensitive_model", title, "noise floor", evidence,
                   list(_RECOMMENDATIONS["over_sensitive_model"]))


@dataclass
class _NV12Loss:
    """The NV12 loss of one image read against the floor (relative size) and the fixed levels (absolute size)."""

    loss: float
    reference: float
    ref_loss: float
    ratio: float
    relative_bad: bool
    absolute_bad: bool
    severe: bool
    evidence: list[str]

    @classmethod
    def measure(cls, result: Any, t: Thresholds) -> _NV12Loss:
        reference = result.noise.floor(t.reference_amplitude)
        ref_loss = max(1.0 - reference, 1e-12)
        loss = _loss(result.nv12_cosine)
        ratio = loss / ref_loss
        evidence = [
            f"NV12 loss: cos(feat, nv12) = {_fmt(result.nv12_cosine)}, 1 - cos = {loss:.2e}",
            f"noise floor ±{t.reference_amplitude:g}: mean cosine {reference:.6f}, 1 - cos = {ref_loss:.2e}",
            f"relative size: the NV12 loss is {ratio:.2f}x the floor's (limit {t.max_loss_ratio:g}x)",
            f"absolute size: 1 - cos = {loss:.2e} (negligible at or below {t.negligible_loss:g}, "
            f"severe above {t.max_absolute_loss:g})",
        ]
        return cls(loss, reference, ref_loss, ratio, ratio > t.max_loss_ratio, loss > t.negligible_loss,
                   loss > t.max_absolute_loss, evidence)

    @property
    def fires(self) -> bool:
        return self.severe or (self.relative_bad and self.absolute_bad)

    def verdict(self, t: Thresholds, *, over_sensitive: bool) -> Verdict:
        loss, ratio, evidence = self.loss, self.ratio, list(self.evidence)
        if self.relative_bad and self.absolute_bad:
            decided = "relative and absolute size"
            if over_sensitive:
                title = (f"NV12-specific loss: the NV12 round trip alone costs {ratio:.1f}x the "
                         f"±{t.reference_amplitude:g} noise floor (1 - cos {loss:.1e}), on top of the "
                         "over-sensitivity")
            else:
                title = (f"NV12-specific loss: the model tolerates noise, but the NV12 round trip costs {ratio:.1f}x "
                         f"the ±{t.reference_amplitude:g} noise floor (1 - cos {loss:.1e})")
        else:
            decided = "absolute size (above the severe limit)"
            title = (f"NV12-specific loss: 1 - cos {loss:.1e} is above the severe limit {t.max_absolute_loss:g}, "
                     f"although only {ratio:.1f}x the noise floor")
        if over_sensitive and self.relative_bad:
            decided += ", against the over-sensitive model's own noise floor"
            evidence.append(f"the ±{t.reference_amplitude:g} floor is this over-sensitive model's own (mean cosine "
                            f"{self.reference:.4f}); with the same limits, the NV12 loss is beyond even that")
        return Verdict("nv12_specific_loss", title, decided, evidence, list(_RECOMMENDATIONS["nv12_specific_loss"]))


def _quantization_numbers(result: Any, t: Thresholds, nv12: _NV12Loss) -> tuple[float, float, list[str]]:
    q = result.quantized
    q_loss = _loss(q.get("quantized_feat_vs_quantized_nv12"))
    allowed = t.max_loss_ratio * max(nv12.ref_loss, nv12.loss)
    evidence = [
        f"int8: cos(quantized_feat, quantized_nv12) = {_fmt(q.get('quantized_feat_vs_quantized_nv12'))}, "
        f"1 - cos = {q_loss:.2e} against {allowed:.2e} allowed ({t.max_loss_ratio:g}x the larger of the "
        "float NV12 loss and the noise floor)",
        f"int8 vs float: feat {_fmt(q.get('float_vs_quantized_feat'))}, nv12 "
        f"{_fmt(q.get('float_vs_quantized_nv12'))}",
    ]
    return q_loss, allowed, evidence


def _quantization(result: Any, t: Thresholds, nv12: _NV12Loss) -> Verdict | None:
    if not result.quantized:
        return None
    q_loss, allowed, q_evidence = _quantization_numbers(result, t, nv12)
    if not (q_loss > t.max_absolute_loss or (q_loss > allowed and q_loss > t.negligible_loss)):
        return None
    return Verdict("quantization", f"Quantisation: the int8 NV12 variant departs from the int8 feat "
                   f"variant (1 - cos {q_loss:.1e}, {allowed:.1e} allowed)",
                   "quantised variants (relative and absolute size)", nv12.evidence[:1] + q_evidence,
                   list(_RECOMMENDATIONS["quantization"]))


def _healthy(result: Any, t: Thresholds, nv12: _NV12Loss) -> Verdict:
    loss, ratio, evidence = nv12.loss, nv12.ratio, list(nv12.evidence)
    if result.quantized:
        evidence += _quantization_numbers(result, t, nv12)[2]
    # The headline names the rule that decided, so it never contradicts the evidence below it.
    if nv12.relative_bad and not nv12.absolute_bad:
        decided = "absolute size: the loss is above the relative limit but negligible in absolute terms"
        title = (f"Healthy: the NV12 loss is negligible in absolute terms (1 - cos {loss:.1e} <= "
                 f"{t.negligible_loss:g}), although {ratio:.1f}x the noise floor")
    elif nv12.absolute_bad:
        decided = "relative size: the loss is not negligible but lies inside the noise floor"
        title = (f"Healthy: the NV12 loss (1 - cos {loss:.1e}) is above the negligible level but within "
                 f"{t.max_loss_ratio:g}x the ±{t.reference_amplitude:g} noise floor ({ratio:.2f}x)")
    else:
        decided = "relative and absolute size"
        title = (f"Healthy: the NV12 loss is negligible (1 - cos {loss:.1e}) and inside the noise floor "
                 f"({ratio:.2f}x)")
    return Verdict("healthy", title, decided, evidence, list(_RECOMMENDATIONS["healthy"]))
