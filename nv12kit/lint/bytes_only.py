"""Diagnosis from the bytes alone, without a reference image.

What the bytes show on their own: Y outside 16-235 (full range), the period
of the rows (stride), which reading (as is, top bit flipped, planar chroma)
decodes inside the RGB cube, and flat chroma.  The confidence is modest to
match.
"""

from __future__ import annotations

from itertools import product
from typing import Any

import numpy as np

from ..conventions import Convention
from .evidence import _eval_rows, _flat_chroma
from .findings import Diagnosis, Finding, Hypothesis, _combine
from .reading import _read_planes, _Structure
from .sources import _Source
from .structure import _row_corr, _row_period_candidates


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
    base = _Structure(stride=src.stride, plane_rows=src.plane_rows, uv_shift=src.uv_shift, uv_stride=src.uv_stride)
    evidence: dict[str, Any] = {"width": w, "height": h}

    # Stride: rows that repeat with another period than the width.
    periods = _row_period_candidates(stream, 0, w, 2 * w, count=1)
    if periods:
        c_w, c_s = _row_corr(stream, base.stride, 16 * 2 * w), _row_corr(stream, periods[0], 16 * 2 * w)
        evidence.update(row_corr_width=c_w, row_corr_best=c_s, row_period=periods[0])
        if c_s > 0.3 and c_s > 2 * max(c_w, 0.05):
            s = periods[0]
            base = _Structure(stride=s, plane_rows=src.plane_rows, uv_shift=src.uv_shift, uv_stride=src.uv_stride)
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
    if base.stride != src.stride and not c_ok.all(axis=1).any():
        # A period that leaves no whole chroma row inside the buffer is a pattern in the pixels
        # (tiny or repetitive frames), not row padding: keep the stride the size implies.
        findings.pop()  # the stride finding appended just above
        base = _Structure(stride=src.stride, plane_rows=src.plane_rows, uv_shift=src.uv_shift, uv_stride=src.uv_stride)
        y, uv, _, c_ok = _read_planes(stream, base, h, w)
    if not c_ok.all() and c_ok.all(axis=1).any():  # with no whole chroma row left, keep what there is
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
                    f"encode full range (convention={conv.name!r}) or set the node to a limited-range mode",
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
