"""Tests for nv12kit.chart: the test chart is deterministic, documented and exposes what it promises."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nv12kit
from nv12kit import chart
from nv12kit.errors import InputError

make_chart = chart.test_chart  # not imported as test_chart: pytest would collect it


def test_default_chart_is_even_uint8_rgb_and_not_a_multiple_of_16_wide():
    img = make_chart()
    assert img.shape == (240, 360, 3)
    assert img.dtype == np.uint8 and img.flags.c_contiguous
    assert img.shape[0] % 2 == 0 and img.shape[1] % 2 == 0
    assert img.shape[1] % 16 != 0  # so row padding to 16/32/64 shows up as a stride


def test_same_arguments_give_the_same_bytes():
    assert make_chart().tobytes() == make_chart().tobytes()
    assert make_chart(100, 130).tobytes() == make_chart(100, 130).tobytes()


def test_bands_tile_the_height_in_order():
    for height in (16, 17, 240, 1080):
        bands = chart.chart_bands(height)
        assert list(bands) == [name for name, _ in chart.CHART_BANDS]
        stops = [(b.start, b.stop) for b in bands.values()]
        assert stops[0][0] == 0 and stops[-1][1] == height
        assert all(a[1] == b[0] for a, b in zip(stops, stops[1:]))


def test_colour_bars_are_the_eight_full_bars():
    img = make_chart(240, 360)
    row = img[chart.chart_bands(240)["colour bars"].start]
    centres = [int((i + 0.5) * 360 / 8) for i in range(8)]
    got = [tuple(row[c]) for c in centres]
    assert got == [
        (255, 255, 255), (255, 255, 0), (0, 255, 255), (0, 255, 0),
        (255, 0, 255), (255, 0, 0), (0, 0, 255), (0, 0, 0),
    ]


def test_hue_ramp_is_fully_saturated_and_ramps_reach_both_ends():
    img = make_chart(240, 360).astype(int)
    bands = chart.chart_bands(240)
    hue = img[bands["hue ramp"]]
    assert (hue.max(axis=2) == 255).all() and (hue.min(axis=2) == 0).all()
    ramps = img[bands["ramps"]]
    assert ramps.min() == 0 and ramps.max() == 255
    grey = ramps[-1]
    assert (grey[:, 0] == grey[:, 1]).all() and (grey[:, 1] == grey[:, 2]).all()
    assert (np.diff(grey[:, 0]) >= 0).all()


def test_skin_band_is_flat_patches_of_warm_colours():
    img = make_chart(240, 360).astype(int)
    skin = img[chart.chart_bands(240)["skin tones"]]
    assert (skin == skin[:1]).all()  # every row the same
    assert (skin[..., 0] >= skin[..., 2]).all()  # red above blue, as skin is


def test_odd_even_stripes_change_every_row_and_every_column():
    img = make_chart(240, 360).astype(int)
    band = img[chart.chart_bands(240)["odd/even stripes"]]
    rows_part = band[:, :90]
    cols_part = band[:, 90:180]
    assert (np.abs(np.diff(rows_part, axis=0)).sum(axis=2) > 0).all()
    assert (np.abs(np.diff(cols_part, axis=1)).sum(axis=2) > 0).all()


def test_full_range_encode_leaves_16_235_and_limited_never_does():
    img = make_chart()
    full = nv12kit.rgb_to_nv12(img, convention="horizon").y
    limited = nv12kit.rgb_to_nv12(img, convention="opencv").y
    assert ((full < 16) | (full > 235)).mean() > 0.05
    assert limited.min() >= 16 and limited.max() <= 235


def test_chart_separates_bt601_from_bt709_by_many_levels():
    img = make_chart()
    y601 = nv12kit.rgb_to_nv12(img, convention="bt601-full").y.astype(int)
    y709 = nv12kit.rgb_to_nv12(img, convention="bt709-full").y.astype(int)
    assert np.abs(y601 - y709).max() >= 25  # saturated green: 0.587 against 0.7152 of 255


def test_bgr_order_reverses_the_channels():
    assert np.array_equal(make_chart(40, 50, order="bgr"), make_chart(40, 50)[..., ::-1])


def test_odd_sizes_are_allowed_for_testing_converters():
    assert make_chart(33, 49).shape == (33, 49, 3)


@pytest.mark.parametrize("args", [(15, 100), (100, 8), (100.0, 100), (True, 100)])
def test_bad_sizes_are_rejected_with_the_reason(args):
    with pytest.raises(InputError, match="test_chart"):
        make_chart(*args)


def test_unknown_order_is_rejected():
    with pytest.raises(InputError, match="order"):
        make_chart(order="rgba")


def test_pytest_does_not_collect_the_chart_function():
    assert chart.test_chart.__test__ is False


@settings(max_examples=25, deadline=None)
@given(st.integers(16, 300), st.integers(16, 300))
def test_any_size_gives_that_shape_deterministically(height, width):
    a = make_chart(height, width)
    assert a.shape == (height, width, 3) and a.dtype == np.uint8
    assert np.array_equal(a, make_chart(height, width))
