"""The model's input normalisation, defined once for both paths.

A float model trained on RGB images sees ``((x / divisor) - mean) / std``
of the uint8 image ``x``, in the channel order and layout it was trained
with. The NV12 preprocessing node computes the same thing from Y/UV (see
:func:`nv12kit.insert_nv12_node`). :class:`Preprocess` holds the numbers, turns
images into the feat path's tensor with exactly the node's float32
arithmetic, and hands the same numbers to the node, so the two paths cannot
drift apart.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .conventions import get_convention, range_name
from .errors import InputError, ModelError

__all__ = ["Preprocess", "METADATA_KEY", "NODE_MODES", "per_channel", "check_preprocess"]

#: ``metadata_props`` key under which a model may carry its preprocessing as JSON.
METADATA_KEY = "nv12kit.preprocess"

#: The NV12 node modes nv12kit implements (hbdk4's ``insert_image_preprocess`` names); here, below
#: graph and lint, so that both share them without importing onnx.
NODE_MODES: tuple[str | None, ...] = (
    "yuvbt601full2rgb",
    "yuvbt601full2bgr",
    "yuvbt601video2rgb",
    "yuvbt601video2bgr",
    None,
    "skip",
)

_ORDERS = ("rgb", "bgr", "yuv444")
_LAYOUTS = ("NCHW", "NHWC")
_NODE_RANGE = {"full": "full", "limited": "video"}  # our range name -> hbdk's word in the mode name


def per_channel(value: Any, name: str) -> tuple[float, float, float]:
    """A scalar or 3 finite numbers (one per channel) as a tuple of 3 floats.

    Parameters
    ----------
    value : float or sequence of 3 floats
        The per-channel value (a mean, a std); a scalar applies to all three.
    name : str
        The argument's name, for the error message.

    Raises
    ------
    InputError
        Not 1 or 3 finite numbers.

    Examples
    --------
    >>> per_channel(0.5, "mean")
    (0.5, 0.5, 0.5)
    """
    try:
        values = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a number or 3 numbers (one per channel), got {value!r}") from exc
    if values.size == 1:
        values = np.repeat(values, 3)
    if values.size != 3:
        raise InputError(f"{name} must be a number or 3 numbers (one per channel), got {values.size} values: {value!r}")
    if not np.all(np.isfinite(values)):
        raise InputError(f"{name} must be finite, got {value!r}")
    return tuple(float(v) for v in values)  # type: ignore[return-value]


@dataclass(frozen=True)
class Preprocess:
    """Input normalisation of a float model: ``((x / divisor) - mean) / std``.

    Parameters
    ----------
    mean, std : float or sequence of 3 floats
        Per-channel values in the channel order the model sees (``order``),
        in units of ``x / divisor``. A scalar applies to all channels.
    divisor : float, optional
        What the uint8 pixel is divided by first. The vendor node's default
        form is ``divisor=1`` with mean and std in 0-255 units.
    order : {"rgb", "bgr", "yuv444"}, optional
        Channel order the model was trained on. ``"yuv444"`` means a model
        trained on full-resolution BT.601 full-range YUV (the vendor node's
        ``mode=None``).
    layout : {"NCHW", "NHWC"}, optional
        Layout of the model's image input.

    Notes
    -----
    The PyTorch form ``(x / 255 - mean) / std`` (torchvision's ``ToTensor``
    then ``Normalize``) is ``Preprocess(mean, std, divisor=255)``. The same
    numbers in 0-255 units are ``Preprocess(255 * mean, 255 * std)``; use
    :meth:`from_torch` to build either. Both give the same tensor up to
    float32 rounding.

    :meth:`__call__` evaluates in float32 with the node's three steps
    (divide, subtract, divide), so the feat path and the node agree to the
    last bit for the same RGB input.

    Examples
    --------
    >>> import numpy as np
    >>> from nv12kit import Preprocess
    >>> pre = Preprocess(mean=128, std=128)
    >>> x = pre(np.full((2, 4, 3), 192, np.uint8))
    >>> x.shape, x.dtype, float(x[0, 0, 0, 0])
    ((1, 3, 2, 4), dtype('float32'), 0.5)
    >>> Preprocess.from_torch(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
    Preprocess(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), divisor=255.0, order='rgb', layout='NCHW')
    """

    mean: tuple[float, float, float] = field(default=(128.0, 128.0, 128.0))
    std: tuple[float, float, float] = field(default=(128.0, 128.0, 128.0))
    divisor: float = 1.0
    order: Literal["rgb", "bgr", "yuv444"] = "rgb"
    layout: Literal["NCHW", "NHWC"] = "NCHW"

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", per_channel(self.mean, "mean"))
        std = per_channel(self.std, "std")
        if any(s == 0 for s in std):
            raise InputError(f"std must not contain 0 (it divides), got {std}")
        object.__setattr__(self, "std", std)
        try:
            divisor = float(self.divisor)
        except (TypeError, ValueError) as exc:
            raise InputError(f"divisor must be a positive number, got {self.divisor!r}") from exc
        if not math.isfinite(divisor) or divisor <= 0:
            raise InputError(
                f"divisor must be a positive number, got {self.divisor!r}; "
                "use 1 for mean/std in 0-255 units, 255 for the PyTorch form"
            )
        object.__setattr__(self, "divisor", divisor)
        order = self.order.lower() if isinstance(self.order, str) else self.order
        if order not in _ORDERS:
            raise InputError(f"order must be one of {_ORDERS}, got {self.order!r}")
        object.__setattr__(self, "order", order)
        layout = self.layout.upper() if isinstance(self.layout, str) else self.layout
        if layout not in _LAYOUTS:
            raise InputError(f"layout must be 'NCHW' or 'NHWC', got {self.layout!r}")
        object.__setattr__(self, "layout", layout)

    # ------------------------------------------------------------------
    # constructors
    # ------------------------------------------------------------------
    @classmethod
    def from_torch(
        cls,
        mean: Sequence[float],
        std: Sequence[float],
        *,
        scale: float = 255.0,
        order: Literal["rgb", "bgr"] = "rgb",
        layout: Literal["NCHW", "NHWC"] = "NCHW",
    ) -> Preprocess:
        """Build from the PyTorch form ``(x / scale - mean) / std``.

        Parameters
        ----------
        mean, std : sequence of 3 floats
            torchvision ``Normalize`` values, in 0-1 units.
        scale : float, optional
            What ``ToTensor`` divides by: 255. Some pipelines use 256.
        order, layout : str, optional
            As in :class:`Preprocess`.

        Returns
        -------
        Preprocess
            ``Preprocess(mean, std, divisor=scale, ...)``.
        """
        return cls(mean=mean, std=std, divisor=scale, order=order, layout=layout)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Preprocess:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        if not isinstance(data, Mapping):
            raise InputError(f"expected a mapping with mean, std, divisor, order, layout; got {type(data).__name__}")
        known = {"mean", "std", "divisor", "order", "layout"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"unknown preprocessing keys {unknown}; expected some of {sorted(known)}")
        if "mean" not in data or "std" not in data:
            raise InputError("a preprocessing spec needs at least 'mean' and 'std'")
        return cls(**dict(data))

    @classmethod
    def from_model(cls, model: Any) -> Preprocess:
        """Read the spec a model carries in ``metadata_props["nv12kit.preprocess"]``.

        Parameters
        ----------
        model : str, os.PathLike or onnx.ModelProto
            The float model.

        Raises
        ------
        ModelError
            If the model has no such entry or it is not valid JSON; the
            message says how to give the preprocessing explicitly.
        """
        from .model import load_model

        proto = load_model(model)
        props = {p.key: p.value for p in proto.metadata_props}
        if METADATA_KEY not in props:
            raise ModelError(
                f"the model carries no {METADATA_KEY!r} metadata; give the preprocessing yourself, "
                "e.g. Preprocess(mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375)) "
                "or Preprocess.from_torch(mean, std)"
            )
        try:
            return cls.from_dict(json.loads(props[METADATA_KEY]))
        except (json.JSONDecodeError, InputError) as exc:
            raise ModelError(f"the model's {METADATA_KEY!r} metadata is not a valid spec: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; :meth:`from_dict` reads it back."""
        return {
            "mean": list(self.mean),
            "std": list(self.std),
            "divisor": self.divisor,
            "order": self.order,
            "layout": self.layout,
        }

    # ------------------------------------------------------------------
    # the node's view of the same numbers
    # ------------------------------------------------------------------
    def node_mode(self, *, chip_range: Literal["full", "limited"] = "full") -> str | None:
        """The vendor node ``mode`` that matches this training order.

        Parameters
        ----------
        chip_range : {"full", "limited"}, optional
            Range the chip's NV12 arrives in: ``"full"`` (hbdk's default) or
            ``"limited"`` (BT.601 limited, e.g. from OpenCV's I420; hbdk
            calls it "video", which is accepted with a DeprecationWarning).

        Returns
        -------
        str or None
            ``"yuvbt601full2rgb"`` and friends; ``None`` for ``order="yuv444"``.
        """
        chip_range = range_name(chip_range, name="chip_range")
        if self.order == "yuv444":
            return None
        return f"yuvbt601{_NODE_RANGE[chip_range]}2{self.order}"

    def node_kwargs(self, *, chip_range: Literal["full", "limited"] = "full") -> dict[str, Any]:
        """Keyword arguments for :func:`nv12kit.insert_nv12_node` that match this spec.

        Examples
        --------
        >>> Preprocess(mean=128, std=64).node_kwargs()["mode"]
        'yuvbt601full2rgb'
        """
        return {
            "mode": self.node_mode(chip_range=range_name(chip_range, name="chip_range")),
            "divisor": self.divisor,
            "mean": self.mean,
            "std": self.std,
            "layout": self.layout,
        }

    # ------------------------------------------------------------------
    # applying it
    # ------------------------------------------------------------------
    def channels(self, image: Any) -> np.ndarray:
        """The uint8 image in the model's channel order, before normalisation.

        Parameters
        ----------
        image : (H, W, 3) or (N, H, W, 3) uint8 array, or PIL image
            RGB.

        Returns
        -------
        numpy.ndarray
            Same shape; BGR for ``order="bgr"``, BT.601 full-range YUV
            (rounded to nearest, no subsampling) for ``order="yuv444"``.
        """
        rgb = _as_rgb_batch(image)
        if self.order == "rgb":
            return rgb
        if self.order == "bgr":
            return np.ascontiguousarray(rgb[..., ::-1])
        matrix, offset = get_convention("bt601-full").encode_matrix()
        yuv = rgb.astype(np.float64) @ matrix.T + offset
        return np.clip(np.floor(yuv + 0.5), 0, 255).astype(np.uint8)

    def normalize_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """Normalise float RGB pixel values (0-255, channels last) into the model's float32 tensor.

        For perturbed images: noise is added in pixel space as real values,
        so they are not rounded back to uint8 first.

        Parameters
        ----------
        pixels : (H, W, 3) or (N, H, W, 3) float array
            RGB values on the 0-255 scale.

        Returns
        -------
        numpy.ndarray
            float32 tensor, as :meth:`__call__` returns for uint8 input.
        """
        x = np.asarray(pixels)
        if x.ndim == 3:
            x = x[None]
        if x.ndim != 4 or x.shape[-1] != 3:
            raise InputError(f"expected (H, W, 3) or (N, H, W, 3) pixel values, got shape {x.shape}")
        if self.order == "yuv444":
            matrix, offset = get_convention("bt601-full").encode_matrix()
            x = (x.astype(np.float32).astype(np.float64) @ matrix.T + offset).astype(np.float32)
        return self._normalise(x)

    def _normalise(self, x: np.ndarray) -> np.ndarray:
        """The node's three float32 steps, in its order, so both paths agree bit for bit.

        ``x`` is (N, H, W, 3), RGB for rgb/bgr models (the channels are
        reordered here) or already YUV for yuv444.  Each channel is computed
        straight into the output layout: no float32 copy of the whole image
        and no transpose, 4x faster than whole-image steps on a 128x128 frame,
        which matters when a forward pass takes 0.3 ms.
        """
        n, height, width = x.shape[:3]
        channels_first = self.layout == "NCHW"
        out = np.empty((n, 3, height, width) if channels_first else (n, height, width, 3), np.float32)
        divisor = np.float32(self.divisor)
        for c in range(3):
            source = x[..., 2 - c if self.order == "bgr" else c]
            target = out[:, c] if channels_first else out[..., c]
            np.divide(source, divisor, out=target, dtype=np.float32)
            np.subtract(target, np.float32(self.mean[c]), out=target)
            np.divide(target, np.float32(self.std[c]), out=target)
        return out

    def pixel_gain(self) -> np.ndarray:
        """d tensor / d pixel per tensor channel, ``1 / (divisor * std)``, in float64.

        >>> Preprocess(divisor=255, std=0.5).pixel_gain().round(6).tolist()
        [0.007843, 0.007843, 0.007843]
        """
        return 1.0 / (float(self.divisor) * np.asarray(self.std, np.float64))

    def tensor_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The lowest and highest tensor value each tensor channel can take (pixels 0 and 255), float32.

        >>> low, high = Preprocess(mean=128, std=128).tensor_bounds()
        >>> low.tolist(), high.tolist()
        ([-1.0, -1.0, -1.0], [0.9921875, 0.9921875, 0.9921875])
        """
        ends = self.normalize_pixels(np.array([[[0.0] * 3, [255.0] * 3]], np.float32))[0]
        ends = ends.reshape(3, 2) if self.layout == "NCHW" else ends.reshape(2, 3).T
        return ends.min(axis=1), ends.max(axis=1)

    def __call__(self, image: Any) -> np.ndarray:
        """Normalise an RGB uint8 image (or a batch) into the model's float32 tensor.

        Parameters
        ----------
        image : (H, W, 3) or (N, H, W, 3) uint8 array, or PIL image
            RGB, whatever ``order`` the model was trained on.

        Returns
        -------
        numpy.ndarray
            float32, ``(N, 3, H, W)`` or ``(N, H, W, 3)`` (N = 1 for one image).

        Raises
        ------
        InputError
            If the image is not uint8 with 3 channels last.
        """
        rgb = _as_rgb_batch(image)
        return self._normalise(rgb if self.order != "yuv444" else self.channels(rgb))

    def to_image(self, tensor: np.ndarray) -> np.ndarray:
        """Undo the normalisation: the model tensor back to uint8 RGB images.

        Parameters
        ----------
        tensor : numpy.ndarray
            ``(N, 3, H, W)`` or ``(N, H, W, 3)`` as produced by :meth:`__call__`
            (a single image without N is accepted).

        Returns
        -------
        numpy.ndarray
            ``(N, H, W, 3)`` uint8, rounded and clipped; for ``order="bgr"``
            the channels are put back in RGB order. ``yuv444`` tensors come
            back as YUV.
        """
        x = np.asarray(tensor, dtype=np.float64)
        if x.ndim == 3:
            x = x[None]
        axis = 1 if self.layout == "NCHW" else 3
        if x.ndim != 4 or x.shape[axis] != 3:
            raise InputError(
                f"expected a {self.layout} tensor with 3 channels, got shape {np.shape(tensor)}"
            )
        if self.layout == "NCHW":
            x = x.transpose(0, 2, 3, 1)
        x = (x * np.asarray(self.std) + np.asarray(self.mean)) * self.divisor
        out = np.clip(np.floor(x + 0.5), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(out[..., ::-1]) if self.order == "bgr" else out

    def __str__(self) -> str:
        mean = ", ".join(f"{v:g}" for v in self.mean)
        std = ", ".join(f"{v:g}" for v in self.std)
        return f"(x / {self.divisor:g} - [{mean}]) / [{std}], {self.order.upper()}, {self.layout}"


def check_preprocess(preprocess: Any) -> Preprocess:
    """Return ``preprocess`` if it is a :class:`Preprocess`, else raise the one message that says how to make one.

    >>> check_preprocess(Preprocess()).layout
    'NCHW'
    """
    if not isinstance(preprocess, Preprocess):
        raise InputError(
            f"preprocess must be an nv12kit.Preprocess, got {type(preprocess).__name__}; e.g. "
            "Preprocess(mean=128, std=128), Preprocess.from_torch(mean, std) or Preprocess.from_model(path)"
        )
    return preprocess


def _as_rgb_batch(image: Any) -> np.ndarray:
    """(N, H, W, 3) uint8 from one image or a batch."""
    from .images import check_uint8_image

    image = check_uint8_image(image, batch=True, pil=True)
    return image[None] if image.ndim == 3 else image
