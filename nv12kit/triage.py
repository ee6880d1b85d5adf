"""The guided triage: why does the model lose accuracy behind the NV12 node?

The forum's procedure, made quantitative (see "The verdict" in the design
notes). For each frame:

1. **Conversion bug?** If the user gave their own NV12 (or their node
   settings), lint it against the chosen convention and the training
   preprocessing. A bug there decides the verdict: fix it first.
2. **Noise floor.** Add 1-3 pixel values of noise to the float model's input
   many times; ``cos(out_clean, out_noisy)`` is the floor. A low floor means
   an **over-sensitive model**.
3. **NV12 loss.** ``cos(out_feat, out_nv12)`` between the float model on the
   RGB frame and the NV12 variant on the same frame as NV12. Read against
   the floor at the reference amplitude (relative size) *and* against a
   negligible level (absolute size): a loss far below a perfect floor can
   still be negligible.
4. **Quantisation.** With int8 variants: does ``quantized_nv12`` depart from
   ``quantized_feat`` more than the float paths do?

The verdict is the first of these that fires, worst image first; every
other rule that fires (on that image or another) is in ``verdict.also``
with its own numbers (see :mod:`nv12kit.verdicts`). Every number the
verdict rests on is in the :class:`TriageReport`. Whatever the triage
chose that the user did not say (the size of a dynamic input, a resize,
a crop) and frames too small, upscaled or flat to judge are in
``report.warnings``: printed right after the verdict and shown at the top
of the HTML report.
"""

from __future__ import annotations

import json
import os
import pathlib
import platform
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from . import _util
from ._io import atomic_write, jsonable
from .errors import InputError, ModelError
from .images import prepare_image
from .metrics import Comparison, compare
from .noise import NoiseStudy, noise_study
from .preprocess import Preprocess, check_preprocess
from .verdicts import _URGENCY, VERDICTS, SecondaryFinding, Thresholds, Verdict, _fmt, _loss, decide, merge_also

__all__ = ["VERDICTS", "Thresholds", "Verdict", "SecondaryFinding", "ImageResult", "TriageReport", "decide", "triage"]

#: Frames with a side below this are refused: there is nothing to measure.
MIN_FRAME_SIDE = 2
#: Frames with a side below this get a warning: a few pixels say little about a camera frame.
SMALL_FRAME_SIDE = 16
#: Frames upscaled more than this (either side) to the model's size get a warning: the model sees blur.
MAX_UPSCALE = 4.0
#: A frame whose every channel spans at most this many levels is flat: its cosines mean little.
FLAT_FRAME_LEVELS = 2


@dataclass
class ImageResult:
    """Everything measured on one frame."""

    name: str
    original_shape: tuple[int, int]
    shape: tuple[int, int]
    noise: NoiseStudy
    nv12: Comparison
    nv12_cosine: float | None
    frame_source: str
    quantized: dict[str, float] = field(default_factory=dict)
    diagnosis: Any = None
    notes: list[str] = field(default_factory=list)
    verdict: Verdict | None = None
    resizer: Any = None  # nv12kit.roi_triage.ResizerResult for source="resizer"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "name": self.name,
            "original_shape": list(self.original_shape),
            "shape": list(self.shape),
            "frame_source": self.frame_source,
            "nv12_cosine": self.nv12_cosine,
            "nv12_comparison": self.nv12.to_dict(),
            "noise": self.noise.to_dict(),
            "quantized": dict(self.quantized),
            "diagnosis": self.diagnosis.to_dict() if self.diagnosis is not None else None,
            "notes": list(self.notes),
            "verdict": self.verdict.to_dict() if self.verdict else None,
            "resizer": self.resizer.to_dict() if self.resizer is not None else None,
        }


