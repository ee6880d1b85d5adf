"""Issue 17 B and C: what another convention would cost, and the before/after against a baseline triage."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest
from test_figure_bounds import assert_legible

import nv12kit
import nv12kit.data
from nv12kit import plots
from nv12kit.cli import main
from nv12kit.counterfactual import candidate_conventions
from nv12kit.images import prepare_image
from nv12kit.triage import triage

PHOTOS = nv12kit.data.photo_paths()
ASTRONAUT = next(p for p in PHOTOS if "astronaut" in str(p))
FRAGILE = str(nv12kit.data.model_path("demo_fragile"))
ROBUST = str(nv12kit.data.model_path("demo_robust"))
# The fragile demo model, judged on its NV12 loss alone: horizon's top-left chroma (1 - cos 0.26) is severe,
# a box or bicubic chroma (about 0.09) is not.
NV12_ONLY = {"min_floor_mean": 0.01, "min_floor_worst": 0.01, "max_loss_ratio": 1000, "max_absolute_loss": 0.2}


@pytest.fixture(scope="module")
def fixable():
    return triage(FRAGILE, [ASTRONAUT], progress=False, layers=False, thresholds=NV12_ONLY,
                  convention_sensitivity="all")


def test_candidates_are_derived_from_the_presets_fields():
    groups = {c.name: (g, d) for c, g, d in candidate_conventions("horizon", ("bt601", "full"))}
    assert groups["horizon"][0] == "yours"
    assert groups["horizon (box chroma)"] == ("same node", "chroma down box (yours topleft)")
    same = {n for n, (g, _) in groups.items() if g == "same node"}
    assert {"pil", "libyuv-jpeg", "bt601-full"} <= same
    other = {n for n, (g, _) in groups.items() if g == "other node"}
    assert other == {"opencv", "libyuv", "bt601-limited", "rknn-rga"}
    assert not any(n.startswith(("bt709", "bt2020")) for n in groups)


def test_json_has_convention_sensitivity_and_each_cosine_is_reproduced_with_ort(fixable, tmp_path):
    data = json.loads(fixable.to_json(tmp_path / "r.json").read_text())
    cosines = data["convention_sensitivity"]
    assert list(cosines)[0] == "horizon" and "horizon (box chroma)" in cosines and "opencv" in cosines
    assert cosines["horizon"] == fixable.images[fixable.worst].nv12_cosine
    details = data["convention_sensitivity_details"]
    assert details["image"] == ASTRONAUT.name

    # independently: encode with each candidate, decode through an NV12 model of the node's range, run ORT
    rgb = prepare_image(nv12kit.load_image(ASTRONAUT), (128, 128))[0]
    pre = nv12kit.Preprocess.from_model(FRAGILE)
    feat = ort.InferenceSession(FRAGILE, providers=["CPUExecutionProvider"])
    name = feat.get_inputs()[0].name
    ref = feat.run(None, {name: pre(rgb)})[0]
    sessions = {}
    for row in details["rows"][1:]:
        if row["node_mode"] not in sessions:
            model = nv12kit.insert_nv12_node(FRAGILE, **{**pre.node_kwargs(), "mode": row["node_mode"]})
            sessions[row["node_mode"]] = ort.InferenceSession(model.SerializeToString(),
                                                              providers=["CPUExecutionProvider"])
        convention = nv12kit.get_convention(row["name"].split(" (")[0])
        if "(" in row["name"]:
            chroma = row["name"].split("(")[1].split(" chroma")[0]
            convention = convention.replace(chroma_down=chroma,
                                            rounding="nearest" if "rounding nearest" in row["name"]
                                            else convention.rounding)
        out = sessions[row["node_mode"]].run(None, nv12kit.rgb_to_nv12(rgb, convention=convention).to_feed(name))[0]
        expected = float(np.dot(ref.ravel().astype(np.float64), out.ravel())
                         / np.linalg.norm(ref.astype(np.float64)) / np.linalg.norm(out.astype(np.float64)))
        assert cosines[row["name"]] == pytest.approx(expected, abs=1e-9), row["name"]


def test_a_convention_the_chip_could_use_that_turns_the_loss_healthy_comes_first(fixable):
    assert fixable.verdict.id == "nv12_specific_loss"
    cs = fixable.convention_sensitivity
    box = next(r for r in cs.rows if r.name == "horizon (box chroma)")
    assert box.verdict == "healthy" and box.ratio < 0.5
    first = fixable.verdict.recommendations[0]
    fix = cs.best_fix()
    assert first.startswith(f"Configure the chip/ISP for {fix.name} (") and fix.group == "same node"
    assert "healthy under the same thresholds" in first and "x smaller" in first
    assert "what another convention would cost" in repr(fixable)


def test_no_recommendation_when_the_verdict_is_not_nv12_specific():
    report = triage(FRAGILE, [ASTRONAUT], progress=False, layers=False)
    assert report.verdict.id == "over_sensitive_model"
    assert not report.verdict.recommendations[0].startswith("Configure the chip/ISP")
    assert report.convention_sensitivity is not None


def test_html_has_the_table_and_the_chart(fixable, tmp_path):
    page = fixable.to_html(tmp_path / "r.html").read_text()
    section = page.split("What another convention would cost</h2>")[1]
    assert "horizon (box chroma)" in section and "same node" in section and "other node" in section
    assert "alt=\"NV12 loss per convention\"" in section or "alt='NV12 loss per convention'" in section


def test_convention_chart_is_legible(fixable):
    assert_legible(plots.plot_convention_sensitivity(fixable.convention_sensitivity))
    assert_legible(plots.plot_convention_sensitivity({"horizon": 0.74, "horizon (box chroma)": 0.91}))


def test_baseline_from_the_cli(tmp_path, capsys):
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    assert main(["triage", "--model", FRAGILE, "--image", str(ASTRONAUT), "--quiet", "--json", str(before)]) == 1
    capsys.readouterr()
    code = main(["triage", "--model", ROBUST, "--image", str(ASTRONAUT), *map(str, PHOTOS[1:2]), "--quiet",
                 "--json", str(after), "--baseline", str(before), "--report", str(tmp_path / "after.html")])
    assert code == 0
    out = capsys.readouterr().out
    assert "before/after (baseline: before.json):" in out
    assert "parameter model differs: demo_fragile.onnx -> demo_robust.onnx" in out
    assert "verdict: over_sensitive_model -> healthy" in out
    assert f"{ASTRONAUT.name}: nv12 cos: " in out and "new images:" in out
    block = json.loads(after.read_text())["baseline"]
    assert block["source"] == "before.json"
    nv12 = next(r for r in block["rows"] if r["image"] == ASTRONAUT.name and r["metric"] == "nv12 cos")
    assert nv12["change"] == pytest.approx(nv12["after"] - nv12["before"]) and nv12["loss_ratio"] < 0.01
    assert {"parameter": "model", "before": "demo_fragile.onnx", "after": "demo_robust.onnx"} in \
        block["differing_parameters"]
    page = (tmp_path / "after.html").read_text()
    assert "Before and after (baseline: before.json)" in page and "over_sensitive_model" in page


@pytest.mark.parametrize("content", [None, b"not json", b'{"verdict": 1}', b"[]"])
def test_a_bad_baseline_exits_2_naming_the_option(tmp_path, capsys, content):
    path = tmp_path / "previous.json"
    if content is not None:
        path.write_bytes(content)
    code = main(["triage", "--model", ROBUST, "--image", str(ASTRONAUT), "--quiet", "--baseline", str(path)])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "--baseline" in err and len(err.splitlines()) == 1


def test_baseline_as_a_report_in_python(fixable):
    report = triage(FRAGILE, [ASTRONAUT], progress=False, layers=False, baseline=fixable)
    assert report.baseline.differing == [(f"threshold {k}", v, nv12kit.Thresholds().to_dict()[k])
                                         for k, v in nv12kit.Thresholds(**NV12_ONLY).to_dict().items()
                                         if v != nv12kit.Thresholds().to_dict()[k]]
    verdict = report.baseline.rows[0]
    assert (verdict.before, verdict.after) == ("nv12_specific_loss", "over_sensitive_model")
    assert report.to_dict()["baseline"]["rows"][0]["metric"] == "verdict"


def test_cli_can_skip_the_convention_sensitivity(tmp_path, capsys):
    from nv12kit.cli import main

    model = str(nv12kit.data.photo_path("astronaut").parent / "demo_robust.onnx")
    argv = ["triage", "--model", model, "--image", str(nv12kit.data.photo_path("astronaut")), "--trials", "2",
            "--quiet", "--json"]
    assert main([*argv, str(tmp_path / "on.json")]) in (0, 1)
    assert main([*argv, str(tmp_path / "off.json"), "--no-convention-sensitivity"]) in (0, 1)
    on, off = (json.loads((tmp_path / f"{k}.json").read_text()) for k in ("on", "off"))
    assert len(on["convention_sensitivity"]) > 3 and off["convention_sensitivity"] == {}
    assert on["images"][0]["nv12_cosine"] == off["images"][0]["nv12_cosine"]


def test_by_default_only_the_same_node_is_measured_and_the_other_range_is_named(tmp_path):
    report = triage(FRAGILE, [ASTRONAUT], progress=False, layers=False, thresholds=NV12_ONLY, trials=3)
    groups = {row.group for row in report.convention_sensitivity.rows}
    assert groups == {"yours", "same node"}
    missing = " ".join(report.convention_sensitivity.not_measured)
    assert "opencv" in missing and "--convention-sensitivity all" in missing
    with pytest.raises(nv12kit.InputError, match="convention_sensitivity"):
        triage(FRAGILE, [ASTRONAUT], progress=False, layers=False, trials=2, convention_sensitivity="some")
