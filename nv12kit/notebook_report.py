"""Run a notebook and export it as one self-contained HTML report.

``nv12kit report NOTEBOOK [-p NAME VALUE ...] -o out.html`` (and
:func:`render_notebook`) executes a notebook top to bottom with nbclient (papermill
first injects the parameters, if any, after the cell tagged
``parameters``, as ``papermill -p`` does), then exports it with nbconvert:

* no code: input cells and prompts are left out; markdown and outputs stay;
* no widgets: cells tagged ``widget`` or ``remove_cell`` are removed (the
  guided notebooks pair each widget cell with a static figure), and any
  other widget view or JavaScript output is dropped, as is the widget state;
* nothing online, nothing live: the page is built on nbconvert's ``basic``
  template inside a minimal page of our own with an inline style sheet, so
  there is no require.js, MathJax or web font; figures are inline images
  (``data:`` URIs); links to the web are turned into plain text (the
  address as a tooltip). The body is sanitised with an allow-list
  (:func:`nv12kit.report.sanitize_html`): raw HTML in markdown cells and
  ``display(HTML(...))`` outputs lose scripts, event handlers, frames,
  objects, forms, meta refresh, ``javascript:`` links, outside images and
  CSS. Before the file is written the page is checked once more
  (:func:`external_references`), so the report opens offline, runs nothing
  and can be attached to a ticket;
* no noise: stderr lines that are known third-party chatter (onnxruntime's
  own log lines, the quantiser's "Expected bias ... to be an initializer")
  are left out of the page; anything else written to stderr, and every
  error output, stays. The kernel is started with CurveZMQ transport
  encryption where jupyter_client and pyzmq support it, and its start-up
  warning about plain TCP is kept off your terminal.

This module imports papermill, nbclient, nbformat and nbconvert only inside
its functions; they come with ``pip install 'nv12kit[notebooks]'``.
"""

from __future__ import annotations

import base64
import copy
import datetime as _dt
import html
import json
import os
import pathlib
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ._util import progress as progress_bar
from .errors import InputError, NV12KitError
from .report import _STYLE as _REPORT_STYLE
from .report import _normal_url, _url_problem, external_references, sanitize_html

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

# Outside links whose address is worth keeping as a tooltip when the link itself goes.
_LINK_SCHEMES = ("http:", "https:", "ftp:", "mailto:")
_RASTER_MIMETYPES = ("image/png", "image/jpeg", "image/gif", "text/html")

# Known third-party chatter in a cell's stderr, left out of the page line by line (anything else stays):
# onnxruntime's C++ log lines below error level ("2024-05-01 10:00:00.123 [W:onnxruntime:, graph.cc:4285 ...]
# Removing initializer 'x'...", in ANSI colour), which reach a cell because ipykernel captures the kernel's file
# descriptor 2, and the warning onnxruntime.quantization logs through the root logger for every Conv/Gemm whose bias
# is computed.
# nv12kit silences both inside its own calls; this is the safety net for a notebook that calls them directly.
_STDERR_NOISE = re.compile(
    r"^\s*(?:(?:\x1b\[[0-9;]*m)?\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \[[VIW]:onnxruntime:.*"
    r"|(?:WARNING:root:)?Expected bias '.*' to be an initializer)\s*$")

# The one line the kernel itself (not a cell) prints at start-up on a plain-TCP channel, ipykernel >= 7
# (kernelapp.init_sockets). It says nothing about the notebook, so it is kept off the caller's terminal; every other
# line the kernel process writes to its stderr is passed on.
_KERNEL_TCP_WARNING = re.compile(r"^\[IPKernelApp\] WARNING \| Kernel is running over TCP without encryption\.")


class NotebookError(NV12KitError):
    """A cell raised while the notebook ran; the message names the cell and the error."""


# ----------------------------------------------------------------------------
# offline check
# ----------------------------------------------------------------------------
# external_references (the checker) lives in nv12kit.report, next to the sanitiser, so that every page
# writer below this module uses the same one; it is re-exported here, where it was first documented.