@dataclass
class TriageReport:
    """The verdict, the numbers it rests on, and how they were obtained.

    ``report.verdict.id`` is one of :data:`VERDICTS` and ``report.verdict.also``
    lists every other rule that fired; ``report.images`` has one
    :class:`ImageResult` per frame and ``report.worst`` indexes the one that
    decided. ``report.warnings`` says what the triage chose that the user did
    not (each line starts with ``warning:`` or ``note:``). ``to_html`` writes
    a self-contained report; ``exit_code`` is 0 only for ``healthy``.
    """

    verdict: Verdict
    images: list[ImageResult]
    worst: int
    thresholds: Thresholds
    parameters: dict[str, Any]
    node_findings: list[Any] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    timing: dict[str, float] = field(default_factory=dict)
    preview: dict[str, Any] = field(default_factory=dict, repr=False)
    layers: list[Any] = field(default_factory=list, repr=False)
    warnings: list[str] = field(default_factory=list)
    #: nv12kit.counterfactual.ConventionSensitivity: the decisive image under other conventions (None: not measured)
    convention_sensitivity: Any = None
    #: nv12kit.baseline.BaselineComparison: before/after against ``triage(..., baseline=...)`` (None: no baseline)
    baseline: Any = None
    #: the command that made the report (the Python call, or the CLI's argv), for :meth:`to_bundle`
    command: str = ""

    @property
    def exit_code(self) -> int:
        """0 for healthy, 1 for any other verdict (the CLI's exit status)."""
        return 0 if self.verdict.id == "healthy" else 1

    def summary_lines(self) -> list[str]:
        """The verdict and its evidence as text lines."""
        v = self.verdict
        lines = [f"verdict: {v.id} ({v.title})", *self.warnings, f"decided by: {v.decided_by}"]
        if self.parameters.get("nv12_runtime") == "openvino":
            lines.append(f"NV12 node: {self.parameters.get('nv12_node')}")
        lines += [f"  - {e}" for e in v.evidence]
        if v.also:
            lines.append("also:")
            for finding in v.also:
                lines.append(f"  - {finding.headline()}")
                lines += [f"      {e}" for e in finding.evidence]
        lines.append("what to do:")
        lines += [f"  - {r}" for r in v.recommendations]
        for extra in (self.convention_sensitivity, self.baseline):
            lines += extra.lines() if extra is not None else []
        for result in self.layers:
            found = result.culprits(3)
            if found:
                where = ", ".join(f"{row.node} ({row.op_type})" for row in found)
                lines.append(f"where {result.label} grows most: {where}")
        return lines

    def table_rows(self) -> list[dict[str, Any]]:
        """One row per image: the headline numbers and its own verdict."""
        t = self.thresholds
        rows = []
        for r in self.images:
            row = {
                "image": r.name,
                "size": f"{r.shape[0]}x{r.shape[1]}",
                "nv12 cos": r.nv12_cosine,
                f"noise ±{t.floor_amplitude:g} mean": r.noise.floor(t.floor_amplitude),
                f"noise ±{t.floor_amplitude:g} worst": r.noise.summary(t.floor_amplitude)["min"],
                f"noise ±{t.reference_amplitude:g} mean": r.noise.floor(t.reference_amplitude),
                "verdict": r.verdict.id if r.verdict else "",
            }
            if r.quantized:
                row["q feat vs q nv12"] = r.quantized.get("quantized_feat_vs_quantized_nv12")
            if r.resizer is not None:
                row.update(r.resizer.table_cells())
            rows.append(row)
        return rows

    def __repr__(self) -> str:
        lines = [f"TriageReport({self.parameters.get('model', '?')}, {len(self.images)} image(s), "
                 f"{self.timing.get('total', 0):.1f} s)"]
        lines += self.summary_lines()
        rows = self.table_rows()
        if rows:
            keys = list(rows[0])
            cells = [keys] + [[_fmt(row.get(k)) for k in keys] for row in rows]
            widths = [max(len(c[i]) for c in cells) for i in range(len(keys))]
            lines.append("per image:")
            lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(cell, widths)) for cell in cells]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from .report import render_html

        return render_html(self, standalone=False)

    def to_dict(self) -> dict[str, Any]:
        """Everything in the report as JSON-ready data (no arrays)."""
        return {
            "verdict": self.verdict.to_dict(),
            "exit_code": self.exit_code,
            "worst_image": self.images[self.worst].name if self.images else None,
            "images": [r.to_dict() for r in self.images],
            "thresholds": self.thresholds.to_dict(),
            "parameters": jsonable(self.parameters),
            "node_findings": [f.to_dict() for f in self.node_findings],
            "notes": list(self.notes),
            "warnings": list(self.warnings),
            "versions": dict(self.versions),
            "timing": dict(self.timing),
            "layers": [result.to_dict() for result in self.layers],
            "convention_sensitivity": self.convention_sensitivity.cosines() if self.convention_sensitivity else {},
            "convention_sensitivity_details": (self.convention_sensitivity.to_dict() if self.convention_sensitivity
                                               else None),
            "baseline": self.baseline.to_dict() if self.baseline is not None else None,
        }

    def to_json(self, path: str | os.PathLike[str]) -> pathlib.Path:
        """Write :meth:`to_dict` as JSON, atomically."""
        text = json.dumps(jsonable(self.to_dict()), indent=2, allow_nan=False)
        return atomic_write(path, text.encode("utf-8"))

    def to_html(self, path: str | os.PathLike[str], *, figures: bool = True, progress: bool = False) -> pathlib.Path:
        """Write a self-contained HTML report (inline PNG figures, no external resources), atomically.

        ``progress`` shows a ``tqdm.auto`` bar over the figures, which take
        most of the time (about a second for a triage's five).
        """
        from .report import render_html

        return atomic_write(path, render_html(self, figures=figures, progress=progress).encode("utf-8"))

    def to_bundle(self, path: str | os.PathLike[str], *, figures: bool = True, command: str | None = None,
                  overwrite: bool | None = None, progress: bool = False) -> pathlib.Path:
        """Write a ticket bundle for a vendor (a zip, atomically): see :mod:`nv12kit.bundle`.

        The HTML and JSON reports, the decisive frame as PNG and ``.nv12``,
        each model's feeds and each variant's outputs as ``.npz`` and
        Polygraphy JSON, the command and versions, and a README.txt on how
        to replay it (``polygraphy run ... --load-inputs``, ``nv12kit
        compare``). Never replaces an input of the triage.
        """
        from .bundle import write_bundle

        return write_bundle(self, path, figures=figures, command=command, overwrite=overwrite, progress=progress)


# ----------------------------------------------------------------------------
# the decision
# ----------------------------------------------------------------------------
def _order(images: list[ImageResult]) -> list[int]:
    """Image indices, the one that decides first: the most urgent verdict, then the lowest NV12 cosine."""
    def key(i: int) -> tuple[int, float]:
        r = images[i]
        return (_URGENCY.index(r.verdict.id), -_loss(r.nv12_cosine))  # type: ignore[union-attr]

    return sorted(range(len(images)), key=key)


