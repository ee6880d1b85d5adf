"""The notebooks' size, source and roi parameters (issue 14): what a dynamic-size or resizer deployment needs."""

from __future__ import annotations

import pathlib

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import nv12kit
from nv12kit import explore
from nv12kit.data import photo_path
from nv12kit.notebook_report import render_notebook

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _model(height: object, width: object) -> onnx.ModelProto:
    weights = np.random.default_rng(5).normal(0, 0.3, (4, 3, 3, 3)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["image", "w"], ["conv"], pads=[1, 1, 1, 1]),
         helper.make_node("GlobalAveragePool", ["conv"], ["gap"]),
         helper.make_node("Flatten", ["gap"], ["features"])],
        "sized", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, height, width])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 4])],
        [numpy_helper.from_array(weights, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    helper.set_model_props(model, {"nv12kit.preprocess": '{"mean": [128, 128, 128], "std": [64, 64, 64]}'})
    return model


def test_describe_model_takes_the_deployed_size_and_says_which_it_is():
    dynamic = _model("H", "W")
    assert explore.describe_model(dynamic).size is None
    assert "each frame runs at its own size" in str(explore.describe_model(dynamic))
    chosen = explore.describe_model(dynamic, size=(48, 192))
    assert chosen.size == (48, 192) and "48x192 (HxW) (chosen" in str(chosen)
    tall = _model(48, "W")
    assert explore.describe_model(tall, size=192).size == (48, 192)
    with pytest.raises(nv12kit.InputError, match="fixed at 48"):
        explore.describe_model(tall, size=(64, 192))


def test_noise_session_runs_at_the_given_size():
    session = explore.NoiseSession(_model("H", "W"), photo_path("coffee"), size=(48, 192))
    assert session.rgb.shape == (48, 192, 3)
    assert any("resized" in note for note in session.notes)
    own = explore.NoiseSession(_model("H", "W"), photo_path("coffee"))
    assert own.rgb.shape[:2] == (200, 300)


def test_guided_notebook_runs_a_resizer_deployment(tmp_path):
    page = render_notebook(ROOT / "notebooks" / "01_guided_triage.ipynb", tmp_path / "r.html", progress=False,
                           parameters={"source": "resizer", "roi": [32, 16, 224, 208],
                                       "image_paths": [str(photo_path("astronaut"))],
                                       "report_path": str(tmp_path / "triage.html")}).read_text()
    assert "share of the loss" in page
    assert "the RGB crop (32, 16, 224, 208)" in page
    assert "Resizer" in (tmp_path / "triage.html").read_text()
