"""nv12kit.metrics: each metric against plain float64 references, flags for bad outputs, compare() and loading.

scipy is not in the project venv, so the references are the textbook formulas
written out here with ``math.fsum`` (exactly rounded sums), independent of
the numpy reductions nv12kit uses.
"""

from __future__ import annotations

import json
import math
import os

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nv12kit.errors import InputError, NV12KitError
from nv12kit.metrics import (
    Comparison,
    compare,
    compare_arrays,
    cosine,
    load_outputs,
    max_abs_error,
    mean_abs_error,
    relative_l2,
    snr_db,
    topk_agreement,
)


# ----------------------------------------------------------------------------
# independent references
# ----------------------------------------------------------------------------
def _f64(a):
    return np.asarray(a).astype(np.float64).ravel()


def ref_cosine(a, b) -> float:
    x, y = _f64(a), _f64(b)
    return math.fsum(x * y) / math.sqrt(math.fsum(x * x) * math.fsum(y * y))


def ref_mae(a, b) -> float:
    x, y = _f64(a), _f64(b)
    return math.fsum(np.abs(x - y)) / x.size


def ref_max_abs(a, b) -> float:
    x, y = _f64(a), _f64(b)
    return max(abs(p - q) for p, q in zip(x.tolist(), y.tolist()))


def ref_relative_l2(a, b) -> float:
    x, y = _f64(a), _f64(b)
    return math.sqrt(math.fsum((x - y) ** 2) / math.fsum(x * x))


def ref_snr_db(a, b) -> float:
    x, y = _f64(a), _f64(b)
    return 10 * math.log10(math.fsum(x * x) / math.fsum((x - y) ** 2))


def ref_topk(a, b, k) -> float:
    """Rows whose top-k sets agree; ties go to the lower class index (the documented rule)."""
    a, b = np.atleast_2d(np.asarray(a, float)), np.atleast_2d(np.asarray(b, float))
    agree = 0
    for ra, rb in zip(a.tolist(), b.tolist()):
        top_a = set(sorted(range(len(ra)), key=lambda i: (-ra[i], i))[:k])
        top_b = set(sorted(range(len(rb)), key=lambda i: (-rb[i], i))[:k])
        agree += top_a == top_b
    return agree / len(a)


@pytest.fixture()
def pair() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 37)).astype(np.float32)
    return a, (a + 0.1 * rng.standard_normal(a.shape)).astype(np.float32)


# ----------------------------------------------------------------------------
# single metrics
# ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("metric", "reference"),
    [(cosine, ref_cosine), (mean_abs_error, ref_mae), (max_abs_error, ref_max_abs),
     (relative_l2, ref_relative_l2), (snr_db, ref_snr_db)],
    ids=lambda f: getattr(f, "__name__", ""),
)
def test_each_metric_matches_its_float64_formula(pair, metric, reference):
    a, b = pair
    got = metric(a, b)
    assert isinstance(got, float)
    assert got == pytest.approx(reference(a, b), rel=1e-12, abs=1e-15)


def test_metrics_of_known_values():
    assert cosine([1.0, 0.0], [0.0, 1.0]) == 0.0
    assert cosine([1.0, 2.0], [-2.0, -4.0]) == pytest.approx(-1.0, abs=1e-15)
    assert mean_abs_error([1, 2, 3], [1, 3, 6]) == pytest.approx(4 / 3)
    assert max_abs_error([1, 2, 3], [1, 3, 6]) == 3.0
    assert relative_l2([3.0, 4.0], [3.0, 4.0 + 5.0]) == pytest.approx(1.0)
    assert snr_db([1.0, 1.0], [1.1, 0.9]) == pytest.approx(20.0)
    assert snr_db([1.0, 2.0], [1.0, 2.0]) == math.inf


def test_relative_l2_and_snr_use_a_as_the_reference():
    a, b = np.array([3.0, 4.0]), np.array([6.0, 8.0])
    assert relative_l2(a, b) == pytest.approx(1.0)
    assert relative_l2(b, a) == pytest.approx(0.5)
    assert snr_db(a, b) == pytest.approx(0.0, abs=1e-12)


