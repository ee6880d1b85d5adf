"""Figures in nv12kit.plots: object API only, numbers in the titles, clear refusals of bad input."""

from __future__ import annotations

import base64
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.figure import Figure  # noqa: E402

import nv12kit  # noqa: E402
from nv12kit import InputError  # noqa: E402
from nv12kit.noise import NoiseStudy  # noqa: E402
from nv12kit.plots import (  # noqa: E402
    figure_to_data_uri,
    figure_to_png_bytes,
    plot_conversion_error,
    plot_cosine_histograms,
    plot_cosine_vs_amplitude,
    plot_layer_divergence,
    plot_output_diff,
    plot_output_diffs,
    plot_planes,
    plot_roundtrip_error,
)
from nv12kit.roundtrip import image_error  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _rgb(h: int = 16, w: int = 24, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _study(cosines: dict[float, list[float]] | None = None, *, roundtrip: dict[str, float] | None = None,
           distribution: str = "symmetric") -> NoiseStudy:
    """A NoiseStudy built directly: 1 - cos grows with the amplitude, like a real model's."""
    if cosines is None:
        rng = np.random.default_rng(1)
        cosines = {a: list(1.0 - 1e-6 * a**2 * rng.uniform(0.5, 1.5, 20)) for a in (1.0, 2.0, 3.0)}
    cos = {float(a): np.asarray(v, np.float64) for a, v in cosines.items()}
    trials = max((len(v) for v in cos.values()), default=0)
    return NoiseStudy(amplitudes=tuple(sorted(cos)), distribution=distribution, trials=trials, seed=0,
                      output="logits", cosines=cos, per_output={"logits": cos},
                      roundtrip={"horizon": 1 - 4e-6} if roundtrip is None else roundtrip)


def _layers():
    """A small LayerDivergence built directly: three layers, the middle one a culprit."""
    from nv12kit.layers import LayerDivergence, LayerRow

    rows = tuple(LayerRow(d, f"n{d}", "Conv", f"t{d}", (1, 4), c, c, 0.1, 20.0, c, g)
                 for d, c, g in [(0, 0.999, 0.0), (1, 0.99, 10.0), (2, 0.98, 3.0)])
    return LayerDivergence("nv12", "nv12 (horizon)", rows)


def _new_ax() -> tuple[Figure, object]:
    fig = Figure()
    return fig, fig.add_subplot()


def _legend_texts(fig: Figure) -> list[str]:
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    return [t.get_text() for legend in legends for t in legend.get_texts()]


# ----------------------------------------------------------------------------
# importing and rendering leave pyplot alone
# ----------------------------------------------------------------------------
def test_import_and_drawing_do_not_touch_pyplot_or_the_backend():
    code = textwrap.dedent("""
        import sys
        import matplotlib
        before = matplotlib.rcParams._get_backend_or_none()
        import numpy as np, nv12kit
        from nv12kit import plots
        assert "matplotlib.pyplot" not in sys.modules, "import pulled in pyplot"
        fig = plots.plot_planes(nv12kit.rgb_to_nv12(np.zeros((4, 4, 3), np.uint8)))
        plots.figure_to_png_bytes(fig, dpi=20)
        assert "matplotlib.pyplot" not in sys.modules, "drawing pulled in pyplot"
        assert matplotlib.rcParams._get_backend_or_none() == before, "backend changed"
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_module_exports_every_picture_and_nothing_private():
    import nv12kit.plots as plots

    for name in ("plot_planes", "plot_roundtrip_error", "plot_output_diff", "plot_cosine_histograms",
                 "plot_cosine_vs_amplitude", "plot_layer_divergence", "plot_conversion_error", "plot_output_diffs",
                 "figure_to_png_bytes", "figure_to_data_uri"):
        assert name in plots.__all__
    assert all(not name.startswith("_") for name in plots.__all__)
    assert all(callable(getattr(plots, name)) for name in plots.__all__)


# ----------------------------------------------------------------------------
# 1. planes
# ----------------------------------------------------------------------------
def test_planes_show_y_full_and_chroma_half_resolution_with_sizes_in_titles():
    frame = nv12kit.rgb_to_nv12(_rgb(16, 24))
    fig = plot_planes(frame)
    assert isinstance(fig, Figure)
    panels = [ax for ax in fig.axes if ax.get_images()]
    assert len(panels) == 3
    shapes = [ax.get_images()[0].get_array().shape for ax in panels]
    assert shapes == [(16, 24), (8, 12), (8, 12)]
    titles = [ax.get_title() for ax in panels]
    assert "24×16" in titles[0] and "12×8" in titles[1] and "12×8" in titles[2]
    assert f"values {frame.y.min()}–{frame.y.max()}" in titles[0]
    assert f"{frame.u.min()}–{frame.u.max()}" in titles[1]
    assert f"{frame.v.min()}–{frame.v.max()}" in titles[2]


def test_planes_draw_y_in_grey_and_chroma_centred_on_128():
    frame = nv12kit.rgb_to_nv12(_rgb())
    images = [ax.get_images()[0] for ax in plot_planes(frame).axes if ax.get_images()]
    assert images[0].get_cmap().name == "gray"
    assert images[0].get_clim() == (0, 255)
    for image in images[1:]:
        lo, hi = image.get_clim()
        assert (lo + hi) / 2 == 128 and hi - 128 >= 16
    u_dev = np.abs(frame.u.astype(int) - 128).max()
    assert images[1].get_clim()[1] >= 128 + u_dev  # no chroma value is clipped


def test_planes_on_given_axes_return_that_figure_and_keep_its_title():
    fig = Figure()
    fig.suptitle("mine")
    axes = fig.subplots(1, 3)
    out = plot_planes(nv12kit.rgb_to_nv12(_rgb()), axes=axes, title="frame 7")
    assert out is fig
    assert fig.get_suptitle() == "mine"
    assert axes[0].get_title().startswith("frame 7\n")
    assert all(len(ax.get_images()) == 1 for ax in axes)


def test_planes_title_becomes_the_suptitle_of_a_new_figure():
    fig = plot_planes(nv12kit.rgb_to_nv12(_rgb()), title="camera 2")
    assert fig.get_suptitle() == "camera 2"


def test_planes_refuse_an_rgb_array_and_say_how_to_convert():
    with pytest.raises(InputError, match="rgb_to_nv12"):
        plot_planes(_rgb())


@pytest.mark.parametrize("count", [2, 4])
def test_planes_refuse_the_wrong_number_of_axes(count):
    fig = Figure()
    with pytest.raises(InputError, match=f"three Axes.*got {count}"):
        plot_planes(nv12kit.rgb_to_nv12(_rgb()), axes=fig.subplots(1, count))


def test_planes_refuse_a_single_axes_and_show_how_to_make_three():
    with pytest.raises(InputError, match=r"fig.subplots\(1, 3\)"):
        plot_planes(nv12kit.rgb_to_nv12(_rgb()), axes=Figure().add_subplot())


def test_planes_refuse_axes_from_different_figures():
    axes = [Figure().add_subplot() for _ in range(3)]
    with pytest.raises(InputError, match="same figure"):
        plot_planes(nv12kit.rgb_to_nv12(_rgb()), axes=axes)


# ----------------------------------------------------------------------------
# 2. round-trip error
# ----------------------------------------------------------------------------
def test_roundtrip_error_title_carries_psnr_mae_and_max_from_image_error():
    rgb = _rgb()
    back = nv12kit.nv12_to_rgb(nv12kit.rgb_to_nv12(rgb))
    fig = plot_roundtrip_error(rgb, back)
    psnr, mae, max_abs = image_error(rgb, back)
    title = fig.axes[0].get_title()
    assert f"PSNR {psnr:.2f} dB" in title and f"MAE {mae:.3f}" in title and f"max {max_abs} levels" in title


@pytest.mark.parametrize("reduce", ["max", "mean"])
def test_roundtrip_error_map_reduces_channels_as_asked(reduce):
    rgb = np.zeros((2, 4, 3), np.uint8)
    back = rgb.copy()
    back[0, 0] = (3, 6, 9)
    fig = plot_roundtrip_error(rgb, back, reduce=reduce)
    image = fig.axes[0].get_images()[0]
    assert image.get_array()[0, 0] == (9 if reduce == "max" else 6)
    assert image.get_array()[1].max() == 0
    assert image.get_clim() == (0, 9 if reduce == "max" else 6)
    # the reduction is named in the title: a colour bar below a wide image has no room for it (issue 18)
    assert f"{reduce} over R, G, B" in fig.axes[0].get_title()
    assert "|RGB − decoded|" in image.colorbar.ax.get_xlabel() + image.colorbar.ax.get_ylabel()


def test_roundtrip_error_of_identical_images_says_infinite_psnr():
    rgb = _rgb()
    fig = plot_roundtrip_error(rgb, rgb.copy())
    assert "∞" in fig.axes[0].get_title()
    assert fig.axes[0].get_images()[0].get_clim() == (0, 1)  # a usable scale, not 0..0


def test_roundtrip_error_fixed_vmax_clips_and_extends_the_colourbar():
    rgb = np.zeros((2, 2, 3), np.uint8)
    back = np.full((2, 2, 3), 40, np.uint8)
    fig = plot_roundtrip_error(rgb, back, vmax=10, title="custom")
    assert fig.axes[0].get_images()[0].get_clim() == (0, 10)
    assert fig.axes[0].get_title().startswith("custom\nPSNR")
    assert fig.axes[0].get_images()[0].colorbar.extend == "max"


def test_roundtrip_error_draws_on_a_given_ax():
    fig, ax = _new_ax()
    assert plot_roundtrip_error(_rgb(), _rgb(seed=1), ax=ax) is fig
    assert len(ax.get_images()) == 1


def test_roundtrip_error_refuses_mismatched_shapes_with_both_shapes():
    with pytest.raises(InputError, match=r"\(16, 24, 3\).*\(16, 22, 3\)"):
        plot_roundtrip_error(_rgb(16, 24), _rgb(16, 22))


@pytest.mark.parametrize("bad, pattern", [
    (np.zeros((4, 4, 3), np.float32), "uint8"),
    (np.zeros((4, 4), np.uint8), r"\(H, W, 3\)"),
    ([[1, 2]], "numpy array"),
])
def test_roundtrip_error_refuses_non_images(bad, pattern):
    with pytest.raises(InputError, match=pattern):
        plot_roundtrip_error(bad, bad)


@pytest.mark.parametrize("kwargs, pattern", [
    ({"reduce": "median"}, "reduce"),
    ({"vmax": 0}, "vmax"),
    ({"vmax": float("nan")}, "vmax"),
    ({"vmax": "big"}, "vmax"),
    ({"ax": "not an axes"}, "Axes"),
])
def test_roundtrip_error_refuses_bad_options(kwargs, pattern):
    with pytest.raises(InputError, match=pattern):
        plot_roundtrip_error(_rgb(), _rgb(), **kwargs)


# ----------------------------------------------------------------------------
# 3. dense output difference
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(1, 3, 4, 6), (3, 4, 6), (4, 6)])
def test_output_diff_accepts_dense_layouts(shape):
    a = np.zeros(shape, np.float32)
    b = a + 0.25
    fig = plot_output_diff(a, b)
    image = fig.axes[0].get_images()[0]
    assert image.get_array().shape == (4, 6)
    assert np.allclose(image.get_array(), 0.25)
    assert "mean 0.25, max 0.25" in fig.axes[0].get_title()


def test_output_diff_averages_channels_or_shows_one():
    a = np.zeros((1, 2, 3, 3))
    b = a.copy()
    b[0, 1] = 4.0
    mean_fig = plot_output_diff(a, b)
    assert np.allclose(mean_fig.axes[0].get_images()[0].get_array(), 2.0)
    assert "mean over 2 channels" in mean_fig.axes[0].get_title()
    one = plot_output_diff(a, b, channel=-1)
    assert np.allclose(one.axes[0].get_images()[0].get_array(), 4.0)
    assert "channel 1 of 2" in one.axes[0].get_title()


def test_output_diff_leaves_its_inputs_alone():
    a = np.zeros((1, 2, 3, 3), np.float32)
    b = np.full((1, 2, 3, 3), np.nan, np.float32)
    a_copy, b_copy = a.copy(), b.copy()
    plot_output_diff(a, b, channel=0)
    assert np.array_equal(a, a_copy) and np.array_equal(b, b_copy, equal_nan=True)


def test_output_diff_is_computed_in_float64():
    a = np.full((4, 4), 1e8, np.float32)
    b = a + np.float32(8)  # 1e8 + 8 is exact in float32, the difference is not lost
    fig = plot_output_diff(a, b)
    assert np.allclose(fig.axes[0].get_images()[0].get_array(), 8.0)


def test_output_diff_counts_nan_pixels_instead_of_hiding_them():
    a = np.zeros((1, 1, 4, 4), np.float32)
    b = a.copy()
    b[0, 0, 0, :2] = np.nan
    title = plot_output_diff(a, b).axes[0].get_title()
    assert "2 NaN/Inf pixels" in title


def test_output_diff_draws_on_a_given_ax_with_a_colourbar():
    fig, ax = _new_ax()
    assert plot_output_diff(np.zeros((3, 5)), np.ones((3, 5)), ax=ax, title="seg") is fig
    assert ax.get_title().startswith("seg\n")
    image = ax.get_images()[0]
    assert image.colorbar is not None and "|a − b|" in image.colorbar.ax.get_ylabel()
    assert image.colorbar.ax in ax.child_axes  # beside the map, without taking space from neighbours


@pytest.mark.parametrize("shape", [(1, 10), (4, 1), (10,), (1, 8, 1, 1)])
def test_output_diff_refuses_logits_and_other_non_maps(shape):
    with pytest.raises(InputError, match="H×W"):
        plot_output_diff(np.zeros(shape), np.ones(shape))


def test_output_diff_refuses_a_batch_and_says_how_to_pick_an_item():
    with pytest.raises(InputError, match=r"batch of 2.*a\[i:i \+ 1\]"):
        plot_output_diff(np.zeros((2, 3, 4, 4)), np.zeros((2, 3, 4, 4)))


def test_output_diff_refuses_empty_outputs():
    with pytest.raises(InputError, match="empty"):
        plot_output_diff(np.zeros((0, 3, 4, 4)), np.zeros((0, 3, 4, 4)))


def test_output_diff_refuses_mismatched_shapes_naming_both():
    with pytest.raises(InputError, match=r"\(1, 3, 4, 4\).*\(1, 3, 4, 5\)"):
        plot_output_diff(np.zeros((1, 3, 4, 4)), np.zeros((1, 3, 4, 5)))


@pytest.mark.parametrize("channel", [3, -4, 1.0, True])
def test_output_diff_refuses_a_bad_channel(channel):
    with pytest.raises(InputError, match="channel"):
        plot_output_diff(np.zeros((3, 4, 4)), np.zeros((3, 4, 4)), channel=channel)


def test_output_diff_refuses_non_numeric_data():
    with pytest.raises(InputError, match="real numbers"):
        plot_output_diff(np.array([["a", "b"], ["c", "d"]]), np.array([["a", "b"], ["c", "d"]]))


def test_output_diffs_put_one_titled_panel_per_output_side_by_side():
    ref = np.zeros((1, 2, 4, 6))
    others = {"noise": ref + 0.25, "NV12": ref + np.arange(6)}
    fig = plot_output_diffs(ref, others)
    panels = [ax for ax in fig.axes if ax.get_images()]
    assert [ax.get_title().splitlines()[0] for ax in panels] == ["noise", "NV12"]
    for ax, other in zip(panels, others.values()):  # the same map plot_output_diff draws
        single = plot_output_diff(ref, other).axes[0].get_images()[0].get_array()
        np.testing.assert_array_equal(ax.get_images()[0].get_array(), single)
    own = Figure()
    assert plot_output_diffs(ref, others, axes=own.subplots(1, 2)) is own


@pytest.mark.parametrize(("others", "axes", "pattern"), [
    ({}, None, "non-empty dict"),
    ([np.ones((4, 4))], None, "non-empty dict"),
    ({"a": np.ones((4, 4))}, 2, "one Axes.*got 2"),
    ({"a": np.ones((3, 4))}, None, "shape"),
])
def test_output_diffs_refuse_bad_input(others, axes, pattern):
    given = None if axes is None else Figure().subplots(1, axes)
    with pytest.raises(InputError, match=pattern):
        plot_output_diffs(np.zeros((4, 4)), others, axes=given)


# ----------------------------------------------------------------------------
# 4. cosine histograms
# ----------------------------------------------------------------------------
def test_histograms_default_to_one_minus_cos_on_a_log_axis():
    study = _study()
    fig = plot_cosine_histograms(study)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert "1 − cos" in ax.get_xlabel() and "log" in ax.get_xlabel()
    # one filled and one outlined histogram per amplitude
    assert len(ax.patches) == 2 * len(study.amplitudes)
    texts = _legend_texts(fig)
    for a in study.amplitudes:
        mean = 1 - study.cosines[a].mean()
        assert any(f"noise ±{a:g}: mean 1−cos {mean:.2e}" in t for t in texts)


def test_histograms_mark_each_roundtrip_as_a_labelled_vertical_line():
    study = _study(roundtrip={"horizon": 1 - 4e-6, "opencv": 1 - 5e-5})
    fig = plot_cosine_histograms(study)
    lines = [line for line in fig.axes[0].lines if line.get_label().startswith("NV12 round trip")]
    assert len(lines) == 2
    assert np.allclose([line.get_xdata()[0] for line in lines], [4e-6, 5e-5], rtol=1e-6)
    texts = _legend_texts(fig)
    assert any("(horizon): 1−cos 4.00e-06" in t for t in texts)
    assert any("(opencv): 1−cos 5.00e-05" in t for t in texts)


def test_histograms_linear_scale_shows_the_cosine_itself():
    fig = plot_cosine_histograms(_study(), log_scale=False)
    ax = fig.axes[0]
    assert ax.get_xscale() == "linear"
    assert ax.get_xlabel().startswith("cos(")
    line = next(line for line in ax.lines if "horizon" in line.get_label())
    assert np.isclose(line.get_xdata()[0], 1 - 4e-6)


def test_histograms_put_exact_ones_and_nans_in_the_legend_not_on_the_floor():
    study = _study({1.0: [1.0, 1.0, 1 - 1e-7, np.nan], 2.0: [1 - 1e-6, 1 - 2e-6]}, roundtrip={})
    fig = plot_cosine_histograms(study)
    texts = _legend_texts(fig)
    assert any("2 at 0 (drawn at 1e-08)" in t and "1 NaN left out" in t for t in texts)
    for patch in fig.axes[0].patches:  # every bar on the positive log axis
        assert np.all(patch.get_path().vertices[:, 0] > 0)


def test_histograms_draw_on_a_given_ax_and_keep_the_legend_there_above_the_bars():
    fig, ax = _new_ax()
    assert plot_cosine_histograms(_study(), ax=ax) is fig
    assert ax.get_legend() is not None and not fig.legends
    tallest = max(patch.get_path().vertices[:, 1].max() for patch in ax.patches)
    assert ax.get_ylim()[1] > 1.4 * tallest  # empty room for the legend


def test_axes_in_a_subfigure_give_back_the_figure_that_can_be_saved():
    fig = Figure()
    ax = fig.subfigures(1, 2)[1].add_subplot()
    assert plot_cosine_vs_amplitude(_study(), ax=ax) is fig


def test_histograms_of_a_real_noise_study(real_study):
    fig = plot_cosine_histograms(real_study)
    ax = fig.axes[0]
    assert len(ax.patches) == 2 * len(real_study.amplitudes)
    assert sum(line.get_label().startswith("NV12 round trip") for line in ax.lines) == len(real_study.roundtrip)
    assert f"{real_study.trials} trials" in ax.get_title()


# ----------------------------------------------------------------------------
# 5. cosine against amplitude
# ----------------------------------------------------------------------------
def test_vs_amplitude_plots_mean_p5_and_a_band_on_a_log_axis():
    study = _study()
    fig = plot_cosine_vs_amplitude(study)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    mean = next(line for line in ax.lines if line.get_label() == "mean over trials")
    assert np.allclose(mean.get_xdata(), study.amplitudes)
    assert np.allclose(mean.get_ydata(), [1 - study.cosines[a].mean() for a in study.amplitudes])
    p5 = next(line for line in ax.lines if "5th-percentile" in line.get_label())
    assert np.allclose(p5.get_ydata(), [1 - np.percentile(study.cosines[a], 5) for a in study.amplitudes])
    assert len(ax.collections) == 1  # the best-to-worst band
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3"]


def test_vs_amplitude_marks_the_study_roundtrip_by_default_with_the_matching_noise():
    study = _study(roundtrip={"horizon": 1 - 4e-6})  # mean 1-cos is about 4e-6 at amplitude 2
    fig = plot_cosine_vs_amplitude(study)
    line = next(line for line in fig.axes[0].lines if "horizon" in line.get_label())
    assert np.isclose(line.get_ydata()[0], 4e-6)
    assert "like noise ±2" in line.get_label()


def test_vs_amplitude_marks_user_losses_instead_of_the_roundtrip():
    fig = plot_cosine_vs_amplitude(_study(), nv12_loss={"qat_nv12": 0.999, "quantized_nv12": 0.99})
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert not any("horizon" in label for label in labels)
    qat = next(line for line in fig.axes[0].lines if line.get_label().startswith("qat_nv12"))
    assert np.isclose(qat.get_ydata()[0], 1e-3)
    assert "more than noise ±3" in qat.get_label()
    assert any(t.startswith("quantized_nv12: cos 0.9900") for t in _legend_texts(fig))


def test_vs_amplitude_with_an_empty_loss_dict_draws_no_lines():
    fig = plot_cosine_vs_amplitude(_study(), nv12_loss={})
    assert [line.get_label() for line in fig.axes[0].lines] == ["mean over trials",
                                                               "5th-percentile cosine (worst 5 % of trials)"]


def test_vs_amplitude_linear_scale_shows_the_cosine_itself():
    study = _study()
    fig = plot_cosine_vs_amplitude(study, log_scale=False)
    ax = fig.axes[0]
    assert ax.get_yscale() == "linear"
    mean = next(line for line in ax.lines if line.get_label() == "mean over trials")
    assert np.allclose(mean.get_ydata(), [study.cosines[a].mean() for a in study.amplitudes])
    assert ax.get_ylabel().startswith("cos(")


def test_vs_amplitude_handles_a_single_amplitude():
    fig = plot_cosine_vs_amplitude(_study({2.0: [1 - 1e-6, 1 - 3e-6]}))
    assert len(fig.axes[0].collections) == 1  # the band becomes a vertical bar


def test_vs_amplitude_draws_on_a_given_ax():
    fig, ax = _new_ax()
    assert plot_cosine_vs_amplitude(_study(), ax=ax) is fig
    assert ax.get_legend() is not None


def test_vs_amplitude_marks_the_selected_amplitude():
    plain = plot_cosine_vs_amplitude(_study()).axes[0]
    ax = plot_cosine_vs_amplitude(_study(distribution="gaussian"), selected=2).axes[0]
    assert [t.get_text() for t in ax.texts] == ["selected: σ=2"]
    assert len(ax.get_lines()) == len(plain.get_lines()) + 1
    assert ax.get_lines()[-1].get_xdata()[0] == 2.0
    assert len(_legend_texts(ax.figure)) == len(_legend_texts(plain.figure))  # the marker is not a legend entry
    with pytest.raises(InputError, match="selected"):
        plot_cosine_vs_amplitude(_study(), selected=0)


def test_vs_amplitude_of_a_real_noise_study_names_the_distribution(real_study):
    fig = plot_cosine_vs_amplitude(real_study)
    assert "uniform ±a" in fig.axes[0].get_xlabel()
    assert any("NV12 round trip (horizon)" in t for t in _legend_texts(fig))


@pytest.mark.parametrize("loss, pattern", [
    ([0.99], "dict"),
    ({"x": "high"}, "number"),
    ({"x": 1.5}, r"\[-1, 1\]"),
])
def test_vs_amplitude_refuses_bad_nv12_loss(loss, pattern):
    with pytest.raises(InputError, match=pattern):
        plot_cosine_vs_amplitude(_study(), nv12_loss=loss)


# ----------------------------------------------------------------------------
# bad studies
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("plot", [plot_cosine_histograms, plot_cosine_vs_amplitude])
def test_empty_study_is_refused(plot):
    with pytest.raises(InputError, match="no trial cosines"):
        plot(_study({}))
    with pytest.raises(InputError, match="no trial cosines"):
        plot(_study({1.0: []}))


@pytest.mark.parametrize("plot", [plot_cosine_histograms, plot_cosine_vs_amplitude])
def test_all_nan_study_is_refused_with_the_reason(plot):
    with pytest.raises(InputError, match="NaN.*study.notes"):
        plot(_study({1.0: [np.nan, np.nan]}))


@pytest.mark.parametrize("plot", [plot_cosine_histograms, plot_cosine_vs_amplitude])
def test_something_else_than_a_study_is_refused(plot):
    with pytest.raises(InputError, match="NoiseStudy"):
        plot({1.0: [0.99]})


# ----------------------------------------------------------------------------
# 7. someone's NV12 against the image it was made from
# ----------------------------------------------------------------------------
def test_conversion_error_shows_the_decoded_frame_and_its_luma_error():
    rgb = _rgb(16, 24)
    frame = nv12kit.rgb_to_nv12(rgb, convention="bt709-full")
    fig = plot_conversion_error(rgb, frame, subject="my dump")
    source, decoded, luma = fig.axes[:3]
    np.testing.assert_array_equal(source.get_images()[0].get_array(), rgb)
    theirs = nv12kit.nv12_to_rgb(frame, convention="horizon")
    np.testing.assert_array_equal(decoded.get_images()[0].get_array(), theirs)
    psnr, mae, _ = image_error(rgb, theirs)
    # wrapped to the panel's width (issue 18: long titles ran into the neighbouring panel)
    assert decoded.get_title() == f"my dump, decoded as the chip does\n(horizon)\nPSNR {psnr:.1f} dB, MAE {mae:.2f}"
    expected = np.abs(frame.y.astype(int) - nv12kit.rgb_to_nv12(rgb, convention="horizon").y.astype(int))
    np.testing.assert_array_equal(luma.get_images()[0].get_array(), expected)
    assert f"max {expected.max()} levels" in luma.get_title() and expected.max() > 0


def test_conversion_error_of_an_honest_frame_is_zero_under_its_convention():
    rgb = _rgb()
    fig = plot_conversion_error(rgb, nv12kit.rgb_to_nv12(rgb, convention="opencv"), convention="opencv")
    assert fig.axes[2].get_title() == "|Y − nv12kit's opencv Y|\nmean 0.00, max 0 levels"


def test_conversion_error_draws_on_three_given_axes():
    fig = Figure()
    axes = fig.subplots(1, 3)
    rgb = _rgb()
    assert plot_conversion_error(rgb, nv12kit.rgb_to_nv12(rgb), axes=axes) is fig
    assert all(ax.get_images() for ax in axes)
    with pytest.raises(InputError, match="three Axes"):
        plot_conversion_error(rgb, nv12kit.rgb_to_nv12(rgb), axes=axes[:2])


def test_conversion_error_refuses_what_it_cannot_compare():
    rgb = _rgb(16, 24)
    with pytest.raises(InputError, match="the frame is 12x8 but the image is 24x16"):
        plot_conversion_error(rgb, nv12kit.rgb_to_nv12(_rgb(8, 12)))
    with pytest.raises(InputError, match="looks like an RGB image"):
        plot_conversion_error(rgb, rgb)
    with pytest.raises(InputError, match="uint8"):
        plot_conversion_error(rgb.astype(np.float32), nv12kit.rgb_to_nv12(rgb))
    with pytest.raises(nv12kit.ConventionError):
        plot_conversion_error(rgb, nv12kit.rgb_to_nv12(rgb), convention="bt999")


# ----------------------------------------------------------------------------
# 8. figures for HTML reports
# ----------------------------------------------------------------------------
def test_png_bytes_are_a_png_of_the_right_size_without_a_url():
    fig = Figure(figsize=(2, 1))
    png = figure_to_png_bytes(fig, dpi=50)
    assert png.startswith(PNG_SIGNATURE)
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (100, 50)
    assert b"http" not in png


def test_data_uri_wraps_the_same_png_in_base64():
    fig = plot_roundtrip_error(_rgb(), _rgb(seed=1))
    uri = figure_to_data_uri(fig, dpi=30)
    prefix = "data:image/png;base64,"
    assert uri.startswith(prefix)
    png = base64.b64decode(uri[len(prefix):], validate=True)
    assert png.startswith(PNG_SIGNATURE)
    # Cropped to what is drawn plus a small margin: never wider than the figure at 30 dpi, and not much
    # narrower (constrained layout fills the figure).
    width = int.from_bytes(png[16:20], "big")
    assert 0.85 * fig.get_figwidth() * 30 <= width <= round(fig.get_figwidth() * 30)


def test_every_picture_renders_to_png(real_study):
    a = np.zeros((1, 2, 4, 4), np.float32)
    figures = [
        plot_planes(nv12kit.rgb_to_nv12(_rgb())),
        plot_roundtrip_error(_rgb(), _rgb(seed=1)),
        plot_output_diff(a, a + 1),
        plot_output_diffs(a, {"one": a + 1, "two": a - 1}),
        plot_cosine_histograms(real_study),
        plot_cosine_vs_amplitude(real_study),
        plot_layer_divergence(_layers()),
        plot_conversion_error(_rgb(), nv12kit.rgb_to_nv12(_rgb())),
    ]
    for fig in figures:
        assert figure_to_png_bytes(fig, dpi=30).startswith(PNG_SIGNATURE)


@pytest.mark.parametrize("fig, dpi, pattern", [
    ("figure.png", 100, "Figure"),
    (None, 0, "dpi"),
    (None, True, "dpi"),
])
def test_png_refuses_a_non_figure_or_a_bad_dpi(fig, dpi, pattern):
    with pytest.raises(InputError, match=pattern):
        figure_to_png_bytes(Figure() if fig is None else fig, dpi=dpi)


def test_png_of_an_axes_suggests_its_figure():
    fig, ax = _new_ax()
    with pytest.raises(InputError, match="ax.figure"):
        figure_to_png_bytes(ax)


# ----------------------------------------------------------------------------
# a small real study, shared
# ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_study() -> NoiseStudy:
    import onnx_models as om

    from nv12kit.noise import noise_study

    rgb = np.random.default_rng(3).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    return noise_study(om.classifier(32), rgb, nv12kit.Preprocess(mean=128, std=64), trials=5, progress=False)
