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

``compare`` is also the "bring your own outputs" mode: it reads the vendor's
own dumps (``.npy`` / ``.npz``, Polygraphy JSON, RKNN ``accuracy_analysis``
folders, Horizon ``hrt_model_exec`` dumps, ``.raw`` plus a manifest; see
:mod:`nv12kit.dumps`), matches tensors by name and reports what did not match.
Besides cosine and SNR it speaks Polygraphy's tolerance vocabulary
(``atol``, ``rtol``, ``check``; see :func:`tolerance_check`) and top-k.
"""

from __future__ import annotations

import html
import json
import math
import os
import pathlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._io import MAX_READ_BYTES
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
    "tolerance_check",
    "load_outputs",
]


# ----------------------------------------------------------------------------
# single metrics
# ----------------------------------------------------------------------------
def _same_shape(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    """``a`` and ``b`` as arrays of one shape (size-1 axes may differ); refused if empty or not matching."""
    x = np.asarray(a)
    y = np.asarray(b)
    if x.shape != y.shape:
        if x.size == y.size and np.squeeze(x).shape == np.squeeze(y).shape:
            y = y.reshape(x.shape)
        else:
            raise InputError(f"cannot compare arrays of shapes {x.shape} and {y.shape}; they must match")
    if x.size == 0:
        raise InputError("cannot compare empty arrays")
    return x, y


def _pair(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    x, y = _same_shape(a, b)
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
    tolerance: dict[str, Any] | None = None
    topk: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """True if every metric could be computed (no NaN/Inf, zero norm or non-finite metric)."""
        return not [f for f in self.flags if f not in _INFO_FLAGS]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (infinite SNR becomes None, with the "identical" flag)."""
        data = {k: getattr(self, k) for k in ("name", "cosine", "mean_abs", "max_abs", "relative_l2", "snr_db",
                                               "top1", "top5", "per_channel_cosine", "flags", "tolerance", "topk")}
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


# ----------------------------------------------------------------------------
# Polygraphy's tolerance rule, and top-k
# ----------------------------------------------------------------------------
#: Polygraphy adds this to zeros of the second output before dividing (comparator/compare.py, EPSILON).
_POLYGRAPHY_EPSILON = 2.220446049250313e-16
_STATISTICS = ("elemwise", "max", "mean", "median", "quantile")


def _parse_check(check: Any) -> tuple[str, float | None]:
    """``"quantile:0.99"`` -> ``("quantile", 0.99)``; ``"max"`` -> ``("max", None)``."""
    if not isinstance(check, str):
        raise InputError(f"check must be one of {list(_STATISTICS)} or 'quantile:Q', got {check!r}")
    stat, _, value = check.strip().lower().partition(":")
    if stat not in _STATISTICS or (value and stat != "quantile"):
        raise InputError(f"check must be 'elemwise', 'max', 'mean', 'median' or 'quantile:Q' (0 <= Q <= 1), "
                         f"got {check!r}")
    if stat != "quantile":
        return stat, None
    try:
        quantile = float(value) if value else 0.99  # Polygraphy's default error_quantile
    except ValueError as exc:
        raise InputError(f"check {check!r}: the quantile must be a number between 0 and 1") from exc
    if not 0 <= quantile <= 1:
        raise InputError(f"check {check!r}: the quantile must be between 0 and 1")
    return stat, quantile


