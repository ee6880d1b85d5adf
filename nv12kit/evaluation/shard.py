"""The per-shard work: frames in, one small JSON-ready summary per frame out.

The same function runs in this process, in a ``concurrent.futures``
worker process or on a Dask worker. Everything it needs travels with it
(serialised models, the preprocessing, the frames' paths), the sessions are
built once per process and reused, and every random draw is seeded by the
frame's key, so a frame's record does not depend on which worker ran it or
with which other frames: the batches are fixed groups of the whole set.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError, ModelError

__all__ = ["ModelSet", "ShardSpec", "FrameTask", "run_shard", "frame_seed", "init_worker"]

#: The variants, in report order; the first is the reference every other is compared with.
VARIANTS = ("feat", "nv12", "quantized_feat", "quantized_nv12")
#: Variants fed NV12 planes rather than the normalised RGB tensor.
NV12_VARIANTS = frozenset({"nv12", "quantized_nv12"})


@dataclass(frozen=True)
class ModelSet:
    """The serialised variants and how to feed them (picklable, sent once per worker)."""

    models: dict[str, bytes]
    input_name: str
    output: str
    digest: str

    @classmethod
    def build(cls, models: dict[str, bytes], input_name: str, output: str) -> ModelSet:
        h = hashlib.sha256()
        for name in sorted(models):
            h.update(name.encode())
            h.update(hashlib.sha256(models[name]).digest())
        return cls(dict(models), input_name, output, h.hexdigest())


@dataclass(frozen=True)
class ShardSpec:
    """What to measure on every frame (picklable)."""

    preprocess: Any  # nv12kit.Preprocess
    convention: Any
    size: tuple[int, int]
    seed: int
    noise_amplitude: float
    noise_trials: int
    classification: bool
    threads: int
    batch_size: int
    metric: Callable[[dict[str, np.ndarray], Any], float] | None = None


@dataclass(frozen=True)
class FrameTask:
    """One frame: its position in the set, where to read it, its key, label, and whether it is in the noise sample."""

    index: int
    source: Any
    key: str
    label: int | None
    label_name: str | None
    noisy: bool
    target: Any = None  # what the metric hook gets as the label: the class index, or the user's own label


def frame_seed(seed: int, key: str) -> int:
    """The noise seed of one frame: from the run's seed and the frame's key, not from its worker or position."""
    digest = hashlib.blake2b(f"{int(seed)}\0{key}".encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


# One set of sessions per process, keyed by the models' digest and the thread count.
_SESSIONS: dict[tuple[str, int], dict[str, Any]] = {}
_WORKER_MODELS: ModelSet | None = None


def init_worker(models: ModelSet) -> None:
    """``ProcessPoolExecutor`` initializer: keep the models for every shard this process runs."""
    global _WORKER_MODELS
    _WORKER_MODELS = models


def _runners(models: ModelSet, threads: int, batch_size: int) -> dict[str, Any]:
    key = (models.digest, int(threads))
    found = _SESSIONS.get(key)
    if found is None:
        import onnxruntime as ort

        from ..runtime import Runner, quiet_onnxruntime

        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        with quiet_onnxruntime():
            found = {name: Runner(data, session_options=options, name=name) for name, data in models.models.items()}
        _SESSIONS.clear()  # a new model set replaces the old one: a long-lived Dask worker does not pile them up
        _SESSIONS[key] = found
    for runner in found.values():
        if runner.dynamic_batch:
            runner.batch_size = batch_size
    return found


def _scores(output: np.ndarray) -> np.ndarray:
    return np.asarray(output, np.float64).reshape(-1)


def _rank(scores: np.ndarray, label: int) -> int:
    """Position of ``label`` when the scores are sorted high to low, ties in index order (as argmax and a stable
    sort of ``-scores`` break them)."""
    value = scores[label]
    return int(np.count_nonzero(scores > value) + np.count_nonzero(scores[:label] == value))


def _cos(a: np.ndarray, b: np.ndarray) -> float | None:
    from ..metrics import cosine

    try:
        return cosine(a, b)
    except InputError as exc:
        if "zero norm" in str(exc):
            return None  # an all-zero output: no direction to compare
        raise ModelError(f"the model produced non-finite outputs: {exc}") from exc


def _load(task: FrameTask, size: tuple[int, int]) -> tuple[np.ndarray, bool]:
    from ..images import prepare_image

    try:
        rgb, notes, _ = prepare_image(task.source, size)
    except InputError as exc:
        raise InputError(f"frame {task.key!r}: {exc}") from exc
    return rgb, bool(notes)


def _nv12_feed(frames: Sequence[Any], name: str) -> dict[str, np.ndarray]:
    feeds = [f.to_feed(name) for f in frames]
    return {k: np.concatenate([feed[k] for feed in feeds]) for k in feeds[0]}


def _per_frame(outputs: dict[str, np.ndarray], i: int) -> dict[str, np.ndarray]:
    return {k: v[i] for k, v in outputs.items()}


def run_shard(models: ModelSet | None, spec: ShardSpec, tasks: Sequence[FrameTask]) -> list[dict[str, Any]]:
    """Measure every frame of a shard; returns one record per frame, in task order.

    ``models`` may be None in a worker process started with :func:`init_worker`.
    The tasks are run in consecutive batches of ``spec.batch_size``; the
    caller cuts shards on batch boundaries of the whole set.
    """
    from ..convert import rgb_to_nv12
    from ..noise import perturb_trial

    models = models if models is not None else _WORKER_MODELS
    if models is None:
        raise ModelError("run_shard got no models (a worker started without init_worker)")
    preprocess = spec.preprocess
    runners = _runners(models, spec.threads, spec.batch_size)
    name, primary = models.input_name, models.output
    records: list[dict[str, Any]] = []
    for start in range(0, len(tasks), spec.batch_size):
        batch = list(tasks[start:start + spec.batch_size])
        loaded = [_load(t, spec.size) for t in batch]
        rgbs = np.stack([rgb for rgb, _ in loaded])
        frames = [rgb_to_nv12(rgb, convention=spec.convention) for rgb in rgbs]
        tensor = preprocess(rgbs)
        outputs: dict[str, dict[str, np.ndarray]] = {}
        for variant, runner in runners.items():
            feed = _nv12_feed(frames, name) if variant in NV12_VARIANTS else {name: tensor}
            outputs[variant] = runner.run(feed)
        for i, task in enumerate(batch):
            record = _record(task, i, outputs, primary, spec, resized=loaded[i][1])
            if task.noisy:
                record["noise"] = _noise_losses(runners["feat"], preprocess, rgbs[i], outputs["feat"][primary][i],
                                                name, primary, spec, frame_seed(spec.seed, task.key), perturb_trial)
            records.append(record)
    return records


def _record(task: FrameTask, i: int, outputs: dict[str, dict[str, np.ndarray]], primary: str, spec: ShardSpec,
            *, resized: bool) -> dict[str, Any]:
    record: dict[str, Any] = {"index": task.index, "key": task.key, "label": task.label, "resized": resized}
    if task.label_name is not None:
        record["label_name"] = task.label_name
    reference = outputs["feat"][primary][i]
    record["cos"] = {v: _cos(reference, out[primary][i]) for v, out in outputs.items() if v != "feat"}
    if spec.classification:
        scores = {v: _scores(out[primary][i]) for v, out in outputs.items()}
        record["top1"] = {v: int(np.argmax(s)) for v, s in scores.items()}
        if task.label is not None:
            record["rank"] = {v: _rank(s, task.label) for v, s in scores.items()}
    if spec.metric is not None:
        values = {}
        for v, out in outputs.items():
            try:
                value = float(spec.metric(_per_frame(out, i), task.target))
            except Exception as exc:  # noqa: BLE001 - the user's callable: name it and the frame
                raise InputError(f"metric failed on frame {task.key!r} ({v}): {type(exc).__name__}: {exc}") from exc
            if not np.isfinite(value):
                raise InputError(f"metric returned {value} on frame {task.key!r} ({v}); it must return a finite number")
            values[v] = value
        record["metric"] = values
    return record


def _noise_losses(runner: Any, preprocess: Any, rgb: np.ndarray, clean: np.ndarray, name: str, primary: str,
                  spec: ShardSpec, seed: int, perturb_trial: Callable[..., np.ndarray]) -> list[float | None]:
    """``1 - cos(clean, noisy)`` of each noise trial of one frame (trial noise as in :func:`nv12kit.noise_study`)."""
    losses: list[float | None] = []
    for start in range(0, spec.noise_trials, spec.batch_size):
        trials = range(start, min(start + spec.batch_size, spec.noise_trials))
        pixels = np.stack([perturb_trial(rgb, spec.noise_amplitude, seed=seed, trial=t) for t in trials])
        out = runner.run({name: preprocess.normalize_pixels(pixels)})[primary]
        for j in range(len(trials)):
            c = _cos(clean, out[j])
            losses.append(None if c is None else 1.0 - c)
    return losses


def worker_threads(workers: int, cores: int | None = None) -> int:
    """onnxruntime intra-op threads per process so that processes x threads <= cores."""
    if cores is None:
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not Linux
            cores = os.cpu_count() or 1
    return max(1, int(cores) // max(1, int(workers)))
