"""Figures for notebooks and reports, one function per picture.

Every function draws with matplotlib's object API on an ``ax`` (or ``axes``)
you pass, or on a new :class:`matplotlib.figure.Figure` when you pass none,
and returns the Figure. pyplot is never imported, so its global state (the
current figure, the backend) is untouched and a figure never shows up twice
in a notebook. :func:`figure_to_data_uri` turns a figure into the inline
``data:image/png;base64,...`` string a self-contained HTML report needs.

=================================  ================================================
:func:`plot_planes`                the Y, U and V planes of an NV12 frame
:func:`plot_roundtrip_error`       per-pixel ``|RGB - decoded|`` after a round trip
:func:`plot_output_diff`           per-pixel ``|a - b|`` of two dense model outputs
:func:`plot_output_diffs`          the same for several outputs against one reference
:func:`plot_cosine_histograms`     trial cosines per noise amplitude, NV12 marked
:func:`plot_cosine_vs_amplitude`   the noise floor against amplitude, NV12 marked
:func:`plot_layer_divergence`      ``1 - cosine`` per layer against depth, culprits marked
:func:`plot_conversion_error`      someone's NV12 decoded, and its luma error against nv12kit's
=================================  ================================================

matplotlib is an optional dependency (``pip install 'nv12kit[notebooks]'``).
The core never imports this module: the HTML reports load it when they
draw (inside their ``to_html``), the ``nv12kit layers`` command for its
PNG; :mod:`nv12kit.explore` and :mod:`nv12kit.widgets` build on it.
"""

from __future__ import annotations

import base64
import io
import math
import operator
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

try:
    import matplotlib
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator
except ImportError as exc:  # pragma: no cover - matplotlib is installed wherever the tests run
    raise ImportError(
        "nv12kit.plots needs matplotlib >= 3.7, which is not installed; "
        "install it with: pip install 'nv12kit[notebooks]' (or pip install matplotlib)"
    ) from exc

from ._util import format_cosine
from .conventions import Convention, get_convention
from .convert import nv12_to_rgb, rgb_to_nv12
from .errors import InputError
from .noise import NoiseStudy, noise_label
from .roundtrip import image_error
from .yuv import NV12Frame

if TYPE_CHECKING:  # imported when drawing: layers pulls in onnx, which a plain figure does not need
    from .layers import LayerDivergence

__all__ = [
    "plot_planes",
    "plot_roundtrip_error",
    "plot_output_diff",
    "plot_output_diffs",
    "plot_cosine_histograms",
    "plot_cosine_vs_amplitude",
    "plot_layer_divergence",
    "plot_conversion_error",
    "figure_to_png_bytes",
    "figure_to_data_uri",
]

# Colours of the NV12 markers: dark, and apart from the tab10 noise colours.
_NV12_STYLES = (("black", "--"), ("crimson", "-."), ("darkorange", ":"), ("purple", (0, (5, 1, 1, 1))))
_DISTRIBUTION_TEXT = {"symmetric": "uniform ±a", "uniform_0_a": "uniform [0, a)", "gaussian": "Gaussian σ = a"}
# Per-layer divergence: one colour per comparison, then spares; op names on the x axis up to this many nodes.
_LAYER_COLOURS = {"nv12": "#d62728", "noise": "#1f77b4", "quantized": "#2ca02c"}
_LAYER_SPARE = ("#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
_MAX_TICK_LABELS = 40


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
# 1. planes
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
# 2. round-trip error
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


# ----------------------------------------------------------------------------
# 3. dense output difference
# ----------------------------------------------------------------------------
_DENSE_HELP = ("the diff map needs a dense H×W output: [N, C, H, W] with N = 1, [C, H, W] or [H, W] "
               "(channels first)")


def _as_chw(x: np.ndarray, name: str) -> np.ndarray:
    """The output as (C, H, W), or an InputError explaining why it is not a map."""
    shape = x.shape
    if x.ndim == 4:
        if shape[0] != 1:
            raise InputError(f"{name} has shape {shape}, a batch of {shape[0]}; the diff map shows one item: "
                             f"pass {name}[i:i + 1] for the item you want")
        x = x[0]
    elif x.ndim == 2:
        if min(shape) < 2:
            raise InputError(f"{name} has shape {shape}, which looks like logits or an embedding [N, C], not a "
                             f"map; {_DENSE_HELP}. Compare such outputs with nv12kit.metrics.compare_arrays(a, b)")
        x = x[None]
    elif x.ndim != 3:
        raise InputError(f"{name} has shape {shape} ({x.ndim} dimensions); {_DENSE_HELP}. Compare other outputs "
                         "with nv12kit.metrics.compare_arrays(a, b)")
    if x.shape[1] * x.shape[2] < 2:
        raise InputError(f"{name} has shape {shape}, whose spatial size is {x.shape[1]}×{x.shape[2]}; "
                         f"{_DENSE_HELP}. Compare such outputs with nv12kit.metrics.compare_arrays(a, b)")
    return x


def _numeric(x: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a numeric array, got {type(x).__name__}: {exc}") from exc
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating) or arr.dtype == np.bool_):
        raise InputError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    return arr


