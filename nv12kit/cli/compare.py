"""``nv12kit compare``: two sets of dumped outputs, output by output; exit 1 when one falls below --min-cosine."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .options import EXIT_OK, EXIT_PROBLEM, add_force_argument, guarded_outputs


def register(sub: Any) -> None:
    """Add the ``compare`` subparser to ``sub`` (the result of ``add_subparsers``)."""
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
    add_force_argument(cmp_)
    cmp_.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``nv12kit compare``: print the table, write --json; 0 if every output passes, else 1."""
    from ..metrics import compare

    # Before anything is read: --json may not be the reference, the candidate, or a file in their folders.
    with guarded_outputs(args, {"--json": args.json}, inputs=[args.reference, args.candidate]):
        result = compare(args.reference, args.candidate,
                         labels=(Path(args.reference).name, Path(args.candidate).name), min_cosine=args.min_cosine)
        print(result)
        if args.json:
            print(f"JSON: {result.to_json(args.json).resolve()}")
    return EXIT_OK if result else EXIT_PROBLEM
