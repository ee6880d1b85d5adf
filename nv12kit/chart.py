"""A synthetic test chart that makes NV12 conversion bugs visible.

:func:`test_chart` draws, from top to bottom:

==============  =================================================================
band            what it exposes
==============  =================================================================
colour bars     the eight 100 % bars (white, yellow, cyan, green, magenta, red,
                blue, black): full-range Y leaves 16-235 on white and black;
                BT.601 and BT.709 differ most on saturated green and magenta
hue ramp        every hue at full saturation: the colour matrix and U/V order
ramps           red, green, blue and grey ramps from 0 to 255: range, gain and
                channel order, level by level
skin tones      eight flat skin patches, light to dark: what people look at
chroma edges    1-, 2- and 3-pixel stripes of colour pairs with almost equal
                luma: chroma siting and the chroma down-sampling method
odd/even        stripes one row (or column) high, a checkerboard and 2-row
stripes         stripes that start on an odd row: a row or stride misread
                shifts their phase
==============  =================================================================

The chart is pure arithmetic (no files, no randomness), so the same size
always gives the same bytes.  Band heights scale with ``height``; the
columns of each band scale with ``width``.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError

__all__ = ["test_chart", "CHART_BANDS", "chart_bands"]

#: Names of the chart's bands, top to bottom, and the share of the height each gets.
CHART_BANDS: tuple[tuple[str, float], ...] = (
    ("colour bars", 0.20),
    ("hue ramp", 0.10),
    ("ramps", 0.20),
    ("skin tones", 0.14),
    ("chroma edges", 0.16),
    ("odd/even stripes", 0.20),
)

_BARS = np.array(
    [
        (255, 255, 255),
        (255, 255, 0),
        (0, 255, 255),
        (0, 255, 0),
        (255, 0, 255),
        (255, 0, 0),
        (0, 0, 255),
        (0, 0, 0),
    ],
    dtype=np.uint8,
)

# Light to dark skin tones in sRGB (typical values of the Fitzpatrick scale and
# colour-checker "light/dark skin" patches, rounded).
_SKIN = np.array(
    [
        (255, 224, 196),
        (241, 194, 167),
        (224, 172, 138),
        (198, 134, 103),
        (194, 150, 130),
        (161, 110, 75),
        (115, 82, 68),
        (70, 48, 38),
    ],
    dtype=np.uint8,
)

# Colour pairs for the chroma edges: strong chroma contrast, similar luma.
_EDGE_PAIRS = np.array(
    [
        ((255, 0, 0), (0, 160, 255)),  # red / azure
        ((0, 200, 0), (255, 0, 255)),  # green / magenta
        ((0, 0, 255), (255, 160, 0)),  # blue / orange
        ((255, 255, 0), (160, 0, 255)),  # yellow / violet
    ],
    dtype=np.uint8,
)

_MIN_SIZE = 16


def _check_side(value: object, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InputError(f"test_chart: {name} must be an integer, got {value!r} ({type(value).__name__})")
    if value < _MIN_SIZE:
        raise InputError(
            f"test_chart: {name}={value} is too small; the chart needs at least {_MIN_SIZE} pixels "
            f"in each direction to hold its bands"
        )
    return int(value)


def chart_bands(height: int) -> dict[str, slice]:
    """Rows of each band of a chart ``height`` rows high.

    Parameters
    ----------
    height : int
        Chart height in pixels (at least 16).

    Returns
    -------
    dict of str to slice
        Band name (see :data:`CHART_BANDS`) to its rows, top to bottom; the
        slices tile ``0..height`` without gaps.

    Examples
    --------
    >>> chart_bands(100)["colour bars"]
    slice(0, 20, None)
    """
    height = _check_side(height, "height")
    edges = [0]
    total = 0.0
    for _, share in CHART_BANDS:
        total += share
        edges.append(int(round(total * height)))
    edges[-1] = height
    return {name: slice(edges[i], edges[i + 1]) for i, (name, _) in enumerate(CHART_BANDS)}


def _columns(width: int, parts: int) -> np.ndarray:
    """Index (0..parts-1) of the equal-width column group of each x."""
    return np.minimum(np.arange(width) * parts // width, parts - 1)


def _hue_ramp(width: int) -> np.ndarray:
    """Fully saturated, full-value hues 0..360 degrees across ``width`` pixels, (width, 3) uint8."""
    h = np.arange(width) * 6.0 / width
    sector = np.floor(h).astype(int) % 6
    frac = h - np.floor(h)
    up = np.round(255 * frac)
    down = np.round(255 * (1 - frac))
    full = np.full(width, 255.0)
    zero = np.zeros(width)
    table = [
        (full, up, zero),
        (down, full, zero),
        (zero, full, up),
        (zero, down, full),
        (up, zero, full),
        (full, zero, down),
    ]
    out = np.empty((width, 3))
    for s, (r, g, b) in enumerate(table):
        m = sector == s
        out[m, 0], out[m, 1], out[m, 2] = r[m], g[m], b[m]
    return out.astype(np.uint8)


def test_chart(height: int = 240, width: int = 360, *, order: str = "rgb") -> np.ndarray:
    """Draw the nv12kit test chart.

    Parameters
    ----------
    height, width : int, optional
        Size in pixels, at least 16 each.  The default, 240 x 360, is even
        (as NV12 needs) and 360 is not a multiple of 16, so converters that
        pad rows to 16, 32 or 64 bytes show a stride.  Odd sizes are
        allowed, to test how a converter treats them.
    order : {"rgb", "bgr"}, optional
        Channel order of the result (``"bgr"`` for OpenCV-style functions).

    Returns
    -------
    (height, width, 3) uint8 ndarray
        A new C-contiguous array; the same arguments always give the same
        bytes.

    Raises
    ------
    InputError
        A size that is not an integer or is below 16, or an unknown order.

    Notes
    -----
    The bands and what each exposes are listed in :mod:`nv12kit.chart`;
    :func:`chart_bands` gives their rows.  The colour bars and ramps reach 0
    and 255, so a full-range encode of the chart puts Y outside 16-235, and
    the saturated colours separate BT.601 from BT.709 by up to about 30
    levels of Y.  The chroma edges and the odd/even stripes are finer than
    the 2x2 chroma blocks on purpose: every chroma down-sampling method
    treats them differently, which is not a bug, while a row shift or a
    wrong stride moves them, which is.

    Examples
    --------
    >>> from nv12kit.chart import test_chart
    >>> chart = test_chart()
    >>> chart.shape, chart.dtype
    ((240, 360, 3), dtype('uint8'))
    >>> chart[0, 0].tolist(), chart[0, -1].tolist()  # white and black bars
    ([255, 255, 255], [0, 0, 0])
    >>> test_chart(32, 48, order="bgr")[0, 30].tolist()  # the red bar, as BGR
    [0, 0, 255]
    """
    height = _check_side(height, "height")
    width = _check_side(width, "width")
    if order not in ("rgb", "bgr"):
        raise InputError(f"test_chart: order must be 'rgb' or 'bgr', got {order!r}")
    img = np.zeros((height, width, 3), np.uint8)
    bands = chart_bands(height)
    x = np.arange(width)

    # Colour bars.
    img[bands["colour bars"]] = _BARS[_columns(width, len(_BARS))][None]

    # Hue ramp.
    img[bands["hue ramp"]] = _hue_ramp(width)[None]

    # Red, green, blue and grey ramps 0..255, one sub-band each.
    rows = bands["ramps"]
    level = np.round(x * 255.0 / max(width - 1, 1)).astype(np.uint8)
    n = rows.stop - rows.start
    sub = np.minimum(np.arange(n) * 4 // max(n, 1), 3)
    for i in range(n):
        line = np.zeros((width, 3), np.uint8)
        if sub[i] < 3:
            line[:, sub[i]] = level
        else:
            line[:] = level[:, None]
        img[rows.start + i] = line

    # Skin tones: flat patches.
    img[bands["skin tones"]] = _SKIN[_columns(width, len(_SKIN))][None]

    # Chroma edges: four column groups with stripe periods 2, 4, 6 and 3 pixels
    # (1-, 2-, 3-pixel and odd 1.5-pixel stripes), one colour pair each.
    rows = bands["chroma edges"]
    group = _columns(width, 4)
    periods = np.array([2, 4, 6, 3])
    half = periods[group] / 2.0
    phase = ((x % periods[group]) >= half).astype(int)
    line = _EDGE_PAIRS[group, phase]
    img[rows] = line[None]

    # Odd/even stripes: row stripes, column stripes, a checkerboard and 2-row
    # stripes starting on an odd row, in four column groups.
    rows = bands["odd/even stripes"]
    y = np.arange(rows.start, rows.stop)[:, None]
    group = _columns(width, 4)[None, :]
    xx = x[None, :]
    pattern = np.where(
        group == 0,
        y % 2,
        np.where(group == 1, xx % 2, np.where(group == 2, (xx + y) % 2, ((y + 1) // 2) % 2)),
    )
    colours = np.array(
        [
            ((230, 30, 30), (30, 30, 230)),  # red / blue rows
            ((30, 200, 30), (200, 30, 200)),  # green / magenta columns
            ((250, 250, 250), (10, 10, 10)),  # white / black checkerboard
            ((240, 220, 0), (0, 60, 200)),  # yellow / blue 2-row stripes
        ],
        dtype=np.uint8,
    )
    img[rows] = colours[np.broadcast_to(group, pattern.shape), pattern]

    if order == "bgr":
        img = np.ascontiguousarray(img[..., ::-1])
    return img


# A function called test_* would be collected by pytest wherever it is imported.
test_chart.__test__ = False  # type: ignore[attr-defined]
