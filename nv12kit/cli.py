"""Command line: ``nv12kit convert`` and ``nv12kit demo``.

A thin layer over the Python API.  Exit codes: 0 success, 1 a problem was
found, 2 bad usage or input (the message says what and how to fix it).
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from . import __version__
from ._io import atomic_write
from .conventions import CONVENTIONS
from .convert import rgb_to_nv12
from .errors import InputError, NV12KitError
from .images import crop_to_even, load_image, pad_to_even
from .roundtrip import format_table, roundtrip_table
from .yuv import LAYOUTS, frame_nbytes, write_yuv

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2

DEMO_CONVENTIONS = ("horizon", "pil", "opencv", "libyuv", "libyuv-jpeg", "bt601-full", "bt709-limited")
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="nv12kit",
        description="Triage accuracy loss behind an NV12 preprocessing node.",
    )
    parser.add_argument("--version", action="version", version=f"nv12kit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    conv = sub.add_parser("convert", help="convert an image to a raw NV12/NV21/I420/YV12 file")
    conv.add_argument("image", help="input image (any format Pillow reads)")
    conv.add_argument("output", help="output raw file (.nv12, .yuv, ...)")
    conv.add_argument("--convention", default="horizon", choices=sorted(CONVENTIONS), metavar="NAME",
                      help="colour convention (default: horizon); one of: " + ", ".join(CONVENTIONS))
    conv.add_argument("--layout", default="nv12", choices=LAYOUTS, help="byte layout (default: nv12)")
    conv.add_argument("--stride", type=int, default=None, help="bytes per Y row, if rows are padded")
    conv.add_argument("--even", choices=("error", "crop", "pad"), default="error",
                      help="what to do with an odd-sized image (default: error)")
    conv.add_argument("--force", action="store_true", help="replace OUTPUT if it exists")
    conv.set_defaults(func=_cmd_convert)

    demo = sub.add_parser("demo", help="round-trip the bundled photos through every convention")
    demo.add_argument("--report", default=None, help="write a self-contained HTML report here")
    demo.set_defaults(func=_cmd_demo)
    return parser


def _cmd_convert(args: argparse.Namespace) -> int:
    src, dst = Path(args.image), Path(args.output)
    if dst.exists() and src.exists() and dst.resolve() == src.resolve():
        raise InputError(f"output {dst} is the input image; choose another path (nv12kit never overwrites inputs)")
    if dst.suffix.lower() in _IMAGE_SUFFIXES:
        raise InputError(
            f"output {dst} has an image extension; raw YUV files are not images. Use e.g. {dst.with_suffix('.nv12')}"
        )
    if dst.exists() and not args.force:
        raise InputError(f"output {dst} exists; pass --force to replace it")
    rgb = load_image(src)
    if args.even == "crop":
        rgb = crop_to_even(rgb)
    elif args.even == "pad":
        rgb = pad_to_even(rgb)
    frame = rgb_to_nv12(rgb, convention=args.convention)
    write_yuv(dst, frame, layout=args.layout, stride=args.stride)
    size = frame_nbytes(frame.width, frame.height, layout=args.layout, stride=args.stride)
    print(
        f"wrote {dst}: {frame.width}x{frame.height} {args.layout}, convention {args.convention}, {size} bytes"
        + (f", stride {args.stride}" if args.stride else "")
    )
    print(f"read it back with nv12kit.read_yuv({str(dst)!r}, {frame.width}, {frame.height}, layout={args.layout!r}"
          + (f", stride={args.stride}" if args.stride else "") + ")")
    return EXIT_OK


def _png_data_uri(rgb: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def demo_html(photos: Sequence[tuple[str, np.ndarray]], table_html: str, *, seconds: float) -> str:
    """The demo report: self-contained (inline PNGs, inline CSS), every string escaped."""
    figures = "".join(
        f'<figure><img alt="{html.escape(name)}" src="{_png_data_uri(rgb)}">'
        f"<figcaption>{html.escape(name)} ({rgb.shape[1]}x{rgb.shape[0]})</figcaption></figure>"
        for name, rgb in photos
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>nv12kit demo: round trips</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; font-size: 0.9em; }}
th, td {{ border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }}
th {{ background: #f0f0f0; }}
figure {{ display: inline-block; margin: 0 1em 1em 0; }}
</style></head><body>
<h1>nv12kit demo: RGB &rarr; NV12 &rarr; RGB round trips</h1>
<p>Each bundled photo is encoded to NV12 and decoded again. Rows where encoder and decoder agree show the honest
loss (mostly chroma subsampling). The other rows show what a mismatch between the two ends costs;
<em>x honest</em> is the mean absolute error relative to the honest BT.601 full-range round trip.</p>
{figures}
{table_html}
<p>nv12kit {html.escape(__version__)}, numpy {html.escape(np.__version__)}, computed in {seconds:.2f} s.</p>
</body></html>
"""


def _demo_photos() -> list[tuple[str, np.ndarray]]:
    from .data import photo_paths

    return [(path.stem, crop_to_even(load_image(path))) for path in photo_paths()]


def _cmd_demo(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    photos = _demo_photos()
    rows = roundtrip_table(photos, DEMO_CONVENTIONS)
    seconds = time.perf_counter() - start
    print("Round trips of the bundled photos (honest ones first, then mismatches):\n")
    print(format_table(rows))
    print(f"\n{len(rows)} round trips in {seconds:.2f} s")
    if args.report:
        path = Path(args.report)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, demo_html(photos, format_table(rows, html_output=True), seconds=seconds).encode("utf-8"))
        print(f"report written to {path.resolve()}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except NV12KitError as exc:
        print(f"nv12kit {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
