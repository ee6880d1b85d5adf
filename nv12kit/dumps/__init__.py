"""Readers for the tensors other tools dump, so ``compare`` speaks the field's formats.

One module per format, pure numpy, no vendor package needed, every file read
through :mod:`nv12kit._io` (regular files only, budgets checked before
allocating, ``allow_pickle=False``):

=============  ==============================================================
``npy``        one ``.npy`` file, or a folder of them (:mod:`.numpy_files`)
``npz``        an ``.npz`` file (:mod:`.numpy_files`)
``polygraphy`` Polygraphy's JSON (``polygraphy run --save-outputs``; :mod:`.polygraphy`)
``rknn``       RKNN-Toolkit ``accuracy_analysis`` run folders (:mod:`.rknn`)
``horizon``    Horizon ``hrt_model_exec`` / ``hb_verifier`` ``.bin`` / ``.txt`` dumps (:mod:`.horizon`)
``raw``        headerless ``.raw`` files plus a manifest: QNN/SNPE, AIMET, TIDL (:mod:`.raw`)
=============  ==============================================================

:func:`read_outputs` detects the format from the content (magic bytes, JSON
keys, what a folder holds) unless told; :func:`read_dump` also says which
format it used and whether it was detected, so a command line can print it.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._io import MAX_READ_BYTES, open_regular
from ..errors import InputError
from ._common import regular_files

__all__ = [
    "FORMATS",
    "DumpRead",
    "read_dump",
    "read_outputs",
    "detect_format",
    "read_npy_outputs",
    "read_npz_outputs",
    "read_npy_folder",
    "read_rknn_dump",
    "read_horizon_dump",
    "read_raw_dump",
    "read_polygraphy_outputs",
    "read_polygraphy_inputs",
    "write_polygraphy_outputs",
    "write_polygraphy_inputs",
]

#: The formats :func:`read_outputs` reads ("auto" detects one of them).
FORMATS = ("npz", "npy", "polygraphy", "rknn", "horizon", "raw")

_LAZY = {
    "read_npy_outputs": "numpy_files", "read_npz_outputs": "numpy_files", "read_npy_folder": "numpy_files",
    "read_rknn_dump": "rknn", "read_horizon_dump": "horizon", "read_raw_dump": "raw",
    "read_polygraphy_outputs": "polygraphy", "read_polygraphy_inputs": "polygraphy",
    "write_polygraphy_outputs": "polygraphy", "write_polygraphy_inputs": "polygraphy",
}


def __getattr__(name: str) -> Any:
    # Lazy: the Polygraphy module is written separately, and nothing here should load before it is used.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nv12kit.dumps' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


@dataclass(frozen=True)
class DumpRead:
    """Tensors read from one source, and how.

    Attributes
    ----------
    outputs : dict of str to numpy.ndarray
    format : str
        One of :data:`FORMATS`, or ``"dict"`` for an in-memory mapping.
    detected : bool
        True when nv12kit chose the format (it was ``"auto"``).
    reason : str
        What the detection went by (empty when the format was given).
    notes : tuple of str
        What the reader assumed (a manifest it found, a Result folder it chose, layouts).
    """

    outputs: dict[str, np.ndarray]
    format: str
    detected: bool = False
    reason: str = ""
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for a report: ``"rknn (detected: .npy files named with RKNN layouts)"``."""
        if self.format == "dict":
            return "in-memory arrays"
        return f"{self.format} (detected: {self.reason})" if self.detected else f"{self.format} (as told)"


def _polygraphy() -> Any:
    try:
        from . import polygraphy
    except ImportError as exc:
        raise InputError(f"this nv12kit cannot read Polygraphy JSON: nv12kit.dumps.polygraphy is missing "
                         f"({exc})") from exc
    return polygraphy


def _head(path: pathlib.Path, size: int = 4096) -> bytes:
    try:
        with open_regular(path, what="outputs file") as fh:
            return fh.read(size)
    except OSError as exc:
        raise InputError(f"cannot read {str(path)!r}: {exc}") from exc


_UNKNOWN = ("expected a .npy or .npz file (numpy.save / numpy.savez), a folder of .npy, Polygraphy JSON "
            "(polygraphy run --save-outputs), an RKNN accuracy_analysis run folder, a Horizon dump folder or a "
            ".raw dump with a manifest; for a single Horizon .txt dump pass format='horizon'")


