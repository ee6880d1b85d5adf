"""SIGTERM and SIGHUP unwind the stack like Ctrl-C, so half-written temporary files are removed.

Python runs ``finally`` blocks on Ctrl-C (KeyboardInterrupt) but not on
SIGTERM, which is what ``kill``, CI runners and container stops send. The
command line runs every subcommand inside :func:`cleanup_on_termination`;
the atomic writes of :mod:`nv12kit._io` then remove their temporary file
on the way out, as they do for any exception.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["Terminated", "cleanup_on_termination"]


class Terminated(SystemExit):
    """Raised in the main thread on SIGTERM (or SIGHUP) inside :func:`cleanup_on_termination`.

    A :class:`SystemExit` whose code is ``128 + signal number``: uncaught,
    it ends the process with the conventional status after every
    ``finally`` block (and every temporary-file cleanup) has run.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum


@contextlib.contextmanager
def cleanup_on_termination() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into :class:`Terminated` inside the block (main thread only).

    Previous handlers are restored on exit. Outside the main thread, where
    Python cannot catch signals, it does nothing.

    Examples
    --------
    >>> import os, signal
    >>> try:
    ...     with cleanup_on_termination():
    ...         os.kill(os.getpid(), signal.SIGTERM)
    ... except Terminated as exc:
    ...     print(exc.code)
    143
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, frame: Any) -> None:
        raise Terminated(signum)

    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        with contextlib.suppress(ValueError, OSError):
            previous[signum] = signal.signal(signum, _raise)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
