"""Cost of per-layer divergence: time against one triage noise trial, memory against chunk size.

What is measured, side by side in one process
---------------------------------------------
1. **Time.** ``nv12kit.layer_divergence(model, rgb, compare="nv12")`` on the
   demo model (``nv12kit/data/demo_robust.onnx``: input "image" [N, 3, 128,
   128], a small CNN, ImageNet preprocessing in its metadata), twice:

   * **cold**: ``nv12kit.layers.clear_cache()`` first, so the call analyses
     the graph and builds its instrumented onnxruntime session, as the first
     call on a model does;
   * **warm**: the model is in the cache (the triage's second call, a
     notebook widget's next call): graph analysis and session are reused.

   Against two definitions of **one triage noise trial**:

   * ``noise_study/20``: the time of ``nv12kit.noise_study(model, rgb, pre,
     amplitudes=(2,), trials=20, conventions=(), progress=False)`` divided by
     20, i.e. one trial of the triage's own noise study, with its share of
     building the study's Runner (``model`` is a ModelProto) and of the clean pass;
   * ``by hand``: real-valued uniform noise on [-2, 2) (``nv12kit.noise.perturb``),
     ``Preprocess.normalize_pixels``, one ``Runner.run`` of a prebuilt Runner,
     cosine of the outputs in float64.

   Target: ratio <= 3. All of them are called in turn, ``--repeat`` rounds,
   and medians compared, because this machine is shared and its load
   shifts; the ratio of the fastest calls is printed too (what the
   code costs when nothing else runs). Two bare
   forward passes are printed too: the floor of any method that runs the
   clean and the NV12 input. The same rows on a bigger CNN (224x224, widths
   32-256, two convs per stage) show how the fixed costs fade.
2. **Memory.** A 100-node chain (Conv 1x1 / Tanh, 16 x 96 x 96 tensors,
   576 KiB each) at chunk sizes 4 and 100. Measures: ``tracemalloc`` peak
   (Python heap only: onnxruntime hands outputs to numpy zero-copy, so it
   does not see them), the tensor bytes the engine held at its peak
   (``settings["peak_tensor_bytes"]``), and, each chunk size in a fresh
   process, the growth of the peak RSS over a cold call and then over a
   second, warm call (the cache keeps sessions only for plans of at most 4
   segments, so chunk 4 rebuilds them and chunk 100 reuses its one).

Every ratio is ours / reference (lower is better).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

import nv12kit
import nv12kit.data
from nv12kit.layers import clear_cache, layer_divergence
from nv12kit.noise import perturb

IMAGENET = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "divisor": 255.0, "order": "rgb",
            "layout": "NCHW"}


def cnn(size: int = 128, widths: tuple[int, ...] = (16, 32, 64, 96), per_stage: int = 1,
        classes: int = 6) -> onnx.ModelProto:
    """Conv-ReLU stages (the first of each stride 2), global pooling, Gemm; preprocessing in metadata."""
    rng = np.random.default_rng(0)
    inits, nodes, prev, channels = [], [], "image", 3
    for stage, width in enumerate(widths):
        for j in range(per_stage):
            name = f"s{stage}_{j}"
            scale = np.sqrt(2 / (9 * channels))
            inits += [numpy_helper.from_array((rng.standard_normal((width, channels, 3, 3)) * scale)
                                              .astype(np.float32), f"{name}_w"),
                      numpy_helper.from_array(np.zeros(width, np.float32), f"{name}_b")]
            nodes += [helper.make_node("Conv", [prev, f"{name}_w", f"{name}_b"], [f"{name}_conv"],
                                       name=f"{name}/Conv", strides=[2, 2] if j == 0 else [1, 1],
                                       pads=[1, 1, 1, 1]),
                      helper.make_node("Relu", [f"{name}_conv"], [f"{name}_relu"], name=f"{name}/Relu")]
            prev, channels = f"{name}_relu", width
    inits += [numpy_helper.from_array((rng.standard_normal((classes, channels)) * 0.1).astype(np.float32), "fc_w"),
              numpy_helper.from_array(np.zeros(classes, np.float32), "fc_b")]
    nodes += [helper.make_node("GlobalAveragePool", [prev], ["pool"], name="pool"),
              helper.make_node("Flatten", ["pool"], ["flat"], name="flatten"),
              helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], name="fc", transB=1)]
    graph = helper.make_graph(nodes, f"cnn{size}",
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, size, size])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", classes])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.metadata_props.add(key="nv12kit.preprocess", value=json.dumps(IMAGENET))
    return model


def chain(nodes: int = 100, size: int = 96, channels: int = 16) -> onnx.ModelProto:
    """Conv 3->C, then alternating Conv 1x1 and Tanh: ``nodes`` nodes, each output C x size x size."""
    rng = np.random.default_rng(3)
    inits = [numpy_helper.from_array(rng.normal(0, 0.5, (channels, 3, 1, 1)).astype(np.float32), "w0")]
    graph_nodes = [helper.make_node("Conv", ["image", "w0"], ["t0"], name="n0")]
    for i in range(1, nodes):
        if i % 2:
            weight = (np.eye(channels) + rng.normal(0, 0.2, (channels, channels))).astype(np.float32)
            inits.append(numpy_helper.from_array(weight[..., None, None], f"w{i}"))
            graph_nodes.append(helper.make_node("Conv", [f"t{i - 1}", f"w{i}"], [f"t{i}"], name=f"n{i}"))
        else:
            graph_nodes.append(helper.make_node("Tanh", [f"t{i - 1}"], [f"t{i}"], name=f"n{i}"))
    graph = helper.make_graph(
        graph_nodes, "chain", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, size, size])],
        [helper.make_tensor_value_info(f"t{nodes - 1}", TensorProto.FLOAT, ["N", channels, size, size])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def demo_model(folder: pathlib.Path) -> tuple[pathlib.Path, str]:
    path = nv12kit.data.photo_path("astronaut").parent / "demo_robust.onnx"
    if path.is_file():
        return path, "demo_robust.onnx"
    stand_in = folder / "demo_like.onnx"
    onnx.save_model(cnn(), str(stand_in))
    return stand_in, "demo-like CNN built here (demo_robust.onnx not bundled yet)"


def hand_trial(runner: nv12kit.Runner, rgb: np.ndarray, pre: nv12kit.Preprocess, name: str,
               clean: np.ndarray, rng: np.random.Generator) -> Callable[[], float]:
    """One noise trial by hand: uniform noise on [-2, 2), clip, normalise, one run, float64 cosine."""
    output = runner.output_names[0]
    ref = clean.astype(np.float64).ravel()

    def trial() -> float:
        noisy = perturb(rgb, 2, distribution="symmetric", rng=rng)
        out = runner.run({name: pre.normalize_pixels(noisy)})[output].astype(np.float64).ravel()
        return float(ref @ out / (np.linalg.norm(ref) * np.linalg.norm(out)))

    return trial


def interleaved(functions: dict[str, Callable[[], object]], repeat: int) -> dict[str, list[float]]:
    """Seconds per call of each function, called in turn ``repeat`` times, so that load hits all alike."""
    for function in functions.values():
        function()
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeat):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return times


STUDY_TRIALS = 20


def time_rows(model: onnx.ModelProto, label: str, repeat: int) -> list[tuple[str, list[float], list[float], str]]:
    spec = nv12kit.ImageInputSpec.from_model(model)
    pre = nv12kit.Preprocess.from_model(model)
    height, width = spec.static_size or (224, 224)
    rgb = nv12kit.resize_to(nv12kit.load_image(nv12kit.data.photo_path("astronaut")), height, width)
    runner = nv12kit.Runner(model)
    clean = runner.run({spec.name: pre(rgb)})[runner.output_names[0]]
    by_hand = hand_trial(runner, rgb, pre, spec.name, clean, np.random.default_rng(1))
    feed = {spec.name: pre(rgb)}
    session = runner.runtime

    def study() -> object:
        return nv12kit.noise_study(model, rgb, pre, amplitudes=(2,), trials=STUDY_TRIALS, conventions=(),
                                   progress=False)

    def warm() -> object:
        return layer_divergence(model, rgb, preprocess=pre, compare="nv12", progress=False)

    def cold() -> object:
        clear_cache()
        return warm()

    times = interleaved({"cold": cold, "warm": warm, "study": study, "hand": by_hand,
                         "floor": lambda: (session.run(None, feed), session.run(None, feed))}, repeat)
    per_trial = [t / STUDY_TRIALS for t in times["study"]]
    rows = []
    for name in ("cold", "warm"):
        rows.append((f"{label}: {name} layer_divergence(nv12) vs noise_study/{STUDY_TRIALS}", times[name],
                     per_trial, "<= 3x"))
        rows.append((f"{label}: {name} layer_divergence(nv12) vs trial by hand", times[name], times["hand"],
                     "<= 3x"))
    rows.append((f"{label}: 2 bare forward passes vs noise_study/{STUDY_TRIALS}", times["floor"], per_trial, "floor"))
    rows.append((f"{label}: 2 bare forward passes vs trial by hand", times["floor"], times["hand"], "floor"))
    return rows


def warm_breakdown(model: onnx.ModelProto, repeat: int) -> list[tuple[str, float]]:
    """Where a warm call's time goes: its main parts timed alone, interleaved with whole calls (internals)."""
    from nv12kit.layers import _cache, _metrics

    spec = nv12kit.ImageInputSpec.from_model(model)
    pre = nv12kit.Preprocess.from_model(model)
    rgb = nv12kit.resize_to(nv12kit.load_image(nv12kit.data.photo_path("astronaut")), *spec.static_size)

    def call() -> object:
        return layer_divergence(model, rgb, preprocess=pre, progress=False)

    call()
    entry, _ = _cache._cached_model(model)
    candidates, _ = entry.candidates(spec.name)
    segment = next(iter(entry.plan([[c[0] for c in candidates]]).sessions.values()))

    def inputs() -> tuple[np.ndarray, np.ndarray]:
        decoded = nv12kit.nv12_to_rgb(nv12kit.rgb_to_nv12(rgb))
        return pre(rgb), pre(decoded)

    clean, nv12 = inputs()

    stacked = call().settings["stacked_runs"]
    pair = np.concatenate([clean, nv12])

    def runs() -> list[list[np.ndarray]]:
        if stacked:  # what the call does: both images in one batch of two
            both = segment.session.run(segment.outputs, {spec.name: pair})
            return [[v[:1] for v in both], [v[1:] for v in both]]
        return [segment.session.run(segment.outputs, {spec.name: x}) for x in (clean, nv12)]

    a, b = runs()
    pairs = [(clean, nv12), *zip(a, b)]
    scratch = _metrics._Scratch()

    def metrics() -> object:
        return [_metrics._pair_metrics(x, y, scratch) for x, y in pairs]

    run_label = "1 run of the instrumented session, both images stacked" if stacked else \
        "2 runs of the instrumented session"
    parts = {"warm call": call, "NV12 round trip + 2 normalisations": inputs, run_label: runs,
             f"metrics of {len(pairs)} tensor pairs ({sum(p[0].size for p in pairs) / 1e3:.0f}k values)": metrics}
    times: dict[str, list[float]] = {name: [] for name in parts}
    for _ in range(repeat):
        for name, function in parts.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    result = [(name, statistics.median(t) * 1e3) for name, t in times.items()]
    result.append(("the rest: bookkeeping, and the parts running slower in place", result[0][1] -
                   sum(ms for _, ms in result[1:])))
    return result


