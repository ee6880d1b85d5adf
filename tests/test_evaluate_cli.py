"""``nv12kit evaluate``: exit codes and one-line messages for bad input, outputs, resume."""

from __future__ import annotations

import json
import pathlib

import pytest
from PIL import Image

from nv12kit.cli import main
from nv12kit.data import model_path, photo_path

CLASSES = ["astronaut-left", "astronaut-right", "coffee-left", "coffee-right", "chelsea_odd-left",
           "chelsea_odd-right"]


@pytest.fixture(scope="module")
def frames(tmp_path_factory) -> pathlib.Path:
    """Two 128x128 crops per class, each from its half of the photo, in class folders."""
    root = tmp_path_factory.mktemp("cli") / "frames"
    for p, photo in enumerate(("astronaut", "coffee", "chelsea_odd")):
        image = Image.open(photo_path(photo)).convert("RGB")
        w, h = image.size
        side = 0.4 * min(w, h)
        for half in (0, 1):
            folder = root / CLASSES[2 * p + half]
            folder.mkdir(parents=True)
            for n, cy in enumerate((side / 2, h - side / 2)):
                cx = 0.25 * w if half == 0 else 0.75 * w
                box = (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
                image.resize((128, 128), Image.Resampling.BILINEAR, box=box).save(folder / f"{n}.png")
    return root


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["evaluate", "--quiet", "--noise-sample", "2", "--noise-trials", "2", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_healthy_model_exits_0_and_writes_json_and_report(frames, tmp_path, capsys):
    code, out, err = _run(capsys, "--model", str(model_path("demo_robust")), "--images", str(frames),
                          "--json", str(tmp_path / "r.json"), "--report", str(tmp_path / "r.html"))
    assert code == 0, err
    assert "labels from 6 class sub-folders" in out and "nv12kit.labels metadata" in out  # says what it chose
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["frames"] == 12 and data["variants"]["feat"]["top1"] == 1.0
    page = (tmp_path / "r.html").read_text()
    assert "Per variant" in page and "<figure>" in page


def test_a_collapsing_model_exits_1(frames, capsys):
    code, out, _ = _run(capsys, "--model", str(model_path("demo_fragile")), "--images", str(frames))
    assert code == 1
    assert "top-1 accuracy lost to the NV12 conversion (feat -> nv12): +16.7 points" in out  # 2 of 12 frames flip
    assert _run(capsys, "--model", str(model_path("demo_fragile")), "--images", str(frames),
                "--max-loss", "0.2")[0] == 0


def test_missing_labels_are_refused_with_exit_2(frames, tmp_path, capsys):
    rows = sorted(p.relative_to(frames).as_posix() for p in frames.rglob("*.png"))
    partial = tmp_path / "partial.csv"
    partial.write_text("".join(f"{r},{r.split('/')[0]}\n" for r in rows[:-2]))
    code, _, err = _run(capsys, "--model", str(model_path("demo_robust")), "--images", str(frames),
                        "--labels", str(partial))
    assert code == 2
    assert "2 frame(s)" in err and "have no label" in err and len(err.strip().splitlines()) == 1
    code, _, err = _run(capsys, "--model", str(model_path("demo_robust")), "--images", str(frames),
                        "--labels", str(tmp_path / "nope.csv"))
    assert code == 2 and "does not exist" in err


def test_unknown_classes_and_a_class_count_mismatch_exit_2(frames, tmp_path, capsys):
    rows = sorted(p.relative_to(frames).as_posix() for p in frames.rglob("*.png"))
    typo = tmp_path / "typo.csv"
    typo.write_text("path,label\n" + "".join(f"{r},{r.split('/')[0].replace('coffee', 'tea')}\n" for r in rows))
    code, _, err = _run(capsys, "--model", str(model_path("demo_robust")), "--images", str(frames),
                        "--labels", str(typo))
    assert code == 2 and "unknown classes ['tea-left', 'tea-right']" in err
    code, _, err = _run(capsys, "--model", str(model_path("demo_robust")), "--images", str(frames),
                        "--classes", "a,b,c")
    assert code == 2 and "3 classes" in err and "output has 6 scores" in err
    out_of_range = tmp_path / "index.csv"
    out_of_range.write_text("".join(f"{r},{7}\n" for r in rows))
    code, _, err = _run(capsys, "--model", str(model_path("demo_robust")), "--images", str(frames),
                        "--labels", str(out_of_range))
    assert code == 2 and "outside the model's output (0..5)" in err


def test_resume_needs_a_log_and_an_existing_log_needs_resume_or_force(frames, tmp_path, capsys):
    base = ["--model", str(model_path("demo_robust")), "--images", str(frames)]
    code, _, err = _run(capsys, *base, "--resume")
    assert code == 2 and "--resume needs --jsonl" in err
    log = tmp_path / "run.jsonl"
    assert _run(capsys, *base, "--jsonl", str(log))[0] == 0
    code, _, err = _run(capsys, *base, "--jsonl", str(log))
    assert code == 2 and "already exists; resume it (--resume)" in err
    code, out, _ = _run(capsys, *base, "--jsonl", str(log), "--resume", "--json", str(tmp_path / "again.json"))
    assert code == 0 and "resumed: 12 of 12" in out
    assert json.loads((tmp_path / "again.json").read_text())["timing"]["frames_run"] == 0


def test_bad_numbers_exit_2(frames, capsys):
    base = ["--model", str(model_path("demo_robust")), "--images", str(frames)]
    code, _, err = _run(capsys, *base, "--workers", "0")
    assert code == 2 and "--workers must be an integer >= 1" in err
    code, _, err = _run(capsys, *base, "--images", str(frames / "nope"))
    assert code == 2 and "does not exist" in err and err.count("\n") == 1


def test_quantize_says_how_it_calibrated_in_the_cli_words(frames, capsys):
    code, out, err = _run(capsys, "--model", str(model_path("demo_robust")), "--images", str(frames), "--quantize")
    assert code in (0, 1), err
    assert "int8 variants calibrated on 12 frames of the set drawn with seed 0 (pass --calibration to choose" in out
    assert "quantized_nv12" in out
