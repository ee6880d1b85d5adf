"""``nv12kit evaluate``: accuracy of every variant on a labelled set; exit 1 when NV12 costs more than --max-loss."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .options import (
    EXIT_OK,
    EXIT_PROBLEM,
    _parse_size,
    add_chip_range_argument,
    add_force_argument,
    add_image_budget_argument,
    add_preprocess_arguments,
    guarded_outputs,
    preprocess_from_args,
)

#: The flags that library messages name instead of the Python arguments.
OPTION_NAMES = {"labels": "--labels", "classes": "--classes", "workers": "--workers", "jsonl": "--jsonl",
                "size": "--size", "input_name": "--input", "noise_sample": "--noise-sample",
                "noise_trials": "--noise-trials", "max_flips": "--max-flips", "seed": "--seed", "output": "--output",
                "calibration_images": "--calibration"}


def register(sub: Any) -> None:
    """Add the ``evaluate`` subparser to ``sub`` (the result of ``add_subparsers``)."""
    from ..conventions import CONVENTIONS

    ev = sub.add_parser(
        "evaluate",
        help="accuracy of every variant on a labelled set: how much NV12 and quantisation cost",
        description="Run feat and nv12 (and with --quantize their int8 versions) on every frame of a set: top-1 "
        "(top-5) accuracy with 95%% intervals, agreement with feat, cos(feat, variant) per frame, the noise floor "
        "on a sample, and the accuracy lost to NV12, to quantisation and to both. Labels come from class "
        "sub-folders (DIR/<class>/*.png) or --labels; without them only agreement is measured. Exit status 1 when "
        "the NV12 path loses more than --max-loss, 0 otherwise, 2 for bad input.",
    )
    ev.add_argument("--model", required=True, help="the float ONNX model (feat)")
    ev.add_argument("--images", required=True, metavar="DIR",
                    help="folder of frames; class sub-folders DIR/<class>/ give the labels")
    ev.add_argument("--labels", default=None, metavar="CSV",
                    help="path,label or path,index per line (paths relative to DIR; a header line is skipped)")
    ev.add_argument("--classes", default=None, metavar="A,B,... or FILE",
                    help="class names in the model's output order (comma-separated, or a file with one a line); "
                         "default: the model's nv12kit.labels metadata, else the sorted folder/CSV names")
    ev.add_argument("--input", dest="input_name", default=None, help="image input, if the model has several")
    ev.add_argument("--output", default=None, help="the output measured (default: the first)")
    add_preprocess_arguments(ev)
    ev.add_argument("--size", default=None, metavar="HxW", help="frame size for a model with a dynamic size")
    ev.add_argument("--convention", default="horizon", choices=sorted(CONVENTIONS), metavar="NAME",
                    help="the chip's NV12 convention (default: horizon)")
    add_chip_range_argument(ev)
    ev.add_argument("--quantize", action="store_true", help="also build and measure int8 QDQ variants")
    ev.add_argument("--calibration", nargs="+", default=None, metavar="IMG",
                    help="calibration frames for --quantize (default: 16 frames of the set, seeded)")
    ev.add_argument("--noise-sample", type=int, default=32, metavar="N",
                    help="frames the noise floor is measured on (default 32, drawn with --seed)")
    ev.add_argument("--noise-trials", type=int, default=8, metavar="T", help="noisy copies per sampled frame")
    ev.add_argument("--noise-amplitude", type=float, default=3.0, metavar="A",
                    help="uniform ±A pixel values of noise (default 3)")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--batch-size", type=int, default=None, metavar="B",
                    help="frames per model call for a dynamic batch (default 8)")
    ev.add_argument("--workers", type=int, default=1, metavar="N",
                    help="local worker processes, one onnxruntime session each (threads x processes <= cores)")
    ev.add_argument("--dask", default=None, metavar="ADDRESS",
                    help="a Dask scheduler (tcp://host:8786): run the shards on its workers, which must see DIR")
    ev.add_argument("--jsonl", default=None, metavar="FILE", help="append per-frame results here as they come")
    ev.add_argument("--resume", action="store_true", help="continue the run logged in --jsonl, skipping frames done")
    ev.add_argument("--json", default=None, help="write the result as JSON here")
    ev.add_argument("--report", default=None, metavar="HTML", help="write a self-contained HTML report here")
    ev.add_argument("--max-loss", type=float, default=0.01, metavar="F",
                    help="exit 1 when NV12 (or, with --quantize, the whole path) loses more than F of the accuracy "
                         "(default 0.01, one point)")
    ev.add_argument("--max-flips", type=int, default=24, metavar="K", help="flipped frames listed per variant")
    ev.add_argument("--quiet", action="store_true", help="no progress bar")
    add_image_budget_argument(ev)
    add_force_argument(ev)
    ev.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``nv12kit evaluate``: print the table and the decomposition, write --json/--report."""
    from ..errors import InputError
    from ..evaluation import evaluate
    from ..model import load_model_with_bytes

    if args.resume and not args.jsonl:
        raise InputError("--resume needs --jsonl, the log of the run to continue")
    outputs = {"--json": args.json, "--report": args.report}
    inputs = [args.model, args.images, args.labels, *(args.calibration or [])]
    with guarded_outputs(args, outputs, inputs=inputs):
        model, data = load_model_with_bytes(args.model)
        preprocess = preprocess_from_args(args, model)
        result = evaluate(
            data if data is not None else model, args.images, labels=args.labels, classes=args.classes,
            preprocess=preprocess, convention=args.convention, quantize=args.quantize,
            calibration_images=args.calibration, noise_sample=args.noise_sample, noise_trials=args.noise_trials,
            noise_amplitude=args.noise_amplitude, seed=args.seed, output=args.output, input_name=args.input_name,
            size=_parse_size(args.size), chip_range=args.chip_range, batch_size=args.batch_size,
            workers=args.workers, dask=args.dask, jsonl=args.jsonl, resume=args.resume, max_flips=args.max_flips,
            progress=not args.quiet, option_names=OPTION_NAMES,
        )
        result.parameters["model"] = args.model
        print("\n".join(result.summary_lines()))
        if args.json:
            print(f"JSON: {result.to_json(args.json).resolve()}")
        if args.report:
            figures = None
            try:
                from ..plots import evaluation_figures

                figures = evaluation_figures(result)
            except ImportError:
                print("note: matplotlib is not installed: the report has no figures", file=sys.stderr)
            print(f"report: {result.to_html(args.report, figures=figures).resolve()}")
    return EXIT_PROBLEM if result.exit_code(args.max_loss) else EXIT_OK