_MEMORY_PROBE = """
import sys, json
sys.path.insert(0, {bench!r})
import bench_layers as b
import nv12kit
from nv12kit.layers import layer_divergence
pre = nv12kit.Preprocess(mean=128, std=64)
rgb = b.chain_image()
layer_divergence(b.chain(4), rgb, preprocess=pre, progress=False)  # load onnxruntime first
model = b.chain(100)
before = b.peak_rss()
result = layer_divergence(model, rgb, preprocess=pre, chunk_size={chunk}, progress=False)
cold = b.peak_rss()
again = layer_divergence(model, rgb, preprocess=pre, chunk_size={chunk}, progress=False)
warm = b.peak_rss()
print(json.dumps([cold - before, warm - before, result.settings["peak_tensor_bytes"], result.settings["seconds"],
                  again.settings["seconds"]]))
"""


def peak_rss() -> int:
    """This process's peak resident set (VmHWM), in bytes.

    Not ``resource.getrusage().ru_maxrss``: Linux carries that over ``exec`` from the parent, so a child
    of a big process would report the parent's peak.
    """
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise OSError("no VmHWM in /proc/self/status")


def chain_image() -> np.ndarray:
    return nv12kit.resize_to(nv12kit.load_image(nv12kit.data.photo_path("astronaut")), 96, 96)


