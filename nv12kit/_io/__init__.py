"""The one door for files: safe writes, safe reads, and strict JSON.

- :mod:`.writes`: every file nv12kit writes, atomically and under one rule
  (only regular files are replaced, never an input of the command, an
  existing file only when asked).
- :mod:`.reads`: every file nv12kit reads: regular files only, sizes
  checked against budgets (``.npy`` headers, ``.npz`` zip directories)
  before anything is allocated.
- :mod:`.jsonable`: values made fit for strict JSON.
"""

from __future__ import annotations

import os  # noqa: F401  (tests simulate a full or read-only disk by patching nv12kit._io.os)

from .jsonable import jsonable
from .reads import (
    MAX_IMAGE_PIXELS,
    MAX_READ_BYTES,
    check_budget,
    current_pixel_budget,
    open_regular,
    pixel_budget,
    read_bytes,
    read_npy,
    read_npz,
)
from .writes import atomic_path, atomic_write, check_outputs, write_rules

__all__ = [
    "atomic_write",
    "atomic_path",
    "check_outputs",
    "write_rules",
    "jsonable",
    "MAX_READ_BYTES",
    "MAX_IMAGE_PIXELS",
    "check_budget",
    "current_pixel_budget",
    "pixel_budget",
    "open_regular",
    "read_bytes",
    "read_npy",
    "read_npz",
]
