"""Diagnosis of a frame against the RGB image it came from: structure, then colour, then model choice.

The reference is first brought to the frame's geometry (odd sizes, a
resized, padded or transposed frame), the structure search picks the
reading, every colour combination is scored on it, and the hypotheses are
ranked by their penalised residual.  What the best one leaves unexplained
becomes ``unknown``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..conventions import Convention
from ..convert import nv12_to_rgb, rgb_to_nv12
from ..images import crop_to_even, pad_to_even, resize_to
from .colour import _colour_findings, _colour_fits, _ColourFit, _Combo, _matrix_separation
from .evidence import _channel_fits, _decode, _errors, _eval_rows, _flat_chroma
from .findings import Diagnosis, Finding, Hypothesis, _combine
from .fitting import _penalised, _Reference, _sample_rows
from .reading import _geometry, _read_planes, _Structure, _structure_findings
from .sources import _Source
from .structure import _Search, _search_structure

_METHOD_WORDS = {
    "topleft": "the top-left pixel of each 2x2 block",
    "bottomright": "the bottom-right pixel of each 2x2 block",
    "bottomleft": "the bottom-left pixel of each 2x2 block",
    "topright": "the top-right pixel of each 2x2 block",
    "box": "the average of each 2x2 block",
    "bicubic": "a bicubic shrink (Pillow's resize)",
    "bilinear": "a bilinear shrink (Pillow's resize)",
}


# What an honest frame leaves after the best explanation, in levels rms, with a margin.  Calibrated
# (benchmarks/bench_lint.py --calibrate) on 260 honest frames: 12 crops of the three bundled photos and
# the test chart, each encoded by nv12kit under all 15 conventions, by FFmpeg's libswscale (PyAV: BT.601
# and BT.709 limited, BT.601 full), OpenCV's RGB2YUV_I420 and Pillow's YCbCr with resized chroma.  The
# largest residuals were Y 0.36 and chroma 1.59 (swscale's chroma filter on the chart's hard colour
# edges); the median chroma residual was 0.29.
_RESIDUAL_Y = 1.5
_RESIDUAL_UV = 2.0


@dataclass
class _Candidate:
    structure: _Structure
    combo: _Combo
    fit: _ColourFit
    findings: list[Finding]
    penalised: float


def _align_reference(
    ref: np.ndarray, src: _Source
) -> tuple[np.ndarray, _Structure, list[Finding], list[str], bool]:
    """Bring the reference to the frame's geometry; return it, the base reading, findings, notes and fine-search."""
    hf, wf = src.height, src.width
    notes: list[str] = []
    hr, wr = ref.shape[:2]
    base = _Structure(stride=src.stride, plane_rows=src.plane_rows, uv_shift=src.uv_shift, uv_stride=src.uv_stride)
    if hr % 2 or wr % 2:
        cropped, padded = crop_to_even(ref), pad_to_even(ref)
        if cropped.shape[:2] == (hf, wf):
            notes.append(f"the reference is {hr}x{wr} (odd); the frame matches it cropped to even ({hf}x{wf})")
            return cropped, base, [], notes, True
        if padded.shape[:2] == (hf, wf):
            notes.append(f"the reference is {hr}x{wr} (odd); the frame matches it padded to even ({hf}x{wf})")
            return padded, base, [], notes, True
    if (hr, wr) == (hf, wf):
        return ref, base, [], notes, True
    # The frame was resized by some library; compare with the reference resized by the closest filter.
    resampled = [resize_to(ref, hf, wf, resample=m) for m in ("area", "bilinear", "bicubic", "nearest")]
    base_y = _Structure(stride=src.stride, plane_rows=src.plane_rows, uv_shift=src.uv_shift, uv_stride=src.uv_stride)
    resized = min(
        resampled,
        key=lambda img: min(
            _Search(src.stream, _Reference(img), base_y).y_energy(_Structure(**{**base_y.__dict__, "y_xor": x}))
            for x in (False, True)
        ),
    )
    resized_finding = (
        "resized",
        f"the frame is {hf}x{wf} (height x width) but the image is {hr}x{wr}",
        f"convert the image at the size the model takes (nv12kit.resize_to(img, {hf}, {wf}) first), or pass "
        "the image the frame was made from",
    )
    options: list[tuple[np.ndarray, _Structure, list[Finding]]] = [(resized, base, [resized_finding])]
    if hf >= hr and wf >= wr and hr % 2 == 0 and wr % 2 == 0:
        padded_findings = []
        if wf > wr:
            padded_findings.append(
                (
                    "stride",
                    f"the frame is {wf} pixels wide for a {wr}-wide image: its rows carry {wf - wr} bytes of padding",
                    f"crop the planes (y[:, :{wr}], uv[:, :{wr // 2}]) or read the buffer with stride={wf}",
                )
            )
        if hf > hr:
            padded_findings.append(
                (
                    "misaligned",
                    f"the planes have {hf} rows for a {hr}-row image: a reader that assumes {hr} rows starts the "
                    f"chroma {(hf - hr) * wf} bytes too early",
                    f"crop the planes to {hr} rows (y[:{hr}], uv[:{hr // 2}])",
                )
            )
        options.append((ref, base, padded_findings))
    if (hf, wf) == (wr, hr):
        options.append(
            (
                np.ascontiguousarray(ref.swapaxes(0, 1)),
                base,
                [("layout", "the frame is transposed (rows and columns exchanged)", "swap width and height back")],
            )
        )
    best = None
    for img, st, finds in options:
        r = _Reference(img)
        search = _Search(src.stream, r, st)
        e = _penalised(search.y_energy(st), len(finds))
        if best is None or e < best[0]:
            best = (e, img, st, finds)
    assert best is not None
    _, img, st, finds = best
    fine = not any(f[0] == "resized" for f in finds)
    return img, st, finds, notes, fine


