"""The ticket bundle: its listing, its contents against independent readers, a replay with the real
Polygraphy (the README's own commands), the CLI's --bundle, and what it refuses to replace."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import onnx
import onnx_models
import pytest
from PIL import Image

import nv12kit
from nv12kit.bundle import FIXED_TIME
from nv12kit.cli import main
from nv12kit.data import photo_path
from nv12kit.errors import InputError

SIZE = 32
PRE = nv12kit.Preprocess(order="RGB")
FAST = {"size": (SIZE, SIZE), "trials": 3, "progress": False, "convention_sensitivity": False, "layers": False}
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "multi.onnx"
    onnx.save(onnx_models.multi_output(SIZE), path)
    return path


@pytest.fixture(scope="module")
def images() -> list[str]:
    return [str(photo_path("astronaut")), str(photo_path("coffee"))]


def _random_frames() -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8) for _ in range(3)]


@pytest.fixture(scope="module", params=["kept while running", "run again"])
def case(request: pytest.FixtureRequest, model_path: Path, images: list[str]) -> tuple[nv12kit.TriageReport, list]:
    """The decisive image's data kept as the frames run (photos), or run again at the end (random frames: the
    first frame sets the preview, a later one of the same verdict decides)."""
    sources = images if request.param == "kept while running" else _random_frames()
    report = nv12kit.triage(str(model_path), sources, preprocess=PRE, quantize=True, **FAST)
    if request.param == "run again":
        assert report.worst != 0 and report.images[0].verdict.id == report.images[report.worst].verdict.id
    return report, sources


@pytest.fixture(scope="module")
def report(case: tuple[nv12kit.TriageReport, list]) -> nv12kit.TriageReport:
    return case[0]


@pytest.fixture(scope="module")
def bundle(report: nv12kit.TriageReport, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return report.to_bundle(tmp_path_factory.mktemp("bundle") / "ticket.zip")


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _npz(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        return {k: archive[k] for k in archive.files}


def test_listing(bundle: Path, report: nv12kit.TriageReport) -> None:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(report.images[report.worst].name).stem)
    variants = ["qat_feat", "qat_nv12", "quantized_feat", "quantized_nv12"]
    expected = ["README.txt", "command.txt", "versions.json", "report.json", "report.html", f"frame/{stem}.png",
                f"frame/{stem}_{SIZE}x{SIZE}.nv12"]
    expected += [f"feeds/{m}.{ext}" for m in ("qat_feat", "qat_nv12") for ext in ("npz", "polygraphy.json")]
    expected += [f"outputs/{v}.{ext}" for v in variants for ext in ("npz", "polygraphy.json")]
    expected += ["manifest.json"]
    with zipfile.ZipFile(bundle) as archive:
        infos = archive.infolist()
        assert archive.testzip() is None
    assert [i.filename for i in infos] == expected
    assert all(i.date_time == FIXED_TIME and i.external_attr >> 16 == 0o644 for i in infos)
    members = _members(bundle)
    manifest = json.loads(members["manifest.json"])
    assert sorted(manifest) == sorted(set(expected) - {"README.txt", "manifest.json"})
    for name, entry in manifest.items():
        assert entry == {"bytes": len(members[name]), "sha256": hashlib.sha256(members[name]).hexdigest()}
    versions = json.loads(members["versions.json"])
    assert {"nv12kit", "numpy", "onnx", "onnxruntime", "python", "platform"} <= set(versions)
    assert members["command.txt"].decode().strip() == report.command
    assert report.command.startswith(f"nv12kit.triage({str(report.preview['input_paths'][0])!r}, [")
    assert "<array 32x32x3 uint8>" in report.command or "coffee.png" in report.command
    assert "quantize=True" in report.command and "size=(32, 32)" in report.command
    assert json.loads(members["report.json"])["verdict"]["id"] == report.verdict.id
    readme = members["README.txt"].decode()
    assert "polygraphy run" in readme and "--load-inputs feeds/qat_feat.polygraphy.json" in readme
    assert "nv12kit compare" in readme


def test_frames_feeds_and_outputs(bundle: Path, case: tuple[nv12kit.TriageReport, list]) -> None:
    report, sources = case
    members = _members(bundle)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(report.images[report.worst].name).stem)
    # the frame, read by Pillow and by nv12kit's raw reader, against an independent re-encoding of the source
    rgb = np.asarray(Image.open(io.BytesIO(members[f"frame/{stem}.png"])))
    source = sources[report.worst]
    expected = source if isinstance(source, np.ndarray) else nv12kit.load_image(source)
    assert np.array_equal(rgb, nv12kit.resize_to(expected, SIZE, SIZE))
    raw = members[f"frame/{stem}_{SIZE}x{SIZE}.nv12"]
    frame = nv12kit.NV12Frame.from_bytes(raw, SIZE, SIZE)
    assert frame == nv12kit.rgb_to_nv12(rgb, convention="horizon")
    # feeds: npz and Polygraphy JSON hold the same arrays, and they are what the models take
    from polygraphy.comparator import RunResults
    from polygraphy.json import from_json

    feeds = {}
    for model in ("qat_feat", "qat_nv12"):
        feeds[model] = _npz(members[f"feeds/{model}.npz"])
        theirs = from_json(members[f"feeds/{model}.polygraphy.json"].decode())  # Polygraphy's decoder
        assert isinstance(theirs, list) and len(theirs) == 1
        assert list(theirs[0]) == list(feeds[model])
        assert all(np.array_equal(theirs[0][k], v) and theirs[0][k].dtype == v.dtype for k, v in feeds[model].items())
    assert np.array_equal(feeds["qat_feat"]["image"], PRE(rgb))
    assert np.array_equal(feeds["qat_nv12"]["image_y"].reshape(SIZE, SIZE), frame.y)
    assert np.array_equal(feeds["qat_nv12"]["image_uv"].reshape(SIZE // 2, SIZE // 2, 2), frame.uv)
    # outputs: npz and Polygraphy JSON agree; the float model's are a fresh onnxruntime run on the bundled feed
    for variant in ("qat_feat", "qat_nv12", "quantized_feat", "quantized_nv12"):
        outputs = _npz(members[f"outputs/{variant}.npz"])
        text = members[f"outputs/{variant}.polygraphy.json"].decode()
        (runner, iterations), = RunResults.from_json(text).lst
        assert runner == variant and list(iterations[0].keys()) == list(outputs) == ["logits", "embedding",
                                                                                     "features"]
        assert all(np.array_equal(np.asarray(iterations[0][k]), v) for k, v in outputs.items())
    fresh = nv12kit.Runner(str(report.preview["input_paths"][0])).run(feeds["qat_feat"])
    bundled = _npz(members["outputs/qat_feat.npz"])
    assert all(np.array_equal(fresh[k], bundled[k]) for k in fresh)
    assert np.array_equal(bundled["logits"], report.preview["out_feat"])


def _readme_commands(readme: str) -> list[str]:
    """The README's shell commands (indented ``polygraphy run`` / ``python -c`` / ``nv12kit compare`` lines,
    continuations joined), but those that need the chip's outputs."""
    text = readme.replace("\\\n", " ")
    return [line.strip() for line in text.splitlines()
            if re.match(r"\s+(polygraphy run|python -c|nv12kit compare)", line) and "chip_outputs" not in line]


