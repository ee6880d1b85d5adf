"""Jupyter front ends: pick a model, an image and a convention, and watch what NV12 does to them.

Every widget here is a thin shell over a plain function of this module (or
of the core) that does the work and returns a value you can inspect, test
or use without a browser:

=============================  ================================  ==================================
widget                         plain function                    result
=============================  ================================  ==================================
:func:`model_picker`           :func:`describe_model`            :class:`ModelChoice`
:func:`image_picker`           :func:`folder_images`,            :class:`ImageChoice`
                               :func:`describe_image`
:func:`convention_picker`      :func:`convention_summary`        a :class:`~nv12kit.Convention`
:func:`plane_viewer`           :func:`plane_view_figures`        :class:`PlaneView`
:func:`noise_explorer`         :func:`noise_explorer_state`      :class:`NoiseExplorerState`
                               (over a :class:`NoiseSession`)
:func:`converter_checker`      :func:`load_converter`,           :class:`ConverterCheck`
                               :func:`converter_check`,
                               :func:`dumps_check`
=============================  ================================  ==================================

Each widget is an :class:`ipywidgets.VBox` whose controls are attributes
(``picker.path``, ``explorer.amplitude``, ...). Setting a control's
``.value`` runs the plain function at once and stores what it returned in
``.result`` (and the message of a failure in ``.error``, which the widget
also shows in red), so a test, or a notebook cell, can drive a widget
without a browser. Figures are drawn with matplotlib's object API and
shown as PNG :class:`ipywidgets.Image` widgets; pyplot is never used.

The result objects display themselves in a notebook (``_repr_html_`` with
inline PNG figures), which is how the guided notebooks pair every widget
with a static picture that still shows in an exported report.

Needs the ``notebooks`` extra: ``pip install 'nv12kit[notebooks]'``.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
import pathlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

try:
    import ipywidgets
except ImportError as exc:  # pragma: no cover - installed wherever the tests run
    raise ImportError(
        "nv12kit.widgets needs ipywidgets >= 8, which is not installed; "
        "install it with: pip install 'nv12kit[notebooks]' (or pip install ipywidgets)"
    ) from exc

from . import plots
from .conventions import CONVENTIONS, Convention, get_convention
from .convert import nv12_to_rgb, rgb_to_nv12
from .errors import InputError, ModelError, NV12KitError
from .noise import DISTRIBUTIONS, NoiseStudy, noise_study, perturb_trial, prepare_image
from .preprocess import Preprocess
from .roundtrip import image_error
from .yuv import NV12Frame

__all__ = [
    "ModelChoice",
    "describe_model",
    "ModelPicker",
    "model_picker",
    "ImageChoice",
    "folder_images",
    "describe_image",
    "ImagePicker",
    "image_picker",
    "convention_summary",
    "ConventionPicker",
    "convention_picker",
    "PlaneView",
    "plane_view_figures",
    "PlaneViewer",
    "plane_viewer",
    "NoiseSession",
    "NoiseExplorerState",
    "noise_explorer_state",
    "NoiseExplorer",
    "noise_explorer",
    "ConverterCheck",
    "load_converter",
    "converter_check",
    "dumps_check",
    "ConverterChecker",
    "converter_checker",
    "variant_outputs",
]

_MAX_CACHED_SETTINGS = 48  # noise explorer settings whose figures are kept for instant redraws
_DPI = 80  # PNG resolution of widget and notebook figures: sharp enough, small enough to redraw live
_CUSTOM = "(your model: type its path below)"
_EXAMPLE_CONVERTER = '''import numpy as np

def rgb_to_nv12(rgb):
    """rgb: (H, W, 3) uint8 array. Return (y, uv) planes, an NV12Frame, or raw NV12 bytes."""
    ...'''


# ----------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------
def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _png(fig: Any) -> bytes:
    return plots.figure_to_png_bytes(fig, dpi=_DPI)


def _img_html(fig: Any, alt: str) -> str:
    uri = "data:image/png;base64," + base64.b64encode(_png(fig)).decode("ascii")
    return f"<img alt='{_e(alt)}' src='{uri}' style='max-width:100%'>"


def _error_html(message: str) -> str:
    return f"<div style='color:#c62828;white-space:pre-wrap'><b>error:</b> {_e(message)}</div>"


def _describe_error(exc: BaseException) -> str:
    # nv12kit's own messages say what to do; anything else gets its type so it can be searched for.
    return str(exc) if isinstance(exc, NV12KitError) else f"{type(exc).__name__}: {exc}"


def _label(image: Any) -> str:
    if isinstance(image, (str, os.PathLike)):
        return pathlib.Path(image).name
    return "image"


def _resolve_preprocess(model: Any, preprocess: Preprocess | Mapping[str, Any] | None) -> tuple[Preprocess, str]:
    """The preprocessing to use and where it came from."""
    if preprocess is None:
        return Preprocess.from_model(model), "read from the model's metadata"
    if isinstance(preprocess, Preprocess):
        return preprocess, "given"
    if isinstance(preprocess, Mapping):
        return Preprocess.from_dict(preprocess), "given"
    raise InputError(
        f"preprocess must be an nv12kit.Preprocess, a dict such as {{'mean': [123.675, 116.28, 103.53], "
        f"'std': [58.395, 57.12, 57.375]}} or None (read from the model), got {type(preprocess).__name__}"
    )


def _is_dense(output: np.ndarray) -> bool:
    """A map the diff figure can show: [1, C, H, W], [1, H, W] or [H, W] with H, W > 1."""
    shape = np.shape(output)
    return len(shape) >= 2 and shape[-1] > 1 and shape[-2] > 1 and (len(shape) < 3 or int(np.prod(shape[:-3])) <= 1)


def _shape_text(value: Any) -> str:
    """``[N, 6]`` for an ONNX value's shape (named dims by name, unknown ones as ?)."""
    if not value.type.tensor_type.HasField("shape"):
        return "[?]"
    dims = [d.dim_param or (str(d.dim_value) if d.HasField("dim_value") else "?")
            for d in value.type.tensor_type.shape.dim]
    return "[" + ", ".join(dims) + "]"


def _noise_label(distribution: str, amplitude: float) -> str:
    text = f"{amplitude:g}"
    return {"symmetric": f"±{text}", "uniform_0_a": f"U[0,{text})", "gaussian": f"σ={text}"}.get(distribution, text)


def _set_png(widget: Any, fig: Any) -> bytes:
    data = b"" if fig is None else _png(fig)
    widget.value = data
    widget.layout.display = None if data else "none"
    return data


class _Shell(ipywidgets.VBox):
    """A VBox with ``result`` / ``error`` and a red message line (shared by every widget here)."""

    def __init__(self, children: Sequence[Any] = (), **kwargs: Any) -> None:
        self.message = ipywidgets.HTML()
        self.result: Any = None
        self.error: str | None = None
        super().__init__(children=[*children, self.message], **kwargs)

    def _fail(self, exc: BaseException) -> None:
        self.error = _describe_error(exc)
        self.message.value = _error_html(self.error)

    def _ok(self) -> None:
        self.error = None
        self.message.value = ""


# ----------------------------------------------------------------------------
# model picker
# ----------------------------------------------------------------------------
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

    @property
    def size(self) -> tuple[int, int] | None:
        """The model's static (height, width), or None for a dynamic size."""
        return self.spec.static_size

    def lines(self) -> list[str]:
        """The description as text lines."""
        pre = str(self.preprocess) if self.preprocess is not None else "unknown"
        return [
            f"model: {self.label}",
            f"image input: {self.spec}",
            "outputs: " + ", ".join(f"{name} {shape}" for name, shape in self.outputs),
            f"preprocessing: {pre} ({self.preprocess_source})",
        ]

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{_e(k)}</th><td><code>{_e(v)}</code></td></tr>"
            for k, v in (line.split(": ", 1) for line in self.lines())
        )
        return f"<table class='nv12kit-model'>{rows}</table>"


