"""check_converter: run a user's RGB -> NV12 function on the test chart and a photo, and diagnose it.

The function may take an array or a PIL image and return NV12 in any common
shape; what it does with an odd-sized image becomes a note.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from PIL import Image

from .._util import DEFAULT_CONVENTION, convention_or_expected
from ..chart import test_chart
from ..conventions import Convention, get_convention
from ..data import photo_path
from ..errors import InputError
from ..images import crop_to_even, load_image
from ..yuv import NV12Frame
from .diagnosis import diagnose
from .findings import Diagnosis
from .sources import _as_source


def _call_user(fn: Callable[..., Any], image: np.ndarray, what: str, style: dict[str, Any]) -> Any:
    """Call the user's converter with an array (or, if that fails, a PIL image); remember what worked."""
    kinds = [style["kind"]] if "kind" in style else ["array", "pil"]
    errors = []
    for kind in kinds:
        arg: Any = image.copy() if kind == "array" else Image.fromarray(image)
        try:
            out = fn(arg)
        except Exception as exc:  # noqa: BLE001 - the user's code may raise anything
            errors.append((kind, exc))
            continue
        if kind == "array" and not np.array_equal(arg, image):
            style["modified"] = True
        style["kind"] = kind
        return out
    desc = "; ".join(
        f"called with {'an (H, W, 3) uint8 array' if k == 'array' else 'a PIL image'} it raised "
        f"{_exc_name(e)}: {e}"
        for k, e in errors
    )
    raise InputError(f"the converter raised on {what}: {desc}") from errors[-1][1]


def _exc_name(exc: BaseException) -> str:
    cls = type(exc)
    return cls.__name__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__name__}"


def _converter_output(out: Any, h: int, w: int) -> Any:
    """Turn what a converter returned into something diagnose reads; garbage gets a clear error."""
    if isinstance(out, NV12Frame):
        return out
    if isinstance(out, Mapping):
        return out
    if isinstance(out, (bytes, bytearray, memoryview)):
        return bytes(out)
    if isinstance(out, np.ndarray):
        if out.dtype != np.uint8:
            raise InputError(
                f"the converter returned an array of dtype {out.dtype} (shape {out.shape}); NV12 is uint8 bytes"
            )
        return np.ascontiguousarray(out).reshape(-1)
    if isinstance(out, (tuple, list)) and len(out) in (2, 3):
        return tuple(out)
    raise InputError(
        f"the converter returned {type(out).__name__}; expected (y, uv) planes, (y, u, v), an NV12Frame, or a "
        f"single NV12 buffer (bytes or uint8 array) of {h}*{w}*3/2 = {h * w * 3 // 2} bytes"
    )


