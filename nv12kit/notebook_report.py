"""Run a notebook and export it as one self-contained HTML report.

``nv12kit report NOTEBOOK [-p NAME VALUE ...] -o out.html`` (and
:func:`render_notebook`) executes a notebook top to bottom with nbclient (papermill
first injects the parameters, if any, after the cell tagged
``parameters``, as ``papermill -p`` does), then exports it with nbconvert:

* no code: input cells and prompts are left out; markdown and outputs stay;
* no widgets: cells tagged ``widget`` or ``remove_cell`` are removed (the
  guided notebooks pair each widget cell with a static figure), and any
  other widget view or JavaScript output is dropped, as is the widget state;
* nothing online: the page is built on nbconvert's ``basic`` template
  inside a minimal page of our own with an inline style sheet, so there is
  no require.js, MathJax or web font; figures are inline PNG (``data:``
  URIs); links to the web are turned into plain text. Before the file is
  written, every ``src``/``href`` is checked (:func:`external_references`),
  so the report opens offline and can be attached to a ticket.

This module imports papermill, nbclient, nbformat and nbconvert only inside
its functions; they come with ``pip install 'nv12kit[notebooks]'``.
"""

from __future__ import annotations

import copy
import datetime as _dt
import html
import json
import os
import pathlib
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from html.parser import HTMLParser
from typing import Any

from .errors import InputError, NV12KitError

__all__ = [
    "REMOVED_TAGS",
    "NotebookError",
    "render_notebook",
    "export_html",
    "external_references",
    "parse_parameters",
]

#: Cells with one of these tags are left out of the report (interactive widgets, scaffolding).
REMOVED_TAGS: tuple[str, ...] = ("widget", "remove_cell")