def test_replay_with_polygraphy_as_the_readme_says(bundle: Path, report: nv12kit.TriageReport,
                                                   tmp_path: Path) -> None:
    """The README's commands, run as written (MODEL.onnx = the triage's model): Polygraphy reproduces the outputs."""
    pytest.importorskip("polygraphy")
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(tmp_path)
    shutil.copy(report.preview["input_paths"][0], tmp_path / "MODEL.onnx")
    commands = _readme_commands((tmp_path / "README.txt").read_text())
    assert len(commands) == 5  # feat check, feat save, compare, NV12 rebuild, NV12 check
    env_path = f"{BIN}:/usr/bin:/bin"
    for command in commands:
        # exact comparison: the same runtime on the same feeds gives the same bits
        if command.startswith("polygraphy run") and "--load-outputs" in command:
            command += " --atol 0 --rtol 0 --save-outputs replayed.json"
        done = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True,
                              env={"PATH": env_path}, timeout=300)
        assert done.returncode == 0, command + "\n" + done.stdout + done.stderr
        if command.startswith("nv12kit compare"):  # a replay on the same runtime: identical outputs
            assert done.stdout.count("identical") == 3, done.stdout  # logits, embedding, features
        if "--load-outputs" in command:
            assert "PASSED" in done.stdout + done.stderr
            variant = "qat_nv12" if "qat_nv12.onnx" in command else "qat_feat"
            replayed = nv12kit.dumps.read_polygraphy_outputs(tmp_path / "replayed.json")
            bundled = _npz((tmp_path / "outputs" / f"{variant}.npz").read_bytes())
            assert all(np.array_equal(replayed[k], bundled[k]) and replayed[k].dtype == bundled[k].dtype
                       for k in bundled), variant
    assert (tmp_path / "qat_nv12.onnx").is_file() and (tmp_path / "replay_feat.json").is_file()


def test_reproducible(report: nv12kit.TriageReport, bundle: Path, tmp_path: Path) -> None:
    again = _members(report.to_bundle(tmp_path / "again.zip"))
    first = _members(bundle)
    assert list(again) == list(first)
    generated = re.compile(rb"Generated [^<]*? by")
    for name in first:
        if name == "report.html":  # it says when it was rendered, to the second
            assert generated.sub(b"", again[name]) == generated.sub(b"", first[name])
        elif name == "manifest.json":  # and so its checksum differs
            manifests = [json.loads(m[name]) for m in (again, first)]
            for manifest in manifests:
                del manifest["report.html"]
            assert manifests[0] == manifests[1]
        else:
            assert again[name] == first[name], name


