"""Honest numbers (issue 13): what the metrics, the noise study and the triage make of hostile outputs.

- an output that ignores the image is never called healthy;
- complex outputs are compared as complex (real and imaginary parts), never silently made real;
- float64 outputs near 1e300 give the right cosine; metrics beyond float64's range are flagged, and every
  JSON written is strict (``null``, never ``NaN``);
- outputs without a batch axis (``[C]``, a scalar) do not crash the noise study;
- float16 models are fed in their own dtype from the API and the CLI; bfloat16 is refused clearly.

Every model is built here with onnx.helper; every file lives in ``tmp_path``.
"""

from __future__ import annotations

import json
import math

import numpy as np
import onnx
import onnx_models as om
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

import nv12kit
from nv12kit import Preprocess, Runner, compare, noise_study, triage
from nv12kit._io import jsonable
from nv12kit.cli import main
from nv12kit.errors import InputError, ModelError
from nv12kit.metrics import compare_arrays, cosine, mean_abs_error, relative_l2, snr_db, topk_agreement
from nv12kit.noise import _cosines
from nv12kit.triage import VERDICTS

SIZE = 16


def _build(nodes, inputs, outputs, initializers=()) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "hostile", inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _image_input(elem: int = TensorProto.FLOAT) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info("image", elem, ["N", 3, SIZE, SIZE])


def _conv(inp: str = "image", out: str = "feat", dtype=np.float32) -> tuple[list, list]:
    w = (np.random.default_rng(0).standard_normal((4, 3, 3, 3)) * 0.3).astype(dtype)
    return ([helper.make_node("Conv", [inp, "w"], [out], pads=[1, 1, 1, 1], strides=[2, 2])],
            [numpy_helper.from_array(w, "w")])


def _rgb(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)


def _strict_json(text: str):
    def refuse(constant: str):
        raise AssertionError(f"bare {constant} in JSON")

    return json.loads(text, parse_constant=refuse)


# ----------------------------------------------------------------------------
# 1. an output that does not change with the image is never healthy
# ----------------------------------------------------------------------------
def constant_output_model() -> onnx.ModelProto:
    """``out = c + 0 * mean(image)``: it reads the image, but its value never depends on it."""
    return _build(
        [helper.make_node("ReduceMean", ["image"], ["m"], axes=[1, 2, 3], keepdims=0),
         helper.make_node("Unsqueeze", ["m", "axis"], ["m1"]),
         helper.make_node("Mul", ["m1", "zero"], ["z"]),
         helper.make_node("Add", ["z", "c"], ["out"])],
        [_image_input()],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 4])],
        [numpy_helper.from_array(np.array([1], np.int64), "axis"),
         numpy_helper.from_array(np.zeros((), np.float32), "zero"),
         numpy_helper.from_array(np.array([1.0, 2.0, 3.0, 4.0], np.float32), "c")],
    )


def ignores_image_model() -> onnx.ModelProto:
    """``out`` comes from a second input, ``prior``; the image only feeds a dead branch."""
    nodes, inits = _conv()
    return _build(
        nodes + [helper.make_node("Identity", ["prior"], ["out"]),
                 helper.make_node("ReduceMean", ["feat"], ["unused"], keepdims=0)],
        [_image_input(), helper.make_tensor_value_info("prior", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 4])],
        inits,
    )


def saturated_model() -> onnx.ModelProto:
    """Class index (ArgMax) as a float: small noise cannot move it, a different image can."""
    nodes, inits = _conv()
    return _build(
        nodes + [helper.make_node("ReduceMean", ["feat"], ["pooled"], axes=[2, 3], keepdims=0),
                 helper.make_node("ArgMax", ["pooled"], ["index"], axis=1, keepdims=1),
                 helper.make_node("Cast", ["index"], ["i"], to=TensorProto.FLOAT),
                 helper.make_node("Add", ["i", "one"], ["out"])],
        [_image_input()],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 1])],
        inits + [numpy_helper.from_array(np.ones((), np.float32), "one")],
    )


def test_constant_output_is_refused_naming_the_output_not_called_healthy():
    with pytest.raises(ModelError, match=r"output 'out' did not change at all.*does not depend on the image"):
        triage(constant_output_model(), _rgb(), preprocess=Preprocess(), trials=3, progress=False, layers=False)


