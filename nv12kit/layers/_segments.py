"""Running a graph segment by segment, holding only the tensors still needed.

:class:`_Plan` cuts a graph (a :class:`~nv12kit.layers._graph._Graph`) into
segments, one per list of requested tensors, and compiles each segment as a
small ONNX model of its own; :class:`_Stream` runs a plan for several feeds,
each node once per feed, dropping tensors after their last reader.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper

from ..errors import ModelError
from ._graph import _Graph


def _value_info(name: str, value: Any) -> onnx.ValueInfoProto:
    """A segment input typed like ``value``, every dimension left dynamic.

    Dynamic, because a data-dependent shape (NonZero, NMS) may differ between the clean and the
    perturbed run of the same segment.
    """
    if isinstance(value, list):
        elem = helper.np_dtype_to_tensor_dtype(np.asarray(value[0]).dtype) if value else TensorProto.FLOAT
        return helper.make_tensor_sequence_value_info(name, elem, None)
    array = np.asarray(value)
    elem = TensorProto.STRING if array.dtype.kind in "OUS" else helper.np_dtype_to_tensor_dtype(array.dtype)
    return helper.make_tensor_value_info(name, elem, [None] * array.ndim)


def _span(graph: Any, members: Sequence[int]) -> str:
    """How messages name a run of nodes: the first, or the first and the last."""
    labels = [graph.labels[i] for i in members]
    return repr(labels[0]) if len(labels) == 1 else f"{labels[0]!r} to {labels[-1]!r}"


def _session(proto: onnx.ModelProto, session_options: Any, what: str) -> Any:
    """An onnxruntime CPU session of ``proto``; a failure names ``what`` did not load."""
    import onnxruntime as ort

    try:
        return ort.InferenceSession(proto.SerializeToString(), sess_options=session_options,
                                    providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ModelError(f"onnxruntime cannot load the {what}: {type(exc).__name__}: {exc}") from exc


class _Segment:
    """One compiled segment: its session, the inputs it is fed and the outputs it returns."""

    __slots__ = ("session", "inputs", "outputs")

    def __init__(self, session: Any, inputs: list[str], outputs: list[str]) -> None:
        self.session = session
        self.inputs = inputs
        self.outputs = outputs


def _type_key(value: Any) -> tuple[str, ...]:
    """What a segment input's declared type depends on: the kind, element type and rank of its value."""
    if isinstance(value, list):
        return ("seq", np.asarray(value[0]).dtype.str if value else "")
    array = value if isinstance(value, np.ndarray) else np.asarray(value)
    return ("tensor", array.dtype.str, str(array.ndim))


class _Plan:
    """How a graph is cut for one list of requests; the sessions of its segments once built.

    ``requests[k]`` lists the tensors wanted after step ``k``. Segment ``k``
    holds the not yet run nodes those tensors depend on; its inputs are the
    tensors it reads that earlier steps produced (or the graph inputs), its
    outputs what it produces that is wanted now or read later. A plan
    depends only on the graph and the requests, so the model cache keeps it
    (and, with the default session options, its sessions) between calls.
    """

    def __init__(self, graph: _Graph, requests: Sequence[Sequence[str]]) -> None:
        self.graph = graph
        self.requests = [list(r) for r in requests]
        segment_of = [-1] * len(graph.nodes)
        self.segments: list[list[int]] = []
        for k, names in enumerate(self.requests):
            stack = [graph.producer[n] for n in names if n in graph.producer]
            members = []
            while stack:
                i = stack.pop()
                if segment_of[i] >= 0:
                    continue
                segment_of[i] = k
                members.append(i)
                stack.extend(graph.producer[t] for t in graph.uses[i] if t in graph.producer
                             and segment_of[graph.producer[t]] < 0)
            self.segments.append(sorted(members))
        # the last step at which each tensor is read or wanted
        last: dict[str, int] = {}
        for k, names in enumerate(self.requests):
            for name in names:
                last[name] = max(last.get(name, -1), k)
        for k, members in enumerate(self.segments):
            for i in members:
                for name in graph.uses[i]:
                    last[name] = max(last.get(name, -1), k)
        self.last = last
        self.inputs: list[list[str]] = []
        self.outputs: list[list[str]] = []
        for k, members in enumerate(self.segments):
            produced = {name for i in members for name in graph.nodes[i].output if name}
            read = list(dict.fromkeys(name for i in members for name in graph.uses[i]))
            self.inputs.append([name for name in read if name not in produced and name not in graph.initializers])
            wanted = set(self.requests[k])
            self.outputs.append([name for i in members for name in graph.nodes[i].output
                                 if name and (name in wanted or last.get(name, -1) > k)])
        # (step, input types) -> compiled segment; filled by _Stream when sessions may be kept
        self.sessions: dict[tuple[Any, ...], _Segment] = {}

    def compile(self, k: int, sample: Mapping[str, Any], session_options: Any, what: str) -> _Segment:
        """Build the session of segment ``k``, its inputs typed like the values in ``sample``."""
        graph = self.graph
        members = self.segments[k]
        inputs, outputs = self.inputs[k], self.outputs[k]
        missing = [name for name in inputs if name not in sample]
        if missing:  # pragma: no cover - the plan keeps every tensor a later segment reads
            raise ModelError(f"internal error: tensors {missing} were dropped before step {k} needed them")
        read = dict.fromkeys(name for i in members for name in graph.uses[i])
        produced = {name for i in members for name in graph.nodes[i].output if name}
        weights = [graph.initializers[name] for name in read if name in graph.initializers and name not in produced]
        proto = helper.make_model(
            helper.make_graph([graph.nodes[i] for i in members], f"nv12kit_segment_{k}",
                              [_value_info(name, sample[name]) for name in inputs],
                              [onnx.ValueInfoProto(name=name) for name in outputs], weights),
            opset_imports=list(graph.model.opset_import),
            ir_version=max(graph.model.ir_version, 4),
        )
        proto.functions.extend(graph.model.functions)
        return _Segment(_session(proto, session_options, f"{what} nodes {self.span(members)}"), inputs, outputs)

    def span(self, members: Sequence[int]) -> str:
        return _span(self.graph, members)


