"""Per-layer divergence: numbers, culprits, control flow, memory, reports, CLI and bad input."""

from __future__ import annotations

import argparse
import csv
import json
import math
import pathlib
import subprocess
import sys

import numpy as np
import onnx
import onnx_models as om
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import nv12kit
import nv12kit.data
from nv12kit import layers
from nv12kit.cli.layers import add_layers_arguments, run_layers_command
from nv12kit.layers import LayerDivergence, _cache, _graph, _metrics, _segments, divergence, layer_divergence
from nv12kit.noise import draw_noise

PRE = nv12kit.Preprocess(mean=128, std=64)


# ----------------------------------------------------------------------------
# helpers: an independent reference
# ----------------------------------------------------------------------------
def photo(size: int = 32) -> np.ndarray:
    return nv12kit.resize_to(nv12kit.load_image(nv12kit.data.photo_path("astronaut")), size, size)


def run_tensor(model: onnx.ModelProto, name: str, feed: dict[str, np.ndarray]) -> np.ndarray:
    """The tensor ``name``, run by ORT directly on the model cut down to it (onnx.utils.Extractor).

    Where shape inference cannot type the tensor (control-flow outputs), a fresh copy of the whole
    model with that tensor added as a graph output is run instead.
    """
    inferred = onnx.shape_inference.infer_shapes(model)
    known = {v.name for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
    initializers = {i.name for i in model.graph.initializer}
    if name in known:
        inputs = [v.name for v in model.graph.input if v.name not in initializers]
        sub = onnx.utils.Extractor(inferred).extract_model(inputs, [name])
    else:
        sub = onnx.ModelProto()
        sub.CopyFrom(model)
        sub.graph.output.append(onnx.ValueInfoProto(name=name))
    session = ort.InferenceSession(sub.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run([name], {k: v for k, v in feed.items() if k in {i.name for i in sub.graph.input}})[0]


def reference_metrics(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    cosine = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
    rel = np.linalg.norm(b - a) / np.linalg.norm(a)
    return float(cosine), float(rel), float(-20 * np.log10(rel))


def assert_close_metrics(row: layers.LayerRow, cosine: float, rel: float, snr: float) -> None:
    # 1 - cosine is what matters near 1; ORT may pick other kernels for the cut-down model
    assert (1 - row.cosine) == pytest.approx(1 - cosine, rel=1e-4, abs=1e-9), row.output
    assert row.rel_l2 == pytest.approx(rel, rel=1e-4), row.output
    assert row.snr_db == pytest.approx(snr, abs=1e-3), row.output


def same_divergence(a: LayerDivergence, b: LayerDivergence) -> bool:
    """Same tensors, and 1 - cosine and relative L2 equal up to float32 kernel differences."""
    assert [r.output for r in a.rows] == [r.output for r in b.rows]
    for x, y in zip(a.rows, b.rows):
        assert 1 - x.cosine == pytest.approx(1 - y.cosine, rel=1e-4, abs=1e-12), x.output
        assert x.rel_l2 == pytest.approx(y.rel_l2, rel=1e-4), x.output
    return True


def conv_weight(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, np.float32)
    return matrix.reshape(*matrix.shape, 1, 1)


def make(nodes, inits, *, size: int = 32, out: str = "logits", out_shape=None, name: str = "engineered"):
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, size, size])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, out_shape)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def chroma_amplifier(size: int = 32) -> onnx.ModelProto:
    """Layer 3 keeps only colour differences (luma cancels) and scales them up; the rest is benign."""
    rng = np.random.default_rng(7)
    near_identity = np.eye(3) + rng.normal(0, 0.02, (3, 3))
    chroma = 8 * np.array([[1, -1, 0], [0, -1, 1], [1, 0, -1], [-1, 2, -1]])
    smooth = np.abs(rng.normal(0, 0.1, (8, 4, 3, 3))).astype(np.float32)
    inits = [
        numpy_helper.from_array(conv_weight(near_identity), "w1"),
        numpy_helper.from_array(np.full(3, 4.0, np.float32), "b1"),  # keeps Relu an identity
        numpy_helper.from_array(conv_weight(chroma), "w3"),
        numpy_helper.from_array(smooth, "w4"),
        numpy_helper.from_array(rng.normal(0, 0.3, (8, 5)).astype(np.float32), "fc"),
    ]
    nodes = [
        helper.make_node("Conv", ["image", "w1", "b1"], ["l1"], name="layer1_conv"),
        helper.make_node("Relu", ["l1"], ["l2"], name="layer2_relu"),
        helper.make_node("Conv", ["l2", "w3"], ["l3"], name="layer3_chroma"),
        helper.make_node("Conv", ["l3", "w4"], ["l4"], name="layer4_smooth", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["l4"], ["l5"], name="layer5_relu"),
        helper.make_node("GlobalAveragePool", ["l5"], ["l6"], name="layer6_pool"),
        helper.make_node("Flatten", ["l6"], ["l7"], name="layer7_flatten"),
        helper.make_node("MatMul", ["l7", "fc"], ["logits"], name="layer8_fc"),
    ]
    return make(nodes, inits, size=size, out_shape=["N", 5])


# ----------------------------------------------------------------------------
# correct numbers
# ----------------------------------------------------------------------------
def test_per_node_numbers_equal_running_the_truncated_model_directly():
    model = om.classifier(32)
    rgb = photo()
    result = layer_divergence(model, rgb, preprocess=PRE, compare="nv12", convention="horizon", progress=False)
    clean = {"image": PRE(rgb)}
    round_trip = nv12kit.nv12_to_rgb(nv12kit.rgb_to_nv12(rgb, convention="horizon"), convention="horizon")
    perturbed = {"image": PRE(round_trip)}
    for name in ("c1", "r1", "feat", "gap", "logits"):
        expected = reference_metrics(run_tensor(model, name, clean), run_tensor(model, name, perturbed))
        assert_close_metrics(result.row(name), *expected)
    assert_close_metrics(result.row("image"), *reference_metrics(clean["image"], perturbed["image"]))
    assert [row.output for row in result.rows] == ["image", "c1", "bn1", "r1", "c2", "feat", "gap", "flat", "logits"]
    assert result.row("logits").is_output and not result.row("c1").is_output
    assert result.row("c2").shape == (1, 8, 16, 16)


def test_stacking_clean_and_nv12_in_one_batch_gives_the_numbers_of_two_runs(monkeypatch):
    model, rgb = om.classifier(32), photo()
    stacked = layer_divergence(model, rgb, preprocess=PRE, compare="nv12", progress=False)
    assert stacked.settings["stacked_runs"] is True
    monkeypatch.setattr(divergence, "_STACK_IMAGES", False)
    separate = layer_divergence(model, rgb, preprocess=PRE, compare="nv12", progress=False)
    assert separate.settings["stacked_runs"] is False
    assert same_divergence(stacked, separate)
    assert stacked.row("logits").cosine < 1 - 1e-6  # the runs really differ: row 1 is not row 0


def softmax_over_batch(axis: int) -> onnx.ModelProto:
    nodes = [helper.make_node("Conv", ["image", "w"], ["c"], name="conv"),
             helper.make_node("Softmax", ["c"], ["s"], axis=axis, name="softmax"),
             helper.make_node("GlobalAveragePool", ["s"], ["logits"], name="pool")]
    w = numpy_helper.from_array(np.full((4, 3, 1, 1), 0.01, np.float32), "w")
    return make(nodes, [w], out_shape=["N", 4, 1, 1])


