"""Polygraphy's JSON files, read and written without Polygraphy.

``polygraphy run model.onnx --onnxrt --save-outputs out.json --save-inputs in.json``
writes two kinds of file, both in Polygraphy's JSON encoding (its
``polygraphy/json/serde.py`` and ``polygraphy/comparator/struct.py``):

- **outputs** (``--save-outputs``): a ``RunResults``, ``{"lst": [[runner_name,
  [IterationResult, ...]], ...], "polygraphy_class": "RunResults"}``; each
  ``IterationResult`` is ``{"outputs": {name: LazyArray}, "runtime": ...,
  "runner_name": ..., "polygraphy_class": "IterationResult"}`` and each
  ``LazyArray`` is ``{"values": <ndarray>, "polygraphy_class": "LazyArray"}``
  (``"LazyNumpyArray"`` in older files);
- **inputs** (``--save-inputs``, read back by ``--load-inputs``): a list of
  feed dicts, ``[{name: <ndarray>}, ...]`` (``--load-inputs`` also takes a
  single feed dict).

A path without an extension makes Polygraphy write a folder of per-iteration
files instead (``out/0000000000.json``, ...); the readers take that folder
too, chaining its files' iterations in name order as Polygraphy does.

An ``<ndarray>`` is ``{"array": "<base64 of np.save's bytes>",
"polygraphy_class": "ndarray"}``; files from old Polygraphy versions mark
types with ``"__polygraphy_encoded_<type>": "polygraphy_serialized_json_type"``
instead, and may hold the ``.npy`` bytes as latin-1 text: both are read.

The payloads are decoded as ``np.load(..., allow_pickle=False)`` would, by
nv12kit's own ``.npy`` reader: object arrays (pickles) are refused, and every
size is checked against the read budget before anything is allocated (the
base64 text's length bounds what it decodes to). The writers produce what
Polygraphy's own encoder writes, so ``polygraphy run --load-inputs`` and
``--load-outputs`` read nv12kit's files.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import os
import pathlib
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .._io import MAX_READ_BYTES, atomic_write, read_bytes
from .._io.reads import _read_npy_stream, _size_text
from ..errors import InputError

__all__ = [
    "is_polygraphy_json",
    "read_polygraphy_outputs",
    "read_polygraphy_inputs",
    "write_polygraphy_outputs",
    "write_polygraphy_inputs",
    "encode_polygraphy_outputs",
    "encode_polygraphy_inputs",
]

_CLASS = "polygraphy_class"
_LEGACY_VALUE = "polygraphy_serialized_json_type"
_LEGACY_PREFIX = "__polygraphy_encoded_"
_LAZY = ("LazyArray", "LazyNumpyArray")
_REPLAY = ("save them again with Polygraphy (polygraphy run ... --save-outputs out.json / --save-inputs in.json) "
           "or with nv12kit.dumps.write_polygraphy_outputs / write_polygraphy_inputs")

# What the first bytes of either file look like, whatever the key order (both are written with indent=4).
_STRING = r'"(?:[^"\\]|\\.)*"'
_SNIFF = (
    re.compile(rb'^\s*\{\s*"lst"\s*:\s*\['),                                          # RunResults
    re.compile(rb'^\s*\[?\s*\{\s*' + _STRING.encode() + rb'\s*:\s*\{\s*"array"\s*:'),  # feed dict(s)
    re.compile(rb'"(?:polygraphy_class|__polygraphy_encoded_\w+)"\s*:\s*"'),           # a type marker
)


def is_polygraphy_json(head: bytes) -> bool:
    """Whether the first bytes of a file look like a Polygraphy JSON file (outputs or inputs).

    Parameters
    ----------
    head : bytes
        The start of the file (a few kilobytes are plenty; the whole file works too).

    Returns
    -------
    bool
        True for a ``RunResults`` (``--save-outputs``), a list of feed dicts
        (``--save-inputs``) or any JSON with Polygraphy's type markers.

    Examples
    --------
    >>> is_polygraphy_json(b'{\\n    "lst": [\\n        [\\n            "onnxrt-runner-N0"')
    True
    >>> is_polygraphy_json(b'[{"x": {"array": "k05VTVBZ')
    True
    >>> is_polygraphy_json(b'{"outputs": [1, 2]}')
    False
    """
    text = bytes(head[:65536]).lstrip(b"\xef\xbb\xbf")
    if text.lstrip()[:1] not in (b"{", b"["):
        return False
    return any(pattern.search(text) for pattern in _SNIFF)


def holds_feeds(head: bytes) -> bool:
    """Whether the first bytes of a Polygraphy JSON file are feeds (``--save-inputs``) rather than a ``RunResults``.

    A list (of feed dicts) is feeds; so is one feed dict, an object that is
    neither a ``RunResults`` nor starts with its ``"lst"`` key.

    Examples
    --------
    >>> holds_feeds(b'[{"x": {"array": "k05VTVBZ'), holds_feeds(b'{\\n    "lst": [')
    (True, False)
    """
    text = bytes(head).lstrip(b"\xef\xbb\xbf").lstrip()
    if text[:1] == b"[":
        return True
    return text[:1] == b"{" and not _SNIFF[0].match(text) and b'"RunResults"' not in text


# ----------------------------------------------------------------------------
# reading
# ----------------------------------------------------------------------------
def _load(path: str | os.PathLike[str], max_bytes: int | None, what: str) -> tuple[Any, str, _Budget]:
    """The decoded JSON, the file's name, and what is left of the budget for its arrays."""
    data = read_bytes(path, max_bytes=max_bytes, what=what)
    name = os.fspath(path)
    try:
        return json.loads(data.decode("utf-8-sig")), name, _Budget(max_bytes, spent=len(data))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError; deep nesting
        raise InputError(
            f"{what} {name!r} is not valid JSON ({exc}); it may be truncated or not a Polygraphy file. "
            f"Re-copy it, or {_REPLAY}"
        ) from exc


