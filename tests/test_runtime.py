"""Runner: one interface over ONNX models, ORT sessions and vendor runtimes, with checked feeds and batching."""

from __future__ import annotations

import math

import numpy as np
import onnx
import onnx_models as om
import onnxruntime as ort
import pytest

import nv12kit
from nv12kit import InputError, ModelError, NV12KitError, Runner

__all__: list[str] = []


# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------
def session(model: onnx.ModelProto) -> ort.InferenceSession:
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def images(n: int, size: int = 32, seed: int = 0) -> np.ndarray:
    """A normalised float32 NCHW batch."""
    return np.random.default_rng(seed).uniform(-1, 1, (n, 3, size, size)).astype(np.float32)


def reference(model: onnx.ModelProto, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """What a bare ORT session returns for the whole feed in one call."""
    sess = session(model)
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, feed)))


class HBRuntimeLike:
    """The shape of Horizon's HBRuntime: input_names, output_names and run(); no get_inputs()."""

    def __init__(self, model: onnx.ModelProto) -> None:
        self._session = session(model)
        self.input_names = [i.name for i in self._session.get_inputs()]
        self.output_names = [o.name for o in self._session.get_outputs()]
        self.batches: list[int] = []

    def run(self, output_names, feed):
        self.batches.append(len(next(iter(feed.values()))))
        return self._session.run(output_names, feed)


class CountingSession:
    """An ORT session that reports its inputs like ORT does and records the batch of every run() call."""

    def __init__(self, model: onnx.ModelProto) -> None:
        self._session = session(model)
        self.batches: list[int] = []

    def get_inputs(self):
        return self._session.get_inputs()

    def get_outputs(self):
        return self._session.get_outputs()

    def run(self, output_names, feed):
        self.batches.append(len(next(iter(feed.values()))))
        return self._session.run(output_names, feed)


def with_static_batch(model: onnx.ModelProto, batch: int) -> onnx.ModelProto:
    """The model with every input's and output's leading dimension fixed to ``batch``."""
    for value in list(model.graph.input) + list(model.graph.output):
        value.type.tensor_type.shape.dim[0].dim_value = batch
    onnx.checker.check_model(model)
    return model


def frame(seed: int, size: int = 32) -> nv12kit.NV12Frame:
    rgb = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    return nv12kit.rgb_to_nv12(rgb)


# ----------------------------------------------------------------------------
# what a Runner can wrap
# ----------------------------------------------------------------------------
def test_model_proto_path_session_runner_and_duck_runtime_give_the_same_outputs(tmp_path):
    model = om.multi_output()
    path = nv12kit.save_model(model, tmp_path / "multi.onnx")
    feed = {"image": images(2)}
    expected = reference(model, feed)
    wrapped = [
        Runner(model),
        Runner(path),
        Runner(str(path)),
        Runner(session(model)),
        Runner(Runner(model)),
        Runner(HBRuntimeLike(model)),
    ]
    for runner in wrapped:
        got = runner.run(feed)
        assert list(got) == list(expected), runner
        for name in expected:
            np.testing.assert_array_equal(got[name], expected[name], err_msg=f"{runner}: {name}")


def test_input_and_output_names_come_from_the_model():
    runner = Runner(om.multi_output())
    assert runner.input_names == ("image",)
    assert runner.output_names == ("logits", "embedding", "features")


def test_duck_runtime_names_come_from_its_attributes():
    runner = Runner(HBRuntimeLike(om.with_extra_input()))
    assert runner.input_names == ("image", "scale")
    assert runner.output_names == ("logits",)


def test_run_returns_a_dict_keyed_by_output_names_in_model_order():
    out = Runner(om.multi_output()).run({"image": images(2)})
    assert list(out) == ["logits", "embedding", "features"]
    assert out["logits"].shape == (2, 5)
    assert out["embedding"].shape == (2, 8)
    assert out["features"].shape == (2, 8, 16, 16)


