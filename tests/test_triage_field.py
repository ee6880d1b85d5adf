"""Issue 14, "field-ready triage": every rule that fires (``verdict.also``), degenerate frames, loud notes."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from types import SimpleNamespace

import numpy as np
import onnx
import onnx_models as om
import pytest
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from nv12kit import Preprocess
from nv12kit.cli import main
from nv12kit.metrics import compare
from nv12kit.noise import NoiseStudy
from nv12kit.report import external_references, render_html
from nv12kit.triage import (
    FLAT_FRAME_LEVELS,
    MAX_UPSCALE,
    SMALL_FRAME_SIDE,
    ImageResult,
    SecondaryFinding,
    Thresholds,
    decide,
    triage,
)
from nv12kit.verdicts import Verdict, merge_also


# ----------------------------------------------------------------------------
# decide(): every rule that fires
# ----------------------------------------------------------------------------
def _result(nv12_cos: float, floor_cos: float, *, worst: float | None = None,
            quantized: dict[str, float] | None = None) -> ImageResult:
    """An ImageResult with hand-set numbers: the same noise floor at every amplitude."""
    trials = np.full(20, floor_cos)
    if worst is not None:
        trials[0] = worst
    cosines = {a: trials for a in (1.0, 2.0, 3.0)}
    study = NoiseStudy((1.0, 2.0, 3.0), "symmetric", 20, 0, "out", cosines, {"out": cosines})
    a = np.array([1.0, 0.0])
    b = np.array([nv12_cos, np.sqrt(1 - nv12_cos**2)])
    return ImageResult("x", (8, 8), (8, 8), study, compare({"out": a}, {"out": b}), nv12_cos, "test",
                       quantized=dict(quantized or {}))


BAD_INT8 = {"float_vs_quantized_feat": 0.999, "float_vs_quantized_nv12": 0.9,
            "quantized_feat_vs_quantized_nv12": 0.9}
NODE_ERROR = SimpleNamespace(severity="error", message="node divisor 256 but the model was trained with 255",
                             fix="divisor=255")


def test_over_sensitive_and_nv12_loss_both_fire_and_both_are_reported():
    # floor 0.97 at every amplitude: over-sensitive (mean < 0.98); NV12 1 - cos 0.2 is 6.7x the ±3 floor's 0.03
    verdict = decide(_result(0.8, 0.97), Thresholds())
    assert verdict.id == "over_sensitive_model"
    assert verdict.title.startswith("Over-sensitive model: ±2 pixel values")  # the main wording is unchanged
    (also,) = verdict.also
    assert also.id == "nv12_specific_loss"
    assert "alone costs 6.7x the ±3 noise floor (1 - cos 2.0e-01)" in also.title
    assert "tolerates noise" not in also.title
    assert also.decided_by.startswith("relative and absolute size")
    assert any("1 - cos = 2.00e-01" in e for e in also.evidence)
    assert any("6.67x the floor's (limit 2x)" in e for e in also.evidence)
    assert any("over-sensitive model's own" in e for e in also.evidence)
    assert verdict.to_dict()["also"][0]["id"] == "nv12_specific_loss"


def test_over_sensitive_with_a_severe_nv12_loss_inside_its_own_floor():
    # floor 0.9 at ±3 (1 - cos 0.1): the NV12 loss 0.05 is only 0.5x that, but above the severe limit 0.02
    verdict = decide(_result(0.95, 0.9), Thresholds())
    assert verdict.id == "over_sensitive_model"
    assert [f.id for f in verdict.also] == ["nv12_specific_loss"]
    assert verdict.also[0].decided_by == "absolute size (above the severe limit)"


@pytest.mark.parametrize("nv12_cos, floor_cos, verdict_id", [
    (0.9999, 0.97, "over_sensitive_model"),  # only the floor
    (0.99, 0.9999, "nv12_specific_loss"),  # only the NV12 loss
    (0.9995, 0.999999, "healthy"),
])
def test_one_rule_leaves_also_empty(nv12_cos, floor_cos, verdict_id):
    verdict = decide(_result(nv12_cos, floor_cos), Thresholds())
    assert verdict.id == verdict_id
    assert verdict.also == []


def test_nv12_loss_and_quantisation_both_fire():
    verdict = decide(_result(0.99, 0.9999, quantized=BAD_INT8), Thresholds())
    assert verdict.id == "nv12_specific_loss"
    assert "tolerates noise" in verdict.title  # the main wording is unchanged
    (also,) = verdict.also
    assert also.id == "quantization"
    assert any("cos(quantized_feat, quantized_nv12) = 0.900000" in e for e in also.evidence)


def test_quantisation_alone_is_still_the_verdict_and_healthy_never_appears_in_also():
    verdict = decide(_result(0.9999, 0.9999, quantized=BAD_INT8), Thresholds())
    assert verdict.id == "quantization" and verdict.also == []
    good = dict(BAD_INT8, quantized_feat_vs_quantized_nv12=0.99999)
    healthy = decide(_result(0.9999, 0.9999, quantized=good), Thresholds())
    assert healthy.id == "healthy" and healthy.also == []
    assert any(e.startswith("int8:") for e in healthy.evidence)


def test_conversion_bug_comes_first_and_keeps_every_other_finding():
    verdict = decide(_result(0.8, 0.97, quantized=BAD_INT8), Thresholds(), node_findings=[NODE_ERROR])
    assert verdict.id == "conversion_bug" and verdict.decided_by == "lint of the node settings"
    assert [f.id for f in verdict.also] == ["over_sensitive_model", "nv12_specific_loss", "quantization"]
    assert "noise ±2" in verdict.also[0].evidence[0]
    assert "alone costs" in verdict.also[1].title


def test_conversion_bug_alone_has_no_also():
    verdict = decide(_result(0.9999, 0.9999), Thresholds(), node_findings=[NODE_ERROR])
    assert verdict.id == "conversion_bug" and verdict.also == []


def test_other_images_add_the_rules_the_deciding_image_does_not_fire():
    main_verdict = decide(_result(0.9999, 0.97), Thresholds())
    nv12_elsewhere = decide(_result(0.99, 0.9999), Thresholds())
    healthy = decide(_result(0.9999, 0.9999), Thresholds())
    merged = merge_also(main_verdict, [("b.png", nv12_elsewhere), ("c.png", healthy), ("d.png", main_verdict)])
    assert [(f.id, f.image) for f in merged] == [("nv12_specific_loss", "b.png")]
    assert merged[0].headline().startswith("nv12_specific_loss (on b.png): NV12-specific loss")


# ----------------------------------------------------------------------------
# rendering: terminal, JSON, HTML
# ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_report():
    image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    return triage(om.classifier(32), [image], preprocess=Preprocess(mean=128, std=64), progress=False, trials=3,
                  layers=False)


class _Text(HTMLParser):
    """The text of the page, and the text inside the verdict box and the warnings box."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.boxes: dict[str, list[str]] = {"verdict": [], "warnings": []}
        self.order: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        classes = (dict(attrs).get("class") or "").split()
        box = "verdict" if "verdict" in classes else "warnings" if "warnings" in classes else None
        if box:
            self.order.append(box)
        self.stack.append(box or (self.stack[-1] if self.stack else ""))

    def handle_endtag(self, tag):
        if self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1] in self.boxes:
            self.boxes[self.stack[-1]].append(data)