def _mixed_magnitudes(n: int, seed: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Vectors where float32 sums are visibly wrong: a few huge values among many small ones."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(n) * np.where(rng.random(n) < 0.01, 3e3, 1e-2)
    b = a * (1 + 1e-3 * rng.standard_normal(n)) + 1e-3 * rng.standard_normal(n)
    return a.astype(dtype), b.astype(dtype)


@pytest.mark.parametrize(
    ("metric", "reference"),
    [(cosine, ref_cosine), (mean_abs_error, ref_mae), (relative_l2, ref_relative_l2), (snr_db, ref_snr_db)],
    ids=lambda f: getattr(f, "__name__", ""),
)
def test_float32_inputs_of_a_million_elements_accumulate_in_float64(metric, reference):
    a, b = _mixed_magnitudes(1_000_000, 1, np.float32)
    want = reference(a, b)
    # The same metric evaluated in float32 must be measurably off, or this test could not fail.
    with np.errstate(all="ignore"):
        in_float32 = {
            cosine: lambda: np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)),
            mean_abs_error: lambda: np.abs(a - b).sum(dtype=np.float32) / np.float32(a.size),
            relative_l2: lambda: np.linalg.norm(a - b) / np.linalg.norm(a),
            snr_db: lambda: 10 * np.log10(np.dot(a, a) / np.dot(a - b, a - b)),
        }[metric]()
    assert abs(float(in_float32) - want) > 1e-9 * abs(want)
    assert metric(a, b) == pytest.approx(want, rel=1e-11)


def test_float16_inputs_whose_squares_overflow_float16_still_give_exact_cosine():
    rng = np.random.default_rng(2)
    a = (300 + 50 * rng.standard_normal(1_000_000)).astype(np.float16)  # a*a > 65504 overflows float16
    b = (a.astype(np.float64) + rng.standard_normal(a.size)).astype(np.float16)
    with np.errstate(over="ignore"):
        assert np.isinf(np.dot(a[:1000], a[:1000]))  # what float16 accumulation would give
    assert cosine(a, b) == pytest.approx(ref_cosine(a, b), rel=1e-12)
    assert snr_db(a, b) == pytest.approx(ref_snr_db(a, b), rel=1e-10)
    assert compare_arrays(a, b).cosine == pytest.approx(ref_cosine(a, b), rel=1e-12)


def test_integer_and_bool_inputs_are_accepted():
    assert cosine(np.array([1, 2, 3], np.uint8), np.array([1, 2, 3], np.int64)) == pytest.approx(1.0)
    assert mean_abs_error(np.array([255], np.uint8), np.array([0], np.uint8)) == 255.0  # no uint8 wrap-around
    assert max_abs_error(np.array([True, False]), np.array([False, False])) == 1.0


@pytest.mark.parametrize("metric", [cosine, mean_abs_error, max_abs_error, relative_l2, snr_db, topk_agreement])
@pytest.mark.parametrize(("where", "value", "nan", "inf"), [("a", np.nan, 1, 0), ("b", np.inf, 0, 1),
                                                             ("b", -np.inf, 0, 1)])
def test_single_metrics_refuse_nan_and_inf_naming_the_array_and_count(metric, where, value, nan, inf):
    a = np.linspace(1, 2, 12).reshape(2, 6)
    b = a.copy()
    (a if where == "a" else b)[1, 3] = value
    with pytest.raises(InputError) as info:
        metric(a, b)
    text = str(info.value)
    assert text.startswith(f"{where} ") or f" {where} " in text
    assert f"{nan} NaN" in text and f"{inf} Inf" in text


@pytest.mark.parametrize("metric", [cosine, relative_l2, snr_db])
def test_zero_norm_reference_is_refused_with_the_culprit(metric):
    with pytest.raises(InputError, match=r"\ba\b.*(zero|all zeros)"):
        metric(np.zeros(4), np.ones(4))


def test_cosine_with_zero_norm_b_names_b():
    with pytest.raises(InputError, match=r"\bb is all zeros"):
        cosine(np.ones(4), np.zeros(4))


def test_errors_of_zero_norm_still_allow_absolute_errors():
    assert mean_abs_error(np.zeros(4), np.ones(4)) == 1.0
    assert max_abs_error(np.zeros(4), np.zeros(4)) == 0.0


@pytest.mark.parametrize(("sa", "sb"), [((1, 1000), (1000,)), ((1000,), (1, 1000)), ((1000, 1), (1, 1000)),
                                        ((1, 10, 1, 100), (10, 100))])
def test_singleton_dimensions_are_reshaped(sa, sb):
    rng = np.random.default_rng(3)
    flat = rng.standard_normal(1000)
    other = flat + 0.01 * rng.standard_normal(1000)
    a, b = flat.reshape(sa), other.reshape(sb)
    assert cosine(a, b) == pytest.approx(ref_cosine(flat, other), rel=1e-12)
    result = compare_arrays(a, b)
    assert result.shape == sa
    assert result.cosine == pytest.approx(ref_cosine(flat, other), rel=1e-12)


@pytest.mark.parametrize(("sa", "sb"), [((2, 3), (3, 2)), ((1000,), (999,)), ((2, 5), (10,))])
def test_shape_mismatch_is_refused_with_both_shapes(sa, sb):
    for func in (cosine, mean_abs_error, compare_arrays):
        with pytest.raises(InputError) as info:
            func(np.ones(sa), np.ones(sb))
        assert str(sa) in str(info.value) and str(sb) in str(info.value)