def test_calling_the_runner_is_the_same_as_run():
    runner = Runner(om.classifier())
    feed = {"image": images(2)}
    np.testing.assert_array_equal(runner(feed)["logits"], runner.run(feed)["logits"])


def test_output_names_selects_a_subset_in_the_order_asked():
    model = om.multi_output()
    feed = {"image": images(2)}
    expected = reference(model, feed)
    out = Runner(model).run(feed, output_names=["features", "logits"])
    assert list(out) == ["features", "logits"]
    np.testing.assert_array_equal(out["features"], expected["features"])
    np.testing.assert_array_equal(out["logits"], expected["logits"])


def test_unknown_output_name_is_rejected_with_the_real_outputs():
    with pytest.raises(InputError, match=r"unknown outputs \['scores'\].*'logits', 'embedding', 'features'"):
        Runner(om.multi_output()).run({"image": images(1)}, output_names=["scores"])


def test_repr_mentions_inputs_outputs_and_batch_size():
    text = repr(Runner(om.with_extra_input(), name="qat_feat"))
    assert "qat_feat" in text
    assert "'image'" in text and "'scale'" in text
    assert "'logits'" in text
    assert "batch_size" in text


# ----------------------------------------------------------------------------
# batching
# ----------------------------------------------------------------------------
def test_dynamic_batch_larger_than_batch_size_is_split_and_matches_one_call():
    model = om.classifier()
    feed = {"image": images(7)}
    counting = CountingSession(model)
    got = Runner(counting, batch_size=3).run(feed)
    np.testing.assert_allclose(got["logits"], reference(model, feed)["logits"], rtol=1e-6, atol=1e-6)
    assert len(counting.batches) == math.ceil(7 / 3)
    assert counting.batches == [3, 3, 1]  # a dynamic batch is never padded


def test_dynamic_batch_defaults_to_a_bounded_piece_size():
    runner = Runner(om.classifier())
    assert runner.dynamic_batch
    assert runner.batch_size == nv12kit.runtime.DEFAULT_MAX_BATCH


def test_feed_no_larger_than_batch_size_is_one_call():
    counting = CountingSession(om.classifier())
    Runner(counting, batch_size=8).run({"image": images(5)})
    assert counting.batches == [5]


def test_static_batch_1_model_runs_one_item_per_call():
    model = om.classifier(batch=1)
    feed = images(5)
    counting = CountingSession(model)
    runner = Runner(counting)
    assert runner.batch_size == 1
    got = runner.run({"image": feed})["logits"]
    assert counting.batches == [1] * 5
    singles = np.concatenate([reference(model, {"image": feed[i : i + 1]})["logits"] for i in range(5)])
    assert got.shape == (5, 10)
    np.testing.assert_array_equal(got, singles)


def test_static_batch_4_pads_the_last_piece_and_returns_only_real_items():
    model = om.classifier(batch=4)
    feed = images(6)
    counting = CountingSession(model)
    got = Runner(counting).run({"image": feed})["logits"]
    assert counting.batches == [4, 4]  # 4 + (2 padded to 4)
    assert got.shape == (6, 10)
    dynamic = om.classifier()  # same weights, dynamic batch
    np.testing.assert_allclose(got, reference(dynamic, {"image": feed})["logits"], rtol=1e-6, atol=1e-6)


def test_static_batch_4_with_fewer_items_is_padded_up():
    model = om.classifier(batch=4)
    feed = images(3)
    got = Runner(model).run({"image": feed})["logits"]
    assert got.shape == (3, 10)
    np.testing.assert_allclose(got, reference(om.classifier(), {"image": feed})["logits"], rtol=1e-6, atol=1e-6)


