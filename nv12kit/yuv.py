"""NV12 frames and raw YUV 4:2:0 byte layouts.

:class:`NV12Frame` holds one 8-bit YUV 4:2:0 picture the way NV12 hardware
sees it: a full-resolution luma plane ``y`` of shape ``(H, W)`` and a
half-resolution chroma plane ``uv`` of shape ``(H/2, W/2, 2)`` with U (Cb) at
``[..., 0]`` and V (Cr) at ``[..., 1]``. It knows nothing about colour
matrices or ranges; those live in :mod:`nv12kit.conventions` and
:mod:`nv12kit.convert`.

Raw files and buffers can be read and written in four layouts, all of which
carry the same samples and the same number of bytes:

======  ===========================================================
nv12    Y plane, then one interleaved chroma plane ``U0 V0 U1 V1 ...``
nv21    Y plane, then one interleaved chroma plane ``V0 U0 V1 U1 ...``
i420    Y plane, then the U plane, then the V plane (a.k.a. IYUV, yuv420p)
yv12    Y plane, then the V plane, then the U plane
======  ===========================================================
"""

from __future__ import annotations

import operator
import os
import pathlib
from typing import Any

import numpy as np

from ._io import MAX_READ_BYTES, atomic_write, open_regular
from .errors import InputError
from .images import uint8_dtype_fix
from .yuv_layouts import read_yuv_layout

__all__ = [
    "LAYOUTS",
    "NV12Frame",
    "frame_nbytes",
    "read_yuv",
    "write_yuv",
]

LAYOUTS: tuple[str, ...] = ("nv12", "nv21", "i420", "yv12")

_SEMI_PLANAR = ("nv12", "nv21")

# Other names people use for our layouts, only to make the error helpful.
_LAYOUT_ALIASES = {
    "yuv420p": "i420",
    "iyuv": "i420",
    "yuv420": "i420",
    "i420p": "i420",
    "yvu420p": "yv12",
    "yuv420sp": "nv12",
    "yvu420sp": "nv21",
}

_EVEN_FIX = (
    "NV12 needs an even width and height because chroma is stored once per "
    "2x2 block. Pad or crop the RGB image before conversion: "
    "nv12kit.pad_to_even(image) or nv12kit.crop_to_even(image)."
)


# ---------------------------------------------------------------------------
# argument checks
# ---------------------------------------------------------------------------


def _as_int(value: Any, what: str) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise InputError(f"{what} must be an integer, got {value!r}")
    try:
        return operator.index(value)
    except TypeError as exc:
        raise InputError(
            f"{what} must be an integer, got {value!r} ({type(value).__name__})"
        ) from exc


def _check_layout(layout: Any) -> str:
    if isinstance(layout, str) and layout.lower() in LAYOUTS:
        return layout.lower()
    msg = f"unknown layout {layout!r}; valid layouts are {', '.join(LAYOUTS)}"
    if isinstance(layout, str):
        key = layout.lower().replace("-", "").replace("_", "")
        if key in _LAYOUT_ALIASES:
            msg += f" ({layout!r} is called {_LAYOUT_ALIASES[key]!r} here)"
        elif key in ("nv16", "nv61", "yuyv", "uyvy", "yuy2", "yuv422", "yuv422p", "i422"):
            msg += f" ({layout!r} is YUV 4:2:2; nv12kit handles 4:2:0 only)"
    raise InputError(msg)


def _check_geometry(
    width: Any, height: Any, layout: Any, stride: Any
) -> tuple[int, int, str, int]:
    """Validate frame geometry; return (width, height, layout, stride)."""
    w = _as_int(width, "width")
    h = _as_int(height, "height")
    lay = _check_layout(layout)
    if w <= 0 or h <= 0:
        raise InputError(f"width and height must be positive, got width={w}, height={h}")
    if w % 2 or h % 2:
        raise InputError(
            f"frame size {w}x{h} (width x height) has an odd "
            f"{'width' if w % 2 else 'height'}. {_EVEN_FIX} If a raw file really "
            "holds an odd-sized picture, it is not standard 4:2:0 and must be "
            "re-encoded."
        )
    if stride is None:
        return w, h, lay, w
    s = _as_int(stride, "stride")
    if s < w:
        raise InputError(
            f"stride={s} is smaller than width={w}; the stride is the number of "
            "bytes from the start of one Y row to the next and must be >= width "
            "(pass stride=None for unpadded rows)"
        )
    if lay not in _SEMI_PLANAR and s % 2:
        raise InputError(
            f"stride={s} is odd, but planar layout {lay!r} uses stride // 2 bytes "
            "per U and V row, so the stride must be even"
        )
    return w, h, lay, s


