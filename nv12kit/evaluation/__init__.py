"""Measure the collapse on a validation set: accuracy of every variant, streamed, resumable, spread over workers.

:func:`evaluate` runs ``feat`` and ``nv12`` (and with ``quantize=True``
their int8 versions) on every frame of a labelled set and reports each
variant's accuracy with a 95 % interval, its agreement with ``feat``, the
distribution of ``cos(feat, variant)``, the noise floor on a sample, and
how much accuracy the NV12 conversion, quantisation and the two together
cost (:class:`EvaluationResult`).

Modules: :mod:`.labels` (frames, labels and class mapping), :mod:`.shard`
(the per-shard work every worker runs), :mod:`.stats` (from per-frame
records to the set's numbers), :mod:`.result`, :mod:`.html` (the report),
:mod:`.run` (the procedure), :mod:`.demo` (a labelled set cut from the
bundled photos).
"""

from __future__ import annotations

from .result import EvaluationResult
from .run import evaluate

__all__ = ["evaluate", "EvaluationResult"]