def _one_sided_variants(
    st: _Structure, y: np.ndarray, uv: np.ndarray, y_ok: np.ndarray, c_ok: np.ndarray, expected: np.ndarray
) -> list[_Structure]:
    """``st`` with the int8 offset toggled on planes whose bytes all lie on one side of 128.

    On such a plane, flipping the top bit adds or removes a constant 128, which the free fit of the
    structure search cannot see; the colour fit, whose offsets are fixed, tells the two readings apart.
    Luma and chroma are toggled independently.
    """
    def one_sided(values: np.ndarray, means: tuple[float, ...]) -> bool:
        """All on one side of 128, and nearer an expected mean with the top bit flipped."""
        if values.size < 4:
            return False
        high = float((values >= 128).mean())
        if 0.005 < high < 0.995:
            return False
        as_is = float(values.mean())
        flipped = as_is + (-128 if high >= 0.995 else 128)
        return min(abs(flipped - m) for m in means) < min(abs(as_is - m) for m in means)

    out = []
    y_flip = one_sided(y[y_ok], (expected[0],))
    rows = c_ok.all(axis=1)
    chroma_means = (expected[1], expected[2])  # either order: U and V may be swapped as well
    uv_flip = bool(rows.any()) and one_sided(uv[rows][..., 0], chroma_means) and one_sided(uv[rows][..., 1],
                                                                                           chroma_means)
    for flip_y, flip_uv in ((True, False), (False, True), (True, True)):
        if (flip_y and not y_flip) or (flip_uv and not uv_flip):
            continue
        out.append(_Structure(**{**st.__dict__, "y_xor": st.y_xor ^ flip_y, "uv_xor": st.uv_xor ^ flip_uv}))
    return out