def _type_of(value: Any) -> str | None:
    """The Polygraphy type a decoded JSON dict encodes, or None for a plain dict."""
    if not isinstance(value, dict):
        return None
    marker = value.get(_CLASS)
    if isinstance(marker, str):
        return marker
    for key, item in value.items():
        if isinstance(key, str) and key.startswith(_LEGACY_PREFIX) and item == _LEGACY_VALUE:
            return key[len(_LEGACY_PREFIX):]
    return None


def _unsupported(kind: str | None, where: str) -> InputError:
    if kind in ("Tensor", "torch.Tensor"):
        why = "it holds a PyTorch tensor (saved with torch.save, a pickle), which nv12kit does not load"
    else:
        why = f"it holds a Polygraphy {kind!r} object where nv12kit expects an array"
    return InputError(f"{where}: {why}; save the outputs as NumPy arrays (Polygraphy's default) and try again")


class _Budget:
    """The bytes the arrays may still take (the file's text counts too), checked before each is decoded."""

    def __init__(self, max_bytes: int | None, *, spent: int = 0) -> None:
        self.total = max_bytes
        self.left = None if max_bytes is None else max_bytes - spent

    def take(self, nbytes: int, where: str) -> None:
        if self.left is None or self.total is None:
            return
        if nbytes > self.left:
            raise InputError(
                f"{where} needs {_size_text(nbytes)}, above the {_size_text(max(self.left, 0))} left of the read "
                f"budget of {_size_text(self.total)} (the file's text counts too); it may be a decompression bomb "
                "or a corrupt file. If you trust it, raise the budget (max_bytes=...)"
            )
        self.left -= nbytes


