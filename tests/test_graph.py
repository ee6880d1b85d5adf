"""insert_nv12_node and quantize: numerics against the feat path, modes, graph hygiene."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnx_models as om
import pytest
from onnx import TensorProto

import nv12kit
import nv12kit.data
from nv12kit import Preprocess, Runner, insert_nv12_node, nv12_to_rgb, rgb_to_nv12

MODELS = {
    "classifier": (om.classifier, "image", "NCHW", (32, 32)),
    "dense": (om.dense, "image", "NCHW", (32, 48)),
    "multi_output": (om.multi_output, "image", "NCHW", (32, 32)),
    "nhwc": (om.nhwc, "input_1", "NHWC", (32, 32)),
}

# mode -> the nv12kit convention whose decoder the node must reproduce
MODES = {
    "yuvbt601full2rgb": "horizon",
    "yuvbt601full2bgr": "horizon",
    "yuvbt601video2rgb": "bt601-limited",
    "yuvbt601video2bgr": "bt601-limited",
}


def rel_l2(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(a))


def photo(size: tuple[int, int], index: int = 0) -> np.ndarray:
    rgb = nv12kit.load_image(nv12kit.data.photo_paths()[index])
    return nv12kit.resize_to(rgb, *size)


def encoder_for(mode: str) -> str:
    """An encoder in the range the mode expects."""
    return "bt601-limited" if "video" in mode else "horizon"


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("model_name", list(MODELS))
def test_nv12_variant_matches_float_model_on_decoded_frame(model_name, mode):
    build, name, layout, size = MODELS[model_name]
    model = build()
    order = mode[-3:]
    pre = Preprocess(mean=(123.7, 116.3, 103.5), std=(58.4, 57.1, 57.4), order=order, layout=layout)
    variant = insert_nv12_node(model, **pre.node_kwargs(chip_range="limited" if "video" in mode else "full"))
    frame = rgb_to_nv12(photo(size), convention=encoder_for(mode))

    expected = Runner(model).run({name: pre(nv12_to_rgb(frame, convention=MODES[mode]))})
    got = Runner(variant).run(frame.to_feed(name))

    assert list(got) == list(expected)
    for output in expected:
        assert got[output].shape == expected[output].shape
        assert rel_l2(expected[output], got[output]) <= 1e-4, output


@pytest.mark.parametrize("divisor, mean, std", [(1.0, 128, 128), (255.0, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
                                                (256.0, 0.5, 0.25)])
def test_node_normalisation_equals_preprocess(divisor, mean, std):
    # An identity model exposes the node's tensor itself.
    model = om.identity(["N", 3, 8, 12])
    pre = Preprocess(mean=mean, std=std, divisor=divisor)
    frame = rgb_to_nv12(np.random.default_rng(1).integers(0, 256, (8, 12, 3), dtype=np.uint8))
    got = Runner(insert_nv12_node(model, **pre.node_kwargs())).run(frame.to_feed("image"))["out"]
    np.testing.assert_array_equal(got, pre(nv12_to_rgb(frame, convention="bt601-full")))


@pytest.mark.parametrize("mode", [None, "skip"])
def test_skip_mode_passes_upsampled_yuv444_through(mode):
    model = om.identity(["N", 3, 8, 12])
    frame = rgb_to_nv12(np.random.default_rng(2).integers(0, 256, (8, 12, 3), dtype=np.uint8))
    got = Runner(insert_nv12_node(model, mode=mode, mean=0, std=1)).run(frame.to_feed("image"))["out"]
    u = np.repeat(np.repeat(frame.u, 2, axis=0), 2, axis=1)
    v = np.repeat(np.repeat(frame.v, 2, axis=0), 2, axis=1)
    expected = np.stack([frame.y, u, v])[None].astype(np.float32)
    np.testing.assert_array_equal(got, expected)


def test_bilinear_upsampling_matches_the_bilinear_convention():
    model = om.identity(["N", 3, 16, 20])
    frame = rgb_to_nv12(photo((16, 20), 1))
    got = Runner(insert_nv12_node(model, mean=0, std=1, upsample="bilinear")).run(frame.to_feed("image"))["out"]
    bilinear = nv12kit.get_convention("bt601-full").replace(chroma_up="bilinear")
    expected = Preprocess(mean=0, std=1)(nv12_to_rgb(frame, convention=bilinear))
    np.testing.assert_array_equal(got, expected)
    nearest = Runner(insert_nv12_node(model, mean=0, std=1)).run(frame.to_feed("image"))["out"]
    assert not np.array_equal(got, nearest)


def test_full_range_decode_is_exact_on_every_yuv_value_pair():
    # 256 Y values x all (U, V) in steps of 5: the node equals nv12kit's exact decoder bit for bit.
    u, v = np.meshgrid(np.arange(0, 256, 5), np.arange(0, 256, 5), indexing="ij")
    uv = np.stack([u, v], axis=-1).astype(np.uint8)
    h, w = uv.shape[0] * 2, uv.shape[1] * 2
    y = (np.arange(h * w) % 256).astype(np.uint8).reshape(h, w)
    frame = nv12kit.NV12Frame(y, uv)
    model = om.identity(["N", 3, h, w])
    for mode, conv in (("yuvbt601full2rgb", "bt601-full"), ("yuvbt601video2bgr", "bt601-limited")):
        got = Runner(insert_nv12_node(model, mode=mode, mean=0, std=1)).run(frame.to_feed("image"))["out"]
        expected = nv12_to_rgb(frame, convention=conv, order=mode[-3:]).transpose(2, 0, 1)[None]
        np.testing.assert_array_equal(got, expected.astype(np.float32))


@pytest.mark.parametrize(
    "right, wrong",
    [
        ("yuvbt601full2rgb", "yuvbt601full2bgr"),
        ("yuvbt601full2rgb", "yuvbt601video2rgb"),
        ("yuvbt601video2bgr", "yuvbt601full2bgr"),
        ("yuvbt601full2rgb", None),
    ],
)
def test_mismatched_mode_gives_visibly_different_outputs(right, wrong):
    model = om.classifier(32)
    frame = rgb_to_nv12(photo((32, 32)), convention=encoder_for(right))
    pre = Preprocess(mean=128, std=64)
    good = Runner(insert_nv12_node(model, mode=right, mean=128, std=64)).run(frame.to_feed("image"))["logits"]
    bad = Runner(insert_nv12_node(model, mode=wrong, mean=128, std=64)).run(frame.to_feed("image"))["logits"]
    reference = Runner(model).run({"image": pre.__class__(mean=128, std=64, order=right[-3:])(
        nv12_to_rgb(frame, convention=MODES[right]))})["logits"]
    assert rel_l2(reference, good) <= 1e-4
    assert rel_l2(reference, bad) > 20 * max(rel_l2(reference, good), 1e-4)


def test_other_inputs_outputs_opset_and_dynamic_batch_are_kept():
    model = om.with_extra_input()
    variant = insert_nv12_node(model)
    assert [i.name for i in variant.graph.input] == ["image_y", "image_uv", "scale"]
    assert [o.name for o in variant.graph.output] == [o.name for o in model.graph.output]
    assert [(o.domain, o.version) for o in variant.opset_import] == [(o.domain, o.version) for o in model.opset_import]
    y_dims = [d.dim_param or d.dim_value for d in variant.graph.input[0].type.tensor_type.shape.dim]
    uv_dims = [d.dim_param or d.dim_value for d in variant.graph.input[1].type.tensor_type.shape.dim]
    assert y_dims == ["N", 32, 32, 1] and uv_dims == ["N", 16, 16, 2]
    assert variant.graph.input[0].type.tensor_type.elem_type == TensorProto.UINT8

    frames = [rgb_to_nv12(photo((32, 32), i)) for i in range(2)]
    feed = {k: np.concatenate([f.to_feed("image")[k] for f in frames]) for k in ("image_y", "image_uv")}
    feed["scale"] = np.array([[1.0], [2.0]], np.float32)
    out = Runner(variant).run(feed)["logits"]
    single = Runner(variant).run({**frames[1].to_feed("image"), "scale": np.array([[2.0]], np.float32)})["logits"]
    np.testing.assert_allclose(out[1:], single, rtol=1e-6)


def test_static_batch_and_dynamic_spatial_sizes_are_kept():
    static = insert_nv12_node(om.classifier(32, batch=1))
    assert [d.dim_value for d in static.graph.input[0].type.tensor_type.shape.dim] == [1, 32, 32, 1]
    dynamic = insert_nv12_node(om.identity(["N", 3, "H", "W"]))
    dims = [[d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in dynamic.graph.input]
    assert dims == [["N", "H", "W", 1], ["N", "H_half", "W_half", 2]]
    frame = rgb_to_nv12(photo((24, 40)))
    out = Runner(dynamic).run(frame.to_feed("image"))["out"]
    assert out.shape == (1, 3, 24, 40)


def test_source_model_proto_is_not_modified():
    model = om.classifier()
    before = model.SerializeToString()
    insert_nv12_node(model)
    assert model.SerializeToString() == before


def test_settings_are_recorded_and_found_again():
    variant = insert_nv12_node(om.nhwc(), mode="yuvbt601video2bgr", divisor=255, mean=0.5, std=0.25)
    (found,) = nv12kit.nv12_inputs(variant)
    assert (found.name, found.y, found.uv, found.height, found.width) == ("input_1", "input_1_y", "input_1_uv", 32, 32)
    assert found.settings["mode"] == "yuvbt601video2bgr"
    assert found.settings["layout"] == "NHWC" and found.settings["mean"] == [0.5, 0.5, 0.5]
    record = json.loads({p.key: p.value for p in variant.metadata_props}[nv12kit.graph.NODE_METADATA_KEY])
    assert record[0]["divisor"] == 255.0
    assert nv12kit.nv12_inputs(om.classifier()) == []


def test_variant_passes_the_onnx_checker_with_shape_inference():
    variant = insert_nv12_node(om.dense())
    onnx.checker.check_model(variant, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(variant, strict_mode=True)
    assert inferred.graph.output[0].name == "scores"


def test_float16_model_gets_a_float16_tensor():
    model = om.identity(["N", 3, 8, 8], dtype=TensorProto.FLOAT16)
    frame = rgb_to_nv12(np.random.default_rng(3).integers(0, 256, (8, 8, 3), dtype=np.uint8))
    out = Runner(insert_nv12_node(model)).run(frame.to_feed("image"))["out"]
    assert out.dtype == np.float16
    expected = Preprocess()(nv12_to_rgb(frame)).astype(np.float16)
    np.testing.assert_array_equal(out, expected)


def test_node_names_do_not_collide_with_the_model():
    variant = insert_nv12_node(om.classifier())
    outputs = [o for n in variant.graph.node for o in n.output]
    assert len(outputs) == len(set(outputs))
    assert sum(n.name.startswith("nv12kit/") for n in variant.graph.node) >= 10


# ----------------------------------------------------------------------------
# quantisation
# ----------------------------------------------------------------------------
def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


@pytest.fixture(scope="module")
def calibration():
    rgb = [nv12kit.load_image(p) for p in nv12kit.data.photo_paths()]
    rng = np.random.default_rng(0)
    crops = []
    for image in rgb:
        for _ in range(4):
            top = rng.integers(0, image.shape[0] - 64)
            left = rng.integers(0, image.shape[1] - 64)
            crops.append(image[top:top + 64, left:left + 64].copy())
    return crops


def test_quantized_feat_and_nv12_variants_stay_close_to_float(calibration):
    model = om.multi_output(32)
    pre = Preprocess(mean=(123.7, 116.3, 103.5), std=(58.4, 57.1, 57.4))
    q_feat = nv12kit.quantize(model, calibration, preprocess=pre, progress=False)
    q_nv12 = nv12kit.quantize(model, calibration, preprocess=pre, nv12=True, progress=False)

    for q in (q_feat, q_nv12):
        ops = {n.op_type for n in q.graph.node}
        assert {"QuantizeLinear", "DequantizeLinear"} <= ops
        # 8-bit weights; uint8 since onnxruntime's u8 x s8 kernels saturate on CPUs without VNNI (graph.quantize)
        int8_weights = [i for i in q.graph.initializer if i.data_type in (TensorProto.INT8, TensorProto.UINT8)]
        assert int8_weights, "weights were not quantised"
    # The node's colour conversion is quantised too, as on the chip.
    decode = [n for n in q_nv12.graph.node if n.op_type == "Conv" and n.name.startswith("nv12kit/")]
    assert decode and all(i.endswith(("_DequantizeLinear_Output", "_dequantized")) or "Dequant" in i
                          for i in decode[0].input[:2])

    float_runner, feat_runner, nv12_runner = Runner(model), Runner(q_feat), Runner(q_nv12)
    for index in range(3):
        rgb = photo((32, 32), index)
        frame = rgb_to_nv12(rgb)
        reference = float_runner.run({"image": pre(rgb)})
        quant_feat = feat_runner.run({"image": pre(rgb)})
        quant_nv12 = nv12_runner.run(frame.to_feed("image"))
        for name in reference:
            assert cosine(reference[name], quant_feat[name]) > 0.98, name
            assert cosine(reference[name], quant_nv12[name]) > 0.95, name
            # int8 is not the identity: a test that cannot fail is no test.
            assert not np.array_equal(reference[name], quant_feat[name])


def test_quantize_accepts_an_existing_nv12_variant_and_a_folder(tmp_path, calibration):
    for i, crop in enumerate(calibration[:3]):
        nv12kit.images.Image.fromarray(crop).save(tmp_path / f"frame{i}.png")
    pre = Preprocess(mean=128, std=128)
    variant = insert_nv12_node(om.classifier(32), **pre.node_kwargs())
    quantized = nv12kit.quantize(variant, tmp_path, preprocess=pre, nv12=True, progress=False)
    assert [i.name for i in quantized.graph.input] == ["image_y", "image_uv"]
    meta = json.loads({p.key: p.value for p in quantized.metadata_props}["nv12kit.quantized"])
    assert meta["calibration_frames"] == 3 and meta["nv12"] is True
    assert nv12kit.graph.NODE_METADATA_KEY in {p.key for p in quantized.metadata_props}


def input_scale(model: onnx.ModelProto, name: str) -> float:
    (node,) = [n for n in model.graph.node if n.op_type == "QuantizeLinear" and n.input[0] == name]
    (scale,) = [i for i in model.graph.initializer if i.name == node.input[1]]
    return float(onnx.numpy_helper.to_array(scale))


def test_calibration_frames_set_the_input_range(calibration):
    # Asymmetric uint8/int8 activations: scale = (max - min) / 255, with 0 always inside the range.
    model = om.classifier(32)
    pre = Preprocess(mean=128, std=128)
    dark = [np.full((32, 32, 3), 64, np.uint8), np.full((32, 32, 3), 96, np.uint8)]
    quantized = nv12kit.quantize(model, dark, preprocess=pre, progress=False)
    assert input_scale(quantized, "image") == pytest.approx((0 - (64 - 128) / 128) / 255, rel=1e-5)
    quantized = nv12kit.quantize(model, calibration, preprocess=pre, progress=False)
    tensors = np.concatenate([pre(nv12kit.resize_to(c, 32, 32)) for c in calibration])
    span = max(tensors.max(), 0) - min(tensors.min(), 0)
    assert input_scale(quantized, "image") == pytest.approx(span / 255, rel=1e-5)
