"""The resizer node: pyramid equality, an independent reference, padding, ROI errors, metadata."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import onnx_models as om
import pytest

import nv12kit
import nv12kit.data
from nv12kit import InputError, ModelError, Preprocess, Runner, insert_nv12_node, rgb_to_nv12
from nv12kit.resizer import check_roi, insert_nv12_resizer, resize_nv12_roi, resizer_feed, resizer_inputs

FRAME_H, FRAME_W = 30, 46
OUT = (16, 12)


def random_frame(seed: int, height: int = FRAME_H, width: int = FRAME_W) -> nv12kit.NV12Frame:
    rng = np.random.default_rng(seed)
    return nv12kit.NV12Frame(rng.integers(0, 256, (height, width), dtype=np.uint8),
                             rng.integers(0, 256, (height // 2, width // 2, 2), dtype=np.uint8))


# ----------------------------------------------------------------------------
# an independent reference: np.pad, slice, exact fractions; nothing from nv12kit.resizer
# ----------------------------------------------------------------------------
def ref_crop(plane: np.ndarray, box: tuple[int, int, int, int], pad: str, pad_value: int) -> np.ndarray:
    left, top, right, bottom = box
    margin = 4 * max(plane.shape) + abs(left) + abs(top) + abs(right) + abs(bottom)
    widths = ((margin, margin), (margin, margin), (0, 0))
    padded = (np.pad(plane, widths, mode="constant", constant_values=pad_value) if pad == "constant"
              else np.pad(plane, widths, mode="edge"))
    return padded[top + margin:bottom + margin, left + margin:right + margin]


def ref_resize(crop: np.ndarray, size: tuple[int, int], interpolation: str) -> np.ndarray:
    """Half-pixel bilinear with exact weights rounded half up, or OpenCV INTER_NEAREST_EXACT."""
    out = np.zeros((size[0], size[1], crop.shape[2]), np.uint8)

    def taps(i: int, n_in: int, n_out: int) -> list[tuple[int, Fraction]]:
        if interpolation == "nearest":
            return [(min(math.floor(Fraction(2 * i + 1, 2) * n_in / n_out), n_in - 1), Fraction(1))]
        src = min(max(Fraction(2 * i + 1, 2) * n_in / n_out - Fraction(1, 2), Fraction(0)), Fraction(n_in - 1))
        low = math.floor(src)
        frac = src - low
        return [(low, 1 - frac), (min(low + 1, n_in - 1), frac)]

    for i in range(size[0]):
        for j in range(size[1]):
            for c in range(crop.shape[2]):
                value = sum((wy * wx * int(crop[y, x, c]) for y, wy in taps(i, crop.shape[0], size[0])
                             for x, wx in taps(j, crop.shape[1], size[1])), Fraction(0))
                out[i, j, c] = math.floor(value + Fraction(1, 2))
    return out


def reference(frame: nv12kit.NV12Frame, roi, size, *, interpolation="bilinear", pad="constant",
              pad_value=(0, 128)) -> tuple[np.ndarray, np.ndarray]:
    left, top, right, bottom = roi
    y = ref_resize(ref_crop(frame.y[:, :, None], roi, pad, pad_value[0]), size, interpolation)[:, :, 0]
    chroma = (left // 2, top // 2, right // 2, bottom // 2)
    uv = ref_resize(ref_crop(frame.uv, chroma, pad, pad_value[1]), (size[0] // 2, size[1] // 2), interpolation)
    return y, uv


def node_planes(model, frame, roi) -> tuple[np.ndarray, np.ndarray]:
    """Run a resizer in front of an identity model with mode=None: its output is the resized YUV444."""
    out = Runner(model).run(resizer_feed(frame, roi, "image"))["out"][0]
    assert np.array_equal(out, np.round(out))
    y, uv = out[0].astype(np.uint8), out[1:, ::2, ::2].transpose(1, 2, 0).astype(np.uint8)
    return y, uv


def plane_model(size=OUT, **kwargs):
    return insert_nv12_resizer(om.identity(["N", 3, *size]), mode=None, divisor=1, mean=0, std=1,
                               upsample="nearest", **kwargs)


# ----------------------------------------------------------------------------
# the full frame at the model's size is the pyramid node
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("align", ["half_pixel", "align_corners", "asymmetric"])
def test_full_frame_at_model_size_equals_the_pyramid_node(interpolation, align):
    path = nv12kit.data.model_path("demo_robust")
    pre = Preprocess(mean=(123.7, 116.3, 103.5), std=(58.4, 57.1, 57.4))
    pyramid = Runner(insert_nv12_node(path, **pre.node_kwargs()))
    resizer = Runner(insert_nv12_resizer(path, interpolation=interpolation, align=align, **pre.node_kwargs()))
    for seed in range(2):
        rgb = np.random.default_rng(seed).integers(0, 256, (128, 128, 3), dtype=np.uint8)
        frame = rgb_to_nv12(rgb, convention="horizon")
        expected = pyramid.run(frame.to_feed("image"))
        got = resizer.run(resizer_feed(frame, (0, 0, 128, 128), "image"))
        assert list(got) == list(expected)
        for name in expected:
            np.testing.assert_array_equal(got[name], expected[name])


def test_full_frame_on_the_fragile_demo_with_bilinear_chroma_upsampling():
    path = nv12kit.data.model_path("demo_fragile")
    kwargs = {**Preprocess(mean=128, std=128).node_kwargs(), "upsample": "bilinear"}
    frame = random_frame(7, 128, 128)
    expected = Runner(insert_nv12_node(path, **kwargs)).run(frame.to_feed("image"))
    got = Runner(insert_nv12_resizer(path, roi_end="inclusive", **kwargs)).run(
        resizer_feed(frame, (0, 0, 127, 127), "image"))
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name])


# ----------------------------------------------------------------------------
# crops against the independent reference and against resize_nv12_roi
# ----------------------------------------------------------------------------
ROIS = [
    (0, 0, FRAME_W, FRAME_H),  # downscale the whole frame
    (4, 2, 10, 8),  # 6x6 upscale, 3x3 chroma
    (2, 4, 24, 14),  # 22x10, chroma 11x5
    (10, 6, 16, 26),  # tall 6x20
    (20, 10, 44, 26),  # 24x16: 2x in Y, 1x in chroma rows... near the right edge
    (0, 0, 2, 2),  # one chroma sample
]


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_crops_equal_an_independent_reference(interpolation):
    model = plane_model(interpolation=interpolation)
    frame = random_frame(1)
    for roi in ROIS:
        y, uv = node_planes(model, frame, roi)
        ref_y, ref_uv = reference(frame, roi, OUT, interpolation=interpolation)
        np.testing.assert_array_equal(y, ref_y, err_msg=str(roi))
        np.testing.assert_array_equal(uv, ref_uv, err_msg=str(roi))
        helper = resize_nv12_roi(frame, roi, OUT, interpolation=interpolation)
        np.testing.assert_array_equal(helper.y, ref_y)
        np.testing.assert_array_equal(helper.uv, ref_uv)


@pytest.mark.parametrize("pad", ["constant", "border"])
def test_rois_outside_the_frame_are_padded(pad):
    model = plane_model(pad=pad, pad_value=(16, 100))
    frame = random_frame(2)
    for roi in [(-6, -4, 10, 12), (36, 20, 52, 36), (-10, 8, 56, 20), (-20, -20, -4, -8)]:
        y, uv = node_planes(model, frame, roi)
        ref_y, ref_uv = reference(frame, roi, OUT, pad=pad, pad_value=(16, 100))
        np.testing.assert_array_equal(y, ref_y, err_msg=str(roi))
        np.testing.assert_array_equal(uv, ref_uv, err_msg=str(roi))
    if pad == "constant":  # entirely outside: nothing but padding
        y, uv = node_planes(model, frame, (-20, -20, -4, -8))
        assert (y == 16).all() and (uv == 100).all()


def test_default_padding_is_black_with_neutral_chroma():
    y, uv = node_planes(plane_model(), random_frame(3), (100, 100, 120, 120))
    assert (y == 0).all() and (uv == 128).all()


SAMPLINGS = [("bilinear", "round_prefer_ceil")] + [
    ("nearest", mode) for mode in ("round_prefer_ceil", "round_prefer_floor", "floor")]


@pytest.mark.parametrize("interpolation, nearest_mode", SAMPLINGS)
@pytest.mark.parametrize("align", ["half_pixel", "align_corners", "asymmetric"])
@pytest.mark.parametrize("pad", ["constant", "border"])
def test_node_equals_resize_nv12_roi_on_random_rois(interpolation, align, nearest_mode, pad):
    settings = {"interpolation": interpolation, "align": align, "nearest_mode": nearest_mode, "pad": pad}
    model = plane_model(size=(10, 14), **settings)
    rng = np.random.default_rng(len(interpolation + align + nearest_mode + pad))
    frame = random_frame(4)
    for _ in range(8):  # any integers, odd, inverted and outside ones included: the node is defined for all
        roi = tuple(int(v) for v in rng.integers(-12, 60, 4))
        y, uv = node_planes(model, frame, roi)
        helper = resize_nv12_roi(frame, roi, (10, 14), **settings)
        np.testing.assert_array_equal(y, helper.y, err_msg=str(roi))
        np.testing.assert_array_equal(uv, helper.uv, err_msg=str(roi))


def test_inclusive_roi_end_is_one_pixel_further():
    frame = random_frame(5)
    got = node_planes(plane_model(roi_end="inclusive"), frame, (4, 2, 23, 13))
    expected = reference(frame, (4, 2, 24, 14), OUT)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])


def test_the_node_runs_on_an_opset_11_model():
    model = insert_nv12_resizer(om.identity(["N", 3, 8, 8], opset=11), mode=None, mean=0, std=1)
    frame = random_frame(6)
    out = Runner(model).run(resizer_feed(frame, (2, 2, 22, 18), "image"))["out"]
    np.testing.assert_array_equal(out[0, 0], resize_nv12_roi(frame, (2, 2, 22, 18), (8, 8)).y)


# ----------------------------------------------------------------------------
# ROI checks and model errors
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("roi, match", [
    ((1, 0, 9, 8), "left=1 is odd"),
    ((0, 3, 8, 11), "top=3 is odd"),
    ((0, 0, 7, 8), "even width and height"),
    ((4, 4, 4, 10), "empty"),
    ((8, 8, 2, 2), "empty"),
    ((100, 0, 120, 8), "entirely outside"),
    ((-20, -20, -4, -8), "entirely outside"),
    ((0, 0, 8), "4 integers"),
    ((0.5, 0, 8, 8), "4 integers"),
])
def test_check_roi_rejects_with_the_fix(roi, match):
    with pytest.raises(InputError, match=match):
        check_roi(roi, FRAME_H, FRAME_W)


def test_check_roi_accepts_and_normalises():
    assert check_roi(np.array([[0, 0, 64, 32]], np.int32), 480, 640) == (0, 0, 64, 32)
    assert check_roi((2, 4, 11, 9), 480, 640, roi_end="inclusive") == (2, 4, 12, 10)
    assert check_roi((-4, -2, 8, 8), 480, 640) == (-4, -2, 8, 8)
    with pytest.raises(InputError, match="allow_padding"):
        check_roi((-4, -2, 8, 8), 480, 640, allow_padding=False)
    with pytest.raises(InputError, match="right - 1 and bottom - 1"):
        check_roi((0, 0, 8, 7), 480, 640, roi_end="inclusive")


def test_dynamic_model_needs_a_size():
    dynamic = om.identity(["N", 3, "H", "W"])
    with pytest.raises(ModelError, match="size=\\(height, width\\)"):
        insert_nv12_resizer(dynamic, mode=None, mean=0, std=1)
    model = insert_nv12_resizer(dynamic, size=(6, 8), mode=None, mean=0, std=1)
    out = Runner(model).run(resizer_feed(random_frame(8), (0, 0, 16, 12), "image"))["out"]
    assert out.shape == (1, 3, 6, 8)
    with pytest.raises(ModelError, match="contradicts"):
        insert_nv12_resizer(om.identity(["N", 3, 8, 8]), size=(6, 8), mode=None, mean=0, std=1)
    with pytest.raises(ModelError, match="even"):
        insert_nv12_resizer(dynamic, size=(7, 8), mode=None, mean=0, std=1)


@pytest.mark.parametrize("kwargs, match", [({"interpolation": "cubic"}, "interpolation"),
                                           ({"pad": "reflect"}, "pad"), ({"pad_value": (0, -128)}, "signed"),
                                           ({"align": "corners"}, "align"), ({"roi_end": "open"}, "roi_end")])
def test_bad_settings_are_input_errors(kwargs, match):
    with pytest.raises(InputError, match=match):
        insert_nv12_resizer(om.identity(["N", 3, 8, 8]), **kwargs)


# ----------------------------------------------------------------------------
# the model it builds
# ----------------------------------------------------------------------------
def test_inputs_metadata_and_lookup():
    model = insert_nv12_resizer(om.classifier(), pad="border", interpolation="nearest", mean=128, std=128)
    inputs = {v.name: [d.dim_value or d.dim_param for d in v.type.tensor_type.shape.dim] for v in model.graph.input}
    assert list(inputs) == ["image_y", "image_uv", "image_roi"]
    assert inputs["image_roi"] == [1, 4]
    assert inputs["image_y"][1:3] == ["frame_height", "frame_width"]
    record = json.loads({p.key: p.value for p in model.metadata_props}[nv12kit.graph.NODE_METADATA_KEY])[-1]
    assert record["source"] == "resizer" and record["pad"] == "border" and record["interpolation"] == "nearest"
    assert record["size"] == [32, 32] and record["roi"] == "image_roi" and record["mean"] == [128.0] * 3
    [found] = resizer_inputs(model)
    assert (found.name, found.y, found.uv, found.roi, found.height, found.width) == (
        "image", "image_y", "image_uv", "image_roi", 32, 32)
    [pair] = nv12kit.nv12_inputs(model)
    assert pair.settings["source"] == "resizer"
    assert resizer_inputs(insert_nv12_node(om.classifier())) == []
    with pytest.raises(ModelError, match="inserted already"):
        insert_nv12_resizer(model)


def test_public_names():
    assert nv12kit.insert_nv12_resizer is insert_nv12_resizer
    assert nv12kit.resize_nv12_roi is resize_nv12_roi and nv12kit.check_roi is check_roi
    assert {"insert_nv12_resizer", "resize_nv12_roi", "check_roi"} <= set(nv12kit.__all__)
