"""``nv12kit triage``: the guided triage of a float ONNX model on frames; the exit code is the verdict's."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..conventions import CONVENTIONS
from ..errors import InputError
from .options import (
    CLI_OPTION_NAMES,
    _parse_size,
    add_chip_range_argument,
    add_force_argument,
    add_image_budget_argument,
    add_preprocess_arguments,
    expand_images,
    extra_input_paths,
    guarded_outputs,
    preprocess_from_args,
    read_extra_inputs,
)


def register(sub: Any) -> None:
    """Add the ``triage`` subparser to ``sub`` (the result of ``add_subparsers``)."""
    tri = sub.add_parser(
        "triage",
        help="the guided triage: conversion bug, over-sensitive model, NV12-specific loss, quantisation or healthy",
        description="Runs the triage on a float ONNX model and frames; prints the verdict with its evidence. "
        "Exit status: 0 healthy, 1 a problem was found, 2 bad usage or input.",
    )
    tri.add_argument("--model", required=True, help="float ONNX model (qat_feat)")
    tri.add_argument("--image", nargs="+", required=True, metavar="IMG", help="frames (files or folders)")
    tri.add_argument("--input", dest="input_name", default=None, help="image input, if the model has several")
    tri.add_argument("--extra-input", action="append", default=None, metavar="NAME=FILE.npy",
                     help="a value for one of the model's other (non-image) inputs, fed unchanged to every run "
                          "(repeatable; every other input needs one)")
    add_preprocess_arguments(tri)
    tri.add_argument("--size", default=None, metavar="HxW",
                     help="resize frames to HxW (for models with a dynamic size; must match a static one); W alone "
                          "sets the one dynamic side of a partly static input; -1 or nothing keeps a static side "
                          "(48x-1, x192, --size=-1x192)")
    tri.add_argument("--source", choices=("pyramid", "resizer"), default="pyramid",
                     help="the NV12 input source deployed: pyramid (Y/UV at the model's size, default) or resizer "
                          "(the full frame plus an ROI, cropped and resized in YUV on the chip; needs --roi)")
    tri.add_argument("--roi", type=int, nargs=4, default=None, metavar=("L", "T", "R", "B"),
                     help="with --source resizer: the ROI of every frame, left top right bottom in pixels, right and "
                          "bottom exclusive, left/top/width/height even")
    tri.add_argument("--resizer-interpolation", choices=("bilinear", "nearest"), default=None,
                     help="with --source resizer: how the chip scales the planes (default: bilinear)")
    tri.add_argument("--resizer-align", choices=("half_pixel", "align_corners", "asymmetric"), default=None,
                     help="with --source resizer: the sampling grid (default: half_pixel, as OpenCV; Horizon's "
                          "older resizer's step formula implies align_corners)")
    tri.add_argument("--convention", default="horizon", choices=sorted(CONVENTIONS), metavar="NAME",
                     help="the chip's NV12 convention (default: horizon)")
    tri.add_argument("--nv12-runtime", choices=("emulated", "openvino"), default="emulated",
                     help="what runs the NV12 variant: nv12kit's emulated ONNX node (default) or OpenVINO's real "
                          "NV12 node (PrePostProcessor; pip install nv12kit[openvino])")
    tri.add_argument("--user-nv12", nargs="+", default=None, metavar="FILE",
                     help="your own raw .nv12 frames at the model's size, one per image, to lint and feed")
    tri.add_argument("--node-mode", default=None, help="the node mode you deploy (None, yuvbt601full2rgb, ...)")
    tri.add_argument("--node-divisor", type=float, default=None, help="the node divisor you deploy")
    tri.add_argument("--node-mean", type=float, nargs="+", default=None, help="the node mean you deploy")
    tri.add_argument("--node-std", type=float, nargs="+", default=None, help="the node std you deploy")
    add_chip_range_argument(tri)
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
    tri.add_argument("--bundle", default=None, metavar="TICKET.zip",
                     help="write a ticket bundle for a vendor here: the reports, the decisive frame (PNG, .nv12), "
                          "feeds and outputs (npz, Polygraphy JSON), this command, versions and a README on how to "
                          "replay it")
    tri.add_argument("--convention-sensitivity", choices=("same-node", "all", "off"), default="same-node",
                     help="what another convention would cost, one NV12 pass per candidate: same-node (default: "
                          "encoder settings the compiled node accepts), all (also the node's other range: a second "
                          "NV12 model, about 0.1-0.2 s more) or off")
    tri.add_argument("--no-convention-sensitivity", dest="convention_sensitivity", action="store_const", const="off",
                     help="the same as --convention-sensitivity off")
    tri.add_argument("--baseline", default=None, metavar="PREVIOUS.json",
                     help="an earlier triage's --json: show the before/after of every number and verdict (e.g. "
                          "after a fix; another model or convention is allowed, the differences are listed)")
    tri.add_argument("--no-figures", action="store_true", help="leave figures out of the HTML report")
    add_image_budget_argument(tri)
    add_force_argument(tri)
    tri.add_argument("--quiet", action="store_true", help="no progress bars")
    tri.set_defaults(func=run)


def _parse_thresholds(items: Sequence[str]) -> dict[str, float]:
    """``NAME=VALUE`` items as a dict of floats."""
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
    """The deployed node's settings from the --node-* options; None when none is given."""
    given = {"divisor": args.node_divisor, "mean": args.node_mean, "std": args.node_std}
    settings = {k: v for k, v in given.items() if v is not None}
    if args.node_mode is not None:
        settings["mode"] = None if args.node_mode.lower() in ("none", "skip") else args.node_mode
    if not settings:
        return None
    settings["chip_range"] = args.chip_range
    return settings


