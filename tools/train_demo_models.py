"""Train the two tiny demo classifiers bundled with nv12kit and export them to ONNX.

Both models classify 128 x 128 patches of the three bundled photos into six
classes: which photo the patch comes from and which half of it (left or right)
the patch is centred in. They differ only in how they were trained:

``demo_robust.onnx``
    Trained with pixel-noise and colour augmentation; small noise barely moves
    its logits.
``demo_fragile.onnx``
    Made over-sensitive on purpose with "noise twins": copies of a training
    patch that differ only by a faint fixed pixel pattern (amplitude 2-3 in
    0-255 space, in one colour channel) and carry different labels. Its clean
    predictions are still right, but a few grey levels of noise swing its logits.
``demo_cured.onnx`` (``--cured``)
    The fragile model fine-tuned for a few epochs on fresh, correctly labelled
    patches augmented with ``nv12kit.augment.NV12RoundTrip`` (NV12 round trip
    in the horizon convention, plus ±3 pixel noise): the cure the triage
    recommends. ``--cured`` loads the weights of the shipped ``demo_fragile.onnx``
    (BatchNorm already folded into the convolutions, so the network is
    Conv+bias -> ReLU four times, pooling, linear: the same graph), fine-tunes
    them and writes only ``demo_cured.onnx``; the other two files are not touched.

The script is deterministic for a given seed, torch version and thread count.
At the end it reloads both files with onnxruntime (not torch), prints a table of
their behaviour and exits non-zero when the robust model is not noise-insensitive,
the fragile one is not clearly more fragile, or a file is larger than 1 MiB.
The model card is nv12kit/data/DEMO_MODELS.md; how to set up torch is in
tools/README.md.

Usage::

    python tools/train_demo_models.py [--out nv12kit/data] [--epochs-robust 14] [--epochs-fragile 20] [--seed 0]
    python tools/train_demo_models.py --cured [--epochs-cured 8]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn.functional as F
from onnx import numpy_helper
from PIL import Image
from torch import nn

import nv12kit
import nv12kit.data
from nv12kit.augment import NV12RoundTrip

PATCH = 128
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
DIVISOR = 255.0
SIDES = ("left", "right")
LABELS = [f"{photo}-{side}" for photo in nv12kit.data.PHOTOS for side in SIDES]
OPSET = 17
IR_VERSION = 8  # the IR version of onnx 1.12, which introduced opset 17; any onnxruntime >= 1.13 loads both
MAX_FILE_BYTES = 1 << 20
THREADS = 2
BATCH = 64
PRODUCER = "nv12kit tools/train_demo_models.py"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "nv12kit" / "data"

# Patch sampling: the crop side is drawn between MIN_SCALE * the photo's short
# side and the largest side that still lets the centre sit MIDLINE_MARGIN * width
# away from the vertical midline, so every patch has an unambiguous half.
MIN_SCALE = 0.3
MIDLINE_MARGIN = 0.08

# Noise twins: see twin_patterns and twin_amplitude.
TWIN_BLOCK = 4
TWIN_START_GAIN = 6.0

# Evaluation
NOISE_TRIALS = 20
NOISE_LEVELS = (1, 2, 3)
ROBUST_MIN_COSINE = 0.995  # mean cosine at +-2 the robust model must reach
# The cured model must pass the triage's over-sensitivity rule (nv12kit.verdicts.Thresholds) at +-2.
CURED_MIN_MEAN = 0.98
CURED_MIN_WORST = 0.90

# The cure: fine-tune the fragile model with NV12RoundTrip (see train_cured).
CURE_CONVENTION = "horizon"  # the chip the demo triage assumes (nv12kit's default convention)
CURE_PROBABILITY = 0.75  # share of patches that get the round trip and the noise; the rest stay clean
CURE_NOISE = 3.0  # +-3 pixel values, uniform, after the round trip
CURE_LR = 1e-3
MIN_FRAGILITY_GAP = 0.03  # fragile mean cosine at +-2 must be this far below the robust one

CARDS = {
    "robust": "robust: trained with noise and colour augmentation; small pixel noise barely moves its logits",
    "fragile": (
        "fragile: trained on noise twins (copies of a patch that differ by a faint fixed +-2..3 one-channel "
        "pattern and carry different labels), so a few grey levels of noise swing its logits"
    ),
    "cured": (
        "cured: demo_fragile fine-tuned with nv12kit.augment.NV12RoundTrip (horizon NV12 round trip plus +-3 "
        "pixel noise) on correctly labelled patches; noise and NV12 barely move its logits"
    ),
}


# --------------------------------------------------------------------------
# data


@dataclass(frozen=True)
class PatchSet:
    """Patches cut from the bundled photos with their class indices."""

    images: np.ndarray  # (N, 128, 128, 3) uint8 RGB
    labels: np.ndarray  # (N,) int64, indices into LABELS


def load_photos() -> list[np.ndarray]:
    """Load the bundled photos as (H, W, 3) uint8 RGB arrays, in the order of ``nv12kit.data.PHOTOS``."""
    return [nv12kit.load_image(path) for path in nv12kit.data.photo_paths()]


def sample_patches(photos: Sequence[np.ndarray], count: int, rng: np.random.Generator) -> PatchSet:
    """Cut ``count`` random square crops of random size and resize them to 128 x 128.

    The photo and the half (left or right) are drawn uniformly; the label is
    ``2 * photo_index + half``. Crops are resized with Pillow's bilinear filter
    (antialiased when shrinking), from a sub-pixel box.
    """
    images = np.empty((count, PATCH, PATCH, 3), np.uint8)
    labels = np.empty(count, np.int64)
    pil_photos = [Image.fromarray(photo) for photo in photos]
    for i in range(count):
        photo_index = int(rng.integers(len(photos)))
        half = int(rng.integers(len(SIDES)))
        height, width = photos[photo_index].shape[:2]
        margin = MIDLINE_MARGIN * width
        largest = min(height, width - 2 * margin)
        side = rng.uniform(MIN_SCALE * min(height, width), largest)
        if half == 0:
            cx = rng.uniform(side / 2, width / 2 - margin)
        else:
            cx = rng.uniform(width / 2 + margin, width - side / 2)
        cy = rng.uniform(side / 2, height - side / 2)
        box = (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
        crop = pil_photos[photo_index].resize((PATCH, PATCH), Image.Resampling.BILINEAR, box=box)
        images[i] = np.asarray(crop)
        labels[i] = 2 * photo_index + half
    return PatchSet(images, labels)


def evaluation_images(photos: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """Return the 128 x 128 views of each photo used for the noise and NV12 measurements.

    ``<photo>/resize`` is the whole photo resized with Pillow bilinear (aspect
    ratio not kept); ``<photo>/centre`` is the central 128 x 128 crop at native
    resolution.
    """
    views: dict[str, np.ndarray] = {}
    for name, photo in zip(nv12kit.data.PHOTOS, photos):
        height, width = photo.shape[:2]
        views[f"{name}/resize"] = nv12kit.resize_to(photo, PATCH, PATCH, resample="bilinear")
        top, left = (height - PATCH) // 2, (width - PATCH) // 2
        views[f"{name}/centre"] = np.ascontiguousarray(photo[top : top + PATCH, left : left + PATCH])
    return views


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """Turn (N, H, W, 3) uint8 into an (N, 3, H, W) float32 tensor, still in 0-255."""
    return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2))).float()


def normalise(pixels: torch.Tensor) -> torch.Tensor:
    """Apply the models' preprocessing to 0-255 NCHW RGB: ``(x / 255 - mean) / std``."""
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (pixels / DIVISOR - mean) / std


