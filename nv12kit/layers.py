"""Per-layer divergence: where inside the network the NV12 loss grows.

:func:`layer_divergence` runs a float ONNX model twice (or more) on the same
image, once on the clean ("feat") input and once on a perturbed one, and
compares every intermediate tensor: cosine similarity, relative L2 and SNR,
node by node in topological order. The perturbation is

``"nv12"``
    The NV12 round trip ``nv12_to_rgb(rgb_to_nv12(rgb, convention))``,
    which is what the NV12 preprocessing node feeds the network.
``"noise"``
    Real-valued noise, uniform on ``[-amplitude, amplitude)`` pixel values,
    drawn by :mod:`nv12kit.noise` as the triage's noise studies draw it,
    added in 0-255 space before normalisation and clipped; metrics are the
    mean over ``trials``. This is the per-layer noise floor to hold the NV12
    curve against.
``"quantized"``
    The same clean input through the int8 QDQ model (:func:`nv12kit.quantize`).

:meth:`LayerDivergence.culprits` names the nodes where the divergence grows
most sharply, which tells whether fine-tuning the first layers or changing
the input convention will help.

How it stays within memory: the graph is cut into segments of about
``chunk_size`` compared tensors. Each segment runs as its own small ONNX
model whose inputs are the tensors still alive at the cut, so every node runs
once per input and only the live tensors, plus one segment's outputs, are
held at a time. The user's model is never changed.

What is kept between calls: the graph analysis and the segment sessions of
the last few models, keyed by their content (see :func:`clear_cache`), so
the second call on a model (the triage's noise comparison after the NV12
one) skips building them.

This module never imports matplotlib; the figure is
``nv12kit.plots.plot_layer_divergence``.
"""

from __future__ import annotations

import argparse
import csv
import functools
import hashlib
import html
import io
import json
import math
import os
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ._io import atomic_write, jsonable
from .conventions import Convention, get_convention
from .convert import nv12_to_rgb, rgb_to_nv12
from .errors import InputError, ModelError, NV12KitError
from .model import ImageInputSpec, _external_locations, graph_inputs, load_model
from .noise import perturb_trial
from .preprocess import Preprocess

__all__ = [
    "COMPARE_MODES",
    "CULPRIT_MIN_DB",
    "DEFAULT_CHUNK_SIZE",
    "LayerDivergence",
    "LayerRow",
    "SINGLE_THREAD_WEIGHTS",
    "SkippedNode",
    "add_layers_arguments",
    "clear_cache",
    "format_layer_table",
    "layer_divergence",
    "run_layers_command",
]

#: What the clean run can be compared with.
COMPARE_MODES: tuple[str, ...] = ("nv12", "noise", "quantized")

#: Compared tensors per graph segment: one segment for small models, bounded memory for big ones.
DEFAULT_CHUNK_SIZE = 64

#: Growth (dB) a node must add to the divergence to count as a culprit.
CULPRIT_MIN_DB = 1.0

#: 1 - cosine below this counts as "identical" when measuring growth (float32 noise is far below it).
DIVERGENCE_FLOOR = 1e-12

_FLOAT_TYPES = {TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.DOUBLE, TensorProto.BFLOAT16}
_BLOCK = 1 << 20  # elements per block when reducing a tensor
_SMALL_INITIALIZER = 4096  # elements; bigger ones are left out of the shape-inference skeleton
_SCHEMA = "nv12kit.layer_divergence"