def describe_model(model: Any, *, preprocess: Preprocess | Mapping[str, Any] | None = None) -> ModelChoice:
    """Load a model and say what nv12kit will feed it and how.

    Parameters
    ----------
    model : str, os.PathLike or onnx.ModelProto
        The float model.
    preprocess : Preprocess or dict, optional
        The normalisation; read from the model's metadata when omitted. A
        model without such metadata is still described, with the
        preprocessing marked unknown and what to do about it.

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
    from .model import ImageInputSpec, load_model

    proto = load_model(model)
    try:
        pre, source = _resolve_preprocess(proto, preprocess)
    except ModelError as exc:
        pre, source = None, str(exc)
    spec = ImageInputSpec.from_model(proto, layout=pre.layout if pre is not None else None)
    outputs = [(o.name, _shape_text(o)) for o in proto.graph.output]
    path = pathlib.Path(model) if isinstance(model, (str, os.PathLike)) else None
    label = path.name if path is not None else "ModelProto"
    return ModelChoice(label, path, spec, outputs, pre, source)


class ModelPicker(_Shell):
    """A dropdown of the bundled demo models and a path box; shows :func:`describe_model` of the choice.

    Attributes
    ----------
    demo : ipywidgets.Dropdown
        The bundled demo models, and an entry for your own.
    path : ipywidgets.Text
        The model's path; choosing a demo fills it in.
    info : ipywidgets.HTML
        The description (input, outputs, preprocessing).
    result : ModelChoice or None
        The last description; None after an error.
    error : str or None
        The last error message.
    """

    def __init__(self, model: Any = None, *, preprocess: Preprocess | Mapping[str, Any] | None = None) -> None:
        from .data import DEMO_MODELS, model_path

        self._preprocess = preprocess
        self._demos = {name: str(model_path(name)) for name in DEMO_MODELS}
        self.demo = ipywidgets.Dropdown(options=[*DEMO_MODELS, _CUSTOM], description="model",
                                        layout=ipywidgets.Layout(width="420px"))
        self.path = ipywidgets.Text(description="path", placeholder="path/to/your_model.onnx",
                                    continuous_update=False, layout=ipywidgets.Layout(width="720px"))
        self.info = ipywidgets.HTML()
        super().__init__([self.demo, self.path, self.info])
        self.demo.observe(self._on_demo, names="value")
        self.path.observe(self._on_path, names="value")
        start = str(model) if model is not None else self._demos[DEMO_MODELS[0]]
        self._sync_demo(start)
        self.path.value = start
        if self.result is None and self.error is None:  # the path did not change: describe it anyway
            self._on_path({"new": start})

    @property
    def value(self) -> str:
        """The chosen model's path."""
        return self.path.value

    def _sync_demo(self, path: str) -> None:
        names = [n for n, p in self._demos.items() if p == path]
        self.demo.unobserve(self._on_demo, names="value")
        self.demo.value = names[0] if names else _CUSTOM
        self.demo.observe(self._on_demo, names="value")

    def _on_demo(self, change: Mapping[str, Any]) -> None:
        if change["new"] in self._demos:
            self.path.value = self._demos[change["new"]]

    def _on_path(self, change: Mapping[str, Any]) -> None:
        path = change["new"].strip()
        self._sync_demo(path)
        if not path:
            self.result, self.info.value = None, ""
            self._ok()
            return
        try:
            self.result = describe_model(path, preprocess=self._preprocess)
        except Exception as exc:  # noqa: BLE001 - shown to the user, not raised into the event loop
            self.result, self.info.value = None, ""
            self._fail(exc)
            return
        self.info.value = self.result._repr_html_()
        self._ok()


def model_picker(model: Any = None, *, preprocess: Preprocess | Mapping[str, Any] | None = None) -> ModelPicker:
    """A model chooser: the bundled demos in a dropdown, or your own file's path.

    Parameters
    ----------
    model : str or os.PathLike, optional
        The model shown first (default: the first bundled demo).
    preprocess : Preprocess or dict, optional
        The normalisation, when the model does not carry it.

    Returns
    -------
    ModelPicker
        ``picker.value`` is the chosen path, ``picker.result`` its
        :class:`ModelChoice`.

    Examples
    --------
    >>> picker = model_picker()
    >>> picker.demo.value = "demo_fragile"
    >>> picker.result.label
    'demo_fragile.onnx'
    """
    return ModelPicker(model, preprocess=preprocess)


# ----------------------------------------------------------------------------
# image picker
# ----------------------------------------------------------------------------
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
        text = f"{_label(self.path) if self.path else 'image'}: {w}x{h} (WxH)"
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
    from .images import image_files

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


class ImagePicker(_Shell):
    """A path box (a folder or a file) and a dropdown of the folder's images, with a preview.

    Attributes
    ----------
    folder : ipywidgets.Text
        A folder of images, or one image file.
    files : ipywidgets.Dropdown
        The images found there (labels are file names, values full paths).
    preview : ipywidgets.Image
        A thumbnail of the chosen image.
    info : ipywidgets.HTML
        Its size and what was done to fit it.
    result : ImageChoice or None
    error : str or None
    """

    def __init__(self, folder: Any = None, *, size: tuple[int, int] | None = None) -> None:
        from .data import photo_path

        self._size = size
        self.folder = ipywidgets.Text(description="images", placeholder="a folder of images, or one image file",
                                      continuous_update=False, layout=ipywidgets.Layout(width="720px"))
        self.files = ipywidgets.Dropdown(description="image", options=[], layout=ipywidgets.Layout(width="420px"))
        self.preview = ipywidgets.Image(format="png", layout=ipywidgets.Layout(display="none"))
        self.info = ipywidgets.HTML()
        super().__init__([self.folder, self.files, ipywidgets.HBox([self.preview, self.info])])
        self.folder.observe(self._on_folder, names="value")
        self.files.observe(self._on_file, names="value")
        start = folder if folder is not None else photo_path("astronaut").parent
        self.folder.value = str(start)

    @property
    def value(self) -> str | None:
        """The chosen image's path."""
        return self.files.value

    def _on_folder(self, change: Mapping[str, Any]) -> None:
        try:
            found = folder_images(change["new"].strip())
        except Exception as exc:  # noqa: BLE001 - shown, not raised
            self.files.options = []
            self.result, self.info.value = None, ""
            _set_png(self.preview, None)
            self._fail(exc)
            return
        previous = self.files.value
        # New options reset the value to the first one; keep the image shown if it is still there.
        self.files.unobserve(self._on_file, names="value")
        self.files.options = [(pathlib.Path(p).name, p) for p in found]
        self.files.value = previous if previous in found else found[0]
        self.files.observe(self._on_file, names="value")
        self._on_file({"new": self.files.value})

    def _on_file(self, change: Mapping[str, Any]) -> None:
        if change["new"] is None:
            return
        try:
            self.result = describe_image(change["new"], size=self._size)
        except Exception as exc:  # noqa: BLE001 - shown, not raised
            self.result, self.info.value = None, ""
            self.preview.layout.display = "none"
            self._fail(exc)
            return
        self.preview.value = self.result.thumbnail_png()
        self.preview.layout.display = None
        self.info.value = f"<p>{_e(self.result.summary())}</p>"
        self._ok()


def image_picker(folder: Any = None, *, size: tuple[int, int] | None = None) -> ImagePicker:
    """An image chooser: a path box plus the files of that folder.

    Parameters
    ----------
    folder : str or os.PathLike, optional
        A folder of images or one image (default: the bundled photos).
    size : (int, int), optional
        The model's static (height, width); images are resized to it.

    Returns
    -------
    ImagePicker
        ``picker.value`` is the chosen path, ``picker.result`` its
        :class:`ImageChoice`.

    Examples
    --------
    >>> picker = image_picker(size=(128, 128))
    >>> picker.files.value = picker.files.options[-1][1]
    >>> print(picker.result.summary())
    coffee.png: 128x128 (WxH); image resized from 200x300 to the model's 128x128 (bilinear, Pillow)
    """
    return ImagePicker(folder, size=size)