def _tolerance(name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a non-negative number, got {value!r}") from exc
    if not number >= 0:
        raise InputError(f"{name} must be a non-negative number, got {value!r}")
    return number


def tolerance_check(a: Any, b: Any, *, atol: float = 1e-5, rtol: float = 1e-5,
                    check: str = "elemwise") -> dict[str, Any]:
    """Polygraphy's pass/fail rule for one output: absolute OR relative error within tolerance.

    With ``absdiff = |a - b|`` and ``reldiff = absdiff / |b|`` (relative to
    the *second* output, whose zeros get ``2.22e-16`` added first so the
    division is defined, as Polygraphy does), an output passes when

    - ``check="elemwise"`` (Polygraphy's default): no element has both
      ``absdiff > atol`` and ``reldiff > rtol`` (NaN counts as exceeding);
    - ``"max"``, ``"mean"``, ``"median"``, ``"quantile:Q"``: the statistic of
      ``absdiff`` is ``<= atol`` OR that of ``reldiff`` is ``<= rtol`` (a NaN
      statistic fails).

    This mirrors ``SimpleCompareFunc`` / ``SimpleThreshold.passed`` in
    Polygraphy's ``polygraphy/comparator/compare.py`` (0.53; ``--atol``,
    ``--rtol``, ``--check-error-stat``, ``--error-quantile``; defaults 1e-5,
    1e-5, elemwise, 0.99). Polygraphy computes in the outputs' own dtype
    (float32 for float32); nv12kit in float64, so the two can only disagree
    when a statistic is within float32 rounding of the tolerance.

    Parameters
    ----------
    a, b : array_like
        The first (reference) and second output; ``b`` is the relative base.
    atol, rtol : float, optional
        Absolute and relative tolerances.
    check : str, optional
        ``"elemwise"``, ``"max"``, ``"mean"``, ``"median"`` or ``"quantile:Q"``.

    Returns
    -------
    dict
        ``check``, ``atol``, ``rtol``, ``abs_error`` and ``rel_error`` (the
        statistic checked; the maximum for elemwise, as Polygraphy's "minimum
        required tolerance"), ``mismatches`` (elemwise only) and ``passed``.

    Examples
    --------
    >>> tolerance_check([1.0, 2.0], [1.0, 2.1], atol=0.05, rtol=0.05, check="max")["passed"]
    True
    >>> tolerance_check([1.0, 2.0], [1.0, 2.1], atol=0.05, rtol=0.01, check="max")["passed"]
    False
    """
    stat, quantile = _parse_check(check)
    atol, rtol = _tolerance("atol", atol), _tolerance("rtol", rtol)
    x, y = _same_shape(a, b)
    wide = np.complex128 if _is_complex(x, y) else np.float64
    with np.errstate(all="ignore"):
        if x.dtype == np.bool_ and y.dtype == np.bool_:
            absdiff = np.logical_xor(x, y).astype(np.float64)
        else:
            absdiff = np.abs(x.astype(wide) - y.astype(wide))
        base = np.abs(y.astype(wide))
        if np.issubdtype(y.dtype, np.floating):
            base = np.where(y == 0, _POLYGRAPHY_EPSILON, base)
        reldiff = absdiff / base  # integer zeros give inf or NaN, as in Polygraphy
        result: dict[str, Any] = {"check": stat if quantile is None else f"quantile:{quantile:g}",
                                  "atol": atol, "rtol": rtol}
        if stat == "elemwise":
            bad = ((absdiff > atol) | np.isnan(absdiff)) & ((reldiff > rtol) | np.isnan(reldiff))
            abs_error, rel_error = float(np.max(absdiff)), float(np.max(reldiff))
            result["mismatches"] = int(np.count_nonzero(bad))
            passed = not result["mismatches"]
        else:
            reduce = {"max": np.max, "mean": np.mean, "median": np.median,
                      "quantile": lambda v: np.quantile(v, quantile)}[stat]
            abs_error, rel_error = float(reduce(absdiff)), float(reduce(reldiff))
            passed = not ((math.isnan(abs_error) or abs_error > atol) and (math.isnan(rel_error) or rel_error > rtol))
    result.update(abs_error=abs_error, rel_error=rel_error, passed=bool(passed))
    return result


def _topk(a: Any, b: Any, shape: tuple[int, ...], k: int) -> dict[str, Any]:
    """Top-k agreement of one output, or why it does not apply."""
    if _is_complex(np.asarray(a), np.asarray(b)) or not is_logits(shape, batched=False):
        return {"k": k, "agreement": None, "passed": None, "reason": f"not class scores (shape {list(shape)})"}
    if k > shape[-1]:
        return {"k": k, "agreement": None, "passed": None, "reason": f"only {shape[-1]} classes"}
    try:
        agreement = topk_agreement(np.reshape(np.asarray(a), shape), np.reshape(np.asarray(b), shape), k=k)
    except InputError as exc:
        return {"k": k, "agreement": None, "passed": False, "reason": str(exc)}
    return {"k": k, "agreement": agreement, "passed": agreement == 1.0}


@dataclass
class Comparison:
    """Per-output comparison of two runs; ``bool(comparison)`` says whether every output passes.

    An output passes when it meets every criterion in force: cosine at least
    ``min_cosine`` (unless None), Polygraphy's tolerance rule when
    ``atol``/``rtol`` were given (:func:`tolerance_check`), and identical
    top-``k`` classes on every row when ``top_k`` was given. Tensors found on
    one side only are listed (``only_in_a``, ``only_in_b``) and do not fail
    the comparison; tensors on both sides whose shapes differ
    (``shape_mismatches``) do.

    Attributes
    ----------
    outputs : dict of str to OutputComparison
    labels : (str, str)
        Names of the two runs (``("float", "vendor nv12")``).
    min_cosine : float or None
        The cosine pass mark; None when the cosine is not a criterion.
    only_in_a, only_in_b : list of str
        Tensor names found in one run only.
    shape_mismatches : dict of str to (shape, shape)
        Tensors on both sides whose shapes differ beyond singleton dimensions.
    sources : (str, str)
        How each side was read (format, and whether nv12kit detected it).
    notes : list of str
        What the readers assumed (a manifest found, a Result folder chosen...).
    atol, rtol, check, top_k
        The tolerance criteria in force (None when not asked for).
    """

    outputs: dict[str, OutputComparison]
    labels: tuple[str, str] = ("a", "b")
    min_cosine: float | None = 0.99
    only_in_a: list[str] = field(default_factory=list)
    only_in_b: list[str] = field(default_factory=list)
    shape_mismatches: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=dict)
    sources: tuple[str, str] = ("in-memory arrays", "in-memory arrays")
    notes: list[str] = field(default_factory=list)
    atol: float | None = None
    rtol: float | None = None
    check: str | None = None
    top_k: int | None = None

    def verdicts(self, output: OutputComparison) -> dict[str, bool | None]:
        """Per criterion (cosine, tolerance, top-k): passed, failed, or None when not in force."""
        cos = None
        if self.min_cosine is not None:
            # identical outputs pass even when all zeros (where the cosine itself is undefined)
            cos = "identical" in output.flags or (output.ok and output.cosine is not None
                                                   and output.cosine >= self.min_cosine)
        return {"cosine": cos,
                "tolerance": None if output.tolerance is None else output.tolerance["passed"],
                "topk": None if output.topk is None else output.topk["passed"]}

    def passed(self, name: str) -> bool:
        """Whether output ``name`` meets every criterion in force."""
        return all(v is not False for v in self.verdicts(self.outputs[name]).values())

    def __bool__(self) -> bool:
        return not self.shape_mismatches and all(self.passed(n) for n in self.outputs)

    @property
    def failed(self) -> list[str]:
        """Names of the outputs that fail a criterion."""
        return [n for n in self.outputs if not self.passed(n)]

    @property
    def worst_cosine(self) -> float | None:
        """Lowest cosine over the outputs (None if no output has one)."""
        values = [o.cosine for o in self.outputs.values() if o.cosine is not None]
        return min(values) if values else None

    def criteria(self) -> str:
        """The pass criteria in words: ``"cosine >= 0.99 and elemwise |a-b| <= 1e-05 or |a-b|/|b| <= 1e-05"``."""
        parts = []
        if self.min_cosine is not None:
            parts.append(f"cosine >= {self.min_cosine}")
        if self.atol is not None:
            parts.append(f"{self.check} |a-b| <= {self.atol:g} or |a-b|/|b| <= {self.rtol:g}")
        if self.top_k is not None:
            parts.append(f"top-{self.top_k} classes agree")
        return " and ".join(parts)

    def rows(self) -> list[list[str]]:
        """Table rows: output, shape, cosine, MAE, max, rel L2, SNR, top-1, tolerance, top-k, result, flags."""
        def fmt(v: float | None, spec: str) -> str:
            if v is None:
                return "-"
            return "inf" if math.isinf(v) else format(v, spec)

        rows = []
        for name, o in self.outputs.items():
            tol = "-" if o.tolerance is None else (f"{fmt(o.tolerance['abs_error'], '.3g')}/"
                                                   f"{fmt(o.tolerance['rel_error'], '.3g')} "
                                                   f"{'ok' if o.tolerance['passed'] else 'FAIL'}")
            topk = "-" if o.topk is None else fmt(o.topk["agreement"], ".2f")
            rows.append([name, "x".join(map(str, o.shape)), fmt(o.cosine, ".6f"), fmt(o.mean_abs, ".4g"),
                         fmt(o.max_abs, ".4g"), fmt(o.relative_l2, ".3e"), fmt(o.snr_db, ".1f"), fmt(o.top1, ".2f"),
                         tol, topk, "pass" if self.passed(name) else "FAIL", ", ".join(o.flags) or "-"])
        return rows

    _HEADER = ["output", "shape", "cosine", "MAE", "max abs", "rel L2", "SNR dB", "top-1", "abs/rel err", "top-k",
               "result", "flags"]

    def unmatched(self) -> list[str]:
        """Lines on what was not compared: names on one side only, shapes that differ."""
        lines = []
        if self.only_in_a:
            lines.append(f"only in {self.labels[0]} (not compared): {', '.join(self.only_in_a)}")
        if self.only_in_b:
            lines.append(f"only in {self.labels[1]} (not compared): {', '.join(self.only_in_b)}")
        for name, (sa, sb) in self.shape_mismatches.items():
            lines.append(f"shape mismatch (FAIL): {name}: {list(sa)} in {self.labels[0]}, {list(sb)} in "
                         f"{self.labels[1]}" + ("; one side may be NHWC" if sorted(sa) == sorted(sb) else ""))
        return lines

    def _title(self) -> str:
        return f"{self.labels[0]} vs {self.labels[1]}: {'PASS' if self else 'FAIL'} at {self.criteria()}"

    def __repr__(self) -> str:
        rows = [self._HEADER] + self.rows()
        widths = [max(len(r[i]) for r in rows) for i in range(len(self._HEADER))]
        lines = [f"Comparison({self._title()})"]
        lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
        lines += [f"  {line}" for line in self.unmatched()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self._HEADER)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in self.rows())
        extra = "".join(f"<p>{html.escape(line)}</p>" for line in self.unmatched())
        return (f"<div><strong>{html.escape(self._title())}</strong><table><tr>{head}</tr>{body}</table>"
                f"{extra}</div>")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"labels": list(self.labels), "min_cosine": self.min_cosine, "passed": bool(self),
                "criteria": self.criteria(), "atol": self.atol, "rtol": self.rtol, "check": self.check,
                "top_k": self.top_k, "worst_cosine": self.worst_cosine, "failed": self.failed,
                "only_in_a": list(self.only_in_a), "only_in_b": list(self.only_in_b),
                "shape_mismatches": {k: [list(a), list(b)] for k, (a, b) in self.shape_mismatches.items()},
                "sources": list(self.sources), "notes": list(self.notes),
                "outputs": {k: v.to_dict() for k, v in self.outputs.items()}}

    def to_json(self, path: str | os.PathLike[str]) -> pathlib.Path:
        """Write :meth:`to_dict` as JSON, atomically; non-finite numbers are ``null``, never bare NaN."""
        from ._io import atomic_write, jsonable

        return atomic_write(path, json.dumps(jsonable(self.to_dict()), indent=2, allow_nan=False).encode("utf-8"))


