"""Shared pieces of the figures: checks, figure and axes set-up, colours, and figure export."""

from __future__ import annotations

import base64
import io
import math
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Bbox

from ..errors import InputError
from ..yuv import NV12Frame
from ._layout import _in_view_class


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
    # A new figure has no layout engine: the figure function lays it out itself (see _layout), at the end.
    if ax is None:
        fig = Figure(figsize=figsize)
        return fig, fig.add_subplot()
    ax = _check_ax(ax)
    return _root_figure(ax.figure), ax


#: Dots per inch of every PNG nv12kit writes (reports, widgets, the layers command): one size everywhere.
FIGURE_DPI = 100
#: White margin (inches) kept around the tight box of a figure's contents in its PNG.
PNG_PAD_INCHES = 0.06
# Drawn aspect beyond which an image is stretched (aspect="auto"): a 2x4000 frame at its true aspect is a hairline.
_MAX_ASPECT = 8.0


def _image_shape(height: int, width: int, *, long_side: float = 4.8, short_min: float = 1.2,
                 tall_max: float = 5.5) -> tuple[float, float, str]:
    """(width, height) in inches to draw an image at, and the ``aspect`` for imshow.

    The true aspect while it stays within ``_MAX_ASPECT``; beyond it the short side is kept at
    ``short_min`` inches and the pixels are stretched (``aspect="auto"``), so a very wide or tall frame
    stays readable.
    """
    ratio = width / max(height, 1)
    if ratio >= 1:
        w_in = long_side
        h_in = w_in / ratio
    else:
        h_in = min(tall_max, long_side / ratio)
        w_in = h_in * ratio
    aspect = "equal"
    if max(ratio, 1 / ratio) > _MAX_ASPECT or min(w_in, h_in) < short_min * 0.5:
        aspect = "auto"
        w_in, h_in = max(w_in, short_min), max(h_in, short_min)
    return w_in, h_in, aspect


def _image_figsize(height: int, width: int) -> tuple[float, float]:
    """Figure size for one image with a colourbar, axis labels and a two-line title."""
    w_in, h_in, _ = _image_shape(height, width)
    wide = width >= 2 * height
    # wide images get their colourbar below (a side bar as short as the image cannot hold its label)
    extra_w, extra_h = (1.3, 2.2) if wide else (2.2, 1.4)
    return (max(w_in + extra_w, 4.0), max(h_in + extra_h, 2.8))


def _tick_font_points(size: Any = "small") -> float:
    return float(FontProperties(size=size).get_size_in_points())


#: ``MaxNLocator`` returning only the ticks inside the view (see :func:`._layout.trim_ticks` for why).
_InViewLocator = _in_view_class(MaxNLocator)


def _trim_bar_ticks(bar: Any) -> None:
    """A colour bar's ticks: matplotlib's default steps, only those inside the bar."""
    if type(bar.norm).__name__ == "Normalize":
        bar.locator = _InViewLocator(nbins="auto", steps=[1, 2, 2.5, 5, 10])


