"""Tests for nv12kit.lint: diagnose, check_converter and lint_node.

The deliberately-wrong-converter battery lives in test_lint_battery.py; this
file checks the interface, the named cases of the issue (the forum recipe,
the forum's node call, bytes-only analysis) and bad inputs.
"""

from __future__ import annotations

import html
import json
import math
import re

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from forum_recipe import forum_rgb_to_nv12
from onnx import TensorProto, helper
from PIL import Image

import nv12kit
from nv12kit.chart import test_chart as make_chart
from nv12kit.data import photo_path
from nv12kit.errors import ConventionError, InputError, NV12KitError
from nv12kit.lint import (
    ISSUE_DESCRIPTIONS,
    ISSUE_IDS,
    NODE_FINDING_IDS,
    Diagnosis,
    Hypothesis,
    NodeFinding,
    check_converter,
    diagnose,
    lint_node,
)

try:  # OpenCV is an external reference only; the package never needs it.
    import cv2
except ImportError:  # pragma: no cover
    cv2 = None

needs_cv2 = pytest.mark.skipif(cv2 is None, reason="opencv not installed")


@pytest.fixture(scope="module")
def chart() -> np.ndarray:
    return make_chart()


@pytest.fixture(scope="module")
def coffee() -> np.ndarray:
    return nv12kit.crop_to_even(nv12kit.load_image(photo_path("coffee")))


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return nv12kit.load_image(photo_path("astronaut"))


