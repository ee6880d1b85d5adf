"""Headerless ``.raw`` tensor dumps described by a manifest (QNN / SNPE, AIMET layer outputs, TIDL traces).

A ``.raw`` file is the tensor's bytes and nothing else, so its name, shape
and dtype come from a manifest (see :data:`~nv12kit.dumps._common.MANIFEST_HELP`):
a JSON object or text lines ``name shape [dtype] [file]``, given explicitly or
found as ``manifest.json`` / ``manifest.txt`` in the dump folder. Each file's
size must equal ``prod(shape) x itemsize`` exactly; the error names both.

``qnn-net-run`` (and SNPE's ``snpe-net-run``) writes one folder per input line,
``<output_dir>/Result_<N>/``, holding ``<tensor name>.raw`` in float32 unless
``--use_native_output_files`` is given (then the tensor's own dtype); names
with characters unfit for a file name are sanitised (``:`` and ``/`` become
``_``), which is how a manifest name is matched to a file when its ``file``
is not given. Sources: Qualcomm AI Engine Direct (QNN) SDK documentation of
``qnn-net-run`` (``--output_dir``, ``--use_native_output_files``,
``--debug`` for per-layer outputs); public scripts that read
``Result_0/*.raw`` with ``np.fromfile(path, dtype=np.float32)`` keyed by the
sanitised tensor name. AIMET and TIDL write plain headerless arrays too; their
names and shapes come from the manifest alone.
"""

from __future__ import annotations

import os
import pathlib
import re
from typing import Any

import numpy as np

from .._io import MAX_READ_BYTES, check_budget, read_bytes
from ..errors import InputError
from ._common import MANIFEST_HELP, TensorSpec, array_from_bytes, load_manifest, regular_files

__all__ = ["read_raw_dump", "result_folders"]

_RESULT = re.compile(r"^Result_(\d+)$")


def result_folders(folder: pathlib.Path) -> list[pathlib.Path]:
    """``Result_<N>`` subfolders of a qnn-net-run / snpe-net-run output_dir, in numeric order."""
    found = [(int(m[1]), p) for p in folder.iterdir() if p.is_dir() and (m := _RESULT.match(p.name))]
    return [p for _, p in sorted(found)]


