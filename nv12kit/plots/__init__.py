"""Figures for notebooks and reports, one function per picture.

Every function draws with matplotlib's object API on an ``ax`` (or ``axes``)
you pass, or on a new :class:`matplotlib.figure.Figure` when you pass none,
and returns the Figure. pyplot is never imported, so its global state (the
current figure, the backend) is untouched and a figure never shows up twice
in a notebook. :func:`figure_to_data_uri` turns a figure into the inline
``data:image/png;base64,...`` string a self-contained HTML report needs.

===================================  ================================================
:func:`plot_planes`                  the Y, U and V planes of an NV12 frame
:func:`plot_roundtrip_error`         per-pixel ``|RGB - decoded|`` after a round trip
:func:`plot_output_diff`             per-pixel ``|a - b|`` of two dense model outputs
:func:`plot_output_diffs`            the same for several outputs against one reference
:func:`plot_cosine_histograms`       trial cosines per noise amplitude, NV12 marked
:func:`plot_cosine_vs_amplitude`     the noise floor against amplitude, NV12 marked
:func:`plot_layer_divergence`        ``1 - cosine`` per layer against depth, culprits marked
:func:`plot_conversion_error`        someone's NV12 decoded, and its luma error against nv12kit's
:func:`plot_roi_crop`                a full frame with the resizer's ROI boxed, and the crop the model sees
:func:`plot_convention_sensitivity`  the NV12 loss under each convention the chip could use, as bars
:func:`plot_variant_accuracy`        accuracy of each variant over a set, with its 95 % interval
:func:`plot_set_cosines`             ``1 - cos(feat, variant)`` of every frame of a set, the noise floor marked
:func:`plot_flip_gallery`            the frames a variant gets wrong and feat right, worst first
===================================  ================================================

matplotlib is an optional dependency (``pip install 'nv12kit[notebooks]'``).
The core never imports this module: the HTML reports load it when they
draw (inside their ``to_html``), the ``nv12kit layers`` command for its
PNG; :mod:`nv12kit.explore` and :mod:`nv12kit.widgets` build on it.
"""

from __future__ import annotations

try:
    import matplotlib  # noqa: F401
except ImportError as exc:  # pragma: no cover - matplotlib is installed wherever the tests run
    raise ImportError(
        "nv12kit.plots needs matplotlib >= 3.7, which is not installed; "
        "install it with: pip install 'nv12kit[notebooks]' (or pip install matplotlib)"
    ) from exc

from ._base import figure_to_data_uri, figure_to_png_bytes
from .conventions import plot_convention_sensitivity
from .cosines import plot_cosine_histograms, plot_cosine_vs_amplitude
from .evaluation import evaluation_figures, plot_flip_gallery, plot_set_cosines, plot_variant_accuracy
from .frames import plot_conversion_error, plot_planes, plot_roi_crop, plot_roundtrip_error
from .layer_figure import plot_layer_divergence
from .outputs import plot_output_diff, plot_output_diffs

__all__ = [
    "plot_planes",
    "plot_roundtrip_error",
    "plot_output_diff",
    "plot_output_diffs",
    "plot_cosine_histograms",
    "plot_cosine_vs_amplitude",
    "plot_layer_divergence",
    "plot_conversion_error",
    "plot_roi_crop",
    "plot_convention_sensitivity",
    "plot_variant_accuracy",
    "plot_set_cosines",
    "plot_flip_gallery",
    "evaluation_figures",
    "figure_to_png_bytes",
    "figure_to_data_uri",
]
