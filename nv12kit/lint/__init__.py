"""Conversion lint: name the bug in a user's NV12, their converter, and their node settings.

Three entry points:

:func:`diagnose`
    Compares a user's NV12 bytes with the RGB image they came from and names
    what went wrong (limited range fed to a full-range chip, BT.709 against
    BT.601, U/V or R/B swapped, I420 planes read as NV12, a wrong stride, a
    misaligned chroma plane, an int8 offset, ...).  Without the RGB image it
    says what the bytes alone can tell.
:func:`check_converter`
    Runs a user's conversion function on :func:`nv12kit.chart.test_chart`
    and on a bundled photo, then diagnoses what it returns.
:func:`lint_node`
    Checks the settings of the NV12 preprocessing node (mode, divisor, mean,
    std) against how the model was trained.

This package only re-exports them and their result types.  One job per
module:

- ``findings``: the result types (:class:`Diagnosis`, :class:`Hypothesis`,
  :class:`NodeFinding`) and the issue ids;
- ``sources``: the user's frame (arrays, planes, bytes, files) as one byte
  stream, and the reference image;
- ``reading``: the stream read under a structural hypothesis;
- ``fitting``: least-squares scoring against the reference, the cost of
  naming bugs;
- ``structure``: the search for the stride, plane offsets, planar chroma,
  int8 offset and geometry;
- ``colour``: the search for the matrix, range, R/B and U/V order;
- ``evidence``: PSNR, MAE and per-channel fits of a hypothesis;
- ``by_reference`` and ``bytes_only``: the diagnosis with and without the
  reference image;
- ``diagnosis``: :func:`diagnose` (and how it decides);
- ``converter``: :func:`check_converter`;
- ``node``: :func:`lint_node`;
- ``aipp``: :func:`lint_aipp` (Ascend AIPP configs);
- ``_renamed``: the deprecated keyword aliases (``expected=``,
  ``train_scale=``).
"""

from __future__ import annotations

from ..chart import test_chart
from ..preprocess import NODE_MODES as NODE_MODES  # the modes lint_node accepts (the graph's own tuple)
from .aipp import AippLint, lint_aipp
from .converter import check_converter
from .diagnosis import diagnose
from .findings import ISSUE_DESCRIPTIONS, ISSUE_IDS, NODE_FINDING_IDS, Diagnosis, Hypothesis, NodeFinding
from .node import lint_node

__all__ = [
    "ISSUE_IDS",
    "ISSUE_DESCRIPTIONS",
    "NODE_FINDING_IDS",
    "Hypothesis",
    "Diagnosis",
    "NodeFinding",
    "diagnose",
    "check_converter",
    "lint_node",
    "lint_aipp",
    "AippLint",
    "test_chart",
]
