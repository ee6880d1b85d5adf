"""Cost of ``nv12kit.evaluate`` against the bare forward passes it needs, and its memory at 100 against 1,000 frames.

What is measured, side by side in one run
-----------------------------------------
On a realistic model (issue 19): the EfficientNet-lite0-shaped classifier of
``realistic_model.py`` (4.6 M parameters, 224x224, 1000 classes, random
weights) and a set of 224x224 PNG frames cut from the bundled photos, with
a ``path,index`` CSV of labels:

1. **Seconds per frame.** ``nv12kit.evaluate`` (feat and nv12, the noise
   floor on ``--noise-sample`` frames) against a bare loop of the same work
   with Pillow, numpy and onnxruntime only: decode each PNG, normalise it,
   encode it to NV12 (``nv12kit.rgb_to_nv12``, the input the NV12 model
   needs), run both models in batches of 8, and the same noisy passes on the
   same sample, both with the NV12 model built beforehand and the same
   onnxruntime threads. Best of ``--repeat`` interleaved rounds, the
   evaluation's frame phase (``timing["frames_seconds"]``) against the
   loop; the whole call (model preparation included) is printed too.
   Target: <= 1.15x.
2. **Memory.** Peak RSS (``VmHWM``, in kiB) of a fresh process running
   ``evaluate`` with a JSONL log on 100 and on 1,000 frames (the demo model,
   128x128 patches, so the 1,000 frames take seconds). Target: <= 1.1x.

It prints the ratios and what a 10,000-frame set would take at the measured
rate, and exits 1 if a target is missed.

Usage::

    python benchmarks/bench_evaluate.py [--frames 64] [--repeat 5] [--noise-sample 8]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

TARGET_TIME = 1.15
TARGET_MEMORY = 1.10

# The peak RSS of this process's own memory: /proc/self/status VmHWM. ru_maxrss is not used: on Linux it keeps the
# high-water mark of the forked copy of the parent across exec, so a child of a big parent reports the parent's size.
_MEMORY_RUN = """
import sys, nv12kit
nv12kit.evaluate(nv12kit.data.model_path("demo_robust"), sys.argv[1], jsonl=sys.argv[2], progress=False)
print(next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""


def _write_frames(folder: Path, count: int, side: int, *, seed: int = 0, classes: int = 0) -> Path:
    """``count`` PNG crops of the bundled photos, side x side, in ``folder`` (a labels.csv beside when classes)."""
    from PIL import Image

    from nv12kit.data import PHOTOS, photo_path

    rng = np.random.default_rng(seed)
    photos = [Image.open(photo_path(p)).convert("RGB") for p in PHOTOS]
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in range(count):
        image = photos[n % len(photos)]
        w, h = image.size
        crop = rng.uniform(0.4, 1.0) * min(w, h)
        x, y = rng.uniform(0, w - crop), rng.uniform(0, h - crop)
        name = f"{n:05d}.png"
        image.resize((side, side), Image.Resampling.BILINEAR, box=(x, y, x + crop, y + crop)).save(folder / name)
        if classes:
            rows.append(f"{name},{int(rng.integers(classes))}\n")
    if classes:
        (folder.parent / f"{folder.name}_labels.csv").write_text("".join(rows))
    return folder


def _session(model: bytes, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def bare_loop(files: list[str], feat, nv12, *, noisy: set[int], trials: int, amplitude: float, batch: int = 8
              ) -> float:
    """The forward passes evaluate needs, scripted: decode, normalise, encode to NV12, run; noise on the sample."""
    from PIL import Image

    from nv12kit import rgb_to_nv12

    mean, std = np.float32(127.0), np.float32(128.0)  # realistic_model.py's normalisation
    start = time.perf_counter()
    for s in range(0, len(files), batch):
        rgbs = np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files[s:s + batch]])
        x = ((rgbs.astype(np.float32) - mean) / std).transpose(0, 3, 1, 2)
        frames = [rgb_to_nv12(rgb, convention="horizon") for rgb in rgbs]
        y = np.stack([f.y[:, :, None] for f in frames])
        uv = np.stack([f.uv for f in frames])
        feat.run(None, {"image": x})
        nv12.run(None, {"image_y": y, "image_uv": uv})
        for j in range(len(rgbs)):
            if s + j in noisy:
                rng = np.random.default_rng(s + j)
                for t in range(0, trials, batch):
                    k = min(batch, trials - t)
                    noise = rng.uniform(-amplitude, amplitude, (k, *rgbs[j].shape)).astype(np.float32)
                    pixels = np.clip(rgbs[j].astype(np.float32) + noise, 0, 255)
                    feat.run(None, {"image": ((pixels - mean) / std).transpose(0, 3, 1, 2)})
    return time.perf_counter() - start


