"""Issue 14, "Sizes" and "Several inputs": partly static sizes, sizes the model cannot run, extra inputs."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnx_models as om
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from nv12kit import Preprocess
from nv12kit.cli import main
from nv12kit.errors import InputError, ModelError
from nv12kit.feeds import MAX_PROBES, probe_sizes
from nv12kit.model import ImageInputSpec
from nv12kit.runtime import Runner
from nv12kit.triage import triage

PRE = Preprocess(mean=128, std=64)


# ----------------------------------------------------------------------------
# models and frames
# ----------------------------------------------------------------------------
def _conv_model(shape: list, *, head: str = "image") -> tuple[list, list, onnx.ValueInfoProto]:
    """``head`` -> conv features -> global pool -> [N, 8]; the input has any shape."""
    nodes, inits, feat = om._features(head, 0)
    nodes += [helper.make_node("GlobalAveragePool", [feat], ["gap"]), helper.make_node("Flatten", ["gap"], ["out"])]
    return nodes, inits, helper.make_tensor_value_info("image", TensorProto.FLOAT, shape)


def partly_static(height: int = 48) -> onnx.ModelProto:
    """Image [1, 3, 48, W]: the height is fixed, the width dynamic."""
    nodes, inits, image = _conv_model([1, 3, height, "W"])
    return om._model(nodes, [image], [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 8])], inits)


def multiple_of_32() -> onnx.ModelProto:
    """Image [1, 3, H, W] that runs only when H and W are multiples of 32: image + Resize(MaxPool/32) x32."""
    nodes, inits, image = _conv_model([1, 3, "H", "W"], head="mixed")
    inits.append(numpy_helper.from_array(np.array([1, 1, 32, 32], np.float32), "scales"))
    nodes = [
        helper.make_node("MaxPool", ["image"], ["pooled"], kernel_shape=[32, 32], strides=[32, 32]),
        helper.make_node("Resize", ["pooled", "", "scales"], ["up"], mode="nearest"),
        helper.make_node("Add", ["image", "up"], ["mixed"]),  # fails unless up has the image's size
        *nodes,
    ]
    return om._model(nodes, [image], [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 8])], inits)


def image_and_aux(*, sensitive: bool = False) -> onnx.ModelProto:
    """image [1, 3, 32, 32] and aux [1, 4]: out = features(image) + aux @ W, so aux matters.

    ``sensitive``: the image path is a Laplacian map (noise dominates it on a smooth frame), so the
    triage finds an over-sensitive model and runs the layer comparison too.
    """
    aux = helper.make_tensor_value_info("aux", TensorProto.FLOAT, [1, 4])
    if sensitive:
        kernel = np.zeros((1, 3, 3, 3), np.float32)
        kernel[0, :, 1, 1] = 4.0
        kernel[0, :, 0, 1] = kernel[0, :, 2, 1] = kernel[0, :, 1, 0] = kernel[0, :, 1, 2] = -1.0
        inits = [numpy_helper.from_array(kernel, "lap"),
                 numpy_helper.from_array(om._weights(7, 4, 900, scale=0.001), "w_aux")]
        nodes = [helper.make_node("Conv", ["image", "lap"], ["edges"]),
                 helper.make_node("Flatten", ["edges"], ["flat"])]
        width = 900
    else:
        nodes, inits, _ = _conv_model([1, 3, 32, 32])
        for node in nodes:
            if node.output[0] == "out":
                node.output[0] = "flat"
        inits.append(numpy_helper.from_array(om._weights(7, 4, 8), "w_aux"))
        width = 8
    nodes += [helper.make_node("MatMul", ["aux", "w_aux"], ["side"]),
              helper.make_node("Add", ["flat", "side"], ["out"])]
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 32, 32])
    return om._model(nodes, [image, aux], [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, width])],
                     inits)


def _frame(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth colour gradient with a little texture: a frame with something for the model to see."""
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 200 / width + 20, y * 200 / height + 20, (x + y) * 100 / (height + width) + 60], axis=-1)
    rgb += np.random.default_rng(seed).normal(0, 3, rgb.shape)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def _png(path, rgb) -> str:
    Image.fromarray(np.asarray(rgb, np.uint8)).save(path)
    return str(path)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sizes")
    out = {}
    for name, model in (("partly", partly_static()), ("m32", multiple_of_32()), ("aux", image_and_aux()),
                        ("two", om.two_images())):
        onnx.save(model, folder / f"{name}.onnx")
        out[name] = str(folder / f"{name}.onnx")
    out["wide"] = _png(folder / "wide.png", _frame(60, 200))
    out["big"] = _png(folder / "big.png", _frame(240, 320))
    out["small"] = _png(folder / "small.png", _frame(32, 32))
    np.save(folder / "aux.npy", np.array([[0.5, -1.0, 2.0, 0.25]], np.float32))
    out["aux.npy"] = str(folder / "aux.npy")
    (folder / "bad.npy").write_bytes(b"not an npy file")
    out["bad.npy"] = str(folder / "bad.npy")
    return out


