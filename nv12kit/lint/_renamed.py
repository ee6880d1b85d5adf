"""Renamed keywords of lint's entry points: the old names stay for one release as deprecated aliases.

``diagnose(expected=)`` and ``check_converter(expected=)`` became
``convention=``; ``lint_node(train_scale=)`` became ``train_divisor=``.
"""

from __future__ import annotations

import warnings
from typing import Any

from ..errors import InputError


class _Default(str):
    """A default string that prints as itself but can be told apart from the same value passed explicitly."""

    __slots__ = ()


#: The default ``convention=``: ``"horizon"``, recognisable so that passing both names can be refused.
DEFAULT_CONVENTION: str = _Default("horizon")


def renamed(new_value: Any, old_value: Any, *, new: str, old: str, new_given: bool) -> Any:
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
        lint function (which calls this directly).

    Examples
    --------
    >>> renamed(255, None, new="train_divisor", old="train_scale", new_given=True)
    255
    """
    if old_value is None:
        return new_value
    if new_given:
        raise InputError(f"pass {new}= only: {old}= is its deprecated old name, and both were given")
    warnings.warn(
        f"{old}= is deprecated and will be removed in the next release; use {new}= instead (same meaning)",
        DeprecationWarning,
        stacklevel=3,  # renamed -> the lint function -> its caller
    )
    return old_value
