"""``nv12kit compare A B``: exit 0 when close, 1 when not, 2 for bad input; --json writes strict JSON."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from nv12kit.cli import main


@pytest.fixture()
def outputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {"logits": rng.standard_normal((1, 10)).astype(np.float32),
            "features": rng.standard_normal((1, 4, 6, 6)).astype(np.float32)}


def _save(path, arrays):
    np.savez(path, **arrays)
    return str(path)


def _cos(a, b) -> float:
    x, y = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    return math.fsum(x * y) / math.sqrt(math.fsum(x * x) * math.fsum(y * y))


def test_close_outputs_exit_0_and_print_the_table(tmp_path, outputs, capsys):
    near = {k: v + np.float32(1e-4) * np.ones_like(v) for k, v in outputs.items()}
    a, b = _save(tmp_path / "float.npz", outputs), _save(tmp_path / "vendor.npz", near)
    assert main(["compare", a, b]) == 0
    out = capsys.readouterr().out
    assert "float.npz vs vendor.npz" in out and "PASS" in out
    assert "logits" in out and "features" in out


def test_far_outputs_exit_1(tmp_path, outputs, capsys):
    far = dict(outputs, logits=-outputs["logits"])
    a, b = _save(tmp_path / "float.npz", outputs), _save(tmp_path / "vendor.npz", far)
    assert main(["compare", a, b]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_min_cosine_sets_the_pass_mark(tmp_path, outputs, capsys):
    rng = np.random.default_rng(1)
    noisy = {k: v + 0.3 * rng.standard_normal(v.shape).astype(np.float32) for k, v in outputs.items()}
    worst = min(_cos(outputs[k], noisy[k]) for k in outputs)
    a, b = _save(tmp_path / "a.npz", outputs), _save(tmp_path / "b.npz", noisy)
    assert main(["compare", a, b, "--min-cosine", f"{worst - 1e-6:.9f}"]) == 0
    assert main(["compare", a, b, "--min-cosine", f"{worst + 1e-6:.9f}"]) == 1


def test_non_finite_output_exits_1_with_the_flag(tmp_path, outputs, capsys):
    bad = dict(outputs, logits=np.full((1, 10), np.nan, np.float32))
    a, b = _save(tmp_path / "a.npz", outputs), _save(tmp_path / "b.npz", bad)
    assert main(["compare", a, b, "--min-cosine", "-1"]) == 1
    assert "nan_in_b" in capsys.readouterr().out


def test_json_is_written_and_strict(tmp_path, outputs, capsys):
    same = {k: v.copy() for k, v in outputs.items()}
    a, b = _save(tmp_path / "a.npz", outputs), _save(tmp_path / "b.npz", same)
    target = tmp_path / "cmp.json"
    assert main(["compare", a, b, "--json", str(target)]) == 0
    data = json.loads(target.read_text(), parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert data["passed"] is True and data["labels"] == ["a.npz", "b.npz"]
    assert set(data["outputs"]) == {"logits", "features"}
    assert data["outputs"]["logits"]["flags"] == ["identical"]
    assert str(target) in capsys.readouterr().out


def test_json_is_written_for_a_failing_comparison_too(tmp_path, outputs, capsys):
    bad = dict(outputs, logits=np.zeros((1, 10), np.float32))
    a, b = _save(tmp_path / "a.npz", outputs), _save(tmp_path / "b.npz", bad)
    target = tmp_path / "cmp.json"
    assert main(["compare", a, b, "--json", str(target)]) == 1
    data = json.loads(target.read_text())
    assert data["passed"] is False and data["outputs"]["logits"]["flags"] == ["zero_norm_b"]


def test_single_npy_files_are_compared(tmp_path, outputs, capsys):
    np.save(tmp_path / "float.npy", outputs["logits"])
    np.save(tmp_path / "vendor.npy", outputs["logits"] * 1.001)
    assert main(["compare", str(tmp_path / "float.npy"), str(tmp_path / "vendor.npy")]) == 0


def test_mismatched_keys_exit_2_and_list_both_sets(tmp_path, outputs, capsys):
    a = _save(tmp_path / "a.npz", outputs)
    b = _save(tmp_path / "b.npz", {"logits": outputs["logits"], "boxes": np.ones((1, 4), np.float32)})
    assert main(["compare", a, b]) == 2
    captured = capsys.readouterr()
    assert "['features', 'logits']" in captured.err and "['boxes', 'logits']" in captured.err
    assert captured.err.startswith("nv12kit compare: error:")
    assert "Traceback" not in captured.err


def test_pickled_file_is_refused_with_exit_2(tmp_path, outputs, capsys):
    a = _save(tmp_path / "a.npz", outputs)
    pickled = tmp_path / "b.npy"
    np.save(pickled, np.array([outputs], dtype=object), allow_pickle=True)
    assert main(["compare", a, str(pickled)]) == 2
    assert "pickle" in capsys.readouterr().err


def test_missing_file_exits_2(tmp_path, outputs, capsys):
    a = _save(tmp_path / "a.npz", outputs)
    assert main(["compare", a, str(tmp_path / "nope.npz")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_corrupt_npz_exits_2_not_a_traceback(tmp_path, outputs, capsys):
    a = _save(tmp_path / "a.npz", outputs)
    (tmp_path / "b.npz").write_text("this was meant to be an npz")
    assert main(["compare", a, str(tmp_path / "b.npz")]) == 2
    assert "b.npz" in capsys.readouterr().err


def test_shape_mismatch_exits_2(tmp_path, outputs, capsys):
    a = _save(tmp_path / "a.npz", outputs)
    b = _save(tmp_path / "b.npz", dict(outputs, logits=np.ones((1, 11), np.float32)))
    assert main(["compare", a, b]) == 2
    assert "(1, 10)" in capsys.readouterr().err


def test_json_never_overwrites_an_input(tmp_path, outputs, capsys):
    a = _save(tmp_path / "a.npz", outputs)
    b = _save(tmp_path / "b.npz", outputs)
    before = (tmp_path / "a.npz").read_bytes()
    assert main(["compare", a, b, "--json", a]) == 2
    assert (tmp_path / "a.npz").read_bytes() == before
    assert "input" in capsys.readouterr().err


def test_missing_argument_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["compare", "only_one.npz"])
    assert info.value.code == 2


def test_chip_range_speaks_full_or_limited_and_video_is_a_deprecated_synonym(capsys):
    from nv12kit.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["triage", "--model", "m.onnx", "--image", "x.png", "--chip-range", "limited"])
    assert args.chip_range == "limited"
    args = parser.parse_args(["variants", "m.onnx", "-o", "out", "--chip-range", "video"])
    assert args.chip_range == "limited" and "deprecated" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(["triage", "--model", "m.onnx", "--image", "x.png", "--chip-range", "studio"])
    assert exit_info.value.code == 2 and "'full', 'limited'" in capsys.readouterr().err
