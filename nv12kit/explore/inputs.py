"""What nv12kit sees in a model, an image and a convention, as plain values a widget or a test can show."""

from __future__ import annotations

import io
import os
import pathlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._util import source_label
from ..conventions import Convention, get_convention
from ..errors import InputError, ModelError
from ..images import prepare_image
from ..preprocess import Preprocess
from .common import _resolve_preprocess, escape

__all__ = ["ModelChoice", "describe_model", "ImageChoice", "folder_images", "describe_image", "convention_summary"]


def _shape_text(value: Any) -> str:
    """``[N, 6]`` for an ONNX value's shape (named dims by name, unknown ones as ?)."""
    if not value.type.tensor_type.HasField("shape"):
        return "[?]"
    dims = [d.dim_param or (str(d.dim_value) if d.HasField("dim_value") else "?")
            for d in value.type.tensor_type.shape.dim]
    return "[" + ", ".join(dims) + "]"


@dataclass
class ModelChoice:
    """What nv12kit sees in a model: its image input, its outputs and its preprocessing.

    Attributes
    ----------
    label : str
        The file name (or ``"ModelProto"``).
    path : pathlib.Path or None
        The file, when a path was given.
    spec : ImageInputSpec
        The detected image input (name, layout, size, dtype).
    outputs : list of (str, str)
        Each output's name and shape.
    preprocess : Preprocess or None
        The normalisation; None when the model carries none and none was given.
    preprocess_source : str
        ``"read from the model's metadata"``, ``"given"``, or why there is none.
    """

    label: str
    path: pathlib.Path | None
    spec: Any
    outputs: list[tuple[str, str]]
    preprocess: Preprocess | None
    preprocess_source: str
    chosen_size: tuple[int, int] | None = None

    @property
    def size(self) -> tuple[int, int] | None:
        """The (height, width) frames are fed at: the size given to :func:`describe_model` (checked
        against the model's static sides), else the model's static size; None for a dynamic size."""
        return self.chosen_size if self.chosen_size is not None else self.spec.static_size

    def lines(self) -> list[str]:
        """The description as text lines."""
        pre = str(self.preprocess) if self.preprocess is not None else "unknown"
        return [
            f"model: {self.label}",
            f"image input: {self.spec}",
            *([f"frame size: {self.size[0]}x{self.size[1]} (HxW)" + (
                " (chosen; the model's size is dynamic)" if self.spec.static_size is None else "")]
              if self.size is not None else
              ["frame size: dynamic; each frame runs at its own size (give size=(H, W): your compiled model's)"]),
            "outputs: " + ", ".join(f"{name} {shape}" for name, shape in self.outputs),
            f"preprocessing: {pre} ({self.preprocess_source})",
        ]

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{escape(k)}</th><td><code>{escape(v)}</code></td></tr>"
            for k, v in (line.split(": ", 1) for line in self.lines())
        )
        return f"<table class='nv12kit-model'>{rows}</table>"


def describe_model(model: Any, *, preprocess: Preprocess | Mapping[str, Any] | None = None,
                   size: Any = None) -> ModelChoice:
    """Load a model and say what nv12kit will feed it and how.

    Parameters
    ----------
    model : str, os.PathLike or onnx.ModelProto
        The float model.
    preprocess : Preprocess or dict, optional
        The normalisation; read from the model's metadata when omitted. A
        model without such metadata is still described, with the
        preprocessing marked unknown and what to do about it.
    size : (int, int), int or None, optional
        The frame size to feed, for a model whose size is dynamic (the size
        your compiled model runs at): ``(H, W)``, or one int for the one
        dynamic side, as :func:`nv12kit.triage` takes it. Checked against
        the model's static sides.

    Returns
    -------
    ModelChoice

    Raises
    ------
    InputError, ModelError
        The file is missing or not ONNX, the model has no usable image
        input, or ``preprocess`` is not a valid spec.

    Examples
    --------
    >>> from nv12kit.data import model_path
    >>> choice = describe_model(model_path("demo_robust"))
    >>> choice.size, choice.preprocess.divisor, choice.outputs
    ((128, 128), 255.0, [('logits', '[N, 6]')])
    """
    from ..model import ImageInputSpec, load_model

    proto = load_model(model)
    try:
        pre, source = _resolve_preprocess(proto, preprocess)
    except ModelError as exc:
        pre, source = None, str(exc)
    spec = ImageInputSpec.from_model(proto, layout=pre.layout if pre is not None else None)
    chosen = None
    if size is not None or (spec.static_size is None and {type(spec.height), type(spec.width)} & {int}):
        from ..feeds import resolve_size  # a partly static input needs its open side given

        chosen = resolve_size(spec, size)
    outputs = [(o.name, _shape_text(o)) for o in proto.graph.output]
    path = pathlib.Path(model) if isinstance(model, (str, os.PathLike)) else None
    label = path.name if path is not None else "ModelProto"
    return ModelChoice(label, path, spec, outputs, pre, source, chosen)


