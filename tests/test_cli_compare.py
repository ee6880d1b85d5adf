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


def test_partly_matching_keys_are_compared_and_the_rest_listed(tmp_path, outputs, capsys):
    a = _save(tmp_path / "a.npz", outputs)
    b = _save(tmp_path / "b.npz", {"logits": outputs["logits"], "boxes": np.ones((1, 4), np.float32)})
    target = tmp_path / "cmp.json"
    assert main(["compare", a, b, "--json", str(target)]) == 0
    out = capsys.readouterr().out
    assert "only in a.npz (not compared): features" in out and "only in b.npz (not compared): boxes" in out
    data = json.loads(target.read_text())
    assert data["only_in_a"] == ["features"] and data["only_in_b"] == ["boxes"] and list(data["outputs"]) == ["logits"]


def test_no_common_name_exits_2_and_lists_both_sets(tmp_path, outputs, capsys):
    a = _save(tmp_path / "a.npz", outputs)
    b = _save(tmp_path / "b.npz", {"boxes": np.ones((1, 4), np.float32)})
    assert main(["compare", a, b]) == 2
    captured = capsys.readouterr()
    assert "['features', 'logits']" in captured.err and "['boxes']" in captured.err
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


def test_shape_mismatch_is_a_problem_found_exit_1(tmp_path, outputs, capsys):
    a = _save(tmp_path / "a.npz", outputs)
    b = _save(tmp_path / "b.npz", dict(outputs, logits=np.ones((1, 11), np.float32)))
    assert main(["compare", a, b]) == 1
    assert "shape mismatch (FAIL): logits: [1, 10] in a.npz, [1, 11] in b.npz" in capsys.readouterr().out


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


# ---------------------------------------------------------------------------
# tolerances, top-k, formats
# ---------------------------------------------------------------------------
def test_atol_rtol_check_decide_the_exit_status(tmp_path, outputs, capsys):
    near = {k: v + np.float32(1e-4) for k, v in outputs.items()}
    a, b = _save(tmp_path / "a.npz", outputs), _save(tmp_path / "b.npz", near)
    target = tmp_path / "cmp.json"
    assert main(["compare", a, b, "--atol", "1e-3", "--check", "max", "--json", str(target)]) == 0
    first = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("Comparison("))
    assert "max |a-b| <= 0.001 or |a-b|/|b| <= 1e-05" in first and "cosine" not in first
    data = json.loads(target.read_text())
    assert data["atol"] == 1e-3 and data["check"] == "max" and data["min_cosine"] is None
    assert all(o["tolerance"]["passed"] for o in data["outputs"].values())
    assert main(["compare", a, b, "--atol", "1e-5", "--rtol", "1e-6"]) == 1
    assert "FAIL" in capsys.readouterr().out
    # an explicit --min-cosine is checked on top of the tolerances
    far = dict(near, logits=-outputs["logits"])
    c = _save(tmp_path / "c.npz", far)
    assert main(["compare", a, c, "--atol", "10", "--check", "max"]) == 0
    assert main(["compare", a, c, "--atol", "10", "--check", "max", "--min-cosine", "0.9"]) == 1


@pytest.mark.parametrize("extra", [["--check", "sum", "--atol", "1"], ["--check", "max"], ["--atol", "-1"],
                                   ["--top-k", "0"]])
def test_bad_tolerance_options_exit_2(tmp_path, outputs, capsys, extra):
    a = _save(tmp_path / "a.npz", outputs)
    assert main(["compare", a, a, *extra]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_top_k_fails_when_the_classes_differ(tmp_path, outputs, capsys):
    logits = outputs["logits"]
    swapped = logits.copy()
    order = np.argsort(-logits[0])
    swapped[0, order[0]], swapped[0, order[1]] = logits[0, order[1]], logits[0, order[0]]
    a, b = _save(tmp_path / "a.npz", {"logits": logits}), _save(tmp_path / "b.npz", {"logits": swapped})
    assert main(["compare", a, b, "--top-k", "1"]) == 1
    assert main(["compare", a, b, "--top-k", "2"]) == 0


def test_formats_are_detected_and_said_and_can_be_overridden(tmp_path, outputs, capsys):
    a = _save(tmp_path / "a.npz", outputs)
    run = tmp_path / "qnn" / "Result_0"
    run.mkdir(parents=True)
    lines = []
    for name, value in outputs.items():
        value.astype(np.float32).tofile(run / f"{name}.raw")
        lines.append(f"{name} {'x'.join(map(str, value.shape))} float32")
    (tmp_path / "qnn" / "manifest.txt").write_text("\n".join(lines))
    assert main(["compare", a, str(tmp_path / "qnn")]) == 0
    out = capsys.readouterr().out
    assert "a.npz: read as npz (detected: the zip magic bytes of an .npz)" in out
    assert "qnn: read as raw (detected: qnn-net-run Result_N folders)" in out
    assert "manifest" in out  # the note says which manifest was found
    # told the wrong format, the reader says what is wrong: exit 2
    assert main(["compare", a, str(tmp_path / "qnn"), "--format-b", "rknn"]) == 2
    assert "RKNN" in capsys.readouterr().err


def test_polygraphy_json_cosines_equal_numpy_on_polygraphys_own_loader(tmp_path, outputs, capsys):
    pytest.importorskip("nv12kit.dumps.polygraphy")
    from polygraphy.comparator import IterationResult, RunResults

    rng = np.random.default_rng(3)
    other = {k: v + 0.05 * rng.standard_normal(v.shape).astype(np.float32) for k, v in outputs.items()}
    paths = []
    for name, arrays in (("polygraphy_a.json", outputs), ("polygraphy_b.json", other)):
        results = RunResults()
        results.append(("onnxrt-runner-N0", [IterationResult(dict(arrays), runner_name="onnxrt-runner-N0")]))
        results.save(str(tmp_path / name))  # Polygraphy's own writer
        paths.append(str(tmp_path / name))
    target = tmp_path / "cmp.json"
    assert main(["compare", *paths, "--min-cosine", "-1", "--json", str(target)]) == 0
    assert "read as polygraphy (detected" in capsys.readouterr().out
    loaded = [RunResults.load(p)[0][1][0] for p in paths]  # Polygraphy's own loader
    data = json.loads(target.read_text())
    for name in outputs:
        x, y = (np.asarray(r[name], np.float64) for r in loaded)
        expected = float(np.dot(x.ravel(), y.ravel()) / (np.linalg.norm(x) * np.linalg.norm(y)))
        assert data["outputs"][name]["cosine"] == pytest.approx(expected, rel=1e-12)
