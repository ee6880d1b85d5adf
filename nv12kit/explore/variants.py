"""Every model variant of :func:`nv12kit.build_variants` run on one image, each fed the way it expects."""

from __future__ import annotations

from typing import Any

from ..conventions import Convention
from ..convert import rgb_to_nv12
from ..errors import InputError
from ..images import prepare_image

__all__ = ["variant_outputs"]


def variant_outputs(variants: Any, image: Any, *, convention: str | Convention = "horizon") -> dict[str, dict]:
    """Run every model of :func:`nv12kit.build_variants` on one image, each fed the way it expects.

    The feat variants get ``preprocess(rgb)``; the NV12 variants get
    ``rgb_to_nv12(rgb, convention)`` as ``<input>_y`` and ``<input>_uv``.

    Parameters
    ----------
    variants : ModelVariants
    image : path, PIL image or (H, W, 3) uint8 array
        Resized to the model's static size (or cropped to even sides).
    convention : str or Convention, optional
        How the frame is encoded for the NV12 variants.

    Returns
    -------
    dict of str to dict of str to numpy.ndarray
        Variant name (``qat_feat``, ``qat_nv12``, ``quantized_feat``,
        ``quantized_nv12``, those that exist) to its outputs; compare two
        with :func:`nv12kit.compare`.
    """
    from ..graph import ModelVariants
    from ..model import ImageInputSpec
    from ..runtime import Runner

    if not isinstance(variants, ModelVariants):
        raise InputError(f"variants must come from nv12kit.build_variants, got {type(variants).__name__}")
    spec = ImageInputSpec.from_model(variants.qat_feat, variants.input_name, layout=variants.preprocess.layout)
    rgb, _, _ = prepare_image(image, spec.static_size)
    tensor = variants.preprocess(rgb)
    feed = rgb_to_nv12(rgb, convention=convention).to_feed(variants.input_name)
    return {name: Runner(model, name=name).run(feed if name.endswith("nv12") else {variants.input_name: tensor})
            for name, model in variants.items()}
