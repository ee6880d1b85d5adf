"""The battery of deliberately wrong converters: every bug alone and in pairs, on several images.

A wrong converter is modelled as what really goes wrong in a pipeline:

* the **encoder** gets the wrong image (flipped bottom-up, BGR instead of
  RGB) or uses the wrong convention (limited range, BT.709 or BT.2020);
* the **writer** lays the frame out wrongly (NV21, I420/YV12 planes, rows
  padded to a stride, planes padded in height, a header in front, every
  byte shifted by 128);
* the **reader** hands over what a chip would take: the first
  ``W * H * 3 / 2`` bytes as NV12 planes, or the whole raw buffer with its
  width and height.

The writer below is written from the layout definitions, not with nv12kit's
own serialiser, so the test does not check nv12kit against itself.  The
target of the issue: the true bug set equals ``Diagnosis.top.issues`` in at
least 95 % of the cases, a correct converter is never flagged, and every
preset against itself is ``ok``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from forum_recipe import forum_rgb_to_nv12
from PIL import Image

import nv12kit
from nv12kit.chart import test_chart as make_chart
from nv12kit.data import photo_path
from nv12kit.lint import ISSUE_IDS, diagnose

EXPECTED = "horizon"
BUGS = (
    "range_mismatch",
    "matrix_mismatch",
    "uv_swapped",
    "rgb_bgr_swapped",
    "planar_layout",
    "stride",
    "misaligned",
    "int8_offset",
    "layout",
)
PAIRS = list(itertools.combinations(BUGS, 2))


def _synthetic() -> np.ndarray:
    """Smooth colour gradients with noise, 90 x 134: not a multiple of 16, nothing like a photo."""
    rng = np.random.default_rng(5)
    h, w = 90, 134
    yy, xx = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    img = np.stack([255 * xx, 255 * yy, 255 * (1 - xx) * (1 - yy)], -1) + rng.normal(0, 6, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def images() -> dict[str, np.ndarray]:
    """Photos (256x256: a multiple of 16; 200x300 and 150x224: not), the test chart and a synthetic image."""
    out = {name: nv12kit.crop_to_even(nv12kit.load_image(photo_path(name))) for name in ("astronaut", "coffee")}
    out["chelsea"] = nv12kit.crop_to_even(nv12kit.load_image(photo_path("chelsea_odd")))
    out["chart"] = make_chart()
    out["synthetic"] = _synthetic()
    return out


def _round_up(x: int, a: int) -> int:
    return -(-x // a) * a


def write(frame: nv12kit.NV12Frame, layout: str, stride: int, plane_rows: int, header: int) -> np.ndarray:
    """Raw bytes: header, Y plane (plane_rows rows of stride bytes), then chroma in the layout; junk padding."""
    h, w = frame.shape
    y_plane = np.full((plane_rows, stride), 7, np.uint8)
    y_plane[:h, :w] = frame.y
    u, v = frame.uv[..., 0], frame.uv[..., 1]
    first, second = (u, v) if layout in ("nv12", "i420") else (v, u)
    if layout in ("nv12", "nv21"):
        c = np.full((plane_rows // 2, stride), 7, np.uint8)
        c[: h // 2, 0:w:2] = first
        c[: h // 2, 1:w:2] = second
        chroma = c.reshape(-1)
    else:
        a = np.full((plane_rows // 2, stride // 2), 7, np.uint8)
        b = a.copy()
        a[: h // 2, : w // 2] = first
        b[: h // 2, : w // 2] = second
        chroma = np.concatenate([a.reshape(-1), b.reshape(-1)])
    return np.concatenate([np.full(header, 3, np.uint8), y_plane.reshape(-1), chroma])


def wrong_converter(rgb: np.ndarray, bugs: tuple[str, ...], *, variant: int = 0, raw: bool = False):
    """The NV12 a pipeline with these bugs hands over, and the keyword arguments to diagnose it."""
    h, w = rgb.shape[:2]
    img = rgb[::-1] if "layout" in bugs else rgb  # a bottom-up buffer
    img = img[..., ::-1] if "rgb_bgr_swapped" in bugs else img
    conv = EXPECTED
    if "range_mismatch" in bugs and "matrix_mismatch" in bugs:
        conv = "bt709-limited"
    elif "range_mismatch" in bugs:
        conv = ("bt601-limited", "opencv", "libyuv")[variant % 3]
    elif "matrix_mismatch" in bugs:
        conv = ("bt709-full", "bt2020-full")[variant % 2]
    frame = nv12kit.rgb_to_nv12(np.ascontiguousarray(img), convention=conv)
    layout = {(False, False): "nv12", (True, False): "nv21", (False, True): "i420", (True, True): "yv12"}[
        ("uv_swapped" in bugs, "planar_layout" in bugs)
    ]
    stride = w
    if "stride" in bugs:
        stride = _round_up(w, 32) if _round_up(w, 32) != w else w + 32
    plane_rows, header = h, 0
    if "misaligned" in bugs:
        if variant % 2 == 0:  # planes padded in height (aligned decoder buffers)
            plane_rows = _round_up(h, 16) if _round_up(h, 16) != h else h + 16
        else:  # a header in front: two rows, or 64 bytes
            header = 2 * stride if variant % 4 == 1 else 64
    buf = write(frame, layout, stride, plane_rows, header)
    if "int8_offset" in bugs:
        buf = buf ^ np.uint8(0x80)
    if raw and not header:
        return buf, {"width": w, "height": h}
    taken = buf[: h * w * 3 // 2]
    return (taken[: h * w].reshape(h, w), taken[h * w :].reshape(h // 2, w)), {}


def run(images: dict[str, np.ndarray], cases: list[tuple[str, tuple[str, ...], int, bool]]) -> tuple[float, list]:
    wrong = []
    for name, bugs, variant, raw in cases:
        nv12, kwargs = wrong_converter(images[name], bugs, variant=variant, raw=raw)
        got = diagnose(images[name], nv12, convention=EXPECTED, **kwargs).top.issues
        want = tuple(sorted(bugs, key=ISSUE_IDS.index)) or ("ok",)
        if got != want:
            wrong.append((name, bugs, variant, raw, got))
    return 1 - len(wrong) / len(cases), wrong


def test_the_writer_agrees_with_nv12kits_reader_on_every_layout(images):
    frame = nv12kit.rgb_to_nv12(images["coffee"])
    for layout in ("nv12", "nv21", "i420", "yv12"):
        got = write(frame, layout, 304, 200, 0)
        back = nv12kit.NV12Frame.from_bytes(got, 300, 200, layout=layout, stride=304)
        assert back == frame, layout


def test_every_bug_alone_on_every_image_is_named(images):
    cases = [(name, bugs, v, raw) for name in images for bugs in [(), *((b,) for b in BUGS)]
             for v, raw in ((0, False), (3, True))]
    accuracy, wrong = run(images, cases)
    assert accuracy >= 0.95, wrong
    assert not [w for w in wrong if w[1] == ()], "a correct converter was flagged"


def test_every_pair_of_bugs_on_the_chart_and_a_photo(images):
    cases = [(name, bugs, i % 4, bool(i % 2)) for name in ("chart", "coffee") for i, bugs in enumerate(PAIRS)]
    accuracy, wrong = run(images, cases)
    assert accuracy >= 0.95, wrong


@pytest.mark.slow
def test_full_battery_every_pair_on_every_image(images):
    # Variants (which limited convention, which misalignment) and readers rotate over the cases.
    sets = [(), *((b,) for b in BUGS), *PAIRS]
    cases = [
        (name, bugs, (i + j) % 4, bool((i + j) % 2)) for j, name in enumerate(images) for i, bugs in enumerate(sets)
    ]
    accuracy, wrong = run(images, cases)
    assert accuracy >= 0.95, wrong


# ----------------------------------------------------------------------------
# correct converters are never flagged
# ----------------------------------------------------------------------------
def _numpy_truncating(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A hand-written float32 converter: truncated Y, chroma averaged per 2x2 block."""
    r, g, b = (rgb[..., i].astype(np.float32) for i in range(3))
    y = (0.299 * r + 0.587 * g + 0.114 * b).astype(np.uint8)
    u = -0.1687 * r - 0.3313 * g + 0.5 * b + 128
    v = 0.5 * r - 0.4187 * g - 0.0813 * b + 128
    h, w = y.shape
    u = u.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    v = v.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    return y, np.stack([np.clip(u, 0, 255), np.clip(v, 0, 255)], axis=-1).astype(np.uint8)


