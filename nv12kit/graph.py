"""ONNX surgery: the NV12 preprocessing node and the quantised variants.

The forum's procedure compares four models built from one float model:

============  =====================================  ==========================
name          what                                   how nv12kit builds it
============  =====================================  ==========================
qat_feat      the float model, normalised input      the model as given
qat_nv12      the float model behind the NV12 node   :func:`insert_nv12_node`
quantized_*   the same two, int8                     :func:`quantize`
============  =====================================  ==========================

:func:`insert_nv12_node` follows the documented semantics of Horizon hbdk4's
``insert_image_convert("nv12")``, ``insert_image_preprocess(mode, divisor,
mean, std)`` and ``insert_transpose``: Y ``[N, H, W, 1]`` and UV
``[N, H/2, W/2, 2]`` uint8 in, the model's normalised tensor out.
"""

from __future__ import annotations

import json
import os
import pathlib
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ._util import progress as progress_bar
from .conventions import get_convention
from .errors import InputError, ModelError
from .model import ImageInputSpec, describe_inputs, graph_inputs, load_model
from .preprocess import NODE_MODES, Preprocess, check_preprocess
from .runtime import quiet_onnxruntime

__all__ = [
    "NODE_MODES",
    "NODE_METADATA_KEY",
    "NV12Input",
    "ModelVariants",
    "VARIANT_NAMES",
    "build_variants",
    "insert_nv12_node",
    "nv12_inputs",
    "quantize",
    "merge_default_opsets",
]


#: ``metadata_props`` key recording the settings of an inserted node, as JSON.
NODE_METADATA_KEY = "nv12kit.nv12_node"

_UPSAMPLE = ("nearest", "bilinear")
_MIN_OPSET = 11  # Resize with roi/scales inputs and Clip with min/max inputs
_DEFAULT_DOMAINS = ("", "ai.onnx")


# ----------------------------------------------------------------------------
# modes
# ----------------------------------------------------------------------------
def _parse_mode(mode: str | None) -> tuple[str | None, str | None]:
    """(range, order) of a mode: ('full', 'rgb'), ... or (None, None) for pass-through."""
    if mode is None or mode == "skip":
        return None, None
    if mode in ("bgr2rgb", "rgb2bgr"):
        raise ModelError(
            f"mode={mode!r} swaps the channels of an RGB/BGR input; behind an NV12 input the node sees YUV. "
            "For a model trained on RGB use 'yuvbt601full2rgb' (or 'yuvbt601video2rgb' for limited-range NV12); "
            "on BGR use the '...2bgr' modes"
        )
    if not isinstance(mode, str) or mode not in NODE_MODES:
        raise ModelError(f"unknown mode {mode!r}; expected one of {list(NODE_MODES)}")
    rng = "full" if "full" in mode else "video"
    return rng, mode[-3:]


def _decode_weights(rng: str, order: str) -> tuple[np.ndarray, np.ndarray]:
    """1x1 conv weights [3, 3, 1, 1] and bias [3] turning (Y, U, V) into the model's colours.

    The exact BT.601 inverse (``bt601-full`` / ``bt601-limited`` in
    :data:`nv12kit.CONVENTIONS`), so the node decodes like ``nv12_to_rgb``.
    """
    conv = get_convention("bt601-full" if rng == "full" else "bt601-limited")
    exact, offset = conv.exact_decode_matrix()
    matrix = np.array([[float(v) for v in row] for row in exact], dtype=np.float64)
    if order == "bgr":
        matrix = matrix[::-1]
    bias = -matrix @ np.array([float(v) for v in offset])
    return matrix.reshape(3, 3, 1, 1).astype(np.float32), bias.astype(np.float32)


