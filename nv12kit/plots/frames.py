"""Figures of one frame: its Y/U/V planes, a round trip's error, someone's NV12 against nv12kit's."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

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
    _image_figsize,
    _integer_ticks,
    _positive,
    _rgb_image,
    _side_colorbar,
)


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
    fig, panels = _axes_row(axes, 3, _planes_figsize(h, w), "Y, U and V")

    y, u, v = frame.y, frame.u, frame.v
    # One chroma scale for U and V, symmetric about 128, never narrower than ±16 levels.
    reach = max(int(np.abs(u.astype(np.int16) - 128).max()), int(np.abs(v.astype(np.int16) - 128).max()), 16)
    specs = (
        ("Y (luma)", y, "gray", 0, 255, "level"),
        ("U (Cb)", u, "RdBu_r", 128 - reach, 128 + reach, "level (128 = no colour)"),
        ("V (Cr)", v, "RdBu_r", 128 - reach, 128 + reach, "level (128 = no colour)"),
    )
    for ax, (name, plane, cmap, lo, hi, label) in zip(panels, specs):
        image = ax.imshow(plane, cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
        ph, pw = plane.shape
        lo_value, hi_value = int(plane.min()), int(plane.max())
        values = f"all {lo_value}" if lo_value == hi_value else f"values {lo_value}–{hi_value}"
        ax.set_title(f"{name}, {pw}×{ph} px (W×H)\n{values}, mean {float(plane.mean()):.1f}", fontsize="medium")
        ax.tick_params(labelsize="small")
        _integer_ticks(ax)
        bar = ax.figure.colorbar(image, ax=ax, location="bottom", shrink=0.85, aspect=25)
        bar.set_label(label, fontsize="small")
        bar.ax.tick_params(labelsize="small")
    if owned:
        fig.suptitle(title if title is not None else f"NV12 planes of a {w}×{h} frame (W×H)")
    elif title is not None:
        panels[0].set_title(f"{title}\n{panels[0].get_title()}", fontsize="medium")
    return fig


def _planes_figsize(height: int, width: int) -> tuple[float, float]:
    panel = 3.4
    return (3 * panel + 0.4, float(np.clip(panel * height / max(width, 1) + 1.4, 3.2, 9.0)))


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

    fig, ax = _figure_and_ax(ax, _image_figsize(*a.shape[:2]))
    image = ax.imshow(error, cmap="magma", vmin=0, vmax=scale_top, interpolation="nearest")
    bar = _side_colorbar(ax, image, extend="max" if biggest > scale_top else "neither")
    bar.set_label(f"|RGB − decoded|, {reduce} over R, G, B (levels)")
    ax.set_title(f"{title if title is not None else 'RGB → NV12 → RGB error'}\n"
                 f"PSNR {_fmt_psnr(psnr)}, MAE {mae:.3f}, max {max_abs} levels", fontsize="medium")
    ax.set_xlabel("x (pixels)")
    ax.set_ylabel("y (pixels)")
    _integer_ticks(ax)
    return fig




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
    fig, (source, decoded, luma) = _axes_row(axes, 3, (13, 4.2), "the image, the decoded frame and the luma error")
    theirs = nv12_to_rgb(frame, convention=conv)
    psnr, mae, _ = image_error(rgb, theirs)
    delta = np.abs(frame.y.astype(np.int16) - rgb_to_nv12(rgb, convention=conv).y.astype(np.int16))
    source.imshow(rgb, interpolation="nearest")
    source.set_title("the image", fontsize="medium")
    decoded.imshow(theirs, interpolation="nearest")
    psnr_text = "∞" if math.isinf(psnr) else f"{psnr:.1f}"
    decoded.set_title(f"{subject}, decoded as the chip does ({conv.name})\nPSNR {psnr_text} dB, MAE {mae:.2f} "
                      "against the image", fontsize="medium")
    shown = luma.imshow(delta, cmap="magma", vmin=0, vmax=max(int(delta.max()), 1), interpolation="nearest")
    luma.figure.colorbar(shown, ax=luma, shrink=0.8).set_label("levels")
    luma.set_title(f"|Y − nv12kit's {conv.name} Y|\nmean {float(delta.mean()):.2f}, max {int(delta.max())} levels",
                   fontsize="medium")
    for ax in (source, decoded, luma):
        ax.set_xticks([])
        ax.set_yticks([])
    return fig
