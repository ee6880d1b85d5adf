"""``nv12kit report``: execute a notebook and export it as a self-contained HTML report.

The options and the command live with the notebook export in
:mod:`nv12kit.notebook_report`, which loads papermill, nbclient and
nbconvert only when the command runs.
"""

from __future__ import annotations

from typing import Any

from ..notebook_report import add_report_arguments, run_report_command


def register(sub: Any) -> None:
    """Add the ``report`` subparser to ``sub`` (the result of ``add_subparsers``)."""
    rep = sub.add_parser("report", help="execute a notebook and export it as a self-contained HTML report")
    add_report_arguments(rep)
    rep.set_defaults(func=run_report_command)
