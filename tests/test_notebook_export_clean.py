"""What the user sees: a clean exported notebook, a quiet terminal, pickers that drive the cells, `make lab`.

Issue 18: an exported report carries no stderr blocks from our own code (onnxruntime and quantiser chatter), the
kernel's "TCP without encryption" warning never reaches the terminal, error outputs still show, the model picker
of notebook 01 changes what the cells below it use, and `make lab` starts JupyterLab, also as root.
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from nv12kit.data import model_path, photo_path, photo_paths
from nv12kit.errors import InputError
from nv12kit.explore.session_state import NotebookSelection
from nv12kit.notebook_report import _clean, _kernel_stderr, export_html, render_notebook

ROOT = pathlib.Path(__file__).resolve().parents[1]
GUIDED = ROOT / "notebooks" / "01_guided_triage.ipynb"
STAMP = ".venv/.installed"
# How nbconvert marks a stderr stream in the page (the basic template: classic classes; the lab template: a mime type).
STDERR_MARKS = ("output_stderr", "application/vnd.jupyter.stderr")
KERNEL_SPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def _stderr_outputs(nb: nbformat.NotebookNode) -> list[str]:
    return ["".join(o.get("text", "")) for c in nb.cells for o in c.get("outputs", [])
            if o.get("output_type") == "stream" and o.get("name") == "stderr"]


# ----------------------------------------------------------------------------
# the export of notebook 01, through the command line
# ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """``nv12kit report`` on notebook 01 with the demo parameters (one frame, fewer trials to keep it short)."""
    folder = tmp_path_factory.mktemp("clean")
    out, executed = folder / "guided.html", folder / "guided.ipynb"
    command = [sys.executable, "-m", "nv12kit.cli", "report", str(GUIDED), "--quiet", "-o", str(out),
               "--executed", str(executed), "-p", "model_path", str(model_path("demo_robust")),
               "-p", "image_paths", str(photo_path("coffee")), "-p", "trials", "4"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=folder)
    assert done.returncode == 0, done.stderr
    return out.read_text(encoding="utf-8"), nbformat.read(executed, as_version=4), done.stderr


def test_exported_notebook_has_no_stderr_output_blocks(exported):
    page, executed, _ = exported
    for mark in STDERR_MARKS:
        assert mark not in page.split("</style>", 1)[1], f"a stderr block ({mark}) reached the report"
    # Not only filtered at export: nothing the cells ran (all nv12kit calls) wrote to stderr at all.
    assert _stderr_outputs(executed) == []
    assert "verdict: healthy" in page


def test_report_command_prints_no_kernel_warning_and_nothing_else_when_quiet(exported):
    _, _, stderr = exported
    assert "without encryption" not in stderr
    assert stderr.strip() == "", stderr  # --quiet: no bar either


# ----------------------------------------------------------------------------
# what the export keeps and drops
# ----------------------------------------------------------------------------
BIAS_LINE = "Expected bias 'b' to be an initializer\n"  # onnxruntime.quantization, through the root logger
ORT_LINE = ("2024-05-01 10:00:00.123456 [W:onnxruntime:, graph.cc:4285 CleanUnusedInitializersAndNodeArgs] "
            "Removing initializer 'conv.bias'. It is not used by any node and should be removed from the model.\n")
COLOURED = "\x1b[0;93m" + ORT_LINE.rstrip("\n") + "\x1b[m\n"  # as onnxruntime writes it in a kernel


def _noisy_notebook() -> nbformat.NotebookNode:
    return new_notebook(cells=[
        new_markdown_cell("# Noise"),
        new_code_cell("x", outputs=[new_output("stream", name="stderr", text=ORT_LINE * 2 + COLOURED),
                                    new_output("stream", name="stderr", text=BIAS_LINE),
                                    new_output("stream", name="stdout", text="kept stdout\n")]),
        new_code_cell("y", outputs=[new_output("stream", name="stderr", text=ORT_LINE + "a real warning\n"),
                                    new_output("error", ename="ValueError", evalue="a real error",
                                               traceback=["ValueError: a real error"])]),
    ])


def test_known_third_party_stderr_lines_are_dropped_and_the_rest_kept():
    cleaned = _clean(_noisy_notebook())
    first, second = cleaned.cells[1].outputs, cleaned.cells[2].outputs
    assert [o.get("name") for o in first] == ["stdout"]
    assert second[0].text == "a real warning\n"
    assert second[1].output_type == "error" and second[1].evalue == "a real error"
    page = export_html(_noisy_notebook())
    assert "Removing initializer" not in page and "Expected bias" not in page
    assert "a real warning" in page and "a real error" in page and "output_error" in page


def test_an_error_output_still_shows_in_the_report(tmp_path):
    nb = new_notebook(cells=[new_markdown_cell("# Errors"),
                             new_code_cell("raise ValueError('the user must see this')",
                                           metadata={"tags": ["raises-exception"]}),
                             new_code_cell("print('after')")],
                      metadata={"kernelspec": KERNEL_SPEC})
    source = tmp_path / "errors.ipynb"
    nbformat.write(nb, source)
    page = render_notebook(source, tmp_path / "errors.html", progress=False).read_text(encoding="utf-8")
    assert "output_error" in page and "ValueError" in page and "the user must see this" in page
    assert "after" in page


def test_kernel_stderr_is_passed_on_without_the_plain_tcp_warning(capfd):
    with _kernel_stderr() as stderr:
        stderr.write(b"[IPKernelApp] WARNING | Kernel is running over TCP without encryption. All communication "
                     b"(including code and outputs) is sent in plain text.\n")
        stderr.write(b"[IPKernelApp] ERROR | something the user must see\n")
    err = capfd.readouterr().err
    assert "without encryption" not in err
    assert "something the user must see" in err


# ----------------------------------------------------------------------------
# the model picker drives the cells below it
# ----------------------------------------------------------------------------
def test_choosing_a_model_and_an_image_changes_what_the_cells_use():
    robust, fragile = str(model_path("demo_robust")), str(model_path("demo_fragile"))
    frames = [str(p) for p in photo_paths()]
    chosen = NotebookSelection(robust, frames)
    assert chosen.choose_model(fragile) == fragile and chosen.model_path == fragile
    chosen.choose_image(frames[2])
    assert chosen.image_path == frames[2] and sorted(chosen.image_paths) == sorted(frames)
    with pytest.raises(InputError, match="does not exist"):
        chosen.choose_model("no/such/model.onnx")
    assert chosen.model_path == fragile  # a bad choice leaves the selection as it was
    assert "demo_fragile.onnx" in str(chosen) and "changed by the pickers" in str(chosen)


def test_the_model_picker_widget_writes_into_the_selection():
    widgets = pytest.importorskip("nv12kit.widgets")
    chosen = NotebookSelection(model_path("demo_robust"), photo_paths())
    picker = chosen.follow_model_picker(widgets.model_picker(chosen.model_path))
    picker.demo.value = "demo_fragile"
    assert pathlib.Path(chosen.model_path).name == "demo_fragile.onnx"
    picker.path.value = "no/such/model.onnx"  # the picker shows the error; the cells keep the last good model
    assert picker.error and pathlib.Path(chosen.model_path).name == "demo_fragile.onnx"
    images = chosen.follow_image_picker(widgets.image_picker(pathlib.Path(chosen.image_path).parent))
    assert images.files.value == chosen.image_path  # the picker shows what the cells use
    images.files.value = str(photo_path("coffee"))
    assert chosen.image_path == str(photo_path("coffee"))


def test_picking_demo_fragile_in_notebook_01_changes_the_cell_below():
    """Run notebook 01 in a kernel up to the model's description, choosing demo_fragile in the live picker."""
    pytest.importorskip("ipywidgets")
    from nbclient import NotebookClient

    nb = nbformat.read(GUIDED, as_version=4)
    picker = next(i for i, c in enumerate(nb.cells) if "model_picker(" in c.source)
    describe = next(i for i, c in enumerate(nb.cells) if "describe_model(" in c.source)
    assert "widget" in nb.cells[picker].metadata.get("tags", []) and describe > picker
    # What a user's click does: the picker cell's widget (IPython's `_`) gets a new value.
    nb.cells = [*nb.cells[:picker + 1], new_code_cell('_.demo.value = "demo_fragile"'), nb.cells[describe]]
    NotebookClient(nb, timeout=120, resources={"metadata": {"path": str(ROOT)}}).execute()
    shown = "".join(str(o.get("data", {}).get("text/html", "")) for o in nb.cells[-1].outputs)
    assert "demo_fragile.onnx" in shown and "demo_robust" not in shown