class _Stream:
    """Run one plan for several feeds, keeping only the tensors still needed.

    Each node runs once per feed. With ``keep_sessions`` the segment
    sessions stay in the plan (the model cache) for later calls; otherwise
    each is dropped once its step is done, as soon as possible.
    """

    def __init__(self, plan: _Plan, feeds: Sequence[Mapping[str, Any] | Callable[[], Mapping[str, Any]]],
                 *, session_options: Any, what: str, keep_sessions: bool) -> None:
        self.plan = plan
        self.segments = plan.segments
        # a feed may be a function: built when its run first starts, so trials need not all be held at once
        self.feeds = list(feeds)
        self.live: list[dict[str, Any]] = [{} for _ in self.feeds]
        self.session_options = session_options
        self.what = what
        self.sessions: dict[tuple[Any, ...], _Segment] = plan.sessions if keep_sessions else {}
        self.keep_sessions = keep_sessions

    def _load_feed(self, r: int) -> None:
        """Put feed ``r`` into its live tensors the first time it is needed (a callable feed is built then)."""
        feed = self.feeds[r]
        if feed is not None:
            self.live[r].update(feed() if callable(feed) else feed)
            self.feeds[r] = None

    def _segment(self, k: int, live: Mapping[str, Any]) -> _Segment:
        key = (k, *(_type_key(live[name]) for name in self.plan.inputs[k] if name in live))
        segment = self.sessions.get(key)
        if segment is None:
            segment = self.plan.compile(k, live, self.session_options, self.what)
            self.sessions[key] = segment
        return segment

    def run(self, k: int, r: int) -> dict[str, Any]:
        """Run segment ``k`` on feed ``r``; return the tensors wanted at step ``k``."""
        plan = self.plan
        live = self.live[r]
        if k == 0:
            self._load_feed(r)
        if self.segments[k]:
            segment = self._segment(k, live)
            try:
                values = segment.session.run(segment.outputs, {name: live[name] for name in segment.inputs})
            except Exception as exc:
                raise ModelError(
                    f"onnxruntime failed running the {self.what} nodes {plan.span(self.segments[k])}: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            live.update(zip(segment.outputs, values))
        wanted = {name: live[name] for name in plan.requests[k] if name in live}
        last = plan.last
        for name in [name for name in live if last.get(name, -1) <= k]:
            del live[name]
        return wanted

    def close(self, k: int) -> None:
        """Step ``k`` is done for every feed: free its session unless the cache keeps it."""
        if not self.keep_sessions:
            for key in [key for key in self.sessions if key[0] == k]:
                del self.sessions[key]


class _CutPlan:
    """Each requested tensor computed by a model cut from the graph inputs, with that tensor a terminal output.

    For a QDQ model. onnxruntime fuses ``DequantizeLinear -> op ->
    QuantizeLinear`` into one integer kernel (QLinearConv, QLinearMatMul,
    ...) only where no dequantised tensor is read from outside the kernel: a
    DequantizeLinear output exposed as a session output (or read by the next
    segment) keeps its nodes in float arithmetic, and the numbers change, by
    whole quantisation steps where the integer kernel saturates (x86 AVX2
    u8s8 kernels sum two products in 16 bits). So no compared tensor is read
    inside the session that outputs it, and no session starts from another's
    tensors: ``requests[k]`` is split into groups of tensors none of which
    depends on another of the group, and each group runs the nodes it needs
    from the graph inputs. Every node upstream is then optimised as in the
    whole model; the model's own outputs among those nodes stay outputs (as
    exposed as in the whole model), and requested graph outputs are taken
    from a session of the whole, unchanged model.

    Costs: about one session per compared tensor of a chain, each running
    the graph up to its tensor (the graph's depth times more node runs than
    :class:`_Plan`). Memory: onnxruntime holds one cut's live tensors, this
    side the feeds and one group's outputs.
    """

    def __init__(self, graph: _Graph, requests: Sequence[Sequence[str]]) -> None:
        self.graph = graph
        self.requests = [list(r) for r in requests]
        inputs = set(graph.inputs)
        outputs = set(graph.outputs)
        consumers: dict[str, list[int]] = {}
        for i, names in enumerate(graph.uses):
            for name in names:
                consumers.setdefault(name, []).append(i)
        # groups[k]: (tensors, member nodes, is the whole model) per session of step k
        self.groups: list[list[tuple[list[str], list[int], bool]]] = []
        for names in self.requests:
            groups: list[tuple[list[str], list[int], bool]] = []
            whole = [n for n in names if n in outputs and n not in inputs]
            if whole:
                groups.append((whole, list(range(len(graph.nodes))), True))
            current: list[str] = []
            members: set[int] = set()
            for name in names:
                if name in inputs or name in outputs or name not in graph.producer:
                    continue  # inputs come from the feed; outputs from the whole model
                needed = self._ancestors(name)
                if current and any(i in needed for g in current for i in consumers.get(g, ())):
                    groups.append((current, sorted(members), False))
                    current, members = [], set()
                current.append(name)
                members |= needed
            if current:
                groups.append((current, sorted(members), False))
            self.groups.append(groups)
        self.segments = [sorted({i for _, nodes, _ in groups for i in nodes}) for groups in self.groups]
        self.sessions: dict[tuple[Any, ...], _Segment] = {}

    def _ancestors(self, name: str) -> set[int]:
        graph = self.graph
        found: set[int] = set()
        stack = [graph.producer[name]]
        while stack:
            i = stack.pop()
            if i in found:
                continue
            found.add(i)
            stack.extend(graph.producer[t] for t in graph.uses[i] if t in graph.producer)
        return found

    def compile(self, k: int, g: int, session_options: Any, what: str) -> _Segment:
        """Build the session of group ``g`` of step ``k``: its nodes as the model declares them."""
        graph = self.graph
        tensors, members, whole = self.groups[k][g]
        source = graph.model.graph
        if whole:
            proto = graph.model
            inputs = list(graph.inputs)
        else:
            produced = {name for i in members for name in graph.nodes[i].output if name}
            read = dict.fromkeys(name for i in members for name in graph.uses[i])
            declared = {v.name: v for v in source.input}
            # initializers the model also lists as inputs stay overridable (onnxruntime does not fold them)
            input_infos = [declared[name] for name in read if name in declared and name not in produced]
            inputs = [v.name for v in input_infos if v.name not in graph.initializers]
            outputs = list(tensors) + [v.name for v in source.output if v.name in produced and v.name not in tensors]
            typed = {v.name: v for v in list(source.value_info) + list(source.output)}
            proto = helper.make_model(
                helper.make_graph(
                    [graph.nodes[i] for i in members], f"nv12kit_cut_{k}_{g}", input_infos,
                    [typed.get(name, onnx.ValueInfoProto(name=name)) for name in outputs],
                    [graph.initializers[name] for name in read if name in graph.initializers],
                    value_info=[v for v in source.value_info if v.name in produced and v.name not in outputs],
                ),
                opset_imports=list(graph.model.opset_import),
                ir_version=max(graph.model.ir_version, 4),
            )
            proto.functions.extend(graph.model.functions)
        span = "of the whole model" if whole else self.span(members)
        return _Segment(_session(proto, session_options, f"{what} nodes {span}"), inputs, tensors)

    def span(self, members: Sequence[int]) -> str:
        return _span(self.graph, members)


class _CutStream(_Stream):
    """Run a :class:`_CutPlan` for several feeds; the same construction and interface as :class:`_Stream`.

    Every session starts from the graph inputs, so each feed is held whole
    until its last step and nothing else is carried between steps.
    """

    def run(self, k: int, r: int) -> dict[str, Any]:
        """Run the sessions of step ``k`` on feed ``r``; return the tensors wanted at step ``k``."""
        plan = self.plan
        live = self.live[r]
        self._load_feed(r)
        wanted = {name: live[name] for name in plan.requests[k] if name in live}
        for g, (tensors, members, whole) in enumerate(plan.groups[k]):
            key = (k, g, *(_type_key(live[name]) for name in sorted(live)))
            segment = self.sessions.get(key)
            if segment is None:
                segment = self.sessions[key] = plan.compile(k, g, self.session_options, self.what)
            try:
                values = segment.session.run(segment.outputs, {name: live[name] for name in segment.inputs})
            except Exception as exc:
                span = "of the whole model" if whole else plan.span(members)
                raise ModelError(
                    f"onnxruntime failed running the {self.what} nodes {span}: {type(exc).__name__}: {exc}"
                ) from exc
            wanted.update(zip(segment.outputs, values))
        if k == len(plan.requests) - 1:
            live.clear()
        return wanted
