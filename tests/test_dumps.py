"""nv12kit.dumps: the chip and peer-tool dump readers, format detection, and compare() matching them by name.

The RKNN, Horizon and QNN tools cannot run here, so their fixtures are written
from the public documentation of each format (cited at each fixture); numpy's
and Polygraphy's files are written by numpy and by Polygraphy itself.
"""

from __future__ import annotations

import json
import os
import pathlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nv12kit.dumps import DumpRead, detect_format, read_dump, read_outputs
from nv12kit.dumps.horizon import read_horizon_dump
from nv12kit.dumps.raw import read_raw_dump
from nv12kit.dumps.rknn import read_rknn_dump
from nv12kit.errors import InputError, NV12KitError
from nv12kit.metrics import compare

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
RNG = np.random.default_rng(16)


# ---------------------------------------------------------------------------
# fixtures, each from its format's public documentation
# ---------------------------------------------------------------------------
def _rknn_snapshot(root: pathlib.Path) -> dict[str, dict[str, np.ndarray]]:
    """An RKNN-Toolkit2 ``accuracy_analysis`` output_dir.

    RKNN-Toolkit2 API reference, "accuracy_analysis": output_dir (default
    ./snapshot) holds ``simulator/`` (quantized model on the simulator, every
    layer converted to float32), ``golden/`` (the float model) and, with a
    target, ``runtime/`` (on the NPU), plus ``error_analysis.txt``. Tensor names
    from airockchip/rknn-toolkit2 examples/functions/accuracy_analysis/README.md
    (resnet50v2: resnetv24_batchnorm0_fwd ... resnetv24_dense0_fwd).
    """
    golden = {"resnetv24_batchnorm0_fwd": RNG.standard_normal((1, 3, 8, 8)).astype(np.float32),
              "resnetv24_dense0_fwd": RNG.standard_normal((1, 10)).astype(np.float32)}
    runs = {"golden": golden}
    for run, noise in (("simulator", 0.01), ("runtime", 0.02)):
        runs[run] = {k: (v + noise * RNG.standard_normal(v.shape)).astype(np.float32) for k, v in golden.items()}
    for run, tensors in runs.items():
        (root / run).mkdir(parents=True)
        for name, value in tensors.items():
            np.save(root / run / f"{name}.npy", value)
    (root / "error_analysis.txt").write_text("layer_name  simulator_error\n[Conv] resnetv24_dense0_fwd 0.99\n")
    return runs


