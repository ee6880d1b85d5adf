"""Command line: ``nv12kit convert``, ``nv12kit variants`` and ``nv12kit demo``.

A thin layer over the Python API.  Exit codes: 0 success, 1 a problem was
found, 2 bad usage or input (the message says what and how to fix it).
"""

from __future__ import annotations

import argparse
import html
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

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
    var.add_argument("--input-name", "--input", dest="input_name", default=None,
                     help="image input, if the model has several candidates")
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

    tri = sub.add_parser(
        "triage",
        help="the guided triage: conversion bug, over-sensitive model, NV12-specific loss, quantisation or healthy",
        description="Runs the triage on a float ONNX model and frames; prints the verdict with its evidence. "
        "Exit status: 0 healthy, 1 a problem was found, 2 bad usage or input.",
    )
    tri.add_argument("--model", required=True, help="float ONNX model (qat_feat)")
    tri.add_argument("--image", nargs="+", required=True, metavar="IMG", help="frames (files or folders)")
    tri.add_argument("--input", dest="input_name", default=None, help="image input, if the model has several")
    add_preprocess_arguments(tri)
    tri.add_argument("--size", default=None, metavar="HxW",
                     help="resize frames to HxW (for models with a dynamic size; must match a static one)")
    tri.add_argument("--convention", default="horizon", choices=sorted(CONVENTIONS), metavar="NAME",
                     help="the chip's NV12 convention (default: horizon)")
    tri.add_argument("--user-nv12", nargs="+", default=None, metavar="FILE",
                     help="your own raw .nv12 frames at the model's size, one per image, to lint and feed")
    tri.add_argument("--node-mode", default=None, help="the node mode you deploy (None, yuvbt601full2rgb, ...)")
    tri.add_argument("--node-divisor", type=float, default=None, help="the node divisor you deploy")
    tri.add_argument("--node-mean", type=float, nargs="+", default=None, help="the node mean you deploy")
    tri.add_argument("--node-std", type=float, nargs="+", default=None, help="the node std you deploy")
    tri.add_argument("--chip-range", choices=("full", "video"), default="full", help="range of the chip's NV12")
    tri.add_argument("--amplitudes", type=float, nargs="+", default=[1.0, 2.0, 3.0], metavar="A",
                     help="noise amplitudes in pixel values (default: 1 2 3)")
    tri.add_argument("--trials", type=int, default=20, help="noisy trials per amplitude (default: 20)")
    tri.add_argument("--distribution", choices=("symmetric", "uniform_0_a", "gaussian"), default="symmetric",
                     help="noise distribution (default: symmetric, uniform on [-a, a])")
    tri.add_argument("--seed", type=int, default=0, help="noise seed (default: 0)")
    tri.add_argument("--output", default=None, help="the output the verdict is about (default: the first)")
    tri.add_argument("--quantize", action="store_true", help="also build and judge int8 QDQ variants")
    tri.add_argument("--calibration", nargs="+", default=None, metavar="IMG",
                     help="calibration frames for --quantize (default: the --image frames)")
    tri.add_argument("--threshold", action="append", default=[], metavar="NAME=VALUE",
                     help="override a verdict threshold, e.g. --threshold negligible_loss=5e-4 (repeatable)")
    tri.add_argument("--report", default=None, help="write the self-contained HTML report here")
    tri.add_argument("--json", default=None, help="write the report as JSON here")
    tri.add_argument("--no-figures", action="store_true", help="leave figures out of the HTML report")
    tri.add_argument("--quiet", action="store_true", help="no progress bars")
    tri.set_defaults(func=_cmd_triage)

    cmp_ = sub.add_parser(
        "compare",
        help="compare two sets of dumped outputs (.npy/.npz or folders of .npy)",
        description="Per output: cosine, mean and max absolute error, relative L2, SNR, top-1 agreement. "
        "Exit status 0 if every output's cosine reaches --min-cosine, else 1.",
    )
    cmp_.add_argument("reference", help="reference outputs, e.g. the float model's (.npy, .npz or folder)")
    cmp_.add_argument("candidate", help="outputs to check, e.g. dumped from the vendor runtime")
    cmp_.add_argument("--min-cosine", type=float, default=0.99, help="pass mark (default: 0.99)")
    cmp_.add_argument("--json", default=None, help="write the comparison as JSON here")
    cmp_.set_defaults(func=_cmd_compare)

    from .layers import add_layers_arguments, run_layers_command

    lay = sub.add_parser("layers", help="per-layer divergence: where inside the network the NV12 loss grows")
    add_layers_arguments(lay)
    lay.set_defaults(func=run_layers_command)

    from .notebook_report import add_report_arguments, run_report_command

    rep = sub.add_parser("report", help="execute a notebook and export it as a self-contained HTML report")
    add_report_arguments(rep)
    rep.set_defaults(func=run_report_command)

    demo = sub.add_parser("demo", help="triage the bundled demo models on the bundled photos")
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
    group.add_argument("--divisor", type=float, default=None, help="divides the pixel first (default: 1)")
    group.add_argument("--order", "--color", dest="order", choices=("rgb", "bgr", "yuv444"), default=None,
                       help="channel order the model was trained on (default: rgb)")
    group.add_argument("--layout", choices=("NCHW", "NHWC"), default=None,
                       help="layout of the image input (default: detected)")


