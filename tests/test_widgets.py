"""Every widget in nv12kit.widgets, driven headless: set a control's value, check what it produced.

Each widget is compared with the plain function of nv12kit.explore it wraps (so
no logic hides in a callback), and the plain functions against independent
references where one exists (OpenCV's I420 encoder, the noise study itself, the
triage).
"""

from __future__ import annotations

import pathlib
import re
import shutil
import subprocess
import sys
import textwrap
import warnings

import cv2
import numpy as np
import onnx_models
import pytest

import nv12kit
from nv12kit import explore, widgets
from nv12kit.data import model_path, photo_path, photo_paths
from nv12kit.errors import InputError
from nv12kit.noise import noise_study

PNG = b"\x89PNG\r\n\x1a\n"
ROBUST, FRAGILE = str(model_path("demo_robust")), str(model_path("demo_fragile"))
DEMO_PRE = nv12kit.Preprocess.from_torch(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))


def _is_png(image_widget) -> bool:
    return bytes(image_widget.value).startswith(PNG)


def _opencv_converter_code() -> str:
    return "def rgb_to_nv12(rgb):\n    return nv12kit.rgb_to_nv12(rgb, convention='opencv')\n"


# ----------------------------------------------------------------------------
# model picker
# ----------------------------------------------------------------------------
def test_model_picker_starts_on_a_bundled_demo_and_shows_its_input_and_preprocessing():
    picker = widgets.model_picker()
    assert picker.demo.value == "demo_robust"
    assert picker.value == ROBUST
    assert picker.result.size == (128, 128)
    assert picker.result.preprocess == DEMO_PRE
    assert picker.result.outputs == [("logits", "[N, 6]")]
    assert "image [N, 3, 128, 128] float32 (NCHW)" in picker.info.value
    assert "x / 255" in picker.info.value
    assert picker.error is None and picker.message.value == ""


def test_choosing_a_demo_in_the_dropdown_fills_the_path_and_describes_it():
    picker = widgets.model_picker()
    picker.demo.value = "demo_fragile"
    assert picker.path.value == FRAGILE
    assert picker.result.label == "demo_fragile.onnx"
    assert str(picker.result) == str(explore.describe_model(FRAGILE))


def test_a_missing_model_is_shown_as_an_error_not_raised():
    picker = widgets.model_picker()
    picker.path.value = "/no/such/model.onnx"
    assert picker.result is None
    assert "does not exist" in picker.error
    assert "does not exist" in picker.message.value
    assert picker.demo.value.startswith("(your model")
    picker.demo.value = "demo_robust"  # and it recovers
    assert picker.error is None and picker.result.label == "demo_robust.onnx"


def test_a_model_without_preprocessing_metadata_is_described_with_what_to_do(tmp_path):
    path = tmp_path / "plain.onnx"
    nv12kit.save_model(onnx_models.classifier(32), path)
    picker = widgets.model_picker(path)
    assert picker.demo.value.startswith("(your model")
    assert picker.result.preprocess is None
    assert "give the preprocessing yourself" in picker.result.preprocess_source
    given = widgets.model_picker(path, preprocess={"mean": 128, "std": 64})
    assert given.result.preprocess == nv12kit.Preprocess(mean=128, std=64)
    assert given.result.preprocess_source == "given"


def test_describe_model_takes_a_model_proto_too():
    choice = explore.describe_model(nv12kit.load_model(ROBUST))
    assert choice.label == "ModelProto" and choice.path is None and choice.size == (128, 128)
    assert "<table" in choice._repr_html_()


def test_describe_model_rejects_a_bad_preprocess_with_the_expected_forms():
    with pytest.raises(InputError, match="must be an nv12kit.Preprocess, a dict"):
        explore.describe_model(ROBUST, preprocess=[1, 2, 3])


# ----------------------------------------------------------------------------
# image picker
# ----------------------------------------------------------------------------
def test_image_picker_lists_the_bundled_photos_and_fits_the_chosen_one_to_even_sides():
    picker = widgets.image_picker()
    assert [label for label, _ in picker.files.options] == ["astronaut.png", "chelsea_odd.png", "coffee.png"]
    assert picker.value == str(photo_path("astronaut"))
    assert _is_png(picker.preview)
    picker.files.value = str(photo_path("chelsea_odd"))
    assert picker.result.rgb.shape == (150, 224, 3)  # 225 wide: cropped to even for NV12
    assert picker.result.original_shape == (150, 225)
    assert "cropped" in picker.info.value