@pytest.mark.parametrize(("model", "why"), [
    (softmax_over_batch(0), "Softmax over axis 0 mixes the two images"),
    (softmax_over_batch(-4), "a negative axis that is axis 0"),
    (om.classifier(32, batch=1), "a static batch of 1"),
])
def test_graphs_that_mix_the_batch_are_run_one_image_at_a_time(model, why):
    result = layer_divergence(model, photo(), preprocess=PRE, compare="nv12", progress=False)
    assert result.settings["stacked_runs"] is False, why


def test_softmax_over_channels_still_stacks_and_chunked_runs_do_not():
    assert layer_divergence(softmax_over_batch(1), photo(), preprocess=PRE, progress=False).settings["stacked_runs"]
    chunked = layer_divergence(om.classifier(32), photo(), preprocess=PRE, chunk_size=2, progress=False)
    assert chunked.settings["stacked_runs"] is False


def test_nv12_rows_equal_the_model_behind_the_inserted_nv12_node():
    # the NV12 variant keeps the float model's tensor names, so its tensors can be read directly
    model = om.classifier(32)
    rgb = photo()
    result = layer_divergence(model, rgb, preprocess=PRE, compare="nv12", convention="horizon", progress=False)
    nv12_model = nv12kit.insert_nv12_node(model, **PRE.node_kwargs())
    frame_feed = nv12kit.rgb_to_nv12(rgb, convention="horizon").to_feed("image")
    for name in ("r1", "logits"):
        through_node = run_tensor(nv12_model, name, frame_feed)
        expected = reference_metrics(run_tensor(model, name, {"image": PRE(rgb)}), through_node)
        assert_close_metrics(result.row(name), *expected)


def test_noise_rows_are_the_mean_over_trials_of_symmetric_clipped_noise():
    model = om.classifier(32)
    rgb = photo()
    rgb[:4] = 255  # saturated rows: clipping must happen in pixel space
    amplitude, trials, seed = 3, 4, 11
    result = layer_divergence(model, rgb, preprocess=PRE, compare="noise", amplitude=amplitude, trials=trials,
                              seed=seed, progress=False)
    per_trial = []
    for trial in range(trials):
        # real-valued uniform noise on [-a, a], drawn as the triage's noise studies draw it, clipped in pixel space
        planes = draw_noise((3, *rgb.shape[:2]), amplitude, "symmetric", np.random.default_rng((seed, trial)))
        noise = planes.transpose(1, 2, 0)
        noisy = np.clip(rgb.astype(np.float32) + noise, 0, 255)
        per_trial.append(reference_metrics(run_tensor(model, "r1", {"image": PRE(rgb)}),
                                           run_tensor(model, "r1", {"image": PRE.normalize_pixels(noisy)})))
    row = result.row("r1")
    assert row.cosine == pytest.approx(np.mean([t[0] for t in per_trial]), abs=1e-9)
    assert row.cosine_min == pytest.approx(min(t[0] for t in per_trial), abs=1e-9)
    assert row.rel_l2 == pytest.approx(np.mean([t[1] for t in per_trial]), rel=1e-4)
    assert row.cosine_min < row.cosine  # the trials differ, so a single trial would not pass
    assert result.settings["trials"] == trials and result.settings["distribution"] == "symmetric"


def textbook_normalisation(pre: nv12kit.Preprocess, pixels: np.ndarray) -> np.ndarray:
    """One image, the whole-image recipe written out: reorder (or BT.601 full YUV), three float32 steps, layout."""
    if pre.order == "yuv444":
        if pixels.dtype == np.uint8:
            x = pre.channels(pixels)[0].astype(np.float32)
        else:  # real-valued pixels: the encode matrix in float64, no rounding
            matrix, offset = nv12kit.get_convention("bt601-full").encode_matrix()
            x = (pixels.astype(np.float32).astype(np.float64) @ matrix.T + offset).astype(np.float32)
    else:
        x = pixels.astype(np.float32)[..., ::-1] if pre.order == "bgr" else pixels.astype(np.float32)
    x = (x / np.float32(pre.divisor) - np.asarray(pre.mean, np.float32)) / np.asarray(pre.std, np.float32)
    return (x.transpose(2, 0, 1) if pre.layout == "NCHW" else x)[None]


@pytest.mark.parametrize("order", ["rgb", "bgr", "yuv444"])
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_layers_feed_the_textbook_normalisation_bit_for_bit(order, layout, monkeypatch):
    # what layer_divergence hands onnxruntime: the clean uint8 image and a real-valued noise trial
    pre = nv12kit.Preprocess(mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375), divisor=1.0,
                             order=order, layout=layout)
    imagenet = nv12kit.Preprocess(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), divisor=255.0,
                                  order=order, layout=layout)
    rgb = photo(30)[:, :24]
    model = om.identity(["N", 3, "H", "W"] if layout == "NCHW" else ["N", "H", "W", 3])
    fed = []
    real_stream = divergence._stream

    def spy(entry, chunks, feeds, *args, **kwargs):
        fed.extend(feeds)
        return real_stream(entry, chunks, feeds, *args, **kwargs)

    monkeypatch.setattr(divergence, "_stream", spy)
    for p in (pre, imagenet):
        fed.clear()
        layer_divergence(model, rgb, preprocess=p, compare="noise", amplitude=2, trials=1, progress=False)
        clean, trial = fed[0]["image"], fed[1]()["image"]  # trials are built on demand
        noisy = nv12kit.noise.perturb_trial(rgb, 2, seed=0, trial=0)
        assert noisy.dtype != np.uint8  # so the float path is the one checked
        for got, want in ((clean, textbook_normalisation(p, rgb)), (trial, textbook_normalisation(p, noisy))):
            assert got.dtype == np.float32 and got.shape == want.shape
            np.testing.assert_array_equal(got, want)


def test_chunking_does_not_change_the_numbers():
    model = om.multi_output(32)
    rgb = photo()
    whole = layer_divergence(model, rgb, preprocess=PRE, progress=False)
    pieces = layer_divergence(model, rgb, preprocess=PRE, chunk_size=1, progress=False)
    assert [r.output for r in whole.rows] == [r.output for r in pieces.rows]
    # ORT optimises each segment on its own, so kernels (and float32 rounding) may differ slightly
    assert same_divergence(whole, pieces)
    assert pieces.settings["segments"] > whole.settings["segments"] == 1


def test_user_model_and_file_are_not_modified(tmp_path):
    model = om.classifier(32)
    before = model.SerializeToString()
    path = tmp_path / "m.onnx"
    onnx.save_model(model, str(path))
    file_bytes = path.read_bytes()
    layer_divergence(model, photo(), preprocess=PRE, chunk_size=2, progress=False)
    layer_divergence(path, photo(), preprocess=PRE, progress=False)
    assert model.SerializeToString() == before and path.read_bytes() == file_bytes


