"""Time nv12kit's RGB <-> NV12 conversion per convention, against horizon, OpenCV and the forum recipe.

What is measured
----------------
For each frame size (``--sizes``, given as HxW) a bundled photo is resized
with :func:`nv12kit.resize_to` and converted by:

* **ours**: ``nv12kit.rgb_to_nv12(rgb, convention=C)`` (encode) and
  ``nv12kit.nv12_to_rgb(frame, convention=C)`` (decode), for every preset
  in ``nv12kit.CONVENTIONS`` (listed from the package, so a new preset is
  timed without editing this script).
* **OpenCV** (the reference): encode is ``cv2.cvtColor(rgb,
  COLOR_RGB2YUV_I420)`` followed by a numpy interleave of U and V into an
  (H/2, W/2, 2) array, since OpenCV has no direct RGB -> NV12; decode is
  ``cv2.cvtColor(nv12.reshape(H*3//2, W), COLOR_YUV2RGB_NV12)``.
* **the forum recipe** (encode only), as it is usually posted: Pillow
  ``convert('YCbCr')``, ``split``, U and V ``resize``-d to half size, a
  Python loop interleaving them sample by sample, then Y and UV
  concatenated.  Like ours it starts from the same RGB array.  A variant
  that loops over columns instead is timed too and printed for information.

All candidates are timed with :func:`time.perf_counter` in one process:
each one gets a warm-up call, then ``--repeat`` timed calls back to back
(input warm in cache, as in the CONVENTIONS.md measurements), and the median
is reported.  Timing everything in round-robin instead (cold cache) roughly
doubles OpenCV's times and flatters our ratios, so it is not done here.
The per-convention table is timed again in pairs: each convention's calls
alternate with horizon's (warm-up first), and its ratio is the median of
the per-pair ratios, so load from other processes that drifts during the run
affects both sides of each ratio alike; its ms columns come from those
paired calls.

Before timing, the script checks that our ``opencv`` encode and decode are
byte-identical to OpenCV on the benchmark image, so those rows compare equal
work; it stops with exit status 1 if they are not.

Threads
-------
``--threads N`` gives both libraries N threads (``cv2.setNumThreads`` and
``nv12kit.set_num_threads``).  The default, 1, compares one core against one
core, as in CONVENTIONS.md.  ``--threads 0`` leaves both at their defaults
(all cores); those rows are marked ``*``.  numpy's BLAS is always pinned to one thread (the
environment variables below are set before numpy is imported).

How to read the tables
----------------------
Two tables per size, both from the same timings.

**Per convention vs horizon** (issue 18): each preset's encode and decode
median divided by ``horizon``'s for the same operation.  The target is
<= 2.0x for both; ``pil`` runs Pillow's own code and is marked ``info``.
This replaces the former <= 3.0x-of-OpenCV target: the kernels stay pure
numpy, so OpenCV's C code is no longer the yardstick.

**vs OpenCV and the forum recipe**: ``ours/OpenCV`` is our median divided
by OpenCV's for the same operation, shown for information only (no longer
a target).  ``vs forum`` is the forum recipe's median divided by ours
(encode only): higher is better; the target is >= 40x for the ``horizon``
and ``opencv`` encodes.

``PASS`` means every target of that row is met, ``MISS`` that at least one
is not, ``info`` that the row has no target.  Ratios come from the same
run; absolute times depend on the machine and are never asserted.  The
script reports and does not gate: it exits 0 whether or not targets are
met.

A ``note: minor page faults per call`` line names our rows that get fresh
memory from the kernel on every call (over 1 MiB of new pages); at small
sizes that, not arithmetic, can dominate their time.

Usage::

    python benchmarks/bench_convert.py
    python benchmarks/bench_convert.py --sizes 1080x1920 --repeat 31 --json bench.json
"""

from __future__ import annotations

import os

# Pin BLAS/OpenMP pools before numpy is imported; they read these only once.
_BLAS_THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
for _var in _BLAS_THREAD_VARS:
    os.environ[_var] = "1"

import argparse  # noqa: E402
import ctypes  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import PIL  # noqa: E402
from PIL import Image  # noqa: E402

import nv12kit  # noqa: E402
from nv12kit._io import atomic_write  # noqa: E402
from nv12kit.data import PHOTOS, photo_paths  # noqa: E402

try:
    import resource