# ----------------------------------------------------------------------------
# result objects
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class LayerRow:
    """One compared tensor: a node output (or the image input itself).

    Attributes
    ----------
    depth : int
        Position of the node in topological order, counting from 1; 0 is the
        image input. Both outputs of a two-output node share a depth.
    node, op_type, output : str
        Node name (``"<op>_<i>"`` when the model leaves it empty), its op
        type (``"Input"`` for the image) and the output tensor's name.
    shape : tuple of int
        Shape of the tensor for the one image compared.
    cosine : float
        Cosine similarity between the clean and the perturbed tensor (mean
        over trials for ``"noise"``).
    cosine_min : float
        Worst cosine over the trials (equal to ``cosine`` for one run).
    rel_l2 : float
        ``||perturbed - clean|| / ||clean||`` (mean over trials).
    snr_db : float
        ``10 log10(||clean||^2 / ||perturbed - clean||^2)`` (mean over trials;
        ``inf`` when identical).
    input_cosine : float
        The similarity this node was handed: the worst cosine among the
        tensors it reads (through skipped nodes, back to compared ones).
    growth_db : float
        ``10 log10((1 - cosine) / (1 - input_cosine))``: how many dB this node
        adds to the divergence. Positive values amplify, negative ones
        attenuate. :meth:`LayerDivergence.culprits` ranks by it.
    flags : tuple of str
        Explicit warnings: non-finite values, zero norms, shape changes.
    is_output : bool
        The tensor is one of the model's outputs.
    """

    depth: int
    node: str
    op_type: str
    output: str
    shape: tuple[int, ...]
    cosine: float
    cosine_min: float
    rel_l2: float
    snr_db: float
    input_cosine: float
    growth_db: float
    flags: tuple[str, ...] = ()
    is_output: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; non-finite numbers become ``None`` (see ``flags``)."""
        return {
            "depth": self.depth,
            "node": self.node,
            "op_type": self.op_type,
            "output": self.output,
            "shape": list(self.shape),
            "cosine": _finite_or_none(self.cosine),
            "cosine_min": _finite_or_none(self.cosine_min),
            "rel_l2": _finite_or_none(self.rel_l2),
            "snr_db": _finite_or_none(self.snr_db),
            "input_cosine": _finite_or_none(self.input_cosine),
            "growth_db": _finite_or_none(self.growth_db),
            "flags": list(self.flags),
            "is_output": self.is_output,
        }


@dataclass(frozen=True)
class SkippedNode:
    """A node (or one output of it) that was not compared, and why."""

    node: str
    op_type: str
    output: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        """JSON-ready dict."""
        return {"node": self.node, "op_type": self.op_type, "output": self.output, "reason": self.reason}


@dataclass(frozen=True)
class LayerDivergence:
    """Per-node similarity between a clean and a perturbed run of one model.

    Attributes
    ----------
    compare : {"nv12", "noise", "quantized"}
        What the clean run was compared with.
    label : str
        Human name of the comparison (``"nv12 (horizon)"``, ``"noise ±2 (mean of 5)"``).
    rows : tuple of LayerRow
        One per compared tensor, in topological order, the image input first.
    skipped : tuple of SkippedNode
        Nodes or outputs not compared, each with its reason.
    settings : dict
        Parameters and facts of the run (model, image size, preprocessing,
        convention, amplitude, trials, seed, chunk size, segments, seconds).
    notes : tuple of str
        Things the user should know about this run (resizing, calibration).

    Examples
    --------
    >>> import numpy as np
    >>> from onnx import TensorProto, helper, numpy_helper
    >>> import nv12kit
    >>> from nv12kit.layers import layer_divergence
    >>> w = numpy_helper.from_array(np.eye(3, dtype=np.float32).reshape(3, 3, 1, 1) * 2, "w")
    >>> graph = helper.make_graph(
    ...     [helper.make_node("Conv", ["image", "w"], ["conv"], name="conv"),
    ...      helper.make_node("Relu", ["conv"], ["out"], name="relu")], "g",
    ...     [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 8, 8])],
    ...     [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3, 8, 8])], [w])
    >>> model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    >>> rgb = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    >>> result = layer_divergence(model, rgb, preprocess=nv12kit.Preprocess(), progress=False)
    >>> [(row.node, row.op_type) for row in result.rows]
    [('image', 'Input'), ('conv', 'Conv'), ('relu', 'Relu')]
    >>> bool(result.rows[1].cosine == result.rows[0].cosine)  # a scaled identity keeps the angle
    True
    """

    compare: str
    label: str
    rows: tuple[LayerRow, ...]
    skipped: tuple[SkippedNode, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[LayerRow]:
        return iter(self.rows)

    def row(self, output: str) -> LayerRow:
        """The row of one tensor, by output name.

        Raises
        ------
        InputError
            If no compared tensor has that name (skipped ones say why).
        """
        for row in self.rows:
            if row.output == output:
                return row
        for skip in self.skipped:
            if output in skip.output.split(", "):
                raise InputError(f"{output!r} was not compared: {skip.reason}")
        raise InputError(
            f"no compared tensor is named {output!r}; the first few are "
            f"{[r.output for r in self.rows[:8]]} (see .rows for all {len(self.rows)})"
        )

    @property
    def outputs(self) -> tuple[LayerRow, ...]:
        """Rows of the model's own outputs."""
        return tuple(row for row in self.rows if row.is_output)

    def culprits(self, k: int = 5, *, min_db: float = CULPRIT_MIN_DB) -> list[LayerRow]:
        """The nodes where the divergence grows most sharply.

        Parameters
        ----------
        k : int, optional
            How many to return at most.
        min_db : float, optional
            Nodes adding less than this many dB are not culprits (1 dB:
            the divergence grows by a quarter); 0 ranks every amplifying node.

        Returns
        -------
        list of LayerRow
            Rows whose :attr:`LayerRow.growth_db` exceeds ``min_db``, largest
            first (ties: the shallower node first). Fewer than ``k`` (even
            none) when fewer nodes amplify the divergence that much.

        Notes
        -----
        The growth of a node compares the divergence ``1 - cosine`` of its
        output with the worst divergence among its inputs, in dB. On a chain
        of layers that is exactly the gradient of ``-10 log10(1 - cosine)``
        along depth; on branching graphs (residual blocks) it compares a node
        with what it actually reads, so a branch that merely runs later in
        topological order is not blamed for its neighbour's divergence.
        Non-finite outputs count as maximally divergent.
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InputError(f"k must be a positive integer, got {k!r}")
        if isinstance(min_db, bool) or not isinstance(min_db, (int, float)) or not min_db >= 0:
            raise InputError(f"min_db must be a number >= 0, got {min_db!r}")
        ranked = [row for row in self.rows if math.isfinite(row.growth_db) and row.growth_db > min_db]
        ranked.sort(key=lambda row: (-row.growth_db, row.depth))
        return ranked[: int(k)]

    # ------------------------------------------------------------------
    # text and HTML
    # ------------------------------------------------------------------
    def summary(self, *, k: int = 5) -> str:
        """A few lines: what was compared, input and output similarity, the culprits."""
        lines = [f"LayerDivergence: {self.label}, {len(self.rows)} tensors compared, {len(self.skipped)} skipped"]
        model = self.settings.get("model")
        if model:
            lines[0] += f" ({model})"
        if self.rows:
            first = self.rows[0]
            lines.append(f"  {first.op_type.lower()} {first.output!r}: cosine {_fmt_cos(first.cosine)}")
        for row in self.outputs:
            lines.append(f"  output {row.output!r}: cosine {_fmt_cos(row.cosine)}, SNR {_fmt(row.snr_db, '.1f')} dB")
        culprits = self.culprits(k)
        if culprits:
            lines.append("  where it grows (culprits):")
            for rank, row in enumerate(culprits, 1):
                lines.append(
                    f"    #{rank} {row.node} ({row.op_type}) at depth {row.depth}: +{row.growth_db:.1f} dB, "
                    f"cosine {_fmt_cos(row.input_cosine)} -> {_fmt_cos(row.cosine)}"
                )
        else:
            lines.append(f"  no node adds more than {CULPRIT_MIN_DB:g} dB to the divergence")
        flagged = [row for row in self.rows if row.flags]
        if flagged:
            example = f"{flagged[0].output!r}: {'; '.join(flagged[0].flags)}"
            lines.append(f"  flagged: {len(flagged)} tensors, e.g. {example}")
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)

    def table(self, *, max_rows: int | None = None, k: int = 5) -> str:
        """The per-node table as text (what ``nv12kit layers`` prints)."""
        return format_layer_table(self, max_rows=max_rows, k=k)

    def __repr__(self) -> str:
        return self.summary()

    def __str__(self) -> str:
        return self.summary() + "\n\n" + self.table()

    def _repr_html_(self) -> str:
        culprits = {row.output: rank for rank, row in enumerate(self.culprits(5), 1)}
        head = (
            "<tr><th>depth</th><th>node</th><th>op</th><th>output</th><th>shape</th><th>cosine</th>"
            "<th>rel. L2</th><th>SNR dB</th><th>growth dB</th><th>flags</th></tr>"
        )
        body = []
        for row in self.rows:
            rank = culprits.get(row.output)
            style = ' style="background:#fde2e2"' if rank else ""
            mark = f" <b>#{rank}</b>" if rank else ""
            body.append(
                f"<tr{style}><td>{row.depth}</td><td>{html.escape(row.node)}{mark}</td>"
                f"<td>{html.escape(row.op_type)}</td><td>{html.escape(row.output)}</td>"
                f"<td>{html.escape(_shape_str(row.shape))}</td><td>{html.escape(_fmt_cos(row.cosine))}</td>"
                f"<td>{html.escape(_fmt(row.rel_l2, '.3g'))}</td><td>{html.escape(_fmt(row.snr_db, '.1f'))}</td>"
                f"<td>{html.escape(_fmt(row.growth_db, '+.1f'))}</td><td>{html.escape('; '.join(row.flags))}</td></tr>"
            )
        skipped = "".join(
            f"<tr><td>{html.escape(s.node)}</td><td>{html.escape(s.op_type)}</td><td>{html.escape(s.output)}</td>"
            f"<td>{html.escape(s.reason)}</td></tr>"
            for s in self.skipped
        )
        skipped_html = (
            f"<details><summary>{len(self.skipped)} skipped</summary><table>"
            f"<tr><th>node</th><th>op</th><th>output</th><th>reason</th></tr>{skipped}</table></details>"
            if self.skipped else ""
        )
        summary = html.escape(self.summary())
        return (
            f"<div><pre>{summary}</pre><table>{head}{''.join(body)}</table>{skipped_html}</div>"
        )

    # ------------------------------------------------------------------
    # machines
    # ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with every row, the skipped nodes, settings and culprits.

        Non-finite numbers are ``null``; the row's ``flags`` say why.
        """
        return {
            "schema": _SCHEMA,
            "version": 1,
            "compare": self.compare,
            "label": self.label,
            "settings": jsonable(dict(self.settings)),
            "notes": list(self.notes),
            "culprits": [row.output for row in self.culprits(5)],
            "rows": [row.to_dict() for row in self.rows],
            "skipped": [s.to_dict() for s in self.skipped],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LayerDivergence:
        """Inverse of :meth:`to_dict` (``null`` numbers come back as NaN, or ``inf`` for an identical SNR)."""
        if not isinstance(data, Mapping) or data.get("schema") != _SCHEMA:
            raise InputError(f"not a layer divergence dict (expected 'schema': {_SCHEMA!r})")
        try:
            rows = tuple(
                LayerRow(
                    depth=int(r["depth"]), node=str(r["node"]), op_type=str(r["op_type"]), output=str(r["output"]),
                    shape=tuple(int(d) for d in r["shape"]), cosine=_from_json(r["cosine"]),
                    cosine_min=_from_json(r["cosine_min"]), rel_l2=_from_json(r["rel_l2"]),
                    snr_db=_from_json(r["snr_db"], inf=r["rel_l2"] == 0),
                    input_cosine=_from_json(r["input_cosine"]), growth_db=_from_json(r["growth_db"]),
                    flags=tuple(r.get("flags", ())), is_output=bool(r.get("is_output", False)),
                )
                for r in data["rows"]
            )
            skipped = tuple(SkippedNode(**s) for s in data.get("skipped", ()))
            return cls(str(data["compare"]), str(data["label"]), rows, skipped, dict(data.get("settings", {})),
                       tuple(data.get("notes", ())))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"malformed layer divergence dict: {type(exc).__name__}: {exc}") from exc

    def to_json(self, path: Any) -> Any:
        """Write :meth:`to_dict` as JSON, atomically. Returns the path written."""
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False)
        return atomic_write(path, (text + "\n").encode("utf-8"))

    def to_csv(self, path: Any) -> Any:
        """Write one line per compared tensor as CSV, atomically. Returns the path written.

        Columns: compare, depth, node, op_type, output, shape, cosine,
        cosine_min, rel_l2, snr_db, input_cosine, growth_db, culprit_rank,
        is_output, flags. Non-finite numbers are written as ``nan``/``inf``.
        """
        return atomic_write(path, _csv_text([self]).encode("utf-8"))