def plot_output_diff(
    a: np.ndarray,
    b: np.ndarray,
    *,
    ax: Axes | None = None,
    channel: int | None = None,
    title: str | None = None,
) -> Figure:
    """Draw where two dense model outputs differ: ``|a - b|`` per pixel.

    For segmentation maps, depth, heat maps and feature maps, this shows
    *where* the NV12 input hurts (edges, saturated colours, one corner...).
    The difference is computed in float64 and averaged over channels, or
    shown for one ``channel``. NaN/Inf pixels are drawn in cyan and counted
    in the title, so a numerics problem is not mistaken for a small error.

    Parameters
    ----------
    a, b : array_like
        Two outputs of the same shape, channels first: ``[1, C, H, W]``,
        ``[C, H, W]`` or ``[H, W]``; ``a`` is the reference (e.g. the float
        model on RGB), ``b`` the run under test (e.g. ``qat_nv12``). A 2-D
        array is read as one H×W map; one with a side of 1, such as logits
        ``[1, C]``, is refused. Channels-last outputs need ``np.moveaxis`` first.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when None.
    channel : int, optional
        Show this channel only (negative counts from the end); by default
        the mean over channels.
    title : str, optional
        First line of the title (default "Output difference |a − b|"); the
        numbers always follow on a second line.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InputError
        For shapes that differ, outputs that are not maps (logits ``[N, C]``,
        a batch of several items, a 1×1 spatial size), non-numeric data or a
        channel out of range.

    Examples
    --------
    >>> import numpy as np
    >>> from nv12kit.plots import plot_output_diff
    >>> a = np.zeros((1, 2, 4, 6), np.float32); b = a + 0.5
    >>> fig = plot_output_diff(a, b)
    >>> fig.axes[0].get_images()[0].get_array().shape
    (4, 6)
    """
    x = _numeric(a, "a")
    y = _numeric(b, "b")
    if x.shape != y.shape:
        raise InputError(f"a has shape {x.shape} but b has shape {y.shape}; the diff map needs two outputs of the "
                         "same shape (the same output of two runs on the same image)")
    if x.size == 0:
        raise InputError(f"a and b are empty (shape {x.shape}); there is no difference to draw")
    xs = _as_chw(x, "a")
    ys = _as_chw(y, "b")
    channels, h, w = xs.shape
    title = _check_title(title)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(xs.astype(np.float64) - ys.astype(np.float64))
    if channel is None:
        shown = diff.mean(axis=0) if channels > 1 else diff[0]
        what = f"mean over {channels} channels" if channels > 1 else "1 channel"
    else:
        index = _channel(channel, channels)
        shown = diff[index]
        what = f"channel {index} of {channels}"

    finite = np.isfinite(shown)
    bad = int(shown.size - finite.sum())
    values = shown[finite]
    biggest = float(values.max()) if values.size else 0.0
    numbers = f"{what}, {w}×{h} (W×H)\n"
    numbers += f"mean {float(values.mean()):.3g}, max {biggest:.3g}" if values.size else "no finite values"
    if bad:
        numbers += f"; {bad} NaN/Inf pixels (cyan)"

    fig, ax = _figure_and_ax(ax, _image_figsize(h, w))
    cmap = matplotlib.colormaps["magma"].with_extremes(bad="cyan")
    image = ax.imshow(np.where(finite, shown, np.nan), cmap=cmap, vmin=0, vmax=biggest if biggest > 0 else 1.0,
                      interpolation="nearest")
    bar = _side_colorbar(ax, image)
    bar.set_label("|a − b| (output units)")
    ax.set_title(f"{title if title is not None else 'Output difference |a − b|'}\n{numbers}", fontsize="medium")
    ax.set_xlabel("x (output pixels)")
    ax.set_ylabel("y (output pixels)")
    _integer_ticks(ax)
    return fig


