"""Comparing model outputs: cosine, errors, SNR, top-k agreement, and compare().

Every metric accumulates in float64. Outputs that contain NaN or Inf, or
whose norm is zero, make some metrics meaningless; the functions here never
return such a NaN silently. The single-metric functions raise
:class:`~nv12kit.errors.InputError` saying which array is at fault, and
:func:`compare` records a flag per output instead, so one bad output does
not hide the others.

Norms and dot products are taken on arrays scaled by a power of two (exact),
so outputs near ``1e300`` or ``1e-300`` neither overflow nor underflow. A
metric that is still not finite (a difference beyond float64's range) is
None with a ``nonfinite_<metric>`` flag. Complex outputs are compared as
their real and imaginary parts side by side (the cosine is then
``Re<a, b> / (|a| |b|)``), flagged ``"complex"``; nothing is dropped.

``compare`` is also the "bring your own outputs" mode: dump the outputs of
``qat_nv12`` / ``quantized_nv12`` from the vendor runtime as ``.npy`` or
``.npz`` and compare them with the float model's here.
"""

from __future__ import annotations

import html
import json
import math
import os
import pathlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._io import MAX_READ_BYTES, check_budget, open_regular, read_npy, read_npz
from .errors import InputError

__all__ = [
    "is_logits",
    "cosine",
    "mean_abs_error",
    "relative_l2",
    "max_abs_error",
    "snr_db",
    "topk_agreement",
    "OutputComparison",
    "Comparison",
    "compare",
    "compare_arrays",
    "load_outputs",
]


