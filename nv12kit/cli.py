"""Command line: ``nv12kit convert``, ``nv12kit variants`` and ``nv12kit demo``.

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
from .errors import InputError, ModelError, NV12KitError
from .graph import build_variants
from .images import crop_to_even, image_files, load_image, pad_to_even
from .model import ImageInputSpec, load_model
from .preprocess import Preprocess
from .roundtrip import format_table, roundtrip_table
from .yuv import LAYOUTS, frame_nbytes, write_yuv

__all__ = ["main", "build_parser", "add_preprocess_arguments", "preprocess_from_args"]

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

    var = sub.add_parser(
        "variants",
        help="build the NV12 variant of a float ONNX model (and int8 variants with --calibration)",
        description="Writes OUT/<stem>_qat_feat.onnx and <stem>_qat_nv12.onnx, plus <stem>_quantized_feat.onnx "
        "and <stem>_quantized_nv12.onnx when calibration images are given. The input model is only read.",
    )
    var.add_argument("model", help="float ONNX model")
    var.add_argument("-o", "--output-dir", required=True, help="folder for the variants (created if missing)")
    var.add_argument("--input-name", default=None, help="image input, if the model has several candidates")
    add_preprocess_arguments(var)
    var.add_argument("--chip-range", choices=("full", "video"), default="full",
                     help="range of the chip's NV12: full (hbdk default) or video (BT.601 limited)")
    var.add_argument("--upsample", choices=("nearest", "bilinear"), default="nearest",
                     help="chroma up-sampling inside the node (default: nearest)")
    var.add_argument("--calibration", nargs="+", default=None, metavar="IMAGE_OR_FOLDER",
                     help="images or folders to calibrate static int8 QDQ variants with")
    var.add_argument("--convention", default="horizon", choices=sorted(CONVENTIONS), metavar="NAME",
                     help="how calibration frames are encoded to NV12 (default: horizon)")
    var.add_argument("--stem", default=None, help="file name stem (default: the model's)")
    var.add_argument("--force", action="store_true", help="replace existing variant files")
    var.set_defaults(func=_cmd_variants)

    demo = sub.add_parser("demo", help="round-trip the bundled photos through every convention")
    demo.add_argument("--report", default=None, help="write a self-contained HTML report here")
    demo.set_defaults(func=_cmd_demo)
    return parser


def add_preprocess_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that describe a model's normalisation ``((x / divisor) - mean) / std``."""
    group = parser.add_argument_group(
        "preprocessing",
        "((x / divisor) - mean) / std per channel, in the model's channel order. Without --mean/--std the "
        "model's 'nv12kit.preprocess' metadata is used. PyTorch's (x/255 - m)/s is --divisor 255 --mean m --std s.",
    )
    group.add_argument("--mean", type=float, nargs="+", default=None, metavar="M", help="1 or 3 values")
    group.add_argument("--std", type=float, nargs="+", default=None, metavar="S", help="1 or 3 values")
    group.add_argument("--divisor", type=float, default=1.0, help="divides the pixel first (default: 1)")
    group.add_argument("--order", choices=("rgb", "bgr", "yuv444"), default="rgb",
                       help="channel order the model was trained on (default: rgb)")
    group.add_argument("--layout", choices=("NCHW", "NHWC"), default=None,
                       help="layout of the image input (default: detected)")


def preprocess_from_args(args: argparse.Namespace, model: object) -> Preprocess:
    """A Preprocess from the options, or from the model's metadata when --mean/--std are absent."""
    if args.mean is None and args.std is None:
        try:
            pre = Preprocess.from_model(model)
        except ModelError as exc:
            raise InputError(f"give --mean and --std: {exc}") from exc
        return pre if args.layout is None else Preprocess(**{**pre.to_dict(), "layout": args.layout})
    if args.mean is None or args.std is None:
        raise InputError("give both --mean and --std (1 or 3 values each)")
    layout = args.layout or ImageInputSpec.from_model(model, args.input_name).layout
    return Preprocess(mean=args.mean, std=args.std, divisor=args.divisor, order=args.order, layout=layout)


def _cmd_variants(args: argparse.Namespace) -> int:
    source = Path(args.model)
    model = load_model(source)
    pre = preprocess_from_args(args, model)
    calibration: list[str] | None = None
    if args.calibration:
        calibration = []
        for item in args.calibration:
            calibration += image_files(item) if Path(item).is_dir() else [item]
    variants = build_variants(model, preprocess=pre, calibration_images=calibration, convention=args.convention,
                              input_name=args.input_name, chip_range=args.chip_range, upsample=args.upsample)
    out = Path(args.output_dir)
    stem = args.stem or source.stem
    targets = [out / f"{stem}_{name}.onnx" for name, _ in variants.items()]
    existing = [str(path) for path in targets if path.exists()]
    if existing and not args.force:
        raise InputError(f"{', '.join(existing)} already exist; pass --force to replace them, or choose --stem")
    out.mkdir(parents=True, exist_ok=True)
    written = variants.save(out, stem=stem, overwrite=args.force)
    if source.resolve() in {p.resolve() for p in written.values()}:  # pragma: no cover - save refuses first
        raise InputError("a variant would replace the input model")
    print(f"preprocessing: {pre}; node mode {pre.node_mode(chip_range=args.chip_range)!r}")
    for name, path in written.items():
        print(f"  {name:15s} {path}  ({path.stat().st_size / 1024:.0f} KiB)")
    print(f"feed the NV12 variants with nv12kit.rgb_to_nv12(rgb).to_feed({variants.input_name!r})")
    return EXIT_OK


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
