"""Decoder presets: bit-exact to the real NV12 node where it runs here (OpenVINO), to the documented formula elsewhere.

The ``openvino`` preset is checked against OpenVINO itself (a test-only dependency): a tiny identity
model behind ``ov.preprocess.PrePostProcessor`` with a ``NV12_TWO_PLANES`` u8 input converted to RGB/BGR,
compiled on the CPU, on every (Y, U, V) triple, on random frames (Y < 16, Y > 235, extreme chroma,
several sizes) and on the bundled photos.  The ``ascend-aipp`` preset is checked against the formula
of the Ascend ATC documentation ("CSC Configuration": ``(M @ (yuv - input_bias)) >> 8``), written out
here pixel by pixel in Python integers.
"""

from __future__ import annotations

import functools
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from fractions import Fraction

import numpy as np
import pytest

from nv12kit import NV12Frame, load_image, nv12_to_rgb, rgb_to_nv12, yuv444_to_rgb
from nv12kit._decoders import _round_fixed, _round_float
from nv12kit.conventions import CONVENTIONS, Convention, Decoder, get_convention
from nv12kit.data import photo_paths
from nv12kit.errors import ConventionError

ov = pytest.importorskip("openvino")


@functools.lru_cache(maxsize=8)
def _openvino_nv12(height: int, width: int, order: str):
    """OpenVINO's NV12 conversion (PrePostProcessor, two planes, u8) on an identity model, compiled on CPU."""
    import openvino.opset13 as ops
    from openvino.preprocess import ColorFormat, PrePostProcessor

    image = ops.parameter([1, height, width, 3], np.uint8, name="image")
    model = ov.Model([ops.result(image)], [image], "identity")
    ppp = PrePostProcessor(model)
    ppp.input().tensor().set_element_type(ov.Type.u8).set_color_format(ColorFormat.NV12_TWO_PLANES)
    ppp.input().preprocess().convert_color(ColorFormat.RGB if order == "rgb" else ColorFormat.BGR)
    return ov.Core().compile_model(ppp.build(), "CPU")


def _openvino_decode(y: np.ndarray, uv: np.ndarray, order: str = "rgb") -> np.ndarray:
    compiled = _openvino_nv12(*y.shape, order)
    result = compiled.infer_new_request({0: y[None, ..., None], 1: uv[None]})
    return np.asarray(result[0])[0]


def _every_triple_frames(low: int, high: int):
    """Frames whose 2x2 blocks hold 4 Y values over all 65536 (U, V) pairs: Y from low to high-1."""
    u, v = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
    uv = np.stack([u, v], -1).astype(np.uint8)
    for start in range(low, high, 4):
        block = np.arange(start, start + 4).reshape(2, 2).astype(np.uint8)
        yield np.tile(block, (256, 256)), uv


def test_openvino_every_yuv_triple_bit_exact():
    """All 2**24 (Y, U, V) triples, RGB order: with nearest chroma every pixel is one triple."""
    mismatched = 0
    for y, uv in _every_triple_frames(0, 256):
        mismatched += int(np.count_nonzero(nv12_to_rgb((y, uv), convention="openvino") != _openvino_decode(y, uv)))
    assert mismatched == 0


def test_openvino_bgr_bit_exact_on_the_hard_rows():
    """BGR order, on the Y values around the limited-range edges (below 16, above 235)."""
    for y, uv in list(_every_triple_frames(0, 24)) + list(_every_triple_frames(228, 256)):
        assert np.array_equal(nv12_to_rgb((y, uv), convention="openvino", order="bgr"),
                              _openvino_decode(y, uv, "bgr"))


