"""Command line: ``nv12kit convert``, ``variants``, ``triage``, ``evaluate``, ``compare``, ``layers``, ``report``
and ``demo``.

A thin layer over the Python API, one module per subcommand (each has a
``register`` that adds its subparser); :mod:`.options` holds what several
share. Building the parser imports no onnx, onnxruntime, matplotlib or
tqdm: each command imports what it runs.

Exit codes: 0 success; 1 a problem was found in the model (the verdict,
a failed comparison, a notebook cell that raised); 2 the user's input or
environment (bad usage, a missing or unreadable file, an output that
exists without ``--force``, a full or read-only disk...), with one line
on stderr that says what and how to fix it; 3 an unexpected error (a
bug), one line too, with the traceback when ``NV12KIT_DEBUG=1``. SIGTERM
and SIGHUP unwind like Ctrl-C (130), so no temporary file is left behind;
the exit code is then 128 + the signal number. When the reader of the
output goes away (``nv12kit triage ... | head``) the command stops
silently with 141, as a shell reports a SIGPIPE.

Writes: every subcommand checks all its outputs before its work starts
and never replaces an input, a folder or a device; an existing output is
replaced only with ``--force`` (see :mod:`nv12kit._io`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
from collections.abc import Sequence

from .. import __version__
from ..errors import NV12KitError
from . import compare, convert, demo, evaluate, layers, report, triage, variants
from .options import EXIT_INTERNAL, EXIT_USAGE, add_preprocess_arguments, one_line, preprocess_from_args

#: Exit status when the reader of our output went away (a shell's status for a SIGPIPE death: 128 + 13).
EXIT_BROKEN_PIPE = 141

__all__ = ["main", "build_parser", "add_preprocess_arguments", "preprocess_from_args"]

# the order of ``nv12kit --help``
_COMMANDS = (convert, variants, triage, evaluate, compare, layers, report, demo)

_EPILOG = ("exit status: 0 success, 1 a problem was found, 2 bad input or environment (one line on stderr), "
           "3 unexpected error (set NV12KIT_DEBUG=1 for the traceback). Outputs are never inputs, folders or "
           "devices; an existing output is replaced only with --force.")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="nv12kit",
        description="Triage accuracy loss behind an NV12 preprocessing node.",
        epilog=_EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"nv12kit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in _COMMANDS:
        command.register(sub)
    return parser


def _debug() -> bool:
    return os.environ.get("NV12KIT_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


def _os_message(exc: OSError) -> str:
    """An OSError from the user's environment as what failed, on which file, and what to check."""
    what = exc.strerror or str(exc) or type(exc).__name__
    where = f": {exc.filename!r}" if exc.filename is not None else ""
    if exc.filename2 is not None:
        where += f" -> {exc.filename2!r}"
    return f"{what}{where}; check the path, its permissions and the free space"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (see the module documentation)."""
    from .._io import MAX_IMAGE_PIXELS, pixel_budget
    from .signals import Terminated, cleanup_on_termination

    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # the command as typed (triage --bundle records it)
    name = f"nv12kit {args.command}"
    try:
        with cleanup_on_termination(), pixel_budget(getattr(args, "max_pixels", MAX_IMAGE_PIXELS)):
            return int(args.func(args))
    except NV12KitError as exc:
        if _debug():
            traceback.print_exc()
        print(f"{name}: error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader of our output left (`nv12kit triage ... | head`): nothing is wrong with the user's files.
        # Point stdout at /dev/null so the interpreter's final flush does not fail again, and exit as a shell
        # reports a SIGPIPE (128 + 13), silently.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except OSError as exc:  # the user's files or disk: missing, unreadable, forbidden, full
        if _debug():
            traceback.print_exc()
        print(f"{name}: error: {one_line(_os_message(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except Terminated as exc:
        print(f"{name}: stopped by signal {exc.signum}; no partial output was left", file=sys.stderr)
        return int(exc.code)
    except KeyboardInterrupt:
        print(f"{name}: interrupted; no partial output was left", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, not a traceback
        if _debug():
            traceback.print_exc()
            hint = "the traceback is above"
        else:
            hint = "set NV12KIT_DEBUG=1 for the traceback"
        print(f"{name}: internal error: {type(exc).__name__}: {one_line(str(exc))[:500]}; this is a bug, "
              f"please report it ({hint})", file=sys.stderr)
        return EXIT_INTERNAL