def test_empty_and_non_numeric_arrays_are_refused():
    with pytest.raises(InputError, match="empty"):
        cosine(np.zeros(0), np.zeros(0))
    with pytest.raises(InputError, match="dtype"):
        cosine(np.array(["x", "y"]), np.array(["x", "y"]))


# ----------------------------------------------------------------------------
# top-k agreement
# ----------------------------------------------------------------------------
def test_topk_agreement_matches_reference_on_random_logits():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((200, 10))
    b = a + 0.5 * rng.standard_normal(a.shape)
    for k in (1, 2, 5, 10):
        assert topk_agreement(a, b, k=k) == pytest.approx(ref_topk(a, b, k))
    assert topk_agreement(a, b, k=10) == 1.0
    assert 0 < topk_agreement(a, b, k=1) < 1


def test_topk_ties_go_to_the_lower_class_index():
    tied = [[3.0, 3.0, 1.0]]
    assert topk_agreement(tied, tied, k=1) == 1.0
    assert topk_agreement(tied, [[2.0, 3.0, 1.0]], k=1) == 0.0  # a picks class 0, b class 1
    assert topk_agreement(tied, [[3.0, 2.0, 1.0]], k=1) == 1.0
    assert topk_agreement(tied, [[2.0, 3.0, 1.0]], k=2) == 1.0  # {0, 1} either way
    # a tie at the k-th place: class 1 beats class 2
    assert topk_agreement([[5.0, 1.0, 1.0, 0.0]], [[5.0, 2.0, 1.0, 0.0]], k=2) == 1.0
    assert topk_agreement([[5.0, 1.0, 1.0, 0.0]], [[5.0, 1.0, 2.0, 0.0]], k=2) == 0.0


def test_topk_counts_rows_and_accepts_one_dimensional_logits():
    a = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    b = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    assert topk_agreement(a, b) == 0.5
    assert topk_agreement([0.1, 0.9, 0.0], [0.2, 0.7, 0.1]) == 1.0


@pytest.mark.parametrize("k", [0, -1, 4, 2.0, "1", None])
def test_topk_k_out_of_bounds_is_refused(k):
    with pytest.raises(InputError, match="k must be between 1 and the number of classes"):
        topk_agreement([[1.0, 2.0, 3.0]], [[1.0, 2.0, 3.0]], k=k)


def test_topk_shape_mismatch_is_refused():
    with pytest.raises(InputError, match=r"\(2, 3\).*\(3, 2\)"):
        topk_agreement(np.ones((2, 3)), np.ones((3, 2)))


# ----------------------------------------------------------------------------
# compare_arrays: flags instead of NaN
# ----------------------------------------------------------------------------
_METRIC_FIELDS = ("cosine", "mean_abs", "max_abs", "relative_l2", "snr_db", "top1", "top5")


def _no_nan(result) -> None:
    for name in _METRIC_FIELDS:
        value = getattr(result, name)
        assert value is None or not math.isnan(value), (name, value)
    for value in result.per_channel_cosine or ():
        assert value is None or not math.isnan(value)


def test_compare_arrays_fills_every_metric_for_logits(pair):
    a, b = pair
    r = compare_arrays(a, b, name="logits")
    assert r.name == "logits" and r.shape == (4, 37) and r.flags == [] and r.ok
    assert r.cosine == pytest.approx(ref_cosine(a, b), rel=1e-12)
    assert r.mean_abs == pytest.approx(ref_mae(a, b), rel=1e-12)
    assert r.max_abs == pytest.approx(ref_max_abs(a, b), rel=1e-12)
    assert r.relative_l2 == pytest.approx(ref_relative_l2(a, b), rel=1e-12)
    assert r.snr_db == pytest.approx(ref_snr_db(a, b), rel=1e-12)
    assert r.top1 == pytest.approx(ref_topk(a, b, 1))
    assert r.top5 == pytest.approx(ref_topk(a, b, 5))
    assert r.per_channel_cosine is None


@pytest.mark.parametrize(
    ("where", "value", "flag"),
    [("a", np.nan, "nan_in_a"), ("b", np.nan, "nan_in_b"), ("a", np.inf, "inf_in_a"), ("b", -np.inf, "inf_in_b")],
)
def test_compare_arrays_flags_non_finite_outputs_and_leaves_metrics_none(where, value, flag):
    a = np.linspace(-1, 1, 40).reshape(1, 4, 2, 5)
    b = a * 1.01
    (a if where == "a" else b)[0, 2, 1, 3] = value
    r = compare_arrays(a, b)
    assert flag in r.flags and not r.ok
    assert all(getattr(r, f) is None for f in _METRIC_FIELDS)
    _no_nan(r)


