"""A model and an image with every noise run cached, and what the noise explorer shows for one setting."""

from __future__ import annotations

import math
import os
import pathlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import plots
from .._util import source_label
from ..conventions import Convention, get_convention
from ..convert import nv12_to_rgb, rgb_to_nv12
from ..errors import InputError
from ..images import prepare_image
from ..noise import DISTRIBUTIONS, NoiseStudy, noise_label, noise_study, perturb_trial
from ..preprocess import Preprocess
from .common import _resolve_preprocess, escape, figure_img_html, figure_row_html

__all__ = ["NoiseSession", "NoiseExplorerState", "noise_explorer_state"]


def _is_dense(output: np.ndarray) -> bool:
    """A map the diff figure can show: [1, C, H, W], [1, H, W] or [H, W] with H, W > 1."""
    shape = np.shape(output)
    return len(shape) >= 2 and shape[-1] > 1 and shape[-2] > 1 and (len(shape) < 3 or int(np.prod(shape[:-3])) <= 1)


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
    size : (int, int), int or None, optional
        The frame size, for a model whose size is dynamic (your compiled
        model's); as :func:`nv12kit.triage` takes it. By default the model's
        static size, or the image's own size when both sides are dynamic.

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
                 seed: int = 0, output: str | None = None, size: Any = None) -> None:
        from ..model import ImageInputSpec, load_model
        from ..runtime import Runner

        self.model = load_model(model)
        self.label = pathlib.Path(model).name if isinstance(model, (str, os.PathLike)) else "model"
        self.preprocess, _ = _resolve_preprocess(self.model, preprocess)
        self.spec = ImageInputSpec.from_model(self.model, layout=self.preprocess.layout)
        from ..feeds import resolve_size

        self.rgb, self.notes, _ = prepare_image(image, resolve_size(self.spec, size))
        self.image_label = source_label(image)
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
        from ..metrics import cosine

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
        from ..metrics import cosine

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
        label = noise_label(self.distribution, self.amplitude)
        loss, floor_loss = 1.0 - self.roundtrip_cosine, 1.0 - self.floor
        ratio = f"{loss / floor_loss:.2f}x" if floor_loss > 0 else "-"
        return (f"noise {label} ({self.trials} trials): mean cosine {self.floor:.6f}, worst {self.worst:.6f}; "
                f"NV12 round trip ({self.convention}): cosine {self.roundtrip_cosine:.6f}, "
                f"1 - cos {ratio} the noise's")

    def _repr_html_(self) -> str:
        parts = [f"<div class='nv12kit-noise'><p>{escape(self.summary())}</p>",
                 figure_row_html(figure_img_html(self.histogram, "histogram of trial cosines"),
                                 figure_img_html(self.curve, "noise floor against amplitude"))]
        if self.diff is not None:
            parts += ["<br>", figure_img_html(self.diff, "output difference maps")]
        elif self.diff_note:
            parts.append(f"<p style='color:#555'>{escape(self.diff_note)}</p>")
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
    curve = plots.plot_cosine_vs_amplitude(study, selected=a)
    diff, note = None, ""
    clean = session.clean[session.output]
    if session.dense:
        noisy = session.noisy_output(a, distribution=distribution)[session.output]
        trip = session.roundtrip(conv)[session.output]
        diff = plots.plot_output_diffs(clean, {f"noise {noise_label(distribution, a)}, trial 1 vs clean": noisy,
                                               f"NV12 round trip ({conv.name}) vs clean": trip})
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