def test_refuses_inputs_and_existing_files(report: nv12kit.TriageReport, tmp_path: Path) -> None:
    model = Path(report.preview["input_paths"][0])
    before = model.read_bytes()
    with pytest.raises(InputError, match="input"):
        report.to_bundle(model)
    assert model.read_bytes() == before
    existing = tmp_path / "old.zip"
    existing.write_bytes(b"keep")
    with pytest.raises(InputError, match="exists"):
        report.to_bundle(existing, overwrite=False)
    assert existing.read_bytes() == b"keep"
    assert zipfile.is_zipfile(report.to_bundle(existing, overwrite=True, figures=False))
    with pytest.raises(InputError):
        report.to_bundle(tmp_path / "missing" / "ticket.zip")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.zip"]  # no temporary file left behind


def test_report_without_frame_refused(report: nv12kit.TriageReport, tmp_path: Path) -> None:
    bare = dataclasses.replace(report, preview={})
    with pytest.raises(InputError, match="nothing to bundle"):
        bare.to_bundle(tmp_path / "t.zip")
    assert not list(tmp_path.iterdir())


def test_python_call_records_non_defaults(model_path: Path) -> None:
    rgb = np.random.default_rng(0).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    report = nv12kit.triage(str(model_path), rgb, preprocess=PRE, seed=4, convention="bt601_limited", **FAST)
    assert report.command == (f"nv12kit.triage({str(model_path)!r}, <array 32x32x3 uint8>, preprocess={PRE!r}, "
                              "convention='bt601_limited', trials=3, seed=4, size=(32, 32), layers=False, "
                              "progress=False, convention_sensitivity=False)")


def test_resizer_source_bundles_the_float_model(tmp_path: Path) -> None:
    """source="resizer": the NV12 path takes the full frame and an ROI; the float model's feeds and outputs go in."""
    from nv12kit.data import model_path as demo

    roi = (32, 16, 224, 208)
    report = nv12kit.triage(str(demo("demo_robust")), str(photo_path("astronaut")), source="resizer", roi=roi,
                            trials=3, layers=False, progress=False)
    members = _members(report.to_bundle(tmp_path / "t.zip", figures=False))
    assert sorted(n for n in members if n.startswith(("feeds/", "outputs/"))) == [
        "feeds/qat_feat.npz", "feeds/qat_feat.polygraphy.json", "outputs/qat_feat.npz",
        "outputs/qat_feat.polygraphy.json"]
    readme = members["README.txt"].decode()
    assert "source=resizer" in readme and "after the resizer" in readme
    feed = _npz(members["feeds/qat_feat.npz"])
    fresh = nv12kit.Runner(str(demo("demo_robust"))).run(feed)
    assert all(np.array_equal(fresh[k], v) for k, v in _npz(members["outputs/qat_feat.npz"]).items())


# ----------------------------------------------------------------------------
# the CLI
# ----------------------------------------------------------------------------
def _cli(model: Path, image: str, *extra: str) -> list[str]:
    return ["triage", "--model", str(model), "--image", image, "--size", f"{SIZE}x{SIZE}", "--trials", "3",
            "--mean", "128", "--std", "128", "--order", "rgb", "--no-convention-sensitivity", "--quiet", *extra]


def test_cli_bundle(model_path: Path, images: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = _cli(model_path, images[0], "--bundle", str(tmp_path / "ticket.zip"), "--no-figures")
    code = main(argv)
    out = capsys.readouterr().out
    verdict = re.search(r"^verdict: (\w+)", out, re.MULTILINE).group(1)
    assert code == (0 if verdict == "healthy" else 1)
    assert "ticket bundle:" in out
    members = _members(tmp_path / "ticket.zip")
    assert members["command.txt"].decode().strip() == shlex.join(["nv12kit", *argv])
    assert json.loads(members["report.json"])["verdict"]["id"] == verdict
    assert "feeds/qat_nv12.polygraphy.json" in members and "outputs/qat_nv12.npz" in members


def test_cli_bundle_refusals(model_path: Path, images: list[str], tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    before = model_path.read_bytes()
    assert main(_cli(model_path, images[0], "--bundle", str(model_path))) == 2
    assert "--bundle" in capsys.readouterr().err and model_path.read_bytes() == before
    copied = tmp_path / "frame.png"
    shutil.copy(images[0], copied)
    assert main(_cli(model_path, str(copied), "--bundle", str(copied))) == 2  # an image is an input too
    assert copied.read_bytes() == Path(images[0]).read_bytes()
    existing = tmp_path / "ticket.zip"
    existing.write_bytes(b"old")
    assert main(_cli(model_path, images[0], "--bundle", str(existing))) == 2
    assert "--force" in capsys.readouterr().err and existing.read_bytes() == b"old"
    assert main(_cli(model_path, images[0], "--bundle", str(tmp_path / "no" / "t.zip"))) == 2
    assert main(_cli(model_path, images[0], "--bundle", str(existing), "--force", "--no-figures")) in (0, 1)
    assert zipfile.is_zipfile(existing)