def test_noise_study_lists_and_notes_an_output_that_never_changes():
    study = noise_study(constant_output_model(), _rgb(), Preprocess(), trials=3, progress=False)
    assert study.unchanged == ["out"]
    assert any("do not respond to the image" in note for note in study.notes)
    assert study.to_dict()["unchanged_outputs"] == ["out"]


def test_a_graph_that_ignores_the_image_input_is_refused():
    prior = np.array([[0.5, -1.0, 2.0, 0.25]], np.float32)
    study = noise_study(ignores_image_model(), _rgb(), Preprocess(), trials=2, progress=False,
                        extra_inputs={"prior": prior})
    assert study.unchanged == ["out"]
    assert all(np.all(v == 1.0) for v in study.cosines.values())  # the numbers alone would look perfect


def test_a_saturated_output_is_refused_with_the_reason():
    rgb = np.full((SIZE, SIZE, 3), 200, np.uint8)
    with pytest.raises(ModelError, match=r"'out' did not change at all.*(quantised or saturated|does not depend)"):
        triage(saturated_model(), rgb, preprocess=Preprocess(), trials=3, progress=False, layers=False)


def test_an_image_dependent_output_beside_a_constant_one_still_gets_a_verdict():
    model = om.classifier(SIZE, 5)
    graph = model.graph
    graph.initializer.append(numpy_helper.from_array(np.array([[1.0, 2.0]], np.float32), "k"))
    graph.node.append(helper.make_node("Identity", ["k"], ["const"]))
    graph.output.append(helper.make_tensor_value_info("const", TensorProto.FLOAT, [1, 2]))
    report = triage(model, _rgb(), preprocess=Preprocess(), trials=3, progress=False, layers=False)
    assert report.verdict.id in VERDICTS
    study = report.images[0].noise
    assert study.unchanged == ["const"] and study.output == "logits"


def test_cli_triage_of_a_constant_output_fails_with_one_line_naming_it(tmp_path, capsys):
    model = tmp_path / "constant.onnx"
    onnx.save(constant_output_model(), model)
    frame = tmp_path / "frame.png"
    Image.fromarray(_rgb()).save(frame)
    code = main(["triage", "--model", str(model), "--image", str(frame), "--mean", "128", "--std", "128",
                 "--trials", "2", "--json", str(tmp_path / "r.json")])
    err = capsys.readouterr().err
    assert code not in (0,), "a constant output was called healthy"
    assert "'out' did not change at all" in err
    assert "Traceback" not in err
    assert not (tmp_path / "r.json").exists()


# ----------------------------------------------------------------------------
# 2. complex outputs: compared fully, never silently real
# ----------------------------------------------------------------------------
def test_complex_outputs_differing_only_in_the_imaginary_part_are_not_identical():
    a = np.array([[1 + 1j, 2 + 2j, 3 - 1j]], np.complex64)
    b = np.conj(a)
    result = compare({"o": a}, {"o": b})
    row = result.outputs["o"]
    assert "identical" not in row.flags and "complex" in row.flags
    want = np.vdot(b.astype(np.complex128), a.astype(np.complex128)).real / (np.linalg.norm(a) * np.linalg.norm(b))
    assert row.cosine == pytest.approx(want, abs=1e-7)
    assert row.cosine < 0.99 and not result
    assert row.top1 is None  # no top-k over complex scores
    assert row.max_abs == pytest.approx(4.0)  # the largest gap is between imaginary parts: 2j against -2j


def test_complex_npy_dumps_are_compared_as_complex(tmp_path):
    rng = np.random.default_rng(0)
    a = (rng.standard_normal((1, 3, 4, 4)) + 1j * rng.standard_normal((1, 3, 4, 4))).astype(np.complex128)
    b = a.real - 1j * a.imag
    np.save(tmp_path / "ref.npy", a)
    np.save(tmp_path / "cand.npy", b)
    row = compare(tmp_path / "ref.npy", tmp_path / "cand.npy").outputs["ref"]
    parts_a = np.stack([a.real, a.imag], -1).ravel()
    parts_b = np.stack([b.real, b.imag], -1).ravel()
    assert row.cosine == pytest.approx(parts_a @ parts_b / (np.linalg.norm(parts_a) * np.linalg.norm(parts_b)),
                                       rel=1e-12)
    assert row.cosine < 0.5 and "complex" in row.flags and row.ok
    assert len(row.per_channel_cosine) == 3 and all(c is not None and c < 1 for c in row.per_channel_cosine)


