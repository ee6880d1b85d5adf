"""What another convention would cost: the decisive image's NV12 loss per candidate convention, as bars."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..errors import InputError
from ._base import _figure_and_ax
from ._layout import layout_single
from .cosines import _FittingLogMinorFormatter

_GROUP_COLOURS = {"yours": "black", "same node": "tab:blue", "other node": "tab:orange"}
_GROUP_TEXT = {"yours": "your convention", "same node": "same NV12 node (encoder setting only)",
               "other node": "other node range (node and encoder change)"}


def _rows(sensitivity: Any) -> tuple[list[tuple[str, float, str]], float | None]:
    if isinstance(sensitivity, Mapping):
        rows = [(str(k), 1.0 - float(v), "yours" if i == 0 else "same node")
                for i, (k, v) in enumerate(sensitivity.items())]
        return rows, None
    if hasattr(sensitivity, "rows"):
        return [(r.name, r.loss, r.group) for r in sensitivity.rows], getattr(sensitivity, "healthy_limit", None)
    raise InputError("plot_convention_sensitivity takes a ConventionSensitivity (report.convention_sensitivity) or "
                     f"a dict {{convention: cosine}}, got {type(sensitivity).__name__}")


def plot_convention_sensitivity(sensitivity: Any, *, ax: Axes | None = None) -> Figure:
    """Draw ``1 - cos`` of the NV12 path under each candidate convention as horizontal bars (log scale).

    Parameters
    ----------
    sensitivity : ConventionSensitivity or dict of str to float
        ``report.convention_sensitivity``, or ``{convention: cosine}`` with
        your own convention first.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when None.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_convention_sensitivity({"horizon": 0.74, "horizon (box chroma)": 0.91})
    >>> fig.axes[0].get_xscale()
    'log'
    """
    rows, limit = _rows(sensitivity)
    if not rows:
        raise InputError("no conventions to plot")
    owned = ax is None
    fig, ax = _figure_and_ax(ax, (7.0, 4.0))
    losses = np.array([max(loss, 1e-9) if np.isfinite(loss) else np.nan for _, loss, _ in rows])
    y = np.arange(len(rows))[::-1]
    ax.barh(y, losses, color=[_GROUP_COLOURS.get(g, "tab:gray") for _, _, g in rows], height=0.6)
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(_FittingLogMinorFormatter())
    ax.set_yticks(y)
    ax.set_yticklabels([name for name, _, _ in rows], fontsize="small")
    finite = losses[np.isfinite(losses)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (1e-6, 1.0)
    if limit is not None:
        low, high = min(low, limit), max(high, limit)
    ax.set_xlim(low / 3, high * 3)
    handles = [Patch(color=_GROUP_COLOURS[g], label=_GROUP_TEXT[g]) for g in _GROUP_COLOURS
               if any(group == g for _, _, group in rows)]
    if limit is not None:
        ax.axvline(limit, color="crimson", linestyle="--", linewidth=1.5)
        handles.append(ax.plot([], [], color="crimson", linestyle="--",
                               label=f"healthy at or below {limit:.1e} (same thresholds)")[0])
    ax.set_xlabel("1 − cos(feat, nv12) on the decisive image [log scale; left = smaller loss]")
    ax.set_title("What another convention would cost", fontsize="medium")
    if owned:
        legend = fig.legend(handles=handles, loc="lower center", fontsize="small", frameon=False)
        layout_single(fig, ax, (5.6, 0.32 * len(rows) + 0.3), legend=legend)
    else:
        ax.legend(handles=handles, fontsize="x-small", loc="best")
    return fig
