"""diagnose on buffers laid out as real decoders and cameras lay them out (issue 15).

Frames come from real converters where they are installed (FFmpeg's
libswscale through PyAV, OpenCV, Pillow) and from nv12kit; buffers are
FFmpeg's own (PyAV planes at the addresses FFmpeg gave them) or written here,
row by row, from the documented allocator layouts (V4L2 NV12/NV12M, Android
MediaCodec and Image planes, Qualcomm Venus, and made-up ones with their own
chroma stride and page-aligned gaps).  Widths are not multiples of 16, 32 or
64.  Each case checks the named bug and the geometry found.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import nv12kit
from nv12kit.data import photo_path
from nv12kit.errors import NV12KitError
from nv12kit.lint import diagnose
from nv12kit.yuv_layouts import plane_layout

SIZES = [(200, 300), (226, 350), (90, 134)]  # (height, width): widths 300, 350, 134 are no multiple of 16
PHOTOS = ("coffee", "astronaut", "chelsea_odd")


def _photo(name: str, h: int, w: int) -> np.ndarray:
    return nv12kit.resize_to(nv12kit.load_image(photo_path(name)), h, w)


def ffmpeg_buffer(rgb: np.ndarray, fmt: str = "nv12") -> tuple[np.ndarray, list]:
    """libswscale's frame in one buffer, each plane at the offset FFmpeg allocated it; junk in the gaps."""
    av = pytest.importorskip("av")
    planes = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=fmt).planes
    start = planes[0].buffer_ptr
    end = max(p.buffer_ptr - start + p.buffer_size for p in planes)
    buf = np.random.default_rng(3).integers(0, 256, end).astype(np.uint8)
    for p in planes:
        buf[p.buffer_ptr - start : p.buffer_ptr - start + p.buffer_size] = np.frombuffer(p, np.uint8)
    return buf, list(planes)


