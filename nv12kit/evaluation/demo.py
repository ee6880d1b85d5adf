"""A small labelled set cut from the bundled photos, for the demo models (see ``nv12kit/data/DEMO_MODELS.md``).

Each patch is a square crop whose centre lies in the left or right half
of a photo, at least 8 % of the photo's width from the midline, resized to
the demo models' 128 x 128 with Pillow's bilinear filter; its class is
``<photo>-<half>``, the demo models' labels. The patches are written to
``folder/<class>/<n>.png``, so :func:`nv12kit.evaluate` reads the labels
from the folder names.
"""

from __future__ import annotations

import io
import os
import pathlib

import numpy as np

from .._io import atomic_write
from ..errors import InputError

__all__ = ["demo_classes", "make_demo_set"]

#: Side of the demo models' input.
PATCH = 128


def demo_classes() -> tuple[str, ...]:
    """The demo models' class names, in output order.

    >>> demo_classes()[:2]
    ('astronaut-left', 'astronaut-right')
    """
    from ..data import PHOTOS

    return tuple(f"{photo}-{half}" for photo in PHOTOS for half in ("left", "right"))


def _patch(rgb: np.ndarray, half: int, rng: np.random.Generator) -> np.ndarray:
    from PIL import Image

    h, w = rgb.shape[:2]
    short = min(h, w)
    margin = 0.08 * w
    # the centre lies in the chosen half, at least `margin` from the midline; the crop stays inside the photo
    cx = rng.uniform(w / 2 + margin, w - 0.15 * short) if half else rng.uniform(0.15 * short, w / 2 - margin)
    room = min(cx, w - cx, h / 2)
    side = rng.uniform(0.3 * short, max(0.3 * short, 2 * room))
    side = min(side, 2 * min(cx, w - cx), h)
    cy = rng.uniform(side / 2, h - side / 2)
    box = (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
    return np.asarray(Image.fromarray(rgb).resize((PATCH, PATCH), Image.Resampling.BILINEAR, box=box))


def make_demo_set(folder: str | os.PathLike[str], *, per_class: int = 8, seed: int = 0) -> pathlib.Path:
    """Write ``per_class`` patches of each of the six demo classes to ``folder/<class>/``.

    Parameters
    ----------
    folder : str or os.PathLike
        An existing, empty folder.
    per_class : int, optional
    seed : int, optional

    Returns
    -------
    pathlib.Path
        ``folder``.
    """
    from PIL import Image

    from ..data import PHOTOS, photo_path
    from ..images import load_image

    root = pathlib.Path(folder)
    if not root.is_dir():
        raise InputError(f"{str(root)!r} is not a folder; create it first")
    if any(root.iterdir()):
        raise InputError(f"{str(root)!r} is not empty; give an empty folder for the demo set")
    if isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 1:
        raise InputError(f"per_class must be a positive integer, got {per_class!r}")
    rng = np.random.default_rng(seed)
    for p, photo in enumerate(PHOTOS):
        rgb = load_image(photo_path(photo))
        for half, name in enumerate(("left", "right")):
            target = root / f"{photo}-{name}"
            target.mkdir()
            for n in range(per_class):
                buffer = io.BytesIO()
                Image.fromarray(_patch(rgb, half, rng)).save(buffer, format="PNG")
                atomic_write(target / f"{n:03d}.png", buffer.getvalue())
    return root
