"""Loading and saving ONNX models, and finding their image input.

Everything that takes "a model" accepts a path or an ``onnx.ModelProto`` and
goes through :func:`load_model`, so missing, corrupt and external-data models
fail in one place with one clear message. :func:`save_model` writes
atomically and never replaces an existing file unless asked to.
"""

from __future__ import annotations

import os
import pathlib
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import onnx
from onnx import TensorProto, helper

from ._io import atomic_path, open_regular
from .errors import InputError, ModelError

__all__ = ["load_model", "load_model_with_bytes", "save_model", "ImageInputSpec", "graph_inputs", "describe_inputs"]

# Above this size protobuf cannot serialise one message; weights must go to a side file.
_PROTOBUF_LIMIT = 2**31 - 1


def load_model(model: Any) -> onnx.ModelProto:
    """Return an ``onnx.ModelProto`` from a path or a ``ModelProto``.

    Parameters
    ----------
    model : str, os.PathLike, onnx.ModelProto or bytes
        A path to an ``.onnx`` file (its external data files, if any, are
        read from beside it), an already loaded model, or a serialised one
        (whose weights must all be inside it). A ``ModelProto`` is returned
        as is: callers that change it copy it first.

    Returns
    -------
    onnx.ModelProto

    Raises
    ------
    ModelError
        The file is missing, is not an ONNX model, or refers to external
        data that is not where the model says.
    """
    return _load(model)[0]


def load_model_with_bytes(model: Any) -> tuple[onnx.ModelProto, bytes | None]:
    """Like :func:`load_model`, and the file's bytes when onnxruntime can load them as they are.

    A session built from the bytes read here needs no ``SerializeToString``
    of the parsed model (about 50 ms for an 18 MB model), so the triage
    builds its float session from them.

    Returns
    -------
    (onnx.ModelProto, bytes or None)
        The model parsed from the bytes, and the bytes (for a path, the file
        as read; for ``bytes``, themselves). The bytes are ``None`` for a
        ``ModelProto`` and for a model whose weights live in external data
        files (they are loaded into the proto, which then has to be
        serialised).
    """
    return _load(model)


def _load(model: Any) -> tuple[onnx.ModelProto, bytes | None]:
    if isinstance(model, onnx.ModelProto):
        _check_external_data_loaded(model, where="the ModelProto")
        return model, None
    if isinstance(model, (bytes, bytearray, memoryview)):
        data = bytes(model)
        proto = _parse(data, "the serialised model")
        _check_external_data_loaded(proto, where="the serialised model")
        return proto, data
    if not isinstance(model, (str, os.PathLike)):
        raise ModelError(
            f"expected an ONNX model path or onnx.ModelProto, got {type(model).__name__}; "
            "for a runtime session use nv12kit.Runner(session)"
        )
    path = pathlib.Path(model)
    if not path.exists():
        raise ModelError(f"model file {str(path)!r} does not exist; check the path (cwd is {os.getcwd()!r})")
    if path.is_dir():
        raise ModelError(f"{str(path)!r} is a directory; pass the path of the .onnx file inside it")
    with open_regular(path, what="ONNX model") as handle:  # a FIFO or device is refused before it can block
        data = handle.read()
    proto = _parse(data, repr(str(path)))
    if not external_data_locations(proto):
        return proto, data
    missing = [
        loc for loc in external_data_locations(proto) if not (path.parent / loc).is_file()
    ]
    if missing:
        raise ModelError(
            f"{str(path)!r} keeps its weights in external data files that are missing next to it: "
            f"{sorted(set(missing))}; copy them into {str(path.parent)!r} as well"
        )
    try:
        onnx.load_external_data_for_model(proto, str(path.parent))
    except Exception as exc:
        raise ModelError(f"could not read the external data of {str(path)!r}: {exc}") from exc
    return proto, None


def _parse(data: bytes, where: str) -> onnx.ModelProto:
    try:
        proto = onnx.load_from_string(data)  # external data is never loaded here
    except Exception as exc:  # protobuf raises DecodeError, RuntimeWarning-ish errors, etc.
        raise ModelError(
            f"{where} is not a readable ONNX model ({type(exc).__name__}: {exc}); "
            "re-export it, or check that the file was copied completely"
        ) from exc
    if not proto.graph.node and not proto.graph.input and not proto.graph.output:
        raise ModelError(
            f"{where} parsed as an empty ONNX model (no nodes, inputs or outputs); "
            "it is probably not an ONNX file or was truncated"
        )
    return proto


