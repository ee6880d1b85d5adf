"""The evaluation as a self-contained HTML page: tables, the decomposition in words, flipped frames as thumbnails.

Every user string (frame names, class names, paths) is escaped, the body
goes through :func:`nv12kit.report.sanitize_html`, and images are inline
``data:image/png`` URIs: the page loads nothing.
"""

from __future__ import annotations

import base64
import datetime as _dt
import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InputError

__all__ = ["render_evaluation_html", "thumbnail_uri"]

#: Longest side of a flipped frame's thumbnail, in pixels.
THUMBNAIL_SIDE = 112
#: Flipped frames shown per variant in the report.
SHOWN_FLIPS = 12


def thumbnail_uri(source: Any, *, side: int = THUMBNAIL_SIDE) -> str | None:
    """A small PNG of a frame as a ``data:`` URI; None when it cannot be read any more."""
    from PIL import Image

    from ..images import load_image

    try:
        rgb = load_image(source)
    except InputError:
        return None
    image = Image.fromarray(np.ascontiguousarray(rgb))
    image.thumbnail((side, side), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _class_name(result: Any, index: int | None) -> str:
    classes = result.labels.get("classes")
    if index is None:
        return "-"
    return f"{classes[index]} ({index})" if classes and 0 <= index < len(classes) else str(index)


def _variant_table(result: Any) -> str:
    from ..report import _e, _table

    rows = result.table_rows()
    keys = list(dict.fromkeys(k for r in rows for k in r))
    return _table(keys, [[_e(r.get(k, "-")) for k in keys] for r in rows], numeric=[k != "variant" for k in keys])


def _decomposition_html(result: Any) -> str:
    from ..report import _e

    d = result.decomposition
    lines = "".join(f"<li>{_e(line)}</li>" for line in result.decomposition_lines())
    explain = ("<p class='small'>How to read it: <b>lost to NV12</b> is what the float model loses when it is fed "
               "NV12 through the node instead of the RGB it was trained on; <b>lost to quantisation</b> is what int8 "
               "costs on the RGB path; <b>in total</b> is the deployed path (int8 behind the node). When total is "
               "larger than the two alone added up, the two interact (the quantised node amplifies the conversion "
               "error); a positive interaction is accuracy neither fix alone recovers.</p>")
    if not d:
        return f"<h2>Where the accuracy goes</h2><ul>{lines}</ul>"
    return f"<h2>Where the accuracy goes</h2><ul>{lines}</ul>{explain}"


def _noise_html(result: Any) -> str:
    from ..report import _e

    n = result.noise
    if n.get("floor_loss") is None:
        return "<h2>Noise floor</h2><p>No noise sample was measured (noise_sample=0).</p>"
    return ("<h2>Noise floor</h2>"
            f"<p>{_e(n['sample_frames'])} frames drawn at random, {_e(n['trials_per_frame'])} trials each of uniform "
            f"±{_e(format(n['amplitude'], 'g'))} pixel noise: the {_e(format(n['quantile'], '.0%'))} quantile of "
            f"1 - cos(clean, noisy) is <b>{_e(format(n['floor_loss'], '.2e'))}</b> (median "
            f"{_e(format(n['median_loss'], '.2e'))}, worst {_e(format(n['max_loss'], '.2e'))}). The NV12 loss "
            f"1 - cos(feat, nv12) lies beyond it on <b>{_e(n['frames_outside'])}</b> of {_e(result.frames)} frames "
            f"({_e(format(n['fraction_outside'], '.1%'))}).</p>")


def _flips_html(result: Any, thumbnails: bool) -> str:
    from ..report import _e, _table

    if not result.flips:
        return ""
    parts = ["<h2>Frames that flip</h2><p class='small'>Right with feat, wrong with the variant (against the label; "
             "without labels: a different top-1 than feat), lowest cos(feat, variant) first.</p>"]
    for variant, flips in result.flips.items():
        parts.append(f"<h3>{_e(variant)}: {_e(flips['count'])} frame(s)</h3>")
        if not flips["worst"]:
            continue
        rows = []
        for row in flips["worst"][:SHOWN_FLIPS]:
            uri = thumbnail_uri(result.sources[row["key"]]) if thumbnails and row["key"] in result.sources else None
            image = f"<img alt='{_e(row['key'])}' src='{uri}'>" if uri else "-"
            cos = "-" if row["cosine"] is None else f"{row['cosine']:.6f}"
            rows.append([image, _e(row["key"]), _e(_class_name(result, row["label"])),
                         _e(_class_name(result, row["feat_top1"])), _e(_class_name(result, row["variant_top1"])),
                         _e(cos)])
        parts.append(_table(["frame", "name", "label", "feat top-1", f"{variant} top-1", "cos(feat, variant)"],
                            rows, numeric=[False, False, False, False, False, True]))
    return "".join(parts)


def render_evaluation_html(result: Any, *, figures: Sequence[tuple[str, str]] | None = None, thumbnails: bool = True,
                           standalone: bool = True) -> str:
    """The page (or, not ``standalone``, a fragment for notebooks) of an :class:`EvaluationResult`."""
    from ..report import _STYLE, _e, _table, html_page, sanitize_html

    heading = f"nv12kit evaluate: {result.parameters.get('model', 'model')}"
    body = [f"<h1>{_e(heading)}</h1>",
            f"<p class='small'>Generated {_e(_dt.datetime.now().astimezone().isoformat(timespec='seconds'))}; "
            f"{_e(result.frames)} frames; seed {_e(result.parameters.get('seed'))}.</p>"]
    if result.notes:
        body.append("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in result.notes) + "</ul>")
    body += ["<h2>Per variant</h2>", _variant_table(result), _decomposition_html(result), _noise_html(result)]
    if figures:
        body.append("<h2>Figures</h2>")
        for caption, uri in figures:
            body.append(f"<figure><img alt='{_e(caption)}' src='{uri}'><figcaption>{_e(caption)}</figcaption>"
                        "</figure>")
    elif standalone:
        body.append("<p class='small'>Figures left out: draw them with nv12kit.plots.evaluation_figures(result) "
                    "and pass figures= to to_html (the command line does).</p>")
    body.append(_flips_html(result, thumbnails))
    rows = [[_e(k), _e(v)] for k, v in result.parameters.items()]
    rows += [[_e(f"timing: {k}"), _e(f"{v:.4g}")] for k, v in result.timing.items()]
    body.append("<h2>How this was measured</h2>" + _table(["parameter", "value"], rows))
    content = "\n".join(body)
    if not standalone:
        return f"<div class='nv12kit-report'><style>{_STYLE}</style>{sanitize_html(content)}</div>"
    return html_page(heading, content)
