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