def external_data_locations(proto: onnx.ModelProto) -> list[str]:
    """The files a model's external-data tensors point to (``"?"`` where a tensor names none)."""
    locations = []
    for tensor in onnx.external_data_helper._get_all_tensors(proto):
        if tensor.data_location == TensorProto.EXTERNAL:
            entries = {e.key: e.value for e in tensor.external_data}
            locations.append(entries.get("location", "?"))
    return locations


def _check_external_data_loaded(proto: onnx.ModelProto, *, where: str) -> None:
    locations = external_data_locations(proto)
    if locations:
        raise ModelError(
            f"{where} refers to external data files {sorted(set(locations))} that are not loaded; "
            "pass the model's path instead, or call onnx.load_external_data_for_model(model, folder) first"
        )


def save_model(model: onnx.ModelProto, path: str | os.PathLike[str], *, overwrite: bool = False) -> pathlib.Path:
    """Write a model atomically; refuse to replace an existing file unless told.

    Parameters
    ----------
    model : onnx.ModelProto
        The model to write.
    path : str or os.PathLike
        Target file. Its directory must exist.
    overwrite : bool, optional
        Replace ``path`` if it exists. Off by default, so a user's model is
        never replaced by accident.

    Returns
    -------
    pathlib.Path
        The path written.

    Notes
    -----
    The model goes to a temporary file in the same directory and is renamed
    over ``path`` only once complete. Models over protobuf's 2 GiB limit
    are written with their weights in ``<name>.data`` next to the file.
    """
    if not isinstance(model, onnx.ModelProto):
        raise InputError(f"save_model needs an onnx.ModelProto, got {type(model).__name__}")
    target = pathlib.Path(path)
    if target.exists() and not overwrite:
        raise InputError(
            f"{str(target)!r} already exists; choose another name, or pass overwrite=True to replace it"
        )
    if _byte_size(model) < _PROTOBUF_LIMIT:
        with atomic_path(target, overwrite=overwrite) as tmp:  # exclusive when not overwriting: no race
            onnx.save_model(model, str(tmp))
        return target
    data_name = target.name + ".data"
    with atomic_path(target.parent / data_name, overwrite=overwrite) as tmp_data, \
            atomic_path(target, overwrite=overwrite) as tmp:
        copy = onnx.ModelProto()
        copy.CopyFrom(model)
        onnx.save_model(copy, str(tmp), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=tmp_data.name)
        # The weights went to the data file's temporary name; point the model at its final name.
        saved = onnx.load(str(tmp), load_external_data=False)
        for tensor in onnx.external_data_helper._get_all_tensors(saved):
            for entry in tensor.external_data:
                if entry.key == "location":
                    entry.value = data_name
        onnx.save_model(saved, str(tmp))
    return target


def _byte_size(model: onnx.ModelProto) -> int:
    try:
        return model.ByteSize()
    except Exception:  # pragma: no cover - protobuf refuses to size > 2 GiB on some builds
        return _PROTOBUF_LIMIT


# ----------------------------------------------------------------------------
# the image input
# ----------------------------------------------------------------------------
def graph_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    """The real inputs of a graph: its inputs minus initializers (old exporters list both)."""
    initializers = {init.name for init in model.graph.initializer}
    return [value for value in model.graph.input if value.name not in initializers]


def _dims(value: onnx.ValueInfoProto) -> tuple[int | str | None, ...] | None:
    """Shape as ints (static), strings (named) or None (unknown); None if the rank is unknown."""
    tensor = value.type.tensor_type
    if not value.type.HasField("tensor_type") or not tensor.HasField("shape"):
        return None
    dims: list[int | str | None] = []
    for dim in tensor.shape.dim:
        if dim.HasField("dim_value"):
            dims.append(int(dim.dim_value))
        elif dim.HasField("dim_param"):
            dims.append(dim.dim_param)
        else:
            dims.append(None)
    return tuple(dims)


def _dtype_name(value: onnx.ValueInfoProto) -> str:
    if not value.type.HasField("tensor_type"):
        return "non-tensor"
    try:
        return str(helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type))
    except (KeyError, TypeError, ValueError):
        return TensorProto.DataType.Name(value.type.tensor_type.elem_type).lower()


