"""NV12RoundTrip against a Pillow JPEG decode of the same size: is the augmentation cheap enough for a data loader?

The issue's bar: at 224 x 224 the augmentation must cost less than decoding a
JPEG of that size with Pillow (``Image.open(...).convert("RGB")`` to a NumPy
array, as a data loader does before any transform). The JPEG is each bundled
photo resized to 224 x 224 and saved by Pillow at its default quality (75).
Calls are timed one at a time, interleaved (JPEG, augmentation, JPEG, ...) so
load on a shared machine hits both alike, and the median is printed.

Usage::

    python benchmarks/bench_augment.py [--size 224] [--repeats 400] [--convention horizon] [--noise 3]
"""

from __future__ import annotations

import argparse
import io
import time

import numpy as np
from PIL import Image

import nv12kit
from nv12kit.augment import NV12RoundTrip


def jpeg_bytes(rgb: np.ndarray, quality: int = 75) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def decode_jpeg(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def interleaved_medians(first, second, repeats: int) -> tuple[float, float]:
    """Median seconds of ``first()`` and ``second()``, timed alternately."""
    first(), second()
    a, b = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        first()
        t1 = time.perf_counter()
        second()
        t2 = time.perf_counter()
        a.append(t1 - t0)
        b.append(t2 - t1)
    return float(np.median(a)), float(np.median(b))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=400)
    parser.add_argument("--convention", default=None, help="one convention (default: all, horizon first)")
    parser.add_argument("--noise", type=float, default=None, help="also add this much pixel noise")
    args = parser.parse_args(argv)
    names = [args.convention] if args.convention else ["horizon"] + [
        c for c in nv12kit.convention_names() if c != "horizon"]
    print(f"{args.size}x{args.size}, median of {args.repeats} interleaved calls, "
          f"{nv12kit.get_num_threads()} conversion thread(s)")
    print(f"{'photo':<12} {'convention':<14} {'jpeg decode us':>14} {'augment us':>11} {'ratio':>6}  verdict")
    worst = 0.0
    for photo in nv12kit.data.PHOTOS:
        rgb = nv12kit.resize_to(nv12kit.load_image(nv12kit.data.photo_path(photo)), args.size, args.size)
        data = jpeg_bytes(rgb)
        decoded = decode_jpeg(data)
        for name in names:
            transform = NV12RoundTrip(name, noise=args.noise, seed=0)
            jpeg, augment = interleaved_medians(lambda: decode_jpeg(data), lambda: transform(decoded), args.repeats)
            ratio = augment / jpeg
            if name == "horizon":
                worst = max(worst, ratio)
            print(f"{photo:<12} {name:<14} {jpeg * 1e6:14.0f} {augment * 1e6:11.0f} {ratio:6.2f}  "
                  f"{'PASS' if ratio < 1 else 'MISS'}")
    if "horizon" in names:
        print(f"default convention (horizon): worst ratio {worst:.2f} -> {'PASS' if worst < 1 else 'MISS'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
