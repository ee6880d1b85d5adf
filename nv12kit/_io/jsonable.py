"""Values made fit for strict JSON (no NaN or inf, numpy values as plain ones)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["jsonable"]


def jsonable(value: Any) -> Any:
    """Replace what JSON cannot hold (NaN, inf, numpy scalars and arrays, tuples, objects) by plain values.

    Non-finite floats become None, so ``json.dumps(..., allow_nan=False)`` always succeeds.

    >>> jsonable({"cos": float("nan"), "snr": np.inf, "ok": np.bool_(True), "n": np.int64(3), "s": {2.5}})
    {'cos': None, 'snr': None, 'ok': True, 'n': 3, 's': [2.5]}
    """
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)