# ----------------------------------------------------------------------------
# convention picker
# ----------------------------------------------------------------------------
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


class ConventionPicker(_Shell):
    """A dropdown of :data:`nv12kit.CONVENTIONS` with the chosen one's summary.

    Attributes
    ----------
    dropdown : ipywidgets.Dropdown
    summary : ipywidgets.HTML
    result : Convention
    """

    def __init__(self, convention: str | Convention = "horizon") -> None:
        start = get_convention(convention).name
        options = list(CONVENTIONS) if start in CONVENTIONS else [*CONVENTIONS, start]
        self._custom = {start: get_convention(convention)} if start not in CONVENTIONS else {}
        self.dropdown = ipywidgets.Dropdown(options=options, value=start, description="convention",
                                            layout=ipywidgets.Layout(width="420px"))
        self.summary = ipywidgets.HTML()
        super().__init__([self.dropdown, self.summary])
        self.dropdown.observe(self._on_change, names="value")
        self._on_change({"new": start})

    @property
    def value(self) -> str:
        """The chosen convention's name."""
        return self.dropdown.value

    @property
    def convention(self) -> Convention:
        """The chosen :class:`~nv12kit.Convention`."""
        return self.result

    def _on_change(self, change: Mapping[str, Any]) -> None:
        conv = self._custom.get(change["new"]) or get_convention(change["new"])
        self.result = conv
        text = convention_summary(conv).split("\n", 1)
        more = f"<br><span style='color:#555'>{_e(text[1])}</span>" if len(text) > 1 else ""
        self.summary.value = f"<p><code>{_e(text[0])}</code>{more}</p>"
        self._ok()


def convention_picker(convention: str | Convention = "horizon") -> ConventionPicker:
    """A convention chooser: the named presets in a dropdown, with what each one does.

    Examples
    --------
    >>> picker = convention_picker()
    >>> picker.dropdown.value = "bt709-limited"
    >>> picker.convention.matrix, picker.convention.range
    ('bt709', 'limited')
    """
    return ConventionPicker(convention)


# ----------------------------------------------------------------------------
# plane viewer
# ----------------------------------------------------------------------------
@dataclass
class PlaneView:
    """One image through the NV12 round trip: its planes, the decoded image and the error.

    Attributes
    ----------
    name : str
    convention : str
    rgb : numpy.ndarray
        The image as encoded, (H, W, 3) uint8.
    frame : NV12Frame
    decoded : numpy.ndarray
        ``nv12_to_rgb(frame)`` under the same convention.
    psnr, mae : float
        Of ``decoded`` against ``rgb``, over all pixels and channels.
    max_error : int
        Largest absolute error in levels.
    planes, error : matplotlib.figure.Figure
        :func:`nv12kit.plots.plot_planes` and :func:`nv12kit.plots.plot_roundtrip_error`.
    notes : list of str
    """

    name: str
    convention: str
    rgb: np.ndarray = field(repr=False)
    frame: NV12Frame = field(repr=False)
    decoded: np.ndarray = field(repr=False)
    psnr: float
    mae: float
    max_error: int
    planes: Any = field(repr=False)
    error: Any = field(repr=False)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line with the round trip's numbers."""
        psnr = "inf" if math.isinf(self.psnr) else f"{self.psnr:.2f}"
        h, w = self.rgb.shape[:2]
        return (f"{self.name} ({w}x{h}) through {self.convention}: PSNR {psnr} dB, MAE {self.mae:.3f}, "
                f"max error {self.max_error} levels")

    def _repr_html_(self) -> str:
        notes = "".join(f"<li>{_e(n)}</li>" for n in self.notes)
        return (f"<div class='nv12kit-planes'><p>{_e(self.summary())}</p>"
                + (f"<ul>{notes}</ul>" if notes else "")
                + _img_html(self.planes, f"Y, U and V planes of {self.name}") + "<br>"
                + _img_html(self.error, f"round-trip error of {self.name}") + "</div>")


def plane_view_figures(
    image: Any,
    *,
    convention: str | Convention = "horizon",
    size: tuple[int, int] | None = None,
) -> PlaneView:
    """Encode an image to NV12, decode it back, and draw the planes and the error.

    Parameters
    ----------
    image : path, PIL image or (H, W, 3) uint8 array
    convention : str or Convention, optional
        Used both to encode and to decode (an honest round trip).
    size : (int, int), optional
        Resize to this (height, width) first, e.g. the model's input size;
        otherwise odd sides are cropped to even.

    Returns
    -------
    PlaneView

    Raises
    ------
    InputError, ConventionError
        An unreadable image or an unknown convention.

    Examples
    --------
    >>> import numpy as np
    >>> view = plane_view_figures(np.full((8, 8, 3), 200, np.uint8))
    >>> view.max_error, view.frame.shape, len(view.planes.axes) >= 3
    (0, (8, 8), True)
    """
    conv = get_convention(convention)
    rgb, notes, _ = prepare_image(image, size)
    frame = rgb_to_nv12(rgb, convention=conv)
    decoded = nv12_to_rgb(frame, convention=conv)
    psnr, mae, max_error = image_error(rgb, decoded)
    name = _label(image)
    planes = plots.plot_planes(frame, title=f"NV12 planes of {name} ({conv.name})")
    error = plots.plot_roundtrip_error(rgb, decoded, title=f"RGB → NV12 → RGB error of {name} ({conv.name})")
    return PlaneView(name, conv.name, rgb, frame, decoded, psnr, mae, max_error, planes, error, notes)


class PlaneViewer(_Shell):
    """An image picker and a convention picker driving :func:`plane_view_figures`.

    Attributes
    ----------
    image : ImagePicker
    convention : ConventionPicker
    planes, error_map : ipywidgets.Image
        The two figures as PNG.
    stats : ipywidgets.HTML
        The round trip's PSNR, MAE and maximum error.
    result : PlaneView or None
    error : str or None
        The last error message.
    """

    def __init__(self, image: Any = None, *, convention: str | Convention = "horizon",
                 size: tuple[int, int] | None = None) -> None:
        self._size = size
        self.image = ImagePicker(image, size=size)
        self.convention = ConventionPicker(convention)
        self.planes = ipywidgets.Image(format="png")
        self.error_map = ipywidgets.Image(format="png")
        self.stats = ipywidgets.HTML()
        super().__init__([self.image, self.convention, self.stats, self.planes, self.error_map])
        self.image.files.observe(self._redraw, names="value")
        self.convention.dropdown.observe(self._redraw, names="value")
        self._redraw()

    def _redraw(self, change: Any = None) -> None:
        source = self.image.value
        if source is None:
            return
        try:
            self.result = plane_view_figures(source, convention=self.convention.convention, size=self._size)
        except Exception as exc:  # noqa: BLE001 - shown, not raised
            self.result = None
            self._fail(exc)
            return
        _set_png(self.planes, self.result.planes)
        _set_png(self.error_map, self.result.error)
        self.stats.value = f"<p>{_e(self.result.summary())}</p>"
        self._ok()


def plane_viewer(
    image: Any = None,
    *,
    convention: str | Convention = "horizon",
    size: tuple[int, int] | None = None,
) -> PlaneViewer:
    """See the Y, U and V planes of an image and its round-trip error, for any convention.

    Parameters
    ----------
    image : str or os.PathLike, optional
        A folder of images or one image (default: the bundled photos).
    convention : str or Convention, optional
        The convention shown first.
    size : (int, int), optional
        The model's static (height, width); images are resized to it.

    Returns
    -------
    PlaneViewer
        Change ``viewer.image.files.value`` or ``viewer.convention.dropdown.value``
        and ``viewer.result`` (a :class:`PlaneView`) and the figures follow.
    """
    return PlaneViewer(image, convention=convention, size=size)


