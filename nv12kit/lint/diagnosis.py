"""diagnose: name what is wrong with an NV12 frame, given (or not) the RGB image it was made from.

This module is the entry point: it reads the user's frame and image
(:mod:`.sources`), picks among readings of a raw buffer and hands over to
the diagnosis against the reference (:mod:`.by_reference`) or from the
bytes alone (:mod:`.bytes_only`).

How :func:`diagnose` decides
----------------------------
Every convention nv12kit knows computes Y, U and V as a linear function of
R, G and B (plus an offset), so the bytes are compared with the reference
in the YUV domain, where the bugs have distinct shapes:

1. **Structure.**  Which bytes hold which samples: the stride, where the Y
   and chroma planes start (a header, padded plane heights, a shifted
   plane, chroma before Y), interleaved or planar chroma, an int8 offset
   (the top bit of every byte flipped), a flipped, mirrored or transposed
   frame.  Each candidate reading is scored by how well its samples are
   explained by *any* affine function of the reference's R, G and B (a
   free least-squares fit), which does not depend on the colour
   convention.  Candidates come from the data, not from a list of cases:
   strides from the period at which the bytes repeat and from usual
   alignments, plane offsets from where the reference's rows match the
   bytes (normalised cross-correlation).  A few rows that a shifted plane
   loses to neighbouring bytes are left out of the fit.  When the chroma
   is still unexplained, the layouts real allocators use are tried: the
   chroma plane at ``stride * align(H, a) + gap`` (FFmpeg, V4L2, Android,
   Qualcomm), or where the reference's chroma matches the bytes, with a
   row stride of its own measured where the chroma rows repeat.  An int8
   offset is tried on luma and chroma separately.
2. **Colour.**  On the bytes as read, every combination of matrix (BT.601,
   BT.709, BT.2020), range (full, limited), R/B order and U/V order is
   scored by its mean squared residual, after allowing for the encoder's
   rounding (a constant bias of up to 1.5 levels).  Chroma is compared
   after down-sampling the reference by each usual method (a corner pixel
   of each 2x2 block, the 2x2 average, Pillow's bicubic and bilinear
   shrinks) and the best one is kept, so a different chroma down-sampling
   method is never mistaken for a bug; it becomes a note.
3. **Model choice.**  A hypothesis that names ``k`` bugs costs
   ``E * 2**k + 0.1 * k``, with ``E`` its residual in levels squared: a bug
   is named only when it at least halves what is left to explain.  This is
   what tells BT.709 from BT.601 by its pattern rather than by an error
   threshold: the two predict different Y for saturated colours (up to
   about 30 levels on pure green), and the one that explains the bytes
   wins.  On an image without saturated colour both explain the bytes
   equally well, nothing is named, and a note says the image cannot tell.
   What the best hypothesis still leaves unexplained (more than 1.5 levels
   rms in Y or 2 in chroma: what rounding and chroma down-sampling leave on
   honest frames, calibrated in :mod:`.by_reference`) is reported as
   ``unknown``, next to the bugs it does name: a frame is never ``ok`` with
   a residual.

Without a reference, the bytes are checked for what they show on their own:
Y outside 16-235 (full range), the period of the rows (stride), and which
reading (as is, top bit flipped, planar chroma) decodes inside the RGB cube.

The evidence of each hypothesis includes the PSNR and mean absolute error
of the frame decoded under that hypothesis, next to the honest round trip
of the chosen convention and the frame decoded as is.
"""

from __future__ import annotations

from typing import Any

from .._util import DEFAULT_CONVENTION, convention_or_expected
from ..conventions import Convention, get_convention
from ..images import crop_to_even
from .by_reference import _diagnose_with_reference
from .bytes_only import _diagnose_bytes
from .findings import Diagnosis, Hypothesis, _combine
from .sources import _as_reference, _as_source
from .structure import _pick_reading


