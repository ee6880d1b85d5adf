"""Shared pieces of the figures: checks, figure and axes set-up, colours, and figure export."""

from __future__ import annotations

import base64
import io
import math
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..errors import InputError
from ..yuv import NV12Frame


# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------
def _root_figure(fig: Any) -> Figure:
    # Axes inside a SubFigure report the SubFigure; callers want the Figure they can save.
    for _ in range(16):
        if isinstance(fig, Figure):
            return fig
        fig = fig.figure
    raise InputError("could not find the Figure these axes belong to")  # pragma: no cover


def _check_ax(ax: Any, name: str = "ax") -> Axes:
    if not isinstance(ax, Axes):
        raise InputError(
            f"{name} must be a matplotlib Axes (e.g. fig.add_subplot()) or None for a new figure, "
            f"got {type(ax).__name__}"
        )
    return ax


def _figure_and_ax(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is None:
        fig = Figure(figsize=figsize, layout="constrained")
        return fig, fig.add_subplot()
    ax = _check_ax(ax)
    return _root_figure(ax.figure), ax


def _image_figsize(height: int, width: int) -> tuple[float, float]:
    """Figure size that keeps an image's aspect, plus room for a colourbar, labels and a two-line title."""
    image_w, image_h = 4.8, 4.8 * height / max(width, 1)
    if image_h > 6.0:  # portrait: bound the height instead of the width
        image_w, image_h = 6.0 * width / max(height, 1), 6.0
    return (max(image_w + 1.7, 5.0), max(image_h + 1.2, 2.8))


def _integer_ticks(ax: Axes) -> None:
    # Pixel indices: no 0.5 ticks on tiny images.
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def _side_colorbar(ax: Axes, image: Any, **kwargs: Any) -> Any:
    """A colourbar exactly as tall as the image, in an inset axes (a plain one spans the whole axes box)."""
    cax = ax.inset_axes((1.03, 0.0, 0.045, 1.0))
    return ax.figure.colorbar(image, cax=cax, **kwargs)


def _check_frame(frame: Any) -> NV12Frame:
    if not isinstance(frame, NV12Frame):
        hint = ""
        if isinstance(frame, np.ndarray) and frame.ndim == 3 and frame.shape[-1] == 3:
            hint = "; it looks like an RGB image: convert it first with nv12kit.rgb_to_nv12(image)"
        elif isinstance(frame, tuple) and len(frame) == 2:
            hint = "; wrap (y, uv) planes with nv12kit.NV12Frame(y, uv)"
        raise InputError(f"frame must be an nv12kit.NV12Frame, got {type(frame).__name__}{hint}")
    return frame


def _axes_row(axes: Any, count: int, figsize: tuple[float, float], what: str) -> tuple[Figure, list[Axes]]:
    """``count`` panels side by side: on a new figure, or the caller's ``count`` Axes of one figure."""
    if axes is None:
        fig = Figure(figsize=figsize, layout="constrained")
        return fig, list(np.atleast_1d(fig.subplots(1, count)))
    number = {1: "one", 2: "two", 3: "three"}.get(count, str(count))
    try:
        items = list(axes.flat) if isinstance(axes, np.ndarray) else list(axes)
    except TypeError as exc:
        raise InputError(f"axes must be {number} Axes (for {what}), e.g. fig.subplots(1, {count}), "
                         f"got {type(axes).__name__}") from exc
    if len(items) != count:
        raise InputError(f"axes must be {number} Axes (for {what}), got {len(items)}")
    panels = [_check_ax(a, f"axes[{i}]") for i, a in enumerate(items)]
    roots = {id(_root_figure(a.figure)) for a in panels}
    if len(roots) != 1:
        raise InputError("axes must all belong to the same figure")
    return _root_figure(panels[0].figure), panels


def _check_title(title: Any) -> str | None:
    if title is not None and not isinstance(title, str):
        raise InputError(f"title must be a string or None, got {type(title).__name__}")
    return title


def _rgb_image(image: Any, name: str) -> np.ndarray:
    arr = image if isinstance(image, np.ndarray) else None
    if arr is None:
        raise InputError(
            f"{name} must be an (H, W, 3) uint8 numpy array, got {type(image).__name__}; "
            "load files and PIL images with nv12kit.load_image()"
        )
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise InputError(f"{name} must be an (H, W, 3) RGB image, got shape {arr.shape}")
    if arr.dtype != np.uint8:
        raise InputError(
            f"{name} must have dtype uint8 (0-255 levels), got {arr.dtype}; for 0-255 values use "
            "np.clip(x, 0, 255).round().astype(np.uint8)"
        )
    if arr.size == 0:
        raise InputError(f"{name} is empty (shape {arr.shape})")
    return arr


def _fmt_psnr(psnr: float) -> str:
    return "∞ (identical)" if math.isinf(psnr) else f"{psnr:.2f} dB"




# ----------------------------------------------------------------------------
# figures for HTML reports
# ----------------------------------------------------------------------------
def figure_to_png_bytes(fig: Figure, *, dpi: float = 100) -> bytes:
    """Render a figure to PNG bytes, without pyplot.

    The PNG carries no "Software" metadata (and so no URL), and rendering
    does not change the figure or matplotlib's backend.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    dpi : float, optional
        Dots per inch; a 7.5 x 4.6 inch figure at 100 dpi is 750 x 460 pixels.

    Returns
    -------
    bytes
        The PNG file.

    Raises
    ------
    InputError
        If ``fig`` is not a Figure or ``dpi`` is not a positive number.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> figure_to_png_bytes(Figure(figsize=(1, 1)), dpi=20)[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
    """
    if not isinstance(fig, Figure):
        hint = "; pass ax.figure" if isinstance(fig, Axes) else ""
        raise InputError(f"fig must be a matplotlib Figure, got {type(fig).__name__}{hint}")
    resolution = _positive(dpi, "dpi")
    buffer = io.BytesIO()
    # A Figure made without pyplot has no canvas of its own; savefig borrows Agg's for "png".
    fig.savefig(buffer, format="png", dpi=resolution, metadata={"Software": None})
    return buffer.getvalue()


def figure_to_data_uri(fig: Figure, *, dpi: float = 100) -> str:
    """Render a figure as a ``data:image/png;base64,...`` URI for ``<img src=...>`` in self-contained HTML.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    dpi : float, optional
        Dots per inch, as in :func:`figure_to_png_bytes`.

    Returns
    -------
    str

    Raises
    ------
    InputError
        As :func:`figure_to_png_bytes`.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> figure_to_data_uri(Figure(figsize=(1, 1)), dpi=20).startswith("data:image/png;base64,iVBORw0KGgo")
    True
    """
    return "data:image/png;base64," + base64.b64encode(figure_to_png_bytes(fig, dpi=dpi)).decode("ascii")

def _positive(value: Any, name: str) -> float:
    if isinstance(value, (bool, np.bool_)):
        raise InputError(f"{name} must be a positive number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a positive number, got {value!r}") from exc
    if not math.isfinite(number) or number <= 0:
        raise InputError(f"{name} must be a positive finite number, got {value!r}")
    return number