# ----------------------------------------------------------------------------
# noise explorer
# ----------------------------------------------------------------------------
class NoiseSession:
    """A float model and one image, with every model run cached, for exploring noise interactively.

    Noise studies are cached per (distribution, trials, amplitude): trial
    ``t`` draws the same unit noise at every amplitude (see
    :func:`nv12kit.noise_study`), so a study at one amplitude equals that
    amplitude's part of a study at several, and moving a slider back to an
    amplitude already seen runs nothing. NV12 round trips are cached per
    convention and the noisy outputs shown in diff maps per (distribution,
    amplitude).

    Parameters
    ----------
    model : str, os.PathLike or onnx.ModelProto
        The float model.
    image : path, PIL image or (H, W, 3) uint8 array
        Resized to the model's static size (or cropped to even sides).
    preprocess : Preprocess or dict, optional
        Read from the model's metadata when omitted.
    seed : int, optional
        Seed of the noise trials.
    output : str, optional
        The output to study (the first by default).

    Attributes
    ----------
    rgb : numpy.ndarray
        The image as the model sees it.
    clean : dict of str to numpy.ndarray
        The model's outputs on it.
    studies_run, roundtrips_run : int
        How many studies and round trips were actually computed (the rest
        came from the cache).
    """

    def __init__(self, model: Any, image: Any, *, preprocess: Preprocess | Mapping[str, Any] | None = None,
                 seed: int = 0, output: str | None = None) -> None:
        from .model import ImageInputSpec, load_model
        from .runtime import Runner

        self.model = load_model(model)
        self.label = pathlib.Path(model).name if isinstance(model, (str, os.PathLike)) else "model"
        self.preprocess, _ = _resolve_preprocess(self.model, preprocess)
        self.spec = ImageInputSpec.from_model(self.model, layout=self.preprocess.layout)
        self.rgb, self.notes, _ = prepare_image(image, self.spec.static_size)
        self.image_label = _label(image)
        self.runner = Runner(self.model, name="qat_feat")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise InputError(f"seed must be a non-negative integer, got {seed!r}")
        self.seed = int(seed)
        names = list(self.runner.output_names)
        self.output = names[0] if output is None else output
        if self.output not in names:
            raise InputError(f"unknown output {self.output!r}; the model's outputs are {names}")
        self.clean = self.runner.run({self.spec.name: self.preprocess(self.rgb)})
        self._studies: dict[tuple[str, int, float], NoiseStudy] = {}
        self._roundtrips: dict[str, dict[str, np.ndarray]] = {}
        self._noisy: dict[tuple[str, float], dict[str, np.ndarray]] = {}
        self.studies_run = 0
        self.roundtrips_run = 0

    @property
    def dense(self) -> bool:
        """Whether the studied output is a map (segmentation, depth...), so a diff map makes sense."""
        return _is_dense(self.clean[self.output])

    def _one(self, amplitude: float, distribution: str, trials: int) -> NoiseStudy:
        key = (distribution, int(trials), float(amplitude))
        if key not in self._studies:
            self._studies[key] = noise_study(
                self.runner, self.rgb, self.preprocess, amplitudes=(amplitude,), trials=trials,
                distribution=distribution, seed=self.seed, conventions=(), output=self.output,
                input_name=self.spec.name, progress=False)
            self.studies_run += 1
        return self._studies[key]

    def roundtrip(self, convention: str | Convention) -> dict[str, np.ndarray]:
        """The model's outputs on ``nv12_to_rgb(rgb_to_nv12(rgb))`` under ``convention`` (cached)."""
        conv = get_convention(convention)
        if conv.name not in self._roundtrips:
            decoded = nv12_to_rgb(rgb_to_nv12(self.rgb, convention=conv), convention=conv)
            self._roundtrips[conv.name] = self.runner.run({self.spec.name: self.preprocess(decoded)})
            self.roundtrips_run += 1
        return self._roundtrips[conv.name]

    def roundtrip_cosine(self, convention: str | Convention) -> float:
        """``cos(clean output, round-trip output)`` of the studied output."""
        from .metrics import cosine

        return cosine(self.clean[self.output], self.roundtrip(convention)[self.output])

    def noisy_output(self, amplitude: float, *, distribution: str = "symmetric") -> dict[str, np.ndarray]:
        """The outputs of the first noise trial at ``amplitude`` (the same noise as the study's trial 1)."""
        key = (distribution, float(amplitude))
        if key not in self._noisy:
            noisy = perturb_trial(self.rgb, amplitude, distribution=distribution, seed=self.seed, trial=0)
            self._noisy[key] = self.runner.run({self.spec.name: self.preprocess.normalize_pixels(noisy)})
        return self._noisy[key]

    def study(
        self,
        amplitudes: Sequence[float],
        *,
        distribution: str = "symmetric",
        trials: int = 20,
        conventions: Sequence[str | Convention] = (),
    ) -> NoiseStudy:
        """A :class:`~nv12kit.NoiseStudy` at these amplitudes, assembled from cached per-amplitude studies.

        Parameters
        ----------
        amplitudes : sequence of float
            Noise amplitudes in pixel values.
        distribution : {"symmetric", "uniform_0_a", "gaussian"}, optional
        trials : int, optional
        conventions : sequence of str or Convention, optional
            NV12 round trips to include, as :func:`nv12kit.noise_study` does.

        Returns
        -------
        NoiseStudy
        """
        if distribution not in DISTRIBUTIONS:
            raise InputError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
        try:
            levels = sorted({float(a) for a in amplitudes})
        except (TypeError, ValueError) as exc:
            raise InputError(f"amplitudes must be numbers (pixel values), got {amplitudes!r}") from exc
        if not levels:
            raise InputError("amplitudes is empty; give at least one, e.g. (1, 2, 3)")
        from .metrics import cosine

        parts = {a: self._one(a, distribution, trials) for a in levels}
        outputs = list(self.runner.output_names)
        roundtrip, per_output, top1 = {}, {}, {}
        for conv in conventions:
            name = get_convention(conv).name
            result = self.roundtrip(conv)
            per_output[name] = {o: cosine(self.clean[o], result[o]) for o in outputs}
            roundtrip[name] = per_output[name][self.output]
            if self.clean[self.output].ndim == 2 and self.clean[self.output].shape[1] >= 2:
                top1[name] = bool(np.argmax(result[self.output]) == np.argmax(self.clean[self.output]))
        return NoiseStudy(
            amplitudes=tuple(levels), distribution=distribution, trials=int(trials), seed=self.seed,
            output=self.output,
            cosines={a: parts[a].cosines[a] for a in levels},
            per_output={o: {a: parts[a].per_output[o][a] for a in levels} for o in outputs},
            top1={a: parts[a].top1[a] for a in levels if a in parts[a].top1},
            roundtrip=roundtrip, roundtrip_per_output=per_output, roundtrip_top1=top1,
            image_shape=(int(self.rgb.shape[0]), int(self.rgb.shape[1])), notes=list(self.notes),
            seconds=sum(p.seconds for p in parts.values()),
        )

    def __repr__(self) -> str:
        h, w = self.rgb.shape[:2]
        return (f"NoiseSession({self.label} on {self.image_label} {w}x{h}, output {self.output!r}, seed {self.seed}; "
                f"{self.studies_run} studies and {self.roundtrips_run} round trips computed)")