def plot_output_diffs(
    reference: np.ndarray,
    others: Mapping[str, np.ndarray],
    *,
    axes: Sequence[Axes] | None = None,
) -> Figure:
    """Draw where several outputs differ from one reference, side by side, one :func:`plot_output_diff` each.

    Parameters
    ----------
    reference : array_like
        The reference output, e.g. the float model's on the clean image.
    others : dict of str to array_like
        The outputs to compare with it, by panel title, e.g.
        ``{"noise ±2, trial 1 vs clean": noisy, "NV12 round trip vs clean": nv12}``.
    axes : sequence of matplotlib Axes, optional
        One per entry of ``others``, all in one figure; a new figure is made when None.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InputError
        As :func:`plot_output_diff`; ``others`` empty or not a dict, or
        ``axes`` not one Axes per entry.

    Examples
    --------
    >>> import numpy as np
    >>> from nv12kit.plots import plot_output_diffs
    >>> a = np.zeros((1, 2, 4, 6), np.float32)
    >>> fig = plot_output_diffs(a, {"noise": a + 0.1, "NV12": a + 0.5})
    >>> [ax.get_title().splitlines()[0] for ax in fig.axes if ax.get_images()]
    ['noise', 'NV12']
    """
    if not isinstance(others, Mapping) or not others:
        raise InputError(f"others must be a non-empty dict {{title: output}}, got {others!r:.80}")
    fig, panels = _axes_row(axes, len(others), (5.5 * len(others), 4.8), "one per output")
    for ax, (title, other) in zip(panels, others.items()):
        plot_output_diff(reference, other, ax=ax, title=str(title))
    return fig


def _channel(channel: Any, channels: int) -> int:
    if isinstance(channel, (bool, np.bool_)):
        raise InputError(f"channel must be an integer or None, got {channel!r}")
    try:
        index = operator.index(channel)
    except TypeError as exc:
        raise InputError(f"channel must be an integer or None, got {channel!r}") from exc
    if not -channels <= index < channels:
        raise InputError(f"channel {index} is out of range: the output has {channels} channel(s), "
                         f"so use 0..{channels - 1} (or None for the mean)")
    return index % channels


# ----------------------------------------------------------------------------
# 4 and 5. noise studies
# ----------------------------------------------------------------------------
def _study_cosines(study: Any) -> list[tuple[float, np.ndarray]]:
    """(amplitude, float64 trial cosines) sorted by amplitude, checked for something to draw."""
    if not isinstance(study, NoiseStudy):
        raise InputError(f"study must be an nv12kit NoiseStudy (from nv12kit.noise.noise_study), "
                         f"got {type(study).__name__}")
    items = [(float(amp), np.asarray(values, np.float64).ravel()) for amp, values in sorted(study.cosines.items())]
    if not items or all(values.size == 0 for _, values in items):
        raise InputError(f"the noise study has no trial cosines (amplitudes {list(study.amplitudes)}, trials "
                         f"{study.trials}); run noise_study with at least one amplitude and trials >= 1")
    if not any(np.isfinite(values).any() for _, values in items):
        raise InputError("every trial cosine in the noise study is NaN: the model's outputs had NaN/Inf or zero "
                         "norm under noise (see study.notes); there is nothing to plot")
    return items


