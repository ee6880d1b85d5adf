"""The entry point :func:`layer_divergence`: one clean and one or more perturbed runs, compared node by node.

It validates the arguments, builds the clean and perturbed inputs (NV12
round trip, noise trials, or the int8 QDQ model), streams the graph's
segments through onnxruntime (:mod:`._segments`, sessions cached by
:mod:`._cache`), reduces every tensor pair (:mod:`._metrics`) and assembles
the rows, with each node's growth against what it reads.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import onnx

from .._util import model_label
from .._util import progress as progress_bar
from ..conventions import Convention, get_convention
from ..convert import nv12_to_rgb, rgb_to_nv12
from ..errors import InputError, ModelError
from ..model import ImageInputSpec
from ..noise import perturb_trial
from ..preprocess import Preprocess, check_preprocess
from ._cache import _cached_model, _Model, _stream
from ._graph import _Graph, _quantized_counterparts
from ._metrics import _Accumulator, _divergence, _nbytes, _Scratch
from .constants import COMPARE_MODES, DEFAULT_CHUNK_SIZE, DIVERGENCE_FLOOR
from .results import LayerDivergence, LayerRow, SkippedNode, check_int

# Stack the clean and the NV12 image into one run when the graph allows it (tests switch it off to compare).
_STACK_IMAGES = True


# ----------------------------------------------------------------------------
# inputs
# ----------------------------------------------------------------------------
def _to_input(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if x.dtype == dtype:
        return x
    if np.issubdtype(dtype, np.integer):
        return np.rint(x).astype(dtype)
    return x.astype(dtype)


# ----------------------------------------------------------------------------
# the function
# ----------------------------------------------------------------------------
def layer_divergence(
    model: Any,
    image: Any,
    *,
    preprocess: Preprocess,
    convention: str | Convention = "horizon",
    compare: str = "nv12",
    amplitude: float = 2,
    trials: int = 5,
    seed: int = 0,
    input_name: str | None = None,
    quantized_model: Any = None,
    calibration_images: Any = None,
    extra_inputs: Mapping[str, Any] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    session_options: Any = None,
    name: str | None = None,
    progress: bool = True,
) -> LayerDivergence:
    """Compare every intermediate tensor of a float model between a clean and a perturbed input.

    Parameters
    ----------
    model : str, os.PathLike or onnx.ModelProto
        The float model. A path is read with its external data; the model
        is never modified (segments are built from copies).
    image : path, PIL image or (H, W, 3) uint8 array
        One RGB frame. It is resized (bilinear) to the model's size when the
        model's height and width are static and differ.
    preprocess : Preprocess
        The model's normalisation; the clean input is ``preprocess(rgb)``.
    convention : str or Convention, optional
        NV12 convention for ``compare="nv12"`` (default ``"horizon"``).
    compare : {"nv12", "noise", "quantized"}, optional
        ``"nv12"``: the input after an RGB -> NV12 -> RGB round trip, which
        is what the NV12 node hands the network. ``"noise"``: ``trials``
        inputs with real-valued noise uniform on ``[-amplitude, amplitude)``
        pixel values, clipped to 0-255 and not rounded, metrics averaged;
        trial ``t`` adds :func:`nv12kit.noise.trial_noise` ``(..., seed=seed,
        trial=t)``, the noise trial ``t`` of the triage's noise study adds. ``"quantized"``:
        the clean input through the int8 QDQ model.
    amplitude : int, optional
        Noise amplitude in pixel values, 1 to 255 (``"noise"`` only).
    trials : int, optional
        Noise draws (``"noise"`` only).
    seed : int, optional
        Seed of the noise.
    input_name : str, optional
        The image input, if the model has several candidates.
    quantized_model : str, os.PathLike or onnx.ModelProto, optional
        The QDQ model of the feat variant for ``"quantized"``. Built with
        :func:`nv12kit.quantize` when not given.
    calibration_images : images or a folder, optional
        Calibration frames for building the quantized model; the compared
        image alone when not given (a note says so).
    extra_inputs : mapping, optional
        Values for the model's other inputs, the same in every run.
    chunk_size : int, optional
        Compared tensors per graph segment. Smaller bounds memory more
        tightly at the cost of building more (small) sessions.
    session_options : onnxruntime.SessionOptions, optional
        For the segment sessions (threads, optimisation level) and those of
        the quantized model's cuts. By default all graph optimisations, no
        thread spinning, no memory arena, one intra-op thread for models
        with less than :data:`SINGLE_THREAD_WEIGHTS` bytes of weights (ORT's
        default thread count for bigger ones).
    name : str, optional
        The model's name in reports; by default its file name, or the graph
        name of a ModelProto.
    progress : bool, optional
        Show a progress bar over segments (``tqdm.auto``, when installed).

    Returns
    -------
    LayerDivergence

    Raises
    ------
    InputError
        A bad ``compare``, ``amplitude``, ``trials``, ``chunk_size``,
        ``preprocess`` or image, or missing extra inputs.
    ConventionError
        An unknown convention.
    ModelError
        The model cannot be read or run, or the quantized model does not
        take the float model's inputs.

    Notes
    -----
    What is compared. Every output of every node of the main graph that
    depends on the image and is a floating-point tensor, plus the image
    input itself (depth 0), so the first row is the input's own loss.
    Skipped, each with its reason in :attr:`LayerDivergence.skipped`:
    nodes inside control-flow bodies (``If``/``Loop``/``Scan``; their node's
    outputs are compared), non-float outputs (shapes, indices, masks),
    nodes that do not depend on the image (constants), and, for
    ``"quantized"``, tensors the QDQ model has no counterpart for.

    For ``"quantized"`` a float tensor ``t`` is compared with the QDQ
    model's ``t_DequantizeLinear_Output`` (the quantised value the next
    layer reads) when it exists, else with the tensor of the same name.
    onnxruntime fuses Conv + BatchNormalization + Relu before quantising,
    so the Conv and BatchNormalization outputs of such a chain have no
    counterpart; the Relu output carries the fused node's result.

    The quantized values are what the whole QDQ model computes. onnxruntime
    runs ``DequantizeLinear -> Conv -> QuantizeLinear`` as one integer
    kernel (QLinearConv, QLinearMatMul, ...) only when no dequantised tensor
    in it is read from outside; exposing one as an output keeps those nodes
    in float, and the int8 arithmetic changes (on x86 CPUs without VNNI the
    integer kernels add two u8 x s8 products in 16 bits and saturate, by
    whole quantisation steps). So the QDQ model is not cut into segments:
    each compared tensor comes from a model cut from the inputs with that
    tensor as a terminal output (tensors on parallel branches share one),
    and the model's own outputs from the whole model. That costs about one
    session per compared tensor, each running the graph up to its tensor.

    Cosine, relative L2 and SNR come from sums over the whole tensor, taken
    in its float32 and added in float64 (``1 - cosine`` within a few 1e-7
    relative). NaN/Inf values and all-zero tensors are flagged on the row.
    For ``compare="nv12"`` the clean and the NV12 image run as one batch of
    two when ONNX shape inference shows each image keeps its own slice of
    every tensor (``settings["stacked_runs"]``).

    Repeated calls. The graph analysis (topological order, inferred types,
    what is compared) and, with the default ``session_options``, the
    onnxruntime sessions of up to 4 segments are cached per model content
    for the 4 models used last (128 MiB of model at most; bigger models are
    not cached). A ``ModelProto`` is keyed by its serialized bytes, so one
    changed after a call is analysed afresh; a path by its file's (and
    external data files') size, modification time and inode. On the demo
    model a second call takes about half the time of the first.
    :func:`clear_cache` frees it all.
    """
    started = time.perf_counter()
    model_name = str(name) if name is not None else model_label(model)
    if compare not in COMPARE_MODES:
        raise InputError(f"compare must be one of {list(COMPARE_MODES)}, got {compare!r}")
    preprocess = check_preprocess(preprocess)
    chunk_size = check_int(chunk_size, "chunk_size", low=1)
    conv = get_convention(convention) if compare == "nv12" else None
    if compare == "noise":
        amplitude = check_int(amplitude, "amplitude", low=1, high=255)
        trials = check_int(trials, "trials", low=1)
        seed = check_int(seed, "seed", low=0)
    if quantized_model is not None and compare != "quantized":
        raise InputError(f"quantized_model is only used with compare='quantized' (compare is {compare!r})")
    if calibration_images is not None and compare != "quantized":
        raise InputError(f"calibration_images is only used with compare='quantized' (compare is {compare!r})")

    from ..images import load_image, resize_to

    entry, hit = _cached_model(model)
    cache_state = "not cached" if entry.key is None else "hit" if hit else "miss"
    source = entry.proto
    spec = entry.spec(input_name, preprocess.layout)
    rgb = load_image(image)
    notes: list[str] = []
    size = spec.static_size
    if size is not None and rgb.shape[:2] != size:
        notes.append(f"the image ({rgb.shape[0]}x{rgb.shape[1]}) was resized to the model's {size[0]}x{size[1]}")
        rgb = resize_to(rgb, size[0], size[1])
    extras = dict(extra_inputs or {})
    missing = [name for name in spec.other_inputs if name not in extras]
    unknown = [name for name in extras if name not in spec.other_inputs]
    if missing or unknown:
        raise InputError(
            f"extra_inputs must give exactly the model's other inputs {list(spec.other_inputs)}"
            + (f"; missing {missing}" if missing else "") + (f"; unknown {unknown}" if unknown else "")
        )
    dtype = spec.numpy_dtype()

    def feed(pixels: np.ndarray) -> dict[str, Any]:
        # a batch of one; Preprocess runs its per-channel float32 steps straight into the model's layout
        tensor = preprocess(pixels) if pixels.dtype == np.uint8 else preprocess.normalize_pixels(pixels)
        return {spec.name: _to_input(tensor, dtype), **extras}

    graph = entry.graph
    graph_outputs = set(graph.outputs)
    # what to compare, in topological order; the rest is skipped with a reason
    candidates, skipped = entry.candidates(spec.name)

    settings: dict[str, Any] = {
        "model": model_name,
        "input": str(spec),
        "image_size": [int(rgb.shape[0]), int(rgb.shape[1])],
        "preprocess": preprocess.to_dict(),
        "compare": compare,
        "chunk_size": chunk_size,
        "model_cache": cache_state,
    }
    clean = feed(rgb)
    qgraph = None
    if conv is not None:
        perturbed = [feed(nv12_to_rgb(rgb_to_nv12(rgb, convention=conv), convention=conv))]
        label = f"nv12 ({conv.name})"
        settings["convention"] = conv.name
    elif compare == "noise":
        perturbed = [functools.partial(lambda t: feed(perturb_trial(rgb, amplitude, seed=seed, trial=t)), t)
                     for t in range(trials)]
        label = f"noise ±{amplitude} (mean of {trials})"
        settings.update(amplitude=amplitude, trials=trials, seed=seed, distribution="symmetric")
    else:
        qentry, qnote = _quantized_source(quantized_model, source, rgb, preprocess, spec, calibration_images,
                                          extras, progress)
        if qnote:
            notes.append(qnote)
        qgraph = qentry.graph
        if sorted(qgraph.inputs) != sorted(graph.inputs):
            raise ModelError(
                f"the quantized model takes {qgraph.inputs} but the float model takes {graph.inputs}; pass the "
                "quantized feat variant (nv12kit.quantize(model, images, preprocess=...), without nv12=True)"
            )
        perturbed = [clean]
        label = "int8 QDQ"
        settings["quantized_model"] = model_label(quantized_model) if quantized_model is not None else "built"

    # for quantized, keep only tensors with a counterpart
    mapping: dict[str, str] = {}
    if qgraph is not None:
        mapping = _quantized_counterparts(qgraph, [c[0] for c in candidates])
        kept = []
        for cand in candidates:
            if cand[0] in mapping:
                kept.append(cand)
            else:
                skipped.append(SkippedNode(cand[2], cand[3], cand[0],
                                           "no counterpart in the quantized model (fused or renamed by quantisation)"))
        candidates = kept

    names = [c[0] for c in candidates]
    chunks = [names[i:i + chunk_size] for i in range(0, len(names), chunk_size)] or [[]]
    # The clean and the NV12 image in one batch of two: one run instead of two (0.55 vs 0.84 ms on the demo
    # model), when shape inference shows that each image's tensors are its own slice of the batch. Only for a
    # graph compared in one segment: in chunks, onnxruntime's arena grows for the batch of two (+7 MiB on
    # test_layers' 100-node chain) and memory, not time, is what chunking is for.
    stacked = (conv is not None and not extras and _STACK_IMAGES and len(chunks) == 1
               and graph.stacks_cleanly(spec.name, names))
    settings["stacked_runs"] = stacked
    if stacked:
        pair = {spec.name: np.concatenate([clean[spec.name], perturbed[0][spec.name]])}
        stream = _stream(entry, chunks, [pair], session_options, "model's")
        tests = [(stream, 0, None)]
        streams = [stream]
    elif qgraph is None:
        stream = _stream(entry, chunks, [clean, *perturbed], session_options, "model's")
        tests = [(stream, r, None) for r in range(1, len(perturbed) + 1)]
        streams = [stream]
    else:
        stream = _stream(entry, chunks, [clean], session_options, "float model's")
        qchunks = [[mapping[n] for n in chunk] for chunk in chunks]
        qstream = _stream(qentry, qchunks, [clean], session_options, "quantized model's", cut=True)
        tests = [(qstream, 0, mapping)]
        streams = [stream, qstream]
    settings["segments"] = sum(1 for s in stream.segments if s)

    accumulators: dict[str, _Accumulator] = {}
    runtime_skips: dict[str, str] = {}
    scratch = _Scratch()
    peak = 0
    for k in progress_bar(range(len(chunks)), desc="layer divergence", unit="segment", enabled=progress,
                          min_items=2):
        reference = stream.run(k, 0)
        split: dict[str, Any] = {}
        if stacked:  # row 0 is the clean image, row 1 the NV12 one
            split = {name: value[1:] for name, value in reference.items()}
            reference = {name: value[:1] for name, value in reference.items()}
        usable = []
        for name in chunks[k]:
            value = reference.get(name)
            problem = _value_problem(value)
            if problem:
                runtime_skips[name] = problem
            else:
                usable.append(name)
                accumulators[name] = _Accumulator(tuple(int(d) for d in value.shape))
        for test_stream, r, names_map in tests:
            outputs = split if stacked else test_stream.run(k, r)
            held = _nbytes(reference) + _nbytes(outputs) + sum(_nbytes(live) for s in streams for live in s.live)
            peak = max(peak, held)
            for name in usable:
                test_name = names_map[name] if names_map else name
                test_value = outputs.get(test_name)
                problem = _value_problem(test_value)
                if problem:  # e.g. a quantized counterpart that is not float after all
                    accumulators[name].fail(f"the {test_stream.what} {test_name!r}: {problem}")
                else:
                    accumulators[name].add(reference[name], test_value, scratch)
            del outputs
        del reference
        for s in streams:
            s.close(k)

    rows = _rows(graph, candidates, accumulators, runtime_skips, skipped, spec.name, graph_outputs)
    settings["peak_tensor_bytes"] = peak
    settings["seconds"] = round(time.perf_counter() - started, 4)
    return LayerDivergence(compare, label, tuple(rows), tuple(skipped), settings, tuple(notes))


def _value_problem(value: Any) -> str | None:
    if value is None:  # pragma: no cover - every wanted tensor is produced
        return "the runtime did not produce it"
    if not isinstance(value, np.ndarray):
        return f"its output is a {type(value).__name__}, not a tensor"
    if value.dtype.kind != "f":
        return f"its output is {value.dtype}, not floating point; similarity is only defined for floats"
    return None


def _quantized_source(quantized_model: Any, source: onnx.ModelProto, rgb: np.ndarray, preprocess: Preprocess,
                      spec: ImageInputSpec, calibration_images: Any, extras: Mapping[str, Any],
                      progress: bool) -> tuple[_Model, str | None]:
    if quantized_model is not None:
        return _cached_model(quantized_model)[0], None
    from ..graph import quantize

    images = calibration_images if calibration_images is not None else [rgb]
    built = quantize(source, images, preprocess=preprocess, input_name=spec.name,
                     extra_inputs=dict(extras) or None, progress=progress)
    note = None
    if calibration_images is None:
        note = ("the int8 model was calibrated on the compared image alone; pass calibration_images= "
                "(real frames) or quantized_model= for the ranges your deployment uses")
    return _Model(built, None, 0), note  # built for this call: not worth a cache slot


def _rows(graph: _Graph, candidates: Sequence[tuple[str, int, str, str]], accumulators: Mapping[str, _Accumulator],
          runtime_skips: Mapping[str, str], skipped: list[SkippedNode], image: str,
          graph_outputs: set[str]) -> list[LayerRow]:
    """Rows in topological order, with each node's growth against what it reads."""
    # (divergence, cosine) of every tensor; skipped tensors inherit what their node was handed
    state: dict[str, tuple[float, float]] = {}
    if image in accumulators:
        cosine = accumulators[image].means()[0]
        state[image] = (_divergence(cosine), cosine)
    handed: list[tuple[float, float] | None] = []
    for node, reads in zip(graph.nodes, graph.uses):
        known = [state[name] for name in reads if name in state]
        base = max(known, key=lambda item: item[0]) if known else None
        handed.append(base)
        for name in node.output:
            if not name:
                continue
            if name in accumulators:
                cosine = accumulators[name].means()[0]
                state[name] = (_divergence(cosine), cosine)
            elif base is not None:
                state[name] = base
    rows = []
    for name, depth, label, op_type in candidates:
        if name in runtime_skips:
            skipped.append(SkippedNode(label, op_type, name, runtime_skips[name]))
            continue
        acc = accumulators[name]
        cosine, cosine_min, rel, snr = acc.means()
        if depth == 0:
            input_cosine, growth = cosine, 0.0
        else:
            base_div, input_cosine = handed[depth - 1] or (0.0, 1.0)
            growth = 10 * math.log10(max(state[name][0], DIVERGENCE_FLOOR) / max(base_div, DIVERGENCE_FLOOR))
        rows.append(LayerRow(depth, label, op_type, name, acc.shape, cosine, cosine_min, rel, snr, input_cosine,
                             growth, tuple(acc.flags), name in graph_outputs))
    return rows