@dataclass
class NoiseExplorerState:
    """What the noise explorer shows for one setting of its controls.

    Attributes
    ----------
    amplitude : float
    distribution : str
    trials : int
    convention : str
    study : NoiseStudy
        At every amplitude of the curve (including ``amplitude``), with the
        NV12 round trip of ``convention``.
    floor : float
        Mean cosine of the trials at ``amplitude``.
    worst : float
        Lowest cosine of the trials at ``amplitude``.
    roundtrip_cosine : float
        ``cos(clean, NV12 round trip)`` under ``convention``.
    histogram, curve : matplotlib.figure.Figure
        The trial cosines at ``amplitude`` with the NV12 line; the noise
        floor against amplitude with the NV12 line and ``amplitude`` marked.
    diff : matplotlib.figure.Figure or None
        For dense outputs: where a noisy trial and where the NV12 round trip
        change the output; None otherwise (``diff_note`` says why).
    diff_note : str
    """

    amplitude: float
    distribution: str
    trials: int
    convention: str
    study: NoiseStudy = field(repr=False)
    floor: float
    worst: float
    roundtrip_cosine: float
    histogram: Any = field(repr=False)
    curve: Any = field(repr=False)
    diff: Any = field(repr=False, default=None)
    diff_note: str = ""

    def summary(self) -> str:
        """One line: the noise floor at the amplitude against the NV12 loss."""
        label = _noise_label(self.distribution, self.amplitude)
        loss, floor_loss = 1.0 - self.roundtrip_cosine, 1.0 - self.floor
        ratio = f"{loss / floor_loss:.2f}x" if floor_loss > 0 else "-"
        return (f"noise {label} ({self.trials} trials): mean cosine {self.floor:.6f}, worst {self.worst:.6f}; "
                f"NV12 round trip ({self.convention}): cosine {self.roundtrip_cosine:.6f}, "
                f"1 - cos {ratio} the noise's")

    def _repr_html_(self) -> str:
        parts = [f"<div class='nv12kit-noise'><p>{_e(self.summary())}</p>",
                 _img_html(self.histogram, "histogram of trial cosines"), "<br>",
                 _img_html(self.curve, "noise floor against amplitude")]
        if self.diff is not None:
            parts += ["<br>", _img_html(self.diff, "output difference maps")]
        elif self.diff_note:
            parts.append(f"<p style='color:#555'>{_e(self.diff_note)}</p>")
        return "".join(parts) + "</div>"


def noise_explorer_state(
    session: NoiseSession,
    *,
    amplitude: float = 2.0,
    distribution: str = "symmetric",
    trials: int = 20,
    convention: str | Convention = "horizon",
    amplitudes: Sequence[float] = (1, 2, 3),
) -> NoiseExplorerState:
    """Everything the noise explorer draws for one setting, from a session's cached runs.

    Parameters
    ----------
    session : NoiseSession
        The model and image.
    amplitude : float, optional
        The noise amplitude in pixel values whose trials the histogram shows.
    distribution : {"symmetric", "uniform_0_a", "gaussian"}, optional
    trials : int, optional
    convention : str or Convention, optional
        The NV12 round trip marked in the figures (and diffed for dense outputs).
    amplitudes : sequence of float, optional
        The other amplitudes of the floor-against-amplitude curve.

    Returns
    -------
    NoiseExplorerState

    Raises
    ------
    InputError, ConventionError
        A non-positive amplitude, bad trials, an unknown distribution or convention.
    """
    if not isinstance(session, NoiseSession):
        raise InputError(f"session must be a NoiseSession(model, image), got {type(session).__name__}")
    try:
        a = float(amplitude)
    except (TypeError, ValueError) as exc:
        raise InputError(f"amplitude must be a positive number of pixel values, got {amplitude!r}") from exc
    if not math.isfinite(a) or a <= 0:
        raise InputError(f"amplitude must be a positive number of pixel values, got {amplitude!r}")
    conv = get_convention(convention)
    study = session.study([*amplitudes, a], distribution=distribution, trials=trials, conventions=(conv,))
    chosen = session.study([a], distribution=distribution, trials=trials, conventions=(conv,))
    histogram = plots.plot_cosine_histograms(chosen)
    curve = plots.plot_cosine_vs_amplitude(study)
    ax = curve.axes[0]
    ax.axvline(a, color="0.45", linestyle=":", linewidth=1.5, zorder=0)
    ax.annotate(f"selected: {_noise_label(distribution, a)}", xy=(a, 1.0), xycoords=("data", "axes fraction"),
                xytext=(3, -12), textcoords="offset points", fontsize="small", color="0.3")
    diff, note = None, ""
    clean = session.clean[session.output]
    if session.dense:
        from matplotlib.figure import Figure

        noisy = session.noisy_output(a, distribution=distribution)[session.output]
        trip = session.roundtrip(conv)[session.output]
        diff = Figure(figsize=(11, 4.8), layout="constrained")
        left, right = diff.subplots(1, 2)
        plots.plot_output_diff(clean, noisy, ax=left, title=f"noise {_noise_label(distribution, a)}, trial 1 vs clean")
        plots.plot_output_diff(clean, trip, ax=right, title=f"NV12 round trip ({conv.name}) vs clean")
    else:
        note = (f"no diff map: output {session.output!r} has shape {list(np.shape(clean))}, which is not a map "
                "(diff maps are drawn for dense outputs such as segmentation or depth)")
    values = chosen.cosines[a]
    return NoiseExplorerState(
        amplitude=a, distribution=distribution, trials=int(trials), convention=conv.name, study=study,
        floor=float(np.mean(values)), worst=float(np.min(values)),
        roundtrip_cosine=float(study.roundtrip[conv.name]), histogram=histogram, curve=curve, diff=diff,
        diff_note=note,
    )


class NoiseExplorer(_Shell):
    """Sliders and dropdowns over :func:`noise_explorer_state`; redraws on every change.

    Attributes
    ----------
    amplitude : ipywidgets.FloatSlider
        Noise amplitude in pixel values.
    distribution : ipywidgets.Dropdown
        One of :data:`nv12kit.noise.DISTRIBUTIONS`.
    trials : ipywidgets.IntSlider
    convention : ipywidgets.Dropdown
        The NV12 convention whose round trip is marked.
    histogram, curve, diff : ipywidgets.Image
        The figures as PNG (``diff`` is hidden for outputs that are not maps).
    summary : ipywidgets.HTML
    session : NoiseSession
        The cached model runs.
    result : NoiseExplorerState or None
    """

    def __init__(self, session: NoiseSession, *, amplitude: float = 2.0, distribution: str = "symmetric",
                 trials: int = 20, convention: str | Convention = "horizon", amplitudes: Sequence[float] = (1, 2, 3),
                 max_amplitude: float = 8.0) -> None:
        self.session = session
        self._amplitudes = tuple(amplitudes)
        self._pngs: dict[tuple[Any, ...], tuple[NoiseExplorerState, bytes, bytes, bytes]] = {}
        conv = get_convention(convention).name
        style = {"description_width": "90px"}
        self.amplitude = ipywidgets.FloatSlider(value=amplitude, min=0.5, max=max(max_amplitude, amplitude),
                                                step=0.5, description="amplitude", continuous_update=False,
                                                style=style, layout=ipywidgets.Layout(width="420px"))
        self.distribution = ipywidgets.Dropdown(options=list(DISTRIBUTIONS), value=distribution,
                                                description="distribution", style=style)
        self.trials = ipywidgets.IntSlider(value=trials, min=5, max=max(200, trials), step=5, description="trials",
                                           continuous_update=False, style=style)
        self.convention = ipywidgets.Dropdown(options=list(CONVENTIONS), value=conv, description="convention",
                                              style=style)
        self.summary = ipywidgets.HTML()
        self.histogram = ipywidgets.Image(format="png")
        self.curve = ipywidgets.Image(format="png")
        self.diff = ipywidgets.Image(format="png")
        controls = ipywidgets.HBox([ipywidgets.VBox([self.amplitude, self.trials]),
                                    ipywidgets.VBox([self.distribution, self.convention])])
        super().__init__([controls, self.summary, ipywidgets.HBox([self.histogram, self.curve]), self.diff])
        for control in (self.amplitude, self.distribution, self.trials, self.convention):
            control.observe(self._redraw, names="value")
        self._redraw()

    def _redraw(self, change: Any = None) -> None:
        key = (self.amplitude.value, self.distribution.value, self.trials.value, self.convention.value)
        try:
            if key not in self._pngs:  # figures are cached too: going back to a setting redraws nothing
                state = noise_explorer_state(
                    self.session, amplitude=key[0], distribution=key[1], trials=key[2], convention=key[3],
                    amplitudes=self._amplitudes)
                self._pngs[key] = (state, _png(state.histogram), _png(state.curve),
                                   _png(state.diff) if state.diff is not None else b"")
                while len(self._pngs) > _MAX_CACHED_SETTINGS:  # figures weigh a few MB: keep the recent ones
                    del self._pngs[next(iter(self._pngs))]
            else:
                self._pngs[key] = self._pngs.pop(key)  # most recently used last
        except Exception as exc:  # noqa: BLE001 - shown, not raised
            self.result = None
            self._fail(exc)
            return
        self.result, histogram, curve, diff = self._pngs[key]
        self.histogram.value, self.curve.value, self.diff.value = histogram, curve, diff
        self.diff.layout.display = None if diff else "none"
        note = f"<br><span style='color:#555'>{_e(self.result.diff_note)}</span>" if self.result.diff_note else ""
        self.summary.value = f"<p>{_e(self.result.summary())}{note}</p>"
        self._ok()


