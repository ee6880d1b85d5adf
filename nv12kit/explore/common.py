"""Helpers shared by the explore modules: HTML and PNG display, the preprocessing choice."""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from typing import Any

from .. import plots
from ..errors import InputError
from ..plots._base import FIGURE_DPI
from ..preprocess import Preprocess

_DPI = FIGURE_DPI  # one resolution for every PNG: reports, notebook cells and widgets alike
#: The style of a row of figures: side by side while they fit, wrapped below each other when they do not.
ROW_STYLE = "display:flex;flex-wrap:wrap;gap:8px;align-items:flex-start"


def escape(value: Any) -> str:
    return html.escape(str(value), quote=True)


def figure_png(fig: Any) -> bytes:
    return plots.figure_to_png_bytes(fig, dpi=_DPI)


def figure_img_html(fig: Any, alt: str) -> str:
    # at its own size, or shrunk to the cell: never stretched (a stretched PNG is blurred)
    uri = "data:image/png;base64," + base64.b64encode(figure_png(fig)).decode("ascii")
    return f"<img alt='{escape(alt)}' src='{uri}' style='max-width:100%;height:auto'>"


def figure_row_html(*items: str) -> str:
    """HTML figures (from :func:`figure_img_html`) in a row that wraps when the cell is too narrow."""
    return f"<div style='{ROW_STYLE}'>{''.join(items)}</div>"


def pixel_scale(height: int, width: int, *, target: int = 256, most: int = 8) -> int:
    """The integer factor to show a ``width`` × ``height`` image at: 1 for big ones, more for small ones.

    >>> pixel_scale(1080, 1920), pixel_scale(32, 32), pixel_scale(2, 4000)
    (1, 8, 1)
    """
    return int(max(1, min(most, target // max(height, width, 1))))


def pixels_png(*images: Any, scale: int | None = None, gap: int = 4) -> bytes:
    """RGB images side by side as one PNG, enlarged by an integer factor with nearest neighbour.

    Each source pixel becomes a ``scale`` × ``scale`` block of the same colour, so small frames are
    not blurred by a browser or matplotlib resampling them; show the PNG at its own size (or with
    ``image-rendering: pixelated``).

    >>> import numpy as np
    >>> from PIL import Image; import io
    >>> png = pixels_png(np.zeros((4, 6, 3), np.uint8), np.full((4, 6, 3), 255, np.uint8), scale=3)
    >>> Image.open(io.BytesIO(png)).size
    (40, 12)
    """
    import io

    import numpy as np
    from PIL import Image

    arrays = [np.asarray(image, np.uint8) for image in images]
    factor = scale if scale is not None else pixel_scale(*arrays[0].shape[:2])
    big = [np.repeat(np.repeat(a, factor, axis=0), factor, axis=1) for a in arrays]
    height = max(b.shape[0] for b in big)
    canvas = np.full((height, sum(b.shape[1] for b in big) + gap * (len(big) - 1), 3), 255, np.uint8)
    x = 0
    for b in big:
        canvas[: b.shape[0], x: x + b.shape[1]] = b
        x += b.shape[1] + gap
    buffer = io.BytesIO()
    Image.fromarray(canvas).save(buffer, format="PNG")
    return buffer.getvalue()


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
