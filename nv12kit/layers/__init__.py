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

:meth:`LayerDivergence.culprits` names the nodes that add the most real loss
(growth in dB counted only above an absolute loss of 1e-4, see
:func:`culprit_score`), which tells whether fine-tuning the first layers or changing
the input convention will help.

How it stays within memory: the graph is cut into segments of about
``chunk_size`` compared tensors. Each segment runs as its own small ONNX
model whose inputs are the tensors still alive at the cut, so every node runs
once per input and only the live tensors, plus one segment's outputs, are
held at a time. The user's model is never changed. The int8 QDQ model is
run differently, so that onnxruntime fuses its nodes as in the whole model:
each compared tensor from a model cut from the inputs, ending at it.

What is kept between calls: the graph analysis and the segment sessions of
the last few models, keyed by their content (see :func:`clear_cache`), so
the second call on a model (the triage's noise comparison after the NV12
one) skips building them.

This package never imports matplotlib; the figure is
``nv12kit.plots.plot_layer_divergence``.

One job per module: :mod:`.constants` (the settings), :mod:`.results` (the result types and their text, CSV
and JSON), :mod:`._graph` (graph analysis), :mod:`._segments` (cutting and
running the graph in segments), :mod:`._metrics` (the streaming metrics),
:mod:`._cache` (the model cache) and :mod:`.divergence` (the entry point).
The constants (:mod:`.constants`) load at once; the result types, the
entry point and the cache load on first use, so the command line builds
its parser without importing onnx or the rest of the package.
"""

from __future__ import annotations

import importlib
from typing import Any

from .constants import COMPARE_MODES, CULPRIT_LOSS_FLOOR, CULPRIT_MIN_DB, CULPRIT_RULE, DEFAULT_CHUNK_SIZE
from .constants import DIVERGENCE_FLOOR as DIVERGENCE_FLOOR  # for nv12kit.plots, outside __all__ as before

__all__ = [
    "COMPARE_MODES",
    "CULPRIT_LOSS_FLOOR",
    "CULPRIT_MIN_DB",
    "CULPRIT_RULE",
    "DEFAULT_CHUNK_SIZE",
    "LayerDivergence",
    "LayerRow",
    "SINGLE_THREAD_WEIGHTS",
    "SkippedNode",
    "clear_cache",
    "culprit_score",
    "format_layer_table",
    "layer_divergence",
    "layers_csv",
]

# public name -> the module holding it, imported on first use (divergence and _cache import onnx)
_LAZY = {"layer_divergence": "divergence", "clear_cache": "_cache", "SINGLE_THREAD_WEIGHTS": "_cache",
         "LayerDivergence": "results", "LayerRow": "results", "SkippedNode": "results",
         "format_layer_table": "results", "culprit_score": "results", "layers_csv": "results"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