# ----------------------------------------------------------------------------
# make lab
# ----------------------------------------------------------------------------
needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


@needs_make
def test_make_lab_allows_root_and_opens_no_browser_without_a_display():
    # Run from `make test` the environment says we are a sub-make, which prints "Entering directory" lines.
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    # -o: take the venv as built (never reinstall here); -n: print the command, run nothing.
    done = subprocess.run(["make", "--no-print-directory", "-n", "-o", STAMP, "lab"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    command = [line for line in done.stdout.splitlines() if "jupyter" in line][-1]
    assert "jupyter lab notebooks" in command
    assert ("--allow-root" in command) == (os.geteuid() == 0)
    assert ("--no-browser" in command) == sys.platform.startswith("linux")
    shown = [line for line in subprocess.run(
        ["make", "--no-print-directory", "-n", "-o", STAMP, "lab", "DISPLAY=:0", "LAB_ARGS=--port=8899"], cwd=ROOT,
        env=env, capture_output=True, text=True, timeout=60).stdout.splitlines() if "jupyter" in line][-1]
    assert "--no-browser" not in shown and shown.endswith("--port=8899")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@needs_make
@pytest.mark.skipif(importlib.util.find_spec("jupyterlab") is None or not (ROOT / ".venv" / "bin" / "jupyter").exists(),
                    reason="needs jupyterlab installed in .venv (pip install 'nv12kit[notebooks]')")
def test_make_lab_starts_jupyterlab_and_prints_its_address(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MAKEFLAGS")}
    # Server and runtime files go to a temporary folder, not the user's home.
    env.update(JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               JUPYTER_DATA_DIR=str(tmp_path / "data"), JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"))
    port = _free_port()
    args = f"LAB_ARGS=--port={port} --ip=127.0.0.1 --ServerApp.port_retries=0"
    server = subprocess.Popen(["make", "-o", STAMP, "lab", args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: queue.Queue[str] = queue.Queue()
    # A thread reads the server's output, so the wait below has a deadline even while it prints nothing.
    threading.Thread(target=lambda: [lines.put(line) for line in server.stdout], daemon=True).start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 30
        address = None
        while address is None and time.monotonic() < deadline and server.poll() is None:
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                continue
            seen.append(line)
            found = re.search(rf"http://127\.0\.0\.1:{port}/lab\S*", line)
            address = found.group(0) if found else None
        assert address, "JupyterLab printed no address within 30 s:\n" + "".join(seen)
        assert "Running as root is not recommended" not in "".join(seen)
    finally:
        # The whole process group we started (make and the server it runs), by its id.
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=5)
