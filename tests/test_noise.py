"""nv12kit.noise: noise distributions, perturbation, and noise_study against a study computed here by hand.

The references run the model with a bare onnxruntime session, normalise with
the formula written out here and compute cosines in float64 with math.fsum;
only the noise draws come from nv12kit (``draw_noise`` of (3, H, W) planes with
the documented per-trial generator ``default_rng((seed, trial))``, the same unit
noise scaled to every amplitude), and ``draw_noise`` itself is checked
statistically first. noise_study builds its tensors in normalised space, so
its cosines equal these references to float32 rounding, not bit for bit.
"""

from __future__ import annotations

import json
import math
import tracemalloc

import numpy as np
import onnx
import onnx_models as om
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

import nv12kit
import nv12kit.data
from nv12kit import Preprocess, Runner
from nv12kit.errors import InputError, NV12KitError
from nv12kit.noise import DISTRIBUTIONS, NoiseStudy, draw_noise, noise_study, perturb

MEAN, STD = 128.0, 64.0
PRE = Preprocess(mean=MEAN, std=STD)


# ----------------------------------------------------------------------------
# references
# ----------------------------------------------------------------------------
def ref_normalise(pixels: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) pixel values -> (N, 3, H, W) float32, ((x - 128) / 64) written out."""
    x = (np.asarray(pixels, np.float32) - np.float32(MEAN)) / np.float32(STD)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def ref_cos(a: np.ndarray, b: np.ndarray) -> float:
    x, y = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    return math.fsum(x * y) / math.sqrt(math.fsum(x * x) * math.fsum(y * y))


def ref_noisy(rgb: np.ndarray, amplitude: float, distribution: str, seed: int, index: int, trial: int) -> np.ndarray:
    del index  # common random numbers: the trial's noise is the same for every amplitude, scaled
    rng = np.random.default_rng((seed, trial))
    planes = draw_noise((3, *rgb.shape[:2]), amplitude, distribution, rng)
    return np.clip(rgb.astype(np.float64) + planes.transpose(1, 2, 0), 0, 255)


def assert_cosines_match(actual, desired) -> None:
    """Equal up to float32 rounding of the tensors: within 0.1% of the distance to 1 (plus 1e-12).

    Scale-aware on purpose: a wrong noise draw, amplitude, clip or channel
    changes ``1 - cos`` by a large factor, far beyond 0.1%.
    """
    actual, desired = np.asarray(actual, np.float64), np.asarray(desired, np.float64)
    np.testing.assert_allclose(1 - actual, 1 - desired, rtol=1e-3, atol=1e-12)


class RefModel:
    """A bare ORT session on one image input, one image at a time."""

    def __init__(self, model: onnx.ModelProto, extra: dict[str, np.ndarray] | None = None):
        self.session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        self.names = [o.name for o in self.session.get_outputs()]
        self.extra = extra or {}

    def __call__(self, pixels: np.ndarray) -> dict[str, np.ndarray]:
        outs = self.session.run(None, {"image": ref_normalise(pixels[None]), **self.extra})
        return dict(zip(self.names, outs))


def ref_study(model, rgb, amplitudes, trials, *, seed=0, distribution="symmetric", extra=None):
    """{output: {amplitude: cosines}} and {amplitude: top-1 kept} of the first output."""
    net = RefModel(model, extra)
    clean = net(rgb)
    cos = {o: {} for o in net.names}
    top1 = {}
    for i, a in enumerate(amplitudes):
        kept = []
        for o in net.names:
            cos[o][float(a)] = []
        for t in range(trials):
            out = net(ref_noisy(rgb, a, distribution, seed, i, t))
            for o in net.names:
                cos[o][float(a)].append(ref_cos(clean[o], out[o]))
            kept.append(int(np.argmax(out[net.names[0]])) == int(np.argmax(clean[net.names[0]])))
        top1[float(a)] = float(np.mean(kept))
    return cos, top1


@pytest.fixture(scope="module")
def rgb32() -> np.ndarray:
    path = nv12kit.data.photo_path("astronaut")
    return nv12kit.resize_to(nv12kit.load_image(path), 32, 32)


@pytest.fixture(scope="module")
def classifier() -> onnx.ModelProto:
    return om.classifier(32)


# ----------------------------------------------------------------------------
# draw_noise and perturb
# ----------------------------------------------------------------------------
N_SAMPLES = 1_000_000


@pytest.mark.parametrize("amplitude", [1.0, 2.5])
def test_symmetric_noise_is_uniform_on_minus_a_to_a(amplitude):
    x = draw_noise((1000, 1000), amplitude, "symmetric", np.random.default_rng(0))
    assert x.dtype == np.float32 and x.shape == (1000, 1000)
    assert x.min() >= -amplitude and x.max() <= amplitude
    # 256 evenly spaced levels (drawn from random bytes): the extremes lie half a step inside +-a
    step = 2 * amplitude / 256
    assert len(np.unique(x)) == 256
    assert x.min() == pytest.approx(-amplitude + step / 2, rel=1e-6) and x.max() == pytest.approx(amplitude - step / 2)
    sigma = amplitude / math.sqrt(3)
    assert abs(x.mean(dtype=np.float64)) < 5 * sigma / math.sqrt(N_SAMPLES)
    assert x.std(dtype=np.float64) == pytest.approx(sigma, rel=5e-3)


@pytest.mark.parametrize("amplitude", [1.0, 3.0])
def test_uniform_0_a_noise_has_the_forum_bias_of_a_half(amplitude):
    x = draw_noise((N_SAMPLES,), amplitude, "uniform_0_a", np.random.default_rng(1))
    assert x.min() >= 0 and x.max() <= amplitude
    sigma = amplitude / math.sqrt(12)
    assert abs(x.mean(dtype=np.float64) - amplitude / 2) < 5 * sigma / math.sqrt(N_SAMPLES)
    assert x.std(dtype=np.float64) == pytest.approx(sigma, rel=5e-3)


@pytest.mark.parametrize("amplitude", [1.0, 2.0])
def test_gaussian_noise_has_sigma_a(amplitude):
    x = draw_noise((N_SAMPLES,), amplitude, "gaussian", np.random.default_rng(2))
    assert abs(x.mean(dtype=np.float64)) < 5 * amplitude / math.sqrt(N_SAMPLES)
    assert x.std(dtype=np.float64) == pytest.approx(amplitude, rel=5e-3)
    assert np.abs(x).max() > 4 * amplitude  # not bounded like the uniform ones
    assert np.mean(np.abs(x) < amplitude) == pytest.approx(0.6827, abs=3e-3)


def test_draw_noise_is_reproducible_from_the_generator():
    a = draw_noise((4, 5, 3), 2, "symmetric", np.random.default_rng(7))
    b = draw_noise((4, 5, 3), 2, "symmetric", np.random.default_rng(7))
    c = draw_noise((4, 5, 3), 2, "symmetric", np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_unknown_distribution_is_refused_with_the_choices():
    with pytest.raises(InputError, match="laplace") as info:
        draw_noise((3,), 1, "laplace", np.random.default_rng())
    for name in DISTRIBUTIONS:
        assert name in str(info.value)


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_negative_amplitude_is_an_nv12kit_error(distribution):
    with pytest.raises(InputError, match="-1"):
        draw_noise((3,), -1, distribution, np.random.default_rng())


def test_perturb_clips_to_pixel_range_and_stays_float32_unrounded():
    rgb = np.zeros((40, 40, 3), np.uint8)
    rgb[:, 10:20] = 255
    rgb[:, 20:] = 128
    before = rgb.copy()
    noisy = perturb(rgb, 3, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(rgb, before)  # input untouched
    assert noisy.dtype == np.float32 and noisy.shape == rgb.shape
    assert noisy.min() == 0.0 and noisy.max() == 255.0
    assert (noisy[:, :10] == 0).mean() == pytest.approx(0.5, abs=0.05)  # half the draws were clipped up
    middle = noisy[:, 20:]
    assert np.all(np.abs(middle - 128) <= 3)
    assert np.mean(middle != np.round(middle)) > 0.99  # real-valued, not rounded to integers
    want = np.clip(rgb + draw_noise(rgb.shape, 3, "symmetric", np.random.default_rng(3)), 0, 255)
    np.testing.assert_allclose(noisy, want, rtol=0, atol=1e-4)


def test_perturb_uses_the_requested_distribution():
    rgb = np.full((100, 100, 3), 100, np.uint8)
    noisy = perturb(rgb, 2, distribution="uniform_0_a", rng=np.random.default_rng(0))
    assert noisy.min() >= 100 and noisy.max() <= 102
    assert noisy.mean() == pytest.approx(101, abs=0.02)


# ----------------------------------------------------------------------------
# noise_study: results against the hand-made reference
# ----------------------------------------------------------------------------
def test_study_shapes_one_cosine_per_trial_and_amplitude(classifier, rgb32):
    study = noise_study(classifier, rgb32, PRE, amplitudes=(3, 1, 2, 2), trials=7, progress=False,
                        conventions=("horizon", "opencv"))
    assert isinstance(study, NoiseStudy)
    assert study.amplitudes == (1.0, 2.0, 3.0)
    assert study.trials == 7 and study.seed == 0 and study.distribution == "symmetric"
    assert study.output == "logits" and list(study.per_output) == ["logits"]
    assert set(study.cosines) == {1.0, 2.0, 3.0}
    for a in study.amplitudes:
        assert study.cosines[a].shape == (7,)
        np.testing.assert_array_equal(study.cosines[a], study.per_output["logits"][a])
        assert study.floor(a) == pytest.approx(float(study.cosines[a].mean()))
        assert set(study.summary(a)) == {"mean", "min", "p5", "median", "max", "std"}
    assert study.image_shape == (32, 32) and study.notes == [] and study.seconds > 0
    assert [r["perturbation"] for r in study.rows()][3:] == ["NV12 round trip (horizon)", "NV12 round trip (opencv)"]
    assert len(study.table().splitlines()) == 1 + 3 + 2
    json.dumps(study.to_dict(), allow_nan=False)
    with pytest.raises(InputError, match="amplitude 5"):
        study.summary(5)


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_study_cosines_equal_an_independent_computation(classifier, rgb32, distribution):
    amplitudes, trials = (1, 3), 5
    study = noise_study(classifier, rgb32, PRE, amplitudes=amplitudes, trials=trials, distribution=distribution,
                        seed=11, conventions=(), progress=False)
    want, top1 = ref_study(classifier, rgb32, amplitudes, trials, seed=11, distribution=distribution)
    for a in (1.0, 3.0):
        assert_cosines_match(study.cosines[a], want["logits"][a])
        assert study.top1[a] == top1[a]
    # the noise must actually move the output, or the comparison above proves little
    assert study.cosines[3.0].mean() < study.cosines[1.0].mean() < 1.0


def test_study_is_reproducible_and_seed_dependent(classifier, rgb32):
    kwargs = dict(amplitudes=(2,), trials=6, conventions=(), progress=False)
    first = noise_study(classifier, rgb32, PRE, seed=3, **kwargs)
    again = noise_study(classifier, rgb32, PRE, seed=3, **kwargs)
    other = noise_study(classifier, rgb32, PRE, seed=4, **kwargs)
    np.testing.assert_array_equal(first.cosines[2.0], again.cosines[2.0])
    assert not np.allclose(first.cosines[2.0], other.cosines[2.0], rtol=0, atol=1e-12)


@pytest.mark.parametrize("batch_size", [1, 3, 16])
def test_study_does_not_depend_on_batch_size(classifier, rgb32, batch_size):
    runner = Runner(classifier)
    kwargs = dict(amplitudes=(1, 2), trials=10, seed=5, conventions=(), progress=False)
    auto = noise_study(runner, rgb32, PRE, **kwargs)
    sized = noise_study(runner, rgb32, PRE, batch_size=batch_size, **kwargs)
    for a in auto.amplitudes:
        np.testing.assert_allclose(sized.cosines[a], auto.cosines[a], rtol=0, atol=1e-12)
    assert sized.top1 == auto.top1


def test_multi_output_model_gets_cosines_per_output(rgb32):
    model = om.multi_output(32)
    study = noise_study(model, rgb32, PRE, amplitudes=(2,), trials=4, conventions=("horizon",), progress=False)
    want, _ = ref_study(model, rgb32, (2,), 4)
    assert list(study.per_output) == ["logits", "embedding", "features"]
    for name in study.per_output:
        assert_cosines_match(study.per_output[name][2.0], want[name][2.0])
    assert not np.allclose(study.per_output["logits"][2.0], study.per_output["features"][2.0])
    assert set(study.roundtrip_per_output["horizon"]) == {"logits", "embedding", "features"}


def test_top1_is_kept_for_logits_only(rgb32):
    model = om.multi_output(32)
    kwargs = dict(amplitudes=(1, 2), trials=3, conventions=("horizon",), progress=False)
    on_logits = noise_study(model, rgb32, PRE, **kwargs)
    assert set(on_logits.top1) == {1.0, 2.0} and set(on_logits.roundtrip_top1) == {"horizon"}
    assert all("top1_kept" in r for r in on_logits.rows())
    on_map = noise_study(model, rgb32, PRE, output="features", **kwargs)
    assert on_map.output == "features"
    assert on_map.top1 == {} and on_map.roundtrip_top1 == {}
    assert all("top1_kept" not in r for r in on_map.rows())
    np.testing.assert_array_equal(on_map.cosines[2.0], on_map.per_output["features"][2.0])


@pytest.mark.parametrize("conventions", [("horizon",), ("horizon", "opencv", "bt709-limited", "pil")])
def test_roundtrip_rows_equal_an_independent_computation(classifier, rgb32, conventions):
    study = noise_study(classifier, rgb32, PRE, amplitudes=(1,), trials=2, conventions=conventions, progress=False)
    net = RefModel(classifier)
    clean = net(rgb32)["logits"]
    assert list(study.roundtrip) == list(conventions)
    rows = {r["perturbation"]: r for r in study.rows()}
    for conv in conventions:
        decoded = nv12kit.nv12_to_rgb(nv12kit.rgb_to_nv12(rgb32, convention=conv), convention=conv)
        out = net(decoded)["logits"]
        assert study.roundtrip[conv] == pytest.approx(ref_cos(clean, out), abs=1e-12)
        assert study.roundtrip_top1[conv] == (int(np.argmax(out)) == int(np.argmax(clean)))
        assert rows[f"NV12 round trip ({conv})"]["mean"] == study.roundtrip[conv]
    assert study.roundtrip["horizon"] < 1.0  # subsampling moves the output


def test_a_convention_object_is_accepted(classifier, rgb32):
    conv = nv12kit.get_convention("opencv")
    study = noise_study(classifier, rgb32, PRE, amplitudes=(1,), trials=2, conventions=(conv,), progress=False)
    by_name = noise_study(classifier, rgb32, PRE, amplitudes=(1,), trials=2, conventions=("opencv",), progress=False)
    assert study.roundtrip == by_name.roundtrip


def test_image_of_another_size_is_resized_to_the_model_with_a_note(classifier):
    big = nv12kit.load_image(nv12kit.data.photo_path("coffee"))  # 200x300
    study = noise_study(classifier, big, PRE, amplitudes=(1,), trials=3, progress=False)
    assert study.image_shape == (32, 32)
    (note,) = study.notes
    assert "resized" in note and f"{big.shape[0]}x{big.shape[1]}" in note and "32x32" in note
    small = nv12kit.resize_to(big, 32, 32)
    direct = noise_study(classifier, small, PRE, amplitudes=(1,), trials=3, progress=False)
    assert direct.notes == []
    np.testing.assert_allclose(study.cosines[1.0], direct.cosines[1.0], rtol=0, atol=1e-12)
    assert study.roundtrip == pytest.approx(direct.roundtrip, abs=1e-12)


def test_odd_image_on_a_dynamic_size_model_is_cropped_with_a_note():
    rgb = np.random.default_rng(0).integers(0, 256, (33, 31, 3), dtype=np.uint8)
    study = noise_study(om.identity(["N", 3, "H", "W"]), rgb, PRE, amplitudes=(1,), trials=2, progress=False)
    assert study.image_shape == (32, 30)
    assert any("cropped" in n and "33x31" in n for n in study.notes)


def test_image_path_is_loaded(classifier):
    path = nv12kit.data.photo_path("astronaut")
    study = noise_study(classifier, str(path), PRE, amplitudes=(1,), trials=2, progress=False)
    assert study.image_shape == (32, 32)


# ----------------------------------------------------------------------------
# where the noise goes: pixel space, before normalisation, clipped
# ----------------------------------------------------------------------------
def test_noise_is_added_in_pixel_space_before_normalisation_and_clipped():
    # Identity model: the output is the normalised noisy image itself.
    rgb = np.zeros((32, 32, 3), np.uint8)
    rgb[:, :8] = 0
    rgb[:, 8:16] = 255
    rgb[:, 16:] = np.random.default_rng(1).integers(40, 220, (32, 16, 3), dtype=np.uint8)
    a, trials = 3.0, 4
    study = noise_study(om.identity(["N", 3, 32, 32]), rgb, PRE, amplitudes=(a,), trials=trials, seed=2,
                        conventions=(), progress=False)
    clean = ref_normalise(rgb[None].astype(np.float32))
    want, unclipped, after = [], [], []
    for t in range(trials):
        noise = draw_noise((3, 32, 32), a, "symmetric", np.random.default_rng((2, t))).transpose(1, 2, 0)
        noise = noise.astype(np.float64)
        want.append(ref_cos(clean, ref_normalise(np.clip(rgb + noise, 0, 255)[None])))
        unclipped.append(ref_cos(clean, ref_normalise((rgb + noise)[None])))
        after.append(ref_cos(clean, clean + noise.transpose(2, 0, 1)[None]))  # noise after normalising
    assert_cosines_match(study.cosines[a], want)
    # the alternatives differ by far more than the tolerance, so this test can tell them apart
    distance = 1 - np.asarray(want)
    assert np.min(np.abs(np.subtract(unclipped, want)) / distance) > 1e-2
    assert np.min(np.abs(np.subtract(after, want))) > 1e-3


def test_bgr_model_sees_the_same_noise_in_its_channel_order(rgb32):
    bgr = Preprocess(mean=MEAN, std=STD, order="bgr")
    study = noise_study(om.identity(["N", 3, 32, 32]), rgb32, bgr, amplitudes=(2,), trials=3, conventions=(),
                        progress=False)
    rgb_study = noise_study(om.identity(["N", 3, 32, 32]), rgb32, PRE, amplitudes=(2,), trials=3, conventions=(),
                            progress=False)
    # reversing the channels of both clean and noisy tensors leaves every cosine unchanged
    np.testing.assert_allclose(study.cosines[2.0], rgb_study.cosines[2.0], rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------
# the trial noise and the tensors built from it
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("distribution", ["symmetric", "uniform_0_a"])
def test_trial_noise_is_the_generators_raw_bytes_in_rgb_planes(distribution):
    seed, trial, amplitude = 5, 7, 2.5
    noise = nv12kit.noise.trial_noise(6, 10, amplitude, distribution=distribution, seed=seed, trial=trial)
    # written out: little-endian bytes of PCG64's raw 64-bit draws, RGB planes in C order
    raw = np.random.PCG64((seed, trial)).random_raw(23)  # ceil(3 * 6 * 10 / 8)
    levels = np.frombuffer(raw.astype("<u8").tobytes(), np.uint8)[:180].astype(np.float64)
    unit = (levels + 0.5) / 128 - 1 if distribution == "symmetric" else (levels + 0.5) / 256
    want = (amplitude * unit).reshape(3, 6, 10).transpose(1, 2, 0)
    assert noise.shape == (6, 10, 3) and noise.dtype == np.float32
    np.testing.assert_allclose(noise, want, rtol=1e-7, atol=0)


def test_trial_noise_is_common_across_amplitudes_and_differs_across_trials():
    one = nv12kit.noise.trial_noise(8, 8, 1.0, seed=3, trial=0)
    np.testing.assert_array_equal(nv12kit.noise.trial_noise(8, 8, 3.0, seed=3, trial=0), 3 * one)
    assert not np.array_equal(nv12kit.noise.trial_noise(8, 8, 1.0, seed=3, trial=1), one)


def test_perturb_trial_is_the_trial_noise_added_and_clipped_in_pixel_space():
    rgb = np.random.default_rng(2).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    rgb[0] = 255
    noise = draw_noise((3, 6, 8), 3.0, "symmetric", np.random.default_rng((4, 9))).transpose(1, 2, 0)
    got = nv12kit.noise.perturb_trial(rgb, 3.0, seed=4, trial=9)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.clip(rgb + noise, 0, 255))


TENSOR_CASES = [
    Preprocess(mean=MEAN, std=STD),
    Preprocess(mean=MEAN, std=STD, order="bgr"),
    Preprocess(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), divisor=255.0, layout="NHWC"),
    Preprocess(mean=(0.485, 0.456, 0.406), std=(0.229, -0.224, 0.225), divisor=255.0, order="bgr", layout="NHWC"),
    Preprocess(mean=(16, 128, 128), std=(50, 40, 40), order="yuv444"),
]


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
@pytest.mark.parametrize("pre", TENSOR_CASES, ids=lambda p: f"{p.order}-{p.layout}-{'neg' if min(p.std) < 0 else ''}")
def test_noisy_tensors_equal_the_pixel_space_recipe(pre, distribution):
    # Saturated columns make the clip matter; the tensors must equal normalise(clip(rgb + noise)).
    rgb = np.random.default_rng(4).integers(0, 256, (8, 12, 3), dtype=np.uint8)
    rgb[:, :3], rgb[:, 3:5] = 0, 255
    built = nv12kit.noise._NoisyTensors(rgb, pre, distribution, seed=9, batch=4)
    built.draw(2, 3)
    for amplitude in (0.7, 3.0):
        got = built.tensor(3, amplitude).copy()
        want = []
        for trial in (2, 3, 4):
            noise = nv12kit.noise.trial_noise(8, 12, amplitude, distribution=distribution, seed=9, trial=trial)
            want.append(pre.normalize_pixels(np.clip(rgb + noise.astype(np.float64), 0, 255))[0])
        want = np.stack(want)
        assert got.shape == want.shape == ((3, 3, 8, 12) if pre.layout == "NCHW" else (3, 8, 12, 3))
        np.testing.assert_allclose(got, want, rtol=0, atol=4e-6 * np.abs(want).max())
        # and they are really noisy: the clean tensor is far away
        assert np.abs(got - pre(rgb)).max() > 0.2 * amplitude / (pre.divisor * np.abs(pre.std).max())


@pytest.mark.parametrize(("batch", "runner_batch", "want"), [("N", None, 4), ("N", 2, 2), (3, None, 3), (8, None, 8)])
def test_auto_batch_fills_a_static_batch_and_keeps_a_dynamic_one_small(rgb32, batch, runner_batch, want):
    runner = Runner(om.classifier(32, batch=batch), batch_size=runner_batch)
    calls = []
    original = runner.run

    def counting(feed, **kwargs):
        calls.append(next(iter(feed.values())).shape[0])
        return original(feed, **kwargs)

    runner.run = counting
    study = noise_study(runner, rgb32, PRE, amplitudes=(1,), trials=10, conventions=(), progress=False)
    assert calls[1:] == [want] * (10 // want) + ([10 % want] if 10 % want else [])
    # the trials are the same whatever the batch
    one = noise_study(om.classifier(32), rgb32, PRE, amplitudes=(1,), trials=10, batch_size=1, conventions=(),
                      progress=False)
    assert_cosines_match(study.cosines[1.0], one.cosines[1.0])


# ----------------------------------------------------------------------------
# streaming and progress
# ----------------------------------------------------------------------------
def _peak_bytes(runner, rgb, trials):
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        noise_study(runner, rgb, PRE, amplitudes=(1, 2, 3), trials=trials, conventions=("horizon",), progress=False)
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_trials():
    # multi_output's feature map is 32 KiB per trial: keeping outputs (or noisy inputs) would add megabytes
    runner = Runner(om.multi_output(64))
    rgb = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    noise_study(runner, rgb, PRE, amplitudes=(1,), trials=2, progress=False)  # warm up imports and caches
    peak20 = _peak_bytes(runner, rgb, 20)
    peak200 = _peak_bytes(runner, rgb, 200)
    assert peak200 <= 1.10 * peak20, (peak20, peak200)


class CountingBar:
    made: list[CountingBar] = []

    def __init__(self, *args, total=None, **kwargs):
        self.total, self.count, self.closed = total, 0, False
        CountingBar.made.append(self)

    def update(self, n=1):
        self.count += n

    def close(self):
        self.closed = True


@pytest.fixture()
def counting_tqdm(monkeypatch):
    import tqdm.auto

    CountingBar.made = []
    monkeypatch.setattr(tqdm.auto, "tqdm", CountingBar)
    return CountingBar.made


def test_progress_bar_counts_every_trial(classifier, rgb32, counting_tqdm):
    noise_study(classifier, rgb32, PRE, amplitudes=(1, 2), trials=5, batch_size=2, progress=True)
    (bar,) = counting_tqdm
    assert bar.total == 10 and bar.count == 10 and bar.closed


def test_no_progress_bar_when_disabled(classifier, rgb32, counting_tqdm):
    noise_study(classifier, rgb32, PRE, amplitudes=(1, 2), trials=5, progress=False)
    assert counting_tqdm == []


def test_progress_bar_is_closed_when_the_model_fails(rgb32, counting_tqdm):
    class Flaky:
        input_names = ["image"]
        output_names = ["logits"]
        calls = 0

        def run(self, names, feed):
            Flaky.calls += 1
            if Flaky.calls > 1:
                raise RuntimeError("device lost")
            return [np.ones((feed["image"].shape[0], 3), np.float32)]

    with pytest.raises(NV12KitError, match="device lost"):
        noise_study(Flaky(), rgb32, PRE, amplitudes=(1,), trials=3, progress=True)
    (bar,) = counting_tqdm
    assert bar.closed


# ----------------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        (dict(amplitudes=[]), "amplitudes"),
        (dict(amplitudes=[0]), "amplitudes"),
        (dict(amplitudes=[-1]), "amplitudes"),
        (dict(amplitudes=["x"]), "amplitudes"),
        (dict(amplitudes=[float("nan")]), "amplitudes"),
        (dict(trials=0), "trials"),
        (dict(trials=-3), "trials"),
        (dict(trials=2.5), "trials"),
        (dict(trials=True), "trials"),
        (dict(distribution="laplace"), "laplace"),
        (dict(batch_size=0), "batch_size"),
        (dict(batch_size="big"), "batch_size"),
        (dict(output="boxes"), "logits"),
        (dict(input_name="pixels"), "image"),
        (dict(seed=-1), "seed"),
        (dict(seed="abc"), "seed"),
    ],
    ids=lambda v: repr(v) if isinstance(v, dict) else None,
)
def test_bad_arguments_are_refused_with_a_message(classifier, rgb32, kwargs, words):
    with pytest.raises(InputError, match=words):
        noise_study(classifier, rgb32, PRE, progress=False, **kwargs)


def test_unknown_convention_is_refused(classifier, rgb32):
    with pytest.raises(NV12KitError, match="nope"):
        noise_study(classifier, rgb32, PRE, conventions=("nope",), progress=False)


def test_preprocess_must_be_a_preprocess(classifier, rgb32):
    with pytest.raises(InputError, match="Preprocess"):
        noise_study(classifier, rgb32, {"mean": 128, "std": 64}, progress=False)


def test_unreadable_image_is_an_input_error(classifier, tmp_path):
    with pytest.raises(InputError):
        noise_study(classifier, tmp_path / "missing.png", PRE, progress=False)


@pytest.mark.parametrize("input_name", [None, "image"])
def test_model_without_three_channel_image_input_is_refused_clearly(rgb32, input_name):
    model = om.identity(["N", 1, 32, 32])
    with pytest.raises(NV12KitError) as info:
        noise_study(model, rgb32, PRE, progress=False, input_name=input_name)
    text = str(info.value)
    assert "channel" in text and "3" in text and "1" in text, text
    assert "resize" not in text  # the size is fine; the advice must be about channels


def test_extra_inputs_are_fed_with_every_batch(rgb32):
    kwargs = dict(amplitudes=(1, 2), trials=5, conventions=("horizon",), batch_size=2, progress=False)
    scaled = noise_study(om.with_extra_input(32), rgb32, PRE, extra_inputs={"scale": np.full((1, 1), 2.0, np.float32)},
                         **kwargs)
    # with_extra_input is classifier(32, 4) times `scale`; a power-of-two scale is exact and leaves every cosine as is
    plain = noise_study(om.classifier(32, 4), rgb32, PRE, **kwargs)
    for a in plain.amplitudes:
        np.testing.assert_allclose(scaled.cosines[a], plain.cosines[a], rtol=0, atol=1e-12)
    assert scaled.roundtrip["horizon"] == pytest.approx(plain.roundtrip["horizon"], abs=1e-12)


def test_missing_extra_input_is_named(rgb32):
    with pytest.raises(InputError, match="scale"):
        noise_study(om.with_extra_input(32), rgb32, PRE, progress=False)


def _log_model(size: int = 16) -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Log", ["image"], ["out"])], "log",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, size, size])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 3, size, size])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


@pytest.fixture(scope="module")
def nan_study() -> NoiseStudy:
    # x - 2 >= 1 for the clean image, so log is finite; noise of 3 pushes pixels below 2 and log gives NaN.
    rgb = np.random.default_rng(0).integers(3, 11, (16, 16, 3), dtype=np.uint8)
    pre = Preprocess(mean=2, std=1)
    return noise_study(_log_model(), rgb, pre, amplitudes=(0.5, 3), trials=4, conventions=(), progress=False)


def test_nan_outputs_under_noise_get_a_note(nan_study):
    assert np.all(np.isfinite(nan_study.cosines[0.5]))
    assert any("NaN" in note and "'out'" in note for note in nan_study.notes), nan_study.notes


def test_nan_trials_do_not_make_the_summary_or_the_json_nan(nan_study):
    try:
        summary = nan_study.summary(3)
    except NV12KitError:
        pass  # refusing, with a message, is fine too
    else:
        assert not any(isinstance(v, float) and math.isnan(v) for v in summary.values()), summary
    # reports are written from to_dict(): it must stay strict JSON
    json.dumps(nan_study.to_dict(), allow_nan=False)


def test_zero_norm_clean_output_is_refused_instead_of_a_silent_nan():
    # Identity model on a flat image equal to the mean: the clean output is all zeros, every cosine undefined.
    flat = np.full((16, 16, 3), 128, np.uint8)
    with pytest.raises(InputError, match=r"clean output \['out'\] is all zeros.*image equal to the mean"):
        noise_study(om.identity(["N", 3, 16, 16]), flat, PRE, amplitudes=(1,), trials=3, progress=False)