def test_compare_arrays_flags_nan_in_a_and_inf_in_b_together():
    r = compare_arrays(np.array([np.nan, 1.0, 2.0]), np.array([1.0, np.inf, 2.0]))
    assert set(r.flags) == {"nan_in_a", "inf_in_b"}
    _no_nan(r)


def test_zero_norm_a_leaves_ratio_metrics_none_but_keeps_absolute_errors():
    r = compare_arrays(np.zeros((1, 8)), np.full((1, 8), 0.5))
    assert r.flags == ["zero_norm_a"] and not r.ok
    assert r.cosine is None and r.relative_l2 is None and r.snr_db is None
    assert r.mean_abs == 0.5 and r.max_abs == 0.5
    _no_nan(r)


def test_zero_norm_b_keeps_relative_l2_and_snr():
    a = np.arange(1.0, 9.0).reshape(1, 8)
    r = compare_arrays(a, np.zeros((1, 8)))
    assert r.flags == ["zero_norm_b"]
    assert r.cosine is None
    assert r.relative_l2 == pytest.approx(1.0)
    assert r.snr_db == pytest.approx(0.0, abs=1e-12)
    _no_nan(r)


def test_identical_outputs_are_flagged_with_infinite_snr():
    a = np.arange(1.0, 9.0).reshape(1, 8)
    r = compare_arrays(a, a.copy())
    assert r.flags == ["identical"] and r.ok
    assert r.cosine == pytest.approx(1.0) and r.mean_abs == 0.0 and r.snr_db == math.inf
    assert r.to_dict()["snr_db"] is None


def test_two_all_zero_outputs_are_identical_and_zero_norm():
    r = compare_arrays(np.zeros((1, 3, 4, 4)), np.zeros((1, 3, 4, 4)))
    assert set(r.flags) == {"zero_norm_a", "zero_norm_b", "identical"}
    assert r.per_channel_cosine == [None, None, None]
    _no_nan(r)


def test_dense_maps_get_a_cosine_per_channel():
    rng = np.random.default_rng(5)
    a = rng.standard_normal((2, 4, 5, 6))
    b = a + rng.standard_normal(a.shape) * np.array([0.0, 0.1, 1.0, 3.0])[None, :, None, None]
    b[:, 0] *= -1
    r = compare_arrays(a, b)
    assert r.top1 is None
    want = [ref_cosine(a[:, c], b[:, c]) for c in range(4)]
    assert r.per_channel_cosine == pytest.approx(want, rel=1e-12)
    assert r.per_channel_cosine[0] == pytest.approx(-1.0)
    assert r.cosine == pytest.approx(ref_cosine(a, b), rel=1e-12)


def test_a_dead_channel_gets_none_not_nan():
    a = np.ones((1, 3, 4, 4))
    b = a.copy()
    b[:, 1] = 0
    r = compare_arrays(a, b)
    assert r.per_channel_cosine == [pytest.approx(1.0), None, pytest.approx(1.0)]
    assert r.cosine is not None
    _no_nan(r)


# ----------------------------------------------------------------------------
# Comparison
# ----------------------------------------------------------------------------
@pytest.fixture()
def two_runs() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    rng = np.random.default_rng(6)
    ref = {"logits": rng.standard_normal((1, 10)), "features": rng.standard_normal((1, 3, 4, 4))}
    out = {"logits": ref["logits"] + 0.05 * rng.standard_normal((1, 10)),
           "features": ref["features"] + 0.5 * rng.standard_normal((1, 3, 4, 4))}
    return ref, out


def test_comparison_passes_at_min_cosine_and_reports_the_worst(two_runs):
    ref, out = two_runs
    worst = min(ref_cosine(ref[k], out[k]) for k in ref)
    assert 0.5 < worst < 0.99
    result = compare(ref, out, min_cosine=worst - 1e-9)
    assert isinstance(result, Comparison)
    assert result.worst_cosine == pytest.approx(worst, rel=1e-12)
    assert bool(result) is True
    assert bool(compare(ref, out, min_cosine=worst + 1e-9)) is False
    assert bool(compare(ref, out)) is False  # default pass mark 0.99


def test_comparison_with_a_flagged_output_fails(two_runs):
    ref, out = two_runs
    out = dict(out, logits=np.full((1, 10), np.nan))
    result = compare(ref, out, min_cosine=-1.0)
    assert not result
    assert result.outputs["logits"].flags == ["nan_in_b"]
    assert result.worst_cosine == pytest.approx(result.outputs["features"].cosine)


def test_comparison_repr_is_a_table_with_every_output(two_runs):
    ref, out = two_runs
    text = repr(compare(ref, out, labels=("float", "vendor nv12")))
    lines = text.splitlines()
    assert "float vs vendor nv12" in lines[0] and "FAIL" in lines[0]
    assert lines[1].split()[:3] == ["output", "shape", "cosine"]
    logits = next(line for line in lines if line.split()[0] == "logits")
    assert logits.split()[1] == "1x10"
    assert f"{ref_cosine(ref['logits'], out['logits']):.6f}" in logits
    assert any(line.split()[0] == "features" for line in lines)