# ----------------------------------------------------------------------------
# single metrics
# ----------------------------------------------------------------------------
def _pair(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(a)
    y = np.asarray(b)
    if x.shape != y.shape:
        if x.size == y.size and np.squeeze(x).shape == np.squeeze(y).shape:
            y = y.reshape(x.shape)
        else:
            raise InputError(f"cannot compare arrays of shapes {x.shape} and {y.shape}; they must match")
    if x.size == 0:
        raise InputError("cannot compare empty arrays")
    for name, arr in (("a", x), ("b", y)):
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
            raise InputError(f"{name} has dtype {arr.dtype}; metrics need numbers")
    if _is_complex(x, y):
        # real and imaginary parts side by side: norms and cosines are then the complex ones
        return _real_view(x), _real_view(y)
    return x.astype(np.float64, copy=False).ravel(), y.astype(np.float64, copy=False).ravel()


def _is_complex(*arrays: Any) -> bool:
    return any(np.iscomplexobj(a) for a in arrays)


def _real_view(x: np.ndarray) -> np.ndarray:
    z = x.astype(np.complex128, copy=False).ravel()
    return np.stack([z.real, z.imag], axis=-1).ravel()


def _pow2(largest: float) -> float:
    """A power of two at most ``largest`` (so it exists even near 1.8e308): dividing by it is exact and brings
    values into (-2, 2)."""
    if largest == 0 or not math.isfinite(largest):
        return 1.0
    return math.ldexp(1.0, math.frexp(largest)[1] - 1)


def _scale(*arrays: np.ndarray) -> float:
    return _pow2(max(float(np.max(np.abs(a))) for a in arrays))


def _norm(v: np.ndarray) -> float:
    """L2 norm whose squares can neither overflow (1e300) nor underflow (1e-300)."""
    s = _scale(v)
    return s * float(np.linalg.norm(v / s))


def _cos(x: np.ndarray, y: np.ndarray) -> float | None:
    """Cosine of two finite float64 vectors, each scaled first; None if either is all zeros."""
    if not np.any(x) or not np.any(y):
        return None
    xs, ys = x / _scale(x), y / _scale(y)
    return float(np.clip(np.dot(xs, ys) / (np.linalg.norm(xs) * np.linalg.norm(ys)), -1.0, 1.0))


def _differences(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(s, x / s, (x - y) / s) with one power of two s for both, so ``x - y`` cannot overflow."""
    s = _scale(x, y)
    xs = x / s
    return s, xs, xs - y / s


def _snr(xs: np.ndarray, ds: np.ndarray) -> float:
    """``20 log10(|x| / |x - y|)`` from scaled arrays (same scale), in logs so tiny differences do not overflow."""
    signal, noise = _norm(xs), _norm(ds)
    if noise == 0:
        return math.inf
    return 20.0 * (math.log10(signal) - math.log10(noise))


def _finite(x: np.ndarray, name: str) -> None:
    if not np.isfinite(x).all():
        nans, infs = int(np.isnan(x).sum()), int(np.isinf(x).sum())
        raise InputError(
            f"{name} contains {nans} NaN and {infs} Inf values out of {x.size}; the model (or the dump) produced "
            "non-finite outputs, which no similarity metric can rate. Check the input's dtype and normalisation"
        )


def cosine(a: Any, b: Any) -> float:
    """Cosine similarity of two arrays, flattened, in float64.

    Raises
    ------
    InputError
        Shapes differ, an array has NaN/Inf, or either has zero norm (the
        cosine is undefined then; the message says which).

    Examples
    --------
    >>> round(cosine([1.0, 2.0], [2.0, 4.0]), 12), cosine([1.0, 0.0], [0.0, 1.0])
    (1.0, 0.0)

    Values near float64's limits do not overflow, and complex arrays are
    compared over their real and imaginary parts:

    >>> round(cosine([1e300, 2e300], [2e300, 4e300]), 12), cosine([1j], [1.0])
    (1.0, 0.0)
    """
    x, y = _pair(a, b)
    _finite(x, "a")
    _finite(y, "b")
    value = _cos(x, y)
    if value is None:
        which = " and ".join(n for n, v in (("a", x), ("b", y)) if not np.any(v))
        raise InputError(f"cosine is undefined: {which} is all zeros (zero norm); compare with mean_abs_error instead")
    return value


def mean_abs_error(a: Any, b: Any) -> float:
    """Mean of ``|a - b|`` in float64 (``inf`` only if the true mean exceeds float64's range)."""
    x, y = _pair(a, b)
    _finite(x, "a")
    _finite(y, "b")
    s, _, ds = _differences(x, y)
    return s * float(np.mean(np.abs(ds)))


def max_abs_error(a: Any, b: Any) -> float:
    """Largest ``|a - b|``."""
    x, y = _pair(a, b)
    _finite(x, "a")
    _finite(y, "b")
    s, _, ds = _differences(x, y)
    return s * float(np.max(np.abs(ds)))


def relative_l2(a: Any, b: Any) -> float:
    """``||a - b|| / ||a||``, with ``a`` the reference.

    Raises
    ------
    InputError
        If ``a`` has zero norm, NaN or Inf.
    """
    x, y = _pair(a, b)
    _finite(x, "a")
    _finite(y, "b")
    if not np.any(x):
        raise InputError("relative L2 is undefined: the reference a is all zeros; use max_abs_error instead")
    _, xs, ds = _differences(x, y)
    return _norm(ds) / _norm(xs)


def snr_db(a: Any, b: Any) -> float:
    """Signal-to-noise ratio ``10 log10(||a||^2 / ||a - b||^2)`` in dB; ``inf`` when equal.

    Examples
    --------
    >>> round(snr_db([1.0, 1.0], [1.1, 0.9]), 2)
    20.0
    """
    x, y = _pair(a, b)
    _finite(x, "a")
    _finite(y, "b")
    if not np.any(x):
        raise InputError("SNR is undefined: the reference a is all zeros")
    _, xs, ds = _differences(x, y)
    return _snr(xs, ds)


def topk_agreement(a: Any, b: Any, *, k: int = 1) -> float:
    """Share of rows whose top-``k`` classes agree (as sets), for logits ``[N, C]`` or ``[C]``.

    For ``k=1`` this is top-1 agreement. Ties are broken by class index.

    Examples
    --------
    >>> topk_agreement([[0.1, 0.9, 0.0]], [[0.2, 0.7, 0.1]], k=1)
    1.0
    """
    if _is_complex(np.asarray(a), np.asarray(b)):
        raise InputError("top-k agreement needs real class scores, got complex arrays; compare them with cosine")
    x, y = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if x.shape != y.shape:
        raise InputError(f"cannot compare logits of shapes {x.shape} and {y.shape}")
    if x.ndim == 1:
        x, y = x[None], y[None]
    x, y = x.reshape(x.shape[0], -1), y.reshape(y.shape[0], -1)
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= x.shape[1]:
        raise InputError(f"k must be between 1 and the number of classes ({x.shape[1]}), got {k!r}")
    _finite(x, "a")
    _finite(y, "b")
    top_a = np.argsort(-x, axis=1, kind="stable")[:, :k]
    top_b = np.argsort(-y, axis=1, kind="stable")[:, :k]
    same = [set(r) == set(s) for r, s in zip(top_a.tolist(), top_b.tolist())]
    return float(np.mean(same))


# ----------------------------------------------------------------------------
# comparing whole outputs
# ----------------------------------------------------------------------------
def is_logits(shape: tuple[int, ...], *, batched: bool) -> bool:
    """Whether an output of this shape holds classification scores (so top-1/top-5 make sense).

    ``[N, C]`` with C >= 2 always does.  A 1-D ``[C]`` does only when the
    output may lack the batch axis (``batched=False``, e.g. dumped outputs
    given to :func:`compare`); when the first axis is known to be the batch
    (``batched=True``, a runtime's outputs) ``[N]`` is one score per image.

    >>> is_logits((1, 1000), batched=True), is_logits((1000,), batched=False), is_logits((4,), batched=True)
    (True, True, False)
    """
    if len(shape) == 2:
        return shape[1] >= 2
    return not batched and len(shape) == 1 and shape[0] >= 2


def _is_dense(shape: tuple[int, ...]) -> bool:
    """[N, C, H, W]-like maps: per-channel rows make sense."""
    return len(shape) >= 3 and shape[1] >= 1 and int(np.prod(shape[2:])) > 1


#: Flags that describe an output without making any metric undefined.
_INFO_FLAGS = frozenset({"identical", "complex"})


@dataclass
class OutputComparison:
    """How one output differs between run ``a`` (the reference) and run ``b``.

    Metrics that are undefined for this output are None and explained by
    ``flags`` (``"nan_in_a"``, ``"inf_in_b"``, ``"zero_norm_a"``,
    ``"nonfinite_mean_abs"`` for a metric beyond float64's range...). Two
    flags are information only: ``"identical"``, and ``"complex"`` (the
    metrics were taken over real and imaginary parts; no top-k).
    """

    name: str
    shape: tuple[int, ...]
    cosine: float | None
    mean_abs: float | None
    max_abs: float | None
    relative_l2: float | None
    snr_db: float | None
    top1: float | None = None
    top5: float | None = None
    per_channel_cosine: list[float | None] | None = None
    flags: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True if every metric could be computed (no NaN/Inf, zero norm or non-finite metric)."""
        return not [f for f in self.flags if f not in _INFO_FLAGS]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (infinite SNR becomes None, with the "identical" flag)."""
        data = {k: getattr(self, k) for k in ("name", "cosine", "mean_abs", "max_abs", "relative_l2", "snr_db",
                                               "top1", "top5", "per_channel_cosine", "flags")}
        data["shape"] = list(self.shape)
        if data["snr_db"] is not None and math.isinf(data["snr_db"]):
            data["snr_db"] = None
        return data


def _flags(x: np.ndarray, label: str) -> list[str]:
    flags = []
    if np.isnan(x).any():
        flags.append(f"nan_in_{label}")
    if np.isinf(x).any():
        flags.append(f"inf_in_{label}")
    if not flags and not np.any(x):
        flags.append(f"zero_norm_{label}")
    return flags


def compare_arrays(a: Any, b: Any, *, name: str = "output") -> OutputComparison:
    """Compare one output of two runs; never raises for NaN/Inf or zero norm, flags them instead.

    Parameters
    ----------
    a, b : array_like
        The reference run and the run under test, same shape (singleton
        dimensions may differ: ``(1, 1000)`` against ``(1000,)``).
    name : str, optional
        The output's name, for the table.

    Returns
    -------
    OutputComparison
    """
    x, y = _pair(a, b)
    shape = tuple(np.shape(a))
    complex_ = _is_complex(np.asarray(a), np.asarray(b))
    flags = _flags(x, "a") + _flags(y, "b")
    bad = {f.split("_")[0] for f in flags}
    finite = "nan" not in bad and "inf" not in bad
    zero_a, zero_b = "zero_norm_a" in flags, "zero_norm_b" in flags
    result = OutputComparison(name, shape, None, None, None, None, None, flags=flags)
    if complex_:
        result.flags.append("complex")
    if not finite:
        return result
    s, xs, ds = _differences(x, y)
    diff = np.abs(ds)
    result.mean_abs, result.max_abs = s * float(diff.mean()), s * float(diff.max())
    if result.max_abs == 0:
        result.flags.append("identical")
    if not zero_a:
        result.relative_l2 = _norm(ds) / _norm(xs)
        result.snr_db = _snr(xs, ds)
    if not zero_a and not zero_b:
        result.cosine = _cos(x, y)
    if is_logits(shape, batched=False) and not complex_:
        result.top1 = topk_agreement(np.reshape(x, shape), np.reshape(y, shape), k=1)
        classes = shape[-1]
        if classes > 5:
            result.top5 = topk_agreement(np.reshape(x, shape), np.reshape(y, shape), k=5)
    elif _is_dense(shape):
        # complex: each element's real and imaginary parts as a trailing axis of 2
        full = shape + (2,) if complex_ else shape
        xa, ya = np.reshape(x, full), np.reshape(y, full)
        result.per_channel_cosine = [_cos(xa[:, c].ravel(), ya[:, c].ravel()) for c in range(shape[1])]
    for metric in ("cosine", "mean_abs", "max_abs", "relative_l2", "snr_db"):
        value = getattr(result, metric)
        if value is not None and not math.isfinite(value) and not (
                metric == "snr_db" and value == math.inf and "identical" in result.flags):
            # a true value beyond float64's range: None, and the row says so
            setattr(result, metric, None)
            result.flags.append(f"nonfinite_{metric}")
    return result


@dataclass
class Comparison:
    """Per-output comparison of two runs; ``bool(comparison)`` says whether all pass ``min_cosine``.

    Attributes
    ----------
    outputs : dict of str to OutputComparison
    labels : (str, str)
        Names of the two runs (``("float", "vendor nv12")``).
    min_cosine : float
        The pass mark used by ``bool()`` and the table.
    """

    outputs: dict[str, OutputComparison]
    labels: tuple[str, str] = ("a", "b")
    min_cosine: float = 0.99

    def __bool__(self) -> bool:
        # identical outputs pass even when all zeros (where the cosine itself is undefined)
        return all("identical" in o.flags or (o.ok and o.cosine is not None and o.cosine >= self.min_cosine)
                   for o in self.outputs.values())

    @property
    def worst_cosine(self) -> float | None:
        """Lowest cosine over the outputs (None if no output has one)."""
        values = [o.cosine for o in self.outputs.values() if o.cosine is not None]
        return min(values) if values else None

    def rows(self) -> list[list[str]]:
        """Table rows: output, shape, cosine, MAE, max, rel L2, SNR, top-1, flags."""
        def fmt(v: float | None, spec: str) -> str:
            if v is None:
                return "-"
            return "inf" if math.isinf(v) else format(v, spec)

        rows = []
        for o in self.outputs.values():
            rows.append([o.name, "x".join(map(str, o.shape)), fmt(o.cosine, ".6f"), fmt(o.mean_abs, ".4g"),
                         fmt(o.max_abs, ".4g"), fmt(o.relative_l2, ".3e"), fmt(o.snr_db, ".1f"), fmt(o.top1, ".2f"),
                         ", ".join(o.flags) or "-"])
        return rows

    _HEADER = ["output", "shape", "cosine", "MAE", "max abs", "rel L2", "SNR dB", "top-1", "flags"]

    def __repr__(self) -> str:
        rows = [self._HEADER] + self.rows()
        widths = [max(len(r[i]) for r in rows) for i in range(len(self._HEADER))]
        lines = [f"Comparison({self.labels[0]} vs {self.labels[1]}: "
                 f"{'PASS' if self else 'FAIL'} at cosine >= {self.min_cosine})"]
        lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self._HEADER)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in self.rows())
        status = "PASS" if self else "FAIL"
        title = html.escape(f"{self.labels[0]} vs {self.labels[1]}: {status} at cosine >= {self.min_cosine}")
        return f"<div><strong>{title}</strong><table><tr>{head}</tr>{body}</table></div>"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"labels": list(self.labels), "min_cosine": self.min_cosine, "passed": bool(self),
                "worst_cosine": self.worst_cosine, "outputs": {k: v.to_dict() for k, v in self.outputs.items()}}

    def to_json(self, path: str | os.PathLike[str]) -> pathlib.Path:
        """Write :meth:`to_dict` as JSON, atomically; non-finite numbers are ``null``, never bare NaN."""
        from ._io import atomic_write, jsonable

        return atomic_write(path, json.dumps(jsonable(self.to_dict()), indent=2, allow_nan=False).encode("utf-8"))