# ----------------------------------------------------------------------------
# graph helpers
# ----------------------------------------------------------------------------
def merge_default_opsets(model: onnx.ModelProto) -> onnx.ModelProto:
    """Merge duplicate entries for the default ONNX domain into one, in place.

    ``onnx.compose.merge_models`` can leave both ``""`` and ``"ai.onnx"``
    (or two ``""``) entries in ``opset_import``;
    ``onnxruntime.quantization.quantize_static`` then fails with "Failed to
    find proper ai.onnx domain". The highest version is kept.

    Returns
    -------
    onnx.ModelProto
        The same model, for chaining.
    """
    default = [op for op in model.opset_import if op.domain in _DEFAULT_DOMAINS]
    if len(default) <= 1 and all(op.domain == "" for op in default):
        return model
    version = max(op.version for op in default)
    others = [(op.domain, op.version) for op in model.opset_import if op.domain not in _DEFAULT_DOMAINS]
    del model.opset_import[:]
    model.opset_import.append(helper.make_opsetid("", version))
    for domain, ver in others:
        model.opset_import.append(helper.make_opsetid(domain, ver))
    return model


def _default_opset(model: onnx.ModelProto) -> int:
    versions = [op.version for op in model.opset_import if op.domain in _DEFAULT_DOMAINS]
    if not versions:
        raise ModelError("the model imports no default ONNX opset; re-export it with an opset of 11 or newer")
    return max(versions)


def _all_names(model: onnx.ModelProto) -> set[str]:
    graph = model.graph
    names = {v.name for v in graph.input} | {v.name for v in graph.output}
    names |= {init.name for init in graph.initializer} | {v.name for v in graph.value_info}
    for node in graph.node:
        names.update(node.input)
        names.update(node.output)
        names.add(node.name)
    return names


def _plane_dim(dim: int | str | None, suffix: str, half: bool) -> int | str | None:
    if isinstance(dim, int):
        return dim // 2 if half else dim
    if dim is None:
        return None
    return f"{dim}{suffix}" if half else dim