def _resizer_options(args: argparse.Namespace) -> dict[str, Any]:
    """triage()'s resizer keywords from --source/--roi, with one-line errors naming the flag."""
    if args.source != "resizer":
        for given, flag in ((args.roi, "--roi"), (args.resizer_interpolation, "--resizer-interpolation"),
                            (args.resizer_align, "--resizer-align")):
            if given is not None:
                raise InputError(f"{flag} is only for --source resizer (the pyramid source sees the whole frame "
                                 f"resized to the model's size); add --source resizer or drop {flag}")
        return {}
    if args.roi is None:
        raise InputError("--source resizer needs --roi L T R B: the region of each full frame, in pixels with "
                         "exclusive right/bottom, that the resizer scales to the model's size")
    for given, flag in ((args.quantize, "--quantize"), (args.user_nv12, "--user-nv12")):
        if given:
            raise InputError(f"{flag} is not supported with --source resizer yet; run it with --source pyramid")
    options: dict[str, Any] = {"source": "resizer", "roi": tuple(args.roi)}
    if args.resizer_interpolation is not None:
        options["resizer_interpolation"] = args.resizer_interpolation
    if args.resizer_align is not None:
        options["resizer_align"] = args.resizer_align
    return options


def run(args: argparse.Namespace) -> int:
    """Run ``nv12kit triage``: print the report, write --report/--json/--bundle; the exit code is the verdict's."""
    from ..model import load_model_with_bytes
    from ..triage import triage

    resizer = _resizer_options(args)  # --source/--roi, checked before anything is loaded
    images = expand_images(args.image, "--image")
    inputs = [args.model, *images, *(args.user_nv12 or []), *(args.calibration or []),
              *extra_input_paths(args.extra_input), *([args.baseline] if args.baseline else [])]
    # Every output is vetted before the model is even loaded: a bad --report path fails at once, not after the run.
    with guarded_outputs(args, {"--report": args.report, "--json": args.json, "--bundle": args.bundle}, inputs):
        model, data = load_model_with_bytes(args.model)
        pre = preprocess_from_args(args, model)
        report = triage(
            data if data is not None else model, images, preprocess=pre, convention=args.convention,
            user_nv12=args.user_nv12,
            node_settings=_node_settings(args), quantize=args.quantize, calibration_images=args.calibration,
            thresholds=_parse_thresholds(args.threshold), amplitudes=args.amplitudes, trials=args.trials,
            distribution=args.distribution, seed=args.seed, input_name=args.input_name, output=args.output,
            chip_range=args.chip_range, size=_parse_size(args.size), progress=not args.quiet,
            model_label=Path(args.model).name, size_hint="--size HxW",
            extra_inputs=read_extra_inputs(args.extra_input),
            option_names={**CLI_OPTION_NAMES, "roi": "--roi", "baseline": "--baseline"},
            baseline=args.baseline, nv12_runtime=args.nv12_runtime,
            convention_sensitivity=False if args.convention_sensitivity == "off" else args.convention_sensitivity,
            **resizer,
        )
        print(report)
        if args.report:
            written = report.to_html(args.report, figures=not args.no_figures, progress=not args.quiet)
            print(f"HTML report: {written.resolve()}")
        if args.json:
            print(f"JSON report: {report.to_json(args.json).resolve()}")
        if args.bundle:
            command = shlex.join(["nv12kit", *getattr(args, "argv", ["triage", "..."])])
            written = report.to_bundle(args.bundle, figures=not args.no_figures, command=command,
                                       progress=not args.quiet)
            print(f"ticket bundle: {written.resolve()}")
    return report.exit_code