def noise_explorer(
    model: Any,
    image: Any = None,
    *,
    preprocess: Preprocess | Mapping[str, Any] | None = None,
    amplitude: float = 2.0,
    distribution: str = "symmetric",
    trials: int = 20,
    convention: str | Convention = "horizon",
    amplitudes: Sequence[float] = (1, 2, 3),
    seed: int = 0,
    output: str | None = None,
) -> NoiseExplorer:
    """Explore how pixel noise and the NV12 round trip move a model's output, with live figures.

    Parameters
    ----------
    model : str, os.PathLike, onnx.ModelProto or NoiseSession
        The float model, or a session that already holds model and image
        (its cached runs are reused).
    image : path, PIL image or (H, W, 3) uint8 array
        Needed unless ``model`` is a session.
    preprocess : Preprocess or dict, optional
        Read from the model's metadata when omitted.
    amplitude, distribution, trials, convention
        Initial values of the controls.
    amplitudes : sequence of float, optional
        Amplitudes always drawn on the floor-against-amplitude curve.
    seed : int, optional
    output : str, optional
        The output to study (the first by default).

    Returns
    -------
    NoiseExplorer
        Set ``explorer.amplitude.value`` (etc.) and ``explorer.result`` (a
        :class:`NoiseExplorerState`) and the figures follow.

    Raises
    ------
    InputError, ModelError
        As :class:`NoiseSession` and :func:`noise_explorer_state`.
    """
    if isinstance(model, NoiseSession):
        session = model
    else:
        if image is None:
            raise InputError("noise_explorer needs an image: noise_explorer(model, 'frame.jpg')")
        session = NoiseSession(model, image, preprocess=preprocess, seed=seed, output=output)
    return NoiseExplorer(session, amplitude=amplitude, distribution=distribution, trials=trials,
                         convention=convention, amplitudes=amplitudes)


# ----------------------------------------------------------------------------
# converter checker
# ----------------------------------------------------------------------------
@dataclass
class ConverterCheck:
    """A diagnosis of someone's NV12, with the frame and the error maps that show it.

    Attributes
    ----------
    diagnosis : nv12kit.lint.Diagnosis
        Ranked hypotheses; ``diagnosis.top.issues``, ``.explanation`` and ``.fix``.
    subject : str
        What was checked.
    expected : str
        The convention it was checked against.
    rgb : numpy.ndarray or None
        The reference image (None for dumps checked without one).
    frame : NV12Frame or None
        The frame as read, when it could be read as plain NV12.
    errors, planes : matplotlib.figure.Figure or None
        The image, the frame decoded as the chip would decode it, and the
        map of ``|Y - Y expected|`` against nv12kit's encoding under the
        expected convention (luma does not depend on chroma down-sampling,
        so this map shows the encoding bug alone); then the frame's Y, U
        and V planes.
    notes : list of str
        Why a figure is missing, and the like.
    """

    diagnosis: Any
    subject: str
    expected: str
    rgb: np.ndarray | None = field(repr=False)
    frame: NV12Frame | None = field(repr=False)
    errors: Any = field(repr=False)
    planes: Any = field(repr=False)
    notes: list[str] = field(default_factory=list)

    @property
    def issues(self) -> tuple[str, ...]:
        """The issue ids of the best hypothesis (``("ok",)`` when nothing is wrong)."""
        return tuple(self.diagnosis.top.issues)

    def summary(self) -> str:
        """The verdict, the explanation and the fix, as text."""
        top = self.diagnosis.top
        head = "ok" if self.diagnosis.is_ok else "BUG: " + ", ".join(top.issues)
        return f"{head} ({self.subject}; expected {self.expected})\n{top.explanation}\nfix: {top.fix}"

    def _repr_html_(self) -> str:
        parts = ["<div class='nv12kit-converter'>", self.diagnosis._repr_html_()]
        parts += [f"<p style='color:#555'>{_e(n)}</p>" for n in self.notes]
        if self.errors is not None:
            parts.append(_img_html(self.errors, "the checked NV12 decoded, and its luma error"))
        if self.planes is not None:
            parts += ["<br>", _img_html(self.planes, "planes of the checked NV12")]
        return "".join(parts) + "</div>"


def load_converter(source: str, *, name: str | None = None) -> Callable[..., Any]:
    """Run the code you typed (or pasted) and return the converter function it defines.

    **This executes ``source`` in this Python process, with your
    permissions, exactly like running it in a notebook cell.** Only pass
    code you wrote or trust; nv12kit itself never calls this on anything but
    what you give it.

    Parameters
    ----------
    source : str
        Python code defining a function such as ``def rgb_to_nv12(rgb): ...``.
        ``np`` (numpy) and ``nv12kit`` are available without importing them.
    name : str, optional
        The function to return. By default ``rgb_to_nv12`` if defined,
        else the only function the code defines.

    Returns
    -------
    callable

    Raises
    ------
    InputError
        The code is empty, has a syntax error, raises while it is run, or
        does not define exactly one candidate function (the names found are
        listed).

    Examples
    --------
    >>> fn = load_converter("def rgb_to_nv12(rgb):\\n    return nv12kit.rgb_to_nv12(rgb)")
    >>> fn.__name__
    'rgb_to_nv12'
    """
    import nv12kit

    if not isinstance(source, str) or not source.strip():
        raise InputError("no code to run: paste a function such as 'def rgb_to_nv12(rgb): ...'")
    try:
        code = compile(source, "<your converter>", "exec")
    except SyntaxError as exc:
        raise InputError(f"your code has a syntax error on line {exc.lineno}: {exc.msg}") from exc
    namespace: dict[str, Any] = {"__name__": "nv12kit_user_converter", "np": np, "numpy": np, "nv12kit": nv12kit}
    given = set(namespace)
    try:
        exec(code, namespace)  # noqa: S102 - the user's own code, run on their request (see the docstring)
    except Exception as exc:  # noqa: BLE001 - the user's code may raise anything
        raise InputError(f"running your code raised {type(exc).__name__}: {exc}") from exc
    functions = {k: v for k, v in namespace.items()
                 if k not in given and callable(v) and getattr(v, "__module__", None) == "nv12kit_user_converter"}
    if name is not None:
        if name not in namespace or not callable(namespace[name]):
            raise InputError(f"your code defines no function {name!r}; it defines {sorted(functions) or 'none'}")
        return namespace[name]
    if "rgb_to_nv12" in functions:
        return functions["rgb_to_nv12"]
    if len(functions) == 1:
        return next(iter(functions.values()))
    raise InputError(f"your code defines {len(functions)} functions ({sorted(functions) or 'none'}); name the "
                     "converter rgb_to_nv12 or pass name=")