class _Builder:
    """Collects the node's ops and constants under one name prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def const(self, name: str, value: np.ndarray) -> str:
        full = self.prefix + name
        self.initializers.append(numpy_helper.from_array(np.asarray(value), full))
        return full

    def op(self, op_type: str, inputs: Sequence[str], name: str, **attrs: Any) -> str:
        out = self.prefix + name
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out


@dataclass(frozen=True)
class NV12Input:
    """An NV12 input pair of a model built by :func:`insert_nv12_node`.

    Attributes
    ----------
    name : str
        The original image input (``frame.to_feed(name)`` feeds it).
    y, uv : str
        The two uint8 inputs, ``name + "_y"`` and ``name + "_uv"``.
    height, width : int, str or None
        Frame size (static ints, or dynamic).
    settings : dict
        The node's settings (mode, divisor, mean, std, layout, upsample) when
        nv12kit inserted it; empty for models made elsewhere.
    """

    name: str
    y: str
    uv: str
    height: int | str | None
    width: int | str | None
    settings: Mapping[str, Any]


def nv12_inputs(model: Any) -> list[NV12Input]:
    """The NV12 input pairs of a model: inputs ``<name>_y`` [N,H,W,1] and ``<name>_uv`` [N,H/2,W/2,2].

    Parameters
    ----------
    model : str, os.PathLike or onnx.ModelProto

    Returns
    -------
    list of NV12Input
        Empty if the model has none.
    """
    proto = load_model(model)
    inputs = {v.name: v for v in graph_inputs(proto)}
    props = {p.key: p.value for p in proto.metadata_props}
    settings_by_name: dict[str, Any] = {}
    if NODE_METADATA_KEY in props:
        try:
            recorded = json.loads(props[NODE_METADATA_KEY])
            settings_by_name = {entry["input"]: entry for entry in recorded}
        except (json.JSONDecodeError, KeyError, TypeError):
            settings_by_name = {}
    found = []
    for name, value in inputs.items():
        if not name.endswith("_y") or name[:-2] + "_uv" not in inputs:
            continue
        base = name[:-2]
        dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
                for d in value.type.tensor_type.shape.dim]
        if len(dims) != 4:
            continue
        found.append(NV12Input(base, name, base + "_uv", dims[1], dims[2], settings_by_name.get(base, {})))
    return found


# ----------------------------------------------------------------------------
# insert_nv12_node
# ----------------------------------------------------------------------------
def insert_nv12_node(
    model: Any,
    *,
    input_name: str | None = None,
    mode: str | None = "yuvbt601full2rgb",
    divisor: float = 1.0,
    mean: float | Sequence[float] = (128.0, 128.0, 128.0),
    std: float | Sequence[float] = (128.0, 128.0, 128.0),
    layout: Literal["NCHW", "NHWC"] | None = None,
    upsample: Literal["nearest", "bilinear"] = "nearest",
) -> onnx.ModelProto:
    """Return a copy of a float model that takes NV12 Y/UV planes instead of its image.

    The image input ``<name>`` is replaced by ``<name>_y`` ``[N, H, W, 1]``
    uint8 and ``<name>_uv`` ``[N, H/2, W/2, 2]`` uint8 (U first). In front of
    the original graph the node up-samples chroma, converts YUV to the
    model's colours by ``mode``, computes ``((x / divisor) - mean) / std``
    and lays the result out as the model expects.

    Parameters
    ----------
    model : str, os.PathLike or onnx.ModelProto
        The float model. A file is only read; a ModelProto is copied.
    input_name : str, optional
        The image input; found automatically when there is only one.
    mode : str or None, optional
        ``"yuvbt601full2rgb"`` (default), ``"yuvbt601full2bgr"``,
        ``"yuvbt601video2rgb"``, ``"yuvbt601video2bgr"``, or ``None`` /
        ``"skip"`` for a model trained on YUV444.
    divisor : float, optional
        Divides the converted pixel first.
    mean, std : float or 3 floats, optional
        Per channel, in the model's channel order (after ``mode``), in units
        of ``x / divisor``.
    layout : {"NCHW", "NHWC"}, optional
        Layout of the model's image input. Detected by default; give it for
        inputs whose channel dimension is dynamic. A value that contradicts
        the model's shape is an error.
    upsample : {"nearest", "bilinear"}, optional
        Chroma up-sampling: pixel replication (hbdk4, TI) or centre-sited
        bilinear (weights 3/4, 1/4, edges clamped).

    Returns
    -------
    onnx.ModelProto
        The new model. Other inputs, all outputs, the opset and a dynamic
        batch are kept. ``metadata_props["nv12kit.nv12_node"]`` records the
        settings.

    Raises
    ------
    ModelError
        The model cannot be read, has no (or an ambiguous) image input, a
        static odd height or width, an opset older than 11, or already
        has inputs with the new names; or ``mode`` is unknown.

    Notes
    -----
    The colour conversion is the exact BT.601 inverse (full range: 1.402,
    0.344136, 0.714136, 1.772; video range additionally scales Y - 16 by
    255/219 and chroma by 255/224), rounded half up and clipped to 0-255 as
    an 8-bit decoder does. So for the same frame the node gives exactly the
    tensor ``Preprocess(...)(nv12_to_rgb(frame, convention="bt601-full"))``
    (``"bt601-limited"`` for the video modes), up to float32 ties. The
    ``horizon`` convention decodes the same way.

    Examples
    --------
    >>> import numpy as np, onnx, onnxruntime as ort
    >>> from onnx import TensorProto, helper
    >>> import nv12kit
    >>> x = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, 4, 4])
    >>> y = helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 3, 4, 4])
    >>> float_model = helper.make_model(
    ...     helper.make_graph([helper.make_node("Identity", ["image"], ["out"])], "g", [x], [y]),
    ...     opset_imports=[helper.make_opsetid("", 17)])
    >>> nv12_model = nv12kit.insert_nv12_node(float_model, mean=128, std=128)
    >>> [i.name for i in nv12_model.graph.input]
    ['image_y', 'image_uv']
    >>> frame = nv12kit.rgb_to_nv12(np.full((4, 4, 3), 192, np.uint8))
    >>> session = ort.InferenceSession(nv12_model.SerializeToString(), providers=["CPUExecutionProvider"])
    >>> float(session.run(None, frame.to_feed("image"))[0][0, 0, 0, 0])
    0.5
    """
    rng, order = _parse_mode(mode)
    if upsample not in _UPSAMPLE:
        raise ModelError(f"upsample must be one of {_UPSAMPLE}, got {upsample!r}")
    settings = Preprocess(mean=mean, std=std, divisor=divisor, order=order or "yuv444", layout=layout or "NCHW")
    source = load_model(model)
    existing = nv12_inputs(source)
    real_inputs = {v.name for v in graph_inputs(source)}
    if existing and (input_name is None or input_name not in real_inputs):
        pairs = ", ".join(f"{p.y}/{p.uv}" for p in existing)
        raise ModelError(
            f"the model already has the NV12 inputs {pairs} (the node was inserted already); "
            "pass the float model instead"
        )
    spec = ImageInputSpec.from_model(source, input_name, layout=layout)
    opset = _default_opset(source)
    if opset < _MIN_OPSET:
        raise ModelError(
            f"the model uses opset {opset}; the NV12 node needs opset {_MIN_OPSET} or newer. Convert it first: "
            f"onnx.version_converter.convert_version(model, {_MIN_OPSET})"
        )
    for dim_name, dim in (("height", spec.height), ("width", spec.width)):
        if isinstance(dim, int) and dim % 2:
            raise ModelError(
                f"the model's input {spec.name!r} has an odd {dim_name} ({dim}); NV12 carries chroma at half "
                "resolution, so both sides must be even. Re-export the model at an even size (e.g. "
                f"{dim + 1} or {dim - 1})"
            )
    target_type = helper.np_dtype_to_tensor_dtype(spec.numpy_dtype())
    if np.issubdtype(spec.numpy_dtype(), np.integer) and (
        settings.divisor != 1 or any(settings.mean) or any(s != 1 for s in settings.std)
    ):
        raise ModelError(
            f"the model's input {spec.name!r} is {spec.dtype}, so it takes raw pixels: use divisor=1, "
            "mean=0, std=1 (its own graph normalises)"
        )

    new = onnx.ModelProto()
    new.CopyFrom(source)
    taken = _all_names(new)
    y_name, uv_name = f"{spec.name}_y", f"{spec.name}_uv"
    for name in (y_name, uv_name):
        if name in taken:
            raise ModelError(
                f"the model already uses the name {name!r}; was the NV12 node inserted already? "
                f"Its inputs are: {describe_inputs(new)}"
            )
    prefix = f"nv12kit/{spec.name}/"
    while any(n.startswith(prefix) for n in taken):
        prefix = "_" + prefix

    b = _Builder(prefix)
    y = b.op("Cast", [y_name], "y_float", to=TensorProto.FLOAT)
    uv = b.op("Cast", [uv_name], "uv_float", to=TensorProto.FLOAT)
    y = b.op("Transpose", [y], "y_nchw", perm=[0, 3, 1, 2])
    uv = b.op("Transpose", [uv], "uv_nchw", perm=[0, 3, 1, 2])
    roi = b.const("roi", np.zeros(0, np.float32))
    scales = b.const("scales", np.array([1, 1, 2, 2], np.float32))
    if upsample == "nearest":
        uv = b.op("Resize", [uv, roi, scales], "uv_up", mode="nearest",
                  coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    else:
        uv = b.op("Resize", [uv, roi, scales], "uv_up", mode="linear", coordinate_transformation_mode="half_pixel")
    x = b.op("Concat", [y, uv], "yuv444", axis=1)
    if rng is not None:
        weights, bias = _decode_weights(rng, order)  # type: ignore[arg-type]
        x = b.op("Conv", [x, b.const("decode_w", weights), b.const("decode_b", bias)], "colour")
        x = b.op("Add", [x, b.const("half", np.array(0.5, np.float32))], "colour_plus_half")
        x = b.op("Floor", [x], "colour_rounded")
        x = b.op("Clip", [x, b.const("lo", np.array(0, np.float32)), b.const("hi", np.array(255, np.float32))],
                 "colour_u8")
    x = b.op("Div", [x, b.const("divisor", np.array(settings.divisor, np.float32))], "scaled")
    x = b.op("Sub", [x, b.const("mean", np.array(settings.mean, np.float32).reshape(1, 3, 1, 1))], "centred")
    x = b.op("Div", [x, b.const("std", np.array(settings.std, np.float32).reshape(1, 3, 1, 1))], "normalised")
    if spec.layout == "NHWC":
        x = b.op("Transpose", [x], "nhwc", perm=[0, 2, 3, 1])
    if target_type != TensorProto.FLOAT:
        x = b.op("Cast", [x], "cast", to=target_type)
    # The last op writes the original input name, so the rest of the graph is untouched.
    b.nodes[-1].output[0] = spec.name

    batch = spec.batch if spec.batch is not None else "N"
    y_info = helper.make_tensor_value_info(y_name, TensorProto.UINT8, [batch, spec.height, spec.width, 1])
    uv_info = helper.make_tensor_value_info(
        uv_name, TensorProto.UINT8,
        [batch, _plane_dim(spec.height, "_half", True), _plane_dim(spec.width, "_half", True), 2],
    )
    graph = new.graph
    position = [v.name for v in graph.input].index(spec.name)
    kept = [v for v in graph.input if v.name != spec.name]
    del graph.input[:]
    graph.input.extend(kept[:position] + [y_info, uv_info] + kept[position:])
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(b.nodes + nodes)
    graph.initializer.extend(b.initializers)
    stale = [v for v in graph.value_info if v.name == spec.name]
    for v in stale:
        graph.value_info.remove(v)

    record = {
        "input": spec.name,
        "mode": mode,
        "divisor": settings.divisor,
        "mean": list(settings.mean),
        "std": list(settings.std),
        "layout": spec.layout,
        "upsample": upsample,
    }
    _append_node_record(new, record)
    _check_node(b, [y_info, uv_info], spec.name, target_type, new)
    return new


def _check_node(builder: _Builder, inputs: list[onnx.ValueInfoProto], output: str, output_type: int,
                model: onnx.ModelProto) -> None:
    """Validate the inserted node on its own: checking the whole model would serialise all its weights again.

    The rest of the graph is the user's, untouched, and onnxruntime validates it when it loads the model.
    """
    part = helper.make_graph(builder.nodes, "nv12kit_node", inputs,
                             [helper.make_tensor_value_info(output, output_type, ["n", "a", "b", "c"])],
                             builder.initializers)
    alone = helper.make_model(part, opset_imports=list(model.opset_import))
    alone.ir_version = model.ir_version
    try:
        onnx.checker.check_model(alone)
    except onnx.checker.ValidationError as exc:  # pragma: no cover - would be a bug in the builder
        raise ModelError(f"the NV12 node nv12kit built does not validate: {exc}") from exc


def _append_node_record(model: onnx.ModelProto, record: dict[str, Any]) -> None:
    props = {p.key: p for p in model.metadata_props}
    records = []
    if NODE_METADATA_KEY in props:
        try:
            records = json.loads(props[NODE_METADATA_KEY].value)
        except json.JSONDecodeError:
            records = []
        props[NODE_METADATA_KEY].value = json.dumps(records + [record])
    else:
        entry = model.metadata_props.add()
        entry.key, entry.value = NODE_METADATA_KEY, json.dumps([record])


# ----------------------------------------------------------------------------
# quantisation
# ----------------------------------------------------------------------------
def _fit_to(rgb: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    from .images import crop_to_even, resize_to

    if size is not None and rgb.shape[:2] != size:
        return resize_to(rgb, size[0], size[1])
    return crop_to_even(rgb) if size is None else rgb


def _calibration_reader(feeds: Iterator[dict[str, np.ndarray]]) -> Any:
    from onnxruntime.quantization import CalibrationDataReader

    class _Reader(CalibrationDataReader):
        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(feeds, None)

    return _Reader()


def _quant_pre_process(model: onnx.ModelProto, path: pathlib.Path) -> onnx.ModelProto:
    """ORT's recommended preparation (shape inference, graph fusions); the model as is if it fails.

    Fusing e.g. Conv with BatchNorm first gives the quantiser the graph the
    runtime will run, as onnxruntime's quantisation guide asks.
    """
    from onnxruntime.quantization.shape_inference import quant_pre_process

    try:
        quant_pre_process(model, str(path), skip_symbolic_shape=False, auto_merge=True)
        prepared = onnx.load(str(path))
    except Exception:  # symbolic shape inference gives up on some exotic graphs; quantise unprepared
        return model
    return merge_default_opsets(prepared)


def quantize(
    model: Any,
    calibration_images: Any,
    *,
    preprocess: Preprocess,
    nv12: bool = False,
    convention: Any = "horizon",
    input_name: str | None = None,
    chip_range: Literal["full", "limited"] = "full",
    extra_inputs: Mapping[str, np.ndarray] | None = None,
    per_channel: bool = False,
    calibrate_method: Literal["minmax", "entropy", "percentile"] = "minmax",
    op_types_to_quantize: Sequence[str] | None = None,
    nodes_to_exclude: Sequence[str] | None = None,
    extra_options: Mapping[str, Any] | None = None,
    progress: bool = True,
) -> onnx.ModelProto:
    """Static int8 QDQ quantisation of the feat or the NV12 variant of a model.

    Parameters
    ----------
    model : str, os.PathLike or onnx.ModelProto
        The float model (``qat_feat``) or, with ``nv12=True``, either the
        float model (the node is inserted with ``preprocess``) or a model
        that already has the NV12 inputs (``qat_nv12``).
    calibration_images : image, sequence of images, or a folder
        Paths, PIL images or uint8 RGB arrays; resized to the model's size.
        Real frames from the camera give the most faithful ranges.
    preprocess : Preprocess
        The model's normalisation. The feat variant is calibrated on
        ``preprocess(rgb)``; the NV12 variant on
        ``rgb_to_nv12(rgb, convention)``, so the node itself is quantised,
        as on the chip.
    nv12 : bool, optional
        Quantise the NV12 variant instead of the feat one.
    convention : str or Convention, optional
        How calibration frames are encoded to NV12.
    input_name : str, optional
        The image input, if the model has several candidates.
    chip_range : {"full", "limited"}, optional
        Range of the node inserted when ``model`` is the float model.
    extra_inputs : mapping, optional
        Values for the model's other inputs, fed with every calibration frame.
    per_channel, calibrate_method, op_types_to_quantize, nodes_to_exclude, extra_options
        Passed to ``onnxruntime.quantization.quantize_static``.
    progress : bool, optional
        Show a progress bar over the calibration frames (``tqdm.auto``).

    Returns
    -------
    onnx.ModelProto
        The QDQ model: int8 weights and activations, with the same inputs
        and outputs as the variant it came from.

    Raises
    ------
    ModelError
        The model or its inputs are unusable, or onnxruntime fails (its
        message is included).
    InputError
        A calibration image cannot be loaded or ``calibration_images`` is empty.
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    from .convert import rgb_to_nv12
    from .images import image_sources, load_image

    check_preprocess(preprocess)
    methods = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
               "percentile": CalibrationMethod.Percentile}
    if calibrate_method not in methods:
        raise InputError(f"calibrate_method must be one of {sorted(methods)}, got {calibrate_method!r}")
    source = load_model(model)
    if nv12:
        pairs = nv12_inputs(source)
        if not pairs:
            source = insert_nv12_node(source, input_name=input_name, **preprocess.node_kwargs(chip_range=chip_range))
            pairs = nv12_inputs(source)
        if input_name is not None:
            chosen = [p for p in pairs if p.name == input_name]
            if not chosen:
                listed = ", ".join(f"{p.name!r} ({p.y}/{p.uv})" for p in pairs)
                raise ModelError(f"the model has no NV12 input for {input_name!r}; its NV12 inputs are {listed}")
            pairs = chosen
        pair = pairs[0]
        size = (pair.height, pair.width) if isinstance(pair.height, int) and isinstance(pair.width, int) else None
        image_name = pair.name
    else:
        spec = ImageInputSpec.from_model(source, input_name, layout=preprocess.layout)
        size, image_name = spec.static_size, spec.name
    sources = image_sources(calibration_images, name="calibration_images",
                            hint="give at least one image (ideally 20-100 real frames)")
    extra = dict(extra_inputs or {})

    def feeds() -> Iterator[dict[str, np.ndarray]]:
        for item in progress_bar(sources, enabled=progress, desc="calibrating", unit="frame"):
            rgb = _fit_to(load_image(item), size)
            if nv12:
                feed = {k: np.ascontiguousarray(v) for k, v in rgb_to_nv12(rgb, convention=convention)
                        .to_feed(image_name).items()}
            else:
                feed = {image_name: preprocess(rgb)}
            yield {**feed, **extra}

    prepared = onnx.ModelProto()
    prepared.CopyFrom(source)
    merge_default_opsets(prepared)
    options = {"ActivationSymmetric": False, "WeightSymmetric": True, **dict(extra_options or {})}
    with quiet_onnxruntime(), tempfile.TemporaryDirectory(prefix="nv12kit-quant-") as tmp:
        out = pathlib.Path(tmp) / "quantized.onnx"
        prepared = _quant_pre_process(prepared, pathlib.Path(tmp) / "prepared.onnx")
        try:
            quantize_static(
                prepared,
                str(out),
                _calibration_reader(feeds()),
                quant_format=QuantFormat.QDQ,
                # uint8 weights: onnxruntime's uint8 x int8 kernels sum pairs of products in int16 on x86 CPUs
                # without VNNI and saturate (measured: demo_fragile int8 cosine 0.87 instead of 0.97), which no
                # chip does; uint8 x uint8 runs without saturation everywhere.
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QUInt8,
                per_channel=per_channel,
                calibrate_method=methods[calibrate_method],
                op_types_to_quantize=list(op_types_to_quantize) if op_types_to_quantize else None,
                nodes_to_exclude=list(nodes_to_exclude) if nodes_to_exclude else None,
                extra_options=options,
            )
        except (InputError, ModelError):
            raise
        except Exception as exc:
            raise ModelError(f"onnxruntime static quantisation failed: {type(exc).__name__}: {exc}") from exc
        quantized = onnx.load(str(out))
    kept = {p.key: p.value for p in source.metadata_props}
    kept["nv12kit.quantized"] = json.dumps(
        {"format": "QDQ int8", "calibration_frames": len(sources), "per_channel": per_channel,
         "calibrate_method": calibrate_method, "nv12": nv12}
    )
    del quantized.metadata_props[:]
    for key, value in kept.items():
        entry = quantized.metadata_props.add()
        entry.key, entry.value = key, value
    return quantized


