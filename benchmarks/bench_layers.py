"""Cost of per-layer divergence: time against one triage noise trial, memory against chunk size.

What is measured, side by side in one process
---------------------------------------------
1. **Time.** ``nv12kit.layer_divergence(model, rgb, compare="nv12")`` on the
   demo model (``nv12kit/data/demo_robust.onnx``; until it exists, a CNN of
   the same shape built here: input "image" [N, 3, 128, 128], four 3x3
   stride-2 convs of 16/32/64/96 channels with ReLU, global pooling, a linear
   head, ImageNet preprocessing in its metadata) against **one triage noise
   trial**: draw ±2 noise, add and clip, ``Preprocess``, one ``Runner.run``
   of the float model, cosine of the outputs; and, once the triage engine's
   ``noise_study`` exists, against ``noise_study(runner, ..., trials=1,
   amplitudes=(2,), conventions=())`` (its clean pass plus one noisy pass).
   Target: ratio <= 3.
   The two are timed alternately (``--repeat`` pairs) and medians compared,
   because this machine is shared. ``layer_divergence`` is measured cold:
   every call builds its own instrumented ONNX sessions, as a user's call
   does. Two bare forward passes are printed too: the floor of any method
   that runs the clean and the NV12 input.
   The same comparison on a bigger CNN (224x224, widths 32-256, two convs
   per stage) shows how the fixed cost of building sessions fades.
2. **Memory.** A 100-node chain (Conv 1x1 / Tanh, 16 x 96 x 96 tensors,
   576 KiB each) at chunk sizes 4 and 100. Three measures: ``tracemalloc``
   peak (Python heap only: onnxruntime hands outputs to numpy zero-copy, so
   it does not see them), the tensor bytes the engine held at its peak
   (``settings["peak_tensor_bytes"]``), and the growth of the process's peak
   RSS over the call, each chunk size in a fresh process.

Every ratio is ours / reference (lower is better).
"""

from __future__ import annotations

import argparse
import json
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
from onnx import TensorProto, helper, numpy_helper

import nv12kit
import nv12kit.data
from nv12kit.layers import layer_divergence

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


def find_noise_study() -> Callable[..., object] | None:
    """``noise_study`` of the triage engine, exported or not yet; None before it exists."""
    if hasattr(nv12kit, "noise_study"):
        return nv12kit.noise_study
    try:
        from nv12kit.noise import noise_study
    except ImportError:
        return None
    return noise_study


def noise_trial(runner: nv12kit.Runner, rgb: np.ndarray, pre: nv12kit.Preprocess, name: str,
                clean: np.ndarray, rng: np.random.Generator) -> Callable[[], float]:
    """One triage noise trial by hand: draw ±2 noise, add and clip, Preprocess, one run, cosine."""

    def trial() -> float:
        noisy = np.clip(rgb + rng.integers(-2, 3, size=rgb.shape), 0, 255).astype(np.uint8)
        out = runner.run({name: pre(noisy)})[runner.output_names[0]].astype(np.float64).ravel()
        ref = clean.astype(np.float64).ravel()
        return float(ref @ out / (np.linalg.norm(ref) * np.linalg.norm(out)))

    return trial


def paired_medians(a: Callable[[], object], b: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median ms of a and of b, timed alternately so that load on the machine hits both alike."""
    a(), b()
    ta, tb = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        a()
        ta.append(time.perf_counter() - start)
        start = time.perf_counter()
        b()
        tb.append(time.perf_counter() - start)
    return statistics.median(ta) * 1e3, statistics.median(tb) * 1e3


def quiet_runner(model: onnx.ModelProto) -> nv12kit.Runner:
    """The baseline's Runner, with ORT's thread spinning off as layer_divergence has it.

    With spinning on, the baseline's idle worker threads keep spinning into the next measurement and
    slow whatever runs there (measured: layer_divergence 9.8 ms instead of 5.8 ms); the trial itself
    costs the same either way.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return nv12kit.Runner(model, session_options=options)


def time_rows(model: onnx.ModelProto, label: str, repeat: int) -> list[tuple[str, float, float, str]]:
    spec = nv12kit.ImageInputSpec.from_model(model)
    pre = nv12kit.Preprocess.from_model(model)
    height, width = spec.static_size or (224, 224)
    rgb = nv12kit.resize_to(nv12kit.load_image(nv12kit.data.photo_path("astronaut")), height, width)
    runner = quiet_runner(model)
    clean = runner.run({spec.name: pre(rgb)})[runner.output_names[0]]
    trial = noise_trial(runner, rgb, pre, spec.name, clean, np.random.default_rng(1))

    def layers() -> object:
        return layer_divergence(model, rgb, preprocess=pre, compare="nv12", progress=False)

    ours, by_hand = paired_medians(layers, trial, repeat)
    rows = [(f"{label}: layer_divergence(nv12) vs one noise trial by hand", ours, by_hand, "<= 3x")]
    study = find_noise_study()
    if study is not None:
        # one trial as the triage engine runs it: its clean pass plus one noisy pass, no round trips
        def one_study() -> object:
            return study(runner, rgb, pre, trials=1, amplitudes=(2,), conventions=(), progress=False)

        ours, studied = paired_medians(layers, one_study, repeat)
        rows.append((f"{label}: layer_divergence(nv12) vs noise_study(trials=1)", ours, studied, "<= 3x"))
    feed = {spec.name: pre(rgb)}
    session = runner.runtime
    two_passes, _ = paired_medians(lambda: (session.run(None, feed), session.run(None, feed)), trial, repeat)
    rows.append((f"{label}: 2 bare forward passes vs one noise trial by hand", two_passes, by_hand, "floor"))
    return rows


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
after = b.peak_rss()
print(json.dumps([after - before, result.settings["peak_tensor_bytes"], result.settings["seconds"]]))
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


def memory_row(chunk: int) -> tuple[int, int, int, float]:
    """(tracemalloc peak, engine-held peak, RSS growth in a fresh process, seconds) at one chunk size."""
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
    rss, held, seconds = json.loads(out)
    return traced, held, rss, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=40, help="timed pairs per comparison (default: 40)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path, label = demo_model(pathlib.Path(tmp))
        demo = nv12kit.load_model(path)
    rows = time_rows(demo, "demo 128x128", args.repeat)
    rows += time_rows(cnn(224, (32, 64, 128, 256), per_stage=2, classes=100), "CNN 224x224", max(5, args.repeat // 4))

    print(f"model: {label}; machine load average {' '.join(f'{v:.1f}' for v in __import__('os').getloadavg())}")
    print(f"{'comparison':62s} {'ours ms':>9s} {'ref ms':>9s} {'ratio':>7s}  target")
    for name, ours, ref, target in rows:
        print(f"{name:62s} {ours:9.2f} {ref:9.2f} {ours / ref:6.2f}x  {target}")

    tensor = 16 * 96 * 96 * 4
    print(f"\n100-node chain, tensors of {tensor // 1024} KiB (16x96x96 float32), clean + NV12 runs:")
    print(f"{'chunk_size':>10s} {'tracemalloc peak':>17s} {'engine-held peak':>17s} {'RSS growth':>11s} {'time':>8s}")
    for chunk in (4, 100):
        traced, held, rss, seconds = memory_row(chunk)
        print(f"{chunk:10d} {traced / 2**20:13.1f} MiB {held / 2**20:13.1f} MiB {rss / 2**20:7.1f} MiB"
              f" {seconds * 1e3:6.0f} ms")
    print("tracemalloc sees only the Python heap: onnxruntime's outputs are zero-copy numpy views of its buffers.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