def _triage(model: str, image: str, *extra: str) -> list[str]:
    return ["triage", "--model", model, "--image", image, "--mean", "128", "--std", "64", "--trials", "2",
            "--quiet", *extra]


# ----------------------------------------------------------------------------
# a partly static input: height fixed at 48
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("size", ["192", "-1x192", "x192", "48x192"])
def test_one_number_or_minus_one_keeps_the_static_height(files, tmp_path, capsys, size):
    report = tmp_path / "r.json"
    assert main(_triage(files["partly"], files["wide"], f"--size={size}", "--json", str(report))) in (0, 1)
    data = json.loads(report.read_text())
    assert data["images"][0]["shape"] == [48, 192]
    assert data["parameters"]["size"] == [48, 192]
    assert "dynamic input" not in capsys.readouterr().out


def test_48x_minus_1_needs_the_width_of_a_dynamic_side(files, capsys):
    assert main(_triage(files["partly"], files["wide"], "--size", "48x-1")) == 2
    err = capsys.readouterr().err
    assert "width" in err and "dynamic" in err and "--size HxW" in err


def test_a_size_that_contradicts_the_static_height_names_the_cli_fix_up_front(files, capsys):
    assert main(_triage(files["partly"], files["wide"], "--size", "64x192")) == 2
    err = capsys.readouterr().err
    assert "--size 64x192 contradicts the model" in err
    assert "height fixed at 48" in err and "pass --size 48x192 (or --size 192)" in err
    assert "resize_to" not in err


def test_from_python_the_same_contradiction_names_the_size_argument():
    with pytest.raises(InputError, match=r"size=\(64, 192\) contradicts.*pass size=\(48, 192\) \(or size=192\)"):
        triage(partly_static(), [_frame(60, 200)], preprocess=PRE, size=(64, 192), progress=False, layers=False)
    report = triage(partly_static(), [_frame(60, 200)], preprocess=PRE, size=(None, 192), trials=2,
                    progress=False, layers=False)
    assert report.images[0].shape == (48, 192)


def test_no_size_on_a_partly_static_input_asks_for_the_dynamic_side(files, capsys):
    assert main(_triage(files["partly"], files["wide"])) == 2
    err = capsys.readouterr().err
    assert "height fixed at 48 and a dynamic width" in err and "--size 48xW" in err


@pytest.mark.parametrize("size, fix", [("48x191", "--size 48x192"), ("191", "--size 48x192"),
                                       ("33x32", "--size 34x32")])
def test_an_odd_size_is_refused_with_the_even_one(files, capsys, size, fix):
    model = files["partly"] if size != "33x32" else files["m32"]
    assert main(_triage(model, files["wide"], "--size", size)) == 2
    err = capsys.readouterr().err
    assert "even" in err and f"pass {fix}" in err


@pytest.mark.parametrize("size", ["axb", "0x32", "-2x32", "32x32x32", "-1", "x"])
def test_a_malformed_size_says_what_the_forms_are(files, capsys, size):
    assert main(_triage(files["m32"], files["wide"], f"--size={size}")) == 2
    assert "--size takes HxW" in capsys.readouterr().err


