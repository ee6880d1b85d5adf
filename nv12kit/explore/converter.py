"""Someone's RGB -> NV12 code or Y/UV dumps, diagnosed by nv12kit.lint and drawn against the image."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import plots
from .._util import DEFAULT_CONVENTION, convention_or_expected
from ..conventions import Convention, get_convention
from ..errors import InputError
from ..yuv import NV12Frame
from .common import escape, figure_img_html

__all__ = ["ConverterCheck", "load_converter", "converter_check", "dumps_check"]


@dataclass
class ConverterCheck:
    """A diagnosis of someone's NV12, with the frame and the error maps that show it.

    Attributes
    ----------
    diagnosis : nv12kit.lint.Diagnosis
        Ranked hypotheses; ``diagnosis.top.issues``, ``.explanation`` and ``.fix``.
    subject : str
        What was checked.
    expected : str
        The convention it was checked against.
    rgb : numpy.ndarray or None
        The reference image (None for dumps checked without one).
    frame : NV12Frame or None
        The frame as read, when it could be read as plain NV12.
    errors, planes : matplotlib.figure.Figure or None
        The image, the frame decoded as the chip would decode it, and the
        map of ``|Y - Y expected|`` against nv12kit's encoding under the
        expected convention (luma does not depend on chroma down-sampling,
        so this map shows the encoding bug alone); then the frame's Y, U
        and V planes.
    notes : list of str
        Why a figure is missing, and the like.
    """

    diagnosis: Any
    subject: str
    expected: str
    rgb: np.ndarray | None = field(repr=False)
    frame: NV12Frame | None = field(repr=False)
    errors: Any = field(repr=False)
    planes: Any = field(repr=False)
    notes: list[str] = field(default_factory=list)

    @property
    def issues(self) -> tuple[str, ...]:
        """The issue ids of the best hypothesis (``("ok",)`` when nothing is wrong)."""
        return tuple(self.diagnosis.top.issues)

    def summary(self) -> str:
        """The verdict, the explanation and the fix, as text."""
        top = self.diagnosis.top
        head = "ok" if self.diagnosis.is_ok else "BUG: " + ", ".join(top.issues)
        return f"{head} ({self.subject}; expected {self.expected})\n{top.explanation}\nfix: {top.fix}"

    def _repr_html_(self) -> str:
        parts = ["<div class='nv12kit-converter'>", self.diagnosis._repr_html_()]
        parts += [f"<p style='color:#555'>{escape(n)}</p>" for n in self.notes]
        if self.errors is not None:
            parts.append(figure_img_html(self.errors, "the checked NV12 decoded, and its luma error"))
        if self.planes is not None:
            parts += ["<br>", figure_img_html(self.planes, "planes of the checked NV12")]
        return "".join(parts) + "</div>"


def load_converter(source: str, *, name: str | None = None) -> Callable[..., Any]:
    """Run the code you typed (or pasted) and return the converter function it defines.

    **This executes ``source`` in this Python process, with your
    permissions, exactly like running it in a notebook cell.** Only pass
    code you wrote or trust; nv12kit itself never calls this on anything but
    what you give it.

    Parameters
    ----------
    source : str
        Python code defining a function such as ``def rgb_to_nv12(rgb): ...``.
        ``np`` (numpy) and ``nv12kit`` are available without importing them.
    name : str, optional
        The function to return. By default ``rgb_to_nv12`` if defined,
        else the only function the code defines.

    Returns
    -------
    callable

    Raises
    ------
    InputError
        The code is empty, has a syntax error, raises while it is run, or
        does not define exactly one candidate function (the names found are
        listed).

    Examples
    --------
    >>> fn = load_converter("def rgb_to_nv12(rgb):\\n    return nv12kit.rgb_to_nv12(rgb)")
    >>> fn.__name__
    'rgb_to_nv12'
    """
    import nv12kit

    if not isinstance(source, str) or not source.strip():
        raise InputError("no code to run: paste a function such as 'def rgb_to_nv12(rgb): ...'")
    try:
        code = compile(source, "<your converter>", "exec")
    except SyntaxError as exc:
        raise InputError(f"your code has a syntax error on line {exc.lineno}: {exc.msg}") from exc
    namespace: dict[str, Any] = {"__name__": "nv12kit_user_converter", "np": np, "numpy": np, "nv12kit": nv12kit}
    given = set(namespace)
    try:
        exec(code, namespace)  # noqa: S102 - the user's own code, run on their request (see the docstring)
    except Exception as exc:  # noqa: BLE001 - the user's code may raise anything
        raise InputError(f"running your code raised {type(exc).__name__}: {exc}") from exc
    functions = {k: v for k, v in namespace.items()
                 if k not in given and callable(v) and getattr(v, "__module__", None) == "nv12kit_user_converter"}
    if name is not None:
        if name not in namespace or not callable(namespace[name]):
            raise InputError(f"your code defines no function {name!r}; it defines {sorted(functions) or 'none'}")
        return namespace[name]
    if "rgb_to_nv12" in functions:
        return functions["rgb_to_nv12"]
    if len(functions) == 1:
        return next(iter(functions.values()))
    raise InputError(f"your code defines {len(functions)} functions ({sorted(functions) or 'none'}); name the "
                     "converter rgb_to_nv12 or pass name=")


def _as_frame(out: Any, height: int, width: int) -> NV12Frame:
    """The frame a converter returned, when it is plain NV12: a frame, (y, uv), (y, u, v) or H*W*3/2 bytes."""
    if isinstance(out, NV12Frame):
        return out
    if isinstance(out, (tuple, list)) and len(out) == 2:
        return NV12Frame(*out)
    if isinstance(out, (tuple, list)) and len(out) == 3:
        y, u, v = (np.asarray(p) for p in out)
        return NV12Frame.from_planes(y, u.reshape(height // 2, width // 2), v.reshape(height // 2, width // 2))
    if isinstance(out, (bytes, bytearray, memoryview)):
        return NV12Frame.from_bytes(bytes(out), width, height)
    if isinstance(out, np.ndarray) and out.dtype == np.uint8:
        return NV12Frame.from_bytes(np.ascontiguousarray(out).reshape(-1), width, height)
    raise InputError(f"cannot read a {type(out).__name__} as an NV12 frame")


def _check_figures(rgb: np.ndarray, frame: NV12Frame, conv: Convention, subject: str) -> tuple[Any, Any]:
    """The image, the frame as the chip decodes it and its luma error; then the frame's planes."""
    errors = plots.plot_conversion_error(rgb, frame, convention=conv, subject=subject)
    return errors, plots.plot_planes(frame, title=f"planes of {subject}")


