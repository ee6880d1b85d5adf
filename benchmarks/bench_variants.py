"""Cost of the model variants: the NV12 node, the Runner wrapper, batching, quantisation.

What is measured, side by side in one process (median of ``--repeat`` calls)
--------------------------------------------------------------------------
For a float model (``--model``; by default the bundled ``demo_robust.onnx``,
or a 224x224 conv net built here with ``--synthetic``) and one bundled photo
resized to the model's size:

1. **Runner overhead**: ``Runner(session).run(feed)`` against the bare
   ``session.run(None, feed)`` on the same session. Target: within 1.2x
   for one frame (the wrapper only checks and routes the feed).
2. **The NV12 node**: the ``qat_nv12`` variant run on Y/UV, against what a
   user would otherwise do in numpy, ``nv12_to_rgb`` + ``Preprocess`` +
   the float model. Informational: the ratio says what the in-graph
   decode costs compared with decoding outside the graph.
3. **Batching**: 32 frames through ``Runner.run`` (split into pieces of
   ``DEFAULT_MAX_BATCH``) against 32 bare one-frame calls. Target: no
   slower than the loop (<= 1.1x, the margin is timing noise). On a CPU,
   batching saves Python calls, not arithmetic: larger pieces measured no
   faster, which is why the pieces stay small and memory stays bounded.
4. **Quantisation**: wall time of ``nv12kit.quantize`` for the feat and the
   NV12 variant on the three bundled photos (informational; ORT's calibrator
   dominates).

Every ratio is ours / reference (lower is better). Absolute times are noisy
on small shared machines; the ratios, measured back to back, are what to
read. Threads: ORT's intra-op threads are pinned with ``--threads`` (default 1).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

import nv12kit
import nv12kit.data


def synthetic_model(size: int = 224, classes: int = 100) -> onnx.ModelProto:
    """A small conv net: three stride-2 3x3 convs, global pooling, a linear head."""
    rng = np.random.default_rng(0)
    inits, nodes, prev, channels = [], [], "image", 3
    for i, width in enumerate((16, 32, 64)):
        inits.append(numpy_helper.from_array((rng.standard_normal((width, channels, 3, 3)) * 0.2)
                                             .astype(np.float32), f"w{i}"))
        nodes += [helper.make_node("Conv", [prev, f"w{i}"], [f"c{i}"], strides=[2, 2], pads=[1, 1, 1, 1]),
                  helper.make_node("Relu", [f"c{i}"], [f"r{i}"])]
        prev, channels = f"r{i}", width
    inits.append(numpy_helper.from_array((rng.standard_normal((64, classes)) * 0.1).astype(np.float32), "fc"))
    nodes += [helper.make_node("GlobalAveragePool", [prev], ["gap"]), helper.make_node("Flatten", ["gap"], ["f"]),
              helper.make_node("MatMul", ["f", "fc"], ["logits"])]
    graph = helper.make_graph(
        nodes, "synthetic",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", classes])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def session(model: onnx.ModelProto, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="float ONNX model (default: bundled demo_robust.onnx)")
    parser.add_argument("--synthetic", action="store_true", help="use a 224x224 conv net built here")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    if args.synthetic:
        model, pre, label = synthetic_model(), nv12kit.Preprocess(mean=128, std=64), "synthetic 224x224 conv net"
    else:
        path = Path(args.model) if args.model else nv12kit.data.photo_path("astronaut").parent / "demo_robust.onnx"
        model = nv12kit.load_model(path)
        pre, label = nv12kit.Preprocess.from_model(model), path.name
    spec = nv12kit.ImageInputSpec.from_model(model)
    height, width = spec.static_size or (224, 224)
    rgb = nv12kit.resize_to(nv12kit.load_image(nv12kit.data.photo_path("astronaut")), height, width)
    frame = nv12kit.rgb_to_nv12(rgb)
    nv12_model = nv12kit.insert_nv12_node(model, **pre.node_kwargs())

    feat_session, nv12_session = session(model, args.threads), session(nv12_model, args.threads)
    feat_runner, nv12_runner = nv12kit.Runner(feat_session), nv12kit.Runner(nv12_session)
    feed = {spec.name: pre(rgb)}
    nv12_feed = frame.to_feed(spec.name)
    rows: list[tuple[str, float, float, str]] = []

    bare = median_ms(lambda: feat_session.run(None, feed), args.repeat)
    wrapped = median_ms(lambda: feat_runner.run(feed), args.repeat)
    rows.append(("Runner.run vs bare session.run, 1 frame", wrapped, bare, "<= 1.2x"))

    in_graph = median_ms(lambda: nv12_runner.run(nv12_feed), args.repeat)
    outside = median_ms(
        lambda: feat_session.run(None, {spec.name: pre(nv12kit.nv12_to_rgb(frame))}), args.repeat)
    rows.append(("qat_nv12 on Y/UV vs numpy decode + Preprocess + float", in_graph, outside, "info"))

    batch = {spec.name: np.concatenate([feed[spec.name]] * 32)}
    single = {spec.name: feed[spec.name]}
    batched = median_ms(lambda: feat_runner.run(batch), max(3, args.repeat // 5))
    looped = median_ms(lambda: [feat_session.run(None, single) for _ in range(32)], max(3, args.repeat // 5))
    rows.append(("32 frames: Runner batches vs 32 bare calls", batched, looped, "<= 1.1x"))

    photos = nv12kit.data.photo_paths()
    start = time.perf_counter()
    nv12kit.quantize(model, photos, preprocess=pre, progress=False)
    q_feat = (time.perf_counter() - start) * 1e3
    start = time.perf_counter()
    nv12kit.quantize(nv12_model, photos, preprocess=pre, nv12=True, progress=False)
    q_nv12 = (time.perf_counter() - start) * 1e3

    # check the two paths agree before reporting their speed
    a = feat_runner.run({spec.name: pre(nv12kit.nv12_to_rgb(frame))})
    b = nv12_runner.run(nv12_feed)
    worst = max(float(np.linalg.norm(a[k] - b[k]) / np.linalg.norm(a[k])) for k in a)

    print(f"model: {label}, input {spec}, ORT threads {args.threads}, median of {args.repeat}")
    print(f"qat_nv12 vs numpy decode + float: relative L2 {worst:.2e} (must be <= 1e-4)")
    print(f"{'comparison':58s} {'ours ms':>9s} {'ref ms':>9s} {'ratio':>7s}  target")
    for name, ours, ref, target in rows:
        print(f"{name:58s} {ours:9.3f} {ref:9.3f} {ours / ref:6.2f}x  {target}")
    print(f"{'quantize(): feat / nv12 variant, 3 calibration photos':58s} {q_feat:9.0f} {q_nv12:9.0f}"
          f" {'':7s}  info (ms)")
    return 0 if worst <= 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