# ----------------------------------------------------------------------------
# loading dumped outputs
# ----------------------------------------------------------------------------
def load_outputs(source: Any, *, format: str = "auto",  # noqa: A002 - the word users know
                 max_bytes: int | None = MAX_READ_BYTES) -> dict[str, np.ndarray]:
    """Outputs as ``{name: array}`` from a dict or any dump :func:`nv12kit.dumps.read_outputs` reads.

    A dict is returned as arrays; a ``.npy`` gives one output named after the
    file stem; ``.npz``, folders of ``.npy``, Polygraphy JSON, RKNN, Horizon
    and ``.raw`` dumps are read by :mod:`nv12kit.dumps` (format detected from
    the content unless given). Nothing is unpickled, only regular files are
    read, and sizes are checked against ``max_bytes`` (default 2 GiB; None
    for no limit) before anything is allocated.

    Raises
    ------
    InputError
        Missing file, unknown format, not a regular file, pickled, corrupt or
        truncated data, or more than ``max_bytes``.
    """
    from .dumps import read_outputs

    return read_outputs(source, format=format, max_bytes=max_bytes)


def _single_npy(source: Any) -> bool:
    return isinstance(source, (str, os.PathLike)) and pathlib.Path(source).suffix.lower() == ".npy"


def _check_options(labels: Sequence[str], min_cosine: float | None, outputs: Sequence[str] | None,
                   top_k: int | None) -> float | None:
    if isinstance(labels, str) or len(labels) != 2:
        raise InputError(f"labels must be two names, got {labels!r}")
    if min_cosine is not None:
        try:
            min_cosine = float(min_cosine)
        except (TypeError, ValueError) as exc:
            raise InputError(f"min_cosine must be a number between -1 and 1, got {min_cosine!r}") from exc
        if not -1 <= min_cosine <= 1:
            raise InputError(f"min_cosine must be between -1 and 1, got {min_cosine}")
    if outputs is not None and len(outputs) == 0:
        raise InputError("outputs=[] compares nothing; leave it out to compare every output, or name some")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1):
        raise InputError(f"top_k must be a positive whole number, got {top_k!r}")
    return min_cosine