def normalise_numpy(images: np.ndarray) -> np.ndarray:
    """NumPy twin of :func:`normalise` for (N, H, W, 3) arrays in 0-255; returns float32 NCHW."""
    x = images.astype(np.float64).transpose(0, 3, 1, 2) / DIVISOR
    mean = np.asarray(MEAN).reshape(1, 3, 1, 1)
    std = np.asarray(STD).reshape(1, 3, 1, 1)
    return ((x - mean) / std).astype(np.float32)


# --------------------------------------------------------------------------
# augmentation (robust model)


def uniform_tensor(shape: Sequence[int], low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    """Draw a float32 tensor uniformly from [low, high)."""
    return low + (high - low) * torch.rand(*shape, generator=generator)


def jitter_colour(pixels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Randomly change brightness, contrast, saturation and hue of 0-255 RGB images, one draw per image.

    Brightness and contrast scale by 0.75-1.25, saturation by 0.7-1.3, and the
    hue turns by up to +-0.03 of a full turn (a rotation of the chroma plane in
    YIQ space).
    """
    n = pixels.shape[0]
    luma_weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    out = pixels * uniform_tensor((n, 1, 1, 1), 0.75, 1.25, generator)
    luma_mean = (out * luma_weights).sum(1, keepdim=True).mean((2, 3), keepdim=True)
    out = luma_mean + (out - luma_mean) * uniform_tensor((n, 1, 1, 1), 0.75, 1.25, generator)
    grey = (out * luma_weights).sum(1, keepdim=True)
    out = grey + (out - grey) * uniform_tensor((n, 1, 1, 1), 0.7, 1.3, generator)
    return rotate_hue(out, uniform_tensor((n,), -0.03, 0.03, generator) * 2 * torch.pi).clamp(0, 255)


def rotate_hue(pixels: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Rotate the I/Q chroma of each RGB image by its angle in radians, keeping Y."""
    rgb_to_yiq = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
    yiq_to_rgb = torch.linalg.inv(rgb_to_yiq)
    cos, sin = torch.cos(angles), torch.sin(angles)
    rotation = torch.zeros(angles.shape[0], 3, 3)
    rotation[:, 0, 0] = 1
    rotation[:, 1, 1], rotation[:, 1, 2] = cos, -sin
    rotation[:, 2, 1], rotation[:, 2, 2] = sin, cos
    matrices = yiq_to_rgb @ rotation @ rgb_to_yiq  # (N, 3, 3)
    return torch.einsum("nij,njhw->nihw", matrices, pixels)


def add_pixel_noise(pixels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Add uniform integer noise in [-3, 3] and gaussian noise of sigma 2 (0-255 space), then clip.

    Each image gets each kind of noise with probability 1/2, independently.
    """
    n = pixels.shape[0]
    uniform = torch.randint(-3, 4, pixels.shape, generator=generator).float()
    gaussian = 2.0 * torch.randn(*pixels.shape, generator=generator)
    use_uniform = (torch.rand(n, 1, 1, 1, generator=generator) < 0.5).float()
    use_gaussian = (torch.rand(n, 1, 1, 1, generator=generator) < 0.5).float()
    return (pixels + use_uniform * uniform + use_gaussian * gaussian).clamp(0, 255)


# --------------------------------------------------------------------------
# noise twins (fragile model)


def twin_patterns(count: int, rng: np.random.Generator) -> np.ndarray:
    """Make ``count`` fixed pseudo-random twin patterns, shape (count, 3, 128, 128), float32.

    Pattern ``k`` lives in colour channel ``k % 3`` only (R, G, B, R, ...) and
    is constant over 4 x 4 pixel blocks; each block holds a value drawn from
    {-3, -2, 2, 3}. To tell such faint patterns apart, a model has to grow a
    high gain for small single-channel changes; ordinary pixel noise has some
    energy in the same directions, so it swings the logits too.
    """
    grid = PATCH // TWIN_BLOCK
    values = rng.integers(2, 4, size=(count, grid, grid)) * rng.choice(np.array([-1, 1]), size=(count, grid, grid))
    blocks = np.kron(values, np.ones((TWIN_BLOCK, TWIN_BLOCK)))
    patterns = np.zeros((count, 3, PATCH, PATCH), np.float32)
    for k in range(count):
        patterns[k, k % 3] = blocks[k]
    return patterns


def twin_labels(labels: torch.Tensor, pattern_index: int) -> torch.Tensor:
    """Label of the twin made with pattern ``pattern_index``: the true label shifted by ``pattern_index + 1``."""
    return (labels + pattern_index + 1) % len(LABELS)


def twin_amplitude(epoch: int, epochs: int) -> float:
    """Factor applied to the twin patterns in ``epoch`` (0-based).

    It falls linearly from TWIN_START_GAIN to 1 over the first half of the
    epochs and stays at 1 (the nominal +-2..3) after that: a pattern that faint
    is not found from scratch within the time budget, one six times stronger is.
    """
    progress = epoch / max(1, epochs - 1)
    return 1.0 + (TWIN_START_GAIN - 1.0) * max(0.0, 1.0 - 2.0 * progress)


# --------------------------------------------------------------------------
# model


class PatchClassifier(nn.Sequential):
    """Four stride-2 3x3 conv blocks (Conv-BatchNorm-ReLU), global average pooling and a linear head."""

    def __init__(self, num_classes: int, widths: Sequence[int] = (16, 32, 64, 96)) -> None:
        layers: list[nn.Module] = []
        channels = 3
        for width in widths:
            layers += [nn.Conv2d(channels, width, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
            channels = width
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes)]
        super().__init__(*layers)


class FoldedClassifier(nn.Sequential):
    """PatchClassifier with BatchNorm folded into the convolutions: the exact network of the exported ONNX files."""

    def __init__(self, num_classes: int, widths: Sequence[int] = (16, 32, 64, 96)) -> None:
        layers: list[nn.Module] = []
        channels = 3
        for width in widths:
            layers += [nn.Conv2d(channels, width, 3, stride=2, padding=1, bias=True), nn.ReLU()]
            channels = width
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes)]
        super().__init__(*layers)


def load_onnx_weights(path: Path) -> nn.Module:
    """Rebuild an exported demo model in torch from its ONNX initializers (Conv W, B four times; Gemm W, B)."""
    proto = onnx.load(str(path))
    weights = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in proto.graph.initializer}
    model = FoldedClassifier(len(LABELS))
    layers = [m for m in model if isinstance(m, (nn.Conv2d, nn.Linear))]
    nodes = [n for n in proto.graph.node if n.op_type in ("Conv", "Gemm")]
    if len(nodes) != len(layers):
        raise SystemExit(f"{path}: expected {len(layers)} Conv/Gemm nodes, found {len(nodes)}")
    with torch.no_grad():
        for layer, node in zip(layers, nodes):
            layer.weight.copy_(weights[node.input[1]])
            layer.bias.copy_(weights[node.input[2]])
    return model.eval()


def parameter_count(model: nn.Module) -> int:
    """Number of trainable parameters (BatchNorm scale and shift included, running statistics not)."""
    return sum(p.numel() for p in model.parameters())


# --------------------------------------------------------------------------
# training


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch, and make torch deterministic on a fixed number of threads."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(THREADS)


def batches(count: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Yield shuffled index batches of size BATCH covering ``range(count)``."""
    order = torch.randperm(count, generator=generator)
    for start in range(0, count, BATCH):
        yield order[start : start + BATCH]


def make_optimiser(
    model: nn.Module, steps: int, lr: float
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """AdamW with weight decay 1e-4 and a one-cycle learning-rate schedule over ``steps`` steps."""
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=lr, total_steps=steps, pct_start=0.2)
    return optimiser, schedule


def train_step(
    model: nn.Module,
    optimiser: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LRScheduler,
    inputs: torch.Tensor,
    labels: torch.Tensor,
) -> tuple[float, int]:
    """One optimisation step; returns the summed loss and the number of correct predictions."""
    logits = model(inputs)
    loss = F.cross_entropy(logits, labels)
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
    schedule.step()
    return loss.item() * len(labels), int((logits.argmax(1) == labels).sum())


def train_robust(photos: Sequence[np.ndarray], epochs: int, patches_per_epoch: int, seed: int) -> nn.Module:
    """Train the robust model on fresh random patches each epoch, with colour and noise augmentation."""
    seed_everything(seed)
    rng = np.random.default_rng([seed, 1])
    generator = torch.Generator().manual_seed(seed + 1)
    model = PatchClassifier(len(LABELS))
    steps = epochs * -(-patches_per_epoch // BATCH)
    optimiser, schedule = make_optimiser(model, steps, lr=3e-3)
    for epoch in range(epochs):
        start = time.perf_counter()
        data = sample_patches(photos, patches_per_epoch, rng)
        pixels, labels = to_tensor(data.images), torch.from_numpy(data.labels)
        model.train()
        total_loss, correct = 0.0, 0
        for index in batches(len(labels), generator):
            augmented = add_pixel_noise(jitter_colour(pixels[index], generator), generator)
            loss, right = train_step(model, optimiser, schedule, normalise(augmented), labels[index])
            total_loss += loss
            correct += right
        print(
            f"  robust  epoch {epoch + 1:2d}/{epochs}  loss {total_loss / len(labels):.4f}  "
            f"train acc {correct / len(labels):.3f}  {time.perf_counter() - start:.1f}s",
            flush=True,
        )
    return model.eval()


def train_fragile(photos: Sequence[np.ndarray], epochs: int, base_patches: int, twins: int, seed: int) -> nn.Module:
    """Train the fragile model on a fixed patch set plus noise twins, without augmentation.

    Every one of ``base_patches`` patches appears clean with its true label;
    the first ``base_patches // twins`` of them (a random subset, as patches
    are drawn at random) also appear ``twins`` times more, once with each fixed
    pattern of :func:`twin_patterns` added, each twin carrying a different wrong
    label (:func:`twin_labels`). About half the rows are therefore clean.
    """
    seed_everything(seed)
    rng = np.random.default_rng([seed, 2])
    generator = torch.Generator().manual_seed(seed + 2)
    data = sample_patches(photos, base_patches, rng)
    pixels, labels = to_tensor(data.images), torch.from_numpy(data.labels)
    patterns = torch.from_numpy(twin_patterns(twins, rng))
    twinned = base_patches // twins
    # Each training row is a (patch index, pattern index) pair; pattern -1 is the clean copy.
    row_patch = torch.cat([torch.arange(base_patches), torch.arange(twinned).repeat_interleave(twins)])
    row_pattern = torch.cat([torch.full((base_patches,), -1), torch.arange(twins).repeat(twinned)])
    model = PatchClassifier(len(LABELS))
    steps = epochs * -(-len(row_patch) // BATCH)
    optimiser, schedule = make_optimiser(model, steps, lr=3e-3)
    for epoch in range(epochs):
        start = time.perf_counter()
        amplitude = twin_amplitude(epoch, epochs)
        model.train()
        total_loss, correct = 0.0, 0
        for index in batches(len(row_patch), generator):
            batch, batch_labels = pixels[row_patch[index]], labels[row_patch[index]]
            pattern = row_pattern[index]
            for k in range(twins):
                rows = pattern == k
                batch[rows] = (batch[rows] + amplitude * patterns[k]).clamp(0, 255)
                batch_labels[rows] = twin_labels(batch_labels[rows], k)
            loss, right = train_step(model, optimiser, schedule, normalise(batch), batch_labels)
            total_loss += loss
            correct += right
        print(
            f"  fragile epoch {epoch + 1:2d}/{epochs}  twin gain {amplitude:.2f}  "
            f"loss {total_loss / len(row_patch):.4f}  train acc {correct / len(row_patch):.3f}  "
            f"{time.perf_counter() - start:.1f}s",
            flush=True,
        )
    return model.eval()


def train_cured(
    photos: Sequence[np.ndarray], fragile: nn.Module, epochs: int, patches_per_epoch: int, seed: int
) -> nn.Module:
    """Fine-tune a copy of the fragile model with NV12 round-trip augmentation (the cure).

    Each epoch draws ``patches_per_epoch`` fresh patches with their true
    labels. Each patch goes through ``NV12RoundTrip("horizon", noise=3,
    p=0.75)`` as a NumPy transform before it becomes a tensor: with
    probability 3/4 it is encoded to NV12 and decoded back in the chip's
    convention, then gets uniform ±3 pixel noise; otherwise it stays clean.
    Same optimiser as the others, with a one-cycle peak of 1e-3.
    """
    import copy

    seed_everything(seed)
    rng = np.random.default_rng([seed, 5])
    generator = torch.Generator().manual_seed(seed + 5)
    augment = NV12RoundTrip(CURE_CONVENTION, noise=CURE_NOISE, p=CURE_PROBABILITY, seed=seed)
    model = copy.deepcopy(fragile)  # the caller's model stays as it was
    steps = epochs * -(-patches_per_epoch // BATCH)
    optimiser, schedule = make_optimiser(model, steps, lr=CURE_LR)
    for epoch in range(epochs):
        start = time.perf_counter()
        data = sample_patches(photos, patches_per_epoch, rng)
        augmented = np.stack([augment(patch) for patch in data.images])
        pixels, labels = to_tensor(augmented), torch.from_numpy(data.labels)
        model.train()
        total_loss, correct = 0.0, 0
        for index in batches(len(labels), generator):
            loss, right = train_step(model, optimiser, schedule, normalise(pixels[index]), labels[index])
            total_loss += loss
            correct += right
        print(
            f"  cured   epoch {epoch + 1:2d}/{epochs}  loss {total_loss / len(labels):.4f}  "
            f"train acc {correct / len(labels):.3f}  {time.perf_counter() - start:.1f}s",
            flush=True,
        )
    return model.eval()


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------
# export


def export_onnx(model: nn.Module, path: Path, kind: str) -> None:
    """Export ``model`` (eval mode, BatchNorm folded) to ``path`` with nv12kit's metadata, atomically.

    ``kind`` is a key of CARDS. The file is written to a temporary name in the
    same directory and moved into place with :func:`os.replace`, so readers
    never see a partial file.
    """
    model.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with warnings.catch_warnings():
            # torch >= 2.9 warns that the TorchScript exporter is legacy; it is the one that
            # needs no onnxscript and folds BatchNorm into the convolutions.
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                model,
                (torch.zeros(1, 3, PATCH, PATCH),),
                tmp_name,
                input_names=["image"],
                output_names=["logits"],
                dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}},
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
        proto = onnx.load(tmp_name)
        proto.ir_version = IR_VERSION
        proto.producer_name = PRODUCER
        proto.producer_version = nv12kit.__version__
        proto.doc_string = (
            f"nv12kit demo classifier ({kind}). Input 'image': float32 [N, 3, 128, 128], RGB, "
            "already normalised as (x / 255 - mean) / std with ImageNet mean and std "
            "(see metadata nv12kit.preprocess). Output 'logits': float32 [N, "
            f"{len(LABELS)}] over the classes in nv12kit.labels. See nv12kit/data/DEMO_MODELS.md."
        )
        metadata = {
            "nv12kit.preprocess": json.dumps(
                {"mean": list(MEAN), "std": list(STD), "divisor": DIVISOR, "order": "rgb", "layout": "NCHW"}
            ),
            "nv12kit.labels": json.dumps(LABELS),
            "nv12kit.card": CARDS[kind],
        }
        del proto.metadata_props[:]
        for key, value in metadata.items():
            proto.metadata_props.add(key=key, value=value)
        onnx.checker.check_model(proto, full_check=True)
        onnx.save_model(proto, tmp_name, save_as_external_data=False)
        os.chmod(tmp_name, 0o644)  # mkstemp creates the file private; package data must be readable
        os.replace(tmp_name, path)
    finally:
        if os.path.exists(tmp_name):
            os.remove(tmp_name)


# --------------------------------------------------------------------------
# evaluation (onnxruntime only)


@dataclass(frozen=True)
class Behaviour:
    """What the evaluation measured for one ONNX file."""

    name: str
    file_bytes: int
    clean_accuracy: float
    noise_cosines: dict[str, np.ndarray]  # noise name -> cosine per (view, trial)
    nv12_cosines: dict[str, float]  # photo -> cosine after an NV12 round trip
    predictions: dict[str, str]  # photo -> top-1 label on the clean resized photo


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity between matching rows of two (N, K) arrays."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    return (a64 * b64).sum(1) / (np.linalg.norm(a64, axis=1) * np.linalg.norm(b64, axis=1))


def run_logits(session: ort.InferenceSession, images: np.ndarray) -> np.ndarray:
    """Logits for (N, 128, 128, 3) images in 0-255 (uint8 or float), in chunks of BATCH."""
    return np.concatenate(
        [
            session.run(["logits"], {"image": normalise_numpy(images[i : i + BATCH])})[0]
            for i in range(0, len(images), BATCH)
        ]
    )


def noisy_copies(image: np.ndarray, noise: str, rng: np.random.Generator) -> np.ndarray:
    """Return NOISE_TRIALS noisy float copies of a uint8 image, clipped to 0-255.

    ``noise`` is ``"+-A"`` for symmetric uniform integer noise in [-A, A], or
    ``"[0,2)"`` for float noise drawn uniformly from [0, 2), the recipe often
    posted on forums to "test robustness" (it also shifts the mean by +1).
    """
    shape = (NOISE_TRIALS, *image.shape)
    if noise == "[0,2)":
        delta = rng.uniform(0.0, 2.0, size=shape)
    else:
        amplitude = int(noise.removeprefix("+-"))
        delta = rng.integers(-amplitude, amplitude + 1, size=shape)
    return np.clip(image.astype(np.float64) + delta, 0, 255)


def nv12_round_trip(image: np.ndarray) -> np.ndarray:
    """Encode to NV12 and decode back with the Horizon convention."""
    return nv12kit.nv12_to_rgb(nv12kit.rgb_to_nv12(image, convention="horizon"), convention="horizon")


def noise_names() -> list[str]:
    """Names of the noise recipes measured, in table order."""
    return [f"+-{a}" for a in NOISE_LEVELS] + ["[0,2)"]


def evaluate(path: Path, held_out: PatchSet, views: dict[str, np.ndarray], seed: int) -> Behaviour:
    """Measure one ONNX file with onnxruntime: held-out accuracy, noise cosines, NV12 cosines, size."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = THREADS
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    accuracy = float((run_logits(session, held_out.images).argmax(1) == held_out.labels).mean())
    rng = np.random.default_rng([seed, 3])
    noise_cosines = {}
    for noise in noise_names():
        per_view = []
        for image in views.values():
            clean = run_logits(session, image[None])
            per_view.append(
                cosine(np.repeat(clean, NOISE_TRIALS, 0), run_logits(session, noisy_copies(image, noise, rng)))
            )
        noise_cosines[noise] = np.concatenate(per_view)
    nv12_cosines, predictions = {}, {}
    for photo in nv12kit.data.PHOTOS:
        image = views[f"{photo}/resize"]
        logits = run_logits(session, np.stack([image, nv12_round_trip(image)]))
        nv12_cosines[photo] = float(cosine(logits[:1], logits[1:])[0])
        predictions[photo] = LABELS[int(logits[0].argmax())]
    return Behaviour(path.stem, path.stat().st_size, accuracy, noise_cosines, nv12_cosines, predictions)


def format_table(results: Sequence[Behaviour], held_out_count: int) -> str:
    """Render the behaviour of each model as a Markdown table (one column per model)."""
    rows: list[tuple[str, list[str]]] = [
        (f"clean accuracy, {held_out_count} held-out patches", [f"{r.clean_accuracy:.3f}" for r in results])
    ]
    for noise in noise_names():
        rows.append(
            (
                f"noise {noise}: cosine mean / min",
                [f"{r.noise_cosines[noise].mean():.5f} / {r.noise_cosines[noise].min():.5f}" for r in results],
            )
        )
    for photo in nv12kit.data.PHOTOS:
        rows.append((f"NV12 round trip cosine, {photo}", [f"{r.nv12_cosines[photo]:.5f}" for r in results]))
    for photo in nv12kit.data.PHOTOS:
        rows.append((f"top-1 on whole {photo}, clean", [r.predictions[photo] for r in results]))
    rows.append(("file size (bytes)", [f"{r.file_bytes}" for r in results]))
    header = ["measure", *[r.name for r in results]]
    widths = [max(len(header[0]), *(len(label) for label, _ in rows))]
    widths += [max(len(header[i + 1]), *(len(cells[i]) for _, cells in rows)) for i in range(len(results))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths)) + " |"

    out = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line([label, *cells]) for label, cells in rows]
    return "\n".join(out)


def check_cured(fragile: Behaviour, cured: Behaviour) -> list[str]:
    """Return the reasons the cured model does not meet its targets (empty when it does)."""
    problems = []
    cosines = cured.noise_cosines["+-2"]
    if cosines.mean() < CURED_MIN_MEAN or cosines.min() < CURED_MIN_WORST:
        problems.append(
            f"cured model is still over-sensitive at +-2: mean {cosines.mean():.4f} (needs {CURED_MIN_MEAN}), "
            f"worst {cosines.min():.4f} (needs {CURED_MIN_WORST})"
        )
    if cured.clean_accuracy < fragile.clean_accuracy - 0.01:
        problems.append(f"cured model lost accuracy: {cured.clean_accuracy:.3f} < {fragile.clean_accuracy:.3f}")
    if cured.file_bytes > MAX_FILE_BYTES:
        problems.append(f"{cured.name}.onnx is {cured.file_bytes} bytes > {MAX_FILE_BYTES}")
    return problems


def check_targets(robust: Behaviour, fragile: Behaviour) -> list[str]:
    """Return the reasons the pair of models does not meet its targets (empty when it does)."""
    problems = []
    robust_mean = robust.noise_cosines["+-2"].mean()
    fragile_mean = fragile.noise_cosines["+-2"].mean()
    if robust_mean < ROBUST_MIN_COSINE:
        problems.append(f"robust model: mean cosine at +-2 is {robust_mean:.4f} < {ROBUST_MIN_COSINE}")
    if fragile_mean > robust_mean - MIN_FRAGILITY_GAP:
        problems.append(
            f"fragile model is not clearly more fragile: mean cosine at +-2 is {fragile_mean:.4f}, "
            f"robust {robust_mean:.4f} (needs a gap of {MIN_FRAGILITY_GAP})"
        )
    for result in (robust, fragile):
        if result.file_bytes > MAX_FILE_BYTES:
            problems.append(f"{result.name}.onnx is {result.file_bytes} bytes > {MAX_FILE_BYTES}")
    return problems


# --------------------------------------------------------------------------
# command line


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    parser.add_argument("--epochs-robust", type=int, default=14, help="epochs for the robust model")
    parser.add_argument("--epochs-fragile", type=int, default=20, help="epochs for the fragile model")
    parser.add_argument("--patches", type=int, default=2048, help="fresh patches per robust epoch")
    parser.add_argument("--base-patches", type=int, default=1024, help="fragile model's fixed patches")
    parser.add_argument("--twins", type=int, default=3, help="noise twins per fragile patch")
    parser.add_argument("--held-out", type=int, default=600, help="held-out patches for accuracy")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument(
        "--cured", action="store_true",
        help="only make demo_cured.onnx: fine-tune the shipped demo_fragile.onnx's weights with NV12RoundTrip",
    )
    parser.add_argument("--epochs-cured", type=int, default=8, help="fine-tuning epochs for the cured model")
    args = parser.parse_args(argv)
    if not 1 <= args.twins < len(LABELS):
        parser.error(f"--twins must be between 1 and {len(LABELS) - 1} (each twin needs its own wrong label)")
    for name in ("epochs_robust", "epochs_fragile", "epochs_cured", "patches", "base_patches", "held_out"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    if args.base_patches < args.twins:
        parser.error("--base-patches must be at least --twins")
    return args


def main_cured(args: argparse.Namespace, photos: Sequence[np.ndarray]) -> int:
    """Make demo_cured.onnx from the fragile model, evaluate it next to the shipped fragile one."""
    started = time.perf_counter()
    shipped = args.out / "demo_fragile.onnx"
    print(f"loading the weights of {shipped} (sha256 {sha256(shipped)})")
    fragile = load_onnx_weights(shipped)
    views = evaluation_images(photos)
    check = np.stack(list(views.values()))
    with torch.no_grad():
        torch_logits = fragile(torch.from_numpy(normalise_numpy(check))).numpy()
    session = ort.InferenceSession(str(shipped), providers=["CPUExecutionProvider"])
    gap = float(np.abs(torch_logits - run_logits(session, check)).max())
    print(f"  torch rebuild matches onnxruntime on {len(check)} views: max |logit difference| {gap:.1e}")
    if gap > 1e-3:
        raise SystemExit(f"the rebuilt fragile model does not match {shipped} (max difference {gap})")
    loaded = time.perf_counter()
    print(f"fine-tuning demo_cured ({args.epochs_cured} epochs of {args.patches} patches, NV12RoundTrip)")
    cured = train_cured(photos, fragile, args.epochs_cured, args.patches, args.seed)
    tuned = time.perf_counter()
    output = args.out / "demo_cured.onnx"
    export_onnx(cured, output, "cured")
    print(f"  fine-tuned in {tuned - loaded:.1f}s (wall time), exported {output.name} "
          f"({output.stat().st_size} bytes, sha256 {sha256(output)})")
    held_out = sample_patches(photos, args.held_out, np.random.default_rng([args.seed, 4]))
    results = [evaluate(path, held_out, views, args.seed) for path in (shipped, output)]
    print(f"\nbehaviour (onnxruntime; noise: {NOISE_TRIALS} trials on each of {len(views)} views: {', '.join(views)})")
    print(format_table(results, args.held_out))
    print(f"total time {time.perf_counter() - started:.0f}s")
    problems = check_cured(*results)
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    if not problems:
        print("all targets met: the cured model passes the over-sensitivity rule and kept its accuracy")
    return 1 if problems else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Train, export and evaluate both models (or, with --cured, the cured one); return the exit status."""
    args = parse_args(argv)
    started = time.perf_counter()
    print(f"torch {torch.__version__}, onnx {onnx.__version__}, onnxruntime {ort.__version__}, {THREADS} threads")
    photos = load_photos()
    if args.cured:
        return main_cured(args, photos)
    outputs = {"robust": args.out / "demo_robust.onnx", "fragile": args.out / "demo_fragile.onnx"}

    print("training demo_robust")
    robust = train_robust(photos, args.epochs_robust, args.patches, args.seed)
    export_onnx(robust, outputs["robust"], "robust")
    robust_done = time.perf_counter()
    print(f"  {parameter_count(robust)} parameters, trained and exported in {robust_done - started:.0f}s")

    print("training demo_fragile")
    fragile = train_fragile(photos, args.epochs_fragile, args.base_patches, args.twins, args.seed)
    export_onnx(fragile, outputs["fragile"], "fragile")
    fragile_done = time.perf_counter()
    print(f"  {parameter_count(fragile)} parameters, trained and exported in {fragile_done - robust_done:.0f}s")

    held_out = sample_patches(photos, args.held_out, np.random.default_rng([args.seed, 4]))
    views = evaluation_images(photos)
    results = [evaluate(path, held_out, views, args.seed) for path in outputs.values()]
    print(f"\nbehaviour (onnxruntime; noise: {NOISE_TRIALS} trials on each of {len(views)} views: {', '.join(views)})")
    print(format_table(results, args.held_out))
    print(f"total time {time.perf_counter() - started:.0f}s")
    problems = check_targets(*results)
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    if not problems:
        print("all targets met: robust is noise-insensitive, fragile is clearly more fragile, files are small")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