def test_image_picker_resizes_to_the_model_size():
    picker = widgets.image_picker(size=(64, 96))
    assert picker.result.rgb.shape == (64, 96, 3)
    expected = nv12kit.resize_to(nv12kit.load_image(photo_path("astronaut")), 64, 96)
    np.testing.assert_array_equal(picker.result.rgb, expected)


def test_image_picker_follows_a_new_folder_and_a_single_file(tmp_path):
    from PIL import Image

    shutil.copy(photo_path("coffee"), tmp_path / "b.png")
    Image.fromarray(nv12kit.load_image(photo_path("coffee"))).save(tmp_path / "a.jpg")
    (tmp_path / "notes.txt").write_text("not an image")
    picker = widgets.image_picker()
    picker.folder.value = str(tmp_path)
    assert [label for label, _ in picker.files.options] == ["a.jpg", "b.png"]
    assert picker.value == str(tmp_path / "a.jpg") and picker.result.path == str(tmp_path / "a.jpg")
    picker.folder.value = str(tmp_path / "b.png")
    assert [label for label, _ in picker.files.options] == ["b.png"]
    assert picker.result.rgb.shape == (200, 300, 3)


def test_image_picker_shows_an_empty_or_missing_folder_as_an_error(tmp_path):
    picker = widgets.image_picker()
    picker.folder.value = str(tmp_path)
    assert "holds no image files" in picker.error
    assert picker.files.options == () and picker.result is None
    picker.folder.value = str(tmp_path / "missing")
    assert "does not exist" in picker.error


# ----------------------------------------------------------------------------
# convention picker
# ----------------------------------------------------------------------------
def test_convention_picker_offers_every_preset_and_shows_the_chosen_summary():
    picker = widgets.convention_picker()
    assert list(picker.dropdown.options) == list(nv12kit.CONVENTIONS)
    assert picker.value == "horizon" and picker.convention is nv12kit.CONVENTIONS["horizon"]
    for name, conv in nv12kit.CONVENTIONS.items():
        picker.dropdown.value = name
        assert picker.convention is conv
        assert conv.summary() in picker.summary.value.replace("&#x27;", "'")
        assert explore.convention_summary(name).startswith(conv.summary())


def test_convention_picker_accepts_a_custom_convention():
    custom = nv12kit.get_convention("horizon").replace(name="my-chip", chroma_up="bilinear")
    picker = widgets.convention_picker(custom)
    assert picker.value == "my-chip" and picker.convention == custom
    assert "up bilinear" in picker.summary.value


# ----------------------------------------------------------------------------
# plane viewer
# ----------------------------------------------------------------------------
def test_plane_viewer_draws_planes_and_error_and_follows_the_convention():
    viewer = widgets.plane_viewer(size=(128, 128))
    assert viewer.error is None
    assert _is_png(viewer.planes) and _is_png(viewer.error_map)
    first = viewer.result
    assert first.convention == "horizon" and first.rgb.shape == (128, 128, 3)
    viewer.convention.dropdown.value = "opencv"
    assert viewer.result.convention == "opencv"
    # The viewer's frame is OpenCV's own I420 encoding, interleaved: an external reference.
    rgb = viewer.result.rgb
    i420 = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)
    np.testing.assert_array_equal(viewer.result.frame.y, i420[:128])
    np.testing.assert_array_equal(viewer.result.frame.u, i420[128:160].reshape(64, 64))
    assert viewer.result.psnr != first.psnr
    assert "opencv" in viewer.stats.value


def test_plane_viewer_follows_the_image_and_matches_the_plain_function():
    viewer = widgets.plane_viewer()
    viewer.image.files.value = str(photo_path("coffee"))
    plain = explore.plane_view_figures(photo_path("coffee"))
    assert viewer.result.name == "coffee.png"
    assert (viewer.result.psnr, viewer.result.mae, viewer.result.max_error) == (plain.psnr, plain.mae,
                                                                               plain.max_error)
    assert viewer.result.frame == plain.frame