# ----------------------------------------------------------------------------
# the four variants of the forum's procedure
# ----------------------------------------------------------------------------
VARIANT_NAMES = ("qat_feat", "qat_nv12", "quantized_feat", "quantized_nv12")


@dataclass
class ModelVariants:
    """The float and quantised models with and without the NV12 node.

    Attributes
    ----------
    qat_feat, qat_nv12 : onnx.ModelProto
        The float model and the float model behind the NV12 node.
    quantized_feat, quantized_nv12 : onnx.ModelProto or None
        Their static int8 QDQ versions, when calibration images were given.
    input_name : str
        The image input of the float model; ``frame.to_feed(input_name)``
        feeds the NV12 variants.
    preprocess : Preprocess
        The normalisation both paths share.
    """

    qat_feat: onnx.ModelProto
    qat_nv12: onnx.ModelProto
    quantized_feat: onnx.ModelProto | None
    quantized_nv12: onnx.ModelProto | None
    input_name: str
    preprocess: Preprocess

    def items(self) -> list[tuple[str, onnx.ModelProto]]:
        """``(name, model)`` for every variant that exists, in :data:`VARIANT_NAMES` order."""
        return [(name, getattr(self, name)) for name in VARIANT_NAMES if getattr(self, name) is not None]

    def save(
        self, folder: str | os.PathLike[str], *, stem: str = "model", overwrite: bool = False
    ) -> dict[str, pathlib.Path]:
        """Write each variant to ``folder/<stem>_<variant>.onnx`` atomically.

        Returns
        -------
        dict of str to pathlib.Path
            Variant name to the file written.

        Raises
        ------
        InputError
            If ``folder`` does not exist, or a file exists and ``overwrite``
            is False (checked for all files before any is written).
        """
        from .model import save_model

        root = pathlib.Path(folder)
        if not root.is_dir():
            raise InputError(f"{str(root)!r} is not a folder; create it first")
        targets = {name: root / f"{stem}_{name}.onnx" for name, _ in self.items()}
        existing = [str(p) for p in targets.values() if p.exists()]
        if existing and not overwrite:
            raise InputError(f"{existing} already exist; choose another folder or stem, or pass overwrite=True")
        return {name: save_model(model, targets[name], overwrite=overwrite) for name, model in self.items()}


