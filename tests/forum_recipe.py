"""The forum's RGB -> NV12 converter as posted, shared by the tests that use it as a reference or a subject.

Pillow's YCbCr (JPEG/BT.601 full range), U and V resized to half size with
Pillow's default filter, interleaved column by column in a Python loop.
Written from the forum post and nothing else.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def forum_rgb_to_nv12(img: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """The forum recipe as posted: returns the Y plane and the interleaved UV plane."""
    w, h = img.size
    y, u, v = img.convert("YCbCr").split()
    u = u.resize((w // 2, h // 2))
    v = v.resize((w // 2, h // 2))
    y, u, v = np.array(y), np.array(u), np.array(v)
    uv = np.zeros((u.shape[0], 2 * u.shape[1]), dtype=np.uint8)
    for i in range(u.shape[1]):
        uv[:, 2 * i] = u[:, i]
        uv[:, 2 * i + 1] = v[:, i]
    return y, uv
