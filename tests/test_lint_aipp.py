"""lint_aipp: Ascend AIPP configs read into a Convention plus preprocessing, and linted.

No Ascend device or ATC runs here, so the fixtures are written from Huawei's public documentation:

* ``BGR_SAMPLE``: ATC documentation, "Sample Reference > YUV420SP_U8 to BGR"
  (hiascend.com/document/detail/en/canncommercial/800/devaids/atc/atlasatc_16_0028.html): BT.601 narrow
  matrix with the B row first, input biases 16/128/128, mean_chn 104/117/123, min_chn 0, var_reci 1.0.
* ``JPEG_RGB``: ATC documentation, "CSC Configuration", YUV420SP_U8 to RGB888_U8, JPEG column
  (atlasatc_16_0021.html; also Ascend VisionSDK's ``aipp_fasterrcnn_608_608.aippconfig``): matrix
  (256, 0, 359 / 256, -88, -183 / 256, 454, 0), input biases 0/128/128.
* The CSC formula ``(M @ (yuv - input_bias)) >> 8`` and the normalisation
  ``(pixel - mean_chn - min_chn) * var_reci_chn``: ATC "CSC Configuration" and "Normalization Configuration"
  (atlasatc_16_0022.html); the int16 matrix, uint8 biases and the [-65504, 65504] var_reci range:
  AscendCL ``aclmdlSetAIPPCscParams`` / ``aclmdlSetAIPPPixelVarReci``.
"""

from __future__ import annotations

import numpy as np
import pytest

import nv12kit
from nv12kit import InputError, NV12KitError, Preprocess, nv12_to_rgb
from nv12kit.lint import AippLint, lint_aipp
from nv12kit.lint.aipp import AIPP_FINDING_IDS, parse_aipp

BGR_SAMPLE = """\
aipp_op {
    aipp_mode: static
    input_format: YUV420SP_U8
    csc_switch: true
    # If the input image is a YVU420SP_U8 (NV21) image, set rbuv_swap_switch to true.
    rbuv_swap_switch: false
    related_input_rank: 0
    src_image_size_w: 256
    src_image_size_h: 256
    crop: false
    matrix_r0c0: 298
    matrix_r0c1: 516
    matrix_r0c2: 0
    matrix_r1c0: 298
    matrix_r1c1: -100
    matrix_r1c2: -208
    matrix_r2c0: 298
    matrix_r2c1: 0
    matrix_r2c2: 409
    input_bias_0: 16
    input_bias_1: 128
    input_bias_2: 128
    mean_chn_0: 104
    mean_chn_1: 117
    mean_chn_2: 123
    min_chn_0: 0.0
    min_chn_1: 0.0
    min_chn_2: 0.0
    var_reci_chn_0: 1.0
    var_reci_chn_1: 1.0
    var_reci_chn_2: 1.0
}
"""

JPEG_RGB = """\
aipp_op {
    aipp_mode: static
    input_format : YUV420SP_U8
    csc_switch : true
    rbuv_swap_switch : false
    matrix_r0c0 : 256
    matrix_r0c1 : 0
    matrix_r0c2 : 359
    matrix_r1c0 : 256
    matrix_r1c1 : -88
    matrix_r1c2 : -183
    matrix_r2c0 : 256
    matrix_r2c1 : 454
    matrix_r2c2 : 0
    input_bias_0 : 0
    input_bias_1 : 128
    input_bias_2 : 128
}
"""

NARROW_RGB = (BGR_SAMPLE.replace("matrix_r0c1: 516", "matrix_r0c1: 0").replace("matrix_r0c2: 0", "matrix_r0c2: 409")
              .replace("matrix_r2c1: 0", "matrix_r2c1: 516").replace("matrix_r2c2: 409", "matrix_r2c2: 0"))