def converter_check(
    fn: Callable[..., Any],
    *,
    convention: str | Convention = DEFAULT_CONVENTION,
    order: str = "rgb",
    expected: str | Convention | None = None,
) -> ConverterCheck:
    """Diagnose an RGB -> NV12 function with :func:`nv12kit.lint.check_converter` and draw its error maps.

    Parameters
    ----------
    fn : callable
        Your converter; see :func:`nv12kit.lint.check_converter` for what it
        may take and return. It is called a few times on
        :func:`nv12kit.chart.test_chart` and a bundled photo.
    convention : str or Convention, optional
        The convention the chip assumes (default ``"horizon"``).
    order : {"rgb", "bgr"}, optional
        The channel order ``fn`` expects.
    expected : str or Convention, optional
        Deprecated old name of ``convention``, kept for one release.

    Returns
    -------
    ConverterCheck
        The error maps are of the test chart; they are left out (with a
        note) when the converter's output is not plain NV12 of the chart's
        size (e.g. padded rows), which the diagnosis then explains.

    Raises
    ------
    InputError
        ``fn`` raised, or returned something that is not NV12; both
        ``convention`` and ``expected`` given.

    Warns
    -----
    DeprecationWarning
        ``expected=`` was given: say ``convention=``.
    """
    from ..chart import test_chart
    from ..lint import check_converter

    conv = get_convention(convention_or_expected(convention, expected))
    diagnosis = check_converter(fn, convention=conv, order=order)
    chart = test_chart()
    given = np.ascontiguousarray(chart[..., ::-1]) if order == "bgr" else chart.copy()
    notes: list[str] = []
    name = getattr(fn, "__name__", "your converter")
    frame = None
    try:
        try:
            out = fn(given)
        except Exception:  # noqa: BLE001 - it may take a PIL image instead (check_converter accepted it)
            from PIL import Image

            out = fn(Image.fromarray(given))
        frame = _as_frame(out, *chart.shape[:2])
        errors, planes = _check_figures(chart, frame, conv, name)
    except Exception as exc:  # noqa: BLE001 - the diagnosis above already explains odd output
        errors = planes = None
        notes.append(f"no error maps: the output on the test chart is not plain NV12 of its size ({exc})")
    return ConverterCheck(diagnosis, f"{name} on the test chart", conv.name, chart, frame, errors, planes, notes)


