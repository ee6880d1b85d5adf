"""Safe file writes, and values made fit for JSON.

Every file nv12kit writes goes through this module: the data goes to a
hidden temporary file in the same directory, is flushed to disk, and only
then put in place, so a crash, exception or signal never leaves a
truncated file or destroys the previous one. One rule for every write:
only regular files are ever replaced (a directory, FIFO, socket or device
is refused); an output is never an input of the command (same file,
symbolic links resolved, files in an input folder included); an existing
file is replaced only when asked (``overwrite=True``, ``--force``), and
otherwise the file is linked into place with :func:`os.link`, which fails
if the name is taken, so racing writers cannot both win; a full,
read-only or forbidden disk is a one-line :class:`~nv12kit.errors.InputError`.
The command line vets all outputs with :func:`check_outputs` before its
work and runs it inside :func:`write_rules` (``overwrite=--force``, its
inputs). Outside :func:`write_rules` the writers replace an existing
regular file, as they always did; pass ``overwrite=False`` to refuse.
"""


from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import errno
import os
import pathlib
import stat
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ..errors import InputError
from .reads import file_kind

__all__ = ["atomic_write", "atomic_path", "check_outputs", "write_rules"]

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


# ----------------------------------------------------------------------------
# the write rule: what may be replaced, and what the command reads
# ----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _Rules:
    overwrite: bool = True
    inputs: tuple[str, ...] = ()


# Context-local, so a command's rule never leaks into another thread's or a later call's writes.
_RULES: contextvars.ContextVar[_Rules] = contextvars.ContextVar("nv12kit_write_rules", default=_Rules())

# Errors of the user's environment, with the fix; anything else propagates unchanged.
_ENVIRONMENT_ERRORS = {
    errno.ENOSPC: "no space left on the device; free some space or write to another disk",
    errno.EDQUOT: "the disk quota is exhausted; free some space or write to another disk",
    errno.EFBIG: "the file is too large for this file system; write to another disk",
    errno.EROFS: "the folder is on a read-only file system; choose a folder you can write to",
    errno.EACCES: "permission denied; choose a folder you can write to",
    errno.EPERM: "operation not permitted; choose a folder you can write to",
}

# os.link fails with these where the file system has no hard links (FAT, some network shares).
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS, errno.EXDEV}


def _as_path(path: Any, label: str | None = None) -> pathlib.Path:
    try:
        return pathlib.Path(os.fspath(path))
    except TypeError as exc:
        where = f"{label}: " if label else ""
        raise InputError(f"{where}expected a file path (str or os.PathLike), got {type(path).__name__}") from exc


def _named(target: pathlib.Path, label: str | None) -> str:
    return f"{label} {str(target)!r}" if label else repr(str(target))


def _environment_error(exc: OSError, target: pathlib.Path, label: str | None = None) -> InputError | None:
    """A one-line InputError for an OSError caused by the user's disk or folder; None for any other."""
    fix = _ENVIRONMENT_ERRORS.get(exc.errno) if exc.errno is not None else None
    if fix is None:
        return None
    return InputError(f"cannot write {_named(target, label)} ({os.strerror(exc.errno)}): {fix}")


