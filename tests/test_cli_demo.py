"""The command line and the demo round-trip table."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import nv12kit
from nv12kit.cli import main
from nv12kit.roundtrip import format_table, image_error, roundtrip, roundtrip_table


@pytest.fixture()
def photo() -> np.ndarray:
    from nv12kit.data import photo_paths

    return nv12kit.crop_to_even(nv12kit.load_image(photo_paths()[0]))


def test_honest_roundtrip_beats_every_mismatch(photo):
    rows = roundtrip_table([("p", photo)], ["bt601-full"])
    honest = rows[0]
    assert honest.encoder == honest.decoder == "bt601-full"
    assert 30 < honest.psnr_db < 50
    for row in rows[1:]:
        assert row.mae > 1.5 * honest.mae, row


def test_mismatch_sizes_match_the_published_pattern(photo):
    honest = roundtrip(photo, "bt601-full").mae
    limited_as_full = roundtrip(photo, "opencv", "horizon").mae / honest
    nv21 = roundtrip(photo, "bt601-full", swap_uv=True).mae / honest
    bt709 = roundtrip(photo, "bt709-full", "bt601-full").mae / honest
    assert bt709 < limited_as_full < nv21
    assert 3 < limited_as_full < 12
    assert nv21 > 15


def test_image_error_of_identical_images_is_infinite_psnr():
    a = np.full((2, 2, 3), 7, np.uint8)
    assert image_error(a, a) == (math.inf, 0.0, 0)


def test_demo_triages_both_models_into_a_self_contained_report(tmp_path, capsys):
    report = tmp_path / "sub" / "demo.html"
    assert main(["demo", "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert "== demo_robust.onnx" in out and "verdict: healthy" in out
    assert "== demo_fragile.onnx" in out and "verdict: over_sensitive_model" in out
    assert "limited range read as full" in out
    text = report.read_text()
    assert "<script" not in text
    for url in re.findall(r"(?:src|href)=[\"']([^\"']*)[\"']", text):
        assert url.startswith(("data:", "#")), url[:60]
    assert "demo_robust.onnx: healthy" in text and "demo_fragile.onnx: over_sensitive_model" in text
    # 5 figures per triage (planes, round trip, histogram, floor curve, what another convention would cost), plus
    # the per-layer figure where the verdict calls for it (the fragile model)
    assert text.count("<img") == 5 + 6


def test_html_table_escapes_names(photo):
    row = roundtrip(photo, "horizon", name="<script>alert(1)</script>")
    html_table = format_table([row], baseline="horizon", html_output=True)
    assert "<script>" not in html_table and "&lt;script&gt;" in html_table


def test_convert_writes_raw_file_that_reads_back(tmp_path, capsys):
    from nv12kit.data import photo_path

    out = tmp_path / "frame.nv21"
    assert main(["convert", str(photo_path("coffee")), str(out), "--layout", "nv21", "--convention", "opencv"]) == 0
    rgb = nv12kit.load_image(photo_path("coffee"))
    frame = nv12kit.read_yuv(out, rgb.shape[1], rgb.shape[0], layout="nv21")
    assert frame == nv12kit.rgb_to_nv12(rgb, convention="opencv")


def test_convert_refuses_odd_image_with_fix_then_crops_on_request(tmp_path, capsys):
    from nv12kit.data import photo_path

    out = tmp_path / "odd.nv12"
    assert main(["convert", str(photo_path("chelsea_odd")), str(out)]) == 2
    err = capsys.readouterr().err
    assert "crop_to_even" in err and "pad_to_even" in err
    assert not out.exists()
    assert main(["convert", str(photo_path("chelsea_odd")), str(out), "--even", "crop"]) == 0
    assert out.stat().st_size % 3 == 0


def test_convert_never_overwrites_without_force_or_writes_image_extensions(tmp_path, capsys):
    from nv12kit.data import photo_path

    existing = tmp_path / "keep.nv12"
    existing.write_bytes(b"user data")
    src = str(photo_path("coffee"))
    assert main(["convert", src, str(existing)]) == 2
    assert existing.read_bytes() == b"user data"
    assert main(["convert", src, str(tmp_path / "x.png")]) == 2
    assert main(["convert", src, str(existing), "--force"]) == 0
    assert existing.read_bytes() != b"user data"


def test_convert_reports_missing_input_cleanly(tmp_path, capsys):
    assert main(["convert", str(tmp_path / "nope.jpg"), str(tmp_path / "o.nv12")]) == 2
    assert "nope.jpg" in capsys.readouterr().err