class _FittingLocator(_InViewLocator):
    """Integer ticks, as many as fit side by side without touching: axis length over label width.

    ``MaxNLocator(nbins="auto")`` assumes labels three characters wide; pixel indices on a
    4000-pixel frame are four digits, and their labels overlapped on narrow panels.
    """

    def __init__(self, fontsize: float, **kwargs: Any) -> None:
        super().__init__(integer=True, min_n_ticks=1, **kwargs)
        self._fontsize = fontsize

    def tick_values(self, vmin: float, vmax: float) -> Any:
        axis = self.axis
        if axis is not None and axis.axes is not None:
            box = axis.axes.bbox
            points_per_pixel = 72.0 / axis.axes.figure.dpi
            digits = len(str(int(max(abs(vmin), abs(vmax), 1))))
            if axis.axis_name == "x":
                room, label = box.width * points_per_pixel, self._fontsize * (0.62 * digits + 1.6)
            else:  # as sparse as the x axis: a label every ~4 line heights reads as easily, and draws faster
                room, label = box.height * points_per_pixel, self._fontsize * 4.0
            self.set_params(nbins=max(1, min(9, int(room // max(label, 1.0)))))
        return super().tick_values(vmin, vmax)


def _integer_ticks(ax: Axes, *, fontsize: Any = "small") -> None:
    # Pixel indices: no 0.5 ticks on tiny images, and no more labels than fit.
    points = _tick_font_points(fontsize)
    ax.tick_params(labelsize=points)
    ax.xaxis.set_major_locator(_FittingLocator(points))
    ax.yaxis.set_major_locator(_FittingLocator(points))


def _heatmap_colorbar(ax: Axes, image: Any, label: str, *, below: bool, own: bool = False, **kwargs: Any) -> Any:
    """A colourbar beside a tall or square image, below a wide one.

    On a figure the function made itself (``own``) the bar gets its own axes, which
    :func:`nv12kit.plots._layout.layout_single` places; on the caller's figure constrained layout
    places it, or, without a layout engine, it goes in an inset beside the image, so it takes no
    room from the caller's other axes.
    """
    fig = ax.figure
    if own:
        bar = fig.colorbar(image, cax=fig.add_axes((0.0, 0.0, 0.1, 0.1)),
                           orientation="horizontal" if below else "vertical", **kwargs)
    elif _root_figure(fig).get_layout_engine() is None:
        bar = fig.colorbar(image, cax=ax.inset_axes((1.03, 0.0, 0.045, 1.0)), **kwargs)
    elif below:
        bar = fig.colorbar(image, ax=ax, location="bottom", shrink=0.9, aspect=30, pad=0.02, **kwargs)
    else:
        bar = fig.colorbar(image, ax=ax, location="right", shrink=0.9, aspect=25, pad=0.02, **kwargs)
    bar.set_label(label, fontsize="small")
    bar.ax.tick_params(labelsize="small")
    _trim_bar_ticks(bar)
    return bar


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
def png_region(fig: Figure, renderer: Any) -> Bbox:
    """The part of a drawn figure its PNG shows, in display pixels: the tight box of everything
    drawn (as ``bbox_inches="tight"`` computes it) grown by :data:`PNG_PAD_INCHES`.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        A figure just drawn with ``renderer``.
    renderer : matplotlib renderer

    Returns
    -------
    matplotlib.transforms.Bbox
    """
    tight = fig.get_tightbbox(renderer)  # inches
    return tight.padded(PNG_PAD_INCHES).transformed(fig.dpi_scale_trans)


def figure_to_png_bytes(fig: Figure, *, dpi: float = FIGURE_DPI) -> bytes:
    """Render a figure to PNG bytes, without pyplot: drawn once, cropped to its contents.

    The figure is drawn once at ``dpi`` and the PNG is the tight box of
    everything drawn plus a small margin (:func:`png_region`, what
    ``savefig(bbox_inches="tight")`` shows), so no label is cut off and no
    empty border is kept. Drawing once instead of twice (savefig lays a
    constrained-layout figure out in a first, unrendered draw) halves the
    time. When something sticks out of the figure the PNG is made by
    ``savefig(bbox_inches="tight")`` instead, which grows the canvas. The
    PNG carries no "Software" metadata (and so no URL), and rendering does
    not change the figure's canvas or matplotlib's backend.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    dpi : float, optional
        Dots per inch (:data:`FIGURE_DPI`, 100, for every figure nv12kit
        writes); a 7.5 x 4.6 inch figure at 100 dpi is at most 750 x 460
        pixels.

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
    from PIL import Image  # matplotlib's own PNG writer is Pillow too

    own_canvas, own_dpi = fig.canvas, fig.dpi
    try:
        fig.dpi = resolution
        canvas = FigureCanvasAgg(fig)  # binds itself to fig; the caller's canvas is put back below
        canvas.draw()
        region = png_region(fig, canvas.get_renderer())
        width, height = canvas.get_width_height()
        pad = PNG_PAD_INCHES * resolution
        # what is drawn lies on the canvas: crop (the margin may be narrower where the contents touch the edge)
        if region.x0 + pad >= -1 and region.y0 + pad >= -1 and region.x1 - pad <= width + 1 and (
                region.y1 - pad <= height + 1):
            x0, x1 = max(int(math.floor(region.x0)), 0), min(int(math.ceil(region.x1)), width)
            top, bottom = max(int(math.floor(height - region.y1)), 0), min(int(math.ceil(height - region.y0)), height)
            pixels = np.asarray(canvas.buffer_rgba())[top:bottom, x0:x1]
            if pixels.size and pixels[..., 3].min() == 255:  # opaque: RGB is a quarter less to compress
                pixels = pixels[..., :3]
            buffer = io.BytesIO()
            # zlib level 3: half the time of the default 6, and as small a file on these figures
            Image.fromarray(np.ascontiguousarray(pixels)).save(buffer, format="png", compress_level=3)
            return buffer.getvalue()
    finally:
        fig.dpi = own_dpi
        fig.set_canvas(own_canvas)
    buffer = io.BytesIO()
    # A Figure made without pyplot has no canvas of its own; savefig borrows Agg's for "png".
    fig.savefig(buffer, format="png", dpi=resolution, metadata={"Software": None}, bbox_inches="tight",
                pad_inches=PNG_PAD_INCHES)
    return buffer.getvalue()


def figure_to_data_uri(fig: Figure, *, dpi: float = FIGURE_DPI) -> str:
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
