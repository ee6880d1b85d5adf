"""Every figure is legible in its PNG: no text cut off, no tick labels on top of each other, no text on text.

Each figure is drawn as :func:`nv12kit.plots.figure_to_png_bytes` draws it (Agg, at
:data:`~nv12kit.plots._base.FIGURE_DPI`), and every text artist that is drawn (tick labels, axis
labels, titles, colour-bar labels, legends, annotations) must lie inside the region the PNG shows
(:func:`~nv12kit.plots._base.png_region`: the figure's tight box plus a margin, as
``bbox_inches="tight"`` computes it). No two tick labels of one axis, and no two texts of different
artists, may overlap. The frames are the bundled photos, a 48×192 frame both ways round, 2×4000
strips and a 1080p frame. ``test_the_checker_catches_*`` show that the check can fail.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.axes import Axes  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

import nv12kit  # noqa: E402
from nv12kit import plots  # noqa: E402
from nv12kit.data import photo_paths  # noqa: E402
from nv12kit.noise import NoiseStudy  # noqa: E402
from nv12kit.plots._base import FIGURE_DPI, png_region  # noqa: E402

TOLERANCE = 1.0  # pixels: anti-aliasing, rounding of the crop


# ----------------------------------------------------------------------------
# the checker
# ----------------------------------------------------------------------------
def _all_axes(fig: Figure) -> list[Axes]:
    found: list[Axes] = []
    todo = list(fig.axes)
    while todo:
        ax = todo.pop()
        if ax not in found:
            found.append(ax)
            todo.extend(getattr(ax, "child_axes", []))
    return found


def drawn_texts(fig: Figure, renderer) -> list[tuple[str, Bbox, int]]:
    """(description, window extent, group) of every non-empty text drawn; tick labels of one axis share a group."""
    texts: list[tuple[str, Bbox, int]] = []
    tick_labels: set[int] = set()
    for ax in _all_axes(fig):
        if not ax.get_visible():
            continue
        for axis in (ax.xaxis, ax.yaxis):
            every = axis.majorTicks + axis.minorTicks
            tick_labels.update(id(label) for tick in every for label in (tick.label1, tick.label2))
            if not axis.get_visible():
                continue
            for tick in axis._update_ticks():  # the ticks drawn, as Axis.draw picks them
                for label in (tick.label1, tick.label2):
                    if tick.get_visible() and label.get_visible() and label.get_text().strip():
                        texts.append((f"{axis.axis_name} tick label {label.get_text()!r}",
                                      label.get_window_extent(renderer), id(axis)))
    for index, text in enumerate(fig.findobj(Text)):
        if id(text) in tick_labels or not text.get_visible() or not text.get_text().strip():
            continue
        if text.axes is not None and not text.axes.get_visible():
            continue
        # an annotation's own extent includes its leader line; the text is what must stay legible
        texts.append((f"text {text.get_text()!r}", Text.get_window_extent(text, renderer), -1 - index))
    return texts


def _overlap(a: Bbox, b: Bbox) -> bool:
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > TOLERANCE) and (min(a.y1, b.y1) - max(a.y0, b.y0) > TOLERANCE)


def text_problems(fig: Figure) -> list[str]:
    """Why the figure's PNG would be hard to read; empty when every text is whole and apart."""
    own_dpi = fig.dpi
    fig.dpi = FIGURE_DPI
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    region = png_region(fig, renderer)
    texts = drawn_texts(fig, renderer)
    problems = []
    for what, box, _ in texts:
        if (box.x0 < region.x0 - TOLERANCE or box.y0 < region.y0 - TOLERANCE or box.x1 > region.x1 + TOLERANCE
                or box.y1 > region.y1 + TOLERANCE):
            problems.append(f"{what} at {np.round(box.extents, 1)} is cut off: the PNG shows "
                            f"{np.round(region.extents, 1)}")
    for (what_a, a, group_a), (what_b, b, group_b) in itertools.combinations(texts, 2):
        if _overlap(a, b) and (group_a == group_b or group_a < 0 or group_b < 0):
            problems.append(f"{what_a} overlaps {what_b}")
    fig.dpi = own_dpi
    return problems


def assert_legible(fig: Figure) -> None:
    problems = text_problems(fig)
    assert not problems, f"{len(problems)} problems, e.g.\n" + "\n".join(problems[:8])


