"""Model variants: bad models and bad arguments fail with an nv12kit error that names the problem and the fix.

Each test asserts the error type (ModelError / InputError, both NV12KitError) and that the message says what
was wrong and what to do; the good-input neighbours of each case are checked too, so the errors are not
raised by accident.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import re

import numpy as np
import onnx
import onnx_models as om
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

import nv12kit
import nv12kit.data
from nv12kit import ImageInputSpec, InputError, ModelError, NV12KitError, Preprocess, Runner

__all__: list[str] = []

PRE = Preprocess(mean=128, std=128)


# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------
def frame(size: int = 32, seed: int = 0) -> nv12kit.NV12Frame:
    rgb = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    return nv12kit.rgb_to_nv12(rgb)


def calibration_images(count: int = 2, size: int = 32) -> list[np.ndarray]:
    paths = nv12kit.data.photo_paths()[:count]
    return [nv12kit.resize_to(nv12kit.load_image(p), size, size) for p in paths]


def fingerprint(path: pathlib.Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def run(model: onnx.ModelProto, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feed)


def path_in(message_path: pathlib.Path) -> str:
    return re.escape(str(message_path))


@pytest.fixture
def model_path(tmp_path: pathlib.Path) -> pathlib.Path:
    return nv12kit.save_model(om.classifier(), tmp_path / "classifier.onnx")


def test_model_and_input_errors_are_nv12kit_errors():
    assert issubclass(ModelError, NV12KitError) and issubclass(InputError, NV12KitError)
    assert issubclass(ModelError, ValueError) and issubclass(InputError, ValueError)


# ----------------------------------------------------------------------------
# missing, corrupt and misplaced model files
# ----------------------------------------------------------------------------
READERS = {
    "load_model": nv12kit.load_model,
    "insert_nv12_node": nv12kit.insert_nv12_node,
    "Runner": Runner,
    "ImageInputSpec.from_model": ImageInputSpec.from_model,
}


@pytest.mark.parametrize("reader", list(READERS.values()), ids=list(READERS))
def test_missing_model_file_names_the_path(tmp_path, reader):
    missing = tmp_path / "no_such_model.onnx"
    with pytest.raises(ModelError, match=rf"{path_in(missing)}.*does not exist; check the path"):
        reader(missing)


@pytest.mark.parametrize("reader", list(READERS.values()), ids=list(READERS))
def test_missing_model_file_given_as_str_names_the_path(tmp_path, reader):
    missing = tmp_path / "no_such_model.onnx"
    with pytest.raises(ModelError, match=rf"{path_in(missing)}.*does not exist"):
        reader(str(missing))


def _random_bytes() -> bytes:
    return np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()


def _truncated_model() -> bytes:
    data = om.classifier().SerializeToString()
    return data[: len(data) // 2]


CORRUPT = {"random_bytes": _random_bytes, "truncated": _truncated_model, "empty": lambda: b""}


@pytest.mark.parametrize("make", list(CORRUPT.values()), ids=list(CORRUPT))
def test_corrupt_model_file_is_rejected_with_path_and_advice(tmp_path, make):
    path = tmp_path / "model.onnx"
    path.write_bytes(make())
    with pytest.raises(ModelError, match=rf"{path_in(path)}.*(re-export it|not an ONNX file or was truncated)"):
        nv12kit.load_model(path)


@pytest.mark.parametrize("make", list(CORRUPT.values()), ids=list(CORRUPT))
def test_corrupt_model_file_is_rejected_by_insert_nv12_node_and_runner(tmp_path, make):
    path = tmp_path / "model.onnx"
    path.write_bytes(make())
    for reader in (nv12kit.insert_nv12_node, Runner):
        with pytest.raises(ModelError, match=path_in(path)):
            reader(path)


def test_directory_as_model_says_to_pass_the_file_inside(tmp_path):
    with pytest.raises(ModelError, match=rf"{path_in(tmp_path)}.*is a directory; pass the path of the .onnx file"):
        nv12kit.load_model(tmp_path)


def test_something_that_is_not_a_model_is_rejected_with_the_accepted_types():
    with pytest.raises(ModelError, match=r"expected an ONNX model path or onnx.ModelProto, got int"):
        nv12kit.load_model(42)


# ----------------------------------------------------------------------------
# finding the image input
# ----------------------------------------------------------------------------
def test_unknown_input_name_lists_the_real_inputs():
    with pytest.raises(ModelError, match=r"no input named 'images'; its inputs are: image \[N, 3, 32, 32\] float32"):
        nv12kit.insert_nv12_node(om.classifier(), input_name="images")


def test_unknown_input_name_lists_all_inputs_of_a_multi_input_model():
    with pytest.raises(ModelError, match=r"no input named 'img'.*image \[N, 3, 32, 32\].*scale \[N, 1\]"):
        ImageInputSpec.from_model(om.with_extra_input(), "img")


def test_model_without_image_input_lists_its_inputs():
    with pytest.raises(ModelError, match=r"no image input \(a 4-D tensor with 3 channels.*image \[N, 10\] float32"):
        nv12kit.insert_nv12_node(om.identity(["N", 10]))


def test_chosen_input_that_is_not_4d_says_what_is_needed():
    with pytest.raises(ModelError, match=r"'image' \[N, 10\] is not a 4-D image tensor.*\[N, 3, H, W\]"):
        nv12kit.insert_nv12_node(om.identity(["N", 10]), input_name="image")


def test_one_channel_input_chosen_by_name_needs_3_channels():
    with pytest.raises(ModelError, match=r"'image' \[N, 1, 32, 32\].*needs 3 channels in dim 1 \(NCHW\)"):
        nv12kit.insert_nv12_node(om.identity(["N", 1, 32, 32]), input_name="image")


def test_one_channel_input_found_automatically_needs_3_channels():
    with pytest.raises(ModelError, match=r"no image input \(a 4-D tensor with 3 channels.*image \[N, 1, 32, 32\]"):
        nv12kit.insert_nv12_node(om.identity(["N", 1, 32, 32]))


def test_two_image_inputs_are_ambiguous_and_both_are_listed():
    with pytest.raises(ModelError, match=r"2 inputs that look like images: left \[N, 3, 16, 16\]; "
                                         r"right \[N, 3, 16, 16\]; choose one with input_name="):
        nv12kit.insert_nv12_node(om.two_images())


def test_choosing_one_of_two_images_keeps_the_other_as_an_input():
    model = nv12kit.insert_nv12_node(om.two_images(), input_name="right")
    assert [i.name for i in model.graph.input] == ["left", "right_y", "right_uv"]
    f = frame(16)
    left = np.random.default_rng(1).uniform(-1, 1, (1, 3, 16, 16)).astype(np.float32)
    got = Runner(model).run({"left": left, **f.to_feed("right")})["disparity"]
    right = PRE(nv12kit.nv12_to_rgb(f, convention="bt601-full"))
    np.testing.assert_allclose(got, left - right, rtol=0, atol=1e-6)


# ----------------------------------------------------------------------------
# sizes
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("shape, side", [(["N", 3, 31, 32], "height"), (["N", 3, 32, 33], "width")])
def test_odd_static_size_is_rejected_with_even_advice(shape, side):
    with pytest.raises(ModelError, match=rf"odd {side} \({shape[2] if side == 'height' else shape[3]}\).*even"):
        nv12kit.insert_nv12_node(om.identity(shape))


def test_frame_of_wrong_size_for_static_model_is_rejected_by_runner():
    runner = Runner(nv12kit.insert_nv12_node(om.classifier(), mean=128, std=128))
    with pytest.raises(InputError, match=r"'image_y' must have shape \[N, 32, 32, 1\], got \(1, 64, 64, 1\).*resize"):
        runner.run(frame(64).to_feed("image"))


def test_check_frame_size_names_both_sizes_and_the_resize_call():
    spec = ImageInputSpec.from_model(om.classifier())
    spec.check_frame_size(32, 32)
    with pytest.raises(InputError, match=r"frame is 64x48 \(HxW\).*fixed at 32x32.*resize_to\(rgb, 32, 32\)"):
        spec.check_frame_size(64, 48)


def test_check_frame_size_accepts_any_size_for_a_dynamic_model():
    spec = ImageInputSpec.from_model(om.identity(["N", 3, "H", "W"]))
    spec.check_frame_size(64, 48)
    assert spec.static_size is None


# ----------------------------------------------------------------------------
# external data
# ----------------------------------------------------------------------------
@pytest.fixture
def external_path(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "external.onnx"
    onnx.save_model(om.classifier(), str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="weights.bin", size_threshold=0)
    assert (tmp_path / "weights.bin").is_file()
    return path


def test_model_with_external_data_loads_from_its_path(external_path):
    loaded = nv12kit.load_model(external_path)
    expected = {t.name: onnx.numpy_helper.to_array(t) for t in om.classifier().graph.initializer}
    got = {t.name: onnx.numpy_helper.to_array(t) for t in loaded.graph.initializer}
    assert set(got) == set(expected)
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name])


def test_nv12_node_on_external_data_path_equals_in_memory_model(external_path):
    feed = frame().to_feed("image")
    from_path = run(nv12kit.insert_nv12_node(external_path), feed)
    in_memory = run(nv12kit.insert_nv12_node(om.classifier()), feed)
    np.testing.assert_array_equal(from_path[0], in_memory[0])


def test_missing_external_data_file_is_named(external_path):
    (external_path.parent / "weights.bin").unlink()
    with pytest.raises(ModelError, match=r"external data files that are missing.*weights\.bin.*copy them into"):
        nv12kit.load_model(external_path)


def test_model_proto_without_its_external_data_says_to_pass_the_path(external_path):
    proto = onnx.load(str(external_path), load_external_data=False)
    advice = r"weights\.bin.*not loaded; pass the model's path instead, or call onnx\.load_external_data_for_model"
    for reader in (nv12kit.load_model, nv12kit.insert_nv12_node, Runner):
        with pytest.raises(ModelError, match=advice):
            reader(proto)


# ----------------------------------------------------------------------------
# the user's files and models are never modified
# ----------------------------------------------------------------------------
def test_insert_nv12_node_leaves_the_source_file_untouched(model_path):
    before = fingerprint(model_path)
    nv12kit.insert_nv12_node(model_path)
    assert fingerprint(model_path) == before


def test_quantize_leaves_the_source_file_untouched(model_path):
    before = fingerprint(model_path)
    nv12kit.quantize(model_path, calibration_images(2), preprocess=PRE, nv12=True, progress=False)
    assert fingerprint(model_path) == before
    assert sorted(p.name for p in model_path.parent.iterdir()) == ["classifier.onnx"]


def test_insert_nv12_node_leaves_an_in_memory_model_untouched():
    model = om.classifier()
    before = model.SerializeToString()
    nv12kit.insert_nv12_node(model)
    assert model.SerializeToString() == before


# ----------------------------------------------------------------------------
# save_model
# ----------------------------------------------------------------------------
def test_save_model_refuses_to_overwrite_by_default(model_path):
    before = model_path.read_bytes()
    with pytest.raises(InputError, match=rf"{path_in(model_path)}'? already exists.*overwrite=True"):
        nv12kit.save_model(om.dense(), model_path)
    assert model_path.read_bytes() == before


def test_save_model_with_overwrite_replaces_the_file(model_path):
    nv12kit.save_model(om.dense(), model_path, overwrite=True)
    assert onnx.load(str(model_path)).graph.output[0].name == "scores"
    assert sorted(p.name for p in model_path.parent.iterdir()) == ["classifier.onnx"]


def test_save_model_into_a_missing_folder_says_to_create_it(tmp_path):
    target = tmp_path / "missing" / "model.onnx"
    with pytest.raises(InputError, match=r"parent directory .*missing' does not exist; create it first"):
        nv12kit.save_model(om.classifier(), target)
    assert not target.parent.exists()


def test_save_model_needs_a_model_proto(tmp_path):
    with pytest.raises(InputError, match=r"save_model needs an onnx.ModelProto, got bytes"):
        nv12kit.save_model(om.classifier().SerializeToString(), tmp_path / "m.onnx")


def test_failed_save_keeps_the_old_file_and_leaves_no_temp_files(model_path, monkeypatch):
    before = model_path.read_bytes()

    def half_write(model, path, *args, **kwargs):
        pathlib.Path(path).write_bytes(model.SerializeToString()[:100])
        raise OSError("No space left on device")

    monkeypatch.setattr(onnx, "save_model", half_write)
    with pytest.raises(OSError, match="No space left on device"):
        nv12kit.save_model(om.dense(), model_path, overwrite=True)
    assert model_path.read_bytes() == before
    assert os.listdir(model_path.parent) == ["classifier.onnx"]


# ----------------------------------------------------------------------------
# node settings that do not fit the model
# ----------------------------------------------------------------------------
def test_opset_older_than_11_says_to_convert_it():
    with pytest.raises(ModelError, match=r"opset 9.*opset 11 or newer.*onnx\.version_converter\.convert_version"):
        nv12kit.insert_nv12_node(om.identity(["N", 3, 8, 8], opset=9))


def test_inserting_twice_by_name_says_the_node_is_already_there():
    nv12 = nv12kit.insert_nv12_node(om.classifier())
    with pytest.raises(ModelError, match=r"already has the NV12 inputs image_y/image_uv.*pass the float model"):
        nv12kit.insert_nv12_node(nv12, input_name="image")


def test_inserting_twice_says_the_node_is_already_there():
    # Re-running a notebook cell `model = insert_nv12_node(model)` is the usual way to get here.
    nv12 = nv12kit.insert_nv12_node(om.classifier())
    with pytest.raises(ModelError, match=r"already.*image_y.*image_uv"):
        nv12kit.insert_nv12_node(nv12)


def test_new_input_names_that_are_taken_are_reported():
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, 8, 8])
    image_y = helper.make_tensor_value_info("image_y", TensorProto.FLOAT, ["N", 10])
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("a", "b")]
    graph = helper.make_graph([helper.make_node("Identity", ["image"], ["a"]),
                               helper.make_node("Identity", ["image_y"], ["b"])], "g", [image, image_y], outs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(ModelError, match=r"already uses the name 'image_y'; was the NV12 node inserted already"):
        nv12kit.insert_nv12_node(model)


@pytest.mark.parametrize("mode", ["bgr2rgb", "rgb2bgr"])
def test_channel_swap_mode_explains_the_node_sees_yuv(mode):
    with pytest.raises(ModelError, match=rf"mode='{mode}' swaps the channels of an RGB/BGR input.*'yuvbt601full2rgb'"):
        nv12kit.insert_nv12_node(om.classifier(), mode=mode)


def test_unknown_mode_lists_the_modes():
    with pytest.raises(ModelError, match=r"unknown mode 'yuv709'; expected one of \['yuvbt601full2rgb'.*'skip'\]"):
        nv12kit.insert_nv12_node(om.classifier(), mode="yuv709")


def test_unknown_upsample_lists_the_choices():
    with pytest.raises(ModelError, match=r"upsample must be one of \('nearest', 'bilinear'\), got 'cubic'"):
        nv12kit.insert_nv12_node(om.classifier(), upsample="cubic")


def test_layout_that_contradicts_the_model_says_which_layout_it_has():
    with pytest.raises(ModelError, match=r"layout='NHWC'.*'image' \[N, 3, 32, 32\] is NCHW.*pass layout='NCHW'"):
        nv12kit.insert_nv12_node(om.classifier(), layout="NHWC")


def test_unknown_layout_lists_the_layouts():
    with pytest.raises((ModelError, InputError), match=r"layout must be 'NCHW' or 'NHWC'"):
        nv12kit.insert_nv12_node(om.classifier(), layout="CHW")


def test_integer_image_input_with_normalisation_says_to_use_raw_pixels():
    model = om.identity(["N", 3, 8, 8], dtype=TensorProto.UINT8)
    with pytest.raises(ModelError, match=r"'image' is uint8.*use divisor=1, mean=0, std=1"):
        nv12kit.insert_nv12_node(model, mean=128)


def test_integer_image_input_with_raw_pixels_gets_the_exact_rgb_decode():
    model = nv12kit.insert_nv12_node(om.identity(["N", 3, 8, 8], dtype=TensorProto.UINT8), divisor=1, mean=0, std=1)
    f = frame(8, seed=3)
    got = Runner(model).run(f.to_feed("image"))["out"]
    want = nv12kit.nv12_to_rgb(f, convention="bt601-full").transpose(2, 0, 1)[None]
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, want)


# ----------------------------------------------------------------------------
# quantize
# ----------------------------------------------------------------------------
def test_quantize_with_no_calibration_images_asks_for_some():
    with pytest.raises(InputError, match=r"calibration_images is empty; give at least one image"):
        nv12kit.quantize(om.classifier(), [], preprocess=PRE, progress=False)


def test_quantize_with_a_folder_without_images_names_the_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("no images here")
    with pytest.raises(InputError, match=rf"{path_in(tmp_path)}.*no image files"):
        nv12kit.quantize(om.classifier(), tmp_path, preprocess=PRE, progress=False)


def test_quantize_needs_a_preprocess_object():
    with pytest.raises(InputError, match=r"preprocess must be an nv12kit.Preprocess, got dict"):
        nv12kit.quantize(om.classifier(), calibration_images(1), preprocess={"mean": 128, "std": 128},
                         progress=False)


def test_quantize_unknown_calibrate_method_lists_the_methods():
    with pytest.raises(InputError, match=r"calibrate_method must be one of \['entropy', 'minmax', 'percentile'\]"):
        nv12kit.quantize(om.classifier(), calibration_images(1), preprocess=PRE, calibrate_method="kl",
                         progress=False)


def test_quantize_with_a_corrupt_calibration_image_names_the_file(tmp_path):
    bad = tmp_path / "frame_0001.png"
    bad.write_bytes(_random_bytes())
    with pytest.raises(InputError, match=path_in(bad)):
        nv12kit.quantize(om.classifier(), [*calibration_images(1), bad], preprocess=PRE, progress=False)


def test_quantize_nv12_model_with_unknown_input_name_lists_its_nv12_inputs():
    # The model already has its NV12 inputs; a wrong input_name must not fall back to another pair silently.
    nv12 = nv12kit.insert_nv12_node(om.classifier())
    with pytest.raises(ModelError, match=r"'photo'.*image_y.*image_uv"):
        nv12kit.quantize(nv12, calibration_images(1), preprocess=PRE, nv12=True, input_name="photo", progress=False)


# ----------------------------------------------------------------------------
# duplicate default-domain opsets
# ----------------------------------------------------------------------------
def two_default_opsets(model: onnx.ModelProto) -> onnx.ModelProto:
    """What onnx.compose.merge_models can leave behind: ("", 13) and ("ai.onnx", 17)."""
    del model.opset_import[:]
    model.opset_import.extend([helper.make_opsetid("", 13), helper.make_opsetid("ai.onnx", 17)])
    return model


def test_merge_default_opsets_keeps_one_default_entry_at_the_highest_version():
    model = two_default_opsets(om.classifier())
    assert nv12kit.merge_default_opsets(model) is model
    assert [(op.domain, op.version) for op in model.opset_import] == [("", 17)]


def test_merge_default_opsets_keeps_other_domains():
    model = two_default_opsets(om.classifier())
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    nv12kit.merge_default_opsets(model)
    assert [(op.domain, op.version) for op in model.opset_import] == [("", 17), ("com.microsoft", 1)]


def test_quantize_works_on_a_model_with_two_default_opsets():
    model = two_default_opsets(om.classifier())
    quantized = nv12kit.quantize(model, calibration_images(2), preprocess=PRE, progress=False)
    assert any(node.op_type == "QuantizeLinear" for node in quantized.graph.node)
    assert [op.version for op in quantized.opset_import if op.domain in ("", "ai.onnx")] == [17]
    out = Runner(quantized).run({"image": PRE(calibration_images(1)[0])})["logits"]
    assert out.shape == (1, 10) and np.all(np.isfinite(out))
    assert len(model.opset_import) == 2  # the caller's model is not merged behind its back
