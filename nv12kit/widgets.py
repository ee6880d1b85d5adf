"""Jupyter front ends: pick a model, an image and a convention, and watch what NV12 does to them.

Every widget here is a thin ipywidgets shell over a plain function of
:mod:`nv12kit.explore`, which does the work and returns a value you can
inspect, test or use without a browser:

=============================  ================================  ==================================
widget                         plain function (nv12kit.explore)  result
=============================  ================================  ==================================
:func:`model_picker`           ``describe_model``                ``ModelChoice``
:func:`image_picker`           ``folder_images``,                ``ImageChoice``
                               ``describe_image``
:func:`convention_picker`      ``convention_summary``            a :class:`~nv12kit.Convention`
:func:`plane_viewer`           ``plane_view_figures``            ``PlaneView``
:func:`noise_explorer`         ``noise_explorer_state``          ``NoiseExplorerState``
                               (over a ``NoiseSession``)
:func:`converter_checker`      ``load_converter``,               ``ConverterCheck``
                               ``converter_check``,
                               ``dumps_check``
=============================  ================================  ==================================

Each widget is an :class:`ipywidgets.VBox` whose controls are attributes
(``picker.path``, ``explorer.amplitude``, ...). Setting a control's
``.value`` runs the plain function at once and stores what it returned in
``.result`` (and the message of a failure in ``.error``, which the widget
also shows in red), so a test, or a notebook cell, can drive a widget
without a browser. Figures come from :mod:`nv12kit.plots` (matplotlib's
object API; pyplot is never used) and are shown as PNG
:class:`ipywidgets.Image` widgets.

The plain functions and result types of :mod:`nv12kit.explore` are
re-exported here too, so ``from nv12kit.widgets import describe_model``
keeps working; new code imports them from :mod:`nv12kit.explore`, which
does not need ipywidgets.

Needs the ``notebooks`` extra: ``pip install 'nv12kit[notebooks]'``.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

try:
    import ipywidgets
except ImportError as exc:  # pragma: no cover - installed wherever the tests run
    raise ImportError(
        "nv12kit.widgets needs ipywidgets >= 8, which is not installed; "
        "install it with: pip install 'nv12kit[notebooks]' (or pip install ipywidgets)"
    ) from exc

from ._util import DEFAULT_CONVENTION, convention_or_expected
from .conventions import CONVENTIONS, Convention, get_convention
from .errors import InputError, NV12KitError
from .explore import (
    ConverterCheck,
    ImageChoice,
    ModelChoice,
    NoiseExplorerState,
    NoiseSession,
    PlaneView,
    convention_summary,
    converter_check,
    describe_image,
    describe_model,
    dumps_check,
    folder_images,
    load_converter,
    noise_explorer_state,
    plane_view_figures,
    variant_outputs,
)
from .explore.common import escape, figure_png  # the explore cells and the widgets render alike
from .noise import DISTRIBUTIONS
from .preprocess import Preprocess

__all__ = [
    "ModelPicker",
    "model_picker",
    "ImagePicker",
    "image_picker",
    "ConventionPicker",
    "convention_picker",
    "PlaneViewer",
    "plane_viewer",
    "NoiseExplorer",
    "noise_explorer",
    "ConverterChecker",
    "converter_checker",
    # re-exported from nv12kit.explore for code written before it existed
    "ModelChoice",
    "describe_model",
    "ImageChoice",
    "folder_images",
    "describe_image",
    "convention_summary",
    "PlaneView",
    "plane_view_figures",
    "NoiseSession",
    "NoiseExplorerState",
    "noise_explorer_state",
    "ConverterCheck",
    "load_converter",
    "converter_check",
    "dumps_check",
    "variant_outputs",
]

_MAX_CACHED_SETTINGS = 48  # noise explorer settings whose figures are kept for instant redraws
_CUSTOM = "(your model: type its path below)"
_EXAMPLE_CONVERTER = '''import numpy as np

def rgb_to_nv12(rgb):
    """rgb: (H, W, 3) uint8 array. Return (y, uv) planes, an NV12Frame, or raw NV12 bytes."""
    ...'''


# ----------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------
def _error_html(message: str) -> str:
    return f"<div style='color:#c62828;white-space:pre-wrap'><b>error:</b> {escape(message)}</div>"


def _describe_error(exc: BaseException) -> str:
    # nv12kit's own messages say what to do; anything else gets its type so it can be searched for.
    return str(exc) if isinstance(exc, NV12KitError) else f"{type(exc).__name__}: {exc}"


def _figure_image(**layout: Any) -> Any:
    """An Image for a figure's PNG: at its own size or shrunk to fit, never stretched (stretching blurs)."""
    return ipywidgets.Image(format="png", layout=ipywidgets.Layout(
        width="auto", height="auto", max_width="100%", object_fit="scale-down", align_self="flex-start", **layout))


