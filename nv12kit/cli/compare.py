"""``nv12kit compare``: two sets of dumped outputs, output by output; exit 1 when one fails a criterion."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .options import EXIT_OK, EXIT_PROBLEM, add_force_argument, guarded_outputs

_FORMATS = ("auto", "npz", "npy", "polygraphy", "rknn", "horizon", "raw")


def register(sub: Any) -> None:
    """Add the ``compare`` subparser to ``sub`` (the result of ``add_subparsers``)."""
    cmp_ = sub.add_parser(
        "compare",
        help="compare two sets of dumped outputs (.npy/.npz, Polygraphy JSON, RKNN, Horizon, .raw dumps)",
        description="Per output, matched by name: cosine, mean and max absolute error, relative L2, SNR, top-1 "
        "agreement, and Polygraphy-style tolerances. Formats are detected from the content (say which with "
        "--format). Exit status 0 if every output passes, 1 if one fails (or shapes differ), 2 for bad input.",
    )
    cmp_.add_argument("reference", help="reference outputs, e.g. the float model's (file or dump folder)")
    cmp_.add_argument("candidate", help="outputs to check, e.g. dumped from the vendor runtime")
    cmp_.add_argument("--min-cosine", type=float, default=None,
                      help="cosine pass mark (default: 0.99, or not checked when --atol/--rtol/--top-k are given)")
    cmp_.add_argument("--atol", type=float, default=None,
                      help="absolute tolerance, as polygraphy run --atol (giving --atol or --rtol turns the "
                      "tolerance check on; the other defaults to 1e-5)")
    cmp_.add_argument("--rtol", type=float, default=None, help="relative tolerance, relative to the candidate")
    cmp_.add_argument("--check", default="elemwise", metavar="STAT",
                      help="statistic checked against the tolerances: elemwise (default, as Polygraphy), max, mean, "
                      "median or quantile:0.99")
    cmp_.add_argument("--top-k", type=int, default=None, metavar="K",
                      help="require the same top-K classes on every row of class-score outputs")
    cmp_.add_argument("--format", choices=_FORMATS, default="auto", help="format of both sides (default: detect)")
    cmp_.add_argument("--format-a", choices=_FORMATS, default=None, help="format of the reference only")
    cmp_.add_argument("--format-b", choices=_FORMATS, default=None, help="format of the candidate only")
    cmp_.add_argument("--manifest-a", default=None, help="manifest (names, shapes, dtypes) of a .raw/Horizon reference")
    cmp_.add_argument("--manifest-b", default=None, help="manifest (names, shapes, dtypes) of a .raw/Horizon candidate")
    cmp_.add_argument("--json", default=None, help="write the comparison as JSON here")
    add_force_argument(cmp_)
    cmp_.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``nv12kit compare``: print the table, write --json; 0 if every output passes, else 1."""
    from ..metrics import compare

    judged_otherwise = args.atol is not None or args.rtol is not None or args.top_k is not None
    min_cosine = args.min_cosine if args.min_cosine is not None else (None if judged_otherwise else 0.99)
    inputs = [args.reference, args.candidate] + [m for m in (args.manifest_a, args.manifest_b) if m]
    # Before anything is read: --json may not be an input, nor a file in their folders.
    with guarded_outputs(args, {"--json": args.json}, inputs=inputs):
        result = compare(args.reference, args.candidate,
                         labels=(Path(args.reference).name, Path(args.candidate).name), min_cosine=min_cosine,
                         atol=args.atol, rtol=args.rtol, check=args.check, top_k=args.top_k,
                         format_a=args.format_a or args.format, format_b=args.format_b or args.format,
                         manifest_a=args.manifest_a, manifest_b=args.manifest_b)
        for label, source in zip(result.labels, result.sources):
            if "detected" in source:
                print(f"{label}: read as {source}")
        for note in result.notes:
            print(f"note: {note}")
        print(result)
        if args.json:
            print(f"JSON: {result.to_json(args.json).resolve()}")
    return EXIT_OK if result else EXIT_PROBLEM
