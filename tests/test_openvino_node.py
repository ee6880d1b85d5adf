"""OpenVINO's real NV12 node as the runtime of the NV12 variant (nv12kit.openvino_node, triage --nv12-runtime).

The reference is nv12kit's emulation of the same node: the float model on onnxruntime, fed
``Preprocess(...)(nv12_to_rgb(frame, convention="openvino"))`` (the ``openvino`` decoder is bit-exact to
OpenVINO's NV12 conversion, tests/test_decoders.py).  The two agree to float32 accumulation order only:
OpenVINO's CPU plugin (oneDNN) and onnxruntime (MLAS) sum the convolutions in different orders, and the
PrePostProcessor may fold scale and mean into one multiply-add, so the tolerance is ``rtol=1e-5,
atol=1e-4`` (the logits are of order 10; one level of one pixel moves the normalised tensor by
1 / (255 * 0.229) = 0.017, far above it).
"""

from __future__ import annotations

import json
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import nv12kit
import nv12kit.data
from nv12kit import InputError, ModelError, NV12KitError, Preprocess, Runner, nv12_to_rgb, rgb_to_nv12
from nv12kit.cli import main
from nv12kit.triage import triage

pytest.importorskip("openvino")

from nv12kit.openvino_node import import_openvino, openvino_nv12_runtime  # noqa: E402

ROBUST = str(nv12kit.data.model_path("demo_robust"))
PHOTOS = nv12kit.data.photo_paths()
RTOL, ATOL = 1e-5, 1e-4


def _crops(size: int = 128) -> list[np.ndarray]:
    crops = []
    for path in PHOTOS:
        rgb = np.asarray(nv12kit.load_image(path))
        top, left = (rgb.shape[0] - size) // 2, (rgb.shape[1] - size) // 2
        crops.append(np.ascontiguousarray(rgb[top:top + size, left:left + size]))
    return crops


def _identity(layout: str, size: tuple[int, int] = (6, 8)) -> onnx.ModelProto:
    h, w = size
    shape = ["N", 3, h, w] if layout == "NCHW" else ["N", h, w, 3]
    graph = helper.make_graph([helper.make_node("Identity", ["image"], ["out"])], "identity",
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, shape)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("order,layout", [("rgb", "NCHW"), ("bgr", "NHWC")])
def test_the_node_is_preprocess_of_the_openvino_decode(order, layout):
    pre = Preprocess(mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375), divisor=1.0, order=order,
                     layout=layout)
    runner = Runner(openvino_nv12_runtime(_identity(layout), preprocess=pre))
    rng = np.random.default_rng(0)
    y = rng.integers(0, 256, (1, 6, 8, 1), dtype=np.uint8)
    uv = rng.integers(0, 256, (1, 3, 4, 2), dtype=np.uint8)
    got = runner.run({"image_y": y, "image_uv": uv})["out"]
    expected = pre(nv12_to_rgb((y[0, ..., 0], uv[0]), convention="openvino"))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-5)
    # the check can fail: the exact BT.601 inverse is a level off on some pixels
    exact = pre(nv12_to_rgb((y[0, ..., 0], uv[0]), convention="bt601-limited"))
    assert not np.allclose(got, exact, rtol=1e-6, atol=1e-5)


def test_demo_model_openvino_node_matches_the_emulated_node():
    pre = Preprocess.from_model(ROBUST)
    node = Runner(openvino_nv12_runtime(ROBUST, preprocess=pre), name="qat_nv12")
    assert node.input_names == ("image_y", "image_uv")
    feat = Runner(ROBUST)
    frames = [rgb_to_nv12(rgb, convention="openvino") for rgb in _crops()]
    rng = np.random.default_rng(1)  # and a frame with Y below 16 and above 235, chroma at the extremes
    frames.append(nv12kit.NV12Frame(rng.choice(np.array([0, 8, 240, 255], np.uint8), (128, 128)),
                                    rng.choice(np.array([0, 255], np.uint8), (64, 64, 2))))
    batch = {k: np.concatenate([f.to_feed("image")[k] for f in frames]) for k in ("image_y", "image_uv")}
    got = node.run(batch)["logits"]
    expected = feat.run({"image": np.concatenate([pre(nv12_to_rgb(f, convention="openvino")) for f in frames])})
    np.testing.assert_allclose(got, expected["logits"], rtol=RTOL, atol=ATOL)