def test_plane_view_numbers_are_the_round_trip_error_of_the_frame():
    view = explore.plane_view_figures(photo_path("chelsea_odd"), convention="bt709-limited")
    decoded = nv12kit.nv12_to_rgb(view.frame, convention="bt709-limited")
    diff = np.abs(view.rgb.astype(int) - decoded.astype(int))
    assert view.max_error == diff.max()
    assert view.mae == pytest.approx(diff.mean())
    assert view.psnr == pytest.approx(10 * np.log10(255**2 / np.mean(diff.astype(float) ** 2)))
    assert view.notes and "cropped" in view.notes[0]
    html = view._repr_html_()
    # the two figures and the image beside its round trip at whole pixels (issue 18)
    assert html.count("<img") == 3 and "data:image/png;base64," in html


# ----------------------------------------------------------------------------
# noise explorer
# ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fragile_session():
    return explore.NoiseSession(FRAGILE, photo_path("astronaut"))


def test_noise_explorer_shows_what_a_plain_noise_study_measures(fragile_session):
    explorer = widgets.noise_explorer(fragile_session)
    state = explorer.result
    assert (state.amplitude, state.distribution, state.trials, state.convention) == (2.0, "symmetric", 20, "horizon")
    rgb = nv12kit.resize_to(nv12kit.load_image(photo_path("astronaut")), 128, 128)
    reference = noise_study(FRAGILE, rgb, DEMO_PRE, amplitudes=(1, 2, 3), trials=20, seed=0,
                            conventions=("horizon",), progress=False)
    for a in (1.0, 2.0, 3.0):
        np.testing.assert_allclose(state.study.cosines[a], reference.cosines[a], rtol=0, atol=1e-12)
    assert state.floor == pytest.approx(reference.floor(2))
    assert state.roundtrip_cosine == pytest.approx(reference.roundtrip["horizon"], abs=1e-12)
    assert _is_png(explorer.histogram) and _is_png(explorer.curve)
    assert bytes(explorer.diff.value) == b"" and explorer.diff.layout.display == "none"
    assert "not a map" in state.diff_note and "not a map" in explorer.summary.value


def test_moving_the_amplitude_slider_redraws_and_reuses_cached_runs(fragile_session):
    explorer = widgets.noise_explorer(fragile_session)
    at_two = explorer.result
    before = fragile_session.studies_run
    explorer.amplitude.value = 3.0  # already in the curve's amplitudes: nothing new to run
    assert explorer.result.amplitude == 3.0 and fragile_session.studies_run == before
    assert explorer.result.floor < at_two.floor  # more noise, lower cosine
    explorer.amplitude.value = 5.5
    assert fragile_session.studies_run == before + 1
    assert 5.5 in explorer.result.study.amplitudes
    explorer.amplitude.value = 2.0
    assert explorer.result is at_two and fragile_session.studies_run == before + 1


def test_distribution_trials_and_convention_controls_change_the_state(fragile_session):
    explorer = widgets.noise_explorer(fragile_session)
    symmetric = explorer.result
    explorer.distribution.value = "uniform_0_a"
    assert explorer.result.distribution == "uniform_0_a" and explorer.result.floor != symmetric.floor
    explorer.trials.value = 10
    assert explorer.result.trials == 10 and explorer.result.study.cosines[2.0].shape == (10,)
    # The first trials are the same noise whatever the number of trials.
    np.testing.assert_allclose(explorer.result.study.cosines[2.0],
                               fragile_session.study([2.0], distribution="uniform_0_a", trials=20).cosines[2.0][:10],
                               atol=1e-12)
    explorer.convention.value = "opencv"
    expected = nv12kit.metrics.cosine(
        fragile_session.clean["logits"],
        fragile_session.runner.run({"image": DEMO_PRE(nv12kit.nv12_to_rgb(
            nv12kit.rgb_to_nv12(fragile_session.rgb, convention="opencv"), convention="opencv"))})["logits"])
    assert explorer.result.roundtrip_cosine == pytest.approx(expected, abs=1e-12)
    assert "opencv" in explorer.summary.value