def test_comparison_html_escapes_names_and_labels():
    evil = "<script>alert(1)</script>"
    result = compare({evil: np.ones(3)}, {evil: np.ones(3)}, labels=(evil, "b&c"))
    page = result._repr_html_()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "b&amp;c" in page


def test_comparison_to_dict_is_strict_json_even_with_flags(two_runs):
    ref, out = two_runs
    ref = dict(ref, same=np.ones((1, 4)), zero=np.zeros((1, 4)), bad=np.ones((1, 4)))
    out = dict(out, same=np.ones((1, 4)), zero=np.ones((1, 4)), bad=np.array([[np.nan, np.inf, 1.0, 1.0]]))
    data = compare(ref, out).to_dict()
    text = json.dumps(data, allow_nan=False)
    back = json.loads(text)
    assert back["passed"] is False
    assert set(back["outputs"]) == {"logits", "features", "same", "zero", "bad"}
    assert back["outputs"]["same"]["snr_db"] is None and "identical" in back["outputs"]["same"]["flags"]
    assert back["outputs"]["bad"]["flags"] == ["nan_in_b", "inf_in_b"]
    assert back["outputs"]["features"]["shape"] == [1, 3, 4, 4]
    assert len(back["outputs"]["features"]["per_channel_cosine"]) == 3


def test_comparison_to_json_writes_atomically(two_runs, tmp_path, monkeypatch):
    ref, out = two_runs
    result = compare(ref, out)
    target = tmp_path / "cmp.json"
    assert result.to_json(target) == target
    assert json.loads(target.read_text()) == json.loads(json.dumps(result.to_dict()))
    assert os.listdir(tmp_path) == ["cmp.json"]

    target.write_text("previous")

    def broken_replace(src, dst):
        raise OSError("disk full")

    import nv12kit._io

    monkeypatch.setattr(nv12kit._io.os, "replace", broken_replace)
    with pytest.raises(OSError):
        result.to_json(target)
    assert target.read_text() == "previous"
    assert os.listdir(tmp_path) == ["cmp.json"]


# ----------------------------------------------------------------------------
# compare() and load_outputs()
# ----------------------------------------------------------------------------
def test_compare_dicts_per_output(two_runs):
    ref, out = two_runs
    result = compare(ref, out)
    assert list(result.outputs) == ["logits", "features"]
    for name in ref:
        assert result.outputs[name].cosine == pytest.approx(ref_cosine(ref[name], out[name]), rel=1e-12)


def test_single_npy_is_named_after_its_stem(tmp_path):
    np.save(tmp_path / "logits.npy", np.arange(6.0))
    outputs = load_outputs(tmp_path / "logits.npy")
    assert list(outputs) == ["logits"]
    np.testing.assert_array_equal(outputs["logits"], np.arange(6.0))
    assert list(load_outputs(str(tmp_path / "logits.npy"))) == ["logits"]


def test_two_single_npy_files_with_different_names_are_compared(tmp_path):
    a, b = np.array([[1.0, 2.0, 3.0]]), np.array([[1.0, 2.0, 3.5]])
    np.save(tmp_path / "float.npy", a)
    np.save(tmp_path / "vendor.npy", b)
    result = compare(tmp_path / "float.npy", tmp_path / "vendor.npy")
    (only,) = result.outputs.values()
    assert only.cosine == pytest.approx(ref_cosine(a, b), rel=1e-12)


def test_npz_outputs_are_compared_by_key(tmp_path, two_runs):
    ref, out = two_runs
    np.savez(tmp_path / "a.npz", **ref)
    np.savez(tmp_path / "b.npz", **{k: out[k] for k in reversed(list(out))})
    result = compare(tmp_path / "a.npz", tmp_path / "b.npz")
    assert set(result.outputs) == {"logits", "features"}
    for name in ref:
        assert result.outputs[name].cosine == pytest.approx(ref_cosine(ref[name], out[name]), rel=1e-12)


def test_a_folder_of_npy_files_is_one_output_per_file(tmp_path, two_runs):
    ref, out = two_runs
    (tmp_path / "float").mkdir()
    for name, value in ref.items():
        np.save(tmp_path / "float" / f"{name}.npy", value)
    (tmp_path / "float" / "readme.txt").write_text("ignored")
    assert set(load_outputs(tmp_path / "float")) == {"logits", "features"}
    np.savez(tmp_path / "vendor.npz", **out)
    result = compare(tmp_path / "float", tmp_path / "vendor.npz")
    assert result.outputs["logits"].cosine == pytest.approx(ref_cosine(ref["logits"], out["logits"]), rel=1e-12)