def _figure_row(children: Sequence[Any]) -> Any:
    """Figures side by side while they fit and wrapped below each other when not: nothing is cropped."""
    return ipywidgets.HBox(list(children), layout=ipywidgets.Layout(
        flex_flow="row wrap", align_items="flex-start", width="100%", grid_gap="8px"))


def _set_png(widget: Any, fig: Any) -> bytes:
    data = b"" if fig is None else figure_png(fig)
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
        self.info.value = f"<p>{escape(self.result.summary())}</p>"
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
        more = f"<br><span style='color:#555'>{escape(text[1])}</span>" if len(text) > 1 else ""
        self.summary.value = f"<p><code>{escape(text[0])}</code>{more}</p>"
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
class PlaneViewer(_Shell):
    """An image picker and a convention picker driving :func:`plane_view_figures`.

    Attributes
    ----------
    image : ImagePicker
    convention : ConventionPicker
    planes, error_map : ipywidgets.Image
        The two figures as PNG, in a row that wraps on narrow screens.
    pixels : ipywidgets.Image
        The image and its round trip side by side at their own pixels
        (:meth:`PlaneView.pixels_png`: nearest neighbour, integer scale),
        shown at exactly that size so the browser does not blur them.
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
        self.planes = _figure_image()
        self.error_map = _figure_image()
        self.pixels = ipywidgets.Image(format="png", layout=ipywidgets.Layout(max_width="100%", height="auto",
                                                                             align_self="flex-start"))
        self.stats = ipywidgets.HTML()
        super().__init__([self.image, self.convention, self.stats, self.pixels,
                          _figure_row([self.planes, self.error_map])])
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
        png = self.result.pixels_png()
        self.pixels.value = png
        self.pixels.width = str(int.from_bytes(png[16:20], "big"))  # CSS pixels = PNG pixels: no resampling
        self.stats.value = (f"<p>{escape(self.result.summary())}<br><span style='color:#555'>above: the image and "
                            f"its round trip, {self.result.pixel_scale}× pixels</span></p>")
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
        self.histogram = _figure_image()
        self.curve = _figure_image()
        self.diff = _figure_image()
        controls = ipywidgets.HBox([ipywidgets.VBox([self.amplitude, self.trials]),
                                    ipywidgets.VBox([self.distribution, self.convention])],
                                   layout=ipywidgets.Layout(flex_flow="row wrap"))
        super().__init__([controls, self.summary, _figure_row([self.histogram, self.curve]), self.diff])
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
                self._pngs[key] = (state, figure_png(state.histogram), figure_png(state.curve),
                                   figure_png(state.diff) if state.diff is not None else b"")
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
        note = f"<br><span style='color:#555'>{escape(self.result.diff_note)}</span>" if self.result.diff_note else ""
        self.summary.value = f"<p>{escape(self.result.summary())}{note}</p>"
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
class ConverterChecker(_Shell):
    """Paste your RGB -> NV12 function, or point at Y/UV dumps, and get the diagnosis and error maps.

    **The "Run my converter" button executes the code in the text area in
    this Python process (your kernel), with your permissions, as a
    notebook cell would.** Nothing runs until you press it, and only the
    code you typed or pasted is run.

    Parameters
    ----------
    fn : callable, optional
        A converter to check at once.
    convention : str or Convention, optional
        The chip's convention, shown first (default ``"horizon"``).
    order : {"rgb", "bgr"}, optional
        The channel order ``fn`` expects.
    expected : str or Convention, optional
        Deprecated old name of ``convention``, kept for one release.

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

    def __init__(self, fn: Callable[..., Any] | None = None, *, convention: str | Convention = DEFAULT_CONVENTION,
                 order: str = "rgb", expected: str | Convention | None = None) -> None:
        convention = convention_or_expected(convention, expected)
        wide = ipywidgets.Layout(width="720px")
        self.code = ipywidgets.Textarea(placeholder=_EXAMPLE_CONVERTER, layout=ipywidgets.Layout(width="720px",
                                                                                                 height="180px"))
        self.expected = ipywidgets.Dropdown(options=list(CONVENTIONS), value=get_convention(convention).name,
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
        self.errors = _figure_image(display="none")
        self.planes = _figure_image(display="none")
        tabs = ipywidgets.Tab(children=[
            ipywidgets.VBox([self.code, ipywidgets.HBox([self.order, self.run_button]), warning]),
            ipywidgets.VBox([self.image_path, self.y_path, self.uv_path, ipywidgets.HBox([self.width, self.height]),
                             self.dumps_button]),
        ])
        tabs.set_title(0, "your function")
        tabs.set_title(1, "your Y/UV dumps")
        super().__init__([self.expected, tabs, self.report, _figure_row([self.errors, self.planes])])
        self.run_button.on_click(lambda _: self.run_code())
        self.dumps_button.on_click(lambda _: self.run_dumps())
        if fn is not None:  # a function object the caller handed over explicitly: check it now
            self._show(lambda: converter_check(fn, convention=self.expected.value, order=self.order.value))

    def run_code(self) -> ConverterCheck | None:
        """Execute the code in :attr:`code` and diagnose the converter it defines (what the button does)."""
        return self._show(lambda: converter_check(load_converter(self.code.value),
                                                  convention=self.expected.value, order=self.order.value))

    def run_dumps(self) -> ConverterCheck | None:
        """Diagnose the dump files named in the path boxes (what the "Check dumps" button does)."""
        def check() -> ConverterCheck:
            if not self.y_path.value.strip() or not self.uv_path.value.strip():
                raise InputError("give both the Y and the UV dump")
            return dumps_check(self.y_path.value.strip(), self.uv_path.value.strip(),
                               image=self.image_path.value.strip() or None, convention=self.expected.value,
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
        notes = "".join(f"<p style='color:#555'>{escape(n)}</p>" for n in self.result.notes)
        self.report.value = self.result.diagnosis._repr_html_() + notes
        _set_png(self.errors, self.result.errors)
        _set_png(self.planes, self.result.planes)
        self._ok()
        return self.result


def converter_checker(
    fn: Callable[..., Any] | None = None,
    *,
    convention: str | Convention = DEFAULT_CONVENTION,
    order: str = "rgb",
    expected: str | Convention | None = None,
) -> ConverterChecker:
    """A checker for your RGB -> NV12 code or your Y/UV dumps: paste, press, read the diagnosis.

    Parameters
    ----------
    fn : callable, optional
        A converter function you already have in the notebook; it is
        checked at once. Otherwise paste code in the text area and press
        the button: **that runs your pasted code in this kernel.**
    convention : str or Convention, optional
        The chip's convention (default ``"horizon"``).
    order : {"rgb", "bgr"}, optional
        The channel order your function expects.
    expected : str or Convention, optional
        Deprecated old name of ``convention``, kept for one release.

    Returns
    -------
    ConverterChecker
        ``checker.result`` is a :class:`ConverterCheck`.

    Raises
    ------
    InputError
        Both ``convention`` and ``expected`` given.

    Warns
    -----
    DeprecationWarning
        ``expected=`` was given: say ``convention=``.
    """
    return ConverterChecker(fn, convention=convention_or_expected(convention, expected), order=order)
