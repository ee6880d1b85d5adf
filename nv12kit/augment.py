"""NV12 round-trip augmentation for training: show the model what the chip's NV12 node will show it.

:class:`NV12RoundTrip` is a picklable callable on uint8 ``(H, W, 3)`` RGB (or
BGR) arrays and PIL images. It returns the frame after an encode -> decode in
a named convention, exactly ``nv12_to_rgb(rgb_to_nv12(x, convention=c),
convention=c)``, optionally plus pixel noise as in :func:`nv12kit.noise_study`.
It needs neither torch nor albumentations; :meth:`NV12RoundTrip.albumentations`
and :meth:`NV12RoundTrip.for_tensors` are the two adapters.

Examples
--------
>>> import numpy as np
>>> from nv12kit.augment import NV12RoundTrip
>>> t = NV12RoundTrip("horizon", noise=2, seed=0)
>>> out = t(np.full((5, 7, 3), 128, np.uint8))
>>> out.shape, out.dtype
((5, 7, 3), dtype('uint8'))
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import _decoders, _kernels
from .conventions import Convention, get_convention
from .convert import _check_order
from .errors import InputError
from .images import check_uint8_image, pad_to_even
from .noise import DISTRIBUTIONS, draw_noise

__all__ = ["NV12RoundTrip", "round_trip"]


def round_trip(image: np.ndarray, convention: str | Convention = "horizon", *, order: str = "rgb") -> np.ndarray:
    """``nv12_to_rgb(rgb_to_nv12(image))`` in one convention, for any size: odd sides are padded, then cropped.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
        Any height and width (odd included).
    convention : str or Convention, default "horizon"
    order : {"rgb", "bgr"}, default "rgb"
        Channel order of ``image`` and of the result.

    Returns
    -------
    (H, W, 3) uint8 ndarray, the input's shape.

    Notes
    -----
    NV12 needs even sides (one chroma sample per 2 x 2 block). An odd last
    row or column is padded by repeating it (:func:`nv12kit.pad_to_even`,
    ``mode="edge"``), the padded frame goes through the round trip, and the
    padding is cropped off again. This is what an odd-sized frame meets on a
    chip: its buffers are allocated with even (aligned) sides and the encoder
    replicates the edge into them, and for box-averaged chroma it equals
    libyuv's own rule for odd sizes (the last chroma sample averages only the
    real pixels). The output never changes shape.

    Examples
    --------
    >>> import numpy as np
    >>> round_trip(np.zeros((3, 5, 3), np.uint8)).shape
    (3, 5, 3)
    """
    conv = get_convention(convention)
    perm = _check_order(order)
    rgb = check_uint8_image(image, name="round_trip's image")
    return _round_trip(rgb, conv, perm)


def _round_trip(rgb: np.ndarray, conv: Convention, perm: tuple[int, int, int]) -> np.ndarray:
    height, width = rgb.shape[:2]
    odd = height % 2 or width % 2
    frame = pad_to_even(rgb, mode="edge") if odd else rgb
    # The kernels of convert, called directly: the input is checked once, above.  Decoding
    # dispatches as nv12_to_rgb does (a node's own decoder when the convention names one).
    if conv.decoder is not None:
        out = _decoders.decode(*_kernels.encode(frame, conv, perm), conv, perm)
    else:
        out = _kernels.round_trip(frame, conv, perm)  # small frames: encode and decode fused where possible
    return np.ascontiguousarray(out[:height, :width]) if odd else out


def _worker_id() -> int:
    """The torch DataLoader worker's id, or 0; torch is only asked when something already imported it."""
    torch = sys.modules.get("torch")
    if torch is None:
        return 0
    try:
        info = torch.utils.data.get_worker_info()
    except AttributeError:  # a torch without utils.data loaded
        return 0
    return 0 if info is None else int(info.id)