def _check_frame_budget(w: int, h: int, s: int) -> None:
    """Refuse a frame too large to allocate before numpy tries (a mistyped stride, width or height)."""
    nbytes = s * h * 3 // 2
    if nbytes > MAX_READ_BYTES:
        raise InputError(
            f"one frame of {w}x{h} (width x height) with stride={s} takes {nbytes} bytes (stride * height * 3 / 2), "
            f"more than the {MAX_READ_BYTES // 1024**3} GiB a raw frame may take; check width, height and stride "
            "(the stride is the bytes per Y row: the width, or the width rounded up to the row alignment)"
        )


def _as_uint8_array(x: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"{name} must be a uint8 numpy array, got {type(x).__name__}: {exc}"
        ) from exc
    if arr.dtype != np.uint8:
        raise InputError(
            f"{name} has dtype {arr.dtype} (shape {arr.shape}) but NV12 planes must be "
            f"uint8; {uint8_dtype_fix(arr)}"
        )
    return arr


def _squeeze_y(y: np.ndarray) -> np.ndarray:
    if y.ndim == 2:
        return y
    if y.ndim == 3 and y.shape[2] == 1:
        return y[:, :, 0]
    if y.ndim == 4 and y.shape[0] == 1 and y.shape[3] == 1:
        return y[0, :, :, 0]
    hint = ""
    if y.ndim == 3 and y.shape[2] in (3, 4):
        hint = " It looks like an RGB image; convert it with nv12kit.rgb_to_nv12 first."
    elif y.ndim == 4 and y.shape[0] == 1 and y.shape[1] == 1:
        hint = " It looks like an NCHW tensor; pass y[0, 0]."
    elif y.ndim == 4 and y.shape[0] > 1:
        hint = " NV12Frame holds one frame; pass one item of the batch."
    raise InputError(
        f"y has shape {y.shape}; expected (H, W), or the vendor tensor shapes "
        f"(H, W, 1) or (1, H, W, 1).{hint}"
    )


