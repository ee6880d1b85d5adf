"""Colour search: which matrix, range, R/B order and U/V order explain the bytes as read.

Every combination is scored on the frame by its residual against the
reference, for each chroma down-sampling method (:func:`_colour_fits`), and
the bugs it names are worded with their fix (:func:`_colour_findings`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import product

import numpy as np

from ..conventions import MATRICES, Convention, get_convention
from .findings import Finding
from .fitting import _CHROMA_METHODS, _Moments, _Reference, _sample_rows, _trim_rows, _with_ones

# Samples at most in the colour fits (larger frames use an even spread of rows).
_MAX_Y_SAMPLES = 400_000
_MAX_C_SAMPLES = 200_000


_MATRIX_NAMES = {"bt601": "BT.601", "bt709": "BT.709", "bt2020": "BT.2020"}


@dataclass(frozen=True)
class _Combo:
    matrix: str
    range: str
    bgr: bool
    swap: bool
    c_range: str = ""  # the chroma's range when it differs from the luma's (a converter that mixes them)

    def issues(self, conv: Convention) -> list[str]:
        out = []
        if self.range != conv.range or (self.c_range and self.c_range != conv.range):
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
    # The chroma's range is tested apart from the luma's: some converters scale one and not the other.
    for (m, r), c_range, bgr, swap in product(tables, ("full", "limited"), (False, True), (False, True)):
        if (swap or c_range != r) and not use_chroma:
            continue
        matrix, offset = tables[(m, r)]
        perm = [2, 1, 0] if bgr else [0, 1, 2]
        k = matrix[:, perm]
        ms_y = my.sse(k[0], offset[0], 0) / max(my.n, 1)
        if c_range != r:
            c_matrix, c_offset = tables[(m, c_range)]
            k = np.vstack([k[:1], c_matrix[1:, perm]])
            offset = np.concatenate([offset[:1], c_offset[1:]])
        per_method = {}
        if planes:
            # Plane c of the data is predicted by row 1 + c of the matrix, or by the other row if swapped.
            rows_for = (2, 1) if swap else (1, 2)
            for meth in _CHROMA_METHODS:
                sse = sum(planes[c][meth].sse(k[rows_for[c]], offset[rows_for[c]], 0) for c in range(2))
                per_method[meth] = sse / max(planes[0][meth].n + planes[1][meth].n, 1)
        best = min(per_method, key=per_method.__getitem__) if per_method else ""
        combo = _Combo(m, r, bgr, swap, "" if c_range == r else c_range)
        fits.append(_ColourFit(combo, ms_y, per_method.get(best, 0.0), best, per_method))
    free = {
        "y_free_rms": math.sqrt(my.free_sse(0) / max(my.n, 1)),
        "uv_free_rms": math.sqrt(c_free),
        "y_samples": int(my.n),
        "uv_samples": int(sum(p["box"].n for p in planes)),
    }
    return fits, free


def _colour_findings(combo: _Combo, conv: Convention) -> list[Finding]:
    out = []
    if combo.c_range and (combo.range != conv.range or combo.c_range != conv.range):
        y_words = {"full": "full range (Y 0-255)", "limited": "limited range (Y 16-235)"}[combo.range]
        c_words = {"full": "full range (0-255)", "limited": "limited range (16-240)"}[combo.c_range]
        out.append(
            (
                "range_mismatch",
                f"the luma is {y_words} but the chroma is {c_words}, and {conv.name!r} expects {conv.range} range "
                "for both: the converter scales luma and chroma differently, so colours are over- or "
                "under-saturated",
                f"encode luma and chroma with one range (nv12kit.rgb_to_nv12(img, convention={conv.name!r}))",
            )
        )
    elif combo.range != conv.range:
        if combo.range == "limited":
            out.append(
                (
                    "range_mismatch",
                    f"the frame is limited range (Y 16-235) but {conv.name!r} expects full range: the chip "
                    "stretches nothing, so the image looks washed out",
                    "encode full range (nv12kit.rgb_to_nv12(img, convention=%r), not OpenCV's I420, which is "
                    "limited), or set the node to a limited-range mode (mode='yuvbt601video2rgb')" % conv.name,
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


def _matrix_separation(ref: _Reference, conv: Convention) -> float:
    """RMS difference (levels) between the Y that BT.601 and BT.709 predict for this image."""
    step = max(1, int(math.sqrt(ref.h * ref.w / 50_000)))
    x = ref.rgb[::step, ::step].reshape(-1, 3).astype(np.float64)
    others = [m for m in MATRICES if m != conv.matrix]
    k0 = get_convention(f"{conv.matrix}-{conv.range}").encode_matrix()[0][0]
    seps = [float(np.sqrt(((x @ (k0 - get_convention(f"{m}-{conv.range}").encode_matrix()[0][0])) ** 2).mean()))
            for m in others]
    return min(seps) if seps else math.inf