class NV12RoundTrip:
    """Augmentation: the frame after an NV12 encode -> decode, as the chip's NV12 node would see it.

    Parameters
    ----------
    convention : str or Convention, default "horizon"
        The convention of the round trip (a name of :data:`nv12kit.CONVENTIONS`).
    p : float, default 1.0
        Probability of applying it; otherwise the input comes back as it was
        (the same object).
    conventions : sequence of str or Convention, optional
        Draw one per call, uniformly, instead of ``convention``: to train for
        several chips at once.
    noise : float, optional
        Amplitude ``a`` of pixel noise added after the round trip, in pixel
        values (``"symmetric"``: uniform on [-a, a), as in the noise study),
        then rounded to the nearest integer and clipped to 0-255.
    distribution : {"symmetric", "uniform_0_a", "gaussian"}, default "symmetric"
        The noise distribution, as in :func:`nv12kit.noise_study`.
    seed : int, optional
        ``None``: fresh entropy in every process. An int: a deterministic
        sequence of calls (see Notes).
    order : {"rgb", "bgr"}, default "rgb"
        Channel order of the arrays (``"bgr"`` for OpenCV); passed to both the
        encoder and the decoder. PIL images are always RGB.

    Notes
    -----
    **Input and output.** A uint8 ``(H, W, 3)`` array gives a new uint8 array
    of the same shape; a PIL image in mode ``"RGB"`` gives a PIL image in mode
    ``"RGB"`` of the same size. Anything else is refused with
    :class:`nv12kit.InputError`. Without noise, the result equals
    ``nv12_to_rgb(rgb_to_nv12(x, convention=c, order=o), convention=c, order=o)``
    exactly.

    **Odd sizes** are padded by edge replication to even sides, round-tripped
    and cropped back (:func:`round_trip`): the output always has the input's
    shape.

    **Randomness.** The random stream (the ``p`` draw, the convention, the
    noise, in that order per call) is created lazily in the process that
    first calls the transform, from ``SeedSequence(seed, spawn_key=(worker,))``
    where ``worker`` is the torch DataLoader worker id (asked only when torch
    is already imported; 0 otherwise). With ``seed=None`` the process id is
    mixed in as well and the entropy is fresh. A pickled or forked copy starts
    its own stream in its new process, so DataLoader workers never share one.
    With an int seed, worker ``k``'s ``n``-th call is the same in every run;
    workers restarted every epoch (``persistent_workers=False``) replay their
    stream, so use ``persistent_workers=True``, ``seed=None``, or a new seed
    per epoch when that matters.

    **Speed.** Frames up to 2**18 pixels (512 x 512) take the small-frame
    kernels (:mod:`nv12kit._kernels.small`: the same bytes in fewer passes;
    for ``horizon``, :mod:`nv12kit._kernels.fused` does encode and decode in
    one go) on the calling thread, never on the pool; in DataLoader workers
    ``nv12kit.set_num_threads(1)`` keeps larger frames there too.
    ``benchmarks/bench_augment.py`` compares the cost with a Pillow JPEG
    decode of the same size.
    """

    def __init__(
        self,
        convention: str | Convention = "horizon",
        p: float = 1.0,
        conventions: Sequence[str | Convention] | None = None,
        noise: float | None = None,
        seed: int | None = None,
        *,
        distribution: str = "symmetric",
        order: str = "rgb",
    ) -> None:
        if conventions is not None:
            if isinstance(conventions, (str, Convention)) or not len(conventions):
                raise InputError(
                    f"conventions must be a non-empty sequence of convention names, got {conventions!r}; "
                    "for a single one, pass convention=..."
                )
            self.conventions: tuple[Convention, ...] = tuple(get_convention(c) for c in conventions)
        else:
            self.conventions = (get_convention(convention),)
        self.convention = self.conventions[0] if conventions is None else None
        try:
            self.p = float(p)
        except (TypeError, ValueError) as exc:
            raise InputError(f"p must be a probability between 0 and 1, got {p!r}") from exc
        if not 0.0 <= self.p <= 1.0:
            raise InputError(f"p must be a probability between 0 and 1, got {p!r}")
        if noise is not None:
            noise = float(noise)
            if not np.isfinite(noise) or noise < 0:
                raise InputError(f"noise must be a non-negative amplitude in pixel values, got {noise!r}")
        self.noise = noise
        if distribution not in DISTRIBUTIONS:
            raise InputError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
        self.distribution = distribution
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise InputError(f"seed must be a non-negative int or None, got {seed!r}")
        self.seed = None if seed is None else int(seed)
        self.order = order
        self._perm = _check_order(order)
        self._rng: np.random.Generator | None = None
        self._owner: tuple[int, int] | None = None

    # -- randomness -------------------------------------------------------
    def _generator(self) -> np.random.Generator:
        owner = (os.getpid(), _worker_id())
        if self._rng is None or self._owner != owner:
            pid, worker = owner
            if self.seed is None:
                sequence = np.random.SeedSequence(None, spawn_key=(worker, pid))
            else:
                sequence = np.random.SeedSequence(self.seed, spawn_key=(worker,))
            self._rng, self._owner = np.random.default_rng(sequence), owner
        return self._rng

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_rng"] = state["_owner"] = None  # each process starts its own stream
        return state

    # -- the transform ----------------------------------------------------
    def __call__(self, image: Any) -> Any:
        """Apply the augmentation to a uint8 (H, W, 3) array or an RGB PIL image; same type back."""
        pil = _is_pil(image)
        if pil:
            if image.mode != "RGB":
                raise InputError(
                    f"NV12RoundTrip takes PIL images in mode 'RGB', got mode {image.mode!r}; "
                    "convert it first with image.convert('RGB')"
                )
            array = np.asarray(image)
            perm = (0, 1, 2)
        else:
            array = check_uint8_image(image, name="NV12RoundTrip's image")
            perm = self._perm
        needs_rng = self.p < 1.0 or len(self.conventions) > 1 or self.noise
        rng = self._generator() if needs_rng else None
        if self.p < 1.0 and rng.random() >= self.p:
            return image
        conv = self.conventions[int(rng.integers(len(self.conventions)))] if len(self.conventions) > 1 else \
            self.conventions[0]
        out = _round_trip(array, conv, perm)
        if self.noise:
            noisy = draw_noise(out.shape, self.noise, self.distribution, rng)
            noisy += out
            np.rint(noisy, out=noisy)
            np.clip(noisy, 0, 255, out=noisy)
            out = noisy.astype(np.uint8)
        if pil:
            from PIL import Image

            return Image.fromarray(out)
        return out

    def __repr__(self) -> str:
        names = [c.name for c in self.conventions]
        conv = f"conventions={names!r}" if self.convention is None else f"convention={names[0]!r}"
        extra = "" if self.noise is None else f", noise={self.noise:g}"
        extra += "" if self.distribution == "symmetric" else f", distribution={self.distribution!r}"
        extra += "" if self.order == "rgb" else f", order={self.order!r}"
        return f"NV12RoundTrip({conv}, p={self.p:g}{extra}, seed={self.seed!r})"

    # -- adapters ---------------------------------------------------------
    def albumentations(self) -> Callable[..., dict[str, Any]]:
        """An albumentations-style callable: ``f(image=x, **targets) -> {"image": y, **targets}``.

        Other targets (masks, boxes, ...) pass through unchanged: the round
        trip moves no pixel. It works inside ``albumentations.Compose`` as a
        ``Lambda(image=...)`` or anywhere ``image=`` callables are accepted.
        """
        return _AlbumentationsAdapter(self)

    def for_tensors(self) -> Callable[[Any], Any]:
        """A callable on uint8 CHW torch tensors (torchvision v2 style); torch is imported only when called.

        The tensor is moved to numpy (HWC), round-tripped and returned as a
        new uint8 CHW tensor. Batched ``(N, 3, H, W)`` tensors are done one
        image at a time, each with its own draws.
        """
        return _TensorAdapter(self)