# ----------------------------------------------------------------------------
# culprits
# ----------------------------------------------------------------------------
def test_layer_that_amplifies_chroma_is_the_top_nv12_culprit():
    result = layer_divergence(chroma_amplifier(), photo(), preprocess=PRE, compare="nv12", progress=False)
    top = result.culprits(3)
    assert top[0].node == "layer3_chroma" and top[0].op_type == "Conv"
    assert top[0].growth_db > 6  # at least 4x the angular error of what it reads
    assert top[0].input_cosine == pytest.approx(result.row("l2").cosine)
    assert "layer3_chroma" in repr(result)
    assert result.settings["model"] == "engineered"  # the graph's name
    named = layer_divergence(chroma_amplifier(), photo(), preprocess=PRE, name="cam.onnx", progress=False)
    assert named.settings["model"] == "cam.onnx" and "(cam.onnx)" in repr(named)


def test_culprits_follow_the_inputs_of_a_node_not_its_topological_neighbour():
    # two branches: a noisy chroma branch and a clean luma branch, interleaved in topological order
    luma = conv_weight([[0.299, 0.587, 0.114]])
    chroma = conv_weight([[8, -8, 0]])
    inits = [numpy_helper.from_array(luma, "wy"), numpy_helper.from_array(chroma, "wc")]
    nodes = [
        helper.make_node("Conv", ["image", "wc"], ["c"], name="chroma"),
        helper.make_node("Conv", ["image", "wy"], ["y"], name="luma"),
        helper.make_node("Relu", ["y"], ["y2"], name="luma_relu"),
        helper.make_node("Concat", ["c", "y2"], ["logits"], name="join", axis=1),
    ]
    model = make(nodes, inits, out_shape=["N", 2, 32, 32])
    result = layer_divergence(model, photo(), preprocess=PRE, progress=False)
    # luma_relu comes right after the divergent chroma branch but reads the clean luma: no growth
    assert abs(result.row("y2").growth_db) < 1
    assert result.culprits(1)[0].node == "chroma"


def test_culprits_validates_k_and_returns_only_amplifying_nodes():
    result = layer_divergence(om.classifier(32), photo(), preprocess=PRE, progress=False)
    everything = result.culprits(50, min_db=0)
    assert everything and all(row.growth_db > 0 for row in everything)
    growths = [row.growth_db for row in everything]
    assert growths == sorted(growths, reverse=True)
    assert len(everything) == sum(row.growth_db > 0 for row in result.rows)
    assert all(row.growth_db > 1 for row in result.culprits(50))  # the default ignores < 1 dB
    with pytest.raises(nv12kit.InputError, match="min_db"):
        result.culprits(3, min_db=-1)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(nv12kit.InputError, match="k must be a positive integer"):
            result.culprits(bad)


# ----------------------------------------------------------------------------
# what gets skipped
# ----------------------------------------------------------------------------
def control_flow_model() -> onnx.ModelProto:
    """r1 -> If (both branches read r1 from the outer scope) -> Loop adding r1 twice -> pool."""
    inits = [numpy_helper.from_array(conv_weight(np.eye(3) * 0.5), "w"),
             numpy_helper.from_array(np.array(2, np.int64), "trips"),
             numpy_helper.from_array(np.array(True), "go"),
             numpy_helper.from_array(np.array(2.0, np.float32), "two")]
    out = helper.make_tensor_value_info
    shape = ["N", 3, 32, 32]
    then_branch = helper.make_graph([helper.make_node("Mul", ["r1", "two"], ["then_out"], name="then_mul")],
                                    "then", [], [out("then_out", TensorProto.FLOAT, shape)])
    else_branch = helper.make_graph([helper.make_node("Neg", ["r1"], ["else_out"], name="else_neg")],
                                    "else", [], [out("else_out", TensorProto.FLOAT, shape)])
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"], name="body_cond"),
         helper.make_node("Add", ["acc_in", "r1"], ["acc_out"], name="body_add")],
        "body",
        [out("i", TensorProto.INT64, []), out("cond_in", TensorProto.BOOL, []),
         out("acc_in", TensorProto.FLOAT, shape)],
        [out("cond_out", TensorProto.BOOL, []), out("acc_out", TensorProto.FLOAT, shape)])
    nodes = [
        helper.make_node("Conv", ["image", "w"], ["c1"], name="conv"),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu"),
        helper.make_node("ReduceMean", ["r1"], ["m"], name="mean", keepdims=0),
        helper.make_node("Greater", ["m", "two"], ["cond"], name="is_bright"),
        helper.make_node("If", ["cond"], ["branch"], name="choose", then_branch=then_branch, else_branch=else_branch),
        helper.make_node("Loop", ["trips", "go", "branch"], ["looped"], name="repeat", body=body),
        helper.make_node("GlobalAveragePool", ["looped"], ["logits"], name="pool"),
    ]
    return make(nodes, inits, out_shape=["N", 3, 1, 1])


def test_control_flow_bodies_are_skipped_by_name_and_their_nodes_compared():
    model = control_flow_model()
    rgb = photo()
    result = layer_divergence(model, rgb, preprocess=PRE, progress=False)
    reasons = {s.node: s.reason for s in result.skipped}
    for inner, parent in (("then_mul", "If node 'choose'"), ("else_neg", "If node 'choose'"),
                          ("body_add", "Loop node 'repeat'"), ("body_cond", "Loop node 'repeat'")):
        assert parent in reasons[inner] and "control-flow" in reasons[inner]
    assert "not floating point" in reasons["is_bright"]
    compared = [row.output for row in result.rows]
    assert {"branch", "looped", "logits"} <= set(compared)
    clean, perturbed = {"image": PRE(rgb)}, {"image": PRE(nv12kit.nv12_to_rgb(nv12kit.rgb_to_nv12(rgb)))}
    expected = reference_metrics(run_tensor(model, "looped", clean), run_tensor(model, "looped", perturbed))
    assert_close_metrics(result.row("looped"), *expected)
    with pytest.raises(nv12kit.InputError, match="control-flow"):
        result.row("then_out")


def non_float_model() -> onnx.ModelProto:
    """Shape, ArgMax, TopK indices and an int round trip: non-float tensors among float ones."""
    inits = [numpy_helper.from_array(conv_weight(np.eye(3)), "w"),
             numpy_helper.from_array(np.array([3], np.int64), "k"),
             numpy_helper.from_array(np.array([1, -1], np.int64), "flat_shape")]
    nodes = [
        helper.make_node("Conv", ["image", "w"], ["c1"], name="conv"),
        helper.make_node("Shape", ["c1"], ["shape"], name="shape_of"),
        helper.make_node("ArgMax", ["c1"], ["winner"], name="argmax", axis=1),
        helper.make_node("Cast", ["winner"], ["winner_f"], name="to_float", to=TensorProto.FLOAT),
        helper.make_node("Mul", ["c1", "c1"], ["sq"], name="square"),
        helper.make_node("Cast", ["sq"], ["sq_int"], name="to_int", to=TensorProto.INT32),
        helper.make_node("Cast", ["sq_int"], ["sq_back"], name="to_float_again", to=TensorProto.FLOAT),
        helper.make_node("Reshape", ["sq_back", "flat_shape"], ["flat"], name="flatten"),
        helper.make_node("TopK", ["flat", "k"], ["logits", "top_idx"], name="topk"),
    ]
    return make(nodes, inits, out_shape=[1, 3])


@pytest.fixture
def fresh_cache():
    """An empty model cache before and after: for tests that patch what the cache would remember."""
    layers.clear_cache()
    yield
    layers.clear_cache()