def test_complex_single_metrics_use_both_parts_and_topk_refuses():
    assert cosine([1j, 0], [1.0, 0]) == 0.0
    assert cosine([1 + 1j], [1 + 1j]) == pytest.approx(1.0)
    assert mean_abs_error([1j], [-1j]) == pytest.approx(1.0)  # parts (0, 1) against (0, -1)
    with pytest.raises(InputError, match="complex"):
        topk_agreement([[1j, 2j]], [[1j, 2j]])


# ----------------------------------------------------------------------------
# 3. non-finite metrics: robust cosine, flags, strict JSON
# ----------------------------------------------------------------------------
def test_cosine_of_outputs_near_1e300_is_right_not_nan():
    a = np.array([1e300, 2e300, -3e300])
    b = np.array([1e300, 2.1e300, -2.9e300])
    small_a, small_b = a / 1e300, b / 1e300
    want = small_a @ small_b / (np.linalg.norm(small_a) * np.linalg.norm(small_b))
    assert cosine(a, b) == pytest.approx(want, rel=1e-14)
    assert relative_l2(a, b) == pytest.approx(np.linalg.norm(small_a - small_b) / np.linalg.norm(small_a), rel=1e-14)
    assert snr_db(a, b) == pytest.approx(20 * math.log10(np.linalg.norm(small_a) / np.linalg.norm(small_a - small_b)),
                                         rel=1e-12)
    row = compare_arrays(a, b)
    assert row.cosine == pytest.approx(want, rel=1e-14) and row.flags == [] and row.ok


def test_tiny_outputs_do_not_underflow_to_zero_norm():
    a = np.array([1e-300, 2e-300])
    assert cosine(a, 2 * a) == pytest.approx(1.0)
    assert compare_arrays(a, a * 3).cosine == pytest.approx(1.0)


def test_metrics_beyond_float64_are_flagged_on_the_row_and_fail():
    a = np.array([1.5e308, -1.5e308, 1.0])
    b = np.array([-1.5e308, 1.5e308, 1.0])
    result = compare({"o": a}, {"o": b})
    row = result.outputs["o"]
    assert row.cosine == pytest.approx(-1.0)
    assert row.mean_abs is None and row.max_abs is None
    assert {"nonfinite_mean_abs", "nonfinite_max_abs"} <= set(row.flags)
    assert not row.ok and not result
    assert "nonfinite_max_abs" in repr(result)


def test_comparison_json_is_strict_with_null_for_what_is_not_finite(tmp_path):
    result = compare({"big": np.array([1.5e308, -1.5e308]), "nan": np.array([1.0, 2.0])},
                     {"big": np.array([-1.5e308, 1.5e308]), "nan": np.array([1.0, np.nan])})
    data = _strict_json(result.to_json(tmp_path / "c.json").read_text())
    assert data["outputs"]["big"]["mean_abs"] is None
    assert "nan_in_b" in data["outputs"]["nan"]["flags"]


def test_cli_compare_json_of_1e300_outputs_is_strict(tmp_path, capsys):
    np.save(tmp_path / "ref.npy", np.array([1e300, 2e300, 3e300]))
    np.save(tmp_path / "cand.npy", np.array([1e300, 2e300, 3.3e300]))
    out = tmp_path / "cmp.json"
    main(["compare", str(tmp_path / "ref.npy"), str(tmp_path / "cand.npy"), "--json", str(out)])
    capsys.readouterr()
    data = _strict_json(out.read_text())
    row = next(iter(data["outputs"].values()))
    assert row["cosine"] is not None and 0.99 < row["cosine"] < 1
    assert data["worst_cosine"] == row["cosine"]


