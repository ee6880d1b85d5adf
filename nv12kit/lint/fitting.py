"""Least-squares scoring of bytes against the reference image, and the cost of naming bugs.

Sufficient statistics (:class:`_Moments`) for affine predictions of a plane
from R, G and B; free fits that leave out the few rows a shifted plane loses
(:func:`_trim_rows`, :func:`_free_ms`); the reference with its chroma
down-sampled by each usual method (:class:`_Reference`); and the model-choice
cost ``E * 2**k + 0.1 * k`` of a hypothesis naming ``k`` bugs
(:func:`_penalised`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

_BIAS_ALLOWANCE = 1.5  # levels of constant offset an encoder's rounding may cause
_PENALTY_FACTOR = 2.0  # each named bug must at least halve the residual ...
_PENALTY_ADD = 0.1  # ... and remove this many levels squared


# How encoders down-sample chroma: the reference is compared under each.
_CHROMA_METHODS = ("topleft", "box", "bicubic", "bilinear", "bottomright", "bottomleft", "topright")


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


def _with_ones(features: np.ndarray) -> np.ndarray:
    """(rows, width, 3) -> (rows, width, 4) float64 with a column of ones."""
    out = np.empty(features.shape[:2] + (4,), np.float64)
    out[..., :3] = features
    out[..., 3] = 1.0
    return out


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


def _penalised(energy: float, k: int) -> float:
    return energy * _PENALTY_FACTOR**k + _PENALTY_ADD * k