def test_triage_with_the_openvino_node_says_so(tmp_path):
    report = triage(ROBUST, PHOTOS[:1], convention="openvino", nv12_runtime="openvino", progress=False,
                    trials=4, layers=False, convention_sensitivity=False)
    assert report.parameters["nv12_runtime"] == "openvino"
    assert "OpenVINO" in report.parameters["nv12_node"]
    assert any(line.startswith("NV12 node: OpenVINO") for line in report.summary_lines())
    html = report.to_html(tmp_path / "r.html", figures=False).read_text()
    assert "NV12 node:" in html and "PrePostProcessor" in html
    # full-range frames into OpenVINO's limited-range node: the report says what happens
    horizon = triage(ROBUST, PHOTOS[:1], nv12_runtime="openvino", progress=False, trials=4, layers=False,
                     convention_sensitivity=False)
    assert any("decodes BT.601 limited range" in n for n in horizon.notes)
    # ...and where the user looks: right after the verdict, and not when the frames are made for OpenVINO
    assert any(w.startswith("warning: OpenVINO's NV12 node decodes BT.601 limited") for w in horizon.warnings)
    assert any("--convention openvino" in line for line in horizon.summary_lines()[:4])
    assert not any("OpenVINO's NV12 node decodes" in w for w in report.warnings)


def test_default_runtime_is_the_emulated_node():
    report = triage(ROBUST, PHOTOS[:1], progress=False, trials=4, layers=False, convention_sensitivity=False)
    assert report.parameters["nv12_runtime"] == "emulated"
    assert not any(line.startswith("NV12 node:") for line in report.summary_lines())


def test_cli_nv12_runtime_openvino(tmp_path, capsys):
    out = tmp_path / "r.json"
    code = main(["triage", "--model", ROBUST, "--image", str(PHOTOS[0]), "--quiet", "--trials", "4",
                 "--convention", "openvino", "--nv12-runtime", "openvino", "--no-convention-sensitivity",
                 "--json", str(out)])
    assert code in (0, 1)
    assert "NV12 node: OpenVINO" in capsys.readouterr().out
    assert json.loads(out.read_text())["parameters"]["nv12_runtime"] == "openvino"


def test_cli_rejects_an_unknown_runtime(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["triage", "--model", ROBUST, "--image", str(PHOTOS[0]), "--nv12-runtime", "tensorrt"])
    assert exc.value.code == 2


def test_bad_arguments():
    with pytest.raises(InputError, match="nv12_runtime"):
        triage(ROBUST, PHOTOS[:1], nv12_runtime="tensorrt", progress=False)
    with pytest.raises(InputError, match="not both"):
        triage(ROBUST, PHOTOS[:1], nv12_runtime="openvino", nv12_model=ROBUST, progress=False)
    with pytest.raises(InputError, match="resizer"):
        triage(ROBUST, PHOTOS[:1], nv12_runtime="openvino", source="resizer", roi=(0, 0, 64, 64), progress=False)
    with pytest.raises(ModelError, match="RGB or BGR"):
        openvino_nv12_runtime(ROBUST, preprocess=Preprocess(order="yuv444"))


def test_missing_openvino_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)  # import openvino now raises ImportError
    with pytest.raises(NV12KitError, match=r"pip install nv12kit\[openvino\]"):
        import_openvino()
    with pytest.raises(NV12KitError, match=r"pip install nv12kit\[openvino\]"):
        triage(ROBUST, PHOTOS[:1], nv12_runtime="openvino", progress=False)