def check_converter(
    fn: Callable[..., Any],
    *,
    convention: str | Convention = DEFAULT_CONVENTION,
    order: str = "rgb",
    expected: str | Convention | None = None,
) -> Diagnosis:
    """Run a user's RGB -> NV12 function on the test chart and a photo, and diagnose what it returns.

    Parameters
    ----------
    fn : callable
        The converter.  It is called with an ``(H, W, 3)`` uint8 array (in
        ``order``); if that raises, with a PIL image instead (as the
        forum's recipe expects).  It may return ``(y, uv)`` in any common
        shape (the forum's ``(H, W)`` and ``(H/2, W)``, the vendor's
        ``(1, H, W, 1)`` and ``(1, H/2, W/2, 2)``), ``(y, u, v)``, an
        :class:`~nv12kit.NV12Frame`, or one NV12 buffer of ``H*W*3/2``
        bytes (bytes or a uint8 array of any shape).
    convention : str or Convention, optional
        The convention the chip assumes (default ``"horizon"``).
    order : {"rgb", "bgr"}, optional
        The channel order ``fn`` expects (``"bgr"`` for OpenCV-style code).
    expected : str or Convention, optional
        Deprecated old name of ``convention``, kept for one release.

    Returns
    -------
    Diagnosis
        The diagnosis of the chart; what the photo showed is merged in
        (bugs seen on either image count).

    Raises
    ------
    InputError
        ``fn`` raised (the message says so and quotes it), or returned
        something that is not NV12 (the message says what it got and what
        was expected); both ``convention`` and ``expected`` given.

    Warns
    -----
    DeprecationWarning
        ``expected=`` was given: say ``convention=``.

    Examples
    --------
    >>> import nv12kit
    >>> from nv12kit.lint import check_converter
    >>> def my_converter(img):  # fed an image loaded with cv2.imread, so BGR
    ...     return nv12kit.rgb_to_nv12(img[..., ::-1], convention="bt601-limited").to_bytes()
    >>> check_converter(my_converter).top.issues
    ('range_mismatch', 'rgb_bgr_swapped')
    """
    if not callable(fn):
        raise InputError(f"check_converter needs a function, got {type(fn).__name__}")
    if order not in ("rgb", "bgr"):
        raise InputError(f"order must be 'rgb' or 'bgr', got {order!r}")
    convention = convention_or_expected(convention, expected)
    conv = get_convention(convention)
    images = [("the test chart", test_chart()), ("the photo 'coffee'", crop_to_even(load_image(photo_path("coffee"))))]
    style: dict[str, Any] = {}
    results = []
    for what, rgb in images:
        given = np.ascontiguousarray(rgb[..., ::-1]) if order == "bgr" else rgb
        out = _call_user(fn, given, what, style)
        h, w = rgb.shape[:2]
        try:
            nv12 = _converter_output(out, h, w)
            diag = diagnose(rgb, nv12, convention=conv, width=w, height=h)
        except InputError as exc:
            raise InputError(f"on {what} ({w}x{h}) the converter's result cannot be read as NV12: {exc}") from exc
        results.append((what, diag))
    notes = []
    if style.get("modified"):
        notes.append("the converter modified its input array in place")
    if style.get("kind") == "pil":
        notes.append("the converter takes a PIL image (calling it with an array raised)")
    (chart_what, chart), (photo_what, photo) = results
    # Bugs seen on either image count; the chart shows most of them.
    main, other, other_what = chart, photo, photo_what
    if chart.is_ok and not photo.is_ok:
        main, other, other_what = photo, chart, chart_what
        notes.append(f"{chart_what} looked fine but {photo_what} did not")
    elif not chart.is_ok and not photo.is_ok and chart.issues != photo.issues:
        notes.append(f"{photo_what} suggested {', '.join(photo.issues)} instead")
    elif not chart.is_ok and photo.is_ok:
        notes.append(f"{photo_what} alone looked fine; {chart_what} shows the bug")
    # The chart is a stress test: its round-trip figures say little, the photo's say more.
    notes += [n for n in main.notes if not (main is chart and n.startswith("as decoded"))]
    notes += [f"{other_what}: {n}" for n in other.notes if n not in notes]
    notes.append(_odd_size_note(fn, style, order))
    evidence = dict(main.evidence)
    prefix = "photo_" if main is chart else "chart_"
    evidence.update(
        {prefix + k: v for k, v in other.evidence.items() if k in ("as_is_psnr_db", "as_is_mae", "honest_psnr_db",
                                                                    "honest_mae")}
    )
    subject = "converter " + getattr(fn, "__name__", type(fn).__name__) + f" on {chart_what} and {photo_what}"
    return Diagnosis(main.hypotheses, conv.name, tuple(n for n in dict.fromkeys(notes) if n), evidence, subject, True)


def _odd_size_note(fn: Callable[..., Any], style: dict[str, Any], order: str) -> str:
    """What the converter does with an odd-sized image (a note, never a bug of the even case)."""
    odd = test_chart(33, 49, order=order)
    kind = style.get("kind", "array")
    try:
        out = fn(odd.copy() if kind == "array" else Image.fromarray(odd))
    except Exception as exc:  # noqa: BLE001 - refusing odd sizes is fine
        return f"on an odd-sized 49x33 image the converter raises ({_exc_name(exc)}), which is safe"
    try:
        src = _as_source(_converter_output(out, 33, 49), None, None, None, None, (32, 48))
    except InputError:
        shapes = ""
        if isinstance(out, (tuple, list)):
            shapes = " (shapes " + " and ".join(str(getattr(p, "shape", "?")) for p in out) + ")"
        return (
            f"on an odd-sized 49x33 image the converter returns planes that do not form an NV12 frame{shapes}, "
            "which a chip silently misreads; pad or crop to even first (nv12kit.pad_to_even / "
            "nv12kit.crop_to_even)"
        )
    return (
        f"on an odd-sized 49x33 image the converter returns a consistent {src.width}x{src.height} frame"
    )