def test_duck_runtime_without_shapes_runs_one_item_per_call():
    model = om.classifier()
    feed = {"image": images(4)}
    duck = HBRuntimeLike(model)
    runner = Runner(duck)
    assert runner.batch_size == 1
    got = runner.run(feed)["logits"]
    assert duck.batches == [1, 1, 1, 1]
    np.testing.assert_allclose(got, reference(model, feed)["logits"], rtol=1e-6, atol=1e-6)


def test_extra_non_image_input_is_split_along_with_the_image():
    model = om.with_extra_input()
    feed = {"image": images(5), "scale": np.arange(1, 6, dtype=np.float32).reshape(5, 1)}
    counting = CountingSession(model)
    got = Runner(counting, batch_size=2).run(feed)["logits"]
    assert counting.batches == [2, 2, 1]
    np.testing.assert_allclose(got, reference(model, feed)["logits"], rtol=1e-6, atol=1e-6)


def test_static_batch_with_extra_input_pads_both_inputs():
    model = with_static_batch(om.with_extra_input(), 2)
    feed = {"image": images(3), "scale": np.array([[1.0], [2.0], [3.0]], np.float32)}
    got = Runner(model).run(feed)["logits"]
    assert got.shape == (3, 4)
    np.testing.assert_allclose(got, reference(om.with_extra_input(), feed)["logits"], rtol=1e-6, atol=1e-6)


# ----------------------------------------------------------------------------
# feed validation
# ----------------------------------------------------------------------------
def test_missing_input_is_named_with_the_model_inputs():
    with pytest.raises(InputError, match=r"missing \['scale'\].*model takes \['image', 'scale'\]"):
        Runner(om.with_extra_input()).run({"image": images(1)})


def test_unknown_input_is_named_with_the_model_inputs():
    with pytest.raises(InputError, match=r"unknown \['images'\].*model takes \['image'\]"):
        Runner(om.classifier()).run({"images": images(1)})


def test_float64_feed_to_float32_model_says_to_astype():
    with pytest.raises(InputError, match=r"'image' must be float32, got float64.*\.astype\(np\.float32\)"):
        Runner(om.classifier()).run({"image": images(1).astype(np.float64)})


def test_uint8_image_to_float_model_points_at_preprocess():
    rgb = np.zeros((1, 3, 32, 32), np.uint8)
    with pytest.raises(InputError, match=r"must be float32, got uint8.*Preprocess"):
        Runner(om.classifier()).run({"image": rgb})


def test_wrong_rank_is_rejected_with_the_expected_shape():
    with pytest.raises(InputError, match=r"'image' must have 4 dims \[N, 3, 32, 32\], got shape \(3, 32, 32\)"):
        Runner(om.classifier()).run({"image": images(1)[0]})


def test_wrong_static_spatial_size_says_to_resize():
    with pytest.raises(InputError, match=r"\[N, 3, 32, 32\], got \(1, 3, 64, 64\).*resize"):
        Runner(om.classifier()).run({"image": images(1, size=64)})


def test_nhwc_array_to_nchw_model_is_rejected():
    with pytest.raises(InputError, match=r"\[N, 3, 32, 32\], got \(1, 32, 32, 3\)"):
        Runner(om.classifier()).run({"image": images(1).transpose(0, 2, 3, 1)})


@pytest.mark.parametrize("feed", [[np.zeros((1, 3, 32, 32), np.float32)], np.zeros((1, 3, 32, 32), np.float32)],
                         ids=["list", "array"])
def test_feed_that_is_not_a_dict_is_rejected(feed):
    with pytest.raises(InputError, match=r"feed must be a dict of input name to array"):
        Runner(om.classifier()).run(feed)


# ----------------------------------------------------------------------------
# runtime failures and bad arguments
# ----------------------------------------------------------------------------
class Failing:
    input_names = ["image"]
    output_names = ["logits"]

    def run(self, output_names, feed):
        raise RuntimeError("BPU out of memory (code 7)")


