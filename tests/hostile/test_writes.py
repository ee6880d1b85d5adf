"""Safe writes (issue 13, items 1, 2 and 8): no replaced devices, folders or inputs; --force; races; signals; disks.

Every hostile file is made in tmp_path (a FIFO stands for any device). The
CLI is run in-process through ``nv12kit.cli.main``; where the command's long
work must not start, it is replaced by a function that fails the test.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from nv12kit import _io
from nv12kit._io import atomic_path, atomic_write, check_outputs, write_rules
from nv12kit.cli import main
from nv12kit.data import model_path, photo_path
from nv12kit.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
GUIDED = ROOT / "notebooks" / "01_guided_triage.ipynb"

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs need POSIX")


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.rglob(".*") if ".tmp" in p.name]


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


@pytest.fixture()
def no_long_work(monkeypatch):
    """The triage and the model loader fail the test if called: the command must stop before them."""
    import importlib

    def forbidden(*args, **kwargs):
        pytest.fail("the long work started although an output was bad")

    # importlib: the package attribute nv12kit.triage is the function, not the module.
    monkeypatch.setattr(importlib.import_module("nv12kit.triage"), "triage", forbidden)
    monkeypatch.setattr(importlib.import_module("nv12kit.model"), "load_model", forbidden)
    return forbidden


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# ----------------------------------------------------------------------------
# only regular files are replaced
# ----------------------------------------------------------------------------
@needs_fifo
@pytest.mark.parametrize("overwrite", [False, True])
def test_fifo_target_is_refused_and_stays_a_fifo(tmp_path, overwrite):
    fifo = _fifo(tmp_path / "frame.nv12")
    with pytest.raises(InputError, match="FIFO"):
        atomic_write(fifo, b"\x10" * 6, overwrite=overwrite)
    with pytest.raises(InputError, match="FIFO"):
        with atomic_path(fifo, overwrite=overwrite):
            pytest.fail("the block must not run")  # pragma: no cover
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert _names(tmp_path) == ["frame.nv12"]


@needs_fifo
def test_symlink_to_a_fifo_is_refused_and_both_stay(tmp_path):
    fifo = _fifo(tmp_path / "pipe")
    link = tmp_path / "report.html"
    link.symlink_to(fifo)
    with pytest.raises(InputError, match="FIFO"):
        atomic_write(link, b"<html>")
    assert link.is_symlink() and stat.S_ISFIFO(os.stat(link).st_mode)


@needs_fifo
def test_fifo_that_appears_just_before_the_rename_is_not_replaced(tmp_path, monkeypatch):
    target = tmp_path / "out.json"
    real_chmod = os.chmod

    def chmod_then_fifo(path, mode, *args, **kwargs):  # runs just before the rename
        real_chmod(path, mode, *args, **kwargs)
        if not target.exists():
            os.mkfifo(target)

    monkeypatch.setattr(_io.os, "chmod", chmod_then_fifo)
    with pytest.raises(InputError, match="FIFO"):
        atomic_write(target, b"{}", overwrite=True)
    assert stat.S_ISFIFO(os.lstat(target).st_mode)
    assert _no_temp_files(tmp_path)


def test_directory_target_is_refused_even_with_overwrite(tmp_path):
    (tmp_path / "out.html").mkdir()
    with pytest.raises(InputError, match="directory"):
        atomic_write(tmp_path / "out.html", b"x", overwrite=True)
    with pytest.raises(InputError, match="directory"):
        check_outputs({"--report": tmp_path / "out.html"}, overwrite=True)
    assert (tmp_path / "out.html").is_dir()


@needs_fifo
def test_convert_with_force_refuses_a_fifo_output(tmp_path, capsys):
    fifo = _fifo(tmp_path / "dev_full.nv12")
    assert main(["convert", str(photo_path("coffee")), str(fifo), "--force"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "FIFO" in line and "dev_full.nv12" in line
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert _no_temp_files(tmp_path)


@needs_fifo
def test_triage_report_to_a_fifo_fails_before_the_triage(tmp_path, capsys, no_long_work):
    fifo = _fifo(tmp_path / "null")
    code = main(["triage", "--model", str(model_path("demo_robust")), "--image", str(photo_path("coffee")),
                 "--report", str(fifo), "--force"])
    assert code == 2
    assert "FIFO" in _one_error_line(capsys.readouterr().err)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


# ----------------------------------------------------------------------------
# outputs are never inputs
# ----------------------------------------------------------------------------
@pytest.fixture()
def dump_folders(tmp_path):
    rng = np.random.default_rng(0)
    ref, cand = tmp_path / "ref", tmp_path / "cand"
    ref.mkdir()
    cand.mkdir()
    for name in ("y", "z"):
        array = rng.standard_normal((1, 8)).astype(np.float32)
        np.save(ref / f"{name}.npy", array)
        np.save(cand / f"{name}.npy", array)
    return ref, cand


def test_compare_json_into_a_reference_file_is_refused_even_with_force(dump_folders, capsys):
    ref, cand = dump_folders
    before = (ref / "z.npy").read_bytes()
    for extra in ([], ["--force"]):
        assert main(["compare", str(ref), str(cand), "--json", str(ref / "z.npy"), *extra]) == 2
        assert "is an input" in _one_error_line(capsys.readouterr().err)
    assert (ref / "z.npy").read_bytes() == before


def test_compare_json_through_a_symlink_to_an_input_is_refused(dump_folders, tmp_path, capsys):
    ref, cand = dump_folders
    link = tmp_path / "result.json"
    link.symlink_to(cand / "y.npy")
    before = (cand / "y.npy").read_bytes()
    assert main(["compare", str(ref), str(cand), "--json", str(link), "--force"]) == 2
    assert "same file as" in _one_error_line(capsys.readouterr().err)
    assert (cand / "y.npy").read_bytes() == before and link.is_symlink()


def test_triage_json_onto_the_user_nv12_is_refused_before_the_triage(tmp_path, capsys, no_long_work):
    frame = tmp_path / "a.nv12"
    frame.write_bytes(b"\x80" * 24)
    code = main(["triage", "--model", str(model_path("demo_robust")), "--image", str(photo_path("coffee")),
                 "--user-nv12", str(frame), "--json", str(frame), "--force"])
    assert code == 2
    assert "--json" in _one_error_line(capsys.readouterr().err)
    assert frame.read_bytes() == b"\x80" * 24


def test_triage_report_onto_a_calibration_image_is_refused(tmp_path, capsys, no_long_work):
    calibration = tmp_path / "c.png"
    shutil.copyfile(photo_path("coffee"), calibration)
    before = calibration.read_bytes()
    code = main(["triage", "--model", str(model_path("demo_robust")), "--image", str(photo_path("coffee")),
                 "--quantize", "--calibration", str(calibration), "--report", str(calibration), "--force"])
    assert code == 2
    assert "is an input" in _one_error_line(capsys.readouterr().err)
    assert calibration.read_bytes() == before


def test_triage_two_outputs_on_one_file_are_refused(tmp_path, capsys, no_long_work):
    out = tmp_path / "same"
    code = main(["triage", "--model", str(model_path("demo_robust")), "--image", str(photo_path("coffee")),
                 "--report", str(out), "--json", str(out)])
    assert code == 2
    assert "also given as --report" in _one_error_line(capsys.readouterr().err)
    assert not out.exists()


def test_report_onto_the_notebook_is_refused(tmp_path, capsys):
    notebook = tmp_path / "nb.ipynb"
    notebook.write_bytes(GUIDED.read_bytes())
    assert main(["report", str(notebook), "-o", str(notebook), "--force"]) == 2
    assert "is an input" in _one_error_line(capsys.readouterr().err)
    assert notebook.read_bytes() == GUIDED.read_bytes()


def test_report_onto_a_parameter_file_is_refused(tmp_path, capsys):
    model = tmp_path / "m.onnx"
    shutil.copyfile(model_path("demo_robust"), model)
    frame = tmp_path / "x.png"
    shutil.copyfile(photo_path("coffee"), frame)
    before = model.read_bytes(), frame.read_bytes()
    assert main(["report", str(GUIDED), "-p", "model_path", str(model), "-o", str(model), "--force"]) == 2
    assert "is an input" in _one_error_line(capsys.readouterr().err)
    assert main(["report", str(GUIDED), "-p", "image_paths", f'["{frame}"]', "-o", str(tmp_path / "r.html"),
                 "--executed", str(frame), "--force"]) == 2
    assert "--executed" in _one_error_line(capsys.readouterr().err)
    assert (model.read_bytes(), frame.read_bytes()) == before
    assert not (tmp_path / "r.html").exists()


def test_layers_json_onto_the_model_is_refused(tmp_path, capsys):
    model = tmp_path / "m.onnx"
    shutil.copyfile(model_path("demo_robust"), model)
    before = model.read_bytes()
    assert main(["layers", "--model", str(model), "--image", str(photo_path("coffee")), "--json", str(model),
                 "--force"]) == 2
    assert "is an input" in capsys.readouterr().err
    assert model.read_bytes() == before


def test_variants_never_replace_the_input_model(tmp_path, capsys):
    model = tmp_path / "m_qat_feat.onnx"
    shutil.copyfile(model_path("demo_robust"), model)
    before = model.read_bytes()
    assert main(["variants", str(model), "-o", str(tmp_path), "--stem", "m", "--force"]) == 2
    assert "is an input" in _one_error_line(capsys.readouterr().err)
    assert model.read_bytes() == before
    assert _names(tmp_path) == ["m_qat_feat.onnx"]


def test_python_writers_refuse_their_inputs(tmp_path):
    source = tmp_path / "frame.nv12"
    source.write_bytes(b"abc")
    with pytest.raises(InputError, match="is an input"):
        atomic_write(source, b"xyz", inputs=[source])
    with write_rules(overwrite=True, inputs=[tmp_path]):  # a folder protects the files directly in it
        with pytest.raises(InputError, match="is an input"):
            atomic_write(source, b"xyz")
    assert source.read_bytes() == b"abc"


# ----------------------------------------------------------------------------
# existing outputs: --force / overwrite=True, one rule for every subcommand
# ----------------------------------------------------------------------------
def test_compare_existing_json_needs_force(dump_folders, tmp_path, capsys):
    ref, cand = dump_folders
    target = tmp_path / "cmp.json"
    target.write_text("previous")
    assert main(["compare", str(ref), str(cand), "--json", str(target)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "already exists" in line and "--force" in line
    assert target.read_text() == "previous"
    assert main(["compare", str(ref), str(cand), "--json", str(target), "--force"]) == 0
    assert target.read_text().startswith("{")
    assert _no_temp_files(tmp_path)


def test_triage_existing_report_needs_force_and_fails_before_the_triage(tmp_path, capsys, no_long_work):
    target = tmp_path / "r.html"
    target.write_text("previous")
    code = main(["triage", "--model", str(model_path("demo_robust")), "--image", str(photo_path("coffee")),
                 "--report", str(target)])
    assert code == 2
    assert "already exists" in _one_error_line(capsys.readouterr().err)
    assert target.read_text() == "previous"


def test_report_and_layers_existing_outputs_need_force(tmp_path, capsys):
    target = tmp_path / "r.html"
    target.write_text("previous")
    assert main(["report", str(GUIDED), "-o", str(target)]) == 2
    assert "already exists" in _one_error_line(capsys.readouterr().err)
    csv = tmp_path / "l.csv"
    csv.write_text("previous")
    assert main(["layers", "--model", str(model_path("demo_robust")), "--image", str(photo_path("coffee")),
                 "--csv", str(csv)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert target.read_text() == "previous" and csv.read_text() == "previous"


def test_variants_into_an_existing_file_is_an_error_not_a_traceback(tmp_path, capsys):
    existing = tmp_path / "existing.onnx"
    existing.write_bytes(b"not a folder")
    assert main(["variants", str(model_path("demo_robust")), "-o", str(existing)]) == 2
    assert "is a file, not a folder" in _one_error_line(capsys.readouterr().err)
    assert existing.read_bytes() == b"not a folder"


def test_variants_existing_files_need_force(tmp_path, capsys):
    out = tmp_path / "v"
    out.mkdir()
    (out / "demo_robust_qat_nv12.onnx").write_bytes(b"old")
    assert main(["variants", str(model_path("demo_robust")), "-o", str(out)]) == 2
    assert "already exists" in _one_error_line(capsys.readouterr().err)
    assert _names(out) == ["demo_robust_qat_nv12.onnx"]
    assert main(["variants", str(model_path("demo_robust")), "-o", str(out), "--force"]) == 0
    assert (out / "demo_robust_qat_nv12.onnx").read_bytes() != b"old"
    assert _names(out) == ["demo_robust_qat_feat.onnx", "demo_robust_qat_nv12.onnx"]


def test_every_writing_subcommand_has_force():
    from nv12kit.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in ("convert", "variants", "triage", "compare", "layers", "report", "demo"):
        assert "--force" in sub.choices[name].format_help(), name


# ----------------------------------------------------------------------------
# no check-then-write race
# ----------------------------------------------------------------------------
def test_a_file_created_between_temp_and_link_is_not_replaced(tmp_path, monkeypatch):
    target = tmp_path / "out.nv12"
    real_link = os.link

    def other_writer_first(src, dst, *args, **kwargs):
        Path(dst).write_bytes(b"the other writer")
        return real_link(src, dst, *args, **kwargs)

    monkeypatch.setattr(_io.os, "link", other_writer_first)
    with pytest.raises(InputError, match="already exists"):
        atomic_write(target, b"mine", overwrite=False)
    assert target.read_bytes() == b"the other writer"
    assert _names(tmp_path) == ["out.nv12"]


def test_racing_writers_without_overwrite_exactly_one_wins(tmp_path):
    target = tmp_path / "out.json"
    writers = 8
    barrier = threading.Barrier(writers)
    won, lost = [], []

    def write(i: int) -> None:
        barrier.wait()
        try:
            atomic_write(target, f"writer {i}".encode(), overwrite=False)
            won.append(i)
        except InputError:
            lost.append(i)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and len(lost) == writers - 1
    assert target.read_text() == f"writer {won[0]}"
    assert _names(tmp_path) == ["out.json"]


@pytest.mark.parametrize("code", [errno.EPERM, errno.EOPNOTSUPP])
def test_without_hard_links_the_name_is_still_taken_exclusively(tmp_path, monkeypatch, code):
    def no_links(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(_io.os, "link", no_links)
    target = tmp_path / "out.bin"
    atomic_write(target, b"first", overwrite=False)
    assert target.read_bytes() == b"first"
    with pytest.raises(InputError, match="already exists"):
        atomic_write(target, b"second", overwrite=False)
    assert target.read_bytes() == b"first"
    assert _names(tmp_path) == ["out.bin"]


# ----------------------------------------------------------------------------
# signals
# ----------------------------------------------------------------------------
_SLOW_WRITER = textwrap.dedent("""
    import os, sys, time
    real_fsync = os.fsync
    def slow_fsync(fd):
        print("writing", flush=True)
        time.sleep(60)
        real_fsync(fd)
    os.fsync = slow_fsync
    from nv12kit.cli import main
    sys.exit(main(["convert", sys.argv[1], sys.argv[2]]))
