"""Helpers shared by the explore modules: HTML and PNG display, the preprocessing choice."""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from typing import Any

from .. import plots
from ..errors import InputError
from ..preprocess import Preprocess

_DPI = 80  # PNG resolution of widget and notebook figures: sharp enough, small enough to redraw live


def escape(value: Any) -> str:
    return html.escape(str(value), quote=True)


def figure_png(fig: Any) -> bytes:
    return plots.figure_to_png_bytes(fig, dpi=_DPI)


def figure_img_html(fig: Any, alt: str) -> str:
    uri = "data:image/png;base64," + base64.b64encode(figure_png(fig)).decode("ascii")
    return f"<img alt='{escape(alt)}' src='{uri}' style='max-width:100%'>"


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