# ----------------------------------------------------------------------------
# frames and the figures drawn from them
# ----------------------------------------------------------------------------
def _even(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    return np.ascontiguousarray(rgb[: h - h % 2, : w - w % 2])


def _synthetic(h: int, w: int) -> np.ndarray:
    """A frame with gradients and a colour edge, so every panel has structure (and a round-trip error)."""
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([(xx * 255 // max(w - 1, 1)), (yy * 255 // max(h - 1, 1)), ((xx + yy) % 64) * 4], axis=-1)
    rgb[:, w // 2:, 0] = 250
    return rgb.astype(np.uint8)


FRAMES = {p.stem: p for p in photo_paths()}
FRAMES.update({"48x192 (wide)": (48, 192), "192x48 (tall)": (192, 48), "2x4000 strip": (2, 4000),
               "4000x2 column": (4000, 2)})


def _frame(name: str) -> np.ndarray:
    spec = FRAMES[name]
    if isinstance(spec, tuple):
        return _synthetic(*spec)
    return _even(nv12kit.load_image(spec))


def _dense(rgb: np.ndarray, shift: float) -> np.ndarray:
    return (np.moveaxis(rgb.astype(np.float32), -1, 0)[None] / 255 + shift * (rgb[None, None, :, :, 0] > 128))


def _roi_crop(rgb: np.ndarray) -> object:
    h, w = rgb.shape[:2]
    roi = (w // 4, h // 4, max(3 * w // 4, w // 4 + 1), max(3 * h // 4, h // 4 + 1))
    crop = nv12kit.resize_to(rgb[roi[1]:roi[3], roi[0]:roi[2]], 128, 128)
    return plots.plot_roi_crop(rgb, roi, crop)


FRAME_FIGURES = {
    "planes": lambda rgb: plots.plot_planes(nv12kit.rgb_to_nv12(rgb)),
    "roi_crop": _roi_crop,
    "roundtrip_error": lambda rgb: plots.plot_roundtrip_error(rgb, nv12kit.nv12_to_rgb(nv12kit.rgb_to_nv12(rgb))),
    "conversion_error": lambda rgb: plots.plot_conversion_error(
        rgb, nv12kit.rgb_to_nv12(rgb, convention="opencv"), subject="your converter's frame"),
    "output_diff": lambda rgb: plots.plot_output_diff(_dense(rgb, 0.0), _dense(rgb, 0.1)),
}


@pytest.mark.parametrize("frame", list(FRAMES))
@pytest.mark.parametrize("figure", list(FRAME_FIGURES))
def test_frame_figures_are_legible_at_any_aspect(figure, frame):
    assert_legible(FRAME_FIGURES[figure](_frame(frame)))


def test_planes_of_a_1080p_frame_are_legible():
    assert_legible(plots.plot_planes(nv12kit.rgb_to_nv12(_synthetic(1080, 1920))))


def test_output_diffs_side_by_side_are_legible():
    rgb = _frame("48x192 (wide)")
    assert_legible(plots.plot_output_diffs(_dense(rgb, 0), {"noise ±2, trial 1 vs clean": _dense(rgb, 0.05),
                                                            "NV12 round trip vs clean": _dense(rgb, 0.2)}))


def _study() -> NoiseStudy:
    rng = np.random.default_rng(1)
    cos = {a: 1.0 - 1e-6 * a**2 * rng.uniform(0.5, 1.5, 40) for a in (1.0, 2.0, 3.0)}
    return NoiseStudy(amplitudes=(1.0, 2.0, 3.0), distribution="symmetric", trials=40, seed=0, output="logits",
                      cosines=cos, per_output={"logits": cos}, roundtrip={"horizon": 1 - 4e-6, "opencv": 1 - 3e-5})


@pytest.mark.parametrize("log_scale", [True, False])
def test_noise_figures_are_legible(log_scale):
    assert_legible(plots.plot_cosine_histograms(_study(), log_scale=log_scale))
    assert_legible(plots.plot_cosine_vs_amplitude(_study(), log_scale=log_scale, selected=2.0,
                                                  nv12_loss={"qat_nv12 on device": 0.99981}))


def big_model(nodes: int = 560, *, compare: str = "nv12", seed: int = 0):
    """A LayerDivergence of a ~560-node model with long node names, culprits close together in depth,
    and a lossless Add with the largest growth (PP-OCR det's +63 dB Add)."""
    from nv12kit.layers import LayerDivergence, LayerRow

    rng = np.random.default_rng(seed)
    loss = 3e-3 if compare == "nv12" else 2e-4
    rows = [LayerRow(0, "image", "Input", "image", (1, 3, 640, 640), 1 - loss, 1 - loss, 0.05, 20.0, 1 - loss, 0.0)]
    for depth in range(1, nodes):
        before = loss
        jump = {120: 8.0, 123: 5.0, 126: 4.0, 300: 3.0, 302: 2.5}.get(depth, 1.0)
        loss = float(np.clip(loss * jump * rng.uniform(0.93, 1.07), 1e-6, 0.5))
        op = ["Conv", "BatchNormalization", "Relu", "Add", "Resize"][depth % 5]
        name = f"/backbone/stage{depth // 100}/block{depth % 100}/{op}_output_{depth}"
        rows.append(LayerRow(depth, name, op, f"t{depth}", (1, 64, 80, 80), 1 - loss, 1 - loss, 0.1, 20.0,
                             1 - before, 10 * math.log10(loss / before)))
    # a side branch fed by constants: exact, then 0.999998 (+63 dB, loses nothing)
    rows.append(LayerRow(min(200, nodes // 2), "/neck/pos_embed/Add", "Add", "pos", (1, 64, 80, 80), 0.999998,
                         0.999998, 1e-3, 60.0, 1 - 1e-12, 63.0))
    rows.sort(key=lambda row: row.depth)
    return LayerDivergence(compare, f"{compare} (horizon)", tuple(rows), settings={"model": "ppocr_det.onnx"})


def test_layer_figure_of_a_560_node_model_is_legible_and_names_culprit_1():
    nv12, noise = big_model(), big_model(compare="noise", seed=1)
    fig = plots.plot_layer_divergence(nv12, others=[noise])
    assert_legible(fig)
    first = nv12.culprits(1)[0]
    assert first.node != "/neck/pos_embed/Add"
    texts = [t.get_text() for t in fig.findobj(Text) if t.get_visible()]
    assert any(first.node in text or "#1" in text for text in texts)
    assert not any("pos_embed" in text for text in texts)


def test_layer_figure_of_a_small_model_is_legible():
    assert_legible(plots.plot_layer_divergence(big_model(12)))


# ----------------------------------------------------------------------------
# the checker can fail, and it checks what the PNG shows
# ----------------------------------------------------------------------------
def test_the_checker_catches_text_outside_the_png():
    fig = Figure(figsize=(3, 2))
    fig.add_subplot().set_title("fine")
    fig.text(1.3, 0.5, "spills out", in_layout=False)  # outside the figure and left out of the tight box
    assert any("spills out" in p and "cut off" in p for p in text_problems(fig))


def test_the_checker_catches_overlapping_tick_labels_and_texts():
    fig = Figure(figsize=(3, 2))
    ax = fig.add_subplot()
    ax.set_xlim(0, 4000)
    ax.set_xticks(range(0, 4001, 250))
    ax.text(0.5, 0.5, "one", transform=ax.transAxes)
    ax.text(0.5, 0.5, "two", transform=ax.transAxes)
    problems = text_problems(fig)
    assert any(p.startswith("x tick label") and "overlaps x tick label" in p for p in problems)
    assert any("'one' overlaps text 'two'" in p for p in problems)


def test_the_png_is_the_region_the_checker_checks():
    fig = plots.plot_roundtrip_error(_frame("48x192 (wide)"), _frame("48x192 (wide)"))
    text_problems(fig)
    canvas = FigureCanvasAgg(fig)
    fig.dpi = FIGURE_DPI
    canvas.draw()
    # the margin is clipped where the contents touch the canvas's edge
    region = Bbox.intersection(png_region(fig, canvas.get_renderer()), fig.bbox)
    png = plots.figure_to_png_bytes(fig)
    size = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert abs(size[0] - region.width) <= 2 and abs(size[1] - region.height) <= 2


@pytest.mark.parametrize("figure", ["planes", "roundtrip_error"])
def test_figures_stay_legible_where_matplotlib_lacks_the_private_tick_settings(monkeypatch, figure):
    # The explicit layout reads tick settings from a private matplotlib attribute; a release without it must
    # still give whole labels (the rcParams defaults are larger, so margins grow rather than shrink).
    from nv12kit.plots import _layout

    monkeypatch.setattr(_layout, "_tick_kw", lambda axis, which: {})
    assert_legible(FRAME_FIGURES[figure](_frame("48x192 (wide)")))
    assert_legible(FRAME_FIGURES[figure](_synthetic(224, 224)))


def _study_over(low: float, high: float, nv12: float) -> NoiseStudy:
    """A study whose ``1 - cos`` spans low..high across the amplitudes, as real models give (1-2 decades)."""
    rng = np.random.default_rng(2)
    centres = np.geomspace(low, high, 3)
    cos = {a: 1.0 - c * rng.uniform(0.8, 1.2, 20) for a, c in zip((1.0, 2.0, 3.0), centres)}
    return NoiseStudy(amplitudes=(1.0, 2.0, 3.0), distribution="symmetric", trials=20, seed=0, output="logits",
                      cosines=cos, per_output={"logits": cos}, roundtrip={"horizon": nv12})


@pytest.mark.parametrize("low, high, nv12", [(1.6e-4, 8e-4, 1 - 3.1e-3), (2e-6, 5e-6, 1 - 1e-5),
                                             (1e-5, 1e-2, 0.9), (3e-4, 4e-4, 1 - 4.5e-4)])
def test_log_axes_label_only_the_minor_ticks_that_fit(low, high, nv12):
    # EfficientNet-lite-like numbers: labels 3x10^-4 and 4x10^-4 used to overlap on the histogram's axis.
    study = _study_over(low, high, nv12)
    assert_legible(plots.plot_cosine_histograms(study))
    assert_legible(plots.plot_cosine_vs_amplitude(study, nv12_loss={"qat_nv12 (node)": nv12}))


@pytest.mark.parametrize("count", [2, 12])
def test_convention_sensitivity_chart_is_legible(count):
    cosines = {"horizon": 0.74, **{f"horizon (candidate {i})": 1 - 10 ** (-1 - i / 3) for i in range(count - 1)}}
    assert_legible(plots.plot_convention_sensitivity(cosines))
