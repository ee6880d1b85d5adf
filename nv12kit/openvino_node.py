"""OpenVINO's real NV12 node as a runtime for the NV12 variant.

Instead of nv12kit's emulated node (:func:`nv12kit.insert_nv12_node`, an
ONNX graph run by onnxruntime), :func:`openvino_nv12_runtime` runs the float
ONNX model through OpenVINO with a PrePostProcessor NV12 input, the way an
OpenVINO deployment feeds camera frames:

1. input tensor: u8, ``ColorFormat.NV12_TWO_PLANES`` (a Y plane
   ``[N, H, W, 1]`` and an interleaved UV plane ``[N, H/2, W/2, 2]``);
2. ``convert_color`` to the model's RGB or BGR (OpenVINO's ``NV12toRGB-8`` /
   ``NV12toBGR-8``: BT.601 limited range, see the ``"openvino"`` preset in
   :mod:`nv12kit.conventions`);
3. ``convert_element_type(f32)``, then ``scale(divisor)``, ``mean(mean)``,
   ``scale(std)``: the model's ``((x / divisor) - mean) / std``;
4. the layout converted to the model's (NCHW or NHWC).

The result is an object with onnxruntime's call shape (``get_inputs()``,
``get_outputs()``, ``run(output_names, feed)``), so :class:`nv12kit.Runner`
and the triage use it like any session; its planes are named
``<input>_y`` and ``<input>_uv`` as the emulated node's are.

OpenVINO is optional: ``pip install nv12kit[openvino]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ModelError, NV12KitError
from .preprocess import Preprocess

__all__ = ["openvino_nv12_runtime", "OpenVINONV12Runtime", "NV12_RUNTIMES", "import_openvino"]

#: The NV12 nodes the triage can run: nv12kit's ONNX emulation, or OpenVINO's PrePostProcessor.
NV12_RUNTIMES = ("emulated", "openvino")

# OpenVINO element types as onnxruntime's type strings (what nv12kit.Runner reads).
_ORT_TYPE = {
    np.dtype(np.float32): "tensor(float)",
    np.dtype(np.float16): "tensor(float16)",
    np.dtype(np.float64): "tensor(double)",
    np.dtype(np.uint8): "tensor(uint8)",
    np.dtype(np.int8): "tensor(int8)",
    np.dtype(np.int32): "tensor(int32)",
    np.dtype(np.int64): "tensor(int64)",
    np.dtype(np.bool_): "tensor(bool)",
}


def import_openvino() -> Any:
    """The ``openvino`` module, or an :class:`NV12KitError` that says how to install it."""
    try:
        import openvino
    except ImportError as exc:
        raise NV12KitError(
            "nv12_runtime='openvino' needs OpenVINO, which is not installed: pip install nv12kit[openvino] "
            "(or pip install openvino); or use nv12_runtime='emulated' (nv12kit's ONNX node)"
        ) from exc
    return openvino


@dataclass(frozen=True)
class _PortInfo:
    """One input or output as onnxruntime describes it (what :class:`nv12kit.Runner` reads)."""

    name: str
    shape: list[int | str | None]
    type: str


def _port_info(port: Any) -> _PortInfo:
    shape: list[int | str | None] = []
    for index, dim in enumerate(port.get_partial_shape()):
        shape.append(dim.get_length() if dim.is_static else ("N" if index == 0 else None))
    try:
        dtype = np.dtype(port.get_element_type().to_dtype())
    except (TypeError, RuntimeError):
        dtype = None
    return _PortInfo(port.get_any_name(), shape, _ORT_TYPE.get(dtype, f"openvino({port.get_element_type()})"))


class OpenVINONV12Runtime:
    """A float model behind OpenVINO's NV12 PrePostProcessor, with onnxruntime's call shape.

    Build it with :func:`openvino_nv12_runtime`.

    Attributes
    ----------
    y_name, uv_name : str
        The plane inputs, ``<input>_y`` and ``<input>_uv``.
    description : str
        What runs, for reports.
    """

    def __init__(self, compiled: Any, y_name: str, uv_name: str, description: str) -> None:
        self._compiled = compiled
        self._request = compiled.create_infer_request()
        self.y_name, self.uv_name = y_name, uv_name
        self.description = description
        self._inputs = [_port_info(p) for p in compiled.inputs]
        self._outputs = [_port_info(p) for p in compiled.outputs]

    def get_inputs(self) -> list[_PortInfo]:
        """The inputs, as onnxruntime's ``NodeArg`` would describe them."""
        return list(self._inputs)

    def get_outputs(self) -> list[_PortInfo]:
        """The outputs, as onnxruntime's ``NodeArg`` would describe them."""
        return list(self._outputs)

    def run(self, output_names: Sequence[str] | None, feed: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """Infer once; the outputs in the order of ``output_names`` (all of them when None)."""
        results = self._request.infer({name: np.ascontiguousarray(value) for name, value in feed.items()})
        by_name = {port.get_any_name(): np.array(results[port]) for port in self._compiled.outputs}
        names = list(output_names) if output_names else [o.name for o in self._outputs]
        return [by_name[name] for name in names]

    def __repr__(self) -> str:
        return f"OpenVINONV12Runtime({self.description})"


def _read_model(core: Any, model: Any) -> Any:
    from .model import load_model

    proto = load_model(model)
    try:
        return core.read_model(proto.SerializeToString(), b"")
    except Exception as exc:
        raise ModelError(f"OpenVINO cannot read the model: {type(exc).__name__}: {exc}") from exc


def openvino_nv12_runtime(
    model: Any,
    *,
    preprocess: Preprocess,
    input_name: str | None = None,
    device: str = "CPU",
) -> OpenVINONV12Runtime:
    """The float model behind OpenVINO's real NV12 input (PrePostProcessor, two planes).

    Parameters
    ----------
    model : str, os.PathLike, onnx.ModelProto or bytes
        The float model (taking the normalised image).
    preprocess : Preprocess
        The model's normalisation, channel order and layout; ``order`` must
        be ``"rgb"`` or ``"bgr"`` (OpenVINO's NV12 conversion gives one of
        the two).
    input_name : str, optional
        The image input; found automatically when there is only one.
    device : str, optional
        The OpenVINO device (``"CPU"`` by default).

    Returns
    -------
    OpenVINONV12Runtime
        Takes ``<input>_y`` ``[N, H, W, 1]`` and ``<input>_uv``
        ``[N, H/2, W/2, 2]`` (uint8, U first) and the model's other inputs.

    Raises
    ------
    NV12KitError
        OpenVINO is not installed (the message says how to install it).
    ModelError
        OpenVINO cannot read or compile the model, the model has no usable
        image input, or ``preprocess.order`` is ``"yuv444"``.

    Notes
    -----
    OpenVINO's NV12 conversion is BT.601 limited range only (the
    ``"openvino"`` convention): full-range frames are decoded as if they
    were limited, as they would be in an OpenVINO deployment.

    Examples
    --------
    >>> import numpy as np, nv12kit
    >>> from nv12kit.openvino_node import openvino_nv12_runtime
    >>> path = nv12kit.data.model_path("demo_robust")
    >>> runtime = openvino_nv12_runtime(path, preprocess=nv12kit.Preprocess.from_model(path))
    >>> [i.name for i in runtime.get_inputs()]
    ['image_y', 'image_uv']
    """
    ov = import_openvino()
    from openvino.preprocess import ColorFormat, PrePostProcessor

    from .model import ImageInputSpec, load_model

    if not isinstance(preprocess, Preprocess):
        raise ModelError(f"preprocess must be an nv12kit.Preprocess, got {type(preprocess).__name__}")
    if preprocess.order not in ("rgb", "bgr"):
        raise ModelError(
            f"OpenVINO's NV12 input converts to RGB or BGR; a model trained on {preprocess.order!r} cannot use it. "
            "Use nv12_runtime='emulated' (nv12kit's node passes YUV444 through)"
        )
    proto = load_model(model)
    spec = ImageInputSpec.from_model(proto, input_name, layout=preprocess.layout)
    core = ov.Core()
    ov_model = _read_model(core, proto)
    try:
        ppp = PrePostProcessor(ov_model)
        image = ppp.input(spec.name)
        image.tensor().set_element_type(ov.Type.u8).set_color_format(ColorFormat.NV12_TWO_PLANES, ["y", "uv"])
        image.model().set_layout(ov.Layout(spec.layout))
        steps = image.preprocess()
        steps.convert_color(ColorFormat.RGB if preprocess.order == "rgb" else ColorFormat.BGR)
        steps.convert_element_type(ov.Type.f32)
        if preprocess.divisor != 1.0:
            steps.scale(float(preprocess.divisor))
        steps.mean([float(m) for m in preprocess.mean])
        steps.scale([float(s) for s in preprocess.std])
        built = ppp.build()
        planes = {}
        for port in built.inputs:
            name = port.get_any_name()
            if name in (f"{spec.name}/y", f"{spec.name}/uv"):
                ours = f"{spec.name}_{name.rsplit('/', 1)[1]}"
                port.get_tensor().set_names({ours})
                planes[ours] = port
        compiled = core.compile_model(built, device)
    except NV12KitError:
        raise
    except Exception as exc:
        raise ModelError(
            f"OpenVINO cannot build the NV12 input for {spec.name!r}: {type(exc).__name__}: {exc}; "
            "use nv12_runtime='emulated'"
        ) from exc
    y_name, uv_name = f"{spec.name}_y", f"{spec.name}_uv"
    if set(planes) != {y_name, uv_name}:
        raise ModelError(f"OpenVINO's PrePostProcessor did not create the planes {y_name}/{uv_name}")
    description = (
        f"OpenVINO {ov.__version__} PrePostProcessor NV12_TWO_PLANES -> {preprocess.order.upper()} on {device} "
        f"(NV12toRGB-8: BT.601 limited, nearest chroma)"
    )
    return OpenVINONV12Runtime(compiled, y_name, uv_name, description)
