"""Triage of a *resizer* (ROI) NV12 input: what the YUV-domain resize adds over the pyramid conversion.

With ``triage(..., source="resizer", roi=(left, top, right, bottom))`` every
frame is a full camera frame and the model sees the ROI of it, scaled to the
model's size. Three paths are measured on each frame:

- **feat** (what training saw): the RGB crop ``frame[top:bottom, left:right]``
  (right/bottom exclusive) resized to the model's size *in RGB* with
  :func:`nv12kit.resize_to` (Pillow bilinear, antialiased when shrinking: the
  usual training-time resize of PIL/torchvision loaders), then normalised.
  The noise floor is measured on this input, as for the pyramid source.
- **resizer** (what is deployed): ``rgb_to_nv12(full frame, convention)``
  through :func:`nv12kit.insert_nv12_resizer` (crop and resize of the Y and
  UV planes in YUV, then the pyramid node's conversion), fed with
  :func:`nv12kit.resizer_feed`. Its cosine against feat decides the verdict.
- **pyramid** (the comparison): the feat RGB converted with ``rgb_to_nv12``
  at the model's size and run through :func:`nv12kit.insert_nv12_node` with
  the same node settings: the plain NV12 conversion of the same crop.

The YUV resize's part of the loss is ``added = (1 - cos(feat, resizer)) -
(1 - cos(feat, pyramid))``; ``share = added / (1 - cos(feat, resizer))`` is the
fraction of the deployed loss that the resize in YUV adds (it is negative,
and reported as "does not add loss here", when the pyramid loss is larger).

Choices: the ROI must lie inside the (even-cropped) frame; an ROI reaching
outside is refused, because the feat path has no RGB counterpart of the
node's padding. One ROI applies to every frame, or give one ROI per frame.
``quantize``, your own int8 variants, ``user_nv12`` and ``nv12_model`` are
not supported with the resizer yet (clear errors say what to do instead);
``layers=True`` runs the per-layer divergence on the feat input with the
pyramid round trip and the report says so.

>>> r = ResizerResult((0, 0, 4, 4), (8, 8), (4, 4), (4, 4), pyramid_cosine=0.999, resizer_cosine=0.998)
>>> round(r.added_loss, 6), round(r.share, 3)
(0.001, 0.5)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import InputError
from .resizer import RESIZER_ALIGNS, check_roi, resizer_feed

__all__ = ["SOURCES", "ResizerResult", "ResizerPlan", "check_resizer_request", "share_text"]

#: The NV12 input sources :func:`nv12kit.triage` knows.
SOURCES = ("pyramid", "resizer")
_INTERPOLATIONS = ("bilinear", "nearest")
#: A crop upscaled more than this to the model's size gets a warning (as frames do in the pyramid triage).
MAX_UPSCALE = 4.0


def _e(value: float) -> str:
    return f"{value:.2e}"


def share_text(pyramid_loss: float, resizer_loss: float) -> str:
    """One sentence on how much of the resizer's loss the YUV-domain resize adds over the pyramid conversion.

    >>> share_text(1e-3, 4e-3)
    'the YUV-domain resize adds 3.00e-03 (75% of the resizer loss; the resizer loss is 4.0x the pyramid loss)'
    >>> share_text(1e-3, 1e-3)
    'the YUV resize adds no loss here: the resizer and the pyramid give the same loss'
    >>> share_text(2e-3, 1e-3)
    'the YUV resize does not add loss here: the resizer loss is 1.00e-03 below the pyramid loss of the same crop'
    """
    added = resizer_loss - pyramid_loss
    if added == 0:
        return "the YUV resize adds no loss here: the resizer and the pyramid give the same loss"
    if added < 0:
        return (f"the YUV resize does not add loss here: the resizer loss is {_e(-added)} below the pyramid loss "
                "of the same crop")
    ratio = (f"{resizer_loss / pyramid_loss:.1f}x the pyramid loss" if pyramid_loss > 0
             else "the pyramid loss is 0")
    return (f"the YUV-domain resize adds {_e(added)} ({added / resizer_loss:.0%} of the resizer loss; the resizer "
            f"loss is {ratio})")


@dataclass
class ResizerResult:
    """The resizer measurement of one frame: its ROI and the pyramid and resizer cosines against feat."""

    roi: tuple[int, int, int, int]
    frame_shape: tuple[int, int]
    crop_shape: tuple[int, int]
    size: tuple[int, int]
    pyramid_cosine: float
    resizer_cosine: float
    interpolation: str = "bilinear"
    align: str = "half_pixel"
    notes: list[str] = field(default_factory=list)

    @property
    def pyramid_loss(self) -> float:
        """``1 - cos(feat, pyramid)``: the plain NV12 conversion of the crop."""
        return 1.0 - float(self.pyramid_cosine)

    @property
    def resizer_loss(self) -> float:
        """``1 - cos(feat, resizer)``: the deployed path."""
        return 1.0 - float(self.resizer_cosine)

    @property
    def added_loss(self) -> float:
        """What the YUV-domain resize adds: ``resizer_loss - pyramid_loss`` (negative when it removes some)."""
        return self.resizer_loss - self.pyramid_loss

    @property
    def loss_ratio(self) -> float | None:
        """``resizer_loss / pyramid_loss``; None when the pyramid loss is 0."""
        return self.resizer_loss / self.pyramid_loss if self.pyramid_loss > 0 else None

    @property
    def share(self) -> float | None:
        """``added_loss / resizer_loss``, the fraction of the deployed loss the resize adds; None when it is 0."""
        return self.added_loss / self.resizer_loss if self.resizer_loss > 0 else None

    def describe(self) -> str:
        """``ROI (l, t, r, b) = w x h px of the W x H frame``."""
        return (f"ROI {self.roi} = {self.crop_shape[1]}x{self.crop_shape[0]} px (WxH) of the "
                f"{self.frame_shape[1]}x{self.frame_shape[0]} frame")

    def evidence(self) -> list[str]:
        """The lines added to the verdict's evidence."""
        return [
            f"resizer source: {self.describe()}, resized in YUV to the model's {self.size[1]}x{self.size[0]} "
            f"({self.interpolation}, {self.align}); the NV12 loss above is the resizer's",
            f"pyramid vs resizer: pyramid (the crop resized in RGB, then converted) 1 - cos = "
            f"{_e(self.pyramid_loss)}; resizer 1 - cos = {_e(self.resizer_loss)}; "
            + share_text(self.pyramid_loss, self.resizer_loss),
        ]

    def table_cells(self) -> dict[str, Any]:
        """Columns for the per-image table."""
        return {"pyramid cos": self.pyramid_cosine, "resize share": _share_cell(self)}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the report's ``resizer`` block of an image)."""
        return {
            "roi": list(self.roi),
            "roi_end": "exclusive",
            "frame_shape": list(self.frame_shape),
            "crop_shape": list(self.crop_shape),
            "size": list(self.size),
            "interpolation": self.interpolation,
            "align": self.align,
            "pyramid_cosine": self.pyramid_cosine,
            "resizer_cosine": self.resizer_cosine,
            "pyramid_loss": self.pyramid_loss,
            "resizer_loss": self.resizer_loss,
            "added_loss": self.added_loss,
            "loss_ratio": self.loss_ratio,
            "share": self.share,
            "summary": share_text(self.pyramid_loss, self.resizer_loss),
        }


