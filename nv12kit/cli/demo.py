"""``nv12kit demo``: triage the bundled demo models on the bundled photos, and the round trips of every convention."""

from __future__ import annotations

import argparse
import html
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..errors import InputError
from .options import EXIT_OK, add_force_argument, guarded_outputs

if TYPE_CHECKING:
    import numpy as np

DEMO_CONVENTIONS = ("horizon", "pil", "opencv", "libyuv", "libyuv-jpeg", "bt601-full", "bt709-limited")


def register(sub: Any) -> None:
    """Add the ``demo`` subparser to ``sub`` (the result of ``add_subparsers``)."""
    demo = sub.add_parser("demo", help="triage the bundled demo models on the bundled photos")
    demo.add_argument("--report", default=None, help="write a self-contained HTML report here (its folder is "
                      "created if missing)")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    add_force_argument(demo)
    demo.set_defaults(func=run)


def _demo_photos() -> list[tuple[str, np.ndarray]]:
    from ..data import photo_paths
    from ..images import crop_to_even, load_image

    return [(path.stem, crop_to_even(load_image(path))) for path in photo_paths()]


def demo_page(sections: Sequence[tuple[str, str]], roundtrip_html: str, *, seconds: float) -> str:
    """The demo report page: one triage section per demo model, then the round-trip table.

    ``sections`` holds (title, HTML fragment) pairs; fragments come from
    :func:`nv12kit.report.render_html` and are already escaped.
    """
    from ..report import html_page

    toc = "".join(f"<li><a href='#s{i}'>{html.escape(t)}</a></li>" for i, (t, _) in enumerate(sections))
    parts = "".join(f"<section id='s{i}'><h1>{html.escape(t)}</h1>{frag}</section><hr>"
                    for i, (t, frag) in enumerate(sections))
    return html_page(
        "nv12kit demo",
        "<h1>nv12kit demo</h1>"
        "<p>The guided triage on the two bundled demo classifiers and the three bundled photos: "
        "<em>demo_robust</em> was trained with noise and colour augmentation, <em>demo_fragile</em> was made "
        f"over-sensitive on purpose (see DEMO_MODELS.md).</p><ul>{toc}<li><a href='#roundtrips'>Round trips of "
        f"every convention</a></li></ul>{parts}<section id='roundtrips'><h1>Round trips of every convention</h1>"
        "<p>Each photo encoded to NV12 and decoded again. Rows where encoder and decoder agree show the honest loss "
        "(mostly chroma subsampling); the others show what a mismatch between the two ends costs.</p>"
        f"{roundtrip_html}</section><p class='small'>nv12kit {html.escape(__version__)}, computed in "
        f"{seconds:.1f} s.</p>",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``nv12kit demo``: print both triages and the round-trip table, write --report."""
    from .._io import atomic_write
    from ..data import DEMO_MODELS, model_path, photo_paths
    from ..report import render_html
    from ..roundtrip import format_table, roundtrip_table
    from ..triage import triage

    if args.report:
        # The folder is made and the target vetted before the demo runs, not after.
        try:
            Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create the folder of --report {args.report}: {exc.strerror or exc}; choose a "
                             "folder you can write to") from exc
    inputs = [*(model_path(name) for name in DEMO_MODELS), *photo_paths()]
    with guarded_outputs(args, {"--report": args.report}, inputs):
        start = time.perf_counter()
        sections = []
        for name in DEMO_MODELS:
            path = model_path(name)
            report = triage(path, photo_paths(), progress=False, model_label=path.name)
            print(f"== {path.name}")
            print(report)
            print()
            if args.report:  # the figures are the slow part: drawn only when a report is written
                sections.append((f"{path.name}: {report.verdict.id}", render_html(report, standalone=False,
                                                                               progress=not args.quiet)))
        photos = _demo_photos()
        rows = roundtrip_table(photos, DEMO_CONVENTIONS)
        print("Round trips of the bundled photos (honest ones first, then mismatches):\n")
        print(format_table(rows))
        seconds = time.perf_counter() - start
        print(f"\ndemo finished in {seconds:.1f} s")
        if args.report:
            path = Path(args.report)
            page = demo_page(sections, format_table(rows, html_output=True), seconds=seconds)
            atomic_write(path, page.encode("utf-8"))
            print(f"report written to {path.resolve()}")
            print(f"open it with: python3 -m webbrowser file://{path.resolve()}")
    return EXIT_OK