# ----------------------------------------------------------------------------
# formatting helpers
# ----------------------------------------------------------------------------
def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _from_json(value: Any, *, inf: bool = False) -> float:
    if value is None:
        return math.inf if inf else math.nan
    return float(value)


def _fmt(value: float, spec: str) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return format(value, spec)


def _fmt_cos(value: float) -> str:
    """Cosines near 1 need digits: 0.999981 not 1.000."""
    if not math.isfinite(value):
        return _fmt(value, "")
    if value >= 0.99:
        return f"{value:.6f}"
    return f"{value:.4f}"


def _shape_str(shape: Sequence[int]) -> str:
    return "x".join(str(d) for d in shape) if shape else "scalar"


def _ellipsis(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "~"


def format_layer_table(*results: LayerDivergence, max_rows: int | None = None, k: int = 5) -> str:
    """Text table of one or several results side by side, aligned by tensor name.

    Parameters
    ----------
    *results : LayerDivergence
        The first result sets the row order; the others add their cosine
        and growth columns. With an ``"nv12"`` and a ``"noise"`` result, the
        last column is ``nv12/noise``: ``(1 - cos_nv12) / (1 - cos_noise)``,
        above 1 where the NV12 round trip hurts a layer more than the noise
        floor does.
    max_rows : int, optional
        Show at most this many rows (the culprits are always shown).
    k : int, optional
        Culprits marked per result.

    Returns
    -------
    str
    """
    if not results or not all(isinstance(r, LayerDivergence) for r in results):
        raise InputError("format_layer_table needs one or more LayerDivergence results")
    first = results[0]
    lookups = [{row.output: row for row in r.rows} for r in results]
    ranks = [{row.output: rank for rank, row in enumerate(r.culprits(k), 1)} for r in results]
    by_kind = {r.compare: i for i, r in enumerate(results)}
    ratio = "nv12" in by_kind and "noise" in by_kind
    header = ["depth", "node", "op", "shape"]
    for r in results:
        header += [f"cos {r.compare}", f"dB {r.compare}"]
    if len(results) == 1:
        header = header[:4] + ["cosine", "rel L2", "SNR dB", "growth dB", "flags"]
    if ratio:
        header.append("nv12/noise")
    lines = []
    chosen = list(first.rows)
    if max_rows is not None and len(chosen) > max_rows:
        keep = set(ranks[0]) | {row.output for row in chosen[:max_rows]}
        chosen = [row for row in chosen if row.output in keep]
    for row in chosen:
        cells = [str(row.depth), _ellipsis(row.node, 28), _ellipsis(row.op_type, 18), _shape_str(row.shape)]
        if len(results) == 1:
            mark = f"  <- #{ranks[0][row.output]}" if row.output in ranks[0] else ""
            cells += [_fmt_cos(row.cosine), _fmt(row.rel_l2, ".3g"), _fmt(row.snr_db, ".1f"),
                      _fmt(row.growth_db, "+.1f") + mark, "; ".join(row.flags)]
        else:
            for lookup, rank in zip(lookups, ranks):
                other = lookup.get(row.output)
                if other is None:
                    cells += ["-", "-"]
                else:
                    mark = f" #{rank[row.output]}" if row.output in rank else ""
                    cells += [_fmt_cos(other.cosine), _fmt(other.growth_db, "+.1f") + mark]
        if ratio:
            nv12_row = lookups[by_kind["nv12"]].get(row.output)
            noise_row = lookups[by_kind["noise"]].get(row.output)
            if nv12_row is None or noise_row is None:
                cells.append("-")
            else:
                a, b = 1 - nv12_row.cosine, 1 - noise_row.cosine
                cells.append(_fmt(a / b, ".2f") if b > 0 and math.isfinite(a) and math.isfinite(b) else "-")
        lines.append(cells)
    widths = [max(len(header[i]), *(len(cells[i]) for cells in lines)) if lines else len(header[i])
              for i in range(len(header))]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip() for cells in lines]
    hidden = len(first.rows) - len(chosen)
    if hidden:
        out.append(f"... {hidden} more rows (pass max_rows=None for all)")
    return "\n".join(out)


def _csv_text(results: Sequence[LayerDivergence]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["compare", "depth", "node", "op_type", "output", "shape", "cosine", "cosine_min", "rel_l2",
                     "snr_db", "input_cosine", "growth_db", "culprit_rank", "is_output", "flags"])
    for result in results:
        ranks = {row.output: rank for rank, row in enumerate(result.culprits(5), 1)}
        for row in result.rows:
            writer.writerow([
                result.compare, row.depth, row.node, row.op_type, row.output, _shape_str(row.shape),
                repr(row.cosine), repr(row.cosine_min), repr(row.rel_l2), repr(row.snr_db), repr(row.input_cosine),
                repr(row.growth_db), ranks.get(row.output, ""), int(row.is_output), "; ".join(row.flags),
            ])
    return buffer.getvalue()


# ----------------------------------------------------------------------------
# the graph
# ----------------------------------------------------------------------------
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


# Stack the clean and the NV12 image into one run when the graph allows it (tests switch it off to compare).
_STACK_IMAGES = True
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


