"""Noise-sensitivity studies: how far a model's output moves under tiny pixel noise.

The forum's test for an over-fitted model, made quantitative: add a few
pixel values of random noise to the float model's input, many times, and
look at the distribution of ``cos(out_clean, out_noisy)``. The NV12 round
trip (RGB -> NV12 -> RGB under a convention) is measured in the same units,
so its loss can be read against that noise floor.

Studies stream: each batch of noisy inputs is run, reduced to one cosine per
trial and output, and dropped. Memory does not grow with ``trials``.
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ._util import progress as progress_bar
from .errors import InputError, ModelError
from .images import prepare_image
from .metrics import is_logits
from .preprocess import Preprocess, check_preprocess

__all__ = ["DISTRIBUTIONS", "unit_noise", "draw_noise", "trial_noise", "perturb", "perturb_trial", "NoiseStudy",
           "noise_study", "noise_label"]

#: ``symmetric``: uniform on [-a, a]; ``uniform_0_a``: the forum's uniform [0, a); ``gaussian``: sigma = a.
DISTRIBUTIONS = ("symmetric", "uniform_0_a", "gaussian")


def noise_label(distribution: str, amplitude: float) -> str:
    """How reports, figures and widgets name a noise level.

    >>> noise_label("symmetric", 2), noise_label("uniform_0_a", 3), noise_label("gaussian", 1.5)
    ('±2', 'U[0,3)', 'σ=1.5')
    """
    text = f"{amplitude:g}"
    return {"symmetric": f"±{text}", "uniform_0_a": f"U[0,{text})", "gaussian": f"σ={text}"}.get(distribution, text)

# Noisy float32 batches are bounded to about this many bytes, whatever the image size.
_BATCH_BYTES = 48 * 2**20
# Trials per call on a dynamic batch: CPU runtimes gain little past a few images, and small batches keep the
# activations in cache (bench_triage: batch 4 beats 16 by about 6% on the demo model and on a 224x224 net).
_DYNAMIC_BATCH = 4


def _random_bytes(rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` uniform random bytes from the generator's raw 64-bit draws, little-endian on every platform."""
    raw = rng.bit_generator.random_raw((count + 7) // 8)
    return raw.astype("<u8", copy=False).view(np.uint8)[:count]


# unit = bytes * scale + offset, exact in float32 for every byte
_BYTE_LEVELS = {"symmetric": (1 / 128, 0.5 / 128 - 1), "uniform_0_a": (1 / 256, 0.5 / 256)}


def unit_noise(shape: Sequence[int], distribution: str, rng: np.random.Generator, *,
               out: np.ndarray | None = None) -> np.ndarray:
    """Noise of amplitude 1, float32; :func:`draw_noise` scales it.

    The uniform distributions are drawn as 256 evenly spaced levels from
    random bytes (``(b + 0.5) / 128 - 1`` on [-1, 1), ``(b + 0.5) / 256`` on
    [0, 1)): exactly zero-mean (or +1/2) and several times faster than float
    draws. A step of 2a/256 (0.02 levels at a = 3) is far finer than any
    model can tell apart. The bytes are the generator's raw 64-bit draws,
    little-endian, in C order of ``shape``. Gaussian noise is
    ``standard_normal`` in float32.
    """
    if distribution not in DISTRIBUTIONS:
        raise InputError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
    shape = tuple(shape)
    if out is None:
        out = np.empty(shape, np.float32)
    if distribution == "gaussian":
        return rng.standard_normal(out=out, dtype=np.float32)
    count = int(np.prod(shape))
    np.copyto(out, _random_bytes(rng, count).reshape(shape), casting="unsafe")
    scale, offset = _BYTE_LEVELS[distribution]
    out *= np.float32(scale)
    out += np.float32(offset)
    return out


def trial_noise(height: int, width: int, amplitude: float, *, distribution: str = "symmetric", seed: int = 0,
                trial: int = 0) -> np.ndarray:
    """The pixel noise of trial ``trial`` in :func:`noise_study`, as (H, W, 3) float32.

    It is ``draw_noise((3, H, W), amplitude, distribution,
    default_rng((seed, trial)))`` moved to channels last: one plane per RGB
    channel, drawn in that order. The same unit noise serves every amplitude
    (common random numbers), and it does not depend on the batch size or on
    the model's channel order or layout.

    Examples
    --------
    >>> noise = trial_noise(4, 6, 2.0, seed=0, trial=3)
    >>> noise.shape, bool(abs(noise).max() <= 2)
    ((4, 6, 3), True)
    """
    planes = draw_noise((3, int(height), int(width)), amplitude, distribution, np.random.default_rng((seed, trial)))
    return planes.transpose(1, 2, 0)


def draw_noise(
    shape: Sequence[int],
    amplitude: float,
    distribution: str,
    rng: np.random.Generator,
    *,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Real-valued pixel noise, float32: ``amplitude * unit_noise(...)``.

    Parameters
    ----------
    shape : sequence of int
        Shape of the noise, e.g. ``(H, W, 3)``.
    amplitude : float
        ``a`` in pixel values (0-255 scale), non-negative.
    distribution : {"symmetric", "uniform_0_a", "gaussian"}
        Uniform on ``[-a, a)``, uniform on ``[0, a)`` (the forum's recipe,
        which has a bias of ``+a/2``), or normal with ``sigma = a``. See
        :func:`unit_noise` for how they are drawn.
    rng : numpy.random.Generator
    out : numpy.ndarray, optional
        C-contiguous float32 array of ``shape`` to draw into.

    Examples
    --------
    >>> import numpy as np
    >>> noise = draw_noise((1000,), 2, "uniform_0_a", np.random.default_rng(0))
    >>> bool(noise.min() >= 0 and noise.max() < 2), noise.dtype
    (True, dtype('float32'))
    """
    try:
        a = float(amplitude)
    except (TypeError, ValueError) as exc:
        raise InputError(f"amplitude must be a number of pixel values, got {amplitude!r}") from exc
    if not math.isfinite(a) or a < 0:
        raise InputError(f"amplitude must be a non-negative number of pixel values, got {amplitude!r}")
    noise = unit_noise(shape, distribution, rng, out=out)
    noise *= np.float32(a)
    return noise


def perturb(rgb: np.ndarray, amplitude: float, *, distribution: str = "symmetric",
            rng: np.random.Generator | None = None) -> np.ndarray:
    """``clip(rgb + noise, 0, 255)`` as float32 pixel values (not rounded).

    Feed the result to :meth:`Preprocess.normalize_pixels`.
    """
    rng = rng if rng is not None else np.random.default_rng()
    noisy = draw_noise(np.shape(rgb), amplitude, distribution, rng)
    noisy += np.asarray(rgb, np.float32)
    return np.clip(noisy, 0.0, 255.0, out=noisy)


def perturb_trial(rgb: np.ndarray, amplitude: float, *, distribution: str = "symmetric", seed: int = 0,
                  trial: int = 0) -> np.ndarray:
    """The pixels of trial ``trial`` of :func:`noise_study`: ``clip(rgb + trial_noise(...), 0, 255)``, float32.

    Feed the result to :meth:`Preprocess.normalize_pixels`. The study itself
    builds the same tensors in normalised space (equal to float32 rounding).
    """
    noisy = trial_noise(rgb.shape[0], rgb.shape[1], amplitude, distribution=distribution, seed=seed, trial=trial)
    noisy += rgb
    return np.clip(noisy, 0.0, 255.0, out=noisy)


def _check_amplitudes(amplitudes: Any) -> tuple[float, ...]:
    try:
        values = tuple(float(a) for a in np.atleast_1d(np.asarray(amplitudes, dtype=np.float64)))
    except (TypeError, ValueError) as exc:
        raise InputError(f"amplitudes must be numbers (pixel values), got {amplitudes!r}") from exc
    if not values or any(not math.isfinite(a) or a <= 0 for a in values):
        raise InputError(f"amplitudes must be positive pixel values such as (1, 2, 3), got {amplitudes!r}")
    return tuple(sorted(set(values)))


def _stats(values: np.ndarray) -> dict[str, float]:
    return {
        "mean": float(values.mean()),
        "min": float(values.min()),
        "p5": float(np.percentile(values, 5)),
        "median": float(np.median(values)),
        "max": float(values.max()),
        "std": float(values.std()),
    }


def _cosines(clean: np.ndarray, batch: np.ndarray, count: int | None = None) -> np.ndarray:
    """Cosine of each of the ``count`` trials in ``batch`` against ``clean``, in float64; NaN where undefined.

    ``count`` defaults to ``batch.shape[0]``; with ``count=1`` the whole output is one trial, so outputs
    without a batch axis (a scalar, ``[C]``) work. Each row is scaled by a power of two first (exact), so
    outputs near 1e300 do not overflow.
    """
    n = (batch.shape[0] if batch.ndim else 1) if count is None else int(count)
    if batch.size != clean.size * n:
        raise ModelError(
            f"an output of shape {batch.shape} does not hold {n} trial(s) of the clean output's shape "
            f"{clean.shape}; the output has no batch axis, so run the study with batch_size=1"
        )
    a = clean.reshape(-1).astype(np.float64)
    b = batch.reshape(n, -1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        a = a / _pow2(np.max(np.abs(a)))
        b = b / _pow2(np.max(np.abs(b), axis=1))[:, None]
        na, nb = np.linalg.norm(a), np.linalg.norm(b, axis=1)
        return np.clip((b @ a) / (na * nb), -1.0, 1.0)


def _pow2(largest: Any) -> np.ndarray:
    """Powers of two at most ``largest`` (1 where it is 0 or not finite): exact scales into (-2, 2) for norms."""
    largest = np.asarray(largest, np.float64)
    ok = np.isfinite(largest) & (largest > 0)
    return np.where(ok, np.ldexp(1.0, np.frexp(np.where(ok, largest, 1.0))[1] - 1), 1.0)


def _has_batch_axis(clean: np.ndarray, result: np.ndarray, count: int) -> bool:
    """Whether ``result`` (a batch of ``count``) holds one clean-shaped output per item."""
    return (clean.ndim > 0 and clean.shape[0] == 1 and result.ndim == clean.ndim and result.shape[0] == count
            and result.shape[1:] == clean.shape[1:])


def _top1(logits: np.ndarray) -> np.ndarray:
    return np.argmax(logits.reshape(logits.shape[0], -1), axis=1)


@dataclass
class NoiseStudy:
    """Cosines of a model's outputs under pixel noise, per amplitude, and under NV12 round trips.

    Attributes
    ----------
    amplitudes : tuple of float
        Noise amplitudes, in pixel values.
    distribution : str
        One of :data:`DISTRIBUTIONS`.
    trials, seed : int
    output : str
        The output the headline cosines are about (the first one by default).
    cosines : dict of float to numpy.ndarray
        Every trial's cosine of ``output``, per amplitude.
    per_output : dict of str to dict of float to numpy.ndarray
        The same for every output.
    top1 : dict of float to float
        Share of trials whose top-1 class equals the clean one (logits only).
    roundtrip : dict of str to float
        ``cos(out_clean, out_roundtrip)`` of ``output`` per convention.
    roundtrip_per_output : dict of str to dict of str to float
    roundtrip_top1 : dict of str to bool
        Whether the round trip keeps the clean top-1 class (logits only).
    image_shape : (int, int)
        The size the model saw.
    notes : list of str
        E.g. that the image was resized to the model's input.
    seconds : float
        Wall time of the study.
    unchanged : list of str
        Outputs that were bit-identical to the clean output in every noisy
        trial and round trip: they do not respond to the image (a constant,
        or a graph that ignores the image input), so their cosines of exactly
        1 say nothing about the model.
    clean_outputs : dict of str to numpy.ndarray
        The model's outputs on the clean image (batch of one), so callers
        need not run it again; not part of :meth:`to_dict`.
    """

    amplitudes: tuple[float, ...]
    distribution: str
    trials: int
    seed: int
    output: str
    cosines: dict[float, np.ndarray]
    per_output: dict[str, dict[float, np.ndarray]]
    top1: dict[float, float] = field(default_factory=dict)
    roundtrip: dict[str, float] = field(default_factory=dict)
    roundtrip_per_output: dict[str, dict[str, float]] = field(default_factory=dict)
    roundtrip_top1: dict[str, bool] = field(default_factory=dict)
    image_shape: tuple[int, int] = (0, 0)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    unchanged: list[str] = field(default_factory=list)
    clean_outputs: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def summary(self, amplitude: float) -> dict[str, float]:
        """mean, min, p5, median, max and std of the trial cosines at ``amplitude``."""
        return _stats(self._at(amplitude))

    def floor(self, amplitude: float) -> float:
        """Mean cosine at ``amplitude``: the noise floor the NV12 loss is read against."""
        return float(self._at(amplitude).mean())

    def _at(self, amplitude: float) -> np.ndarray:
        key = float(amplitude)
        if key not in self.cosines:
            raise InputError(f"no trials at amplitude {amplitude}; the study has {list(self.amplitudes)}")
        return self.cosines[key]

    def rows(self) -> list[dict[str, Any]]:
        """One row per amplitude, then one per round-trip convention, as dicts."""
        rows: list[dict[str, Any]] = []
        for a in self.amplitudes:
            row: dict[str, Any] = {"perturbation": f"noise {self._label(a)}", **self.summary(a)}
            if a in self.top1:
                row["top1_kept"] = self.top1[a]
            rows.append(row)
        for conv, cos in self.roundtrip.items():
            row = {"perturbation": f"NV12 round trip ({conv})", "mean": cos, "min": cos, "p5": cos,
                   "median": cos, "max": cos, "std": 0.0}
            if conv in self.roundtrip_top1:
                row["top1_kept"] = float(self.roundtrip_top1[conv])
            rows.append(row)
        return rows

    def _label(self, a: float) -> str:
        return noise_label(self.distribution, a)

    def table(self) -> str:
        """The rows as aligned text."""
        header = (f"{'perturbation':28s} {'mean cos':>10s} {'1-cos':>9s} {'min':>10s} {'p5':>10s} "
                  f"{'top-1 kept':>10s}")
        lines = [header]
        for r in self.rows():
            kept = f"{r['top1_kept']:.0%}" if "top1_kept" in r else "-"
            lines.append(f"{r['perturbation']:28s} {r['mean']:10.6f} {1 - r['mean']:9.2e} {r['min']:10.6f} "
                         f"{r['p5']:10.6f} {kept:>10s}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        head = (f"NoiseStudy(output {self.output!r}, {self.trials} trials of {self.distribution} noise, seed "
                f"{self.seed}, image {self.image_shape[0]}x{self.image_shape[1]}, {self.seconds:.2f} s)")
        return head + "\n" + self.table()

    def _repr_html_(self) -> str:
        cells = ["perturbation", "mean cos", "1 - mean cos", "min", "p5", "top-1 kept"]
        head = "".join(f"<th>{c}</th>" for c in cells)
        body = []
        for r in self.rows():
            kept = f"{r['top1_kept']:.0%}" if "top1_kept" in r else "-"
            values = [r["perturbation"], f"{r['mean']:.6f}", f"{1 - r['mean']:.2e}", f"{r['min']:.6f}",
                      f"{r['p5']:.6f}", kept]
            body.append("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in values) + "</tr>")
        title = html.escape(f"Noise study of output {self.output!r}: {self.trials} trials, {self.distribution}, "
                            f"seed {self.seed}")
        return f"<div><strong>{title}</strong><table><tr>{head}</tr>{''.join(body)}</table></div>"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, every trial's cosine included."""
        return {
            "amplitudes": list(self.amplitudes),
            "distribution": self.distribution,
            "trials": self.trials,
            "seed": self.seed,
            "output": self.output,
            "image_shape": list(self.image_shape),
            "cosines": {f"{a:g}": [float(c) for c in v] for a, v in self.cosines.items()},
            "summary": {f"{a:g}": self.summary(a) for a in self.amplitudes},
            "per_output_mean": {
                o: {f"{a:g}": float(v.mean()) for a, v in d.items()} for o, d in self.per_output.items()
            },
            "top1_kept": {f"{a:g}": v for a, v in self.top1.items()},
            "roundtrip": dict(self.roundtrip),
            "roundtrip_per_output": {k: dict(v) for k, v in self.roundtrip_per_output.items()},
            "roundtrip_top1_kept": dict(self.roundtrip_top1),
            "notes": list(self.notes),
            "seconds": self.seconds,
            "unchanged_outputs": list(self.unchanged),
        }


# ----------------------------------------------------------------------------
# running a study
# ----------------------------------------------------------------------------
def _looks_like_image(shape: tuple[Any, ...] | None, axis: int) -> bool:
    if shape is None or len(shape) != 4:
        return False
    return shape[axis] == 3 or not isinstance(shape[axis], int)


def _image_input(runner: Any, preprocess: Preprocess, input_name: str | None) -> tuple[str, tuple[int, int] | None]:
    """The image input's name and static (H, W) if the runtime reports it."""
    infos = {i.name: i for i in (runner.inputs or ())}
    if input_name is not None:
        if input_name not in runner.input_names:
            raise InputError(f"the model has no input {input_name!r}; its inputs are {list(runner.input_names)}")
        candidates = [input_name]
    else:
        axis = 1 if preprocess.layout == "NCHW" else 3
        if infos:
            candidates = [n for n, i in infos.items() if _looks_like_image(i.shape, axis)]
        else:
            candidates = list(runner.input_names) if len(runner.input_names) == 1 else []
        if not candidates and len(infos) == 1:
            candidates = list(infos)  # the only input: explain below why it does not fit
        if len(candidates) != 1:
            raise InputError(
                f"cannot tell which input takes the image among {list(runner.input_names)}; pass input_name="
            )
    name = candidates[0]
    info = infos.get(name)
    if info is None or info.shape is None:
        return name, None
    axis = 1 if preprocess.layout == "NCHW" else 3
    if len(info.shape) != 4 or not _looks_like_image(info.shape, axis):
        other = "NHWC" if preprocess.layout == "NCHW" else "NCHW"
        raise InputError(
            f"input {name!r} has shape {list(info.shape)}, but the preprocessing ({preprocess.layout}) needs 3 "
            f"channels (RGB) in dim {axis}; if the model is {other}, use Preprocess(..., layout={other!r})"
        )
    h, w = (info.shape[2], info.shape[3]) if preprocess.layout == "NCHW" else (info.shape[1], info.shape[2])
    return name, (h, w) if isinstance(h, int) and isinstance(w, int) else None


def _auto_batch(runner: Any, name: str, pixels: int, batch_size: int | str) -> int:
    if batch_size != "auto":
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise InputError(f"batch_size must be a positive integer or 'auto', got {batch_size!r}")
        return int(batch_size)
    info = {i.name: i for i in (runner.inputs or ())}.get(name)
    static = info is not None and bool(info.shape) and isinstance(info.shape[0], int)
    by_memory = max(1, _BATCH_BYTES // max(1, pixels * 3 * 4))
    # a static batch is filled exactly (the runner would pad a smaller one)
    return int(min(runner.batch_size if static else min(runner.batch_size, _DYNAMIC_BATCH), by_memory))


class _NoisyTensors:
    """The model tensors of noisy trials, built straight in the model's normalised space.

    ``normalise(clip(rgb + a * unit, 0, 255))`` is affine per channel up to
    the clip, so each tensor is ``clip(unit * k_c + (clean + o_c), lo_c,
    hi_c)`` with per-channel constants: three array passes per trial, with no
    channels-last intermediate and no transpose. It equals the pixel-space
    recipe to float32 rounding (a few 1e-7 in normalised units). For the
    uniform distributions the unit noise is kept as the generator's byte
    levels, and each trial is built on its own so its arrays stay in cache. Orders other than RGB/BGR go through
    :meth:`Preprocess.normalize_pixels`.
    """

    def __init__(self, rgb: np.ndarray, preprocess: Preprocess, distribution: str, *, seed: int, batch: int,
                 clean: np.ndarray | None = None):
        self.height, self.width = int(rgb.shape[0]), int(rgb.shape[1])
        self.distribution, self.seed, self.preprocess = distribution, seed, preprocess
        self.level, self.offset = _BYTE_LEVELS.get(distribution, (1.0, 0.0))
        self.units: list[np.ndarray] = []  # (3, H, W) float32 per trial: byte levels 0-255, or gaussian
        self.affine = preprocess.order in ("rgb", "bgr")
        if not self.affine:
            self.rgb = rgb.astype(np.float32)
            self.pixels = np.empty((batch, self.height, self.width, 3), np.float32)
            return
        self.channels_first = preprocess.layout == "NCHW"
        shape = (3, self.height, self.width) if self.channels_first else (self.height, self.width, 3)
        self.out = np.empty((batch, *shape), np.float32)
        self.clean = (preprocess(rgb) if clean is None else clean)[0]
        per_channel = (3, 1, 1) if self.channels_first else (1, 1, 3)
        low, high = preprocess.tensor_bounds()
        self.low, self.high = low.reshape(per_channel), high.reshape(per_channel)
        self.slope = preprocess.pixel_gain().reshape(per_channel)  # d tensor / d pixel
        self.constants: dict[float, tuple[np.ndarray, np.ndarray]] = {}

    def draw(self, first: int, count: int) -> None:
        """Draw the unit noise of trials ``first .. first + count - 1`` (see :func:`trial_noise`)."""
        planes = (3, self.height, self.width)
        self.units = []
        for j in range(count):
            rng = np.random.default_rng((self.seed, first + j))
            if self.distribution in _BYTE_LEVELS:
                # the byte levels as float32 (exact), converted once for every amplitude
                levels = _random_bytes(rng, 3 * self.height * self.width).reshape(planes)
                self.units.append(levels.astype(np.float32))
            else:
                self.units.append(rng.standard_normal(planes, dtype=np.float32))

    def _in_tensor_order(self, unit: np.ndarray) -> np.ndarray:
        """A view of RGB planes in the tensor's channel order and layout."""
        if self.preprocess.order == "bgr":
            unit = unit[::-1]
        return unit if self.channels_first else unit.transpose(1, 2, 0)

    def tensor(self, count: int, amplitude: float) -> np.ndarray:
        """The model tensor of the ``count`` trials last drawn, at ``amplitude`` pixel values."""
        if not self.affine:
            pixels = self.pixels[:count]
            for j in range(count):
                np.multiply(self.units[j].transpose(1, 2, 0), np.float32(amplitude * self.level), out=pixels[j])
            pixels += np.float32(amplitude * self.offset)
            pixels += self.rgb
            np.clip(pixels, 0.0, 255.0, out=pixels)
            return self.preprocess.normalize_pixels(pixels)
        if amplitude not in self.constants:
            step = self.slope * amplitude
            self.constants[amplitude] = ((step * self.level).astype(np.float32),
                                         self.clean + (step * self.offset).astype(np.float32))
        scale, base = self.constants[amplitude]
        out = self.out[:count]
        for j in range(count):  # one trial at a time: its three passes stay in cache
            np.multiply(self._in_tensor_order(self.units[j]), scale, out=out[j])
            np.add(out[j], base, out=out[j])
            np.clip(out[j], self.low, self.high, out=out[j])
        return out


def _run_trials(
    forward: Any, noisy: _NoisyTensors, clean: Mapping[str, np.ndarray], outputs: Sequence[str], primary: str,
    logits: set[str], clean_top1: Mapping[str, Any], levels: tuple[float, ...], trials: int, step: int, bar: Any,
) -> tuple[dict[str, dict[float, np.ndarray]], dict[float, float], dict[str, bool]] | list[str]:
    """Every trial's cosine per output and amplitude, top-1 kept, and which outputs ever changed.

    If the first batch shows outputs without a batch axis, their names instead (the caller retries one
    trial at a time).
    """
    # One job per (batch of trials, amplitude); a batch's unit noise is drawn once, for its first amplitude.
    # (Preparing the next job in a thread while the model runs was measured: on 2 cores it slows ORT as
    # much as it saves, so the loop stays sequential.)
    jobs = [(first, min(step, trials - first), amplitude) for first in range(0, trials, step) for amplitude in levels]
    found: dict[float, dict[str, list[np.ndarray]]] = {a: {o: [] for o in outputs} for a in levels}
    kept: dict[float, list[np.ndarray]] = {a: [] for a in levels}
    changed = {o: False for o in outputs}
    for index, (first, count, amplitude) in enumerate(jobs):
        if amplitude == levels[0]:
            noisy.draw(first, count)
        try:
            result = forward(noisy.tensor(count, amplitude))
        except ModelError:
            if index == 0 and count > 1:
                return list(outputs)  # the runner could not split an output along the batch
            raise
        if index == 0 and count > 1:
            unbatched = [o for o in outputs if not _has_batch_axis(clean[o], result[o], count)]
            if unbatched:
                return unbatched
        for o in outputs:
            found[amplitude][o].append(_cosines(clean[o], result[o], count))
            if not changed[o]:
                changed[o] = not (result[o].reshape(count, -1) == clean[o].reshape(1, -1)).all()
        if primary in logits:
            kept[amplitude].append(_top1(result[primary]) == clean_top1[primary])
        bar.update(count)
    per_output = {o: {a: np.concatenate(found[a][o]) for a in levels} for o in outputs}
    top1 = {a: float(np.concatenate(kept[a]).mean()) for a in levels if kept[a]}
    return per_output, top1, changed


def noise_study(
    runner: Any,
    image: Any,
    preprocess: Preprocess,
    *,
    amplitudes: Sequence[float] = (1, 2, 3),
    trials: int = 20,
    distribution: Literal["symmetric", "uniform_0_a", "gaussian"] = "symmetric",
    seed: int = 0,
    batch_size: int | Literal["auto"] = "auto",
    conventions: Sequence[Any] = ("horizon",),
    output: str | None = None,
    input_name: str | None = None,
    extra_inputs: Mapping[str, np.ndarray] | None = None,
    progress: bool = True,
) -> NoiseStudy:
    """How much a float model's output moves under small pixel noise, and under NV12 round trips.

    Parameters
    ----------
    runner : Runner, model path, ModelProto, session or runtime
        The float model (``qat_feat``); wrapped in :class:`nv12kit.Runner`.
    image : path, PIL image or (H, W, 3) uint8 array
        RGB. Resized to the model's static size if it has one (a note says so).
    preprocess : Preprocess
        The model's normalisation; noise is added before it, in pixel space.
    amplitudes : sequence of float, optional
        Noise amplitudes in pixel values.
    trials : int, optional
        Noisy copies per amplitude.
    distribution : {"symmetric", "uniform_0_a", "gaussian"}, optional
        See :func:`draw_noise`. Noise is real-valued and the result clipped to 0-255.
    seed : int, optional
        Trial ``t`` adds :func:`trial_noise` ``(H, W, a, seed=seed, trial=t)``:
        unit noise from ``default_rng((seed, t))`` scaled to every amplitude
        (common random numbers: differences between amplitudes are not
        sampling noise). The noise does not depend on ``batch_size`` or on
        the model's channel order; the cosines agree to float rounding.
    batch_size : int or "auto", optional
        Trials per model call. "auto" fills a static batch exactly; on a
        dynamic batch it takes up to 4 (and no more than the runner's batch
        size), which measured fastest on CPU. Either way a batch of noisy
        images stays under about 48 MB. An output without a batch axis
        (a scalar, ``[C]``) cannot be split per trial: the trials then run
        one per call, each cosine is over the whole output, and a note
        says so.
    conventions : sequence of str or Convention, optional
        NV12 round trips to measure as perturbations (empty for none).
    output : str, optional
        The output the headline cosines are about; the first by default.
    input_name : str, optional
        The image input, if the model has several inputs.
    extra_inputs : mapping, optional
        Fixed values for the model's other inputs.
    progress : bool, optional
        A ``tqdm.auto`` progress bar when tqdm is installed.

    Returns
    -------
    NoiseStudy
        Outputs that never changed (bit-identical in every trial and round
        trip) are listed in ``unchanged`` and in a note: their cosines of
        exactly 1 do not mean robustness.

    Raises
    ------
    InputError
        Bad amplitudes, trials, distribution or batch size; an image that
        cannot be loaded; an unknown output or input name.
    """
    from .convert import nv12_to_rgb, rgb_to_nv12
    from .runtime import Runner

    start = time.perf_counter()
    check_preprocess(preprocess)
    levels = _check_amplitudes(amplitudes)
    if isinstance(trials, bool) or not isinstance(trials, (int, np.integer)) or trials < 1:
        raise InputError(f"trials must be a positive integer, got {trials!r}")
    if distribution not in DISTRIBUTIONS:
        raise InputError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    run = runner if isinstance(runner, Runner) else Runner(runner)
    name, size = _image_input(run, preprocess, input_name)
    rgb, notes, _ = prepare_image(image, size, even=bool(conventions))
    extra = {k: np.asarray(v) for k, v in (extra_inputs or {}).items()}
    outputs = list(run.output_names)
    primary = output if output is not None else outputs[0]
    if primary not in outputs:
        raise InputError(f"unknown output {primary!r}; the model's outputs are {outputs}")
    step = _auto_batch(run, name, rgb.shape[0] * rgb.shape[1], batch_size)

    def forward(tensor: np.ndarray) -> dict[str, np.ndarray]:
        feed = {name: tensor}
        for key, value in extra.items():
            feed[key] = np.repeat(value, tensor.shape[0], axis=0) if value.ndim and value.shape[0] == 1 else value
        return run.run(feed)

    clean_tensor = preprocess(rgb)
    clean = forward(clean_tensor)
    empty = [o for o in outputs if not np.any(clean[o])]
    if empty:
        raise InputError(
            f"the model's clean output {empty} is all zeros on this image, so no cosine can be measured against "
            "it; check the preprocessing (an image equal to the mean normalises to zeros) or pick another image"
        )
    if not all(np.isfinite(clean[o]).all() for o in outputs):
        bad = [o for o in outputs if not np.isfinite(clean[o]).all()]
        raise InputError(f"the model's clean output {bad} has NaN/Inf values; check the input's dtype and "
                         "normalisation before studying noise")
    noisy = _NoisyTensors(rgb, preprocess, distribution, seed=int(seed), batch=step, clean=clean_tensor)
    logits = {o for o in outputs if is_logits(clean[o].shape, batched=True)}
    clean_top1 = {o: _top1(clean[o])[0] for o in logits}
    bar = progress_bar(total=len(levels) * int(trials), desc="noise trials", unit="trial", enabled=progress)
    try:
        measured = _run_trials(forward, noisy, clean, outputs, primary, logits, clean_top1, levels, int(trials), step,
                               bar)
        if isinstance(measured, list):
            # an output without a batch axis (a scalar, [C]): a batch of trials cannot be split per trial,
            # so each trial runs alone and its cosine is taken over the whole output
            notes.append(f"outputs {measured} have no batch axis (clean shapes "
                         f"{[list(clean[o].shape) for o in measured]}); the trials ran one at a time and each "
                         "cosine is over the whole output")
            measured = _run_trials(forward, noisy, clean, outputs, primary, logits, clean_top1, levels,
                                   int(trials), 1, bar)
    finally:
        bar.close()
    if isinstance(measured, list):  # cannot happen: one trial per call always fits
        raise ModelError(f"outputs {measured} do not fit one trial per call")
    per_output, top1, changed = measured
    bad = [o for o in outputs for a, v in per_output[o].items() if np.isnan(v).any()]
    if bad:
        notes.append(f"outputs {sorted(set(bad))} had NaN/Inf or zero-norm results under noise; those trials "
                     "count as cosine -1 (the worst), so the study cannot look healthier than it is")
        for o in set(bad):
            for a, v in per_output[o].items():
                per_output[o][a] = np.where(np.isnan(v), -1.0, v)

    roundtrip: dict[str, float] = {}
    roundtrip_per_output: dict[str, dict[str, float]] = {}
    roundtrip_top1: dict[str, bool] = {}
    for conv in conventions:
        label = conv if isinstance(conv, str) else conv.name
        decoded = nv12_to_rgb(rgb_to_nv12(rgb, convention=conv), convention=conv)
        result = forward(preprocess(decoded))
        roundtrip_per_output[label] = {o: float(_cosines(clean[o], result[o], 1)[0]) for o in outputs}
        roundtrip[label] = roundtrip_per_output[label][primary]
        if primary in logits:
            roundtrip_top1[label] = bool(_top1(result[primary])[0] == clean_top1[primary])
        for o in outputs:
            changed[o] = changed[o] or not np.array_equal(result[o], clean[o])
    unchanged = [o for o in outputs if not changed[o]]
    if unchanged:
        notes.append(f"outputs {unchanged} were identical to the clean output in every noisy trial"
                     + (" and NV12 round trip" if conventions else "") + ": they do not respond to the image, so "
                     "their cosines of exactly 1 say nothing about the model; pick another output")

    return NoiseStudy(
        amplitudes=levels,
        distribution=distribution,
        trials=int(trials),
        seed=int(seed),
        output=primary,
        cosines=dict(per_output[primary]),
        per_output=per_output,
        top1=top1,
        roundtrip=roundtrip,
        roundtrip_per_output=roundtrip_per_output,
        roundtrip_top1=roundtrip_top1,
        image_shape=(int(rgb.shape[0]), int(rgb.shape[1])),
        notes=notes,
        seconds=time.perf_counter() - start,
        unchanged=unchanged,
        clean_outputs=clean,
    )
