"""Helpers shared by the explore modules: HTML and PNG display, labels, preprocessing, the renamed keyword."""

from __future__ import annotations

import base64
import html
import os
import pathlib
import warnings
from collections.abc import Mapping
from typing import Any

from .. import plots
from ..conventions import Convention
from ..errors import InputError
from ..preprocess import Preprocess

_DPI = 80  # PNG resolution of widget and notebook figures: sharp enough, small enough to redraw live


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _png(fig: Any) -> bytes:
    return plots.figure_to_png_bytes(fig, dpi=_DPI)


def _img_html(fig: Any, alt: str) -> str:
    uri = "data:image/png;base64," + base64.b64encode(_png(fig)).decode("ascii")
    return f"<img alt='{_e(alt)}' src='{uri}' style='max-width:100%'>"


def _label(image: Any) -> str:
    if isinstance(image, (str, os.PathLike)):
        return pathlib.Path(image).name
    return "image"


def _resolve_preprocess(model: Any, preprocess: Preprocess | Mapping[str, Any] | None) -> tuple[Preprocess, str]:
    """The preprocessing to use and where it came from."""
    if preprocess is None:
        return Preprocess.from_model(model), "read from the model's metadata"
    if isinstance(preprocess, Preprocess):
        return preprocess, "given"
    if isinstance(preprocess, Mapping):
        return Preprocess.from_dict(preprocess), "given"
    raise InputError(
        f"preprocess must be an nv12kit.Preprocess, a dict such as {{'mean': [123.675, 116.28, 103.53], "
        f"'std': [58.395, 57.12, 57.375]}} or None (read from the model), got {type(preprocess).__name__}"
    )


class _Default(str):
    """A default string that prints as itself but can be told apart from the same value passed explicitly."""

    __slots__ = ()


#: The default ``convention=``: ``"horizon"``, recognisable so that passing ``expected=`` too can be refused.
_DEFAULT_CONVENTION: str = _Default("horizon")


def _convention_from(convention: str | Convention, expected: str | Convention | None, *,
                     stacklevel: int = 3) -> str | Convention:
    """The convention asked for: ``convention=``, or its deprecated old name ``expected=`` with a warning.

    ``stacklevel`` counts from here: 3 points at the caller of the function
    that calls this one.
    """
    if expected is None:
        return convention
    if convention is not _DEFAULT_CONVENTION:
        raise InputError("pass convention= only: expected= is its deprecated old name, and both were given")
    warnings.warn("expected= is deprecated and will be removed in the next release; use convention= instead "
                  "(same meaning)", DeprecationWarning, stacklevel=stacklevel)
    return expected
