"""``nv12kit report``: execute a notebook and export it as a self-contained HTML report.

The export itself is :func:`nv12kit.notebook_report.render_notebook`; it is
imported when the command runs, so building the parser loads neither it
nor papermill, nbclient or nbconvert.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import NV12KitError
from .options import (
    EXIT_OK,
    EXIT_PROBLEM,
    EXIT_USAGE,
    add_force_argument,
    guarded_outputs,
    one_line,
    path_values,
)

_PARAMETER_HELP = (
    "set a value of the notebook's parameters cell; VALUE is read as JSON when it can be (20, true, null, "
    "'[\"a.jpg\", \"b.jpg\"]'), else taken as a string. A parameter meant as a list (its default is a list, or "
    "its name ends in _paths) takes a JSON list, null, or one plain path, which becomes a one-element list "
    "(-p image_paths frame.jpg); anything else is refused. Repeat -p for several"
)


def register(sub: Any) -> None:
    """Add the ``report`` subparser to ``sub`` (the result of ``add_subparsers``)."""
    rep = sub.add_parser("report", help="execute a notebook and export it as a self-contained HTML report")
    add_report_arguments(rep)
    rep.set_defaults(func=run_report_command)


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``nv12kit report`` to a (sub)parser; :func:`run_report_command` runs it."""
    parser.add_argument("notebook", help="the notebook (.ipynb) to execute, e.g. notebooks/01_guided_triage.ipynb")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], dest="parameters",
                        metavar=("NAME", "VALUE"), help=_PARAMETER_HELP)
    parser.add_argument("-o", "--output", required=True, help="the HTML report to write")
    parser.add_argument("--timeout", type=float, default=600,
                        help="seconds one cell may run, at least 1 (default: 600); a cell that runs longer is an "
                             "error (exit 2)")
    parser.add_argument("--kernel", default=None, help="Jupyter kernel name (default: the notebook's)")
    parser.add_argument("--executed", default=None, metavar="IPYNB", help="also save the executed notebook here")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress bar (by default, when stderr is a terminal, one counts the cells run and "
                             "the export)")
    add_force_argument(parser)


def _is_terminal(stream: Any) -> bool:
    """Whether ``stream`` is a terminal: a bar redrawn in place only makes sense there, not in a log or a pipe."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def run_report_command(args: argparse.Namespace) -> int:
    """Run ``nv12kit report``: 0 on success, 1 if a cell raised, 2 on bad input or environment."""
    from ..notebook_report import NotebookError, parse_parameters, render_notebook

    try:
        # Parameters first (unknown names, list values), then every output against every input, then the run.
        parameters = parse_parameters(args.parameters, notebook=args.notebook if args.parameters else None)
        inputs = [args.notebook, *path_values(list(parameters.values()))]
        with guarded_outputs(args, {"-o": args.output, "--executed": args.executed}, inputs):
            path = render_notebook(args.notebook, args.output, parameters=parameters or None, timeout=args.timeout,
                                   kernel_name=args.kernel, executed_notebook=args.executed,
                                   progress=not args.quiet and _is_terminal(sys.stderr))
    except NotebookError as exc:
        print(f"nv12kit report: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_PROBLEM
    except NV12KitError as exc:
        print(f"nv12kit report: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    print(f"notebook report written to {path.resolve()}")
    return EXIT_OK
