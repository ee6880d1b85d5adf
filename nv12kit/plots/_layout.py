"""An explicit layout for the figures nv12kit makes itself: margins measured from the texts, not searched for.

``layout="constrained"`` finds each axes' margins by drawing the figure's decorations (every tick,
tick label, title) twice before the real draw; that was about 40 % of a report figure's time. The
figures here know what they draw, so their margins are measured directly: the strings of the tick
labels (from the axis' locator and formatter, without making Tick objects), the titles and the
axis labels, each measured once with an Agg renderer at :data:`~nv12kit.plots._base.FIGURE_DPI`,
as the PNG draws them. Axes keep a fixed size in inches and the figure grows around them, so the
margins are the only thing computed; :func:`~nv12kit.plots._base.figure_to_png_bytes` crops the
PNG to what is drawn, and falls back to ``bbox_inches="tight"`` if anything sticks out.
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import numpy as np
from matplotlib import rcParams
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import AutoLocator, LogLocator, MaxNLocator

_DPI = 100.0  # what the measurements are made at; results are in inches, so any figure dpi can use them
#: Slack added to every measured margin (inches): hinting differences between sizes, rounding.
_SLACK = 0.03


@functools.lru_cache(maxsize=1)
def _renderer() -> RendererAgg:
    return RendererAgg(1, 1, _DPI)


def _points(size: Any) -> float:
    return float(FontProperties(size=size).get_size_in_points())


@functools.lru_cache(maxsize=4096)
def _line_inches(line: str, points: float, weight: str) -> tuple[float, float, float]:
    """(width, height, descent) in inches of one line of text, as Agg measures it."""
    prop = FontProperties(size=points, weight=weight)
    math_text = line.count("$") - 2 * line.count(r"\$") >= 2
    width, height, descent = _renderer().get_text_width_height_descent(line, prop, ismath=math_text)
    return width / _DPI, height / _DPI, descent / _DPI


def text_inches(text: str, size: Any = "medium", weight: Any = "normal") -> tuple[float, float]:
    """(width, height) in inches of ``text`` as matplotlib draws it (lines 1.2 line heights apart)."""
    points, weight = _points(size), str(weight)
    lines = [_line_inches(line, points, weight) for line in str(text).split("\n")]
    _, lp_h, lp_d = _line_inches("lp", points, weight)
    tallest = max(max(h for _, h, _ in lines), lp_h)
    height = tallest + 1.2 * (lp_h - lp_d) * (len(lines) - 1)
    return max(w for w, _, _ in lines), height


def _tick_kw(axis: Any, which: str) -> dict[str, Any]:
    """The tick settings ``tick_params`` stored on ``axis``: a private attribute of matplotlib's, so a release
    without it gives {} and the rcParams defaults are used (the margins may then be generous, never short)."""
    return dict(getattr(axis, "_major_tick_kw" if which == "major" else "_minor_tick_kw", None) or {})


def _titles(ax: Axes) -> list[Any]:
    """The centre, left and right titles (the side ones are private attributes; missing ones are skipped)."""
    return [t for t in (ax.title, getattr(ax, "_left_title", None), getattr(ax, "_right_title", None))
            if t is not None]


def _tick_size(axis: Any, which: str = "major") -> tuple[float, float, float]:
    """(label size in points, tick length in points, tick pad in points) of an axis."""
    kw = _tick_kw(axis, which)
    name = axis.axis_name
    size = kw.get("labelsize", rcParams[f"{name}tick.labelsize"])
    length = kw.get("size", rcParams[f"{name}tick.{which}.size"])
    pad = kw.get("pad", rcParams[f"{name}tick.{which}.pad"])
    return _points(size), float(length), float(pad)


def tick_labels(axis: Any) -> list[tuple[str, float, float]]:
    """(text, points, rotation) of the tick labels ``axis`` will draw, from its locators and formatters.

    No Ticks are made beyond the first of each kind, whose label gives the size and rotation.
    """
    if not axis.get_visible():
        return []
    lo, hi = sorted(axis.get_view_interval())
    eps = (hi - lo) * 1e-9
    out = []
    for which, locator, formatter in (("major", axis.get_major_locator(), axis.get_major_formatter()),
                                      ("minor", axis.get_minor_locator(), axis.get_minor_formatter())):
        kw = _tick_kw(axis, which)
        if not kw.get("label1On", True) and not kw.get("label2On", False):
            continue
        locs = [v for v in np.asarray(locator(), float) if lo - eps <= v <= hi + eps]
        if not locs:
            continue
        first = (axis.majorTicks if which == "major" else axis.minorTicks)[0].label1
        points, rotation = float(first.get_fontsize()), float(first.get_rotation())
        out += [(text, points, rotation) for text in formatter.format_ticks(locs) if text]
        offset = formatter.get_offset() if which == "major" and hasattr(formatter, "get_offset") else ""
        if offset:
            out.append(("\n" + offset, points, 0.0))  # drawn beyond the axis' end
    return out


def _turned(size: tuple[float, float], rotation: float) -> tuple[float, float]:
    """The (width, height) of a box of ``size`` rotated by ``rotation`` degrees."""
    angle = math.radians(rotation)
    c, s = abs(math.cos(angle)), abs(math.sin(angle))
    return size[0] * c + size[1] * s, size[0] * s + size[1] * c


class Margins(NamedTuple):
    """Inches needed around an axes box for its decorations."""

    left: float
    bottom: float
    right: float
    top: float


def axes_margins(ax: Axes, *, box: tuple[float, float] | None = None) -> Margins:
    """What ``ax`` draws outside its box, in inches: tick labels, axis labels, title, offset texts.

    ``box`` is the axes' (width, height) in inches, for tick labels that overhang its ends.
    """
    width, height = box if box is not None else (0.0, 0.0)
    left = bottom = right = top = 0.0
    for axis in (ax.xaxis, ax.yaxis):
        labels = tick_labels(axis)
        points, length, pad = _tick_size(axis)
        if axis.get_visible() and axis.get_major_locator()() is not None:
            reach = (length + pad) / 72.0 if labels else length / 72.0
        else:
            reach = 0.0
        sizes = [_turned(text_inches(t.lstrip("\n"), p), r) for t, p, r in labels]
        offsets = [s for (t, _, _), s in zip(labels, sizes) if t.startswith("\n")]
        sizes = [s for (t, _, _), s in zip(labels, sizes) if not t.startswith("\n")]
        label_w = max((w for w, _ in sizes), default=0.0)
        label_h = max((h for _, h in sizes), default=0.0)
        text = axis.label.get_text() if axis.label.get_visible() else ""
        label_extra = 0.0
        if text.strip():
            _, h = text_inches(text, axis.label.get_fontsize())
            label_extra = axis.labelpad / 72.0 + h
        at_top_or_right = axis.get_label_position() in ("top", "right")
        ticks_far = axis.get_ticks_position() in ("top", "right")
        if axis.axis_name == "x":
            need = reach + label_h
            if ticks_far:
                top = max(top, need)
            else:
                bottom = max(bottom, need)
            if at_top_or_right:
                top = max(top, need * ticks_far + label_extra)
            else:
                bottom = max(bottom, need * (not ticks_far) + label_extra)
            overhang = max(label_w / 2 - 0.0, 0.0)
            left, right = max(left, overhang), max(right, overhang)
            for w, h in offsets:  # the x offset text sits below the right end
                right = max(right, w)
                bottom = max(bottom, need + h)
        else:
            need = reach + label_w
            if ticks_far:
                right = max(right, need)
            else:
                left = max(left, need)
            if at_top_or_right:
                right = max(right, need * ticks_far + label_extra)
            else:
                left = max(left, need * (not ticks_far) + label_extra)
            bottom, top = max(bottom, label_h / 2), max(top, label_h / 2)
            for w, h in offsets:  # the y offset text sits above the top end
                top = max(top, h + 0.05)
                left = max(left, w / 2)
    title_h = 0.0
    for title in _titles(ax):
        if title.get_visible() and title.get_text().strip():
            w, h = text_inches(title.get_text(), title.get_fontsize(), title.get_fontweight())
            title_h = max(title_h, h)
            spill = max(w / 2 - width / 2, 0.0) if box is not None else 0.0
            left, right = max(left, spill), max(right, spill)
    if title_h:
        top = max(top, rcParams["axes.titlepad"] / 72.0 + title_h)
    return Margins(left + _SLACK, bottom + _SLACK, right + _SLACK, top + _SLACK)


@functools.lru_cache(maxsize=None)
def _in_view_class(cls: type) -> type:
    """A subclass of the locator class ``cls`` whose ticks are only those inside the view."""

    def tick_values(self: Any, vmin: float, vmax: float) -> Any:
        ticks = np.asarray(super(trimmed, self).tick_values(vmin, vmax), float)
        lo, hi = min(vmin, vmax), max(vmin, vmax)
        tol = (hi - lo) * 1e-9
        return ticks[(ticks >= lo - tol - abs(lo) * 1e-12) & (ticks <= hi + tol + abs(hi) * 1e-12)]

    trimmed = type(f"InView{cls.__name__}", (cls,), {"tick_values": tick_values})
    return trimmed


def trim_ticks(ax: Axes) -> None:
    """Make the axes' locators return only ticks inside the view.

    matplotlib makes a Tick object (two lines, a grid line, two texts) for every location a
    locator returns and then draws the ones in view; log and auto locators return ticks beyond each
    end, a whole decade of minor ticks on a log axis. Same ticks drawn, fewer objects made.
    """
    for axis in (ax.xaxis, ax.yaxis):
        for locator in (axis.get_major_locator(), axis.get_minor_locator()):
            if type(locator) in (LogLocator, AutoLocator, MaxNLocator):
                locator.__class__ = _in_view_class(type(locator))


def fix_title(ax: Axes) -> None:
    """Put the title at a fixed height above the axes: matplotlib otherwise measures every tick to place it.

    Only for axes whose top carries no tick labels or axis label, which is the case for every figure here.
    """
    for title in _titles(ax):
        x, _ = title.get_position()
        title.set_position((x, 1.0))
    ax._autotitlepos = False  # matplotlib's switch for the automatic placement; harmless where it is unknown


def place(fig: Figure, ax: Axes, rect_inches: tuple[float, float, float, float]) -> None:
    """Put ``ax`` at (left, bottom, width, height) inches of ``fig`` (its current size)."""
    fw, fh = fig.get_size_inches()
    left, bottom, width, height = rect_inches
    ax.set_position((left / fw, bottom / fh, width / fw, height / fh))


def bar_margins(bar: Any) -> Margins:
    """What a colour bar draws outside its axes box: its ticks, tick labels, label and offset text."""
    return axes_margins(bar.ax)


def ceil_inches(value: float) -> float:
    return math.ceil(value * 100.0) / 100.0


#: Outer white margin (inches) of the figures laid out here; the PNG is cropped to its contents anyway.
OUTER = 0.1
#: Gap (inches) between an axes' decorations and a colour bar, a legend or another panel.
GAP = 0.12


def legend_inches(legend: Any) -> tuple[float, float]:
    """(width, height) in inches of a legend, measured with the Agg renderer."""
    box = legend.get_window_extent(_renderer())
    return box.width / _DPI, box.height / _DPI


BAR_THICK = 0.16  # inches: a colour bar's short side
BAR_GAP = 0.1  # inches between an image and its colour bar


def _block(ax: Axes, size: tuple[float, float], bar: Any, bar_below: bool) -> tuple[Margins, Any]:
    """Margins of one panel (an axes and its colour bar), and the bar's rect relative to the axes' corner."""
    width, height = size
    fix_title(ax)
    trim_ticks(ax)
    m = axes_margins(ax, box=size)
    left, right, top, below = m.left, m.right, m.top, m.bottom
    if bar is None:
        return Margins(left, below, right, top), None
    fix_title(bar.ax)
    bm = axes_margins(bar.ax)
    if bar_below:
        length = 0.9 * width
        below += BAR_GAP + bm.top
        rect = ((width - length) / 2, -below - BAR_THICK, length, BAR_THICK)
        below += BAR_THICK + bm.bottom
        spill = max(bm.left, bm.right) - (width - length) / 2
        left, right = max(left, spill), max(right, spill)
    else:
        length = 0.9 * height
        rect = (width + BAR_GAP, (height - length) / 2, BAR_THICK, length)
        right = max(right, BAR_GAP + BAR_THICK + bm.right)
        overhang = max(bm.top, bm.bottom) - (height - length) / 2
        top, below = max(top, overhang), max(below, overhang)
    return Margins(left, below, right, top), rect


def layout_panels(fig: Figure, panels: list[tuple[Axes, Any]], size: tuple[float, float], *, bar_below: bool = False,
                  stacked: bool = False, suptitle: Any = None, legend: Any = None) -> None:
    """Size ``fig`` around equal panels of ``size`` (width, height) inches each, side by side or stacked.

    Each panel is an axes and its colour bar (or None): the bar is beside the axes (right) or below
    its x decorations, 90 % of the axes' length, centred. A ``suptitle`` (a figure Text) goes on top,
    a figure ``legend`` centred under everything. Margins are what :func:`axes_margins` measures.
    """
    width, height = size
    blocks = [_block(ax, size, bar, bar_below) for ax, bar in panels]
    left = max(m.left for m, _ in blocks)
    right = max(m.right for m, _ in blocks)
    top = max(m.top for m, _ in blocks)
    below = max(m.bottom for m, _ in blocks)
    count = len(panels)
    if stacked:
        content_w = left + width + right
        content_h = count * (top + height + below) + (count - 1) * GAP
    else:
        content_w = count * (left + width + right) + (count - 1) * GAP
        content_h = top + height + below
    head_w = head_h = 0.0
    if suptitle is not None:
        head_w, head_h = text_inches(suptitle.get_text(), suptitle.get_fontsize(), suptitle.get_fontweight())
        head_h += GAP / 2
    legend_w = legend_h = 0.0
    if legend is not None:
        legend_w, legend_h = legend_inches(legend)
        legend_h += GAP
    side = max(head_w, legend_w, content_w) - content_w
    fig_w = ceil_inches(2 * OUTER + content_w + side)
    fig_h = ceil_inches(2 * OUTER + head_h + content_h + legend_h)
    fig.set_size_inches(fig_w, fig_h)
    x_start, y_top = OUTER + side / 2 + left, fig_h - OUTER - head_h - top
    for index, ((ax, bar), (_, rect)) in enumerate(zip(panels, blocks)):
        x0 = x_start if stacked else x_start + index * (left + width + right + GAP)
        y0 = y_top - height - (index * (top + height + below + GAP) if stacked else 0.0)
        place(fig, ax, (x0, y0, width, height))
        if rect is not None:
            place(fig, bar.ax, (x0 + rect[0], y0 + rect[1], rect[2], rect[3]))
    if suptitle is not None:
        suptitle.set_position((0.5, (fig_h - OUTER) / fig_h))
        suptitle.set_verticalalignment("top")
    if legend is not None:
        legend.set_loc("lower center")
        legend.set_bbox_to_anchor((0.5, OUTER / fig_h), transform=fig.transFigure)


def layout_single(fig: Figure, ax: Axes, size: tuple[float, float], *, bar: Any = None, bar_below: bool = False,
                  legend: Any = None) -> None:
    """:func:`layout_panels` for one axes (and its colour bar, and a legend below)."""
    layout_panels(fig, [(ax, bar)], size, bar_below=bar_below, legend=legend)