def test_an_empty_folder_is_refused(tmp_path):
    with pytest.raises(InputError, match="no .npy files"):
        load_outputs(tmp_path)


def test_npz_with_partly_matching_keys_compares_the_common_ones_and_lists_the_rest(tmp_path):
    np.savez(tmp_path / "a.npz", logits=np.ones(3), boxes=np.ones(4))
    np.savez(tmp_path / "b.npz", logits=np.ones(3), scores=np.ones(4))
    result = compare(tmp_path / "a.npz", tmp_path / "b.npz", labels=("float", "vendor"))
    assert list(result.outputs) == ["logits"]
    assert result.only_in_a == ["boxes"] and result.only_in_b == ["scores"]
    assert bool(result)  # names on one side only are reported, not failed
    text = repr(result)
    assert "only in float (not compared): boxes" in text and "only in vendor (not compared): scores" in text
    data = result.to_dict()
    assert data["only_in_a"] == ["boxes"] and data["only_in_b"] == ["scores"]


def test_single_key_npz_files_with_different_keys_are_not_silently_paired(tmp_path):
    # .npz keys are real output names (unlike a lone .npy's file stem): "logits" against "scores" is a mismatch.
    np.savez(tmp_path / "a.npz", logits=np.ones(3))
    np.savez(tmp_path / "b.npz", scores=np.ones(3))
    with pytest.raises(InputError, match=r"\['logits'\].*\['scores'\]"):
        compare(tmp_path / "a.npz", tmp_path / "b.npz")


def test_outputs_subset_compares_only_those(two_runs):
    ref, out = two_runs
    out = dict(out, extra=np.ones(3))
    result = compare(ref, out, outputs=["logits"])
    assert list(result.outputs) == ["logits"] and result.only_in_b == []
    assert compare(ref, out).only_in_b == ["extra"]
    with pytest.raises(InputError, match=r"\['nope'\]"):
        compare(ref, out, outputs=["nope"])


def test_an_empty_outputs_subset_is_refused_not_a_vacuous_pass(two_runs):
    ref, out = two_runs
    with pytest.raises(InputError, match="outputs"):
        compare(ref, out, outputs=[])


def test_pickled_npy_is_refused_with_a_message_about_pickles(tmp_path):
    path = tmp_path / "dump.npy"
    np.save(path, np.array([{"logits": [1, 2]}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="pickle") as info:
        load_outputs(path)
    assert "dump.npy" in str(info.value)
    with pytest.raises(InputError, match="pickle"):
        compare(path, path)


def test_pickled_npz_entry_is_refused_naming_the_entry(tmp_path):
    path = tmp_path / "dump.npz"
    np.savez(path, logits=np.ones(3), meta=np.array([{"a": 1}], dtype=object))
    with pytest.raises(InputError, match="pickle") as info:
        load_outputs(path)
    assert "'meta'" in str(info.value)


def test_pickled_npy_inside_a_folder_is_refused(tmp_path):
    np.save(tmp_path / "ok.npy", np.ones(3))
    np.save(tmp_path / "bad.npy", np.array([None], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="pickle"):
        load_outputs(tmp_path)


def test_truncated_npy_is_refused_as_unreadable(tmp_path):
    good = tmp_path / "good.npy"
    np.save(good, np.arange(1000.0))
    bad = tmp_path / "bad.npy"
    bad.write_bytes(good.read_bytes()[:300])
    with pytest.raises(InputError, match="not a readable .npy"):
        load_outputs(bad)


def test_corrupt_npy_is_refused_without_calling_it_a_pickle(tmp_path):
    # numpy treats any file without the NPY magic as a pickle; a text file is not one.
    path = tmp_path / "out.npy"
    path.write_text("1.0 2.0 3.0\n")
    with pytest.raises(InputError) as info:
        load_outputs(path)
    assert "not a readable .npy" in str(info.value) or "not a .npy" in str(info.value)


@pytest.mark.parametrize("content", [b"PK\x03\x04 broken zip", b"plain text, not numpy at all"])
def test_corrupt_npz_is_refused_with_an_nv12kit_error(tmp_path, content):
    path = tmp_path / "out.npz"
    path.write_bytes(content)
    with pytest.raises(NV12KitError, match="out.npz"):
        load_outputs(path)


def test_missing_file_and_unsupported_suffix_are_refused(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_outputs(tmp_path / "missing.npz")
    (tmp_path / "out.txt").write_text("1 2 3")
    with pytest.raises(InputError, match=r"\.npy or \.npz"):
        load_outputs(tmp_path / "out.txt")
    with pytest.raises(InputError, match="dict"):
        load_outputs(42)


def test_loading_does_not_modify_the_inputs(tmp_path, two_runs):
    ref, out = two_runs
    before = {k: v.copy() for k, v in ref.items()}
    np.savez(tmp_path / "b.npz", **out)
    raw = (tmp_path / "b.npz").read_bytes()
    compare(ref, tmp_path / "b.npz")
    for k in ref:
        np.testing.assert_array_equal(ref[k], before[k])
    assert (tmp_path / "b.npz").read_bytes() == raw


def test_shape_mismatch_is_reported_and_fails(two_runs):
    ref, out = two_runs
    out = dict(out, logits=np.ones((1, 11)))
    result = compare(ref, out, min_cosine=-1)
    assert list(result.outputs) == ["features"] and bool(result) is False
    assert result.shape_mismatches == {"logits": ((1, 10), (1, 11))}
    assert "shape mismatch (FAIL): logits: [1, 10] in a, [1, 11] in b" in repr(result)
    assert result.to_dict()["shape_mismatches"] == {"logits": [[1, 10], [1, 11]]}


def test_bad_labels_and_pass_mark_are_input_errors(two_runs):
    ref, out = two_runs
    with pytest.raises(InputError, match="labels"):
        compare(ref, dict(out, extra=np.ones(3)), labels=("float",))
    with pytest.raises(InputError, match="labels"):
        compare(ref, out, labels=("a", "b", "c"))
    with pytest.raises(InputError, match="min_cosine"):
        compare(ref, out, min_cosine="high")


# ----------------------------------------------------------------------------
# properties
# ----------------------------------------------------------------------------
_finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=32)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=4, max_side=6), elements=_finite))
def test_any_finite_output_compared_with_itself_passes(x):
    # an all-zero output is flagged zero_norm, but two identical outputs must not fail the comparison
    result = compare({"out": x}, {"out": x.copy()}, min_cosine=0.999999)
    assert "identical" in result.outputs["out"].flags
    assert bool(result)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 50).flatmap(lambda n: st.tuples(hnp.arrays(np.float64, n, elements=_finite),
                                                      hnp.arrays(np.float64, n, elements=_finite))),
       st.floats(1e-3, 1e3))
