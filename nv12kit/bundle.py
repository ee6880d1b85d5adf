"""The ticket bundle: one zip a vendor can replay, made from a triage's own inputs and outputs.

``report.to_bundle("ticket.zip")`` (CLI: ``nv12kit triage ... --bundle
ticket.zip``) writes, for the image that decided the verdict:

========================================  ==================================================================
``README.txt``                            what the bundle holds and how to replay it
``command.txt``                           the command that ran the triage (the CLI's argv as typed, or
                                          the Python call)
``versions.json``                         nv12kit, numpy, onnx, onnxruntime, Pillow, Python, platform
``manifest.json``                         every other member's size and SHA-256
``report.html``, ``report.json``          the triage's reports
``frame/<image>.png``                     the frame at the model's input size, RGB, as the float model saw it
``frame/<image>_<W>x<H>.nv12``            the NV12 frame fed to the NV12 model (Y, then interleaved UV; no
                                          padding)
``feeds/<model>.npz``, ``.polygraphy.json``  each model's inputs (``polygraphy run --load-inputs``)
``outputs/<variant>.npz``, ``.polygraphy.json``  each variant's outputs (``--load-outputs``, ``nv12kit
                                          compare``)
========================================  ==================================================================

Nothing else goes in: no model (they are the user's; README.txt says how
nv12kit's NV12 model is rebuilt), no other file, no path but those the
user typed in the command. Members carry a fixed timestamp and
permissions, so the same report gives the same zip (``report.html`` says
when it was rendered). The zip is written atomically and never replaces
an input of the triage.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pathlib
import re
import zipfile
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ._io import atomic_path, jsonable
from .errors import InputError

__all__ = ["write_bundle", "bundle_members", "npz_bytes"]

#: Every member's timestamp: the earliest a zip can hold, so a bundle does not depend on when it was made.
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_MODE = 0o644 << 16
_FEED_MODELS = ("qat_feat", "qat_nv12")


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = _MODE
    info.create_system = 3  # Unix, whatever the platform: the same bytes everywhere
    return info


def npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """An ``.npz`` archive (``np.savez``'s layout) with fixed timestamps: the same arrays give the same bytes.

    ``np.savez`` stamps each member with the current time; this does not.

    Examples
    --------
    >>> data = npz_bytes({"x": np.arange(3)})
    >>> data == npz_bytes({"x": np.arange(3)}), np.load(io.BytesIO(data))["x"].tolist()
    (True, [0, 1, 2])
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, value in arrays.items():
            array = np.asarray(value)
            if array.dtype.hasobject:
                raise InputError(f"{name!r} is an object array; a bundle holds plain numeric arrays only")
            member = io.BytesIO()
            np.save(member, array, allow_pickle=False)
            info = _info(f"{name}.npy")
            info.compress_type = zipfile.ZIP_STORED
            archive.writestr(info, member.getvalue())
    return buffer.getvalue()


def _safe_stem(name: str) -> str:
    """A member name from the image's name: its stem, in portable characters (no folders, nothing hidden)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", pathlib.PurePath(str(name)).stem).strip("._")
    return stem[:80] or "frame"


def _png(rgb: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _describe(arrays: Mapping[str, np.ndarray]) -> str:
    return ", ".join(f"{k} {list(np.shape(v))} {np.asarray(v).dtype}" for k, v in arrays.items())


def bundle_members(report: Any, *, figures: bool = True, command: str | None = None,
                   progress: bool = False) -> list[tuple[str, bytes]]:
    """The bundle's members as ``(name, bytes)``, README.txt first (see the module documentation).

    Parameters
    ----------
    report : nv12kit.TriageReport
        A report from :func:`nv12kit.triage`.
    figures : bool, optional
        Figures in ``report.html``.
    command : str, optional
        The command to record; by default the one the report keeps
        (``report.command``: the Python call, or the CLI's argv).
    progress : bool, optional
        A progress bar over the HTML report's figures.

    Raises
    ------
    InputError
        A report without images or without its decisive frame (one read back
        from JSON, say): there is nothing to replay.
    """
    from .dumps.polygraphy import encode_polygraphy_inputs, encode_polygraphy_outputs
    from .report import render_html

    preview = getattr(report, "preview", None) or {}
    if not report.images or "rgb" not in preview or "frame" not in preview:
        raise InputError("this report keeps no decisive frame (it was not made by nv12kit.triage in this "
                         "session, or it has no image), so there is nothing to bundle; run the triage again and "
                         "call report.to_bundle(...) on its result")
    image = report.images[report.worst]
    stem = _safe_stem(image.name)
    frame = preview["frame"]
    replay = preview.get("replay") or {"feeds": {}, "outputs": {}}
    command = command if command is not None else (getattr(report, "command", "") or "(not recorded)")
    members: list[tuple[str, bytes]] = [
        ("command.txt", (command.rstrip("\n") + "\n").encode("utf-8")),
        ("versions.json", json.dumps(dict(report.versions), indent=2, sort_keys=True).encode("utf-8")),
        ("report.json", json.dumps(jsonable(report.to_dict()), indent=2, allow_nan=False).encode("utf-8")),
        ("report.html", render_html(report, figures=figures, progress=progress).encode("utf-8")),
        (f"frame/{stem}.png", _png(preview["rgb"])),
        (f"frame/{stem}_{frame.width}x{frame.height}.nv12", frame.to_bytes(layout="nv12")),
    ]
    for model, feed in replay["feeds"].items():
        members += [(f"feeds/{model}.npz", npz_bytes(feed)),
                    (f"feeds/{model}.polygraphy.json", encode_polygraphy_inputs(feed))]
    for variant, outputs in replay["outputs"].items():
        members += [(f"outputs/{variant}.npz", npz_bytes(outputs)),
                    (f"outputs/{variant}.polygraphy.json", encode_polygraphy_outputs(outputs, runner_name=variant))]
    manifest = {name: {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()} for name, data in members}
    members.append(("manifest.json", json.dumps(manifest, indent=2).encode("utf-8")))
    readme = _readme(report, image, stem, frame, replay, [name for name, _ in members])
    return [("README.txt", readme.encode("utf-8")), *members]


def write_bundle(report: Any, path: str | os.PathLike[str], *, figures: bool = True, command: str | None = None,
                 overwrite: bool | None = None, inputs: Iterable[str | os.PathLike[str]] = (),
                 progress: bool = False) -> pathlib.Path:
    """Write a triage's ticket bundle (a zip), atomically; see the module documentation for what it holds.

    Parameters
    ----------
    report : nv12kit.TriageReport
        A report from :func:`nv12kit.triage`.
    path : str or os.PathLike
        The zip to write (``ticket.zip``).
    figures, command, progress
        As for :func:`bundle_members`.
    overwrite : bool or None, optional
        Whether an existing file may be replaced; None follows the enclosing
        ``write_rules`` block (outside one: replace). The triage's own
        inputs (model, images, NV12 frames, baseline) are never replaced.
    inputs : iterable of path, optional
        More files the bundle may not replace.

    Returns
    -------
    pathlib.Path
        The zip written.

    Raises
    ------
    InputError
        As for :func:`bundle_members`; a target that is an input, a folder
        or a device, or exists without ``overwrite``.
    """
    members = bundle_members(report, figures=figures, command=command, progress=progress)
    protected = [*(getattr(report, "preview", None) or {}).get("input_paths", ()), *inputs]
    with atomic_path(path, overwrite=overwrite, inputs=protected) as tmp:
        with zipfile.ZipFile(tmp, "w") as archive:
            for name, data in members:
                archive.writestr(_info(name), data)
    return pathlib.Path(path)


# ----------------------------------------------------------------------------
# README.txt
# ----------------------------------------------------------------------------
def _nv12_model_lines(report: Any, image_input: str) -> list[str]:
    p = report.parameters
    if p.get("nv12_runtime") == "openvino":
        return [f"outputs/qat_nv12 came from {p.get('nv12_node')}: replay it with OpenVINO (nv12kit triage "
                "--nv12-runtime openvino); nv12kit's emulated ONNX node differs from it by about one level on a few "
                "percent of pixels."]
    if p.get("nv12_model") != "built by nv12kit.insert_nv12_node":
        return [f"The NV12 model was your own ({p.get('nv12_model')}); replay with it as qat_nv12.onnx."]
    node = {k: v for k, v in (p.get("node") or {}).items()}
    args = ", ".join(f"{k}={v!r}" for k, v in node.items())
    return ["The NV12 model (qat_nv12) is the float model behind nv12kit's emulated NV12 node; rebuild it with:",
            f"    python -c \"import nv12kit; nv12kit.save_model(nv12kit.insert_nv12_node('MODEL.onnx', "
            f"input_name={image_input!r}, {args}), 'qat_nv12.onnx')\""]


def _readme(report: Any, image: Any, stem: str, frame: Any, replay: Mapping[str, Any], names: list[str]) -> str:
    p, v = report.parameters, report.verdict
    feeds, outputs = replay["feeds"], replay["outputs"]
    image_input = next(iter(feeds.get("qat_feat", {})), "image")
    nv12_name = f"frame/{stem}_{frame.width}x{frame.height}.nv12"
    nv12_what = ("the planes after the resizer (the full frame's NV12, ROI cropped and resized on the chip)"
                 if p.get("source") == "resizer" else "the same frame as NV12, as fed to the NV12 model")
    lines = [
        "nv12kit ticket bundle",
        "=====================",
        "",
        f"Verdict: {v.id} ({v.title}); decided by: {v.decided_by}",
        f"Model: {p.get('model')}; input {p.get('input')}; convention {p.get('convention')}; "
        f"NV12 node: {p.get('nv12_node') or p.get('nv12_model')}",
        f"Decisive image: {image.name}, {image.shape[0]}x{image.shape[1]} (height x width) at the model's input; "
        f"frame source: {image.frame_source}",
        "",
        "This zip holds only this triage's own inputs and outputs for the image that decided the verdict. The models",
        "are not included (they are yours); command.txt holds the command as it was typed, with the paths typed.",
        "",
        "Contents",
        "--------",
        "README.txt                 this file",
        "command.txt                the command that ran the triage (CLI argv, or the Python call)",
        "versions.json              nv12kit, numpy, onnx, onnxruntime, Pillow, Python and platform versions",
        "manifest.json              size and SHA-256 of every other file",
        "report.html, report.json   the triage's reports (report.html also says when it was rendered)",
        f"frame/{stem}.png" + " " * max(1, 27 - len(f"frame/{stem}.png"))
        + "the frame at the model's input size, RGB, as the float model saw it",
        f"{nv12_name}" + " " * max(1, 27 - len(nv12_name))
        + f"{nv12_what} ({frame.width}x{frame.height}: Y plane, then interleaved UV; no padding)",
    ]
    for model, feed in feeds.items():
        lines.append(f"feeds/{model}.npz and .polygraphy.json: the inputs of {model}: {_describe(feed)}")
    for variant, outs in outputs.items():
        lines.append(f"outputs/{variant}.npz and .polygraphy.json: the outputs of {variant}: {_describe(outs)}")
    if not feeds:
        lines.append("(no feeds or outputs: this report does not keep them)")
    elif "qat_nv12" not in feeds:
        lines.append("(source=resizer: the NV12 path's inputs are the full frame and its ROI, not bundled)")
    if any(k.startswith("quantized") for k in outputs):
        lines.append("quantized_feat takes feeds/qat_feat, quantized_nv12 feeds/qat_nv12.")
    lines += [
        "",
        "Replay",
        "------",
        "MODEL.onnx is the float model the triage ran (its name: " + str(p.get("model")) + ").",
        "",
        "1. The float model, with Polygraphy (pip install polygraphy):",
        "    polygraphy run MODEL.onnx --onnxrt --load-inputs feeds/qat_feat.polygraphy.json \\",
        "        --load-outputs outputs/qat_feat.polygraphy.json",
        "   or save the replay and compare it with nv12kit (pip install nv12kit):",
        "    polygraphy run MODEL.onnx --onnxrt --load-inputs feeds/qat_feat.polygraphy.json "
        "--save-outputs replay_feat.json",
        "    nv12kit compare outputs/qat_feat.polygraphy.json replay_feat.json",
        "",
        "2. The NV12 model:",
        *[f"   {line}" for line in _nv12_model_lines(report, image_input)],
        "    polygraphy run qat_nv12.onnx --onnxrt --load-inputs feeds/qat_nv12.polygraphy.json \\",
        "        --load-outputs outputs/qat_nv12.polygraphy.json",
        "",
        f"3. On the chip: feed {nv12_name} (or the planes {image_input}_y / {image_input}_uv in",
        "   feeds/qat_nv12.npz) to the deployed NV12 model, dump its outputs (.npy, .npz or Polygraphy JSON)",
        "   and compare:",
        "    nv12kit compare outputs/qat_feat.npz chip_outputs.npz     (what the float model gives on this frame)",
        "    nv12kit compare outputs/qat_nv12.npz chip_outputs.npz     (what the emulated NV12 node gives)",
        "",
        "Files: " + ", ".join(names),
        "",
    ]
    return "\n".join(lines)