def test_also_is_in_the_terminal_json_and_the_verdict_box(small_report, tmp_path):
    hostile = "<script>alert(1)</script>.png"
    small_report.verdict.also = [SecondaryFinding("nv12_specific_loss", "NV12 <b>loss</b> 6.5x", "relative size",
                                                  ["1 - cos = 3.2e-02 <img src=x onerror=alert(1)>"], hostile)]
    try:
        text = repr(small_report)
        assert "also:\n  - nv12_specific_loss (on <script>" in text and "      1 - cos = 3.2e-02" in text
        data = json.loads((small_report.to_json(tmp_path / "r.json")).read_text())
        assert data["verdict"]["also"][0]["image"] == hostile
        page = render_html(small_report, figures=False)
    finally:
        small_report.verdict.also = []
    parser = _Text()
    parser.feed(page)
    box = "".join(parser.boxes["verdict"])
    assert "Also found" in box and "NV12 <b>loss</b> 6.5x" in box and "1 - cos = 3.2e-02" in box
    assert "script" not in parser.tags and "img" not in parser.tags and external_references(page) == []
    assert "&lt;script&gt;" in page
    assert "Also found" not in render_html(small_report, figures=False)


def test_a_report_without_warnings_has_no_warning_box(small_report):
    assert small_report.warnings == []
    assert "class='warnings'" not in render_html(small_report, figures=False)


# ----------------------------------------------------------------------------
# degenerate frames and loud notes, through the CLI
# ----------------------------------------------------------------------------
def _png(path, array) -> str:
    Image.fromarray(np.ascontiguousarray(array, np.uint8)).save(path)
    return str(path)