# ----------------------------------------------------------------------------
# running a graph segment by segment
# ----------------------------------------------------------------------------
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
        import onnxruntime as ort

        try:
            session = ort.InferenceSession(proto.SerializeToString(), sess_options=session_options,
                                           providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise ModelError(
                f"onnxruntime cannot load the {what} nodes {self.span(members)}: {type(exc).__name__}: {exc}"
            ) from exc
        return _Segment(session, inputs, outputs)

    def span(self, members: Sequence[int]) -> str:
        labels = [self.graph.labels[i] for i in members]
        return repr(labels[0]) if len(labels) == 1 else f"{labels[0]!r} to {labels[-1]!r}"


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
        if k == 0 and self.feeds[r] is not None:
            feed = self.feeds[r]
            live.update(feed() if callable(feed) else feed)
            self.feeds[r] = None
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


# ----------------------------------------------------------------------------
# metrics, in blocks
# ----------------------------------------------------------------------------
class _Scratch:
    """Three work buffers per dtype for the metrics, reused by every tensor pair of one call.

    At most ``_BLOCK`` values each: allocating fresh buffers for every
    tensor cost about as much as the sums themselves.
    """

    __slots__ = ("buffers",)

    def __init__(self) -> None:
        self.buffers: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def get(self, n: int, dtype: Any = np.float64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        dtype = np.dtype(dtype)
        held = self.buffers.get(dtype.str)
        if held is None or held[0].size < n:
            held = (np.empty(n, dtype), np.empty(n, dtype), np.empty(n, dtype))
            self.buffers[dtype.str] = held
        return held[0][:n], held[1][:n], held[2][:n]


#: Below this ratio of the smaller to the larger squared norm, <a,b> is summed directly (see _sums).
_POLAR_MIN = 1e-4


def _block_sums(x: np.ndarray, y: np.ndarray, d: np.ndarray) -> tuple[float, float, float]:
    """|x|^2, |y|^2 and |y-x|^2 of one block; ``d`` is scratch of the blocks' dtype."""
    np.subtract(y, x, out=d)
    return float(np.einsum("i,i->", x, x)), float(np.einsum("i,i->", y, y)), float(np.einsum("i,i->", d, d))


def _sums(ref: np.ndarray, test: np.ndarray, scratch: _Scratch | None = None) -> tuple[float, float, float, float]:
    """<a,b>, |a|^2, |b|^2, |b-a|^2, summed over blocks of at most ``_BLOCK`` values and added in float64.

    The three squared norms are summed; ``<a,b> = (|a|^2 + |b|^2 - |b-a|^2) / 2``
    then saves a fourth pass. That is exact algebra, and for near-equal
    tensors it is the accurate form: a relative error e in ``|a|^2`` or
    ``|b|^2`` moves the cosine by only about ``e * (1 - cos)``, and
    ``|b-a|^2`` is summed from the difference itself, so ``1 - cos``, the
    relative L2 and the SNR keep the accuracy of that sum. That is why
    float32 tensors are summed in float32 (numpy's einsum: within 4e-7 over
    a million values, measured against float64), without float64 copies:
    2.3 times faster on the demo model's tensors. A block whose float32
    sums overflow is summed again in float64. When one norm is far smaller
    than the other, <a,b> is summed directly. einsum, not np.dot: np.dot
    hands vectors of more than 10k elements to OpenBLAS's thread pool
    (measured 1.5 CPU seconds per second), which competes with onnxruntime
    and with the other users of a shared machine.
    """
    scratch = scratch if scratch is not None else _Scratch()
    a, b = ref.reshape(-1), test.reshape(-1)
    native = a.dtype == b.dtype and a.dtype in (np.float32, np.float64)
    aa = bb = dd = 0.0

    def widened(start: int, stop: int, dtype: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x, y, d = scratch.get(stop - start, dtype)
        np.copyto(x, a[start:stop], casting="unsafe")  # float16/32 -> float32/64 is exact
        np.copyto(y, b[start:stop], casting="unsafe")
        return x, y, d

    for start in range(0, a.size, _BLOCK):
        stop = min(start + _BLOCK, a.size)
        if native:
            x, y, d = a[start:stop], b[start:stop], scratch.get(stop - start, a.dtype)[2]
        else:
            x, y, d = widened(start, stop, np.float32)
        sums = _block_sums(x, y, d)
        if not all(map(math.isfinite, sums)) and x.dtype != np.float64:
            sums = _block_sums(*widened(start, stop, np.float64))  # float32 squares overflowed, or NaN/Inf
        aa, bb, dd = aa + sums[0], bb + sums[1], dd + sums[2]
    small, large = min(aa, bb), max(aa, bb)
    if small >= _POLAR_MIN * large:  # also False for NaN, which the caller flags
        return (aa + bb - dd) / 2, aa, bb, dd
    dot = 0.0
    for start in range(0, a.size, _BLOCK):
        stop = min(start + _BLOCK, a.size)
        x, y, _ = widened(start, stop, np.float64)
        dot += float(np.einsum("i,i->", x, y))
    return dot, aa, bb, dd


def _pair_metrics(ref: np.ndarray, test: np.ndarray,
                  scratch: _Scratch | None = None) -> tuple[float, float, float, list[str]]:
    """(cosine, relative L2, SNR dB, flags) of one clean/perturbed pair."""
    flags: list[str] = []
    if ref.shape != test.shape:
        return math.nan, math.nan, math.nan, [f"shape changed: {ref.shape} -> {test.shape}"]
    dot, aa, bb, dd = _sums(ref, test, scratch)
    # float32 squares cannot overflow float64, so a non-finite sum means NaN/Inf inputs; count them only then
    if not (math.isfinite(aa) and math.isfinite(bb)):
        for name, array in (("clean", ref), ("perturbed", test)):
            count = int(array.size - np.count_nonzero(np.isfinite(array)))
            if count:
                flags.append(f"{count} NaN/Inf values in the {name} run")
        if not flags:  # float64 tensors with huge values
            flags.append("the squared norm overflows float64")
        return math.nan, math.nan, math.nan, flags
    if aa == 0 and bb == 0:
        return 1.0, 0.0, math.inf, ["all zeros in both runs"]
    if aa == 0:
        return 0.0, math.inf, -math.inf, ["all zeros in the clean run (zero norm): cosine set to 0"]
    if bb == 0:
        flags.append("all zeros in the perturbed run (zero norm): cosine set to 0")
        cosine = 0.0
    else:
        cosine = max(-1.0, min(1.0, dot / math.sqrt(aa * bb)))
    rel = math.sqrt(dd / aa)
    snr = math.inf if dd == 0 else 10 * math.log10(aa / dd)
    return cosine, rel, snr, flags


class _Accumulator:
    """Mean (and worst cosine) over the trials of one tensor."""

    __slots__ = ("count", "cos", "cos_min", "rel", "snr", "flags", "shape")

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.count = 0
        self.cos = self.rel = self.snr = 0.0
        self.cos_min = math.inf
        self.flags: dict[str, None] = {}
        self.shape = shape

    def add(self, ref: np.ndarray, test: np.ndarray, scratch: _Scratch | None = None) -> None:
        cos, rel, snr, flags = _pair_metrics(ref, test, scratch)
        self.count += 1
        self.cos += cos
        self.rel += rel
        self.snr += snr
        self.cos_min = min(self.cos_min, cos) if not math.isnan(cos) else math.nan
        self.flags.update(dict.fromkeys(flags))

    def fail(self, reason: str) -> None:
        self.count += 1
        self.cos = self.rel = self.snr = self.cos_min = math.nan
        self.flags[reason] = None

    def means(self) -> tuple[float, float, float, float]:
        n = max(self.count, 1)
        return self.cos / n, self.cos_min, self.rel / n, self.snr / n


def _nbytes(values: Mapping[str, Any]) -> int:
    """Bytes of the arrays in a dict, counting a tensor held under two names once."""
    seen: dict[int, int] = {}
    for value in values.values():
        if isinstance(value, np.ndarray):
            seen[id(value)] = value.nbytes
    return sum(seen.values())


def _divergence(cosine: float) -> float:
    """1 - cosine, with non-finite similarities counted as maximally divergent."""
    return 2.0 if not math.isfinite(cosine) else max(0.0, 1.0 - cosine)


# ----------------------------------------------------------------------------
# inputs
# ----------------------------------------------------------------------------
def _check_int(value: Any, name: str, *, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low or (
            high is not None and value > high):
        span = f">= {low}" if high is None else f"in {low}..{high}"
        raise InputError(f"{name} must be an integer {span}, got {value!r}")
    return int(value)


def _normalise(preprocess: Preprocess, pixels: np.ndarray) -> np.ndarray:
    """``preprocess(pixels)`` (uint8) or ``preprocess.normalize_pixels(pixels)`` (floats), bit for bit.

    For RGB/BGR the same three float32 steps run channel by channel straight
    into the output layout: 4x faster than Preprocess's whole-image path on
    a 128x128 frame (0.04 vs 0.17 ms), which matters when the forward pass
    takes 0.3 ms. A test holds both paths equal.
    """
    if preprocess.order not in ("rgb", "bgr") or pixels.ndim != 3 or pixels.shape[2] != 3:
        return preprocess(pixels) if pixels.dtype == np.uint8 else preprocess.normalize_pixels(pixels)
    height, width = pixels.shape[:2]
    channels_first = preprocess.layout == "NCHW"
    out = np.empty((1, 3, height, width) if channels_first else (1, height, width, 3), np.float32)
    divisor = np.float32(preprocess.divisor)
    for c in range(3):
        source = pixels[..., 2 - c if preprocess.order == "bgr" else c]
        target = out[0, c] if channels_first else out[0, ..., c]
        np.divide(source, divisor, out=target, dtype=np.float32)
        np.subtract(target, np.float32(preprocess.mean[c]), out=target)
        np.divide(target, np.float32(preprocess.std[c]), out=target)
    return out


def _to_input(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if x.dtype == dtype:
        return x
    if np.issubdtype(dtype, np.integer):
        return np.rint(x).astype(dtype)
    return x.astype(dtype)


def _model_label(model: Any) -> str:
    if isinstance(model, onnx.ModelProto):
        return model.graph.name or "ModelProto"
    return str(model)


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


#: Models with fewer weight bytes than this run on one ORT thread: starting and joining a thread pool for each
#: segment session costs more than a second thread saves on them (bench_layers.py).
SINGLE_THREAD_WEIGHTS = 4 << 20


def _session_options(session_options: Any, model: onnx.ModelProto) -> Any:
    if session_options is not None:
        return session_options
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Between runs numpy computes the metrics; spinning ORT threads would steal its cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # Each segment session runs only a few times: plain malloc returns its memory when the session goes,
    # where an arena would keep its high-water mark (bench_layers.py measures the RSS).
    options.enable_cpu_mem_arena = False
    weights = sum(len(t.raw_data) or 4 * int(np.prod(t.dims, dtype=np.int64)) for t in model.graph.initializer)
    if weights < SINGLE_THREAD_WEIGHTS:
        options.intra_op_num_threads = 1
    options.log_severity_level = 3
    return options


# ----------------------------------------------------------------------------
# the model cache: graph analysis and segment sessions, per model content
# ----------------------------------------------------------------------------
#: Models whose analysis and sessions are kept between calls; the least recently used goes first.
_CACHE_MODELS = 4

#: Serialized model bytes the cache holds at most, all models together; a bigger model is never cached.
_CACHE_BYTES = 128 << 20

_PLANS_PER_MODEL = 2  # chunkings kept per model: nv12/noise share one, "quantized" needs another
# Plans of more segments than this free each session after its step even when cached: dozens of live sessions
# interleave their small allocations with the freed tensors and fragment the heap (measured on the 100-node chain
# of test_layers at chunk_size=4: peak RSS +108 MiB instead of +12 MiB; malloc_trim gave it back, so it was
# fragmentation, not memory held). Big graphs are the ones that need the bound.
_KEEP_SEGMENTS = 4
_EXACT_KEY_BYTES = 16 << 20  # ModelProtos up to this size are keyed by their bytes (compared exactly), else SHA-256


class _Model:
    """One model's content and what is derived from it alone: types, graph, candidates, plans, sessions.

    Everything here depends only on the model's bytes (and on the image
    input's name, the chunking and the input types, which are part of the
    keys), never on the image or the comparison, so calls that share the
    model share it.
    """

    def __init__(self, proto: onnx.ModelProto, key: tuple[Any, ...] | None, nbytes: int,
                 files: tuple[tuple[str, tuple[int, ...] | None], ...] = ()) -> None:
        self.proto = proto
        self.key = key
        self.nbytes = nbytes
        self.files = files  # external data files and their stat signatures, for a model read from a path
        self._graph: _Graph | None = None
        self._specs: dict[tuple[Any, ...], ImageInputSpec] = {}
        self._candidates: dict[str, tuple[tuple[tuple[str, int, str, str], ...], tuple[SkippedNode, ...]]] = {}
        self._plans: dict[tuple[tuple[str, ...], ...], _Plan] = {}
        self._options: Any = None
        self._lock = threading.Lock()

    @property
    def graph(self) -> _Graph:
        if self._graph is None:
            self._graph = _Graph(self.proto)
        return self._graph

    def spec(self, input_name: str | None, layout: Any) -> ImageInputSpec:
        key = (input_name, layout)
        spec = self._specs.get(key)
        if spec is None:
            spec = self._specs[key] = ImageInputSpec.from_model(self.proto, input_name, layout=layout)
        return spec

    def candidates(self, image: str) -> tuple[list[tuple[str, int, str, str]], list[SkippedNode]]:
        """The tensors to compare (in topological order) and the skipped ones; fresh lists for the caller."""
        found = self._candidates.get(image)
        if found is None:
            compared, skipped = _candidates(self.graph, image)
            found = self._candidates[image] = (tuple(compared), tuple(skipped))
        return list(found[0]), list(found[1])

    def plan(self, chunks: Sequence[Sequence[str]]) -> _Plan:
        key = tuple(tuple(chunk) for chunk in chunks)
        with self._lock:
            plan = self._plans.pop(key, None)
            if plan is None:
                plan = _Plan(self.graph, chunks)
            self._plans[key] = plan  # most recently used last
            while len(self._plans) > _PLANS_PER_MODEL:
                del self._plans[next(iter(self._plans))]
        return plan

    def options(self) -> Any:
        if self._options is None:
            self._options = _session_options(None, self.proto)
        return self._options


_CACHE: list[_Model] = []  # most recently used last
_CACHE_LOCK = threading.Lock()


def clear_cache() -> None:
    """Forget every model :func:`layer_divergence` has cached, and free their sessions.

    :func:`layer_divergence` keeps, for the 4 models it saw last (at most
    128 MiB of serialized model together; a bigger model is not cached),
    the graph analysis and the onnxruntime sessions of the graph's
    segments, so that another call on the same model (the triage's noise
    comparison after its NV12 one, a notebook widget) does not build them
    again. Entries are keyed by the model's content: a ``ModelProto`` by
    its serialized bytes, a path by the size, modification time and inode
    of the file and of its external data files, so a changed model is never
    served from the cache. Only the default session options are cached
    with; sessions built with ``session_options=`` are freed after the call.

    Call this to release the memory (each cached model holds about two
    copies of its weights: the parsed model and its sessions), or after
    rewriting a model file in place with the same size within the file
    system's timestamp resolution.

    Examples
    --------
    >>> from nv12kit.layers import clear_cache
    >>> clear_cache()
    """
    with _CACHE_LOCK:
        _CACHE.clear()


def _cache_get(key: tuple[Any, ...]) -> _Model | None:
    with _CACHE_LOCK:
        for i, entry in enumerate(_CACHE):
            if entry.key == key and all(_stat_signature(path) == sig for path, sig in entry.files):
                _CACHE.append(_CACHE.pop(i))
                return entry
    return None


def _cache_put(entry: _Model) -> None:
    with _CACHE_LOCK:
        _CACHE[:] = [other for other in _CACHE if other.key != entry.key]
        _CACHE.append(entry)
        while len(_CACHE) > _CACHE_MODELS or sum(e.nbytes for e in _CACHE) > _CACHE_BYTES:
            _CACHE.pop(0)


def _stat_signature(path: str) -> tuple[int, ...] | None:
    """What changes when a file is rewritten: device, inode, size, modification and change times.

    None for anything but an existing regular file.
    """
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _cached_model(model: Any) -> tuple[_Model, bool]:
    """The cache entry for ``model`` (a path or a ModelProto), built and stored on a miss.

    A model that cannot be keyed cheaply and safely (too big, unserializable,
    a file that changed while it was read) is returned uncached (``key`` None).
    The flag says whether the entry was found in the cache.
    """
    if isinstance(model, onnx.ModelProto):
        try:
            data = model.SerializeToString()
        except Exception:  # e.g. over protobuf's 2 GiB limit: analyse it afresh
            return _Model(load_model(model), None, 0), False
        if len(data) > _CACHE_BYTES:
            return _Model(load_model(model), None, 0), False
        if len(data) <= _EXACT_KEY_BYTES:
            key: tuple[Any, ...] = ("proto", data)
        else:
            key = ("proto-sha256", len(data), hashlib.sha256(data).digest())
        entry = _cache_get(key)
        if entry is not None:
            return entry, True
        load_model(model)  # its checks (e.g. external data not loaded) run on a miss; equal bytes passed them
        # a private copy: the caller may change their ModelProto after this call
        entry = _Model(onnx.ModelProto.FromString(data), key, len(data))
        _cache_put(entry)
        return entry, False
    if isinstance(model, (str, os.PathLike)):
        path = os.path.abspath(os.fspath(model))
        before = _stat_signature(path)
        if before is None or before[2] > _CACHE_BYTES:  # missing (load_model says so) or too big to keep
            return _Model(load_model(model), None, 0), False
        key = ("path", path, before)
        entry = _cache_get(key)
        if entry is not None:
            return entry, True
        # external data files are part of the content: their signatures, taken before reading, are checked on
        # every hit; a file that changes while being read leaves the model uncached
        try:
            locations = _external_locations(onnx.load(path, load_external_data=False))
        except Exception:  # unreadable: load_model below raises the explained error
            locations = None
        folder = os.path.dirname(path)
        files = tuple((os.path.join(folder, loc), _stat_signature(os.path.join(folder, loc)))
                      for loc in dict.fromkeys(locations or ()))
        proto = load_model(model)
        nbytes = proto.ByteSize()
        unchanged = _stat_signature(path) == before and all(_stat_signature(f) == sig for f, sig in files)
        if locations is None or not unchanged or nbytes > _CACHE_BYTES:
            return _Model(proto, None, 0), False
        entry = _Model(proto, key, nbytes, files)
        _cache_put(entry)
        return entry, False
    return _Model(load_model(model), None, 0), False  # load_model names the wrong type


def _stream(entry: _Model, chunks: Sequence[Sequence[str]], feeds: Sequence[Any], session_options: Any,
            what: str) -> _Stream:
    """A stream over the model's (cached) plan; its sessions are kept when the cache may own them."""
    plan = entry.plan(chunks)
    # only sessions built with the default options, which the cache owns, and only for a few segments
    keep = session_options is None and entry.key is not None and sum(1 for s in plan.segments if s) <= _KEEP_SEGMENTS
    options = entry.options() if session_options is None else session_options
    return _Stream(plan, feeds, session_options=options, what=what, keep_sessions=keep)


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


def _progress(items: Sequence[int], *, enabled: bool) -> Any:
    if not enabled or len(items) < 2:
        return items
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return items
    return tqdm(items, desc="layer divergence", unit="segment", leave=False)


# ----------------------------------------------------------------------------
# the function
# ----------------------------------------------------------------------------
def layer_divergence(
    model: Any,
    image: Any,
    *,
    preprocess: Preprocess,
    convention: str | Convention = "horizon",
    compare: str = "nv12",
    amplitude: float = 2,
    trials: int = 5,
    seed: int = 0,
    input_name: str | None = None,
    quantized_model: Any = None,
    calibration_images: Any = None,
    extra_inputs: Mapping[str, Any] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    session_options: Any = None,
    name: str | None = None,
    progress: bool = True,
) -> LayerDivergence:
    """Compare every intermediate tensor of a float model between a clean and a perturbed input.

    Parameters
    ----------
    model : str, os.PathLike or onnx.ModelProto
        The float model. A path is read with its external data; the model
        is never modified (segments are built from copies).
    image : path, PIL image or (H, W, 3) uint8 array
        One RGB frame. It is resized (bilinear) to the model's size when the
        model's height and width are static and differ.
    preprocess : Preprocess
        The model's normalisation; the clean input is ``preprocess(rgb)``.
    convention : str or Convention, optional
        NV12 convention for ``compare="nv12"`` (default ``"horizon"``).
    compare : {"nv12", "noise", "quantized"}, optional
        ``"nv12"``: the input after an RGB -> NV12 -> RGB round trip, which
        is what the NV12 node hands the network. ``"noise"``: ``trials``
        inputs with real-valued noise uniform on ``[-amplitude, amplitude)``
        pixel values, clipped to 0-255 and not rounded, metrics averaged;
        trial ``t`` adds :func:`nv12kit.noise.trial_noise` ``(..., seed=seed,
        trial=t)``, the noise trial ``t`` of the triage's noise study adds. ``"quantized"``:
        the clean input through the int8 QDQ model.
    amplitude : int, optional
        Noise amplitude in pixel values, 1 to 255 (``"noise"`` only).
    trials : int, optional
        Noise draws (``"noise"`` only).
    seed : int, optional
        Seed of the noise.
    input_name : str, optional
        The image input, if the model has several candidates.
    quantized_model : str, os.PathLike or onnx.ModelProto, optional
        The QDQ model of the feat variant for ``"quantized"``. Built with
        :func:`nv12kit.quantize` when not given.
    calibration_images : images or a folder, optional
        Calibration frames for building the quantized model; the compared
        image alone when not given (a note says so).
    extra_inputs : mapping, optional
        Values for the model's other inputs, the same in every run.
    chunk_size : int, optional
        Compared tensors per graph segment. Smaller bounds memory more
        tightly at the cost of building more (small) sessions.
    session_options : onnxruntime.SessionOptions, optional
        For the segment sessions (threads, optimisation level). By default
        all graph optimisations, no thread spinning, no memory arena, one intra-op thread
        for models with less than :data:`SINGLE_THREAD_WEIGHTS` bytes of
        weights (ORT's default thread count for bigger ones).
    name : str, optional
        The model's name in reports; by default its path, or the graph name
        of a ModelProto.
    progress : bool, optional
        Show a progress bar over segments (``tqdm.auto``, when installed).

    Returns
    -------
    LayerDivergence

    Raises
    ------
    InputError
        A bad ``compare``, ``amplitude``, ``trials``, ``chunk_size``,
        ``preprocess`` or image, or missing extra inputs.
    ConventionError
        An unknown convention.
    ModelError
        The model cannot be read or run, or the quantized model does not
        take the float model's inputs.

    Notes
    -----
    What is compared. Every output of every node of the main graph that
    depends on the image and is a floating-point tensor, plus the image
    input itself (depth 0), so the first row is the input's own loss.
    Skipped, each with its reason in :attr:`LayerDivergence.skipped`:
    nodes inside control-flow bodies (``If``/``Loop``/``Scan``; their node's
    outputs are compared), non-float outputs (shapes, indices, masks),
    nodes that do not depend on the image (constants), and, for
    ``"quantized"``, tensors the QDQ model has no counterpart for.

    For ``"quantized"`` a float tensor ``t`` is compared with the QDQ
    model's ``t_DequantizeLinear_Output`` (the quantised value the next
    layer reads) when it exists, else with the tensor of the same name.
    onnxruntime fuses Conv + BatchNormalization + Relu before quantising,
    so the Conv and BatchNormalization outputs of such a chain have no
    counterpart; the Relu output carries the fused node's result.

    Cosine, relative L2 and SNR come from sums over the whole tensor, taken
    in its float32 and added in float64 (``1 - cosine`` within a few 1e-7
    relative). NaN/Inf values and all-zero tensors are flagged on the row.
    For ``compare="nv12"`` the clean and the NV12 image run as one batch of
    two when ONNX shape inference shows each image keeps its own slice of
    every tensor (``settings["stacked_runs"]``).

    Repeated calls. The graph analysis (topological order, inferred types,
    what is compared) and, with the default ``session_options``, the
    onnxruntime sessions of up to 4 segments are cached per model content
    for the 4 models used last (128 MiB of model at most; bigger models are
    not cached). A ``ModelProto`` is keyed by its serialized bytes, so one
    changed after a call is analysed afresh; a path by its file's (and
    external data files') size, modification time and inode. On the demo
    model a second call takes about half the time of the first.
    :func:`clear_cache` frees it all.
    """
    started = time.perf_counter()
    model_name = str(name) if name is not None else _model_label(model)
    if compare not in COMPARE_MODES:
        raise InputError(f"compare must be one of {list(COMPARE_MODES)}, got {compare!r}")
    if not isinstance(preprocess, Preprocess):
        raise InputError(
            f"preprocess must be an nv12kit.Preprocess, got {type(preprocess).__name__}; e.g. "
            "Preprocess(mean=128, std=128), Preprocess.from_torch(mean, std) or Preprocess.from_model(path)"
        )
    chunk_size = _check_int(chunk_size, "chunk_size", low=1)
    conv = get_convention(convention) if compare == "nv12" else None
    if compare == "noise":
        amplitude = _check_int(amplitude, "amplitude", low=1, high=255)
        trials = _check_int(trials, "trials", low=1)
        seed = _check_int(seed, "seed", low=0)
    if quantized_model is not None and compare != "quantized":
        raise InputError(f"quantized_model is only used with compare='quantized' (compare is {compare!r})")
    if calibration_images is not None and compare != "quantized":
        raise InputError(f"calibration_images is only used with compare='quantized' (compare is {compare!r})")

    from .images import load_image, resize_to

    entry, hit = _cached_model(model)
    cache_state = "not cached" if entry.key is None else "hit" if hit else "miss"
    source = entry.proto
    spec = entry.spec(input_name, preprocess.layout)
    rgb = load_image(image)
    notes: list[str] = []
    size = spec.static_size
    if size is not None and rgb.shape[:2] != size:
        notes.append(f"the image ({rgb.shape[0]}x{rgb.shape[1]}) was resized to the model's {size[0]}x{size[1]}")
        rgb = resize_to(rgb, size[0], size[1])
    extras = dict(extra_inputs or {})
    missing = [name for name in spec.other_inputs if name not in extras]
    unknown = [name for name in extras if name not in spec.other_inputs]
    if missing or unknown:
        raise InputError(
            f"extra_inputs must give exactly the model's other inputs {list(spec.other_inputs)}"
            + (f"; missing {missing}" if missing else "") + (f"; unknown {unknown}" if unknown else "")
        )
    dtype = spec.numpy_dtype()

    def feed(pixels: np.ndarray) -> dict[str, Any]:
        return {spec.name: _to_input(_normalise(preprocess, pixels), dtype), **extras}

    graph = entry.graph
    graph_outputs = set(graph.outputs)
    # what to compare, in topological order; the rest is skipped with a reason
    candidates, skipped = entry.candidates(spec.name)

    settings: dict[str, Any] = {
        "model": model_name,
        "input": str(spec),
        "image_size": [int(rgb.shape[0]), int(rgb.shape[1])],
        "preprocess": preprocess.to_dict(),
        "compare": compare,
        "chunk_size": chunk_size,
        "model_cache": cache_state,
    }
    clean = feed(rgb)
    qgraph = None
    if conv is not None:
        perturbed = [feed(nv12_to_rgb(rgb_to_nv12(rgb, convention=conv), convention=conv))]
        label = f"nv12 ({conv.name})"
        settings["convention"] = conv.name
    elif compare == "noise":
        perturbed = [functools.partial(lambda t: feed(perturb_trial(rgb, amplitude, seed=seed, trial=t)), t)
                     for t in range(trials)]
        label = f"noise ±{amplitude} (mean of {trials})"
        settings.update(amplitude=amplitude, trials=trials, seed=seed, distribution="symmetric")
    else:
        qentry, qnote = _quantized_source(quantized_model, source, rgb, preprocess, spec, calibration_images,
                                          extras, progress)
        if qnote:
            notes.append(qnote)
        qgraph = qentry.graph
        if sorted(qgraph.inputs) != sorted(graph.inputs):
            raise ModelError(
                f"the quantized model takes {qgraph.inputs} but the float model takes {graph.inputs}; pass the "
                "quantized feat variant (nv12kit.quantize(model, images, preprocess=...), without nv12=True)"
            )
        perturbed = [clean]
        label = "int8 QDQ"
        settings["quantized_model"] = _model_label(quantized_model) if quantized_model is not None else "built"

    # for quantized, keep only tensors with a counterpart
    mapping: dict[str, str] = {}
    if qgraph is not None:
        mapping = _quantized_counterparts(qgraph, [c[0] for c in candidates])
        kept = []
        for cand in candidates:
            if cand[0] in mapping:
                kept.append(cand)
            else:
                skipped.append(SkippedNode(cand[2], cand[3], cand[0],
                                           "no counterpart in the quantized model (fused or renamed by quantisation)"))
        candidates = kept

    names = [c[0] for c in candidates]
    chunks = [names[i:i + chunk_size] for i in range(0, len(names), chunk_size)] or [[]]
    # The clean and the NV12 image in one batch of two: one run instead of two (0.55 vs 0.84 ms on the demo
    # model), when shape inference shows that each image's tensors are its own slice of the batch. Only for a
    # graph compared in one segment: in chunks, onnxruntime's arena grows for the batch of two (+7 MiB on
    # test_layers' 100-node chain) and memory, not time, is what chunking is for.
    stacked = (conv is not None and not extras and _STACK_IMAGES and len(chunks) == 1
               and graph.stacks_cleanly(spec.name, names))
    settings["stacked_runs"] = stacked
    if stacked:
        pair = {spec.name: np.concatenate([clean[spec.name], perturbed[0][spec.name]])}
        stream = _stream(entry, chunks, [pair], session_options, "model's")
        tests = [(stream, 0, None)]
        streams = [stream]
    elif qgraph is None:
        stream = _stream(entry, chunks, [clean, *perturbed], session_options, "model's")
        tests = [(stream, r, None) for r in range(1, len(perturbed) + 1)]
        streams = [stream]
    else:
        stream = _stream(entry, chunks, [clean], session_options, "float model's")
        qchunks = [[mapping[n] for n in chunk] for chunk in chunks]
        qstream = _stream(qentry, qchunks, [clean], session_options, "quantized model's")
        tests = [(qstream, 0, mapping)]
        streams = [stream, qstream]
    settings["segments"] = sum(1 for s in stream.segments if s)

    accumulators: dict[str, _Accumulator] = {}
    runtime_skips: dict[str, str] = {}
    scratch = _Scratch()
    peak = 0
    for k in _progress(range(len(chunks)), enabled=progress):
        reference = stream.run(k, 0)
        split: dict[str, Any] = {}
        if stacked:  # row 0 is the clean image, row 1 the NV12 one
            split = {name: value[1:] for name, value in reference.items()}
            reference = {name: value[:1] for name, value in reference.items()}
        usable = []
        for name in chunks[k]:
            value = reference.get(name)
            problem = _value_problem(value)
            if problem:
                runtime_skips[name] = problem
            else:
                usable.append(name)
                accumulators[name] = _Accumulator(tuple(int(d) for d in value.shape))
        for test_stream, r, names_map in tests:
            outputs = split if stacked else test_stream.run(k, r)
            held = _nbytes(reference) + _nbytes(outputs) + sum(_nbytes(live) for s in streams for live in s.live)
            peak = max(peak, held)
            for name in usable:
                test_name = names_map[name] if names_map else name
                test_value = outputs.get(test_name)
                problem = _value_problem(test_value)
                if problem:  # e.g. a quantized counterpart that is not float after all
                    accumulators[name].fail(f"the {test_stream.what} {test_name!r}: {problem}")
                else:
                    accumulators[name].add(reference[name], test_value, scratch)
            del outputs
        del reference
        for s in streams:
            s.close(k)

    rows = _rows(graph, candidates, accumulators, runtime_skips, skipped, spec.name, graph_outputs)
    settings["peak_tensor_bytes"] = peak
    settings["seconds"] = round(time.perf_counter() - started, 4)
    return LayerDivergence(compare, label, tuple(rows), tuple(skipped), settings, tuple(notes))


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


def _value_problem(value: Any) -> str | None:
    if value is None:  # pragma: no cover - every wanted tensor is produced
        return "the runtime did not produce it"
    if not isinstance(value, np.ndarray):
        return f"its output is a {type(value).__name__}, not a tensor"
    if value.dtype.kind != "f":
        return f"its output is {value.dtype}, not floating point; similarity is only defined for floats"
    return None


def _quantized_source(quantized_model: Any, source: onnx.ModelProto, rgb: np.ndarray, preprocess: Preprocess,
                      spec: ImageInputSpec, calibration_images: Any, extras: Mapping[str, Any],
                      progress: bool) -> tuple[_Model, str | None]:
    if quantized_model is not None:
        return _cached_model(quantized_model)[0], None
    from .graph import quantize

    images = calibration_images if calibration_images is not None else [rgb]
    built = quantize(source, images, preprocess=preprocess, input_name=spec.name,
                     extra_inputs=dict(extras) or None, progress=progress)
    note = None
    if calibration_images is None:
        note = ("the int8 model was calibrated on the compared image alone; pass calibration_images= "
                "(real frames) or quantized_model= for the ranges your deployment uses")
    return _Model(built, None, 0), note  # built for this call: not worth a cache slot


def _rows(graph: _Graph, candidates: Sequence[tuple[str, int, str, str]], accumulators: Mapping[str, _Accumulator],
          runtime_skips: Mapping[str, str], skipped: list[SkippedNode], image: str,
          graph_outputs: set[str]) -> list[LayerRow]:
    """Rows in topological order, with each node's growth against what it reads."""
    # (divergence, cosine) of every tensor; skipped tensors inherit what their node was handed
    state: dict[str, tuple[float, float]] = {}
    if image in accumulators:
        cosine = accumulators[image].means()[0]
        state[image] = (_divergence(cosine), cosine)
    handed: list[tuple[float, float] | None] = []
    for node, reads in zip(graph.nodes, graph.uses):
        known = [state[name] for name in reads if name in state]
        base = max(known, key=lambda item: item[0]) if known else None
        handed.append(base)
        for name in node.output:
            if not name:
                continue
            if name in accumulators:
                cosine = accumulators[name].means()[0]
                state[name] = (_divergence(cosine), cosine)
            elif base is not None:
                state[name] = base
    rows = []
    for name, depth, label, op_type in candidates:
        if name in runtime_skips:
            skipped.append(SkippedNode(label, op_type, name, runtime_skips[name]))
            continue
        acc = accumulators[name]
        cosine, cosine_min, rel, snr = acc.means()
        if depth == 0:
            input_cosine, growth = cosine, 0.0
        else:
            base_div, input_cosine = handed[depth - 1] or (0.0, 1.0)
            growth = 10 * math.log10(max(state[name][0], DIVERGENCE_FLOOR) / max(base_div, DIVERGENCE_FLOOR))
        rows.append(LayerRow(depth, label, op_type, name, acc.shape, cosine, cosine_min, rel, snr, input_cosine,
                             growth, tuple(acc.flags), name in graph_outputs))
    return rows


# ----------------------------------------------------------------------------
# command line (wired into nv12kit.cli as ``nv12kit layers``)
# ----------------------------------------------------------------------------
def add_layers_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``nv12kit layers`` to a (sub)parser.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The ``layers`` subparser; :func:`run_layers_command` runs its result.
    """
    from .cli import add_preprocess_arguments
    from .conventions import CONVENTIONS

    parser.add_argument("--model", required=True, help="float ONNX model (only read)")
    parser.add_argument("--image", required=True, help="one image; resized to the model's size if it is fixed")
    parser.add_argument("--input-name", "--input", dest="input_name", default=None,
                        help="image input, if the model has several candidates")
    add_preprocess_arguments(parser)
    parser.add_argument("--compare", nargs="+", choices=COMPARE_MODES, default=["nv12"], metavar="KIND",
                        help="nv12 (round trip), noise (±amplitude, mean over trials) or quantized (int8 QDQ); "
                             "give several, e.g. '--compare nv12 noise', to print them side by side")
    parser.add_argument("--convention", default="horizon", choices=sorted(CONVENTIONS), metavar="NAME",
                        help="NV12 convention for --compare nv12 (default: horizon)")
    parser.add_argument("--amplitude", type=int, default=2, help="noise amplitude in pixel values (default: 2)")
    parser.add_argument("--trials", type=int, default=5, help="noise trials averaged (default: 5)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (default: 0)")
    parser.add_argument("--quantized-model", default=None, help="int8 QDQ feat model for --compare quantized")
    parser.add_argument("--calibration", nargs="+", default=None, metavar="IMAGE_OR_FOLDER",
                        help="calibration images when the int8 model is built here (default: the image)")
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE,
                        help=f"tensors compared per graph segment; lower bounds memory (default: {DEFAULT_CHUNK_SIZE})")
    parser.add_argument("--top", type=int, default=5, help="culprits to name (default: 5)")
    parser.add_argument("--max-rows", type=int, default=None, help="print at most this many rows (culprits always)")
    parser.add_argument("--json", default=None, metavar="FILE", help="write every result as JSON")
    parser.add_argument("--csv", default=None, metavar="FILE", help="write one line per tensor and comparison")
    parser.add_argument("--png", default=None, metavar="FILE", help="write the similarity-vs-depth figure")


def run_layers_command(args: argparse.Namespace) -> int:
    """Run ``nv12kit layers``: print the table, write JSON/CSV/PNG; 0 on success, 2 on bad input."""
    from pathlib import Path

    from .cli import preprocess_from_args

    try:
        model_path = Path(args.model)
        protected = {p.resolve() for p in (model_path, Path(args.image)) if p.exists()}
        for option in ("json", "csv", "png"):
            target = getattr(args, option)
            if target is not None and Path(target).exists() and Path(target).resolve() in protected:
                raise InputError(f"--{option} {target} is an input file; choose another path")
        _check_int(args.top, "--top", low=1)
        if args.max_rows is not None:
            _check_int(args.max_rows, "--max-rows", low=1)
        model = load_model(model_path)
        pre = preprocess_from_args(args, model)
        calibration = None
        if args.calibration:
            from .images import image_files

            calibration = []
            for item in args.calibration:
                calibration += image_files(item) if Path(item).is_dir() else [item]
        results = []
        for kind in dict.fromkeys(args.compare):
            results.append(layer_divergence(
                model, args.image, preprocess=pre, convention=args.convention, compare=kind,
                amplitude=args.amplitude, trials=args.trials, seed=args.seed, input_name=args.input_name,
                quantized_model=args.quantized_model if kind == "quantized" else None,
                calibration_images=calibration if kind == "quantized" else None,
                chunk_size=args.chunk_size, name=str(model_path), progress=sys.stderr.isatty(),
            ))
        for result in results:
            print(result.summary(k=args.top).replace("LayerDivergence: ", "", 1))
            print()
        print(format_layer_table(*results, max_rows=args.max_rows, k=args.top))
        skipped = sum(len(r.skipped) for r in results)
        if skipped:
            print(f"\nskipped {len(results[0].skipped)} nodes/outputs, e.g.:")
            for s in results[0].skipped[:5]:
                print(f"  {s.node} ({s.op_type}) {s.output}: {s.reason}")
        if args.json:
            document = {"schema": "nv12kit.layers", "version": 1, "comparisons": [r.to_dict() for r in results]}
            atomic_write(args.json, (json.dumps(document, indent=2, allow_nan=False) + "\n").encode("utf-8"))
            print(f"JSON written to {args.json}")
        if args.csv:
            atomic_write(args.csv, _csv_text(results).encode("utf-8"))
            print(f"CSV written to {args.csv}")
        if args.png:
            _write_png(results, args.png, culprits=args.top)
            print(f"figure written to {args.png}")
    except NV12KitError as exc:
        print(f"nv12kit layers: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _write_png(results: Sequence[LayerDivergence], path: str, *, culprits: int) -> None:
    from ._io import atomic_path

    try:
        from ._plot_layers import plot_layer_divergence
    except ImportError as exc:
        raise InputError(f"--png needs matplotlib ({exc}); pip install 'nv12kit[notebooks]'") from exc
    figure = plot_layer_divergence(results[0], others=list(results[1:]), culprits=culprits)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=120)