# ----------------------------------------------------------------------------
# what the model sees, and what the user must be told about it
# ----------------------------------------------------------------------------
def _fit_frame(item: Any, name: str, size: tuple[int, int] | None
               ) -> tuple[np.ndarray, list[str], tuple[int, int], list[str]]:
    """:func:`prepare_image`, plus the checks of a degenerate frame.

    Returns the frame, its notes (the warnings among them start with
    ``warning:``), its original size, and the warnings alone (unprefixed,
    for the verdict's evidence).

    Raises
    ------
    InputError
        A frame with a side below :data:`MIN_FRAME_SIDE`.
    """
    from .images import load_image

    loaded = load_image(item)
    h, w = int(loaded.shape[0]), int(loaded.shape[1])
    if min(h, w) < MIN_FRAME_SIDE:
        raise InputError(f"image {name!r} is {h}x{w} pixels: too small to triage (at least "
                         f"{MIN_FRAME_SIDE}x{MIN_FRAME_SIDE}, and a real frame is hundreds of pixels a side); give "
                         "a frame from the camera the model runs on")
    rgb, notes, original = prepare_image(loaded, size)
    warnings = []
    if min(h, w) < SMALL_FRAME_SIDE:
        warnings.append(f"the frame is only {h}x{w} pixels (smaller than {SMALL_FRAME_SIDE}x{SMALL_FRAME_SIDE}): "
                        "cosines on so few pixels say little about real frames; use a camera frame")
    H, W = rgb.shape[0], rgb.shape[1]
    upscale = max(H / h, W / w)
    if upscale > MAX_UPSCALE:
        warnings.append(f"the frame was upscaled {upscale:.1f}x (from {h}x{w} to the model's {H}x{W}, more than "
                        f"{MAX_UPSCALE:g}x): the model sees interpolated blur, not camera detail; give frames near "
                        "the model's size")
    span = loaded.reshape(-1, 3).max(axis=0).astype(int) - loaded.reshape(-1, 3).min(axis=0)
    if int(span.max()) <= FLAT_FRAME_LEVELS:
        warnings.append(f"the frame is flat (every channel spans at most {int(span.max())} level(s)): it has no "
                        "edges or colour for NV12 or noise to disturb, so its cosines mean little; use a real frame")
    if size is not None and (H, W) != (h, w) and abs((W / H) / (w / h) - 1) > 0.01:
        notes.append(f"image stretched: the aspect ratio (width/height) changed from {w / h:.2f} to {W / H:.2f}; if "
                     "your camera pipeline crops or letterboxes instead, give frames already at the model's aspect")
    return rgb, notes + [f"warning: {w}" for w in warnings], original, warnings


def _warnings(results: list[ImageResult], *, dynamic: bool, size_hint: str) -> list[str]:
    """What the triage chose that the user did not say, and frames too poor to judge: the report's top lines."""
    out = []
    if dynamic:
        sizes = list(dict.fromkeys(f"{r.shape[0]}x{r.shape[1]}" for r in results))
        ran = (f"ran at {sizes[0]}, the image's size" if len(sizes) == 1 else
               f"ran at each image's own size ({', '.join(sizes[:4])}{', ...' if len(sizes) > 4 else ''})")
        out.append(f"warning: dynamic input; {ran}; your compiled model has a fixed size: pass {size_hint}")
    # one line per distinct note, naming the images it applies to
    grouped: dict[str, list[str]] = {}
    for r in results:
        for note in r.notes:
            grouped.setdefault(note, []).append(r.name)
    for note, names in grouped.items():
        level, text = ("warning", note[len("warning: "):]) if note.startswith("warning: ") else ("note", note)
        who = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        out.append(f"{level}: {who}: {text}")
    return out


# ----------------------------------------------------------------------------
# inputs
# ----------------------------------------------------------------------------
def _image_name(item: Any, index: int) -> str:
    if isinstance(item, (str, os.PathLike)):
        return pathlib.Path(item).name
    return f"image {index + 1}"


