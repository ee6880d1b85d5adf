"""Never ok with a residual (issue 15): what the best explanation leaves must be rounding, or the verdict says so.

The bound (``_RESIDUAL_UV`` = 2 levels rms of chroma, ``_RESIDUAL_Y`` = 1.5
of luma) was calibrated on honest frames: crops of the bundled photos and the
test chart encoded by nv12kit under every convention, by FFmpeg's libswscale,
OpenCV and Pillow (``benchmarks/bench_lint.py --calibrate`` prints the
figures).  Here: honest frames from real converters stay ``ok``; chroma
off by more than the bound is never ``ok``, also as a property over random
buffer layouts, plane offsets and chroma errors.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nv12kit
from nv12kit.chart import test_chart as make_chart
from nv12kit.data import photo_path
from nv12kit.lint import diagnose
from nv12kit.lint.by_reference import _RESIDUAL_UV
from nv12kit.yuv_layouts import plane_layout

PHOTOS = ("coffee", "astronaut", "chelsea_odd")


@pytest.fixture(scope="module")
def photos() -> dict[str, np.ndarray]:
    return {name: nv12kit.crop_to_even(nv12kit.load_image(photo_path(name))) for name in PHOTOS}


def _pyav(rgb: np.ndarray, colorspace: str, color_range: str) -> tuple[np.ndarray, np.ndarray]:
    av = pytest.importorskip("av")
    out = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
        format="nv12", dst_colorspace=colorspace, dst_color_range=color_range
    )
    h, w = rgb.shape[:2]
    y_plane, uv_plane = out.planes
    y = np.frombuffer(y_plane, np.uint8).reshape(h, y_plane.line_size)[:, :w]
    uv = np.frombuffer(uv_plane, np.uint8).reshape(h // 2, uv_plane.line_size)[:, :w]
    return np.ascontiguousarray(y), np.ascontiguousarray(uv)


CONVERTERS = {
    # name: (convention the frame is checked against, converter)
    "swscale bt601 limited": ("bt601-limited", lambda rgb: _pyav(rgb, "itu601", "MPEG")),
    "swscale bt709 limited": ("bt709-limited", lambda rgb: _pyav(rgb, "itu709", "MPEG")),
    "swscale bt601 full": ("bt601-full", lambda rgb: _pyav(rgb, "itu601", "JPEG")),
    "nv12kit horizon": ("horizon", lambda rgb: (lambda f: (f.y, f.uv))(nv12kit.rgb_to_nv12(rgb))),
    "nv12kit bt709-limited": ("bt709-limited", lambda rgb: (lambda f: (f.y, f.uv))(
        nv12kit.rgb_to_nv12(rgb, convention="bt709-limited"))),
}


@pytest.mark.parametrize("converter", list(CONVERTERS))
@pytest.mark.parametrize("image", [*PHOTOS, "chart"])
def test_honest_frames_of_real_converters_are_ok(photos, converter: str, image: str) -> None:
    rgb = make_chart() if image == "chart" else nv12kit.resize_to(photos[image], 226, 350)
    convention, convert = CONVERTERS[converter]
    d = diagnose(rgb, convert(rgb), convention=convention)
    assert d.is_ok, d
    assert d.top.evidence["uv_rms"] <= _RESIDUAL_UV


@pytest.mark.parametrize("rms", [3.0, 6.0])
def test_chroma_noise_beyond_the_bound_is_not_ok(photos, rms: float) -> None:
    rgb = nv12kit.resize_to(photos["coffee"], 200, 300)
    f = nv12kit.rgb_to_nv12(rgb)
    noisy = np.clip(f.uv + np.random.default_rng(0).normal(0, rms, f.uv.shape), 0, 255).round().astype(np.uint8)
    d = diagnose(rgb, (f.y, noisy))
    assert "unknown" in d.issues, d
    assert d.top.evidence["residual_uv_rms"] > _RESIDUAL_UV
    assert d.top.evidence["residual_bound_uv"] == _RESIDUAL_UV


def test_a_named_bug_with_a_residual_keeps_both(photos) -> None:
    rgb = nv12kit.resize_to(photos["astronaut"], 200, 300)
    f = nv12kit.rgb_to_nv12(rgb, convention="opencv")  # limited range against horizon: range_mismatch
    noisy = np.clip(f.uv + np.random.default_rng(1).normal(0, 5, f.uv.shape), 0, 255).round().astype(np.uint8)
    d = diagnose(rgb, (f.y, noisy))
    assert d.issues == ("range_mismatch", "unknown"), d


def _write(y: np.ndarray, uv: np.ndarray, lay, size: int) -> np.ndarray:
    """Rows where the layout says (from its definition, not nv12kit's reader), junk elsewhere."""
    h, w = y.shape
    buf = np.random.default_rng(size).integers(0, 256, size).astype(np.uint8)
    for r in range(h):
        buf[lay.y_offset + r * lay.y_stride : lay.y_offset + r * lay.y_stride + w] = y[r]
    for r in range(h // 2):
        buf[lay.uv_offset + r * lay.uv_stride : lay.uv_offset + r * lay.uv_stride + w] = uv[r].reshape(-1)
    return buf


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(PHOTOS),
    h=st.integers(12, 48).map(lambda v: 2 * v),
    w=st.integers(15, 70).map(lambda v: 2 * v),
    stride_pad=st.sampled_from([0, 2, 14, 30, 64]),
    plane_pad=st.sampled_from([0, 2, 8, 16, 32]),
    gap=st.sampled_from([0, 1, 2, 64, 100, 4096]),
    uv_stride_pad=st.sampled_from([0, 0, 4, 40]),
    noise=st.sampled_from([0.0, 0.0, 1.0, 2.5, 4.0]),
    seed=st.integers(0, 1000),
)
def test_never_ok_with_chroma_off(photos, name, h, w, stride_pad, plane_pad, gap, uv_stride_pad, noise, seed) -> None:
    """If the verdict is ok, the chroma a reader takes from where NV12 puts it is within 2 levels rms of the truth."""
    img = photos[name]
    rng = np.random.default_rng(seed)
    ch, cw = min(2 * h, img.shape[0]), min(2 * w, img.shape[1])
    y0 = int(rng.integers(0, img.shape[0] - ch + 1))
    x0 = int(rng.integers(0, img.shape[1] - cw + 1))
    rgb = nv12kit.resize_to(np.ascontiguousarray(img[y0 : y0 + ch, x0 : x0 + cw]), h, w)
    f = nv12kit.rgb_to_nv12(rgb)
    uv = f.uv
    if noise:
        uv = np.clip(uv + rng.normal(0, noise, uv.shape), 0, 255).round().astype(np.uint8)
    s = w + stride_pad
    lay = plane_layout(w, h, stride=s, uv_stride=w + uv_stride_pad if uv_stride_pad else s,
                       uv_offset=s * (h + plane_pad) + gap)
    buf = _write(f.y, uv, lay, max(lay.nbytes, s * h * 3 // 2) + 16)
    d = diagnose(rgb, buf, width=w, height=h, stride=s)
    if d.is_ok:
        # Where a reader that believes "ok" takes the chroma from: right after the Y plane, rows s apart.
        read = buf[s * h : s * h + s * (h // 2)].reshape(h // 2, s)[:, :w].astype(np.float64)
        off = float(np.sqrt(((read - f.uv.reshape(h // 2, w)) ** 2).mean()))
        assert off <= 2.0, (off, d)
