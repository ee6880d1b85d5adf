"""Time nv12kit.lint.diagnose on a 1080p frame, next to one honest round trip.

What is measured
----------------
A bundled photo is resized to 1080 x 1920 (``--size``) and converted with
the ``horizon`` convention.  ``diagnose`` is then timed on:

* **ok**: the correct frame (the common case; the structure search stops
  early because nothing is left to explain);
* **range**: the frame encoded limited range (OpenCV's convention);
* **matrix**: encoded BT.709;
* **stride**: rows padded to a 2048-byte stride and read without it
  (the structure search runs in full);
* **header**: a 64-byte header in front and the planes in a bottom-up
  buffer (the slowest search: offsets are found by cross-correlation);
* **bytes only**: the correct frame without a reference image.

Side by side, the same process times one honest round trip
(``rgb_to_nv12`` + ``nv12_to_rgb`` with ``horizon``) and prints each
diagnosis as a multiple of it, and ``check_converter`` on the forum recipe
(the test chart and a photo, small images, including the recipe's own Python
loop).

Each candidate gets one warm-up call and ``--repeat`` timed calls; the
median is reported.  The target is ``diagnose`` <= 2 s at 1080p (``PASS`` or
``MISS``); the script reports and never fails on time.  It does check that
every diagnosis names the bug it was given, and exits with status 1 if one
does not.

Usage::

    python benchmarks/bench_lint.py
    python benchmarks/bench_lint.py --repeat 7 --threads 1 --json lint.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

import nv12kit
from nv12kit._io import atomic_write
from nv12kit.data import photo_path
from nv12kit.lint import check_converter, diagnose

__all__ = ["main"]

TARGET_SECONDS = 2.0


def forum_recipe(img: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """The forum's converter as posted (Pillow YCbCr, U/V resized, a Python interleave loop)."""
    w, h = img.size
    y, u, v = img.convert("YCbCr").split()
    u = np.array(u.resize((w // 2, h // 2)))
    v = np.array(v.resize((w // 2, h // 2)))
    uv = np.zeros((h // 2, w), dtype=np.uint8)
    for i in range(w // 2):
        uv[:, 2 * i] = u[:, i]
        uv[:, 2 * i + 1] = v[:, i]
    return np.array(y), uv


def bottom_up_with_header(rgb: np.ndarray, header: int) -> tuple[np.ndarray, np.ndarray]:
    """A flipped frame behind a header, read as packed NV12 (the last bytes are lost)."""
    h, w = rgb.shape[:2]
    raw = nv12kit.rgb_to_nv12(np.ascontiguousarray(rgb[::-1])).to_bytes()
    buf = np.frombuffer(bytes(header) + raw, np.uint8)[: h * w * 3 // 2]
    return buf[: h * w].reshape(h, w), buf[h * w :].reshape(h // 2, w)


def sheared(rgb: np.ndarray, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows padded to ``stride``, read as if they were not."""
    h, w = rgb.shape[:2]
    buf = np.frombuffer(nv12kit.rgb_to_nv12(rgb).to_bytes(stride=stride), np.uint8)[: h * w * 3 // 2]
    return buf[: h * w].reshape(h, w), buf[h * w :].reshape(h // 2, w)


def median_seconds(fn: Callable[[], Any], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="1080x1920", help="frame size as HxW (default 1080x1920)")
    parser.add_argument("--repeat", type=int, default=5, help="timed calls per candidate (median reported)")
    parser.add_argument("--threads", type=int, default=0, help="nv12kit conversion threads (0: default)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)
    height, width = (int(v) for v in args.size.lower().split("x"))
    if args.threads:
        nv12kit.set_num_threads(args.threads)

    rgb = nv12kit.resize_to(nv12kit.load_image(photo_path("coffee")), height, width)
    frame = nv12kit.rgb_to_nv12(rgb)
    cases: dict[str, tuple[Callable[[], Any], tuple[str, ...]]] = {
        "ok": (lambda: diagnose(rgb, frame), ("ok",)),
        "range": (lambda: diagnose(rgb, nv12kit.rgb_to_nv12(rgb, convention="opencv")), ("range_mismatch",)),
        "matrix": (lambda: diagnose(rgb, nv12kit.rgb_to_nv12(rgb, convention="bt709-full")), ("matrix_mismatch",)),
        "stride": (lambda: diagnose(rgb, sheared(rgb, 2048)), ("stride",)),
        "header": (lambda: diagnose(rgb, bottom_up_with_header(rgb, 64)), ("misaligned", "layout")),
        "bytes only": (lambda: diagnose(None, frame), ("ok",)),
    }
    wrong = []
    for name, (fn, want) in cases.items():
        got = fn().top.issues
        if got != want:
            wrong.append(f"{name}: expected {want}, got {got}")

    round_trip = median_seconds(lambda: nv12kit.nv12_to_rgb(nv12kit.rgb_to_nv12(rgb)), args.repeat)
    rows = []
    for name, (fn, want) in cases.items():
        seconds = median_seconds(fn, args.repeat)
        rows.append({"case": name, "issues": list(want), "seconds": seconds, "x_round_trip": seconds / round_trip})
    converter = median_seconds(lambda: check_converter(forum_recipe), max(1, args.repeat // 2))

    print(f"nv12kit.lint.diagnose on {height}x{width} ({platform.processor() or platform.machine()}, "
          f"{nv12kit.get_num_threads()} conversion threads), median of {args.repeat}")
    print(f"one honest round trip (rgb_to_nv12 + nv12_to_rgb, horizon): {round_trip * 1000:.1f} ms")
    print(f"{'case':<12}{'issues':<28}{'seconds':>9}{'x round trip':>14}  target <= {TARGET_SECONDS:.0f} s")
    for row in rows:
        verdict = "PASS" if row["seconds"] <= TARGET_SECONDS else "MISS"
        print(
            f"{row['case']:<12}{', '.join(row['issues']):<28}{row['seconds']:>9.3f}{row['x_round_trip']:>14.0f}  "
            f"{verdict}"
        )
    print(f"check_converter(forum recipe) on the 240x360 chart and a 200x300 photo: {converter:.3f} s")
    for line in wrong:
        print(f"WRONG DIAGNOSIS {line}")
    if args.json:
        result = {
            "size": [height, width],
            "repeat": args.repeat,
            "round_trip_seconds": round_trip,
            "cases": rows,
            "check_converter_seconds": converter,
            "wrong": wrong,
            "target_seconds": TARGET_SECONDS,
        }
        atomic_write(args.json, json.dumps(result, indent=2).encode())
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
