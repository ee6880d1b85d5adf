"""Figures of an evaluation over a set: accuracy per variant, cosine histograms, the frames that flip."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..errors import InputError
from ._base import _figure_and_ax, figure_to_data_uri

__all__ = ["plot_variant_accuracy", "plot_set_cosines", "plot_flip_gallery", "evaluation_figures"]

_COLOURS = {"feat": "#4c72b0", "nv12": "#dd8452", "quantized_feat": "#55a868", "quantized_nv12": "#c44e52"}


def _check_result(result: Any) -> None:
    if not hasattr(result, "variants") or not hasattr(result, "cosines"):
        raise InputError(f"expected an nv12kit EvaluationResult (from nv12kit.evaluate), got {type(result).__name__}")


def plot_variant_accuracy(result: Any, *, ax: Axes | None = None) -> Figure:
    """Top-1 accuracy of each variant with its 95 % interval (agreement with feat when there are no labels).

    Parameters
    ----------
    result : EvaluationResult
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check_result(result)
    fig, ax = _figure_and_ax(ax, (5.6, 3.0))
    names = list(result.variants)
    rows = [result.variants[v] for v in names]
    if all("top1" in r for r in rows):
        values = [r["top1"] for r in rows]
        bounds = [r["top1_ci95"] for r in rows]
        label = "top-1 accuracy (95 % interval)"
    elif all("agreement_with_feat" in r for r in rows):
        values = [r["agreement_with_feat"] for r in rows]
        bounds = [r["agreement_ci95"] for r in rows]
        label = "top-1 agreement with feat (95 % interval)"
    elif all("metric" in r for r in rows):
        values = [r["metric"] for r in rows]
        bounds = [r["metric_ci95"] for r in rows]
        label = "metric mean (95 % interval)"
    else:
        raise InputError("the result has no accuracy, agreement or metric to plot (not a classifier, no metric)")
    y = np.arange(len(names))
    err = np.array([[v - lo, hi - v] for v, (lo, hi) in zip(values, bounds)]).T
    ax.barh(y, values, xerr=err, color=[_COLOURS.get(n, "#888888") for n in names], capsize=4)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlabel(label)
    if "metric" not in label:
        ax.set_xlim(0, 1.05)
    for yi, v in zip(y, values):
        ax.annotate(f"{v:.3f}", (v, yi), xytext=(4, 6), textcoords="offset points", fontsize=8)
    ax.set_title(f"{result.frames} frames")
    fig.set_layout_engine("constrained")
    return fig


def plot_set_cosines(result: Any, *, ax: Axes | None = None, bins: int = 40) -> Figure:
    """Histogram of ``1 - cos(feat, variant)`` over the frames, one per variant, log scale; the noise floor marked.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check_result(result)
    if not result.cosines:
        raise InputError("the result holds no per-frame cosines (it was read back from JSON); run nv12kit.evaluate")
    fig, ax = _figure_and_ax(ax, (6.0, 3.2))
    losses = {v: np.clip(1.0 - c[np.isfinite(c)], 1e-9, None) for v, c in result.cosines.items()}
    everything = np.concatenate([x for x in losses.values() if len(x)] or [np.array([1e-6])])
    lo, hi = float(everything.min()), float(everything.max())
    floor = result.noise.get("floor_loss")
    if floor:
        lo, hi = min(lo, floor), max(hi, floor)
    edges = np.geomspace(lo / 1.5, hi * 1.5, bins + 1)
    for v, x in losses.items():
        ax.hist(x, bins=edges, histtype="step", linewidth=1.6, color=_COLOURS.get(v, "#888888"), label=v)
    if floor:
        ax.axvline(floor, color="black", linestyle="--", linewidth=1,
                   label=f"noise floor ±{result.noise['amplitude']:g} ({result.noise['quantile']:.0%} quantile)")
    ax.set_xscale("log")
    ax.set_xlabel("1 - cos(feat, variant), per frame")
    ax.set_ylabel("frames")
    ax.legend(fontsize=8, loc="upper left", frameon=False)
    fig.set_layout_engine("constrained")
    return fig


def plot_flip_gallery(result: Any, *, variant: str = "nv12", count: int = 8, columns: int = 4) -> Figure:
    """The frames ``variant`` gets wrong and feat right, worst first, with labels and predictions.

    Returns
    -------
    matplotlib.figure.Figure
        A short note instead of images when nothing flips.
    """
    from ..images import load_image

    _check_result(result)
    if variant not in result.flips:
        raise InputError(f"no flips recorded for {variant!r}; the result has {sorted(result.flips)}")
    rows_data = [r for r in result.flips[variant]["worst"] if r["key"] in result.sources][:count]
    classes = result.labels.get("classes")

    def name(i: int | None) -> str:
        return "-" if i is None else (classes[i] if classes and 0 <= i < len(classes) else str(i))

    if not rows_data:
        fig = Figure(figsize=(4.0, 0.8))
        fig.text(0.5, 0.5, f"no frame flips with {variant}", ha="center", va="center")
        return fig
    columns = max(1, min(columns, len(rows_data)))
    lines = -(-len(rows_data) // columns)
    fig = Figure(figsize=(2.3 * columns, 2.6 * lines), layout="constrained")
    axes = fig.subplots(lines, columns, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, row in zip(axes.flat, rows_data):
        ax.imshow(load_image(result.sources[row["key"]]))
        cos = "-" if row["cosine"] is None else f"{row['cosine']:.3f}"
        ax.set_title(f"{row['key']}\nlabel {name(row['label'])}\n{variant}: {name(row['variant_top1'])}, cos {cos}",
                     fontsize=7)
    return fig


def evaluation_figures(result: Any) -> list[tuple[str, str]]:
    """(caption, data URI) of the report's figures, for ``result.to_html(path, figures=...)``."""
    _check_result(result)
    shown = []
    try:
        shown.append(("Accuracy of each variant with its 95 % Wilson interval", plot_variant_accuracy(result)))
    except InputError:
        pass
    if result.cosines:
        shown.append(("1 - cos(feat, variant) of every frame; the dashed line is the noise floor",
                      plot_set_cosines(result)))
    return [(caption, figure_to_data_uri(fig)) for caption, fig in shown]