IMAGENET_AIPP = (NARROW_RGB.replace("mean_chn_0: 104", "mean_chn_0: 123.675")
                 .replace("mean_chn_1: 117", "mean_chn_1: 116.28")
                 .replace("mean_chn_2: 123", "mean_chn_2: 103.53")
                 .replace("var_reci_chn_0: 1.0", f"var_reci_chn_0: {1 / 58.395!r}")
                 .replace("var_reci_chn_1: 1.0", f"var_reci_chn_1: {1 / 57.12!r}")
                 .replace("var_reci_chn_2: 1.0", f"var_reci_chn_2: {1 / 57.375!r}"))


def _write(tmp_path, text, name="aipp.cfg"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _ids(result: AippLint) -> list[str]:
    return [f.id for f in result.findings]


# ----------------------------------------------------------------------------
# reading the documented samples
# ----------------------------------------------------------------------------
def test_the_documented_bgr_sample_on_a_bgr_model_is_clean(tmp_path):
    result = lint_aipp(_write(tmp_path, BGR_SAMPLE), train_order="bgr", train_mean=(104, 117, 123), train_std=1,
                       train_divisor=1)
    assert result.standard == "bt601 limited" and result.output_order == "bgr"
    assert result.ok, result.findings
    assert result.preprocess.mean == (104.0, 117.0, 123.0) and result.preprocess.std == (1.0, 1.0, 1.0)
    assert result.convention.decoder.dtype == "fixed" and result.convention.range == "limited"


def test_the_documented_bgr_sample_on_an_rgb_model_swaps_red_and_blue(tmp_path):
    result = lint_aipp(_write(tmp_path, BGR_SAMPLE), train_order="rgb")
    assert _ids(result) == ["order"]
    finding = result.findings[0]
    assert finding.severity == "error" and "matrix_r0cY <-> matrix_r2cY" in finding.fix


def test_jpeg_config_is_full_range_and_a_limited_camera_is_flagged(tmp_path):
    path = _write(tmp_path, JPEG_RGB)
    assert lint_aipp(path).standard == "bt601 full"
    assert lint_aipp(path, chip_range="full").ok
    result = lint_aipp(path, chip_range="limited")
    assert _ids(result) == ["range"] and "input_bias_0: 16" in result.findings[0].fix


def test_frames_of_another_standard_are_flagged(tmp_path):
    result = lint_aipp(_write(tmp_path, NARROW_RGB), frames="bt709-limited")
    assert _ids(result) == ["matrix"]
    assert lint_aipp(_write(tmp_path, NARROW_RGB), frames="bt601-limited").ok


def test_the_convention_decodes_with_the_documented_formula(tmp_path):
    """The RGB narrow config decodes exactly like the ascend-aipp preset; the BGR sample gives the same colours."""
    rng = np.random.default_rng(0)
    frame = (rng.integers(0, 256, (6, 8), dtype=np.uint8), rng.integers(0, 256, (3, 4, 2), dtype=np.uint8))
    rgb = lint_aipp(_write(tmp_path, NARROW_RGB)).convention
    bgr = lint_aipp(_write(tmp_path, BGR_SAMPLE, "bgr.cfg"), train_order="bgr").convention
    expected = nv12_to_rgb(frame, convention="ascend-aipp")
    assert np.array_equal(nv12_to_rgb(frame, convention=rgb), expected)
    assert np.array_equal(nv12_to_rgb(frame, convention=bgr), expected)


def test_csc_off_feeds_yuv444(tmp_path):
    text = "aipp_op {\n aipp_mode: static\n input_format: YUV420SP_U8\n csc_switch: false\n}\n"
    assert _ids(lint_aipp(_write(tmp_path, text), train_order="rgb")) == ["csc"]
    assert lint_aipp(_write(tmp_path, text), train_order="yuv444").ok


def test_rbuv_swap_reads_nv21(tmp_path):
    result = lint_aipp(_write(tmp_path, NARROW_RGB.replace("rbuv_swap_switch: false", "rbuv_swap_switch: true")))
    assert _ids(result) == ["swap"] and result.findings[0].fix == "rbuv_swap_switch: false"
    rng = np.random.default_rng(1)
    y, uv = rng.integers(0, 256, (4, 4), dtype=np.uint8), rng.integers(0, 256, (2, 2, 2), dtype=np.uint8)
    # what AIPP makes of NV12 read as NV21: the ascend-aipp decode of the frame with U and V exchanged
    assert np.array_equal(nv12_to_rgb((y, uv), convention=result.convention),
                          nv12_to_rgb((y, np.ascontiguousarray(uv[..., ::-1])), convention="ascend-aipp"))


def test_matrix_with_u_and_v_columns_exchanged(tmp_path):
    swapped = (NARROW_RGB.replace("matrix_r0c1: 0", "matrix_r0c1: 409").replace("matrix_r0c2: 409", "matrix_r0c2: 0")
               .replace("matrix_r1c1: -100", "matrix_r1c1: -208").replace("matrix_r1c2: -208", "matrix_r1c2: -100")
               .replace("matrix_r2c1: 516", "matrix_r2c1: 0").replace("matrix_r2c2: 0", "matrix_r2c2: 516"))
    result = lint_aipp(_write(tmp_path, swapped))
    assert _ids(result) == ["csc"] and result.findings[0].severity == "error"
    assert "exchange matrix_rXc1 and matrix_rXc2" in result.findings[0].fix


def test_a_matrix_of_no_standard_is_a_warning(tmp_path):
    result = lint_aipp(_write(tmp_path, NARROW_RGB.replace("matrix_r0c2: 409", "matrix_r0c2: 380")))
    assert _ids(result) == ["csc"] and result.findings[0].severity == "warning"
    assert result.output_order == "rgb"  # from where the V and U weights sit


def test_other_input_formats_check_only_the_normalisation(tmp_path):
    result = lint_aipp(_write(tmp_path, "aipp_op { aipp_mode: static input_format: RGB888_U8 }"))
    assert _ids(result) == ["format"] and result.convention is None


# ----------------------------------------------------------------------------
# the normalisation, as lint_node judges it
# ----------------------------------------------------------------------------
def test_torchvision_model_with_matching_aipp_normalisation(tmp_path):
    pre = Preprocess.from_model(nv12kit.data.model_path("demo_robust"))  # (x/255 - ImageNet mean) / std
    assert lint_aipp(_write(tmp_path, IMAGENET_AIPP), preprocess=pre).ok


def test_forgotten_std_is_named_with_the_lines_to_write(tmp_path):
    pre = Preprocess.from_torch(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
    text = IMAGENET_AIPP.replace(f"var_reci_chn_0: {1 / 58.395!r}", "var_reci_chn_0: 1.0")
    result = lint_aipp(_write(tmp_path, text), preprocess=pre)
    assert "std" in _ids(result)
    fix = result.findings[_ids(result).index("std")].fix
    assert "mean_chn_0: 123.675" in fix and "var_reci_chn_0: 0.0171247" in fix


def test_zero_to_one_statistics_in_aipp(tmp_path):
    text = (NARROW_RGB.replace("mean_chn_0: 104", "mean_chn_0: 0.485").replace("mean_chn_1: 117", "mean_chn_1: 0.456")
            .replace("mean_chn_2: 123", "mean_chn_2: 0.406").replace("var_reci_chn_0: 1.0", "var_reci_chn_0: 4.367")
            .replace("var_reci_chn_1: 1.0", "var_reci_chn_1: 4.464")
            .replace("var_reci_chn_2: 1.0", "var_reci_chn_2: 4.444"))
    result = lint_aipp(_write(tmp_path, text))
    assert _ids(result) == ["scale"]
    assert "0-1 statistics" in result.findings[0].message and "mean_chn_0: 123.675" in result.findings[0].fix


def test_finding_ids_and_dict(tmp_path):
    result = lint_aipp(_write(tmp_path, BGR_SAMPLE), train_order="rgb", chip_range="full")
    assert set(_ids(result)) <= set(AIPP_FINDING_IDS)
    data = result.to_dict()
    assert data["standard"] == "bt601 limited" and data["findings"][0]["id"] in AIPP_FINDING_IDS
    assert "AIPP config" in str(result)


def test_input_rank_picks_the_block(tmp_path):
    two = BGR_SAMPLE + JPEG_RGB.replace("aipp_mode: static", "aipp_mode: static\n    related_input_rank: 1")
    path = _write(tmp_path, two)
    assert lint_aipp(path, input_rank=1).standard == "bt601 full"
    with pytest.raises(InputError, match="input_rank=2"):
        lint_aipp(path, input_rank=2)


# ----------------------------------------------------------------------------
# hostile configs: every one an nv12kit error that names the line and the fix
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("text,match", [
    (BGR_SAMPLE.replace("crop: false", "crop: false\n    colour_magic: 3"), "unknown key 'colour_magic'"),
    (BGR_SAMPLE.replace("    input_format: YUV420SP_U8\n", ""), "no input_format"),
    (BGR_SAMPLE.replace("    matrix_r1c2: -208\n", ""), "matrix_r1c2 are missing"),
    (BGR_SAMPLE.replace("matrix_r0c0: 298", "matrix_r0c0: lots"), "must be a number"),
    (BGR_SAMPLE.replace("matrix_r0c0: 298", "matrix_r0c0: 298.5"), "must be an integer"),
    (BGR_SAMPLE.replace("matrix_r0c0: 298", "matrix_r0c0: 70000"), "int16"),
    (BGR_SAMPLE.replace("input_bias_0: 16", "input_bias_0: -1"), "uint8"),
    (BGR_SAMPLE.replace("var_reci_chn_0: 1.0", "var_reci_chn_0: nan"), "must be a number"),
    (BGR_SAMPLE.replace("var_reci_chn_0: 1.0", "var_reci_chn_0: 1e6"), "65504"),
    (BGR_SAMPLE.replace("var_reci_chn_0: 1.0", "var_reci_chn_0: 0"), "all zeros"),
    (BGR_SAMPLE.replace("csc_switch: true", "csc_switch: maybe"), "true or false"),
    (BGR_SAMPLE.replace("input_format: YUV420SP_U8", "input_format: NV12"), "unknown input_format"),
    (BGR_SAMPLE.replace("crop: false", "crop: false\n    crop: true"), "twice"),
    (BGR_SAMPLE.rstrip().rstrip("}"), "not closed"),
    ("hello " + BGR_SAMPLE, "expected 'aipp_op"),
    (BGR_SAMPLE.replace("crop: false", "nested {"), "expected 'key: value'|unexpected"),
    ("# only a comment\n", "no aipp_op block"),
])
def test_hostile_configs(tmp_path, text, match):
    with pytest.raises(InputError, match=match) as exc:
        lint_aipp(_write(tmp_path, text))
    assert isinstance(exc.value, NV12KitError)


def test_huge_binary_and_non_regular_files(tmp_path):
    huge = tmp_path / "huge.cfg"
    huge.write_bytes(b"#" * ((1 << 20) + 1))
    with pytest.raises(InputError, match="max_bytes"):
        lint_aipp(huge)
    binary = tmp_path / "binary.cfg"
    binary.write_bytes(b"aipp_op { \xff\xfe }")
    with pytest.raises(InputError, match="not a text file"):
        lint_aipp(binary)
    with pytest.raises(InputError):
        lint_aipp(tmp_path)  # a directory
    with pytest.raises(InputError):
        lint_aipp(tmp_path / "missing.cfg")


def test_bad_options(tmp_path):
    path = _write(tmp_path, BGR_SAMPLE)
    with pytest.raises(InputError, match="train_order"):
        lint_aipp(path, train_order="rgba")
    with pytest.raises(InputError, match="chip_range"):
        lint_aipp(path, chip_range="tv")
    with pytest.raises(InputError, match="Preprocess"):
        lint_aipp(path, preprocess={"mean": 1})


def test_parse_aipp_text():
    blocks = parse_aipp('aipp_op { aipp_mode: dynamic input_format: RGB888_U8 related_input_name: "data" }')
    assert blocks == [{"aipp_mode": "dynamic", "input_format": "RGB888_U8", "related_input_name": "data"}]
    with pytest.raises(InputError, match="str"):
        parse_aipp(b"aipp_op {}")  # type: ignore[arg-type]


def test_top_level_export():
    assert nv12kit.lint_aipp is lint_aipp