def build_variants(
    model: Any,
    *,
    preprocess: Preprocess,
    calibration_images: Any = None,
    convention: Any = "horizon",
    input_name: str | None = None,
    chip_range: Literal["full", "limited"] = "full",
    upsample: Literal["nearest", "bilinear"] = "nearest",
    per_channel: bool = False,
    progress: bool = True,
) -> ModelVariants:
    """Build ``qat_feat``, ``qat_nv12`` and, with calibration images, their quantised versions.

    Parameters
    ----------
    model : str, os.PathLike or onnx.ModelProto
        The float model; never modified.
    preprocess : Preprocess
        The model's normalisation; it also sets the node's mode, divisor,
        mean, std and layout.
    calibration_images : image, sequence of images, or a folder, optional
        Frames to calibrate the int8 variants with; no quantised variants
        without them.
    convention : str or Convention, optional
        How calibration frames are encoded to NV12.
    input_name, chip_range, upsample
        As in :func:`insert_nv12_node` and :func:`quantize`.
    per_channel : bool, optional
        Per-channel weight quantisation.
    progress : bool, optional
        Progress bars while calibrating.

    Returns
    -------
    ModelVariants
    """
    check_preprocess(preprocess)
    feat = load_model(model)
    spec = ImageInputSpec.from_model(feat, input_name, layout=preprocess.layout)
    nv12 = insert_nv12_node(feat, input_name=spec.name, upsample=upsample,
                            **preprocess.node_kwargs(chip_range=chip_range))
    quantized_feat = quantized_nv12 = None
    if calibration_images is not None:
        common = {"preprocess": preprocess, "convention": convention, "input_name": spec.name,
                  "per_channel": per_channel, "progress": progress}
        quantized_feat = quantize(feat, calibration_images, **common)
        quantized_nv12 = quantize(nv12, calibration_images, nv12=True, **common)
    return ModelVariants(feat, nv12, quantized_feat, quantized_nv12, spec.name, preprocess)