except ImportError:  # not on Windows; page faults are then not reported
    resource = None  # type: ignore[assignment]

__all__ = ["main"]

# The yardstick of the per-convention table, and the presets it does not judge (Pillow's own code).
BASELINE = "horizon"
UNTARGETED = ("pil",)
MAX_RATIO_VS_HORIZON = 2.0
# Encodes that carry the forum-recipe target.
FORUM_TARGETED = ("horizon", "opencv")
MIN_SPEEDUP_VS_FORUM = 40.0
WARMUP_CALLS = 1
# Above this many minor page faults per call (4 KiB pages, so 1 MiB), a note
# under the table says the row pays for fresh memory on every call.
FAULTS_NOTE_THRESHOLD = 256
TARGET_LABELS = {"speedup_vs_forum": "vs forum", "encode_vs_horizon": "encode vs horizon",
                 "decode_vs_horizon": "decode vs horizon"}


# ----------------------------------------------------------------------------
# the three implementations being compared
# ----------------------------------------------------------------------------
def opencv_encode(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OpenCV RGB -> I420, then U and V interleaved into (H/2, W/2, 2)."""
    h, w = rgb.shape[:2]
    i420 = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)
    chroma = i420[h:].reshape(2, h // 2, w // 2)  # the U plane, then the V plane
    uv = np.empty((h // 2, w // 2, 2), np.uint8)
    uv[..., 0] = chroma[0]
    uv[..., 1] = chroma[1]
    return i420[:h], uv


def opencv_decode(nv12: np.ndarray, height: int, width: int) -> np.ndarray:
    """OpenCV NV12 -> RGB from a flat NV12 buffer."""
    return cv2.cvtColor(nv12.reshape(height * 3 // 2, width), cv2.COLOR_YUV2RGB_NV12)


def forum_encode(rgb: np.ndarray) -> np.ndarray:
    """The forum recipe as it is usually posted; returns flat NV12 bytes.

    Pillow converts and shrinks the chroma; a Python loop then interleaves U
    and V one sample at a time.  That loop is what makes the recipe slow
    (about 120-140 ms at 1080p, as in CONVENTIONS.md's measurement).
    """
    img = Image.fromarray(rgb)
    w, h = img.size
    y, u, v = img.convert("YCbCr").split()
    u = np.array(u.resize((w // 2, h // 2))).flatten()
    v = np.array(v.resize((w // 2, h // 2))).flatten()
    uv = []
    for i in range(len(u)):
        uv.append(u[i])
        uv.append(v[i])
    return np.concatenate((np.array(y).reshape(-1), np.array(uv, dtype=np.uint8)))


def forum_encode_columns(rgb: np.ndarray) -> np.ndarray:
    """A faster variant of the recipe that interleaves column by column (reported for information)."""
    img = Image.fromarray(rgb)
    w, h = img.size
    y, u, v = img.convert("YCbCr").split()
    u = np.array(u.resize((w // 2, h // 2)))
    v = np.array(v.resize((w // 2, h // 2)))
    uv = np.zeros((h // 2, w), dtype=np.uint8)
    for i in range(w // 2):
        uv[:, 2 * i] = u[:, i]
        uv[:, 2 * i + 1] = v[:, i]
    return np.concatenate((y, uv), axis=0).reshape(-1)


def frame_to_buffer(frame: nv12kit.NV12Frame) -> np.ndarray:
    """Flat NV12 bytes (Y then UV) of a frame, as a uint8 array."""
    return np.concatenate((frame.y.reshape(-1), frame.uv.reshape(-1)))


# ----------------------------------------------------------------------------
# measuring
# ----------------------------------------------------------------------------
def _minor_faults() -> int | None:
    """Minor page faults of this process so far (None where unsupported)."""
    if resource is None:
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def time_each(candidates: dict[str, Callable[[], object]], repeat: int) -> dict[str, tuple[float, float | None]]:
    """Per candidate: (median ms, minor page faults per call) over `repeat` calls.

    Each candidate gets a warm-up call, then its timed calls back to back, so
    its input stays warm in cache, as in the CONVENTIONS.md measurements.
    Page faults show time spent getting fresh memory for temporaries, which
    glibc may hand back to the kernel after every call.
    """
    results = {}
    gc.collect()
    gc_was_enabled = gc.isenabled()
    gc.disable()  # a collection landing inside one sample would skew it
    try:
        for name, fn in candidates.items():
            for _ in range(WARMUP_CALLS):
                fn()
            faults_before = _minor_faults()
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                fn()
                times.append(time.perf_counter() - start)
            faults_after = _minor_faults()
            faults = None if faults_before is None else (faults_after - faults_before) / repeat
            results[name] = (statistics.median(times) * 1e3, faults)
    finally:
        if gc_was_enabled:
            gc.enable()
    return results


def check_equal_work(rgb: np.ndarray) -> dict[str, bool]:
    """Check our "opencv" convention against OpenCV itself on `rgb`.

    Raises AssertionError (even under ``python -O``) if encode or decode
    differ, because then the OpenCV rows would not compare equal work.  The
    forum recipe against our "pil" convention is only reported.
    """
    h, w = rgb.shape[:2]
    ours = nv12kit.rgb_to_nv12(rgb, convention="opencv")
    ref_y, ref_uv = opencv_encode(rgb)
    if not (np.array_equal(ours.y, ref_y) and np.array_equal(ours.uv, ref_uv)):
        bad = int(np.count_nonzero(ours.y != ref_y) + np.count_nonzero(ours.uv != ref_uv))
        raise AssertionError(
            f"nv12kit 'opencv' encode differs from cv2 I420+interleave at {h}x{w} in {bad} bytes; "
            "the timings would not compare equal work. Fix nv12kit.convert before benchmarking."
        )
    ours_rgb = nv12kit.nv12_to_rgb(ours, convention="opencv")
    ref_rgb = opencv_decode(frame_to_buffer(ours), h, w)
    if not np.array_equal(ours_rgb, ref_rgb):
        bad = int(np.count_nonzero(ours_rgb != ref_rgb))
        raise AssertionError(
            f"nv12kit 'opencv' decode differs from cv2 COLOR_YUV2RGB_NV12 at {h}x{w} in {bad} values; "
            "the timings would not compare equal work. Fix nv12kit.convert before benchmarking."
        )
    pil_frame = nv12kit.rgb_to_nv12(rgb, convention="pil")
    forum_matches_pil = bool(
        np.array_equal(forum_encode(rgb), frame_to_buffer(pil_frame))
        and np.array_equal(forum_encode_columns(rgb), frame_to_buffer(pil_frame))
    )
    return {"opencv_encode_identical": True, "opencv_decode_identical": True, "forum_equals_pil": forum_matches_pil}


@dataclass
class Row:
    """One line of the table: an operation under one convention."""

    operation: str  # "encode" or "decode"
    convention: str
    ours_ms: float
    opencv_ms: float
    forum_ms: float | None  # encode only
    targeted: bool
    ours_faults_per_call: float | None = None

    @property
    def ratio(self) -> float:
        return self.ours_ms / self.opencv_ms

    @property
    def speedup(self) -> float | None:
        return None if self.forum_ms is None else self.forum_ms / self.ours_ms

    @property
    def checks(self) -> dict[str, bool]:
        """Target name -> met, for the targets this row carries (the OpenCV ratio is information)."""
        if not self.targeted or self.speedup is None:
            return {}
        return {"speedup_vs_forum": self.speedup >= MIN_SPEEDUP_VS_FORUM}

    @property
    def status(self) -> str:
        if not self.checks:
            return "info"
        return "PASS" if all(self.checks.values()) else "MISS"

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(ratio_vs_opencv=self.ratio, speedup_vs_forum=self.speedup, targets_met=self.checks,
                    status=self.status)
        return data


@dataclass
class HorizonRow:
    """One convention's encode and decode times, and their ratios over horizon's (issue 18).

    The ratios are medians of per-pair ratios from :func:`time_paired`, so a
    burst of load from other processes hits both sides of a pair alike.
    """

    convention: str
    encode_ms: float
    decode_ms: float
    encode_ratio: float
    decode_ratio: float

    @property
    def targeted(self) -> bool:
        return self.convention not in UNTARGETED

    @property
    def checks(self) -> dict[str, bool]:
        if not self.targeted:
            return {}
        return {"encode_vs_horizon": self.encode_ratio <= MAX_RATIO_VS_HORIZON,
                "decode_vs_horizon": self.decode_ratio <= MAX_RATIO_VS_HORIZON}

    @property
    def status(self) -> str:
        if not self.checks:
            return "info"
        return "PASS" if all(self.checks.values()) else "MISS"

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(targets_met=self.checks, status=self.status)
        return data


def time_paired(baseline: Callable[[], object], fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(median ms of `fn`, median of fn/baseline over adjacent pairs of calls).

    Calls alternate baseline, fn, baseline, fn... after a warm-up of each, so
    every ratio compares two calls made a few milliseconds apart: on a shared
    machine the load then drifts between pairs, not within one.
    """
    gc.collect()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        baseline()
        fn()
        times, ratios = [], []
        for _ in range(repeat):
            start = time.perf_counter()
            baseline()
            middle = time.perf_counter()
            fn()
            end = time.perf_counter()
            times.append(end - middle)
            ratios.append((end - middle) / (middle - start))
    finally:
        if gc_was_enabled:
            gc.enable()
    return statistics.median(times) * 1e3, statistics.median(ratios)


def bench_size(rgb: np.ndarray, repeat: int) -> tuple[list[Row], list[HorizonRow], dict[str, Any], dict[str, bool]]:
    """Time every candidate on `rgb`; return both tables' rows, reference times and checks."""
    h, w = rgb.shape[:2]
    checks = check_equal_work(rgb)
    conventions = nv12kit.convention_names()
    # Decoders get frames in their own convention, as they would in use.
    frames = {c: nv12kit.rgb_to_nv12(rgb, convention=c) for c in conventions}
    nv12_buffer = frame_to_buffer(frames["opencv"])

    candidates: dict[str, Callable[[], object]] = {
        "opencv encode": lambda: opencv_encode(rgb),
        "opencv decode": lambda: opencv_decode(nv12_buffer, h, w),
        "forum encode": lambda: forum_encode(rgb),
        "forum encode (column loop)": lambda: forum_encode_columns(rgb),
    }
    for c in conventions:
        candidates[f"ours encode {c}"] = lambda c=c: nv12kit.rgb_to_nv12(rgb, convention=c)
        candidates[f"ours decode {c}"] = lambda c=c: nv12kit.nv12_to_rgb(frames[c], convention=c)
    timed = time_each(candidates, repeat)
    ms = {name: median for name, (median, _) in timed.items()}

    rows = []
    for op in ("encode", "decode"):
        for c in conventions:
            rows.append(Row(
                operation=op,
                convention=c,
                ours_ms=ms[f"ours {op} {c}"],
                opencv_ms=ms[f"opencv {op}"],
                forum_ms=ms["forum encode"] if op == "encode" else None,
                targeted=c in FORUM_TARGETED,
                ours_faults_per_call=timed[f"ours {op} {c}"][1],
            ))
    # The per-convention table: each convention timed in alternation with horizon (see time_paired).
    per_convention = []
    for c in conventions:
        if c == BASELINE:
            enc, dec = (ms[f"ours {op} {c}"] for op in ("encode", "decode"))
            per_convention.append(HorizonRow(c, enc, dec, 1.0, 1.0))
            continue
        enc, enc_ratio = time_paired(candidates[f"ours encode {BASELINE}"], candidates[f"ours encode {c}"], repeat)
        dec, dec_ratio = time_paired(candidates[f"ours decode {BASELINE}"], candidates[f"ours decode {c}"], repeat)
        per_convention.append(HorizonRow(c, enc, dec, enc_ratio, dec_ratio))
    reference = {
        "opencv_encode_ms": ms["opencv encode"],
        "opencv_decode_ms": ms["opencv decode"],
        "forum_encode_ms": ms["forum encode"],
        "forum_encode_column_loop_ms": ms["forum encode (column loop)"],
        "faults_per_call": {name: faults for name, (_, faults) in timed.items() if not name.startswith("ours")},
    }
    return rows, per_convention, reference, checks


# ----------------------------------------------------------------------------
# reporting
# ----------------------------------------------------------------------------
def _blas_threads() -> int | None:
    """Threads of numpy's bundled OpenBLAS, or None if it cannot be asked."""
    libs = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    for lib in sorted(libs.glob("*openblas*")):
        try:
            handle = ctypes.CDLL(str(lib))
        except OSError:
            continue
        for symbol in ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
                       "openblas_get_num_threads64_", "openblas_get_num_threads"):
            fn = getattr(handle, symbol, None)
            if fn is not None:
                fn.restype = ctypes.c_int
                return int(fn())
    return None


def machine_info() -> dict[str, Any]:
    """Platform, CPU and library versions, for the header and the JSON."""
    cpu_model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu_model,
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable,
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "pillow": PIL.__version__,
        "nv12kit": nv12kit.__version__,
        "blas_threads": _blas_threads(),
    }