def _share_cell(result: ResizerResult) -> str:
    if result.added_loss <= 0:
        return "adds none"
    return f"{result.share:.0%}"


def _roi_list(roi: Any) -> list[tuple[int, int, int, int]] | None:
    """One ROI or a list of ROIs as a list of 4-tuples (validated for shape only); None when not given."""
    if roi is None:
        return None
    arr = np.asarray(roi, dtype=object)
    if arr.ndim == 1 and arr.size == 4:
        items = [roi]
    elif arr.ndim == 2 and arr.shape[1] == 4 and arr.shape[0] >= 1:
        items = list(roi)
    else:
        raise InputError(f"roi must be (left, top, right, bottom) in Y pixels of the frame, or one such tuple per "
                         f"image, got {roi!r}")
    out = []
    for item in items:
        try:
            values = [float(v) for v in item]
        except (TypeError, ValueError):
            raise InputError(f"roi values must be integers, got {item!r}") from None
        if any(v != int(v) for v in values):
            raise InputError(f"roi values must be integers (Y pixels), got {item!r}")
        out.append(tuple(int(v) for v in values))
    return out  # type: ignore[return-value]


@dataclass
class ResizerRequest:
    """The validated ``source``/``roi`` arguments of a triage (before the model is loaded)."""

    rois: list[tuple[int, int, int, int]]
    interpolation: str
    align: str
    flag: str = "roi"  # how errors name the ROI (the CLI: "--roi")


