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


def register(sub: Any) -> None:
    """Add the ``report`` subparser to ``sub`` (the result of ``add_subparsers``)."""
    rep = sub.add_parser("report", help="execute a notebook and export it as a self-contained HTML report")
    add_report_arguments(rep)
    rep.set_defaults(func=run_report_command)


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``nv12kit report`` to a (sub)parser; :func:`run_report_command` runs it."""
    parser.add_argument("notebook", help="the notebook (.ipynb) to execute, e.g. notebooks/01_guided_triage.ipynb")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], dest="parameters",
                        metavar=("NAME", "VALUE"),
                        help="set a value of the notebook's parameters cell; VALUE is read as JSON when it can be "
                             "(20, true, null, '[\"a.jpg\"]'), else taken as a string; repeat for several")
    parser.add_argument("-o", "--output", required=True, help="the HTML report to write")
    parser.add_argument("--timeout", type=float, default=600, help="seconds one cell may run (default: 600)")
    parser.add_argument("--kernel", default=None, help="Jupyter kernel name (default: the notebook's)")
    parser.add_argument("--executed", default=None, metavar="IPYNB", help="also save the executed notebook here")


def run_report_command(args: argparse.Namespace) -> int:
    """Run ``nv12kit report``: 0 on success, 1 if a cell raised, 2 on bad input."""
    from ..notebook_report import NotebookError, parse_parameters, render_notebook

    try:
        parameters = parse_parameters(args.parameters)
        path = render_notebook(args.notebook, args.output, parameters=parameters or None, timeout=args.timeout,
                               kernel_name=args.kernel, executed_notebook=args.executed)
    except NotebookError as exc:
        print(f"nv12kit report: error: {exc}", file=sys.stderr)
        return 1
    except NV12KitError as exc:
        print(f"nv12kit report: error: {exc}", file=sys.stderr)
        return 2
    print(f"notebook report written to {path.resolve()}")
    return 0
