"""Figures of model outputs: where two dense outputs differ."""

from __future__ import annotations

import operator
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..errors import InputError
from ._base import (
    _axes_row,
    _check_title,
    _figure_and_ax,
    _heatmap_colorbar,
    _image_figsize,
    _image_shape,
    _integer_ticks,
)
from ._layout import layout_single

# ----------------------------------------------------------------------------
# dense output difference
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

    owned = ax is None
    fig, ax = _figure_and_ax(ax, _image_figsize(h, w))
    image_w, image_h, aspect = _image_shape(h, w)
    cmap = matplotlib.colormaps["magma"].with_extremes(bad="cyan")
    image = ax.imshow(np.where(finite, shown, np.nan), cmap=cmap, vmin=0, vmax=biggest if biggest > 0 else 1.0,
                      interpolation="nearest", aspect=aspect)
    bar = _heatmap_colorbar(ax, image, "|a − b| (output units)", below=w >= 2 * h, own=owned)
    head = "\n".join(textwrap.wrap(title if title is not None else "Output difference |a − b|", 40))
    ax.set_title(f"{head}\n{numbers}", fontsize="medium")
    ax.set_xlabel("x (output pixels)", fontsize="small")
    ax.set_ylabel("y (output pixels)", fontsize="small")
    _integer_ticks(ax)
    if owned:
        layout_single(fig, ax, (image_w, image_h), bar=bar, bar_below=w >= 2 * h)
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
