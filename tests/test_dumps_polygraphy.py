"""Polygraphy's JSON files, checked against the real tool.

Every file read here was written by ``polygraphy run`` (a subprocess) or by
Polygraphy's own Python encoder, and every file nv12kit writes is read back
by Polygraphy's loader (``RunResults.load``, ``polygraphy.json.load_json``)
or replayed by ``polygraphy run --load-inputs`` / ``--load-outputs``.
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnx_models
import pytest

import nv12kit
from nv12kit.dumps.polygraphy import (
    is_polygraphy_json,
    read_polygraphy_inputs,
    read_polygraphy_outputs,
    write_polygraphy_inputs,
    write_polygraphy_outputs,
)
from nv12kit.errors import InputError, NV12KitError

polygraphy = pytest.importorskip("polygraphy")
from polygraphy.comparator import RunResults  # noqa: E402
from polygraphy.json import load_json, save_json  # noqa: E402

POLYGRAPHY = Path(sys.executable).with_name("polygraphy")
SHAPES = ["--input-shapes", "image:[1,3,32,32]"]


def run_polygraphy(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``polygraphy run ...``, the real command line tool; fails the test with its output if it fails."""
    done = subprocess.run([str(POLYGRAPHY), "run", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.fixture(scope="module")
def polygraphy_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with model.onnx (three outputs) and Polygraphy's out.json / in.json of two iterations."""
    folder = tmp_path_factory.mktemp("polygraphy")
    onnx.save(onnx_models.multi_output(32), folder / "model.onnx")
    run_polygraphy("model.onnx", "--onnxrt", *SHAPES, "--iterations", "2", "--seed", "7",
                   "--save-outputs", "out.json", "--save-inputs", "in.json", cwd=folder)
    run_polygraphy("model.onnx", "--onnxrt", "--onnxrt", *SHAPES, "--save-outputs", "two_runners.json", cwd=folder)
    # a path without an extension: a folder of per-iteration files
    run_polygraphy("model.onnx", "--onnxrt", *SHAPES, "--iterations", "3", "--seed", "9",
                   "--save-outputs", "out_dir", "--save-inputs", "in_dir", cwd=folder)
    return folder


# ----------------------------------------------------------------------------
# reading what Polygraphy wrote
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("iteration", [0, 1])
def test_outputs_match_polygraphy_loader_bit_for_bit(polygraphy_run: Path, iteration: int) -> None:
    path = polygraphy_run / "out.json"
    theirs = RunResults.load(str(path))
    (runner_name, iterations), = theirs.lst
    expected = iterations[iteration]
    ours = read_polygraphy_outputs(path, iteration=iteration)
    assert list(ours) == list(expected.keys()) == ["logits", "embedding", "features"]
    for name, array in ours.items():
        assert same_bits(array, np.asarray(expected[name])), name
    # by name, unique start and index: the same
    for runner in (runner_name, "onnxrt-runner", 0, -1):
        again = read_polygraphy_outputs(path, runner=runner, iteration=iteration)
        assert all(same_bits(again[k], ours[k]) for k in ours)


@pytest.mark.parametrize("iteration", [0, 2])
def test_folders_of_iteration_files(polygraphy_run: Path, iteration: int) -> None:
    assert len(list((polygraphy_run / "out_dir").glob("*.json"))) == 3
    expected = list(RunResults.load_streaming(str(polygraphy_run / "out_dir")))[iteration][0][1][0]
    ours = read_polygraphy_outputs(polygraphy_run / "out_dir", iteration=iteration)
    assert list(ours) == list(expected.keys())
    assert all(same_bits(ours[k], np.asarray(expected[k])) for k in ours)
    feed = load_json(str(sorted((polygraphy_run / "in_dir").glob("*.json"))[iteration]))
    assert same_bits(read_polygraphy_inputs(polygraphy_run / "in_dir", iteration=iteration)["image"], feed["image"])
    with pytest.raises(InputError, match="holds 3 iteration"):
        read_polygraphy_outputs(polygraphy_run / "out_dir", iteration=3)
    with pytest.raises(InputError, match="non-negative"):
        read_polygraphy_inputs(polygraphy_run / "in_dir", iteration=-1)


def test_folders_and_single_feed_dicts_are_detected(polygraphy_run: Path, tmp_path: Path) -> None:
    from nv12kit.dumps import read_dump

    outputs = read_dump(polygraphy_run / "out_dir", iteration=1)
    assert outputs.format == "polygraphy" and outputs.detected and "per-iteration" in outputs.reason
    assert all(same_bits(outputs.outputs[k], v)
               for k, v in read_polygraphy_outputs(polygraphy_run / "out_dir", iteration=1).items())
    feeds = read_dump(polygraphy_run / "in_dir", format="polygraphy")
    assert list(feeds.outputs) == ["image"] and "feeds" in feeds.notes[0]
    one_feed = tmp_path / "feed.json"
    one_feed.write_text((sorted((polygraphy_run / "in_dir").glob("*.json"))[0]).read_text())
    assert same_bits(read_dump(one_feed).outputs["image"], feeds.outputs["image"])


def test_two_iterations_differ(polygraphy_run: Path) -> None:
    first = read_polygraphy_outputs(polygraphy_run / "out.json", iteration=0)
    second = read_polygraphy_outputs(polygraphy_run / "out.json", iteration=1)
    assert not np.array_equal(first["logits"], second["logits"])


@pytest.mark.parametrize("iteration", [0, 1, -1])
def test_inputs_match_polygraphy_loader(polygraphy_run: Path, iteration: int) -> None:
    path = polygraphy_run / "in.json"
    expected = load_json(str(path))[iteration]
    ours = read_polygraphy_inputs(path, iteration=iteration)
    assert list(ours) == list(expected) == ["image"]
    assert same_bits(ours["image"], expected["image"])


def test_several_runners_need_a_choice(polygraphy_run: Path) -> None:
    path = polygraphy_run / "two_runners.json"
    theirs = RunResults.load(str(path))
    names = list(theirs.keys())
    assert len(names) == 2
    with pytest.raises(InputError) as info:
        read_polygraphy_outputs(path)
    assert all(name in str(info.value) for name in names) and "runner=" in str(info.value)
    for index, name in enumerate(names):
        by_index = read_polygraphy_outputs(path, runner=index)
        by_name = read_polygraphy_outputs(path, runner=name)
        expected = theirs[name][0]
        for key in expected.keys():
            assert same_bits(by_index[key], np.asarray(expected[key]))
            assert same_bits(by_name[key], np.asarray(expected[key]))
    with pytest.raises(InputError, match="matches 2"):
        read_polygraphy_outputs(path, runner="onnxrt-runner")  # ambiguous start
    with pytest.raises(InputError, match="matches none"):
        read_polygraphy_outputs(path, runner="trt-runner")
    with pytest.raises(InputError, match="out of range"):
        read_polygraphy_outputs(path, runner=2)


def test_iteration_out_of_range(polygraphy_run: Path) -> None:
    with pytest.raises(InputError, match="2 iteration"):
        read_polygraphy_outputs(polygraphy_run / "out.json", iteration=2)
    with pytest.raises(InputError, match="2 iteration"):
        read_polygraphy_inputs(polygraphy_run / "in.json", iteration=5)


def test_sniffing(polygraphy_run: Path, tmp_path: Path) -> None:
    for name in ("out.json", "in.json", "two_runners.json"):
        assert is_polygraphy_json((polygraphy_run / name).read_bytes()[:64])
    ours = write_polygraphy_inputs(tmp_path / "feeds.json", {"a": np.zeros(3)})
    assert is_polygraphy_json(ours.read_bytes()[:64])
    buffer = io.BytesIO()
    np.savez(buffer, a=np.zeros(3))
    for head in (buffer.getvalue()[:256], b'{"outputs": {"a": [1, 2]}}', b"[1, 2, 3]", b"", b"\x93NUMPY"):
        assert not is_polygraphy_json(head)


def test_files_from_polygraphy_encoder_for_every_dtype(tmp_path: Path) -> None:
    """Arrays of every dtype Polygraphy may save, through its own encoder: read back bit for bit."""
    arrays = _odd_arrays()
    results = RunResults()
    results.add([arrays], runner_name="api-runner")
    results.save(str(tmp_path / "api.json"))
    ours = read_polygraphy_outputs(tmp_path / "api.json")
    assert list(ours) == list(arrays)
    for name, array in arrays.items():
        assert same_bits(ours[name], array), name
    save_json([arrays, arrays], str(tmp_path / "feeds.json"))
    feeds = read_polygraphy_inputs(tmp_path / "feeds.json", iteration=1)
    assert all(same_bits(feeds[k], v) for k, v in arrays.items())


def _odd_arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    nan_payload = np.array([np.nan, -0.0, np.inf], np.float32)
    nan_payload.view(np.uint32)[0] = 0x7FC00123  # a NaN with a payload: bits, not values, must survive
    return {
        "f16": rng.standard_normal((2, 3)).astype(np.float16),
        "f32 special": nan_payload,
        "f64": rng.standard_normal(4),
        "i64": np.array([-(2**62), 2**62], np.int64),
        "u8": rng.integers(0, 256, (1, 2, 4, 4), dtype=np.uint8),
        "bool": np.array([True, False, True]),
        "scalar": np.array(3.5, np.float32),
        "empty": np.zeros((0, 4), np.float32),
        "fortran": np.asfortranarray(rng.standard_normal((3, 5)).astype(np.float32)),
        "big-endian": np.arange(6, dtype=">i4").reshape(2, 3),
    }


# ----------------------------------------------------------------------------
# what nv12kit writes, read by Polygraphy
# ----------------------------------------------------------------------------
def test_written_files_load_in_polygraphy(tmp_path: Path) -> None:
    arrays = _odd_arrays()
    out = write_polygraphy_outputs(tmp_path / "out.json", arrays, runner_name="chip")
    theirs = RunResults.load(str(out))
    assert list(theirs.keys()) == ["chip"]
    assert theirs["chip"][0].runner_name == "chip"
    for name, array in arrays.items():
        assert same_bits(np.asarray(theirs["chip"][0][name]), array), name
        assert same_bits(read_polygraphy_outputs(out)[name], array), name
    feeds = write_polygraphy_inputs(tmp_path / "in.json", [arrays, {"x": np.ones(2, np.float32)}])
    loaded = load_json(str(feeds))
    assert isinstance(loaded, list) and len(loaded) == 2
    for name, array in arrays.items():
        assert same_bits(loaded[0][name], array), name
    assert same_bits(read_polygraphy_inputs(feeds, iteration=1)["x"], np.ones(2, np.float32))


def test_polygraphy_replays_our_feeds_and_checks_our_outputs(polygraphy_run: Path, tmp_path: Path) -> None:
    """``polygraphy run --load-inputs ours --load-outputs ours``: same inputs, and our ORT outputs match its run."""
    rng = np.random.default_rng(3)
    feed = {"image": rng.random((1, 3, 32, 32), dtype=np.float32)}
    outputs = nv12kit.Runner(str(polygraphy_run / "model.onnx")).run(feed)
    write_polygraphy_inputs(tmp_path / "feeds.json", feed)
    write_polygraphy_outputs(tmp_path / "ours.json", outputs)
    run_polygraphy(polygraphy_run / "model.onnx", "--onnxrt", "--load-inputs", "feeds.json",
                   "--save-inputs", "seen.json", "--save-outputs", "theirs.json",
                   "--load-outputs", "ours.json", "--atol", "0", "--rtol", "0", cwd=tmp_path)
    assert same_bits(load_json(str(tmp_path / "seen.json"))[0]["image"], feed["image"])
    theirs = read_polygraphy_outputs(tmp_path / "theirs.json")
    assert all(same_bits(theirs[k], outputs[k]) for k in outputs)


def test_polygraphy_replays_nv12_feeds(photos: dict[str, np.ndarray], tmp_path: Path) -> None:
    """nv12kit's NV12 feeds, replayed by Polygraphy on nv12kit's NV12 model, give onnxruntime's outputs."""
    model = onnx_models.classifier(32, batch=1)
    nv12_model = nv12kit.insert_nv12_node(model, **nv12kit.Preprocess(order="RGB").node_kwargs())
    onnx.save(nv12_model, tmp_path / "nv12.onnx")
    rgb = nv12kit.resize_to(next(iter(photos.values())), 32, 32)
    frame = nv12kit.rgb_to_nv12(rgb, convention="horizon")
    feed = frame.to_feed("image")
    assert sorted(feed) == ["image_uv", "image_y"] and feed["image_y"].dtype == np.uint8
    expected = nv12kit.Runner(nv12_model).run(feed)
    write_polygraphy_inputs(tmp_path / "nv12_feeds.json", feed)
    run_polygraphy("nv12.onnx", "--onnxrt", "--load-inputs", "nv12_feeds.json", "--save-outputs", "out.json",
                   cwd=tmp_path)
    theirs = RunResults.load(str(tmp_path / "out.json"))
    ours = read_polygraphy_outputs(tmp_path / "out.json")
    assert list(ours) == ["logits"]
    assert same_bits(ours["logits"], np.asarray(theirs[0][1][0]["logits"]))
    assert same_bits(ours["logits"], expected["logits"])


def test_compare_cli_matches_numpy_on_polygraphy_loader(polygraphy_run: Path, tmp_path: Path) -> None:
    """``nv12kit compare a.json b.json``: the per-output cosines numpy computes on Polygraphy's own loader."""
    onnx.save(onnx_models.multi_output(32, seed=5), tmp_path / "other.onnx")
    run_polygraphy(tmp_path / "other.onnx", "--onnxrt", "--load-inputs", polygraphy_run / "in.json",
                   "--save-outputs", "b.json", cwd=tmp_path)
    run_polygraphy(polygraphy_run / "model.onnx", "--onnxrt", "--load-inputs", polygraphy_run / "in.json",
                   "--save-outputs", "a.json", cwd=tmp_path)
    code = nv12kit.cli.main(["compare", str(tmp_path / "a.json"), str(tmp_path / "b.json"),
                             "--min-cosine", "-1", "--json", str(tmp_path / "cmp.json")])
    assert code == 0
    cosines = {k: v["cosine"] for k, v in json.loads((tmp_path / "cmp.json").read_text())["outputs"].items()}
    a, b = (RunResults.load(str(tmp_path / n))[0][1][0] for n in ("a.json", "b.json"))
    assert sorted(cosines) == sorted(a.keys())
    for name in a.keys():
        x, y = (np.asarray(r[name], np.float64).ravel() for r in (a, b))
        expected = float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))
        assert cosines[name] == pytest.approx(expected, abs=1e-12), name
    assert min(cosines.values()) < 0.999  # another model: the test can tell a right cosine from a wrong one


