"""The per-layer divergence figure: 1 - cosine per layer against depth, culprits marked."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from matplotlib.figure import Figure
from matplotlib.text import OffsetFrom
from matplotlib.ticker import AutoMinorLocator, MaxNLocator

from .._util import format_cosine
from ..errors import InputError
from ..layers.constants import CULPRIT_LOSS_FLOOR, DIVERGENCE_FLOOR  # numbers only: no onnx
from ._layout import layout_single, place

if TYPE_CHECKING:  # imported when drawing: layers pulls in onnx, which a plain figure does not need
    from ..layers import LayerDivergence

# One colour per comparison, then spares; op names on the x axis up to this many nodes.
_LAYER_COLOURS = {"nv12": "#d62728", "noise": "#1f77b4", "quantized": "#2ca02c"}
_LAYER_SPARE = ("#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
_MAX_TICK_LABELS = 40
_AXES_INCHES = (8.1, 3.5)  # the plot area of a new figure; the figure grows around it


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
    from ..layers import LayerDivergence

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

    owned = ax is None
    marked = result.culprits(culprits) if culprits else []
    if owned:
        # room below the axes for the legend: one line per curve, band and culprit
        entries = 2 * (1 + len(extra)) + len(marked)
        figure = Figure(figsize=(9, 4.4 + 0.19 * entries))  # laid out at the end, by _layout.layout_single
        ax = figure.add_subplot()
        place(figure, ax, (0.85, 0.85, *_AXES_INCHES))
    else:
        figure = ax.get_figure()

    spare = iter(_LAYER_SPARE)
    plotted: list[float] = []
    for item in [result, *extra]:
        colour = _LAYER_COLOURS.get(item.compare) or next(spare, "#17becf")
        rows = [row for row in item.rows if math.isfinite(row.cosine)]
        xs = [row.depth for row in rows]
        ys = [max(1 - row.cosine, DIVERGENCE_FLOOR) for row in rows]
        many = len(rows) > 150  # markers on 500 nodes are a smear: a line reads better
        ax.plot(xs, ys, marker="" if many else "o", markersize=3, linewidth=1.1 if many else 1.4, color=colour,
                label=_text(item.label))
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

    ax.set_yscale("log")
    if plotted:
        # a decade of headroom above and below; the culprit tags sit above their points
        ax.set_ylim(min(plotted) / 10, max(plotted) * 10)
    depths = sorted({row.depth: row.op_type for row in result.rows}.items())
    span = depths[-1][0] - depths[0][0] + 1 if depths else 0
    if 0 < span <= _MAX_TICK_LABELS:  # a small model: every node's op type under it
        ax.set_xticks([d for d, _ in depths])
        ax.set_xticklabels([_text(op) for _, op in depths], rotation=90, fontsize=7)
        ax.set_xlabel("node in topological order (op type)")
    else:  # a big one: depth numbers, as many as fit
        ax.xaxis.set_major_locator(MaxNLocator(nbins=12, integer=True))
        ax.xaxis.set_minor_locator(AutoMinorLocator(2))  # one minor tick between labels: a lighter axis to draw
        ax.set_xlabel("depth (position in topological order; 0 is the image input)")
    _mark_culprits(ax, marked, figure)

    ax.set_ylabel("1 − cosine (log; lower is closer\nto the clean run)")
    model = result.settings.get("model")
    heading = "Where the divergence grows" + (f": {model}" if model else "")
    floor = f"{CULPRIT_LOSS_FLOOR:.0e}".replace("e-0", "e-")  # 1e-4
    rule = f"culprits by score: growth counted above a loss of {floor}" if marked else ""
    ax.set_title(_text(heading) + (f"\n{rule}" if rule else ""), fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    if owned:
        legend = figure.legend(*ax.get_legend_handles_labels(), loc="lower center", fontsize=8, frameon=False)
        layout_single(figure, ax, _AXES_INCHES, legend=legend)
    else:
        ax.legend(fontsize=7, loc="best")
    return figure


def _short(name: str, width: int = 46) -> str:
    """A node name cut in the middle, where long generated names repeat themselves."""
    if len(name) <= width:
        return name
    half = (width - 1) // 2
    return name[:half] + "…" + name[-(width - 1 - half):]


def _point(row: Any) -> float:
    return max(1 - row.cosine, DIVERGENCE_FLOOR) if math.isfinite(row.cosine) else 1.0


def _mark_culprits(ax: Any, marked: Sequence[Any], figure: Figure) -> None:
    """Ring each culprit and tag it ``#rank``; the names go to the legend, where they cannot collide.

    Tags of culprits close in depth form a row above the group, in depth order, each with a leader
    line to its point, so no tag covers another; #1's tag is bold and drawn on top. The y axis gets
    the headroom the tags need.
    """
    if not marked:
        return
    left, right = ax.get_xlim()
    box = ax.get_position()
    width_pt = max(box.width * figure.get_figwidth() * 72 * 0.85, 1.0)  # constrained layout takes some
    height_pt = max(box.height * figure.get_figheight() * 72 * 0.8, 1.0)
    per_point = (right - left) / width_pt  # depth units per point
    step = 26.0  # points per tag, gap included

    ranks = {id(row): rank for rank, row in enumerate(marked, 1)}
    groups: list[list[Any]] = [[row] for row in sorted(marked, key=lambda r: r.depth)]

    def centre(group: list[Any]) -> float:
        middle = sum(r.depth for r in group) / len(group)
        half = len(group) * step / 2 * per_point
        return min(max(middle, left + half), right - half)  # keep the row inside the axes

    merged = True
    while merged:  # join neighbouring groups whose rows of tags would touch
        merged = False
        for i in range(len(groups) - 1):
            a, b = groups[i], groups[i + 1]
            if centre(b) - centre(a) < (len(a) + len(b)) * step / 2 * per_point + 4 * per_point:
                groups[i:i + 2] = [a + b]
                merged = True
                break

    for rank, row in enumerate(marked, 1):  # rings first, in rank order: the legend lists #1 first
        ax.scatter([row.depth], [_point(row)], s=70, facecolors="none", edgecolors="black", linewidths=1.2,
                   zorder=5, label=_text(f"#{rank} {_short(row.node)} ({row.op_type}), depth {row.depth}: "
                                         f"score {row.score:+.1f} dB, cos {format_cosine(row.input_cosine)}"
                                         f" → {format_cosine(row.cosine)}"))
    low, high = ax.get_ylim()
    for group in groups:
        middle, top = centre(group), max(_point(row) for row in group)
        lifted = len(group) > 1 or abs(middle - group[0].depth) > 1e-9
        for index, row in enumerate(group):
            rank = ranks[id(row)]
            ax.annotate(f"#{rank}", (row.depth, _point(row)), xytext=((index - (len(group) - 1) / 2) * step, 9),
                        textcoords=OffsetFrom(ax.transData, (middle, top), unit="points"),
                        fontsize=8, fontweight="bold" if rank == 1 else "normal", ha="center", va="bottom",
                        zorder=7 if rank == 1 else 6, annotation_clip=False,
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "0.6", "lw": 0.5},
                        arrowprops={"arrowstyle": "-", "lw": 0.6, "color": "0.35"} if lifted else None)
        # room above the highest tag: 9 points of lift and 14 of tag, in decades of the log axis
        for _ in range(2):
            decades = math.log10(high / low)
            need = top * 10 ** (26.0 / height_pt * decades)
            if need > high:
                high = need
        ax.set_ylim(low, high)
