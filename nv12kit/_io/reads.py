"""Safe reads: regular files only, and sizes checked against budgets before anything is allocated."""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
import stat
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import InputError

# ---------------------------------------------------------------------------
# reads
# ---------------------------------------------------------------------------
# Every file nv12kit reads is opened by open_regular: a FIFO, device, socket or
# directory is refused before it can block or stream forever. Sizes are checked
# against a budget before anything is allocated: the file size, an .npy header's
# shape x itemsize, an .npz member's uncompressed size from the zip directory.

#: Default budget, in bytes, of one read: a file, one .npy array, all arrays of one .npz.
MAX_READ_BYTES = 2 * 1024**3

#: Default pixel budget of an image file (8192 x 8192), checked from its header before decoding.
MAX_IMAGE_PIXELS = 8192 * 8192


# The pixel budget in force: a command line's --max-pixels applies to every image its command loads.
_PIXEL_BUDGET: contextvars.ContextVar[int | None] = contextvars.ContextVar("nv12kit_max_pixels",
                                                                           default=MAX_IMAGE_PIXELS)


def current_pixel_budget() -> int | None:
    """The pixel budget image files are checked against now (:data:`MAX_IMAGE_PIXELS` unless raised)."""
    return _PIXEL_BUDGET.get()


@contextlib.contextmanager
def pixel_budget(max_pixels: int | None) -> Iterator[None]:
    """Check every image file loaded inside the block against ``max_pixels`` (``None``: no limit).

    >>> with pixel_budget(10**9):
    ...     current_pixel_budget()
    1000000000
    """
    token = _PIXEL_BUDGET.set(max_pixels)
    try:
        yield
    finally:
        _PIXEL_BUDGET.reset(token)


def file_kind(mode: int) -> str:
    """A phrase for a file type that is not a regular file ('a FIFO (named pipe)', ...)."""
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _require_regular(mode: int, name: str, what: str) -> None:
    """Refuse a file type that is not a regular file, naming what it is."""
    if not stat.S_ISREG(mode):
        raise InputError(
            f"{what} {name!r} is {file_kind(mode)}, not a regular file; nv12kit reads only regular files "
            "(a pipe or device could block or never end). Pass the path of a file, or copy the data into one"
        )


def _size_text(n: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit} ({n} bytes)"
    return f"{n} bytes"


