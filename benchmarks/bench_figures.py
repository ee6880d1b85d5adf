"""What the figures of a triage report cost: each figure drawn and turned into its PNG.

Every figure ``nv12kit triage --report`` draws (:func:`nv12kit.report.figures_for`) is built
from report-like inputs and rendered with ``figure_to_png_bytes``, as the report does:

* ``planes``: :func:`plot_planes` of a 224x224 photo's NV12 frame;
* ``roundtrip_error``: :func:`plot_roundtrip_error` of that photo and its round trip;
* ``cosine_histograms`` / ``cosine_vs_amplitude``: a noise study of 3 amplitudes x 20 trials
  with two NV12 round trips (and the NV12 model's loss on the second);
* ``layer_divergence``: a 60-node model, NV12 against noise, 5 culprits;
* ``output_diff``: a dense 1x8x56x56 output.

Times are per figure in milliseconds: the median over ``--repeat`` rounds (and the fastest,
what the code costs when nothing else runs). With ``--compare-ref DIR`` the same figures are
drawn, interleaved round by round, by a reference copy of ``nv12kit/plots`` saved in ``DIR``
(imported as ``nv12kit._ref_plots``, so its relative imports use this nv12kit), and the ratio
new / reference is printed. "report 4" is the four figures every report has.

    python benchmarks/bench_figures.py [--repeat 7] [--compare-ref /tmp/h4_ref_plots]
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np

import nv12kit
import nv12kit.plots
from nv12kit.convert import nv12_to_rgb
from nv12kit.data import photo_paths
from nv12kit.noise import NoiseStudy

REPORT_FOUR = ("planes", "roundtrip_error", "cosine_histograms", "cosine_vs_amplitude")


def load_reference(directory: Path) -> ModuleType:
    """``directory`` (a copy of nv12kit/plots) imported as the package ``nv12kit._ref_plots``."""
    name = "nv12kit._ref_plots"
    spec = importlib.util.spec_from_file_location(name, directory / "__init__.py",
                                                  submodule_search_locations=[str(directory)])
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import {directory}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _study() -> NoiseStudy:
    rng = np.random.default_rng(1)
    cos = {a: 1.0 - 1e-6 * a**2 * rng.uniform(0.5, 1.5, 20) for a in (1.0, 2.0, 3.0)}
    return NoiseStudy(amplitudes=(1.0, 2.0, 3.0), distribution="symmetric", trials=20, seed=0, output="logits",
                      cosines=cos, per_output={"logits": cos}, roundtrip={"horizon": 1 - 4e-6, "opencv": 1 - 3e-5})


def _layers(compare: str, nodes: int = 60, seed: int = 0):
    from nv12kit.layers import LayerDivergence, LayerRow

    rng = np.random.default_rng(seed)
    loss = 3e-4 if compare == "nv12" else 5e-5
    ops = ["Conv", "BatchNormalization", "Relu", "Add", "MaxPool"]
    rows = [LayerRow(0, "image", "Input", "image", (1, 3, 224, 224), 1 - loss, 1 - loss, 0.05, 20.0, 1 - loss, 0.0)]
    for depth in range(1, nodes):
        before = loss
        loss = float(np.clip(loss * {12: 6.0, 30: 4.0, 31: 3.0, 45: 2.0}.get(depth, 1.0) * rng.uniform(0.9, 1.1),
                             1e-7, 0.5))
        op = ops[depth % 5]
        rows.append(LayerRow(depth, f"/features/{depth // 5}/{op}_{depth}", op, f"t{depth}", (1, 32, 56, 56),
                             1 - loss, 1 - loss * rng.uniform(1, 2), 0.1, 20.0, 1 - before,
                             10 * math.log10(loss / before)))
    return LayerDivergence(compare, f"{compare} (horizon)", tuple(rows), settings={"model": "demo.onnx"})


def figures(plots: ModuleType) -> dict[str, Callable[[], object]]:
    """name -> a call that draws the figure with ``plots`` and returns its PNG bytes."""
    rgb = nv12kit.load_image(photo_paths()[0])
    h, w = rgb.shape[:2]
    side = min(h, w)
    rgb = np.ascontiguousarray(rgb[(h - side) // 2:(h + side) // 2, (w - side) // 2:(w + side) // 2])
    step = max(side // 224, 1)
    rgb = np.ascontiguousarray(rgb[::step, ::step][:224, :224])
    frame = nv12kit.rgb_to_nv12(rgb)
    decoded = nv12_to_rgb(frame)
    study = _study()
    nv12, noise = _layers("nv12"), _layers("noise", seed=1)
    dense = np.random.default_rng(2).normal(size=(1, 8, 56, 56)).astype(np.float32)
    png = plots.figure_to_png_bytes
    return {
        "planes": lambda: png(plots.plot_planes(frame)),
        "roundtrip_error": lambda: png(plots.plot_roundtrip_error(rgb, decoded)),
        "cosine_histograms": lambda: png(plots.plot_cosine_histograms(study)),
        "cosine_vs_amplitude": lambda: png(plots.plot_cosine_vs_amplitude(study, nv12_loss={"qat_nv12 (node)":
                                                                                              0.99997})),
        "layer_divergence": lambda: png(plots.plot_layer_divergence(nv12, others=[noise])),
        "output_diff": lambda: png(plots.plot_output_diff(dense, dense * 1.01)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="rounds (median reported)")
    parser.add_argument("--compare-ref", type=Path, metavar="DIR", help="a reference copy of nv12kit/plots")
    args = parser.parse_args()

    variants = {"new": figures(nv12kit.plots)}
    if args.compare_ref is not None:
        variants["ref"] = figures(load_reference(args.compare_ref))
    names = list(variants["new"])
    times: dict[tuple[str, str], list[float]] = {(v, n): [] for v in variants for n in names}
    for calls in variants.values():  # warm up: fonts, colour maps, first-call caches
        for call in calls.values():
            call()
    for _ in range(args.repeat):
        for name in names:
            for variant, calls in variants.items():
                start = time.perf_counter()
                calls[name]()
                times[variant, name].append(time.perf_counter() - start)

    def row(label: str, picked: list[str]) -> None:
        cells = []
        for variant in variants:
            med = sum(statistics.median(times[variant, n]) for n in picked) * 1e3
            best = sum(min(times[variant, n]) for n in picked) * 1e3
            cells.append(f"{med:8.0f} {best:8.0f}")
        if "ref" in variants:
            new = sum(statistics.median(times["new", n]) for n in picked)
            ref = sum(statistics.median(times["ref", n]) for n in picked)
            cells.append(f"{new / ref:6.2f}")
        print(f"{label:<22}" + "  ".join(cells))

    header = "".join(f"{v + ' median':>9} {v + ' min':>8}  " for v in variants)
    print(f"figure draw + PNG, ms ({args.repeat} rounds)")
    print(f"{'':<22}{header}" + ("new/ref" if "ref" in variants else ""))
    for name in names:
        row(name, [name])
    row("total, report 4", list(REPORT_FOUR))
    row("total, all 6", names)


if __name__ == "__main__":
    main()