@dataclass
class ImageChoice:
    """An image as the model will see it.

    Attributes
    ----------
    path : str or None
    rgb : numpy.ndarray
        (H, W, 3) uint8, resized to ``size`` or cropped to even sides.
    original_shape : (int, int)
        Height and width as loaded.
    notes : list of str
        What was done to it.
    """

    path: str | None
    rgb: np.ndarray = field(repr=False)
    original_shape: tuple[int, int]
    notes: list[str]

    def thumbnail_png(self, max_side: int = 192) -> bytes:
        """A small PNG preview (Pillow, no matplotlib)."""
        from PIL import Image

        image = Image.fromarray(self.rgb)
        image.thumbnail((max_side, max_side))
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()

    def summary(self) -> str:
        """One line: name, size and notes."""
        h, w = self.rgb.shape[:2]
        text = f"{source_label(self.path) if self.path else 'image'}: {w}x{h} (WxH)"
        return text + ("; " + "; ".join(self.notes) if self.notes else "")


def folder_images(path: str | os.PathLike[str]) -> list[str]:
    """The images a path points to: the image files of a folder (sorted), or the file itself.

    Parameters
    ----------
    path : str or os.PathLike
        A folder or an image file.

    Returns
    -------
    list of str

    Raises
    ------
    InputError
        If the path does not exist, or is a folder without images.

    Examples
    --------
    >>> from nv12kit.data import photo_path
    >>> [pathlib.Path(p).name for p in folder_images(photo_path("coffee").parent)]
    ['astronaut.png', 'chelsea_odd.png', 'coffee.png']
    """
    from ..images import image_files

    target = pathlib.Path(path).expanduser()
    if target.is_file():
        return [str(target)]
    if not target.exists():
        raise InputError(f"{str(path)!r} does not exist; give a folder of images or an image file")
    found = image_files(target)
    if not found:
        raise InputError(f"the folder {str(path)!r} holds no image files (png, jpg, ...)")
    return found


def describe_image(image: Any, *, size: tuple[int, int] | None = None) -> ImageChoice:
    """Load an image and fit it to a model: resized to ``size``, else cropped to even sides for NV12.

    Parameters
    ----------
    image : path, PIL image or (H, W, 3) uint8 array
    size : (int, int), optional
        The model's static (height, width).

    Returns
    -------
    ImageChoice

    Raises
    ------
    InputError
        If the image cannot be loaded.

    Examples
    --------
    >>> from nv12kit.data import photo_path
    >>> describe_image(photo_path("chelsea_odd")).summary()
    'chelsea_odd.png: 224x150 (WxH); image cropped from 150x225 to even sides for NV12'
    """
    rgb, notes, original = prepare_image(image, size)
    path = str(image) if isinstance(image, (str, os.PathLike)) else None
    return ImageChoice(path, rgb, original, notes)


def convention_summary(convention: str | Convention) -> str:
    """What a convention is, in two lines: its settings, then its description.

    Examples
    --------
    >>> print(convention_summary("opencv"))  # doctest: +ELLIPSIS
    opencv: BT601 limited range, opencv arithmetic, chroma down topleft, up nearest
    cv2.cvtColor(COLOR_RGB2YUV_I420) with U/V interleaved; ...
    """
    conv = get_convention(convention)
    return conv.summary() + ("\n" + conv.description if conv.description else "")
