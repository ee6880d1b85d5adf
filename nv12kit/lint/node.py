"""lint_node: check the NV12 node's settings (mode, divisor, mean, std) against how the model was trained.

Each problem is a :class:`~nv12kit.lint.NodeFinding` carrying the corrected
``insert_nv12_node`` call.  Ranges are "full" or "limited"; the node modes
keep hbdk's names (``yuvbt601video2rgb`` decodes limited range).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._util import renamed
from ..conventions import range_name
from ..errors import InputError
from ..preprocess import NODE_MODES, per_channel
from .findings import NodeFinding


def _three(value: Any, name: str) -> tuple[float, float, float] | None:
    """None, or a scalar or 3 finite numbers as 3 floats (Preprocess's own check)."""
    return None if value is None else per_channel(value, name)


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(round(float(v), 6))


def _call(mode: str | None, divisor: float, mean: Sequence[float], std: Sequence[float]) -> str:
    def seq(vals: Sequence[float]) -> str:
        return "(" + ", ".join(_num(v) for v in vals) + ")"

    return (
        f"insert_nv12_node(model, mode={mode!r}, divisor={_num(divisor)}, mean={seq(mean)}, std={seq(std)})"
    )


_IMAGENET_MEAN = (0.485, 0.456, 0.406)


def lint_node(
    *,
    mode: str | None,
    divisor: float | None,
    mean: float | Sequence[float],
    std: float | Sequence[float],
    train_order: str = "rgb",
    train_mean: float | Sequence[float] | None = None,
    train_std: float | Sequence[float] | None = None,
    train_divisor: float | None = None,
    chip_range: str = "full",
    train_scale: float | None = None,
) -> list[NodeFinding]:
    """Check NV12 node settings against how the model was trained.

    The node computes ``((colour_convert(x, mode) / divisor) - mean) / std``
    (hbdk4's ``insert_image_preprocess``; :func:`nv12kit.insert_nv12_node`).
    Training computed ``((x / train_divisor) - train_mean) / train_std`` on
    ``train_order`` images.

    Parameters
    ----------
    mode : str or None
        The node's colour conversion: ``"yuvbt601full2rgb"``,
        ``"yuvbt601full2bgr"``, ``"yuvbt601video2rgb"``,
        ``"yuvbt601video2bgr"``, or ``None``/``"skip"`` (no conversion:
        the model was trained on YUV444).
    divisor : float or None
        What the node divides the converted pixel by.  ``None`` is flagged:
        the vendor documents it both as 256 and as 255.
    mean, std : float or 3 floats
        The node's normalisation, in units of ``x / divisor`` and in the
        model's channel order.
    train_order : {"rgb", "bgr", "yuv444"}, optional
        What the model was trained on.
    train_mean, train_std, train_divisor : optional
        The training normalisation, when known.  ``train_divisor`` is what
        training divided the 0-255 pixel by (255 for torchvision's
        ``ToTensor``; :class:`~nv12kit.Preprocess` calls it ``divisor``);
        without it, statistics of at most 1.5 imply 255 and larger ones 1.
        A missing ``train_mean`` or ``train_std`` is taken to equal the
        node's (so ``train_divisor`` alone checks the divisor).  Without any
        of them only the settings' own consistency is checked.
    chip_range : {"full", "limited"}, optional
        The range of the NV12 the chip delivers.  hbdk's ``"video"`` (its
        word for limited) is accepted for one release with a
        :class:`DeprecationWarning`.
    train_scale : float, optional
        Deprecated old name of ``train_divisor``, kept for one release.

    Returns
    -------
    list of NodeFinding
        Empty when nothing is wrong.  Every finding carries the same
        corrected call in ``.fix``, with all findings applied.

    Raises
    ------
    InputError
        Malformed arguments: an unknown mode, train_order or chip_range, a
        mean of 2 values, a zero std, a non-positive divisor or
        train_divisor; both ``train_divisor`` and ``train_scale`` given.

    Warns
    -----
    DeprecationWarning
        ``train_scale=`` was given (say ``train_divisor=``), or
        ``chip_range="video"`` (say ``"limited"``).

    Notes
    -----
    The normalisation is compared as a per-channel affine map of the pixel:
    a difference is reported in pixel levels at the worst end of 0..255.
    Up to 0.05 levels is float rounding and passes; up to 2 levels (255
    against 256 gives 1) is a warning; more is an error.

    Examples
    --------
    >>> from nv12kit.lint import lint_node
    >>> findings = lint_node(mode=None, divisor=1, mean=128, std=128, train_order="rgb")
    >>> [(f.id, f.severity) for f in findings]
    [('mode', 'error')]
    >>> print(findings[0].fix)
    insert_nv12_node(model, mode='yuvbt601full2rgb', divisor=1, mean=(128, 128, 128), std=(128, 128, 128))
    >>> [f.id for f in lint_node(mode="yuvbt601full2rgb", divisor=255, mean=0.5, std=0.5, train_divisor=256)]
    ['divisor']
    >>> lint_node(mode="yuvbt601full2rgb", divisor=1, mean=128, std=128)
    []
    """
    divisor_name = "train_divisor" if train_scale is None else "train_scale"  # the name the caller used
    train_divisor = renamed(
        train_divisor, train_scale, new="train_divisor", old="train_scale", new_given=train_divisor is not None
    )
    if train_order not in ("rgb", "bgr", "yuv444"):
        raise InputError(f"train_order must be 'rgb', 'bgr' or 'yuv444', got {train_order!r}")
    chip = range_name(chip_range, name="chip_range")
    if mode not in set(NODE_MODES) | {"bgr2rgb", "rgb2bgr"}:
        raise InputError(f"unknown mode {mode!r}; expected one of {list(NODE_MODES)}")
    node_mean = _three(mean, "mean")
    node_std = _three(std, "std")
    assert node_mean is not None and node_std is not None
    if any(v == 0 for v in node_std):
        raise InputError(f"std must not contain 0 (it divides), got {std!r}")
    if divisor is not None:
        if isinstance(divisor, (bool, np.bool_)) or not isinstance(divisor, (int, float, np.integer, np.floating)):
            raise InputError(f"divisor must be a positive number or None, got {divisor!r}")
        if not math.isfinite(float(divisor)) or float(divisor) <= 0:
            raise InputError(f"divisor must be a positive number, got {divisor!r}")
    t_mean = _three(train_mean, "train_mean")
    t_std = _three(train_std, "train_std")
    if t_std is not None and any(v == 0 for v in t_std):
        raise InputError(f"train_std must not contain 0, got {train_std!r}")
    if train_divisor is not None and (
        isinstance(train_divisor, (bool, np.bool_))
        or not isinstance(train_divisor, (int, float, np.integer, np.floating))
        or not float(train_divisor) > 0
    ):
        raise InputError(f"{divisor_name} must be a positive number, got {train_divisor!r}")

    found: list[tuple[str, str, str]] = []  # (id, severity, message)
    mode_range = "full" if chip == "full" else "video"  # hbdk's mode names say "video" for limited range
    want_mode = None if train_order == "yuv444" else f"yuvbt601{mode_range}2{train_order}"

    # --- the colour conversion -----------------------------------------------------------------
    if mode in ("bgr2rgb", "rgb2bgr"):
        found.append(
            (
                "mode",
                "error",
                f"mode={mode!r} swaps the channels of an RGB/BGR input, but behind an NV12 input the node sees "
                f"YUV; use mode={want_mode!r}",
            )
        )
    elif mode in (None, "skip"):
        if train_order != "yuv444":
            found.append(
                (
                    "mode",
                    "error",
                    f"mode={mode!r} feeds the model YUV444 (it means the model was trained on YUV), but it was "
                    f"trained on {train_order.upper()}: the node must convert, mode={want_mode!r}",
                )
            )
    elif train_order == "yuv444":
        found.append(
            ("mode", "error", f"mode={mode!r} converts to {mode[-3:].upper()}, but the model was trained on YUV444; "
             "use mode=None")
        )
    else:
        m_range, m_order = ("full" if "full" in mode else "limited"), mode[-3:]
        if m_order != train_order:
            found.append(
                (
                    "order",
                    "error",
                    f"mode={mode!r} gives {m_order.upper()} but the model was trained on {train_order.upper()}: red "
                    "and blue are exchanged",
                )
            )
        if m_range != chip:
            effect = "blacks turn grey and whites dim" if m_range == "full" else "contrast is stretched and clipped"
            found.append(
                (
                    "range",
                    "error",
                    f"mode={mode!r} decodes {m_range} range but the chip delivers {chip} range NV12: {effect}",
                )
            )
    fixed_mode = want_mode

    # --- the normalisation ---------------------------------------------------------------------
    fixed_divisor = float(divisor) if divisor is not None else (1.0 if max(node_mean) > 2 else 255.0)
    fixed_mean, fixed_std = node_mean, node_std
    if divisor is None:
        found.append(
            (
                "ambiguous",
                "warning",
                "divisor=None is documented both as 256 and as 255 by the vendor; pass the divisor explicitly",
            )
        )
    if t_mean is not None or t_std is not None or train_divisor is not None:
        given = [v for v in (t_mean, t_std) if v is not None]
        if train_divisor is not None:
            scale = float(train_divisor)
        elif given and max(max(abs(x) for x in v) for v in given) <= 1.5:
            scale = 255.0
        else:
            scale = 1.0
        tm = t_mean if t_mean is not None else node_mean
        ts = t_std if t_std is not None else node_std
        g_node = np.array([1.0 / (fixed_divisor * sd) for sd in node_std])
        b_node = np.array([-m / sd for m, sd in zip(node_mean, node_std)])
        g_train = np.array([1.0 / (scale * sd) for sd in ts])
        b_train = np.array([-m / sd for m, sd in zip(tm, ts)])
        # Worst difference over x in 0..255, in pixel levels of the training input.
        err = np.maximum(np.abs(b_node - b_train), np.abs((g_node - g_train) * 255 + b_node - b_train))
        err = err * np.abs(1.0 / g_train)
        worst = float(err.max())
        if worst > 0.05:
            severity = "warning" if worst <= 2 else "error"
            same_stats = np.allclose(tm, node_mean) and np.allclose(ts, node_std)
            if same_stats and fixed_divisor != scale:
                found.append(
                    (
                        "divisor",
                        severity,
                        f"the node divides by {_num(fixed_divisor)} but training divided by {_num(scale)}"
                        + (" (255 against 256)" if {round(fixed_divisor), round(scale)} == {255, 256} else "")
                        + f": the model's inputs are off by up to {worst:.2f} pixel levels",
                    )
                )
            else:
                gain_ratio = g_node / g_train
                if np.any(np.abs(gain_ratio - 1) > 1e-4):
                    found.append(
                        (
                            "std",
                            severity,
                            f"the node scales pixels by 1/(divisor*std) = 1/{_vec(1 / g_node)} but training by "
                            f"1/{_vec(1 / g_train)}: the model's inputs are off by up to {worst:.1f} pixel levels",
                        )
                    )
                if np.any(np.abs(b_node - b_train) / g_train > 0.05):
                    found.append(
                        (
                            "mean",
                            severity,
                            f"the node subtracts mean/std = {_vec(-b_node)} but training {_vec(-b_train)}: the "
                            f"model's inputs are off by up to {worst:.1f} pixel levels",
                        )
                    )
            fixed_divisor, fixed_mean, fixed_std = scale, tm, ts
        if train_order == "bgr" and t_mean is not None and _is_imagenet_rgb(t_mean):
            found.append(
                (
                    "order",
                    "warning",
                    f"train_mean {_vec(t_mean)} is ImageNet's mean in RGB order, but the model was trained on BGR; "
                    "check the order of mean and std",
                )
            )
    else:
        # Only the settings themselves: 0-1 statistics with 0-255 pixels, or the reverse.
        if fixed_divisor >= 200 and max(node_mean) > 2:
            found.append(
                (
                    "scale",
                    "error",
                    f"divisor={_num(fixed_divisor)} scales pixels to about 0-1 but mean={_vec(node_mean)} is in "
                    "0-255 units: use divisor=1 with these mean and std, or give mean and std in 0-1 units",
                )
            )
            fixed_divisor = 1.0
        elif fixed_divisor <= 2 and 0 < max(node_mean) <= 1.0 and max(node_std) <= 1.0:
            found.append(
                (
                    "scale",
                    "error",
                    f"divisor={_num(fixed_divisor)} keeps pixels in 0-255 but mean={_vec(node_mean)} and "
                    f"std={_vec(node_std)} look like 0-1 statistics: use divisor=255",
                )
            )
            fixed_divisor = 255.0
        if train_order == "bgr" and _is_imagenet_rgb(node_mean):
            found.append(
                (
                    "order",
                    "warning",
                    f"mean {_vec(node_mean)} is ImageNet's mean in RGB order, but the model was trained on BGR: mean "
                    "and std must be in the model's channel order",
                )
            )
    fix = _call(fixed_mode, fixed_divisor, fixed_mean, fixed_std)
    return [NodeFinding(i, sev, msg, fix) for i, sev, msg in found]


def _is_imagenet_rgb(values: Sequence[float]) -> bool:
    """ImageNet's RGB mean (0.485, 0.456, 0.406), in 0-1 or 0-255 units, in RGB order (not BGR)."""
    vals = np.asarray(values, dtype=np.float64)
    ref = np.array(_IMAGENET_MEAN) * (255.0 if vals.max() > 1.5 else 1.0)
    return bool(np.allclose(vals, ref, rtol=0.02))


def _vec(values: Any) -> str:
    vals = [float(v) for v in np.asarray(values).reshape(-1)]
    if max(vals) - min(vals) < 1e-9:
        return f"{vals[0]:.4g}"
    return "(" + ", ".join(f"{v:.4g}" for v in vals) + ")"