def test_correct_converters_of_every_kind_are_never_flagged(images):
    converters = {
        "horizon": lambda rgb: nv12kit.rgb_to_nv12(rgb, convention="horizon"),
        "bt601-full": lambda rgb: nv12kit.rgb_to_nv12(rgb, convention="bt601-full"),
        "libyuv-jpeg": lambda rgb: nv12kit.rgb_to_nv12(rgb, convention="libyuv-jpeg"),
        "forum": lambda rgb: forum_rgb_to_nv12(Image.fromarray(rgb)),
        "numpy": _numpy_truncating,
    }
    flagged = []
    for name, rgb in images.items():
        for conv_name, fn in converters.items():
            d = diagnose(rgb, fn(rgb), convention=EXPECTED)
            if not d.is_ok:
                flagged.append((name, conv_name, d.top.issues))
    assert flagged == []


@pytest.mark.parametrize("preset", list(nv12kit.CONVENTIONS))
def test_every_preset_against_itself_is_ok_on_every_image(images, preset):
    for name in ("astronaut", "chelsea", "synthetic"):  # chart and coffee: test_lint.py
        rgb = images[name]
        d = diagnose(rgb, nv12kit.rgb_to_nv12(rgb, convention=preset), convention=preset)
        assert d.top.issues == ("ok",), (name, d.top.issues)