# ----------------------------------------------------------------------------
# a size the model cannot run at
# ----------------------------------------------------------------------------
def test_a_size_the_model_cannot_run_names_nearby_sizes_that_really_run(files, capsys):
    assert main(_triage(files["m32"], files["big"], "--size", "226x300")) == 2
    err = capsys.readouterr().err
    assert "the model cannot run at 226x300 (onnxruntime:" in err
    assert "sizes it runs at near it: 224x288, 224x320, 256x288, 256x320" in err
    assert "multiples of 32" in err and "pass --size 224x288" in err
    session = ort.InferenceSession(files["m32"], providers=["CPUExecutionProvider"])
    for h, w in ((224, 288), (224, 320), (256, 288), (256, 320)):
        session.run(None, {"image": np.zeros((1, 3, h, w), np.float32)})
    with pytest.raises(Exception):
        session.run(None, {"image": np.zeros((1, 3, 226, 300), np.float32)})


def test_the_suggested_size_then_runs(files):
    assert main(_triage(files["m32"], files["big"], "--size", "224x288")) in (0, 1)


def test_from_python_the_probe_error_names_the_size_argument_and_stays_bounded():
    with pytest.raises(InputError, match=r"cannot run at 226x300.*; pass size=\(224, 288\)"):
        triage(multiple_of_32(), [_frame(240, 320)], preprocess=PRE, size=(226, 300), trials=2, progress=False,
               layers=False)
    calls = []
    runner = Runner(multiple_of_32())
    original = runner.run
    runner.run = lambda feed, **kw: calls.append(1) or original(feed, **kw)  # type: ignore[method-assign]
    found, multiple = probe_sizes(runner, ImageInputSpec.from_model(multiple_of_32()), (226, 300))
    assert multiple == 32 and found[0] == (224, 288) and len(calls) <= MAX_PROBES


def test_a_size_that_runs_is_never_probed(monkeypatch):
    import nv12kit.feeds

    monkeypatch.setattr(nv12kit.feeds, "probe_sizes", lambda *a, **k: pytest.fail("probed on the normal path"))
    report = triage(multiple_of_32(), [_frame(64, 96)], preprocess=PRE, size=(64, 96), trials=2, progress=False,
                    layers=False)
    assert report.images[0].shape == (64, 96)


def test_a_failure_that_is_not_the_size_is_reraised_unchanged():
    model = om.classifier(32, batch="N")
    model.graph.input[0].type.tensor_type.shape.dim[2].dim_param = "H"  # dynamic, yet the model itself is fine
    broken = Runner(model)
    from nv12kit.feeds import size_error

    error = ModelError("boom")
    assert size_error(error, broken, ImageInputSpec.from_model(model), (32, 32)) is error


# ----------------------------------------------------------------------------
# several inputs
# ----------------------------------------------------------------------------
AUX = np.array([[0.5, -1.0, 2.0, 0.25]], np.float32)


def test_extra_inputs_reach_the_clean_run_exactly_as_a_bare_onnxruntime_run():
    rgb = _frame(32, 32)
    model = image_and_aux()
    report = triage(model, [rgb], preprocess=PRE, extra_inputs={"aux": AUX}, trials=2, progress=False, layers=False)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    bare = session.run(None, {"image": PRE(rgb), "aux": AUX})[0]
    np.testing.assert_array_equal(report.images[0].noise.clean_outputs["out"], bare)
    other = session.run(None, {"image": PRE(rgb), "aux": AUX * 0})[0]
    assert not np.allclose(other, bare)  # aux matters
    assert report.parameters["extra_inputs"] == {"aux": {"shape": [1, 4], "dtype": "float32"}}
    assert "0.5" not in json.dumps(report.to_dict()["parameters"]["extra_inputs"])  # shapes and dtypes, not values


