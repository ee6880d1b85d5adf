"""Exit codes and notebook parameters (issue 13, items 5 and 7): 2 + one line for the user's input or environment,
1 only for a problem found, 3 + one line for a bug (traceback with NV12KIT_DEBUG=1); `-p` list values."""

from __future__ import annotations

import importlib
import subprocess
import sys

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import nv12kit.data
from nv12kit.cli import build_parser, main
from nv12kit.errors import InputError
from nv12kit.notebook_report import parse_parameters, render_notebook

from .test_writes import GUIDED, _one_error_line

metrics = importlib.import_module("nv12kit.metrics")


@pytest.fixture()
def dumps(tmp_path):
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    np.save(a, np.arange(8, dtype=np.float32))
    np.save(b, np.arange(8, dtype=np.float32))
    return str(a), str(b)


def _raising(exc):
    def run(*args, **kwargs):
        raise exc

    return run


# ----------------------------------------------------------------------------
# cli.main: 2 for input/environment, 3 for bugs, never a bare traceback
# ----------------------------------------------------------------------------
def test_unexpected_exception_is_exit_3_with_one_line(dumps, monkeypatch, capsys):
    monkeypatch.delenv("NV12KIT_DEBUG", raising=False)
    monkeypatch.setattr(metrics, "compare", _raising(RuntimeError("boom\nsecond line")))
    assert main(["compare", *dumps]) == 3
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith("nv12kit compare: internal error: RuntimeError: boom; second line")
    assert "NV12KIT_DEBUG=1" in line


def test_debug_shows_the_traceback(dumps, monkeypatch, capsys):
    monkeypatch.setenv("NV12KIT_DEBUG", "1")
    monkeypatch.setattr(metrics, "compare", _raising(ZeroDivisionError("deep inside")))
    assert main(["compare", *dumps]) == 3
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "ZeroDivisionError: deep inside" in err


@pytest.mark.parametrize("exc", [PermissionError(13, "Permission denied", "/data/a.npy"),
                                 FileNotFoundError(2, "No such file or directory", "b.npy"),
                                 OSError(28, "No space left on device")])
def test_os_errors_from_the_environment_are_exit_2_with_one_line(dumps, monkeypatch, capsys, exc):
    monkeypatch.setattr(metrics, "compare", _raising(exc))
    assert main(["compare", *dumps]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith("nv12kit compare: error: ") and exc.strerror in line


def test_input_error_spanning_lines_is_printed_on_one(dumps, monkeypatch, capsys):
    monkeypatch.setattr(metrics, "compare", _raising(InputError("first\nsecond")))
    assert main(["compare", *dumps]) == 2
    assert _one_error_line(capsys.readouterr().err) == "nv12kit compare: error: first; second"


def test_ctrl_c_is_130_with_one_line(dumps, monkeypatch, capsys):
    monkeypatch.setattr(metrics, "compare", _raising(KeyboardInterrupt()))
    assert main(["compare", *dumps]) == 130
    assert "interrupted" in _one_error_line(capsys.readouterr().err)


def test_a_problem_found_stays_exit_1(dumps, tmp_path, capsys):
    far = tmp_path / "far.npy"
    np.save(far, -np.arange(8, dtype=np.float32))
    assert main(["compare", dumps[0], str(far)]) == 1
    assert capsys.readouterr().err == ""


def test_help_states_the_exit_codes():
    text = build_parser().format_help()
    assert "3 unexpected error" in text and "NV12KIT_DEBUG=1" in text and "--force" in text


# ----------------------------------------------------------------------------
# report: timeouts, kernels, kernelspecs
# ----------------------------------------------------------------------------
def _notebook(path, body: str, *, kernelspec: bool = True) -> str:
    nb = new_notebook(cells=[new_markdown_cell("# Tiny"), new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
                             new_code_cell(body)])
    if kernelspec:
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return str(path)


@pytest.mark.parametrize("timeout", ["0.001", "0", "-5", "nan"])
def test_report_timeout_below_one_second_is_exit_2_before_any_kernel(tmp_path, capsys, timeout):
    nb = _notebook(tmp_path / "t.ipynb", "print(x)")
    assert main(["report", nb, "-o", str(tmp_path / "t.html"), "--timeout", timeout]) == 2
    assert "at least 1 second" in _one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "t.html").exists()