def _squeeze_uv(uv: np.ndarray, h: int, w: int) -> np.ndarray:
    want = (h // 2, w // 2, 2)
    if uv.shape == want:
        return uv
    if uv.ndim == 4 and uv.shape[0] == 1 and uv.shape[1:] == want:
        return uv[0]
    hint = ""
    if uv.shape == (h // 2, w):
        hint = (
            " It looks like interleaved UV rows of bytes; pass "
            f"uv.reshape({h // 2}, {w // 2}, 2)."
        )
    elif uv.shape in ((2, h // 2, w // 2), (1, 2, h // 2, w // 2)):
        hint = (
            " It looks like channels-first chroma; use np.moveaxis(uv, -3, -1) or "
            "NV12Frame.from_planes(y, u, v)."
        )
    elif uv.ndim >= 3 and uv.shape[-3:-1] == (h, w):
        hint = " It has full-resolution chroma (4:4:4); subsample it to 4:2:0 first."
    elif uv.ndim == 3 and uv.shape[2] == 2 and uv.shape[:2] == ((h + 1) // 2, (w + 1) // 2):
        hint = " Its size does not match Y."
    raise InputError(
        f"uv has shape {uv.shape} but y is {h}x{w} (H x W), so uv must be "
        f"{want} (U at [..., 0], V at [..., 1]) or the vendor shape "
        f"(1, {h // 2}, {w // 2}, 2).{hint}"
    )


def _check_hw(h: int, w: int) -> None:
    if h <= 0 or w <= 0:
        raise InputError(f"y has an empty shape ({h}, {w}); a frame needs at least 2x2 pixels")
    if h % 2 or w % 2:
        raise InputError(
            f"y is {w}x{h} (width x height), which has an odd "
            f"{'width' if w % 2 else 'height'}. {_EVEN_FIX}"
        )


def _frozen_copy(arr: np.ndarray) -> np.ndarray:
    # Always copy: freezing the caller's own array (or a view of it) would
    # change their data's flags, and a view could still be written through.
    out = np.array(arr, dtype=np.uint8, order="C", copy=True)
    out.setflags(write=False)
    return out


# ---------------------------------------------------------------------------
# NV12Frame
# ---------------------------------------------------------------------------


class NV12Frame:
    """One 8-bit YUV 4:2:0 frame: a Y plane and an interleaved UV plane.

    Parameters
    ----------
    y : numpy.ndarray
        Luma, uint8, shape ``(H, W)``. The vendor tensor shapes ``(H, W, 1)``
        and ``(1, H, W, 1)`` are accepted and squeezed.
    uv : numpy.ndarray
        Chroma, uint8, shape ``(H/2, W/2, 2)`` with U (Cb) at ``[..., 0]`` and
        V (Cr) at ``[..., 1]``. The vendor shape ``(1, H/2, W/2, 2)`` is
        accepted and squeezed.

    Raises
    ------
    InputError
        If a plane is not uint8, has the wrong shape, or H or W is odd or zero.

    See Also
    --------
    NV12Frame.from_planes : build from separate U and V planes.
    NV12Frame.from_bytes : parse a raw nv12/nv21/i420/yv12 buffer.

    Notes
    -----
    The constructor copies both planes into C-contiguous arrays and marks the
    copies read-only, so a frame never aliases (or changes the flags of) the
    caller's arrays and cannot be modified afterwards. ``u`` and ``v`` are
    read-only views into ``uv``. Values are not interpreted: which colour
    matrix, range and chroma siting produced them is a matter of the
    convention used by :mod:`nv12kit.convert`.

    Frames compare equal (``==``) when both planes are identical; they are
    unhashable.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.full((4, 6), 100, dtype=np.uint8)
    >>> uv = np.full((2, 3, 2), 128, dtype=np.uint8)
    >>> frame = NV12Frame(y, uv)
    >>> frame
    NV12Frame(6x4, Y mean 100.0, U mean 128.0, V mean 128.0)
    >>> frame.shape, frame.uv.shape, frame.nbytes
    ((4, 6), (2, 3, 2), 36)
    >>> frame.y.flags.writeable
    False
    """

    __slots__ = ("_y", "_uv")
    __hash__ = None  # type: ignore[assignment]  # equality is by value

    def __init__(self, y: np.ndarray, uv: np.ndarray) -> None:
        y_arr = _squeeze_y(_as_uint8_array(y, "y"))
        h, w = y_arr.shape
        _check_hw(h, w)
        uv_arr = _squeeze_uv(_as_uint8_array(uv, "uv"), h, w)
        self._y = _frozen_copy(y_arr)
        self._uv = _frozen_copy(uv_arr)

    @classmethod
    def _from_owned(cls, y: np.ndarray, uv: np.ndarray) -> NV12Frame:
        """Wrap arrays this module just created, without validating or copying.

        The caller guarantees: uint8, C-contiguous, correct shapes, no other
        reference that could write to them.
        """
        self = cls.__new__(cls)
        y.setflags(write=False)
        uv.setflags(write=False)
        self._y = y
        self._uv = uv
        return self

    @classmethod
    def from_planes(cls, y: np.ndarray, u: np.ndarray, v: np.ndarray) -> NV12Frame:
        """Build a frame from a Y plane and separate U and V planes.

        Parameters
        ----------
        y : numpy.ndarray
            Luma, uint8, ``(H, W)`` (or ``(H, W, 1)`` / ``(1, H, W, 1)``).
        u, v : numpy.ndarray
            Chroma planes, uint8, ``(H/2, W/2)`` each.

        Returns
        -------
        NV12Frame

        Raises
        ------
        InputError
            On a wrong dtype or shape, or odd H or W.

        Examples
        --------
        >>> import numpy as np
        >>> y = np.zeros((2, 2), np.uint8)
        >>> f = NV12Frame.from_planes(y, np.array([[1]], np.uint8), np.array([[2]], np.uint8))
        >>> f.uv.tolist()
        [[[1, 2]]]
        """
        y_arr = _squeeze_y(_as_uint8_array(y, "y"))
        h, w = y_arr.shape
        _check_hw(h, w)
        want = (h // 2, w // 2)
        planes = []
        for name, plane in (("u", u), ("v", v)):
            arr = _as_uint8_array(plane, name)
            if arr.shape != want:
                raise InputError(
                    f"{name} has shape {arr.shape} but y is {h}x{w} (H x W), so "
                    f"{name} must be {want} (half the height and half the width)"
                )
            planes.append(arr)
        uv = np.empty(want + (2,), dtype=np.uint8)
        uv[..., 0] = planes[0]
        uv[..., 1] = planes[1]
        return cls._from_owned(np.array(y_arr, order="C", copy=True), uv)

    # -- read-only views ----------------------------------------------------

    @property
    def y(self) -> np.ndarray:
        """Luma plane, ``(H, W)`` uint8, read-only."""
        return self._y

    @property
    def uv(self) -> np.ndarray:
        """Interleaved chroma, ``(H/2, W/2, 2)`` uint8, U first, read-only."""
        return self._uv

    @property
    def u(self) -> np.ndarray:
        """U (Cb) plane, ``(H/2, W/2)`` read-only view into :attr:`uv`."""
        return self._uv[..., 0]

    @property
    def v(self) -> np.ndarray:
        """V (Cr) plane, ``(H/2, W/2)`` read-only view into :attr:`uv`."""
        return self._uv[..., 1]

    @property
    def height(self) -> int:
        """Frame height H in pixels."""
        return int(self._y.shape[0])

    @property
    def width(self) -> int:
        """Frame width W in pixels."""
        return int(self._y.shape[1])

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)``, like an image array's first two axes."""
        return (self.height, self.width)

    @property
    def nbytes(self) -> int:
        """Bytes of sample data, ``H * W * 3 / 2`` (without any stride padding)."""
        return int(self._y.nbytes + self._uv.nbytes)

    # -- python protocol ----------------------------------------------------

    def __repr__(self) -> str:
        return (
            f"NV12Frame({self.width}x{self.height}, "
            f"Y mean {self._y.mean():.1f}, "
            f"U mean {self.u.mean():.1f}, "
            f"V mean {self.v.mean():.1f})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NV12Frame):
            return NotImplemented
        return bool(
            self._y.shape == other._y.shape
            and np.array_equal(self._y, other._y)
            and np.array_equal(self._uv, other._uv)
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Unpickled/copied frames go through validation and are frozen again.
        return (type(self), (self._y, self._uv))

    def copy(self) -> NV12Frame:
        """Return an independent frame with copies of both planes."""
        return type(self)._from_owned(self._y.copy(), self._uv.copy())

    # -- vendor feed --------------------------------------------------------

    def to_feed(self, name: str) -> dict[str, np.ndarray]:
        """Return the two input tensors of an NV12 model input called ``name``.

        Parameters
        ----------
        name : str
            Name of the original image input, before the NV12 node was
            inserted.

        Returns
        -------
        dict of str to numpy.ndarray
            ``{name + "_y": (1, H, W, 1) uint8, name + "_uv": (1, H/2, W/2, 2) uint8}``,
            read-only views of the planes.

        Raises
        ------
        InputError
            If ``name`` is not a non-empty string.

        Notes
        -----
        This is the layout of Horizon hbdk4's ``insert_image_convert("nv12")``:
        it replaces the input ``<name>`` by ``<name>_y`` and ``<name>_uv``,
        NHWC, U first. Other vendors name the inputs differently (TI uses
        ``_Y_IN``/``_UV_IN``); build that dict from :attr:`y` and :attr:`uv`.

        Examples
        --------
        >>> import numpy as np
        >>> f = NV12Frame(np.zeros((4, 6), np.uint8), np.zeros((2, 3, 2), np.uint8))
        >>> {k: v.shape for k, v in f.to_feed("images").items()}
        {'images_y': (1, 4, 6, 1), 'images_uv': (1, 2, 3, 2)}
        """
        if not isinstance(name, str) or not name:
            raise InputError(
                f"name must be a non-empty string (the model input name), got {name!r}"
            )
        h, w = self.shape
        return {
            f"{name}_y": self._y.reshape(1, h, w, 1),
            f"{name}_uv": self._uv.reshape(1, h // 2, w // 2, 2),
        }

    # -- raw bytes ----------------------------------------------------------

    def to_bytes(self, *, layout: str = "nv12", stride: int | None = None) -> bytes:
        """Serialise the frame as raw YUV 4:2:0 bytes.

        Parameters
        ----------
        layout : {"nv12", "nv21", "i420", "yv12"}
            Byte layout, see Notes.
        stride : int, optional
            Bytes per Y row, ``>= width``; ``None`` means ``width`` (no
            padding). Must be even for the planar layouts.

        Returns
        -------
        bytes
            ``frame_nbytes(width, height, layout=layout, stride=stride)`` bytes.

        Raises
        ------
        InputError
            Unknown layout, ``stride < width``, or an odd stride with a planar
            layout.

        Notes
        -----
        With ``s = stride`` (or ``width``) and ``H`` the height:

        - Y plane: ``H`` rows of ``s`` bytes, the first ``W`` of each holding
          the samples.
        - ``nv12``: ``H/2`` chroma rows of ``s`` bytes, the first ``W``
          holding ``U V U V ...``. ``nv21`` is the same with ``V U V U ...``.
        - ``i420``: a U plane then a V plane, each ``H/2`` rows of ``s // 2``
          bytes, the first ``W/2`` holding samples. ``yv12``: V plane, then U.

        Padding bytes are zero. Every layout therefore takes ``s * H * 3 / 2``
        bytes. Planes follow each other with no gap or vertical padding.

        Examples
        --------
        >>> import numpy as np
        >>> f = NV12Frame(np.arange(4, dtype=np.uint8).reshape(2, 2),
        ...               np.array([[[10, 20]]], dtype=np.uint8))
        >>> f.to_bytes()
        b'\\x00\\x01\\x02\\x03\\n\\x14'
        >>> f.to_bytes(layout="nv21", stride=4)
        b'\\x00\\x01\\x00\\x00\\x02\\x03\\x00\\x00\\x14\\n\\x00\\x00'
        """
        w, h, lay, s = _check_geometry(self.width, self.height, layout, stride)
        _check_frame_budget(w, h, s)
        total = s * h * 3 // 2
        out = np.empty(total, dtype=np.uint8) if s == w else np.zeros(total, dtype=np.uint8)
        ysize = s * h
        out[:ysize].reshape(h, s)[:, :w] = self._y
        chroma = out[ysize:]
        if lay in _SEMI_PLANAR:
            rows = chroma.reshape(h // 2, s)[:, :w]
            if lay == "nv12":
                rows[...] = self._uv.reshape(h // 2, w)
            else:
                # Two strided copies are ~6x faster than copying uv[..., ::-1].
                rows[:, 0::2] = self._uv[..., 1]
                rows[:, 1::2] = self._uv[..., 0]
        else:
            cs = s // 2
            plane = cs * (h // 2)
            first, second = (0, 1) if lay == "i420" else (1, 0)
            chroma[:plane].reshape(h // 2, cs)[:, : w // 2] = self._uv[..., first]
            chroma[plane:].reshape(h // 2, cs)[:, : w // 2] = self._uv[..., second]
        return out.tobytes()

    @classmethod
    def from_bytes(
        cls,
        buf: bytes | bytearray | memoryview | np.ndarray,
        width: int,
        height: int,
        *,
        layout: str = "nv12",
        stride: int | None = None,
    ) -> NV12Frame:
        """Parse a raw YUV 4:2:0 buffer; the inverse of :meth:`to_bytes`.

        Parameters
        ----------
        buf : bytes, bytearray, memoryview or numpy.ndarray
            Exactly one frame of raw bytes. A numpy array must be 1-D uint8
            (use ``arr.ravel()`` for OpenCV's ``(H*3/2, W)`` arrays).
        width, height : int
            Frame size in pixels; both even.
        layout : {"nv12", "nv21", "i420", "yv12"}
            Byte layout, see :meth:`to_bytes`.
        stride : int, optional
            Bytes per Y row (``None`` = ``width``); padding bytes are ignored.

        Returns
        -------
        NV12Frame
            A frame owning copies of the samples (``buf`` is not referenced).

        Raises
        ------
        InputError
            If the buffer size is not ``frame_nbytes(...)`` (the message states
            both sizes and guesses the cause), or on an odd size, a bad stride
            or an unknown layout.

        Examples
        --------
        >>> f = NV12Frame.from_bytes(bytes([0, 1, 2, 3, 10, 20]), 2, 2)
        >>> f.y.tolist(), f.uv.tolist()
        ([[0, 1], [2, 3]], [[[10, 20]]])
        >>> NV12Frame.from_bytes(bytes([0, 1, 2, 3, 20, 10]), 2, 2, layout="nv21") == f
        True
        """
        arr = _buffer_as_uint8(buf)
        return _parse(arr, width, height, layout, stride, source=None)



def _buffer_as_uint8(buf: Any) -> np.ndarray:
    """View a bytes-like object or 1-D uint8 array as a 1-D uint8 array."""
    if isinstance(buf, np.ndarray):
        if buf.dtype != np.uint8:
            raise InputError(
                f"raw YUV buffer array has dtype {buf.dtype}; it must hold bytes "
                "(np.uint8). Planes of another dtype are not raw YUV bytes."
            )
        if buf.ndim != 1:
            raise InputError(
                f"raw YUV buffer array has shape {buf.shape}; pass a 1-D array "
                "(buf.ravel() if it holds the whole frame row by row, as OpenCV's "
                "(H*3/2, W) arrays do), or build the frame with NV12Frame(y, uv)"
            )
        return buf
    if isinstance(buf, (str, os.PathLike)):
        raise InputError(
            f"expected raw bytes, got {type(buf).__name__} {buf!r}; to read a file "
            "use nv12kit.yuv.read_yuv(path, width, height)"
        )
    try:
        view = memoryview(buf)
    except TypeError as exc:
        raise InputError(
            f"expected bytes, bytearray, memoryview or a 1-D uint8 array, got "
            f"{type(buf).__name__}"
        ) from exc
    if not view.c_contiguous:
        raise InputError("raw YUV buffer memoryview is not contiguous; pass bytes(view)")
    return np.frombuffer(view, dtype=np.uint8)


def _parse(
    arr: np.ndarray,
    width: Any,
    height: Any,
    layout: Any,
    stride: Any,
    *,
    source: str | None,
) -> NV12Frame:
    w, h, lay, s = _check_geometry(width, height, layout, stride)
    expected = s * h * 3 // 2
    if arr.size != expected:
        raise InputError(frame_size_message(arr.size, w, h, lay, s, stride, source))
    ysize = s * h
    # np.array(..., copy=True) detaches the frame from the caller's buffer.
    y = np.array(arr[:ysize].reshape(h, s)[:, :w], order="C", copy=True)
    chroma = arr[ysize:]
    if lay in _SEMI_PLANAR:
        rows = chroma.reshape(h // 2, s)[:, :w]
        if lay == "nv12":
            uv = np.array(rows, order="C", copy=True).reshape(h // 2, w // 2, 2)
        else:
            uv = np.empty((h // 2, w // 2, 2), dtype=np.uint8)
            uv[..., 0] = rows[:, 1::2]
            uv[..., 1] = rows[:, 0::2]
    else:
        cs = s // 2
        plane = cs * (h // 2)
        p0 = chroma[:plane].reshape(h // 2, cs)[:, : w // 2]
        p1 = chroma[plane:].reshape(h // 2, cs)[:, : w // 2]
        uv = np.empty((h // 2, w // 2, 2), dtype=np.uint8)
        uv[..., 0], uv[..., 1] = (p0, p1) if lay == "i420" else (p1, p0)
    return NV12Frame._from_owned(y, uv)


def _round_up(x: int, a: int) -> int:
    return -(-x // a) * a


def _size_hints(actual: int, w: int, h: int, s: int, lay: str, stride_given: Any) -> list[str]:
    """Guess why a raw buffer has ``actual`` bytes instead of the expected count.

    Hints come in three tiers: other formats and odd sizes (``strong``),
    padding to a usual alignment (``likely``), and padding that explains the
    size but is unusually large (``weak``, only shown when nothing else fits).
    """
    expected = s * h * 3 // 2
    if actual == 0:
        return ["the buffer is empty"]
    strong: list[str] = []
    likely: list[str] = []
    weak: list[str] = []
    px = w * h
    if actual == px * 3:
        strong.append("it looks like packed RGB/BGR (3 bytes per pixel), not YUV 4:2:0")
    if actual == px * 4:
        strong.append("it looks like packed RGBA/BGRA (4 bytes per pixel), not YUV 4:2:0")
    if actual == px * 2:
        strong.append(
            "it looks like YUV 4:2:2 (YUYV/UYVY) or NV16 (2 bytes per pixel); "
            "nv12kit reads 4:2:0 only"
        )
    if actual == px:
        strong.append("it looks like a Y (grey) plane only, with no chroma")
    # Odd-sized pictures next to the requested size.
    for dh in (-1, 0, 1):
        for dw in (-1, 0, 1):
            w1, h1 = w + dw, h + dh
            if (w1 % 2 == 0 and h1 % 2 == 0) or w1 <= 0 or h1 <= 0:
                continue
            variants = {
                w1 * h1 + 2 * ((w1 + 1) // 2) * ((h1 + 1) // 2): "chroma rounded up",
                w1 * h1 + 2 * (w1 // 2) * (h1 // 2): "chroma rounded down",
                w1 * h1 + px // 2: f"chroma for {w}x{h}",
            }
            if actual in variants:
                strong.append(
                    f"it looks like an odd-sized picture of {w1}x{h1} "
                    f"(Y of {w1}x{h1}, {variants[actual]}); NV12 needs even sizes: "
                    "pad or crop the RGB image with nv12kit.pad_to_even / "
                    "nv12kit.crop_to_even before encoding"
                )
    if actual > expected and actual % expected == 0:
        n = actual // expected
        strong.append(
            f"it holds exactly {n} frames (a raw video?); take one frame of "
            f"{expected} bytes: buf[i * {expected}:(i + 1) * {expected}]"
        )
    # Row padding: any integer stride that explains the size.
    if (2 * actual) % (3 * h) == 0:
        s2 = 2 * actual // (3 * h)
        if s2 > w and s2 != s and (lay in _SEMI_PLANAR or s2 % 2 == 0):
            msg = f"it looks like rows padded to stride={s2}; pass stride={s2}"
            (likely if s2 <= _round_up(w, 1024) else weak).append(msg)
        elif s2 == w and s != w:
            likely.append(
                f"it matches unpadded rows; pass stride=None instead of stride={stride_given}"
            )
        elif 0 < s2 < w and s2 % 2 == 0:
            weak.append(f"it would match width={s2} at height={h}; check the width")
    # Plane-height padding: decoders often align it (1080 -> 1088).
    if (2 * actual) % (3 * s) == 0:
        h2 = 2 * actual // (3 * s)
        if h2 > h and h2 % 2 == 0:
            msg = (
                f"it matches planes of {h2} rows (height padded from {h} to {h2}, as in "
                f"aligned decoder buffers); read it with height={h2} and crop: "
                f"NV12Frame(f.y[:{h}], f.uv[:{h // 2}])"
            )
            (likely if h2 <= _round_up(h, 64) else weak).append(msg)
        elif 0 < h2 < h and h2 % 2 == 0:
            weak.append(f"it would match height={h2} at this stride; check the height")
    # Both paddings at once, at usual alignments.
    found = False
    for a_s in (16, 32, 64, 128, 256, 512, 1024):
        s3 = _round_up(w, a_s)
        for a_h in (16, 32, 64):
            h3 = _round_up(h, a_h)
            if not found and s3 > s and h3 > h and s3 * h3 * 3 // 2 == actual:
                likely.append(
                    f"it matches stride={s3} with planes of {h3} rows; read it with "
                    f"height={h3}, stride={s3} and crop: "
                    f"NV12Frame(f.y[:{h}], f.uv[:{h // 2}])"
                )
                found = True
    hints = strong + likely
    if not hints:
        hints = weak
    if not hints:
        diff = actual - expected
        what = (
            f"{diff} extra bytes (a header or trailer?)"
            if diff > 0
            else f"{-diff} bytes missing (a truncated file?)"
        )
        hints.append(
            f"no common layout matches; {what}. Check width, height and stride "
            "(swapped width and height cannot be detected from the size)"
        )
    return hints


def frame_size_message(
    actual: int, w: int, h: int, lay: str, s: int, stride_given: Any, source: str | None
) -> str:
    """The one message for a raw buffer or file whose size is not one frame: both counts and the likely cause."""
    expected = s * h * 3 // 2
    where = f"file {source!r}" if source is not None else "the buffer"
    if stride_given is None:
        stride_txt = f"stride=None (= width {w})"
    else:
        stride_txt = f"stride={stride_given}"
    hints = _size_hints(actual, w, h, s, lay, stride_given)
    return (
        f"{where} has {actual} bytes, but one {lay} frame of {w}x{h} (width x height) "
        f"with {stride_txt} needs {expected} bytes (stride * height * 3 / 2). "
        "Likely cause: " + "; or ".join(hints) + "."
    )


def frame_nbytes(
    width: int, height: int, *, layout: str = "nv12", stride: int | None = None
) -> int:
    """Number of bytes of one raw YUV 4:2:0 frame.

    Parameters
    ----------
    width, height : int
        Frame size in pixels; both even and positive.
    layout : {"nv12", "nv21", "i420", "yv12"}
        Byte layout (all four give the same size; it is validated).
    stride : int, optional
        Bytes per Y row, ``>= width`` (``None`` = ``width``). Even for the
        planar layouts.

    Returns
    -------
    int
        ``stride * height * 3 // 2``.

    Raises
    ------
    InputError
        On odd or non-positive sizes, a bad stride or an unknown layout.

    Examples
    --------
    >>> frame_nbytes(640, 480)
    460800
    >>> frame_nbytes(1920, 1080, layout="i420", stride=2048)
    3317760
    """
    w, h, _, s = _check_geometry(width, height, layout, stride)
    return s * h * 3 // 2


def read_yuv(
    path_or_bytes: str | os.PathLike[str] | bytes | Any,
    width: int,
    height: int,
    *,
    layout: str = "nv12",
    stride: int | None = None,
    uv_stride: int | None = None,
    uv_offset: int | None = None,
    y_offset: int = 0,
    v_offset: int | None = None,
    preset: str | None = None,
) -> NV12Frame:
    """Read one raw YUV 4:2:0 frame from a file, a buffer, or planes in separate buffers.

    Parameters
    ----------
    path_or_bytes : str, os.PathLike, bytes-like, 1-D uint8 array, or a pair of them
        A raw file (``.nv12``, ``.yuv``, ...) or buffer holding one frame; a
        ``(y_bytes, uv_bytes)`` pair when the planes are in separate buffers
        (V4L2 ``NV12M``, Android ``Image`` planes).
    width, height : int
        Frame size in pixels; both even.
    layout : {"nv12", "nv21", "i420", "yv12"}
        Byte layout, see :meth:`NV12Frame.to_bytes`.
    stride : int, optional
        Bytes per Y row (``None`` = ``width``, or the preset's).
    uv_stride, uv_offset, y_offset, v_offset : int, optional
        Bytes per chroma row and where the planes start, for buffers whose
        chroma does not follow the luma directly (see
        :func:`nv12kit.yuv_layouts.plane_layout`).
    preset : str, optional
        A named allocator layout: ``"packed"``, ``"ffmpeg"``, ``"v4l2"``,
        ``"android"``, ``"qcom-venus"`` (:data:`nv12kit.yuv_layouts.LAYOUT_PRESETS`;
        what each aligns, with sources, in :mod:`nv12kit.yuv_layouts`).

    Returns
    -------
    NV12Frame

    Raises
    ------
    InputError
        If the file is missing, unreadable or not a regular file (a FIFO,
        device or directory is refused before it is read), or a packed
        file's size is not :func:`frame_nbytes` (the message names the path,
        both sizes and a likely cause), or a buffer is too small for its
        layout, or on bad geometry, layout or preset.

    Notes
    -----
    Raw files carry no header.  A packed frame (a path with only ``layout``
    and ``stride``) must have exactly :func:`frame_nbytes` bytes, never
    reshaped to fit; with bytes, a pair, a preset or plane offsets, the
    buffer may be longer than the frame, as allocators round sizes up.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> f = NV12Frame(np.full((2, 4), 7, np.uint8), np.full((1, 2, 2), 128, np.uint8))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_yuv(pathlib.Path(d) / "f.nv12", f, stride=8)
    ...     read_yuv(p, 4, 2, stride=8) == f
    True
    >>> buf = bytes(f.y.tobytes() + bytes(64) + f.uv.tobytes())  # a 64-byte gap between the planes
    >>> read_yuv(buf, 4, 2, uv_offset=72) == f
    True
    """
    path = path_or_bytes
    if (
        not isinstance(path, (str, os.PathLike))
        or uv_stride is not None
        or uv_offset is not None
        or y_offset
        or v_offset is not None
        or preset is not None
    ):
        w, h, lay, _ = _check_geometry(width, height, layout, None)
        _check_frame_budget(w, h, w if stride is None else _as_int(stride, "stride"))
        y, uv = read_yuv_layout(path, w, h, layout=lay, preset=preset, stride=stride, uv_stride=uv_stride,
                                y_offset=y_offset, uv_offset=uv_offset, v_offset=v_offset)
        return NV12Frame._from_owned(y, uv)
    w, h, lay, s = _check_geometry(width, height, layout, stride)
    try:
        p = pathlib.Path(os.fspath(path))
    except TypeError as exc:
        raise InputError(f"path must be a str or os.PathLike, got {type(path).__name__}") from exc
    expected = s * h * 3 // 2
    # open_regular refuses a FIFO, device or directory before it can block; sizes are checked before reading.
    with open_regular(p, what="raw YUV file") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size != expected:
            raise InputError(frame_size_message(size, w, h, lay, s, stride, str(p)))
        _check_frame_budget(w, h, s)
        try:
            data = fh.read(expected)
        except OSError as exc:
            raise InputError(f"cannot read raw YUV file {str(p)!r}: {exc}") from exc
    if len(data) != expected:  # the file shrank while we read it
        raise InputError(frame_size_message(len(data), w, h, lay, s, stride, str(p)))
    return _parse(np.frombuffer(data, dtype=np.uint8), w, h, lay, stride, source=str(p))


def write_yuv(
    path: str | os.PathLike[str],
    frame: NV12Frame,
    *,
    layout: str = "nv12",
    stride: int | None = None,
) -> pathlib.Path:
    """Write a frame to a raw YUV file, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Destination; its directory must exist. An existing file is replaced
        only once the new one is completely written.
    frame : NV12Frame
        The frame to write.
    layout : {"nv12", "nv21", "i420", "yv12"}
        Byte layout, see :meth:`NV12Frame.to_bytes`.
    stride : int, optional
        Bytes per Y row (``None`` = ``width``); padding is written as zeros.

    Returns
    -------
    pathlib.Path
        ``path`` as a :class:`pathlib.Path`.

    Raises
    ------
    InputError
        If ``frame`` is not an :class:`NV12Frame`, the directory does not
        exist, or the layout or stride is invalid.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> f = NV12Frame(np.zeros((2, 2), np.uint8), np.full((1, 1, 2), 128, np.uint8))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     write_yuv(pathlib.Path(d) / "f.yuv", f, layout="i420").stat().st_size
    6
    """
    if not isinstance(frame, NV12Frame):
        raise InputError(
            f"frame must be an NV12Frame, got {type(frame).__name__}; build one with "
            "NV12Frame(y, uv) or nv12kit.rgb_to_nv12(image)"
        )
    return atomic_write(path, frame.to_bytes(layout=layout, stride=stride))
