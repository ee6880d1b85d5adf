"""Graph analysis for per-layer divergence: order, types, batch safety, what to compare.

:class:`_Graph` holds a model's main graph in topological order with who
produces and who reads each tensor, the tensor types from ONNX shape
inference (run on a copy without the big weights), and whether two images
stacked on the batch axis stay apart. :func:`_candidates` lists the tensors
to compare and the skipped ones with their reasons;
:func:`_quantized_counterparts` maps float tensors to a QDQ model's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ..errors import ModelError
from ..model import graph_inputs
from .results import SkippedNode

_FLOAT_TYPES = {TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.DOUBLE, TensorProto.BFLOAT16}
_SMALL_INITIALIZER = 4096  # elements; bigger ones are left out of the shape-inference skeleton


def _subgraphs(node: onnx.NodeProto) -> list[tuple[str, onnx.GraphProto]]:
    found = []
    for attr in node.attribute:
        if attr.type == onnx.AttributeProto.GRAPH:
            found.append((attr.name, attr.g))
        elif attr.type == onnx.AttributeProto.GRAPHS:
            found.extend((attr.name, g) for g in attr.graphs)
    return found


def _free_names(graph: onnx.GraphProto) -> set[str]:
    """Outer-scope names a subgraph reads (control-flow bodies see the enclosing graph's tensors)."""
    defined = {v.name for v in graph.input} | {t.name for t in graph.initializer}
    defined |= {t.values.name for t in graph.sparse_initializer}
    used = {v.name for v in graph.output}
    for node in graph.node:
        used.update(name for name in node.input if name)
        for _, sub in _subgraphs(node):
            used |= _free_names(sub)
        defined.update(node.output)
    return used - defined


def _tensor_type_name(elem_type: int) -> str:
    try:
        return str(helper.tensor_dtype_to_np_dtype(elem_type))
    except (KeyError, TypeError, ValueError):
        return TensorProto.DataType.Name(elem_type).lower()


class _Graph:
    """The main graph of a model: nodes in topological order, who produces and reads what."""

    def __init__(self, model: onnx.ModelProto) -> None:
        self.model = model
        graph = model.graph
        self.initializers = {t.name: t for t in graph.initializer}
        self.inputs = [v.name for v in graph_inputs(model)]
        self.outputs = [v.name for v in graph.output]
        original = list(graph.node)
        uses = []
        for node in original:
            names = [name for name in node.input if name]
            for _, sub in _subgraphs(node):
                names += sorted(_free_names(sub))
            uses.append(list(dict.fromkeys(names)))
        producer_of: dict[str, int] = {}
        for i, node in enumerate(original):
            for name in node.output:
                if name:
                    producer_of[name] = i
        order = self._topological(original, uses, producer_of)
        self.nodes = [original[i] for i in order]
        self.uses = [uses[i] for i in order]
        self.labels = [node.name or f"{node.op_type}_{i}" for node, i in zip(self.nodes, order)]
        self.producer = {name: pos for pos, node in enumerate(self.nodes) for name in node.output if name}
        self.types = _infer_types(model)
        self._nodes_keep_batch: dict[str, bool] = {}

    def _topological(self, nodes: list[onnx.NodeProto], uses: list[list[str]],
                     producer_of: dict[str, int]) -> list[int]:
        import heapq

        known = set(self.inputs) | set(self.initializers) | set(producer_of)
        waiting = [0] * len(nodes)
        readers: dict[int, list[int]] = {}
        for i, names in enumerate(uses):
            for name in names:
                if name not in known:
                    raise ModelError(
                        f"node {nodes[i].name or nodes[i].op_type!r} reads {name!r}, which is neither an input, an "
                        "initializer nor any node's output; the model is malformed (check it with onnx.checker)"
                    )
                j = producer_of.get(name)
                if j is not None and j != i:
                    waiting[i] += 1
                    readers.setdefault(j, []).append(i)
        ready = [i for i in range(len(nodes)) if waiting[i] == 0]
        heapq.heapify(ready)
        order = []
        while ready:
            i = heapq.heappop(ready)
            order.append(i)
            for j in readers.get(i, ()):
                waiting[j] -= 1
                if waiting[j] == 0:
                    heapq.heappush(ready, j)
        if len(order) != len(nodes):
            stuck = [nodes[i].name or nodes[i].op_type for i in range(len(nodes)) if waiting[i] > 0][:5]
            raise ModelError(f"the graph has a cycle (involving {stuck}); an ONNX graph must be acyclic")
        return order

    def stacks_cleanly(self, image: str, names: Iterable[str]) -> bool:
        """Whether two images stacked on the batch axis give each image's own tensors ``names``.

        Conservative, from ONNX shape inference: the image's batch is a
        symbolic dimension; each of ``names`` has it first and nowhere else;
        no node that reads a batch-first tensor works along its axis 0, has
        subgraphs or draws random numbers.
        """
        symbol = _batch_symbol(self.types.get(image))
        if symbol is None:
            return False
        for name in names:
            dims = _dims(self.types.get(name))
            if not dims or dims[0] != symbol or symbol in dims[1:]:
                return False
        if image not in self._nodes_keep_batch:  # the same for every call on this model: computed once
            self._nodes_keep_batch[image] = not any(
                _subgraphs(node) or node.op_type in _BATCH_UNSAFE_OPS or self._works_on_axis_zero(node)
                for node in self.nodes
                if any(name and _batch_symbol(self.types.get(name)) == symbol for name in node.input)
            )  # nodes reading no batch-first tensor (e.g. arithmetic on a shape vector) cannot mix the images
        return self._nodes_keep_batch[image]

    def _works_on_axis_zero(self, node: onnx.NodeProto) -> bool:
        rank = len(_dims(self.types.get(node.input[0])) or ()) if node.input and node.input[0] else 0
        axes: list[int] = []
        for attr in node.attribute:
            if attr.name == "axis" and attr.type == onnx.AttributeProto.INT:
                axes.append(attr.i)
            elif attr.name == "axes" and attr.type == onnx.AttributeProto.INTS:
                axes.extend(attr.ints)
        if node.op_type == "MeanVarianceNormalization" and not any(a.name == "axes" for a in node.attribute):
            axes.extend((0, 2, 3))  # its default includes the batch
        for position in _AXES_INPUTS.get(node.op_type, ()):
            if len(node.input) > position and node.input[position]:
                tensor = self.initializers.get(node.input[position])
                if tensor is None:
                    return True  # computed axes: cannot tell
                axes.extend(int(a) for a in numpy_helper.to_array(tensor).ravel())
        if any(a < 0 for a in axes) and rank == 0:
            return True  # negative axes on an input of unknown rank
        return any((a + rank if a < 0 else a) == 0 for a in axes)

    def depends_on(self, source: str) -> set[str]:
        """Every tensor whose value depends on ``source``."""
        reached = {source}
        for node, names in zip(self.nodes, self.uses):
            if any(name in reached for name in names):
                reached.update(name for name in node.output if name)
        return reached


def _dims(value_type: onnx.TypeProto | None) -> list[Any] | None:
    """A tensor type's dimensions (int, symbol name, or None), or None if its shape is unknown."""
    if value_type is None or value_type.WhichOneof("value") != "tensor_type":
        return None
    tensor = value_type.tensor_type
    if not tensor.HasField("shape"):
        return None
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in tensor.shape.dim]


