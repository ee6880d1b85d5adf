"""The numbers behind a diagnosis: the frame decoded under a hypothesis, PSNR and MAE, per-channel fits.

Also :func:`_flat_chroma`, which says when a chroma plane carries no colour.
"""

from __future__ import annotations

import math

import numpy as np

from ..conventions import Convention
from ..convert import nv12_to_rgb


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


def _flat_chroma(uv: np.ndarray) -> str:
    u, v = uv[..., 0], uv[..., 1]
    if u.size == 0:
        return ""  # no chroma row inside the data: nothing to say about it
    if u.std() < 0.75 and v.std() < 0.75:
        mean_u, mean_v = float(u.mean()), float(v.mean())
        if abs(mean_u - 128) < 2 and abs(mean_v - 128) < 2:
            return "the chroma is flat at 128: the frame carries no colour (chroma dropped or never written)"
        return f"the chroma is constant (U {mean_u:.0f}, V {mean_v:.0f}): the chroma plane was never written"
    return ""
