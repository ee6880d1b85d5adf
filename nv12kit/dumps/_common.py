"""What the dump readers share: folder listings under one budget, manifests, dtypes and exact-size raw reads."""

from __future__ import annotations

import json
import math
import os
import pathlib
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._io import MAX_READ_BYTES, check_budget, read_bytes
from .._io.reads import file_kind
from ..errors import InputError

# dtype names as the vendor tools spell them (QNN, Horizon, RKNN, numpy), mapped to little-endian numpy dtypes.
_DTYPES: dict[str, str] = {
    "float32": "<f4", "fp32": "<f4", "float": "<f4", "f32": "<f4", "qnn_datatype_float_32": "<f4",
    "float16": "<f2", "fp16": "<f2", "half": "<f2", "f16": "<f2", "qnn_datatype_float_16": "<f2",
    "float64": "<f8", "fp64": "<f8", "double": "<f8", "f64": "<f8",
    "int8": "i1", "qnn_datatype_int_8": "i1", "qnn_datatype_sfixed_point_8": "i1",
    "uint8": "u1", "qnn_datatype_uint_8": "u1", "qnn_datatype_ufixed_point_8": "u1",
    "int16": "<i2", "qnn_datatype_int_16": "<i2", "qnn_datatype_sfixed_point_16": "<i2",
    "uint16": "<u2", "qnn_datatype_uint_16": "<u2", "qnn_datatype_ufixed_point_16": "<u2",
    "int32": "<i4", "qnn_datatype_int_32": "<i4", "qnn_datatype_sfixed_point_32": "<i4",
    "uint32": "<u4", "qnn_datatype_uint_32": "<u4",
    "int64": "<i8", "qnn_datatype_int_64": "<i8",
    "uint64": "<u8",
    "bool": "?", "bool8": "?", "qnn_datatype_bool_8": "?",
}

#: Largest number of dimensions a manifest or file name may give (numpy's own limit is 64).
MAX_DIMS = 32


def parse_dtype(text: Any, *, where: str) -> np.dtype:
    """A dtype from a manifest or file name (``float32``, ``fp16``, ``QNN_DATATYPE_UFIXED_POINT_8``...)."""
    key = str(text).strip().lower()
    if key not in _DTYPES:
        known = sorted({k for k in _DTYPES if not k.startswith("qnn_")})
        raise InputError(f"{where}: unknown dtype {text!r}; use one of {known}")
    return np.dtype(_DTYPES[key])


def parse_shape(value: Any, *, where: str) -> tuple[int, ...]:
    """A shape from a list (``[1, 3, 4]``) or text (``1x3x4``, ``1,3,4``, ``(1, 3, 4)``, ``[]`` for a scalar)."""
    if isinstance(value, str):
        text = value.strip().strip("()[]").strip()
        parts = [p for p in re.split(r"[x,\s]+", text) if p] if text else []
    elif isinstance(value, (list, tuple)):
        parts = list(value)
    else:
        raise InputError(f"{where}: a shape must be a list of sizes or text like 1x3x224x224, got {value!r}")
    dims = []
    for part in parts:
        if isinstance(part, bool) or not isinstance(part, (int, str)) or not str(part).isdigit():
            raise InputError(f"{where}: shape {value!r} must hold non-negative whole numbers")
        dims.append(int(part))
    if len(dims) > MAX_DIMS:
        raise InputError(f"{where}: shape {value!r} has {len(dims)} dimensions, more than {MAX_DIMS}")
    return tuple(dims)


def array_from_bytes(data: bytes, dtype: np.dtype, shape: tuple[int, ...] | None, *, where: str) -> np.ndarray:
    """``data`` as a writable array; its size must match ``shape`` x itemsize exactly (1-D when no shape)."""
    if shape is None:
        if len(data) % dtype.itemsize:
            raise InputError(f"{where} holds {len(data)} bytes, not a whole number of {dtype.name} values "
                             f"({dtype.itemsize} bytes each); check its dtype")
        return np.frombuffer(bytearray(data), dtype=dtype)
    expected = math.prod(shape) * dtype.itemsize
    if len(data) != expected:
        raise InputError(
            f"{where} holds {len(data)} bytes, but shape {list(shape)} {dtype.name} needs {expected} bytes; "
            "the dump is truncated, padded (e.g. aligned BPU output) or described with the wrong shape or dtype"
        )
    return np.frombuffer(bytearray(data), dtype=dtype).reshape(shape)