@pytest.mark.parametrize("known_types", [True, False], ids=["inferred-types", "checked-after-running"])
def test_non_float_outputs_are_skipped_with_their_dtype(monkeypatch, fresh_cache, known_types):
    if not known_types:
        monkeypatch.setattr(_graph, "_infer_types", lambda model: {})
    result = layer_divergence(non_float_model(), photo(), preprocess=PRE, progress=False)
    reasons = {s.output: s.reason for s in result.skipped}
    assert "int64, not floating point" in reasons["shape"]
    assert "int64, not floating point" in reasons["winner"]
    assert "int32, not floating point" in reasons["sq_int"]
    assert "int64, not floating point" in reasons["top_idx"]
    compared = [row.output for row in result.rows]
    assert compared == ["image", "c1", "winner_f", "sq", "sq_back", "flat", "logits"]
    # the float tensor after the int round trip is compared with the float tensor before it
    assert result.row("sq_back").input_cosine == pytest.approx(result.row("sq").cosine)


def test_nodes_that_do_not_depend_on_the_image_are_skipped():
    inits = [numpy_helper.from_array(np.array([2.0], np.float32), "two")]
    nodes = [
        helper.make_node("Constant", [], ["half"], name="const", value=numpy_helper.from_array(np.float32(0.5))),
        helper.make_node("Mul", ["half", "two"], ["one"], name="one_of_constants"),
        helper.make_node("Mul", ["image", "one"], ["logits"], name="scale"),
    ]
    result = layer_divergence(make(nodes, inits, out_shape=["N", 3, 32, 32]), photo(), preprocess=PRE,
                              progress=False)
    reasons = {s.node: s.reason for s in result.skipped}
    assert "does not depend on the image" in reasons["const"]
    assert "does not depend on the image" in reasons["one_of_constants"]
    assert [row.node for row in result.rows] == ["image", "scale"]


def test_data_dependent_shapes_are_flagged_and_later_nodes_still_compared():
    # NonZero picks a different number of pixels in the clean and the NV12 run
    inits = [numpy_helper.from_array(np.float32(0.3), "threshold")]
    nodes = [
        helper.make_node("Greater", ["image", "threshold"], ["bright"], name="is_bright"),
        helper.make_node("NonZero", ["bright"], ["where"], name="nonzero"),
        helper.make_node("Transpose", ["where"], ["where_t"], name="transpose"),
        helper.make_node("GatherND", ["image", "where_t"], ["picked"], name="gather"),
        helper.make_node("ReduceSum", ["picked"], ["logits"], name="total", keepdims=1),
    ]
    model = make(nodes, inits, out_shape=[1])
    result = layer_divergence(model, photo(), preprocess=PRE, chunk_size=1, progress=False)
    picked = result.row("picked")
    assert math.isnan(picked.cosine) and picked.flags[0].startswith("shape changed")
    assert 0.9 < result.row("logits").cosine <= 1


def test_external_data_model_gives_the_numbers_of_the_in_memory_model(tmp_path):
    model = om.classifier(32)
    path = tmp_path / "external.onnx"
    onnx.save_model(om.classifier(32), str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="weights.bin", size_threshold=0)
    assert (tmp_path / "weights.bin").stat().st_size > 1000
    from_path = layer_divergence(path, photo(), preprocess=PRE, chunk_size=3, progress=False)
    in_memory = layer_divergence(model, photo(), preprocess=PRE, progress=False)
    assert same_divergence(from_path, in_memory)
    not_loaded = onnx.load(str(path), load_external_data=False)
    with pytest.raises(nv12kit.ModelError, match="external data"):
        layer_divergence(not_loaded, photo(), preprocess=PRE, progress=False)


# ----------------------------------------------------------------------------
# memory
# ----------------------------------------------------------------------------
def deep_chain(nodes: int = 100, size: int = 64, channels: int = 8) -> onnx.ModelProto:
    """Conv 3->8, then alternating Conv 1x1 and Tanh: ``nodes`` nodes, each output 8 x size x size."""
    rng = np.random.default_rng(3)
    inits = [numpy_helper.from_array(rng.normal(0, 0.5, (channels, 3, 1, 1)).astype(np.float32), "w0")]
    graph_nodes = [helper.make_node("Conv", ["image", "w0"], ["t0"], name="n0")]
    for i in range(1, nodes):
        if i % 2:
            inits.append(numpy_helper.from_array(
                (np.eye(channels) + rng.normal(0, 0.2, (channels, channels))).astype(np.float32)[..., None, None],
                f"w{i}"))
            graph_nodes.append(helper.make_node("Conv", [f"t{i - 1}", f"w{i}"], [f"t{i}"], name=f"n{i}"))
        else:
            graph_nodes.append(helper.make_node("Tanh", [f"t{i - 1}"], [f"t{i}"], name=f"n{i}"))
    graph_nodes[-1].output[0] = "logits"
    return make(graph_nodes, inits, size=size, out_shape=["N", channels, size, size])


_MEMORY_PROBE = """
import sys
sys.path.insert(0, {tests!r})
import test_layers as t
from nv12kit.layers import layer_divergence
model, rgb = t.deep_chain(100, size=96, channels=16), t.photo(96)
layer_divergence(t.deep_chain(4, size=96, channels=16), rgb, preprocess=t.PRE, progress=False)  # load ORT
before = t.peak_rss()
result = layer_divergence(model, rgb, preprocess=t.PRE, chunk_size={chunk}, progress=False)
after = t.peak_rss()
print(before, after, result.settings["peak_tensor_bytes"])
"""