def test_report_cell_past_the_timeout_is_exit_2(tmp_path, capsys):
    nb = _notebook(tmp_path / "slow.ipynb", "import time\ntime.sleep(30)")
    assert main(["report", nb, "-o", str(tmp_path / "s.html"), "--timeout", "1"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "longer than the timeout of 1 s" in line and "--timeout" in line
    assert not (tmp_path / "s.html").exists()


def test_report_unknown_kernel_is_exit_2_with_the_installed_ones(tmp_path, capsys):
    nb = _notebook(tmp_path / "k.ipynb", "print(x)")
    assert main(["report", nb, "-o", str(tmp_path / "k.html"), "--kernel", "bogus"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "no Jupyter kernel named 'bogus'" in line and "python3" in line


def test_report_parameters_for_a_notebook_without_kernelspec_is_exit_2(tmp_path, capsys):
    nb = _notebook(tmp_path / "n.ipynb", "print(x)", kernelspec=False)
    assert main(["report", nb, "-p", "x", "2", "-o", str(tmp_path / "n.html")]) == 2
    assert "no kernelspec" in _one_error_line(capsys.readouterr().err)
    with pytest.raises(InputError, match="no kernelspec"):
        render_notebook(nb, tmp_path / "n.html", parameters={"x": 2})
    assert not (tmp_path / "n.html").exists()


# ----------------------------------------------------------------------------
# -p values meant as lists
# ----------------------------------------------------------------------------
def test_a_plain_path_for_a_list_parameter_becomes_a_one_element_list():
    got = parse_parameters([("image_paths", "frame.jpg"), ("calibration_paths", '"c.png"'), ("trials", "3")],
                           notebook=GUIDED)
    assert got == {"image_paths": ["frame.jpg"], "calibration_paths": ["c.png"], "trials": 3}
    assert parse_parameters([("image_paths", '["a.jpg", "b.jpg"]')], notebook=GUIDED) == {
        "image_paths": ["a.jpg", "b.jpg"]}
    assert parse_parameters([("calibration_paths", "null")], notebook=GUIDED) == {"calibration_paths": None}


@pytest.mark.parametrize("value", ["[a.jpg, b.jpg]", "3", "true", '{"a": 1}', " "])
def test_a_list_parameter_refuses_what_is_not_a_list_or_one_path(value):
    with pytest.raises(InputError, match=r"\[\"a\.jpg\", \"b\.jpg\"\]"):
        parse_parameters([("image_paths", value)], notebook=GUIDED)


def test_list_parameters_are_found_from_the_notebook_defaults(tmp_path):
    nb = new_notebook(cells=[new_code_cell('frames = ["a.png"]\nnames = sorted([])\nlabel = "x"',
                                           metadata={"tags": ["parameters"]})])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "p.ipynb"
    nbformat.write(nb, path)
    got = parse_parameters([("frames", "one.png"), ("names", "n"), ("label", "one.png")], notebook=path)
    assert got == {"frames": ["one.png"], "names": ["n"], "label": "one.png"}


def test_report_unknown_or_bad_list_parameter_is_exit_2_before_anything_runs(tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["report", str(GUIDED), "-p", "image_paths", "[a.jpg", "-o", str(out)]) == 2
    assert "is not a JSON list" in _one_error_line(capsys.readouterr().err)
    assert main(["report", str(GUIDED), "-p", "imagepaths", "a.jpg", "-o", str(out)]) == 2
    assert "unknown parameter" in _one_error_line(capsys.readouterr().err)
    assert not out.exists()


def test_report_help_documents_the_list_rule():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    text = " ".join(sub.choices["report"].format_help().split())
    assert "one-element list" in text and "_paths" in text


def test_a_reader_that_leaves_the_pipe_early_is_not_called_a_file_problem(tmp_path):
    # `nv12kit triage ... | head -0`: the reader closes the pipe; no "check the path" message, the shell's 141.
    model = nv12kit.data.photo_path("astronaut").parent / "demo_robust.onnx"
    with subprocess.Popen([sys.executable, "-m", "nv12kit.cli", "triage", "--model", str(model), "--image",
                           str(nv12kit.data.photo_path("astronaut")), "--trials", "2", "--quiet"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        # The reader leaves before the command prints (it first runs the triage for a second or so), so its
        # first write meets a closed pipe whatever the pipe's buffer size.
        proc.stdout.close()
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=120)
    assert code == 141, err
    assert "check the path" not in err and "Traceback" not in err and "Exception ignored" not in err
