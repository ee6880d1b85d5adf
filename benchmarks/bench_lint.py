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
* **bytes only**: the correct frame without a reference image;
* **ffmpeg buf**: FFmpeg's own NV12 buffer (libswscale through PyAV, limited
  range, line size and plane start as FFmpeg allocated them), read with its
  line size: the chroma plane starts ``line_size * align(H, 32) + 64`` bytes
  in (found by the allocator-layout search);
* **own layout**: rows padded by 64 bytes, chroma rows by 128, the chroma
  plane 8 rows plus 4096 bytes further on (found from where the
  reference's chroma matches the bytes and the period of its rows);
* **uv noise**: chroma 3 levels rms off: no known bug, never ``ok``.

``--calibrate`` prints instead what the best explanation leaves on honest
frames (crops of the bundled photos and the test chart, encoded by nv12kit
under every convention, by libswscale, OpenCV and Pillow): the data behind
the residual bound of :mod:`nv12kit.lint.by_reference`.

Side by side, the same process times one honest round trip
(``rgb_to_nv12`` + ``nv12_to_rgb`` with ``horizon``) and prints each
diagnosis as a multiple of it, and ``check_converter`` on the forum recipe
(the test chart and a photo, small images, including the recipe's own Python
loop).

Each candidate gets one warm-up call and ``--repeat`` timed calls; the
median is reported.  The target is ``diagnose`` <= 1 s at 1080p (``PASS`` or
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
from nv12kit.yuv_layouts import plane_layout

__all__ = ["main"]

TARGET_SECONDS = 1.0


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


def ffmpeg_buffer(rgb: np.ndarray) -> tuple[np.ndarray | None, int]:
    """FFmpeg's own NV12 buffer for ``rgb`` (libswscale through PyAV), planes where FFmpeg put them."""
    try:
        import av
    except ImportError:
        return None, 0
    out = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="nv12")
    y_plane, uv_plane = out.planes
    offset = uv_plane.buffer_ptr - y_plane.buffer_ptr
    buf = np.full(offset + uv_plane.buffer_size, 16, np.uint8)
    buf[: y_plane.buffer_size] = np.frombuffer(y_plane, np.uint8)
    buf[offset:] = np.frombuffer(uv_plane, np.uint8)
    return buf, y_plane.line_size


def write_layout(frame: nv12kit.NV12Frame, lay: Any) -> np.ndarray:
    """The frame written row by row where ``lay`` (a PlaneLayout) says, junk elsewhere."""
    buf = np.random.default_rng(0).integers(0, 256, lay.nbytes + 64).astype(np.uint8)
    h, w = frame.shape
    rows = lay.y_offset + np.arange(h)[:, None] * lay.y_stride + np.arange(w)
    buf[rows] = frame.y
    crow = lay.uv_offset + np.arange(h // 2)[:, None] * lay.uv_stride + np.arange(w)
    buf[crow] = frame.uv.reshape(h // 2, w)
    return buf


def noisy_chroma(uv: np.ndarray, rms: float) -> np.ndarray:
    """Chroma with Gaussian noise of ``rms`` levels: no bug nv12kit names, and not ok."""
    noise = np.random.default_rng(1).normal(0, rms, uv.shape)
    return np.clip(uv + noise, 0, 255).round().astype(np.uint8)


def calibration_frames() -> list[tuple[str, str, str, Callable[[], Any], np.ndarray]]:
    """Honest frames: (image, converter, convention, frame maker, rgb) over photo crops, the chart and converters."""
    from nv12kit.chart import test_chart
    from nv12kit.conventions import CONVENTIONS

    images = {"chart": test_chart()}
    for name in ("coffee", "astronaut", "chelsea_odd"):
        img = nv12kit.crop_to_even(nv12kit.load_image(photo_path(name)))
        hh, ww = img.shape[:2]
        for i, (fy, fx, scale) in enumerate([(0, 0, 0.5), (0.5, 0.5, 0.5), (0.25, 0.1, 0.6), (0, 0, 1.0)]):
            h, w = int(hh * scale) // 2 * 2, int(ww * scale) // 2 * 2
            y0, x0 = int(fy * (hh - h)) // 2 * 2, int(fx * (ww - w)) // 2 * 2
            images[f"{name}[{i}]"] = np.ascontiguousarray(img[y0 : y0 + h, x0 : x0 + w])

    def swscale(rgb: np.ndarray, colorspace: str, color_range: str) -> tuple[np.ndarray, np.ndarray]:
        import av

        out = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
            format="nv12", dst_colorspace=colorspace, dst_color_range=color_range)
        h, w = rgb.shape[:2]
        y_plane, uv_plane = out.planes
        return (np.frombuffer(y_plane, np.uint8).reshape(h, y_plane.line_size)[:, :w].copy(),
                np.frombuffer(uv_plane, np.uint8).reshape(h // 2, uv_plane.line_size)[:, :w].copy())

    def opencv(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import cv2

        h, w = rgb.shape[:2]
        i420 = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).reshape(-1)
        u = i420[h * w : h * w * 5 // 4].reshape(h // 2, w // 2)
        v = i420[h * w * 5 // 4 :].reshape(h // 2, w // 2)
        return i420[: h * w].reshape(h, w), np.stack([u, v], axis=-1)

    def pillow(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h, w = rgb.shape[:2]
        y, u, v = Image.fromarray(rgb).convert("YCbCr").split()
        return np.asarray(y), np.stack([np.asarray(u.resize((w // 2, h // 2))), np.asarray(v.resize((w // 2, h // 2)))],
                                       axis=-1)

    out = []
    for name, rgb in images.items():
        for conv in CONVENTIONS:
            def encode(rgb: np.ndarray = rgb, conv: str = conv) -> nv12kit.NV12Frame:
                return nv12kit.rgb_to_nv12(rgb, convention=conv)

            out.append((name, f"nv12kit {conv}", conv, encode, rgb))
        out += [
            (name, "swscale bt601 limited", "bt601-limited", lambda rgb=rgb: swscale(rgb, "itu601", "MPEG"), rgb),
            (name, "swscale bt709 limited", "bt709-limited", lambda rgb=rgb: swscale(rgb, "itu709", "MPEG"), rgb),
            (name, "swscale bt601 full", "bt601-full", lambda rgb=rgb: swscale(rgb, "itu601", "JPEG"), rgb),
            (name, "opencv RGB2YUV_I420", "opencv", lambda rgb=rgb: opencv(rgb), rgb),
            (name, "pillow YCbCr", "pil", lambda rgb=rgb: pillow(rgb), rgb),
        ]
    return out


def calibrate() -> int:
    """Print what the best explanation leaves on honest frames: the data behind the residual bound."""
    rows = []
    for name, converter, conv, make, rgb in calibration_frames():
        d = diagnose(rgb, make(), convention=conv)
        ev = d.top.evidence
        rows.append((name, converter, d.issues, ev.get("residual_y_rms", ev["y_rms"]),
                     ev.get("residual_uv_rms", ev["uv_rms"])))
    y_rms = np.array([r[3] for r in rows])
    uv_rms = np.array([r[4] for r in rows])
    flagged = [r for r in rows if r[2] != ("ok",)]
    print(f"{len(rows)} honest frames ({len({r[0] for r in rows})} images, {len({r[1] for r in rows})} converters)")
    print(f"Y residual rms: max {y_rms.max():.3f}, p99 {np.percentile(y_rms, 99):.3f}, median {np.median(y_rms):.3f}")
    print(f"chroma residual rms: max {uv_rms.max():.3f}, p99 {np.percentile(uv_rms, 99):.3f}, "
          f"median {np.median(uv_rms):.3f}")
    print("largest chroma residuals:")
    for r in sorted(rows, key=lambda r: -r[4])[:5]:
        print(f"  {r[0]:<16}{r[1]:<26}Y {r[3]:.2f}  chroma {r[4]:.2f}  {', '.join(r[2])}")
    print(f"not ok: {len(flagged)}")
    for r in flagged:
        print(f"  {r[0]} {r[1]}: {r[2]}")
    return 1 if flagged else 0


def median_seconds(fn: Callable[[], Any], repeat: int) -> float:
    return median_wall_and_cpu(fn, repeat)[0]


def median_wall_and_cpu(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Median wall-clock and process CPU seconds (CPU time is less disturbed by other load on the machine)."""
    fn()
    walls, cpus = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="1080x1920", help="frame size as HxW (default 1080x1920)")
    parser.add_argument("--repeat", type=int, default=5, help="timed calls per candidate (median reported)")
    parser.add_argument("--threads", type=int, default=0, help="nv12kit conversion threads (0: default)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    parser.add_argument("--calibrate", action="store_true",
                        help="print the residuals of honest frames (the data behind the residual bound) and exit")
    args = parser.parse_args(argv)
    if args.calibrate:
        return calibrate()
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
    ff_buf, ff_stride = ffmpeg_buffer(rgb)
    if ff_buf is not None:
        cases["ffmpeg buf"] = (lambda: diagnose(rgb, ff_buf, width=width, height=height, stride=ff_stride),
                               ("range_mismatch", "misaligned"))  # FFmpeg encodes limited range
    own = plane_layout(width, height, stride=width + 64, uv_stride=width + 128,
                       uv_offset=(width + 64) * (height + 8) + 4096)
    own_buf = write_layout(frame, own)
    cases["own layout"] = (lambda: diagnose(rgb, own_buf, width=width, height=height, stride=own.y_stride),
                           ("stride", "misaligned"))
    cases["uv noise"] = (lambda: diagnose(rgb, (frame.y, noisy_chroma(frame.uv, 3.0))), ("unknown",))
    wrong = []
    for name, (fn, want) in cases.items():
        got = fn().top.issues
        if got != want:
            wrong.append(f"{name}: expected {want}, got {got}")

    round_trip = median_seconds(lambda: nv12kit.nv12_to_rgb(nv12kit.rgb_to_nv12(rgb)), args.repeat)
    rows = []
    for name, (fn, want) in cases.items():
        seconds, cpu = median_wall_and_cpu(fn, args.repeat)
        rows.append({"case": name, "issues": list(want), "seconds": seconds, "cpu_seconds": cpu,
                     "x_round_trip": seconds / round_trip})
    converter = median_seconds(lambda: check_converter(forum_recipe), max(1, args.repeat // 2))

    print(f"nv12kit.lint.diagnose on {height}x{width} ({platform.processor() or platform.machine()}, "
          f"{nv12kit.get_num_threads()} conversion threads), median of {args.repeat}")
    print(f"one honest round trip (rgb_to_nv12 + nv12_to_rgb, horizon): {round_trip * 1000:.1f} ms")
    print(f"{'case':<12}{'issues':<28}{'seconds':>9}{'cpu s':>8}{'x round trip':>14}  target <= {TARGET_SECONDS:.0f} s")
    for row in rows:
        verdict = "PASS" if row["seconds"] <= TARGET_SECONDS else "MISS"
        print(
            f"{row['case']:<12}{', '.join(row['issues']):<28}{row['seconds']:>9.3f}{row['cpu_seconds']:>8.3f}"
            f"{row['x_round_trip']:>14.0f}  {verdict}"
        )
    slowest = max(rows, key=lambda r: r["seconds"])
    fastest_bug = min((r for r in rows if r["case"] != "bytes only"), key=lambda r: r["seconds"])
    print(f"slowest case: {slowest['case']} ({slowest['seconds']:.3f} s, {slowest['x_round_trip']:.0f}x a round trip, "
          f"{slowest['seconds'] / fastest_bug['seconds']:.1f}x the fastest case with a reference, "
          f"{fastest_bug['case']})")
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
