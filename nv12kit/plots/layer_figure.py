"""The per-layer divergence figure: 1 - cosine per layer against depth, culprits marked."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from matplotlib.figure import Figure

from ..errors import InputError

if TYPE_CHECKING:  # imported when drawing: layers pulls in onnx, which a plain figure does not need
    from ..layers import LayerDivergence

# One colour per comparison, then spares; op names on the x axis up to this many nodes.
_LAYER_COLOURS = {"nv12": "#d62728", "noise": "#1f77b4", "quantized": "#2ca02c"}
_LAYER_SPARE = ("#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
_MAX_TICK_LABELS = 40


# ----------------------------------------------------------------------------
# per-layer divergence
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
    from ..layers import DIVERGENCE_FLOOR, LayerDivergence

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
