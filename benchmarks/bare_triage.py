"""The triage's forward passes as a user would script them by hand: numpy, Pillow and onnxruntime only.

``bench_triage.py`` times ``nv12kit triage`` against this script. It does
the work the triage's verdict needs and nothing else: the clean pass, the
noisy trials (uniform integer noise in [-a, a] per amplitude, the trials of
one amplitude batched ``--batch`` at a time, as nv12kit batches them), one
pass on the NV12 round trip of the frame (BT.601 full range, top-left chroma,
in integer numpy, as a forum script would do it), and one pass of the NV12
model (built beforehand, as a vendor toolchain hands it over) on the Y and UV
planes, and, when asked, as many more NV12-model passes as the triage's
convention sensitivity makes (``--candidates``, and ``--other-model`` with
``--other-candidates`` for the node's other range). It prints the cosines, so the passes cannot be skipped. Sessions use
the options nv12kit uses (no spinning workers).

Usage::

    python bare_triage.py MODEL NV12_MODEL IMAGE --size 224 --mean 127 --std 128 --batch 4 --trials 20
"""

from __future__ import annotations

import argparse

import numpy as np
import onnxruntime as ort
from PIL import Image


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.reshape(len(a), -1).astype(np.float64), b.reshape(len(b), -1).astype(np.float64)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("nv12_model")
    parser.add_argument("image")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--mean", type=float, default=127.0)
    parser.add_argument("--std", type=float, default=128.0)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--candidates", type=int, default=0,
                        help="extra NV12-model passes, as the triage's convention sensitivity makes")
    parser.add_argument("--other-model", default=None, help="an NV12 model for the node's other range")
    parser.add_argument("--other-candidates", type=int, default=0, help="passes through --other-model")
    args = parser.parse_args()

    # nv12kit's session options (workers do not spin between runs), so the ratio measures nv12kit's own
    # overhead and not a difference in ORT settings.
    options = ort.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    feat = ort.InferenceSession(args.model, options, providers=["CPUExecutionProvider"])
    nv12 = ort.InferenceSession(args.nv12_model, options, providers=["CPUExecutionProvider"])
    name = feat.get_inputs()[0].name
    rgb = np.asarray(Image.open(args.image).convert("RGB").resize((args.size, args.size), Image.BILINEAR))

    def tensor(pixels: np.ndarray) -> np.ndarray:  # (N, H, W, 3) uint8 or int -> NCHW float32
        return ((pixels.astype(np.float32) - args.mean) / args.std).transpose(0, 3, 1, 2).copy()

    clean = feat.run(None, {name: tensor(rgb[None])})[0]
    rng = np.random.default_rng(0)
    for amplitude in (1, 2, 3):
        for first in range(0, args.trials, args.batch):
            count = min(args.batch, args.trials - first)
            noise = rng.integers(-amplitude, amplitude + 1, (count, *rgb.shape))
            noisy = np.clip(rgb[None].astype(np.int16) + noise, 0, 255)
            out = feat.run(None, {name: tensor(noisy)})[0]
            cosine(np.repeat(clean, count, 0), out)

    # BT.601 full range: Y from every pixel, U and V from each 2x2 block's top-left pixel.
    r, g, b = (rgb[..., i].astype(np.int32) for i in range(3))
    y = np.clip((77 * r + 150 * g + 29 * b + 64) >> 7, 0, 255).astype(np.uint8)
    u = np.clip(((-43 * r - 85 * g + 128 * b + 64) >> 8) + 128, 0, 255)[::2, ::2]
    v = np.clip(((128 * r - 107 * g - 21 * b + 64) >> 8) + 128, 0, 255)[::2, ::2]
    uv = np.stack([u, v], -1).astype(np.uint8)
    yf = y.astype(np.float32)
    uf = np.repeat(np.repeat(u, 2, 0), 2, 1).astype(np.float32) - 128
    vf = np.repeat(np.repeat(v, 2, 0), 2, 1).astype(np.float32) - 128
    back = np.stack([yf + 1.402 * vf, yf - 0.344 * uf - 0.714 * vf, yf + 1.772 * uf], -1)
    round_trip = feat.run(None, {name: tensor(np.clip(np.rint(back), 0, 255)[None])})[0]
    names = [i.name for i in nv12.get_inputs()]
    from_nv12 = nv12.run(None, {names[0]: y[None, :, :, None], names[1]: uv[None]})[0]
    print(f"round trip {cosine(clean, round_trip)[0]:.6f}, nv12 model {cosine(clean, from_nv12)[0]:.6f}")

    # What another chroma down-sampling would cost (the triage's convention sensitivity): one pass per candidate,
    # here with the 2x2 box average (the candidates differ in how chroma is made, not in the passes they need).
    box_u = ((-43 * r - 85 * g + 128 * b + 64) >> 8) + 128
    box_v = ((128 * r - 107 * g - 21 * b + 64) >> 8) + 128
    def box(plane: np.ndarray) -> np.ndarray:
        return ((plane[0::2, 0::2] + plane[1::2, 0::2] + plane[0::2, 1::2] + plane[1::2, 1::2] + 2) >> 2)
    box_uv = np.clip(np.stack([box(box_u), box(box_v)], -1), 0, 255).astype(np.uint8)
    for _ in range(args.candidates):
        cosine(clean, nv12.run(None, {names[0]: y[None, :, :, None], names[1]: box_uv[None]})[0])
    if args.other_model:
        other = ort.InferenceSession(args.other_model, options, providers=["CPUExecutionProvider"])
        limited_y = (16 + (y.astype(np.int32) * 219 + 127) // 255).astype(np.uint8)
        for _ in range(args.other_candidates):
            cosine(clean, other.run(None, {names[0]: limited_y[None, :, :, None], names[1]: box_uv[None]})[0])


if __name__ == "__main__":
    main()
