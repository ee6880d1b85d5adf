"""RKNN-Toolkit ``accuracy_analysis`` snapshot folders: one file per tensor, named after the layer.

``rknn.accuracy_analysis(inputs, output_dir="./snapshot", target=...)`` writes
the per-layer results of each run into its own subfolder of ``output_dir``:
RKNN-Toolkit2 uses ``golden`` (the float model), ``simulator`` (the quantized
model on the PC simulator) and ``runtime`` (on the board, when ``target`` is
set), one ``.npy`` per tensor, next to ``error_analysis.txt``; the older
RKNN-Toolkit used ``fp32``, ``entire_qnt`` and ``individual_qnt`` with one text
``.tensor`` file per tensor whose name ends in the output index, the layout
and the shape, e.g. ``Conv_Conv_1_42_out0_nhwc_1_128_96_64.tensor``.

Sources (public documentation and scripts; no RKNN package needed here): the
RKNN-Toolkit2 API reference, section "accuracy_analysis" (``output_dir``
default ``./snapshot``; ``simulator`` and ``golden`` folders, ``runtime`` when
``target`` is set, every layer's result converted to float32; also used by
``inference(..., accuracy_analysis=True)``), and the example
``examples/functions/accuracy_analysis/README.md`` of airockchip/rknn-toolkit2
(the per-layer table). The Toolkit2 documents do not spell out the ``.npy``
file names, so a tensor is named by its file stem. Toolkit 1 file names come
from public user scripts that load
``snapshot/fp32/ConvTranspose_ConvTranspose_60_59_plane_131_out0_nhwc_1_79_79_32.tensor``
and the same name under ``snapshot/entire_qnt``.

A file name carrying ``_out<k>_<layout>_<dims>`` gives the tensor's shape (the
data is reshaped to it, and its size must match) and its layout: RKNN dumps
feature maps as NHWC, so a note says so (compare them with NCHW outputs only
after transposing). The tensor is named by what comes before ``_out<k>``
(``_out<k>`` is kept for k > 0).
"""

from __future__ import annotations

import math
import os
import pathlib
import re

import numpy as np

from .._io import MAX_READ_BYTES, read_npy
from ..errors import InputError
from ._common import add_unique, check_folder_budget, parse_float_text, read_text, regular_files
from .numpy_files import check_magic

__all__ = ["read_rknn_dump", "RKNN_RUN_FOLDERS", "parse_rknn_name"]

#: Subfolders of an ``accuracy_analysis`` output_dir, one per run (Toolkit2 first, then Toolkit 1).
RKNN_RUN_FOLDERS = ("golden", "simulator", "runtime", "fp32", "entire_qnt", "individual_qnt")

_SUFFIX = re.compile(
    r"^(?P<name>.+?)_out(?P<index>\d+)_(?P<layout>nhwc|nchw|nc1hwc2|undefined)_(?P<dims>\d+(?:_\d+)*)$", re.IGNORECASE)


def parse_rknn_name(stem: str) -> tuple[str, tuple[int, ...] | None, str | None]:
    """``(tensor name, shape, layout)`` from an RKNN dump file's stem; shape and layout None when absent.

    >>> parse_rknn_name("Conv_Conv_1_42_out0_nhwc_1_128_96_64")
    ('Conv_Conv_1_42', (1, 128, 96, 64), 'nhwc')
    >>> parse_rknn_name("Add_Add_3_out1_nchw_1_8")
    ('Add_Add_3_out1', (1, 8), 'nchw')
    >>> parse_rknn_name("resnetv24_dense0_fwd")
    ('resnetv24_dense0_fwd', None, None)
    """
    match = _SUFFIX.match(stem)
    if not match:
        return stem, None, None
    name = match["name"] if int(match["index"]) == 0 else f"{match['name']}_out{match['index']}"
    return name, tuple(int(d) for d in match["dims"].split("_")), match["layout"].lower()


def run_folders(folder: pathlib.Path) -> list[str]:
    """The run subfolders (``golden``, ``simulator``...) present in an ``accuracy_analysis`` output_dir."""
    return [name for name in RKNN_RUN_FOLDERS if (folder / name).is_dir()]


