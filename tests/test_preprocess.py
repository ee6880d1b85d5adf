"""Preprocess: the feat path's normalisation, shared with the NV12 node."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import onnx_models as om
import pytest

import nv12kit
from nv12kit import InputError, ModelError, Preprocess

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@pytest.fixture
def rgb():
    return np.random.default_rng(0).integers(0, 256, (6, 10, 3), dtype=np.uint8)


def test_pytorch_form_matches_to_tensor_then_normalize(rgb):
    pre = Preprocess.from_torch(IMAGENET_MEAN, IMAGENET_STD)
    reference = (rgb.astype(np.float64) / 255 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    got = pre(rgb)
    assert got.shape == (1, 3, 6, 10) and got.dtype == np.float32
    np.testing.assert_allclose(got[0].transpose(1, 2, 0), reference, rtol=0, atol=1e-5)


def test_pytorch_form_and_0_255_form_agree(rgb):
    torch_form = Preprocess.from_torch(IMAGENET_MEAN, IMAGENET_STD)
    pixel_form = Preprocess(mean=np.multiply(IMAGENET_MEAN, 255), std=np.multiply(IMAGENET_STD, 255))
    np.testing.assert_allclose(torch_form(rgb), pixel_form(rgb), rtol=0, atol=1e-5)


def test_scalar_mean_and_std_apply_to_every_channel(rgb):
    pre = Preprocess(mean=128, std=128)
    assert pre.mean == (128.0,) * 3 and pre.std == (128.0,) * 3
    np.testing.assert_array_equal(pre(rgb)[0], ((rgb.astype(np.float32) - 128) / 128).transpose(2, 0, 1))


def test_bgr_order_swaps_channels_before_normalising(rgb):
    pre = Preprocess(mean=(10, 20, 30), std=(1, 2, 4), order="bgr")
    got = pre(rgb)[0]
    np.testing.assert_array_equal(got[0], (rgb[..., 2].astype(np.float32) - 10) / 1)
    np.testing.assert_array_equal(got[2], (rgb[..., 0].astype(np.float32) - 30) / 4)


def test_yuv444_order_is_the_exact_bt601_full_encode(rgb):
    got = Preprocess(mean=0, std=1, order="yuv444")(rgb)[0].transpose(1, 2, 0)
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    u = -0.168736 * r - 0.331264 * g + 0.5 * b + 128
    v = 0.5 * r - 0.418688 * g - 0.081312 * b + 128
    expected = np.clip(np.floor(np.stack([y, u, v], -1) + 0.5), 0, 255)
    assert np.abs(got - expected).max() <= 1  # exact rationals vs 6-decimal coefficients at .5 ties
    assert np.mean(got == expected) > 0.99


def test_nhwc_layout_and_batches(rgb):
    batch = np.stack([rgb, rgb[::-1]])
    got = Preprocess(mean=0, std=1, layout="NHWC")(batch)
    assert got.shape == (2, 6, 10, 3)
    np.testing.assert_array_equal(got[1], rgb[::-1].astype(np.float32))


@pytest.mark.parametrize(
    "pre",
    [Preprocess(), Preprocess.from_torch(IMAGENET_MEAN, IMAGENET_STD), Preprocess(mean=1, std=3, order="bgr",
                                                                                   layout="NHWC")],
)
def test_to_image_undoes_the_normalisation(pre, rgb):
    np.testing.assert_array_equal(pre.to_image(pre(rgb))[0], rgb)


def test_pil_images_are_accepted(rgb):
    pil = nv12kit.images.Image.fromarray(rgb)
    np.testing.assert_array_equal(Preprocess()(pil), Preprocess()(rgb))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"std": (1, 0, 1)}, "std must not contain 0"),
        ({"divisor": 0}, "divisor must be a positive number"),
        ({"divisor": "x"}, "divisor must be a positive number"),
        ({"mean": (1, 2)}, "mean must be a number or 3 numbers"),
        ({"mean": float("nan")}, "mean must be finite"),
        ({"order": "rgba"}, "order must be one of"),
        ({"layout": "CHW"}, "layout must be 'NCHW' or 'NHWC'"),
    ],
)
def test_bad_settings_are_rejected_with_the_rule(kwargs, match):
    with pytest.raises(InputError, match=match):
        Preprocess(**kwargs)


@pytest.mark.parametrize(
    "image, match",
    [
        # the one image validator's wording (nv12kit.images.check_uint8_image)
        (np.zeros((4, 4, 3), np.float32), "must have dtype uint8.*not rescaled"),
        (np.zeros((3, 4, 4), np.uint8), r"channel-first.*transpose\(1, 2, 0\)"),
        (np.zeros((4, 4), np.uint8), r"\(H, W, 3\) or \(N, H, W, 3\).*greyscale"),
        ("frame.png", "load files with nv12kit.load_image"),
    ],
)
def test_bad_images_are_rejected_with_the_fix(image, match):
    with pytest.raises(InputError, match=match):
        Preprocess()(image)


def test_dict_round_trip_and_unknown_keys():
    pre = Preprocess(mean=(1, 2, 3), std=4, divisor=255, order="bgr", layout="NHWC")
    assert Preprocess.from_dict(json.loads(json.dumps(pre.to_dict()))) == pre
    with pytest.raises(InputError, match="unknown preprocessing keys"):
        Preprocess.from_dict({"mean": 0, "std": 1, "scale": 2})


def test_model_metadata_gives_the_preprocessing():
    model = om.classifier()
    entry = model.metadata_props.add()
    entry.key, entry.value = "nv12kit.preprocess", json.dumps({"mean": [1, 2, 3], "std": [4, 5, 6], "divisor": 255})
    assert Preprocess.from_model(model) == Preprocess(mean=(1, 2, 3), std=(4, 5, 6), divisor=255)
    with pytest.raises(ModelError, match="carries no 'nv12kit.preprocess' metadata"):
        Preprocess.from_model(om.classifier())
    entry.value = "{not json"
    with pytest.raises(ModelError, match="not a valid spec"):
        Preprocess.from_model(model)


def test_node_kwargs_name_the_matching_vendor_mode():
    # One range vocabulary ("full"/"limited"); the mode keeps hbdk's own word "video".
    assert Preprocess(order="bgr").node_kwargs(chip_range="limited")["mode"] == "yuvbt601video2bgr"
    assert Preprocess().node_mode() == "yuvbt601full2rgb"
    assert Preprocess(order="yuv444").node_kwargs()["mode"] is None
    with pytest.raises(InputError, match="chip_range"):
        Preprocess().node_mode(chip_range="studio")


def test_hbdk_video_range_name_is_a_deprecated_alias_of_limited():
    with pytest.warns(DeprecationWarning, match="chip_range='limited'") as caught:
        assert Preprocess().node_mode(chip_range="video") == "yuvbt601video2rgb"
        assert Preprocess().node_kwargs(chip_range="video")["mode"] == "yuvbt601video2rgb"
    assert {pathlib.Path(w.filename).name for w in caught} == {"test_preprocess.py"}  # points at the caller


def test_fast_normalisation_equals_the_whole_image_steps_bit_for_bit():
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (2, 6, 10, 3), dtype=np.uint8)
    noisy = rgb + rng.uniform(-3, 3, rgb.shape)
    for order in ("rgb", "bgr", "yuv444"):
        for layout in ("NCHW", "NHWC"):
            pre = Preprocess(mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375), order=order, layout=layout)
            for pixels, got in ((rgb, pre(rgb)), (noisy, pre.normalize_pixels(noisy))):
                # the textbook recipe, written out: reorder, three float32 steps, transpose
                x = np.asarray(pixels).astype(np.float32)
                if order == "bgr":
                    x = x[..., ::-1]
                elif order == "yuv444":
                    x = pre.channels(rgb).astype(np.float32) if pixels is rgb else x
                if order == "yuv444" and pixels is not rgb:
                    continue  # float yuv444 is covered by the noise tests
                x = (x / np.float32(pre.divisor) - np.asarray(pre.mean, np.float32)) / np.asarray(pre.std, np.float32)
                want = x.transpose(0, 3, 1, 2) if layout == "NCHW" else x
                assert got.dtype == np.float32 and got.flags.c_contiguous
                np.testing.assert_array_equal(got, want)


def test_pixel_gain_and_tensor_bounds_follow_the_formula():
    pre = Preprocess(mean=(0.5, 0.4, 0.3), std=(0.25, -0.5, 2.0), divisor=255, order="bgr", layout="NHWC")
    np.testing.assert_allclose(pre.pixel_gain(), 1 / (255 * np.array([0.25, -0.5, 2.0])))
    low, high = pre.tensor_bounds()
    ends = np.array([(0 / 255 - m) / s for m, s in zip(pre.mean, pre.std)]), \
        np.array([(255 / 255 - m) / s for m, s in zip(pre.mean, pre.std)])
    np.testing.assert_allclose(low, np.minimum(*ends), rtol=1e-6)
    np.testing.assert_allclose(high, np.maximum(*ends), rtol=1e-6)


def test_str_shows_the_formula():
    expected = "(x / 255 - [0.5, 0.5, 0.5]) / [0.25, 0.25, 0.25], RGB, NCHW"
    assert str(Preprocess.from_torch((0.5,) * 3, (0.25,) * 3)) == expected
