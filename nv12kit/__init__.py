"""nv12kit: find out why a model's accuracy collapses behind an NV12 preprocessing node.

The public API a notebook user needs is re-exported here; everything else
stays in its module.

>>> import numpy as np, nv12kit
>>> frame = nv12kit.rgb_to_nv12(np.zeros((4, 4, 3), np.uint8), convention="opencv")
>>> frame
NV12Frame(4x4, Y mean 16.0, U mean 128.0, V mean 128.0)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

# Light and always needed: the conversions and their inputs (numpy and Pillow only).
from .chart import test_chart
from .conventions import CONVENTIONS, Convention, convention_names, get_convention
from .convert import get_num_threads, nv12_to_rgb, rgb_to_nv12, set_num_threads, yuv444_to_rgb
from .errors import ConventionError, InputError, ModelError, NV12KitError
from .images import crop_to_even, image_files, load_image, pad_to_even, resize_to
from .metrics import Comparison, compare
from .noise import NoiseStudy, noise_study
from .preprocess import Preprocess

# Eager although it is the procedure: importing the submodule nv12kit.triage later would rebind
# the package attribute ``triage`` to the module, hiding the function. It needs numpy only.
from .triage import Thresholds, TriageReport, triage
from .yuv import LAYOUTS, NV12Frame, frame_nbytes, read_yuv, write_yuv

# Everything that needs onnx or onnxruntime, and the linter, load on first use,
# so `import nv12kit`, `nv12kit --help` and a plain conversion do not pay for it.
_LAZY: dict[str, str] = {
    "NODE_MODES": "preprocess",
    "ModelVariants": "graph",
    "NV12Input": "graph",
    "build_variants": "graph",
    "insert_nv12_node": "graph",
    "merge_default_opsets": "graph",
    "nv12_inputs": "graph",
    "quantize": "graph",
    "ResizerInput": "resizer",
    "check_roi": "resizer",
    "insert_nv12_resizer": "resizer",
    "resize_nv12_roi": "resizer",
    "resizer_feed": "resizer",
    "resizer_inputs": "resizer",
    "LayerDivergence": "layers",
    "layer_divergence": "layers",
    "ISSUE_IDS": "lint",
    "Diagnosis": "lint",
    "Hypothesis": "lint",
    "NodeFinding": "lint",
    "check_converter": "lint",
    "diagnose": "lint",
    "lint_node": "lint",
    "lint_aipp": "lint",
    "ImageInputSpec": "model",
    "load_model": "model",
    "save_model": "model",
    "Runner": "runtime",
    "NV12RoundTrip": "augment",
    "evaluate": "evaluation",
    "EvaluationResult": "evaluation",
    "read_outputs": "dumps",
    "LAYOUT_PRESETS": "yuv_layouts",
}


if TYPE_CHECKING:  # what the lazy names are, for type checkers and editors
    from .augment import NV12RoundTrip
    from .dumps import read_outputs
    from .evaluation import EvaluationResult, evaluate
    from .graph import (
        ModelVariants,
        NV12Input,
        build_variants,
        insert_nv12_node,
        merge_default_opsets,
        nv12_inputs,
        quantize,
    )
    from .layers import LayerDivergence, layer_divergence
    from .lint import ISSUE_IDS, Diagnosis, Hypothesis, NodeFinding, check_converter, diagnose, lint_aipp, lint_node
    from .model import ImageInputSpec, load_model, save_model
    from .preprocess import NODE_MODES
    from .resizer import (
        ResizerInput,
        check_roi,
        insert_nv12_resizer,
        resize_nv12_roi,
        resizer_feed,
        resizer_inputs,
    )
    from .runtime import Runner
    from .yuv_layouts import LAYOUT_PRESETS


# Submodules reachable as attributes after a plain `import nv12kit` (nv12kit.data.model_path(...), ...).
_SUBMODULES = frozenset({
    "augment", "data", "dumps", "graph", "layers", "lint", "model", "runtime", "roundtrip", "explore", "plots",
    "report", "widgets", "notebook_report", "cli",
})


def __getattr__(name: str) -> object:
    import importlib

    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nv12kit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)


__version__ = "0.1.0"

__all__ = [
    "CONVENTIONS",
    "Comparison",
    "Convention",
    "ConventionError",
    "Diagnosis",
    "EvaluationResult",
    "Hypothesis",
    "ISSUE_IDS",
    "ImageInputSpec",
    "InputError",
    "LAYOUTS",
    "LAYOUT_PRESETS",
    "LayerDivergence",
    "ModelError",
    "ModelVariants",
    "NODE_MODES",
    "NV12Frame",
    "NV12Input",
    "NV12KitError",
    "NV12RoundTrip",
    "NodeFinding",
    "NoiseStudy",
    "Preprocess",
    "ResizerInput",
    "Runner",
    "Thresholds",
    "TriageReport",
    "build_variants",
    "check_converter",
    "check_roi",
    "compare",
    "convention_names",
    "crop_to_even",
    "diagnose",
    "evaluate",
    "frame_nbytes",
    "get_convention",
    "get_num_threads",
    "image_files",
    "insert_nv12_node",
    "insert_nv12_resizer",
    "layer_divergence",
    "lint_aipp",
    "lint_node",
    "load_image",
    "load_model",
    "merge_default_opsets",
    "noise_study",
    "nv12_inputs",
    "nv12_to_rgb",
    "pad_to_even",
    "quantize",
    "read_outputs",
    "read_yuv",
    "resize_nv12_roi",
    "resize_to",
    "resizer_feed",
    "resizer_inputs",
    "rgb_to_nv12",
    "save_model",
    "set_num_threads",
    "test_chart",
    "triage",
    "write_yuv",
    "yuv444_to_rgb",
    "__version__",
]
