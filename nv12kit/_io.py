"""Atomic file writes, and values made fit for JSON.

Every file nv12kit writes goes through this module, so a crash or an
exception half way through a write never leaves a truncated file behind and
never destroys the previous version of the file: the data is written to a
temporary file in the same directory, flushed to disk, and then renamed over
the target with :func:`os.replace` (atomic on POSIX and Windows).
"""

from __future__ import annotations

import contextlib
import math
import os
import pathlib
import tempfile
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from .errors import InputError

__all__ = ["atomic_write", "atomic_path"]

_UMASK_LOCK = threading.Lock()


def _current_umask() -> int:
    """Return the process umask without (if possible) changing it."""
    # Linux exposes the umask read-only; elsewhere fall back to set-and-restore.
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def _check_target(path: str | os.PathLike[str]) -> pathlib.Path:
    """Validate the target path of a write and return it as a Path."""
    try:
        target = pathlib.Path(os.fspath(path))
    except TypeError as exc:
        raise InputError(
            f"expected a file path (str or os.PathLike), got {type(path).__name__}"
        ) from exc
    if target.name in ("", ".", ".."):
        raise InputError(f"{str(path)!r} is not a file name; pass a path to a file")
    parent = target.parent
    if not parent.is_dir():
        what = "is not a directory" if parent.exists() else "does not exist"
        raise InputError(
            f"cannot write {str(target)!r}: the parent directory {str(parent)!r} {what}; "
            f"create it first (e.g. pathlib.Path({str(parent)!r}).mkdir(parents=True))"
        )
    if target.is_dir():
        raise InputError(
            f"cannot write {str(target)!r}: it is an existing directory; pass a file path"
        )
    return target


def _make_temp(target: pathlib.Path, suffix: str) -> tuple[int, pathlib.Path]:
    """Create a hidden temp file next to ``target``; return (fd, path)."""
    try:
        fd, name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=suffix, dir=target.parent
        )
    except OSError as exc:
        raise InputError(
            f"cannot create a temporary file in {str(target.parent)!r} to write "
            f"{str(target)!r}: {exc}"
        ) from exc
    return fd, pathlib.Path(name)


def _fsync_dir(directory: pathlib.Path) -> None:
    """Best effort: persist the rename itself (POSIX only)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove_quietly(path: pathlib.Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _finish(tmp: pathlib.Path, target: pathlib.Path) -> None:
    """Give ``tmp`` normal permissions and rename it over ``target``."""
    # mkstemp makes 0600 files; a normal open() would give 0666 & ~umask.
    os.chmod(tmp, 0o666 & ~_current_umask())
    os.replace(tmp, target)
    _fsync_dir(target.parent)


def atomic_write(path: str | os.PathLike[str], data: bytes) -> pathlib.Path:
    """Write ``data`` to ``path`` atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The file to create or replace. Its parent directory must exist.
    data : bytes-like
        The bytes to write (``bytes``, ``bytearray``, ``memoryview`` or any
        object supporting the buffer protocol).

    Returns
    -------
    pathlib.Path
        ``path`` as a :class:`pathlib.Path`.

    Raises
    ------
    InputError
        If the parent directory does not exist, ``path`` is a directory, or a
        temporary file cannot be created there.

    Notes
    -----
    The data goes to a hidden temporary file (``.<name>.XXXX.tmp``) in the same
    directory, which is flushed and ``fsync``-ed and then renamed over
    ``path`` with :func:`os.replace`. Readers therefore see either the old
    file or the complete new one, never a partial write. If anything fails,
    the temporary file is removed, the old file (if any) is untouched, and the
    exception propagates. The new file gets the permissions an ordinary
    ``open(path, "wb")`` would give it (``0o666`` minus the umask).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = atomic_write(pathlib.Path(d) / "frame.nv12", b"\\x10" * 6)
    ...     p.read_bytes()
    b'\\x10\\x10\\x10\\x10\\x10\\x10'
    """
    target = _check_target(path)
    try:
        view = memoryview(data)
    except TypeError as exc:
        raise InputError(
            f"atomic_write needs bytes-like data, got {type(data).__name__}"
        ) from exc
    fd, tmp = _make_temp(target, ".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(view)
            fh.flush()
            os.fsync(fh.fileno())
        _finish(tmp, target)
    except BaseException:
        _remove_quietly(tmp)
        raise
    return target


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[pathlib.Path]:
    """Yield a temporary path that replaces ``path`` when the block succeeds.

    For code that insists on writing a file itself (``onnx.save``,
    ``np.save``, ``PIL.Image.save``...).

    Parameters
    ----------
    path : str or os.PathLike
        The file to create or replace. Its parent directory must exist.

    Yields
    ------
    pathlib.Path
        A temporary file in the same directory whose name ends with the same
        suffix as ``path`` (``.model.onnx.XXXX.tmp.onnx`` for ``model.onnx``),
        so libraries that pick a format from the extension behave the same.
        The file already exists (empty) when the block starts; overwrite it.

    Raises
    ------
    InputError
        If the parent directory does not exist or ``path`` is a directory.

    Notes
    -----
    On normal exit the temporary file is ``fsync``-ed and renamed over
    ``path`` with :func:`os.replace`. If the block raises, the temporary file
    is deleted, ``path`` is left as it was, and the exception propagates.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     target = pathlib.Path(d) / "notes.txt"
    ...     with atomic_path(target) as tmp:
    ...         _ = tmp.write_text("done")
    ...     target.read_text()
    'done'
    """
    target = _check_target(path)
    fd, tmp = _make_temp(target, ".tmp" + target.suffix)
    os.close(fd)
    try:
        yield tmp
        # The caller's writer may not have fsync-ed; do it before the rename.
        rfd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(rfd)
        finally:
            os.close(rfd)
        _finish(tmp, target)
    except BaseException:
        _remove_quietly(tmp)
        raise


def jsonable(value: Any) -> Any:
    """Replace what JSON cannot hold (NaN, inf, numpy scalars and arrays, tuples, objects) by plain values.

    Non-finite floats become None, so ``json.dumps(..., allow_nan=False)`` always succeeds.
    """
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)