def peak_rss() -> int:
    """Peak resident set of this process (VmHWM) in bytes; ru_maxrss would carry the parent's over exec."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    pytest.skip("no /proc/self/status VmHWM on this platform")


def rss_growth(chunk: int) -> tuple[int, int]:
    """(growth of the peak RSS in bytes, tensor bytes the engine held) of one run in a fresh process."""
    code = _MEMORY_PROBE.format(tests=str(pathlib.Path(__file__).parent), chunk=chunk)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    before, after, held = (int(v) for v in out)
    return after - before, held


def test_peak_memory_is_bounded_by_the_chunk_not_the_depth():
    # ORT hands out its buffers zero-copy, which tracemalloc does not see, so memory is measured two ways:
    # what the engine itself holds (peak_tensor_bytes) and, on the 100-node model below, the real RSS.
    model = deep_chain(100)
    tensor = 8 * 64 * 64 * 4
    rgb = photo(64)
    chunked = layer_divergence(model, rgb, preprocess=PRE, chunk_size=4, progress=False)
    whole = layer_divergence(model, rgb, preprocess=PRE, chunk_size=100, progress=False)
    assert len(chunked) == 101 and chunked.settings["segments"] == 26
    assert same_divergence(chunked, whole)
    # all at once holds 2 x 100 tensors; chunks of 4 hold 2 x 4 plus the 2 live ones, whatever the depth
    assert whole.settings["peak_tensor_bytes"] >= 200 * tensor
    assert chunked.settings["peak_tensor_bytes"] <= 12 * tensor


@pytest.mark.skipif(not pathlib.Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_process_memory_grows_with_the_chunk_not_with_the_depth():
    tensor = 16 * 96 * 96 * 4  # 576 KiB; the model makes 100 of them per run
    small, held_small = rss_growth(4)
    large, held_large = rss_growth(100)
    print(f"RSS growth: chunk 4 {small / 2**20:.1f} MiB, chunk 100 {large / 2**20:.1f} MiB")
    assert held_large >= 200 * tensor and held_small <= 12 * tensor
    # all at once: both runs' 100 tensors are resident together...
    assert large > 150 * tensor
    # ...in chunks of 4 the process grows by a few tensors' worth (ORT's own buffers included)
    assert small < 32 * tensor


# ----------------------------------------------------------------------------
# the model cache
# ----------------------------------------------------------------------------
def numbers(result: LayerDivergence) -> list[dict]:
    return [row.to_dict() for row in result.rows] + [s.to_dict() for s in result.skipped]


@pytest.fixture
def compiles(monkeypatch, fresh_cache) -> list[int]:
    """Counts the segment sessions built (one entry per build), starting from an empty cache."""
    built: list[int] = []
    original = _segments._Plan.compile

    def counting(self, k, *args, **kwargs):
        built.append(k)
        return original(self, k, *args, **kwargs)

    monkeypatch.setattr(_segments._Plan, "compile", counting)
    return built


@pytest.mark.parametrize("compare", ["nv12", "noise"])
def test_cached_call_gives_the_numbers_of_a_cold_call_without_building_sessions(compiles, compare):
    model, rgb = om.classifier(32), photo()
    options = {"preprocess": PRE, "compare": compare, "trials": 3, "progress": False}
    cold = layer_divergence(model, rgb, **options)
    assert len(compiles) == 1  # one segment
    warm = layer_divergence(model, rgb, **options)
    again = layer_divergence(om.classifier(32), rgb, **options)  # equal content, another object
    assert len(compiles) == 1
    assert numbers(warm) == numbers(cold) == numbers(again)
    assert [r.settings["model_cache"] for r in (cold, warm, again)] == ["miss", "hit", "hit"]
    layers.clear_cache()
    assert numbers(layer_divergence(model, rgb, **options)) == numbers(cold)
    assert len(compiles) == 2


def test_nv12_then_noise_share_one_analysis_and_session(compiles, monkeypatch):
    analysed = []
    original = _graph._Graph.__init__
    monkeypatch.setattr(_graph._Graph, "__init__", lambda self, m: (analysed.append(1), original(self, m))[1])
    model, rgb = om.classifier(32), photo()
    layer_divergence(model, rgb, preprocess=PRE, compare="nv12", progress=False)
    layer_divergence(model, rgb, preprocess=PRE, compare="noise", trials=2, progress=False)
    assert len(analysed) == 1 and len(compiles) == 1


def test_changed_weight_in_the_same_modelproto_is_not_served_from_the_cache(fresh_cache):
    model, rgb = om.classifier(32), photo()
    before = layer_divergence(model, rgb, preprocess=PRE, progress=False)
    weight = next(t for t in model.graph.initializer if t.name == "w2")
    changed = numpy_helper.to_array(weight).copy()
    changed[0] *= -3
    weight.CopyFrom(numpy_helper.from_array(changed, "w2"))  # in place: same object, new content
    after = layer_divergence(model, rgb, preprocess=PRE, progress=False)
    assert after.row("logits").cosine != pytest.approx(before.row("logits").cosine, rel=1e-6)
    # the cache kept its own copy: the original content still gives the original numbers, also where it must
    # build new sessions (another chunking) from what it kept
    assert numbers(layer_divergence(om.classifier(32), rgb, preprocess=PRE, progress=False)) == numbers(before)
    rechunked = layer_divergence(om.classifier(32), rgb, preprocess=PRE, chunk_size=2, progress=False)
    assert same_divergence(rechunked, before)
    layers.clear_cache()
    assert numbers(layer_divergence(model, rgb, preprocess=PRE, progress=False)) == numbers(after)


def test_rewritten_model_file_and_external_data_are_not_served_from_the_cache(tmp_path, fresh_cache):
    rgb = photo()
    path = tmp_path / "m.onnx"
    onnx.save_model(om.classifier(32, seed=0), str(path))
    first = layer_divergence(path, rgb, preprocess=PRE, progress=False)
    assert numbers(layer_divergence(str(path), rgb, preprocess=PRE, progress=False)) == numbers(first)
    onnx.save_model(om.classifier(32, seed=1), str(path))  # same size, new weights
    second = layer_divergence(path, rgb, preprocess=PRE, progress=False)
    assert numbers(second) == numbers(layer_divergence(om.classifier(32, seed=1), rgb, preprocess=PRE,
                                                       progress=False))
    assert numbers(second) != numbers(first)
    # weights in a side file: rewriting only that file must be noticed too
    external = tmp_path / "external.onnx"
    onnx.save_model(om.classifier(32, seed=0), str(external), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)
    assert numbers(layer_divergence(external, rgb, preprocess=PRE, progress=False)) == numbers(first)
    other = tmp_path / "other"
    other.mkdir()
    onnx.save_model(om.classifier(32, seed=1), str(other / "external.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)
    assert (other / "external.onnx").read_bytes() == external.read_bytes()  # only the weights differ
    (tmp_path / "weights.bin").write_bytes((other / "weights.bin").read_bytes())
    assert numbers(layer_divergence(external, rgb, preprocess=PRE, progress=False)) == numbers(second)


def test_cache_holds_at_most_a_few_models_least_recently_used_first(compiles):
    rgb = photo()
    models = [om.classifier(32, seed=seed) for seed in range(_cache._CACHE_MODELS + 2)]
    for model in models:
        layer_divergence(model, rgb, preprocess=PRE, progress=False)
    assert len(_cache._CACHE) == _cache._CACHE_MODELS
    assert len(compiles) == len(models)
    layer_divergence(models[-1], rgb, preprocess=PRE, progress=False)  # still cached
    assert len(compiles) == len(models)
    layer_divergence(models[0], rgb, preprocess=PRE, progress=False)  # evicted: built again
    assert len(compiles) == len(models) + 1 and len(_cache._CACHE) == _cache._CACHE_MODELS


def test_models_over_the_cache_budget_are_not_kept(compiles, monkeypatch):
    model, rgb = om.classifier(32), photo()
    monkeypatch.setattr(_cache, "_CACHE_BYTES", len(model.SerializeToString()) - 1)
    first = layer_divergence(model, rgb, preprocess=PRE, progress=False)
    second = layer_divergence(model, rgb, preprocess=PRE, progress=False)
    assert numbers(first) == numbers(second)
    assert len(compiles) == 2 and not _cache._CACHE
    assert second.settings["model_cache"] == "not cached"


def test_sessions_are_kept_only_for_few_segments_and_default_options(compiles):
    model, rgb = deep_chain(12, size=16), photo(16)
    for _ in range(2):
        layer_divergence(model, rgb, preprocess=PRE, chunk_size=2, progress=False)  # 7 segments
    assert len(compiles) == 14  # rebuilt: dozens of live sessions would fragment the heap
    for _ in range(2):
        layer_divergence(model, rgb, preprocess=PRE, chunk_size=4, progress=False)  # 4 segments
    assert len(compiles) == 14 + 4
    options = ort.SessionOptions()
    for _ in range(2):
        layer_divergence(model, rgb, preprocess=PRE, chunk_size=4, session_options=options, progress=False)
    assert len(compiles) == 14 + 4 + 8  # the caller's options may change: never cached with them


def test_concurrent_calls_on_one_cached_model_agree(fresh_cache):
    from concurrent.futures import ThreadPoolExecutor

    model, rgb = om.classifier(32), photo()
    expected = numbers(layer_divergence(model, rgb, preprocess=PRE, progress=False))
    layers.clear_cache()
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: layer_divergence(model, rgb, preprocess=PRE, progress=False), range(8)))
    assert all(numbers(r) == expected for r in results)


# ----------------------------------------------------------------------------
# quantized
# ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def quantized_pair() -> tuple[onnx.ModelProto, onnx.ModelProto]:
    model = om.classifier(32)
    images = [photo(), nv12kit.resize_to(nv12kit.load_image(nv12kit.data.photo_path("coffee")), 32, 32)]
    return model, nv12kit.quantize(model, images, preprocess=PRE, progress=False)


def test_quantized_tensors_are_mapped_back_to_float_names(quantized_pair):
    model, qdq = quantized_pair
    rgb = photo()
    result = layer_divergence(model, rgb, preprocess=PRE, compare="quantized", quantized_model=qdq, progress=False)
    assert {"image", "r1", "feat", "gap", "logits"} <= {row.output for row in result.rows}
    fused = {s.output: s.reason for s in result.skipped}
    assert "no counterpart in the quantized model" in fused["c1"]
    feed = {"image": PRE(rgb)}
    float_logits = run_tensor(model, "logits", feed)
    quant_logits = ort.InferenceSession(qdq.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        ["logits"], feed)[0]
    assert_close_metrics(result.row("logits"), *reference_metrics(float_logits, quant_logits))
    quant_r1 = run_tensor(qdq, "r1_DequantizeLinear_Output", feed)
    assert_close_metrics(result.row("r1"), *reference_metrics(run_tensor(model, "r1", feed), quant_r1))
    assert 0.9 < result.row("logits").cosine < 1  # int8 changes something, but not everything


def test_quantized_rows_are_what_the_whole_quantized_model_computes_in_any_chunking(quantized_pair):
    # onnxruntime fuses DequantizeLinear -> Conv -> QuantizeLinear into QLinearConv only where no dequantised
    # tensor is read outside it; exposing one (as a segment's output or input) changes the int8 arithmetic
    model, qdq = quantized_pair
    rgb = photo()
    feed = {"image": PRE(rgb)}
    whole = ort.InferenceSession(qdq.SerializeToString(), providers=["CPUExecutionProvider"]).run(["logits"], feed)[0]
    for chunk_size in (1, 2, layers.DEFAULT_CHUNK_SIZE):
        result = layer_divergence(model, rgb, preprocess=PRE, compare="quantized", quantized_model=qdq,
                                  chunk_size=chunk_size, progress=False)
        assert [row.output for row in result.rows] == ["image", "r1", "feat", "gap", "flat", "logits"]
        for row in result.rows:
            clean = feed["image"] if row.op_type == "Input" else run_tensor(model, row.output, feed)
            quantized = whole if row.is_output else run_tensor(qdq, f"{row.output}_DequantizeLinear_Output", feed)
            assert_close_metrics(row, *reference_metrics(clean, quantized))


def test_quantized_sessions_never_output_a_tensor_they_also_read():
    nodes = [helper.make_node("Relu", ["image"], ["a"], name="left"),
             helper.make_node("Neg", ["image"], ["b"], name="right"),
             helper.make_node("Add", ["a", "b"], ["c"], name="join"),
             helper.make_node("Relu", ["c"], ["logits"], name="last")]
    graph = _graph._Graph(make(nodes, [], out_shape=["N", 3, 32, 32]))
    plan = _segments._CutPlan(graph, [["image", "a", "b", "c"], ["logits"]])
    # parallel branches share a session; what depends on them gets its own; graph outputs come from the whole model
    assert [(tensors, whole) for tensors, _, whole in plan.groups[0]] == [(["a", "b"], False), (["c"], False)]
    assert [(tensors, whole) for tensors, _, whole in plan.groups[1]] == [(["logits"], True)]
    for groups in plan.groups:
        for tensors, members, whole in groups:
            if not whole:
                assert not {name for i in members for name in graph.uses[i]} & set(tensors)


def test_quantized_model_with_other_inputs_is_rejected(quantized_pair):
    model, _ = quantized_pair
    nv12_model = nv12kit.insert_nv12_node(model, **PRE.node_kwargs())
    with pytest.raises(nv12kit.ModelError, match="quantized feat variant"):
        layer_divergence(model, photo(), preprocess=PRE, compare="quantized", quantized_model=nv12_model,
                         progress=False)


def test_quantized_counterpart_that_is_not_float_is_flagged():
    two = [numpy_helper.from_array(np.float32(2), "two")]
    float_model = make([helper.make_node("Relu", ["image"], ["r"], name="relu"),
                        helper.make_node("Mul", ["r", "two"], ["logits"], name="double")], two,
                       out_shape=["N", 3, 32, 32])
    fake_quantized = make([helper.make_node("Relu", ["image"], ["r_float"], name="relu"),
                           helper.make_node("Cast", ["r_float"], ["r"], name="to_int", to=TensorProto.INT8),
                           helper.make_node("Cast", ["r"], ["r_back"], name="to_float", to=TensorProto.FLOAT),
                           helper.make_node("Mul", ["r_back", "two"], ["logits"], name="double")], two,
                          out_shape=["N", 3, 32, 32])
    result = layer_divergence(float_model, photo(), preprocess=PRE, compare="quantized",
                              quantized_model=fake_quantized, progress=False)
    row = result.row("r")
    assert math.isnan(row.cosine) and "quantized model's 'r': its output is int8" in row.flags[0]
    assert 0 < result.row("logits").cosine < 1  # the rest is still compared


# ----------------------------------------------------------------------------
# flags
# ----------------------------------------------------------------------------
def test_nan_and_all_zero_tensors_are_flagged_not_silently_nan():
    inits = [numpy_helper.from_array(np.float32(0), "zero"), numpy_helper.from_array(np.float32(-5), "shift")]
    nodes = [
        helper.make_node("Mul", ["image", "zero"], ["zeros"], name="zeroed"),
        helper.make_node("Add", ["image", "shift"], ["negative"], name="shift_down"),
        helper.make_node("Sqrt", ["negative"], ["nan"], name="sqrt_of_negative"),
        helper.make_node("Add", ["nan", "zeros"], ["logits"], name="join"),
    ]
    result = layer_divergence(make(nodes, inits, out_shape=["N", 3, 32, 32]), photo(), preprocess=PRE,
                              progress=False)
    assert "all zeros in both runs" in result.row("zeros").flags
    assert result.row("zeros").cosine == 1.0
    nan_row = result.row("nan")
    assert math.isnan(nan_row.cosine) and any("NaN/Inf values in the clean run" in f for f in nan_row.flags)
    assert result.culprits(1)[0].output == "nan"  # non-finite counts as maximally divergent
    assert next(r for r in result.to_dict()["rows"] if r["output"] == "nan")["cosine"] is None


def exact_sums(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float, float]:
    """<a,b>, |a|^2, |b|^2, |b-a|^2 correctly rounded (float32 products are exact in float64; fsum is exact)."""
    x, y = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    return math.fsum(x * y), math.fsum(x * x), math.fsum(y * y), math.fsum((y - x) ** 2)


@pytest.mark.parametrize("case", ["near", "noisy", "orthogonal", "opposite", "tiny", "huge", "over-a-block"])
def test_sums_match_exact_sums(case, monkeypatch):
    rng = np.random.default_rng(3)
    n = 5000
    a = (rng.standard_normal(n) * 3 + 1).astype(np.float32)
    noise = rng.standard_normal(n).astype(np.float32)
    b = {
        "near": a + 1e-4 * noise, "noisy": a + noise, "orthogonal": noise - (noise @ a) / (a @ a) * a,
        "opposite": -a + 1e-3 * noise, "tiny": 1e-5 * noise, "huge": 1e5 * noise, "over-a-block": a + 1e-3 * noise,
    }[case].astype(np.float32)
    if case == "over-a-block":
        monkeypatch.setattr(_metrics, "_BLOCK", 1024)  # 5 blocks, the last one partial
    dot, aa, bb, dd = _metrics._sums(a.reshape(1, 50, 100), b.reshape(1, 50, 100))
    ex_dot, ex_aa, ex_bb, ex_dd = exact_sums(a, b)
    # float32 tensors are summed in float32: a few 1e-7 relative (float32's epsilon is 1.2e-7)
    assert aa == pytest.approx(ex_aa, rel=1e-6) and bb == pytest.approx(ex_bb, rel=1e-6)
    assert dd == pytest.approx(ex_dd, rel=1e-6)
    # 1 - cosine, what matters near 1, keeps that relative accuracy: the norms' errors cancel to first order
    cosine, rel, snr, _ = _metrics._pair_metrics(a, b)
    exact = ex_dot / math.sqrt(ex_aa * ex_bb)
    assert abs((1 - cosine) - (1 - exact)) <= 2e-6 * (1 - exact) + 1e-15
    assert rel == pytest.approx(math.sqrt(ex_dd / ex_aa), rel=1e-6)


def test_float32_overflow_is_summed_again_in_float64():
    a = np.full(1000, 1e20, np.float32)  # squares overflow float32, not float64
    b = a * np.float32(1 + 1e-3)
    dot, aa, bb, dd = _metrics._sums(a, b)
    x, y = a.astype(np.float64), b.astype(np.float64)
    assert aa == pytest.approx(x @ x, rel=1e-12) and dd == pytest.approx((y - x) @ (y - x), rel=1e-12)
    cosine, rel, snr, flags = _metrics._pair_metrics(a, b)
    assert not flags and cosine == pytest.approx(1.0) and rel == pytest.approx(1e-3, rel=1e-3)


def test_float16_tensors_are_widened_before_summing():
    rng = np.random.default_rng(5)
    a = rng.standard_normal(3000).astype(np.float16)
    b = (a.astype(np.float32) + np.float32(0.01) * rng.standard_normal(3000).astype(np.float32)).astype(np.float16)
    _, aa, bb, dd = _metrics._sums(a, b)
    x, y = a.astype(np.float64), b.astype(np.float64)
    assert aa == pytest.approx(x @ x, rel=1e-6) and dd == pytest.approx((y - x) @ (y - x), rel=1e-6)


def test_one_sided_zero_norms_are_flagged():
    ones, zeros = np.ones(4, np.float32), np.zeros(4, np.float32)
    cos, rel, snr, flags = _metrics._pair_metrics(ones, zeros)
    assert cos == 0 and rel == 1 and "zero norm" in flags[0] and "perturbed" in flags[0]
    cos, rel, snr, flags = _metrics._pair_metrics(zeros, ones)
    assert cos == 0 and math.isinf(rel) and "clean run" in flags[0]


# ----------------------------------------------------------------------------
# reports
# ----------------------------------------------------------------------------
def test_json_csv_round_trip_and_html_escapes_names(tmp_path):
    model = om.classifier(32)
    model.graph.node[0].name = "<script>alert(1)</script>"
    result = layer_divergence(model, photo(), preprocess=PRE, progress=False)
    page = result._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page
    json_path = result.to_json(tmp_path / "layers.json")
    back = LayerDivergence.from_dict(json.loads(pathlib.Path(json_path).read_text()))
    assert [r.output for r in back.rows] == [r.output for r in result.rows]
    assert [r.cosine for r in back.rows] == pytest.approx([r.cosine for r in result.rows])
    assert [r.output for r in back.culprits(3)] == [r.output for r in result.culprits(3)]
    csv_path = result.to_csv(tmp_path / "layers.csv")
    with open(csv_path, newline="") as fh:
        lines = list(csv.DictReader(fh))
    assert len(lines) == len(result.rows) and lines[1]["node"] == "<script>alert(1)</script>"
    assert float(lines[-1]["cosine"]) == pytest.approx(result.rows[-1].cosine)
    assert [p.name for p in tmp_path.iterdir()] and not list(tmp_path.glob(".*tmp*"))
    text = str(result)
    assert "growth dB" in text and "<- #1" in text


def test_figure_draws_nv12_and_noise_on_one_axis_without_pyplot():
    code = (
        "import sys, numpy as np, nv12kit.layers.divergence\n"
        "assert 'matplotlib' not in sys.modules, 'core module imported matplotlib'\n"
        "from nv12kit.plots import plot_layer_divergence\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    from matplotlib.figure import Figure

    from nv12kit.plots import plot_layer_divergence

    model, rgb = chroma_amplifier(), photo()
    nv12 = layer_divergence(model, rgb, preprocess=PRE, compare="nv12", progress=False)
    noise = layer_divergence(model, rgb, preprocess=PRE, compare="noise", trials=3, progress=False)
    figure = plot_layer_divergence(nv12, others=[noise], culprits=2)
    assert isinstance(figure, Figure) and len(figure.axes) == 1
    ax = figure.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == [nv12.label, noise.label]
    # culprits are tagged #n at their points and named in the legend below the plot (issue 18: names at
    # the points overlapped on big models)
    assert [t.get_text() for t in ax.texts][:1] == ["#1"]
    legend = [t.get_text() for legend in figure.legends for t in legend.get_texts()]
    assert any(text.startswith("#1 layer3_chroma (Conv)") for text in legend)
    own = Figure()
    target = own.add_subplot()
    assert plot_layer_divergence(nv12, ax=target, others=noise) is own
    with pytest.raises(nv12kit.InputError, match="LayerDivergence"):
        plot_layer_divergence(nv12, others=["noise"])


# ----------------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------------
def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="nv12kit layers")
    add_layers_arguments(parser)
    return run_layers_command(parser.parse_args(argv))


def test_cli_prints_nv12_against_noise_and_writes_json_csv_png(tmp_path, capsys):
    model_path = tmp_path / "chroma.onnx"
    onnx.save_model(chroma_amplifier(), str(model_path))
    image_path = tmp_path / "frame.png"
    from PIL import Image

    Image.fromarray(photo(64)).save(image_path)
    code = run_cli(["--model", str(model_path), "--image", str(image_path), "--mean", "128", "--std", "64",
                    "--compare", "nv12", "noise", "--trials", "2", "--top", "2", "--json", str(tmp_path / "l.json"),
                    "--csv", str(tmp_path / "l.csv"), "--png", str(tmp_path / "l.png")])
    out = capsys.readouterr().out
    assert code == 0
    assert "nv12/noise" in out and "layer3_chroma" in out and "resized" in out
    document = json.loads((tmp_path / "l.json").read_text())
    assert [c["compare"] for c in document["comparisons"]] == ["nv12", "noise"]
    assert document["comparisons"][0]["culprits"][0] == "l3"
    assert (tmp_path / "l.csv").read_text().count("\n") == 1 + 2 * 9
    assert (tmp_path / "l.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_bad_input_exits_2_with_the_reason(tmp_path, capsys):
    model_path = tmp_path / "m.onnx"
    onnx.save_model(om.classifier(32), str(model_path))
    assert run_cli(["--model", str(tmp_path / "missing.onnx"), "--image", "x.png", "--mean", "1", "--std", "1"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert run_cli(["--model", str(model_path), "--image", str(tmp_path / "nope.png")]) == 2
    assert "--mean and --std" in capsys.readouterr().err
    assert run_cli(["--model", str(model_path), "--image", str(model_path), "--mean", "1", "--std", "1",
                    "--json", str(model_path)]) == 2
    assert "input file" in capsys.readouterr().err


# ----------------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"compare": "yuv"}, nv12kit.InputError, r"compare must be one of \['nv12', 'noise', 'quantized'\]"),
        ({"preprocess": None}, nv12kit.InputError, "preprocess must be an nv12kit.Preprocess"),
        ({"chunk_size": 0}, nv12kit.InputError, "chunk_size must be an integer >= 1, got 0"),
        ({"compare": "noise", "amplitude": 0}, nv12kit.InputError, r"amplitude must be an integer in 1\.\.255"),
        ({"compare": "noise", "trials": 0}, nv12kit.InputError, "trials must be an integer >= 1"),
        ({"convention": "bt999"}, nv12kit.ConventionError, "bt999"),
        ({"quantized_model": "q.onnx"}, nv12kit.InputError, "only used with compare='quantized'"),
        ({"input_name": "pixels"}, nv12kit.ModelError, "no input named 'pixels'"),
        ({"extra_inputs": {"scale": np.ones((1, 1), np.float32)}}, nv12kit.InputError, r"unknown \['scale'\]"),
    ],
)
def test_bad_arguments_raise_nv12kit_errors_that_say_what_to_do(kwargs, error, match):
    options = {"preprocess": PRE, "progress": False, **kwargs}
    with pytest.raises(error, match=match):
        layer_divergence(om.classifier(32), photo(), **options)


def test_bad_models_and_images_are_named():
    with pytest.raises(nv12kit.ModelError, match="does not exist"):
        layer_divergence("no/such/model.onnx", photo(), preprocess=PRE, progress=False)
    with pytest.raises(nv12kit.InputError, match="uint8"):
        layer_divergence(om.classifier(32), photo().astype(np.float32), preprocess=PRE, progress=False)
    odd = np.zeros((31, 30, 3), np.uint8)
    dynamic = om.identity(["N", 3, "H", "W"])
    with pytest.raises(nv12kit.InputError, match="odd|even"):
        layer_divergence(dynamic, odd, preprocess=PRE, progress=False)
    with pytest.raises(nv12kit.InputError, match=r"missing \['scale'\]"):
        layer_divergence(om.with_extra_input(32), photo(), preprocess=PRE, progress=False)


def test_extra_inputs_are_fed_to_every_run():
    scale = np.full((1, 1), 3.0, np.float32)
    result = layer_divergence(om.with_extra_input(32), photo(), preprocess=PRE,
                              extra_inputs={"scale": scale}, progress=False)
    assert result.row("logits").cosine == pytest.approx(result.row("raw_logits").cosine, abs=1e-9)


# ----------------------------------------------------------------------------
# culprit score: growth and an absolute loss (issue 18)
# ----------------------------------------------------------------------------
def _synthetic_row(depth: int, node: str, op: str, cosine: float, input_cosine: float) -> layers.LayerRow:
    div_in = max(1 - input_cosine, layers.DIVERGENCE_FLOOR)
    growth = 10 * math.log10(max(1 - cosine, layers.DIVERGENCE_FLOOR) / div_in)
    return layers.LayerRow(depth, node, op, f"t{depth}", (1, 8), cosine, cosine, 0.1, 20.0, input_cosine, growth)


def pp_ocr_like() -> LayerDivergence:
    """PP-OCR det in miniature: a lossless Add (+63 dB from an exact branch) beside Convs that lose for real."""
    rows = (
        _synthetic_row(0, "image", "Input", 0.997, 0.997),
        _synthetic_row(1, "conv_stem", "Conv", 0.99, 0.997),             # +5.2 dB, loses 1e-2
        _synthetic_row(2, "pos_add", "Add", 0.999998, 1 - 1e-12),         # +63 dB, loses 2e-6: nothing
        _synthetic_row(3, "conv_chroma", "Conv", 0.9, 0.99),              # +10 dB, loses 0.1
        _synthetic_row(4, "head", "Conv", 0.89, 0.9),                     # +0.4 dB
    )
    return LayerDivergence("nv12", "nv12 (horizon)", rows)


def test_a_lossless_add_that_grows_63_db_is_no_culprit():
    result = pp_ocr_like()
    add = result.row("t2")
    assert add.growth_db == pytest.approx(63, abs=0.1)
    # growth alone (the old ranking, loss_floor=0) puts the lossless Add first ...
    assert result.culprits(3, loss_floor=0)[0].node == "pos_add"
    # ... the score needs a real loss too: the Convs come first and the Add is not a culprit at all
    assert [row.node for row in result.culprits(5)] == ["conv_chroma", "conv_stem"]
    assert add.score == pytest.approx(0.09, abs=0.01) and add.score < layers.CULPRIT_MIN_DB
    assert result.row("t3").score == pytest.approx(result.row("t3").growth_db, abs=0.05)
    # even when every node that adds anything counts, the Add never outranks a node that loses more
    ranked = [row.node for row in result.culprits(5, min_db=0)]
    assert ranked.index("pos_add") > ranked.index("conv_chroma") and ranked.index("pos_add") > ranked.index(
        "conv_stem")


def test_the_culprit_rule_is_named_in_the_text_table_json_and_csv(tmp_path):
    result = pp_ocr_like()
    assert "1e-4" in result.rule and "score" in result.rule
    assert result.rule in repr(result) and "score +10.0 dB (growth +10.0 dB)" in repr(result)
    table = result.table()
    assert "score dB" in table and result.rule in table
    data = result.to_dict()
    assert data["culprit_rule"] == result.rule and data["culprits"] == ["t3", "t1"]
    assert data["rows"][2]["score"] == pytest.approx(result.row("t2").score)
    assert "score dB" in result._repr_html_()
    with open(result.to_csv(tmp_path / "layers.csv"), newline="") as fh:
        lines = list(csv.DictReader(fh))
    assert float(lines[2]["score_db"]) == pytest.approx(0.09, abs=0.01) and lines[2]["culprit_rank"] == ""
    assert LayerDivergence.from_dict(json.loads(json.dumps(data))).culprits(2) == result.culprits(2)


def test_culprit_score_counts_growth_only_above_the_loss_floor():
    score = layers.culprit_score
    assert score(0.99, 0.999) == pytest.approx(10 * math.log10(0.0101 / 0.0011))
    assert abs(score(0.9999999, 1.0)) < 0.01  # 1e-7 of loss from exact: nothing
    assert score(float("nan"), 0.9) > 10  # non-finite counts as maximally divergent
    assert score(1.0, 1.0) == 0.0
    for bad in (-1e-4, float("inf"), True, "1e-4"):
        with pytest.raises(nv12kit.InputError, match="loss_floor"):
            pp_ocr_like().culprits(3, loss_floor=bad)