def preprocess_from_args(args: argparse.Namespace, model: object) -> Preprocess:
    """A Preprocess from the options, or from the model's metadata when --mean/--std are absent.

    Contradictions are refused rather than resolved silently: --divisor or
    --order without --mean/--std (they would override half of the model's
    own spec), or --mean without --std.
    """
    if args.mean is None and args.std is None:
        partial = [flag for flag, value in (("--divisor", args.divisor), ("--order/--color", args.order))
                   if value is not None]
        if partial:
            raise InputError(f"{' and '.join(partial)} given without --mean and --std; give the whole "
                             "preprocessing (--mean, --std and optionally --divisor, --order), or none of it to "
                             "use the model's metadata")
        try:
            pre = Preprocess.from_model(model)
        except ModelError as exc:
            raise InputError(f"give --mean and --std: {exc}") from exc
        return pre if args.layout is None else Preprocess(**{**pre.to_dict(), "layout": args.layout})
    if args.mean is None or args.std is None:
        raise InputError("give both --mean and --std (1 or 3 values each)")
    layout = args.layout or ImageInputSpec.from_model(model, getattr(args, "input_name", None)).layout
    return Preprocess(mean=args.mean, std=args.std, divisor=1.0 if args.divisor is None else args.divisor,
                      order=args.order or "rgb", layout=layout)


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


