"""nv12kit.augment.NV12RoundTrip: exact round trips, odd sizes, PIL, seeding, workers, adapters."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from PIL import Image

import nv12kit
from nv12kit.augment import NV12RoundTrip, round_trip


def _image(height: int = 24, width: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _reference(x: np.ndarray, convention: str, order: str = "rgb") -> np.ndarray:
    frame = nv12kit.rgb_to_nv12(x, convention=convention, order=order)
    return nv12kit.nv12_to_rgb(frame, convention=convention, order=order)


@pytest.mark.parametrize("convention", nv12kit.convention_names())
@pytest.mark.parametrize("order", ["rgb", "bgr"])
def test_round_trip_equals_convert_exactly_for_every_convention(convention: str, order: str) -> None:
    photo = nv12kit.resize_to(nv12kit.load_image(nv12kit.data.photo_path("astronaut")), 64, 48)
    for x in (_image(), photo):
        out = NV12RoundTrip(convention, order=order)(x)
        assert out.dtype == np.uint8 and out.shape == x.shape
        np.testing.assert_array_equal(out, _reference(x, convention, order))


def test_strided_input_is_fine() -> None:
    x = _image()
    np.testing.assert_array_equal(NV12RoundTrip()(x[:, :, ::-1]), _reference(np.ascontiguousarray(x[:, :, ::-1]),
                                                                            "horizon"))


@pytest.mark.parametrize("shape", [(5, 7), (6, 7), (5, 8), (1, 1), (1, 4)])
def test_odd_sizes_are_padded_by_edge_then_cropped_back(shape: tuple[int, int]) -> None:
    x = _image(*shape)
    out = NV12RoundTrip("bt601-limited")(x)
    assert out.shape == x.shape and out.flags.c_contiguous
    padded = nv12kit.pad_to_even(x, mode="edge")
    np.testing.assert_array_equal(out, _reference(padded, "bt601-limited")[: shape[0], : shape[1]])
    np.testing.assert_array_equal(round_trip(x, "bt601-limited"), out)


def test_pil_in_pil_out() -> None:
    x = _image(7, 9)
    out = NV12RoundTrip("opencv")(Image.fromarray(x))
    assert isinstance(out, Image.Image) and out.mode == "RGB" and out.size == (9, 7)
    np.testing.assert_array_equal(np.asarray(out), round_trip(x, "opencv"))


def test_pil_in_another_mode_is_refused_with_fix() -> None:
    with pytest.raises(nv12kit.InputError, match=r"convert\('RGB'\)"):
        NV12RoundTrip()(Image.new("L", (4, 4)))


@pytest.mark.parametrize("bad", [np.zeros((4, 4, 3), np.float32), np.zeros((4, 4), np.uint8), [[1, 2]]])
def test_other_inputs_are_refused(bad: object) -> None:
    with pytest.raises(nv12kit.InputError):
        NV12RoundTrip()(bad)


@pytest.mark.parametrize("kwargs", [{"p": 1.5}, {"noise": -1}, {"seed": -3}, {"seed": 1.5}, {"conventions": []},
                                    {"conventions": "horizon"}, {"distribution": "laplace"}, {"order": "grb"}])
def test_bad_options_are_refused(kwargs: dict) -> None:
    with pytest.raises(nv12kit.InputError):
        NV12RoundTrip(**kwargs)


def test_unknown_convention_is_refused() -> None:
    with pytest.raises(nv12kit.ConventionError):
        NV12RoundTrip("nonesuch")


def test_noise_is_added_after_the_round_trip_rounded_and_clipped() -> None:
    x = _image()
    out = NV12RoundTrip(noise=2, seed=0)(x)
    delta = out.astype(int) - _reference(x, "horizon").astype(int)
    assert np.abs(delta).max() <= 2 and np.abs(delta).mean() > 0.5


def test_seeded_calls_repeat_and_differ_between_calls() -> None:
    x = _image()
    a, b = NV12RoundTrip(noise=3, seed=1), NV12RoundTrip(noise=3, seed=1)
    first, second = a(x), a(x)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(b(x), first)
    np.testing.assert_array_equal(b(x), second)
    assert not np.array_equal(NV12RoundTrip(noise=3, seed=2)(x), first)


def test_unseeded_transforms_differ() -> None:
    x = _image()
    assert not np.array_equal(NV12RoundTrip(noise=3)(x), NV12RoundTrip(noise=3)(x))


def test_p_zero_returns_the_input_itself_and_p_half_mixes() -> None:
    x = _image()
    assert NV12RoundTrip(p=0.0)(x) is x
    t = NV12RoundTrip(p=0.5, seed=0)
    applied = [t(x) is not x for _ in range(200)]
    assert 60 < sum(applied) < 140


def test_conventions_are_drawn_per_call() -> None:
    x = _image()
    names = ["opencv", "bt709-full", "pil"]
    references = [_reference(x, c) for c in names]
    t = NV12RoundTrip(conventions=names, seed=0)
    seen = set()
    for _ in range(30):
        out = t(x)
        matches = [i for i, ref in enumerate(references) if np.array_equal(out, ref)]
        assert matches
        seen.update(matches)
    assert seen == {0, 1, 2}


def test_pickled_copy_starts_its_own_stream_from_the_seed() -> None:
    x = _image()
    t = NV12RoundTrip(noise=3, seed=5)
    first = t(x)
    t(x)
    copy = pickle.loads(pickle.dumps(t))
    np.testing.assert_array_equal(copy(x), first)  # a new process would start the same way


def test_workers_get_independent_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    from nv12kit import augment

    x = _image()
    outputs = {}
    for worker in (0, 1):
        monkeypatch.setattr(augment, "_worker_id", lambda worker=worker: worker)
        outputs[worker] = NV12RoundTrip(noise=3, seed=0)(x)
    assert not np.array_equal(outputs[0], outputs[1])
    # the same worker id gives the same stream
    monkeypatch.setattr(augment, "_worker_id", lambda: 1)
    np.testing.assert_array_equal(NV12RoundTrip(noise=3, seed=0)(x), outputs[1])


def test_a_forked_copy_restarts_its_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    from nv12kit import augment

    x = _image()
    t = NV12RoundTrip(noise=3, seed=0)
    first = t(x)
    monkeypatch.setattr(augment.os, "getpid", lambda: -1)  # as in a forked DataLoader worker
    np.testing.assert_array_equal(t(x), first)


def test_albumentations_style_adapter_passes_other_targets() -> None:
    x = _image()
    f = NV12RoundTrip("opencv").albumentations()
    result = f(image=x, mask="m")
    assert result["mask"] == "m"
    np.testing.assert_array_equal(result["image"], _reference(x, "opencv"))
    with pytest.raises(nv12kit.InputError, match="image=x"):
        f(x)
    pickle.loads(pickle.dumps(f))


def test_repr_names_the_options() -> None:
    assert repr(NV12RoundTrip(conventions=["opencv", "pil"], noise=2, seed=3)) == (
        "NV12RoundTrip(conventions=['opencv', 'pil'], p=1, noise=2, seed=3)"
    )


def test_exported_from_the_package() -> None:
    assert nv12kit.NV12RoundTrip is NV12RoundTrip


# -- with the real libraries, when installed -----------------------------------------------------
def test_torch_tensor_adapter_and_dataloader_workers() -> None:
    torch = pytest.importorskip("torch")
    x = _image(6, 10)
    f = NV12RoundTrip("bt709-limited").for_tensors()
    tensor = torch.from_numpy(x.transpose(2, 0, 1).copy())
    out = f(tensor)
    assert out.dtype == torch.uint8 and tuple(out.shape) == (3, 6, 10)
    np.testing.assert_array_equal(out.numpy().transpose(1, 2, 0), _reference(x, "bt709-limited"))
    assert tuple(f(tensor[None].repeat(2, 1, 1, 1)).shape) == (2, 3, 6, 10)
    with pytest.raises(nv12kit.InputError, match="PILToTensor"):
        f(tensor.float())


def test_torchvision_compose() -> None:
    transforms = pytest.importorskip("torchvision.transforms")
    x = _image(8, 8)
    composed = transforms.Compose([NV12RoundTrip("opencv"), transforms.PILToTensor()])
    out = composed(Image.fromarray(x))
    np.testing.assert_array_equal(out.numpy().transpose(1, 2, 0), _reference(x, "opencv"))


def test_albumentations_compose() -> None:
    albumentations = pytest.importorskip("albumentations")
    x = _image(8, 8)
    t = NV12RoundTrip("opencv")
    composed = albumentations.Compose([albumentations.Lambda(image=lambda img, **kw: t(img))])
    np.testing.assert_array_equal(composed(image=x)["image"], _reference(x, "opencv"))


class _Frames:
    """A map-style dataset of one frame repeated, augmented per item (module level, so workers can pickle it)."""

    def __init__(self, transform: NV12RoundTrip, count: int = 4) -> None:
        self.transform, self.count, self.frame = transform, count, _image(8, 8)

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> np.ndarray:
        return self.transform(self.frame)


def test_real_dataloader_workers_draw_independently_and_repeat_under_a_seed() -> None:
    torch = pytest.importorskip("torch")

    def run() -> list[np.ndarray]:
        loader = torch.utils.data.DataLoader(_Frames(NV12RoundTrip(noise=3, seed=0)), batch_size=None,
                                             num_workers=2, multiprocessing_context="fork")
        return [np.asarray(item) for item in loader]

    first = run()
    # items 0 and 1 are each the first call of worker 0 and worker 1
    assert not np.array_equal(first[0], first[1])
    for a, b in zip(first, run()):
        np.testing.assert_array_equal(a, b)


def test_demo_cured_is_the_fragile_model_cured() -> None:
    """The shipped demo_cured.onnx: same interface as demo_fragile, and no longer over-sensitive at ±2."""
    onnx = pytest.importorskip("onnx")
    cured, fragile = nv12kit.data.model_path("demo_cured"), nv12kit.data.model_path("demo_fragile")
    assert cured.stat().st_size <= 2**20
    spec = nv12kit.ImageInputSpec.from_model(onnx.load(cured))
    assert (spec.name, spec.layout, spec.static_size) == ("image", "NCHW", (128, 128))
    assert nv12kit.Preprocess.from_model(cured) == nv12kit.Preprocess.from_model(fragile)
    photos = [nv12kit.resize_to(nv12kit.load_image(p), 128, 128) for p in nv12kit.data.photo_paths()]
    floors = {}
    for name, path in (("cured", cured), ("fragile", fragile)):
        runner, pre = nv12kit.Runner(path), nv12kit.Preprocess.from_model(path)
        rng, cosines = np.random.default_rng(0), []
        for rgb in photos:
            clean = runner.run({"image": pre(rgb)})["logits"][0].astype(np.float64)
            noisy = np.clip(rgb + rng.integers(-2, 3, (10, *rgb.shape)), 0, 255).astype(np.uint8)
            out = runner.run({"image": pre(noisy)})["logits"].astype(np.float64)
            cosines += list(out @ clean / np.linalg.norm(out, axis=1) / np.linalg.norm(clean))
        floors[name] = np.mean(cosines)
    assert floors["fragile"] < 0.98 <= floors["cured"]
