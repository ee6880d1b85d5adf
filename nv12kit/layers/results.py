"""Result types of :func:`~nv12kit.layers.layer_divergence` and their text, HTML, CSV and JSON.

:class:`LayerRow` (one compared tensor), :class:`SkippedNode` (one that was
not compared, and why), :class:`LayerDivergence` (the whole comparison, with
its culprits) and :func:`format_layer_table`; also the constants that the
entry point, the figure and the command line share. Light on purpose (numpy
only, no onnx): the command line builds its parser from these constants.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._io import atomic_write, jsonable
from .._util import format_cosine, format_number
from ..errors import InputError
from .constants import CULPRIT_LOSS_FLOOR, CULPRIT_MIN_DB, CULPRIT_RULE

_SCHEMA = "nv12kit.layer_divergence"


def check_int(value: Any, name: str, *, low: int, high: int | None = None) -> int:
    """``value`` as an int if it is an integer (not a bool) from ``low`` to ``high``, else an :class:`InputError`.

    The argument check of :func:`~nv12kit.layers.layer_divergence` and ``nv12kit layers``.

    >>> check_int(3, "trials", low=1)
    3
    >>> check_int(0, "chunk_size", low=1)
    Traceback (most recent call last):
    ...
    nv12kit.errors.InputError: chunk_size must be an integer >= 1, got 0
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low or (
            high is not None and value > high):
        span = f">= {low}" if high is None else f"in {low}..{high}"
        raise InputError(f"{name} must be an integer {span}, got {value!r}")
    return int(value)


