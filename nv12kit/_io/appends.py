"""Append-only logs: one JSON record a line, written as results come, readable after a crash.

The one exception to "every write is atomic": a long run streams its
per-item results to a log so that a killed run can be resumed. The same
rule as :mod:`.writes` applies to what may be opened (a regular file or a
new one, never an input of the command, an existing file only when asked
or when resuming it). Each record is written with one ``os.write`` on an
``O_APPEND`` descriptor, so a kill leaves at most one truncated last line;
:func:`open_append_log` drops that partial line when it resumes, before
anything new is appended.
"""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Iterable, Iterator
from typing import Any

from ..errors import InputError
from .reads import open_regular
from .writes import _check_target, _environment_error, _resolve_rules

__all__ = ["AppendLog", "open_append_log", "read_log_lines"]


def read_log_lines(path: str | os.PathLike[str], *, what: str = "log") -> Iterator[tuple[int, bytes]]:
    """The complete lines of a log, as ``(byte offset after the line, line without its newline)``.

    A last line without its newline (a write cut by a kill) is not yielded.
    """
    offset = 0
    with open_regular(path, what=what) as fh:
        for line in fh:
            if not line.endswith(b"\n"):
                return
            offset += len(line)
            yield offset, line[:-1]


class AppendLog:
    """An open append-only log; use :func:`open_append_log`.

    Attributes
    ----------
    path : pathlib.Path
    records : list
        The records already in the file when it was resumed (parsed JSON),
        in file order; empty for a new log.
    dropped_partial_line : bool
        Whether a truncated last line was found and removed on resume.
    """

    def __init__(self, path: pathlib.Path, fd: int, records: list[Any], dropped: bool) -> None:
        self.path = path
        self._fd: int | None = fd
        self.records = records
        self.dropped_partial_line = dropped

    def append(self, records: Iterable[Any]) -> None:
        """Append records, one JSON line each, in one write (strict JSON: no NaN)."""
        if self._fd is None:
            raise InputError(f"the log {str(self.path)!r} is closed")
        data = b"".join(json.dumps(r, allow_nan=False, separators=(",", ":")).encode("utf-8") + b"\n"
                        for r in records)
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError as exc:
            error = _environment_error(exc, self.path, "log")
            if error is None:
                raise
            raise error from exc

    def close(self) -> None:
        """Flush to disk and close (idempotent)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.fsync(fd)
            except OSError:
                pass
            os.close(fd)

    def __enter__(self) -> AppendLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_append_log(
    path: str | os.PathLike[str],
    *,
    resume: bool = False,
    overwrite: bool | None = None,
    inputs: Iterable[str | os.PathLike[str]] | None = None,
    label: str | None = None,
) -> AppendLog:
    """Open a JSON-lines log for appending, new or resumed.

    Parameters
    ----------
    path : str or os.PathLike
        The log file. Its folder must exist.
    resume : bool, optional
        Keep the records already in the file (they are parsed and returned
        in :attr:`AppendLog.records`); a truncated last line is cut off.
        A missing file is started afresh.
    overwrite : bool, optional
        Without ``resume``: whether an existing file may be emptied and
        started again. By default the rule of :func:`nv12kit._io.write_rules`
        (outside it: allowed).
    inputs : iterable of paths, optional
        Files the command reads; the log may not be one of them.
    label : str, optional
        The option that named the log, for messages (``"--jsonl"``).

    Raises
    ------
    InputError
        A target that is not a regular file, is an input, exists (without
        ``resume`` or ``overwrite``), or a resumed file whose complete lines
        are not JSON.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d) / "run.jsonl"
    ...     with open_append_log(p) as log:
    ...         log.append([{"i": 0}, {"i": 1}])
    ...     _ = p.open("ab").write(b'{"i": 2')  # a write cut short by a kill
    ...     with open_append_log(p, resume=True) as log:
    ...         print(log.records, log.dropped_partial_line)
    ...         log.append([{"i": 2}])
    ...     print(p.read_text().splitlines())
    [{'i': 0}, {'i': 1}] True
    ['{"i":0}', '{"i":1}', '{"i":2}']
    """
    rules = _resolve_rules(overwrite, inputs)
    target = _check_target(path, overwrite=True, inputs=rules.inputs, label=label)
    name = f"{label} {str(target)!r}" if label else repr(str(target))
    exists = target.exists()
    records: list[Any] = []
    keep = 0
    dropped = False
    if exists and resume:
        for number, (offset, line) in enumerate(read_log_lines(target, what="log"), start=1):
            if not line.strip():
                keep = offset
                continue
            try:
                records.append(json.loads(line))
            except ValueError as exc:
                raise InputError(f"{name} line {number} is not JSON ({exc}); it is not a log this run can resume: "
                                 "give another file, or start again without resume") from exc
            keep = offset
        dropped = target.stat().st_size > keep
    elif exists and not rules.overwrite:
        raise InputError(f"{name} already exists; resume it (--resume), choose another path, or pass --force "
                         "(overwrite=True) to start it again")
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(target, flags, 0o666)
        try:
            os.ftruncate(fd, keep)  # resume: drop a partial last line; a fresh start: empty it
        except BaseException:
            os.close(fd)
            raise
    except OSError as exc:
        error = _environment_error(exc, target, label)
        if error is None:
            raise
        raise error from exc
    return AppendLog(target, fd, records, dropped)