def test_extra_inputs_reach_the_quantised_variants_and_the_layer_comparison():
    report = triage(image_and_aux(sensitive=True), [_frame(32, 32)], preprocess=PRE, extra_inputs={"aux": AUX},
                    trials=3, quantize=True, progress=False, layers=True)
    assert set(report.images[0].quantized) == {"float_vs_quantized_feat", "float_vs_quantized_nv12",
                                               "quantized_feat_vs_quantized_nv12"}
    assert report.verdict.id == "over_sensitive_model", report
    assert [r.label for r in report.layers] and all(r.rows for r in report.layers)


def test_a_float64_value_is_cast_and_an_int_one_is_refused():
    rgb = _frame(32, 32)
    report = triage(image_and_aux(), [rgb], preprocess=PRE, extra_inputs={"aux": AUX.astype(np.float64)}, trials=2,
                    progress=False, layers=False)
    assert report.parameters["extra_inputs"]["aux"]["dtype"] == "float32"
    with pytest.raises(InputError, match=r"'aux' is int64 but the model takes float32"):
        triage(image_and_aux(), [rgb], preprocess=PRE, extra_inputs={"aux": np.ones((1, 4), np.int64)},
               progress=False, layers=False)
    with pytest.raises(InputError, match=r"'aux' has shape \[1, 5\] but the model takes \[1, 4\]"):
        triage(image_and_aux(), [rgb], preprocess=PRE, extra_inputs={"aux": np.ones((1, 5), np.float32)},
               progress=False, layers=False)


def test_from_python_a_missing_input_names_it_with_its_shape_and_the_argument():
    with pytest.raises(InputError, match=r"aux \[1, 4\] float32; give them with extra_inputs=\{'aux': array\}"):
        triage(image_and_aux(), [_frame(32, 32)], preprocess=PRE, progress=False, layers=False)
    with pytest.raises(InputError, match=r"unknown extra input\(s\) \['bias'\].*image \[1, 3, 32, 32\].*aux"):
        triage(image_and_aux(), [_frame(32, 32)], preprocess=PRE, extra_inputs={"aux": AUX, "bias": AUX},
               progress=False, layers=False)


def test_cli_extra_input_feeds_the_other_input(files, tmp_path, capsys):
    report = tmp_path / "r.json"
    code = main(_triage(files["aux"], files["small"], "--extra-input", f"aux={files['aux.npy']}", "--json",
                        str(report)))
    assert code in (0, 1), capsys.readouterr().err
    assert json.loads(report.read_text())["parameters"]["extra_inputs"] == {"aux": {"shape": [1, 4],
                                                                                    "dtype": "float32"}}


def test_cli_without_the_extra_input_exits_2_naming_the_flag(files, capsys):
    assert main(_triage(files["aux"], files["small"])) == 2
    err = capsys.readouterr().err
    assert "aux [1, 4] float32" in err and "--extra-input aux=FILE.npy" in err and "extra_inputs=" not in err


@pytest.mark.parametrize("item, expected", [("aux", "--extra-input takes NAME=FILE.npy"),
                                            ("aux=missing.npy", "--extra-input aux=missing.npy: 'missing.npy' is "
                                                                "not a file"),
                                            ("aux=BAD", "--extra-input aux="),
                                            ("bias=AUX", "unknown extra input(s) ['bias']")])
def test_cli_bad_extra_inputs_exit_2_naming_the_flag(files, capsys, item, expected):
    item = item.replace("BAD", files["bad.npy"]).replace("AUX", files["aux.npy"])
    assert main(_triage(files["aux"], files["small"], "--extra-input", item)) == 2
    assert expected in capsys.readouterr().err


def test_cli_two_image_inputs_without_input_exit_2_naming_the_flag(files, capsys):
    assert main(_triage(files["two"], files["small"])) == 2
    err = capsys.readouterr().err
    assert "left [N, 3, 16, 16]; right [N, 3, 16, 16]" in err
    assert "choose one with --input NAME, e.g. --input left" in err and "input_name=" not in err


def test_cli_two_image_inputs_with_input_asks_for_the_other_one(files, capsys):
    assert main(_triage(files["two"], files["small"], "--input", "left")) == 2
    err = capsys.readouterr().err
    assert "right [N, 3, 16, 16] float32" in err and "--extra-input right=FILE.npy" in err