def culprit_score(cosine: float, input_cosine: float, *, loss_floor: float = CULPRIT_LOSS_FLOOR) -> float:
    """How much a node adds to the divergence, in dB, counting only loss above an absolute floor.

    ``10 log10((1 - cosine + loss_floor) / (1 - input_cosine + loss_floor))``. Far above the floor this is
    the node's growth (:attr:`LayerRow.growth_db`); far below it, it is about 0 however large the
    ratio, so a node must both grow the divergence and lose something to score. Non-finite cosines
    count as maximally divergent (``1 - cosine`` = 2).

    Parameters
    ----------
    cosine : float
        Similarity at the node's output.
    input_cosine : float
        The worst similarity among the tensors it reads.
    loss_floor : float, optional
        The absolute ``1 - cosine`` under which growth does not count (default 1e-4: cosine 0.9999).

    Returns
    -------
    float
        The score in dB.

    Examples
    --------
    An ``Add`` taking an exact tensor to cosine 0.999998 grows by +63 dB but scores almost nothing;
    a ``Conv`` taking 0.999 to 0.99 scores about its growth:

    >>> round(culprit_score(0.999998, 1 - 1e-12), 2), round(culprit_score(0.99, 0.999), 2)
    (0.09, 9.63)
    """
    def loss(value: float) -> float:
        return 2.0 if not math.isfinite(value) else max(0.0, 1.0 - value)

    return 10 * math.log10((loss(cosine) + loss_floor) / (loss(input_cosine) + loss_floor))


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
        attenuate. On its own it misleads near cosine 1 (1.0 -> 0.999998 is
        +63 dB), so culprits are ranked by :attr:`score` instead.
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

    @property
    def score(self) -> float:
        """The culprit score in dB: growth counted above an absolute loss of 1e-4 (see :func:`culprit_score`)."""
        return culprit_score(self.cosine, self.input_cosine)

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
            "score": _finite_or_none(self.score),
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

    @property
    def rule(self) -> str:
        """How :meth:`culprits` ranks, in one line (:data:`~nv12kit.layers.CULPRIT_RULE`)."""
        return CULPRIT_RULE

    def culprits(self, k: int = 5, *, min_db: float = CULPRIT_MIN_DB,
                 loss_floor: float = CULPRIT_LOSS_FLOOR) -> list[LayerRow]:
        """The nodes that add the most real loss to the divergence: highest culprit score first.

        Parameters
        ----------
        k : int, optional
            How many to return at most.
        min_db : float, optional
            Nodes scoring less than this many dB are not culprits (1 dB:
            the divergence above the floor grows by a quarter); 0 ranks
            every node that adds loss.
        loss_floor : float, optional
            The absolute ``1 - cosine`` under which growth does not count
            (default 1e-4, cosine 0.9999); 0 ranks by growth alone, which
            puts lossless nodes first on big models.

        Returns
        -------
        list of LayerRow
            Rows whose score exceeds ``min_db``, highest first (ties: the
            shallower node first). Fewer than ``k`` (even none) when fewer
            nodes add that much loss.

        Notes
        -----
        The score (:func:`culprit_score`, :attr:`LayerRow.score` for the
        default floor) is ``10 log10((1 - cos_out + floor) / (1 - cos_in +
        floor))``, where ``cos_in`` is the worst similarity among the node's
        own inputs. It needs both growth and an absolute loss: growth alone
        (:attr:`LayerRow.growth_db`) is unbounded near cosine 1, so on a
        560-node model an ``Add`` that takes cosine 1.000000 to 0.999998
        (+63 dB, no loss) would outrank a ``Conv`` that takes 0.999 to 0.99
        (+10 dB); its score is 0.09 dB, the Conv's 9.6 dB. Far above the
        floor the score is the growth: on a chain of layers the gradient of
        ``-10 log10(1 - cosine)`` along depth; on branching graphs (residual
        blocks) a node is compared with what it actually reads, so a branch
        that merely runs later in topological order is not blamed for its
        neighbour's divergence. Non-finite outputs count as maximally
        divergent.
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InputError(f"k must be a positive integer, got {k!r}")
        if isinstance(min_db, bool) or not isinstance(min_db, (int, float)) or not min_db >= 0:
            raise InputError(f"min_db must be a number >= 0, got {min_db!r}")
        if isinstance(loss_floor, bool) or not isinstance(loss_floor, (int, float)) or not (
                0 <= loss_floor < math.inf):
            raise InputError(f"loss_floor must be a number >= 0 (1 - cosine, e.g. 1e-4), got {loss_floor!r}")
        if loss_floor > 0:
            scored = [(culprit_score(row.cosine, row.input_cosine, loss_floor=loss_floor), row) for row in self.rows]
        else:
            scored = [(row.growth_db, row) for row in self.rows]
        ranked = [(score, row) for score, row in scored if math.isfinite(score) and score > min_db]
        ranked.sort(key=lambda item: (-item[0], item[1].depth))
        return [row for _, row in ranked[: int(k)]]

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
            lines.append(f"  {first.op_type.lower()} {first.output!r}: cosine {format_cosine(first.cosine)}")
        for row in self.outputs:
            lines.append(f"  output {row.output!r}: cosine {format_cosine(row.cosine)}, "
                         f"SNR {format_number(row.snr_db, '.1f')} dB")
        culprits = self.culprits(k)
        if culprits:
            lines.append("  where it grows (culprits, by score: growth above a loss of 1e-4):")
            for rank, row in enumerate(culprits, 1):
                lines.append(
                    f"    #{rank} {row.node} ({row.op_type}) at depth {row.depth}: score {row.score:+.1f} dB "
                    f"(growth {format_number(row.growth_db, '+.1f')} dB), "
                    f"cosine {format_cosine(row.input_cosine)} -> {format_cosine(row.cosine)}"
                )
        else:
            lines.append(f"  no node scores more than {CULPRIT_MIN_DB:g} dB: none adds a loss above 1e-4 "
                         "(cosine 0.9999) and grows the divergence")
        lines.append(f"  rule: {self.rule}")
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
            "<th>rel. L2</th><th>SNR dB</th><th>growth dB</th><th>score dB</th><th>flags</th></tr>"
        )
        body = []
        for row in self.rows:
            rank = culprits.get(row.output)
            style = ' style="background:#fde2e2"' if rank else ""
            mark = f" <b>#{rank}</b>" if rank else ""
            body.append(
                f"<tr{style}><td>{row.depth}</td><td>{html.escape(row.node)}{mark}</td>"
                f"<td>{html.escape(row.op_type)}</td><td>{html.escape(row.output)}</td>"
                f"<td>{html.escape(_shape_str(row.shape))}</td><td>{html.escape(format_cosine(row.cosine))}</td>"
                f"<td>{html.escape(format_number(row.rel_l2, '.3g'))}</td>"
                f"<td>{html.escape(format_number(row.snr_db, '.1f'))}</td>"
                f"<td>{html.escape(format_number(row.growth_db, '+.1f'))}</td>"
                f"<td>{html.escape(format_number(row.score, '+.1f'))}</td>"
                f"<td>{html.escape('; '.join(row.flags))}</td></tr>"
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
            "culprit_rule": self.rule,
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
        text = json.dumps(jsonable(self.to_dict()), indent=2, allow_nan=False)
        return atomic_write(path, (text + "\n").encode("utf-8"))

    def to_csv(self, path: Any) -> Any:
        """Write one line per compared tensor as CSV, atomically. Returns the path written.

        Columns: compare, depth, node, op_type, output, shape, cosine,
        cosine_min, rel_l2, snr_db, input_cosine, growth_db, culprit_rank,
        is_output, flags, score_db (the culprit score, see
        :meth:`LayerDivergence.culprits`). Non-finite numbers are written as ``nan``/``inf``;
        text that a spreadsheet would run as a formula gets a leading ``'``
        (see :func:`layers_csv`).
        """
        return atomic_write(path, layers_csv([self]).encode("utf-8"))


# ----------------------------------------------------------------------------
# formatting helpers
# ----------------------------------------------------------------------------
def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _from_json(value: Any, *, inf: bool = False) -> float:
    if value is None:
        return math.inf if inf else math.nan
    return float(value)


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
        header = header[:4] + ["cosine", "rel L2", "SNR dB", "growth dB", "score dB", "flags"]
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
            cells += [format_cosine(row.cosine), format_number(row.rel_l2, ".3g"),
                      format_number(row.snr_db, ".1f"), format_number(row.growth_db, "+.1f"),
                      format_number(row.score, "+.1f") + mark, "; ".join(row.flags)]
        else:
            for lookup, rank in zip(lookups, ranks):
                other = lookup.get(row.output)
                if other is None:
                    cells += ["-", "-"]
                else:
                    mark = f" #{rank[row.output]}" if row.output in rank else ""
                    cells += [format_cosine(other.cosine), format_number(other.growth_db, "+.1f") + mark]
        if ratio:
            nv12_row = lookups[by_kind["nv12"]].get(row.output)
            noise_row = lookups[by_kind["noise"]].get(row.output)
            if nv12_row is None or noise_row is None:
                cells.append("-")
            else:
                a, b = 1 - nv12_row.cosine, 1 - noise_row.cosine
                cells.append(format_number(a / b, ".2f") if b > 0 and math.isfinite(a) and math.isfinite(b) else "-")
        lines.append(cells)
    widths = [max(len(header[i]), *(len(cells[i]) for cells in lines)) if lines else len(header[i])
              for i in range(len(header))]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip() for cells in lines]
    hidden = len(first.rows) - len(chosen)
    if hidden:
        out.append(f"... {hidden} more rows (pass max_rows=None for all)")
    out.append(f"#n marks the culprits; {CULPRIT_RULE}")
    return "\n".join(out)


def layers_csv(results: Sequence[LayerDivergence]) -> str:
    """CSV text of one or several results, one line per compared tensor and result.

    The columns of :meth:`LayerDivergence.to_csv`, which writes one result;
    ``nv12kit layers --csv`` writes all its comparisons with this.

    Text cells (names, op types, flags) that a spreadsheet would take for a
    formula, because they start with ``=``, ``+``, ``-``, ``@``, a tab or a
    carriage return, get a leading ``'`` (unless they are a plain number);
    the number columns are written as they are, so ``-0.5`` stays a number.

    >>> row = LayerRow(0, "image", "Input", "image", (1, 3, 2, 2), 0.99, 0.99, 0.1, 20.0, 0.99, 0.0)
    >>> print(layers_csv([LayerDivergence("nv12", "nv12 (horizon)", (row,))]).splitlines()[1])
    nv12,0,image,Input,image,1x3x2x2,0.99,0.99,0.1,20.0,0.99,0.0,,0,,0.0
    >>> row = LayerRow(1, '=HYPERLINK("http://x")', "Conv", "@y", (1,), 0.5, 0.5, 0.1, 20.0, 0.9, -0.5)
    >>> print(layers_csv([LayerDivergence("nv12", "nv12 (horizon)", (row,))]).splitlines()[1])
    nv12,1,"'=HYPERLINK(""http://x"")",Conv,'@y,1,0.5,0.5,0.1,20.0,0.9,-0.5,1,0,,6.986227770683492
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["compare", "depth", "node", "op_type", "output", "shape", "cosine", "cosine_min", "rel_l2",
                     "snr_db", "input_cosine", "growth_db", "culprit_rank", "is_output", "flags", "score_db"])
    for result in results:
        ranks = {row.output: rank for rank, row in enumerate(result.culprits(5), 1)}
        for row in result.rows:
            writer.writerow([
                _csv_text(result.compare), row.depth, _csv_text(row.node), _csv_text(row.op_type),
                _csv_text(row.output), _shape_str(row.shape),
                repr(row.cosine), repr(row.cosine_min), repr(row.rel_l2), repr(row.snr_db), repr(row.input_cosine),
                repr(row.growth_db), ranks.get(row.output, ""), int(row.is_output), _csv_text("; ".join(row.flags)),
                repr(row.score),
            ])
    return buffer.getvalue()


# A cell a spreadsheet would run as a formula (OWASP "CSV injection"); a plain number is left alone.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _csv_text(value: str) -> str:
    text = str(value)
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        text = "'" + text
    # csv quotes a field only for the characters of its line terminator ("\n"): a bare CR would split the row
    # for a spreadsheet (and could start a new row with a formula), so line breaks become "\n", which is quoted.
    return text.replace("\r\n", "\n").replace("\r", "\n")