@pytest.mark.parametrize("height,width", [(2, 2), (6, 10), (34, 66), (128, 128), (240, 320)])
def test_openvino_random_frames_bit_exact(height, width):
    rng = np.random.default_rng(height * 1000 + width)
    y = rng.integers(0, 256, (height, width), dtype=np.uint8)
    uv = rng.integers(0, 256, (height // 2, width // 2, 2), dtype=np.uint8)
    # the edges on purpose: black below 16, white above 235, chroma at 0 and 255
    y[::3, ::2] = rng.integers(0, 16, y[::3, ::2].shape, dtype=np.uint8)
    y[1::3, 1::2] = rng.integers(236, 256, y[1::3, 1::2].shape, dtype=np.uint8)
    uv[::2, ::2] = rng.choice(np.array([0, 255], np.uint8), uv[::2, ::2].shape)
    for order in ("rgb", "bgr"):
        assert np.array_equal(nv12_to_rgb(NV12Frame(y, uv), convention="openvino", order=order),
                              _openvino_decode(y, uv, order))


@pytest.mark.parametrize("path", photo_paths(), ids=lambda p: p.stem)
def test_openvino_real_photos_bit_exact(path):
    rgb = np.asarray(load_image(path))
    rgb = rgb[: rgb.shape[0] // 2 * 2, : rgb.shape[1] // 2 * 2]
    frame = rgb_to_nv12(rgb, convention="openvino")
    assert np.array_equal(nv12_to_rgb(frame, convention="openvino"), _openvino_decode(frame.y, frame.uv))


def test_exact_inverse_is_not_openvino():
    """The check can fail: the exact BT.601 limited inverse differs from OpenVINO on a few % of pixels."""
    y, uv = next(_every_triple_frames(100, 104))
    exact = nv12_to_rgb((y, uv), convention="bt601-limited")
    differs = np.count_nonzero(exact != _openvino_decode(y, uv))
    assert differs > 0.01 * exact.size


def test_openvino_preset_encoder_is_textbook_bt601_limited():
    rgb = np.random.default_rng(1).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    ours, textbook = rgb_to_nv12(rgb, convention="openvino"), rgb_to_nv12(rgb, convention="bt601-limited")
    assert np.array_equal(ours.y, textbook.y) and np.array_equal(ours.uv, textbook.uv)


def test_yuv444_uses_the_decoder():
    rng = np.random.default_rng(2)
    yuv = rng.integers(0, 256, (4, 6, 3), dtype=np.uint8)
    uv_full = yuv[..., 1:]
    # nearest up-sampling of a 4:2:0 frame whose blocks repeat: the same as 4:4:4 of the replicated planes
    frame_uv = uv_full[::2, ::2]
    replicated = yuv.copy()
    replicated[..., 1:] = np.repeat(np.repeat(frame_uv, 2, 0), 2, 1)
    assert np.array_equal(yuv444_to_rgb(replicated, convention="openvino"),
                          nv12_to_rgb((yuv[..., 0].copy(), np.ascontiguousarray(frame_uv)), convention="openvino"))


# ---------------------------------------------------------------------------
# Ascend AIPP: the documented fixed-point formula
# ---------------------------------------------------------------------------
def _aipp_documented(y: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """ATC "CSC Configuration", YUV420SP_U8 to RGB, BT-601NARROW, evaluated pixel by pixel."""
    matrix = ((298, 0, 409), (298, -100, -208), (298, 516, 0))
    bias = (16, 128, 128)
    out = np.zeros((*y.shape, 3), np.uint8)
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            yuv = (int(y[i, j]), int(uv[i // 2, j // 2, 0]), int(uv[i // 2, j // 2, 1]))
            for c, row in enumerate(matrix):
                value = sum(m * (x - b) for m, x, b in zip(row, yuv, bias)) >> 8
                out[i, j, c] = min(max(value, 0), 255)
    return out


def test_ascend_aipp_preset_is_the_documented_formula():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 256, (10, 14), dtype=np.uint8)
    uv = rng.integers(0, 256, (5, 7, 2), dtype=np.uint8)
    assert np.array_equal(nv12_to_rgb((y, uv), convention="ascend-aipp"), _aipp_documented(y, uv))


def test_fixed_point_bilinear_is_exact():
    """A fixed decoder with bilinear chroma: exact sixteenths, checked with fractions."""
    dec = Decoder(((256, 0, 359), (256, -88, -183), (256, 454, 0)), offsets=(0, 128, 128), dtype="fixed", shift=8,
                  rounding="half-up")
    conv = Convention("jpeg-aipp-bilinear", chroma_up="bilinear", decoder=dec)
    rng = np.random.default_rng(4)
    y = rng.integers(0, 256, (4, 6), dtype=np.uint8)
    uv = rng.integers(0, 256, (2, 3, 2), dtype=np.uint8)
    got = nv12_to_rgb((y, uv), convention=conv)

    def up(plane, i, j):  # centre-sited: sample (i - 0.5) / 2 ... weights 3/4, 1/4, edges clamped
        def axis(k, n):
            near, far = k // 2, k // 2 + (1 if k % 2 else -1)
            return near, min(max(far, 0), n - 1)
        (a, b), (c, d) = axis(i, plane.shape[0]), axis(j, plane.shape[1])
        p = plane.astype(int)
        return Fraction(9 * p[a, c] + 3 * p[a, d] + 3 * p[b, c] + p[b, d], 16)

    for i in range(4):
        for j in range(6):
            yuv = (Fraction(int(y[i, j])), up(uv[..., 0], i, j) - 128, up(uv[..., 1], i, j) - 128)
            for c, row in enumerate(dec.coefficients):
                value = sum(m * x for m, x in zip(row, yuv)) / 256
                expected = min(max((value + Fraction(1, 2)).__floor__(), 0), 255)
                assert got[i, j, c] == expected, (i, j, c)


# ---------------------------------------------------------------------------
# rounding, clamping, validation
# ---------------------------------------------------------------------------
def test_round_float_modes_against_decimal():
    values = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.4999999, -3.75, 7.25], np.float64)
    modes = {"half-even": ROUND_HALF_EVEN, "half-up": None, "half-away": ROUND_HALF_UP}
    for mode, decimal_mode in modes.items():
        got = _round_float(values, mode)
        for value, rounded in zip(values.tolist(), got.tolist()):
            exact = Fraction(value)
            if decimal_mode is None:
                expected = (exact + Fraction(1, 2)).__floor__()
            else:
                expected = int(Decimal(value).quantize(Decimal(1), rounding=decimal_mode))
            assert rounded == expected, (mode, value)
    assert _round_float(values, "truncate").tolist() == [int(v) for v in values.tolist()]
    assert _round_float(values, "floor").tolist() == np.floor(values).tolist()


def test_round_fixed_modes_against_fractions():
    numer = np.arange(-1100, 1100, dtype=np.int64)
    for mode in ("floor", "truncate", "half-up", "half-even", "half-away"):
        got = _round_fixed(numer, 8, mode)
        for n, r in zip(numer.tolist(), got.tolist()):
            x = Fraction(n, 256)
            expected = {
                "floor": x.__floor__(),
                "truncate": int(x),
                "half-up": (x + Fraction(1, 2)).__floor__(),
                "half-even": round(x),
                "half-away": (1 if x >= 0 else -1) * (abs(x) + Fraction(1, 2)).__floor__(),
            }[mode]
            assert r == expected, (mode, n)


def test_clamp_luma_and_wrap():
    y = np.array([[0, 8], [16, 255]], np.uint8)
    uv = np.array([[[128, 128]]], np.uint8)
    base = dict(coefficients=((1.164, 0, 0), (1.164, 0, 0), (1.164, 0, 0)), rounding="half-even")
    clamped = nv12_to_rgb((y, uv), convention=Convention("c", decoder=Decoder(**base, clamp_luma=True)))
    assert clamped[..., 0].tolist() == [[0, 0], [0, 255]]
    wrapped = nv12_to_rgb((y, uv), convention=Convention("w", decoder=Decoder(**base, clip=False)))
    # (0 - 16) * 1.164 = -18.624 -> -19 -> 237 modulo 256; 239 * 1.164 = 278.196 -> 278 -> 22
    assert wrapped[..., 0].tolist() == [[237, (-9) % 256], [0, 22]]


@pytest.mark.parametrize("kwargs,match", [
    (dict(coefficients=((1, 2), (3, 4))), "3x3"),
    (dict(coefficients=((1, 0, 0),) * 3, offsets=(16, 128)), "offsets"),
    (dict(coefficients=((1, 0, 0),) * 3, dtype="float16"), "dtype"),
    (dict(coefficients=((1, 0, 0),) * 3, rounding="banker"), "rounding"),
    (dict(coefficients=((1.5, 0, 0),) * 3, dtype="fixed", shift=8), "integer"),
    (dict(coefficients=((1, 0, 0),) * 3, shift=3), "fixed"),
    (dict(coefficients=(("a", 0, 0),) * 3), "numbers"),
    (dict(coefficients=((float("nan"), 0, 0),) * 3), "finite"),
])
def test_decoder_validation(kwargs, match):
    with pytest.raises(ConventionError, match=match):
        Decoder(**kwargs)


def test_convention_rejects_non_decoder():
    with pytest.raises(ConventionError, match="Decoder"):
        Convention("x", decoder={"coefficients": 1})


def test_presets_cite_their_source():
    for name in ("openvino", "rknn-rga", "tidl", "ascend-aipp"):
        conv = get_convention(name)
        assert conv.reference and conv.description
    assert CONVENTIONS["openvino"].decoder.dtype == "float32"
    assert "decoder float32" in CONVENTIONS["openvino"].summary()
    assert CONVENTIONS["horizon"].decoder is None  # existing presets unchanged


# ---------------------------------------------------------------------------
# The integer fast path of fixed-point decoders with nearest chroma (issue 17)
# ---------------------------------------------------------------------------
def _every_y_with_every_pair() -> tuple[np.ndarray, np.ndarray]:
    """A 128 x 131072 frame: chroma block (i, j) holds pair j (U = j % 256, V = j // 256) and the Y values
    4i .. 4i+3, so every (Y, U, V) triple occurs once."""
    i = np.arange(64)[:, None, None, None]
    y = np.broadcast_to(4 * i + 2 * np.arange(2)[None, :, None, None] + np.arange(2)[None, None, None, :],
                        (64, 2, 65536, 2)).reshape(128, 131072).astype(np.uint8)
    j = np.arange(65536)
    uv = np.ascontiguousarray(np.broadcast_to(np.stack([j % 256, j // 256], -1), (64, 65536, 2))).astype(np.uint8)
    return y, uv


def test_ascend_aipp_every_yuv_triple_is_the_documented_formula():
    # The documented formula in int64, vectorised here: (M @ (yuv - bias)) >> 8, clipped.
    y, uv = _every_y_with_every_pair()
    got = nv12_to_rgb((y, uv), convention="ascend-aipp")
    matrix, bias = ((298, 0, 409), (298, -100, -208), (298, 516, 0)), (16, 128, 128)
    for top in range(0, 128, 16):
        yy = y[top : top + 16].astype(np.int64)
        u = np.repeat(np.repeat(uv[top // 2 : top // 2 + 8, :, 0], 2, 0), 2, 1).astype(np.int64)
        v = np.repeat(np.repeat(uv[top // 2 : top // 2 + 8, :, 1], 2, 0), 2, 1).astype(np.int64)
        for c, (a, b, cc) in enumerate(matrix):
            want = np.clip((a * (yy - bias[0]) + b * (u - bias[1]) + cc * (v - bias[2])) >> 8, 0, 255)
            assert np.array_equal(got[top : top + 16, :, c], want), (top, c)


FIXED_VARIANTS = [
    dict(rounding="floor"),
    dict(rounding="half-up"),
    dict(rounding="truncate"),  # with clipping the same as floor
    dict(rounding="truncate", clip=False),  # not: the general path
    dict(rounding="half-even"),  # not: the general path
    dict(rounding="half-up", clamp_luma=True),
    dict(rounding="floor", clip=False),
    dict(rounding="floor", shift=0, coefficients=((1, 0, 1), (1, -1, -1), (1, 2, 0))),
    dict(rounding="half-up", shift=12, coefficients=((4769, 0, 6537), (4769, -1605, -3330), (4769, 8263, 0))),
]


@pytest.mark.parametrize("variant", FIXED_VARIANTS, ids=lambda v: "-".join(f"{k}={v[k]}" for k in v if len(k) < 12))
def test_fixed_point_fast_path_equals_the_step_by_step_decoder(variant):
    from nv12kit import _decoders

    kwargs = dict(coefficients=((298, 0, 409), (298, -100, -208), (298, 516, 0)), offsets=(16, 128, 128),
                  dtype="fixed", shift=8) | variant
    dec = Decoder(**kwargs)
    conv = Convention("fixed-variant", decoder=dec)
    rng = np.random.default_rng(17)
    for shape in [(224, 224), (2, 2), (6, 10), (600, 34)]:  # 600 rows: more than one band
        y = rng.integers(0, 256, shape, dtype=np.uint8)
        uv = rng.integers(0, 256, (shape[0] // 2, shape[1] // 2, 2), dtype=np.uint8)
        y[0, :2], uv[0, 0] = (0, 255), (0, 255)
        for perm in [(0, 1, 2), (2, 1, 0)]:
            up = [_decoders._nearest_up(uv[..., k]) for k in (0, 1)]
            want = _decoders._decode_planes(y, *up, dec, 1, perm)
            assert np.array_equal(_decoders.decode(y, uv, conv, perm), want), (shape, perm)
