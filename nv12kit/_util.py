"""Small helpers every room shares, one copy each: progress bars, number formatting, labels.

Nothing here imports more than the standard library at import time; tqdm is
imported only when a bar is asked for.
"""

from __future__ import annotations

import math
import os
import pathlib
import warnings
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["progress", "format_cosine", "format_number", "model_label", "source_label", "renamed",
           "DEFAULT_CONVENTION", "convention_or_expected"]

_TQDM_MISSING = (
    "progress bars need tqdm, which is not installed; install it with `pip install tqdm` "
    "(or nv12kit[notebooks]), or pass progress=False to silence this"
)


class _QuietBar:
    """What :func:`progress` returns when no bar is shown: iterates and ignores updates."""

    def __init__(self, iterable: Iterable[Any] | None) -> None:
        self._iterable = iterable

    def __iter__(self) -> Iterator[Any]:
        return iter(() if self._iterable is None else self._iterable)

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _QuietBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress(
    iterable: Iterable[Any] | None = None,
    *,
    desc: str,
    total: int | None = None,
    unit: str = "it",
    enabled: bool = True,
    min_items: int = 1,
) -> Any:
    """A ``tqdm.auto`` progress bar, or a silent stand-in with the same use.

    Parameters
    ----------
    iterable : iterable, optional
        What to iterate over; leave it out and call ``update(n)`` instead.
    desc : str
        The bar's label.
    total : int, optional
        Number of steps, when ``iterable`` has no length.
    unit : str, optional
        What one step is called.
    enabled : bool, optional
        ``False`` gives the silent stand-in.
    min_items : int, optional
        Fewer steps than this give the silent stand-in (a bar over one step
        only flickers).

    Returns
    -------
    tqdm.auto.tqdm or a silent stand-in
        Both iterate over ``iterable`` and have ``update``, ``close`` and
        context-manager use.  A bar asked for without tqdm installed warns
        once, saying how to install it, and runs silently.

    Examples
    --------
    >>> sum(progress(range(4), desc="demo", enabled=False))
    6
    """
    if total is None and iterable is not None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    if not enabled or (total is not None and total < min_items):
        return _QuietBar(iterable)
    try:
        from tqdm.auto import tqdm
    except ImportError:
        warnings.warn(_TQDM_MISSING, RuntimeWarning, stacklevel=2)
        return _QuietBar(iterable)
    return tqdm(iterable, desc=desc, total=total, unit=unit, leave=False)


def format_number(value: float, spec: str = "") -> str:
    """``format(value, spec)``, with ``nan``, ``inf`` and ``-inf`` spelled out whatever the spec.

    >>> format_number(float("nan"), ".3f"), format_number(0.5, ".2f")
    ('nan', '0.50')
    """
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return format(value, spec)


def format_cosine(value: float) -> str:
    """A cosine with enough decimals to show how far it is from 1.

    Two significant digits of ``1 - cos`` are kept, with 4 to 12 decimals:
    0.999981 stays 0.999981 instead of rounding to 1.000.

    >>> format_cosine(0.999981), format_cosine(0.5), format_cosine(1.0), format_cosine(float("nan"))
    ('0.999981', '0.5000', '1.000000', 'nan')
    """
    if not math.isfinite(value):
        return format_number(value)
    gap = 1.0 - value
    decimals = 6 if not gap > 0 else min(max(math.ceil(-math.log10(gap)) + 1, 4), 12)
    return f"{value:.{decimals}f}"


def source_label(source: Any, default: str = "image") -> str:
    """The file name of a path, else ``default``: how reports name an input without leaking folders.

    >>> source_label("/data/frames/cat.png"), source_label(None)
    ('cat.png', 'image')
    """
    if isinstance(source, (str, os.PathLike)):
        return pathlib.Path(source).name
    return default


def model_label(model: Any) -> str:
    """A short name for a model: a path's file name, a ``ModelProto``'s graph name, else the object's type.

    >>> model_label("/models/net.onnx")
    'net.onnx'
    """
    if isinstance(model, (str, os.PathLike)):
        return pathlib.Path(model).name
    name = getattr(getattr(model, "graph", None), "name", None)
    return str(name) if name else type(model).__name__


def _input_error(message: str) -> Exception:
    from .errors import InputError

    return InputError(message)


# Renamed keywords stay for one release as deprecated aliases (diagnose(expected=) -> convention=, ...).
class _Default(str):
    """A default string that prints as itself but can be told apart from the same value passed explicitly."""

    __slots__ = ()


#: The default ``convention=``: ``"horizon"``, recognisable so that passing both names can be refused.
DEFAULT_CONVENTION: str = _Default("horizon")


def renamed(new_value: Any, old_value: Any, *, new: str, old: str, new_given: bool, stacklevel: int = 3) -> Any:
    """The value of a renamed keyword: the new one, or the deprecated old one with a warning.

    Parameters
    ----------
    new_value : object
        What the new keyword holds (its default when it was not passed).
    old_value : object
        What the deprecated keyword holds; ``None`` when it was not passed.
    new, old : str
        The two keyword names, for the messages.
    new_given : bool
        Whether the caller passed the new keyword.
    stacklevel : int, optional
        Where the warning points, counted from here: 3 is the caller of the
        function that calls this one.

    Returns
    -------
    object
        ``old_value`` when only the old keyword was passed, else ``new_value``.

    Raises
    ------
    InputError
        Both keywords were passed.

    Warns
    -----
    DeprecationWarning
        The old keyword was passed; the warning points at the caller of the
        public function (which calls this directly).

    Examples
    --------
    >>> renamed(255, None, new="train_divisor", old="train_scale", new_given=True)
    255
    """
    if old_value is None:
        return new_value
    if new_given:
        raise _input_error(f"pass {new}= only: {old}= is its deprecated old name, and both were given")
    warnings.warn(
        f"{old}= is deprecated and will be removed in the next release; use {new}= instead (same meaning)",
        DeprecationWarning,
        stacklevel=stacklevel,
    )
    return old_value


def convention_or_expected(convention: Any, expected: Any) -> Any:
    """``convention=``, or its deprecated old name ``expected=`` (the warning points at the public function's caller).

    >>> convention_or_expected("bt709-limited", None)
    'bt709-limited'
    """
    return renamed(convention, expected, new="convention", old="expected",
                   new_given=convention is not DEFAULT_CONVENTION, stacklevel=4)
