"""Horizon (D-Robotics) ``hrt_model_exec`` / ``hb_verifier`` dumps: per-tensor ``.bin`` and ``.txt`` files.

``hrt_model_exec infer|perf --dump_intermediate=N`` writes every layer's
inputs and outputs next to the model: ``1`` as ``.bin``, ``2`` and ``3`` as
``.bin`` and ``.txt`` (``2``: BPU outputs *aligned*, i.e. padded; ``3``:
*valid* data), named ``layer-<index>-<kind>-<node>-<input|output>-<k>-<tensor>...``,
e.g. ``layer-0-bpu-ResNet-18_subgraph_0-output-0-fc1000_nhwc2nchw...``;
``--enable_dump true --dump_format bin|txt`` dumps the model's own inputs and
outputs, with ``--dump_precision`` decimals in ``.txt`` and ``--dump_txt_axis``
choosing where lines break. Sources: the hrt_model_exec chapter of the
Horizon OpenExplorer documentation (X3/J5/X5 toolchain manuals: parameters
``dump_intermediate``, ``enable_dump``, ``dump_format``, ``dump_precision``,
``dump_txt_axis``, ``hybrid_dequantize_process``) and D-Robotics' forum note
"hrt_model_exec新增参数说明" (forum.d-robotics.cc/t/topic/25978), which lists
the ``layer-...`` file names (their tails are elided there, so nv12kit does not
rely on them).

How nv12kit reads them (no Horizon package needed):

- A tensor's name is the file stem; for ``layer-...-output-<k>-<tensor>...``
  files it is the part after ``-output-<k>-``. ``-input-`` files repeat other
  layers' outputs and are skipped (a note counts them).
- Shape and dtype come from a side file (a manifest, as for ``.raw`` dumps:
  given, or ``manifest.json`` / ``manifest.txt`` in the folder), else from a
  file name ending in ``_<dims>_<dtype>`` or ``-<dims>-<dtype>`` (``1x1000``,
  ``float32``), a convention of nv12kit's, not Horizon's; a ``.bin`` with
  neither is refused (its bytes alone do not say what they hold).
- ``.txt`` dumps are decimal numbers separated by spaces or new lines, read as
  float32; without a shape they are 1-D (a note says so). When both a ``.bin``
  and a ``.txt`` of the same stem exist, the exact ``.bin`` is read.
- Aligned (padded) BPU outputs do not match the valid shape: the size error
  says so; dump with ``--dump_intermediate=3`` for valid data.
"""

from __future__ import annotations

import math
import os
import pathlib
import re
from typing import Any

import numpy as np

from .._io import MAX_READ_BYTES, read_bytes
from ..errors import InputError
from ._common import (
    MANIFEST_HELP,
    TensorSpec,
    add_unique,
    array_from_bytes,
    check_folder_budget,
    load_manifest,
    parse_dtype,
    parse_float_text,
    parse_shape,
    read_text,
    regular_files,
)

__all__ = ["read_horizon_dump", "parse_horizon_name"]

_LAYER = re.compile(r"^layer-(?P<index>\d+)-(?P<rest>.+)-(?P<io>input|output)-(?P<k>\d+)-(?P<tensor>.+)$")
_SHAPE_DTYPE = re.compile(r"^(?P<name>.+?)[-_](?P<dims>\d+(?:x\d+)*)[-_](?P<dtype>[a-z]+\d*)$", re.IGNORECASE)


def parse_horizon_name(stem: str) -> tuple[str, bool, tuple[int, ...] | None, str | None]:
    """``(tensor name, is a layer input, shape, dtype)`` from a Horizon dump file's stem.

    >>> parse_horizon_name("layer-1-Dequantize-replaced_fc1000_HzDequantize-output-0-fc1000")
    ('fc1000', False, None, None)
    >>> parse_horizon_name("logits_1x1000_float32")
    ('logits', False, (1, 1000), 'float32')
    """
    is_input = False
    name = stem
    layer = _LAYER.match(stem)
    if layer:
        name, is_input = layer["tensor"], layer["io"] == "input"
    tail = _SHAPE_DTYPE.match(name)
    if tail:
        try:
            parse_dtype(tail["dtype"], where=stem)
        except InputError:
            return name, is_input, None, None
        return tail["name"], is_input, parse_shape(tail["dims"], where=stem), tail["dtype"].lower()
    return name, is_input, None, None