""")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 128 + signal.SIGTERM), (signal.SIGINT, 130)])
def test_a_signal_during_a_write_leaves_no_temporary_file(tmp_path, signum, code):
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_WRITER, str(photo_path("coffee")), str(out / "f.nv12")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert proc.stdout.readline().strip() == "writing"
        assert [p.name for p in out.iterdir() if ".tmp" in p.name]  # the temporary file exists now
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # pragma: no cover - only when the test fails
            proc.kill()
            proc.wait()
    assert proc.returncode == code, err
    assert _names(out) == []
    assert "no partial output" in err and "Traceback" not in err


# ----------------------------------------------------------------------------
# the environment: missing, read-only, full
# ----------------------------------------------------------------------------
def test_report_into_a_missing_folder_fails_at_once_before_any_model_runs(tmp_path, capsys, no_long_work):
    start = time.perf_counter()
    code = main(["triage", "--model", str(model_path("demo_robust")), "--image", str(photo_path("coffee")),
                 "--report", str(tmp_path / "nonexistent" / "dir" / "r.html")])
    assert code == 2
    assert time.perf_counter() - start < 5
    line = _one_error_line(capsys.readouterr().err)
    assert "does not exist" in line and "nonexistent" in line


def test_read_only_folder_is_refused_up_front(tmp_path, capsys, monkeypatch, no_long_work):
    real_statvfs = os.statvfs

    class ReadOnly:
        def __init__(self, result):
            self._result = result
            self.f_flag = result.f_flag | os.ST_RDONLY

        def __getattr__(self, name):
            return getattr(self._result, name)

    monkeypatch.setattr(_io.os, "statvfs", lambda path: ReadOnly(real_statvfs(path)))
    code = main(["triage", "--model", str(model_path("demo_robust")), "--image", str(photo_path("coffee")),
                 "--json", str(tmp_path / "r.json")])
    assert code == 2
    assert "read-only" in _one_error_line(capsys.readouterr().err)
    assert _names(tmp_path) == []


@pytest.mark.parametrize("code, words", [(errno.EROFS, "read-only"), (errno.EACCES, "permission denied"),
                                         (errno.ENOSPC, "no space left")])
def test_disk_errors_during_the_write_are_one_line_exit_2(tmp_path, capsys, monkeypatch, code, words):
    def failing_fsync(fd):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(_io.os, "fsync", failing_fsync)
    out = tmp_path / "f.nv12"
    assert main(["convert", str(photo_path("coffee")), str(out)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert words in line and "f.nv12" in line
    assert _names(tmp_path) == []
    with pytest.raises(InputError, match=words):
        atomic_write(out, b"x")
    assert _names(tmp_path) == []


def test_a_really_read_only_folder_gives_one_line(tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as root: chmod does not stop writes (the simulated tests above cover this)")
        assert main(["convert", str(photo_path("coffee")), str(folder / "f.nv12")]) == 2
        assert "permission denied" in _one_error_line(capsys.readouterr().err)
        assert _names(folder) == []
    finally:
        folder.chmod(0o755)


def test_save_model_without_overwrite_is_exclusive_when_writers_race(tmp_path, monkeypatch):
    import onnx_models as om

    import nv12kit
    import nv12kit.model as model_module

    target = tmp_path / "m.onnx"
    real_save = model_module.onnx.save_model

    def save_then_let_the_other_writer_in(proto, path, *args, **kwargs):
        real_save(proto, path, *args, **kwargs)
        if not target.exists():  # another writer takes the name between our check and our rename
            target.write_bytes(b"the other writer's model")

    monkeypatch.setattr(model_module.onnx, "save_model", save_then_let_the_other_writer_in)
    with pytest.raises(InputError, match="exists"):
        nv12kit.save_model(om.classifier(), target)
    assert target.read_bytes() == b"the other writer's model"