def read_rknn_dump_with_notes(
    path: str | os.PathLike[str], *, run: str | None = None, max_bytes: int | None = MAX_READ_BYTES
) -> tuple[dict[str, np.ndarray], list[str]]:
    """:func:`read_rknn_dump`, plus notes on what was assumed (layouts, the run folder chosen)."""
    folder = pathlib.Path(path)
    if not folder.is_dir():
        raise InputError(f"an RKNN accuracy_analysis dump is a folder; {str(folder)!r} is not one")
    notes: list[str] = []
    runs = run_folders(folder)
    if run is not None:
        if run not in runs:
            raise InputError(f"{str(folder)!r} has no {run!r} run folder; it has {runs or 'none'}")
        folder = folder / run
    elif runs:
        raise InputError(
            f"{str(folder)!r} is an accuracy_analysis output_dir with the runs {runs}; pick one: pass "
            f"{str(folder / runs[0])!r} (or run={runs[0]!r})"
        )
    files = regular_files(folder, [".npy", ".tensor"])
    if not files:
        raise InputError(f"{str(folder)!r} holds no .npy or .tensor files, so it is not an RKNN accuracy_analysis "
                         f"dump; point at one of its run folders {list(RKNN_RUN_FOLDERS)}")
    check_folder_budget(files, max_bytes=max_bytes, what=f"the tensors in {str(folder)!r}")
    out: dict[str, np.ndarray] = {}
    layouts: set[str] = set()
    for file in files:
        name, shape, layout = parse_rknn_name(file.stem)
        where = repr(str(file))
        if file.suffix.lower() == ".npy":
            check_magic(file)
            value = read_npy(file, max_bytes=max_bytes)
        else:
            value = parse_float_text(read_text(file, max_bytes=max_bytes, what="RKNN tensor file"), where=where)
        if shape is not None:
            if value.size != math.prod(shape):
                raise InputError(f"{where} holds {value.size} values, but its name gives the shape {list(shape)} "
                                 f"({math.prod(shape)} values); the file is truncated or renamed")
            value = value.reshape(shape)
            layouts.add(layout or "")
        add_unique(out, name, value, where=str(folder))
    if "nhwc" in layouts:
        notes.append(f"{str(folder)!r}: RKNN names some tensors as NHWC; transpose them to NCHW "
                     "(np.transpose(x, (0, 3, 1, 2))) before comparing with an ONNX model's outputs")
    return out, notes


def read_rknn_dump(
    path: str | os.PathLike[str], *, run: str | None = None, max_bytes: int | None = MAX_READ_BYTES
) -> dict[str, np.ndarray]:
    """Tensors of an RKNN-Toolkit ``accuracy_analysis`` run folder, as ``{name: array}``.

    Parameters
    ----------
    path : str or os.PathLike
        A run folder (``snapshot/simulator``, ``snapshot/runtime``,
        ``snapshot/golden``; Toolkit 1: ``snapshot/fp32``...), or the
        ``output_dir`` itself together with ``run``.
    run : str, optional
        The run subfolder to read when ``path`` is the ``output_dir``.
    max_bytes : int or None, optional
        Read budget for all files of the folder together (default 2 GiB).

    Returns
    -------
    dict of str to numpy.ndarray

    Raises
    ------
    InputError
        Not a folder, no tensor files, an ``output_dir`` without ``run``, a
        file whose size disagrees with the shape in its name, a pickle, a
        non-regular file, or more than ``max_bytes``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     run = pathlib.Path(d) / "simulator"
    ...     run.mkdir()
    ...     np.save(run / "Conv_Conv_0_out0_nchw_1_2_2_2.npy", np.zeros(8, np.float32))
    ...     {k: v.shape for k, v in read_rknn_dump(d, run="simulator").items()}
    {'Conv_Conv_0': (1, 2, 2, 2)}
    """
    return read_rknn_dump_with_notes(path, run=run, max_bytes=max_bytes)[0]