def read_horizon_dump_with_notes(
    path: str | os.PathLike[str], *, manifest: Any = None, max_bytes: int | None = MAX_READ_BYTES
) -> tuple[dict[str, np.ndarray], list[str]]:
    """:func:`read_horizon_dump`, plus notes on what nv12kit assumed."""
    source = pathlib.Path(path)
    if not source.exists():
        raise InputError(f"Horizon dump {str(source)!r} does not exist; check the path")
    folder = source if source.is_dir() else source.parent
    specs, note = load_manifest(manifest, folder, max_bytes=max_bytes)
    notes = [note] if note else []
    by_name: dict[str, TensorSpec] = {s.name: s for s in specs or []}
    by_file: dict[str, TensorSpec] = {s.file: s for s in specs or [] if s.file}
    if source.is_dir():
        files = regular_files(source, [".bin", ".txt"])
        stems_with_bin = {f.stem for f in files if f.suffix.lower() == ".bin"}
        files = [f for f in files if f.suffix.lower() == ".bin" or f.stem not in stems_with_bin]
        files = [f for f in files if f.name not in {"manifest.txt"}]
    else:
        files = [source]
    if not files:
        raise InputError(f"{str(source)!r} holds no .bin or .txt tensor files, so it is not a Horizon dump")
    check_folder_budget(files, max_bytes=max_bytes, what=f"the tensors in {str(source)!r}")
    out: dict[str, np.ndarray] = {}
    skipped_inputs, one_dimensional = 0, []
    for file in files:
        name, is_input, shape, dtype_name = parse_horizon_name(file.stem)
        spec = by_file.get(file.name) or by_name.get(name) or by_name.get(file.stem)
        if is_input and spec is None:
            skipped_inputs += 1
            continue
        if spec is not None:
            name, shape, dtype = spec.name, spec.shape, spec.dtype
        else:
            dtype = parse_dtype(dtype_name, where=str(file)) if dtype_name else None
        where = f"{str(file)!r} (tensor {name!r})"
        if file.suffix.lower() == ".txt":
            values = parse_float_text(read_text(file, max_bytes=max_bytes, what="Horizon text dump"), where=where)
            if shape is None:
                one_dimensional.append(name)
                value = values
            elif values.size != math.prod(shape):
                raise InputError(f"{where} holds {values.size} numbers, but shape {list(shape)} needs "
                                 f"{math.prod(shape)}; aligned (padded) BPU outputs are dumped "
                                 "with --dump_intermediate=2, valid data with =3")
            else:
                value = values.reshape(shape)
        else:
            if dtype is None or shape is None:
                raise InputError(f"{where}: a .bin dump holds bare bytes; give its shape and dtype in a side file "
                                 f"(manifest=..., or manifest.json in the folder) or in its name "
                                 f"(e.g. {name}_1x1000_float32.bin); {MANIFEST_HELP}")
            value = array_from_bytes(read_bytes(file, max_bytes=max_bytes, what="Horizon .bin dump"), dtype, shape,
                                     where=where)
        add_unique(out, name, value, where=str(source))
    if not out:
        raise InputError(f"{str(source)!r} holds only layer inputs ({skipped_inputs} files); nothing to compare")
    if skipped_inputs:
        notes.append(f"skipped {skipped_inputs} layer-input files of {str(source)!r} (they repeat layer outputs)")
    if one_dimensional:
        notes.append(f"{len(one_dimensional)} text dumps had no shape and were read 1-D: {one_dimensional[:5]}; give "
                     "shapes in a manifest to compare per channel")
    return out, notes


def read_horizon_dump(
    path: str | os.PathLike[str], *, manifest: Any = None, max_bytes: int | None = MAX_READ_BYTES
) -> dict[str, np.ndarray]:
    """Tensors of a Horizon ``hrt_model_exec`` / ``hb_verifier`` dump folder (or one file), as ``{name: array}``.

    Parameters
    ----------
    path : str or os.PathLike
        A folder of ``.bin`` / ``.txt`` dumps, or one such file.
    manifest : path, dict or list, optional
        Side file with names, shapes and dtypes; by default ``manifest.json``
        or ``manifest.txt`` in the folder.
    max_bytes : int or None, optional
        Read budget for all files together (default 2 GiB).

    Returns
    -------
    dict of str to numpy.ndarray

    Raises
    ------
    InputError
        A ``.bin`` without shape and dtype, a size that differs from its shape
        (expected and actual bytes named), text that is not numbers, a
        non-regular file, or more than ``max_bytes``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     np.arange(4, dtype=np.float32).tofile(pathlib.Path(d) / "logits_1x4_float32.bin")
    ...     _ = (pathlib.Path(d) / "scores.txt").write_text("0.5 0.25\\n")
    ...     {k: v.tolist() for k, v in read_horizon_dump(d).items()}
    {'logits': [[0.0, 1.0, 2.0, 3.0]], 'scores': [0.5, 0.25]}
    """
    return read_horizon_dump_with_notes(path, manifest=manifest, max_bytes=max_bytes)[0]