def _decode_array(value: Any, where: str, budget: _Budget) -> np.ndarray:
    """One encoded ``ndarray`` (possibly inside a ``LazyArray``) as a NumPy array."""
    kind = _type_of(value)
    if kind in _LAZY:
        if "values" not in value:
            raise InputError(f"{where}: a {kind} without 'values'; the file is corrupt. {_REPLAY}")
        return _decode_array(value["values"], where, budget)
    if kind != "ndarray":
        if kind is None:
            raise InputError(f"{where} is not an encoded array (expected {{'array': '<base64>', "
                             f"'polygraphy_class': 'ndarray'}}, got {type(value).__name__}). {_REPLAY}")
        raise _unsupported(kind, where)
    text = value.get("array")
    if not isinstance(text, str):
        raise InputError(f"{where}: its 'array' is not a base64 string; the file is corrupt. {_REPLAY}")
    # base64 decodes to at most 3 bytes per 4 characters: the budget is checked before decoding
    budget.take(len(text) // 4 * 3, where)
    try:
        payload = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        try:  # Polygraphy's own fallback for files from its older versions: the .npy bytes as latin-1 text
            budget.take(len(text) - len(text) // 4 * 3, where)  # one byte per character, not 3 per 4
            payload = text.encode("latin-1")
        except UnicodeEncodeError as exc:
            raise InputError(f"{where}: its 'array' is neither base64 nor latin-1 text; the file is corrupt. "
                             f"{_REPLAY}") from exc
    if payload[:2] == b"PK":
        raise InputError(f"{where} holds an NPZ payload (written by an old Polygraphy version), which nv12kit does "
                         f"not read; load it with that Polygraphy and {_REPLAY}")
    # nv12kit's .npy reader: np.load(allow_pickle=False)'s result, with the sizes checked before allocating
    return _read_npy_stream(io.BytesIO(payload), available=len(payload), max_bytes=None, where=where)


def _decode_feed(feed: Any, where: str, budget: _Budget) -> dict[str, np.ndarray]:
    if not isinstance(feed, dict) or _type_of(feed) is not None:
        got = _type_of(feed) or type(feed).__name__
        raise InputError(f"{where} is not a feed dict (name -> array), got {got}. {_REPLAY}")
    return {str(name): _decode_array(value, f"{where}, tensor {name!r}", budget) for name, value in feed.items()}


def _pick_iteration(items: list[Any], iteration: int, where: str) -> Any:
    if isinstance(iteration, bool) or not isinstance(iteration, (int, np.integer)):
        raise InputError(f"iteration must be an int, got {iteration!r}")
    if not items:
        raise InputError(f"{where} holds no iterations; run Polygraphy again with at least one input")
    if not -len(items) <= iteration < len(items):
        raise InputError(f"{where} has {len(items)} iteration(s) (0 to {len(items) - 1}); "
                         f"iteration={iteration} is not one of them")
    return items[int(iteration)]


def _locate(path: str | os.PathLike[str], iteration: int, max_bytes: int | None, what: str,
            items_of: Callable[[Any, str], tuple[str, list[Any]]]) -> tuple[Any, str, _Budget]:
    """The iteration's item, where it is (for messages) and the budget left, from a file or a folder.

    A folder is Polygraphy's per-iteration layout (``--save-outputs out`` without an extension): its
    ``*.json`` files in lexical order (zero-padded indices), iterations chained, as Polygraphy's
    ``iterate_from_files`` reads them; only the files up to the iteration are read.
    """
    folder = pathlib.Path(path)
    if not folder.is_dir():
        doc, name, budget = _load(path, max_bytes, what)
        label, items = items_of(doc, name)
        return _pick_iteration(items, iteration, label), f"{label}, iteration {iteration}", budget
    files = sorted(folder.glob("*.json"))
    if not files:
        raise InputError(f"the folder {str(folder)!r} holds no .json files; Polygraphy writes one per iteration "
                         "(0000000000.json, ...) when --save-outputs / --save-inputs names a path without an "
                         "extension")
    if isinstance(iteration, bool) or not isinstance(iteration, (int, np.integer)) or iteration < 0:
        raise InputError(f"iteration must be a non-negative int for a folder of per-iteration files, got "
                         f"{iteration!r}")
    seen = 0
    for file in files:
        doc, name, budget = _load(file, max_bytes, what)
        label, items = items_of(doc, name)
        if iteration < seen + len(items):
            return items[iteration - seen], f"{label}, iteration {iteration} of the folder", budget
        seen += len(items)
    raise InputError(f"the folder {str(folder)!r} holds {seen} iteration(s) in {len(files)} file(s) (0 to "
                     f"{seen - 1}); iteration={iteration} is not one of them")


def _runner_entries(doc: Any, name: str) -> list[tuple[str, list[Any]]]:
    where = f"Polygraphy outputs file {name!r}"
    kind = _type_of(doc)
    if kind is None and (isinstance(doc, list) or (isinstance(doc, dict) and doc and all(
            _type_of(v) == "ndarray" for v in doc.values()))):
        raise InputError(f"{name!r} holds feeds, as Polygraphy's --save-inputs writes (or --load-inputs takes), "
                         "not outputs (--save-outputs); read it with read_polygraphy_inputs")
    if kind != "RunResults":
        got = kind or type(doc).__name__
        raise InputError(f"{where} is not a RunResults (the file polygraphy run --save-outputs writes), got {got}. "
                         f"{_REPLAY}")
    entries = doc.get("lst")
    if not isinstance(entries, list):
        raise InputError(f"{where} has no runner list ('lst'); the file is corrupt. {_REPLAY}")
    out = []
    for index, entry in enumerate(entries):
        if (not isinstance(entry, list) or len(entry) != 2 or not isinstance(entry[0], str)
                or not isinstance(entry[1], list)):
            raise InputError(f"{where}: runner entry {index} is not [runner_name, [iterations...]]; "
                             f"the file is corrupt. {_REPLAY}")
        out.append((entry[0], entry[1]))
    return out


def _pick_runner(entries: list[tuple[str, list[Any]]], runner: str | int | None, name: str) -> tuple[str, list[Any]]:
    names = [n for n, _ in entries]
    if not entries:
        raise InputError(f"Polygraphy outputs file {name!r} holds no runners; run polygraphy run with a runner "
                         "(--onnxrt, --trt, ...)")
    if runner is None:
        if len(entries) > 1:
            raise InputError(f"Polygraphy outputs file {name!r} holds {len(entries)} runners {names}; say which "
                             "one with runner= (its name, a unique start of it, or its index)")
        return entries[0]
    if isinstance(runner, (int, np.integer)) and not isinstance(runner, bool):
        if not -len(entries) <= runner < len(entries):
            raise InputError(f"runner={runner} is out of range: {name!r} holds {len(entries)} runner(s) {names}")
        return entries[int(runner)]
    if not isinstance(runner, str):
        raise InputError(f"runner must be a runner name, an index or None, got {runner!r}")
    exact = [e for e in entries if e[0] == runner]
    found = exact or [e for e in entries if e[0].startswith(runner)]
    if len(found) != 1:
        why = "matches none" if not found else f"matches {len(found)}"
        raise InputError(f"runner={runner!r} {why} of the runners in {name!r}: {names}; give a full name or an "
                         "index")
    return found[0]


def read_polygraphy_outputs(
    path: str | os.PathLike[str],
    *,
    runner: str | int | None = None,
    iteration: int = 0,
    max_bytes: int | None = MAX_READ_BYTES,
) -> dict[str, np.ndarray]:
    """Read one runner's outputs from a Polygraphy ``--save-outputs`` JSON file (a ``RunResults``).

    Parameters
    ----------
    path : str or os.PathLike
        The file written by ``polygraphy run ... --save-outputs out.json``
        (or by :func:`write_polygraphy_outputs`), or the folder of
        per-iteration files it writes for a path without an extension
        (``--save-outputs out``: ``out/0000000000.json``, ...).
    runner : str, int or None, optional
        The runner whose outputs to read: its name (Polygraphy's are like
        ``onnxrt-runner-N0-12/07/26-01:12:38``), a unique start of its name
        (``"onnxrt-runner-N0"``) or its index. None (the default) reads the
        only runner; a file with several is refused, listing their names.
    iteration : int, optional
        Which iteration (input) of that runner (default: the first).
    max_bytes : int or None, optional
        Read budget for the file's text and the arrays decoded from it
        together, both held in memory (default 2 GiB); None for no limit.

    Returns
    -------
    dict of str to numpy.ndarray
        Output name to array, in the file's order, bit for bit as
        Polygraphy's ``RunResults.load`` gives them.

    Raises
    ------
    InputError
        Not a regular file, over the budget, not JSON, not a ``RunResults``,
        an ambiguous or unknown runner, an iteration out of range, a payload
        that is a pickle (object array), a PyTorch tensor or corrupt.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = write_polygraphy_outputs(pathlib.Path(d) / "out.json", {"logits": np.arange(3, dtype=np.float32)})
    ...     read_polygraphy_outputs(path)
    {'logits': array([0., 1., 2.], dtype=float32)}
    """
    def items_of(doc: Any, name: str) -> tuple[str, list[Any]]:
        runner_name, iterations = _pick_runner(_runner_entries(doc, name), runner, name)
        return f"{name!r}, runner {runner_name!r}", iterations

    result, where, budget = _locate(path, iteration, max_bytes, "Polygraphy outputs file", items_of)
    if _type_of(result) != "IterationResult" or not isinstance(result.get("outputs"), dict):
        got = _type_of(result) or type(result).__name__
        raise InputError(f"{where} is not an IterationResult with 'outputs' (got {got}); the file is corrupt. "
                         f"{_REPLAY}")
    return {str(k): _decode_array(v, f"{where}, output {k!r}", budget) for k, v in result["outputs"].items()}


def read_polygraphy_inputs(
    path: str | os.PathLike[str],
    *,
    iteration: int = 0,
    max_bytes: int | None = MAX_READ_BYTES,
) -> dict[str, np.ndarray]:
    """Read one feed dict from a Polygraphy ``--save-inputs`` JSON file.

    Parameters
    ----------
    path : str or os.PathLike
        The file written by ``polygraphy run ... --save-inputs in.json`` (a
        list of feed dicts; a single feed dict, which ``--load-inputs`` also
        takes, is read as one iteration) or by :func:`write_polygraphy_inputs`,
        or the folder of per-iteration files it writes for a path without an
        extension.
    iteration : int, optional
        Which feed dict (default: the first).
    max_bytes : int or None, optional
        Read budget for the file's text and the arrays decoded from it
        together, both held in memory (default 2 GiB); None for no limit.

    Returns
    -------
    dict of str to numpy.ndarray
        Input name to array, as Polygraphy's ``load_json`` gives them.

    Raises
    ------
    InputError
        As :func:`read_polygraphy_outputs`; also a file that is a
        ``RunResults`` (outputs) rather than feeds.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = write_polygraphy_inputs(pathlib.Path(d) / "in.json", {"x": np.zeros((1, 2), np.uint8)})
    ...     read_polygraphy_inputs(path)
    {'x': array([[0, 0]], dtype=uint8)}
    """
    def items_of(doc: Any, name: str) -> tuple[str, list[Any]]:
        if _type_of(doc) == "RunResults":
            raise InputError(f"{name!r} is a RunResults, as Polygraphy's --save-outputs writes, not inputs "
                             "(--save-inputs); read it with read_polygraphy_outputs")
        return f"Polygraphy inputs file {name!r}", doc if isinstance(doc, list) else [doc]

    feed, where, budget = _locate(path, iteration, max_bytes, "Polygraphy inputs file", items_of)
    return _decode_feed(feed, where, budget)


# ----------------------------------------------------------------------------
# writing
# ----------------------------------------------------------------------------
def _encode_array(value: Any, where: str) -> dict[str, str]:
    array = np.asarray(value)
    if array.dtype.hasobject:
        raise InputError(f"{where} is an object array (dtype {array.dtype}); Polygraphy's files hold plain numeric "
                         "arrays: convert it with np.asarray(x, dtype=np.float32) (or its real dtype)")
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    # the key order of Polygraphy's own encoder: the payload, then the type marker
    return {"array": base64.b64encode(buffer.getvalue()).decode("ascii"), _CLASS: "ndarray"}


def _encoded_feed(feed: Any, where: str) -> dict[str, Any]:
    if not isinstance(feed, Mapping):
        raise InputError(f"{where} must be a mapping of input name to array, got {type(feed).__name__}")
    out = {}
    for key, value in feed.items():
        if not isinstance(key, str):
            raise InputError(f"{where}: tensor names must be strings, got {key!r}")
        out[key] = _encode_array(value, f"{where}, tensor {key!r}")
    return out


def _json_bytes(doc: Any) -> bytes:
    # indent=4 as Polygraphy's to_json (constants.TAB)
    return json.dumps(doc, indent=4).encode("utf-8")


def write_polygraphy_outputs(
    path: str | os.PathLike[str],
    outputs: Mapping[str, np.ndarray],
    *,
    runner_name: str = "nv12kit",
    overwrite: bool | None = None,
) -> pathlib.Path:
    """Write outputs as a one-runner, one-iteration Polygraphy ``RunResults`` JSON file, atomically.

    ``polygraphy run other.onnx --onnxrt --load-outputs path`` compares
    against it, and :func:`read_polygraphy_outputs` or Polygraphy's
    ``RunResults.load`` read it back bit for bit.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write (``.json``).
    outputs : mapping of str to array
        Output name to array (any numeric or bool dtype; no object arrays).
    runner_name : str, optional
        The runner's name in the file (default ``"nv12kit"``).
    overwrite : bool or None, optional
        Whether an existing file may be replaced; None follows the enclosing
        ``write_rules`` block (outside one: replace). A command's input is
        never replaced.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    InputError
        Names that are not strings, object arrays, an unwritable or
        forbidden target.
    """
    return atomic_write(path, encode_polygraphy_outputs(outputs, runner_name=runner_name), overwrite=overwrite)


def write_polygraphy_inputs(
    path: str | os.PathLike[str],
    feeds: Mapping[str, np.ndarray] | Sequence[Mapping[str, np.ndarray]],
    *,
    overwrite: bool | None = None,
) -> pathlib.Path:
    """Write feed dicts as a Polygraphy inputs JSON file, for ``polygraphy run --load-inputs``, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write (``.json``).
    feeds : mapping of str to array, or a sequence of them
        One feed dict (input name to array) or one per iteration.
    overwrite : bool or None, optional
        As for :func:`write_polygraphy_outputs`.

    Returns
    -------
    pathlib.Path
        The file written: a JSON list of feed dicts, as ``--save-inputs``
        writes it.

    Raises
    ------
    InputError
        As for :func:`write_polygraphy_outputs`; also no feed dict at all.
    """
    return atomic_write(path, encode_polygraphy_inputs(feeds), overwrite=overwrite)


def encode_polygraphy_outputs(outputs: Mapping[str, np.ndarray], *, runner_name: str = "nv12kit") -> bytes:
    """The bytes :func:`write_polygraphy_outputs` writes (for a file inside a zip, say).

    Examples
    --------
    >>> encode_polygraphy_outputs({"y": np.zeros(1)}, runner_name="r").startswith(b'{\\n    "lst"')
    True
    """
    if not isinstance(runner_name, str) or not runner_name:
        raise InputError(f"runner_name must be a non-empty string, got {runner_name!r}")
    encoded = _encoded_feed(outputs, "outputs")
    lazy = {name: {"values": array, _CLASS: "LazyArray"} for name, array in encoded.items()}
    result = {"outputs": lazy, "runtime": None, "runner_name": runner_name, _CLASS: "IterationResult"}
    return _json_bytes({"lst": [[runner_name, [result]]], _CLASS: "RunResults"})


def encode_polygraphy_inputs(feeds: Mapping[str, np.ndarray] | Sequence[Mapping[str, np.ndarray]]) -> bytes:
    """The bytes :func:`write_polygraphy_inputs` writes (for a file inside a zip, say)."""
    items = [feeds] if isinstance(feeds, Mapping) else feeds
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence) or not items:
        raise InputError("feeds must be a feed dict (input name -> array) or a non-empty sequence of them, got "
                         f"{type(feeds).__name__}")
    return _json_bytes([_encoded_feed(feed, f"feed {index}") for index, feed in enumerate(items)])