def _check_limit(value: Any, option: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise InputError(f"{option} must be a positive integer (or None for no limit), got {value!r}")
    return int(value)


def check_budget(nbytes: int, *, max_bytes: int | None, what: str, fix: str = "max_bytes=") -> None:
    """Refuse to allocate ``nbytes`` for ``what`` when it exceeds ``max_bytes``.

    Parameters
    ----------
    nbytes : int
        What the read would allocate.
    max_bytes : int or None
        The budget; None means no limit.
    what : str
        Names the thing being read, for the message.
    fix : str, optional
        How the caller raises the budget (a keyword or a CLI flag).

    Raises
    ------
    InputError
        If ``nbytes > max_bytes``.

    Examples
    --------
    >>> check_budget(10, max_bytes=100, what="'a.npy'")
    >>> check_budget(3 * 1024**3, max_bytes=MAX_READ_BYTES, what="'a.npy'")
    Traceback (most recent call last):
    ...
    nv12kit.errors.InputError: 'a.npy' needs 3.0 GiB (3221225472 bytes), above the read budget ...
    """
    limit = _check_limit(max_bytes, "max_bytes")
    if limit is not None and nbytes > limit:
        raise InputError(
            f"{what} needs {_size_text(nbytes)}, above the read budget of {_size_text(limit)}; "
            f"it may be a decompression bomb or a corrupt header. If you trust it, raise the budget ({fix}...)"
        )


def _path_name(path: Any, what: str) -> str:
    try:
        return os.fspath(path)
    except TypeError as exc:
        raise InputError(
            f"{what} must be a path (str or os.PathLike), got {type(path).__name__}"
        ) from exc


def open_regular(path: str | os.PathLike[str], *, what: str = "file") -> Any:
    """Open a regular file for binary reading; refuse anything else before it can block.

    Parameters
    ----------
    path : str or os.PathLike
        The file to read. Symlinks are followed; what they point to must be a
        regular file.
    what : str, optional
        What the file is (``"image file"``, ``"raw YUV file"``...), for messages.

    Returns
    -------
    BinaryIO
        An open binary file object; close it (``with open_regular(p) as fh:``).

    Raises
    ------
    InputError
        If the path does not exist or cannot be read, or is a directory, FIFO,
        device or socket (checked with ``os.stat`` before opening and again
        with ``os.fstat`` on the open descriptor, so a swap in between is
        caught too).

    Examples
    --------
    >>> import os, pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d) / "a.bin"
    ...     _ = p.write_bytes(b"abc")
    ...     with open_regular(p) as fh:
    ...         fh.read()
    b'abc'
    """
    name = _path_name(path, what)
    try:
        st = os.stat(name)
    except FileNotFoundError as exc:
        raise InputError(f"{what} {name!r} does not exist; check the path") from exc
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {what} {name!r}: {exc}") from exc
    _require_regular(st.st_mode, name, what)
    # O_NONBLOCK: if the path became a FIFO since the stat, open() returns instead of waiting for a writer.
    nonblock = getattr(os, "O_NONBLOCK", 0)
    flags = os.O_RDONLY | nonblock | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(name, flags)
    except OSError as exc:
        raise InputError(f"cannot read {what} {name!r}: {exc}") from exc
    try:
        _require_regular(os.fstat(fd).st_mode, name, what)
        if nonblock:
            import fcntl

            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~nonblock)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(
    path: str | os.PathLike[str], *, max_bytes: int | None = MAX_READ_BYTES, what: str = "file"
) -> bytes:
    """Read a whole regular file, refusing it before reading if it is larger than ``max_bytes``.

    Parameters
    ----------
    path : str or os.PathLike
        A regular file (see :func:`open_regular`).
    max_bytes : int or None, optional
        Budget in bytes (default :data:`MAX_READ_BYTES`, 2 GiB); None for no limit.
    what : str, optional
        What the file is, for messages.

    Returns
    -------
    bytes

    Raises
    ------
    InputError
        Not a regular file, unreadable, or over the budget.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d) / "f.nv12"
    ...     _ = p.write_bytes(bytes(6))
    ...     len(read_bytes(p, max_bytes=6))
    6
    """
    limit = _check_limit(max_bytes, "max_bytes")
    with open_regular(path, what=what) as fh:
        name = _path_name(path, what)
        size = os.fstat(fh.fileno()).st_size
        check_budget(size, max_bytes=limit, what=f"{what} {name!r}")
        try:
            # Read what the size promised (plus one byte to notice growth), never more than the budget.
            data = fh.read(size + 1 if limit is None else min(size + 1, limit + 1))
        except OSError as exc:
            raise InputError(f"cannot read {what} {name!r}: {exc}") from exc
    check_budget(len(data), max_bytes=limit, what=f"{what} {name!r}")
    return data


_PICKLE_FIX = "Save plain numeric arrays: np.save(path, np.asarray(x)) or np.savez(path, **{name: np.asarray(x)})"