def _parse_size(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError as exc:
        raise InputError(f"--size must look like 224x224 (height x width), got {text!r}") from exc
    if h <= 0 or w <= 0 or h % 2 or w % 2:
        raise InputError(f"--size {text}: both sides must be positive and even (NV12)")
    return h, w


def _parse_thresholds(items: Sequence[str]) -> dict[str, float]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise InputError(f"--threshold takes NAME=VALUE, got {item!r}")
        try:
            out[name.strip()] = float(value)
        except ValueError as exc:
            raise InputError(f"--threshold {name}: {value!r} is not a number") from exc
    return out


def _node_settings(args: argparse.Namespace) -> dict[str, object] | None:
    given = {"divisor": args.node_divisor, "mean": args.node_mean, "std": args.node_std}
    settings = {k: v for k, v in given.items() if v is not None}
    if args.node_mode is not None:
        settings["mode"] = None if args.node_mode.lower() in ("none", "skip") else args.node_mode
    if not settings:
        return None
    settings["chip_range"] = args.chip_range
    return settings


def _cmd_triage(args: argparse.Namespace) -> int:
    from .triage import triage

    model = load_model(args.model)
    pre = preprocess_from_args(args, model)
    images: list[str] = []
    for item in args.image:
        images += image_files(item) if Path(item).is_dir() else [item]
    for target in (args.report, args.json):
        if target and Path(target).resolve() in {Path(p).resolve() for p in [args.model, *images]}:
            raise InputError(f"{target} is one of the inputs; choose another output path")
    report = triage(
        model, images, preprocess=pre, convention=args.convention, user_nv12=args.user_nv12,
        node_settings=_node_settings(args), quantize=args.quantize, calibration_images=args.calibration,
        thresholds=_parse_thresholds(args.threshold), amplitudes=args.amplitudes, trials=args.trials,
        distribution=args.distribution, seed=args.seed, input_name=args.input_name, output=args.output,
        chip_range=args.chip_range, size=_parse_size(args.size), progress=not args.quiet,
        model_label=Path(args.model).name,
    )
    print(report)
    if args.report:
        print(f"HTML report: {report.to_html(args.report, figures=not args.no_figures).resolve()}")
    if args.json:
        print(f"JSON report: {report.to_json(args.json).resolve()}")
    return report.exit_code


def _cmd_compare(args: argparse.Namespace) -> int:
    from .metrics import compare

    if args.json and Path(args.json).resolve() in {Path(args.reference).resolve(), Path(args.candidate).resolve()}:
        raise InputError(f"--json {args.json} is one of the inputs; choose another output path")
    result = compare(args.reference, args.candidate, labels=(Path(args.reference).name, Path(args.candidate).name),
                     min_cosine=args.min_cosine)
    print(result)
    if args.json:
        print(f"JSON: {result.to_json(args.json).resolve()}")
    return EXIT_OK if result else EXIT_PROBLEM


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


def _demo_photos() -> list[tuple[str, np.ndarray]]:
    from .data import photo_paths

    return [(path.stem, crop_to_even(load_image(path))) for path in photo_paths()]


def demo_page(sections: Sequence[tuple[str, str]], roundtrip_html: str, *, seconds: float) -> str:
    """The demo report page: one triage section per demo model, then the round-trip table.

    ``sections`` holds (title, HTML fragment) pairs; fragments come from
    :func:`nv12kit.report.render_html` and are already escaped.
    """
    from .report import _PAGE_STYLE, _STYLE

    toc = "".join(f"<li><a href='#s{i}'>{html.escape(t)}</a></li>" for i, (t, _) in enumerate(sections))
    parts = "".join(f"<section id='s{i}'><h1>{html.escape(t)}</h1>{frag}</section><hr>"
                    for i, (t, frag) in enumerate(sections))
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>nv12kit demo</title>"
        f"<style>{_PAGE_STYLE}{_STYLE}</style></head><body class='nv12kit-report'><h1>nv12kit demo</h1>"
        "<p>The guided triage on the two bundled demo classifiers and the three bundled photos: "
        "<em>demo_robust</em> was trained with noise and colour augmentation, <em>demo_fragile</em> was made "
        f"over-sensitive on purpose (see DEMO_MODELS.md).</p><ul>{toc}<li><a href='#roundtrips'>Round trips of "
        f"every convention</a></li></ul>{parts}<section id='roundtrips'><h1>Round trips of every convention</h1>"
        "<p>Each photo encoded to NV12 and decoded again. Rows where encoder and decoder agree show the honest loss "
        "(mostly chroma subsampling); the others show what a mismatch between the two ends costs.</p>"
        f"{roundtrip_html}</section><p class='small'>nv12kit {html.escape(__version__)}, computed in "
        f"{seconds:.1f} s.</p></body></html>\n"
    )


def _cmd_demo(args: argparse.Namespace) -> int:
    from .data import DEMO_MODELS, model_path, photo_paths
    from .report import render_html
    from .triage import triage

    start = time.perf_counter()
    sections = []
    for name in DEMO_MODELS:
        path = model_path(name)
        report = triage(path, photo_paths(), progress=False, model_label=path.name)
        print(f"== {path.name}")
        print(report)
        print()
        sections.append((f"{path.name}: {report.verdict.id}", render_html(report, standalone=False)))
    photos = _demo_photos()
    rows = roundtrip_table(photos, DEMO_CONVENTIONS)
    print("Round trips of the bundled photos (honest ones first, then mismatches):\n")
    print(format_table(rows))
    seconds = time.perf_counter() - start
    print(f"\ndemo finished in {seconds:.1f} s")
    if args.report:
        path = Path(args.report)
        path.parent.mkdir(parents=True, exist_ok=True)
        page = demo_page(sections, format_table(rows, html_output=True), seconds=seconds)
        atomic_write(path, page.encode("utf-8"))
        print(f"report written to {path.resolve()}")
        print(f"open it with: python3 -m webbrowser file://{path.resolve()}")
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