def _noise(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def dynamic_model() -> onnx.ModelProto:
    """[N, 3, H, W] -> Conv 3x3 -> GlobalAveragePool -> Flatten: runs at any size."""
    weights = np.random.default_rng(5).normal(0, 0.3, (4, 3, 3, 3)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["image", "w"], ["conv"], pads=[1, 1, 1, 1]),
         helper.make_node("GlobalAveragePool", ["conv"], ["gap"]),
         helper.make_node("Flatten", ["gap"], ["features"])],
        "dynamic", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 4])],
        [numpy_helper.from_array(weights, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    onnx.save(om.classifier(128), folder / "c128.onnx")
    onnx.save(dynamic_model(), folder / "dynamic.onnx")
    return {"static": str(folder / "c128.onnx"), "dynamic": str(folder / "dynamic.onnx")}


def _triage(model: str, image: str, *extra: str) -> list[str]:
    return ["triage", "--model", model, "--image", image, "--mean", "128", "--std", "64", "--trials", "3",
            "--quiet", *extra]


def test_a_1x1_frame_is_refused_with_exit_2(models, tmp_path, capsys):
    image = _png(tmp_path / "dot.png", np.full((1, 1, 3), 90))
    assert main(_triage(models["static"], image)) == 2
    err = capsys.readouterr().err
    assert "dot.png" in err and "1x1" in err and "too small" in err and "camera" in err


def test_a_tiny_upscaled_frame_runs_with_a_warning_in_the_terminal_and_the_evidence(models, tmp_path, capsys):
    assert SMALL_FRAME_SIDE == 16 and MAX_UPSCALE == 4
    image = _png(tmp_path / "tiny.png", _noise(12, 12))
    code = main(_triage(models["static"], image, "--json", str(tmp_path / "r.json")))
    assert code in (0, 1)
    out = capsys.readouterr().out
    lines = out.splitlines()
    verdict_at = next(i for i, line in enumerate(lines) if line.startswith("verdict:"))
    after = lines[verdict_at + 1: verdict_at + 5]
    assert any(line.startswith("warning: tiny.png: the frame is only 12x12") for line in after), out
    assert any("upscaled 10.7x (from 12x12 to the model's 128x128" in line for line in after), out
    assert any(line.startswith("note: tiny.png: image resized from 12x12") for line in after), out
    data = json.loads((tmp_path / "r.json").read_text())
    assert any(e.startswith("warning: the frame is only 12x12") for e in data["verdict"]["evidence"])
    assert any("upscaled" in w for w in data["warnings"])
    assert any(n.startswith("warning: ") for n in data["images"][0]["notes"])


def test_a_constant_frame_is_flagged(models, tmp_path, capsys):
    assert FLAT_FRAME_LEVELS == 2
    flat = np.full((128, 128, 3), 120, np.uint8)
    flat[::2, ::2] += 2  # two levels of texture: still flat
    image = _png(tmp_path / "grey.png", flat)
    main(_triage(models["static"], image, "--json", str(tmp_path / "r.json")))
    out = capsys.readouterr().out
    assert "warning: grey.png: the frame is flat" in out
    assert "resized" not in out and "upscaled" not in out  # already at the model's size
    evidence = json.loads((tmp_path / "r.json").read_text())["verdict"]["evidence"]
    assert any(e.startswith("warning: the frame is flat") for e in evidence)


def test_a_dynamic_model_without_size_says_so_in_the_terminal_and_at_the_top_of_the_report(models, tmp_path,
                                                                                          capsys):
    image = _png(tmp_path / "frame.png", _noise(48, 41))
    code = main(_triage(models["dynamic"], image, "--report", str(tmp_path / "r.html"), "--no-figures"))
    assert code in (0, 1)
    out = capsys.readouterr().out
    expected = ("warning: dynamic input; ran at 48x40, the image's size; your compiled model has a fixed size: "
                "pass --size HxW")
    lines = out.splitlines()
    verdict_at = next(i for i, line in enumerate(lines) if line.startswith("verdict:"))
    assert lines[verdict_at + 1] == expected, out
    assert "note: frame.png: image cropped from 48x41 to even sides for NV12" in lines
    parser = _Text()
    parser.feed((tmp_path / "r.html").read_text())
    assert parser.order[:2] == ["warnings", "verdict"]  # the box comes before the verdict
    assert expected in "".join(parser.boxes["warnings"])


def test_a_dynamic_model_with_size_has_no_such_warning_but_says_it_resized(models, tmp_path, capsys):
    image = _png(tmp_path / "frame.png", _noise(48, 64))
    assert main(_triage(models["dynamic"], image, "--size", "32x32")) in (0, 1)
    out = capsys.readouterr().out
    assert "dynamic input" not in out
    assert "note: frame.png: image resized from 48x64 to the model's 32x32" in out
    assert "note: frame.png: image stretched: the aspect ratio (width/height) changed from 1.33 to 1.00" in out


def test_from_python_the_dynamic_warning_names_the_size_argument():
    report = triage(dynamic_model(), [_noise(40, 40)], preprocess=Preprocess(mean=128, std=64), progress=False,
                    trials=3, layers=False)
    assert report.warnings == ["warning: dynamic input; ran at 40x40, the image's size; your compiled model has a "
                               "fixed size: pass size=(H, W)"]
    assert report.to_dict()["warnings"] == report.warnings


def test_the_verdict_dataclass_keeps_positional_construction():
    verdict = Verdict("healthy", "Healthy", "test", ["e"], ["r"])
    assert verdict.also == [] and verdict.findings() == []