def _log_floor(arrays: Sequence[np.ndarray]) -> float:
    """Where a ``1 - cos`` of 0 is drawn on a log axis: a decade below the smallest positive value."""
    values = np.concatenate([np.ravel(v) for v in arrays]) if arrays else np.empty(0)
    positive = values[np.isfinite(values) & (values > 0)]
    return float(positive.min()) / 10 if positive.size else 1e-16


def _legend(fig: Figure, ax: Axes, *, owned: bool, headroom: bool = False) -> None:
    # On our own figure the legend goes below the plot, where it cannot hide a histogram or an NV12 line.
    handles, labels = ax.get_legend_handles_labels()
    if owned:
        fig.legend(handles, labels, loc="outside lower center", fontsize="small", frameon=False)
        return
    if headroom:  # on the caller's axes, make empty room above the bars for the legend
        ax.set_ylim(0, ax.get_ylim()[1] * (1.15 + 0.1 * len(labels)))
        ax.legend(handles, labels, loc="upper left", fontsize="x-small")
    else:
        ax.legend(handles, labels, loc="best", fontsize="x-small")


def _nv12_markers(losses: Mapping[str, float]) -> list[tuple[str, float]]:
    out = []
    for label, cos in losses.items():
        if isinstance(cos, (bool, np.bool_)):
            raise InputError(f"nv12_loss[{label!r}] must be a cosine (a number), got {cos!r}")
        try:
            value = float(cos)
        except (TypeError, ValueError) as exc:
            raise InputError(f"nv12_loss[{label!r}] must be a cosine (a number), got {cos!r}") from exc
        if math.isfinite(value) and not -1.0 - 1e-9 <= value <= 1.0 + 1e-9:
            raise InputError(f"nv12_loss[{label!r}] = {value} is not a cosine; cosines lie in [-1, 1]")
        out.append((str(label), min(value, 1.0)))
    return out


def _study_markers(study: NoiseStudy) -> list[tuple[str, float]]:
    return [(f"NV12 round trip ({conv})", float(cos)) for conv, cos in study.roundtrip.items()]


def _equivalent_noise(study: NoiseStudy, amps: np.ndarray, mean_loss: np.ndarray, loss: float) -> str:
    """Which noise amplitude moves the output as much as ``loss`` (1 - cos), read off the mean curve."""
    ok = np.isfinite(mean_loss) & (mean_loss > 0)
    if amps.size < 2 or not ok.all() or not np.all(np.diff(mean_loss) > 0) or not loss > 0:
        return ""
    if loss < mean_loss[0]:
        return f"; less than noise {noise_label(study.distribution, amps[0])}"
    if loss > mean_loss[-1]:
        return f"; more than noise {noise_label(study.distribution, amps[-1])}"
    # 1 - cos grows like a power of the amplitude: interpolate in log space.
    level = float(np.interp(np.log(loss), np.log(mean_loss), amps))
    return f"; like noise {noise_label(study.distribution, float(f'{level:.2g}'))}"