def regular_files(folder: pathlib.Path, suffixes: Iterable[str], *, recursive: bool = False) -> list[pathlib.Path]:
    """Files in ``folder`` (optionally below it) with these suffixes, sorted; a FIFO or device is refused."""
    wanted = {s.lower() for s in suffixes}
    pattern = "**/*" if recursive else "*"
    found = []
    for path in sorted(folder.glob(pattern)):
        if path.suffix.lower() not in wanted:
            continue
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            raise InputError(f"cannot read {str(path)!r}: {exc}") from exc
        if stat.S_ISDIR(mode):
            continue
        if not stat.S_ISREG(mode):
            raise InputError(f"{str(path)!r} is {file_kind(mode)}, not a regular file; nv12kit reads only "
                             "regular files. Copy the data into a file")
        found.append(path)
    return found


def check_folder_budget(files: list[pathlib.Path], *, max_bytes: int | None, what: str) -> None:
    """Refuse a folder whose files together exceed the budget, before any is read."""
    check_budget(sum(f.stat().st_size for f in files), max_bytes=max_bytes, what=what)


def add_unique(out: dict[str, np.ndarray], name: str, value: np.ndarray, *, where: str) -> None:
    """Add ``name`` once; two files that map to the same tensor name are an error, never a silent overwrite."""
    if name in out:
        raise InputError(f"{where}: two files give the tensor {name!r}; keep one of them (or pass a manifest)")
    out[name] = value


def parse_float_text(text: str, *, where: str) -> np.ndarray:
    """Whitespace- or comma-separated decimal numbers as float32 (Horizon and RKNN text dumps)."""
    tokens = [t for t in re.split(r"[\s,]+", text.strip()) if t]
    try:
        values = np.array(tokens, dtype=np.float64)  # numpy parses the strings, no Python float per value
    except ValueError as exc:
        raise InputError(f"{where} is not a text dump of numbers ({exc}); expected decimal values separated "
                         "by spaces or new lines") from exc
    return values.astype(np.float32)


def read_text(path: pathlib.Path, *, max_bytes: int | None, what: str) -> str:
    """A small text file through the read budget, decoded as UTF-8 with a clear error."""
    data = read_bytes(path, max_bytes=max_bytes, what=what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} {str(path)!r} is not UTF-8 text ({exc})") from exc


# ---------------------------------------------------------------------------
# manifests: names, shapes, dtypes (and optionally files) of headerless dumps
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class TensorSpec:
    """One tensor of a manifest: its name, shape, dtype, and the file holding it (None: ``<name>.<suffix>``)."""

    name: str
    shape: tuple[int, ...] | None
    dtype: np.dtype
    file: str | None = None


MANIFEST_HELP = (
    'a manifest lists each tensor\'s name, shape and dtype: JSON {"logits": {"shape": [1, 1000], '
    '"dtype": "float32", "file": "Result_0/logits.raw"}} (or {"tensors": [{"name": ..., ...}]}), or text lines '
    '"logits 1x1000 float32 [file]"'
)

#: Manifest file names looked for inside a dump folder when none is given.
MANIFEST_NAMES = ("manifest.json", "manifest.txt", "nv12kit_manifest.json")


def _spec_from_mapping(name: str, entry: Any, *, where: str, default_dtype: str) -> TensorSpec:
    if not isinstance(entry, Mapping):
        raise InputError(f"{where}: entry {name!r} must be an object with shape and dtype; {MANIFEST_HELP}")
    unknown = set(entry) - {"name", "shape", "dtype", "file"}
    if unknown:
        raise InputError(f"{where}: entry {name!r} has unknown keys {sorted(unknown)}; {MANIFEST_HELP}")
    shape = parse_shape(entry["shape"], where=f"{where} {name!r}") if "shape" in entry else None
    dtype = parse_dtype(entry.get("dtype", default_dtype), where=f"{where} {name!r}")
    file = entry.get("file")
    if file is not None and not isinstance(file, str):
        raise InputError(f"{where}: entry {name!r} has a file that is not text: {file!r}")
    return TensorSpec(str(name), shape, dtype, file)