# Output types that need a live kernel or a script to mean anything; never written to a report.
_DROPPED_MIMETYPES = (
    "application/vnd.jupyter.widget-view+json",
    "application/vnd.jupyter.widget-state+json",
    "application/javascript",
    "text/javascript",
)

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1150px;color:#222;
line-height:1.45;padding:0 1em}
h1{font-size:1.7em} h2{font-size:1.3em;margin-top:1.6em;border-bottom:1px solid #ddd} h3{font-size:1.1em}
a.anchor-link{display:none}
pre{background:#f6f8fa;padding:.6em .8em;overflow-x:auto;border-radius:4px;font-size:.88em;line-height:1.35}
code{background:#f3f3f3;padding:0 .25em;border-radius:3px} pre code{background:none;padding:0}
.output_stderr pre,.output_error pre{background:#fdecea}
img{max-width:100%;height:auto} .output_png img{border:1px solid #eee}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em} th,td{border:1px solid #ddd;padding:.25em .6em;
text-align:left;vertical-align:top} th{background:#f5f5f5}
.output_area,.output_subarea{margin:.4em 0} blockquote{border-left:4px solid #ddd;margin-left:0;padding-left:1em;
color:#555}
footer{margin-top:3em;border-top:1px solid #ddd;color:#666;font-size:.85em}
"""

_ATTRIBUTES = ("src", "href", "srcset", "poster", "data", "action", "formaction", "background", "xlink:href")
_EXTERNAL = re.compile(r"^\s*(?:[a-z][a-z0-9+.\-]*:|//|\\\\)", re.IGNORECASE)
_LOCAL_SCHEMES = ("data:", "#", "about:blank", "javascript:void(0)")
_CSS_URL = re.compile(r"url\(\s*['\"]?\s*([^'\")\s]+)", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"@import\s+['\"]([^'\"]+)", re.IGNORECASE)


class NotebookError(NV12KitError):
    """A cell raised while the notebook ran; the message names the cell and the error."""


# ----------------------------------------------------------------------------
# offline check
# ----------------------------------------------------------------------------
def _is_external(url: str) -> bool:
    value = html.unescape(url).strip()
    if not value or value.lower().startswith(_LOCAL_SCHEMES):
        return False
    # Any scheme (http:, https:, file:, ftp:...), protocol-relative //host or a UNC path leaves the file.
    return bool(_EXTERNAL.match(value))


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in _ATTRIBUTES:
                candidates = [part.split()[0] for part in value.split(",") if part.strip()] if name == "srcset" else [
                    value]
                self.found += [f"<{tag} {name}={c}>" for c in candidates if _is_external(c)]
            elif name == "style":
                self.found += [f"<{tag} style=url({u})>" for u in _CSS_URL.findall(value) if _is_external(u)]
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.found += [f"<style> url({u})" for u in _CSS_URL.findall(data) if _is_external(u)]
            self.found += [f"<style> @import {u}" for u in _CSS_IMPORT.findall(data)]


def external_references(page: str) -> list[str]:
    """Every reference in an HTML page that points outside it: ``src``/``href`` & co., CSS ``url()``, ``@import``.

    ``data:`` URIs and in-page anchors (``#...``) are fine; anything with a
    scheme (``http:``, ``https:``, ``file:``...), a protocol-relative ``//``
    or a relative path to another file is reported.

    Parameters
    ----------
    page : str
        The HTML text.

    Returns
    -------
    list of str
        One entry per reference, e.g. ``"<script src=https://cdn...>"``;
        empty for a self-contained page.

    Examples
    --------
    >>> external_references("<img src='data:image/png;base64,AAAA'><a href='#step-1'>step 1</a>")
    []
    >>> external_references("<script src='https://cdn.example/require.js'></script><link href=//x/y.css>")
    ['<script src=https://cdn.example/require.js>', '<link href=//x/y.css>']
    >>> external_references("<img src='figure.png'>")
    ['<img src=figure.png>']
    """
    parser = _References()
    parser.feed(page)
    parser.close()
    found = parser.found
    # A relative path (figure.png, ../style.css) needs another file next to the report: not self-contained.
    relative = _RelativeReferences()
    relative.feed(page)
    relative.close()
    return found + relative.found


class _RelativeReferences(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "poster", "data") and value is not None:
                v = value.strip()
                if v and not _is_external(v) and not v.lower().startswith(_LOCAL_SCHEMES):
                    self.found.append(f"<{tag} {name}={v}>")


_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9:-]*)((?:\s+[^\s=>]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*)\s*/?>")
_ATTR = re.compile(r"([^\s=>]+)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+))?")


def _make_offline(page: str) -> str:
    """Remove external scripts and style sheets, keep the text of external links, blank external images."""
    page = re.sub(r"<script\b[^>]*\bsrc\s*=[^>]*>\s*</script>", "", page, flags=re.IGNORECASE)

    def fix(match: re.Match[str]) -> str:
        tag, attrs = match.group(1), match.group(2) or ""
        kept, changed, url = [], False, ""
        for attr in _ATTR.finditer(attrs):
            name, raw = attr.group(1), attr.group(2)
            value = raw[1:-1] if raw and raw[0] in "'\"" else (raw or "")
            bad = name.lower() in _ATTRIBUTES and (_is_external(value) or (
                name.lower() in ("src", "href") and value.strip() and not value.strip().lower().startswith(
                    _LOCAL_SCHEMES)))
            if bad:
                changed, url = True, value
                continue
            kept.append(attr.group(0))
        if not changed:
            return match.group(0)
        lower = tag.lower()
        if lower in ("link", "script", "iframe", "embed", "object"):
            return ""
        if lower == "a":
            kept.append(f'title="{html.escape(html.unescape(url), quote=True)}"')
        if lower == "img":
            kept.append('data-offline="external image left out"')
        return f"<{tag} {' '.join(kept)}>" if kept else f"<{tag}>"

    return _TAG.sub(fix, page)


# ----------------------------------------------------------------------------
# export
# ----------------------------------------------------------------------------
def _clean(nb: Any) -> Any:
    """A copy without widget state, widget views and scripts, and without cells tagged REMOVED_TAGS."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    cells = []
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & set(REMOVED_TAGS):
            continue
        if cell.get("cell_type") == "code":
            outputs = []
            for output in cell.get("outputs", []):
                data = output.get("data")
                if data is not None:
                    if any(m in data for m in _DROPPED_MIMETYPES[:2]):
                        continue  # a widget: its text/plain is only "VBox(children=...)"
                    for mimetype in _DROPPED_MIMETYPES:
                        data.pop(mimetype, None)
                    if not data:
                        continue
                outputs.append(output)
            cell["outputs"] = outputs
        cells.append(cell)
    nb.cells = cells
    return nb


def _title(nb: Any, fallback: str) -> str:
    for cell in nb.cells:
        if cell.get("cell_type") == "markdown":
            for line in cell.get("source", "").splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def export_html(nb: Any, *, title: str | None = None, footer: str = "") -> str:
    """An executed notebook as a self-contained HTML page: no code, no widgets, nothing loaded from outside.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The executed notebook (not modified).
    title : str, optional
        The page title; by default the first ``# heading`` of the notebook.
    footer : str, optional
        Text (escaped) for the footer, e.g. how the report was made.

    Returns
    -------
    str
        The HTML page.

    Raises
    ------
    NV12KitError
        If, against expectations, an external reference survived (a bug:
        the page is not written then).
    """
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    cleaned = _clean(nb)
    exporter = HTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, embed_images=True)
    # _clean already dropped these cells; the preprocessor is the same rule in nbconvert's own terms.
    exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags=set(REMOVED_TAGS), enabled=True),
                                   enabled=True)
    body, _ = exporter.from_notebook_node(cleaned)
    heading = title or _title(cleaned, "notebook report")
    tail = f"<footer><p>{html.escape(footer)}</p></footer>" if footer else ""
    page = (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{html.escape(heading)}</title>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{_STYLE}</style></head>"
            f"<body><main class='nv12kit-notebook'>{body}</main>{tail}</body></html>\n")
    page = _make_offline(page)
    left = external_references(page)
    if left:
        raise NV12KitError(f"the exported page still refers to {len(left)} outside resource(s), e.g. {left[:3]}; "
                           "this is a bug in nv12kit.notebook_report, please report it")
    return page


# ----------------------------------------------------------------------------
# execution
# ----------------------------------------------------------------------------
def _check_parameters(nb: Any, parameters: Mapping[str, Any]) -> None:
    from papermill.inspection import inspect_notebook

    known = inspect_notebook(nb)
    if not known:
        raise InputError("the notebook has no cell tagged 'parameters', so it cannot take -p values; tag the cell "
                         "holding its settings 'parameters' (papermill's convention)")
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        raise InputError(f"unknown parameter(s) {unknown}; this notebook takes: {', '.join(known)}")


def _execute(nb: Any, *, parameters: Mapping[str, Any] | None, timeout: float, kernel_name: str | None,
             cwd: pathlib.Path, name: str) -> Any:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    if parameters:
        # papermill writes the values into a cell tagged "injected-parameters" after the "parameters" cell;
        # nbclient runs the result, with or without parameters alike.
        from papermill.parameterize import parameterize_notebook

        _check_parameters(nb, parameters)
        nb.metadata["papermill"] = nbformat.from_dict({})
        for cell in nb.cells:  # papermill reads cell.metadata.tags on every cell
            cell.metadata.setdefault("tags", [])
        nb = parameterize_notebook(nb, dict(parameters), kernel_name=kernel_name)
    options: dict[str, Any] = {"timeout": timeout, "resources": {"metadata": {"path": str(cwd)}}}
    if kernel_name:
        options["kernel_name"] = kernel_name
    try:
        return NotebookClient(nb, **options).execute()
    except CellExecutionError as exc:
        raise NotebookError(f"{name}: a cell raised {exc.ename}: {exc.evalue}; no report was written") from exc


def render_notebook(
    notebook: str | os.PathLike[str],
    output_html: str | os.PathLike[str],
    *,
    parameters: Mapping[str, Any] | None = None,
    timeout: float = 600,
    kernel_name: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
    executed_notebook: str | os.PathLike[str] | None = None,
) -> pathlib.Path:
    """Execute a notebook and write it as a self-contained HTML report.

    Parameters
    ----------
    notebook : str or os.PathLike
        The ``.ipynb`` file; never modified.
    output_html : str or os.PathLike
        The report to write (atomically).
    parameters : mapping, optional
        Values for the notebook's ``parameters`` cell, injected by papermill
        in a cell after it (as ``papermill -p`` does). Names the cell does not
        define are refused.
    timeout : float, optional
        Seconds a single cell may run.
    kernel_name : str, optional
        The Jupyter kernel; by default the notebook's own (``python3``,
        which runs this very Python).
    cwd : str or os.PathLike, optional
        Working directory of the kernel; by default the current one, so
        relative paths given as parameters mean what they mean to you.
    executed_notebook : str or os.PathLike, optional
        Also save the executed notebook (with outputs) here.

    Returns
    -------
    pathlib.Path
        The report written.

    Raises
    ------
    InputError
        The notebook is missing or unreadable, the output would overwrite
        it, or a parameter is unknown.
    NotebookError
        A cell raised; the message names the error, and nothing is written.

    Notes
    -----
    See the module documentation for what the report leaves out. The
    footer records the notebook, the parameters and the execution time.
    """
    import nbformat

    source = pathlib.Path(notebook)
    if not source.is_file():
        raise InputError(f"notebook {str(notebook)!r} does not exist")
    if source.suffix != ".ipynb":
        raise InputError(f"{str(notebook)!r} is not a notebook (.ipynb)")
    target = pathlib.Path(output_html)
    for other in (target, pathlib.Path(executed_notebook) if executed_notebook else None):
        if other is not None and other.exists() and other.resolve() == source.resolve():
            raise InputError(f"{str(other)!r} is the notebook itself; write the report somewhere else")
    try:
        nb = nbformat.read(source, as_version=4)
    except Exception as exc:  # noqa: BLE001 - nbformat raises several kinds for a corrupt file
        raise InputError(f"cannot read notebook {str(notebook)!r}: {exc}") from exc
    from ._io import atomic_write

    started = time.perf_counter()
    executed = _execute(nb, parameters=parameters, timeout=timeout, kernel_name=kernel_name,
                        cwd=pathlib.Path(cwd) if cwd is not None else pathlib.Path.cwd(), name=source.name)
    seconds = time.perf_counter() - started
    given = ", ".join(f"{k} = {v!r}" for k, v in (parameters or {}).items()) or "the defaults"
    stamp = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    from . import __version__

    footer = (f"Rendered from {source.name} with {given}; executed in {seconds:.1f} s on {stamp} by nv12kit "
              f"{__version__}.")
    page = export_html(executed, footer=footer)
    if executed_notebook is not None:
        atomic_write(executed_notebook, nbformat.writes(executed).encode("utf-8"))
    return atomic_write(target, page.encode("utf-8"))


# ----------------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------------
def parse_parameters(pairs: Iterable[Sequence[str]]) -> dict[str, Any]:
    """``-p NAME VALUE`` pairs as a dict: each value is JSON if it parses (numbers, lists, null...), else a string.

    Raises
    ------
    InputError
        A name that is not a Python identifier, or given twice.

    Examples
    --------
    >>> parse_parameters([("model_path", "my.onnx"), ("trials", "20"), ("image_paths", '["a.jpg"]')])
    {'model_path': 'my.onnx', 'trials': 20, 'image_paths': ['a.jpg']}
    """
    values: dict[str, Any] = {}
    for name, text in pairs:
        if not name.isidentifier():
            raise InputError(f"parameter name {name!r} is not a Python name")
        if name in values:
            raise InputError(f"parameter {name!r} is given twice")
        try:
            values[name] = json.loads(text)
        except ValueError:
            values[name] = text
    return values