def test_cosine_is_symmetric_bounded_and_scale_invariant(xy, scale):
    x, y = xy
    if not np.any(x) or not np.any(y):
        with pytest.raises(InputError, match="zero"):
            cosine(x, y)
        return
    c = cosine(x, y)
    assert -1.0 <= c <= 1.0
    assert cosine(y, x) == pytest.approx(c, abs=1e-12)
    assert cosine(scale * x, y) == pytest.approx(c, abs=1e-9)
    assert c == pytest.approx(ref_cosine(x, y), abs=1e-12)


# ----------------------------------------------------------------------------
# Polygraphy's tolerance vocabulary: atol, rtol, check, and top-k
# ----------------------------------------------------------------------------
def _polygraphy_verdict(a, b, *, atol, rtol, check):
    """Polygraphy's own comparator (SimpleCompareFunc) on the same arrays: the reference, not our code."""
    from polygraphy.comparator import IterationResult, SimpleCompareFunc
    from polygraphy.logger import G_LOGGER

    stat, _, q = check.partition(":")
    func = SimpleCompareFunc(atol=atol, rtol=rtol, check_error_stat=stat, error_quantile=float(q) if q else None)
    with G_LOGGER.verbosity(G_LOGGER.CRITICAL):
        result = func(IterationResult({"out": a}, runner_name="a"), IterationResult({"out": b}, runner_name="b"))
    return bool(result["out"])


def _tolerance_cases():
    rng = np.random.default_rng(16)
    base = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    noisy = base + (1e-3 * rng.standard_normal(base.shape)).astype(np.float32)
    with_zeros = noisy.copy()
    with_zeros.reshape(-1)[::7] = 0.0  # zeros in the second output: Polygraphy's epsilon
    outliers = noisy.copy()
    outliers.reshape(-1)[:5] += 0.5  # a few large errors: the statistics disagree
    ints_a = rng.integers(-5, 5, (4, 16)).astype(np.int8)
    ints_b = (ints_a + rng.integers(-1, 2, ints_a.shape)).astype(np.int8)  # zeros in b: inf/NaN relative errors
    half = base.astype(np.float16)
    return {"noisy": (base, noisy), "zeros_in_b": (base, with_zeros), "outliers": (base, outliers),
            "int8": (ints_a, ints_b), "float16": (half, (noisy + 0.01).astype(np.float16)),
            "nan": (base, np.where(np.arange(base.size).reshape(base.shape) == 3, np.nan, noisy).astype(np.float32))}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # Polygraphy's own division by integer zeros
