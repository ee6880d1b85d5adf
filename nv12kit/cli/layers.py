"""``nv12kit layers``: per-layer divergence of a float model; prints the table, writes JSON, CSV and the figure."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..conventions import CONVENTIONS
from ..errors import InputError, NV12KitError
from ..layers import COMPARE_MODES, DEFAULT_CHUNK_SIZE
from .options import (
    EXIT_OK,
    EXIT_USAGE,
    add_force_argument,
    add_image_budget_argument,
    add_preprocess_arguments,
    expand_images,
    guarded_outputs,
    one_line,
    preprocess_from_args,
)

if TYPE_CHECKING:
    from ..layers import LayerDivergence

__all__ = ["add_layers_arguments", "run_layers_command"]


def register(sub: Any) -> None:
    """Add the ``layers`` subparser to ``sub`` (the result of ``add_subparsers``)."""
    lay = sub.add_parser("layers", help="per-layer divergence: where inside the network the NV12 loss grows")
    add_layers_arguments(lay)
    lay.set_defaults(func=run_layers_command)


def add_layers_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``nv12kit layers`` to a (sub)parser.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The ``layers`` subparser; :func:`run_layers_command` runs its result.
    """
    parser.add_argument("--model", required=True, help="float ONNX model (only read)")
    parser.add_argument("--image", required=True, help="one image; resized to the model's size if it is fixed")
    parser.add_argument("--input-name", "--input", dest="input_name", default=None,
                        help="image input, if the model has several candidates")
    add_preprocess_arguments(parser)
    parser.add_argument("--compare", nargs="+", choices=COMPARE_MODES, default=["nv12"], metavar="KIND",
                        help="nv12 (round trip), noise (±amplitude, mean over trials) or quantized (int8 QDQ); "
                             "give several, e.g. '--compare nv12 noise', to print them side by side")
    parser.add_argument("--convention", default="horizon", choices=sorted(CONVENTIONS), metavar="NAME",
                        help="NV12 convention for --compare nv12 (default: horizon)")
    parser.add_argument("--amplitude", type=int, default=2, help="noise amplitude in pixel values (default: 2)")
    parser.add_argument("--trials", type=int, default=5, help="noise trials averaged (default: 5)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (default: 0)")
    parser.add_argument("--quantized-model", default=None, help="int8 QDQ feat model for --compare quantized")
    parser.add_argument("--calibration", nargs="+", default=None, metavar="IMAGE_OR_FOLDER",
                        help="calibration images when the int8 model is built here (default: the image)")
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE,
                        help=f"tensors compared per graph segment; lower bounds memory (default: {DEFAULT_CHUNK_SIZE})")
    parser.add_argument("--top", type=int, default=5,
                        help="culprits to name, by score: growth counted above a loss of 1e-4 (default: 5)")
    parser.add_argument("--max-rows", type=int, default=None, help="print at most this many rows (culprits always)")
    parser.add_argument("--json", default=None, metavar="FILE", help="write every result as JSON")
    parser.add_argument("--csv", default=None, metavar="FILE", help="write one line per tensor and comparison")
    parser.add_argument("--png", default=None, metavar="FILE", help="write the similarity-vs-depth figure")
    add_image_budget_argument(parser)
    add_force_argument(parser)


def run_layers_command(args: argparse.Namespace) -> int:
    """Run ``nv12kit layers``: print the table, write JSON/CSV/PNG; 0 on success, 2 on bad input."""
    from .._io import atomic_write
    from ..layers import format_layer_table, layer_divergence
    from ..layers.results import check_int, layers_csv
    from ..model import load_model

    try:
        model_path = Path(args.model)
        calibration = expand_images(args.calibration, "--calibration") if args.calibration else None
        outputs = {"--json": args.json, "--csv": args.csv, "--png": args.png}
        inputs = [model_path, args.image, args.quantized_model, *(calibration or [])]
        # All outputs are vetted before the model runs: never an input, a folder or a device; existing with --force.
        with guarded_outputs(args, outputs, inputs):
            check_int(args.top, "--top", low=1)
            if args.max_rows is not None:
                check_int(args.max_rows, "--max-rows", low=1)
            model = load_model(model_path)
            pre = preprocess_from_args(args, model)
            results = []
            for kind in dict.fromkeys(args.compare):
                results.append(layer_divergence(
                    model, args.image, preprocess=pre, convention=args.convention, compare=kind,
                    amplitude=args.amplitude, trials=args.trials, seed=args.seed, input_name=args.input_name,
                    quantized_model=args.quantized_model if kind == "quantized" else None,
                    calibration_images=calibration if kind == "quantized" else None,
                    chunk_size=args.chunk_size, name=str(model_path), progress=sys.stderr.isatty(),
                ))
            for result in results:
                print(result.summary(k=args.top).replace("LayerDivergence: ", "", 1))
                print()
            print(format_layer_table(*results, max_rows=args.max_rows, k=args.top))
            skipped = sum(len(r.skipped) for r in results)
            if skipped:
                print(f"\nskipped {len(results[0].skipped)} nodes/outputs, e.g.:")
                for s in results[0].skipped[:5]:
                    print(f"  {s.node} ({s.op_type}) {s.output}: {s.reason}")
            if args.json:
                document = {"schema": "nv12kit.layers", "version": 1, "comparisons": [r.to_dict() for r in results]}
                from .._io import jsonable

                text = json.dumps(jsonable(document), indent=2, allow_nan=False)
                atomic_write(args.json, (text + "\n").encode("utf-8"))
                print(f"JSON written to {args.json}")
            if args.csv:
                atomic_write(args.csv, layers_csv(results).encode("utf-8"))
                print(f"CSV written to {args.csv}")
            if args.png:
                _write_png(results, args.png, culprits=args.top)
                print(f"figure written to {args.png}")
    except NV12KitError as exc:
        print(f"nv12kit layers: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _write_png(results: Sequence[LayerDivergence], path: str, *, culprits: int) -> None:
    """The similarity-vs-depth figure of the first result, the others on the same axis, as a PNG."""
    from .._io import atomic_path

    try:
        from ..plots import plot_layer_divergence
    except ImportError as exc:
        raise InputError(f"--png needs matplotlib ({exc}); pip install 'nv12kit[notebooks]'") from exc
    figure = plot_layer_divergence(results[0], others=list(results[1:]), culprits=culprits)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=120)