def forum_with_opencv_i420(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same recipe built on OpenCV's (limited-range) I420, as often rewritten for speed."""
    h, w = img.shape[:2]
    i420 = cv2.cvtColor(img, cv2.COLOR_RGB2YUV_I420).reshape(-1)
    y = i420[: h * w].reshape(h, w)
    u = i420[h * w : h * w * 5 // 4].reshape(h // 2, w // 2)
    v = i420[h * w * 5 // 4 :].reshape(h // 2, w // 2)
    uv = np.zeros((h // 2, w), np.uint8)
    uv[:, 0::2] = u
    uv[:, 1::2] = v
    return y, uv


# ----------------------------------------------------------------------------
# the result objects
# ----------------------------------------------------------------------------
def test_issue_ids_are_the_documented_set():
    assert ISSUE_IDS == (
        "ok", "range_mismatch", "matrix_mismatch", "uv_swapped", "rgb_bgr_swapped", "planar_layout",
        "stride", "misaligned", "int8_offset", "layout", "resized", "unknown",
    )
    assert set(ISSUE_DESCRIPTIONS) == set(ISSUE_IDS)


def test_correct_frame_is_ok_with_ranked_hypotheses_and_evidence(coffee):
    d = diagnose(coffee, nv12kit.rgb_to_nv12(coffee, convention="horizon"))
    assert isinstance(d, Diagnosis) and isinstance(d.top, Hypothesis)
    assert d.is_ok and d.top.issues == ("ok",) and d.issues == ("ok",)
    assert d.hypotheses[0] is d.top and len(d.hypotheses) >= 2
    scores = [h.score for h in d.hypotheses]
    assert scores == sorted(scores, reverse=True)
    assert math.isclose(sum(scores), 1.0, abs_tol=1e-6) and d.top.score > 0.9
    assert all(set(h.issues) <= set(ISSUE_IDS) for h in d.hypotheses)
    ev = d.top.evidence
    assert ev["y_rms"] < 1 and ev["psnr_db"] > 30 and ev["mae"] < 3
    assert d.evidence["honest_psnr_db"] > 30 and d.evidence["as_is_mae"] > 0
    assert all(isinstance(v, (int, float)) for v in ev.values())
    assert d.top.explanation and d.top.fix and "\n" not in d.top.explanation + d.top.fix


def test_to_dict_is_json_serialisable_and_complete(coffee):
    frame = nv12kit.rgb_to_nv12(coffee, convention="opencv")
    d = diagnose(coffee, frame)
    data = json.loads(json.dumps(d.to_dict(), allow_nan=False))
    assert data["issues"] == ["range_mismatch"] and data["is_ok"] is False
    assert data["hypotheses"][0]["issues"] == ["range_mismatch"]
    assert data["expected"] == "horizon" and data["notes"] == list(d.notes)
    assert json.loads(d.to_json()) == data


def test_repr_names_the_bug_the_fix_and_the_numbers(coffee):
    d = diagnose(coffee, nv12kit.rgb_to_nv12(coffee, convention="bt709-full"))
    text = repr(d)
    assert "matrix_mismatch" in text and "fix:" in text and "dB" in text and "BT.709" in text


def test_html_escapes_every_user_string_and_loads_nothing(tmp_path, chart):
    frame = nv12kit.rgb_to_nv12(chart, convention="opencv")
    path = tmp_path / "<script>alert(1)&.nv12"
    path.write_bytes(frame.to_bytes())
    d = diagnose(chart, path, width=360, height=240)
    page = d._repr_html_()
    assert "<script>" not in page and html.escape("<script>") in page
    assert not re.search(r"(src|href)\s*=", page) and "http" not in page
    assert "<table>" in page and "range_mismatch" in page


# ----------------------------------------------------------------------------
# every way of handing over an NV12 frame
# ----------------------------------------------------------------------------
def test_every_input_form_of_a_correct_frame_is_ok(tmp_path, chart):
    frame = nv12kit.rgb_to_nv12(chart)
    h, w = frame.shape
    raw = frame.to_bytes()
    (tmp_path / "f.nv12").write_bytes(raw)
    np.save(tmp_path / "f.npy", np.frombuffer(raw, np.uint8))
    forms = {
        "frame": (frame, {}),
        "planes": ((frame.y, frame.uv), {}),
        "vendor": ((frame.y.reshape(1, h, w, 1), frame.uv.reshape(1, h // 2, w // 2, 2)), {}),
        "forum": ((frame.y, frame.uv.reshape(h // 2, w)), {}),
        "feed": (frame.to_feed("image"), {}),
        "yuv-planes": ((frame.y, frame.u, frame.v), {}),
        "bytes": (raw, {"width": w, "height": h}),
        "bytearray": (bytearray(raw), {"width": w, "height": h}),
        "1-D array": (np.frombuffer(raw, np.uint8), {}),  # size taken from the reference
        "opencv": (np.frombuffer(raw, np.uint8).reshape(h * 3 // 2, w), {}),
        "file": (tmp_path / "f.nv12", {"width": w, "height": h}),
        "npy": (str(tmp_path / "f.npy"), {"width": w, "height": h}),
    }
    for name, (nv12, kwargs) in forms.items():
        d = diagnose(chart, nv12, **kwargs)
        assert d.top.issues == ("ok",), name


def test_padded_raw_buffer_with_its_stride_is_ok_and_without_it_is_a_stride(chart):
    frame = nv12kit.rgb_to_nv12(chart)
    raw = frame.to_bytes(stride=384)
    assert diagnose(chart, raw, width=360, height=240, stride=384).is_ok
    d = diagnose(chart, raw, width=360, height=240)
    assert d.top.issues == ("stride",) and "stride=384" in d.top.fix


def test_other_layouts_are_read_as_the_user_says(chart):
    frame = nv12kit.rgb_to_nv12(chart)
    for layout in ("nv21", "i420", "yv12"):
        raw = frame.to_bytes(layout=layout)
        assert diagnose(chart, raw, width=360, height=240, layout=layout).is_ok, layout
        # Read as NV12, as a chip would, the same bytes are a bug.
        assert not diagnose(chart, raw, width=360, height=240).is_ok, layout


# ----------------------------------------------------------------------------
# the named cases of the issue
# ----------------------------------------------------------------------------
def test_forum_recipe_against_horizon_is_ok_with_a_note_on_bicubic_chroma(coffee, chart):
    for rgb in (coffee, chart):
        d = diagnose(rgb, forum_rgb_to_nv12(Image.fromarray(rgb)), convention="horizon")
        assert d.top.issues == ("ok",)
        assert any("chroma down-sampling" in n and "bicubic" in n for n in d.notes)


@needs_cv2
def test_forum_recipe_with_opencv_i420_is_a_range_mismatch(coffee, chart):
    for rgb in (coffee, chart):
        d = diagnose(rgb, forum_with_opencv_i420(rgb), convention="horizon")
        assert d.top.issues == ("range_mismatch",)
        assert "limited" in d.top.explanation and "full" in d.top.fix


@needs_cv2
def test_check_converter_runs_the_forum_recipe_on_pil_images_and_says_ok():
    d = check_converter(forum_rgb_to_nv12)
    assert d.top.issues == ("ok",)
    assert any("bicubic" in n for n in d.notes)
    assert any("PIL image" in n for n in d.notes)
    assert any("odd-sized" in n and "misread" in n for n in d.notes)
    d = check_converter(forum_with_opencv_i420)
    assert d.top.issues == ("range_mismatch",)


@pytest.mark.parametrize("name", list(nv12kit.CONVENTIONS))
def test_every_preset_against_itself_is_ok(name, chart, coffee):
    for rgb in (chart, coffee):
        d = diagnose(rgb, nv12kit.rgb_to_nv12(rgb, convention=name), convention=name)
        assert d.top.issues == ("ok",), (name, d.top)


def test_bt709_is_named_by_its_pattern_with_slopes_near_one(astronaut):
    d = diagnose(astronaut, nv12kit.rgb_to_nv12(astronaut, convention="bt709-full"))
    assert d.top.issues == ("matrix_mismatch",)
    ev = d.top.evidence
    # Decoded as BT.601 the channels keep their gain; saturated colours shift.
    assert all(0.9 < ev[f"slope_{c}"] < 1.1 for c in "rgb")
    assert abs(ev["green_offset_saturated"]) > 1
    # Its error is small next to the honest round trip, so no threshold could find it.
    assert d.evidence["as_is_mae_vs_honest"] < 4


def test_range_mismatch_evidence_shows_the_slope_of_limited_read_as_full(coffee):
    d = diagnose(coffee, nv12kit.rgb_to_nv12(coffee, convention="opencv"))
    ev = d.top.evidence
    assert d.top.issues == ("range_mismatch",)
    assert all(0.8 < ev[f"slope_{c}"] < 0.92 for c in "rgb")  # 219/255 = 0.86
    assert ev["psnr_db"] > d.evidence["as_is_psnr_db"] + 5  # decoding as limited repairs it


def test_grey_image_cannot_tell_the_matrix_and_says_so():
    rng = np.random.default_rng(0)
    grey = np.repeat(rng.integers(0, 256, (64, 96, 1), dtype=np.uint8), 3, axis=2)
    d = diagnose(grey, nv12kit.rgb_to_nv12(grey, convention="bt709-full"))
    assert d.is_ok
    assert any("cannot be told" in n for n in d.notes)


def test_two_bugs_at_once_give_two_ids(coffee):
    frame = nv12kit.rgb_to_nv12(coffee[..., ::-1], convention="opencv")
    d = diagnose(coffee, (frame.y, frame.uv[..., ::-1]))
    assert d.top.issues == ("range_mismatch", "uv_swapped", "rgb_bgr_swapped")


def test_resized_padded_and_transposed_frames(coffee, astronaut):
    small = nv12kit.resize_to(coffee, 100, 150)
    assert diagnose(coffee, nv12kit.rgb_to_nv12(small)).top.issues == ("resized",)
    frame = nv12kit.rgb_to_nv12(coffee)
    h, w = frame.shape
    y = np.zeros((h, w + 20), np.uint8)
    y[:, :w] = frame.y
    uv = np.zeros((h // 2, (w + 20) // 2, 2), np.uint8)
    uv[:, : w // 2] = frame.uv
    assert diagnose(coffee, (y, uv)).top.issues == ("stride",)
    turned = nv12kit.rgb_to_nv12(np.ascontiguousarray(coffee.swapaxes(0, 1)))
    assert diagnose(coffee, turned).top.issues == ("layout",)


def test_flat_chroma_against_a_colourful_image_is_named(chart):
    frame = nv12kit.rgb_to_nv12(chart)
    d = diagnose(chart, (frame.y, np.full_like(frame.uv, 128)))
    assert d.top.issues == ("layout",) and "no colour" in d.top.explanation


def test_int8_planes_are_read_as_their_bytes(chart):
    frame = nv12kit.rgb_to_nv12(chart)
    signed = ((frame.y.astype(np.int16) - 128).astype(np.int8), (frame.uv.astype(np.int16) - 128).astype(np.int8))
    d = diagnose(chart, signed)
    assert d.top.issues == ("int8_offset",)
    assert any("int8" in n for n in d.notes)


def test_odd_reference_matches_the_cropped_frame():
    odd = nv12kit.load_image(photo_path("chelsea_odd"))
    d = diagnose(odd, nv12kit.rgb_to_nv12(nv12kit.crop_to_even(odd)))
    assert d.is_ok and any("cropped" in n for n in d.notes)


def test_unexplained_bytes_are_unknown(coffee):
    rng = np.random.default_rng(3)
    h, w = coffee.shape[:2]
    noise = (rng.integers(0, 256, (h, w), dtype=np.uint8), rng.integers(0, 256, (h // 2, w // 2, 2), dtype=np.uint8))
    d = diagnose(coffee, noise)
    assert "unknown" in d.top.issues


# ----------------------------------------------------------------------------
# without a reference: what the bytes alone can tell
# ----------------------------------------------------------------------------
def test_bytes_only_correct_frame_is_ok_with_modest_confidence(coffee):
    d = diagnose(None, nv12kit.rgb_to_nv12(coffee))
    assert d.is_ok and not d.reference and d.top.score <= 0.6
    assert any("without a reference" in n for n in d.notes)


def test_bytes_only_full_range_against_limited_expectation_is_a_range_mismatch(chart):
    d = diagnose(None, nv12kit.rgb_to_nv12(chart, convention="horizon"), convention="opencv")
    assert d.top.issues == ("range_mismatch",) and d.top.score > 0.6
    assert d.top.evidence["y_outside_16_235"] > 0.05
    # The other way round only deep blacks and bright whites can tell, with lower confidence.
    d = diagnose(None, nv12kit.rgb_to_nv12(chart, convention="opencv"), convention="horizon")
    assert d.top.issues == ("range_mismatch",) and d.top.score < 0.7


def test_bytes_only_finds_int8_offset_planar_chroma_and_stride(coffee, chart):
    frame = nv12kit.rgb_to_nv12(coffee)
    h, w = frame.shape
    raw = np.frombuffer(frame.to_bytes(), np.uint8)
    assert diagnose(None, raw ^ np.uint8(0x80), width=w, height=h).top.issues == ("int8_offset",)
    i420 = frame.to_bytes(layout="i420")
    assert diagnose(None, i420, width=w, height=h).top.issues == ("planar_layout",)
    padded = np.frombuffer(nv12kit.rgb_to_nv12(chart).to_bytes(stride=384), np.uint8)
    sheared = padded[: 360 * 240 * 3 // 2]
    assert diagnose(None, sheared, width=360, height=240).top.issues == ("stride",)


def test_bytes_only_flat_chroma_is_a_note_and_zero_chroma_a_bug(coffee):
    frame = nv12kit.rgb_to_nv12(coffee)
    d = diagnose(None, (frame.y, np.full_like(frame.uv, 128)))
    assert d.is_ok and any("flat" in n for n in d.notes)
    assert diagnose(None, (frame.y, np.zeros_like(frame.uv))).top.issues == ("layout",)


# ----------------------------------------------------------------------------
# bad inputs
# ----------------------------------------------------------------------------
def test_raw_buffer_of_a_wrong_size_says_the_arithmetic(chart):
    raw = nv12kit.rgb_to_nv12(chart).to_bytes()[:-7]
    with pytest.raises(InputError, match=r"129593 bytes.*needs 129600 bytes \(stride \* height \* 3 / 2\)"):
        diagnose(chart, raw, width=360, height=240)


def test_raw_buffer_without_a_size_needs_width_and_height():
    with pytest.raises(InputError, match="width= and height="):
        diagnose(None, bytes(600))


def test_a_packed_rgb_buffer_is_a_layout_bug_not_a_crash(chart):
    d = diagnose(chart, chart.tobytes(), width=360, height=240)
    assert d.top.issues == ("layout",) and "packed RGB" in d.top.explanation


def test_odd_planes_are_rejected_with_the_forum_hint():
    y = np.zeros((481, 641), np.uint8)
    uv = np.zeros((240, 640), np.uint8)
    with pytest.raises(InputError, match="odd.*forum recipe.*pad_to_even"):
        diagnose(None, (y, uv))


@pytest.mark.parametrize(
    "planes, match",
    [
        ((np.zeros((4, 6), np.float32), np.zeros((2, 3, 2), np.uint8)), "float32.*uint8"),
        ((np.zeros((4, 6), np.uint16), np.zeros((2, 3, 2), np.uint8)), "uint16.*uint8"),
        ((np.zeros((4, 6), np.uint8), np.zeros((2, 2, 2), np.uint8)), r"uv has 8 values.*needs 2 x 3 x 2 = 12"),
        ((np.zeros((4, 6, 3), np.uint8), np.zeros((2, 3, 2), np.uint8)), "RGB image"),
    ],
)
def test_bad_planes_are_rejected_with_what_was_wrong(planes, match):
    with pytest.raises(InputError, match=match):
        diagnose(None, planes)


def test_unknown_expected_convention_and_layout_are_rejected(chart):
    frame = nv12kit.rgb_to_nv12(chart)
    with pytest.raises(ConventionError):
        diagnose(chart, frame, convention="bt601-fulll")
    with pytest.raises(InputError, match="layout"):
        diagnose(chart, frame.to_bytes(), layout="nv16")
    with pytest.raises(InputError, match="cannot read NV12"):
        diagnose(chart, 42)


def test_missing_file_is_rejected(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        diagnose(None, tmp_path / "nope.nv12", width=4, height=4)


def test_diagnose_never_modifies_its_inputs(chart):
    frame = nv12kit.rgb_to_nv12(chart)
    y, uv = frame.y.copy(), frame.uv.copy()
    rgb = chart.copy()
    diagnose(rgb, (y, uv))
    assert np.array_equal(y, frame.y) and np.array_equal(uv, frame.uv) and np.array_equal(rgb, chart)


# ----------------------------------------------------------------------------
# expected= is the deprecated old name of convention= (one release)
# ----------------------------------------------------------------------------
def test_expected_is_a_deprecated_alias_of_convention(chart):
    frame = nv12kit.rgb_to_nv12(chart, convention="horizon")
    want = diagnose(None, frame, convention="opencv")
    with pytest.warns(DeprecationWarning, match="expected=.*convention=") as record:
        got = diagnose(None, frame, expected="opencv")
    assert got.to_dict() == want.to_dict() and got.top.issues == ("range_mismatch",)
    assert record[0].filename == __file__  # the warning points at the caller


def test_expected_and_convention_together_are_refused(chart):
    frame = nv12kit.rgb_to_nv12(chart)
    for convention in ("opencv", "horizon"):  # the default value passed explicitly counts as given
        with pytest.raises(InputError, match="convention=.*expected="):
            diagnose(None, frame, convention=convention, expected="opencv")
    with pytest.raises(InputError, match="convention=.*expected="):
        check_converter(nv12kit.rgb_to_nv12, convention="horizon", expected="horizon")


def test_check_converter_takes_convention_and_expected_as_its_deprecated_alias():
    def limited(img):
        return nv12kit.rgb_to_nv12(img, convention="opencv")

    assert check_converter(limited, convention="opencv").is_ok
    want = check_converter(limited)
    with pytest.warns(DeprecationWarning, match="expected=.*convention=") as record:
        got = check_converter(limited, expected="horizon")
    assert got.to_dict() == want.to_dict() and got.top.issues == ("range_mismatch",)
    assert record[0].filename == __file__


# ----------------------------------------------------------------------------
# check_converter
# ----------------------------------------------------------------------------
def test_check_converter_accepts_what_converters_really_return():
    def vendor_shapes(img):
        f = nv12kit.rgb_to_nv12(img)
        h, w = f.shape
        return f.y.reshape(1, h, w, 1), f.uv.reshape(1, h // 2, w // 2, 2)

    returns = {
        "frame": nv12kit.rgb_to_nv12,
        "bytes": lambda img: nv12kit.rgb_to_nv12(img).to_bytes(),
        "array": lambda img: np.frombuffer(nv12kit.rgb_to_nv12(img).to_bytes(), np.uint8),
        "opencv-shape": lambda img: np.frombuffer(nv12kit.rgb_to_nv12(img).to_bytes(), np.uint8).reshape(
            -1, img.shape[1]
        ),
        "vendor": vendor_shapes,
        "yuv": lambda img: (lambda f: (f.y, f.u, f.v))(nv12kit.rgb_to_nv12(img)),
    }
    for name, fn in returns.items():
        assert check_converter(fn).top.issues == ("ok",), name


def test_check_converter_with_bgr_order_feeds_bgr():
    def bgr_converter(img_bgr):
        return nv12kit.rgb_to_nv12(img_bgr, order="bgr")

    assert check_converter(bgr_converter, order="bgr").is_ok
    assert check_converter(bgr_converter).top.issues == ("rgb_bgr_swapped",)


def test_check_converter_finds_the_bug_and_notes_in_place_edits():
    def sloppy(img):
        img[0, 0] = 0  # modifies the caller's image
        return nv12kit.rgb_to_nv12(img, convention="bt709-full")

    d = check_converter(sloppy)
    assert d.top.issues == ("matrix_mismatch",)
    assert any("modified its input" in n for n in d.notes)


def test_a_converter_that_raises_is_reported_with_its_message():
    def broken(img):
        raise RuntimeError("cannot open camera")

    with pytest.raises(InputError, match="converter raised.*RuntimeError: cannot open camera") as info:
        check_converter(broken)
    assert isinstance(info.value.__cause__, RuntimeError)


@pytest.mark.parametrize(
    "result, match",
    [
        ("not a frame", "returned str"),
        (np.zeros(10, np.float32), "dtype float32"),
        (bytes(12345), r"12345 bytes.*needs 129600 bytes"),
        ((np.zeros((2, 2), np.uint8),), "returned tuple"),
    ],
)
def test_a_converter_returning_garbage_gets_a_clear_error(result, match):
    with pytest.raises(InputError, match=match):
        check_converter(lambda img: result)


def test_check_converter_rejects_non_callables_and_bad_order():
    with pytest.raises(InputError, match="function"):
        check_converter("rgb_to_nv12")
    with pytest.raises(InputError, match="order"):
        check_converter(nv12kit.rgb_to_nv12, order="rbg")


# ----------------------------------------------------------------------------
# lint_node
# ----------------------------------------------------------------------------
FORUM_FIX = (
    "insert_nv12_node(model, mode='yuvbt601full2rgb', divisor=1, mean=(128, 128, 128), std=(128, 128, 128))"
)


def test_forum_node_call_on_an_rgb_model_flags_the_mode_with_the_fix():
    findings = lint_node(mode=None, divisor=1, mean=128, std=128, train_order="rgb")
    assert [(f.id, f.severity) for f in findings] == [("mode", "error")]
    assert "YUV444" in findings[0].message
    assert findings[0].fix == FORUM_FIX
    assert isinstance(findings[0], NodeFinding) and findings[0].to_dict()["fix"] == FORUM_FIX


def _identity_model(size: int = 4) -> onnx.ModelProto:
    x = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, size, size])
    y = helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3, size, size])
    graph = helper.make_graph([helper.make_node("Identity", ["image"], ["out"])], "g", [x], [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _call_fix(fix: str) -> onnx.ModelProto:
    match = re.fullmatch(r"insert_nv12_node\(model, (.*)\)", fix)
    assert match, fix
    kwargs = eval(f"dict({match.group(1)})")  # the fix is a call we wrote ourselves
    return nv12kit.insert_nv12_node(_identity_model(), **kwargs)


def test_the_fixed_forum_call_gives_the_training_tensor():
    # Run the corrected call on a real node and compare with how the RGB model was trained.
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 200, 120, 40
    frame = nv12kit.rgb_to_nv12(rgb, convention="bt601-full")
    session = ort.InferenceSession(_call_fix(FORUM_FIX).SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, frame.to_feed("image"))[0]
    want = nv12kit.Preprocess(mean=128, std=128)(nv12kit.nv12_to_rgb(frame, convention="bt601-full"))
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_correct_settings_have_no_findings():
    assert lint_node(mode="yuvbt601full2rgb", divisor=1, mean=128, std=128) == []
    assert (
        lint_node(mode="yuvbt601video2bgr", divisor=1, mean=0, std=1, train_order="bgr", chip_range="limited") == []
    )
    assert lint_node(mode=None, divisor=1, mean=128, std=128, train_order="yuv444") == []
    torch_mean, torch_std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    assert (
        lint_node(
            mode="yuvbt601full2rgb", divisor=255, mean=torch_mean, std=torch_std,
            train_mean=torch_mean, train_std=torch_std,
        )
        == []
    )
    # The same normalisation in 0-255 units is equivalent.
    assert (
        lint_node(
            mode="yuvbt601full2rgb", divisor=1, mean=[255 * m for m in torch_mean], std=[255 * s for s in torch_std],
            train_mean=torch_mean, train_std=torch_std, train_divisor=255,
        )
        == []
    )


def test_channel_order_and_range_mismatches_are_errors_with_the_right_mode():
    f = lint_node(mode="yuvbt601full2rgb", divisor=1, mean=128, std=128, train_order="bgr")
    assert [(x.id, x.severity) for x in f] == [("order", "error")] and "yuvbt601full2bgr" in f[0].fix
    f = lint_node(mode="yuvbt601full2rgb", divisor=1, mean=128, std=128, chip_range="limited")
    assert [x.id for x in f] == ["range"] and "yuvbt601video2rgb" in f[0].fix
    f = lint_node(mode="yuvbt601video2rgb", divisor=1, mean=128, std=128, train_order="yuv444")
    assert [x.id for x in f] == ["mode"] and "mode=None" in f[0].fix
    f = lint_node(mode="bgr2rgb", divisor=1, mean=128, std=128)
    assert [x.id for x in f] == ["mode"]


def test_divisor_255_against_256_is_a_warning_of_one_level():
    f = lint_node(mode="yuvbt601full2rgb", divisor=255, mean=0.5, std=0.5, train_divisor=256)
    assert [(x.id, x.severity) for x in f] == [("divisor", "warning")]
    assert "255 against 256" in f[0].message and "1.00 pixel levels" in f[0].message
    assert "divisor=256" in f[0].fix


def test_mean_and_std_mismatches_are_errors():
    torch_mean, torch_std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    f = lint_node(mode="yuvbt601full2rgb", divisor=1, mean=128, std=128, train_mean=torch_mean, train_std=torch_std)
    assert {x.id for x in f} == {"mean", "std"} and {x.severity for x in f} == {"error"}
    assert "divisor=255" in f[0].fix and "0.485" in f[0].fix


def test_self_inconsistent_units_and_ambiguous_defaults_are_flagged():
    f = lint_node(mode="yuvbt601full2rgb", divisor=255, mean=128, std=128)
    assert [x.id for x in f] == ["scale"] and "divisor=1" in f[0].fix
    f = lint_node(mode="yuvbt601full2rgb", divisor=1, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
    assert [x.id for x in f] == ["scale"] and "divisor=255" in f[0].fix
    f = lint_node(mode="yuvbt601full2rgb", divisor=None, mean=128, std=128)
    assert [(x.id, x.severity) for x in f] == [("ambiguous", "warning")]
    f = lint_node(mode="yuvbt601full2bgr", divisor=1, mean=(123.675, 116.28, 103.53), std=58, train_order="bgr")
    assert [(x.id, x.severity) for x in f] == [("order", "warning")]


def test_every_finding_id_is_documented_and_the_modes_are_the_graphs():
    import nv12kit.graph
    import nv12kit.lint

    assert nv12kit.lint.NODE_MODES is nv12kit.graph.NODE_MODES
    found = lint_node(mode="bgr2rgb", divisor=None, mean=128, std=128, train_order="bgr")
    assert {f.id for f in found} <= set(NODE_FINDING_IDS)
    assert all(f.severity in ("error", "warning", "info") for f in found)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"mode": "yuv2rgb"}, "unknown mode"),
        ({"mean": (1, 2)}, "mean must be"),
        ({"std": 0}, "std must not contain 0"),
        ({"divisor": -1}, "divisor must be a positive"),
        ({"train_order": "grey"}, "train_order"),
        ({"chip_range": "studio"}, "chip_range"),
        ({"train_divisor": 0}, "train_divisor"),
    ],
)
def test_malformed_node_settings_are_rejected(kwargs, match):
    args = {"mode": "yuvbt601full2rgb", "divisor": 1, "mean": 128, "std": 128, **kwargs}
    with pytest.raises(InputError, match=match):
        lint_node(**args)


def test_train_scale_is_a_deprecated_alias_of_train_divisor():
    args = {"mode": "yuvbt601full2rgb", "divisor": 255, "mean": 0.5, "std": 0.5}
    want = lint_node(**args, train_divisor=256)
    with pytest.warns(DeprecationWarning, match="train_scale=.*train_divisor=") as record:
        got = lint_node(**args, train_scale=256)
    assert got == want and [(f.id, f.severity) for f in got] == [("divisor", "warning")]
    assert record[0].filename == __file__
    with pytest.raises(InputError, match="train_divisor=.*train_scale="):
        lint_node(**args, train_divisor=256, train_scale=256)
    with pytest.warns(DeprecationWarning), pytest.raises(InputError, match="train_scale must be a positive"):
        lint_node(**args, train_scale=0)  # the message names the keyword the caller used


def test_chip_range_is_full_or_limited_and_video_is_a_deprecated_synonym():
    args = {"mode": "yuvbt601full2rgb", "divisor": 1, "mean": 128, "std": 128}
    limited = lint_node(**args, chip_range="limited")
    assert [f.id for f in limited] == ["range"] and "yuvbt601video2rgb" in limited[0].fix
    assert "delivers limited range" in limited[0].message and "video range" not in limited[0].message
    with pytest.warns(DeprecationWarning, match="chip_range='video'.*'limited'") as record:
        video = lint_node(**args, chip_range="video")
    assert video == limited
    assert record[0].filename == __file__
    with pytest.raises(InputError, match="chip_range"):
        lint_node(**args, chip_range="studio")


def test_errors_are_nv12kit_errors():
    assert issubclass(InputError, NV12KitError)


def test_range_finding_names_the_visible_effect_the_right_way_round():
    # A full-range node fed limited-range NV12 leaves 16..235: blacks grey, whites dim.
    full_node = lint_node(mode="yuvbt601full2rgb", divisor=1, mean=128, std=128, chip_range="limited")
    assert "blacks turn grey and whites dim" in full_node[0].message
    # A limited-range node fed full-range NV12 expands 0..255 past the ends: stretched and clipped.
    limited_node = lint_node(mode="yuvbt601video2rgb", divisor=1, mean=128, std=128, chip_range="full")
    assert "contrast is stretched and clipped" in limited_node[0].message