def _rknn1_tensor(folder: pathlib.Path, values: np.ndarray) -> pathlib.Path:
    """RKNN-Toolkit 1 ``snapshot/fp32`` text tensor, named ``<op>_<name>_<id>_out0_nhwc_<shape>.tensor``.

    The name pattern is the one public user scripts load
    (snapshot/fp32/ConvTranspose_ConvTranspose_60_59_plane_131_out0_nhwc_1_79_79_32.tensor), smaller here.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "ConvTranspose_ConvTranspose_60_59_plane_131_out0_nhwc_1_4_4_2.tensor"
    path.write_text("\n".join(f"{v:.6f}" for v in values.ravel()))
    return path


def _horizon_dump(folder: pathlib.Path) -> dict[str, np.ndarray]:
    """``hrt_model_exec --dump_intermediate=2`` files (bin and txt) with a side-file manifest.

    File names follow D-Robotics' forum note on hrt_model_exec's dump_intermediate
    (forum.d-robotics.cc/t/topic/25978): layer-<i>-<kind>-<node>-<input|output>-<k>-<tensor>...;
    =2 writes .bin and .txt. Layer inputs repeat earlier outputs.
    """
    folder.mkdir(parents=True)
    fc = RNG.standard_normal((1, 10)).astype(np.float32)
    prob = RNG.random((1, 10)).astype(np.float32)
    (folder / "layer-0-bpu-ResNet-18_subgraph_0-input-0-data_y0.bin").write_bytes(bytes(16))
    fc.tofile(folder / "layer-0-bpu-ResNet-18_subgraph_0-output-0-fc1000_nhwc2nchw.bin")
    (folder / "layer-0-bpu-ResNet-18_subgraph_0-output-0-fc1000_nhwc2nchw.txt").write_text(
        " ".join(f"{v:.6f}" for v in fc.ravel()))
    (folder / "layer-2-Softmax-prob-output-0-prob.txt").write_text(
        "\n".join(f"{v:.8f}" for v in prob.ravel()))
    (folder / "manifest.json").write_text(json.dumps({
        "fc1000_nhwc2nchw": {"shape": [1, 10], "dtype": "float32"}, "prob": {"shape": [1, 10]}}))
    return {"fc1000_nhwc2nchw": fc, "prob": prob}


def _qnn_output_dir(root: pathlib.Path, results: int = 1) -> list[dict[str, np.ndarray]]:
    """A ``qnn-net-run --output_dir`` folder: Result_<N>/<sanitised tensor name>.raw, float32 by default.

    Qualcomm AI Engine Direct docs, qnn-net-run: one Result_N folder per input line, float32 outputs
    unless --use_native_output_files; ':' and '/' in tensor names become '_' in file names.
    """
    runs = []
    for n in range(results):
        run = root / f"Result_{n}"
        run.mkdir(parents=True)
        tensors = {"logits:0": RNG.standard_normal((1, 10)).astype(np.float32),
                   "feat/conv1": RNG.standard_normal((1, 2, 3, 3)).astype(np.float32)}
        tensors["logits:0"].tofile(run / "logits_0.raw")
        tensors["feat/conv1"].tofile(run / "feat_conv1.raw")
        runs.append(tensors)
    (root / "manifest.txt").write_text("# name shape dtype\nlogits:0 1x10 float32\nfeat/conv1 1x2x3x3\n")
    return runs


# ---------------------------------------------------------------------------
# RKNN
# ---------------------------------------------------------------------------
def test_rknn_run_folders_read_and_compare_by_name(tmp_path):
    runs = _rknn_snapshot(tmp_path / "snapshot")
    got = read_rknn_dump(tmp_path / "snapshot" / "simulator")
    assert set(got) == set(runs["simulator"])
    for name, value in runs["simulator"].items():
        np.testing.assert_array_equal(got[name], value)
    assert set(read_rknn_dump(tmp_path / "snapshot", run="runtime")) == set(runs["runtime"])
    result = compare(tmp_path / "snapshot" / "golden", tmp_path / "snapshot" / "simulator", min_cosine=0.9)
    assert set(result.outputs) == set(runs["golden"]) and not result.only_in_a and bool(result)
    assert result.sources[0].startswith("rknn (detected: an accuracy_analysis 'golden' run folder")


def test_rknn_output_dir_without_a_run_names_the_runs(tmp_path):
    _rknn_snapshot(tmp_path / "snapshot")
    with pytest.raises(InputError, match=r"\['golden', 'simulator', 'runtime'\]"):
        read_outputs(tmp_path / "snapshot")
    assert detect_format(tmp_path / "snapshot")[0] == "rknn"
    with pytest.raises(InputError, match="no 'fp32' run folder"):
        read_rknn_dump(tmp_path / "snapshot", run="fp32")


def test_rknn1_tensor_text_files_take_their_shape_and_layout_from_the_name(tmp_path):
    values = RNG.standard_normal((1, 4, 4, 2)).astype(np.float32)
    _rknn1_tensor(tmp_path / "fp32", values)
    read = read_dump(tmp_path / "fp32")
    assert read.format == "rknn" and read.detected
    np.testing.assert_allclose(read.outputs["ConvTranspose_ConvTranspose_60_59_plane_131"], values, atol=5e-7)
    assert any("NHWC" in note for note in read.notes)


def test_rknn_shape_in_the_name_must_match_the_data(tmp_path):
    run = tmp_path / "simulator"
    run.mkdir()
    np.save(run / "Conv_Conv_0_out0_nchw_1_2_2_2.npy", np.zeros(7, np.float32))
    with pytest.raises(InputError, match=r"7 values.*\[1, 2, 2, 2\]"):
        read_rknn_dump(run)


def test_rknn_corrupt_files_are_input_errors(tmp_path):
    _rknn1_tensor(tmp_path / "fp32", np.zeros(32)).write_text("0.5 not-a-number")
    with pytest.raises(InputError, match="not a text dump of numbers"):
        read_rknn_dump(tmp_path / "fp32")
    run = tmp_path / "golden"
    run.mkdir()
    (run / "x.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(InputError, match="x.npy"):
        read_rknn_dump(run)


def test_rknn_two_files_for_one_tensor_are_refused(tmp_path):
    run = tmp_path / "runtime"
    run.mkdir()
    np.save(run / "add_out0_nchw_1_2.npy", np.zeros((1, 2), np.float32))
    np.save(run / "add.npy", np.zeros((1, 2), np.float32))
    with pytest.raises(InputError, match="'add'"):
        read_rknn_dump(run)


# ---------------------------------------------------------------------------
# Horizon
# ---------------------------------------------------------------------------
def test_horizon_dump_reads_outputs_skips_inputs_and_prefers_bin(tmp_path):
    expected = _horizon_dump(tmp_path / "dump")
    read = read_dump(tmp_path / "dump")
    assert read.format == "horizon" and read.detected
    assert set(read.outputs) == set(expected)
    np.testing.assert_array_equal(read.outputs["fc1000_nhwc2nchw"], expected["fc1000_nhwc2nchw"])  # the exact .bin
    np.testing.assert_allclose(read.outputs["prob"], expected["prob"], atol=5e-9)
    assert read.outputs["prob"].shape == (1, 10)
    assert any("skipped 1 layer-input" in n for n in read.notes) and any("manifest" in n for n in read.notes)


def test_horizon_bin_shape_and_dtype_from_the_file_name(tmp_path):
    value = np.arange(6, dtype=np.int16).reshape(2, 3)
    value.tofile(tmp_path / "scores_2x3_int16.bin")
    got = read_horizon_dump(tmp_path / "scores_2x3_int16.bin")
    assert got["scores"].dtype == np.int16
    np.testing.assert_array_equal(got["scores"], value)


def test_horizon_aligned_output_size_error_names_both_sizes(tmp_path):
    _horizon_dump(tmp_path / "dump")
    (tmp_path / "dump" / "layer-0-bpu-ResNet-18_subgraph_0-output-0-fc1000_nhwc2nchw.bin").write_bytes(bytes(64))
    with pytest.raises(InputError, match=r"holds 64 bytes, but shape \[1, 10\] float32 needs 40 bytes"):
        read_horizon_dump(tmp_path / "dump")


def test_horizon_bin_without_shape_or_dtype_is_refused(tmp_path):
    (tmp_path / "out.bin").write_bytes(bytes(8))
    with pytest.raises(InputError, match="side file"):
        read_outputs(tmp_path / "out.bin")


def test_horizon_text_that_is_not_numbers_is_an_input_error(tmp_path):
    (tmp_path / "layer-3-Reshape-r-output-0-final.txt").write_text("shape: [1, 10]\n0.1 0.2")
    with pytest.raises(InputError, match="not a text dump of numbers"):
        read_outputs(tmp_path, format="horizon")
    with pytest.raises(InputError, match="format='horizon'"):
        read_outputs(tmp_path / "layer-3-Reshape-r-output-0-final.txt")  # a lone .txt is not guessed


# ---------------------------------------------------------------------------
# .raw with a manifest
# ---------------------------------------------------------------------------
def test_qnn_output_dir_reads_result_0_with_the_manifest_names(tmp_path):
    runs = _qnn_output_dir(tmp_path / "out", results=2)
    read = read_dump(tmp_path / "out")
    assert read.format == "raw" and list(read.outputs) == ["logits:0", "feat/conv1"]
    for name, value in runs[0].items():
        np.testing.assert_array_equal(read.outputs[name], value)
    assert any("Result_0 of 2" in n for n in read.notes)
    np.testing.assert_array_equal(read_raw_dump(tmp_path / "out", result=1)["logits:0"], runs[1]["logits:0"])
    with pytest.raises(InputError, match="no Result_5"):
        read_raw_dump(tmp_path / "out", result=5)


def test_raw_size_must_match_the_manifest_exactly(tmp_path):
    _qnn_output_dir(tmp_path / "out")
    (tmp_path / "out" / "Result_0" / "logits_0.raw").write_bytes(bytes(36))
    with pytest.raises(InputError, match=r"holds 36 bytes, but shape \[1, 10\] float32 needs 40 bytes"):
        read_outputs(tmp_path / "out")


def test_raw_json_manifest_with_files_dtypes_and_a_single_file(tmp_path):
    a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    a.tofile(tmp_path / "trace_layer7.raw")
    manifest = {"tensors": [{"name": "conv7", "file": "trace_layer7.raw", "shape": [3, 4], "dtype": "uint8"}]}
    (tmp_path / "m.json").write_text(json.dumps(manifest))
    got = read_outputs(tmp_path / "trace_layer7.raw", manifest=tmp_path / "m.json")
    assert got["conv7"].dtype == np.uint8
    np.testing.assert_array_equal(got["conv7"], a)
    np.testing.assert_array_equal(read_raw_dump(tmp_path, manifest=manifest)["conv7"], a)


@pytest.mark.parametrize("manifest, message", [
    (None, "needs a manifest"),
    ('{"x": {"shape": [2], "dtype": "complex7"}}', "unknown dtype"),
    ('{"x": {"shape": [-2]}}', "non-negative"),
    ('{"x": {"shape": [2], "file": "../escape.raw"}}', "inside the dump folder"),
    ('{"x": [2]}', "must be an object"),
    ("{not json", "not valid JSON"),
    ("[" * 100000 + "]" * 100000, "not valid JSON"),
    ('{"x": {"shape": [100000, 100000, 100000]}}', "needs 4000000000000000 bytes"),
    ("x", "not \"name shape"),
    ("", "lists no tensors"),
])
def test_bad_manifests_are_input_errors(tmp_path, manifest, message):
    np.zeros(2, np.float32).tofile(tmp_path / "x.raw")
    if manifest is not None:
        (tmp_path / "manifest.json").write_text(manifest)
    with pytest.raises(InputError, match=message):
        read_raw_dump(tmp_path)


def test_a_missing_tensor_file_lists_what_is_there(tmp_path):
    np.zeros(2, np.float32).tofile(tmp_path / "y.raw")
    (tmp_path / "manifest.txt").write_text("x 2 float32")
    with pytest.raises(InputError, match=r"no file for tensor 'x'.*y.raw"):
        read_raw_dump(tmp_path)


# ---------------------------------------------------------------------------
# every format: budgets, FIFOs, random bytes
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("make", ["rknn", "horizon", "raw", "npy"])
def test_the_read_budget_is_checked_before_reading(tmp_path, make):
    if make == "rknn":
        _rknn_snapshot(tmp_path / "d")
        path = tmp_path / "d" / "golden"
    elif make == "horizon":
        _horizon_dump(tmp_path / "d")
        path = tmp_path / "d"
    elif make == "raw":
        _qnn_output_dir(tmp_path / "d")
        path = tmp_path / "d"
    else:
        (tmp_path / "d").mkdir()
        np.save(tmp_path / "d" / "a.npy", np.zeros(100))
        path = tmp_path / "d"
    with pytest.raises(InputError, match="budget"):
        read_outputs(path, max_bytes=64)
    assert read_outputs(path, max_bytes=10**6)


@needs_fifo
@pytest.mark.parametrize("name, fmt", [("t.raw", "raw"), ("t.bin", "horizon"), ("t.npy", "rknn"),
                                       ("t.tensor", "rknn"), ("t.npy", "npy")])
def test_a_fifo_inside_a_dump_folder_is_refused_without_blocking(tmp_path, name, fmt):
    (tmp_path / "manifest.txt").write_text("t 2 float32")
    os.mkfifo(tmp_path / name)
    with pytest.raises(InputError, match="FIFO"):
        read_outputs(tmp_path, format=fmt)


@needs_fifo
@pytest.mark.parametrize("fmt", ["auto", "raw", "horizon", "npz", "polygraphy"])
def test_a_fifo_as_the_dump_itself_is_refused(tmp_path, fmt):
    if fmt == "polygraphy":
        pytest.importorskip("nv12kit.dumps.polygraphy")
    (tmp_path / "manifest.txt").write_text("t 2 float32")
    os.mkfifo(tmp_path / "t.raw")
    with pytest.raises(InputError, match="FIFO"):
        read_outputs(tmp_path / "t.raw", format=fmt)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200), suffix=st.sampled_from([".raw", ".bin", ".txt", ".tensor", ".npy"]))
def test_random_bytes_in_any_dump_raise_only_nv12kit_errors(tmp_path, data, suffix):
    folder = tmp_path / f"fuzz{suffix}"
    folder.mkdir(exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    (folder / f"t_2x2_float32{suffix}").write_bytes(data)
    (folder / "manifest.txt").write_text("t_2x2_float32 2x2 float32")
    for fmt in ("auto", "raw", "horizon", "rknn", "npy"):
        try:
            read_outputs(folder, format=fmt)
        except NV12KitError:
            pass


# ---------------------------------------------------------------------------
# detection, override, and compare across formats
# ---------------------------------------------------------------------------
def test_detection_says_what_it_went_by_and_override_wins(tmp_path):
    np.savez(tmp_path / "a.npz", logits=np.ones((1, 3), np.float32))
    np.save(tmp_path / "b.npy", np.ones((1, 3), np.float32))
    assert detect_format(tmp_path / "a.npz") == ("npz", "the zip magic bytes of an .npz")
    assert detect_format(tmp_path / "b.npy")[0] == "npy"
    read = read_dump(tmp_path / "a.npz")
    assert read.detected and read.describe() == "npz (detected: the zip magic bytes of an .npz)"
    told = read_dump(tmp_path / "a.npz", format="npz")
    assert not told.detected and told.describe() == "npz (as told)"
    # an .npz renamed .bin is still found by its magic bytes; told "raw", the raw reader asks for a manifest
    (tmp_path / "c.bin").write_bytes((tmp_path / "a.npz").read_bytes())
    assert read_dump(tmp_path / "c.bin").format == "npz"
    with pytest.raises(InputError, match="manifest"):
        read_outputs(tmp_path / "c.bin", format="raw")
    with pytest.raises(InputError, match="format must be"):
        read_outputs(tmp_path / "a.npz", format="onnx")
    in_memory = read_dump({"x": [1.0]})
    assert isinstance(in_memory, DumpRead) and in_memory.format == "dict" and not in_memory.detected
    assert in_memory.describe() == "in-memory arrays"


def test_json_that_is_not_polygraphy_is_refused(tmp_path):
    pytest.importorskip("nv12kit.dumps.polygraphy")
    (tmp_path / "cfg.json").write_text('{"hello": 1}')
    with pytest.raises(InputError, match="not Polygraphy"):
        read_outputs(tmp_path / "cfg.json")


def test_polygraphy_json_written_by_polygraphy_is_detected_and_read(tmp_path):
    pytest.importorskip("nv12kit.dumps.polygraphy")
    from polygraphy.comparator import IterationResult, RunResults

    logits = RNG.standard_normal((1, 10)).astype(np.float32)
    results = RunResults()
    results.append(("onnxrt-runner-N0", [IterationResult({"logits": logits}, runner_name="onnxrt-runner-N0")]))
    results.save(str(tmp_path / "outputs.json"))
    read = read_dump(tmp_path / "outputs.json")
    assert read.format == "polygraphy" and read.detected
    np.testing.assert_array_equal(read.outputs["logits"], logits)


def test_compare_a_qnn_dump_with_an_npz_matches_names_and_lists_the_rest(tmp_path):
    runs = _qnn_output_dir(tmp_path / "out")
    np.savez(tmp_path / "float.npz", **{"logits:0": runs[0]["logits:0"] + 1e-4, "boxes": np.ones((1, 4))})
    result = compare(tmp_path / "float.npz", tmp_path / "out", labels=("float", "qnn"))
    assert list(result.outputs) == ["logits:0"]
    assert result.only_in_a == ["boxes"] and result.only_in_b == ["feat/conv1"]
    assert result.sources == ("npz (detected: the zip magic bytes of an .npz)",
                              "raw (detected: qnn-net-run Result_N folders)")
    data = json.loads(json.dumps(result.to_dict()))
    assert data["only_in_b"] == ["feat/conv1"] and data["notes"]


def test_dumps_imports_without_the_polygraphy_module_loaded():
    import subprocess
    import sys

    code = ("import sys, nv12kit.dumps as d; assert 'nv12kit.dumps.polygraphy' not in sys.modules; "
            "assert 'write_polygraphy_inputs' in dir(d)")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_polygraphy_feeds_list_is_read_as_feeds(tmp_path):
    pytest.importorskip("nv12kit.dumps.polygraphy")
    from polygraphy.json import save_json

    feeds = [{"image": RNG.random((1, 3, 4, 4)).astype(np.float32)},
             {"image": RNG.random((1, 3, 4, 4)).astype(np.float32)}]
    save_json(feeds, str(tmp_path / "inputs.json"))  # what polygraphy run --save-inputs writes
    read = read_dump(tmp_path / "inputs.json", iteration=1)
    assert read.format == "polygraphy" and any("feeds" in n for n in read.notes)
    np.testing.assert_array_equal(read.outputs["image"], feeds[1]["image"])


def test_one_result_folder_finds_the_manifest_above_it(tmp_path):
    runs = _qnn_output_dir(tmp_path / "out", results=2)
    got = read_outputs(tmp_path / "out" / "Result_1")
    np.testing.assert_array_equal(got["feat/conv1"], runs[1]["feat/conv1"])