def _as_frame(out: Any, height: int, width: int) -> NV12Frame:
    """The frame a converter returned, when it is plain NV12: a frame, (y, uv), (y, u, v) or H*W*3/2 bytes."""
    if isinstance(out, NV12Frame):
        return out
    if isinstance(out, (tuple, list)) and len(out) == 2:
        return NV12Frame(*out)
    if isinstance(out, (tuple, list)) and len(out) == 3:
        y, u, v = (np.asarray(p) for p in out)
        return NV12Frame.from_planes(y, u.reshape(height // 2, width // 2), v.reshape(height // 2, width // 2))
    if isinstance(out, (bytes, bytearray, memoryview)):
        return NV12Frame.from_bytes(bytes(out), width, height)
    if isinstance(out, np.ndarray) and out.dtype == np.uint8:
        return NV12Frame.from_bytes(np.ascontiguousarray(out).reshape(-1), width, height)
    raise InputError(f"cannot read a {type(out).__name__} as an NV12 frame")


def _error_figures(rgb: np.ndarray, frame: NV12Frame | None, conv: Convention, subject: str) -> tuple[Any, Any]:
    """The image, the frame as the chip decodes it, and its luma against nv12kit's; then the frame's planes."""
    from matplotlib.figure import Figure

    if frame is None:
        return None, None
    if frame.shape != rgb.shape[:2]:
        raise InputError(f"the frame is {frame.width}x{frame.height} but the image is {rgb.shape[1]}x{rgb.shape[0]}")
    theirs = nv12_to_rgb(frame, convention=conv)
    psnr, mae, _ = image_error(rgb, theirs)
    # Luma does not depend on how chroma is down-sampled, so its difference is the encoding bug alone.
    delta = np.abs(frame.y.astype(np.int16) - rgb_to_nv12(rgb, convention=conv).y.astype(np.int16))
    fig = Figure(figsize=(13, 4.2), layout="constrained")
    source, decoded, luma = fig.subplots(1, 3)
    source.imshow(rgb, interpolation="nearest")
    source.set_title("the image", fontsize="medium")
    decoded.imshow(theirs, interpolation="nearest")
    psnr_text = "∞" if math.isinf(psnr) else f"{psnr:.1f}"
    decoded.set_title(f"{subject}, decoded as the chip does ({conv.name})\nPSNR {psnr_text} dB, MAE {mae:.2f} "
                      "against the image", fontsize="medium")
    shown = luma.imshow(delta, cmap="magma", vmin=0, vmax=max(int(delta.max()), 1), interpolation="nearest")
    fig.colorbar(shown, ax=luma, shrink=0.8).set_label("levels")
    luma.set_title(f"|Y − nv12kit's {conv.name} Y|\nmean {float(delta.mean()):.2f}, max {int(delta.max())} levels",
                   fontsize="medium")
    for ax in (source, decoded, luma):
        ax.set_xticks([])
        ax.set_yticks([])
    planes = plots.plot_planes(frame, title=f"planes of {subject}")
    return fig, planes


def converter_check(fn: Callable[..., Any], *, expected: str | Convention = "horizon",
                    order: str = "rgb") -> ConverterCheck:
    """Diagnose an RGB -> NV12 function with :func:`nv12kit.lint.check_converter` and draw its error maps.

    Parameters
    ----------
    fn : callable
        Your converter; see :func:`nv12kit.lint.check_converter` for what it
        may take and return. It is called a few times on
        :func:`nv12kit.chart.test_chart` and a bundled photo.
    expected : str or Convention, optional
        The convention the chip assumes.
    order : {"rgb", "bgr"}, optional
        The channel order ``fn`` expects.

    Returns
    -------
    ConverterCheck
        The error maps are of the test chart; they are left out (with a
        note) when the converter's output is not plain NV12 of the chart's
        size (e.g. padded rows), which the diagnosis then explains.

    Raises
    ------
    InputError
        ``fn`` raised, or returned something that is not NV12.
    """
    from .chart import test_chart
    from .lint import check_converter

    conv = get_convention(expected)
    diagnosis = check_converter(fn, expected=conv, order=order)
    chart = test_chart()
    given = np.ascontiguousarray(chart[..., ::-1]) if order == "bgr" else chart.copy()
    notes: list[str] = []
    name = getattr(fn, "__name__", "your converter")
    frame = None
    try:
        try:
            out = fn(given)
        except Exception:  # noqa: BLE001 - it may take a PIL image instead (check_converter accepted it)
            from PIL import Image

            out = fn(Image.fromarray(given))
        frame = _as_frame(out, *chart.shape[:2])
        errors, planes = _error_figures(chart, frame, conv, name)
    except Exception as exc:  # noqa: BLE001 - the diagnosis above already explains odd output
        errors = planes = None
        notes.append(f"no error maps: the output on the test chart is not plain NV12 of its size ({exc})")
    return ConverterCheck(diagnosis, f"{name} on the test chart", conv.name, chart, frame, errors, planes, notes)


def _load_plane(source: Any, what: str) -> np.ndarray | bytes:
    """A plane from a .npy file (no pickles), a raw file (bytes) or an array."""
    if isinstance(source, (str, os.PathLike)):
        path = pathlib.Path(source).expanduser()
        if not path.is_file():
            raise InputError(f"{what} file {str(source)!r} does not exist")
        if path.suffix.lower() == ".npy":
            try:
                return np.load(path, allow_pickle=False)
            except (ValueError, OSError) as exc:
                raise InputError(f"{what} file {str(source)!r} is not a readable .npy file: {exc}") from exc
        return path.read_bytes()
    return np.asarray(source)


def dumps_check(
    y: Any,
    uv: Any,
    *,
    image: Any = None,
    expected: str | Convention = "horizon",
    width: int | None = None,
    height: int | None = None,
    stride: int | None = None,
) -> ConverterCheck:
    """Diagnose Y and UV planes dumped from your pipeline, against the image they were made from.

    Parameters
    ----------
    y, uv : path or array
        The planes: ``.npy`` files (loaded without pickles), raw byte files
        (``.bin``, ``.yuv``...), or arrays in any shape
        :func:`nv12kit.lint.diagnose` reads.
    image : path, PIL image or (H, W, 3) uint8 array, optional
        The RGB image the planes were converted from. Without it only what
        the bytes alone can tell is checked (range, flat chroma, stride...).
    expected : str or Convention, optional
        The convention the chip assumes.
    width, height : int, optional
        Frame size of raw dumps; taken from ``image`` when omitted.
    stride : int, optional
        Bytes per Y row of raw dumps, when rows are padded.

    Returns
    -------
    ConverterCheck

    Raises
    ------
    InputError
        Missing or unreadable files, raw dumps without a size, planes whose
        sizes do not fit (the message has the arithmetic).
    """
    from .images import crop_to_even, load_image
    from .lint import diagnose

    conv = get_convention(expected)
    rgb = None
    if image is not None:
        rgb = load_image(image)
        if rgb.shape[0] % 2 or rgb.shape[1] % 2:
            rgb = crop_to_even(rgb)
        height = rgb.shape[0] if height is None else height
        width = rgb.shape[1] if width is None else width
    y_data, uv_data = _load_plane(y, "Y"), _load_plane(uv, "UV")
    raw = isinstance(y_data, bytes) or isinstance(uv_data, bytes)
    if raw:
        if width is None or height is None:
            raise InputError("raw Y/UV dumps need the frame size: give the image they came from, or width= and "
                             "height=")
        to_bytes = [d if isinstance(d, bytes) else np.ascontiguousarray(d, np.uint8).tobytes()
                    for d in (y_data, uv_data)]
        nv12: Any = to_bytes[0] + to_bytes[1]
    else:
        nv12 = (y_data, uv_data)
    diagnosis = diagnose(rgb, nv12, expected=conv, width=width, height=height, stride=stride)
    notes: list[str] = []
    frame = errors = planes = None
    try:
        frame = (NV12Frame.from_bytes(nv12, width, height, stride=stride) if raw  # type: ignore[arg-type]
                 else NV12Frame(*nv12))
        if rgb is not None:
            errors, planes = _error_figures(rgb, frame, conv, "your dump")
        else:
            planes = plots.plot_planes(frame, title="planes of your dump")
            notes.append("no error maps without the image the dump was made from (image=)")
    except Exception as exc:  # noqa: BLE001 - the diagnosis explains what is wrong with the bytes
        notes.append(f"no error maps: the dump cannot be read as plain NV12 ({exc})")
    subject = "your Y/UV dump" + (" against its image" if rgb is not None else " (no image)")
    return ConverterCheck(diagnosis, subject, conv.name, rgb, frame, errors, planes, notes)


class ConverterChecker(_Shell):
    """Paste your RGB -> NV12 function, or point at Y/UV dumps, and get the diagnosis and error maps.

    **The "Run my converter" button executes the code in the text area in
    this Python process (your kernel), with your permissions, as a
    notebook cell would.** Nothing runs until you press it, and only the
    code you typed or pasted is run.

    Attributes
    ----------
    code : ipywidgets.Textarea
        Your converter's code.
    expected, order : ipywidgets.Dropdown
        The chip's convention; the channel order your function expects.
    run_button : ipywidgets.Button
        Runs :func:`load_converter` then :func:`converter_check`.
    image_path, y_path, uv_path : ipywidgets.Text
        Reference image (optional) and the dumped planes (.npy or raw).
    width, height : ipywidgets.IntText
        Size of raw dumps (0: from the image).
    dumps_button : ipywidgets.Button
        Runs :func:`dumps_check`.
    report : ipywidgets.HTML
        The diagnosis.
    errors, planes : ipywidgets.Image
    result : ConverterCheck or None
    """

    def __init__(self, fn: Callable[..., Any] | None = None, *, expected: str | Convention = "horizon",
                 order: str = "rgb") -> None:
        wide = ipywidgets.Layout(width="720px")
        self.code = ipywidgets.Textarea(placeholder=_EXAMPLE_CONVERTER, layout=ipywidgets.Layout(width="720px",
                                                                                                 height="180px"))
        self.expected = ipywidgets.Dropdown(options=list(CONVENTIONS), value=get_convention(expected).name,
                                            description="chip expects")
        self.order = ipywidgets.Dropdown(options=["rgb", "bgr"], value=order, description="fn takes")
        self.run_button = ipywidgets.Button(description="Run my converter", button_style="warning",
                                            tooltip="executes the code above in this kernel",
                                            layout=ipywidgets.Layout(width="200px"))
        warning = ipywidgets.HTML("<small>Pressing the button runs the code above in this Python kernel, with your "
                                  "permissions, like a notebook cell. Only paste code you trust.</small>")
        self.image_path = ipywidgets.Text(description="image", placeholder="the RGB image the dump was made from "
                                          "(optional)", layout=wide)
        self.y_path = ipywidgets.Text(description="Y dump", placeholder="y.npy or y.bin", layout=wide)
        self.uv_path = ipywidgets.Text(description="UV dump", placeholder="uv.npy or uv.bin", layout=wide)
        self.width = ipywidgets.IntText(value=0, description="width")
        self.height = ipywidgets.IntText(value=0, description="height")
        self.dumps_button = ipywidgets.Button(description="Check dumps", layout=ipywidgets.Layout(width="200px"))
        self.report = ipywidgets.HTML()
        self.errors = ipywidgets.Image(format="png", layout=ipywidgets.Layout(display="none"))
        self.planes = ipywidgets.Image(format="png", layout=ipywidgets.Layout(display="none"))
        tabs = ipywidgets.Tab(children=[
            ipywidgets.VBox([self.code, ipywidgets.HBox([self.order, self.run_button]), warning]),
            ipywidgets.VBox([self.image_path, self.y_path, self.uv_path, ipywidgets.HBox([self.width, self.height]),
                             self.dumps_button]),
        ])
        tabs.set_title(0, "your function")
        tabs.set_title(1, "your Y/UV dumps")
        super().__init__([self.expected, tabs, self.report, self.errors, self.planes])
        self.run_button.on_click(lambda _: self.run_code())
        self.dumps_button.on_click(lambda _: self.run_dumps())
        if fn is not None:  # a function object the caller handed over explicitly: check it now
            self._show(lambda: converter_check(fn, expected=self.expected.value, order=self.order.value))

    def run_code(self) -> ConverterCheck | None:
        """Execute the code in :attr:`code` and diagnose the converter it defines (what the button does)."""
        return self._show(lambda: converter_check(load_converter(self.code.value), expected=self.expected.value,
                                                  order=self.order.value))

    def run_dumps(self) -> ConverterCheck | None:
        """Diagnose the dump files named in the path boxes (what the "Check dumps" button does)."""
        def check() -> ConverterCheck:
            if not self.y_path.value.strip() or not self.uv_path.value.strip():
                raise InputError("give both the Y and the UV dump")
            return dumps_check(self.y_path.value.strip(), self.uv_path.value.strip(),
                               image=self.image_path.value.strip() or None, expected=self.expected.value,
                               width=self.width.value or None, height=self.height.value or None)

        return self._show(check)

    def _show(self, job: Callable[[], ConverterCheck]) -> ConverterCheck | None:
        self.report.value = "<p>checking...</p>"
        try:
            self.result = job()
        except Exception as exc:  # noqa: BLE001 - shown, not raised (the user's code may raise anything)
            self.result = None
            self.report.value = ""
            _set_png(self.errors, None)
            _set_png(self.planes, None)
            self._fail(exc)
            return None
        notes = "".join(f"<p style='color:#555'>{_e(n)}</p>" for n in self.result.notes)
        self.report.value = self.result.diagnosis._repr_html_() + notes
        _set_png(self.errors, self.result.errors)
        _set_png(self.planes, self.result.planes)
        self._ok()
        return self.result


def converter_checker(
    fn: Callable[..., Any] | None = None,
    *,
    expected: str | Convention = "horizon",
    order: str = "rgb",
) -> ConverterChecker:
    """A checker for your RGB -> NV12 code or your Y/UV dumps: paste, press, read the diagnosis.

    Parameters
    ----------
    fn : callable, optional
        A converter function you already have in the notebook; it is
        checked at once. Otherwise paste code in the text area and press
        the button: **that runs your pasted code in this kernel.**
    expected : str or Convention, optional
        The chip's convention.
    order : {"rgb", "bgr"}, optional
        The channel order your function expects.

    Returns
    -------
    ConverterChecker
        ``checker.result`` is a :class:`ConverterCheck`.
    """
    return ConverterChecker(fn, expected=expected, order=order)


# ----------------------------------------------------------------------------
# for the guided notebook
# ----------------------------------------------------------------------------
def variant_outputs(variants: Any, image: Any, *, convention: str | Convention = "horizon") -> dict[str, dict]:
    """Run every model of :func:`nv12kit.build_variants` on one image, each fed the way it expects.

    The feat variants get ``preprocess(rgb)``; the NV12 variants get
    ``rgb_to_nv12(rgb, convention)`` as ``<input>_y`` and ``<input>_uv``.

    Parameters
    ----------
    variants : ModelVariants
    image : path, PIL image or (H, W, 3) uint8 array
        Resized to the model's static size (or cropped to even sides).
    convention : str or Convention, optional
        How the frame is encoded for the NV12 variants.

    Returns
    -------
    dict of str to dict of str to numpy.ndarray
        Variant name (``qat_feat``, ``qat_nv12``, ``quantized_feat``,
        ``quantized_nv12``, those that exist) to its outputs; compare two
        with :func:`nv12kit.compare`.
    """
    from .graph import ModelVariants
    from .model import ImageInputSpec
    from .runtime import Runner

    if not isinstance(variants, ModelVariants):
        raise InputError(f"variants must come from nv12kit.build_variants, got {type(variants).__name__}")
    spec = ImageInputSpec.from_model(variants.qat_feat, variants.input_name, layout=variants.preprocess.layout)
    rgb, _, _ = prepare_image(image, spec.static_size)
    tensor = variants.preprocess(rgb)
    feed = rgb_to_nv12(rgb, convention=convention).to_feed(variants.input_name)
    return {name: Runner(model, name=name).run(feed if name.endswith("nv12") else {variants.input_name: tensor})
            for name, model in variants.items()}
