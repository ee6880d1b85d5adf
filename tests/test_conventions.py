"""Conventions are data: presets, validation, exact matrices, evaluation modes, threads."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import nv12kit
from nv12kit import CONVENTIONS, Convention, ConventionError, InputError, get_convention

REQUIRED = {"horizon", "pil", "opencv", "libyuv", "libyuv-jpeg"} | {
    f"{m}-{r}" for m in ("bt601", "bt709", "bt2020") for r in ("full", "limited")
}


def test_every_required_preset_is_present_and_frozen():
    assert REQUIRED <= set(CONVENTIONS)
    with pytest.raises(Exception):
        CONVENTIONS["horizon"].range = "limited"  # frozen dataclass
    with pytest.raises(TypeError):
        CONVENTIONS["mine"] = CONVENTIONS["horizon"]  # read-only mapping


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ConventionError) as err:
        get_convention("bt.601")
    assert "horizon" in str(err.value) and "bt709-limited" in str(err.value)


def test_names_are_forgiving_about_case_and_underscores():
    assert get_convention("BT709_Limited") is CONVENTIONS["bt709-limited"]


@pytest.mark.parametrize(
    "field, value",
    [
        ("matrix", "bt2100"),
        ("range", "studio"),
        ("chroma_down", "median"),
        ("chroma_up", "cubic"),
        ("rounding", "banker"),
        ("evaluation", "float32"),
        ("arithmetic", "numba"),
    ],
)
def test_bad_field_values_are_refused_with_the_allowed_ones(field, value):
    with pytest.raises(ConventionError) as err:
        get_convention("bt601-full").replace(**{field: value})
    assert field in str(err.value) and value in str(err.value)


def test_fixed_point_arithmetics_refuse_matrices_they_do_not_implement():
    with pytest.raises(ConventionError, match="BT.601 limited"):
        Convention("x", matrix="bt709", range="limited", arithmetic="opencv")
    with pytest.raises(ConventionError, match="JFIF"):
        Convention("x", range="limited", arithmetic="pillow")


def test_user_conventions_convert_like_presets():
    mine = get_convention("bt709-limited").replace(name="my-isp", chroma_down="topleft")
    rgb = np.random.default_rng(0).integers(0, 256, (8, 10, 3), dtype=np.uint8)
    frame = nv12kit.rgb_to_nv12(rgb, convention=mine)
    same_luma = nv12kit.rgb_to_nv12(rgb, convention="bt709-limited")
    assert np.array_equal(frame.y, same_luma.y)
    assert "my-isp" in mine.summary() and mine.to_dict()["chroma_down"] == "topleft"


def test_exact_matrices_are_the_textbook_fractions_and_invert_exactly():
    m, off = get_convention("bt601-full").exact_encode_matrix()
    assert m[0] == (Fraction(299, 1000), Fraction(587, 1000), Fraction(114, 1000))
    assert off == (0, 128, 128)
    inverse, _ = get_convention("bt601-full").exact_decode_matrix()
    product = [[sum(inverse[i][k] * m[k][j] for k in range(3)) for j in range(3)] for i in range(3)]
    assert product == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert inverse[0][2] == Fraction(1402, 1000) and inverse[2][1] == Fraction(1772, 1000)


def test_limited_range_maps_black_and_white_to_16_and_235():
    m, off = get_convention("bt709-limited").exact_encode_matrix()
    assert sum(m[0]) * 255 + off[0] == 235 and off[0] == 16


def test_exact_evaluation_rounds_real_halves_up_float64_evaluation_does_not():
    # 0.299*37 + 0.587*1 + 0.114*25 is exactly 14.5; float64 makes it 14.499999999999998.
    img = np.broadcast_to(np.array([37, 1, 25], np.uint8), (2, 2, 3)).copy()
    exact = get_convention("bt601-full")
    naive = exact.replace(name="naive", evaluation="float64")
    assert nv12kit.rgb_to_nv12(img, convention=exact).y[0, 0] == 15
    assert nv12kit.rgb_to_nv12(img, convention=naive).y[0, 0] == 14


def test_horizon_truncates_the_float64_formula_as_numpy_reference_code_does():
    # 0.299 + 0.587 + 0.114 == 0.9999999999999999 in float64: astype(uint8) gives 0, not 1.
    ones = np.ones((2, 2, 3), np.uint8)
    assert get_convention("horizon").evaluation == "float64"
    assert nv12kit.rgb_to_nv12(ones, convention="horizon").y[0, 0] == 0
    exact = get_convention("horizon").replace(name="horizon-exact", evaluation="exact")
    assert nv12kit.rgb_to_nv12(ones, convention=exact).y[0, 0] == 1


@pytest.mark.parametrize("name", ["horizon", "opencv", "bt709-limited", "libyuv", "pil"])
def test_results_do_not_depend_on_the_number_of_threads(name):
    rgb = np.random.default_rng(1).integers(0, 256, (600, 800, 3), dtype=np.uint8)
    before = nv12kit.get_num_threads()
    try:
        nv12kit.set_num_threads(1)
        one = nv12kit.rgb_to_nv12(rgb, convention=name)
        back_one = nv12kit.nv12_to_rgb(one, convention=name)
        nv12kit.set_num_threads(3)
        three = nv12kit.rgb_to_nv12(rgb, convention=name)
        assert three == one
        assert np.array_equal(nv12kit.nv12_to_rgb(three, convention=name), back_one)
    finally:
        nv12kit.set_num_threads(before)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2"])
def test_bad_thread_counts_are_refused(bad):
    with pytest.raises(InputError):
        nv12kit.set_num_threads(bad)


def test_bilinear_chroma_decoding_is_smooth_and_exact_on_flat_chroma():
    flat = nv12kit.rgb_to_nv12(np.full((8, 8, 3), (200, 40, 90), np.uint8), convention="bt601-full")
    nearest = nv12kit.nv12_to_rgb(flat, convention="bt601-full")
    bilinear = nv12kit.nv12_to_rgb(
        flat, convention=get_convention("bt601-full").replace(name="b", chroma_up="bilinear")
    )
    assert np.array_equal(nearest, bilinear)  # flat chroma: the filter changes nothing


def test_bilinear_chroma_matches_a_plain_float_reference_within_one_level():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 256, (6, 8), dtype=np.uint8)
    uv = rng.integers(0, 256, (3, 4, 2), dtype=np.uint8)
    conv = get_convention("bt601-full").replace(name="b", chroma_up="bilinear")

    def up(p: np.ndarray) -> np.ndarray:
        # Centre-sited: output sample 2i (2i+1) is 3/4 of chroma i and 1/4 of i-1 (i+1), edges clamped.
        out = np.empty((p.shape[0] * 2,) + p.shape[1:])
        prev = np.concatenate([p[:1], p[:-1]])
        nxt = np.concatenate([p[1:], p[-1:]])
        out[0::2], out[1::2] = 0.75 * p + 0.25 * prev, 0.75 * p + 0.25 * nxt
        return out

    u = up(up(uv[..., 0].astype(float)).T).T - 128
    v = up(up(uv[..., 1].astype(float)).T).T - 128
    want = np.stack([y + 1.402 * v, y - 0.344136 * u - 0.714136 * v, y + 1.772 * u], axis=-1)
    want = np.clip(np.floor(want + 0.5), 0, 255)
    got = nv12kit.nv12_to_rgb(nv12kit.NV12Frame(y, uv), convention=conv)
    assert np.abs(got.astype(int) - want).max() <= 1


@pytest.mark.parametrize("name", ["horizon", "bt709-limited", "bt2020-full"])
def test_yuv444_decode_agrees_with_nv12_decode_where_chroma_is_flat(name):
    rng = np.random.default_rng(5)
    y = rng.integers(0, 256, (4, 6), dtype=np.uint8)
    uv = np.repeat(np.repeat(rng.integers(0, 256, (2, 3, 2), dtype=np.uint8), 2, axis=0), 2, axis=1)
    yuv444 = np.dstack([y, uv])
    via_nv12 = nv12kit.nv12_to_rgb(nv12kit.NV12Frame(y, uv[0::2, 0::2]), convention=name)
    assert np.array_equal(nv12kit.yuv444_to_rgb(yuv444, convention=name), via_nv12)
    with pytest.raises(InputError, match="uint8"):
        nv12kit.yuv444_to_rgb(yuv444.astype(np.float32), convention=name)


# ----------------------------------------------------------------------------
# decoder descriptions (the real NV12 nodes; bit-exactness is in test_decoders.py)
# ----------------------------------------------------------------------------
def test_a_decoder_is_plain_hashable_data():
    from nv12kit.conventions import Decoder

    conv = get_convention("openvino")
    assert isinstance(conv.decoder, Decoder) and hash(conv) == hash(conv.replace())
    assert conv.to_dict()["decoder"]["rounding"] == "half-even"
    plain = conv.replace(name="exact-inverse", decoder=None)
    assert plain.decoder is None and "decoder" not in plain.summary()
    fixed = Decoder(((298.0, 0, 409), (298, -100, -208), (298, 516, 0)), dtype="fixed", shift=8)
    assert fixed.coefficients[0] == (298, 0, 409) and all(isinstance(c, int) for c in fixed.coefficients[0])


def test_decoder_presets_are_listed_after_the_textbook_ones_and_cite_sources():
    names = list(CONVENTIONS)
    assert names.index("bt2020-limited") < names.index("openvino")
    for name in ("openvino", "rknn-rga", "tidl", "ascend-aipp"):
        assert name in nv12kit.conventions.__doc__ and CONVENTIONS[name].reference
    # a decoder changes only the decoding: the encoder stays the textbook one
    rgb = np.random.default_rng(5).integers(0, 256, (4, 4, 3), dtype=np.uint8)
    a, b = nv12kit.rgb_to_nv12(rgb, convention="ascend-aipp"), nv12kit.rgb_to_nv12(rgb, convention="bt601-limited")
    assert np.array_equal(a.y, b.y) and np.array_equal(a.uv, b.uv)