def write_rows(y: np.ndarray, uv: np.ndarray, lay, junk: int = 0) -> np.ndarray:
    """A buffer written from the layout's definition: Y rows y_stride apart at y_offset, UV rows uv_stride apart."""
    h, w = y.shape
    buf = np.random.default_rng(junk).integers(0, 256, lay.nbytes + 37).astype(np.uint8)
    for r in range(h):
        buf[lay.y_offset + r * lay.y_stride : lay.y_offset + r * lay.y_stride + w] = y[r]
    for r in range(h // 2):
        buf[lay.uv_offset + r * lay.uv_stride : lay.uv_offset + r * lay.uv_stride + w] = uv[r].reshape(-1)
    return buf


def cv2_frame(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cv2 = pytest.importorskip("cv2")
    h, w = rgb.shape[:2]
    i420 = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).reshape(-1)
    u = i420[h * w : h * w * 5 // 4].reshape(h // 2, w // 2)
    v = i420[h * w * 5 // 4 :].reshape(h // 2, w // 2)
    return i420[: h * w].reshape(h, w), np.stack([u, v], axis=-1)


def pillow_frame(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image

    h, w = rgb.shape[:2]
    y, u, v = Image.fromarray(rgb).convert("YCbCr").split()
    half = (w // 2, h // 2)
    return np.asarray(y), np.stack([np.asarray(u.resize(half)), np.asarray(v.resize(half))], axis=-1)


# --- FFmpeg's real buffers ---------------------------------------------------------------------


@pytest.mark.parametrize("name", PHOTOS)
@pytest.mark.parametrize("size", SIZES)
def test_ffmpeg_buffer_with_its_line_size(name: str, size: tuple[int, int]) -> None:
    h, w = size
    rgb = _photo(name, h, w)
    buf, planes = ffmpeg_buffer(rgb)
    d = diagnose(rgb, buf, width=w, height=h, stride=planes[0].line_size, convention="bt601-limited")
    assert d.issues == ("misaligned",), d
    ev = d.top.evidence
    assert ev["uv_offset"] == planes[1].buffer_ptr - planes[0].buffer_ptr
    assert ev["uv_stride"] == planes[1].line_size
    assert ev["y_stride"] == planes[0].line_size
    assert ev["plane_height_alignment"] in (16, 32)  # align(H, 32) rows; 16 when it gives the same height
    assert ev["uv_gap"] == 64
    assert "preset='ffmpeg'" in d.top.fix
    # The printed call reads what FFmpeg wrote.
    frame = nv12kit.read_yuv(buf, w, h, preset="ffmpeg")
    uv_rows = np.frombuffer(planes[1], np.uint8).reshape(h // 2, planes[1].line_size)[:, :w]
    assert np.array_equal(frame.uv.reshape(h // 2, w), uv_rows)


@pytest.mark.parametrize("size", SIZES[:2])
def test_ffmpeg_buffer_without_its_line_size(size: tuple[int, int]) -> None:
    h, w = size
    rgb = _photo("coffee", h, w)
    buf, planes = ffmpeg_buffer(rgb)
    d = diagnose(rgb, buf, width=w, height=h, convention="bt601-limited")
    assert set(d.issues) == {"stride", "misaligned"}, d
    assert d.top.evidence["y_stride"] == planes[0].line_size
    assert d.top.evidence["uv_offset"] == planes[1].buffer_ptr - planes[0].buffer_ptr


def test_ffmpeg_buffer_truncated_to_one_packed_frame_is_never_ok() -> None:
    """The issue's case: FFmpeg's buffer read as one contiguous NV12 frame with the right stride."""
    h, w = 200, 300
    rgb = _photo("astronaut", h, w)
    buf, planes = ffmpeg_buffer(rgb)
    s = planes[0].line_size
    d = diagnose(rgb, buf[: s * h * 3 // 2], width=w, height=h, stride=s, convention="bt601-limited")
    assert not d.is_ok
    assert "misaligned" in d.issues
    assert d.top.evidence["uv_offset"] == planes[1].buffer_ptr - planes[0].buffer_ptr


def test_ffmpeg_range_and_layout_together() -> None:
    h, w = 226, 350
    rgb = _photo("chelsea_odd", h, w)
    buf, planes = ffmpeg_buffer(rgb)
    d = diagnose(rgb, buf, width=w, height=h, stride=planes[0].line_size, convention="horizon")
    assert d.issues == ("range_mismatch", "misaligned"), d


# --- documented allocator layouts ------------------------------------------------------------

LAYOUT_CASES = {
    # name: (plane_layout kwargs, expected issues)
    "v4l2 NV12, bytesperline padded": ({"preset": "v4l2", "stride_pad": 20}, ("ok",)),
    "android MediaCodec": ({"preset": "android"}, ("misaligned",)),
    "qcom venus": ({"preset": "qcom-venus"}, ("misaligned",)),
    "ffmpeg": ({"preset": "ffmpeg"}, ("misaligned",)),
    "own chroma stride and page gap": ({"own": True}, ("stride", "misaligned")),
}


def _layout(h: int, w: int, spec: dict):
    if spec.get("own"):
        s = w + 12
        return plane_layout(w, h, stride=s, uv_stride=w + 44, uv_offset=s * (h + 16) + 4096)
    stride = w + spec["stride_pad"] if "stride_pad" in spec else None
    return plane_layout(w, h, preset=spec["preset"], stride=stride)


@pytest.mark.parametrize("case", list(LAYOUT_CASES))
@pytest.mark.parametrize("source", ["nv12kit", "opencv", "pillow"])
@pytest.mark.parametrize("size", SIZES)
def test_documented_layouts(case: str, source: str, size: tuple[int, int]) -> None:
    h, w = size
    rgb = _photo("coffee" if w != 350 else "astronaut", h, w)
    convention = {"nv12kit": "horizon", "opencv": "opencv", "pillow": "pil"}[source]
    y, uv = {"nv12kit": lambda: (lambda f: (f.y, f.uv))(nv12kit.rgb_to_nv12(rgb)),
             "opencv": lambda: cv2_frame(rgb), "pillow": lambda: pillow_frame(rgb)}[source]()
    spec, want = LAYOUT_CASES[case]
    lay = _layout(h, w, spec)
    buf = write_rows(y, uv, lay)
    d = diagnose(rgb, buf, width=w, height=h, stride=lay.y_stride, convention=convention)
    assert d.issues == want, d
    if want != ("ok",):
        ev = d.top.evidence
        assert (ev["uv_offset"], ev["uv_stride"]) == (lay.uv_offset, lay.uv_stride)
        # The fix's call reads the frame back exactly.
        call = d.top.fix[d.top.fix.index("nv12kit.read_yuv(") :].split(")")[0] + ")"
        frame = eval(call, {"nv12kit": nv12kit, "buf": buf})  # noqa: S307 - our own printed call
        assert np.array_equal(frame.y, y) and np.array_equal(frame.uv, uv)


# --- planes in separate buffers ----------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_v4l2_nv12m_pair(size: tuple[int, int]) -> None:
    h, w = size
    rgb = _photo("astronaut", h, w)
    f = nv12kit.rgb_to_nv12(rgb)
    s = -(-w // 64) * 64
    y_bytes = write_rows(f.y, f.uv, plane_layout(w, h, stride=s))[: s * h]
    uv_bytes = np.zeros((h // 2, s), np.uint8)
    uv_bytes[:, :w] = f.uv.reshape(h // 2, w)
    d = diagnose(rgb, (y_bytes.tobytes(), uv_bytes.reshape(-1)), width=w, height=h)
    assert d.is_ok, d
    assert nv12kit.read_yuv((y_bytes, uv_bytes.reshape(-1)), w, h, stride=s) == f


def test_android_image_planes_with_short_last_row() -> None:
    """Camera2 YUV_420_888 planes: the chroma buffer ends one byte before its last row would."""
    h, w = 200, 300
    rgb = _photo("coffee", h, w)
    f = nv12kit.rgb_to_nv12(rgb)
    ys, cs = 320, 336
    y_bytes = np.zeros((h, ys), np.uint8)
    y_bytes[:, :w] = f.y
    uv_rows = np.zeros((h // 2, cs), np.uint8)
    uv_rows[:, :w] = f.uv.reshape(h // 2, w)
    uv_bytes = uv_rows.reshape(-1)[: cs * (h // 2 - 1) + w - 1]
    d = diagnose(rgb, (y_bytes.reshape(-1), uv_bytes), width=w, height=h)
    assert d.is_ok, d
    with pytest.raises(NV12KitError, match="last V byte"):
        nv12kit.read_yuv((y_bytes.reshape(-1), uv_bytes), w, h, stride=ys, uv_stride=cs)
    # The last V sample sits in planes[2]'s buffer: appended, the frame reads back exactly.
    full = np.append(uv_bytes, f.uv[-1, -1, 1]).astype(np.uint8)
    assert nv12kit.read_yuv((y_bytes.reshape(-1), full), w, h, stride=ys, uv_stride=cs) == f


# --- chroma treated like luma ------------------------------------------------------------------


def _warm_photo() -> np.ndarray:
    """A photo whose chroma stays on one side of 128 (U below, V above)."""
    img = nv12kit.load_image(photo_path("coffee")).astype(np.float64)
    return nv12kit.crop_to_even(np.clip(img * [1.0, 0.6, 0.25] + [60, 10, 0], 0, 255).astype(np.uint8))


@pytest.mark.parametrize(
    "flip_y, flip_uv, swap, want",
    [
        (True, True, False, ("int8_offset",)),
        (False, True, False, ("int8_offset",)),
        (True, False, False, ("int8_offset",)),
        (True, True, True, ("uv_swapped", "int8_offset")),
        (False, False, False, ("ok",)),
    ],
)
def test_int8_offset_on_one_sided_chroma(flip_y: bool, flip_uv: bool, swap: bool, want: tuple[str, ...]) -> None:
    rgb = _warm_photo()
    f = nv12kit.rgb_to_nv12(rgb)
    assert f.uv[..., 0].max() < 128 < f.uv[..., 1].min()  # the premise: one-sided chroma
    uv = f.uv[..., ::-1] if swap else f.uv
    d = diagnose(rgb, (f.y ^ np.uint8(128 * flip_y), np.ascontiguousarray(uv) ^ np.uint8(128 * flip_uv)))
    assert d.issues == want, d


# --- small frames ------------------------------------------------------------------------------


def test_every_small_size_answers_or_raises_our_error() -> None:
    rng = np.random.default_rng(2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for h in range(2, 14, 2):
            for w in range(2, 14, 2):
                for with_ref in (False, True):
                    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8) if with_ref else None
                    inputs = [
                        rng.integers(0, 256, w * h * 3 // 2, dtype=np.uint8),
                        (rng.integers(0, 256, (h, w), dtype=np.uint8), rng.integers(0, 256, (h // 2, w // 2, 2),
                                                                                   dtype=np.uint8)),
                        rng.integers(0, 256, (w + 4) * h * 3 // 2, dtype=np.uint8),
                        rng.integers(0, 256, w * h * 3 // 2 + 5, dtype=np.uint8),
                    ]
                    for nv12 in inputs:
                        try:
                            d = diagnose(rgb, nv12, width=w, height=h)
                        except NV12KitError:
                            continue
                        assert d.issues and d.top.explanation


@pytest.mark.parametrize("y_conv, uv_conv, expected", [
    ("bt601-full", "bt601-limited", "bt601-full"),
    ("bt601-limited", "bt601-full", "bt601-full"),
    ("bt601-full", "bt601-limited", "bt601-limited"),
])
def test_chroma_range_is_tested_apart_from_luma(y_conv: str, uv_conv: str, expected: str) -> None:
    rgb = _photo("astronaut", 200, 300)
    y = nv12kit.rgb_to_nv12(rgb, convention=y_conv).y
    uv = nv12kit.rgb_to_nv12(rgb, convention=uv_conv).uv
    d = diagnose(rgb, (y, uv), convention=expected)
    assert d.issues == ("range_mismatch",), d
    assert "chroma is" in d.top.explanation