def _sanitised(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", name)


def _inside(base: pathlib.Path, relative: str, where: str) -> pathlib.Path:
    """``base / relative``, refusing absolute paths and ``..`` that would leave the dump folder."""
    candidate = pathlib.Path(relative)
    if candidate.is_absolute() or ".." in candidate.parts:
        raise InputError(f"{where}: file {relative!r} must be a path inside the dump folder (no '..', not absolute)")
    return base / candidate


def _locate(spec: TensorSpec, folder: pathlib.Path, run: pathlib.Path, where: str) -> pathlib.Path:
    if spec.file is not None:
        for base in (run, folder):
            path = _inside(base, spec.file, where)
            if path.exists():
                return path
        raise InputError(f"{where}: tensor {spec.name!r} names the file {spec.file!r}, which is not in {str(run)!r}")
    for stem in dict.fromkeys((spec.name, _sanitised(spec.name))):
        path = _inside(run, stem + ".raw", where)
        if path.exists():
            return path
    present = sorted(p.name for p in regular_files(run, [".raw"]))[:20]
    raise InputError(f"{where}: no file for tensor {spec.name!r} in {str(run)!r} (looked for "
                     f"{spec.name + '.raw'!r}); files there: {present or 'none'}. Give its \"file\" in the manifest")


def read_raw_dump_with_notes(
    path: str | os.PathLike[str], *, manifest: Any = None, result: int | None = None,
    max_bytes: int | None = MAX_READ_BYTES,
) -> tuple[dict[str, np.ndarray], list[str]]:
    """:func:`read_raw_dump`, plus notes on what nv12kit chose (the manifest found, the Result folder)."""
    source = pathlib.Path(path)
    if not source.exists():
        raise InputError(f"raw dump {str(source)!r} does not exist; check the path")
    folder = source if source.is_dir() else source.parent
    specs, note = load_manifest(manifest, folder, max_bytes=max_bytes)
    if specs is None and _RESULT.match(folder.name):  # pointed at one Result_N: the manifest sits above it
        specs, note = load_manifest(None, folder.parent, max_bytes=max_bytes)
    notes = [note] if note else []
    if specs is None:
        raise InputError(f"{str(source)!r} is a headerless .raw dump: nv12kit needs a manifest of its tensors (pass "
                         f"manifest=..., or put manifest.json or manifest.txt next to the files); {MANIFEST_HELP}")
    run = folder
    if source.is_dir():
        results = result_folders(folder)
        if results:
            index = 0 if result is None else result
            chosen = [p for p in results if p.name == f"Result_{index}"]
            if not chosen:
                raise InputError(f"{str(folder)!r} has no Result_{index}; it has {[p.name for p in results]}")
            run = chosen[0]
            if result is None and len(results) > 1:
                notes.append(f"read {run.name} of {len(results)} Result folders in {str(folder)!r} (pick another with "
                             "result=N)")
    elif result is not None:
        raise InputError("result=N picks a Result_N folder; pass the qnn-net-run output_dir, not a single file")
    where = f"raw dump {str(source)!r}"
    if source.is_file():
        matching = [s for s in specs if s.file == source.name or s.name == source.stem]
        if not matching and len(specs) != 1:
            raise InputError(f"{where}: the manifest does not describe this file ({source.name!r}); it lists "
                             f"{[s.name for s in specs]}")
        specs = matching[:1] or specs
        files = [source]
    else:
        files = [_locate(spec, folder, run, where) for spec in specs]
    sizes = []
    for file in files:
        try:
            sizes.append(file.stat().st_size)
        except OSError as exc:
            raise InputError(f"cannot read {str(file)!r}: {exc}") from exc
    check_budget(sum(sizes), max_bytes=max_bytes, what=f"the tensors of {where}")
    out: dict[str, np.ndarray] = {}
    for spec, file in zip(specs, files):
        data = read_bytes(file, max_bytes=max_bytes, what="raw tensor file")
        out[spec.name] = array_from_bytes(data, spec.dtype, spec.shape, where=f"{str(file)!r} (tensor {spec.name!r})")
    return out, notes


def read_raw_dump(
    path: str | os.PathLike[str], *, manifest: Any = None, result: int | None = None,
    max_bytes: int | None = MAX_READ_BYTES,
) -> dict[str, np.ndarray]:
    """Headerless ``.raw`` tensors named, shaped and typed by a manifest.

    Parameters
    ----------
    path : str or os.PathLike
        A folder of ``.raw`` files, a qnn-net-run ``output_dir`` holding
        ``Result_<N>`` folders, or one ``.raw`` file.
    manifest : path, dict or list, optional
        Names, shapes and dtypes (and optionally files) of the tensors; by
        default ``manifest.json`` or ``manifest.txt`` in the folder. The dtype
        defaults to float32 (qnn-net-run's default output).
    result : int, optional
        Which ``Result_<N>`` to read (default 0; a note says so when there are several).
    max_bytes : int or None, optional
        Read budget for all tensors together (default 2 GiB).

    Returns
    -------
    dict of str to numpy.ndarray
        In manifest order.

    Raises
    ------
    InputError
        No manifest, a tensor file missing, a size that differs from the
        manifest (the message gives expected and actual bytes), a manifest path
        leaving the folder, a non-regular file, or more than ``max_bytes``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     run = pathlib.Path(d) / "Result_0"
    ...     run.mkdir()
    ...     np.arange(6, dtype=np.float32).tofile(run / "logits.raw")
    ...     _ = (pathlib.Path(d) / "manifest.txt").write_text("logits 1x6 float32")
    ...     read_raw_dump(d)["logits"].tolist()
    [[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]]
    """
    return read_raw_dump_with_notes(path, manifest=manifest, result=result, max_bytes=max_bytes)[0]
