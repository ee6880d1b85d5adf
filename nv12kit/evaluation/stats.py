"""From per-frame records to the set's numbers: accuracies with intervals, agreement, cosines, noise, decomposition.

Records are kept as a few numbers a frame in arrays indexed by the frame's
position in the set, and every sum is taken in that order, so the numbers
do not depend on the order the records arrived in (workers, resume).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InputError

__all__ = ["wilson_interval", "mean_interval", "Accumulator", "NOISE_FLOOR_QUANTILE"]

#: z for a two-sided 95 % interval (the 97.5th percentile of the standard normal).
Z95 = 1.959963984540054
#: The noise floor is this quantile of ``1 - cos`` over every noisy trial of the sample.
NOISE_FLOOR_QUANTILE = 0.95


def wilson_interval(successes: int, total: int, *, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (95 % by default).

    Examples
    --------
    >>> low, high = wilson_interval(81, 100)
    >>> round(low, 4), round(high, 4)
    (0.7222, 0.8749)
    >>> wilson_interval(0, 0)
    (0.0, 1.0)
    """
    if total <= 0:
        return 0.0, 1.0
    p = successes / total
    z2 = z * z
    denominator = 1.0 + z2 / total
    centre = (p + z2 / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_interval(values: np.ndarray, *, z: float = Z95) -> tuple[float, float, float]:
    """Mean and its normal-approximation 95 % interval (``mean ± z s / sqrt(n)``)."""
    n = len(values)
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(np.mean(values))
    if n == 1:
        return mean, mean, mean
    half = z * float(np.std(values, ddof=1)) / math.sqrt(n)
    return mean, mean - half, mean + half


def _quantiles(values: np.ndarray) -> dict[str, float | None]:
    if len(values) == 0:
        return {k: None for k in ("mean", "min", "p01", "p05", "median", "max")}
    q = np.quantile(values, [0.01, 0.05, 0.5])
    return {"mean": float(np.mean(values)), "min": float(np.min(values)), "p01": float(q[0]), "p05": float(q[1]),
            "median": float(q[2]), "max": float(np.max(values))}


class Accumulator:
    """The per-frame numbers of a run, one slot per frame of the set."""

    def __init__(self, keys: Sequence[str], variants: Sequence[str], *, labelled: bool, classification: bool,
                 metric: bool) -> None:
        n = len(keys)
        self.keys = keys
        self.variants = tuple(variants)
        self.labelled, self.classification, self.has_metric = labelled, classification, metric
        self.done = np.zeros(n, bool)
        self.resized = np.zeros(n, bool)
        self.labels = np.full(n, -1, np.int64)
        self.top1 = {v: np.full(n, -1, np.int64) for v in self.variants}
        self.rank = {v: np.full(n, -1, np.int64) for v in self.variants}
        self.cos = {v: np.full(n, np.nan) for v in self.variants if v != "feat"}
        self.metric = {v: np.full(n, np.nan) for v in self.variants}
        self.noise: dict[int, list[float | None]] = {}

    def add(self, record: dict[str, Any]) -> None:
        """Take one record (as written to the log); a record of another set is refused."""
        try:
            i = int(record["index"])
            key = record["key"]
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"a result record has no frame index and key ({str(record)[:80]}); the log is not from "
                             "nv12kit evaluate") from exc
        if not 0 <= i < len(self.done) or self.keys[i] != key:
            raise InputError(f"the log has a record for frame {key!r} at position {i}, which is not that frame of "
                             "this set; the frames changed since the log was written: start a new log")
        self.done[i] = True
        self.resized[i] = bool(record.get("resized"))
        if record.get("label") is not None:
            self.labels[i] = int(record["label"])
        for v in self.variants:
            if v != "feat":
                c = record.get("cos", {}).get(v)
                self.cos[v][i] = np.nan if c is None else float(c)
            if self.classification:
                self.top1[v][i] = int(record["top1"][v])
                if "rank" in record:
                    self.rank[v][i] = int(record["rank"][v])
            if self.has_metric:
                self.metric[v][i] = float(record["metric"][v])
        if "noise" in record:
            self.noise[i] = list(record["noise"])

    @property
    def count(self) -> int:
        return int(self.done.sum())

    # ------------------------------------------------------------------
    # the numbers
    # ------------------------------------------------------------------
    def variant_table(self, *, classes: int | None) -> dict[str, dict[str, Any]]:
        done = self.done
        n = int(done.sum())
        table: dict[str, dict[str, Any]] = {}
        for v in self.variants:
            row: dict[str, Any] = {"frames": n}
            if self.classification and self.labelled:
                correct = int(np.count_nonzero(self.rank[v][done] == 0))
                row["top1"] = correct / n if n else None
                row["top1_correct"] = correct
                row["top1_ci95"] = list(wilson_interval(correct, n))
                if classes is not None and classes >= 5:
                    hits = int(np.count_nonzero((self.rank[v][done] >= 0) & (self.rank[v][done] < 5)))
                    row["top5"] = hits / n if n else None
                    row["top5_correct"] = hits
                    row["top5_ci95"] = list(wilson_interval(hits, n))
            if self.classification:
                agree = int(np.count_nonzero(self.top1[v][done] == self.top1["feat"][done]))
                row["agreement_with_feat"] = agree / n if n else None
                row["agreement_ci95"] = list(wilson_interval(agree, n))
            if v != "feat":
                values = self.cos[v][done]
                finite = values[np.isfinite(values)]
                row["cosine_to_feat"] = _quantiles(finite)
                row["cosine_undefined"] = int(len(values) - len(finite))
            if self.has_metric:
                mean, low, high = mean_interval(self.metric[v][done])
                row["metric"] = mean
                row["metric_ci95"] = [low, high]
            table[v] = row
        return table

    def correct(self, variant: str) -> np.ndarray:
        """Per frame (of those done): 1 where right (top-1 on the label; agreeing with feat without labels)."""
        done = self.done
        if self.classification and self.labelled:
            return (self.rank[variant][done] == 0).astype(np.int64)
        return (self.top1[variant][done] == self.top1["feat"][done]).astype(np.int64)

    def score(self, variant: str) -> float | None:
        """What the decomposition compares: accuracy (or agreement), else the metric's mean."""
        n = self.count
        if not n:
            return None
        if self.classification:
            return float(self.correct(variant).sum()) / n
        if self.has_metric:
            return float(np.mean(self.metric[variant][self.done]))
        return None

    def decomposition(self) -> dict[str, Any] | None:
        """Accuracy lost to the NV12 conversion, to quantisation and to both, and the frames behind each."""
        if not (self.classification or self.has_metric) or not self.count:
            return None
        scores = {v: self.score(v) for v in self.variants}
        what = ("top-1 accuracy" if self.classification and self.labelled else
                "top-1 agreement with feat" if self.classification else "metric mean")
        out: dict[str, Any] = {"measure": what, "scores": scores,
                               "lost_to_nv12": scores["feat"] - scores["nv12"]}  # type: ignore[operator]
        if "quantized_nv12" in scores:
            total = scores["feat"] - scores["quantized_nv12"]  # type: ignore[operator]
            quant = scores["feat"] - scores["quantized_feat"]  # type: ignore[operator]
            out.update({"lost_to_quantization": quant, "lost_in_total": total,
                        "lost_to_both_together": total - out["lost_to_nv12"] - quant,
                        "nv12_under_int8": scores["quantized_feat"] - scores["quantized_nv12"]})  # type: ignore[operator]
        if self.classification:
            ref = self.correct("feat")
            frames: dict[str, Any] = {}
            for v in self.variants[1:]:
                c = self.correct(v)
                frames[v] = {"lost": int(np.count_nonzero((ref == 1) & (c == 0))),
                             "gained": int(np.count_nonzero((ref == 0) & (c == 1)))}
            if "quantized_nv12" in self.variants:
                only_both = ((ref == 1) & (self.correct("nv12") == 1) & (self.correct("quantized_feat") == 1)
                             & (self.correct("quantized_nv12") == 0))
                frames["only_with_both"] = int(np.count_nonzero(only_both))
            out["frames"] = frames
        return out

    def flips(self, *, limit: int) -> dict[str, dict[str, Any]]:
        """Per variant: frames right with feat and wrong with it, worst (lowest ``cos(feat, variant)``) first."""
        if not self.classification:
            return {}
        index = np.flatnonzero(self.done)
        ref = self.correct("feat")
        out: dict[str, dict[str, Any]] = {}
        for v in self.variants[1:]:
            flipped = np.flatnonzero((ref == 1) & (self.correct(v) == 0))
            loss = 1.0 - np.nan_to_num(self.cos[v][index[flipped]], nan=-1.0)
            order = flipped[np.lexsort((index[flipped], -loss))]  # worst first; ties in set order
            rows = []
            for j in order[:limit]:
                i = int(index[j])
                rows.append({"index": i, "key": self.keys[i],
                             "label": int(self.labels[i]) if self.labels[i] >= 0 else None,
                             "feat_top1": int(self.top1["feat"][i]), "variant_top1": int(self.top1[v][i]),
                             "cosine": None if np.isnan(self.cos[v][i]) else float(self.cos[v][i])})
            out[v] = {"count": int(len(flipped)), "worst": rows}
        return out

    def noise_floor(self, *, amplitude: float, trials: int) -> dict[str, Any]:
        """The noise floor on the sample, and how many frames' NV12 loss lies beyond it."""
        sample = sorted(self.noise)
        losses = np.array([x for i in sample for x in self.noise[i] if x is not None], np.float64)
        out: dict[str, Any] = {"amplitude": amplitude, "trials_per_frame": trials, "sample_frames": len(sample),
                               "sample": [self.keys[i] for i in sample], "quantile": NOISE_FLOOR_QUANTILE}
        if len(losses) == 0:
            out.update({"floor_loss": None, "frames_outside": None, "fraction_outside": None})
            return out
        floor = float(np.quantile(losses, NOISE_FLOOR_QUANTILE))
        nv12_loss = 1.0 - self.cos["nv12"][self.done]
        outside = int(np.count_nonzero(np.nan_to_num(nv12_loss, nan=np.inf) > floor))
        out.update({"floor_loss": floor, "median_loss": float(np.median(losses)), "max_loss": float(losses.max()),
                    "frames_outside": outside, "fraction_outside": outside / max(1, self.count)})
        return out

    def cosines(self, variant: str) -> np.ndarray:
        """``cos(feat, variant)`` of every frame done, in set order (NaN where undefined)."""
        return self.cos[variant][self.done].copy()