def _fmt(value: float | None, spec: str, suffix: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{suffix}"


def _render(header: list[str], body: list[list[str]]) -> str:
    """An aligned plain-text table: first column left, the others right."""
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def render(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [c.rjust(wd) for c, wd in zip(cells[1:], widths[1:])]
        return " | ".join([first, *rest])

    rule = "-+-".join("-" * wd for wd in widths)
    return "\n".join([render(header), rule, *(render(b) for b in body)])


def format_table(rows: list[Row], opencv_label: str, mark: str) -> str:
    """Render one size's rows against OpenCV (information) and the forum recipe as a table."""
    header = ["operation", "ours ms", f"OpenCV ms ({opencv_label})", "ours/OpenCV (info)", "forum ms", "vs forum",
              f"target (>= {MIN_SPEEDUP_VS_FORUM:.0f}x)", "result"]
    body = []
    for r in rows:
        if "speedup_vs_forum" in r.checks:
            forum_target = "met" if r.checks["speedup_vs_forum"] else "missed"
        else:
            forum_target = "-"
        body.append([
            f"{r.operation} {r.convention}",
            _fmt(r.ours_ms, ".2f"),
            _fmt(r.opencv_ms, ".2f"),
            _fmt(r.ratio, ".2f", "x"),
            _fmt(r.forum_ms, ".1f"),
            _fmt(r.speedup, ".1f", "x"),
            forum_target,
            r.status + (mark if r.checks else ""),
        ])
    return _render(header, body)


def format_horizon_table(rows: list[HorizonRow]) -> str:
    """Render the per-convention table: encode and decode ms and their ratios over horizon's."""
    limit = f"{MAX_RATIO_VS_HORIZON:.1f}x"
    header = ["convention", "encode ms", f"enc/{BASELINE} (<= {limit})", "decode ms",
              f"dec/{BASELINE} (<= {limit})", "result"]
    body = [[
        r.convention + ("" if r.targeted else " (Pillow's code)"),
        _fmt(r.encode_ms, ".2f"),
        _fmt(r.encode_ratio, ".2f", "x"),
        _fmt(r.decode_ms, ".2f"),
        _fmt(r.decode_ratio, ".2f", "x"),
        r.status,
    ] for r in rows]
    return _render(header, body)


# ----------------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------------
def parse_sizes(text: str) -> list[tuple[int, int]]:
    """'480x640,1080x1920' -> [(480, 640), (1080, 1920)] (height x width, even)."""
    sizes = []
    for item in text.split(","):
        parts = item.strip().lower().split("x")
        try:
            h, w = (int(p) for p in parts)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"size {item!r} is not HEIGHTxWIDTH; write e.g. 480x640,1080x1920"
            ) from None
        if h <= 0 or w <= 0 or h % 2 or w % 2:
            raise argparse.ArgumentTypeError(
                f"size {item!r} must be positive and even in both dimensions (NV12 needs even H and W)"
            )
        sizes.append((h, w))
    return sizes


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Time nv12kit RGB<->NV12 against OpenCV and the forum recipe (ratios from one run).")
    parser.add_argument("--sizes", type=parse_sizes, default=parse_sizes("480x640,1080x1920"),
                        help="comma-separated HEIGHTxWIDTH frame sizes (default: 480x640,1080x1920)")
    parser.add_argument("--repeat", type=_positive, default=15,
                        help="timed calls per candidate after one warm-up call; medians are reported (default: 15)")
    parser.add_argument("--threads", type=_non_negative, default=1,
                        help="threads for both OpenCV and nv12kit: 1 = one core each (default), "
                             "0 = each library's default (all cores)")
    parser.add_argument("--photo", choices=PHOTOS, default="coffee",
                        help="bundled photo to resize to each size (default: coffee, landscape)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON to PATH")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.json is not None and not args.json.resolve().parent.is_dir():
        parser.error(f"--json {args.json}: directory {args.json.resolve().parent} does not exist; create it first")
    if args.threads > 0:
        cv2.setNumThreads(args.threads)
        nv12kit.set_num_threads(args.threads)
    cv_threads = cv2.getNumThreads()
    our_threads = nv12kit.get_num_threads()
    opencv_label = f"{cv_threads} thr" if args.threads else f"default, {cv_threads} thr"
    # Rows where OpenCV may use more cores than we do are marked.
    mark = "" if cv_threads == 1 and our_threads == 1 else "*"

    info = machine_info()
    print(f"machine: {info['platform']}, python {info['python']}")
    print(f"cpu: {info['cpu']}; cpu_count {info['cpu_count']}, usable {info['usable_cpus']}")
    print(f"versions: numpy {info['numpy']}, opencv {info['opencv']}, pillow {info['pillow']}, "
          f"nv12kit {info['nv12kit']}")
    blas = "unknown" if info["blas_threads"] is None else info["blas_threads"]
    print(f"threads: OpenCV {cv_threads} ({'set by --threads' if args.threads else 'OpenCV default'}), "
          f"numpy BLAS {blas}, nv12kit {our_threads}")

    photo = {p.stem: p for p in photo_paths()}[args.photo]
    source = nv12kit.load_image(photo)
    print(f"content: {photo.name} ({source.shape[1]}x{source.shape[0]}) resized with nv12kit.resize_to; "
          f"median of {args.repeat} calls after {WARMUP_CALLS} warm-up, time.perf_counter")

    results = []
    all_rows: list[tuple[str, Row | HorizonRow]] = []
    for h, w in args.sizes:
        rgb = nv12kit.resize_to(source, h, w)
        try:
            rows, per_convention, reference, checks = bench_size(rgb, args.repeat)
        except AssertionError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        size = f"{h}x{w}"
        print(f"\n== {size} (H x W): every convention vs {BASELINE} (target <= {MAX_RATIO_VS_HORIZON:.1f}x) ==")
        print(format_horizon_table(per_convention))
        print(f"\n== {size} (H x W): vs OpenCV (information) and the forum recipe ==")
        print(format_table(rows, opencv_label, mark))
        heavy = [f"{r.operation} {r.convention} {r.ours_faults_per_call:.0f}" for r in rows
                 if r.ours_faults_per_call is not None and r.ours_faults_per_call > FAULTS_NOTE_THRESHOLD]
        if heavy:
            print("note: minor page faults per call (fresh memory for temporaries each call): " + ", ".join(heavy))
        print(f"forum recipe, column-loop variant: {reference['forum_encode_column_loop_ms']:.1f} ms (information)")
        if not checks["forum_equals_pil"]:
            print("note: the forum recipe's bytes differ from nv12kit's 'pil' convention on this image")
        all_rows.extend((size, r) for r in per_convention)
        all_rows.extend((size, r) for r in rows)
        results.append({"height": h, "width": w, "reference": reference, "checks": checks,
                        "vs_horizon": [r.as_json() for r in per_convention],
                        "rows": [r.as_json() for r in rows]})

    missed = []
    met_count = total = 0
    for size, r in all_rows:
        total += len(r.checks)
        met_count += sum(r.checks.values())
        failed = [TARGET_LABELS[name] for name, met in r.checks.items() if not met]
        if failed:
            what = r.convention if isinstance(r, HorizonRow) else f"{r.operation} {r.convention}"
            missed.append(f"{size} {what} ({', '.join(failed)})")
    summary = f"targets: {met_count}/{total} met, {total - met_count} missed"
    if missed:
        summary += ": " + "; ".join(missed)
    print("\n" + summary)
    if mark:
        print(f"* OpenCV ran with {cv_threads} threads and nv12kit with {our_threads}: not a one-core comparison")

    if args.json is not None:
        payload = {
            "machine": info,
            "settings": {"sizes": [list(s) for s in args.sizes], "repeat": args.repeat,
                         "warmup_calls": WARMUP_CALLS, "threads_arg": args.threads,
                         "opencv_threads": cv_threads, "photo": photo.name,
                         "baseline": BASELINE, "max_ratio_vs_horizon": MAX_RATIO_VS_HORIZON,
                         "min_speedup_vs_forum": MIN_SPEEDUP_VS_FORUM},
            "sizes": results,
            "summary": {"targets_met": met_count, "targets_total": total, "missed": missed},
        }
        path = atomic_write(args.json, (json.dumps(payload, indent=2) + "\n").encode())
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