def _batch_symbol(value_type: onnx.TypeProto | None) -> str | None:
    dims = _dims(value_type)
    return dims[0] if dims and isinstance(dims[0], str) else None


# ops that may mix the images of a batch whatever their attributes say
_BATCH_UNSAFE_OPS = frozenset({"Einsum", "Scan", "Loop", "If", "RandomNormalLike", "RandomUniformLike", "Multinomial",
                               "Bernoulli", "NonZero", "NonMaxSuppression", "Compress", "Unique"})
# (op type -> input positions holding axes), for opsets where the axes moved from attributes to inputs
_AXES_INPUTS = {"CumSum": (1,), "Slice": (3,), "Squeeze": (1,), "Unsqueeze": (1,), "ReduceSum": (1,),
                **{op: (1,) for op in ("ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                                       "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare")}}


def _infer_types(model: onnx.ModelProto) -> dict[str, onnx.TypeProto]:
    """Types of the model's tensors from ONNX shape inference, run on a copy without the big weights."""
    types = {v.name: v.type for v in list(model.graph.value_info) + list(model.graph.output) + list(model.graph.input)}
    skeleton = onnx.ModelProto()
    skeleton.ir_version = max(model.ir_version, 4)
    skeleton.opset_import.extend(model.opset_import)
    skeleton.functions.extend(model.functions)
    graph = skeleton.graph
    graph.node.extend(model.graph.node)
    graph.input.extend(model.graph.input)
    graph.output.extend(model.graph.output)
    graph.value_info.extend(model.graph.value_info)
    declared = {v.name for v in model.graph.input}
    for tensor in model.graph.initializer:
        if int(np.prod(tensor.dims, dtype=np.int64)) <= _SMALL_INITIALIZER:
            graph.initializer.append(tensor)  # small ones may be shapes that inference reads
        elif tensor.name not in declared:
            graph.input.append(helper.make_tensor_value_info(tensor.name, tensor.data_type, list(tensor.dims)))
    try:
        inferred = onnx.shape_inference.infer_shapes(skeleton, check_type=False, strict_mode=False)
    except Exception:  # inference is an optimisation here; unknown types are checked after running
        return types
    for value in list(inferred.graph.value_info) + list(inferred.graph.output):
        if value.type.WhichOneof("value") is not None:
            types.setdefault(value.name, value.type)
    return types


def _type_problem(value_type: onnx.TypeProto | None) -> str | None:
    """Why a tensor of this (inferred) type cannot be compared; None if it can or is unknown."""
    if value_type is None:
        return None
    kind = value_type.WhichOneof("value")
    if kind is None:
        return None
    if kind != "tensor_type":
        return f"its output is a {kind.replace('_type', '')}, not a tensor"
    elem = value_type.tensor_type.elem_type
    if elem == TensorProto.UNDEFINED or elem in _FLOAT_TYPES:
        return None
    return f"its output is {_tensor_type_name(elem)}, not floating point; similarity is only defined for floats"


def _candidates(graph: _Graph, image: str) -> tuple[list[tuple[str, int, str, str]], list[SkippedNode]]:
    """(output, depth, node label, op type) of every tensor to compare, and every skipped node with why."""
    image_deps = graph.depends_on(image)
    skipped: list[SkippedNode] = []
    candidates: list[tuple[str, int, str, str]] = [(image, 0, image, "Input")]
    for pos, (node, label) in enumerate(zip(graph.nodes, graph.labels)):
        for attr, sub in _subgraphs(node):
            _skip_body(skipped, sub, node, label, attr)
        for name in node.output:
            if not name:
                continue
            if name not in image_deps:
                skipped.append(SkippedNode(label, node.op_type, name,
                                           "does not depend on the image (a constant): identical in every run"))
                continue
            problem = _type_problem(graph.types.get(name))
            if problem:
                skipped.append(SkippedNode(label, node.op_type, name, problem))
                continue
            candidates.append((name, pos + 1, label, node.op_type))
    return candidates, skipped


def _skip_body(skipped: list[SkippedNode], body: onnx.GraphProto, parent: onnx.NodeProto, parent_label: str,
               attr: str) -> None:
    """Record every node of a control-flow body (recursively) as skipped."""
    for j, node in enumerate(body.node):
        label = node.name or f"{node.op_type}_{j}"
        outputs = ", ".join(name for name in node.output if name)
        skipped.append(SkippedNode(
            label, node.op_type, outputs,
            f"inside the {attr!r} body of {parent.op_type} node {parent_label!r}: control-flow bodies run inside "
            f"their node, so their tensors cannot be exposed; the {parent.op_type} node's own outputs are compared",
        ))
        for sub_attr, sub in _subgraphs(node):
            _skip_body(skipped, sub, node, label, sub_attr)


def _quantized_counterparts(qgraph: _Graph, names: Sequence[str]) -> dict[str, str]:
    """Float tensor name -> the QDQ model's tensor holding the same value, as the next layer sees it.

    onnxruntime's QDQ quantiser keeps a float tensor ``t`` and adds
    ``t_QuantizeLinear_Output`` / ``t_DequantizeLinear_Output`` after it; the
    DequantizeLinear output is the quantised value. Tensors its
    pre-processing fused away (Conv + BatchNormalization + Relu) have no
    counterpart.
    """
    known = set(qgraph.producer) | set(qgraph.inputs)
    mapping = {}
    for name in names:
        for candidate in (f"{name}_DequantizeLinear_Output", name):
            if candidate in known:
                mapping[name] = candidate
                break
    return mapping
