"""Structure search: which reading of the bytes (stride, plane offsets, planar chroma, int8 offset, geometry).

Each candidate reading is scored by how well its samples are explained by
any affine function of the reference's R, G and B, which does not depend on
the colour convention.  Candidates come from the data: strides from the
period at which the bytes repeat and from usual alignments, plane offsets
from where the reference's rows match the bytes (normalised
cross-correlation).  :func:`_pick_reading` chooses among the readings that
explain a raw buffer's size.
"""

from __future__ import annotations

import math
from itertools import product
from typing import Any

import numpy as np

from .fitting import _CHROMA_METHODS, _free_ms, _penalised, _Reference, _row_grams, _sample_rows, _with_ones
from .reading import _GEOMS, _read_uv, _read_y, _Structure, _structure_findings
from .sources import _ALIGNMENTS, _Source

_CLEAN_ENERGY = 2.0  # levels squared: a reading this good leaves nothing for a structural bug to explain
# Levels squared of chroma left after the usual plane starts: past this, real allocators' layouts are tried.
_UNEXPLAINED_CHROMA = 4.0
_PLANE_ROW_ALIGNMENTS = (2, 16, 32, 64)  # rows real allocators pad plane heights to
_PLANE_GAPS = (0, 64, 4096)  # bytes real allocators leave between planes (FFmpeg: 64), before page alignment
_PAGE = 4096


# Samples scored per candidate reading: enough to rank readings, few enough to try many.
_SEARCH_Y_SAMPLES = 60_000
_SEARCH_C_SAMPLES = 30_000


