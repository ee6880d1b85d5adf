"""The settings of per-layer divergence that the command line and plots need without loading the rest."""

from __future__ import annotations

__all__ = ["COMPARE_MODES", "DEFAULT_CHUNK_SIZE", "CULPRIT_MIN_DB", "CULPRIT_LOSS_FLOOR", "CULPRIT_RULE",
           "DIVERGENCE_FLOOR"]

#: What the clean run can be compared with.
COMPARE_MODES: tuple[str, ...] = ("nv12", "noise", "quantized")

#: Compared tensors per graph segment: one segment for small models, bounded memory for big ones.
DEFAULT_CHUNK_SIZE = 64

#: Culprit score (dB) a node must reach to count as a culprit.
CULPRIT_MIN_DB = 1.0

#: Absolute loss (1 - cosine) under which growth does not count: cosine 0.9999. A node that takes an exact
#: tensor to cosine 0.999998 grows by +63 dB but loses nothing; above the floor it scores 0.09 dB.
CULPRIT_LOSS_FLOOR = 1e-4

_FLOOR = f"{CULPRIT_LOSS_FLOOR:.0e}".replace("e-0", "e-")  # 1e-4, not 1e-04

#: The culprit rule in one line, for tables, reports and the README.
CULPRIT_RULE = (f"culprit score = 10·log10((1 − cos_out + {_FLOOR}) / (1 − cos_in + "
                f"{_FLOOR})): growth in dB counted only above an absolute loss of "
                f"{_FLOOR} (cosine {1 - CULPRIT_LOSS_FLOOR:.4f}), so a node needs both growth and "
                f"a real loss; culprits score over {CULPRIT_MIN_DB:g} dB, highest first")

#: 1 - cosine below this counts as "identical" when measuring growth (float32 noise is far below it).
DIVERGENCE_FLOOR = 1e-12
