"""Figures of one frame: its Y/U/V planes, a round trip's error, someone's NV12 against nv12kit's."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..conventions import Convention, get_convention
from ..convert import nv12_to_rgb, rgb_to_nv12
from ..errors import InputError
from ..roundtrip import image_error
from ..yuv import NV12Frame
from ._base import (
    _axes_row,
    _check_frame,
    _check_title,
    _figure_and_ax,
    _fmt_psnr,
    _heatmap_colorbar,
    _image_figsize,
    _image_shape,
    _integer_ticks,
    _positive,
    _rgb_image,
    _trim_bar_ticks,
)
from ._layout import layout_panels, layout_single


# ----------------------------------------------------------------------------
# planes
# ----------------------------------------------------------------------------
def plot_planes(frame: NV12Frame, *, axes: Sequence[Axes] | None = None, title: str | None = None) -> Figure:
    """Draw the Y, U and V planes of an NV12 frame side by side.

    Y is drawn in grey on 0-255. U and V are drawn at their true half
    resolution with a diverging map centred on 128 (no colour): blue below,
    red above. Both chroma planes share one symmetric scale, at least ±16
    levels, so the two can be compared and a grey frame stays white rather
    than amplifying rounding noise. Each panel's title gives the plane's size
    in pixels (width × height) and its value range.

    The layout follows the frame's shape: side by side for most frames,
    stacked for wide ones (width at least 2.5 × height), with pixels
    stretched when the aspect passes 8:1 (a 2 × 4000 strip) so every panel
    stays readable; the panel titles then say "stretched". Axis ticks are
    thinned to what fits, and each colour bar's label fits its bar.

    Parameters
    ----------
    frame : NV12Frame
        The frame, e.g. from :func:`nv12kit.rgb_to_nv12` or :func:`nv12kit.read_yuv`.
    axes : sequence of three matplotlib Axes, optional
        Where to draw Y, U and V, all in one figure (e.g. ``fig.subplots(1, 3)``).
        A new figure is made when None.
    title : str, optional
        The figure's title (its ``suptitle``) when a new figure is made; with
        ``axes`` it is put above the Y panel instead, so the caller's figure
        title is left alone.

    Returns
    -------
    matplotlib.figure.Figure
        The new figure, or the one ``axes`` belong to.

    Raises
    ------
    InputError
        If ``frame`` is not an NV12Frame or ``axes`` is not three Axes of one figure.

    Examples
    --------
    >>> import numpy as np, nv12kit
    >>> from nv12kit.plots import plot_planes
    >>> fig = plot_planes(nv12kit.rgb_to_nv12(np.zeros((4, 4, 3), np.uint8)))
    >>> len(fig.axes) >= 3
    True
    """
    _check_frame(frame)
    title = _check_title(title)
    h, w = frame.shape
    owned = axes is None
    layout = _planes_layout(h, w)
    if owned:
        fig = Figure(figsize=layout.figsize)  # laid out below, by _layout.layout_panels
        panels = list(np.atleast_1d(fig.subplots(3, 1) if layout.stacked else fig.subplots(1, 3)))
    else:
        fig, panels = _axes_row(axes, 3, layout.figsize, "Y, U and V")
    beside = layout.bar_beside or not owned
    bar_room = layout.image_h if beside else layout.image_w

    y, u, v = frame.y, frame.u, frame.v
    # One chroma scale for U and V, symmetric about 128, never narrower than ±16 levels.
    reach = max(int(np.abs(u.astype(np.int16) - 128).max()), int(np.abs(v.astype(np.int16) - 128).max()), 16)
    # The long chroma label only where the bar is long enough to carry it; otherwise the title says it.
    long_label = owned and bar_room >= 1.7
    chroma_label = "level (128 = no colour)" if long_label else "level"
    specs = (
        ("Y (luma)", y, "gray", 0, 255, "level"),
        ("U (Cb)", u, "RdBu_r", 128 - reach, 128 + reach, chroma_label),
        ("V (Cr)", v, "RdBu_r", 128 - reach, 128 + reach, chroma_label),
    )
    stretched = ", stretched" if layout.aspect == "auto" else ""
    bars = []
    for ax, (name, plane, cmap, lo, hi, label) in zip(panels, specs):
        image = ax.imshow(plane, cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest", aspect=layout.aspect)
        ph, pw = plane.shape
        lo_value, hi_value = int(plane.min()), int(plane.max())
        values = f"all {lo_value}" if lo_value == hi_value else f"values {lo_value}–{hi_value}"
        neutral = "" if long_label or name.startswith("Y") else "; 128 = no colour"
        ax.set_title(f"{name}, {pw}×{ph} px{stretched}\n{values}, mean {float(plane.mean()):.1f}{neutral}",
                     fontsize="medium")
        _integer_ticks(ax)
        if owned:
            bar = fig.colorbar(image, cax=fig.add_axes((0.0, 0.0, 0.1, 0.1)),
                               orientation="vertical" if beside else "horizontal")
        else:
            bar = ax.figure.colorbar(image, ax=ax, location="right" if beside else "bottom", shrink=0.9,
                                     aspect=20 if beside else 25, pad=0.03)
        bar.set_label(label, fontsize="small")
        bar.ax.tick_params(labelsize="small")
        _trim_bar_ticks(bar)
        bars.append(bar)
    if owned:
        head = fig.suptitle(title if title is not None else f"NV12 planes of a {w}×{h} frame (W×H)",
                            fontsize="large")
        layout_panels(fig, list(zip(panels, bars)), (layout.image_w, layout.image_h), bar_below=not beside,
                      stacked=layout.stacked, suptitle=head)
    elif title is not None:
        panels[0].set_title(f"{title}\n{panels[0].get_title()}", fontsize="medium")
    return fig


class _PlanesLayout(NamedTuple):
    figsize: tuple[float, float]
    stacked: bool  # three rows (wide frames) instead of three columns
    bar_beside: bool  # colour bars on the right instead of below
    image_w: float
    image_h: float
    aspect: str


def _planes_layout(height: int, width: int) -> _PlanesLayout:
    """How to lay out the three planes of a ``width`` × ``height`` frame so that every label fits."""
    ratio = width / max(height, 1)
    if ratio >= 2.5:  # wide: stacked rows, each as wide as the figure
        image_w, image_h, aspect = _image_shape(height, width, long_side=7.0, short_min=0.8)
        return _PlanesLayout((image_w + 2.0, 3 * (image_h + 1.15) + 0.5), True, True, image_w, image_h, aspect)
    image_w, image_h, aspect = _image_shape(height, width, long_side=3.0, short_min=1.2, tall_max=5.0)
    beside = image_w < 2.2  # a bar below a narrow image is too short for its label
    slot_w = max(image_w + (1.3 if beside else 0.45), 2.4)  # the two-line titles need about 2.2 inches
    slot_h = image_h + (1.3 if beside else 1.55)
    return _PlanesLayout((3 * slot_w + 0.2, slot_h + 0.45), False, beside, image_w, image_h, aspect)


# ----------------------------------------------------------------------------
# round-trip error
# ----------------------------------------------------------------------------
def plot_roundtrip_error(
    rgb: np.ndarray,
    decoded: np.ndarray,
    *,
    ax: Axes | None = None,
    reduce: Literal["max", "mean"] = "max",
    vmax: float | None = None,
    title: str | None = None,
) -> Figure:
    """Draw the per-pixel error of an RGB -> NV12 -> RGB round trip as a heat map.

    Each pixel shows ``|rgb - decoded|`` in 0-255 levels, reduced over the
    three channels by ``reduce``; black is exact. An honest round trip shows
    bright pixels only along colour edges (chroma subsampling); a convention
    mismatch lights up whole coloured areas. The title gives PSNR, mean
    absolute error and maximum error over all pixels and channels (as
    :func:`nv12kit.roundtrip.image_error` computes them).

    Parameters
    ----------
    rgb, decoded : (H, W, 3) uint8 ndarray
        The source image and its decoded round trip, of the same shape.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when None.
    reduce : {"max", "mean"}, optional
        How the three channel errors of a pixel are combined.
    vmax : float, optional
        Top of the colour scale in levels; by default the largest error
        (at least 1). Fix it to compare several maps; larger errors are then
        clipped and the colourbar gets an arrow.
    title : str, optional
        First line of the title (default "RGB → NV12 → RGB error"); the
        numbers always follow on a second line.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InputError
        For non-uint8 or non-(H, W, 3) images, shapes that differ, an unknown
        ``reduce`` or a ``vmax`` that is not a positive number.

    Examples
    --------
    >>> import numpy as np, nv12kit
    >>> from nv12kit.plots import plot_roundtrip_error
    >>> rgb = np.full((4, 4, 3), 200, np.uint8)
    >>> back = nv12kit.nv12_to_rgb(nv12kit.rgb_to_nv12(rgb))
    >>> fig = plot_roundtrip_error(rgb, back)
    >>> "PSNR" in fig.axes[0].get_title()
    True
    """
    a = _rgb_image(rgb, "rgb")
    b = _rgb_image(decoded, "decoded")
    if a.shape != b.shape:
        raise InputError(
            f"rgb has shape {a.shape} but decoded has shape {b.shape}; they must match. Decode the frame made "
            "from this very image, e.g. nv12_to_rgb(rgb_to_nv12(rgb)), and crop both the same way"
        )
    if reduce not in ("max", "mean"):
        raise InputError(f"reduce must be 'max' or 'mean', got {reduce!r}")
    top = None if vmax is None else _positive(vmax, "vmax")
    title = _check_title(title)

    diff = np.abs(a.astype(np.int16) - b.astype(np.int16))
    error = diff.max(axis=2) if reduce == "max" else diff.mean(axis=2, dtype=np.float64)
    psnr, mae, max_abs = image_error(a, b)
    biggest = float(error.max())
    scale_top = top if top is not None else max(biggest, 1.0)

    h, w = a.shape[:2]
    owned = ax is None
    fig, ax = _figure_and_ax(ax, _image_figsize(h, w))
    image_w, image_h, aspect = _image_shape(h, w)
    image = ax.imshow(error, cmap="magma", vmin=0, vmax=scale_top, interpolation="nearest", aspect=aspect)
    wide = w >= 2 * h
    # the channel reduction goes in the title: a colour bar as short as a wide image cannot carry it
    bar = _heatmap_colorbar(ax, image, "|RGB − decoded| (levels)", below=wide, own=owned,
                            extend="max" if biggest > scale_top else "neither")
    head = title if title is not None else "RGB → NV12 → RGB error"
    stretched = " (stretched)" if aspect == "auto" else ""
    ax.set_title(f"{_wrap(head, wide)}\nPSNR {_fmt_psnr(psnr)}, MAE {mae:.3f}, max {max_abs} levels\n"
                 f"{reduce} over R, G, B{stretched}", fontsize="medium")
    ax.set_xlabel("x (pixels)", fontsize="small")
    ax.set_ylabel("y (pixels)", fontsize="small")
    _integer_ticks(ax)
    if owned:
        layout_single(fig, ax, (image_w, image_h), bar=bar, bar_below=wide)
    return fig


def _wrap(text: str, wide: bool) -> str:
    """A title line broken to the width of its axes (about 34 characters on a 4.8-inch image)."""
    return "\n".join(textwrap.wrap(text, 60 if wide else 40)) or text




# ----------------------------------------------------------------------------
# someone else's NV12 against the image it was made from
# ----------------------------------------------------------------------------
def plot_conversion_error(
    rgb: np.ndarray,
    frame: NV12Frame,
    *,
    convention: str | Convention = "horizon",
    subject: str = "the NV12 frame",
    axes: Sequence[Axes] | None = None,
) -> Figure:
    """Draw an image, the NV12 made from it decoded as the chip does, and that frame's luma error.

    For checking a converter or dumped planes: the middle panel is ``frame``
    decoded under ``convention`` (PSNR and MAE against ``rgb`` in its title);
    the right panel is ``|Y - Y expected|``, where the expected Y is
    nv12kit's own encoding of ``rgb`` under ``convention``. Luma does not
    depend on how chroma is subsampled, so that map shows an encoding bug
    alone: a range bug lights up everything, a matrix bug the saturated
    colours, a red/blue swap the red and blue areas.

    Parameters
    ----------
    rgb : (H, W, 3) uint8 ndarray
        The image the frame was made from.
    frame : NV12Frame
        The frame under test, of the image's size.
    convention : str or Convention, optional
        The convention the chip assumes.
    subject : str, optional
        What the frame is, for the middle panel's title (e.g. ``"your dump"``).
    axes : sequence of three matplotlib Axes, optional
        Where to draw the image, the decoded frame and the luma error, all
        in one figure; a new figure is made when None.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InputError
        A non-uint8 or non-(H, W, 3) image, a frame that is not an NV12Frame
        or not of the image's size, or ``axes`` that are not three Axes of one figure.
    ConventionError
        An unknown convention.

    Examples
    --------
    >>> import numpy as np, nv12kit
    >>> from nv12kit.plots import plot_conversion_error
    >>> rgb = np.full((4, 4, 3), 200, np.uint8)
    >>> fig = plot_conversion_error(rgb, nv12kit.rgb_to_nv12(rgb, convention="opencv"))
    >>> fig.axes[2].get_title().splitlines()[0]
    "|Y − nv12kit's horizon Y|"
    """
    rgb = _rgb_image(rgb, "rgb")
    frame = _check_frame(frame)
    if frame.shape != rgb.shape[:2]:
        raise InputError(f"the frame is {frame.width}x{frame.height} but the image is {rgb.shape[1]}x{rgb.shape[0]}")
    conv = get_convention(convention)
    if not isinstance(subject, str):
        raise InputError(f"subject must be a string, got {type(subject).__name__}")
    h, w = rgb.shape[:2]
    image_w, image_h, aspect = _image_shape(h, w, long_side=3.4, short_min=1.0, tall_max=4.5)
    size = (3 * max(image_w + 0.8, 3.0), image_h + 1.6)
    fig, (source, decoded, luma) = _axes_row(axes, 3, size, "the image, the decoded frame and the luma error")
    theirs = nv12_to_rgb(frame, convention=conv)
    psnr, mae, _ = image_error(rgb, theirs)
    delta = np.abs(frame.y.astype(np.int16) - rgb_to_nv12(rgb, convention=conv).y.astype(np.int16))
    source.imshow(rgb, interpolation="nearest", aspect=aspect)
    source.set_title("the image", fontsize="medium")
    decoded.imshow(theirs, interpolation="nearest", aspect=aspect)
    psnr_text = "∞" if math.isinf(psnr) else f"{psnr:.1f}"
    heading = "\n".join(textwrap.wrap(f"{subject}, decoded as the chip does ({conv.name})", 34))
    decoded.set_title(f"{heading}\nPSNR {psnr_text} dB, MAE {mae:.2f}", fontsize="medium")
    shown = luma.imshow(delta, cmap="magma", vmin=0, vmax=max(int(delta.max()), 1), interpolation="nearest",
                        aspect=aspect)
    _heatmap_colorbar(luma, shown, "levels", below=w >= 2 * h)
    luma.set_title(f"|Y − nv12kit's {conv.name} Y|\nmean {float(delta.mean()):.2f}, max {int(delta.max())} levels",
                   fontsize="medium")
    for ax in (source, decoded, luma):
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


# ----------------------------------------------------------------------------
# the resizer's ROI
# ----------------------------------------------------------------------------
def plot_roi_crop(frame: np.ndarray, roi: Sequence[int], crop: np.ndarray, *, title: str | None = None) -> Figure:
    """Draw a full frame with the resizer's ROI boxed, and the crop the float model sees, side by side.

    The left panel is the whole camera frame with the ROI ``(left, top,
    right, bottom)`` (right/bottom exclusive) outlined; the right panel is
    the feat input: the ROI cropped and resized to the model's size in RGB.
    Wide frames (width at least 2.5 × height) are stacked instead.

    Parameters
    ----------
    frame : (H, W, 3) uint8 ndarray
        The full RGB frame.
    roi : 4 integers
        ``(left, top, right, bottom)`` in pixels of ``frame``.
    crop : (h, w, 3) uint8 ndarray
        The crop at the model's size (the feat input).
    title : str, optional
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InputError
        Non-uint8 or non-(H, W, 3) images, or an ``roi`` that is not 4 integers.

    Examples
    --------
    >>> import numpy as np
    >>> from nv12kit.plots import plot_roi_crop
    >>> fig = plot_roi_crop(np.zeros((8, 8, 3), np.uint8), (2, 2, 6, 6), np.zeros((4, 4, 3), np.uint8))
    >>> len(fig.axes)
    2
    """
    from matplotlib.patches import Rectangle

    full = _rgb_image(frame, "frame")
    small = _rgb_image(crop, "crop")
    title = _check_title(title)
    try:
        left, top, right, bottom = (int(v) for v in roi)
    except (TypeError, ValueError):
        raise InputError(f"roi must be 4 integers (left, top, right, bottom), got {roi!r}") from None
    h, w = full.shape[:2]
    ch, cw = small.shape[:2]
    stacked = w >= 2.5 * h
    image_w, image_h, aspect = _image_shape(h, w, long_side=6.0 if stacked else 3.6, short_min=1.2, tall_max=4.5)
    fig = Figure(figsize=(2 * image_w + 1.5, image_h + 1.5))  # laid out below, by _layout.layout_panels
    panels = list(fig.subplots(2, 1) if stacked else fig.subplots(1, 2))
    panels[0].imshow(full, interpolation="nearest", aspect=aspect)
    for color, width in (("black", 3.0), ("yellow", 1.5)):
        panels[0].add_patch(Rectangle((left - 0.5, top - 0.5), right - left, bottom - top, fill=False,
                                      edgecolor=color, linewidth=width))
    panels[0].set_xlim(-0.5, w - 0.5)
    panels[0].set_ylim(h - 0.5, -0.5)
    panels[0].set_title(f"Full frame, {w}×{h} px\nROI ({left}, {top}, {right}, {bottom}): "
                        f"{right - left}×{bottom - top} px", fontsize="medium")
    panels[1].imshow(small, interpolation="nearest", aspect="auto" if aspect == "auto" else "equal")
    panels[1].set_title(f"Feat input: the ROI resized\nin RGB to {cw}×{ch} px", fontsize="medium")
    for ax in panels:
        _integer_ticks(ax)
    head = fig.suptitle(title if title is not None else "The resizer's ROI and the crop the float model sees",
                        fontsize="large")
    layout_panels(fig, [(ax, None) for ax in panels], (image_w, image_h), stacked=stacked, suptitle=head)
    return fig