_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9:-]*)((?:\s+[^\s=>]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*)\s*/?>")
_ATTR = re.compile(r"([^\s=>]+)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+))?")


def _make_offline(page: str) -> str:
    """Mark outside links and images before sanitising: a web link keeps its address as a tooltip.

    Only a courtesy to the reader; :func:`~nv12kit.report.sanitize_html`
    does the removing (the link keeps its words, the image its place).
    """

    def fix(match: re.Match[str]) -> str:
        tag, attrs = match.group(1), match.group(2) or ""
        lower, extra = tag.lower(), ""
        if lower not in ("a", "img"):
            return match.group(0)
        for attr in _ATTR.finditer(attrs):
            name, raw = attr.group(1).lower(), attr.group(2)
            value = raw[1:-1] if raw and raw[0] in "'\"" else (raw or "")
            if lower == "a" and name == "href" and _normal_url(value).lower().startswith(_LINK_SCHEMES):
                extra = f' title="{html.escape(_normal_url(value), quote=True)}"'
            elif lower == "img" and name == "src" and _url_problem(value):
                extra = ' data-offline="external image left out"'
        return f"<{tag}{attrs}{extra}>" if extra else match.group(0)

    return _TAG.sub(fix, page)


# ----------------------------------------------------------------------------
# export
# ----------------------------------------------------------------------------
def _clean(nb: Any) -> Any:
    """A copy without widget state, widget views and scripts, and without cells tagged REMOVED_TAGS.

    Known third-party lines are taken out of stderr streams (see
    :data:`_STDERR_NOISE`); error outputs are never touched.

    An SVG figure becomes an ``<img>`` with a ``data:image/svg+xml`` URI
    (inline ``<svg>`` markup could carry scripts, so the sanitiser drops it;
    in an image it cannot run or load anything), unless a raster or HTML
    form of the same output is there.
    """
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
                if output.get("output_type") == "stream" and output.get("name") == "stderr":
                    output = _without_noise(output)
                    if output is None:
                        continue
                data = output.get("data")
                if data is not None:
                    if any(m in data for m in _DROPPED_MIMETYPES[:2]):
                        continue  # a widget: its text/plain is only "VBox(children=...)"
                    for mimetype in _DROPPED_MIMETYPES:
                        data.pop(mimetype, None)
                    svg = data.pop("image/svg+xml", None)
                    if svg is not None and not any(m in data for m in _RASTER_MIMETYPES):
                        text = svg if isinstance(svg, str) else "".join(svg)
                        uri = "data:image/svg+xml;base64," + base64.b64encode(text.encode("utf-8")).decode("ascii")
                        data["text/html"] = f'<img alt="figure" src="{uri}">'
                    if not data:
                        continue
                outputs.append(output)
            cell["outputs"] = outputs
        cells.append(cell)
    nb.cells = cells
    return nb


def _without_noise(output: Any) -> Any | None:
    """A stderr stream output without its known third-party lines; None when nothing else is left."""
    text = output.get("text", "")
    text = text if isinstance(text, str) else "".join(text)
    kept = [line for line in text.splitlines(keepends=True) if not _STDERR_NOISE.match(line)]
    if not "".join(kept).strip():
        return None
    output["text"] = "".join(kept)
    return output


def _title(nb: Any, fallback: str) -> str:
    for cell in nb.cells:
        if cell.get("cell_type") == "markdown":
            for line in cell.get("source", "").splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def export_html(nb: Any, *, title: str | None = None, footer: str = "") -> str:
    """An executed notebook as a self-contained HTML page: no code, no widgets, nothing loaded from outside.

    The notebook's markdown and outputs are sanitised
    (:func:`nv12kit.report.sanitize_html`): no scripts, event handlers,
    frames, objects, forms, meta refresh, ``javascript:`` or outside links
    and images survive, whatever raw HTML the cells carry.

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
        If, against expectations, a script or an external reference
        survived (a bug: the page is not written then).
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
    # Everything the notebook brought (markdown, outputs) is sanitised; our style sheets, title and footer are
    # added afterwards. The triage report's style comes along because its fragments lose their <style>.
    body = sanitize_html(_make_offline(body))
    heading = title or _title(cleaned, "notebook report")
    tail = f"<footer><p>{html.escape(footer)}</p></footer>" if footer else ""
    page = (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{html.escape(heading)}</title>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{_STYLE}{_REPORT_STYLE}"
            f"</style></head><body><main class='nv12kit-notebook'>{body}</main>{tail}</body></html>\n")
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
             cwd: pathlib.Path, name: str, on_cell: Callable[[], Any] | None = None) -> Any:
    import nbformat
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    seconds = _cell_timeout(timeout)
    if parameters:
        # papermill writes the values into a cell tagged "injected-parameters" after the "parameters" cell;
        # nbclient runs the result, with or without parameters alike.
        from papermill.parameterize import parameterize_notebook

        if not (nb.metadata.get("kernelspec") or {}).get("name"):
            # papermill needs the kernel's language to read and write the values; without a kernelspec it has none.
            raise InputError(f"{name} has no kernelspec in its metadata, so the language of its -p values is "
                             "unknown; open it in Jupyter, pick a kernel and save it (or add metadata.kernelspec)")
        _check_parameters(nb, parameters)
        nb.metadata["papermill"] = nbformat.from_dict({})
        for cell in nb.cells:  # papermill reads cell.metadata.tags on every cell
            cell.metadata.setdefault("tags", [])
        nb = parameterize_notebook(nb, dict(parameters), kernel_name=kernel_name)
    options: dict[str, Any] = {"timeout": seconds, "resources": {"metadata": {"path": str(cwd)}}}
    if kernel_name:
        options["kernel_name"] = kernel_name
    if on_cell is not None:
        options["on_cell_executed"] = lambda **_: on_cell()
    try:
        with _kernel_stderr() as stderr:
            return NotebookClient(nb, **options).execute(stderr=stderr, **_kernel_start_options())
    except CellExecutionError as exc:
        raise NotebookError(f"{name}: a cell raised {exc.ename}: {exc.evalue}; no report was written") from exc
    except CellTimeoutError as exc:
        raise InputError(f"{name}: a cell ran longer than the timeout of {seconds} s; raise --timeout (timeout=) "
                         "or give the notebook less work; no report was written") from exc
    except NoSuchKernel as exc:
        raise InputError(_no_kernel_message(name, kernel_name or str(exc.args[0] if exc.args else ""))) from exc
    except DeadKernelError as exc:
        raise InputError(f"{name}: the Jupyter kernel died while running (out of memory, or killed); free memory "
                         "or give the notebook less work; no report was written") from exc


def _runnable_cells(nb: Any) -> int:
    """How many cells nbclient will run: code cells with some source."""
    return sum(1 for cell in nb.cells if cell.get("cell_type") == "code" and str(cell.get("source", "")).strip())


def _kernel_start_options() -> dict[str, Any]:
    """Start the kernel with CurveZMQ keys when jupyter_client and pyzmq can: the channel is encrypted.

    ``transport_encryption="auto"`` (jupyter_client >= 8.9) provisions keys
    only for kernels whose kernelspec declares ``supported_encryption:
    curve`` (ipykernel >= 7); older clients do not know the option, so it
    is only passed when they do.
    """
    try:
        import zmq
        from jupyter_client.manager import KernelManager
    except ImportError:  # pragma: no cover - both come with nbclient
        return {}
    if "transport_encryption" in KernelManager.class_trait_names() and zmq.has("curve"):
        return {"transport_encryption": "auto"}
    return {}


class _kernel_stderr:  # noqa: N801 - used as a context manager, like a function
    """The kernel process's own stderr, passed on to our fd 2 when it ends, minus its plain-TCP start-up warning.

    A cell's output never goes there (ipykernel captures it for the
    notebook); only the kernel's start-up and shutdown messages do. They
    are passed on when the run ends, kernel crashes included, so a
    progress bar is not broken by them.
    """

    def __enter__(self) -> Any:
        self._file = tempfile.TemporaryFile()
        return self._file

    def __exit__(self, *exc: object) -> None:
        try:
            self._file.seek(0)
            text = self._file.read().decode("utf-8", errors="replace")
        finally:
            self._file.close()
        kept = [line for line in text.splitlines(keepends=True) if not _KERNEL_TCP_WARNING.match(line)]
        if kept:
            # Where the kernel would have written them itself: the process's file descriptor 2.
            sys.stderr.flush()
            os.write(2, "".join(kept).encode("utf-8", errors="replace"))


def _cell_timeout(timeout: float | None) -> int | None:
    """nbclient counts whole seconds: refuse less than one, round a fraction up; None means no limit."""
    if timeout is None:
        return None
    try:
        value = float(timeout)
    except (TypeError, ValueError) as exc:
        raise InputError(f"timeout must be a number of seconds, got {timeout!r}") from exc
    if not value >= 1 or value == float("inf"):
        raise InputError(f"timeout {timeout!r} s: give at least 1 second per cell (e.g. --timeout 600); "
                         "nbclient counts whole seconds")
    return int(-(-value // 1))


def _no_kernel_message(name: str, wanted: str) -> str:
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        installed = ", ".join(sorted(KernelSpecManager().find_kernel_specs())) or "none"
    except Exception:  # noqa: BLE001 - only for the message
        installed = "unknown"
    return (f"{name}: no Jupyter kernel named {wanted!r} is installed (installed: {installed}); pass --kernel "
            "(kernel_name=) with one of those, or install it (python -m ipykernel install --user)")


def render_notebook(
    notebook: str | os.PathLike[str],
    output_html: str | os.PathLike[str],
    *,
    parameters: Mapping[str, Any] | None = None,
    timeout: float = 600,
    kernel_name: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
    executed_notebook: str | os.PathLike[str] | None = None,
    progress: bool = True,
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
    progress : bool, optional
        A ``tqdm.auto`` progress bar (on stderr) over the cells run and the
        export, when tqdm is installed; ``nv12kit report --quiet`` turns it off.

    Returns
    -------
    pathlib.Path
        The report written.

    Raises
    ------
    InputError
        The notebook is missing or unreadable, the output would overwrite
        it, or a parameter is unknown; the timeout is under 1 s or a cell
        ran past it; the kernel is not installed or died; parameters are
        given to a notebook without a kernelspec.
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

    _cell_timeout(timeout)  # a bad timeout is refused before a bar or a kernel starts
    started = time.perf_counter()
    # One step per cell run (papermill adds one for the parameters) and one for the export.
    steps = _runnable_cells(nb) + (1 if parameters else 0) + 1
    with progress_bar(desc=f"report {source.name}", total=steps, unit="step", enabled=progress) as bar:
        executed = _execute(nb, parameters=parameters, timeout=timeout, kernel_name=kernel_name,
                            cwd=pathlib.Path(cwd) if cwd is not None else pathlib.Path.cwd(), name=source.name,
                            on_cell=bar.update)
        seconds = time.perf_counter() - started
        given = ", ".join(f"{k} = {v!r}" for k, v in (parameters or {}).items()) or "the defaults"
        stamp = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
        from . import __version__

        footer = (f"Rendered from {source.name} with {given}; executed in {seconds:.1f} s on {stamp} by nv12kit "
                  f"{__version__}.")
        page = export_html(executed, footer=footer)
        bar.update(1)
    if executed_notebook is not None:
        atomic_write(executed_notebook, nbformat.writes(executed).encode("utf-8"))
    return atomic_write(target, page.encode("utf-8"))


# ----------------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------------
# How a list of paths is written on the command line (the form the list-parameter errors show).
_LIST_FORM = '\'["a.jpg", "b.jpg"]\''


def parse_parameters(
    pairs: Iterable[Sequence[str]],
    *,
    notebook: str | os.PathLike[str] | None = None,
    list_parameters: Iterable[str] | None = None,
) -> dict[str, Any]:
    """``-p NAME VALUE`` pairs as a dict: each value is JSON if it parses (numbers, lists, null...), else a string.

    Parameters
    ----------
    pairs : iterable of (str, str)
        The ``-p NAME VALUE`` pairs as given.
    notebook : str or os.PathLike, optional
        The notebook they are for. Its ``parameters`` cell is read (not
        run): names it does not define are refused here, before anything
        runs, and the parameters meant as lists are found (see Notes).
    list_parameters : iterable of str, optional
        Names meant as lists, in addition to those found in ``notebook``.

    Returns
    -------
    dict
        Name to value.

    Raises
    ------
    InputError
        A name that is not a Python identifier, given twice, or unknown to
        ``notebook``; a list parameter given a value that is not a list
        or one path.

    Notes
    -----
    A parameter is meant as a list when its default in the notebook is
    one (``[...]``, a list comprehension, ``list(...)``) or its name ends
    in ``_paths``. For such a parameter, a JSON list or ``null`` is taken
    as it is; **one plain path** (a value that is not JSON, such as
    ``frame.jpg``, or a JSON string) becomes a one-element list, so the
    notebook never walks a path character by character. Anything else
    (a number, ``true``, an object, or a bracketed value that is not
    valid JSON, such as ``[a.jpg, b.jpg]``) is refused with the expected
    form, ``'["a.jpg", "b.jpg"]'``.

    Examples
    --------
    >>> parse_parameters([("model_path", "my.onnx"), ("trials", "20"), ("image_paths", '["a.jpg"]')])
    {'model_path': 'my.onnx', 'trials': 20, 'image_paths': ['a.jpg']}
    >>> parse_parameters([("image_paths", "frame.jpg")], list_parameters=["image_paths"])
    {'image_paths': ['frame.jpg']}
    """
    pairs = list(pairs)
    lists = set(list_parameters or ())
    known: list[str] | None = None
    if notebook is not None and pairs:  # without -p values the notebook needs no parameters cell
        known, found = _notebook_parameters(notebook)
        lists |= found
    values: dict[str, Any] = {}
    for name, text in pairs:
        if not name.isidentifier():
            raise InputError(f"parameter name {name!r} is not a Python name")
        if name in values:
            raise InputError(f"parameter {name!r} is given twice")
        if known is not None and name not in known:
            raise InputError(f"unknown parameter(s) {[name]}; this notebook takes: {', '.join(known)}")
        try:
            value: Any = json.loads(text)
            parsed = True
        except ValueError:
            value, parsed = text, False
        if name in lists or name.endswith("_paths"):
            value = _as_list_parameter(name, text, value, parsed)
        values[name] = value
    return values


def _as_list_parameter(name: str, text: str, value: Any, parsed: bool) -> Any:
    """The value of a list parameter: a list, None, or one path made a one-element list; else refused."""
    if value is None or isinstance(value, list):
        return value
    if parsed and not isinstance(value, str):
        raise InputError(f"-p {name} expects a list of paths, e.g. -p {name} {_LIST_FORM}, or one path; "
                         f"got {text!r}")
    if not parsed and text.lstrip().startswith("["):
        raise InputError(f"-p {name} {text!r} is not a JSON list; write it as -p {name} {_LIST_FORM} "
                         "(double quotes inside, single quotes around for the shell), or give one path")
    if not str(value).strip():
        raise InputError(f"-p {name} is empty; give a path or a list, e.g. -p {name} {_LIST_FORM}")
    return [value]


def _notebook_parameters(notebook: str | os.PathLike[str]) -> tuple[list[str], set[str]]:
    """The names of a notebook's parameters, and those whose default is a list (read, not run)."""
    import ast

    import nbformat
    from papermill.inspection import inspect_notebook

    source = pathlib.Path(notebook)
    if not source.is_file():
        raise InputError(f"notebook {str(notebook)!r} does not exist")
    try:
        nb = nbformat.read(source, as_version=4)
    except Exception as exc:  # noqa: BLE001 - nbformat raises several kinds for a corrupt file
        raise InputError(f"cannot read notebook {str(notebook)!r}: {exc}") from exc
    if not (nb.metadata.get("kernelspec") or {}).get("name"):
        raise InputError(f"{source.name} has no kernelspec in its metadata, so the language of its -p values is "
                         "unknown; open it in Jupyter, pick a kernel and save it (or add metadata.kernelspec)")
    try:
        found = inspect_notebook(nb)
    except Exception as exc:  # noqa: BLE001 - papermill raises several kinds for a cell it cannot parse
        raise InputError(f"cannot read the parameters of notebook {str(notebook)!r}: {exc}") from exc
    if not found:
        raise InputError("the notebook has no cell tagged 'parameters', so it cannot take -p values; tag the cell "
                         "holding its settings 'parameters' (papermill's convention)")
    lists = set()
    for name, info in found.items():
        try:
            node = ast.parse(str(info.get("default") or ""), mode="eval").body
        except SyntaxError:
            continue
        if isinstance(node, (ast.List, ast.ListComp)) or (
                isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("list", "sorted")):
            lists.add(name)
    return list(found), lists