class _Search:
    """Scores candidate readings of the stream by free-fit residuals against the reference."""

    def __init__(self, stream: np.ndarray, ref: _Reference, base: _Structure) -> None:
        self.stream = stream
        self.flipped = stream ^ np.uint8(0x80)
        self.ref = ref
        self.base = base
        h, w = ref.h, ref.w
        self.rows = _sample_rows(h, w, _SEARCH_Y_SAMPLES)
        self.y_design = _with_ones(ref.rgb[self.rows])
        self.y_grams = _row_grams(self.y_design)
        self.crows = _sample_rows(h // 2, w // 2, _SEARCH_C_SAMPLES)
        # One design per chroma down-sampling method: the encoder's own method explains its chroma
        # best, and with the wrong one fine chroma detail would look like a misreading.
        self.c_designs = [_with_ones(ref.chroma(m)[self.crows]) for m in _CHROMA_METHODS]
        self.c_grams = [_row_grams(d) for d in self.c_designs]
        self._y: dict[_Structure, float] = {}
        self._c: dict[_Structure, float] = {}
        self._c_quick: dict[_Structure, float] = {}
        self._segments: dict[tuple[int, int, bool], tuple[np.ndarray, int, np.ndarray, np.ndarray]] = {}
        self._luma: np.ndarray | None = None

    def y_energy(self, st: _Structure) -> float:
        key = _Structure(**{**st.__dict__, "uv_shift": 0, "planar": False, "uv_xor": False})
        if key not in self._y:
            y, ok = _read_y(self.stream, st, self.ref.h, self.ref.w, self.rows)
            ms, coverage = _free_ms(self.y_design, [y], [ok], self.y_grams)
            self._y[key] = ms if coverage >= 0.3 else math.inf
        return self._y[key]

    def c_energy(self, st: _Structure) -> float:
        if st not in self._c:
            u, v, ok_u, ok_v = _read_uv(self.stream, st, self.ref.h, self.ref.w, self.crows)
            best = math.inf
            for design, grams in zip(self.c_designs, self.c_grams):
                ms, coverage = _free_ms(design, [u, v], [ok_u, ok_v], grams)
                if coverage >= 0.3:
                    best = min(best, ms)
            self._c[st] = best
        return self._c[st]

    def c_energy_quick(self, st: _Structure) -> float:
        """Chroma residual on a few rows with one down-sampling method: enough to rank plane starts."""
        if st not in self._c_quick:
            rows = self.crows[:: max(1, self.crows.size // 16)]
            u, v, ok_u, ok_v = _read_uv(self.stream, st, self.ref.h, self.ref.w, rows)
            design = self.c_designs[_CHROMA_METHODS.index("box")][np.searchsorted(self.crows, rows)]
            ms, coverage = _free_ms(design, [u, v], [ok_u, ok_v])
            self._c_quick[st] = ms if coverage >= 0.3 else math.inf
        return self._c_quick[st]

    def chroma_offsets(self, uv_stride: int, lo: int, hi: int, xor: bool, count: int = 2, rows: int = 4) -> list[int]:
        """Where interleaved chroma rows of the reference best match the stream in [lo, hi) (masked NCC).

        The reference's colour differences (B - Y, R - Y) stand in for U and V: every matrix makes
        U and V nearly proportional to them, and the correlation ignores scale and sign.
        """
        w = self.ref.w - self.ref.w % 2
        box = self.ref.chroma("box")
        luma = box @ np.array([0.299, 0.587, 0.114])
        proxy = np.empty((box.shape[0], w), np.float64)
        proxy[:, 0::2] = 0.564 * (box[..., 2] - luma)
        proxy[:, 1::2] = 0.713 * (box[..., 0] - luma)
        rows = min(rows, proxy.shape[0])
        # The window of rows with the most horizontal detail among the first ones: it matches in one place.
        detail = np.abs(np.diff(proxy[: min(proxy.shape[0], 8 + rows)], axis=1)).mean(axis=1)
        window = np.convolve(detail, np.ones(rows), mode="valid")
        first = int(np.argmax(window)) if window.size else 0
        diffs = np.diff(proxy[first : first + rows], axis=1)
        length = (rows - 1) * uv_stride + w - 1
        template = np.zeros(length)
        mask = np.zeros(length)
        for r in range(diffs.shape[0]):
            template[r * uv_stride : r * uv_stride + w - 1] = diffs[r]
            mask[r * uv_stride : r * uv_stride + w - 1] = 1.0
        if not mask.any():
            return []
        template[mask > 0] -= template[mask > 0].mean()
        if not np.any(template):
            return []
        # One segment for every stride (the first row is among the first 8, rows are < 2 * w apart), so
        # its transforms are computed once.
        lo = max(lo, 0)
        key = (lo, hi, xor)
        if key not in self._segments:
            data = self.flipped if xor else self.stream
            seg = np.diff(data[lo : hi + 23 * w + 2].astype(np.float64))
            n = 1 << int(math.ceil(math.log2(max(seg.size + 7 * w, 2))))
            self._segments[key] = (seg, n, np.fft.rfft(seg, n), np.fft.rfft(seg * seg, n))
        seg, n, fs, fs2 = self._segments[key]
        if seg.size < length + 1 or length > 7 * w:
            return []
        ncc = _masked_ncc(seg, template, mask, spectra=(n, fs, fs2))
        best: list[int] = []
        for i in np.argsort(ncc)[::-1][:16]:
            pos = int(i) + lo - first * uv_stride
            if all(abs(pos - b) > 2 for b in best):
                best.append(pos)
            if len(best) >= count:
                break
        return best

    def offsets(self, stride: int, xor: bool, geom: str = "", count: int = 2) -> list[int]:
        """Where the first rows of the reference best match the stream at this stride (masked NCC)."""
        ref, w, h = self.ref, self.ref.w, self.ref.h
        if self._luma is None:
            self._luma = ref.rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
        image = _GEOMS[geom](self._luma)
        rows = min(6, h)
        # A window of rows unlike the windows up to 8 rows away matches in one place only
        # (bands of identical rows, or stripes, match at many).
        top = max(min(h - rows - 8, 64), 1)
        span = min(h, top + rows + 8)
        uniq = np.full(top, np.inf)
        for k in range(1, min(9, span)):
            d_k = np.abs(image[: span - k] - image[k:span]).mean(axis=1)
            win = np.convolve(d_k, np.ones(rows), mode="valid")  # win[r]: window r against window r + k
            below = np.full(top, 0.0)
            above = np.full(top, np.inf)
            below[: min(top, win.size)] = win[:top]
            above[k:] = win[: top - k] if top > k else above[k:]
            uniq = np.minimum(uniq, np.minimum(below, above))
        first = int(np.argmax(uniq))
        # Horizontal differences: smooth gradients match anywhere, edges and texture in one place.
        luma = np.diff(image[first : first + rows], axis=1)
        length = (rows - 1) * stride + w - 1
        template = np.zeros(length)
        mask = np.zeros(length)
        for r in range(rows):
            template[r * stride : r * stride + w - 1] = luma[r]
            mask[r * stride : r * stride + w - 1] = 1.0
        template[mask > 0] -= template[mask > 0].mean()
        if not np.any(template):
            return []
        # Offsets of pixel (0, 0) from 8 rows lost at the start to a header of two rows and 4 KiB.
        lo = -min(first, 8) * stride
        hi = 2 * stride + 4096
        seg_start = first * stride + lo
        data = self.flipped if xor else self.stream
        seg = np.diff(data[seg_start : seg_start + (hi - lo) + length + 1].astype(np.float64))
        if seg.size < length + 1:
            return []
        ncc = _masked_ncc(seg, template, mask)
        best: list[int] = []
        top_idx = np.argpartition(ncc, -min(8, ncc.size))[-min(8, ncc.size):]
        for i in top_idx[np.argsort(ncc[top_idx])[::-1]]:
            pos = int(i) + seg_start - first * stride  # stream position of pixel (0, 0)
            if all(abs(pos - b) > 2 for b in best):
                best.append(pos)
            if len(best) >= count:
                break
        return best


def _masked_ncc(
    seg: np.ndarray,
    template: np.ndarray,
    mask: np.ndarray,
    spectra: tuple[int, np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """|Normalised cross-correlation| of ``template`` (where ``mask``) at every position of ``seg``.

    ``spectra`` (size, transforms of ``seg`` and ``seg ** 2``) saves recomputing them for another template.
    """
    length = template.size
    if spectra is None:
        n = 1 << int(math.ceil(math.log2(seg.size + length)))
        fs = np.fft.rfft(seg, n)
        fs2 = np.fft.rfft(seg * seg, n)
    else:
        n, fs, fs2 = spectra
    ft = np.conj(np.fft.rfft(template, n))
    fm = np.conj(np.fft.rfft(mask, n))
    count_valid = seg.size - length + 1
    num = np.fft.irfft(fs * ft, n)[:count_valid]
    s1 = np.fft.irfft(fs * fm, n)[:count_valid]
    s2 = np.fft.irfft(fs2 * fm, n)[:count_valid]
    m = mask.sum()
    var = np.maximum(s2 - s1 * s1 / m, 1e-9)
    # |NCC|: a swapped R/B or a wrong matrix can turn the correlation negative.
    return np.abs(num / np.sqrt(var * (template**2).sum()))


def _row_period_candidates(stream: np.ndarray, start: int, w: int, limit: int, count: int = 3) -> list[int]:
    """Lags in (w, limit] where the stream best repeats itself: candidate row strides."""
    seg = stream[max(start, 0) : max(start, 0) + min(24 * limit, stream.size)].astype(np.float64)
    if seg.size < 3 * limit:
        return []
    d = np.diff(seg)
    d -= d.mean()
    n = d.size
    spec = np.fft.rfft(d, 2 * n)
    ac = np.fft.irfft(spec * np.conj(spec))[: limit + 1]
    if ac[0] <= 0:
        return []
    ac = ac / ac[0] * n / (n - np.arange(limit + 1))
    lags = np.arange(w + 1, limit + 1)
    if lags.size == 0:
        return []
    vals = ac[lags]
    order = np.argsort(vals)[::-1]
    picked: list[int] = []
    for i in order:
        lag = int(lags[i])
        if vals[i] < 0.2:
            break
        if all(abs(lag - p) > 2 for p in picked):
            picked.append(lag)
        if len(picked) >= count:
            break
    return picked


def _search_structure(search: _Search, base: _Structure, *, fine: bool) -> _Structure:
    """The best reading of the Y plane, then of the chroma plane."""
    h, w = search.ref.h, search.ref.w

    def variant(st: _Structure, **changes: Any) -> _Structure:
        return _Structure(**{**st.__dict__, **changes})

    def n_issues(st: _Structure) -> int:
        return len({f[0] for f in _structure_findings(st, base, w, h)})

    y_cost: dict[_Structure, float] = {}

    def try_y(st: _Structure) -> None:
        if st not in y_cost:
            y_cost[st] = _penalised(search.y_energy(st), n_issues(st))

    # --- Y: int8 offset, geometry, stride and where the plane starts --------------------------
    # A reading that leaves only rounding noise cannot be beaten by one that names a bug
    # (that must halve the residual), so the search stops there.
    clean = search.y_energy(base) <= _CLEAN_ENERGY
    geoms = [""]
    if fine and not clean:
        geoms += ["flipud", "fliplr", "rot180"] + (["transpose"] if h == w else [])
    for xor, geom in product((False, True) if not clean else (False,), geoms):
        try_y(variant(base, y_xor=xor, geom=geom))
    if fine and not clean:
        strides = {base.stride}
        strides.update(_row_period_candidates(search.stream, base.y_offset, w, 2 * w))
        strides.update(s for s in (-(-w // a) * a for a in _ALIGNMENTS) if w < s <= 2 * w)
        for s, xor, geom in product(sorted(strides), (False, True), geoms):
            try_y(variant(base, stride=s, y_xor=xor, geom=geom))
            if geom in ("", "flipud"):  # headers in front of bottom-up buffers (BMP/DIB) are real
                for off in search.offsets(s, xor, geom):
                    try_y(variant(base, stride=s, y_xor=xor, geom=geom, y_offset=off))
            # The planes in the wrong order: chroma first, then Y.
            try_y(variant(base, stride=s, y_xor=xor, y_offset=base.y_offset + s * base.plane_rows // 2))
        best = min(y_cost, key=y_cost.__getitem__)
        s = best.stride
        for off in (1, -1, 2, -2, s, -s, 2 * s, -2 * s):
            try_y(variant(best, y_offset=best.y_offset + off))
    best = min(y_cost, key=y_cost.__getitem__)
    y_energy = search.y_energy(best)

    # --- chroma: interleaved or planar, int8 offset, where the plane starts -------------------
    c_cost: dict[_Structure, float] = {}

    def try_c(st: _Structure) -> None:
        if st not in c_cost:
            c_cost[st] = _penalised(search.c_energy(st) + y_energy, n_issues(st))

    clean = search.c_energy(best) <= _CLEAN_ENERGY
    for planar, uv_xor in product((False, True), (False, True)) if not clean else ((False, False),):
        try_c(variant(best, planar=planar, uv_xor=uv_xor))
    chosen = min(c_cost, key=c_cost.__getitem__)
    if fine and not clean:
        for rows in {h + 8, h + 16, *(-(-h // a) * a for a in (16, 32, 64))}:
            if rows > h:
                for planar, uv_xor in product((False, True), (False, True)):
                    try_c(variant(chosen, plane_rows=rows, planar=planar, uv_xor=uv_xor))
        chosen = min(c_cost, key=c_cost.__getitem__)
        if chosen.y_offset == base.y_offset + chosen.stride * chosen.plane_rows // 2:
            # Y after a chroma plane: the chroma is at the start.
            for planar, uv_xor in product((False, True), (False, True)):
                try_c(variant(chosen, planar=planar, uv_xor=uv_xor, uv_shift=base.y_offset - chosen.y_offset
                              - chosen.stride * chosen.plane_rows))
            chosen = min(c_cost, key=c_cost.__getitem__)
        if search.c_energy(chosen) > _UNEXPLAINED_CHROMA:
            for st in _allocator_candidates(search, chosen, h, w):
                try_c(st)
            chosen = min(c_cost, key=c_cost.__getitem__)
        cs = chosen.chroma_stride()
        for sh in (1, -1, 2, -2, cs, -cs, 2 * cs, -2 * cs, 4 * cs, -4 * cs, 8 * cs, -8 * cs):
            try_c(variant(chosen, uv_shift=chosen.uv_shift + sh))
        chosen = min(c_cost, key=c_cost.__getitem__)
    if math.isinf(c_cost[chosen]):
        return best  # the chroma lies beyond the data under this reading: decide on Y alone
    return chosen


def _allocator_candidates(search: _Search, chosen: _Structure, h: int, w: int) -> list[_Structure]:
    """Chroma readings real allocators produce, the likeliest first: planes padded in height, gaps, own strides.

    Plane starts come from allocator arithmetic (``stride * align(H, a) + gap``, page-aligned starts) and
    from where the reference's chroma best matches the bytes; chroma strides from the period at which
    the bytes after the luma repeat, the luma stride and usual alignments.  Each start and stride is
    ranked on a few rows; only the best few are scored in full, with planar chroma and an int8 offset.
    """
    y_end = chosen.y_offset + chosen.stride * h
    row_bytes = w // 2 if chosen.planar else w
    own = chosen.chroma_stride()
    lo, hi = y_end - 2 * chosen.stride, y_end + 64 * chosen.stride + 2 * _PAGE
    starts = [y_end + 2 * chosen.stride]
    if not chosen.planar:
        # Where one row of chroma matches (whatever the stride): the period of the rows is measured there.
        starts = search.chroma_offsets(row_bytes, lo, hi, chosen.uv_xor, count=1, rows=1) or starts
    measured: set[int] = set()
    for pos in starts:
        for period in _row_period_candidates(search.stream, pos, row_bytes, 2 * row_bytes, count=1):
            # U and V alternate, so the rows also repeat, nearly as well, 2 bytes off the stride.
            measured.update(p for p in (period - 2, period, period + 2) if p >= row_bytes)
    aligned = {s for s in (-(-row_bytes // a) * a for a in (16, 32, 64, 128, 256)) if s < 2 * row_bytes}
    # Each chroma start once, in allocator terms when allocator arithmetic gives it (plane rows, gap).
    starts_at: dict[int, tuple[int, int]] = {}
    for a in _PLANE_ROW_ALIGNMENTS:
        rows = -(-h // a) * a
        plain = chosen.stride * rows
        for gap in (*_PLANE_GAPS, -(-plain // _PAGE) * _PAGE - plain):
            starts_at.setdefault(chosen.y_offset + plain + gap, (rows, gap))
    pairs: set[tuple[int, int, int]] = {(*rg, own) for rg in starts_at.values()}  # (plane rows, gap, stride)
    # Where the reference's chroma matches the bytes, at each measured stride (and the luma's).
    for cs in sorted(measured | {own}):
        for pos in search.chroma_offsets(cs, lo, hi, chosen.uv_xor):
            rows, gap = starts_at.setdefault(pos, (h, pos - chosen.y_offset - chosen.stride * h))
            pairs.add((rows, gap, cs))

    def reading(rows: int, gap: int, cs: int) -> _Structure:
        uv_stride = 0 if cs == own and not chosen.uv_stride else cs
        return _Structure(**{**chosen.__dict__, "plane_rows": rows, "uv_shift": gap, "uv_stride": uv_stride})

    def quick(rows: int, gap: int, cs: int) -> float:
        start = chosen.y_offset + chosen.stride * rows + gap
        if start < 0 or start + row_bytes > search.stream.size:
            return math.inf
        return search.c_energy_quick(reading(rows, gap, cs))

    ranked = sorted(pairs, key=lambda p: quick(*p))
    # The best starts at every other stride: a start found at one stride may hold rows of another.
    for rows, gap, _ in ranked[:2]:
        pairs.update((rows, gap, cs) for cs in measured | aligned)
    ranked = sorted(pairs, key=lambda p: quick(*p))
    out = [reading(*ranked[1])] if len(ranked) > 1 else []
    for rows, gap, cs in ranked[:1]:
        st = reading(rows, gap, cs)
        for planar, uv_xor in product((False, True), (False, True)):
            # A chroma stride measured on interleaved rows does not hold for planar ones, nor the reverse.
            uv_stride = st.uv_stride if planar == chosen.planar else 0
            out.append(_Structure(**{**st.__dict__, "planar": planar, "uv_xor": uv_xor, "uv_stride": uv_stride}))
    return out


def _row_corr(stream: np.ndarray, lag: int, length: int) -> float:
    """Correlation of the stream's first differences with themselves ``lag`` bytes later."""
    seg = stream[: min(stream.size, length + lag + 1)].astype(np.float64)
    if seg.size <= lag + 2:
        return 0.0
    d = np.diff(seg)
    d -= d.mean()
    a, b = d[:-lag], d[lag:]
    den = math.sqrt(float((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else 0.0


def _pick_reading(src: _Source, rgb: np.ndarray | None) -> _Source:
    """Among readings that all explain a raw buffer's size, the one the content supports."""
    if not src.alternatives:
        return src
    readings = [src, *src.alternatives]
    if rgb is not None and rgb.shape[:2] == (src.height, src.width):
        ref = _Reference(rgb)

        def energy(r: _Source) -> float:
            base = _Structure(stride=r.stride, plane_rows=r.plane_rows, uv_shift=r.uv_shift, uv_stride=r.uv_stride)
            search = _Search(r.stream, ref, base)
            return min(
                search.y_energy(_Structure(**{**base.__dict__, "y_xor": xor, "geom": geom}))
                for xor, geom in product((False, True), ("", "flipud", "fliplr", "rot180"))
            )

        return min(readings, key=energy)
    return max(readings, key=lambda r: _row_corr(r.stream, r.stride, 16 * r.stride))