# ----------------------------------------------------------------------------
# loading dumped outputs
# ----------------------------------------------------------------------------
def load_outputs(source: Any, *, max_bytes: int | None = MAX_READ_BYTES) -> dict[str, np.ndarray]:
    """Outputs as ``{name: array}`` from a dict, a ``.npy`` file, a ``.npz`` file or a folder of ``.npy``.

    A single ``.npy`` gives one output named after the file stem. Files are
    read without pickle support: pickled arrays are refused, as they can run
    code when loaded. Only regular files are read (a FIFO or device named
    ``x.npy`` is refused before it is opened), and sizes are checked before
    anything is allocated: an ``.npy`` header against the file size, an
    ``.npz`` by the uncompressed sizes in its zip directory.

    Parameters
    ----------
    source : dict of str to array, or path
        The outputs, or where they are stored.
    max_bytes : int or None, optional
        Read budget for one file (for a folder, all its ``.npy`` files; for an
        ``.npz``, all its arrays uncompressed). Default 2 GiB; None for no
        limit. Raise it to read larger dumps you trust.

    Returns
    -------
    dict of str to numpy.ndarray

    Raises
    ------
    InputError
        Missing file, unsupported suffix, not a regular file, pickled, corrupt
        or truncated data (including a header that lies about the size), or
        more than ``max_bytes`` (a decompression bomb).
    """
    if isinstance(source, Mapping):
        return {str(k): np.asarray(v) for k, v in source.items()}
    if not isinstance(source, (str, os.PathLike)):
        raise InputError(
            f"outputs must be a dict of name to array or a .npy/.npz path, got {type(source).__name__}"
        )
    path = pathlib.Path(source)
    if path.is_dir():
        files = sorted(path.glob("*.npy"))
        if not files:
            raise InputError(f"the folder {str(path)!r} holds no .npy files")
        check_budget(sum(f.stat().st_size for f in files if f.is_file()), max_bytes=max_bytes,
                     what=f"the .npy files in {str(path)!r}")
        return {f.stem: _load_npy(f, max_bytes) for f in files}
    if not path.exists():
        raise InputError(f"outputs file {str(path)!r} does not exist")
    _check_magic(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return {path.stem: _load_npy(path, max_bytes)}
    if suffix == ".npz":
        return read_npz(path, max_bytes=max_bytes)
    raise InputError(f"{str(path)!r}: expected a .npy or .npz file (numpy.save / numpy.savez), or a folder of .npy")


_NPY_MAGIC, _ZIP_MAGIC, _PICKLE_MAGIC = b"\x93NUMPY", b"PK\x03\x04", b"\x80"


def _check_magic(path: pathlib.Path) -> None:
    """Tell a pickle or a text file from a real .npy/.npz by its first bytes, before numpy parses it."""
    if path.suffix.lower() not in (".npy", ".npz"):
        return
    try:
        with open_regular(path, what="outputs file") as fh:
            head = fh.read(6)
    except OSError as exc:
        raise InputError(f"cannot read {str(path)!r}: {exc}") from exc
    if head.startswith(_PICKLE_MAGIC):
        raise InputError(
            f"{str(path)!r} is a Python pickle, which nv12kit refuses to load (loading pickles can run code). "
            "Save plain numeric arrays with np.save / np.savez"
        )
    if not (head.startswith(_NPY_MAGIC) or head.startswith(_ZIP_MAGIC)):
        raise InputError(
            f"{str(path)!r} is not a .npy or .npz file (its first bytes are {head!r}); save outputs with "
            "np.save(path, array) or np.savez(path, **outputs)"
        )


def _load_npy(path: pathlib.Path, max_bytes: int | None) -> np.ndarray:
    _check_magic(path)  # a pickle file gets the pickle message, a text file "not a .npy"
    return read_npy(path, max_bytes=max_bytes)


def _single_npy(source: Any) -> bool:
    return isinstance(source, (str, os.PathLike)) and pathlib.Path(source).suffix.lower() == ".npy"


def compare(
    a: Any,
    b: Any,
    *,
    labels: Sequence[str] = ("a", "b"),
    min_cosine: float = 0.99,
    outputs: Sequence[str] | None = None,
    max_bytes: int | None = MAX_READ_BYTES,
) -> Comparison:
    """Compare two runs' outputs, per output and per channel of dense maps.

    Parameters
    ----------
    a, b : dict of str to array, or path
        The reference run and the run under test: dicts (as
        :meth:`nv12kit.Runner.run` returns), ``.npy`` / ``.npz`` files or
        folders of ``.npy`` files. Loaded with ``allow_pickle=False``.
    labels : (str, str), optional
        Names for the two runs in tables.
    min_cosine : float, optional
        Pass mark for ``bool(result)``.
    outputs : sequence of str, optional
        Compare only these outputs.
    max_bytes : int or None, optional
        Read budget per file side (see :func:`load_outputs`): default 2 GiB,
        checked before allocating; raise it for larger dumps you trust.

    Returns
    -------
    Comparison

    Raises
    ------
    InputError
        The two sides have different output names (both sets are listed),
        shapes that differ beyond singleton dimensions, or unreadable files.

    Examples
    --------
    >>> import numpy as np
    >>> from nv12kit import compare
    >>> result = compare({"logits": np.array([[1.0, 2.0, 3.0]])}, {"logits": np.array([[1.0, 2.0, 3.1]])})
    >>> bool(result), round(result.outputs["logits"].cosine, 4)
    (True, 0.9999)
    """
    if isinstance(labels, str) or len(labels) != 2:
        raise InputError(f"labels must be two names, got {labels!r}")
    try:
        min_cosine = float(min_cosine)
    except (TypeError, ValueError) as exc:
        raise InputError(f"min_cosine must be a number between -1 and 1, got {min_cosine!r}") from exc
    if not -1 <= min_cosine <= 1:
        raise InputError(f"min_cosine must be between -1 and 1, got {min_cosine}")
    if outputs is not None and len(outputs) == 0:
        raise InputError("outputs=[] compares nothing; leave it out to compare every output, or name some")
    left, right = load_outputs(a, max_bytes=max_bytes), load_outputs(b, max_bytes=max_bytes)
    if _single_npy(a) and _single_npy(b) and set(left) != set(right):
        # two single .npy files (e.g. float.npy and vendor.npy): their names are just file names
        right = {next(iter(left)): next(iter(right.values()))}
    if outputs is None and set(left) != set(right):
        raise InputError(
            f"the two sides have different outputs: {labels[0]} has {sorted(left)}, {labels[1]} has "
            f"{sorted(right)}; save both with the same names (np.savez(path, **outputs)) "
            "or pick some with outputs=[...]"
        )
    names = list(outputs) if outputs is not None else list(left)
    missing = [n for n in names if n not in left or n not in right]
    if missing:
        raise InputError(f"outputs {missing} are not on both sides; {labels[0]}: {sorted(left)}, "
                         f"{labels[1]}: {sorted(right)}")
    results = {}
    for name in names:
        try:
            results[name] = compare_arrays(left[name], right[name], name=name)
        except InputError as exc:
            raise InputError(f"output {name!r}: {exc}") from exc
    return Comparison(results, (str(labels[0]), str(labels[1])), float(min_cosine))