def _polygraphy_feeds(path: pathlib.Path) -> bool:
    """Whether a Polygraphy file (or per-iteration folder) holds feeds (--save-inputs) rather than RunResults."""
    if path.is_dir():
        files = sorted(regular_files(path, [".json"]))
        if not files:
            return False  # the reader names what is missing
        path = files[0]
    return _polygraphy().holds_feeds(_head(path, 4096))


def _detect_file(path: pathlib.Path) -> tuple[str, str]:
    head = _head(path)
    suffix = path.suffix.lower()
    if head.startswith(b"\x93NUMPY"):
        return "npy", "the .npy magic bytes"
    if head.startswith(b"PK\x03\x04"):
        return "npz", "the zip magic bytes of an .npz"
    if suffix in (".npy", ".npz"):
        return suffix[1:], f"the {suffix} suffix"  # the reader names what is wrong (a pickle, text...)
    if head.lstrip()[:1] in (b"{", b"["):
        if _polygraphy().is_polygraphy_json(head):
            return "polygraphy", "Polygraphy's JSON keys"
        raise InputError(f"{str(path)!r} is JSON but not Polygraphy's RunResults or feed list; {_UNKNOWN}")
    if suffix == ".raw":
        return "raw", "the .raw suffix"
    if suffix == ".bin":
        return "horizon", "the .bin suffix"
    raise InputError(f"{str(path)!r}: {_UNKNOWN}")


def _detect_folder(folder: pathlib.Path) -> tuple[str, str]:
    from .raw import result_folders
    from .rknn import RKNN_RUN_FOLDERS, parse_rknn_name, run_folders

    runs = run_folders(folder)
    if runs:
        return "rknn", f"the accuracy_analysis run folders {runs}"
    if folder.name in RKNN_RUN_FOLDERS and (folder.parent / "error_analysis.txt").is_file():
        return "rknn", f"an accuracy_analysis {folder.name!r} run folder next to error_analysis.txt"
    if result_folders(folder):
        return "raw", "qnn-net-run Result_N folders"
    if regular_files(folder, [".raw"]):
        return "raw", ".raw files"
    if regular_files(folder, [".tensor"]):
        return "rknn", "RKNN-Toolkit .tensor files"
    npy = regular_files(folder, [".npy"])
    if any(parse_rknn_name(f.stem)[1] is not None for f in npy):
        return "rknn", ".npy files named with RKNN's _out<k>_<layout>_<shape> suffix"
    if npy:
        return "npy", "a folder of .npy files"
    iterations = regular_files(folder, [".json"])
    if iterations and _polygraphy().is_polygraphy_json(_head(sorted(iterations)[0])):
        return "polygraphy", "a folder of Polygraphy per-iteration JSON files"
    if regular_files(folder, [".bin"]) or any(f.name.startswith("layer-") for f in regular_files(folder, [".txt"])):
        return "horizon", "Horizon .bin/.txt tensor dumps"
    raise InputError(f"the folder {str(folder)!r} holds no .npy files nor any dump nv12kit knows; {_UNKNOWN}")


def detect_format(source: str | os.PathLike[str]) -> tuple[str, str]:
    """``(format, reason)`` for a dump file or folder, from its content.

    Raises
    ------
    InputError
        Missing, not readable, or no known format.
    """
    if not isinstance(source, (str, os.PathLike)):
        raise InputError(f"outputs must be a dict of name to array or a path, got {type(source).__name__}")
    path = pathlib.Path(source)
    if path.is_dir():
        return _detect_folder(path)
    if not path.exists():
        raise InputError(f"outputs file {str(path)!r} does not exist")
    return _detect_file(path)