def memory_row(chunk: int) -> tuple[int, int, int, int, float, float]:
    """tracemalloc peak, engine-held peak, RSS growth after a cold and a warm call in a fresh process, seconds."""
    pre = nv12kit.Preprocess(mean=128, std=64)
    model, rgb = chain(100), chain_image()
    layer_divergence(model, rgb, preprocess=pre, chunk_size=chunk, progress=False)
    tracemalloc.start()
    try:
        layer_divergence(model, rgb, preprocess=pre, chunk_size=chunk, progress=False)
        traced = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    code = _MEMORY_PROBE.format(bench=str(pathlib.Path(__file__).parent), chunk=chunk)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    rss_cold, rss_warm, held, cold_s, warm_s = json.loads(out)
    return traced, held, rss_cold, rss_warm, cold_s, warm_s


def load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=40, help="timed pairs per comparison (default: 40)")
    args = parser.parse_args(argv)
    load_before = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        path, label = demo_model(pathlib.Path(tmp))
        demo = nv12kit.load_model(path)
    rows = time_rows(demo, "demo 128x128", args.repeat)
    breakdown = warm_breakdown(demo, args.repeat * 4)
    rows += time_rows(cnn(224, (32, 64, 128, 256), per_stage=2, classes=100), "CNN 224x224", max(5, args.repeat // 4))

    print(f"model: {label}; onnxruntime {ort.__version__}, numpy {np.__version__}, {os.cpu_count()} CPUs")
    print(f"load average (1, 5, 15 min) before: {load_before}, after the timings: {load_average()}")
    print(f"{'comparison (medians; last column: ratio of the fastest calls)':64s} {'ours ms':>8s} {'ref ms':>8s}"
          f" {'ratio':>7s}  target       {'min ratio':>9s}")
    for name, ours, ref, target in rows:
        ratio = statistics.median(ours) / statistics.median(ref)
        best = min(ours) / min(ref)
        verdict = "" if target == "floor" else ("met" if ratio <= 3 else "NOT met")
        print(f"{name:64s} {statistics.median(ours) * 1e3:8.2f} {statistics.median(ref) * 1e3:8.2f} {ratio:6.2f}x"
              f"  {target:5s} {verdict:7s} {best:8.2f}x")

    print("\ndemo 128x128, where a warm layer_divergence(nv12) call spends its time (parts timed alone):")
    for name, ms in breakdown:
        print(f"  {name:62s} {ms:6.2f} ms")

    tensor = 16 * 96 * 96 * 4
    print(f"\n100-node chain, tensors of {tensor // 1024} KiB (16x96x96 float32), clean + NV12 runs:")
    print(f"{'chunk_size':>10s} {'tracemalloc':>12s} {'engine-held':>12s} {'RSS cold':>9s} {'RSS +warm':>10s}"
          f" {'cold':>7s} {'warm':>7s}")
    for chunk in (4, 100):
        traced, held, rss_cold, rss_warm, cold_s, warm_s = memory_row(chunk)
        print(f"{chunk:10d} {traced / 2**20:8.1f} MiB {held / 2**20:8.1f} MiB {rss_cold / 2**20:5.1f} MiB"
              f" {rss_warm / 2**20:6.1f} MiB {cold_s * 1e3:4.0f} ms {warm_s * 1e3:4.0f} ms")
    print("tracemalloc sees only the Python heap: onnxruntime's outputs are zero-copy numpy views of its buffers.")
    print("RSS: growth of the peak over the cold call, then over both calls (fresh process per chunk size).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
