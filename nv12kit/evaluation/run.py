"""``nv12kit.evaluate``: every variant on a labelled set, streamed to a log, resumable, spread over workers."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

import numpy as np

from .. import _util
from ..errors import InputError, ModelError
from ..preprocess import Preprocess, check_preprocess
from .labels import FrameSet, resolve_frames
from .result import EvaluationResult
from .shard import FrameTask, ModelSet, ShardSpec, init_worker, run_shard, worker_threads
from .stats import Accumulator

__all__ = ["evaluate", "LOG_FORMAT"]

#: The first record of a log: what run wrote it, so that --resume only continues the same run.
LOG_FORMAT = "nv12kit.evaluate/1"
#: Frames per model call when the model's batch is dynamic.
DEFAULT_BATCH = 8
#: Calibration frames drawn from the set for quantize=True when none are given.
CALIBRATION_FRAMES = 16
#: Batches per shard: small enough to stream results often, large enough to keep workers busy.
SHARD_BATCHES = 4


def _output_info(model: Any, output: str | None) -> tuple[str, int | None, tuple[Any, ...] | None]:
    """The output measured, its class count when it is ``[N, C]`` logits, and its dims."""
    outputs = list(model.graph.output)
    names = [o.name for o in outputs]
    name = output if output is not None else names[0]
    if name not in names:
        raise InputError(f"unknown output {name!r}; the model's outputs are {names}")
    value = outputs[names.index(name)]
    dims = tuple((d.dim_value if d.HasField("dim_value") else (d.dim_param or None))
                 for d in value.type.tensor_type.shape.dim) if value.type.tensor_type.HasField("shape") else None
    classes = None
    if dims is not None and len(dims) == 2 and isinstance(dims[1], int) and dims[1] >= 2:
        classes = dims[1]
    return name, classes, dims


def _model_classes(model: Any) -> tuple[str, ...] | None:
    props = {p.key: p.value for p in model.metadata_props}
    try:
        names = json.loads(props.get("nv12kit.labels", "null"))
    except ValueError:
        return None
    return tuple(str(n) for n in names) if isinstance(names, list) and names else None


def _fingerprint(feat_bytes: bytes, **settings: Any) -> str:
    h = hashlib.sha256(feat_bytes)
    h.update(json.dumps(settings, sort_keys=True, default=str).encode("utf-8"))
    return h.hexdigest()


def _set_digest(frames: FrameSet) -> str:
    h = hashlib.sha256()
    for key, label in zip(frames.keys, frames.labels):
        h.update(f"{key}\0{label}\n".encode("utf-8"))
    return h.hexdigest()


def _batches(count: int, size: int) -> list[range]:
    return [range(s, min(s + size, count)) for s in range(0, count, size)]


def _shards(pending: list[range], per_shard: int) -> list[list[int]]:
    return [[i for b in pending[s:s + per_shard] for i in b] for s in range(0, len(pending), per_shard)]


def _absolute(source: Any) -> Any:
    return os.path.abspath(source) if isinstance(source, (str, os.PathLike)) else source


def _check_picklable(value: Any, what: str) -> None:
    import pickle

    try:
        pickle.dumps(value)
    except Exception as exc:  # noqa: BLE001 - any pickling failure means the same
        raise InputError(f"{what} cannot be sent to worker processes ({type(exc).__name__}: {exc}); define it at the "
                         "top level of a module (not a lambda or a local function), or run with workers=1") from exc


def _run_local(models: ModelSet, spec: ShardSpec, shards: list[list[FrameTask]]) -> Iterator[list[dict[str, Any]]]:
    for shard in shards:
        yield run_shard(models, spec, shard)


def _run_processes(models: ModelSet, spec: ShardSpec, shards: list[list[FrameTask]], workers: int
                   ) -> Iterator[list[dict[str, Any]]]:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    # spawn, not fork: the parent may hold onnxruntime's threads, which a forked child would inherit half-made
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=init_worker, initargs=(models,))
    try:
        todo = iter(shards)
        running = set()
        # a bounded queue: at most two shards per worker wait, so results stream and memory stays flat
        for shard in todo:
            running.add(pool.submit(run_shard, None, spec, shard))
            if len(running) >= 2 * workers:
                break
        while running:
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
                nxt = next(todo, None)
                if nxt is not None:
                    running.add(pool.submit(run_shard, None, spec, nxt))
    finally:  # an error or Ctrl-C: drop the shards not started instead of running them to the end
        pool.shutdown(wait=True, cancel_futures=True)


def _run_dask(models: ModelSet, spec: ShardSpec, shards: list[list[FrameTask]], address: Any
              ) -> Iterator[list[dict[str, Any]]]:
    try:
        from distributed import Client, as_completed
    except ImportError as exc:
        raise InputError("dask= needs dask.distributed, which is not installed; install it with "
                         "pip install 'dask[distributed]' (or nv12kit[dask]), or use workers=N") from exc
    client = address if isinstance(address, Client) else None
    own = client is None
    if own:
        try:
            client = Client(address, timeout="20s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise InputError(f"cannot reach the Dask scheduler at {address!r} ({exc}); check the address "
                             "(tcp://host:8786) and that the scheduler is running") from exc
    try:
        shared = client.scatter(models, broadcast=True)
        futures = [client.submit(run_shard, shared, spec, shard, pure=False) for shard in shards]
        for future in as_completed(futures, loop=client.loop):
            yield future.result()
            future.release()
    finally:
        if own:
            client.close()


def evaluate(
    model: Any,
    images: Any,
    *,
    labels: Any = None,
    classes: Any = None,
    preprocess: Preprocess | None = None,
    convention: Any = "horizon",
    quantize: bool = False,
    calibration_images: Any = None,
    noise_sample: int = 32,
    noise_trials: int = 8,
    noise_amplitude: float = 3.0,
    seed: int = 0,
    metric: Callable[[dict[str, np.ndarray], Any], float] | None = None,
    output: str | None = None,
    input_name: str | None = None,
    size: Any = None,
    chip_range: Literal["full", "limited"] = "full",
    batch_size: int | None = None,
    workers: int = 1,
    dask: Any = None,
    jsonl: str | os.PathLike[str] | None = None,
    resume: bool = False,
    max_flips: int = 24,
    progress: bool = True,
    option_names: Mapping[str, str] | None = None,
) -> EvaluationResult:
    """Accuracy of every variant on a labelled set: how much the NV12 node, and quantisation, cost.

    Two forward passes a frame (``feat`` on the normalised RGB, ``nv12`` on
    the frame encoded to NV12), four with ``quantize``, batched when the
    model's batch is dynamic; noise passes only on a sample. Per-frame
    summaries stream to ``jsonl``; nothing per frame but a few numbers is
    kept, so memory stays flat in the number of frames.

    Parameters
    ----------
    model : str, os.PathLike, onnx.ModelProto or bytes
        The float model (``feat``), taking the normalised image.
    images : folder, or sequence of paths (or arrays)
        The frames. A folder with class sub-folders (``DIR/<class>/*.png``)
        gives the labels too.
    labels : CSV path or sequence, optional
        A ``path,label`` / ``path,index`` CSV (paths relative to the folder),
        or one label per image (class name or output index; with ``metric``
        any object the metric understands). None and no class folders:
        only agreement with feat is measured.
    classes : sequence of str, comma-separated str or file, optional
        Class name of every output index, in output order. Default: the
        model's ``nv12kit.labels`` metadata, else the sorted folder (CSV) order.
    preprocess : Preprocess, optional
        Read from the model's metadata if omitted.
    convention : str or Convention, optional
        How frames are encoded to NV12.
    quantize : bool, optional
        Also build int8 QDQ variants (:func:`nv12kit.quantize`) and measure them.
    calibration_images : optional
        Calibration frames for ``quantize``; default a seeded sample of
        :data:`CALIBRATION_FRAMES` frames of the set (a note says so).
    noise_sample, noise_trials, noise_amplitude : int, int, float, optional
        The noise floor: ``noise_trials`` noisy copies (uniform ±amplitude
        pixel values, seeded per frame) of ``noise_sample`` frames drawn
        with ``seed``.
    seed : int, optional
    metric : callable, optional
        ``metric(outputs, label) -> float`` with ``outputs`` the frame's
        outputs by name (no batch axis): a per-variant mean with a 95 %
        interval, for models that are not classifiers.
    output, input_name : str, optional
        The output measured (the first by default) and the image input.
    size : (int, int), optional
        Frame size for a model with a dynamic size (default: the first frame's, said in a note).
    chip_range : {"full", "limited"}, optional
        Range of the NV12 node.
    batch_size : int, optional
        Frames per call for a dynamic batch (default 8); a static batch is the model's.
    workers : int, optional
        Local processes (``concurrent.futures``), one onnxruntime session
        each, with intra-op threads so that processes x threads <= cores.
    dask : str or distributed.Client, optional
        A Dask scheduler address (``tcp://host:8786``) or client: the same
        per-shard function runs on its workers, which read the frames from
        their paths (they must see them).
    jsonl : path, optional
        Append-only log of per-frame results; with ``resume`` a killed run
        continues, skipping frames already in it.
    resume : bool, optional
    max_flips : int, optional
        How many flipped frames per variant the result lists (all are counted).
    progress : bool, optional
    option_names : mapping, optional
        Flags to name in messages (the command line's).

    Returns
    -------
    EvaluationResult

    Raises
    ------
    InputError
        Bad frames, labels, classes, options, or a log from another run.
    ModelError
        A model without a usable image input, or a runtime failure.

    Examples
    --------
    >>> import nv12kit, nv12kit.data as data
    >>> result = nv12kit.evaluate(data.model_path("demo_robust"), [data.photo_path("coffee")], labels=[3],
    ...                           noise_sample=1, noise_trials=2, progress=False)
    >>> result.variants["nv12"]["top1"], result.frames
    (1.0, 1)
    """
    from ..feeds import Wording, resolve_size
    from ..graph import insert_nv12_node
    from ..graph import quantize as quantize_model
    from ..model import ImageInputSpec, load_model_with_bytes

    started = time.perf_counter()
    names = {"labels": "labels=", "classes": "classes=", "workers": "workers=", "jsonl": "jsonl=",
             **(option_names or {})}
    for value, what, low in ((noise_sample, "noise_sample", 0), (noise_trials, "noise_trials", 1),
                             (workers, "workers", 1), (max_flips, "max_flips", 0), (seed, "seed", 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise InputError(f"{names.get(what, what)} must be an integer >= {low}, got {value!r}")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                                   or batch_size < 1):
        raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
    if resume and jsonl is None:
        raise InputError(f"resume needs a log to resume ({names['jsonl']})")
    if dask is not None and workers != 1:
        raise InputError(f"give either {names['workers']} (local processes) or dask (a cluster), not both")
    if metric is not None and not callable(metric):
        raise InputError(f"metric must be a callable metric(outputs, label) -> float, got {type(metric).__name__}")

    t0 = time.perf_counter()
    source, source_bytes = load_model_with_bytes(model)
    feat_bytes = source_bytes if source_bytes is not None else source.SerializeToString()
    if preprocess is None:
        preprocess = Preprocess.from_model(source)
    check_preprocess(preprocess)
    spec = ImageInputSpec.from_model(source, input_name, layout=preprocess.layout,
                                     input_flag=names.get("input_name"))
    if spec.other_inputs:
        raise ModelError(f"the model has inputs besides the image ({list(spec.other_inputs)}); evaluate feeds only "
                         "the image: export the model with those fixed")
    primary, class_count, dims = _output_info(source, output)
    classification = class_count is not None
    notes: list[str] = []
    if output is None and len(source.graph.output) > 1:
        notes.append(f"the model has {len(source.graph.output)} outputs; measured the first, {primary!r} "
                     f"(choose another with {names.get('output', 'output=')})")
    targets: list[Any] | None = None
    if metric is not None and not classification and labels is not None and not isinstance(labels, (str, os.PathLike)):
        targets = list(labels)  # the user's own ground truth, passed to the metric as is
        frames = resolve_frames(images, None, option_names=dict(names))
        if len(targets) != len(frames.keys):
            raise InputError(f"{names['labels']} has {len(targets)} label(s) for {len(frames.keys)} frame(s); give "
                             "one per frame, in the same order")
    else:
        if labels is not None and not classification and metric is None:
            raise InputError(f"output {primary!r} has shape {list(dims or [])}, not [N, classes] scores: labels cannot "
                             "be checked against it; pass metric=callable(outputs, label) -> float (Python), or "
                             "drop the labels to measure agreement only")
        frames = resolve_frames(images, labels, classes=classes, model_classes=_model_classes(source),
                                outputs=class_count, option_names=dict(names))
    if frames.labelled and frames.mapping:
        notes.append(frames.mapping)
    elif classification:
        notes.append("no labels: accuracy cannot be measured; the table shows top-1 agreement with feat")
    count = len(frames.keys)

    target = resolve_size(spec, size, Wording(dict(names)))
    if target is None:
        from ..images import prepare_image

        first, _, _ = prepare_image(frames.sources[0], None)
        target = (int(first.shape[0]), int(first.shape[1]))
        notes.append(f"the model's input size is dynamic: every frame is resized to {target[0]}x{target[1]}, the first "
                     f"frame's size; pass size=(H, W) for the size you deploy")
    settings = preprocess.node_kwargs(chip_range=chip_range)
    models_bytes = {"feat": feat_bytes,
                    "nv12": insert_nv12_node(source, input_name=spec.name, **settings).SerializeToString()}
    if quantize:
        calibration = calibration_images
        if calibration is None:
            pick = np.sort(np.random.default_rng(seed).choice(count, size=min(CALIBRATION_FRAMES, count),
                                                              replace=False))
            calibration = [frames.sources[i] for i in pick]
            notes.append(f"int8 variants calibrated on {len(pick)} frames of the set drawn with seed {seed} "
                         f"(pass {names.get('calibration_images', 'calibration_images=')} to choose them)")
        common = {"preprocess": preprocess, "convention": convention, "input_name": spec.name, "progress": progress}
        models_bytes["quantized_feat"] = quantize_model(source, calibration, **common).SerializeToString()
        models_bytes["quantized_nv12"] = quantize_model(
            insert_nv12_node(source, input_name=spec.name, **settings), calibration, nv12=True, **common
        ).SerializeToString()
    models = ModelSet.build(models_bytes, spec.name, primary)
    variants = [v for v in ("feat", "nv12", "quantized_feat", "quantized_nv12") if v in models_bytes]
    model_seconds = time.perf_counter() - t0

    static_batch = spec.batch if isinstance(spec.batch, int) else None
    batch = static_batch or batch_size or DEFAULT_BATCH
    if static_batch and batch_size not in (None, static_batch):
        notes.append(f"the model's batch is fixed at {static_batch}: batch_size={batch_size} was not used")
    cores = worker_threads(1)
    threads = 1 if dask is not None else worker_threads(workers, cores)
    run_notes: list[str] = []
    if dask is not None:
        run_notes.append("on Dask every shard runs onnxruntime with 1 intra-op thread: the cluster's worker threads "
                         "give the parallelism")
    if workers > cores:
        run_notes.append(f"{workers} worker processes on {cores} cores: each runs onnxruntime with 1 thread, so the "
                     "processes share the cores")
    if metric is not None and (workers > 1 or dask is not None):
        _check_picklable(metric, "metric")
    sample = set(np.random.default_rng(seed).choice(count, size=min(noise_sample, count), replace=False).tolist())
    shard_spec = ShardSpec(preprocess=preprocess, convention=convention, size=target, seed=int(seed),
                           noise_amplitude=float(noise_amplitude), noise_trials=int(noise_trials),
                           classification=classification, threads=threads, batch_size=batch, metric=metric)
    label_of = frames.labels
    fingerprint = _fingerprint(feat_bytes, frames=_set_digest(frames), count=count, convention=str(convention),
                               preprocess=preprocess.to_dict(), quantize=bool(quantize), seed=int(seed),
                               noise=[int(noise_sample), int(noise_trials), float(noise_amplitude)], size=list(target),
                               batch=batch, output=primary, chip_range=chip_range, metric=metric is not None,
                               calibration=None if calibration_images is None else str(calibration_images))

    acc = Accumulator(frames.keys, variants, labelled=frames.labelled and classification,
                      classification=classification, metric=metric is not None)
    log = None
    resumed = (0, False)
    if jsonl is not None:
        from .._io.appends import open_append_log

        inputs = [p for p in (images if isinstance(images, (list, tuple)) else [images])
                  if isinstance(p, (str, os.PathLike))]
        if isinstance(labels, (str, os.PathLike)):
            inputs.append(labels)
        log = open_append_log(jsonl, resume=resume, inputs=inputs, label=names["jsonl"].rstrip("="))
    try:
        if log is not None:
            existing = log.records
            if existing:
                head = existing[0]
                if not isinstance(head, dict) or head.get("format") != LOG_FORMAT:
                    raise InputError(f"{str(log.path)!r} is not an nv12kit evaluate log; give another "
                                     f"{names['jsonl']} path")
                if head.get("fingerprint") != fingerprint:
                    raise InputError(f"{str(log.path)!r} was written by a different run (another model, set, labels or "
                                     "settings); resume only the same run, or give another log path")
                for record in existing[1:]:
                    acc.add(record)
                resumed = (acc.count, log.dropped_partial_line)
                run_notes.append(f"resumed: {acc.count} of {count} frames were already in the log"
                                 + ("; its cut-off last line was dropped" if log.dropped_partial_line else ""))
            else:
                log.append([{"format": LOG_FORMAT, "fingerprint": fingerprint, "frames": count,
                             "variants": variants}])
        pending = [b for b in _batches(count, batch) if not all(acc.done[i] for i in b)]
        tasks = [[FrameTask(i, _absolute(frames.sources[i]), frames.keys[i], label_of[i],
                            frames.label_names[i] if frames.label_names is not None else None, i in sample,
                            targets[i] if targets is not None else label_of[i])
                  for i in shard] for shard in _shards(pending, SHARD_BATCHES)]
        todo = sum(len(s) for s in tasks)
        t1 = time.perf_counter()
        if dask is not None:
            stream = _run_dask(models, shard_spec, tasks, dask)
        elif workers > 1 and len(tasks) > 1:
            stream = _run_processes(models, shard_spec, tasks, min(workers, len(tasks)))
        else:
            stream = _run_local(models, shard_spec, tasks)
        with _util.progress(desc="evaluate", total=todo, unit="frame", enabled=progress) as bar:
            for records in stream:
                new = [r for r in records if not acc.done[r["index"]]]
                if log is not None:
                    log.append(new)
                for r in new:
                    acc.add(json.loads(json.dumps(r, allow_nan=False)))  # exactly what a resumed run reads back
                bar.update(len(records))
        frame_seconds = time.perf_counter() - t1
    finally:
        if log is not None:
            log.close()

    if acc.count != count:  # pragma: no cover - every frame is run above
        raise ModelError(f"only {acc.count} of {count} frames have results")
    resized = int(acc.resized.sum())
    if resized:
        notes.append(f"{resized} of {count} frames were resized to the model's {target[0]}x{target[1]} (bilinear, "
                     "Pillow)")
    table = acc.variant_table(classes=class_count)
    noise = acc.noise_floor(amplitude=float(noise_amplitude), trials=int(noise_trials))
    parameters = {
        "model": _util.model_label(source if isinstance(model, (bytes, bytearray, memoryview)) else model),
        "input": str(spec), "output": primary, "classes": class_count, "size": list(target),
        "preprocess": preprocess.to_dict(), "convention": getattr(convention, "name", str(convention)),
        "node": {k: (list(v) if isinstance(v, tuple) else v) for k, v in settings.items()},
        "quantize": bool(quantize), "seed": int(seed), "batch_size": batch,
        "noise": {"sample": int(noise_sample), "trials": int(noise_trials), "amplitude": float(noise_amplitude)},
        "metric": getattr(metric, "__name__", type(metric).__name__) if metric is not None else None,
        "forward_passes_per_frame": len(variants),
    }
    labels_info = {"source": frames.source, "mapping": frames.mapping,
                   "classes": list(frames.classes) if frames.classes is not None else None}
    timing = {"models": model_seconds, "frames_run": float(todo), "frames_seconds": frame_seconds,
              "seconds_per_frame": frame_seconds / todo if todo else 0.0,
              "total": time.perf_counter() - started,
              "workers": float(workers) if dask is None else 0.0, "threads_per_worker": float(threads),
              "resumed_frames": float(resumed[0]), "dropped_partial_line": float(resumed[1])}
    return EvaluationResult(
        variants=table, decomposition=acc.decomposition(), flips=acc.flips(limit=max_flips), noise=noise,
        labels=labels_info, parameters=parameters, notes=notes, timing=timing, run_notes=run_notes,
        cosines={v: acc.cosines(v) for v in variants if v != "feat"},
        sources=_flip_sources(acc.flips(limit=max_flips), frames),
    )


def _flip_sources(flips: Mapping[str, Any], frames: FrameSet) -> dict[str, Any]:
    """Where to read each listed flipped frame again (for thumbnails): only those, not the whole set."""
    keep = {row["index"] for f in flips.values() for row in f["worst"]}
    return {frames.keys[i]: frames.sources[i] for i in sorted(keep)}


def records_of(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """The per-frame records of a log (its header skipped), streamed; a cut-off last line is ignored."""
    from .._io.appends import read_log_lines

    for number, (_, line) in enumerate(read_log_lines(path, what="evaluation log")):
        if number == 0 or not line.strip():
            continue
        yield json.loads(line)

