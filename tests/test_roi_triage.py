"""Triage of a resizer (ROI) input: triage(source="resizer", roi=...) and nv12kit triage --source resizer --roi."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import numpy as np
import onnxruntime as ort
import pytest

import nv12kit
from nv12kit.cli import main
from nv12kit.data import model_path, photo_path
from nv12kit.errors import InputError
from nv12kit.metrics import cosine
from nv12kit.roi_triage import ResizerResult, share_text
from nv12kit.verdicts import VERDICTS

MODEL = str(model_path("demo_robust"))  # 128x128
PHOTO = str(photo_path("astronaut"))  # 256x256
ROI = (32, 16, 224, 208)  # 192x192: shrunk to 128x128
FAST = {"trials": 3, "layers": False, "progress": False}


def _session(model) -> ort.InferenceSession:
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def _first(session: ort.InferenceSession, feed: dict) -> np.ndarray:
    return session.run(None, feed)[0]


@pytest.fixture(scope="module")
def independent():
    """feat, pyramid and resizer outputs computed here, without triage."""
    model = nv12kit.load_model(MODEL)
    pre = nv12kit.Preprocess.from_model(model)
    name = nv12kit.ImageInputSpec.from_model(model).name
    full = nv12kit.load_image(PHOTO)
    left, top, right, bottom = ROI
    feat_rgb = nv12kit.resize_to(full[top:bottom, left:right], 128, 128)
    out_feat = _first(_session(model), {name: pre(feat_rgb)})
    pyramid = nv12kit.insert_nv12_node(model, **pre.node_kwargs())
    out_pyramid = _first(_session(pyramid), nv12kit.rgb_to_nv12(feat_rgb).to_feed(name))
    resizer = nv12kit.insert_nv12_resizer(model, **pre.node_kwargs())
    out_resizer = _first(_session(resizer), nv12kit.resizer_feed(nv12kit.rgb_to_nv12(full), ROI, name))
    return {"pyramid": cosine(out_feat, out_pyramid), "resizer": cosine(out_feat, out_resizer)}


@pytest.fixture(scope="module")
def report():
    return nv12kit.triage(MODEL, PHOTO, source="resizer", roi=ROI, **FAST)


def test_resizer_triage_gives_a_verdict_on_the_resizer_cosine(report, independent):
    assert report.verdict.id in VERDICTS
    m = report.images[0].resizer
    assert m.roi == ROI and m.crop_shape == (192, 192) and m.frame_shape == (256, 256) and m.size == (128, 128)
    assert m.resizer_cosine == pytest.approx(independent["resizer"], abs=1e-9)
    assert m.pyramid_cosine == pytest.approx(independent["pyramid"], abs=1e-9)
    assert report.images[0].nv12_cosine == m.resizer_cosine  # the verdict rests on the deployed path
    loss_p, loss_r = 1 - independent["pyramid"], 1 - independent["resizer"]
    assert m.added_loss == pytest.approx(loss_r - loss_p, abs=1e-9)
    assert m.share == pytest.approx((loss_r - loss_p) / loss_r, rel=1e-6)
    assert any("pyramid vs resizer" in e for e in report.verdict.evidence)
    assert report.images[0].shape == (128, 128)
    assert any("Pillow bilinear" in n for n in report.images[0].notes)


def test_full_frame_roi_at_the_models_size_gives_the_pyramid_cosine():
    frame = nv12kit.resize_to(nv12kit.load_image(PHOTO), 128, 128)
    result = nv12kit.triage(MODEL, frame, source="resizer", roi=(0, 0, 128, 128), **FAST).images[0].resizer
    assert result.resizer_cosine == result.pyramid_cosine
    assert result.added_loss == 0 and "adds no loss" in share_text(result.pyramid_loss, result.resizer_loss)


def test_one_roi_per_image():
    frame = nv12kit.load_image(PHOTO)
    rep = nv12kit.triage(MODEL, [frame, frame], source="resizer", roi=[ROI, (0, 0, 256, 256)], **FAST)
    assert [r.resizer.roi for r in rep.images] == [ROI, (0, 0, 256, 256)]
    with pytest.raises(InputError, match="2 ROIs for 3 image"):
        nv12kit.triage(MODEL, [frame] * 3, source="resizer", roi=[ROI, ROI], **FAST)


def test_share_wording_when_the_pyramid_loses_more():
    r = ResizerResult((0, 0, 2, 2), (4, 4), (2, 2), (2, 2), pyramid_cosine=0.99, resizer_cosine=0.995)
    assert r.added_loss < 0 and "does not add loss here" in r.to_dict()["summary"]


@pytest.mark.parametrize("kwargs, match", [
    ({"roi": ROI}, "only for source='resizer'"),
    ({"source": "resizer"}, "needs roi="),
    ({"source": "camera", "roi": ROI}, "source must be one of"),
    ({"source": "resizer", "roi": (33, 16, 225, 208)}, "left=33 is odd"),
    ({"source": "resizer", "roi": (32, 16, 225, 208)}, "even width and height"),
    ({"source": "resizer", "roi": (128, 0, 320, 192)}, "reaches outside"),
    ({"source": "resizer", "roi": (0, 0, 64)}, "left, top, right, bottom"),
    ({"source": "resizer", "roi": ROI, "quantize": True}, "quantize=True is not supported"),
    ({"source": "resizer", "roi": ROI, "resizer_align": "corners"}, "resizer_align must be one of"),
])
def test_bad_resizer_arguments_are_clear_errors(kwargs, match):
    with pytest.raises(InputError, match=match):
        nv12kit.triage(MODEL, PHOTO, **FAST, **kwargs)


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.captions: list[str] = []
        self.headings: list[str] = []
        self.cells: list[str] = []
        self._tag: str | None = None

    def handle_starttag(self, tag, attrs):
        self._tag = tag

    def handle_endtag(self, tag):
        self._tag = None

    def handle_data(self, data):
        if self._tag == "figcaption":
            self.captions.append(data)
        elif self._tag == "h2":
            self.headings.append(data)
        elif self._tag in ("td", "th"):
            self.cells.append(data)


def test_cli_resizer_prints_the_share_and_writes_html_and_json(tmp_path, capsys):
    html_path, json_path = tmp_path / "r.html", tmp_path / "r.json"
    code = main(["triage", "--model", MODEL, "--image", PHOTO, "--source", "resizer", "--roi", *map(str, ROI),
                 "--trials", "3", "--quiet", "--report", str(html_path), "--json", str(json_path)])
    assert code in (0, 1)
    out = capsys.readouterr().out
    assert "pyramid vs resizer" in out and "the YUV-domain resize adds" in out
    page = _Html()
    page.feed(html_path.read_text(encoding="utf-8"))
    assert any("ROI (32, 16, 224, 208)" in c and "crop" in c for c in page.captions)
    assert any("Y, U and V planes" in c and "resizer" in c for c in page.captions)
    assert any("share of the loss" in h for h in page.headings)
    assert {"pyramid 1 - cos", "resizer 1 - cos", "share of the resizer loss", "(32, 16, 224, 208)"} <= set(page.cells)
    block = json.loads(json_path.read_text())["images"][0]["resizer"]
    assert block["roi"] == list(ROI) and block["crop_shape"] == [192, 192]
    assert block["added_loss"] == pytest.approx(block["resizer_loss"] - block["pyramid_loss"])
    assert json.loads(json_path.read_text())["parameters"]["source"] == "resizer"


@pytest.mark.parametrize("flags, match", [
    (["--source", "resizer", "--roi", "33", "16", "225", "208"], "--roi left=33 is odd"),
    (["--source", "resizer", "--roi", "128", "0", "320", "192"], "--roi (128, 0, 320, 192) reaches outside"),
    (["--source", "resizer"], "--source resizer needs --roi"),
    (["--roi", *map(str, ROI)], "--roi is only for --source resizer"),
    (["--source", "resizer", "--roi", *map(str, ROI), "--quantize"], "--quantize is not supported"),
    (["--resizer-align", "align_corners"], "--resizer-align is only for --source resizer"),
])
def test_cli_resizer_errors_exit_2_naming_the_flag(flags, match, capsys):
    assert main(["triage", "--model", MODEL, "--image", PHOTO, "--trials", "3", "--quiet", *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert match in err and len(err.splitlines()) == 1


def test_cli_resizer_grid_and_interpolation_reach_the_node(tmp_path, capsys):
    json_path = tmp_path / "r.json"
    base = ["triage", "--model", MODEL, "--image", PHOTO, "--source", "resizer", "--roi", *map(str, ROI),
            "--trials", "2", "--quiet"]
    assert main([*base, "--resizer-align", "align_corners", "--resizer-interpolation", "nearest",
                 "--json", str(json_path)]) in (0, 1)
    assert "(nearest, align_corners)" in capsys.readouterr().out
    expected = nv12kit.triage(MODEL, PHOTO, source="resizer", roi=ROI, resizer_align="align_corners",
                              resizer_interpolation="nearest", trials=2, layers=False, progress=False)
    measured = json.loads(json_path.read_text())["images"][0]["resizer"]
    assert measured["resizer_cosine"] == pytest.approx(expected.images[0].resizer.resizer_cosine, abs=0)