def _specs_from_data(data: Any, *, where: str, default_dtype: str) -> list[TensorSpec]:
    if isinstance(data, Mapping) and "tensors" in data:
        data = data["tensors"]
    if isinstance(data, list):
        specs = []
        for i, entry in enumerate(data):
            if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
                raise InputError(f"{where}: tensor {i} needs a \"name\"; {MANIFEST_HELP}")
            specs.append(_spec_from_mapping(entry["name"], entry, where=where, default_dtype=default_dtype))
        return specs
    if isinstance(data, Mapping):
        return [_spec_from_mapping(str(k), v, where=where, default_dtype=default_dtype) for k, v in data.items()]
    raise InputError(f"{where}: expected an object or a list; {MANIFEST_HELP}")


def _specs_from_lines(text: str, *, where: str, default_dtype: str) -> list[TensorSpec]:
    specs = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) not in (2, 3, 4):
            raise InputError(f"{where} line {number}: {line!r} is not \"name shape [dtype] [file]\"; {MANIFEST_HELP}")
        dtype = parse_dtype(parts[2] if len(parts) > 2 else default_dtype, where=f"{where} line {number}")
        specs.append(TensorSpec(parts[0], parse_shape(parts[1], where=f"{where} line {number}"), dtype,
                                parts[3] if len(parts) > 3 else None))
    return specs


def parse_manifest(source: Any, *, where: str, default_dtype: str = "float32") -> list[TensorSpec]:
    """Tensor specs from manifest text (JSON or lines) or an already parsed mapping/list (see :data:`MANIFEST_HELP`).

    >>> [(s.name, s.shape, s.dtype.name) for s in parse_manifest("logits 1x10 float16", where="m")]
    [('logits', (1, 10), 'float16')]
    """
    if isinstance(source, str):
        stripped = source.strip()
        if stripped.startswith(("{", "[")):
            try:
                data = json.loads(stripped)
            except (json.JSONDecodeError, RecursionError) as exc:
                raise InputError(f"{where} is not valid JSON ({type(exc).__name__}); {MANIFEST_HELP}") from exc
            specs = _specs_from_data(data, where=where, default_dtype=default_dtype)
        else:
            specs = _specs_from_lines(stripped, where=where, default_dtype=default_dtype)
    else:
        specs = _specs_from_data(source, where=where, default_dtype=default_dtype)
    if not specs:
        raise InputError(f"{where} lists no tensors; {MANIFEST_HELP}")
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(f"{where} lists {duplicates} more than once")
    return specs


def load_manifest(manifest: Any, folder: pathlib.Path | None, *, max_bytes: int | None = MAX_READ_BYTES,
                  default_dtype: str = "float32") -> tuple[list[TensorSpec] | None, str | None]:
    """The manifest given (path or mapping), else one named like :data:`MANIFEST_NAMES` in ``folder``.

    Returns the specs (None when there is none) and a note saying which file was used when nv12kit found it.
    """
    note = None
    if manifest is None and folder is not None:
        for name in MANIFEST_NAMES:
            candidate = folder / name
            if candidate.is_file():
                manifest, note = candidate, f"manifest {str(candidate)!r} found in the dump folder"
                break
    if manifest is None:
        return None, None
    if isinstance(manifest, (Mapping, list)):
        return parse_manifest(manifest, where="manifest", default_dtype=default_dtype), note
    if not isinstance(manifest, (str, os.PathLike)):
        raise InputError(f"manifest must be a path or a dict, got {type(manifest).__name__}")
    path = pathlib.Path(manifest)
    text = read_text(path, max_bytes=min(max_bytes or 64 * 1024**2, 64 * 1024**2), what="manifest")
    return parse_manifest(text, where=f"manifest {str(path)!r}", default_dtype=default_dtype), note