def time_ratio(work: Path, frames: int, repeat: int, noise_sample: int, trials: int) -> tuple[float, float, float]:
    from realistic_model import efficientnet_lite0_like

    import nv12kit
    from nv12kit.evaluation.shard import worker_threads

    model = efficientnet_lite0_like()
    model_path = work / "effnet_lite0.onnx"
    model_path.write_bytes(model.SerializeToString())
    folder = _write_frames(work / "frames", frames, 224, classes=1000)
    labels = work / "frames_labels.csv"
    pre = nv12kit.Preprocess.from_model(model)
    nv12_model = nv12kit.insert_nv12_node(model, **pre.node_kwargs()).SerializeToString()
    threads = worker_threads(1)
    feat, nv12 = _session(model.SerializeToString(), threads), _session(nv12_model, threads)
    files = sorted(str(p) for p in folder.glob("*.png"))
    sample = set(np.random.default_rng(0).choice(len(files), size=noise_sample, replace=False).tolist())
    bare_loop(files[:8], feat, nv12, noisy=set(), trials=trials, amplitude=3.0)  # warm up
    bare, ours, whole = [], [], []
    for _ in range(repeat):
        bare.append(bare_loop(files, feat, nv12, noisy=sample, trials=trials, amplitude=3.0))
        t0 = time.perf_counter()
        result = nv12kit.evaluate(model_path, folder, labels=labels, noise_sample=noise_sample, noise_trials=trials,
                                  progress=False)
        whole.append(time.perf_counter() - t0)
        ours.append(result.timing["frames_seconds"])
    return min(bare) / frames, min(ours) / frames, min(whole) / frames


def peak_rss(work: Path, count: int) -> int:
    folder = _write_frames(work / f"mem{count}", count, 128, seed=count)
    log = work / f"mem{count}.jsonl"
    done = subprocess.run([sys.executable, "-c", _MEMORY_RUN, str(folder), str(log)], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).resolve().parents[1])
    return int(done.stdout.split()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--noise-sample", type=int, default=8)
    parser.add_argument("--noise-trials", type=int, default=8)
    args = parser.parse_args(argv)
    failed = False
    with tempfile.TemporaryDirectory(prefix="bench-evaluate-") as tmp:
        work = Path(tmp)
        bare, ours, whole = time_ratio(work, args.frames, args.repeat, args.noise_sample, args.noise_trials)
        ratio = ours / bare
        failed |= ratio > TARGET_TIME
        print(f"realistic model, {args.frames} frames (224x224), noise floor on {args.noise_sample} x "
              f"{args.noise_trials} trials, {os.cpu_count()} cores")
        print(f"  bare ORT loop:            {1000 * bare:8.2f} ms/frame")
        print(f"  evaluate (frame phase):   {1000 * ours:8.2f} ms/frame   ratio {ratio:.3f}x "
              f"(target <= {TARGET_TIME}x) {'ok' if ratio <= TARGET_TIME else 'MISSED'}")
        print(f"  evaluate (whole call):    {1000 * whole:8.2f} ms/frame   ratio {whole / bare:.3f}x "
              "(model preparation included)")
        print(f"  10,000 frames at this rate: {10_000 * ours / 60:.1f} min (one process; "
              f"{10_000 * bare / 60:.1f} min for the bare passes)")
        small, large = peak_rss(work, 100), peak_rss(work, 1000)
        growth = large / small
        failed |= growth > TARGET_MEMORY
        print(f"peak RSS (demo model, JSONL log): 100 frames {small / 1024:.1f} MiB, 1,000 frames "
              f"{large / 1024:.1f} MiB: ratio {growth:.3f}x (target <= {TARGET_MEMORY}x) "
              f"{'ok' if growth <= TARGET_MEMORY else 'MISSED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