def plot_cosine_histograms(study: NoiseStudy, *, ax: Axes | None = None, log_scale: bool = True) -> Figure:
    """Draw, per noise amplitude, the histogram of the trial cosines; NV12 round trips as vertical lines.

    Cosines of a robust model under a few levels of noise sit at 0.99999...,
    where a histogram of the cosine itself is one spike. By default the
    x axis is therefore ``1 - cos`` (0 = unchanged output) on a log scale,
    with log-spaced bins shared by all amplitudes, so each decade is equally
    readable; further right is a bigger change. Trials whose cosine is
    exactly 1 are drawn a decade below the smallest non-zero value and
    counted in the legend; NaN cosines are left out and counted.

    Each NV12 round trip in ``study.roundtrip`` is a dashed vertical line: if
    it lies far right of the histograms, the round trip moves the output more
    than the noise does.

    Parameters
    ----------
    study : NoiseStudy
        From :func:`nv12kit.noise.noise_study`.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when None.
    log_scale : bool, optional
        True (default): ``1 - cos`` on a log axis. False: the cosine itself on
        a linear axis (further left is a bigger change).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InputError
        If ``study`` is not a NoiseStudy, has no trials, or only NaN cosines.

    Examples
    --------
    >>> import numpy as np
    >>> from nv12kit.noise import NoiseStudy
    >>> from nv12kit.plots import plot_cosine_histograms
    >>> cos = {1.0: np.array([0.99999, 0.99998]), 2.0: np.array([0.9999, 0.9998])}
    >>> study = NoiseStudy(amplitudes=(1.0, 2.0), distribution="symmetric", trials=2, seed=0, output="logits",
    ...                    cosines=cos, per_output={"logits": cos}, roundtrip={"horizon": 0.9995})
    >>> fig = plot_cosine_histograms(study)
    >>> fig.axes[0].get_xscale()
    'log'
    """
    items = _study_cosines(study)
    log_scale = bool(log_scale)
    markers = _study_markers(study)
    owned = ax is None
    fig, ax = _figure_and_ax(ax, (7.5, 5.6))

    if log_scale:
        data = [(amp, 1.0 - cos[np.isfinite(cos)], int(np.isnan(cos).sum())) for amp, cos in items]
        floor = _log_floor([d for _, d, _ in data] + [np.array([1.0 - c for _, c in markers])])
        shown = [np.maximum(d, floor) for _, d, _ in data]
    else:
        data = [(amp, cos[np.isfinite(cos)], int(np.isnan(cos).sum())) for amp, cos in items]
        shown = [d for _, d, _ in data]
    every = np.concatenate(shown)
    lo, hi = float(every.min()), float(every.max())
    bins = int(np.clip(2 * math.sqrt(max(len(d) for d in shown)), 10, 40))
    if log_scale:
        if hi <= lo * 1.0001:
            lo, hi = lo / 2, hi * 2
        edges = np.geomspace(lo, hi, bins + 1)
    else:
        if hi - lo < 1e-12:
            lo, hi = lo - 1e-6, hi + 1e-6
        edges = np.linspace(lo, hi, bins + 1)

    colours = matplotlib.colormaps["tab10"]
    for index, ((amp, values, nans), drawn) in enumerate(zip(data, shown)):
        if values.size == 0:
            ax.plot([], [], linestyle="none",
                    label=f"noise {noise_label(study.distribution, amp)}: all {nans} cosines NaN")
            continue
        colour = colours(index % 10)
        if log_scale:
            label = f"noise {noise_label(study.distribution, amp)}: mean 1−cos {float(values.mean()):.2e}"
            zeros = int((values <= 0).sum())
            if zeros:
                label += f", {zeros} at 0 (drawn at {floor:.0e})"
        else:
            label = f"noise {noise_label(study.distribution, amp)}: mean cos {format_cosine(float(values.mean()))}"
        if nans:
            label += f", {nans} NaN left out"
        ax.hist(drawn, bins=edges, histtype="stepfilled", alpha=0.3, color=colour)
        ax.hist(drawn, bins=edges, histtype="step", linewidth=1.5, color=colour, label=label)

    for index, (label, cos) in enumerate(markers):
        colour, style = _NV12_STYLES[index % len(_NV12_STYLES)]
        if not math.isfinite(cos):
            ax.plot([], [], linestyle="none", label=f"{label}: cosine NaN (no line)")
        elif log_scale:
            ax.axvline(max(1.0 - cos, floor), color=colour, linestyle=style, linewidth=2,
                       label=f"{label}: 1−cos {1.0 - cos:.2e} (cos {format_cosine(cos)})")
        else:
            ax.axvline(cos, color=colour, linestyle=style, linewidth=2, label=f"{label}: cos {format_cosine(cos)}")

    if log_scale:
        ax.set_xscale("log")
        ax.set_xlabel("1 − cos(clean output, perturbed output)\n[log scale; further right = bigger change]")
    else:
        ax.set_xlabel("cos(clean output, perturbed output)\n[further left = bigger change]")
        ax.ticklabel_format(axis="x", useOffset=False)
    ax.set_ylabel("trials")
    ax.margins(x=0.08)
    ax.set_title(f"Output {study.output!r} under pixel noise\n{study.trials} trials per amplitude, "
                 f"{_DISTRIBUTION_TEXT.get(study.distribution, study.distribution)}", fontsize="medium")
    _legend(fig, ax, owned=owned, headroom=True)
    return fig


