"""nv12kit.evaluate (issue 19): accuracies against an independent loop, resume, workers, Dask, the metric hook."""

from __future__ import annotations

import math
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

import nv12kit
from nv12kit.data import PHOTOS, model_path, photo_path

ROOT = pathlib.Path(__file__).resolve().parents[1]
MEAN = np.array([0.485, 0.456, 0.406], np.float32)  # DEMO_MODELS.md: the demo models' normalisation
STD = np.array([0.229, 0.224, 0.225], np.float32)
CLASSES = [f"{p}-{h}" for p in PHOTOS for h in ("left", "right")]  # DEMO_MODELS.md: label = 2 * photo + half


def _write_set(root: pathlib.Path, per_class: int, seed: int = 1) -> pathlib.Path:
    """Square patches of the bundled photos, centred in the left or right half, 128x128, in root/<class>/."""
    rng = np.random.default_rng(seed)
    for p, photo in enumerate(PHOTOS):
        image = Image.open(photo_path(photo)).convert("RGB")
        w, h = image.size
        for half in (0, 1):
            folder = root / CLASSES[2 * p + half]
            folder.mkdir(parents=True)
            for n in range(per_class):
                side = rng.uniform(0.3, 0.45) * min(w, h)
                # the centre in the chosen half, 8 % of the width away from the midline (DEMO_MODELS.md)
                cx = rng.uniform(0.58 * w, w - side / 2) if half else rng.uniform(side / 2, 0.42 * w)
                cy = rng.uniform(side / 2, h - side / 2)
                patch = image.resize((128, 128), Image.Resampling.BILINEAR,
                                     box=(cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2))
                patch.save(folder / f"{n:02d}.png")
    return root


@pytest.fixture(scope="module")
def labelled_set(tmp_path_factory) -> pathlib.Path:
    return _write_set(tmp_path_factory.mktemp("set") / "frames", per_class=4)


def _strip(result: dict) -> dict:
    out = dict(result)
    out.pop("timing")
    out.pop("run_notes")
    return out


def _wilson(k: int, n: int) -> tuple[float, float]:
    z = 1.959963984540054
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


# ----------------------------------------------------------------------------
# the numbers, against a loop that uses plain onnxruntime, numpy, Pillow and OpenCV
# ----------------------------------------------------------------------------
def test_accuracies_match_an_independent_onnxruntime_loop(labelled_set, tmp_path):
    import cv2
    import onnxruntime as ort

    fragile = model_path("demo_fragile")
    result = nv12kit.evaluate(fragile, labelled_set, convention="opencv", chip_range="limited", noise_sample=0,
                              progress=False)
    # The NV12 variant as a file (the node itself is checked against its references in test_graph); the loop feeds
    # it OpenCV's own I420 planes, interleaved, and the float model its own normalisation.
    nv12_path = tmp_path / "nv12.onnx"
    nv12kit.save_model(nv12kit.insert_nv12_node(str(fragile), mode="yuvbt601video2rgb", divisor=255.0,
                                                mean=tuple(MEAN), std=tuple(STD)), nv12_path)
    feat = ort.InferenceSession(str(fragile), providers=["CPUExecutionProvider"])
    nv12 = ort.InferenceSession(str(nv12_path), providers=["CPUExecutionProvider"])
    right = {"feat": 0, "nv12": 0}
    top5 = {"feat": 0, "nv12": 0}
    agree, flips, cosines = 0, 0, []
    for label, name in enumerate(CLASSES):
        for path in sorted((labelled_set / name).glob("*.png")):
            rgb = np.asarray(Image.open(path).convert("RGB"))
            x = ((rgb.astype(np.float32) / 255 - MEAN) / STD).transpose(2, 0, 1)[None]
            a = feat.run(None, {"image": x})[0][0].astype(np.float64)
            i420 = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)
            y, u, v = i420[:128], i420[128:160].reshape(64, 64), i420[160:].reshape(64, 64)
            b = nv12.run(None, {"image_y": y[None, :, :, None], "image_uv": np.stack([u, v], -1)[None]})[0][0]
            b = b.astype(np.float64)
            for key, scores in (("feat", a), ("nv12", b)):
                right[key] += int(np.argmax(scores) == label)
                top5[key] += int(label in np.argsort(-scores, kind="stable")[:5])
            agree += int(np.argmax(a) == np.argmax(b))
            flips += int(np.argmax(a) == label and np.argmax(b) != label)
            cosines.append(float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)))
    n = 24
    for key in ("feat", "nv12"):
        row = result.variants[key]
        assert row["frames"] == n
        assert row["top1_correct"] == right[key] and row["top1"] == right[key] / n
        assert row["top5_correct"] == top5[key]
        assert row["top1_ci95"] == pytest.approx(_wilson(right[key], n), abs=1e-12)
    assert result.variants["nv12"]["agreement_with_feat"] == agree / n
    cos = result.variants["nv12"]["cosine_to_feat"]
    assert cos["mean"] == pytest.approx(np.mean(cosines), abs=1e-9)
    assert cos["min"] == pytest.approx(min(cosines), abs=1e-9)
    assert cos["median"] == pytest.approx(np.median(cosines), abs=1e-9)
    assert result.flips["nv12"]["count"] == flips > 0  # the fragile model does flip: the comparison has teeth
    assert result.decomposition["lost_to_nv12"] == pytest.approx((right["feat"] - right["nv12"]) / n)
    worst = [r["cosine"] for r in result.flips["nv12"]["worst"]]
    assert worst == sorted(worst)


