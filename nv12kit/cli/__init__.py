"""Command line: ``nv12kit convert``, ``variants``, ``triage``, ``compare``, ``layers``, ``report`` and ``demo``.

A thin layer over the Python API, one module per subcommand (each has a
``register`` that adds its subparser); :mod:`.options` holds what several
share. Exit codes: 0 success, 1 a problem was found, 2 bad usage or input
(the message says what and how to fix it). Building the parser imports no
onnx, onnxruntime, matplotlib or tqdm: each command imports what it runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import NV12KitError
from . import compare, convert, demo, layers, report, triage, variants
from .options import EXIT_USAGE, add_preprocess_arguments, preprocess_from_args

__all__ = ["main", "build_parser", "add_preprocess_arguments", "preprocess_from_args"]

# the order of ``nv12kit --help``
_COMMANDS = (convert, variants, triage, compare, layers, report, demo)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="nv12kit",
        description="Triage accuracy loss behind an NV12 preprocessing node.",
    )
    parser.add_argument("--version", action="version", version=f"nv12kit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in _COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except NV12KitError as exc:
        print(f"nv12kit {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