def plot_cosine_vs_amplitude(
    study: NoiseStudy,
    *,
    ax: Axes | None = None,
    nv12_loss: Mapping[str, float] | None = None,
    log_scale: bool = True,
    selected: float | None = None,
) -> Figure:
    """Draw the noise floor against the noise amplitude, with the NV12 loss as horizontal lines.

    Per amplitude the figure shows the mean over trials, the band from the
    best to the worst trial and the 5th-percentile cosine (the worst 5 % of
    trials). By default the y axis is ``1 - cos`` on a log scale (up = a
    bigger change); an NV12 line lying above the curve means the NV12 input
    moves the output more than that much pixel noise. Each line's legend
    entry also says which noise amplitude it matches, read off the mean curve
    in log space (when that curve rises with the amplitude).

    Parameters
    ----------
    study : NoiseStudy
        From :func:`nv12kit.noise.noise_study`.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when None.
    nv12_loss : dict of str to float, optional
        Cosines to mark, by label, e.g. ``{"qat_nv12 on device": 0.9981}``
        for the loss measured with the real NV12 model. By default the NV12
        round trips in ``study.roundtrip``. Pass ``{}`` for no lines.
    log_scale : bool, optional
        True (default): ``1 - cos`` on a log axis. False: the cosine itself on
        a linear axis (down = a bigger change).
    selected : float, optional
        An amplitude to mark with a dotted vertical line labelled
        "selected" (the noise explorer's slider).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InputError
        If ``study`` is not a NoiseStudy, has no trials or only NaN cosines,
        ``nv12_loss`` is not a mapping of labels to cosines, or ``selected``
        is not a positive number.

    Examples
    --------
    >>> import numpy as np
    >>> from nv12kit.noise import NoiseStudy
    >>> from nv12kit.plots import plot_cosine_vs_amplitude
    >>> cos = {1.0: np.array([0.99999, 0.99998]), 2.0: np.array([0.9999, 0.9998])}
    >>> study = NoiseStudy(amplitudes=(1.0, 2.0), distribution="symmetric", trials=2, seed=0, output="logits",
    ...                    cosines=cos, per_output={"logits": cos})
    >>> fig = plot_cosine_vs_amplitude(study, nv12_loss={"qat_nv12": 0.9995})
    >>> fig.axes[0].get_yscale()
    'log'
    """
    items = _study_cosines(study)
    log_scale = bool(log_scale)
    if nv12_loss is None:
        markers = _study_markers(study)
    elif isinstance(nv12_loss, Mapping):
        markers = _nv12_markers(nv12_loss)
    else:
        raise InputError(f"nv12_loss must be a dict {{label: cosine}}, e.g. {{'qat_nv12': 0.9981}}, "
                         f"got {type(nv12_loss).__name__}")
    at = None if selected is None else _positive(selected, "selected")

    amps = np.array([amp for amp, _ in items])
    with np.errstate(all="ignore"):
        stats = np.array([
            [np.nanmean(c), np.nanmin(c), np.nanmax(c), np.nanpercentile(c, 5)] if np.isfinite(c).any()
            else [np.nan] * 4
            for _, c in items
        ])
    mean, worst, best, p5 = stats.T
    mean_loss = 1.0 - mean
    owned = ax is None
    fig, ax = _figure_and_ax(ax, (7.5, 5.6))

    if log_scale:
        floor = _log_floor([1.0 - stats, np.array([1.0 - c for _, c in markers])])
        curve = {k: np.maximum(1.0 - v, floor) for k, v in (("mean", mean), ("low", best), ("high", worst),
                                                             ("p5", p5))}
    else:
        floor = 0.0
        curve = {"mean": mean, "low": worst, "high": best, "p5": p5}
    if amps.size > 1:
        ax.fill_between(amps, curve["low"], curve["high"], color="tab:blue", alpha=0.2, linewidth=0,
                        label="best to worst trial")
    else:
        ax.vlines(amps, curve["low"], curve["high"], color="tab:blue", alpha=0.4, linewidth=6,
                  label="best to worst trial")
    ax.plot(amps, curve["mean"], "o-", color="tab:blue", linewidth=2, label="mean over trials")
    ax.plot(amps, curve["p5"], "v--", color="tab:blue", alpha=0.8,
            label="5th-percentile cosine (worst 5 % of trials)")

    for index, (label, cos) in enumerate(markers):
        colour, style = _NV12_STYLES[index % len(_NV12_STYLES)]
        if not math.isfinite(cos):
            ax.plot([], [], linestyle="none", label=f"{label}: cosine NaN (no line)")
            continue
        like = _equivalent_noise(study, amps, mean_loss, 1.0 - cos)
        text = f"{label}: cos {format_cosine(cos)}, 1−cos {1.0 - cos:.2e}{like}"
        ax.axhline(max(1.0 - cos, floor) if log_scale else cos, color=colour, linestyle=style, linewidth=2,
                   label=text)

    ax.set_xticks(amps)
    ax.set_xticklabels([f"{a:g}" for a in amps])
    ax.set_xlabel(f"noise amplitude a (pixel levels of 0–255, "
                  f"{_DISTRIBUTION_TEXT.get(study.distribution, study.distribution)})")
    if log_scale:
        ax.set_yscale("log")
        ax.set_ylabel("1 − cos(clean, perturbed)\n[log scale; up = bigger change]")
    else:
        ax.set_ylabel("cos(clean, perturbed)\n[down = bigger change]")
        ax.ticklabel_format(axis="y", useOffset=False)
    ax.margins(y=0.1)
    ax.set_title(f"Output {study.output!r}: noise floor against the NV12 loss\n"
                 f"{study.trials} trials per amplitude", fontsize="medium")
    _legend(fig, ax, owned=owned)
    if at is not None:
        ax.axvline(at, color="0.45", linestyle=":", linewidth=1.5, zorder=0)
        ax.annotate(f"selected: {noise_label(study.distribution, at)}", xy=(at, 1.0),
                    xycoords=("data", "axes fraction"), xytext=(3, -12), textcoords="offset points",
                    fontsize="small", color="0.3")
    return fig