def read_dump(
    source: Any,
    *,
    format: str = "auto",  # noqa: A002 - the word users know (and the CLI's --format)
    manifest: Any = None,
    run: str | None = None,
    result: int | None = None,
    runner: str | None = None,
    iteration: int = 0,
    max_bytes: int | None = MAX_READ_BYTES,
) -> DumpRead:
    """Read dumped tensors in any known format, saying which format was used.

    Parameters
    ----------
    source : dict of str to array, or path
        In-memory outputs, or a dump file or folder.
    format : {"auto", "npz", "npy", "polygraphy", "rknn", "horizon", "raw"}, optional
        "auto" (default) detects it from the content.
    manifest : path, dict or list, optional
        Names, shapes and dtypes for ``raw`` and ``horizon`` dumps.
    run : str, optional
        RKNN: the run folder (``simulator``, ``runtime``, ``golden``) of an ``output_dir``.
    result : int, optional
        ``raw``: the ``Result_<N>`` folder of a qnn-net-run ``output_dir`` (default 0).
    runner, iteration : optional
        Polygraphy: which runner's results, and which iteration (default the
        first runner, iteration 0).
    max_bytes : int or None, optional
        Read budget (default 2 GiB), checked before allocating; None for no limit.

    Returns
    -------
    DumpRead

    Raises
    ------
    InputError
        Unknown format, unreadable or inconsistent data (see each reader).
    """
    if isinstance(source, Mapping):
        return DumpRead({str(k): np.asarray(v) for k, v in source.items()}, "dict")
    if not isinstance(source, (str, os.PathLike)):
        raise InputError(f"outputs must be a dict of name to array or a path to a dump, got {type(source).__name__}")
    if format not in ("auto",) + FORMATS:
        raise InputError(f"format must be 'auto' or one of {list(FORMATS)}, got {format!r}")
    path = pathlib.Path(source)
    detected, reason = format == "auto", ""
    if detected:
        format, reason = detect_format(path)
    elif not path.exists():
        raise InputError(f"outputs {str(path)!r} do not exist; check the path")
    elif not path.is_dir():
        _head(path, 1)  # a FIFO, device or socket is refused here, whatever the format
    notes: list[str] = []
    if format == "npy":
        from .numpy_files import read_npy_folder, read_npy_outputs

        outputs = read_npy_folder(path, max_bytes=max_bytes) if path.is_dir() else read_npy_outputs(
            path, max_bytes=max_bytes)
    elif format == "npz":
        from .numpy_files import read_npz_outputs

        outputs = read_npz_outputs(path, max_bytes=max_bytes)
    elif format == "polygraphy":
        if _polygraphy_feeds(path):
            outputs = _polygraphy().read_polygraphy_inputs(path, iteration=iteration, max_bytes=max_bytes)
            notes.append(f"{str(path)!r} is a Polygraphy list of feeds (--save-inputs); read feed {iteration}")
        else:
            outputs = _polygraphy().read_polygraphy_outputs(path, runner=runner, iteration=iteration,
                                                            max_bytes=max_bytes)
    elif format == "rknn":
        from .rknn import read_rknn_dump_with_notes

        outputs, notes = read_rknn_dump_with_notes(path, run=run, max_bytes=max_bytes)
    elif format == "horizon":
        from .horizon import read_horizon_dump_with_notes

        outputs, notes = read_horizon_dump_with_notes(path, manifest=manifest, max_bytes=max_bytes)
    else:
        from .raw import read_raw_dump_with_notes

        outputs, notes = read_raw_dump_with_notes(path, manifest=manifest, result=result, max_bytes=max_bytes)
    if not outputs:
        raise InputError(f"{str(path)!r} holds no tensors")
    return DumpRead(dict(outputs), format, detected, reason, tuple(notes))


def read_outputs(
    source: Any,
    *,
    format: str = "auto",  # noqa: A002
    manifest: Any = None,
    run: str | None = None,
    result: int | None = None,
    runner: str | None = None,
    iteration: int = 0,
    max_bytes: int | None = MAX_READ_BYTES,
) -> dict[str, np.ndarray]:
    """Dumped tensors as ``{name: array}``, in any format of :data:`FORMATS` (see :func:`read_dump`).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     np.savez(pathlib.Path(d) / "run.npz", logits=np.ones((1, 3), np.float32))
    ...     {k: v.shape for k, v in read_outputs(pathlib.Path(d) / "run.npz").items()}
    {'logits': (1, 3)}
    """
    return read_dump(source, format=format, manifest=manifest, run=run, result=result, runner=runner,
                     iteration=iteration, max_bytes=max_bytes).outputs