def compare(
    a: Any,
    b: Any,
    *,
    labels: Sequence[str] = ("a", "b"),
    min_cosine: float | None = 0.99,
    outputs: Sequence[str] | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    check: str = "elemwise",
    top_k: int | None = None,
    format_a: str = "auto",
    format_b: str = "auto",
    manifest_a: Any = None,
    manifest_b: Any = None,
    max_bytes: int | None = MAX_READ_BYTES,
) -> Comparison:
    """Compare two runs' outputs, matched by name, per output and per channel of dense maps.

    Parameters
    ----------
    a, b : dict of str to array, or path
        The reference run and the run under test: dicts (as
        :meth:`nv12kit.Runner.run` returns) or dumps in any format of
        :mod:`nv12kit.dumps` (``.npy``, ``.npz``, folders of ``.npy``,
        Polygraphy JSON, RKNN ``accuracy_analysis`` run folders, Horizon
        dumps, ``.raw`` with a manifest), read with ``allow_pickle=False``.
    labels : (str, str), optional
        Names for the two runs in tables.
    min_cosine : float or None, optional
        Cosine pass mark (default 0.99); None to judge by tolerances or top-k only.
    outputs : sequence of str, optional
        Compare only these outputs (each must be on both sides).
    atol, rtol : float, optional
        Polygraphy's tolerances (:func:`tolerance_check`); giving either
        makes them a criterion, the other defaulting to Polygraphy's 1e-5.
    check : str, optional
        The statistic for ``atol``/``rtol``: ``"elemwise"`` (Polygraphy's
        default), ``"max"``, ``"mean"``, ``"median"`` or ``"quantile:0.99"``.
    top_k : int, optional
        Require the same top-``k`` classes on every row of class-score outputs.
    format_a, format_b : str, optional
        Dump formats ("auto" detects them; see :func:`nv12kit.dumps.read_dump`).
    manifest_a, manifest_b : path or dict, optional
        Manifests for ``.raw`` / Horizon dumps (by default found in their folders).
    max_bytes : int or None, optional
        Read budget per side (default 2 GiB), checked before allocating.

    Returns
    -------
    Comparison
        Also lists tensors found on one side only and shapes that differ.

    Raises
    ------
    InputError
        The two sides share no tensor name (both sets are listed), an output
        named in ``outputs`` is missing, bad options, or unreadable files.

    Examples
    --------
    >>> import numpy as np
    >>> from nv12kit import compare
    >>> result = compare({"logits": np.array([[1.0, 2.0, 3.0]])}, {"logits": np.array([[1.0, 2.0, 3.1]])})
    >>> bool(result), round(result.outputs["logits"].cosine, 4)
    (True, 0.9999)
    >>> strict = compare({"x": np.array([1.0, 2.0])}, {"x": np.array([1.0, 2.1])}, min_cosine=None, atol=0.01)
    >>> bool(strict), strict.outputs["x"].tolerance["mismatches"]
    (False, 1)
    """
    from .dumps import read_dump

    min_cosine = _check_options(labels, min_cosine, outputs, top_k)
    tolerances = atol is not None or rtol is not None
    check_label = None
    if tolerances:
        atol = _tolerance("atol", 1e-5 if atol is None else atol)
        rtol = _tolerance("rtol", 1e-5 if rtol is None else rtol)
        stat, quantile = _parse_check(check)
        check_label = stat if quantile is None else f"quantile:{quantile:g}"
    if not tolerances and check != "elemwise":
        raise InputError(f"check={check!r} chooses the statistic for atol/rtol; give atol or rtol too")
    if min_cosine is None and not tolerances and top_k is None:
        raise InputError("nothing to judge by: give min_cosine, atol/rtol or top_k")
    reads = [read_dump(side, format=fmt, manifest=manifest, max_bytes=max_bytes)
             for side, fmt, manifest in ((a, format_a, manifest_a), (b, format_b, manifest_b))]
    left, right = reads[0].outputs, reads[1].outputs
    if _single_npy(a) and _single_npy(b) and set(left) != set(right):
        # two single .npy files (e.g. float.npy and vendor.npy): their names are just file names
        right = {next(iter(left)): next(iter(right.values()))}
    if outputs is not None:
        missing = [n for n in outputs if n not in left or n not in right]
        if missing:
            raise InputError(f"outputs {missing} are not on both sides; {labels[0]}: {sorted(left)}, "
                             f"{labels[1]}: {sorted(right)}")
        names = list(outputs)
    else:
        names = [n for n in left if n in right]
        if not names:
            raise InputError(
                f"the two sides share no output name: {labels[0]} has {sorted(left)[:20]}, {labels[1]} has "
                f"{sorted(right)[:20]}; save both with the same names (np.savez(path, **outputs)) or give a "
                "manifest that names the tensors"
            )
    shape_mismatches, results = {}, {}
    for name in names:
        x, y = np.asarray(left[name]), np.asarray(right[name])
        if x.shape != y.shape and (x.size != y.size or np.squeeze(x).shape != np.squeeze(y).shape):
            shape_mismatches[name] = (tuple(x.shape), tuple(y.shape))
            continue
        try:
            result = compare_arrays(x, y, name=name)
            if tolerances:
                result.tolerance = tolerance_check(x, y, atol=atol, rtol=rtol, check=check)
            if top_k is not None:
                result.topk = _topk(x, y, result.shape, int(top_k))
        except InputError as exc:
            raise InputError(f"output {name!r}: {exc}") from exc
        results[name] = result
    scope = set(names) if outputs is not None else set(left) & set(right)
    return Comparison(
        results, (str(labels[0]), str(labels[1])), min_cosine,
        only_in_a=[] if outputs is not None else [n for n in left if n not in scope],
        only_in_b=[] if outputs is not None else [n for n in right if n not in scope],
        shape_mismatches=shape_mismatches, sources=(reads[0].describe(), reads[1].describe()),
        notes=[note for r in reads for note in r.notes],
        atol=atol if tolerances else None, rtol=rtol if tolerances else None,
        check=check_label,
        top_k=None if top_k is None else int(top_k),
    )