def _format_shape(dims: tuple[int | str | None, ...] | None) -> str:
    if dims is None:
        return "[unknown rank]"
    return "[" + ", ".join("?" if d is None else str(d) for d in dims) + "]"


def describe_inputs(model: onnx.ModelProto) -> str:
    """One line per real input: ``name [shape] dtype``."""
    lines = [f"{v.name} {_format_shape(_dims(v))} {_dtype_name(v)}" for v in graph_inputs(model)]
    return "; ".join(lines) if lines else "(no inputs)"


def _layout_of(dims: tuple[int | str | None, ...]) -> str | None:
    """'NCHW' or 'NHWC' if a 4-D shape has exactly one static 3 in dim 1 or 3."""
    if len(dims) != 4:
        return None
    c1, c3 = dims[1] == 3, dims[3] == 3
    if c1 and not c3:
        return "NCHW"
    if c3 and not c1:
        return "NHWC"
    if c1 and c3:
        return "ambiguous"
    return None


@dataclass(frozen=True)
class ImageInputSpec:
    """Where a model takes its image: name, layout, size and dtype.

    Attributes
    ----------
    name : str
        Input name.
    layout : {"NCHW", "NHWC"}
    batch, height, width : int, str or None
        Static sizes are ints; named dynamic dimensions are strings
        (``"N"``); unnamed dynamic ones are None.
    dtype : str
        numpy name of the element type (``"float32"``).
    other_inputs : tuple of str
        Names of the model's other inputs, which a caller must feed too.

    Examples
    --------
    >>> from onnx import TensorProto, helper
    >>> x = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, 224, 224])
    >>> y = helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 3, 224, 224])
    >>> graph = helper.make_graph([helper.make_node("Relu", ["image"], ["out"])], "g", [x], [y])
    >>> spec = ImageInputSpec.from_model(helper.make_model(graph))
    >>> spec.layout, spec.height, spec.width, spec.static_size
    ('NCHW', 224, 224, (224, 224))
    """

    name: str
    layout: Literal["NCHW", "NHWC"]
    batch: int | str | None
    height: int | str | None
    width: int | str | None
    dtype: str
    other_inputs: tuple[str, ...] = ()

    @classmethod
    def from_model(
        cls,
        model: Any,
        input_name: str | None = None,
        *,
        layout: Literal["NCHW", "NHWC"] | None = None,
        input_flag: str | None = None,
    ) -> ImageInputSpec:
        """Find the image input of a model: 4-D with 3 channels in dim 1 or dim 3.

        Parameters
        ----------
        model : str, os.PathLike or onnx.ModelProto
            The float model.
        input_name : str, optional
            The input to use. Needed when several inputs look like images.
        layout : {"NCHW", "NHWC"}, optional
            Forces the layout, for inputs whose channel dimension is dynamic
            or for shapes like [N, 3, H, 3] where both dims are 3.
        input_flag : str, optional
            The command-line flag that chooses the input (``"--input"``), for
            messages raised from a CLI; by default they say ``input_name=``.

        Returns
        -------
        ImageInputSpec

        Raises
        ------
        ModelError
            If ``input_name`` does not exist (the names are listed), the
            chosen input is not 4-D with 3 channels, no input looks like an
            image, or several do (the candidates are listed, with how to
            choose).
        """
        proto = load_model(model)
        inputs = graph_inputs(proto)
        names = [v.name for v in inputs]
        if layout is not None and layout not in ("NCHW", "NHWC"):
            raise ModelError(f"layout must be 'NCHW', 'NHWC' or None, got {layout!r}")
        if input_name is not None:
            chosen = [v for v in inputs if v.name == input_name]
            if not chosen:
                raise ModelError(
                    f"the model has no input named {input_name!r}; its inputs are: {describe_inputs(proto)}"
                )
            return cls._from_value(chosen[0], names, layout=layout)
        candidates = []
        for value in inputs:
            dims = _dims(value)
            if dims is not None and (_layout_of(dims) is not None or (layout and len(dims) == 4)):
                candidates.append(value)
        if not candidates:
            raise ModelError(
                "the model has no image input (a 4-D tensor with 3 channels in dim 1 or dim 3); "
                f"its inputs are: {describe_inputs(proto)}. "
                "If the channel dimension is dynamic, pass input_name= and layout='NCHW' or 'NHWC'"
            )
        if len(candidates) > 1:
            listed = "; ".join(f"{v.name} {_format_shape(_dims(v))}" for v in candidates)
            how = (f"{input_flag} NAME, e.g. {input_flag} {candidates[0].name}" if input_flag else
                   f"input_name=, e.g. input_name={candidates[0].name!r}")
            others = [v for v in inputs if v not in candidates]
            rest = ("; the model's other inputs: " + "; ".join(f"{v.name} {_format_shape(_dims(v))}" for v in others)
                    if others else "")
            raise ModelError(
                f"the model has {len(candidates)} inputs that look like images: {listed}; "
                f"choose one with {how}{rest}"
            )
        return cls._from_value(candidates[0], names, layout=layout)

    @classmethod
    def _from_value(
        cls, value: onnx.ValueInfoProto, names: list[str], *, layout: str | None
    ) -> ImageInputSpec:
        dims = _dims(value)
        where = f"input {value.name!r} {_format_shape(dims)}"
        if dims is None or len(dims) != 4:
            raise ModelError(
                f"{where} is not a 4-D image tensor; the NV12 node needs [N, 3, H, W] or [N, H, W, 3]"
            )
        found = _layout_of(dims)
        if layout is None:
            if found == "ambiguous":
                raise ModelError(f"{where} has 3 in both dim 1 and dim 3; pass layout='NCHW' or layout='NHWC'")
            if found is None:
                what = f"{_format_shape((dims[1],))[1:-1]} in dim 1 and {_format_shape((dims[3],))[1:-1]} in dim 3"
                raise ModelError(
                    f"{where} has {what}, but an RGB/BGR image input needs 3 channels in dim 1 (NCHW) or dim 3 "
                    "(NHWC); pick another input with input_name=, or pass layout= if the channel dim is dynamic"
                )
            layout = found
        channel_axis = 1 if layout == "NCHW" else 3
        if found in ("NCHW", "NHWC") and found != layout:
            raise ModelError(
                f"layout={layout!r} was given but {where} is {found} (3 channels in dim "
                f"{1 if found == 'NCHW' else 3}); pass layout={found!r} or leave layout out"
            )
        if isinstance(dims[channel_axis], int) and dims[channel_axis] != 3:
            raise ModelError(
                f"{where} has {dims[channel_axis]} channels in dim {channel_axis} ({layout}); "
                "an RGB/BGR image input needs 3"
            )
        if not value.type.tensor_type.elem_type or _dtype_name(value) in ("non-tensor", "string"):
            raise ModelError(f"{where} is not a numeric tensor")
        h, w = (dims[2], dims[3]) if layout == "NCHW" else (dims[1], dims[2])
        return cls(
            name=value.name,
            layout=layout,  # type: ignore[arg-type]
            batch=dims[0],
            height=h,
            width=w,
            dtype=_dtype_name(value),
            other_inputs=tuple(n for n in names if n != value.name),
        )

    @property
    def static_size(self) -> tuple[int, int] | None:
        """``(height, width)`` if both are static, else None."""
        if isinstance(self.height, int) and isinstance(self.width, int):
            return self.height, self.width
        return None

    @property
    def dynamic_batch(self) -> bool:
        """True if the batch dimension is not a fixed number."""
        return not isinstance(self.batch, int)

    @property
    def channel_axis(self) -> int:
        """1 for NCHW, 3 for NHWC."""
        return 1 if self.layout == "NCHW" else 3

    def check_frame_size(self, height: int, width: int) -> None:
        """Raise :class:`InputError` if a ``height`` x ``width`` frame does not fit a static-size model."""
        size = self.static_size
        if size is not None and (height, width) != size:
            raise InputError(
                f"the frame is {height}x{width} (HxW) but the model's input {self.name!r} is fixed at "
                f"{size[0]}x{size[1]}; resize the image first, e.g. nv12kit.resize_to(rgb, {size[0]}, {size[1]})"
            )

    def numpy_dtype(self) -> np.dtype:
        """The input's element type as a numpy dtype."""
        return np.dtype(self.dtype)

    def __str__(self) -> str:
        dims = (self.batch, 3, self.height, self.width) if self.layout == "NCHW" else (
            self.batch, self.height, self.width, 3)
        return f"{self.name} {_format_shape(dims)} {self.dtype} ({self.layout})"
