"""Figures of a noise study: cosine histograms and the noise floor against amplitude, NV12 marked."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatterSciNotation

from .._util import format_cosine
from ..errors import InputError
from ..noise import NoiseStudy, noise_label
from ._base import _figure_and_ax, _positive
from ._layout import layout_single, text_inches


class _FittingLogMinorFormatter(LogFormatterSciNotation):
    """Minor-tick labels of a log axis (``3×10⁻⁴``), only as many as fit side by side.

    matplotlib labels minor ticks on an axis spanning a decade or two without asking whether the labels
    fit: over 1.6 decades of a 5-inch axis ``3×10⁻⁴`` and ``4×10⁻⁴`` overlapped. The labelled
    mantissas are the densest of (2, ..., 9), (2, 3, 5), (2, 5) and none whose closest pair of
    labels (decades included) is at least a label and a gap apart, measured at draw time.
    """

    _CHOICES = ((2, 3, 4, 5, 6, 7, 8, 9), (2, 3, 5), (2, 5), ())

    def __init__(self) -> None:
        super().__init__(labelOnlyBase=False, minor_thresholds=(math.inf, math.inf))

    def _labelled(self) -> tuple[int, ...]:
        axis = self.axis
        if axis is None or axis.axes is None:
            return self._CHOICES[-1]
        lo, hi = sorted(axis.get_view_interval())
        if lo <= 0 or hi <= lo:
            return self._CHOICES[-1]
        box = axis.axes.bbox
        horizontal = axis.axis_name == "x"
        room = (box.width if horizontal else box.height) / axis.axes.figure.dpi  # inches
        per_decade = room / math.log10(hi / lo)
        points = float(axis.minorTicks[0].label1.get_fontsize())  # one lazily made Tick: no formatting, no recursion
        exponent = math.floor(math.log10(hi))
        width, height = text_inches(super().__call__(8 * 10.0**exponent), points)
        need = (width if horizontal else height) + 0.08
        for subs in self._CHOICES:
            marks = sorted({1, *subs, 10})
            if min(math.log10(b / a) for a, b in zip(marks, marks[1:])) * per_decade >= need:
                return subs
        return self._CHOICES[-1]

    def __call__(self, x: float, pos: int | None = None) -> str:
        if x <= 0:
            return ""
        exponent = math.floor(math.log10(x) + 1e-9)
        coefficient = x / 10.0**exponent
        mantissa = round(coefficient)
        if abs(coefficient - mantissa) > 1e-6 * mantissa or mantissa not in self._labelled():
            return ""
        return super().__call__(x, pos)

# Colours of the NV12 markers: dark, and apart from the tab10 noise colours.
_NV12_STYLES = (("black", "--"), ("crimson", "-."), ("darkorange", ":"), ("purple", (0, (5, 1, 1, 1))))
# Size (inches) of the plot area of a new figure; the figure grows around it to fit the labels and legend.
_HISTOGRAM_AXES = (6.9, 3.45)
_AMPLITUDE_AXES = (6.6, 3.85)
_DISTRIBUTION_TEXT = {"symmetric": "uniform ±a", "uniform_0_a": "uniform [0, a)", "gaussian": "Gaussian σ = a"}


# ----------------------------------------------------------------------------
# noise studies
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


def _legend(fig: Figure, ax: Axes, *, owned: bool, headroom: bool = False) -> Any:
    # On our own figure the legend goes below the plot, where it cannot hide a histogram or an NV12 line;
    # _layout.layout_single puts it there.
    handles, labels = ax.get_legend_handles_labels()
    if owned:
        return fig.legend(handles, labels, loc="lower center", fontsize="small", frameon=False)
    if headroom:  # on the caller's axes, make empty room above the bars for the legend
        ax.set_ylim(0, ax.get_ylim()[1] * (1.15 + 0.1 * len(labels)))
        ax.legend(handles, labels, loc="upper left", fontsize="x-small")
    else:
        ax.legend(handles, labels, loc="best", fontsize="x-small")
    return None


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
        ax.xaxis.set_minor_formatter(_FittingLogMinorFormatter())
        ax.set_xlabel("1 − cos(clean output, perturbed output)\n[log scale; further right = bigger change]")
    else:
        ax.set_xlabel("cos(clean output, perturbed output)\n[further left = bigger change]")
        ax.ticklabel_format(axis="x", useOffset=False)
    ax.set_ylabel("trials")
    ax.margins(x=0.08)
    ax.set_title(f"Output {study.output!r} under pixel noise\n{study.trials} trials per amplitude, "
                 f"{_DISTRIBUTION_TEXT.get(study.distribution, study.distribution)}", fontsize="medium")
    legend = _legend(fig, ax, owned=owned, headroom=True)
    if owned:
        layout_single(fig, ax, _HISTOGRAM_AXES, legend=legend)
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
        ax.yaxis.set_minor_formatter(_FittingLogMinorFormatter())
        ax.set_ylabel("1 − cos(clean, perturbed)\n[log scale; up = bigger change]")
    else:
        ax.set_ylabel("cos(clean, perturbed)\n[down = bigger change]")
        ax.ticklabel_format(axis="y", useOffset=False)
    ax.margins(y=0.1)
    ax.set_title(f"Output {study.output!r}: noise floor against the NV12 loss\n"
                 f"{study.trials} trials per amplitude", fontsize="medium")
    legend = _legend(fig, ax, owned=owned)
    if at is not None:
        ax.axvline(at, color="0.45", linestyle=":", linewidth=1.5, zorder=0)
        ax.annotate(f"selected: {noise_label(study.distribution, at)}", xy=(at, 1.0),
                    xycoords=("data", "axes fraction"), xytext=(3, -12), textcoords="offset points",
                    fontsize="small", color="0.3")
    if owned:
        layout_single(fig, ax, _AMPLITUDE_AXES, legend=legend)
    return fig