def test_jsonable_makes_every_value_strict_json():
    value = {"nan": float("nan"), "inf": np.float32("inf"), "flag": np.bool_(False), "n": np.int16(7),
             "arr": np.array([1.0, np.nan]), "t": (1, np.float64("-inf"))}
    text = json.dumps(jsonable(value), allow_nan=False)
    assert _strict_json(text) == {"nan": None, "inf": None, "flag": False, "n": 7, "arr": [1.0, None],
                                  "t": [1, None]}


# ----------------------------------------------------------------------------
# 4. outputs without a batch axis
# ----------------------------------------------------------------------------
def batchless_model(kind: str) -> onnx.ModelProto:
    """``[C]`` (mean over the batch and space) or a scalar (sum of everything)."""
    nodes, inits = _conv()
    if kind == "channels":
        nodes.append(helper.make_node("ReduceMean", ["feat"], ["out"], axes=[0, 2, 3], keepdims=0))
        shape: list = [4]
    else:
        nodes.append(helper.make_node("ReduceSum", ["feat"], ["out"], keepdims=0))
        shape = []
    return _build(nodes, [_image_input()], [helper.make_tensor_value_info("out", TensorProto.FLOAT, shape)], inits)


@pytest.mark.parametrize("kind", ["channels", "scalar"])
def test_noise_study_handles_an_output_without_a_batch_axis(kind):
    model = batchless_model(kind)
    auto = noise_study(model, _rgb(), Preprocess(), trials=6, progress=False)
    alone = noise_study(model, _rgb(), Preprocess(), trials=6, batch_size=1, progress=False)
    for amplitude in auto.amplitudes:
        assert auto.cosines[amplitude].shape == (6,)
        np.testing.assert_allclose(auto.cosines[amplitude], alone.cosines[amplitude], rtol=0, atol=1e-12)
    assert any("no batch axis" in note for note in auto.notes)


def test_per_trial_cosines_of_a_batchless_output_are_the_one_trial_runs():
    model = batchless_model("channels")
    rgb, pre = _rgb(3), Preprocess()
    study = noise_study(model, rgb, pre, amplitudes=(2,), trials=3, conventions=(), progress=False)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    clean = session.run(None, {"image": pre(rgb)})[0].astype(np.float64)
    for trial in range(3):
        noisy = nv12kit.noise.perturb_trial(rgb, 2.0, seed=0, trial=trial)
        out = session.run(None, {"image": pre.normalize_pixels(noisy)})[0].astype(np.float64)
        want = out @ clean / (np.linalg.norm(out) * np.linalg.norm(clean))
        assert study.cosines[2.0][trial] == pytest.approx(want, abs=1e-6)


def test_triage_of_a_batchless_output_gives_a_verdict():
    report = triage(batchless_model("channels"), _rgb(), preprocess=Preprocess(), trials=4, progress=False,
                    layers=False)
    assert report.images[0].noise.cosines[2.0].shape == (4,)
    assert report.verdict.id and report.images[0].nv12_cosine is not None


def test_cosines_of_a_scalar_output():
    assert _cosines(np.array(2.0), np.array(3.0), 1).tolist() == [1.0]
    assert _cosines(np.array([[1e300, 0.0]]), np.array([[1e300, 0.0], [0.0, 1e300]])).tolist() == [1.0, 0.0]


# ----------------------------------------------------------------------------
# 5. float16 (and bfloat16) models
# ----------------------------------------------------------------------------
def half_model() -> onnx.ModelProto:
    """Every tensor in float16: Conv with float16 weights -> GlobalAveragePool -> logits [N, 5]."""
    nodes, inits = _conv(dtype=np.float16)
    fc = (np.random.default_rng(1).standard_normal((4, 5)) * 0.3).astype(np.float16)
    nodes += [helper.make_node("Relu", ["feat"], ["r"]),
              helper.make_node("GlobalAveragePool", ["r"], ["g"]),
              helper.make_node("Flatten", ["g"], ["f"]),
              helper.make_node("MatMul", ["f", "fc"], ["logits"])]
    return _build(nodes, [_image_input(TensorProto.FLOAT16)],
                  [helper.make_tensor_value_info("logits", TensorProto.FLOAT16, ["N", 5])],
                  inits + [numpy_helper.from_array(fc, "fc")])