def test_noisy_output_is_the_first_trial_of_the_study(fragile_session):
    for distribution in ("symmetric", "gaussian"):
        noisy = fragile_session.noisy_output(3.0, distribution=distribution)["logits"]
        cos = nv12kit.metrics.cosine(fragile_session.clean["logits"], noisy)
        study = fragile_session.study([3.0], distribution=distribution, trials=20)
        assert cos == pytest.approx(study.cosines[3.0][0], abs=1e-6)


def test_noise_explorer_draws_diff_maps_for_dense_outputs():
    explorer = widgets.noise_explorer(onnx_models.dense(), photo_path("coffee"),
                                      preprocess=nv12kit.Preprocess(mean=128, std=64))
    state = explorer.result
    assert state.diff is not None and state.diff_note == ""
    assert len(state.diff.axes[0].get_images()) == 1 and len(state.diff.axes) >= 2
    assert _is_png(explorer.diff) and explorer.diff.layout.display is None
    shown = state.diff.axes[1].get_images()[0].get_array()
    clean = explorer.session.clean["scores"][0]
    trip = explorer.session.roundtrip("horizon")["scores"][0]
    np.testing.assert_allclose(shown, np.abs(clean.astype(float) - trip).mean(axis=0), rtol=1e-6)
    assert state._repr_html_().count("<img") == 3


def test_noise_explorer_state_rejects_bad_settings(fragile_session):
    with pytest.raises(InputError, match="positive"):
        explore.noise_explorer_state(fragile_session, amplitude=0)
    with pytest.raises(InputError, match="distribution"):
        explore.noise_explorer_state(fragile_session, distribution="poisson")
    with pytest.raises(nv12kit.ConventionError):
        explore.noise_explorer_state(fragile_session, convention="bt999")
    with pytest.raises(InputError, match="needs an image"):
        widgets.noise_explorer(FRAGILE)


def test_noise_session_rejects_an_unknown_output():
    with pytest.raises(InputError, match="unknown output 'scores'.*'logits'"):
        explore.NoiseSession(ROBUST, photo_path("coffee"), output="scores")


# ----------------------------------------------------------------------------
# converter checker
# ----------------------------------------------------------------------------
def test_converter_checker_runs_nothing_until_the_button_is_pressed():
    checker = widgets.converter_checker()
    assert checker.result is None and checker.error is None
    assert checker.code.value == "" and "def rgb_to_nv12" in checker.code.placeholder
    checker.code.value = "raise SystemExit('must not run on typing')"
    assert checker.result is None and checker.error is None
    checker.code.value = ""
    checker.run_button.click()  # the placeholder example is not code the user typed: nothing runs
    assert "no code to run" in checker.error


def test_pasted_converter_is_diagnosed_when_the_button_is_pressed():
    checker = widgets.converter_checker()
    checker.code.value = _opencv_converter_code()
    checker.run_button.click()
    assert checker.error is None
    assert checker.result.issues == ("range_mismatch",)
    assert "range_mismatch" in checker.report.value
    assert _is_png(checker.errors) and _is_png(checker.planes)
    # The same as the plain functions.
    plain = explore.converter_check(explore.load_converter(_opencv_converter_code()))
    assert plain.issues == checker.result.issues


def test_error_map_shows_the_luma_difference_against_the_expected_encoding():
    check = explore.converter_check(lambda rgb: nv12kit.rgb_to_nv12(rgb, convention="bt709-full"))
    assert check.issues == ("matrix_mismatch",)
    luma = check.errors.axes[2].get_images()[0].get_array()
    expected = np.abs(check.frame.y.astype(int) - nv12kit.rgb_to_nv12(check.rgb, convention="horizon").y.astype(int))
    np.testing.assert_array_equal(luma, expected)
    assert luma.max() >= 20  # BT.709 against BT.601: about 30 levels on saturated green


def test_a_bgr_converter_is_fine_when_its_order_is_given():
    checker = widgets.converter_checker()
    checker.code.value = "def to_nv12(bgr):\n    return nv12kit.rgb_to_nv12(bgr[..., ::-1].copy())\n"
    checker.order.value = "bgr"
    checker.run_button.click()
    assert checker.result.issues == ("ok",)
    checker.order.value = "rgb"
    checker.run_button.click()
    assert "rgb_bgr_swapped" in checker.result.issues


