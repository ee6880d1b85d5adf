"""Colour conventions: which matrix, range, rounding and chroma sampling made an NV12 frame.

A :class:`Convention` is plain data.  The named presets in :data:`CONVENTIONS`
cover the conversions that real pipelines use (Horizon's tools, Pillow,
OpenCV, libyuv) and the textbook ones (BT.601, BT.709 and BT.2020 in full and
limited range).  Build your own with :class:`Convention` or
:meth:`Convention.replace`.

Notes
-----
The conventions differ in five independent ways, each one a field:

``matrix``
    The luma weights Kr and Kb: BT.601 (0.299, 0.114), BT.709 (0.2126,
    0.0722) or BT.2020 (0.2627, 0.0593).  YCbCr, the digital form of the
    analogue YUV, is what every "YUV" buffer here really holds.
``range``
    ``"full"`` (JFIF: Y, U and V use 0-255) or ``"limited"`` ("video",
    "studio" or "TV" range: Y 16-235, U and V 16-240).
``arithmetic``
    How the numbers are computed.  ``"float"`` is the real-number formula,
    rounded as ``rounding`` says (``evaluation`` says whether the exact value
    or its float64 evaluation is rounded); ``"opencv"`` is OpenCV's 20-bit
    fixed point, ``"libyuv"`` is libyuv's 8-bit fixed point and ``"pillow"``
    is Pillow's own C code.  The fixed-point arithmetics ignore ``rounding``:
    their rounding is part of the arithmetic.
``chroma_down``
    How one U/V pair is made for each 2x2 block: ``"topleft"`` takes the
    top-left pixel (co-sited, no filtering), ``"box"`` averages the four
    pixels, ``"bicubic"`` converts at full resolution and shrinks U and V with
    Pillow's antialiased bicubic filter (what the widely shared
    ``img.convert('YCbCr')`` + ``resize`` recipe does).
``chroma_up``
    How the decoder spreads a U/V pair back over its block: ``"nearest"``
    (replicate, what the chips' NV12 nodes do) or ``"bilinear"``
    (centre-sited linear interpolation, weights 3/4 and 1/4, as libjpeg's
    "fancy upsampling").

Real NV12 nodes often do not decode with the exact inverse.  A
:class:`Decoder` describes one that does not (its coefficients, the dtype it
computes in, how it rounds, whether it clamps ``Y - 16`` and saturates the
result); ``Convention(decoder=...)`` makes :func:`nv12kit.nv12_to_rgb` use
it instead of the exact inverse.  Without one, decoding is the exact inverse
of the standard matrix, rounded half up.

The presets for real NV12 nodes, and what each one rests on:

``openvino``
    OpenVINO's PrePostProcessor NV12 input (``ColorFormat.NV12_TWO_PLANES``
    then ``convert_color(RGB/BGR)``), which inserts the ``NV12toRGB-8`` /
    ``NV12toBGR-8`` operation.  Its documented formula (OpenVINO operation
    specification NV12toRGB-8; ``src/core/include/openvino/op/nv12_to_rgb.hpp``)
    is BT.601 limited range with 3-decimal coefficients 1.164, 1.596, 0.391,
    0.813 and 2.018, clipped to 0-255.  The CPU plugin's kernel
    (``src/plugins/intel_cpu/src/nodes/color_convert.cpp``) computes it in
    float32, left to right without fused multiply-add, with no clamp of
    ``Y - 16``, nearest chroma, and converts to u8 rounding half to even.
    This decoder was checked bit for bit against OpenVINO 2026.4 on the CPU
    over all 2**24 (Y, U, V) triples (tests/test_decoders.py).  Note
    OpenVINO's *reference* implementation
    (``src/core/reference/include/openvino/reference/color_convert.hpp``)
    rounds with ``std::round`` (halves away from zero) and so differs from
    the CPU plugin on exact halves.  The encoder side is what OpenVINO
    users feed: BT.601 limited range (the formula's inverse), textbook
    float arithmetic, box-averaged chroma.
``rknn-rga``
    Rockchip's RGA (librga ``imcvtcolor``) with
    ``IM_RGB_TO_YUV_BT601_LIMIT`` / ``IM_YUV_TO_RGB_BT601_LIMIT``, the
    colour-space modes librga's ``im2d`` header documents, and the top-left
    pixel of each 2x2 block as chroma.  librga does not document its
    coefficients, rounding or chroma filter; the top-left chroma is the
    issue tracker's account of RGA, not something found in librga's
    Developer Guide.  The decode is the exact BT.601 limited inverse.
    Not verified against RGA hardware.
``tidl``
    TI's ``RGB_YUV_model_converter.py`` (edgeai-tidl-tools,
    ``scripts/osrt_model_tools/onnx_tools/tidl_onnx_model_utils``): its
    converter layer up-samples UV with a nearest ``Resize`` and applies a
    float32 1x1 ``Conv`` with weights (1.164, 0, 1.596 / 1.164, -0.391,
    -0.813 / 1.164, 2.018, 0) and bias (-222.912, 135.488, -276.928): BT.601
    limited range with the same 3-decimal coefficients as OpenVINO.  The
    layer feeds those floats to the network unrounded and unclipped, which
    no uint8 image can hold, so this preset decodes with the exact BT.601
    limited inverse (within half a level of TI's layer inside 0-255).  The
    encoder side is the one TI's script uses to make test frames (ffmpeg
    ``-colorspace bt470bg -pix_fmt nv12``: BT.601 limited); swscale's own
    chroma filter is not emulated (box averaging stands in).
``ascend-aipp``
    Huawei Ascend AIPP with the BT.601 narrow-range ``YUV420SP_U8`` to RGB
    CSC configuration of the ATC documentation ("CSC Configuration":
    matrix (298, 0, 409 / 298, -100, -208 / 298, 516, 0), input biases 16,
    128, 128, then ``>> 8``), see :func:`nv12kit.lint_aipp`, which builds a
    Convention from any AIPP config.  The documentation says ``>> 8``
    (an arithmetic shift: floor); it does not say how the result is
    saturated (clipping to 0-255 is assumed) or how chroma is up-sampled
    (nearest is assumed).  Not verified against Ascend hardware.

Examples
--------
>>> from nv12kit.conventions import CONVENTIONS, get_convention
>>> get_convention("opencv").range
'limited'
>>> mine = get_convention("bt709-limited").replace(name="my-isp", chroma_down="topleft")
>>> mine.chroma_down, mine.matrix
('topleft', 'bt709')
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType

import numpy as np

from .errors import ConventionError, InputError

__all__ = [
    "Convention",
    "Decoder",
    "CONVENTIONS",
    "MATRICES",
    "get_convention",
    "convention_names",
    "RANGES",
    "range_name",
]

#: Luma weights (Kr, Kb) of each matrix; Kg = 1 - Kr - Kb.
MATRICES: Mapping[str, tuple[float, float]] = MappingProxyType(
    {
        "bt601": (0.299, 0.114),
        "bt709": (0.2126, 0.0722),
        "bt2020": (0.2627, 0.0593),
    }
)

#: The one range vocabulary of the whole API: full (0-255) or limited (Y 16-235, chroma 16-240).
RANGES: tuple[str, str] = ("full", "limited")
_RANGES = RANGES
# hbdk calls limited range "video" (the node modes ``yuvbt601video2rgb``...); accepted, deprecated.
_RANGE_SYNONYMS = {"video": "limited"}
_ARITHMETICS = ("float", "opencv", "libyuv", "pillow")
_CHROMA_DOWN = ("topleft", "box", "bicubic")
_CHROMA_UP = ("nearest", "bilinear")
_ROUNDINGS = ("nearest", "floor", "truncate")
_EVALUATIONS = ("exact", "float64")
_DECODER_DTYPES = ("float32", "float64", "fixed")
_DECODER_ROUNDINGS = ("half-even", "half-up", "half-away", "floor", "truncate")

def range_name(value: object, *, name: str = "range") -> str:
    """Check a range argument and return it in the API's one vocabulary.

    Parameters
    ----------
    value : {"full", "limited"}
        The range.  ``"video"`` (hbdk's word for limited range, as in the
        node mode ``yuvbt601video2rgb``) is accepted for one release with a
        :class:`DeprecationWarning`.
    name : str, optional
        The argument's name, for the messages.

    Returns
    -------
    str
        ``"full"`` or ``"limited"``.

    Raises
    ------
    InputError
        Anything else.

    Examples
    --------
    >>> range_name("limited", name="chip_range")
    'limited'
    """
    if isinstance(value, str) and value in _RANGE_SYNONYMS:
        canonical = _RANGE_SYNONYMS[value]
        warnings.warn(
            f"{name}={value!r} is deprecated; say {name}={canonical!r} (one range vocabulary: 'full' or 'limited')",
            DeprecationWarning,
            stacklevel=3,
        )
        return canonical
    if not isinstance(value, str) or value not in RANGES:
        raise InputError(
            f"{name} must be 'full' (0-255) or 'limited' (Y 16-235, chroma 16-240; hbdk's 'video'), got {value!r}"
        )
    return value


Matrix3 = tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]]


@dataclass(frozen=True)
class Decoder:
    """How a real NV12 node turns Y, U and V into R, G and B, when that is not the exact inverse.

    ``R, G, B = coefficients @ (Y - offsets[0], U - offsets[1], V - offsets[2])``,
    evaluated as ``dtype`` says, then rounded and saturated.

    Parameters
    ----------
    coefficients : 3x3 tuple of float
        Rows R, G, B; columns Y, U, V.  Integers for ``dtype="fixed"``.
    offsets : 3 floats, optional
        Subtracted from Y, U and V first (16, 128, 128 for limited range).
    dtype : {"float32", "float64", "fixed"}, optional
        ``"float32"``/``"float64"``: every product and sum in that type,
        left to right (``c0*y + c1*u`` first, then ``+ c2*v``; no fused
        multiply-add).  ``"fixed"``: exact integer arithmetic, the sum
        divided by ``2**shift``.
    shift : int, optional
        Fixed point only: the sum is divided by ``2**shift`` (``>> 8`` is 8).
    rounding : {"half-even", "half-up", "half-away", "floor", "truncate"}, optional
        To an integer: halves to even (``np.rint``, what ``cvtps2dq`` does),
        halves up, halves away from zero (C's ``round``), towards minus
        infinity (an arithmetic ``>>``), or towards zero (a C cast).
    clamp_luma : bool, optional
        ``Y - offsets[0]`` is clamped at 0 first (OpenCV's decoder does this).
    clip : bool, optional
        Saturate to 0-255 (True) or wrap modulo 256 as a cast of an integer
        to uint8 does (False).
    chroma_up : {"nearest", "bilinear"}, optional
        Not a field: the :class:`Convention`'s ``chroma_up`` is used.
    source : str, optional
        Where the description comes from.

    Examples
    --------
    >>> Decoder(((1, 0, 1.402), (1, -0.344, -0.714), (1, 1.772, 0)), offsets=(0, 128, 128)).rounding
    'half-even'
    """

    coefficients: Matrix3
    offsets: tuple[float, float, float] = (16.0, 128.0, 128.0)
    dtype: str = "float32"
    shift: int = 0
    rounding: str = "half-even"
    clamp_luma: bool = False
    clip: bool = True
    source: str = ""

    def __post_init__(self) -> None:
        try:
            coeffs = np.asarray(self.coefficients, dtype=np.float64)
            offsets = np.asarray(self.offsets, dtype=np.float64)
        except (TypeError, ValueError):
            raise ConventionError(
                "decoder coefficients must be a 3x3 matrix of numbers (rows R, G, B; columns Y, U, V) and "
                f"offsets 3 numbers, got {self.coefficients!r} and {self.offsets!r}"
            ) from None
        if coeffs.shape != (3, 3) or not np.all(np.isfinite(coeffs)):
            raise ConventionError(
                f"decoder coefficients must be a finite 3x3 matrix (rows R, G, B; columns Y, U, V), "
                f"got shape {coeffs.shape}"
            )
        if offsets.shape != (3,) or not np.all(np.isfinite(offsets)):
            raise ConventionError(f"decoder offsets must be 3 finite numbers (Y, U, V), got {self.offsets!r}")
        if self.dtype not in _DECODER_DTYPES:
            raise ConventionError(f"decoder dtype={self.dtype!r} is not one of {', '.join(map(repr, _DECODER_DTYPES))}")
        if self.rounding not in _DECODER_ROUNDINGS:
            raise ConventionError(
                f"decoder rounding={self.rounding!r} is not one of {', '.join(map(repr, _DECODER_ROUNDINGS))}"
            )
        if isinstance(self.shift, bool) or not isinstance(self.shift, (int, np.integer)) or not 0 <= self.shift <= 24:
            raise ConventionError(f"decoder shift must be an integer from 0 to 24, got {self.shift!r}")
        if self.dtype == "fixed":
            if not (np.all(coeffs == np.round(coeffs)) and np.all(offsets == np.round(offsets))):
                raise ConventionError(
                    "a fixed-point decoder takes integer coefficients and offsets (the sum is divided by "
                    f"2**shift); got {self.coefficients!r}, offsets {self.offsets!r}"
                )
            if np.abs(coeffs).max() >= 2**20:
                raise ConventionError(
                    f"fixed-point decoder coefficients must be below 2**20, got {self.coefficients!r}"
                )
            matrix = tuple(tuple(int(c) for c in row) for row in coeffs)
            offsets_t = tuple(int(o) for o in offsets)
        else:
            if self.shift:
                raise ConventionError("decoder shift applies to dtype='fixed' only; fold it into the coefficients")
            matrix = tuple(tuple(float(c) for c in row) for row in coeffs)
            offsets_t = tuple(float(o) for o in offsets)
        object.__setattr__(self, "coefficients", matrix)
        object.__setattr__(self, "offsets", offsets_t)
        object.__setattr__(self, "shift", int(self.shift))
        object.__setattr__(self, "clamp_luma", bool(self.clamp_luma))
        object.__setattr__(self, "clip", bool(self.clip))

    def summary(self) -> str:
        """One line: arithmetic, rounding and clamping."""
        arithmetic = f"fixed point (sum / 2**{self.shift})" if self.dtype == "fixed" else self.dtype
        return (
            f"decoder {arithmetic}, rounding {self.rounding}, "
            + ("Y - offset clamped at 0, " if self.clamp_luma else "")
            + ("clipped to 0-255" if self.clip else "wrapped modulo 256")
        )



@dataclass(frozen=True)
class Convention:
    """One complete recipe for RGB <-> YCbCr 4:2:0 (NV12) conversion.

    Parameters
    ----------
    name : str
        Short identifier, e.g. ``"horizon"``.
    matrix : {"bt601", "bt709", "bt2020"}
        Luma weights Kr, Kb (see :data:`MATRICES`).
    range : {"full", "limited"}
        Full (0-255) or limited (Y 16-235, chroma 16-240) range.
    arithmetic : {"float", "opencv", "libyuv", "pillow"}
        How values are computed; see the module notes.
    chroma_down : {"topleft", "box", "bicubic"}
        Chroma down-sampling of each 2x2 block when encoding.
    chroma_up : {"nearest", "bilinear"}
        Chroma up-sampling when decoding.
    rounding : {"nearest", "floor", "truncate"}
        Rounding of the ``"float"`` arithmetic when encoding: ``nearest`` is
        ``floor(x + 0.5)`` (halves go up), ``truncate`` is what
        ``astype(np.uint8)`` does after the formula, as NumPy code that skips
        rounding does.  Decoding always rounds to nearest, halves up.
    evaluation : {"exact", "float64"}
        What the ``"float"`` arithmetic rounds.  ``"exact"`` rounds the value
        of the formula in exact arithmetic (Kr, Kb and any coefficients taken
        as the decimals they are written as), so a value of exactly 14.5
        becomes 15.  ``"float64"`` rounds the formula evaluated left to right
        in float64, as NumPy reference code does: ``0.299 + 0.587 + 0.114``
        is ``0.9999999999999999`` there and truncates to 0.  Decoding is
        always exact.
    encode_coefficients : 3x3 tuple of float, optional
        Explicit encode matrix (rows Y, U, V; columns R, G, B) to use instead
        of the one derived from ``matrix`` and ``range``, for vendors that
        publish rounded coefficients.  Only the ``"float"`` arithmetic uses it.
    decoder : Decoder, optional
        How the NV12 node decodes when it is not the exact inverse; used by
        :func:`nv12kit.nv12_to_rgb` (with ``chroma_up``) instead of
        ``arithmetic``.  ``None`` (default): the exact inverse.
    description, reference : str
        What it is and what it was checked against.
    """

    name: str
    matrix: str = "bt601"
    range: str = "full"
    arithmetic: str = "float"
    chroma_down: str = "box"
    chroma_up: str = "nearest"
    rounding: str = "nearest"
    evaluation: str = "exact"
    encode_coefficients: Matrix3 | None = None
    decoder: Decoder | None = None
    description: str = ""
    reference: str = ""

    def __post_init__(self) -> None:
        self._check("matrix", self.matrix, tuple(MATRICES))
        self._check("range", self.range, _RANGES)
        self._check("arithmetic", self.arithmetic, _ARITHMETICS)
        self._check("chroma_down", self.chroma_down, _CHROMA_DOWN)
        self._check("chroma_up", self.chroma_up, _CHROMA_UP)
        self._check("rounding", self.rounding, _ROUNDINGS)
        self._check("evaluation", self.evaluation, _EVALUATIONS)
        if self.arithmetic == "opencv" and (self.matrix, self.range) != ("bt601", "limited"):
            raise ConventionError(
                f"convention {self.name!r}: OpenCV's fixed-point NV12 code is BT.601 limited range only, "
                f"got matrix={self.matrix!r}, range={self.range!r}; use arithmetic='float' for other matrices"
            )
        if self.arithmetic == "libyuv" and self.matrix != "bt601":
            raise ConventionError(
                f"convention {self.name!r}: the libyuv arithmetic implemented here is BT.601 only "
                f"(ARGBToNV12 / ARGBToJ420), got matrix={self.matrix!r}; use arithmetic='float'"
            )
        if self.arithmetic == "pillow" and (self.matrix, self.range) != ("bt601", "full"):
            raise ConventionError(
                f"convention {self.name!r}: Pillow's YCbCr mode is JFIF (BT.601 full range) only, "
                f"got matrix={self.matrix!r}, range={self.range!r}"
            )
        if self.encode_coefficients is not None:
            coeffs = np.asarray(self.encode_coefficients, dtype=np.float64)
            if coeffs.shape != (3, 3) or not np.all(np.isfinite(coeffs)):
                raise ConventionError(
                    f"convention {self.name!r}: encode_coefficients must be a finite 3x3 matrix "
                    f"(rows Y, U, V; columns R, G, B), got shape {coeffs.shape}"
                )
            if self.arithmetic != "float":
                raise ConventionError(
                    f"convention {self.name!r}: encode_coefficients only apply to arithmetic='float', "
                    f"got arithmetic={self.arithmetic!r}"
                )
            object.__setattr__(self, "encode_coefficients", tuple(tuple(float(c) for c in row) for row in coeffs))
        if self.decoder is not None and not isinstance(self.decoder, Decoder):
            raise ConventionError(
                f"convention {self.name!r}: decoder must be an nv12kit.conventions.Decoder or None, "
                f"got {type(self.decoder).__name__}"
            )

    def _check(self, field_name: str, value: str, allowed: tuple[str, ...]) -> None:
        if value not in allowed:
            raise ConventionError(
                f"convention {self.name!r}: {field_name}={value!r} is not one of {', '.join(map(repr, allowed))}"
            )

    # -- derived numbers -------------------------------------------------
    @property
    def kr_kb(self) -> tuple[float, float]:
        """The luma weights ``(Kr, Kb)`` of :attr:`matrix`."""
        return MATRICES[self.matrix]

    def exact_encode_matrix(self) -> tuple[tuple[tuple[Fraction, ...], ...], tuple[Fraction, ...]]:
        """The encode matrix and offsets as exact fractions: ``yuv = M @ rgb + offset``.

        Kr, Kb and vendor coefficients are taken as the decimals they are
        written as (0.299 is 299/1000).

        Examples
        --------
        >>> m, off = get_convention("bt601-full").exact_encode_matrix()
        >>> m[2]
        (Fraction(1, 2), Fraction(-587, 1402), Fraction(-57, 701))
        >>> off
        (Fraction(0, 1), Fraction(128, 1), Fraction(128, 1))
        """
        return _exact_encode(self.matrix, self.range, self.encode_coefficients)

    def exact_decode_matrix(self) -> tuple[tuple[tuple[Fraction, ...], ...], tuple[Fraction, ...]]:
        """The exact inverse of the standard encode matrix: ``rgb = M @ (yuv - offset)``.

        Decoders implement the standard, not a vendor's rounding of it, so
        conventions with rounded ``encode_coefficients`` decode with the
        inverse of the matrix derived from Kr and Kb.

        Examples
        --------
        >>> m, off = get_convention("horizon").exact_decode_matrix()
        >>> m[0], m[2][1]
        ((Fraction(1, 1), Fraction(0, 1), Fraction(701, 500)), Fraction(443, 250))
        """
        matrix, offset = _exact_encode(self.matrix, self.range, None)
        return _inverse3(matrix), offset

    def encode_matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """The encode matrix and offsets in float64: ``yuv = M @ rgb + offset``.

        Returns
        -------
        matrix : (3, 3) float64 ndarray
            Rows Y, U, V; columns R, G, B.
        offset : (3,) float64 ndarray
            Added after the product (16 or 0 for Y, 128 for U and V).

        Examples
        --------
        >>> m, off = get_convention("bt601-full").encode_matrix()
        >>> [round(float(x), 6) for x in m[1]], off.tolist()
        ([-0.168736, -0.331264, 0.5], [0.0, 128.0, 128.0])
        """
        matrix, offset = self.exact_encode_matrix()
        return np.array(matrix, dtype=np.float64), np.array(offset, dtype=np.float64)

    def decode_matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """The decode matrix and offsets in float64: ``rgb = M @ (yuv - offset)``.

        For BT.601 full range the rows are (1, 0, 1.402), (1, -0.344136,
        -0.714136) and (1, 1.772, 0), to six places.

        Examples
        --------
        >>> m, off = get_convention("horizon").decode_matrix()
        >>> [round(float(x), 6) for x in m[1]], off.tolist()
        ([1.0, -0.344136, -0.714136], [0.0, 128.0, 128.0])
        """
        matrix, offset = self.exact_decode_matrix()
        return np.array(matrix, dtype=np.float64), np.array(offset, dtype=np.float64)

    def replace(self, **changes: object) -> Convention:
        """A copy with some fields changed (validated like a new one).

        Examples
        --------
        >>> get_convention("horizon").replace(name="h-box", chroma_down="box").chroma_down
        'box'
        """
        return dataclasses.replace(self, **changes)

    def summary(self) -> str:
        """One line that says everything about the convention."""
        coeffs = " (vendor coefficients)" if self.encode_coefficients is not None else ""
        return (
            f"{self.name}: {self.matrix.upper()} {self.range} range{coeffs}, {self.arithmetic} arithmetic, "
            f"chroma down {self.chroma_down}, up {self.chroma_up}"
            + (f", rounding {self.rounding} ({self.evaluation})" if self.arithmetic == "float" else "")
            + (f"; {self.decoder.summary()}" if self.decoder is not None else "")
        )

    def to_dict(self) -> dict[str, object]:
        """The fields as a JSON-friendly dict."""
        return dataclasses.asdict(self)


def _decimal(value: float) -> Fraction:
    """A float as the decimal it was written as: 0.299 -> 299/1000."""
    return Fraction(repr(float(value)))


def _exact_encode(
    matrix: str, range_: str, coefficients: Matrix3 | None
) -> tuple[tuple[tuple[Fraction, ...], ...], tuple[Fraction, ...]]:
    limited = range_ == "limited"
    offset = (Fraction(16 if limited else 0), Fraction(128), Fraction(128))
    if coefficients is not None:
        return tuple(tuple(_decimal(c) for c in row) for row in coefficients), offset
    kr, kb = (_decimal(k) for k in MATRICES[matrix])
    luma = (kr, 1 - kr - kb, kb)
    cb = tuple((e - w) / (2 * (1 - kb)) for e, w in zip((0, 0, 1), luma))
    cr = tuple((e - w) / (2 * (1 - kr)) for e, w in zip((1, 0, 0), luma))
    rows = (luma, cb, cr)
    if limited:
        scale = (Fraction(219, 255), Fraction(224, 255), Fraction(224, 255))
        rows = tuple(tuple(c * s for c in row) for row, s in zip(rows, scale))
    return rows, offset


def _inverse3(m: tuple[tuple[Fraction, ...], ...]) -> tuple[tuple[Fraction, ...], ...]:
    """Exact inverse of a 3x3 matrix of fractions (adjugate over determinant)."""
    (a, b, c), (d, e, f), (g, h, i) = m
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    adj = (
        (e * i - f * h, c * h - b * i, b * f - c * e),
        (f * g - d * i, a * i - c * g, c * d - a * f),
        (d * h - e * g, b * g - a * h, a * e - b * d),
    )
    return tuple(tuple(x / det for x in row) for row in adj)


_HORIZON_COEFFICIENTS: Matrix3 = (
    (0.299, 0.587, 0.114),
    (-0.169, -0.331, 0.5),
    (0.5, -0.419, -0.081),
)


#: OpenVINO's NV12toRGB-8 as the CPU plugin computes it (checked over all 2**24 Y, U, V triples).
OPENVINO_DECODER = Decoder(
    ((1.164, 0.0, 1.596), (1.164, -0.391, -0.813), (1.164, 2.018, 0.0)),
    offsets=(16, 128, 128),
    dtype="float32",
    rounding="half-even",
    clamp_luma=False,
    clip=True,
    source="OpenVINO NV12toRGB-8 specification; intel_cpu color_convert.cpp; measured bit-exact on OpenVINO 2026.4",
)

#: Ascend AIPP's documented BT.601 narrow-range YUV -> RGB CSC (ATC "CSC Configuration"), ``>> 8``.
ASCEND_AIPP_BT601_NARROW_DECODER = Decoder(
    ((298, 0, 409), (298, -100, -208), (298, 516, 0)),
    offsets=(16, 128, 128),
    dtype="fixed",
    shift=8,
    rounding="floor",
    clip=True,
    source="Ascend ATC AIPP CSC Configuration (YUV420SP_U8 to RGB, BT-601NARROW); clipping assumed",
)


def _presets() -> dict[str, Convention]:
    presets = [
        Convention(
            "horizon",
            matrix="bt601",
            range="full",
            arithmetic="float",
            chroma_down="topleft",
            chroma_up="nearest",
            rounding="truncate",
            evaluation="float64",
            encode_coefficients=_HORIZON_COEFFICIENTS,
            description=(
                "Horizon Robotics toolchain (hbdk / OpenExplorer) reference: BT.601 full range with the "
                "published 3-decimal coefficients, truncation (astype(uint8)) and the top-left pixel of each "
                "2x2 block as chroma; the NV12 node decodes with nearest chroma"
            ),
            reference="the published float formula evaluated in float64, then astype(np.uint8)",
        ),
        Convention(
            "pil",
            matrix="bt601",
            range="full",
            arithmetic="pillow",
            chroma_down="bicubic",
            chroma_up="nearest",
            description=(
                "the widely shared forum recipe: Image.convert('YCbCr'), U and V resized to half size with "
                "Pillow's default (antialiased bicubic) filter, then interleaved"
            ),
            reference="the forum function run on Pillow (byte-identical)",
        ),
        Convention(
            "opencv",
            matrix="bt601",
            range="limited",
            arithmetic="opencv",
            chroma_down="topleft",
            chroma_up="nearest",
            description="cv2.cvtColor(COLOR_RGB2YUV_I420) with U/V interleaved; COLOR_YUV2RGB_NV12 to decode",
            reference="OpenCV (byte-identical, encode and decode)",
        ),
        Convention(
            "libyuv",
            matrix="bt601",
            range="limited",
            arithmetic="libyuv",
            chroma_down="box",
            chroma_up="nearest",
            description="libyuv ARGBToNV12: 8-bit fixed point, RGB averaged over each 2x2 block before conversion",
            reference="libyuv's integer formulas (byte-identical)",
        ),
        Convention(
            "libyuv-jpeg",
            matrix="bt601",
            range="full",
            arithmetic="libyuv",
            chroma_down="box",
            chroma_up="nearest",
            description="libyuv ARGBToJ420 / JNV21: full-range (JPEG) 8-bit fixed point, 2x2 RGB average",
            reference="libyuv's integer formulas (byte-identical)",
        ),
    ]
    for matrix in MATRICES:
        for rng in _RANGES:
            presets.append(
                Convention(
                    f"{matrix}-{rng}",
                    matrix=matrix,
                    range=rng,
                    arithmetic="float",
                    chroma_down="box",
                    chroma_up="nearest",
                    rounding="nearest",
                    description=f"textbook {matrix.upper()} {rng} range, 2x2 box-averaged chroma, round to nearest",
                    reference="the float64 formula from Kr and Kb",
                )
            )
    # the real NV12 nodes' presets, after the textbook ones: candidate lists that drop duplicates
    # (nv12kit.counterfactual) keep naming the textbook convention for the same encoder
    presets += [
        Convention(
            "openvino",
            matrix="bt601",
            range="limited",
            arithmetic="float",
            chroma_down="box",
            chroma_up="nearest",
            rounding="nearest",
            decoder=OPENVINO_DECODER,
            description=(
                "OpenVINO PrePostProcessor NV12_TWO_PLANES -> convert_color(RGB/BGR) (NV12toRGB-8): BT.601 limited, "
                "3-decimal coefficients in float32, no clamp of Y - 16, clipped to 0-255, u8 rounded half to even, "
                "nearest chroma; encoder: textbook BT.601 limited (what OpenVINO users feed), box chroma"
            ),
            reference=(
                "decoder bit-exact to OpenVINO 2026.4's CPU plugin over all 2**24 (Y, U, V) triples; NV12toRGB-8 "
                "specification; src/plugins/intel_cpu/src/nodes/color_convert.cpp"
            ),
        ),
        Convention(
            "rknn-rga",
            matrix="bt601",
            range="limited",
            arithmetic="float",
            chroma_down="topleft",
            chroma_up="nearest",
            rounding="nearest",
            description=(
                "Rockchip RGA (librga imcvtcolor, IM_RGB_TO_YUV_BT601_LIMIT / IM_YUV_TO_RGB_BT601_LIMIT): BT.601 "
                "limited, top-left chroma; RGA's coefficients and rounding are undocumented, so the exact formula "
                "stands in"
            ),
            reference="librga im2d colour-space modes; not verified against RGA hardware",
        ),
        Convention(
            "tidl",
            matrix="bt601",
            range="limited",
            arithmetic="float",
            chroma_down="box",
            chroma_up="nearest",
            rounding="nearest",
            description=(
                "TI edgeai-tidl-tools RGB_YUV_model_converter.py: nearest Resize of UV, float32 1x1 Conv with "
                "BT.601 limited 3-decimal coefficients (1.164, 1.596, 0.391, 0.813, 2.018), unrounded and "
                "unclipped; decoded here with the exact BT.601 limited inverse (uint8 output)"
            ),
            reference="edgeai-tidl-tools RGB_YUV_model_converter.py (documentation only; no TI device here)",
        ),
        Convention(
            "ascend-aipp",
            matrix="bt601",
            range="limited",
            arithmetic="float",
            chroma_down="box",
            chroma_up="nearest",
            rounding="nearest",
            decoder=ASCEND_AIPP_BT601_NARROW_DECODER,
            description=(
                "Huawei Ascend AIPP, YUV420SP_U8 to RGB with the documented BT.601 narrow CSC matrix "
                "(298, 0, 409 / 298, -100, -208 / 298, 516, 0), input biases 16/128/128, >> 8; clipping and "
                "nearest chroma assumed; any AIPP config: nv12kit.lint_aipp"
            ),
            reference="Ascend ATC documentation, AIPP 'CSC Configuration'; not verified against Ascend hardware",
        ),
    ]
    return {p.name: p for p in presets}


#: The named presets, read-only.  ``CONVENTIONS["horizon"]`` etc.
CONVENTIONS: Mapping[str, Convention] = MappingProxyType(_presets())


def convention_names() -> tuple[str, ...]:
    """Names of the presets in :data:`CONVENTIONS`."""
    return tuple(CONVENTIONS)


def get_convention(convention: str | Convention) -> Convention:
    """Resolve a preset name (case-insensitive; ``_`` and ``-`` alike) or pass a Convention through.

    Raises
    ------
    ConventionError
        For an unknown name; the message lists the valid ones.

    Examples
    --------
    >>> get_convention("BT709_limited").name
    'bt709-limited'
    """
    if isinstance(convention, Convention):
        return convention
    if not isinstance(convention, str):
        raise ConventionError(
            f"convention must be a preset name or an nv12kit.Convention, got {type(convention).__name__}"
        )
    key = convention.strip().lower().replace("_", "-")
    aliases = {"jpeg": "bt601-full", "jfif": "bt601-full"}
    key = aliases.get(key, key)
    try:
        return CONVENTIONS[key]
    except KeyError:
        raise ConventionError(
            f"unknown convention {convention!r}; valid names are: {', '.join(CONVENTIONS)}. "
            "Build your own with nv12kit.Convention(name, matrix=..., range=..., ...)"
        ) from None
