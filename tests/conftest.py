"""Shared fixtures: bundled photos, random images and exhaustive RGB / YUV test images.

The exhaustive images are built with plain ``np.arange`` arithmetic so that
nothing in them depends on nv12kit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import pytest

import nv12kit
from nv12kit.data import photo_paths

__all__: list[str] = []

#: (seed, height, width) of the random test images; sizes not multiples of 16 on purpose.
RANDOM_CASES = [
    (0, 2, 2),
    (1, 2, 2),
    (2, 6, 10),
    (3, 6, 10),
    (4, 30, 46),
    (5, 30, 46),
    (6, 480, 640),
    (7, 480, 640),
]


@pytest.fixture(scope="session")
def photos() -> dict[str, np.ndarray]:
    """The bundled photos as (H, W, 3) uint8 RGB, odd ones cropped to even."""
    out = {}
    for path in photo_paths():
        out[path.stem] = nv12kit.crop_to_even(nv12kit.load_image(path))
    return out


@pytest.fixture(scope="session")
def odd_photo() -> np.ndarray:
    """A bundled photo with an odd side, as loaded (not cropped)."""
    for path in photo_paths():
        img = nv12kit.load_image(path)
        if img.shape[0] % 2 or img.shape[1] % 2:
            return img
    raise AssertionError("the bundled data has no odd-sized photo any more")


@pytest.fixture(params=RANDOM_CASES, ids=lambda c: f"seed{c[0]}-{c[1]}x{c[2]}")
def random_rgb(request: pytest.FixtureRequest) -> np.ndarray:
    """Uniform random (H, W, 3) uint8 images of several seeds and sizes."""
    seed, h, w = request.param
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.fixture(scope="session")
def all_colours() -> np.ndarray:
    """4096x4096 RGB image holding every 24-bit colour exactly once (R slowest, B fastest)."""
    index = np.arange(1 << 24, dtype=np.uint32).reshape(4096, 4096)
    img = np.empty((4096, 4096, 3), np.uint8)
    img[..., 0] = index >> 16
    img[..., 1] = (index >> 8) & 0xFF
    img[..., 2] = index & 0xFF
    img.setflags(write=False)  # shared by the whole session
    return img


@pytest.fixture(scope="session")
def all_colours_flat(all_colours: np.ndarray) -> Callable[[int], np.ndarray]:
    """``make(q)``: a 4096x4096 "4:4:4-flat" image (each 2x2 block one colour).

    Quarter ``q`` (0..3) of the colours is spread over the blocks, so the four
    images together give every colour once as a whole block: each chroma
    method (top-left, box average) then sees every colour exactly.
    """

    @functools.lru_cache(maxsize=4)  # 4 x 48 MiB, built once per session
    def make(q: int) -> np.ndarray:
        colours = all_colours.reshape(-1, 3)[q << 22 : (q + 1) << 22].reshape(2048, 2048, 3)
        img = np.repeat(np.repeat(colours, 2, axis=0), 2, axis=1)
        img.setflags(write=False)
        return img

    return make


@pytest.fixture(scope="session")
def all_yuv_planes() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Planes (y, u, v) of a 4096x4096 NV12 frame holding every (Y, U, V) combination.

    Chroma block (i, j) carries U = i % 256 and V = j % 256, so each of the
    65536 (U, V) pairs owns 64 blocks, numbered k = 8 * (i // 256) + j // 256.
    Block k carries Y = 4k, 4k+1, 4k+2, 4k+3 in its four pixels, so every Y
    value meets every (U, V) pair exactly once.
    """
    bi, bj = np.indices((2048, 2048), dtype=np.int64)
    u = (bi % 256).astype(np.uint8)
    v = (bj % 256).astype(np.uint8)
    k = 8 * (bi // 256) + bj // 256
    y = np.empty((4096, 4096), np.uint8)
    y[0::2, 0::2] = 4 * k
    y[0::2, 1::2] = 4 * k + 1
    y[1::2, 0::2] = 4 * k + 2
    y[1::2, 1::2] = 4 * k + 3
    return y, u, v


@pytest.fixture(scope="session")
def all_yuv_frame(all_yuv_planes: tuple[np.ndarray, np.ndarray, np.ndarray]) -> nv12kit.NV12Frame:
    """The exhaustive frame of :func:`all_yuv_planes` as an NV12Frame (built by hand, U first)."""
    y, u, v = all_yuv_planes
    uv = np.empty((2048, 2048, 2), np.uint8)
    uv[..., 0] = u
    uv[..., 1] = v
    return nv12kit.NV12Frame(y, uv)
