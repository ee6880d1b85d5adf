"""The settings of per-layer divergence that the command line and plots need without loading the rest."""

from __future__ import annotations

__all__ = ["COMPARE_MODES", "DEFAULT_CHUNK_SIZE", "CULPRIT_MIN_DB", "DIVERGENCE_FLOOR"]

#: What the clean run can be compared with.
COMPARE_MODES: tuple[str, ...] = ("nv12", "noise", "quantized")

#: Compared tensors per graph segment: one segment for small models, bounded memory for big ones.
DEFAULT_CHUNK_SIZE = 64

#: Growth (dB) a node must add to the divergence to count as a culprit.
CULPRIT_MIN_DB = 1.0

#: 1 - cosine below this counts as "identical" when measuring growth (float32 noise is far below it).
DIVERGENCE_FLOOR = 1e-12