def _diagnose_with_reference(rgb: np.ndarray, src: _Source, conv: Convention) -> Diagnosis:
    ref_img, base, pre_findings, notes, fine = _align_reference(rgb, src)
    notes = src.notes + notes
    ref = _Reference(ref_img)
    h, w = ref.h, ref.w
    search = _Search(src.stream, ref, base)
    chosen = _search_structure(search, base, fine=fine)
    pre = src.findings + pre_findings

    structures = [chosen] if chosen == base else [chosen, base]
    enc_matrix, enc_offset = conv.encode_matrix()
    box = ref.chroma("box")[_sample_rows(h // 2, w // 2, 50_000)]
    ref_chroma_spread = float(min((box @ enc_matrix[c]).std() for c in (1, 2)))
    candidates: list[_Candidate] = []
    planes: dict[_Structure, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
    free_of: dict[_Structure, dict[str, float]] = {}
    for st in structures:
        y, uv, y_ok, c_ok = _read_planes(src.stream, st, h, w)
        planes[st] = (y, uv, y_ok, c_ok)
        if st == chosen:
            # The means the expected convention predicts (the other conventions differ far less than 128).
            expected = enc_matrix @ ref.rgb[::4, ::4].reshape(-1, 3).mean(axis=0) + enc_offset
            structures += [v for v in _one_sided_variants(st, y[::4], uv[::2], y_ok[::4], c_ok[::2], expected)
                           if v not in structures]
        use_chroma = c_ok.mean() >= 0.3
        struct_findings = _structure_findings(st, base, w, h)
        if not use_chroma and st == chosen:
            notes.append(
                "under the best reading the chroma plane lies (mostly) beyond the end of the data, so only Y was "
                "compared; U/V order cannot be checked"
            )
        flat = _flat_chroma(uv[c_ok.all(axis=1)]) if use_chroma else ""
        if flat and ref_chroma_spread > 4.0:
            # No chroma to compare: decide the colour from Y and say that the chroma is missing.
            use_chroma = False
            struct_findings = struct_findings + [
                ("layout", flat, "write the chroma plane: U then V for each 2x2 block (NV12), from the same image")
            ]
        fits, free = _colour_fits(ref, y, uv, y_ok, c_ok, conv, use_chroma=use_chroma)
        free_of[st] = free
        for fit in fits:
            findings = pre + struct_findings + _colour_findings(fit.combo, conv)
            k = len({f[0] for f in findings})
            candidates.append(_Candidate(st, fit.combo, fit, findings, _penalised(fit.energy, k)))
    candidates.sort(key=lambda c: c.penalised)

    # Distinct issue sets, best first.
    ranked: list[_Candidate] = []
    seen_sets: set[tuple[str, ...]] = set()
    for cand in candidates:
        ids = _combine(cand.findings)[0]
        if ids not in seen_sets:
            seen_sets.add(ids)
            ranked.append(cand)
    top = ranked[0]
    p_min = top.penalised
    temp = max(p_min, 0.25)
    weights = [math.exp(-(c.penalised - p_min) / temp) for c in ranked[:5]]
    total = sum(weights)

    # Global evidence: the honest round trip and the frame as given, decoded by the expected convention.
    # Large frames are decoded on an even spread of row pairs: the numbers are estimates to 0.1 dB.
    pairs = _eval_rows(h, w)
    rows_idx = np.sort(np.concatenate([2 * pairs, 2 * pairs + 1]))
    ref_s = ref_img[rows_idx]

    def sub(y: np.ndarray, uv: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return np.ascontiguousarray(y[rows_idx]), np.ascontiguousarray(uv[pairs]), ok[rows_idx]

    honest = rgb_to_nv12(ref_img, convention=conv)
    hy, huv, _ = sub(honest.y, honest.uv, np.ones(h, bool))
    h_psnr, h_mae = _errors(ref_s, nv12_to_rgb((hy, huv), convention=conv))
    y0, uv0, y0_ok, _ = planes[base] if base in planes else _read_planes(src.stream, base, h, w)
    y0s, uv0s, ok0s = sub(y0, uv0, y0_ok)
    as_is = _decode(y0s, uv0s, conv, False, False)
    a_psnr, a_mae = _errors(ref_s, as_is, ok0s)
    evidence: dict[str, Any] = {
        "honest_psnr_db": h_psnr,
        "honest_mae": h_mae,
        "as_is_psnr_db": a_psnr,
        "as_is_mae": a_mae,
        "as_is_mae_vs_honest": a_mae / h_mae if h_mae > 0 else math.inf,
        "width": w,
        "height": h,
    }
    evidence.update(_channel_fits(ref_s, as_is))
    separation = _matrix_separation(ref, conv)
    evidence["matrix_separation_levels"] = separation

    # What rounding and chroma down-sampling leave (see _RESIDUAL_Y / _RESIDUAL_UV); a resized frame can
    # only be compared approximately (resampling filters differ at edges).
    tol_y, tol_c = (15.0, 30.0) if not fine else (_RESIDUAL_Y, _RESIDUAL_UV)
    sample = _sample_rows(h // 2, w // 2, 50_000)
    disagreement = 0.0
    for m in ("topleft", "bicubic"):
        diff = (ref.chroma(m)[sample] - ref.chroma("box")[sample]) @ enc_matrix[1:].T
        disagreement = max(disagreement, float(np.sqrt((diff**2).mean())))
    evidence["chroma_method_spread_levels"] = disagreement
    evidence["residual_bound_y"], evidence["residual_bound_uv"] = tol_y, tol_c
    hypotheses = []
    for cand, weight in zip(ranked[:5], weights):
        y, uv, y_ok = sub(*planes[cand.structure][:3])
        ids, explanation, fix = _combine(cand.findings)
        ev: dict[str, Any] = {
            "y_rms": math.sqrt(cand.fit.ms_y),
            "uv_rms": math.sqrt(cand.fit.ms_c),
            "energy": cand.fit.energy,
            "penalised_energy": cand.penalised,
        }
        ev.update(free_of[cand.structure])
        conv_name = cand.combo.preset
        if ids == ("ok",):
            decoded = as_is if cand.structure == base else _decode(y, uv, conv, False, False)
            conv_name = conv.name
            explanation = (
                f"Consistent with {conv.name!r}: the bytes match the reference within rounding "
                f"(Y residual {ev['y_rms']:.2f} levels rms)."
            )
            fix = "Nothing to fix."
        else:
            decoded = _decode(y, uv, cand.combo.preset, cand.combo.bgr, cand.combo.swap)
        psnr, mae = _errors(ref_s, decoded, y_ok)
        ev["psnr_db"], ev["mae"] = psnr, mae
        ev["coverage"] = float(planes[cand.structure][2].mean())
        st = cand.structure
        if st != base or st.y_offset or st.uv_shift:
            ev.update(stride=st.stride, **_geometry(st, h))
        if any(i in ids for i in ("range_mismatch", "matrix_mismatch")):
            # What the bug does to the colours the chip sees: per-channel fits of the frame as decoded.
            ev.update({k: v for k, v in evidence.items() if k.startswith(("slope_", "offset_", "green_offset"))})
        # The numbers a report shows first come first.
        ev = {k: ev[k] for k in ("psnr_db", "mae", "y_rms", "uv_rms")} | {
            k: v for k, v in ev.items() if k not in ("psnr_db", "mae", "y_rms", "uv_rms")
        }
        hypotheses.append(
            Hypothesis(ids, explanation, fix, ev, weight / total, conv_name if ids != ("unknown",) else None)
        )

    # Whatever the best hypothesis leaves unexplained is "unknown".
    best = hypotheses[0]
    y_rms, uv_rms = best.evidence["y_rms"], best.evidence["uv_rms"]
    chroma_unchecked = best.is_ok and planes[top.structure][3].mean() < 0.3
    if y_rms > tol_y or uv_rms > tol_c or chroma_unchecked:
        known = tuple(i for i in best.issues if i != "ok")
        ids = known + ("unknown",)
        what = []
        if y_rms > tol_y:
            what.append(f"Y differs by {y_rms:.1f} levels rms")
        if uv_rms > tol_c:
            what.append(f"chroma by {uv_rms:.1f} levels rms (rounding and chroma down-sampling explain {tol_c:.1f})")
        if chroma_unchecked:
            what.append("the chroma plane lies beyond the end of the data")
        residual = (
            " and ".join(what)
            + f" (the best affine fit leaves Y {best.evidence['y_free_rms']:.1f} and chroma "
            + f"{best.evidence['uv_free_rms']:.1f} levels rms)"
        )
        if known:
            explanation = best.explanation + " Even so, " + residual + "."
        else:
            explanation = (
                "The bytes match the reference under no bug nv12kit knows: "
                + residual
                + "."
            )
        fix = (best.fix + " " if known else "") + (
            "Check the converter against nv12kit.rgb_to_nv12 on nv12kit.test_chart() plane by plane; "
            "make sure the frame comes from this image."
        )
        residual_ev = dict(best.evidence) | {"residual_y_rms": y_rms, "residual_uv_rms": uv_rms,
                                              "residual_bound_y": tol_y, "residual_bound_uv": tol_c}
        hypotheses[0] = Hypothesis(ids, explanation, fix, residual_ev, best.score, None)
    # Notes.
    top_h = hypotheses[0]
    method = top.fit.method
    expected_method = conv.chroma_down
    ms = top.fit.method_ms
    if method and method != expected_method and ms.get(method, 0) < 0.8 * ms.get(expected_method, math.inf):
        notes.append(
            f"chroma down-sampling differs: the frame's chroma is {_METHOD_WORDS[method]}, {conv.name!r} uses "
            f"{_METHOD_WORDS[expected_method]}; this is not a bug (each is a valid 4:2:0 encode), it only changes "
            "chroma at colour edges"
        )
    if separation < 0.5 and "matrix_mismatch" not in top_h.issues:
        notes.append(
            f"this image has little saturated colour: BT.601 and BT.709 predict Y only {separation:.2f} levels "
            "apart here, so the matrix cannot be told (nor would a mismatch do much harm on it); check with "
            "nv12kit.test_chart()"
        )
    if top_h.is_ok and h_mae > 0:
        notes.append(
            f"as decoded by {conv.name!r} the frame is {a_psnr:.1f} dB (MAE {a_mae:.2f}) against the honest round "
            f"trip's {h_psnr:.1f} dB (MAE {h_mae:.2f})"
        )
    subject = f"{src.what} ({w}x{h}) against a {rgb.shape[1]}x{rgb.shape[0]} RGB image"
    return Diagnosis(tuple(hypotheses), conv.name, tuple(dict.fromkeys(notes)), evidence, subject, True)
