"""An EfficientNet-lite0-shaped classifier, built with onnx.helper, for the speed benchmarks.

Issue 18 judges the triage's overhead "on a realistic model (EfficientNet-lite0
sized)". Downloading one needs the network at benchmark time and the torch
extra is not installed in CI, so this builds the same graph with random
weights: the lite0 stem, the seven MBConv stages (expand 1x1, depthwise 3x3 or
5x5, project 1x1, ReLU6, no squeeze-excite, residual where the shape allows),
the 1x1 head to 1280 channels, global pooling and a 1000-way linear layer,
BatchNorm folded into the convolutions as deployed models have it. 4.6 M
parameters and about 0.4 GFLOP at 224x224, like the published model. He-style
initialisation keeps the activations in a sane range, so the outputs move
with the input as a trained network's do (the timing does not depend on it,
the verdict printed alongside does).

The model carries ``nv12kit.preprocess`` metadata (mean 127, std 128, the
lite models' normalisation), so ``nv12kit triage --model`` needs no flags.

Usage::

    python benchmarks/realistic_model.py /tmp/effnet_lite0.onnx
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# (expansion, kernel, stride, output channels, repeats): EfficientNet-B0's stages, shared by lite0.
STAGES = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
          (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))


class _Builder:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.count = 0

    def _name(self, kind: str) -> str:
        self.count += 1
        return f"{kind}{self.count}"

    def conv(self, x: str, cin: int, cout: int, kernel: int, stride: int = 1, group: int = 1,
             relu6: bool = True) -> str:
        fan_in = cin // group * kernel * kernel
        w = self.rng.standard_normal((cout, cin // group, kernel, kernel)) * np.sqrt(2.0 / fan_in)
        b = 0.05 * self.rng.standard_normal(cout)
        wn, bn, out = self._name("w"), self._name("b"), self._name("conv")
        self.inits += [numpy_helper.from_array(w.astype(np.float32), wn),
                       numpy_helper.from_array(b.astype(np.float32), bn)]
        pad = kernel // 2
        self.nodes.append(helper.make_node("Conv", [x, wn, bn], [out], kernel_shape=[kernel, kernel],
                                           strides=[stride, stride], pads=[pad] * 4, group=group))
        if not relu6:
            return out
        lo, hi, act = self._name("lo"), self._name("hi"), self._name("relu6")
        self.inits += [numpy_helper.from_array(np.array(0, np.float32), lo),
                       numpy_helper.from_array(np.array(6, np.float32), hi)]
        self.nodes.append(helper.make_node("Clip", [out, lo, hi], [act]))
        return act

    def add(self, a: str, b: str) -> str:
        out = self._name("add")
        self.nodes.append(helper.make_node("Add", [a, b], [out]))
        return out


def efficientnet_lite0_like(*, size: int = 224, classes: int = 1000, seed: int = 0) -> onnx.ModelProto:
    """The lite0 graph with random weights: input ``image`` [N,3,size,size], output ``logits`` [N,classes]."""
    g = _Builder(seed)
    x, channels = g.conv("image", 3, 32, 3, stride=2), 32
    for expansion, kernel, stride, cout, repeats in STAGES:
        for r in range(repeats):
            s = stride if r == 0 else 1
            inner = channels * expansion
            h = g.conv(x, channels, inner, 1) if expansion != 1 else x
            h = g.conv(h, inner, inner, kernel, stride=s, group=inner)
            h = g.conv(h, inner, cout, 1, relu6=False)
            x = g.add(x, h) if s == 1 and channels == cout else h
            channels = cout
    x = g.conv(x, channels, 1280, 1)
    fc = g.rng.standard_normal((1280, classes)) * np.sqrt(1.0 / 1280)
    g.inits += [numpy_helper.from_array(fc.astype(np.float32), "fc_w"),
                numpy_helper.from_array(np.zeros(classes, np.float32), "fc_b")]
    g.nodes += [helper.make_node("GlobalAveragePool", [x], ["pooled"]),
                helper.make_node("Flatten", ["pooled"], ["flat"]),
                helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"])]
    graph = helper.make_graph(
        g.nodes, "efficientnet_lite0_like",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", classes])], g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="nv12kit benchmarks")
    model.ir_version = 8
    helper.set_model_props(model, {"nv12kit.preprocess": json.dumps(
        {"mean": [127.0] * 3, "std": [128.0] * 3, "divisor": 1.0, "order": "rgb"})})
    onnx.checker.check_model(model)
    return model


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    model = efficientnet_lite0_like()
    Path(sys.argv[1]).write_bytes(model.SerializeToString())
    params = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    print(f"wrote {sys.argv[1]}: {len(model.graph.node)} nodes, {params / 1e6:.2f} M parameters")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
