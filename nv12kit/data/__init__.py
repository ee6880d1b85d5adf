"""Small demo photos bundled with nv12kit.

Three real colour photos, downscaled from scikit-image's sample data (public
domain or CC0; see ``LICENSES.md`` next to this file):

``astronaut``
    256 x 256, even and a multiple of 16.
``coffee``
    300 x 200, even but not a multiple of 16.
``chelsea_odd``
    225 x 150, odd width on purpose, for testing how NV12 code handles it.

Examples
--------
>>> from nv12kit.data import PHOTOS, photo_path
>>> PHOTOS
('astronaut', 'coffee', 'chelsea_odd')
>>> photo_path("coffee").name
'coffee.png'
"""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path

from nv12kit.errors import InputError

__all__ = ["PHOTOS", "DEMO_MODELS", "CURED_MODEL", "photo_path", "photo_paths", "model_path"]

#: Names of the bundled photos, in a stable order.
PHOTOS: tuple[str, ...] = ("astronaut", "coffee", "chelsea_odd")

_SUFFIX = ".png"

#: The bundled demo classifiers (see ``DEMO_MODELS.md`` next to this file).
DEMO_MODELS: tuple[str, ...] = ("demo_robust", "demo_fragile")

#: demo_fragile fine-tuned with :class:`nv12kit.augment.NV12RoundTrip` (notebook 05); not in the demo run.
CURED_MODEL = "demo_cured"


def photo_path(name: str) -> Path:
    """Return the path of a bundled photo.

    Parameters
    ----------
    name : str
        One of :data:`PHOTOS`, with or without the ``.png`` suffix.

    Returns
    -------
    pathlib.Path
        Path of the PNG file inside the installed package.

    Raises
    ------
    InputError
        If `name` is not one of the bundled photos; the message lists them.

    Notes
    -----
    The path is found with :mod:`importlib.resources`, so it works from an
    installed package as well as from a source checkout. nv12kit is never
    installed zipped, so the path is a real file that stays valid.

    Examples
    --------
    >>> from nv12kit.data import photo_path
    >>> p = photo_path("astronaut")
    >>> p.name, p.is_file()
    ('astronaut.png', True)
    >>> photo_path("lena")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nv12kit.errors.InputError: unknown photo 'lena': expected one of 'astronaut', 'coffee', 'chelsea_odd'; ...
    """
    if not isinstance(name, str):
        raise InputError(
            f"photo name must be a str, got {type(name).__name__} {name!r}; "
            f"use one of {', '.join(map(repr, PHOTOS))}"
        )
    stem = name[: -len(_SUFFIX)] if name.endswith(_SUFFIX) else name
    if stem not in PHOTOS:
        raise InputError(
            f"unknown photo {name!r}: expected one of "
            f"{', '.join(map(repr, PHOTOS))}; "
            "see nv12kit.data.PHOTOS, or pass the path of your own image instead"
        )
    resource = files(__name__).joinpath(stem + _SUFFIX)
    # Exiting as_file on a real file leaves it in place; only a zipped
    # install would give a temporary copy, which nv12kit does not support.
    with as_file(resource) as path:
        return Path(path)


def photo_paths() -> list[Path]:
    """Return the paths of all bundled photos, in the order of :data:`PHOTOS`.

    Returns
    -------
    list of pathlib.Path
        One path per name in :data:`PHOTOS`.

    Examples
    --------
    >>> from nv12kit.data import photo_paths
    >>> [p.name for p in photo_paths()]
    ['astronaut.png', 'coffee.png', 'chelsea_odd.png']
    """
    return [photo_path(name) for name in PHOTOS]


def model_path(name: str) -> Path:
    """Return the path of a bundled demo model.

    Parameters
    ----------
    name : str
        One of :data:`DEMO_MODELS`, with or without ``.onnx``.

    Returns
    -------
    pathlib.Path
        The ``.onnx`` file inside the installed package. Read it; never
        write to it.

    Raises
    ------
    InputError
        If `name` is not a bundled model; the message lists them.

    Examples
    --------
    >>> from nv12kit.data import model_path
    >>> model_path("demo_robust").name
    'demo_robust.onnx'
    """
    stem = name[: -len(".onnx")] if isinstance(name, str) and name.endswith(".onnx") else name
    if stem not in (*DEMO_MODELS, CURED_MODEL):
        raise InputError(
            f"unknown demo model {name!r}: expected one of {', '.join(map(repr, (*DEMO_MODELS, CURED_MODEL)))}"
        )
    with as_file(files(__name__).joinpath(f"{stem}.onnx")) as path:
        return Path(path)
