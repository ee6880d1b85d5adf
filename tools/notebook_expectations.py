"""Keep the notebooks' checked outputs outside the notebooks.

The notebooks are committed without outputs. The cells marked
``# NBVAL_CHECK_OUTPUT`` print the verdict and key rounded figures; what they
should print lives in ``notebooks/expected_outputs.json`` (notebook name ->
cell id -> text), and the root ``conftest.py`` hands it to nbval as the
cell's reference output, so a changed verdict still fails ``make test``.

Usage::

    python tools/notebook_expectations.py --strip    # clear every output and execution count
    python tools/notebook_expectations.py --update   # run the notebooks, record the checked cells' text

``--update`` executes every notebook with nbclient in the current Python
environment; review the diff of expected_outputs.json before committing it.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

import nbformat

NOTEBOOKS = pathlib.Path(__file__).resolve().parent.parent / "notebooks"
EXPECTED = NOTEBOOKS / "expected_outputs.json"
MARKER = "# NBVAL_CHECK_OUTPUT"


def is_checked(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and MARKER in cell.source


def strip(path: pathlib.Path) -> bool:
    """Clear outputs and execution counts; True if the file changed."""
    nb = nbformat.read(path, as_version=4)
    before = nbformat.writes(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    after = nbformat.writes(nb)
    if after != before:
        path.write_text(after, encoding="utf-8")
    return after != before


def record(path: pathlib.Path) -> dict[str, str]:
    """Execute a notebook and return the stdout text of its checked cells, by cell id."""
    from nbclient import NotebookClient

    from nv12kit.notebook_report import _kernel_start_options

    nb = nbformat.read(path, as_version=4)
    # The kernel nv12kit report starts (CurveZMQ where available), so no "TCP without encryption" warning either.
    NotebookClient(nb, timeout=600, resources={"metadata": {"path": str(NOTEBOOKS.parent)}}).execute(
        **_kernel_start_options())
    texts = {}
    for cell in nb.cells:
        if is_checked(cell):
            texts[cell.id] = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    return texts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strip", action="store_true", help="clear outputs of every notebook")
    parser.add_argument("--update", action="store_true", help="re-record expected_outputs.json")
    args = parser.parse_args(argv)
    if not (args.strip or args.update):
        parser.error("give --strip and/or --update")
    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    if args.update:
        expected = {p.name: record(p) for p in paths}
        EXPECTED.write_text(json.dumps(expected, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {EXPECTED}")
    if args.strip:
        for path in paths:
            if strip(path):
                print(f"stripped {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