def check_resizer_request(source: Any, roi: Any, *, interpolation: str = "bilinear", align: str = "half_pixel",
                          quantize: bool = False, quantized: bool = False, user_nv12: bool = False,
                          nv12_model: bool = False, flag: str = "roi") -> ResizerRequest | None:
    """Check triage's ``source``, ``roi`` and resizer options; None for the pyramid source.

    >>> check_resizer_request("pyramid", None) is None
    True
    >>> check_resizer_request("resizer", (0, 0, 64, 64)).rois
    [(0, 0, 64, 64)]
    >>> check_resizer_request("resizer", None)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nv12kit.errors.InputError: source='resizer' needs roi=(left, top, right, bottom)...
    """
    if source not in SOURCES:
        raise InputError(f"source must be one of {SOURCES}, got {source!r}")
    if source == "pyramid":
        if roi is not None:
            raise InputError("roi= is only for source='resizer' (the pyramid source sees the whole frame resized to "
                             "the model's size); pass source='resizer' too, or leave roi out")
        return None
    if roi is None:
        raise InputError("source='resizer' needs roi=(left, top, right, bottom): the region of the full frame, in "
                         "Y pixels with exclusive right/bottom, that the resizer scales to the model's size")
    if interpolation not in _INTERPOLATIONS:
        raise InputError(f"resizer_interpolation must be one of {_INTERPOLATIONS}, got {interpolation!r}")
    if align not in RESIZER_ALIGNS:
        raise InputError(f"resizer_align must be one of {RESIZER_ALIGNS}, got {align!r}")
    unsupported = [(quantize, "quantize=True", "triage the same frames with source='pyramid' and quantize=True for "
                    "the int8 question (the node after the resize is the same)"),
                   (quantized, "quantized_feat/quantized_nv12", "triage them with source='pyramid'"),
                   (user_nv12, "user_nv12", "lint your converter with source='pyramid' (nv12kit.diagnose) and "
                    "triage the resizer with nv12kit's encoding"),
                   (nv12_model, "nv12_model", "leave nv12_model out: nv12kit builds the resizer with "
                    "insert_nv12_resizer; compare your runtime's outputs with nv12kit.compare")]
    for given, what, instead in unsupported:
        if given:
            raise InputError(f"{what} is not supported with source='resizer' yet; {instead}")
    return ResizerRequest(_roi_list(roi), interpolation, align, flag)  # type: ignore[arg-type]