def _user_frame(item: Any, height: int, width: int) -> Any:
    """An NV12Frame from what users have: a frame, (y, uv), or a raw file of the model's size."""
    from .yuv import NV12Frame, read_yuv

    if isinstance(item, NV12Frame):
        frame = item
    elif isinstance(item, (tuple, list)) and len(item) == 2:
        frame = NV12Frame(*item)
    elif isinstance(item, (str, os.PathLike)):
        frame = read_yuv(item, width, height)
    else:
        raise InputError(
            f"user_nv12 entries must be NV12Frame, (y, uv) or a raw .nv12 path, got {type(item).__name__}"
        )
    if frame.shape != (height, width):
        raise InputError(
            f"your NV12 frame is {frame.height}x{frame.width} but the model sees {height}x{width}; convert the "
            "image at the model's input size (nv12kit.resize_to) before encoding it"
        )
    return frame


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version(), "platform": platform.platform()}
    for name in ("nv12kit", "numpy", "onnx", "onnxruntime", "pillow"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


# ----------------------------------------------------------------------------
# triage
# ----------------------------------------------------------------------------
def triage(
    model: Any,
    images: Any,
    *,
    preprocess: Preprocess | None = None,
    convention: Any = "horizon",
    user_nv12: Sequence[Any] | Any | None = None,
    node_settings: Mapping[str, Any] | None = None,
    nv12_model: Any = None,
    quantize: bool = False,
    calibration_images: Any = None,
    quantized_feat: Any = None,
    quantized_nv12: Any = None,
    thresholds: Thresholds | Mapping[str, float] | None = None,
    amplitudes: Sequence[float] = (1, 2, 3),
    trials: int = 20,
    distribution: Literal["symmetric", "uniform_0_a", "gaussian"] = "symmetric",
    seed: int = 0,
    input_name: str | None = None,
    output: str | None = None,
    chip_range: Literal["full", "limited"] = "full",
    size: tuple[int, int] | None = None,
    model_label: str | None = None,
    layers: bool = True,
    progress: bool = True,
    extra_inputs: Mapping[str, Any] | None = None,
    option_names: Mapping[str, str] | None = None,
    size_hint: str = "size=(H, W)",
    source: Literal["pyramid", "resizer"] = "pyramid",
    roi: Any = None,
    resizer_interpolation: Literal["bilinear", "nearest"] = "bilinear",
    resizer_align: Literal["half_pixel", "align_corners", "asymmetric"] = "half_pixel",
    convention_sensitivity: bool | Literal["same-node", "all"] = True,
    baseline: Any = None,
    nv12_runtime: Literal["emulated", "openvino"] = "emulated",
) -> TriageReport:
    """Run the guided triage on a float model and one or more frames.

    Parameters
    ----------
    model : str, os.PathLike, onnx.ModelProto or bytes
        The float model (``qat_feat``), taking the normalised image; ``bytes``
        are a serialised model (its session is built from them as they are).
    images : image, sequence of images, or a folder
        Frames to test (paths, PIL images or uint8 RGB arrays). Each is
        resized to the model's input size when it differs; the report says so.
    preprocess : Preprocess, optional
        The model's normalisation; read from the model's metadata if omitted.
    convention : str or Convention, optional
        How frames are encoded to NV12 (the chip's convention).
    user_nv12 : frame or sequence of frames, optional
        Your own NV12 for each image (NV12Frame, ``(y, uv)`` or a raw ``.nv12``
        path at the model's size). It is linted against ``convention`` and
        fed to the NV12 variant instead of nv12kit's encoding.
    node_settings : mapping, optional
        The node settings you deploy: ``mode``, ``divisor``, ``mean``, ``std``
        and optionally ``chip_range``. They are linted against ``preprocess``
        and used to build the NV12 variant.
    nv12_model : model, session or runtime, optional
        Your own NV12 model (e.g. the vendor's ``qat_nv12`` in ``HBRuntime``);
        by default it is built with :func:`nv12kit.insert_nv12_node`.
    nv12_runtime : {"emulated", "openvino"}, optional
        What runs the NV12 variant: nv12kit's ONNX node on onnxruntime
        (default), or OpenVINO's real NV12 node (PrePostProcessor
        ``NV12_TWO_PLANES`` input, BT.601 limited range; needs
        ``pip install nv12kit[openvino]``), see
        :mod:`nv12kit.openvino_node`. The report says which ran. The int8
        variants (``quantize=True``) and the convention sensitivity's other
        node keep nv12kit's node; ``source="resizer"`` needs it.
    quantize : bool, optional
        Build int8 QDQ variants with :func:`nv12kit.quantize` and judge them.
    calibration_images : optional
        Calibration frames for ``quantize`` (default: ``images``).
    quantized_feat, quantized_nv12 : model, session or runtime, optional
        Your own int8 variants, instead of ``quantize``.
    thresholds : Thresholds or dict, optional
        Overrides of the :class:`Thresholds` defaults.
    amplitudes, trials, distribution, seed
        The noise study (see :func:`nv12kit.noise_study`); the thresholds'
        amplitudes are always included.
    input_name, output : str, optional
        The image input and the output the verdict is about (the first).
    chip_range : {"full", "limited"}, optional
        Range of the node nv12kit builds when ``node_settings`` has none.
    size : (int, int) or int, optional
        Height and width to resize frames to, for models with a dynamic
        size. For a static-size model it must match (or be omitted). Either
        side may be None (or -1) to keep the model's static value, and one
        int sets the one dynamic side of a partly static input (height fixed
        at 48: ``size=192`` runs at 48x192). Checked up front (even sides,
        no contradiction of a static side). When the model cannot run at the
        size, nearby sizes are probed and the error names those that run.
    model_label : str, optional
        The model's name in the report (default: the file name).
    layers : bool, optional
        When the verdict is ``nv12_specific_loss`` or ``over_sensitive_model``,
        run :func:`nv12kit.layer_divergence` on the worst image (NV12 and
        noise at the floor amplitude) so the report shows where the loss grows.
    progress : bool, optional
        Progress bars (``tqdm.auto``).
    extra_inputs : mapping of str to array, optional
        Values for the model's inputs other than the image (every one must be
        given), fed unchanged to every run: clean, noisy, NV12, quantised
        (and their calibration) and the layer comparison. The report's
        parameters record their names, shapes and dtypes.
    option_names : mapping of str to str, optional
        Flags to name in error messages instead of the Python arguments
        (the CLI passes ``{"size": "--size", "input_name": "--input",
        "extra_inputs": "--extra-input"}``).
    size_hint : str, optional
        How the warning for a dynamic-size model run without ``size`` names
        the fix (default ``"size=(H, W)"``; the CLI passes ``"--size HxW"``).
    source : {"pyramid", "resizer"}, optional
        The NV12 input source deployed. ``"resizer"``: each image is a full
        camera frame; the NV12 path is the whole frame through
        :func:`nv12kit.insert_nv12_resizer` with ``roi``, the feat path the
        RGB crop resized in RGB (Pillow bilinear), the verdict rests on the
        resizer's cosine, and the plain pyramid conversion of the same crop
        is run too, to report the YUV resize's share of the loss (see
        :mod:`nv12kit.roi_triage`).
    roi : (left, top, right, bottom) or a list of them, optional
        Required with ``source="resizer"`` (and only then): Y pixels of the
        frame, right/bottom exclusive, left/top/width/height even, inside
        the frame; one ROI for every image or one per image.
    resizer_interpolation, resizer_align : str, optional
        The resizer's ``interpolation`` and sampling grid (``align``) as in
        :func:`nv12kit.insert_nv12_resizer`; ``half_pixel`` by default
        (Horizon's older resizer's step formula implies ``align_corners``).
    convention_sensitivity : bool, "same-node" or "all", optional
        Measure the decisive image's NV12 loss under the other conventions
        the chip could use (:mod:`nv12kit.counterfactual`), one NV12 pass per
        candidate. True (or ``"same-node"``): the encoder settings the same
        compiled node accepts (chroma down-sampling, rounding, compatible
        presets). ``"all"`` adds the node's other range, which needs a second
        NV12 model (about 0.1-0.2 s more on a 224x224 EfficientNet-lite; not
        with your own ``nv12_model``). Not with ``source="resizer"``.
    baseline : TriageReport, dict or path, optional
        An earlier triage (its report, ``to_dict()`` or JSON file): the report
        shows the before/after of every number and verdict
        (:mod:`nv12kit.baseline`).

    Returns
    -------
    TriageReport

    Raises
    ------
    InputError, ModelError
        Bad images, preprocessing or thresholds; a model without a usable
        image input; contradictory arguments (the message says which). A
        ModelError names the output when it is identical under every noisy
        trial, the NV12 round trip and the NV12 model: no verdict can rest
        on it, and it is never called healthy.
    """
    call = _python_call(locals())  # first: exactly the arguments, for the report's command (ticket bundle)
    from functools import partial

    from .baseline import compare_baseline, load_baseline
    from .convert import rgb_to_nv12
    from .counterfactual import measure_convention_sensitivity
    from .feeds import FedRunner, Wording, check_extra_inputs, describe_extra_inputs, resolve_size, size_error
    from .graph import insert_nv12_node
    from .graph import quantize as quantize_model
    from .images import image_sources
    from .model import ImageInputSpec, load_model, load_model_with_bytes
    from .roi_triage import ResizerPlan, check_resizer_request

    started = time.perf_counter()
    timing: dict[str, float] = {}
    limits = Thresholds.coerce(thresholds)
    before = None if baseline is None else load_baseline(baseline, option=(option_names or {}).get("baseline",
                                                                                                   "baseline"))
    if quantize and (quantized_feat is not None or quantized_nv12 is not None):
        raise InputError("give either quantize=True (nv12kit builds the int8 variants) or your own "
                         "quantized_feat/quantized_nv12, not both")
    if nv12_runtime not in ("emulated", "openvino"):
        raise InputError(f"nv12_runtime must be 'emulated' or 'openvino', got {nv12_runtime!r}")
    if nv12_runtime == "openvino" and source == "resizer":
        raise InputError("nv12_runtime='openvino' runs OpenVINO's NV12 input at the model's size; the resizer "
                         "source needs nv12kit's emulated node (nv12_runtime='emulated')")
    if nv12_runtime == "openvino" and nv12_model is not None:
        raise InputError("give either nv12_model (your own NV12 model) or nv12_runtime='openvino' (OpenVINO's "
                         "NV12 node in front of the float model), not both")
    if (quantized_feat is None) != (quantized_nv12 is None):
        raise InputError("give both quantized_feat and quantized_nv12 (the verdict compares the two)")
    resizer_request = check_resizer_request(  # None for the pyramid source; `source` is the model from here on
        source, roi, interpolation=resizer_interpolation, align=resizer_align, quantize=quantize,
        quantized=quantized_feat is not None, user_nv12=user_nv12 is not None, nv12_model=nv12_model is not None,
        flag=(option_names or {}).get("roi", "roi"))
    source, source_bytes = load_model_with_bytes(model)
    if preprocess is None:
        preprocess = Preprocess.from_model(source)
    check_preprocess(preprocess)
    wording = Wording(option_names or {})
    spec = ImageInputSpec.from_model(source, input_name, layout=preprocess.layout,
                                     input_flag=wording.names.get("input_name"))
    target = resolve_size(spec, size, wording)  # the static sides kept, checked up front
    extras = check_extra_inputs(source, spec, extra_inputs, wording)
    # every session of this triage (clean, noisy, NV12, quantised) is fed the extra inputs
    Runner = partial(FedRunner, extras=extras)  # noqa: N806
    levels = tuple(sorted({*map(float, amplitudes), limits.floor_amplitude, limits.reference_amplitude}))

    node_findings: list[Any] = []
    settings = dict(preprocess.node_kwargs(chip_range=chip_range))
    if node_settings is not None:
        allowed = {"mode", "divisor", "mean", "std", "chip_range", "upsample"}
        unknown = sorted(set(node_settings) - allowed)
        if unknown:
            raise InputError(f"unknown node_settings {unknown}; expected some of {sorted(allowed)}")
        from .lint import lint_node

        given = dict(node_settings)
        node_range = given.pop("chip_range", chip_range)
        settings.update(given)
        node_findings = list(lint_node(
            mode=settings["mode"], divisor=settings["divisor"], mean=settings["mean"], std=settings["std"],
            train_order=preprocess.order, train_mean=preprocess.mean, train_std=preprocess.std,
            train_divisor=preprocess.divisor, chip_range=node_range,
        ))

    t0 = time.perf_counter()
    # one session per model for every run (clean, noisy, round trip), built from the file's own bytes when
    # it has no external data: no second serialisation of the weights
    feat = Runner(source_bytes if source_bytes is not None else source, name="qat_feat")
    # the ONNX NV12 model, when there is one (built here, or the user's as a path/ModelProto)
    nv12_source = None
    if nv12_model is None:
        nv12_source = insert_nv12_node(source, input_name=spec.name, **settings)
    elif not hasattr(nv12_model, "run"):
        nv12_source = load_model(nv12_model)
    nv12_node = "nv12kit's emulated node (insert_nv12_node, onnxruntime)" if nv12_model is None else "user-supplied"
    if nv12_runtime == "openvino":  # OpenVINO's real NV12 node in front of the same float model
        from .openvino_node import openvino_nv12_runtime

        ov_node = openvino_nv12_runtime(source, preprocess=preprocess, input_name=spec.name)
        nv12, nv12_node = Runner(ov_node, name="qat_nv12"), ov_node.description
    else:
        nv12 = Runner(nv12_source if nv12_source is not None else nv12_model, name="qat_nv12")
    sources = image_sources(images, hint="give at least one frame")
    roi_plan = None if resizer_request is None else ResizerPlan(
        resizer_request, source, input_name=spec.name, size=target, settings=settings, convention=convention,
        image_count=len(sources), make_runner=lambda m: Runner(m, name="qat_nv12_resizer"))
    q_feat = q_nv12 = None
    if quantize:
        calibration = sources if calibration_images is None else calibration_images
        q_feat = Runner(quantize_model(source, calibration, preprocess=preprocess, convention=convention,
                                       input_name=spec.name, extra_inputs=extras, progress=progress),
                        name="quantized_feat")
        if nv12_source is None:
            raise InputError("quantize=True needs the NV12 model as ONNX (path or ModelProto), not a runtime; "
                             "pass your int8 runtimes as quantized_feat= and quantized_nv12= instead")
        q_nv12 = Runner(quantize_model(nv12_source, calibration, preprocess=preprocess, nv12=True,
                                       convention=convention, input_name=spec.name, extra_inputs=extras,
                                       progress=progress),
                        name="quantized_nv12")
    elif quantized_feat is not None:
        q_feat, q_nv12 = Runner(quantized_feat, name="quantized_feat"), Runner(quantized_nv12, name="quantized_nv12")
    timing["models"] = time.perf_counter() - t0

    frames_given: list[Any] | None = None
    if user_nv12 is not None:
        frames_given = list(user_nv12) if isinstance(user_nv12, (list, tuple)) and not (
            len(user_nv12) == 2 and isinstance(user_nv12[0], np.ndarray)) else [user_nv12]
        if len(frames_given) != len(sources):
            raise InputError(f"user_nv12 has {len(frames_given)} frame(s) for {len(sources)} image(s); give one "
                             "per image, in the same order")

    results: list[ImageResult] = []
    preview: dict[str, Any] = {}
    t0 = time.perf_counter()
    primary = output
    for index, item in enumerate(sources):
        rgb, notes, original, frame_warnings = (
            _fit_frame(item, _image_name(item, index), target) if roi_plan is None
            else roi_plan.fit(item, _image_name(item, index), index))  # resizer: the RGB crop, resized in RGB
        try:
            study = noise_study(feat, rgb, preprocess, amplitudes=levels, trials=trials, distribution=distribution,
                                seed=seed, conventions=(convention,), output=output, input_name=spec.name,
                                progress=progress)
        except ModelError as exc:  # the first run at this size; a size the model cannot take names those it can
            if (error := size_error(exc, feat, spec, rgb.shape[:2], wording)) is exc:
                raise
            raise error from exc
        primary = study.output
        diagnosis = None
        if frames_given is not None:
            frame = _user_frame(frames_given[index], rgb.shape[0], rgb.shape[1])
            from .lint import diagnose

            diagnosis = diagnose(rgb, frame, convention=convention)
            frame_source = "your NV12"
        else:
            frame = rgb_to_nv12(rgb, convention=convention)
            frame_source = f"nv12kit.rgb_to_nv12(convention={_label(convention)!r})"
        out_feat = study.clean_outputs  # the study's clean pass: the same tensor, no second run
        out_nv12 = nv12.run(_nv12_feed(nv12, frame, spec.name))
        comparison = compare(out_feat, out_nv12, labels=("qat_feat", "qat_nv12"))
        if roi_plan is not None:  # the deployed path is the resizer: its comparison decides, the pyramid's is kept
            resizer, comparison, frame, out_nv12 = roi_plan.measure(out_feat, comparison, primary)
            frame_source = roi_plan.frame_source
        if primary in study.unchanged and "identical" in comparison.outputs[primary].flags:
            raise _unchanged_output(feat, spec.name, preprocess, rgb, out_feat[primary], primary, study)
        quantized: dict[str, float] = {}
        quantized_outputs: dict[str, dict[str, np.ndarray]] = {}
        if q_feat is not None and q_nv12 is not None:
            out_qf = q_feat.run({spec.name: preprocess(rgb)})
            out_qn = q_nv12.run(_nv12_feed(q_nv12, frame, spec.name))
            quantized_outputs = {"quantized_feat": out_qf, "quantized_nv12": out_qn}
            quantized = {
                "float_vs_quantized_feat": compare(out_feat, out_qf).outputs[primary].cosine,
                "float_vs_quantized_nv12": compare(out_feat, out_qn).outputs[primary].cosine,
                "quantized_feat_vs_quantized_nv12": compare(out_qf, out_qn).outputs[primary].cosine,
            }
        result = ImageResult(
            name=_image_name(item, index), original_shape=original, shape=(rgb.shape[0], rgb.shape[1]),
            noise=study, nv12=comparison, nv12_cosine=comparison.outputs[primary].cosine,
            frame_source=frame_source, quantized=quantized, diagnosis=diagnosis, notes=notes + study.notes,
        )
        result.verdict = decide(result, limits, node_findings=node_findings)
        if roi_plan is not None:
            result.resizer = resizer
            result.verdict.evidence += resizer.evidence()
        result.verdict.evidence += [f"warning: {w}" for w in frame_warnings]
        results.append(result)
        if index == 0 or _URGENCY.index(result.verdict.id) < _URGENCY.index(results[preview["index"]].verdict.id):
            preview = {"index": index, "rgb": rgb, "frame": frame, "out_feat": out_feat[primary],
                       "out_nv12": out_nv12[primary],
                       "replay": _replay(feat, nv12, spec.name, preprocess(rgb), None if roi_plan else frame,
                                         {"qat_feat": out_feat, "qat_nv12": out_nv12, **quantized_outputs})}
            if roi_plan is not None:
                preview.update(roi_plan.preview_extra())
    timing["images"] = time.perf_counter() - t0

    order = _order(results)
    worst = order[0]
    if preview.get("index") != worst and roi_plan is not None:
        preview = roi_plan.preview(sources[worst], worst, feat, preprocess, primary)
        feat_input = preprocess(preview["rgb"])
        preview["replay"] = _replay(feat, nv12, spec.name, feat_input, None,
                                    {"qat_feat": feat.run({spec.name: feat_input})})
    elif preview.get("index") != worst:
        item = sources[worst]
        rgb, _, _ = prepare_image(item, target)
        frame = (_user_frame(frames_given[worst], rgb.shape[0], rgb.shape[1]) if frames_given is not None
                 else rgb_to_nv12(rgb, convention=convention))
        outs = {"qat_feat": feat.run({spec.name: preprocess(rgb)}),
                "qat_nv12": nv12.run(_nv12_feed(nv12, frame, spec.name))}
        if q_feat is not None and q_nv12 is not None:  # the bundle's outputs per variant, for this image too
            outs.update(quantized_feat=q_feat.run({spec.name: preprocess(rgb)}),
                        quantized_nv12=q_nv12.run(_nv12_feed(q_nv12, frame, spec.name)))
        preview = {"index": worst, "rgb": rgb, "frame": frame, "out_feat": outs["qat_feat"][primary],
                   "out_nv12": outs["qat_nv12"][primary],
                   "replay": _replay(feat, nv12, spec.name, preprocess(rgb), frame, outs)}
    preview["convention"] = convention
    # what the bundle may never replace
    preview["input_paths"] = [p for p in (model, *sources, *(frames_given or []), baseline)
                              if isinstance(p, (str, os.PathLike))]
    chosen: Verdict = results[worst].verdict  # type: ignore[assignment]  # every result got its verdict above
    others = [results[i] for i in order[1:]]
    # the deciding image's warnings are in its evidence already; the others' are added, naming the image
    elsewhere = [f"warning: {r.name}: {n[len('warning: '):]}" for r in others for n in r.notes
                 if n.startswith("warning: ")]
    verdict = Verdict(chosen.id, chosen.title, chosen.decided_by,
                      [f"worst image: {results[worst].name}", *chosen.evidence, *elsewhere],
                      list(chosen.recommendations),
                      merge_also(chosen, [(r.name, r.verdict) for r in others if r.verdict is not None]))
    sensitivity = None
    if convention_sensitivity not in (True, False, "same-node", "all"):
        raise InputError(f"convention_sensitivity must be True, False, 'same-node' or 'all', got "
                         f"{convention_sensitivity!r}")
    if convention_sensitivity and roi_plan is None:
        t0 = time.perf_counter()
        sensitivity = measure_convention_sensitivity(
            results[worst], preview["rgb"], preview["out_feat"], convention=convention, nv12_runner=nv12,
            mode=settings.get("mode"), thresholds=limits, node_findings=node_findings, input_name=spec.name,
            output=primary, feed=_nv12_feed,
            build_runner=None if nv12_model is not None or convention_sensitivity != "all" else lambda mode: Runner(
                insert_nv12_node(source, input_name=spec.name, **{**settings, "mode": mode}), name="qat_nv12_range"),
            other_node_hint=("your own NV12 model was given" if nv12_model is not None else
                             "a second NV12 model; pass convention_sensitivity='all' (CLI: --convention-sensitivity "
                             "all) to measure it"))
        if sensitivity is not None and (first := sensitivity.recommendation(verdict.id)):
            verdict.recommendations.insert(0, first)
        timing["convention_sensitivity"] = time.perf_counter() - t0
    layer_results: list[Any] = []
    if layers and chosen.id in ("nv12_specific_loss", "over_sensitive_model"):
        from .layers import layer_divergence

        t0 = time.perf_counter()
        worst_rgb = preview["rgb"]
        for kind in ("nv12", "noise"):
            layer_results.append(layer_divergence(
                source, worst_rgb, preprocess=preprocess, convention=convention, compare=kind,
                amplitude=int(round(limits.floor_amplitude)), trials=5, seed=seed, input_name=spec.name,
                extra_inputs=extras or None, progress=progress,
            ))
        timing["layers"] = time.perf_counter() - t0
    notes = []
    runtime_warnings = []
    if nv12_runtime == "openvino":
        from .conventions import get_convention

        notes.append(f"the NV12 variant ran through {nv12_node}; the node settings' mode and chip_range do not apply")
        if user_nv12 is None and get_convention(convention).range != "limited":
            # the user asked for this pairing, but it is rarely what they mean: say it where they look
            runtime_warnings.append(f"warning: OpenVINO's NV12 node decodes BT.601 limited range, but the frames "
                                    f"were encoded with {_label(convention)!r} ({get_convention(convention).range} "
                                    "range); for frames made for OpenVINO pass --convention openvino "
                                    "(convention='openvino')")
            notes.append(f"OpenVINO's NV12 node decodes BT.601 limited range, but the frames were encoded with "
                         f"{_label(convention)!r} ({get_convention(convention).range} range), as an OpenVINO "
                         "deployment fed those frames would read them; for frames made for OpenVINO use "
                         "convention='openvino'")
    if len(results) > 1:
        counts = {v: sum(r.verdict.id == v for r in results) for v in VERDICTS}  # type: ignore[union-attr]
        notes.append("per-image verdicts: " + ", ".join(f"{v} {n}" for v, n in counts.items() if n))
    if roi_plan is not None:
        notes += roi_plan.report_notes(layer_results)
    timing["total"] = time.perf_counter() - started
    parameters = {
        "model": model_label or _util.model_label(source if isinstance(model, (bytes, bytearray, memoryview))
                                                  else model),
        "input": str(spec),
        "images": [r.name for r in results],
        "preprocess": preprocess.to_dict(),
        "preprocess_formula": str(preprocess),
        "node": {k: (list(v) if isinstance(v, tuple) else v) for k, v in settings.items()},
        "nv12_model": "built by nv12kit.insert_nv12_node" if nv12_model is None else _util.model_label(nv12_model),
        "nv12_runtime": nv12_runtime,
        "nv12_node": nv12_node,
        "convention": _label(convention),
        "amplitudes": list(levels),
        "trials": trials,
        "distribution": distribution,
        "seed": seed,
        "output": primary,
        "quantized": "nv12kit.quantize (ORT static QDQ int8)" if quantize else (
            "user-supplied" if quantized_feat is not None else "no"),
        "user_nv12": frames_given is not None,
        "size": list(target) if target is not None else "each image's own",
        "extra_inputs": describe_extra_inputs(extras),
    }
    if roi_plan is not None:
        parameters.update(roi_plan.parameters())
    warnings = _warnings(results, dynamic=spec.static_size is None and size is None, size_hint=size_hint)
    warnings += runtime_warnings
    report = TriageReport(verdict, results, worst, limits, parameters, node_findings, notes, _versions(), timing,
                          preview, layer_results, warnings, sensitivity)
    if before is not None:
        report.baseline = compare_baseline(before[0], report.to_dict(), source=before[1])
    report.command = call
    return report


def _with_extras(runner: Any, feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The feed as the session got it: FedRunner adds the extra inputs."""
    return {**feed, **{k: v for k, v in getattr(runner, "extras", {}).items() if k not in feed}}


def _replay(feat: Any, nv12: Any, name: str, feat_input: np.ndarray, frame: Any,
            outputs: Mapping[str, Mapping[str, np.ndarray]]) -> dict[str, Any]:
    """The decisive image's feeds per model and outputs per variant, for :meth:`TriageReport.to_bundle`.

    ``frame`` None (the resizer source, whose NV12 path takes the full frame): the float model's only.
    """
    feeds = {"qat_feat": _with_extras(feat, {name: feat_input})}
    if frame is None:
        return {"feeds": feeds, "outputs": {"qat_feat": dict(outputs["qat_feat"])}}
    feeds["qat_nv12"] = _with_extras(nv12, _nv12_feed(nv12, frame, name))
    return {"feeds": feeds, "outputs": {k: dict(v) for k, v in outputs.items()}}


def _python_call(arguments: Mapping[str, Any]) -> str:
    """``nv12kit.triage(...)`` with the arguments given (defaults left out); arrays and objects summarised."""
    import inspect

    def show(value: Any) -> str:
        if isinstance(value, (str, bytes, bytearray)) and len(value) > 200:
            return f"<{type(value).__name__} of {len(value)}>"
        if isinstance(value, os.PathLike):
            return repr(os.fspath(value))
        if value is None or isinstance(value, (str, bool, int, float)):
            return repr(value)
        if isinstance(value, np.ndarray):
            return f"<array {'x'.join(map(str, value.shape))} {value.dtype}>"
        if isinstance(value, (list, tuple)):
            items = [show(v) for v in value[:20]] + ([f"... {len(value) - 20} more"] if len(value) > 20 else [])
            return ("[{}]" if isinstance(value, list) else "({})").format(", ".join(items))
        if isinstance(value, Mapping):
            return "{" + ", ".join(f"{show(k)}: {show(v)}" for k, v in value.items()) + "}"
        kind = f"{type(value).__module__}.{type(value).__name__}"
        if kind.startswith("nv12kit."):  # Preprocess(...), Thresholds(...): their repr is the call that makes them
            text = repr(value)  # (never a ModelProto's: its text form holds every weight)
            if len(text) <= 300 and " at 0x" not in text:
                return text
        return f"<{kind}>"

    parameters = inspect.signature(triage).parameters
    parts = [show(arguments[name]) for name in ("model", "images")]
    parts += [f"{name}={show(arguments[name])}" for name, p in parameters.items() if name in arguments
              and p.kind is p.KEYWORD_ONLY and not _same(arguments[name], p.default)]
    return f"nv12kit.triage({', '.join(parts)})"


def _same(value: Any, default: Any) -> bool:
    try:
        return bool(value is default or (type(value) is type(default) and value == default))
    except (TypeError, ValueError):  # arrays and the like: never a default
        return False


def _unchanged_output(runner: Any, name: str, preprocess: Preprocess, rgb: np.ndarray, clean: np.ndarray,
                      output: str, study: NoiseStudy) -> ModelError:
    """The error for an output that no perturbation moved; one more run (the inverted image) says why."""
    inverted = runner.run({name: preprocess(255 - rgb)})[output]
    if np.array_equal(inverted, clean):
        why = ("it is identical for the inverted image too, so it does not depend on the image at all (a constant, "
               "or a graph that ignores the image input)")
    else:
        why = ("it does change for the inverted image, so it is quantised or saturated (class indices, a clipped "
               "score) and small changes cannot move it")
    return ModelError(
        f"output {output!r} did not change at all: it was identical to the clean output in all "
        f"{study.trials * len(study.amplitudes)} noisy trials, the NV12 round trip and the NV12 model; {why}. "
        "No cosine can measure a loss on it, so the triage cannot judge the model: pick an output that depends on "
        f"the image with output= (CLI: --output); the model's outputs are {list(runner.output_names)}"
    )


def _label(convention: Any) -> str:
    return convention if isinstance(convention, str) else getattr(convention, "name", str(convention))


def _nv12_feed(runner: Any, frame: Any, name: str) -> dict[str, np.ndarray]:
    feed = frame.to_feed(name)
    missing = [k for k in feed if k not in runner.input_names]
    planes = [n for n in runner.input_names if n not in getattr(runner, "extras", {})]  # extras are fed apart
    if missing:
        if len(planes) == 2:  # vendor models name the planes their own way (TI: _Y_IN/_UV_IN)
            y_name, uv_name = planes
            return {y_name: feed[f"{name}_y"], uv_name: feed[f"{name}_uv"]}
        raise ModelError(f"the NV12 model's inputs {list(runner.input_names)} do not include {missing}; "
                         "it should take <name>_y and <name>_uv")
    return feed
