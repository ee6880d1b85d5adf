"""The bundled demo models: small, self-describing, and behaving as their model card says."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

import nv12kit
import nv12kit.data
from nv12kit import Preprocess, Runner

MiB = 2**20


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    return [nv12kit.resize_to(nv12kit.load_image(p), 128, 128) for p in nv12kit.data.photo_paths()]


@pytest.mark.parametrize("name", nv12kit.data.DEMO_MODELS)
def test_demo_model_is_small_self_contained_and_describes_its_preprocessing(name):
    path = nv12kit.data.model_path(name)
    assert path.stat().st_size <= MiB
    model = onnx.load(path, load_external_data=False)
    onnx.checker.check_model(model, full_check=True)
    assert not any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer)
    spec = nv12kit.ImageInputSpec.from_model(model)
    assert (spec.name, spec.layout, spec.static_size, spec.dynamic_batch) == ("image", "NCHW", (128, 128), True)
    assert Preprocess.from_model(model) == Preprocess.from_torch((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    props = {p.key: p.value for p in model.metadata_props}
    labels = json.loads(props["nv12kit.labels"])
    assert len(labels) == model.graph.output[0].type.tensor_type.shape.dim[1].dim_value


@pytest.mark.parametrize("name", nv12kit.data.DEMO_MODELS)
def test_demo_model_recognises_the_photos(name, photos):
    model = nv12kit.data.model_path(name)
    pre = Preprocess.from_model(model)
    labels = json.loads({p.key: p.value for p in onnx.load(model).metadata_props}["nv12kit.labels"])
    logits = Runner(model).run({"image": pre(np.stack(photos))})["logits"]
    predicted = [labels[i].split("-")[0] for i in logits.argmax(axis=1)]
    assert predicted == [p.stem for p in nv12kit.data.photo_paths()]


def mean_noise_cosine(model: str, photos: list[np.ndarray], amplitude: int = 2, trials: int = 20) -> float:
    """Mean cosine of the logits under integer noise uniform on [-a, a], computed here without nv12kit.noise."""
    runner, pre = Runner(model), Preprocess.from_model(model)
    rng = np.random.default_rng(123)
    values = []
    for rgb in photos:
        clean = runner.run({"image": pre(rgb)})["logits"]
        noise = rng.integers(-amplitude, amplitude + 1, size=(trials, *rgb.shape))
        noisy = np.clip(rgb.astype(np.int16) + noise, 0, 255).astype(np.uint8)
        outs = runner.run({"image": pre(noisy)})["logits"]
        values += [cosine(clean, out) for out in outs]
    return float(np.mean(values))


def test_fragile_model_is_clearly_more_noise_sensitive_than_the_robust_one(photos):
    robust = mean_noise_cosine(nv12kit.data.model_path("demo_robust"), photos)
    fragile = mean_noise_cosine(nv12kit.data.model_path("demo_fragile"), photos)
    assert robust > 0.999  # the card: noise barely moves it
    assert fragile < 0.97  # the card: 2-3 grey levels swing its logits
    assert robust - fragile > 0.03


@pytest.mark.parametrize("name", nv12kit.data.DEMO_MODELS)
def test_quantised_variants_of_the_demo_models_run_and_stay_close(name, photos):
    model = nv12kit.data.model_path(name)
    pre = Preprocess.from_model(model)
    variants = nv12kit.build_variants(model, preprocess=pre, calibration_images=photos, progress=False)
    runners = {key: Runner(m) for key, m in variants.items()}
    for rgb in photos:
        frame = nv12kit.rgb_to_nv12(rgb)
        reference = runners["qat_feat"].run({"image": pre(rgb)})["logits"]
        reference_nv12 = runners["qat_nv12"].run(frame.to_feed("image"))["logits"]
        q_feat = runners["quantized_feat"].run({"image": pre(rgb)})["logits"]
        q_nv12 = runners["quantized_nv12"].run(frame.to_feed("image"))["logits"]
        # Each int8 variant against its own float model: int8 moves the logits a little, never a lot;
        # a broken quantisation (wrong ranges, a dropped node) lands far below these bounds. The fragile
        # model amplifies every small change, int8 rounding included, so its bound is lower.
        bound = 0.93 if name == "demo_fragile" else 0.995
        assert cosine(reference, q_feat) > bound
        assert cosine(reference_nv12, q_nv12) > bound
        assert not np.array_equal(reference, q_feat)
