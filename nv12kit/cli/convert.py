"""``nv12kit convert``: an image to a raw NV12/NV21/I420/YV12 file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..conventions import CONVENTIONS
from ..errors import InputError
from ..yuv import LAYOUTS
from .options import EXIT_OK, add_force_argument, add_image_budget_argument, guarded_outputs


def register(sub: Any) -> None:
    """Add the ``convert`` subparser to ``sub`` (the result of ``add_subparsers``)."""
    conv = sub.add_parser("convert", help="convert an image to a raw NV12/NV21/I420/YV12 file")
    conv.add_argument("image", help="input image (any format Pillow reads)")
    conv.add_argument("output", help="output raw file (.nv12, .yuv, ...)")
    conv.add_argument("--convention", default="horizon", choices=sorted(CONVENTIONS), metavar="NAME",
                      help="colour convention (default: horizon); one of: " + ", ".join(CONVENTIONS))
    conv.add_argument("--layout", default="nv12", choices=LAYOUTS, help="byte layout (default: nv12)")
    conv.add_argument("--stride", type=int, default=None, help="bytes per Y row, if rows are padded")
    conv.add_argument("--even", choices=("error", "crop", "pad"), default="error",
                      help="what to do with an odd-sized image (default: error)")
    add_image_budget_argument(conv)
    add_force_argument(conv)
    conv.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``nv12kit convert``; refuses to overwrite the input, an existing file (without --force) or an image."""
    from ..convert import rgb_to_nv12
    from ..images import IMAGE_SUFFIXES, crop_to_even, load_image, pad_to_even
    from ..yuv import frame_nbytes, write_yuv

    src, dst = Path(args.image), Path(args.output)
    if dst.suffix.lower() in IMAGE_SUFFIXES:
        raise InputError(
            f"output {dst} has an image extension; raw YUV files are not images. Use e.g. {dst.with_suffix('.nv12')}"
        )
    # Checked before the image is read: never the input, a folder or a device; existing only with --force.
    with guarded_outputs(args, {"output": dst}, inputs=[src]):
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
