"""Exceptions raised by nv12kit.

Every error the package raises on purpose derives from :class:`NV12KitError`,
so ``except nv12kit.NV12KitError`` catches them all.  The subclasses also
derive from the matching built-in (``ValueError``, ``TypeError``, ...) so that
generic code that already catches those keeps working.

Messages follow one rule: say what was wrong, what was expected, and how to
fix it.
"""

from __future__ import annotations

__all__ = [
    "NV12KitError",
    "InputError",
    "ConventionError",
    "ModelError",
]


class NV12KitError(Exception):
    """Base class of every error nv12kit raises on purpose."""


class InputError(NV12KitError, ValueError):
    """An array, image or raw file is not what the function needs.

    Raised for wrong dtypes, shapes or layouts, odd sizes, corrupt or
    unsupported image files and raw files of the wrong size.
    """


class ConventionError(NV12KitError, ValueError):
    """A colour convention is unknown or internally inconsistent."""


class ModelError(NV12KitError, ValueError):
    """An ONNX model cannot be used as asked (missing, corrupt, ambiguous)."""