def test_csv_labels_by_name_or_index_and_folder_labels_agree(labelled_set, tmp_path):
    robust = model_path("demo_robust")
    by_folder = nv12kit.evaluate(robust, labelled_set, noise_sample=2, noise_trials=2, progress=False)
    rows = sorted(p.relative_to(labelled_set).as_posix() for p in labelled_set.rglob("*.png"))
    names = tmp_path / "names.csv"
    names.write_text("path,label\n" + "".join(f"{r},{r.split('/')[0]}\n" for r in rows))
    indices = tmp_path / "indices.csv"
    indices.write_text("".join(f"{r},{CLASSES.index(r.split('/')[0])}\n" for r in rows))
    for csv_file in (names, indices):
        by_csv = nv12kit.evaluate(robust, labelled_set, labels=csv_file, noise_sample=2, noise_trials=2,
                                  progress=False)
        assert by_csv.variants == by_folder.variants
        assert by_csv.noise == by_folder.noise
    assert "nv12kit.labels metadata" in by_folder.labels["mapping"]


def test_without_labels_only_agreement_is_measured(labelled_set, tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    for p in sorted(labelled_set.rglob("*.png"))[:5]:
        (flat / f"{p.parent.name}_{p.name}").write_bytes(p.read_bytes())
    result = nv12kit.evaluate(model_path("demo_fragile"), flat, noise_sample=0, progress=False)
    assert "top1" not in result.variants["nv12"] and "agreement_with_feat" in result.variants["nv12"]
    assert result.decomposition["measure"] == "top-1 agreement with feat"
    assert any("no labels" in note for note in result.notes)


def test_class_order_is_chosen_and_said(labelled_set):
    reordered = list(reversed(CLASSES))
    result = nv12kit.evaluate(model_path("demo_robust"), labelled_set, classes=reordered, noise_sample=0,
                              progress=False)
    assert "mapped by the classes= list" in result.labels["mapping"]
    assert result.variants["feat"]["top1"] < 0.5  # the wrong order really is used
    with pytest.raises(nv12kit.InputError, match="unknown classes"):
        nv12kit.evaluate(model_path("demo_robust"), labelled_set, classes=[*CLASSES[:5], "dog"], progress=False)
    with pytest.raises(nv12kit.InputError, match="class count does not match the output size"):
        nv12kit.evaluate(model_path("demo_robust"), labelled_set, classes=CLASSES[:4], progress=False)


def test_metric_hook_gives_the_same_table_per_variant(labelled_set):
    def hit(outputs, label):
        return float(np.argmax(outputs["logits"]) == label)

    result = nv12kit.evaluate(model_path("demo_fragile"), labelled_set, metric=hit, noise_sample=0, progress=False)
    for row in result.variants.values():
        assert row["metric"] == pytest.approx(row["top1"])
        assert row["metric_ci95"][0] <= row["metric"] <= row["metric_ci95"][1]


# ----------------------------------------------------------------------------
# streaming and resuming
# ----------------------------------------------------------------------------
def test_resume_after_a_cut_off_log_gives_the_same_json(labelled_set, tmp_path):
    fragile = model_path("demo_fragile")
    common = {"noise_sample": 6, "noise_trials": 3, "batch_size": 2, "progress": False}
    whole = nv12kit.evaluate(fragile, labelled_set, jsonl=tmp_path / "whole.jsonl", **common)
    lines = (tmp_path / "whole.jsonl").read_bytes().splitlines(keepends=True)
    assert len(lines) == 1 + 24
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(b"".join(lines[:10]) + lines[10][:25])  # header, 9 records and half of the 10th: a kill
    resumed = nv12kit.evaluate(fragile, labelled_set, jsonl=cut, resume=True, **common)
    assert _strip(resumed.to_dict()) == _strip(whole.to_dict())
    assert resumed.timing["resumed_frames"] == 9 and resumed.timing["dropped_partial_line"] == 1
    assert len(cut.read_bytes().splitlines()) == 25
    again = nv12kit.evaluate(fragile, labelled_set, jsonl=cut, resume=True, **common)  # nothing left to do
    assert again.timing["frames_run"] == 0 and _strip(again.to_dict()) == _strip(whole.to_dict())
    with pytest.raises(nv12kit.InputError, match="different run"):
        nv12kit.evaluate(fragile, labelled_set, jsonl=cut, resume=True, **{**common, "seed": 1})
    from nv12kit._io.appends import open_append_log

    with pytest.raises(nv12kit.InputError, match="already exists; resume it"):
        open_append_log(cut, overwrite=False)


_SLOW_RUN = """
import sys, time, numpy as np, nv12kit
def slow_hit(outputs, label):
    time.sleep(0.02)
    return float(np.argmax(outputs["logits"]) == label)
nv12kit.evaluate(nv12kit.data.model_path("demo_fragile"), sys.argv[1], jsonl=sys.argv[2], metric=slow_hit,
                 batch_size=1, noise_sample=3, noise_trials=2, progress=False)
"""


def _slow_hit(outputs, label):
    return float(np.argmax(outputs["logits"]) == label)


def test_resume_after_really_killing_a_run(labelled_set, tmp_path):
    log = tmp_path / "killed.jsonl"
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_RUN, str(labelled_set), str(log)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if log.exists() and log.read_bytes().count(b"\n") >= 6:
                break
            time.sleep(0.005)
        assert proc.poll() is None, "the run ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    done = log.read_bytes().count(b"\n") - 1
    assert 0 < done < 24
    common = {"metric": _slow_hit, "batch_size": 1, "noise_sample": 3, "noise_trials": 2, "progress": False}
    resumed = nv12kit.evaluate(model_path("demo_fragile"), labelled_set, jsonl=log, resume=True, **common)
    fresh = nv12kit.evaluate(model_path("demo_fragile"), labelled_set, **common)
    assert resumed.timing["resumed_frames"] == done
    assert _strip(resumed.to_dict()) == _strip(fresh.to_dict())


# ----------------------------------------------------------------------------
# scale out
# ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def one_worker(labelled_set):
    return nv12kit.evaluate(model_path("demo_fragile"), labelled_set, quantize=True, batch_size=1, noise_sample=5,
                            noise_trials=3, progress=False)


@pytest.mark.parametrize("workers", [2, 4])
def test_workers_give_identical_numbers(labelled_set, one_worker, workers):
    result = nv12kit.evaluate(model_path("demo_fragile"), labelled_set, quantize=True, batch_size=1, noise_sample=5,
                              noise_trials=3, workers=workers, progress=False)
    assert list(result.variants) == ["feat", "nv12", "quantized_feat", "quantized_nv12"]
    assert _strip(result.to_dict()) == _strip(one_worker.to_dict())
    for v, c in one_worker.cosines.items():
        assert np.array_equal(result.cosines[v], c, equal_nan=True)


def test_dask_local_cluster_gives_identical_numbers(labelled_set, one_worker):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        result = nv12kit.evaluate(model_path("demo_fragile"), labelled_set, quantize=True, batch_size=1,
                                  noise_sample=5, noise_trials=3, dask=cluster.scheduler_address, progress=False)
    assert _strip(result.to_dict()) == _strip(one_worker.to_dict())


def test_decomposition_adds_up_and_the_report_is_self_contained(one_worker, tmp_path):
    from nv12kit.report import external_references

    assert any("(pass calibration_images= to choose them)" in n for n in one_worker.notes)  # Python's words
    d = one_worker.decomposition
    assert d["lost_in_total"] == pytest.approx(d["lost_to_nv12"] + d["lost_to_quantization"]
                                               + d["lost_to_both_together"])
    s = d["scores"]
    assert d["lost_in_total"] == pytest.approx(s["feat"] - s["quantized_nv12"])
    page = one_worker.to_html(tmp_path / "r.html").read_text()
    assert external_references(page) == []
    assert "Where the accuracy goes" in page and "data:image/png;base64," in page


def test_public_name_resolves_and_bad_options_are_one_line_errors(labelled_set):
    code = "import nv12kit.evaluation, nv12kit\nprint(callable(nv12kit.evaluate), nv12kit.EvaluationResult.__name__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.split() == ["True", "EvaluationResult"]
    robust = model_path("demo_robust")
    with pytest.raises(nv12kit.InputError, match="cannot be sent to worker processes"):
        nv12kit.evaluate(robust, labelled_set, metric=lambda outputs, label: 0.0, workers=2, progress=False)
    with pytest.raises(nv12kit.InputError, match="resume needs a log"):
        nv12kit.evaluate(robust, labelled_set, resume=True, progress=False)
    with pytest.raises(nv12kit.InputError, match="not both"):
        nv12kit.evaluate(robust, labelled_set, workers=2, dask="tcp://127.0.0.1:1", progress=False)
    with pytest.raises(nv12kit.InputError, match="does not exist"):
        nv12kit.evaluate(robust, labelled_set / "nope", progress=False)