def _is_pil(image: object) -> bool:
    pil = sys.modules.get("PIL.Image")
    return pil is not None and isinstance(image, pil.Image)


class _AlbumentationsAdapter:
    """``(image=..., **targets) -> dict``; picklable (a plain attribute)."""

    def __init__(self, transform: NV12RoundTrip) -> None:
        self.transform = transform

    def __call__(self, *args: Any, image: Any = None, **targets: Any) -> dict[str, Any]:
        if args or image is None:
            raise InputError("call the albumentations adapter with keywords, as albumentations does: f(image=x)")
        return {**targets, "image": self.transform(image)}

    def __repr__(self) -> str:
        return f"{self.transform!r}.albumentations()"


class _TensorAdapter:
    """uint8 (3, H, W) or (N, 3, H, W) torch tensor in, the same out."""

    def __init__(self, transform: NV12RoundTrip) -> None:
        self.transform = transform

    def __call__(self, tensor: Any) -> Any:
        import torch

        if not isinstance(tensor, torch.Tensor) or tensor.dtype != torch.uint8 or tensor.ndim not in (3, 4) \
                or tensor.shape[-3] != 3:
            raise InputError(
                f"for_tensors() takes a uint8 (3, H, W) or (N, 3, H, W) torch tensor, got "
                f"{type(tensor).__name__} {getattr(tensor, 'dtype', '')} {tuple(getattr(tensor, 'shape', ()))}; "
                "use torchvision's PILToTensor (not ToTensor, which makes floats) before it"
            )
        if tensor.ndim == 4:
            return torch.stack([self(one) for one in tensor])
        array = tensor.detach().cpu().numpy().transpose(1, 2, 0)
        out = self.transform(np.ascontiguousarray(array))
        return torch.from_numpy(np.ascontiguousarray(out.transpose(2, 0, 1))).to(tensor.device)

    def __repr__(self) -> str:
        return f"{self.transform!r}.for_tensors()"