def _identity(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """(device, inode) of what ``path`` names, symbolic links followed; None if it cannot be seen."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def _input_identities(inputs: Iterable[str]) -> dict[tuple[int, int], str]:
    """The files a command reads, by identity: each input, and for a folder the entries directly in it."""
    found: dict[tuple[int, int], str] = {}
    for item in inputs:
        ident = _identity(item)
        if ident is None:
            continue
        found.setdefault(ident, item)
        if os.path.isdir(item):
            with contextlib.suppress(OSError):
                for entry in os.scandir(item):
                    with contextlib.suppress(OSError):
                        st = entry.stat()  # follows symbolic links, as samefile does
                        found.setdefault((st.st_dev, st.st_ino), entry.path)
    return found


def _check_target(path: str | os.PathLike[str], *, overwrite: bool = True, inputs: Iterable[str] = (),
                  label: str | None = None) -> pathlib.Path:
    """Validate the target of a write under the rule and return it as a Path.

    Refuses: a missing or non-directory parent, a target that is not a
    regular file, a target that is one of ``inputs`` and (unless
    ``overwrite``) a target that exists.
    """
    target = _as_path(path, label)
    if target.name in ("", ".", ".."):
        raise InputError(f"{_named(target, label)} is not a file name; pass a path to a file")
    parent = target.parent
    if not parent.is_dir():
        what = "is not a directory" if parent.exists() else "does not exist"
        raise InputError(
            f"cannot write {_named(target, label)}: the parent directory {str(parent)!r} {what}; "
            f"create it first (e.g. mkdir -p {str(parent)!r})"
        )
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return target  # a dangling symbolic link is caught when the file is put in place
    except OSError as exc:
        raise InputError(f"cannot write {_named(target, label)}: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(st.st_mode):
        raise InputError(
            f"cannot write {_named(target, label)}: it is {file_kind(st.st_mode)}, and nv12kit only ever "
            "replaces regular files; pass the path of a file"
        )
    source = _input_identities(inputs).get((st.st_dev, st.st_ino))
    if source is not None:
        same = "" if os.path.abspath(source) == os.path.abspath(target) else f" (the same file as {source!r})"
        raise InputError(
            f"{_named(target, label)} is an input file of this command{same}; nv12kit never overwrites its "
            "inputs, choose another output path"
        )
    if not overwrite:
        raise InputError(_exists_message(target, label))
    return target


def _exists_message(target: pathlib.Path, label: str | None) -> str:
    return (f"{_named(target, label)} already exists; pass --force (command line) or overwrite=True (Python) "
            "to replace it, or choose another path")


def _check_folder(target: pathlib.Path, label: str | None) -> None:
    """Refuse a read-only or unwritable folder up front (also as root, where access() says yes)."""
    parent = target.parent
    statvfs = getattr(os, "statvfs", None)
    if statvfs is not None:
        with contextlib.suppress(OSError):
            if statvfs(parent).f_flag & getattr(os, "ST_RDONLY", 1):
                raise InputError(f"cannot write {_named(target, label)} ({os.strerror(errno.EROFS)}): "
                                 f"{_ENVIRONMENT_ERRORS[errno.EROFS]}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"cannot write {_named(target, label)} ({os.strerror(errno.EACCES)}): "
                         f"{_ENVIRONMENT_ERRORS[errno.EACCES]}")


def check_outputs(
    outputs: Mapping[str, str | os.PathLike[str] | None] | Iterable[str | os.PathLike[str] | None],
    *,
    inputs: Iterable[str | os.PathLike[str]] = (),
    overwrite: bool = False,
) -> list[pathlib.Path]:
    """Vet every output of a command at once, before its long work starts.

    Parameters
    ----------
    outputs : mapping of str to path, or iterable of paths
        The files the command will write; a mapping names each by its
        option (``{"--json": "out.json"}``) for the messages. None entries
        (options not given) are skipped.
    inputs : iterable of str or os.PathLike, optional
        Every file or folder the command reads. An output that is the same
        file (symbolic links resolved), or a file directly inside an input
        folder that the command would read, is refused.
    overwrite : bool, optional
        Whether existing regular files may be replaced (``--force``).

    Returns
    -------
    list of pathlib.Path
        The outputs given, in order.

    Raises
    ------
    InputError
        A missing, read-only or unwritable output folder; a target that is a
        directory, FIFO, socket or device; an output that is an input; two
        outputs naming the same file; an existing file without
        ``overwrite``.

    Notes
    -----
    This is the early check; the write itself checks again and, without
    ``overwrite``, creates the file exclusively, so a file that appears in
    between is not replaced either.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     model = pathlib.Path(d) / "m.onnx"
    ...     _ = model.write_bytes(b"onnx")
    ...     try:
    ...         check_outputs({"--json": model}, inputs=[model])
    ...     except InputError as exc:
    ...         print(str(exc).split(";")[0].replace(d, "D"))
    --json 'D/m.onnx' is an input file of this command
    """
    named = list(outputs.items()) if isinstance(outputs, Mapping) else [(None, p) for p in outputs]
    sources = [os.fspath(p) for p in inputs if p is not None]
    checked: list[pathlib.Path] = []
    seen: dict[str, str | None] = {}
    for label, path in named:
        if path is None:
            continue
        target = _check_target(path, overwrite=overwrite, inputs=sources, label=label)
        _check_folder(target, label)
        key = os.path.realpath(target)
        if key in seen:
            other = seen[key]
            raise InputError(f"{_named(target, label)} is also given as {other or 'another output'}; "
                             "give each output its own path")
        seen[key] = label or str(target)
        checked.append(target)
    return checked


@contextlib.contextmanager
def write_rules(*, overwrite: bool, inputs: Iterable[str | os.PathLike[str]] = ()) -> Iterator[None]:
    """Apply one command's write rule to every nv12kit write inside the block.

    Parameters
    ----------
    overwrite : bool
        Whether writes that do not say otherwise may replace an existing
        regular file (the command's ``--force``). Without it, every write
        creates its file exclusively.
    inputs : iterable of str or os.PathLike, optional
        Files and folders the command reads; no write may replace one.

    Notes
    -----
    The rule is held in a :class:`contextvars.ContextVar`, so it applies to
    this thread (or task) only and ends with the block. Writers that pass
    ``overwrite=`` themselves (``save_model``) keep their own choice; the
    inputs of an explicit ``inputs=`` and of the rule are both protected.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     target = pathlib.Path(d) / "r.json"
    ...     _ = target.write_text("{}")
    ...     with write_rules(overwrite=False):
    ...         try:
    ...             atomic_write(target, b"[]")
    ...         except InputError as exc:
    ...             print("refused:", "already exists" in str(exc))
    refused: True
    """
    rules = _Rules(overwrite=bool(overwrite), inputs=tuple(os.fspath(p) for p in inputs if p is not None))
    token = _RULES.set(rules)
    try:
        yield
    finally:
        _RULES.reset(token)


def _resolve_rules(overwrite: bool | None, inputs: Iterable[str | os.PathLike[str]] | None) -> _Rules:
    rules = _RULES.get()
    extra = tuple(os.fspath(p) for p in inputs) if inputs is not None else ()
    return _Rules(overwrite=rules.overwrite if overwrite is None else bool(overwrite),
                  inputs=rules.inputs + extra)


# ----------------------------------------------------------------------------
# atomic writes
# ----------------------------------------------------------------------------
def _make_temp(target: pathlib.Path, suffix: str) -> tuple[int, pathlib.Path]:
    """Create a hidden temp file next to ``target``; return (fd, path)."""
    try:
        fd, name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=suffix, dir=target.parent
        )
    except OSError as exc:
        mapped = _environment_error(exc, target)
        if mapped is not None:
            raise mapped from exc
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


def _refuse_special(target: pathlib.Path) -> None:
    """Just before a rename: refuse a target that became a directory, FIFO, socket or device meanwhile."""
    try:
        st = os.stat(target)
    except OSError:
        return
    if not stat.S_ISREG(st.st_mode):
        raise InputError(
            f"cannot write {str(target)!r}: it is {file_kind(st.st_mode)}, and nv12kit only ever replaces "
            "regular files; pass the path of a file"
        )


def _link_into_place(tmp: pathlib.Path, target: pathlib.Path) -> None:
    """Give ``tmp`` the name ``target`` only if that name is free: exclusive, so racing writers cannot both win."""
    try:
        os.link(tmp, target)
    except FileExistsError as exc:
        raise InputError(_exists_message(target, None)) from exc
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS:
            raise
        # No hard links here: reserve the name with O_EXCL, then rename the complete file over the reservation.
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc2:
            raise InputError(_exists_message(target, None)) from exc2
        os.close(fd)
        try:
            os.replace(tmp, target)
        except BaseException:
            _remove_quietly(target)
            raise
        return
    _remove_quietly(tmp)


def _finish(tmp: pathlib.Path, target: pathlib.Path, *, overwrite: bool = True) -> None:
    """Give ``tmp`` normal permissions and put it in place: replacing (``overwrite``) or exclusively."""
    # mkstemp makes 0600 files; a normal open() would give 0666 & ~umask.
    os.chmod(tmp, 0o666 & ~_current_umask())
    if overwrite:
        _refuse_special(target)
        os.replace(tmp, target)
    else:
        _link_into_place(tmp, target)
    _fsync_dir(target.parent)


@contextlib.contextmanager
def _removed_on_failure(tmp: pathlib.Path, target: pathlib.Path) -> Iterator[None]:
    """Delete ``tmp`` if the block fails in any way; the user's disk errors become one-line InputErrors."""
    try:
        yield
    except OSError as exc:
        _remove_quietly(tmp)
        mapped = _environment_error(exc, target)
        if mapped is None:
            raise
        raise mapped from exc
    except BaseException:
        _remove_quietly(tmp)
        raise


def atomic_write(
    path: str | os.PathLike[str],
    data: bytes,
    *,
    overwrite: bool | None = None,
    inputs: Iterable[str | os.PathLike[str]] | None = None,
) -> pathlib.Path:
    """Write ``data`` to ``path`` atomically, under the write rule of this module.

    Parameters
    ----------
    path : str or os.PathLike
        The file to create or replace. Its parent directory must exist.
    data : bytes-like
        The bytes to write (``bytes``, ``bytearray``, ``memoryview`` or any
        object supporting the buffer protocol).
    overwrite : bool, optional
        Whether an existing regular file may be replaced. None (the
        default) follows the enclosing :func:`write_rules` block, and
        outside one replaces (True).
    inputs : iterable of str or os.PathLike, optional
        Files or folders the caller read; ``path`` may not be one of them.
        Added to the inputs of the enclosing :func:`write_rules` block.

    Returns
    -------
    pathlib.Path
        ``path`` as a :class:`pathlib.Path`.

    Raises
    ------
    InputError
        If the parent directory does not exist; ``path`` is a directory,
        FIFO, socket or device, or one of the inputs; ``path`` exists and
        ``overwrite`` is False; or the disk is full, read-only or forbidden.

    Notes
    -----
    The data goes to a hidden temporary file (``.<name>.XXXX.tmp``) in the same
    directory, which is flushed and ``fsync``-ed and then renamed over
    ``path`` with :func:`os.replace` (``overwrite``) or hard-linked to
    ``path``, which fails if the name was taken meanwhile (without it).
    Readers therefore see either the old file or the complete new one,
    never a partial write. If anything fails (an exception, Ctrl-C, or
    SIGTERM under the command line's ``cleanup_on_termination``), the temporary file is
    removed, the old file (if any) is untouched, and the exception
    propagates. The new file gets the permissions an ordinary
    ``open(path, "wb")`` would give it (``0o666`` minus the umask).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = atomic_write(pathlib.Path(d) / "frame.nv12", b"\\x10" * 6)
    ...     p.read_bytes()
    b'\\x10\\x10\\x10\\x10\\x10\\x10'
    """
    rules = _resolve_rules(overwrite, inputs)
    target = _check_target(path, overwrite=rules.overwrite, inputs=rules.inputs)
    try:
        view = memoryview(data)
    except TypeError as exc:
        raise InputError(
            f"atomic_write needs bytes-like data, got {type(data).__name__}"
        ) from exc
    fd, tmp = _make_temp(target, ".tmp")
    with _removed_on_failure(tmp, target):
        with os.fdopen(fd, "wb") as fh:
            fh.write(view)
            fh.flush()
            os.fsync(fh.fileno())
        _finish(tmp, target, overwrite=rules.overwrite)
    return target


@contextlib.contextmanager
def atomic_path(
    path: str | os.PathLike[str],
    *,
    overwrite: bool | None = None,
    inputs: Iterable[str | os.PathLike[str]] | None = None,
) -> Iterator[pathlib.Path]:
    """Yield a temporary path that replaces ``path`` when the block succeeds.

    For code that insists on writing a file itself (``onnx.save``,
    ``np.save``, ``PIL.Image.save``...). The rule is :func:`atomic_write`'s.

    Parameters
    ----------
    path : str or os.PathLike
        The file to create or replace. Its parent directory must exist.
    overwrite : bool, optional
        As for :func:`atomic_write`: None follows :func:`write_rules`
        (replace, outside one).
    inputs : iterable of str or os.PathLike, optional
        As for :func:`atomic_write`: files the target may not be.

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
        As for :func:`atomic_write`: a missing parent, a target that is not
        a regular file or is an input, an existing file without
        ``overwrite``, a full, read-only or forbidden disk.

    Notes
    -----
    On normal exit the temporary file is ``fsync``-ed and put in place as
    :func:`atomic_write` does. If the block raises (or is interrupted), the
    temporary file is deleted, ``path`` is left as it was, and the
    exception propagates.

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
    rules = _resolve_rules(overwrite, inputs)
    target = _check_target(path, overwrite=rules.overwrite, inputs=rules.inputs)
    fd, tmp = _make_temp(target, ".tmp" + target.suffix)
    os.close(fd)
    with _removed_on_failure(tmp, target):
        yield tmp
        # The caller's writer may not have fsync-ed; do it before the rename.
        rfd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(rfd)
        finally:
            os.close(rfd)
        _finish(tmp, target, overwrite=rules.overwrite)
