"""Give nbval the reference output of each ``# NBVAL_CHECK_OUTPUT`` cell of ``notebooks/``.

The notebooks are committed without outputs, and nbval skips the comparison
of a cell that was never run. The expected text of the checked cells is kept
in ``notebooks/expected_outputs.json`` (re-record it with
``python tools/notebook_expectations.py --update``); this hook puts it into
each checked cell before nbval runs it, so a changed verdict fails the suite.
A checked cell without an expectation is compared against no output and fails.

It lives at the repository root: a second conftest.py under notebooks/ would
clash with tests/conftest.py (both import as ``conftest``).
"""

from __future__ import annotations

import json
import pathlib

import nbformat

_EXPECTED_FILE = pathlib.Path(__file__).parent / "notebooks" / "expected_outputs.json"
_EXPECTED = json.loads(_EXPECTED_FILE.read_text(encoding="utf-8"))


def pytest_collection_modifyitems(items):
    for item in items:
        cell = getattr(item, "cell", None)
        if cell is None or not getattr(item, "options", {}).get("check"):
            continue
        text = _EXPECTED.get(pathlib.Path(str(item.fspath)).name, {}).get(cell.get("id"))
        cell.execution_count = 1
        cell.outputs = [] if text is None else [nbformat.v4.new_output("stream", name="stdout", text=text)]
