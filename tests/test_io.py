"""Tests for nv12kit._io: atomic writes."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from nv12kit import _io
from nv12kit._io import atomic_path, atomic_write
from nv12kit.errors import InputError


def _names(directory):
    return sorted(p.name for p in directory.iterdir())


def test_atomic_write_writes_content_and_returns_path(tmp_path):
    target = tmp_path / "frame.nv12"
    out = atomic_write(str(target), b"\x01\x02\x03")
    assert out == target
    assert target.read_bytes() == b"\x01\x02\x03"
    assert _names(tmp_path) == ["frame.nv12"]


def test_atomic_write_accepts_bytearray_and_memoryview(tmp_path):
    atomic_write(tmp_path / "a", bytearray(b"ab"))
    atomic_write(tmp_path / "b", memoryview(b"cd"))
    assert (tmp_path / "a").read_bytes() == b"ab"
    assert (tmp_path / "b").read_bytes() == b"cd"


def test_atomic_write_replaces_existing_file(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old contents")
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert _names(tmp_path) == ["f.bin"]


def test_atomic_write_failure_keeps_original_and_leaves_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "f.bin"
    target.write_bytes(b"original")

    def broken_fsync(fd):
        raise OSError("disk on fire")

    monkeypatch.setattr(_io.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk on fire"):
        atomic_write(target, b"replacement")
    assert target.read_bytes() == b"original"
    assert _names(tmp_path) == ["f.bin"]


def test_atomic_write_failure_in_rename_leaves_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "f.bin"

    def broken_replace(src, dst):
        raise OSError("rename refused")

    monkeypatch.setattr(_io.os, "replace", broken_replace)
    with pytest.raises(OSError, match="rename refused"):
        atomic_write(target, b"data")
    assert _names(tmp_path) == []


def test_atomic_write_gives_normal_permissions(tmp_path):
    old = os.umask(0o027)
    try:
        target = atomic_write(tmp_path / "f.bin", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_missing_parent_directory_is_named_in_error(tmp_path):
    missing = tmp_path / "no_such_dir"
    with pytest.raises(InputError, match="no_such_dir.*does not exist"):
        atomic_write(missing / "f.bin", b"x")
    with pytest.raises(InputError, match="no_such_dir"):
        with atomic_path(missing / "f.bin"):
            pass  # pragma: no cover
    assert not missing.exists()


def test_parent_that_is_a_file_is_rejected(tmp_path):
    (tmp_path / "plain").write_bytes(b"")
    with pytest.raises(InputError, match="not a directory"):
        atomic_write(tmp_path / "plain" / "f.bin", b"x")


def test_target_that_is_a_directory_is_rejected(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(InputError, match="directory"):
        atomic_write(tmp_path / "d", b"x")
    assert (tmp_path / "d").is_dir()


def test_non_bytes_data_is_rejected(tmp_path):
    with pytest.raises(InputError, match="bytes-like"):
        atomic_write(tmp_path / "f", "text")  # type: ignore[arg-type]
    assert _names(tmp_path) == []


def test_atomic_path_renames_on_success(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("old")
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path
        assert tmp != target
        assert tmp.suffix == ".txt"
        tmp.write_text("new")
        assert target.read_text() == "old"  # not visible until the block ends
    assert target.read_text() == "new"
    assert _names(tmp_path) == ["notes.txt"]


def test_atomic_path_keeps_suffix_for_extension_sniffing_writers(tmp_path):
    # np.save appends ".npy" unless the name already ends with it.
    target = tmp_path / "arr.npy"
    with atomic_path(target) as tmp:
        np.save(tmp, np.arange(3))
    assert _names(tmp_path) == ["arr.npy"]
    np.testing.assert_array_equal(np.load(target, allow_pickle=False), np.arange(3))


def test_atomic_path_exception_removes_temp_and_keeps_original(tmp_path):
    target = tmp_path / "model.onnx"
    target.write_bytes(b"original model")
    seen = []
    with pytest.raises(RuntimeError, match="serialiser crashed"):
        with atomic_path(target) as tmp:
            seen.append(tmp)
            tmp.write_bytes(b"half a mod")
            raise RuntimeError("serialiser crashed")
    assert not seen[0].exists()
    assert target.read_bytes() == b"original model"
    assert _names(tmp_path) == ["model.onnx"]


def test_atomic_path_exception_without_existing_target_creates_nothing(tmp_path):
    with pytest.raises(KeyError):
        with atomic_path(tmp_path / "out.bin"):
            raise KeyError("boom")
    assert _names(tmp_path) == []


def test_atomic_path_gives_normal_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "f.bin") as tmp:
            tmp.write_bytes(b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f.bin").stat().st_mode) == 0o644
