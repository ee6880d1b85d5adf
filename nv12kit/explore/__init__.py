"""Headless state behind the notebooks' interactive cells: choices, sessions, explorer state and checks.

Each function here does the work of one widget of :mod:`nv12kit.widgets`
and returns a value you can inspect, test or use without a browser, and
without ipywidgets:

================================  ================================  =========================
plain function                    result                            widget
================================  ================================  =========================
:func:`describe_model`            :class:`ModelChoice`              ``model_picker``
:func:`folder_images`,            :class:`ImageChoice`              ``image_picker``
:func:`describe_image`
:func:`convention_summary`        text                              ``convention_picker``
:func:`plane_view_figures`        :class:`PlaneView`                ``plane_viewer``
:func:`noise_explorer_state`      :class:`NoiseExplorerState`       ``noise_explorer``
(over a :class:`NoiseSession`)
:func:`load_converter`,           :class:`ConverterCheck`           ``converter_checker``
:func:`converter_check`,
:func:`dumps_check`
:func:`variant_outputs`           every variant's outputs           (the guided notebook)
================================  ================================  =========================

One module per job: ``inputs`` (model, image, convention), ``planes`` (the
round trip of one image), ``noise_session`` (cached noise runs and the
explorer's state), ``converter`` (converter and dump checks) and
``variants``. The result objects display themselves in a notebook
(``_repr_html_`` with inline PNG figures), which is how the guided notebooks
pair every widget with a static picture that still shows in an exported
report. Figures come from :mod:`nv12kit.plots` (matplotlib's object API;
pyplot is never used), so this package needs matplotlib (the ``notebooks``
extra: ``pip install 'nv12kit[notebooks]'``), but not ipywidgets.
"""

from __future__ import annotations

from .converter import ConverterCheck, converter_check, dumps_check, load_converter
from .inputs import ImageChoice, ModelChoice, convention_summary, describe_image, describe_model, folder_images
from .noise_session import NoiseExplorerState, NoiseSession, noise_explorer_state
from .planes import PlaneView, plane_view_figures
from .variants import variant_outputs

__all__ = [
    "ModelChoice",
    "describe_model",
    "ImageChoice",
    "folder_images",
    "describe_image",
    "convention_summary",
    "PlaneView",
    "plane_view_figures",
    "NoiseSession",
    "NoiseExplorerState",
    "noise_explorer_state",
    "ConverterCheck",
    "load_converter",
    "converter_check",
    "dumps_check",
    "variant_outputs",
]