# ----------------------------------------------------------------------------
# hostile and broken files
# ----------------------------------------------------------------------------
def _npy_b64(array: np.ndarray, *, allow_pickle: bool = False) -> str:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return base64.b64encode(buffer.getvalue()).decode()


def _outputs_doc(value: object) -> dict:
    result = {"outputs": {"y": value}, "runtime": 0.1, "runner_name": "r", "polygraphy_class": "IterationResult"}
    return {"lst": [["r", [result]]], "polygraphy_class": "RunResults"}


def _write(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc))
    return path


def test_pickle_payload_refused(tmp_path: Path) -> None:
    evil = np.array([{"a": 1}, None], dtype=object)
    doc = _outputs_doc({"array": _npy_b64(evil, allow_pickle=True), "polygraphy_class": "ndarray"})
    with pytest.raises(InputError, match="pickled objects"):
        read_polygraphy_outputs(_write(tmp_path / "evil.json", doc))
    with pytest.raises(InputError, match="pickled objects"):
        read_polygraphy_inputs(_write(tmp_path / "evil_in.json", [{"x": doc["lst"][0][1][0]["outputs"]["y"]}]))


def test_huge_base64_refused_before_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = _npy_b64(np.zeros(300_000, np.float32))  # 1.2 MB of array
    path = _write(tmp_path / "big.json", _outputs_doc({"array": payload, "polygraphy_class": "ndarray"}))
    decoded: list[int] = []
    real = base64.b64decode
    monkeypatch.setattr(base64, "b64decode", lambda data, **kw: decoded.append(len(data)) or real(data, **kw))
    with pytest.raises(InputError, match="read budget"):  # the file passes the budget, its array does not
        read_polygraphy_outputs(path, max_bytes=path.stat().st_size + 1000)
    assert not decoded
    assert read_polygraphy_outputs(path, max_bytes=4 * len(payload))["y"].shape == (300_000,)
    with pytest.raises(InputError, match="read budget"):  # the file itself
        read_polygraphy_outputs(path, max_bytes=1000)