def _load_plane(source: Any, what: str) -> np.ndarray | bytes:
    """A plane from a .npy file (no pickles), a raw file (bytes) or an array."""
    if isinstance(source, (str, os.PathLike)):
        from .._io import read_bytes, read_npy

        path = pathlib.Path(source).expanduser()
        if not path.exists():
            raise InputError(f"{what} file {str(source)!r} does not exist")
        # through the one door: regular files only, sizes checked before anything is allocated
        if path.suffix.lower() == ".npy":
            try:
                return read_npy(path)
            except InputError as exc:
                raise InputError(f"{what} file {str(source)!r} is not a readable .npy file: {exc}") from exc
        return read_bytes(path, what=f"{what} file")
    return np.asarray(source)


def dumps_check(
    y: Any,
    uv: Any,
    *,
    image: Any = None,
    convention: str | Convention = DEFAULT_CONVENTION,
    width: int | None = None,
    height: int | None = None,
    stride: int | None = None,
    expected: str | Convention | None = None,
) -> ConverterCheck:
    """Diagnose Y and UV planes dumped from your pipeline, against the image they were made from.

    Parameters
    ----------
    y, uv : path or array
        The planes: ``.npy`` files (loaded without pickles), raw byte files
        (``.bin``, ``.yuv``...), or arrays in any shape
        :func:`nv12kit.lint.diagnose` reads.
    image : path, PIL image or (H, W, 3) uint8 array, optional
        The RGB image the planes were converted from. Without it only what
        the bytes alone can tell is checked (range, flat chroma, stride...).
    convention : str or Convention, optional
        The convention the chip assumes (default ``"horizon"``).
    width, height : int, optional
        Frame size of raw dumps; taken from ``image`` when omitted.
    stride : int, optional
        Bytes per Y row of raw dumps, when rows are padded.
    expected : str or Convention, optional
        Deprecated old name of ``convention``, kept for one release.

    Returns
    -------
    ConverterCheck

    Raises
    ------
    InputError
        Missing or unreadable files, raw dumps without a size, planes whose
        sizes do not fit (the message has the arithmetic); both
        ``convention`` and ``expected`` given.

    Warns
    -----
    DeprecationWarning
        ``expected=`` was given: say ``convention=``.
    """
    from ..images import crop_to_even, load_image
    from ..lint import diagnose

    conv = get_convention(convention_or_expected(convention, expected))
    rgb = None
    if image is not None:
        rgb = load_image(image)
        if rgb.shape[0] % 2 or rgb.shape[1] % 2:
            rgb = crop_to_even(rgb)
        height = rgb.shape[0] if height is None else height
        width = rgb.shape[1] if width is None else width
    y_data, uv_data = _load_plane(y, "Y"), _load_plane(uv, "UV")
    raw = isinstance(y_data, bytes) or isinstance(uv_data, bytes)
    if raw:
        if width is None or height is None:
            raise InputError("raw Y/UV dumps need the frame size: give the image they came from, or width= and "
                             "height=")
        to_bytes = [d if isinstance(d, bytes) else np.ascontiguousarray(d, np.uint8).tobytes()
                    for d in (y_data, uv_data)]
        nv12: Any = to_bytes[0] + to_bytes[1]
    else:
        nv12 = (y_data, uv_data)
    diagnosis = diagnose(rgb, nv12, convention=conv, width=width, height=height, stride=stride)
    notes: list[str] = []
    frame = errors = planes = None
    try:
        frame = (NV12Frame.from_bytes(nv12, width, height, stride=stride) if raw  # type: ignore[arg-type]
                 else NV12Frame(*nv12))
        if rgb is not None:
            errors, planes = _check_figures(rgb, frame, conv, "your dump")
        else:
            planes = plots.plot_planes(frame, title="planes of your dump")
            notes.append("no error maps without the image the dump was made from (image=)")
    except Exception as exc:  # noqa: BLE001 - the diagnosis explains what is wrong with the bytes
        notes.append(f"no error maps: the dump cannot be read as plain NV12 ({exc})")
    subject = "your Y/UV dump" + (" against its image" if rgb is not None else " (no image)")
    return ConverterCheck(diagnosis, subject, conv.name, rgb, frame, errors, planes, notes)