def test_runtime_error_becomes_model_error_with_its_message():
    with pytest.raises(ModelError, match=r"failed to run: RuntimeError: BPU out of memory \(code 7\)") as info:
        Runner(Failing()).run({"image": images(1)})
    assert isinstance(info.value.__cause__, RuntimeError)


class Nameless:
    def run(self, output_names, feed):
        return [feed["x"]]


def test_runtime_without_input_and_output_names_says_what_to_add():
    with pytest.raises(ModelError, match=r"Nameless.*input_names and output_names"):
        Runner(Nameless())


@pytest.mark.parametrize("batch_size", [0, -1, 1.5, True, "4"])
def test_batch_size_must_be_a_positive_integer(batch_size):
    with pytest.raises(InputError, match=r"batch_size must be a positive integer, got"):
        Runner(om.classifier(), batch_size=batch_size)


@pytest.mark.parametrize("batch_size", [0, -1, 1.5])
def test_rewrapping_a_runner_checks_batch_size_too(batch_size):
    with pytest.raises(InputError, match=r"batch_size must be a positive integer, got"):
        Runner(Runner(om.classifier()), batch_size=batch_size)


def test_rewrapping_a_runner_can_change_batch_size():
    counting = CountingSession(om.classifier())
    runner = Runner(Runner(counting), batch_size=2)
    runner.run({"image": images(3)})
    assert counting.batches == [2, 1]


def test_errors_are_nv12kit_errors():
    assert issubclass(InputError, NV12KitError) and issubclass(ModelError, NV12KitError)


# ----------------------------------------------------------------------------
# the NV12 variant
# ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def nv12_model() -> onnx.ModelProto:
    return nv12kit.insert_nv12_node(om.classifier(), mean=128, std=128)


def test_nv12_model_runs_on_a_frame_feed(nv12_model):
    feed = frame(0).to_feed("image")
    runner = Runner(nv12_model)
    assert runner.input_names == ("image_y", "image_uv")
    got = runner.run(feed)["logits"]
    assert got.shape == (1, 10)
    np.testing.assert_array_equal(got, reference(nv12_model, feed)["logits"])


def test_nv12_model_matches_the_float_model_on_the_decoded_image(nv12_model):
    f = frame(1)
    rgb = nv12kit.nv12_to_rgb(f, convention="bt601-full")
    tensor = nv12kit.Preprocess(mean=128, std=128)(rgb)
    want = reference(om.classifier(), {"image": tensor})["logits"]
    got = Runner(nv12_model).run(f.to_feed("image"))["logits"]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_nv12_batch_of_stacked_frames_equals_single_frame_runs(nv12_model):
    feeds = [frame(seed).to_feed("image") for seed in range(3)]
    batch = {name: np.concatenate([f[name] for f in feeds]) for name in ("image_y", "image_uv")}
    runner = Runner(nv12_model)
    got = runner.run(batch)["logits"]
    singles = np.concatenate([runner.run(f)["logits"] for f in feeds])
    assert got.shape == (3, 10)
    np.testing.assert_allclose(got, singles, rtol=1e-6, atol=1e-6)


def test_nv12_batch_split_into_pieces_equals_single_frame_runs(nv12_model):
    feeds = [frame(seed).to_feed("image") for seed in range(3)]
    batch = {name: np.concatenate([f[name] for f in feeds]) for name in ("image_y", "image_uv")}
    got = Runner(nv12_model, batch_size=2).run(batch)["logits"]
    singles = np.concatenate([Runner(nv12_model).run(f)["logits"] for f in feeds])
    np.testing.assert_allclose(got, singles, rtol=1e-6, atol=1e-6)


def test_nv12_float_feed_is_rejected_with_uint8_hint(nv12_model):
    feed = {k: v.astype(np.float32) for k, v in frame(0).to_feed("image").items()}
    with pytest.raises(InputError, match=r"'image_y' must be uint8, got float32.*\.astype\(np\.uint8\)"):
        Runner(nv12_model).run(feed)