# ----------------------------------------------------------------------------
# the same bugs written the way people write them (not through the writer above)
# ----------------------------------------------------------------------------
def _nv12(rgb: np.ndarray, convention: str = EXPECTED) -> tuple[np.ndarray, np.ndarray]:
    f = nv12kit.rgb_to_nv12(np.ascontiguousarray(rgb), convention=convention)
    return f.y.copy(), f.uv.copy()


def _sheared(rgb: np.ndarray) -> tuple[np.ndarray, dict]:
    y, uv = _nv12(rgb)
    h, w = y.shape
    s = _round_up(w, 64) if _round_up(w, 64) != w else w + 64
    padded = np.zeros((h * 3 // 2, s), np.uint8)
    padded[:h, :w] = y
    padded[h:, :w] = uv.reshape(h // 2, w)
    return padded.reshape(-1)[: h * w * 3 // 2], {"width": w, "height": h}


HANDWRITTEN = {
    "range_mismatch": lambda rgb: (_nv12(rgb, "opencv"), {}),
    "matrix_mismatch": lambda rgb: (_nv12(rgb, "bt709-full"), {}),
    "uv_swapped": lambda rgb: ((lambda y, uv: (y, uv[..., ::-1]))(*_nv12(rgb)), {}),
    "rgb_bgr_swapped": lambda rgb: (_nv12(rgb[..., ::-1]), {}),
    "planar_layout": lambda rgb: (
        (lambda y, uv: np.concatenate([y.ravel(), uv[..., 0].ravel(), uv[..., 1].ravel()]))(*_nv12(rgb)),
        {},
    ),
    "stride": _sheared,
    "misaligned": lambda rgb: ((lambda y, uv: (y, np.roll(uv, 1, axis=0)))(*_nv12(rgb)), {}),
    "int8_offset": lambda rgb: (tuple((p.astype(np.int16) - 128).astype(np.int8) for p in _nv12(rgb)), {}),
    "layout": lambda rgb: (_nv12(rgb[::-1]), {}),
    "resized": lambda rgb: (_nv12(nv12kit.resize_to(rgb, rgb.shape[0] // 4 * 2, rgb.shape[1] // 4 * 2)), {}),
}


@pytest.mark.parametrize("bug", list(HANDWRITTEN))
def test_bugs_written_by_hand_are_named(images, bug):
    for name in ("chart", "coffee", "synthetic"):
        rgb = images[name]
        nv12, kwargs = HANDWRITTEN[bug](rgb)
        assert diagnose(rgb, nv12, **kwargs).top.issues == (bug,), name