def cast_half_model() -> onnx.ModelProto:
    """A float32 classifier behind a float16 input (Cast nodes at both ends)."""
    model = om.classifier(SIZE, 5)
    graph = model.graph
    for node in graph.node:
        node.input[:] = ["image32" if name == "image" else name for name in node.input]
        node.output[:] = ["logits32" if name == "logits" else name for name in node.output]
    graph.node.insert(0, helper.make_node("Cast", ["image"], ["image32"], to=TensorProto.FLOAT))
    graph.node.append(helper.make_node("Cast", ["logits32"], ["logits"], to=TensorProto.FLOAT16))
    graph.input[0].type.tensor_type.elem_type = TensorProto.FLOAT16
    graph.output[0].type.tensor_type.elem_type = TensorProto.FLOAT16
    onnx.checker.check_model(model)
    return model


@pytest.mark.parametrize("build", [half_model, cast_half_model])
def test_runner_feeds_float16_models_the_normalised_tensor_in_float16(build):
    model, pre = build(), Preprocess()
    tensor = pre(_rgb())
    got = Runner(model).run({"image": tensor})["logits"]
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = session.run(None, {"image": tensor.astype(np.float16)})[0]
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("build", [half_model, cast_half_model])
def test_noise_study_and_triage_run_float16_models(build):
    study = noise_study(build(), _rgb(), Preprocess(), trials=4, progress=False)
    assert all(np.isfinite(v).all() and (v > 0.9).all() for v in study.cosines.values())
    report = triage(build(), _rgb(), preprocess=Preprocess(), trials=4, progress=False, layers=False)
    assert report.images[0].nv12_cosine is not None and report.images[0].nv12_cosine > 0.9


def test_cli_triage_runs_a_float16_model(tmp_path, capsys):
    model = tmp_path / "half.onnx"
    onnx.save(cast_half_model(), model)
    frame = tmp_path / "frame.png"
    Image.fromarray(_rgb()).save(frame)
    out = tmp_path / "r.json"
    code = main(["triage", "--model", str(model), "--image", str(frame), "--mean", "128", "--std", "128",
                 "--trials", "3", "--json", str(out)])
    captured = capsys.readouterr()
    assert code in (0, 1), captured.err
    assert "float16" not in captured.err
    data = _strict_json(out.read_text())
    assert data["exit_code"] == code


def test_float16_overflow_is_refused_not_fed_as_inf():
    with pytest.raises(InputError, match="65504"):
        Runner(cast_half_model()).run({"image": np.full((1, 3, SIZE, SIZE), 1e6, np.float32)})


def test_float64_inputs_take_float32_tensors_and_narrowing_stays_refused():
    wide = om.identity(["N", 3, 4, 4], dtype=TensorProto.DOUBLE)
    x = np.random.default_rng(0).standard_normal((1, 3, 4, 4)).astype(np.float32)
    got = Runner(wide).run({"image": x})["out"]
    assert got.dtype == np.float64 and np.array_equal(got, x.astype(np.float64))
    with pytest.raises(InputError, match="must be float32, got float64"):
        Runner(om.identity(["N", 3, 4, 4])).run({"image": x.astype(np.float64)})


def test_bfloat16_input_is_refused_with_what_to_do():
    model = _build(
        [helper.make_node("Cast", ["image"], ["x"], to=TensorProto.FLOAT),
         helper.make_node("Identity", ["x"], ["out"])],
        [_image_input(TensorProto.BFLOAT16)],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 3, SIZE, SIZE])],
    )
    with pytest.raises(ModelError, match=r"'image' is bfloat16.*float32 or float16 input"):
        Runner(model).run({"image": Preprocess()(_rgb())})


def test_lint_diagnosis_json_is_strict():
    import json

    from nv12kit.lint import diagnose

    rgb = np.full((8, 8, 3), 128, np.uint8)
    text = diagnose(rgb, nv12kit.rgb_to_nv12(rgb)).to_json()

    def refuse(token):
        raise AssertionError(f"non-standard JSON constant {token}")

    json.loads(text, parse_constant=refuse)