# ----------------------------------------------------------------------------
# 6. per-layer divergence
# ----------------------------------------------------------------------------
def _text(value: str) -> str:
    """Literal text for matplotlib: a '$' in a node or file name must not start mathtext."""
    return value.replace("$", r"\$")


def plot_layer_divergence(
    result: LayerDivergence,
    *,
    ax: Any = None,
    others: Sequence[LayerDivergence] | LayerDivergence | None = None,
    culprits: int = 5,
) -> Figure:
    """Draw ``1 - cosine`` of every compared tensor against its depth, culprits marked.

    Parameters
    ----------
    result : LayerDivergence
        The main comparison (usually ``compare="nv12"``); its culprits are
        marked and labelled.
    ax : matplotlib.axes.Axes, optional
        Draw here; by default on a new figure.
    others : LayerDivergence or sequence of them, optional
        Further comparisons of the same model drawn on the same axis, e.g.
        the ``"noise"`` result, whose band spans the mean and the worst
        trial. Where the NV12 curve lies above the noise curve, the round
        trip hurts that layer more than pixel noise of that amplitude.
    culprits : int, optional
        How many of ``result``'s culprits to mark (0 for none).

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on (``ax.figure`` when ``ax`` is given).

    Raises
    ------
    InputError
        If ``result`` or ``others`` are not LayerDivergence results, or
        ``culprits`` is negative.

    Notes
    -----
    The y axis is logarithmic: ``1 - cosine`` of 1e-4 means cosine
    0.9999. Identical tensors are drawn at 1e-12. x is the node's position
    in topological order (0 is the image input), so comparisons of the same
    model line up even when they skipped different nodes.

    Examples
    --------
    >>> from nv12kit.layers import LayerDivergence, LayerRow
    >>> rows = tuple(LayerRow(d, f"n{d}", "Conv", f"t{d}", (1, 4), c, c, 0.1, 20.0, c, g)
    ...              for d, c, g in [(0, 0.999, 0.0), (1, 0.99, 10.0), (2, 0.98, 3.0)])
    >>> fig = plot_layer_divergence(LayerDivergence("nv12", "nv12 (horizon)", rows), culprits=1)
    >>> type(fig).__name__, len(fig.axes)
    ('Figure', 1)
    """
    from .layers import DIVERGENCE_FLOOR, LayerDivergence

    if not isinstance(result, LayerDivergence):
        raise InputError(
            f"result must be a LayerDivergence (from nv12kit.layer_divergence), got {type(result).__name__}"
        )
    if others is None:
        extra: list[LayerDivergence] = []
    elif isinstance(others, LayerDivergence):
        extra = [others]
    else:
        extra = list(others)
    bad = [type(o).__name__ for o in extra if not isinstance(o, LayerDivergence)]
    if bad:
        raise InputError(f"others must be LayerDivergence results, got {bad}")
    if isinstance(culprits, bool) or not isinstance(culprits, int) or culprits < 0:
        raise InputError(f"culprits must be a non-negative integer, got {culprits!r}")

    if ax is None:
        figure = Figure(figsize=(9, 4.5), layout="constrained")
        ax = figure.add_subplot()
    else:
        figure = ax.get_figure()

    spare = iter(_LAYER_SPARE)
    plotted: list[float] = []
    for item in [result, *extra]:
        colour = _LAYER_COLOURS.get(item.compare) or next(spare, "#17becf")
        rows = [row for row in item.rows if math.isfinite(row.cosine)]
        xs = [row.depth for row in rows]
        ys = [max(1 - row.cosine, DIVERGENCE_FLOOR) for row in rows]
        ax.plot(xs, ys, marker="o", markersize=3, linewidth=1.4, color=colour, label=_text(item.label))
        plotted += ys
        if any(row.cosine_min < row.cosine for row in rows):
            worst = [max(1 - row.cosine_min, DIVERGENCE_FLOOR) for row in rows]
            plotted += worst
            ax.fill_between(xs, ys, worst, color=colour, alpha=0.15, linewidth=0,
                            label=_text(f"{item.compare}: worst trial"))
        broken = [row for row in item.rows if not math.isfinite(row.cosine)]
        if broken:
            top = max(ys, default=1.0)
            ax.scatter([row.depth for row in broken], [top] * len(broken), marker="x", color=colour,
                       label=_text(f"{item.compare}: NaN/Inf"))

    if culprits:
        for rank, row in enumerate(result.culprits(culprits), 1):
            y = max(1 - row.cosine, DIVERGENCE_FLOOR)
            ax.scatter([row.depth], [y], s=90, facecolors="none", edgecolors="black", linewidths=1.3, zorder=5)
            # alternate above and below the point so neighbouring labels do not overlap
            ax.annotate(_text(f"#{rank} {row.node} ({row.op_type})\n+{row.growth_db:.1f} dB"), (row.depth, y),
                        xytext=(6, 10 if rank % 2 else -26), textcoords="offset points", fontsize=7,
                        bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8})

    ax.set_yscale("log")
    if plotted:
        # a decade of headroom above and below for the culprit labels
        ax.set_ylim(min(plotted) / 10, max(plotted) * 10)
    ax.set_ylabel("1 - cosine (log; lower is closer to the clean run)")
    depths = sorted({row.depth: row.op_type for row in result.rows}.items())
    if 0 < len(depths) <= _MAX_TICK_LABELS:
        ax.set_xticks([d for d, _ in depths])
        ax.set_xticklabels([_text(op) for _, op in depths], rotation=90, fontsize=7)
        ax.set_xlabel("node in topological order (op type)")
    else:
        ax.set_xlabel("depth (position in topological order; 0 is the image input)")
    model = result.settings.get("model")
    ax.set_title(_text("Where the divergence grows" + (f": {model}" if model else "")), fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return figure


# ----------------------------------------------------------------------------
# 7. someone else's NV12 against the image it was made from
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


# ----------------------------------------------------------------------------
# 8. figures for HTML reports
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