def test_lying_npy_header_refused_without_allocating(tmp_path: Path) -> None:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False,
                                                  "shape": (1 << 20, 1 << 20)})
    doc = _outputs_doc({"array": base64.b64encode(header.getvalue() + bytes(16)).decode(),
                        "polygraphy_class": "ndarray"})
    with pytest.raises(InputError, match="truncated or corrupt"):
        read_polygraphy_outputs(_write(tmp_path / "liar.json", doc))


@pytest.mark.parametrize("text, match", [
    ("not json at all", "not valid JSON"),
    ("[" * 100_000 + "]" * 100_000, "not valid JSON"),  # nesting deeper than Python's recursion limit
    ('{"lst": [["r", [{"outputs": {"y": {"array": "AAAA', "not valid JSON"),
    ('{"outputs": {}}', "not a RunResults"),
    ('{"lst": 3, "polygraphy_class": "RunResults"}', "no runner list"),
    ('{"lst": [["r"]], "polygraphy_class": "RunResults"}', "runner entry 0"),
    ('{"lst": [["r", [{"outputs": {}}]]], "polygraphy_class": "RunResults"}', "not an IterationResult"),
    ('{"lst": [], "polygraphy_class": "RunResults"}', "no runners"),
    ('{"lst": [["r", []]], "polygraphy_class": "RunResults"}', "no iterations"),
    ('[{"x": {"array": "AAAA", "polygraphy_class": "ndarray"}}]', "--save-inputs writes"),
    ('{"x": {"array": "AAAA", "polygraphy_class": "ndarray"}}', "read_polygraphy_inputs"),
])
def test_wrong_json_refused(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(InputError, match=match) as info:
        read_polygraphy_outputs(path)
    assert "bad.json" in str(info.value)


@pytest.mark.parametrize("value, match", [
    ({"tensor": "AAAA", "polygraphy_class": "Tensor"}, "PyTorch"),
    ({"x": 1, "polygraphy_class": "FormattedArray"}, "'FormattedArray'"),
    ([1.0, 2.0], "not an encoded array"),
    ({"array": 5, "polygraphy_class": "ndarray"}, "not a base64 string"),
    ({"array": "\u20ac\u20ac", "polygraphy_class": "ndarray"}, "neither base64 nor latin-1"),
    ({"array": base64.b64encode(b"PK\x03\x04junk").decode(), "polygraphy_class": "ndarray"}, "NPZ payload"),
    ({"array": base64.b64encode(b"\x93NUMPY\x01\x00garbage").decode(), "polygraphy_class": "ndarray"},
     "header is corrupt"),
    ({"polygraphy_class": "LazyArray"}, "without 'values'"),
])
def test_unsupported_or_corrupt_payload(tmp_path: Path, value: object, match: str) -> None:
    with pytest.raises(InputError, match=match) as info:
        read_polygraphy_outputs(_write(tmp_path / "odd.json", _outputs_doc(value)))
    assert "'y'" in str(info.value)  # names the output


def test_truncated_polygraphy_file(polygraphy_run: Path, tmp_path: Path) -> None:
    data = (polygraphy_run / "out.json").read_bytes()
    for cut in (len(data) // 2, len(data) - 5, 10):
        path = tmp_path / f"cut{cut}.json"
        path.write_bytes(data[:cut])
        with pytest.raises(NV12KitError, match="not valid JSON"):
            read_polygraphy_outputs(path)


def test_inputs_reader_refuses_outputs_and_bad_feeds(polygraphy_run: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="read_polygraphy_outputs"):
        read_polygraphy_inputs(polygraphy_run / "out.json")
    with pytest.raises(InputError, match="not a feed dict"):
        read_polygraphy_inputs(_write(tmp_path / "x.json", [[1, 2]]))
    one = _write(tmp_path / "one.json", {"x": {"array": _npy_b64(np.arange(3)), "polygraphy_class": "ndarray"}})
    assert read_polygraphy_inputs(one)["x"].tolist() == [0, 1, 2]  # one feed dict, as --load-inputs takes too


def test_legacy_markers_and_latin1(tmp_path: Path) -> None:
    """Files from old Polygraphy versions: the legacy type marker, the npy bytes as latin-1 text."""
    buffer = io.BytesIO()
    np.save(buffer, np.arange(4, dtype=np.int16))
    legacy = {"array": buffer.getvalue().decode("latin-1"),
              "__polygraphy_encoded_ndarray": "polygraphy_serialized_json_type"}
    path = _write(tmp_path / "legacy.json", [{"x": legacy}])
    assert same_bits(read_polygraphy_inputs(path)["x"], load_json(str(path))[0]["x"])
    lazy = {"values": {"array": _npy_b64(np.ones(2)), "polygraphy_class": "ndarray"},
            "polygraphy_class": "LazyNumpyArray"}
    out = _write(tmp_path / "lazy.json", _outputs_doc(lazy))
    assert same_bits(read_polygraphy_outputs(out)["y"], np.asarray(RunResults.load(str(out))[0][1][0]["y"]))


def test_writers_refuse_object_arrays_and_respect_overwrite(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="object array"):
        write_polygraphy_outputs(tmp_path / "o.json", {"y": np.array([None, 1], dtype=object)})
    with pytest.raises(InputError, match="names must be strings"):
        write_polygraphy_inputs(tmp_path / "i.json", {1: np.zeros(2)})
    with pytest.raises(InputError, match="non-empty sequence"):
        write_polygraphy_inputs(tmp_path / "i.json", [])
    assert not list(tmp_path.iterdir())  # nothing half-written
    path = write_polygraphy_outputs(tmp_path / "o.json", {"y": np.zeros(2)})
    with pytest.raises(InputError, match="exists"):
        write_polygraphy_outputs(path, {"y": np.ones(2)}, overwrite=False)
    assert read_polygraphy_outputs(path)["y"].tolist() == [0.0, 0.0]
    write_polygraphy_outputs(path, {"y": np.ones(2)}, overwrite=True)
    assert read_polygraphy_outputs(path)["y"].tolist() == [1.0, 1.0]


def test_not_a_regular_file_or_an_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no .json files"):
        read_polygraphy_outputs(tmp_path)
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="FIFO|regular"):
        read_polygraphy_inputs(fifo)