@pytest.mark.parametrize(("code", "message"), [
    ("def rgb_to_nv12(rgb)\n    return rgb", "syntax error on line 1"),
    ("def a(rgb): pass\ndef b(rgb): pass\n", r"defines 2 functions \(\['a', 'b'\]\)"),
    ("x = 1 / 0\n", "ZeroDivisionError"),
    ("def rgb_to_nv12(rgb):\n    raise RuntimeError('boom')\n", "RuntimeError: boom"),
    ("def rgb_to_nv12(rgb):\n    return 42\n", "returned int"),
])
def test_broken_pasted_code_is_reported_in_the_widget(code, message):
    checker = widgets.converter_checker()
    checker.code.value = code
    checker.run_button.click()
    assert checker.result is None
    assert re.search(message, checker.error), checker.error


def test_load_converter_picks_the_named_function():
    fn = explore.load_converter("def helper(x): return x\ndef convert(rgb): return helper(rgb)\n", name="convert")
    assert fn.__name__ == "convert"
    with pytest.raises(InputError, match="no function 'missing'"):
        explore.load_converter("def convert(rgb): pass\n", name="missing")


def test_a_function_handed_over_is_checked_at_once():
    checker = widgets.converter_checker(lambda rgb: nv12kit.rgb_to_nv12(rgb), convention="horizon")
    assert checker.result.issues == ("ok",)
    assert "ok" in checker.report.value


def test_dumps_are_diagnosed_against_their_image(tmp_path):
    rgb = nv12kit.load_image(photo_path("coffee"))
    frame = nv12kit.rgb_to_nv12(rgb, convention="opencv")
    np.save(tmp_path / "y.npy", frame.y)
    np.save(tmp_path / "uv.npy", frame.uv)
    checker = widgets.converter_checker()
    checker.image_path.value = str(photo_path("coffee"))
    checker.y_path.value = str(tmp_path / "y.npy")
    checker.uv_path.value = str(tmp_path / "uv.npy")
    checker.dumps_button.click()
    assert checker.error is None
    assert checker.result.issues == ("range_mismatch",)
    assert checker.result.frame == frame
    assert _is_png(checker.errors)


def test_raw_dumps_need_a_size_and_are_read_without_an_image(tmp_path):
    frame = nv12kit.rgb_to_nv12(nv12kit.load_image(photo_path("coffee")))
    (tmp_path / "y.bin").write_bytes(frame.y.tobytes())
    (tmp_path / "uv.bin").write_bytes(frame.uv.tobytes())
    with pytest.raises(InputError, match="need the frame size"):
        explore.dumps_check(tmp_path / "y.bin", tmp_path / "uv.bin")
    check = explore.dumps_check(tmp_path / "y.bin", tmp_path / "uv.bin", width=300, height=200)
    assert check.frame == frame and check.rgb is None and check.errors is None
    assert check.planes is not None and any("no error maps without the image" in n for n in check.notes)
    checker = widgets.converter_checker()
    checker.y_path.value = str(tmp_path / "y.bin")
    checker.dumps_button.click()
    assert "give both the Y and the UV dump" in checker.error


def _only_deprecation_here(caught) -> None:
    """Exactly one DeprecationWarning was raised, and it points at this file (the caller), not at nv12kit."""
    found = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert [w.filename for w in found] == [__file__], [(w.filename, str(w.message)) for w in found]


def test_expected_is_a_deprecated_alias_of_convention_in_converter_check():
    fn = lambda rgb: nv12kit.rgb_to_nv12(rgb, convention="opencv")  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # the new name, and nothing deprecated underneath
        new = explore.converter_check(fn, convention="opencv")
    with pytest.warns(DeprecationWarning, match=r"expected= is deprecated.*use convention= instead") as caught:
        old = explore.converter_check(fn, expected="opencv")
    _only_deprecation_here(caught)
    assert old.issues == new.issues == ("ok",) and old.expected == new.expected == "opencv"
    for given in ("opencv", "horizon"):  # even the default, when it is spelled out
        with pytest.raises(InputError, match="pass convention= only"):
            explore.converter_check(fn, convention=given, expected="opencv")


