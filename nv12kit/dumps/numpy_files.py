"""numpy's own files: one ``.npy`` (one tensor), an ``.npz`` (one per member), a folder of ``.npy``.

Files are read without pickle support (pickled arrays can run code when
loaded), only regular files are opened, and sizes are checked before
anything is allocated: an ``.npy`` header against the file size, an ``.npz``
by the uncompressed sizes in its zip directory, a folder by the sum of its
files.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np

from .._io import MAX_READ_BYTES, open_regular, read_npy, read_npz
from ..errors import InputError
from ._common import check_folder_budget, regular_files

__all__ = ["read_npy_outputs", "read_npz_outputs", "read_npy_folder", "NPY_MAGIC", "ZIP_MAGIC"]

NPY_MAGIC, ZIP_MAGIC, PICKLE_MAGIC = b"\x93NUMPY", b"PK\x03\x04", b"\x80"


def check_magic(path: pathlib.Path) -> None:
    """Tell a pickle or a text file from a real .npy/.npz by its first bytes, before numpy parses it."""
    try:
        with open_regular(path, what="outputs file") as fh:
            head = fh.read(6)
    except OSError as exc:
        raise InputError(f"cannot read {str(path)!r}: {exc}") from exc
    if head.startswith(PICKLE_MAGIC):
        raise InputError(
            f"{str(path)!r} is a Python pickle, which nv12kit refuses to load (loading pickles can run code). "
            "Save plain numeric arrays with np.save / np.savez"
        )
    if not (head.startswith(NPY_MAGIC) or head.startswith(ZIP_MAGIC)):
        raise InputError(
            f"{str(path)!r} is not a .npy or .npz file (its first bytes are {head!r}); save outputs with "
            "np.save(path, array) or np.savez(path, **outputs)"
        )


def read_npy_outputs(path: str | os.PathLike[str], *, max_bytes: int | None = MAX_READ_BYTES) -> dict[str, np.ndarray]:
    """One ``.npy`` file as ``{stem: array}``.

    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     np.save(pathlib.Path(d) / "logits.npy", np.zeros((1, 3), np.float32))
    ...     {k: v.shape for k, v in read_npy_outputs(pathlib.Path(d) / "logits.npy").items()}
    {'logits': (1, 3)}
    """
    path = pathlib.Path(path)
    check_magic(path)
    return {path.stem: read_npy(path, max_bytes=max_bytes)}


def read_npz_outputs(path: str | os.PathLike[str], *, max_bytes: int | None = MAX_READ_BYTES) -> dict[str, np.ndarray]:
    """Every member of an ``.npz`` file, named as :func:`numpy.load` names them."""
    path = pathlib.Path(path)
    check_magic(path)
    return read_npz(path, max_bytes=max_bytes)


def read_npy_folder(path: str | os.PathLike[str], *, max_bytes: int | None = MAX_READ_BYTES) -> dict[str, np.ndarray]:
    """A folder of ``.npy`` files as ``{stem: array}``; ``max_bytes`` bounds all files together."""
    folder = pathlib.Path(path)
    files = regular_files(folder, [".npy"])
    if not files:
        raise InputError(f"the folder {str(folder)!r} holds no .npy files")
    check_folder_budget(files, max_bytes=max_bytes, what=f"the .npy files in {str(folder)!r}")
    out = {}
    for file in files:
        check_magic(file)
        out[file.stem] = read_npy(file, max_bytes=max_bytes)
    return out