def diagnose(
    rgb: Any,
    nv12: Any,
    *,
    convention: str | Convention = DEFAULT_CONVENTION,
    width: int | None = None,
    height: int | None = None,
    stride: int | None = None,
    layout: str | None = None,
    expected: str | Convention | None = None,
) -> Diagnosis:
    """Name what is wrong with an NV12 frame, given the RGB image it was made from.

    Parameters
    ----------
    rgb : (H, W, 3) uint8 ndarray, PIL image, image path, or None
        The image the frame was converted from, RGB order.  ``None`` checks
        only what the bytes alone can tell (range, flat chroma, stride,
        planar chroma, int8 offset), with a confidence to match.
    nv12 : NV12Frame, tuple, dict, bytes, ndarray or path
        The user's frame: an :class:`~nv12kit.NV12Frame`; a ``(y, uv)``
        tuple in any common shape (``(H, W)``, vendor ``(1, H, W, 1)``;
        ``(H/2, W/2, 2)``, the forum's ``(H/2, W)``, vendor
        ``(1, H/2, W/2, 2)``) or ``(y, u, v)``; a feed dict as
        :meth:`NV12Frame.to_feed` makes; raw bytes, a 1-D uint8 array or
        OpenCV's ``(H*3/2, W)`` array; or a path to a raw ``.nv12``/``.yuv``
        file (or a ``.npy`` of any of these arrays).
    convention : str or Convention, optional
        The convention the chip (or its node) assumes; ``"horizon"`` by
        default (BT.601 full range).
    width, height : int, optional
        Size of raw bytes; taken from ``rgb`` when omitted.
    stride : int, optional
        Bytes per Y row of raw bytes, when the rows are padded.  When it is
        omitted and the size of the buffer shows padding, the padding is
        read and reported as a ``stride`` issue.
    layout : {"nv12", "nv21", "i420", "yv12"}, optional
        How raw bytes are to be read (default ``"nv12"``, as a chip reads them).
    expected : str or Convention, optional
        Deprecated old name of ``convention``, kept for one release.

    Returns
    -------
    Diagnosis
        Ranked hypotheses; ``.top.issues`` names the bugs (ids from
        :data:`ISSUE_IDS`), ``.top.explanation`` and ``.top.fix`` say what
        and how, ``.top.evidence`` holds the numbers.

    Raises
    ------
    InputError
        Planes that are not uint8, odd sizes, a raw buffer whose size no
        stride or plane padding explains (the message has the arithmetic),
        raw bytes without a size, unreadable files; both ``convention`` and
        ``expected`` given.
    ConventionError
        An unknown ``convention`` name.

    Warns
    -----
    DeprecationWarning
        ``expected=`` was given: say ``convention=``.

    Notes
    -----
    See :mod:`nv12kit.lint.diagnosis` for how the hypotheses are scored.  A
    difference in chroma down-sampling (top-left, box, bicubic) is not a
    bug: it is reported as a note on ``ok``.  A frame whose size differs
    from the image's is compared with the image resized to it
    (``resized``), or cropped when the frame only carries padding.

    Examples
    --------
    >>> import nv12kit
    >>> from nv12kit.lint import diagnose
    >>> from nv12kit.chart import test_chart
    >>> rgb = test_chart()
    >>> frame = nv12kit.rgb_to_nv12(rgb, convention="bt709-full")
    >>> diagnose(rgb, frame).top.issues
    ('matrix_mismatch',)
    >>> nv21 = (frame.y, frame.uv[..., ::-1])
    >>> diagnose(rgb, nv21, convention="bt709-full").top.issues
    ('uv_swapped',)
    >>> diagnose(None, frame.to_bytes(stride=384), width=360, height=240).top.issues
    ('stride',)
    """
    convention = convention_or_expected(convention, expected)
    conv = get_convention(convention)
    ref = _as_reference(rgb)
    ref_hw = None
    if ref is not None:
        ref_hw = (ref.shape[0] - ref.shape[0] % 2, ref.shape[1] - ref.shape[1] % 2)
    src = _as_source(nv12, width, height, stride, layout, ref_hw)
    even_ref = ref if ref is None or ref.shape[:2] == ref_hw else crop_to_even(ref)
    src = _pick_reading(src, even_ref)
    if src.unreadable is not None:
        ids, explanation, fix = _combine([src.unreadable])
        hyp = Hypothesis(ids, explanation, fix, {"bytes": int(src.stream.size)}, 0.9, None)
        subject = f"{src.what} ({src.width}x{src.height})"
        return Diagnosis((hyp,), conv.name, tuple(src.notes), {}, subject, ref is not None)
    if ref is None:
        return _diagnose_bytes(src, conv)
    return _diagnose_with_reference(ref, src, conv)