def test_expected_is_a_deprecated_alias_of_convention_in_dumps_check(tmp_path):
    rgb = nv12kit.load_image(photo_path("coffee"))
    frame = nv12kit.rgb_to_nv12(rgb, convention="opencv")
    np.save(tmp_path / "y.npy", frame.y)
    np.save(tmp_path / "uv.npy", frame.uv)
    y, uv, image = tmp_path / "y.npy", tmp_path / "uv.npy", photo_path("coffee")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        new = explore.dumps_check(y, uv, image=image, convention="opencv")
    with pytest.warns(DeprecationWarning, match="use convention=") as caught:
        old = explore.dumps_check(y, uv, image=image, expected="opencv")
    _only_deprecation_here(caught)
    assert old.issues == new.issues == ("ok",) and old.expected == "opencv"
    with pytest.raises(InputError, match="pass convention= only"):
        explore.dumps_check(y, uv, image=image, convention="horizon", expected="opencv")


def test_expected_is_a_deprecated_alias_of_convention_in_the_converter_checker():
    assert widgets.converter_checker(convention="opencv").expected.value == "opencv"
    with pytest.warns(DeprecationWarning, match="use convention=") as caught:
        checker = widgets.converter_checker(expected="opencv")
    _only_deprecation_here(caught)
    assert checker.expected.value == "opencv"
    with pytest.warns(DeprecationWarning, match="use convention=") as caught:
        direct = widgets.ConverterChecker(expected="bt709-full")
    _only_deprecation_here(caught)
    assert direct.expected.value == "bt709-full"
    with pytest.raises(InputError, match="pass convention= only"):
        widgets.converter_checker(convention="horizon", expected="opencv")


