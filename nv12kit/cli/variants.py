"""``nv12kit variants``: the NV12 variant of a float ONNX model, and int8 variants with --calibration."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..conventions import CONVENTIONS
from ..errors import InputError
from .options import (
    EXIT_OK,
    add_chip_range_argument,
    add_force_argument,
    add_image_budget_argument,
    add_preprocess_arguments,
    expand_images,
    guarded_outputs,
    preprocess_from_args,
)


def register(sub: Any) -> None:
    """Add the ``variants`` subparser to ``sub`` (the result of ``add_subparsers``)."""
    var = sub.add_parser(
        "variants",
        help="build the NV12 variant of a float ONNX model (and int8 variants with --calibration)",
        description="Writes OUT/<stem>_qat_feat.onnx and <stem>_qat_nv12.onnx, plus <stem>_quantized_feat.onnx "
        "and <stem>_quantized_nv12.onnx when calibration images are given. The input model is only read.",
    )
    var.add_argument("model", help="float ONNX model")
    var.add_argument("-o", "--output-dir", required=True, help="folder for the variants (created if missing)")
    var.add_argument("--input-name", "--input", dest="input_name", default=None,
                     help="image input, if the model has several candidates")
    add_preprocess_arguments(var)
    add_chip_range_argument(var)
    var.add_argument("--upsample", choices=("nearest", "bilinear"), default="nearest",
                     help="chroma up-sampling inside the node (default: nearest)")
    var.add_argument("--calibration", nargs="+", default=None, metavar="IMAGE_OR_FOLDER",
                     help="images or folders to calibrate static int8 QDQ variants with")
    var.add_argument("--convention", default="horizon", choices=sorted(CONVENTIONS), metavar="NAME",
                     help="how calibration frames are encoded to NV12 (default: horizon)")
    var.add_argument("--stem", default=None, help="file name stem (default: the model's)")
    add_image_budget_argument(var)
    add_force_argument(var)
    var.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``nv12kit variants``: build, refuse to replace files without --force, save, print what was written."""
    from ..graph import VARIANT_NAMES, build_variants
    from ..model import load_model

    source = Path(args.model)
    model = load_model(source)
    pre = preprocess_from_args(args, model)
    calibration = expand_images(args.calibration, "--calibration") if args.calibration else None
    out = Path(args.output_dir)
    stem = args.stem or source.stem
    if out.exists() and not out.is_dir():
        raise InputError(f"-o {out} is a file, not a folder; give a folder for the variants (created if missing)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the folder -o {out}: {exc.strerror or exc}; choose a folder you can "
                         "write to") from exc
    names = [name for name in VARIANT_NAMES if calibration or not name.startswith("quantized")]
    outputs = {f"-o ({name})": out / f"{stem}_{name}.onnx" for name in names}
    # All variant files are vetted before the (long) build: never the input model, existing ones only with --force.
    with guarded_outputs(args, outputs, inputs=[source, *(calibration or [])]):
        variants = build_variants(model, preprocess=pre, calibration_images=calibration, convention=args.convention,
                                  input_name=args.input_name, chip_range=args.chip_range, upsample=args.upsample)
        written = variants.save(out, stem=stem, overwrite=args.force)
    print(f"preprocessing: {pre}; node mode {pre.node_mode(chip_range=args.chip_range)!r}")
    for name, path in written.items():
        print(f"  {name:15s} {path}  ({path.stat().st_size / 1024:.0f} KiB)")
    print(f"feed the NV12 variants with nv12kit.rgb_to_nv12(rgb).to_feed({variants.input_name!r})")
    return EXIT_OK
