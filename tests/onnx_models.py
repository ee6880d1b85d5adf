"""Small ONNX models built with onnx.helper for the tests.

Each builder returns a fresh ``onnx.ModelProto`` with random but seeded
weights, so tests can compare variants of it without touching any file.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def _weights(seed: int, *shape: int, scale: float = 0.3) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def _model(nodes, inputs, outputs, initializers, *, opset: int = OPSET, name: str = "test") -> onnx.ModelProto:
    graph = helper.make_graph(nodes, name, inputs, outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _features(inp: str, seed: int, channels: int = 8) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto], str]:
    """Conv 3x3 stride 2 -> BatchNorm -> Relu -> Conv 3x3 -> Relu, NCHW."""
    inits = [
        numpy_helper.from_array(_weights(seed, channels, 3, 3, 3), "w1"),
        numpy_helper.from_array(_weights(seed + 1, channels), "b1"),
        numpy_helper.from_array(np.abs(_weights(seed + 2, channels)) + 0.5, "bn_scale"),
        numpy_helper.from_array(_weights(seed + 3, channels, scale=0.1), "bn_bias"),
        numpy_helper.from_array(_weights(seed + 4, channels, scale=0.1), "bn_mean"),
        numpy_helper.from_array(np.abs(_weights(seed + 5, channels)) + 0.5, "bn_var"),
        numpy_helper.from_array(_weights(seed + 6, channels, channels, 3, 3, scale=0.2), "w2"),
    ]
    nodes = [
        helper.make_node("Conv", [inp, "w1", "b1"], ["c1"], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "bn_scale", "bn_bias", "bn_mean", "bn_var"], ["bn1"]),
        helper.make_node("Relu", ["bn1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["feat"]),
    ]
    return nodes, inits, "feat"


def classifier(size: int = 32, classes: int = 10, *, seed: int = 0, batch: int | str = "N",
               input_name: str = "image", opset: int = OPSET) -> onnx.ModelProto:
    """NCHW image -> logits [N, classes]."""
    nodes, inits, feat = _features(input_name, seed)
    inits.append(numpy_helper.from_array(_weights(seed + 10, 8, classes), "fc"))
    nodes += [
        helper.make_node("GlobalAveragePool", [feat], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["flat"]),
        helper.make_node("MatMul", ["flat", "fc"], ["logits"]),
    ]
    return _model(
        nodes,
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [batch, 3, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, classes])],
        inits,
        opset=opset,
    )


def dense(height: int = 32, width: int = 48, classes: int = 4, *, seed: int = 1) -> onnx.ModelProto:
    """Segmentation-like: NCHW image -> per-pixel scores [N, classes, H/2, W/2]."""
    nodes, inits, feat = _features("image", seed)
    inits.append(numpy_helper.from_array(_weights(seed + 20, classes, 8, 1, 1), "head"))
    nodes.append(helper.make_node("Conv", [feat, "head"], ["scores"]))
    return _model(
        nodes,
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, height, width])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", classes, height // 2, width // 2])],
        inits,
    )


def multi_output(size: int = 32, *, seed: int = 2) -> onnx.ModelProto:
    """NCHW image -> logits [N, 5], embedding [N, 8] and a feature map [N, 8, H/2, W/2]."""
    nodes, inits, feat = _features("image", seed)
    inits.append(numpy_helper.from_array(_weights(seed + 30, 8, 5), "fc"))
    nodes += [
        helper.make_node("GlobalAveragePool", [feat], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["embedding"]),
        helper.make_node("MatMul", ["embedding", "fc"], ["logits"]),
        helper.make_node("Identity", [feat], ["features"]),
    ]
    return _model(
        nodes,
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, size, size])],
        [
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 5]),
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 8]),
            helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 8, size // 2, size // 2]),
        ],
        inits,
    )


def nhwc(height: int = 32, width: int = 32, *, seed: int = 3) -> onnx.ModelProto:
    """NHWC image (as TensorFlow exports) -> logits [N, 6]."""
    nodes, inits, feat = _features("nchw", seed)
    inits.append(numpy_helper.from_array(_weights(seed + 40, 8, 6), "fc"))
    nodes = [helper.make_node("Transpose", ["input_1"], ["nchw"], perm=[0, 3, 1, 2])] + nodes + [
        helper.make_node("GlobalAveragePool", [feat], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["flat"]),
        helper.make_node("MatMul", ["flat", "fc"], ["logits"]),
    ]
    return _model(
        nodes,
        [helper.make_tensor_value_info("input_1", TensorProto.FLOAT, ["N", height, width, 3])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 6])],
        inits,
    )


def with_extra_input(size: int = 32) -> onnx.ModelProto:
    """Image plus a second, non-image input ``scale`` [N, 1] that multiplies the logits."""
    model = classifier(size, 4)
    graph = model.graph
    graph.input.append(helper.make_tensor_value_info("scale", TensorProto.FLOAT, ["N", 1]))
    for node in graph.node:
        if node.output[0] == "logits":
            node.output[0] = "raw_logits"
    graph.node.append(helper.make_node("Mul", ["raw_logits", "scale"], ["logits"]))
    onnx.checker.check_model(model)
    return model


def identity(shape: Sequence[int | str], *, dtype: int = TensorProto.FLOAT, name: str = "image",
             opset: int = OPSET) -> onnx.ModelProto:
    """``out = Identity(name)``, for inputs of any shape."""
    return _model(
        [helper.make_node("Identity", [name], ["out"])],
        [helper.make_tensor_value_info(name, dtype, list(shape))],
        [helper.make_tensor_value_info("out", dtype, list(shape))],
        [],
        opset=opset,
    )


def two_images(size: int = 16) -> onnx.ModelProto:
    """Two image-like inputs (stereo pair): ambiguous without input_name."""
    shape = ["N", 3, size, size]
    return _model(
        [helper.make_node("Sub", ["left", "right"], ["disparity"])],
        [helper.make_tensor_value_info("left", TensorProto.FLOAT, shape),
         helper.make_tensor_value_info("right", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("disparity", TensorProto.FLOAT, shape)],
        [],
    )