def _npy_header(fh: Any, where: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Parse an .npy header (format 1.0 or 2.0) without reading the data."""
    from numpy.lib import format as npy_format

    try:
        version = npy_format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = npy_format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = npy_format.read_array_header_2_0(fh)
        else:
            raise InputError(
                f"{where} uses .npy format version {version[0]}.{version[1]}, which nv12kit does not read; "
                "re-save it with np.save(path, np.asarray(x, dtype=np.float32))"
            )
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - numpy raises ValueError, TypeError, SyntaxError... on bad headers
        raise InputError(
            f"{where} is not a readable .npy file: its header is corrupt or truncated ({exc}); "
            "re-save it with np.save"
        ) from exc
    if any(n < 0 for n in shape):
        raise InputError(f"{where} is not a readable .npy file: its header gives a negative shape {shape}")
    return tuple(int(n) for n in shape), bool(fortran), dtype


def _read_npy_stream(fh: Any, *, available: int, max_bytes: int | None, where: str) -> np.ndarray:
    """Read one .npy array from ``fh``, which holds ``available`` bytes in all, checking sizes before allocating."""
    shape, fortran, dtype = _npy_header(fh, where)
    if dtype.hasobject:
        raise InputError(
            f"{where} holds pickled objects (dtype {dtype}), which nv12kit refuses to load "
            f"(loading pickles can run code). {_PICKLE_FIX}"
        )
    if dtype.itemsize == 0:
        raise InputError(f"{where} has items of zero size (dtype {dtype}); it holds no numbers. {_PICKLE_FIX}")
    count = math.prod(shape)
    nbytes = count * dtype.itemsize
    follow = available - fh.tell()
    if nbytes > follow:
        # Checked before the budget: a lying header is corruption, not a big file.
        raise InputError(
            f"{where} is not a readable .npy file: it is truncated or corrupt (its header promises "
            f"{shape} {dtype} = {_size_text(nbytes)} of data, but only {_size_text(max(follow, 0))} follow). "
            "Re-copy the file or save it again with np.save"
        )
    check_budget(nbytes, max_bytes=max_bytes, what=where)
    buf = bytearray(nbytes)
    view, got = memoryview(buf), 0
    while got < nbytes:
        # In chunks: a zip member's readinto() would otherwise build one temporary copy of the whole array.
        n = fh.readinto(view[got : got + 16 * 1024**2])
        if not n:
            break
        got += n
    if got < nbytes:
        raise InputError(
            f"{where} is not a readable .npy file: it is truncated (its header promises {_size_text(nbytes)} "
            f"of data, only {_size_text(got)} could be read). Re-copy the file or save it again with np.save"
        )
    array = np.frombuffer(buf, dtype=dtype, count=count)
    try:
        return array.reshape(shape, order="F" if fortran else "C")
    except ValueError as exc:  # e.g. (0, 2**40, 2**40): no data, but numpy cannot index such dimensions
        raise InputError(
            f"{where} is not a readable .npy file: its header's shape {shape} cannot be indexed by numpy ({exc}). "
            "Re-copy the file or save it again with np.save"
        ) from exc


def read_npy(path: str | os.PathLike[str], *, max_bytes: int | None = MAX_READ_BYTES) -> np.ndarray:
    """Read an .npy file safely: regular files only, no pickles, sizes checked before allocating.

    Parameters
    ----------
    path : str or os.PathLike
        An ``.npy`` file written by :func:`numpy.save`.
    max_bytes : int or None, optional
        Largest array to allocate (default :data:`MAX_READ_BYTES`, 2 GiB); None for no limit.

    Returns
    -------
    numpy.ndarray
        A writable array with the stored dtype and shape.

    Raises
    ------
    InputError
        Not a regular file; a corrupt or truncated file, or a header whose
        shape x itemsize exceeds the file size (a lying header); object
        arrays (pickles); an array over ``max_bytes``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d) / "a.npy"
    ...     np.save(p, np.arange(3.0))
    ...     read_npy(p).tolist()
    [0.0, 1.0, 2.0]
    """
    limit = _check_limit(max_bytes, "max_bytes")
    name = _path_name(path, ".npy file")
    with open_regular(name, what=".npy file") as fh:
        size = os.fstat(fh.fileno()).st_size
        try:
            return _read_npy_stream(fh, available=size, max_bytes=limit, where=repr(name))
        except OSError as exc:
            raise InputError(f"cannot read {name!r}: {exc}") from exc


def read_npz(path: str | os.PathLike[str], *, max_bytes: int | None = MAX_READ_BYTES) -> dict[str, np.ndarray]:
    """Read every array of an .npz file safely; the zip directory's sizes are checked before decompressing.

    Parameters
    ----------
    path : str or os.PathLike
        An ``.npz`` file written by :func:`numpy.savez` or
        :func:`numpy.savez_compressed`.
    max_bytes : int or None, optional
        Budget for all arrays together, by their uncompressed sizes in the zip
        directory (default :data:`MAX_READ_BYTES`, 2 GiB); None for no limit.

    Returns
    -------
    dict of str to numpy.ndarray
        One entry per member, named as :func:`numpy.load` names them (the
        member name without ``.npy``).

    Raises
    ------
    InputError
        Not a regular file or not a zip; members over the budget (a zip bomb);
        a member that is truncated, corrupt or whose header lies about its
        size; object arrays (pickles); a member that is not an .npy array.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d) / "a.npz"
    ...     np.savez(p, logits=np.ones(2))
    ...     read_npz(p)["logits"].tolist()
    [1.0, 1.0]
    """
    import zipfile
    import zlib

    limit = _check_limit(max_bytes, "max_bytes")
    name = _path_name(path, ".npz file")
    broken = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError, RuntimeError)
    with open_regular(name, what=".npz file") as fh:
        try:
            archive = zipfile.ZipFile(fh)
        except broken as exc:
            raise InputError(f"{name!r} is not a readable .npz file: {exc}") from exc
        with archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
            check_budget(sum(info.file_size for info in members), max_bytes=limit,
                         what=f"{name!r} (all arrays, uncompressed)")
            out: dict[str, np.ndarray] = {}
            for info in members:
                key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                where = f"{name!r}: array {key!r}"
                try:
                    with archive.open(info) as member:
                        out[key] = _read_npy_stream(member, available=info.file_size, max_bytes=limit, where=where)
                except InputError:
                    raise
                except broken as exc:
                    raise InputError(
                        f"{where} is truncated or corrupt ({type(exc).__name__}: {exc}); re-copy the file or save "
                        "it again with np.savez"
                    ) from exc
    return out