@pytest.mark.parametrize("case", ["noisy", "zeros_in_b", "outliers", "int8", "float16", "nan"])
@pytest.mark.parametrize("check", ["elemwise", "max", "mean", "median", "quantile:0.9"])
def test_tolerance_pass_fail_equals_polygraphys_own_comparator(case, check):
    from nv12kit.metrics import tolerance_check

    a, b = _tolerance_cases()[case]
    probe = tolerance_check(a, b, atol=0, rtol=0, check=check)
    scales = [s for s in (probe["abs_error"], probe["rel_error"]) if math.isfinite(s) and s > 0] or [1e-3]
    verdicts = []
    for abs_scale in scales:
        for factor in (0.5, 0.97, 1.03, 2.0):  # either side of the statistic, never on it (float32 vs float64)
            for atol, rtol in ((abs_scale * factor, 0.0), (0.0, abs_scale * factor), (abs_scale * factor, 1e-9),
                               (1e-9, abs_scale * factor)):
                ours = tolerance_check(a, b, atol=atol, rtol=rtol, check=check)["passed"]
                assert ours == _polygraphy_verdict(a, b, atol=atol, rtol=rtol, check=check), (atol, rtol)
                verdicts.append(ours)
    if case != "nan":
        assert True in verdicts and False in verdicts  # the grid exercised both outcomes


def test_tolerance_statistics_match_the_formulas():
    from nv12kit.metrics import tolerance_check

    a = np.array([1.0, 2.0, 4.0, 0.5])
    b = np.array([1.5, 2.0, 0.0, 1.0])
    absdiff = np.abs(a - b)
    reldiff = absdiff / np.where(b == 0, 2.220446049250313e-16, np.abs(b))
    for check, reduce in (("max", np.max), ("mean", np.mean), ("median", np.median),
                          ("quantile:0.25", lambda v: np.quantile(v, 0.25))):
        got = tolerance_check(a, b, atol=1, rtol=1, check=check)
        assert got["abs_error"] == reduce(absdiff) and got["rel_error"] == reduce(reldiff)
    elem = tolerance_check(a, b, atol=0.6, rtol=0.4, check="elemwise")
    # element 2 (|4 - 0| > 0.6, relative huge) is the only one failing both tolerances
    assert elem["mismatches"] == 1 and elem["passed"] is False


@pytest.mark.parametrize("check", ["sum", "quantile:2", "quantile:x", "max:0.5", 3])
def test_a_bad_check_is_an_input_error(check):
    with pytest.raises(InputError, match="check"):
        compare({"x": np.ones(3)}, {"x": np.ones(3)}, atol=1e-3, check=check)


@pytest.mark.parametrize("kwargs", [{"atol": -1}, {"rtol": "big"}, {"top_k": 0}, {"top_k": 1.5},
                                    {"min_cosine": None}])
def test_bad_tolerances_are_input_errors(kwargs):
    with pytest.raises(InputError):
        compare({"x": np.ones(3)}, {"x": np.ones(3)}, **kwargs)


def test_compare_with_tolerances_gives_a_verdict_per_output_in_the_table_and_json(two_runs):
    ref, out = two_runs
    out = dict(out, logits=ref["logits"] + 1e-7)
    result = compare(ref, out, min_cosine=None, atol=1e-6, check="max")
    assert result.passed("logits") and not result.passed("features")
    assert result.failed == ["features"] and bool(result) is False
    assert result.outputs["logits"].tolerance["passed"] is True
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["atol"] == 1e-6 and data["rtol"] == 1e-5 and data["check"] == "max" and data["min_cosine"] is None
    assert data["outputs"]["features"]["tolerance"]["passed"] is False and data["failed"] == ["features"]
    text = repr(result)
    assert "max |a-b| <= 1e-06 or |a-b|/|b| <= 1e-05" in text.splitlines()[0]
    assert "FAIL" in next(line for line in text.splitlines() if line.split()[0] == "features")
    # the cosine stays a criterion unless switched off
    both = compare(ref, out, atol=10.0)
    assert both.outputs["features"].tolerance["passed"] and not both.passed("features")


def test_top_k_requires_the_same_classes_on_every_row():
    ref = {"logits": np.array([[0.1, 0.5, 0.3, 0.05, 0.05], [0.9, 0.05, 0.03, 0.01, 0.01]]),
           "map": np.ones((1, 2, 2, 2))}
    out = {"logits": np.array([[0.1, 0.3, 0.5, 0.05, 0.05], [0.9, 0.05, 0.03, 0.01, 0.01]]),
           "map": np.ones((1, 2, 2, 2))}
    top1 = compare(ref, out, min_cosine=None, top_k=1)
    assert top1.outputs["logits"].topk == {"k": 1, "agreement": 0.5, "passed": False}
    assert top1.outputs["map"].topk["passed"] is None and "not class scores" in top1.outputs["map"].topk["reason"]
    assert not top1 and top1.failed == ["logits"]
    top2 = compare(ref, out, min_cosine=None, top_k=2)  # {1, 2} on both sides of the first row
    assert top2.outputs["logits"].topk["agreement"] == 1.0 and bool(top2)