class ResizerPlan:
    """The resizer side of one triage: fits each frame, runs the resizer model, keeps the preview's frame.

    Built by :func:`nv12kit.triage` once the model, its size and the node
    settings are known; ``fit`` replaces the pyramid triage's frame fitting,
    ``measure`` its NV12 comparison. ``make_runner(model)`` builds the
    resizer model's runner (default: a plain :class:`nv12kit.Runner`).
    """

    def __init__(self, request: ResizerRequest, model: Any, *, input_name: str, size: tuple[int, int] | None,
                 settings: dict[str, Any], convention: Any, image_count: int,
                 make_runner: Callable[[Any], Any] | None = None) -> None:
        from .resizer import insert_nv12_resizer
        from .runtime import Runner

        if size is None:
            raise InputError("the model's input size is dynamic; the resizer scales the ROI to a fixed size: pass "
                             "size=(H, W) (CLI: --size HxW), the size you compile the model at")
        if len(request.rois) not in (1, image_count):
            raise InputError(f"roi has {len(request.rois)} ROIs for {image_count} image(s); give one ROI for every "
                             "image, or one per image in the same order")
        self.request, self.size, self.name, self.convention = request, (int(size[0]), int(size[1])), input_name, \
            convention
        resizer_model = insert_nv12_resizer(model, input_name=input_name, size=self.size,
                                            interpolation=request.interpolation, align=request.align, **settings)
        # triage passes its own runner factory (e.g. one that feeds the model's other inputs)
        self.runner = (make_runner(resizer_model) if make_runner is not None
                       else Runner(resizer_model, name="qat_nv12_resizer"))
        self._full: np.ndarray | None = None
        self._roi: tuple[int, int, int, int] = request.rois[0]
        self.frame_source = (f"the full frame through nv12kit.rgb_to_nv12(convention={_label(convention)!r}), "
                             f"then the resizer node ({request.interpolation}, {request.align})")

    def roi_for(self, index: int) -> tuple[int, int, int, int]:
        """The ROI of image ``index``."""
        rois = self.request.rois
        return rois[index] if len(rois) > 1 else rois[0]

    def fit(self, item: Any, name: str, index: int) -> tuple[np.ndarray, list[str], tuple[int, int], list[str]]:
        """The feat input of a frame: its ROI cropped in RGB and resized to the model's size.

        Returns ``(rgb, notes, original_shape, warnings)`` like the pyramid
        triage's frame fitting; the full frame is kept for :meth:`measure`.
        """
        from .images import crop_to_even, load_image, resize_to

        full = load_image(item)
        original = (int(full.shape[0]), int(full.shape[1]))
        notes: list[str] = []
        if min(original) < 2:
            raise InputError(f"image {name!r} is {original[0]}x{original[1]} pixels: too small for a resizer ROI")
        if full.shape[0] % 2 or full.shape[1] % 2:
            full = crop_to_even(full)
            notes.append(f"frame cropped from {original[0]}x{original[1]} to even sides "
                         f"{full.shape[0]}x{full.shape[1]} for NV12 (last row/column dropped)")
        height, width = int(full.shape[0]), int(full.shape[1])
        try:
            roi = check_roi(self.roi_for(index), height, width)
        except InputError as exc:  # name the flag the user typed (the CLI's --roi)
            text = str(exc)
            raise InputError(self.request.flag + text[3:] if text.startswith("roi") else text) from None
        left, top, right, bottom = roi
        if left < 0 or top < 0 or right > width or bottom > height:
            raise InputError(
                f"{self.request.flag} {roi} reaches outside image {name!r} ({width}x{height} pixels, WxH, after "
                "even cropping); the triage refuses it because the RGB feat path has no counterpart of the "
                "node's padding: clip the ROI "
                f"to 0 <= left < right <= {width}, 0 <= top < bottom <= {height}"
            )
        crop = full[top:bottom, left:right]
        h, w = self.size
        warnings: list[str] = []
        if crop.shape[:2] != (h, w):
            rgb = resize_to(crop, h, w)
            notes.append(f"feat input: the RGB crop {roi} ({crop.shape[1]}x{crop.shape[0]} px, WxH) resized to the "
                         f"model's {w}x{h} in RGB with Pillow bilinear (nv12kit.resize_to, antialiased when "
                         "shrinking: the usual training-time resize)")
            if crop.shape[0] > h or crop.shape[1] > w:
                notes.append("the ROI is shrunk: Pillow's bilinear widens its filter (antialiasing) while the "
                             "resizer samples the 2x2 nearest pixels, so the resize's share of the loss includes "
                             "that filter difference as well as the YUV domain")
            upscale = max(h / crop.shape[0], w / crop.shape[1])
            if upscale > MAX_UPSCALE:
                warnings.append(f"the ROI is upscaled {upscale:.1f}x to the model's size (more than "
                                f"{MAX_UPSCALE:g}x): the model sees interpolated blur")
        else:
            rgb = np.ascontiguousarray(crop)
            notes.append(f"feat input: the RGB crop {roi}, already at the model's {w}x{h}")
        if abs((w / h) / (crop.shape[1] / crop.shape[0]) - 1) > 0.01:
            notes.append(f"the ROI's aspect ({crop.shape[1] / crop.shape[0]:.2f}) differs from the model's "
                         f"({w / h:.2f}): both the RGB and the YUV resize stretch it")
        span = crop.reshape(-1, 3).max(axis=0).astype(int) - crop.reshape(-1, 3).min(axis=0)
        if int(span.max()) <= 2:
            warnings.append("the ROI is flat: it has no edges or colour for NV12 to disturb; pick a textured ROI")
        self._full, self._roi = full, roi
        return rgb, notes + [f"warning: {w}" for w in warnings], original, warnings

    def _run(self) -> tuple[dict[str, np.ndarray], Any]:
        """The resizer model's outputs on the frame last fitted, and the planes after the resizer."""
        from .convert import rgb_to_nv12
        from .resizer import resize_nv12_roi

        if self._full is None:
            raise RuntimeError("ResizerPlan.fit() must come first")
        full_nv12 = rgb_to_nv12(self._full, convention=self.convention)
        out = self.runner.run(resizer_feed(full_nv12, self._roi, self.name))
        after = resize_nv12_roi(full_nv12, self._roi, self.size, interpolation=self.request.interpolation,
                                align=self.request.align)
        return out, after

    def measure(self, out_feat: dict[str, np.ndarray], pyramid: Any, output: str
                ) -> tuple[ResizerResult, Any, Any, dict[str, np.ndarray]]:
        """Run the resizer on the frame last fitted.

        Returns its :class:`ResizerResult` (``pyramid`` is the feat-vs-pyramid
        comparison), the feat-vs-resizer comparison, the planes after the
        resizer (an NV12Frame at the model's size) and the resizer's outputs.
        """
        from .metrics import compare

        out, after = self._run()
        comparison = compare(out_feat, out, labels=("qat_feat", "qat_nv12 (resizer)"))
        left, top, right, bottom = self._roi
        full = self._full
        assert full is not None
        result = ResizerResult(self._roi, (int(full.shape[0]), int(full.shape[1])), (bottom - top, right - left),
                               self.size, pyramid_cosine=pyramid.outputs[output].cosine,
                               resizer_cosine=comparison.outputs[output].cosine,
                               interpolation=self.request.interpolation, align=self.request.align)
        return result, comparison, after, out

    def preview_extra(self) -> dict[str, Any]:
        """What the report's crop figure needs of the frame last fitted."""
        return {"full_rgb": self._full, "roi": self._roi}

    def preview(self, item: Any, index: int, feat: Any, preprocess: Any, output: str) -> dict[str, Any]:
        """The report's preview of image ``index`` (fitted and run again: only the deciding image is kept)."""
        rgb = self.fit(item, f"image {index + 1}", index)[0]
        out_feat = feat.run({self.name: preprocess(rgb)})
        out, after = self._run()
        return {"index": index, "rgb": rgb, "frame": after, "out_feat": out_feat[output], "out_nv12": out[output],
                **self.preview_extra()}

    def parameters(self) -> dict[str, Any]:
        """Entries for the report's parameters."""
        rois = self.request.rois
        return {
            "source": "resizer",
            "roi": [list(r) for r in rois] if len(rois) > 1 else list(rois[0]),
            "resizer": {"interpolation": self.request.interpolation, "align": self.request.align,
                        "pad": "constant (refused: the ROI must lie inside the frame)", "roi_end": "exclusive",
                        "model": "built by nv12kit.insert_nv12_resizer"},
            "feat_resize": "RGB crop resized with nv12kit.resize_to (Pillow bilinear)",
        }

    def report_notes(self, layer_results: Sequence[Any]) -> list[str]:
        """The report's notes on how the resizer triage was run."""
        notes = ["resizer source: the verdict rests on cos(feat, resizer); feat is the RGB crop resized in RGB "
                 "(Pillow bilinear), the noise floor is measured on it; the pyramid conversion of the same crop is "
                 "run for comparison (see the resizer table)"]
        if layer_results:
            notes.append("per-layer divergence ran on the feat input (the RGB crop) with the pyramid round trip "
                         "(NV12 at the model's size): it shows where the NV12 loss grows, not the resize's share")
        return notes


def _label(convention: Any) -> str:
    return convention if isinstance(convention, str) else getattr(convention, "name", str(convention))