def test_a_pickled_npy_dump_is_refused(tmp_path):
    np.save(tmp_path / "y.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(tmp_path / "uv.npy", np.zeros((2, 2, 2), np.uint8))
    with pytest.raises(InputError, match="not a readable .npy"):
        explore.dumps_check(tmp_path / "y.npy", tmp_path / "uv.npy")


# ----------------------------------------------------------------------------
# variant outputs
# ----------------------------------------------------------------------------
def test_variant_outputs_agree_with_the_triage_on_the_same_image():
    variants = nv12kit.build_variants(ROBUST, preprocess=DEMO_PRE, progress=False)
    outputs = explore.variant_outputs(variants, photo_path("coffee"))
    assert sorted(outputs) == ["qat_feat", "qat_nv12"]
    cos = nv12kit.compare(outputs["qat_feat"], outputs["qat_nv12"]).outputs["logits"].cosine
    report = nv12kit.triage(ROBUST, [photo_path("coffee")], trials=2, layers=False, progress=False)
    assert cos == pytest.approx(report.images[0].nv12_cosine, abs=1e-12)
    with pytest.raises(InputError, match="build_variants"):
        explore.variant_outputs(ROBUST, photo_path("coffee"))


def test_every_public_widget_factory_returns_a_vbox_with_result_and_error():
    import ipywidgets

    made = [widgets.model_picker(), widgets.image_picker(), widgets.convention_picker(), widgets.plane_viewer(),
            widgets.noise_explorer(ROBUST, photo_paths()[0], trials=5), widgets.converter_checker()]
    factories = {n for n in widgets.__all__ if n.endswith(("_picker", "_viewer", "_explorer", "_checker"))}
    assert factories == {"model_picker", "image_picker", "convention_picker", "plane_viewer", "noise_explorer",
                         "converter_checker"}
    for widget in made:
        assert isinstance(widget, ipywidgets.VBox)
        assert hasattr(widget, "result") and hasattr(widget, "error")


def test_widgets_module_never_uses_pyplot():
    source = pathlib.Path(widgets.__file__).read_text()
    assert "pyplot" not in source.replace("pyplot is never used", "")
    for path in pathlib.Path(explore.__file__).parent.glob("*.py"):
        assert "pyplot" not in path.read_text().replace("pyplot is never used", ""), path.name


# ----------------------------------------------------------------------------
# explore (headless) and widgets (shells)
# ----------------------------------------------------------------------------
def test_explore_imports_without_ipywidgets_and_widgets_says_how_to_get_it():
    code = textwrap.dedent("""
        import sys
        import nv12kit.explore
        assert "ipywidgets" not in sys.modules, "nv12kit.explore imported ipywidgets"
        assert "matplotlib.pyplot" not in sys.modules, "nv12kit.explore imported pyplot"
        sys.modules["ipywidgets"] = None  # as if it were not installed
        from nv12kit.data import model_path
        assert nv12kit.explore.describe_model(model_path("demo_robust")).size == (128, 128)
        try:
            import nv12kit.widgets
        except ImportError as exc:
            assert "pip install 'nv12kit[notebooks]'" in str(exc), exc
        else:
            raise AssertionError("nv12kit.widgets imported without ipywidgets")
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_widgets_re_exports_the_plain_functions_of_explore():
    for name in explore.__all__:
        assert getattr(widgets, name) is getattr(explore, name), name
        assert name in widgets.__all__
    shells = [n for n in widgets.__all__ if n not in explore.__all__]
    assert all(n.endswith(("Picker", "_picker", "Viewer", "_viewer", "Explorer", "_explorer", "Checker", "_checker"))
               for n in shells), shells


# ----------------------------------------------------------------------------
# what the user sees: figures wrap instead of being cropped, small frames stay sharp (issue 18)
# ----------------------------------------------------------------------------
def _figure_rows(widget) -> list:
    rows, todo = [], [widget]
    while todo:
        item = todo.pop()
        if isinstance(item, widgets.ipywidgets.HBox) and any(
                isinstance(c, widgets.ipywidgets.Image) for c in item.children):
            rows.append(item)
        todo.extend(getattr(item, "children", ()))
    return rows


def _assert_unstretched(image) -> None:
    # shrunk to the notebook's width when too wide, never stretched, no fixed pixel width in CSS
    assert image.layout.max_width == "100%" and image.layout.height == "auto"
    assert image.layout.align_self == "flex-start"
    assert not (image.layout.width or "").endswith("px")


def test_figures_sit_in_rows_that_wrap_and_are_never_stretched(fragile_session):
    explorer = widgets.noise_explorer(fragile_session, trials=5)
    viewer = widgets.plane_viewer(size=(64, 64))
    checker = widgets.converter_checker()
    for widget, figures in ((explorer, (explorer.histogram, explorer.curve)),
                            (viewer, (viewer.planes, viewer.error_map)), (checker, (checker.errors, checker.planes))):
        rows = _figure_rows(widget)
        row = next(r for r in rows if figures[0] in r.children)
        assert figures[1] in row.children and row.layout.flex_flow == "row wrap"
        for image in figures:
            _assert_unstretched(image)


def test_plane_viewer_shows_small_frames_at_whole_pixels():
    viewer = widgets.plane_viewer(str(photo_path("coffee")), size=(32, 48))
    view = viewer.result
    assert view.pixel_scale == 5  # 256 // 48
    from PIL import Image

    png = bytes(viewer.pixels.value)
    shown = np.asarray(Image.open(__import__("io").BytesIO(png)).convert("RGB"))
    assert shown.shape == (32 * 5, 2 * 48 * 5 + 4, 3) and viewer.pixels.width == str(shown.shape[1])
    # nearest neighbour by an integer factor: every 5x5 block is one source pixel, left the image, right the trip
    np.testing.assert_array_equal(shown[::5, : 48 * 5 : 5], view.rgb)
    np.testing.assert_array_equal(shown[2::5, 2 : 48 * 5 : 5], view.rgb)
    np.testing.assert_array_equal(shown[::5, 48 * 5 + 4 :: 5], view.decoded)
    assert png == view.pixels_png()  # the widget shows what the plain function makes
    assert "image-rendering:pixelated" in view._repr_html_() and "flex-wrap:wrap" in view._repr_html_()


def test_big_frames_are_shown_at_their_own_pixels():
    view = explore.plane_view_figures(np.zeros((300, 400, 3), np.uint8))
    assert view.pixel_scale == 1
