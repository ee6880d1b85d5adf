"""Render a TriageReport as one self-contained HTML page, and keep every HTML page we write safe.

Everything is inline: the style sheet, and the figures as base64 PNG. There
are no scripts and no links to anything outside the file, so the report opens
offline and can be attached to a ticket. Every string that came from the user
(model and image names, paths, settings) is HTML-escaped.

On top of that, every page body goes through :func:`sanitize_html` (the
``nh3`` sanitiser with an allow-list of the tags and attributes our reports
use) before our own style sheet is put around it, and
:func:`external_references` checks the finished page: no scripts, event
handlers, frames, objects, forms, meta refresh, ``javascript:`` links or
outside URLs; images only as ``data:image/...`` URIs. The notebook export
(:mod:`nv12kit.notebook_report`) uses the same two functions.
"""

from __future__ import annotations

import datetime as _dt
import html
import re
from collections.abc import Callable, Iterable, Sequence
from html.parser import HTMLParser
from typing import Any

from .errors import NV12KitError

__all__ = ["render_html", "figures_for", "html_page", "sanitize_html", "external_references"]

_STYLE = """
.nv12kit-report{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#222;line-height:1.45}
.nv12kit-report h1{font-size:1.6em;margin-bottom:.2em}
.nv12kit-report h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #ddd}
.nv12kit-report .verdict{border-radius:6px;padding:.8em 1.2em;margin:1em 0}
.nv12kit-report .verdict.bad{background:#fdecea;border-left:6px solid #c62828}
.nv12kit-report .verdict.good{background:#e8f5e9;border-left:6px solid #2e7d32}
.nv12kit-report .verdict h2{border:0;margin:.1em 0}
.nv12kit-report .warnings{background:#fff8e1;border-left:6px solid #f9a825;border-radius:6px;padding:.5em 1.2em;
margin:1em 0}
.nv12kit-report table{border-collapse:collapse;margin:.6em 0;font-size:.92em}
.nv12kit-report th,.nv12kit-report td{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
.nv12kit-report th{background:#f5f5f5}
.nv12kit-report td.num{text-align:right;font-variant-numeric:tabular-nums}
.nv12kit-report .small{color:#666;font-size:.88em}
.nv12kit-report figure{margin:1em 0} .nv12kit-report figure img{max-width:100%;border:1px solid #eee}
.nv12kit-report figcaption{color:#555;font-size:.9em}
.nv12kit-report code{background:#f3f3f3;padding:0 .25em;border-radius:3px}
.nv12kit-report details{margin:.5em 0} .nv12kit-report summary{cursor:pointer;font-weight:600}
"""
# Only for whole pages: the report fragment never restyles the notebook around it.
_PAGE_STYLE = "body{margin:2em auto;max-width:1100px;padding:0 1em}"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(value: Any, spec: str = ".6f") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return format(value, spec)
    return _e(value)


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]], *, numeric: Sequence[bool] | None = None) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            cls = ' class="num"' if numeric and i < len(numeric) and numeric[i] else ""
            cells.append(f"<td{cls}>{cell}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def figures_for(report: Any, *, progress: bool = False) -> list[tuple[str, str]]:
    """(caption, data URI) of every figure the report shows; empty without matplotlib.

    Each figure is drawn once, at :data:`nv12kit.plots._base.FIGURE_DPI`, and cropped to what it
    shows (:func:`nv12kit.plots.figure_to_png_bytes`).

    Parameters
    ----------
    report : TriageReport
    progress : bool, optional
        A ``tqdm.auto`` bar over the figures (about a third of a second each), through
        :func:`nv12kit._util.progress`; off by default.

    Returns
    -------
    list of (str, str)
    """
    try:
        from . import plots
    except ImportError:
        return []
    preview = report.preview
    if not preview:
        return []
    from ._util import progress as progress_bar
    from .convert import nv12_to_rgb

    worst = report.images[report.worst]
    frame = preview["frame"]
    t = report.thresholds
    nv12 = {"qat_nv12 (node)": worst.nv12_cosine} if worst.nv12_cosine is not None else None
    # (caption, how to draw it): drawn one at a time under the bar, each freed once it is a PNG
    todo: list[tuple[str, Callable[[], Any]]] = [
        (f"Y, U and V planes of {worst.name} ({worst.frame_source})", lambda: plots.plot_planes(frame)),
        (f"Round-trip error of {worst.name}: |RGB - decode(NV12)|, largest channel" if "roi" not in preview else
         f"Error of {worst.name} behind the resizer: |feat input (the crop resized in RGB) - decode(resizer output)|, "
         "largest channel: the YUV resize's differences and the NV12 round trip together",
         lambda: plots.plot_roundtrip_error(
             preview["rgb"], nv12_to_rgb(frame, convention=preview.get("convention", "horizon")))),
        (f"1 - cosine of every noise trial, per amplitude, with the NV12 loss ({worst.name})",
         lambda: plots.plot_cosine_histograms(worst.noise)),
        (f"Noise floor against amplitude; the NV12 loss is marked (relative limit: {t.max_loss_ratio:g}x the floor "
         f"at ±{t.reference_amplitude:g})", lambda: plots.plot_cosine_vs_amplitude(worst.noise, nv12_loss=nv12)),
    ]
    todo = _resizer_figures(report, plots) + todo  # source="resizer": the ROI and the crop first
    layer_results = list(getattr(report, "layers", None) or [])
    if layer_results:
        rule = getattr(layer_results[0], "rule", "")
        todo.append(("1 - cosine of every layer's output along the network's depth: NV12 round trip against pixel "
                     "noise; the culprits are marked" + (f" ({rule})" if rule else ""),
                     lambda: plots.plot_layer_divergence(layer_results[0], others=layer_results[1:])))
    out_feat, out_nv12 = preview.get("out_feat"), preview.get("out_nv12")
    if out_feat is not None and getattr(out_feat, "ndim", 0) >= 3 and out_feat.shape[-1] > 1:
        todo.append((f"|qat_feat - qat_nv12| of the dense output {worst.noise.output!r}",
                     lambda: plots.plot_output_diff(out_feat, out_nv12)))
    cs = getattr(report, "convention_sensitivity", None)
    if cs is not None:  # shown in its own section by render_html, drawn here under the same bar
        todo.append((_sensitivity_caption(cs), lambda: plots.plot_convention_sensitivity(cs)))
    shown: list[tuple[str, str]] = []
    for caption, draw in progress_bar(todo, desc="report figures", unit="figure", enabled=progress):
        shown.append((caption, plots.figure_to_data_uri(draw())))
    return shown


def _verdict_html(report: Any) -> str:
    v = report.verdict
    css = "good" if v.id == "healthy" else "bad"
    evidence = "".join(f"<li>{_e(e)}</li>" for e in v.evidence)
    todo = "".join(f"<li>{_e(r)}</li>" for r in v.recommendations)
    also = ""
    if getattr(v, "also", None):
        items = []
        for f in v.also:
            where = f" (on {_e(f.image)})" if f.image else ""
            lines = "".join(f"<li>{_e(e)}</li>" for e in f.evidence)
            items.append(f"<li><code>{_e(f.id)}</code>{where}: {_e(f.title)} <span class='small'>(decided by "
                         f"{_e(f.decided_by)})</span><ul>{lines}</ul></li>")
        also = f"<p><strong>Also found</strong></p><ul class='also'>{''.join(items)}</ul>"
    return (f'<div class="verdict {css}"><h2>Verdict: <code>{_e(v.id)}</code></h2><p>{_e(v.title)}</p>'
            f"<p><strong>Decided by:</strong> {_e(v.decided_by)}</p><p><strong>Evidence</strong></p><ul>{evidence}"
            f"</ul>{also}<p><strong>What to do</strong></p><ul>{todo}</ul></div>")


def _resizer_figures(report: Any, plots: Any) -> list[tuple[str, Callable[[], Any]]]:
    """The crop figure of a resizer triage (the full frame with its ROI, and the feat input); else nothing."""
    preview = report.preview
    if preview.get("full_rgb") is None or preview.get("roi") is None:
        return []
    worst = report.images[report.worst]
    return [(f"The resizer's ROI {tuple(preview['roi'])} in {worst.name} and the crop the float model sees (the feat "
             "input, resized in RGB); the Y, U and V planes below are the resizer's output for the same ROI",
             lambda: plots.plot_roi_crop(preview["full_rgb"], preview["roi"], preview["rgb"]))]


def _resizer_html(report: Any) -> str:
    """The resizer table: pyramid loss against resizer loss, and the YUV resize's share, per image."""
    measured = [r for r in report.images if getattr(r, "resizer", None) is not None]
    if not measured:
        return ""
    rows = []
    for r in measured:
        m = r.resizer
        added = m.added_loss
        share = (f"{m.share:.0%}" if added > 0 and m.share is not None
                 else "none (the YUV resize does not add loss here)")
        rows.append([_e(r.name), _e(tuple(m.roi)), _e(f"{m.crop_shape[1]}x{m.crop_shape[0]}"),
                     _num(m.pyramid_loss, ".2e"), _num(m.resizer_loss, ".2e"), _num(added, ".2e"),
                     _num(m.loss_ratio, ".2f"), _e(share)])
    header = ["image", "ROI (l, t, r, b)", "crop (WxH)", "pyramid 1 - cos", "resizer 1 - cos",
              "added by the YUV resize", "resizer / pyramid", "share of the resizer loss"]
    return ("<h2 id='resizer'>Resizer: the YUV resize's share of the loss</h2><p class='small'>Pyramid: the RGB crop "
            "resized in RGB (Pillow bilinear), converted to NV12 at the model's size. Resizer: the full frame in NV12, "
            "cropped and resized in YUV by the resizer node (what is deployed; the verdict rests on it). Both are "
            "compared with the float model on the RGB crop.</p>"
            + _table(header, rows, numeric=[False, False, False, True, True, True, True, False]))


def _sensitivity_caption(cs: Any) -> str:
    return (f"1 - cosine of the NV12 path on {cs.image} per convention; the dashed line is the largest loss the "
            "verdict rules call healthy on this image")


def _sensitivity_html(report: Any, *, chart_uri: str | None) -> str:
    """What another convention would cost: the table and the bar chart (drawn by :func:`figures_for`)."""
    cs = getattr(report, "convention_sensitivity", None)
    if cs is None:
        return ""
    rows = [[_e(r.name), _e(r.group), _e(r.differs), _num(r.cosine), _num(r.loss, ".2e"), _e(r.change_text()),
             f"<code>{_e(r.verdict)}</code>"] for r in cs.rows]
    header = ["convention", "group", "what differs from yours", "cosine", "1 - cos", "against yours",
              "verdict on this image"]
    chart = (f"<figure><img alt='NV12 loss per convention' src='{chart_uri}'><figcaption>"
             f"{_e(_sensitivity_caption(cs))}</figcaption></figure>" if chart_uri else "")
    missing = "".join(f"<li>{_e(n)}</li>" for n in cs.not_measured)
    return ("<h2 id='conventions'>What another convention would cost</h2><p class='small'>The decisive image "
            f"{_e(cs.image)} encoded with each convention the chip could be configured for, through the same NV12 "
            "node (<em>same node</em>: only the ISP or converter setting changes) or a node built for the other "
            "range (<em>other node</em>), and judged with the same thresholds and noise floor (healthy at or below "
            f"1 - cos {cs.healthy_limit:.2e}).</p>"
            + _table(header, rows, numeric=[False, False, False, True, True, False, False]) + chart
            + (f"<p class='small'>Not measured:</p><ul class='small'>{missing}</ul>" if missing else ""))


def _baseline_html(report: Any) -> str:
    """Before/after against the baseline triage (nv12kit.baseline)."""
    b = getattr(report, "baseline", None)
    if b is None:
        return ""
    differing = "".join(f"<li>{_e(k)}: <code>{_e(before)}</code> &rarr; <code>{_e(after)}</code></li>"
                        for k, before, after in b.differing)
    rows = [[_e(r.image or "-"), _e(r.metric), _num(r.before), _num(r.after),
             _num(r.change, "+.2e") if r.change is not None else "-",
             _num(r.loss_ratio, ".2g") if r.loss_ratio is not None else "-"] for r in b.rows]
    unmatched = [f"only in the baseline: {', '.join(b.only_before)}"] if b.only_before else []
    unmatched += [f"new images: {', '.join(b.only_after)}"] if b.only_after else []
    return (f"<h2 id='baseline'>Before and after (baseline: {_e(b.source)})</h2>"
            + (f"<p><strong>Parameters that differ</strong></p><ul>{differing}</ul>" if differing else
               "<p class='small'>Same parameters as the baseline.</p>")
            + _table(["image", "number", "before", "after", "change", "loss after / before"], rows,
                     numeric=[False, False, True, True, True, True])
            + "".join(f"<p class='small'>{_e(u)}</p>" for u in unmatched))


def _warnings_html(report: Any) -> str:
    """What the triage chose that the user did not say, and frames too poor to judge: the box at the top."""
    warnings = getattr(report, "warnings", None) or []
    if not warnings:
        return ""
    items = "".join(f"<li>{_e(w)}</li>" for w in warnings)
    return f"<div class='warnings'><p><strong>Read this first</strong></p><ul>{items}</ul></div>"


def _images_html(report: Any) -> str:
    rows = report.table_rows()
    if not rows:
        return ""
    keys = list(rows[0])
    cells = [[_num(row.get(k)) if isinstance(row.get(k), float) else _e(row.get(k, "-")) for k in keys]
             for row in rows]
    numeric = [isinstance(rows[0].get(k), float) for k in keys]
    notes = []
    for r in report.images:
        for note in r.notes:
            notes.append(f"<li>{_e(r.name)}: {_e(note)}</li>")
    extra = f"<ul class='small'>{''.join(notes)}</ul>" if notes else ""
    return "<h2>Per image</h2>" + _table(keys, cells, numeric=numeric) + extra


def _details_html(report: Any) -> str:
    parts = ["<h2>Details</h2>"]
    for r in report.images:
        inner = [r.noise._repr_html_(), r.nv12._repr_html_()]
        if r.quantized:
            inner.append(_table(["comparison", "cosine"], [[_e(k), _num(v)] for k, v in r.quantized.items()],
                                numeric=[False, True]))
        if r.diagnosis is not None:
            inner.append("<p><strong>Lint of your NV12</strong></p>" + r.diagnosis._repr_html_())
        if r.verdict is not None:
            inner.append(f"<p>Verdict for this image: <code>{_e(r.verdict.id)}</code> "
                         f"({_e(r.verdict.decided_by)})</p>")
        open_attr = " open" if r is report.images[report.worst] else ""
        parts.append(f"<details{open_attr}><summary>{_e(r.name)}</summary>{''.join(inner)}</details>")
    if report.node_findings:
        rows = [[_e(f.severity), _e(f.message), f"<code>{_e(f.fix)}</code>"] for f in report.node_findings]
        parts.append("<h3>Node settings</h3>" + _table(["severity", "finding", "fix"], rows))
    for result in getattr(report, "layers", None) or []:
        parts.append(f"<h3>Per layer: {_e(result.label)}</h3>" + result._repr_html_())
    return "".join(parts)


def _nv12_node_html(report: Any) -> str:
    """Which NV12 node ran the NV12 variant (said at the top: OpenVINO's real node is not nv12kit's emulation)."""
    node = report.parameters.get("nv12_node")
    return f"<p><b>NV12 node:</b> {_e(node)}</p>" if node else ""


def _parameters_html(report: Any) -> str:
    p = report.parameters
    rows = [[_e(k), _e(v)] for k, v in p.items() if k != "preprocess"]
    thresholds = [[_e(k), _e(f"{v:g}")] for k, v in report.thresholds.to_dict().items()]
    versions = [[_e(k), _e(v)] for k, v in report.versions.items()]
    timing = [[_e(k), _e(f"{v:.2f} s")] for k, v in report.timing.items()]
    return ("<h2>How this was measured</h2>" + _table(["parameter", "value"], rows)
            + "<h3>Thresholds</h3><p class='small'>Change them with triage(..., thresholds={...}) or the CLI's "
            "--threshold NAME=VALUE.</p>" + _table(["threshold", "value"], thresholds)
            + "<h3>Versions</h3>" + _table(["package", "version"], versions)
            + "<h3>Timing</h3>" + _table(["stage", "wall time"], timing))


def render_html(report: Any, *, figures: bool = True, standalone: bool = True, title: str | None = None,
                progress: bool = False) -> str:
    """The report as HTML.

    Parameters
    ----------
    report : TriageReport
    figures : bool, optional
        Include the figures (inline PNG). Needs matplotlib; without it the
        report says the figures were left out.
    standalone : bool, optional
        A whole page with ``<html>``, style and header (for files), or a
        fragment for notebooks.
    title : str, optional
        Page title (escaped).
    progress : bool, optional
        A ``tqdm.auto`` progress bar while the figures are drawn (the slow
        part: a few seconds); off by default. See :func:`figures_for`.
    """
    heading = title or f"nv12kit triage: {report.parameters.get('model', 'model')}"
    body = [f"<h1>{_e(heading)}</h1>", _warnings_html(report),
            f"<p class='small'>Generated {_e(_dt.datetime.now().astimezone().isoformat(timespec='seconds'))} by "
            f"nv12kit {_e(report.versions.get('nv12kit', '?'))}; seed {_e(report.parameters.get('seed'))}.</p>",
            _nv12_node_html(report), _verdict_html(report), _baseline_html(report), _images_html(report),
            _resizer_html(report)]
    shown = figures_for(report, progress=progress) if figures else []
    cs = getattr(report, "convention_sensitivity", None)
    own = _sensitivity_caption(cs) if cs is not None else None
    body.append(_sensitivity_html(report, chart_uri=next((uri for caption, uri in shown if caption == own), None)))
    drawn = bool(shown)
    shown = [(caption, uri) for caption, uri in shown if caption != own]
    if figures:
        if drawn:
            body.append("<h2>Figures</h2>")
            for caption, uri in shown:
                body.append(f"<figure><img alt='{_e(caption)}' src='{uri}'><figcaption>{_e(caption)}"
                            "</figcaption></figure>")
        else:
            body.append("<p class='small'>Figures left out: matplotlib is not installed.</p>")
    if report.notes:
        body.append("<h2>Notes</h2><ul>" + "".join(f"<li>{_e(n)}</li>" for n in report.notes) + "</ul>")
    body.append(_details_html(report))
    body.append(_parameters_html(report))
    content = "\n".join(body)
    if not standalone:
        return f"<div class='nv12kit-report'><style>{_STYLE}</style>{sanitize_html(content)}</div>"
    return html_page(heading, content)


def html_page(title: str, body_html: str) -> str:
    """A whole self-contained page around ``body_html``: the report's style sheet inline, nothing linked.

    The body goes through :func:`sanitize_html` first (its ``<style>``
    elements go too: the report's own style sheet is in the page head), and
    the page is checked with :func:`external_references` before it is
    returned.

    Parameters
    ----------
    title : str
        Page title (escaped here).
    body_html : str
        The page's content, already HTML; whatever came from the user in it
        must be escaped by the caller (the sanitiser is the second line).

    Returns
    -------
    str

    Raises
    ------
    NV12KitError
        If, against expectations, a script or outside reference survived
        the sanitiser (a bug: nothing should be written then).

    Examples
    --------
    >>> page = html_page("a <b>", "<p>hello</p>")
    >>> page.startswith("<!DOCTYPE html>") and "<title>a &lt;b&gt;</title>" in page
    True
    """
    return _checked(f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
                    f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{_PAGE_STYLE}"
                    f"{_STYLE}</style></head><body><div class='nv12kit-report'>{sanitize_html(body_html)}</div>"
                    "</body></html>\n")


# ----------------------------------------------------------------------------
# sanitising and checking every page we write
# ----------------------------------------------------------------------------
# What our reports and nbconvert's basic template use; anything else is dropped (its text kept).
_ALLOWED_TAGS = frozenset({
    "a", "abbr", "article", "aside", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd",
    "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5",
    "h6", "header", "hr", "i", "img", "ins", "kbd", "li", "main", "mark", "ol", "p", "pre", "q", "s", "samp",
    "section", "small", "span", "strike", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "tt", "u", "ul", "var", "wbr",
})
# Dropped together with everything inside them.
_DROPPED_WITH_CONTENT = frozenset({
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "noscript", "noembed",
    "noframes", "template", "svg", "math", "textarea", "select", "xmp", "title",
})
_ALLOWED_ATTRIBUTES = {
    "*": {"class", "id", "title", "style", "lang", "dir"},
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height"},
    "table": {"border"},
    "td": {"colspan", "rowspan", "align", "valign"},
    "th": {"colspan", "rowspan", "align", "valign", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "type"},
    "li": {"value"},
    "details": {"open"},
}
_URL_ATTRIBUTES = frozenset({
    "src", "href", "srcset", "imagesrcset", "poster", "data", "action", "formaction", "background", "xlink:href",
    "codebase", "longdesc", "lowsrc", "dynsrc", "manifest", "ping", "archive", "classid",
})
# Elements that run code, embed another document or send something somewhere.
_ACTIVE_TAGS = frozenset({"script", "iframe", "frame", "frameset", "object", "embed", "applet", "portal", "form",
                          "base"})
_IMAGE_DATA_URI = re.compile(r"data:image/(?:png|jpe?g|gif|webp|bmp|svg\+xml)[;,]", re.IGNORECASE)
_URL_NOISE = re.compile(r"[\t\n\r]")  # browsers drop these anywhere in a URL (java\tscript: is javascript:)
_CSS_UNSAFE = re.compile(r"url\s*\(|image-set|image\s*\(|cross-fade|element\s*\(|expression|@import|\\|/\*|"
                         r"behavior|binding|javascript:|vbscript:", re.IGNORECASE)
_CSS_URL = re.compile(r"url\(\s*['\"]?\s*([^'\")\s]+)", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"@import\s*(?:url\(\s*)?['\"]?\s*([^'\")\s;]+)", re.IGNORECASE)
_CSS_IMAGE_SET = re.compile(r"image-set\(([^)]*)\)", re.IGNORECASE)
_CSS_SCRIPT = re.compile(r"expression\s*\(|behavior\s*:|-moz-binding|javascript:|vbscript:", re.IGNORECASE)
_CSS_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})\s?|\\(.)", re.DOTALL)
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


def _normal_url(value: str) -> str:
    return _URL_NOISE.sub("", html.unescape(value)).lstrip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f"
                                                          "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c"
                                                          "\x1d\x1e\x1f ")


def _url_problem(value: str) -> bool:
    """True if a URL leaves the page, runs code or needs another file; only ``#...`` and ``data:image/`` are fine."""
    url = _normal_url(value)
    if not url or url.startswith("#") or url.lower() == "about:blank":
        return False
    if url.lower().startswith("data:"):
        return not _IMAGE_DATA_URI.match(url)
    return True  # a scheme (http:, javascript:, file:...), //host, a UNC path, or a relative path to another file


def _attribute_filter(tag: str, name: str, value: str) -> str | None:
    # nh3 has already applied the allow-lists; this narrows URLs and inline CSS further.
    if name == "href":
        return value if _normal_url(value).startswith("#") else None
    if name == "src":
        return value if tag == "img" and _IMAGE_DATA_URI.match(_normal_url(value)) else None
    if name == "style" and _CSS_UNSAFE.search(value):
        return None
    return value


def sanitize_html(fragment: str) -> str:
    """An HTML fragment with everything but our reports' own tags and attributes removed.

    Uses the ``nh3`` sanitiser with an allow-list: text, headings, lists,
    tables, ``details``, figures, inline ``style`` and ``class`` attributes
    (inline CSS that could load or run anything is dropped), in-page links
    (``href="#..."``) and images given as ``data:image/...`` URIs. Scripts,
    ``<style>`` elements, frames, objects, forms and SVG go with their
    content; event handlers, other links and other images lose the
    attribute and keep their text. Our own style sheet is added around the
    result by the caller, after sanitising.

    Parameters
    ----------
    fragment : str
        HTML for the inside of ``<body>`` (a whole page's ``<head>`` is not kept).

    Returns
    -------
    str
        The sanitised fragment.

    Examples
    --------
    >>> sanitize_html("<p onclick='x()'>hi<script>alert(1)</script></p><img src=x onerror=alert(1)>")
    '<p>hi</p><img>'
    >>> sanitize_html("<a href='https://example.org'>docs</a> <a href='#step-2'>step 2</a>")
    '<a>docs</a> <a href="#step-2">step 2</a>'
    """
    try:
        import nh3
    except ImportError as exc:  # a core dependency; only a broken install lacks it
        raise NV12KitError("the HTML sanitiser nh3 is not installed; pip install 'nh3>=0.2.18' (a dependency "
                           "of nv12kit)") from exc
    return nh3.clean(fragment, tags=set(_ALLOWED_TAGS), clean_content_tags=set(_DROPPED_WITH_CONTENT),
                     attributes={k: set(v) for k, v in _ALLOWED_ATTRIBUTES.items()},
                     attribute_filter=_attribute_filter, generic_attribute_prefixes={"data-", "aria-"},
                     url_schemes={"data"}, link_rel=None, strip_comments=True)


def _short(value: str, width: int = 100) -> str:
    value = value.strip()
    return value if len(value) <= width else value[: width - 3] + "..."


def _css_problems(css: str) -> list[str]:
    css = _CSS_COMMENT.sub("", css)
    css = _CSS_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)) if m.group(1) else m.group(2), css)
    found = [f"url({u})" for u in _CSS_URL.findall(css) if _url_problem(u)]
    found += [f"@import {u}" for u in _CSS_IMPORT.findall(css)]
    for args in _CSS_IMAGE_SET.findall(css):
        found += [f"image-set({u})" for u in re.findall(r"['\"]([^'\"]+)['\"]", args) if _url_problem(u)]
    found += [f"script {m.group(0)}" for m in _CSS_SCRIPT.finditer(css)]
    return found


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        before = len(self.found)
        values = {name: value or "" for name, value in attrs}
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}={_short(value)}>")
            elif name == "srcdoc":
                self.found.append(f"<{tag} srcdoc={_short(value)}>")
            elif name in ("srcset", "imagesrcset"):
                candidates = [part.split()[0] for part in value.split(",") if part.strip()]
                self.found += [f"<{tag} {name}={_short(c)}>" for c in candidates if _url_problem(c)]
            elif name in _URL_ATTRIBUTES:
                if _url_problem(value):
                    self.found.append(f"<{tag} {name}={_short(_normal_url(value))}>")
            elif name == "style":
                self.found += [f"<{tag} style={p}>" for p in _css_problems(value)]
        if tag == "meta" and values.get("http-equiv", "").strip().lower() == "refresh":
            self.found.append(f"<meta http-equiv=refresh content={_short(values.get('content', ''))}>")
        if tag in _ACTIVE_TAGS and len(self.found) == before:
            self.found.append(f"<{tag}>")
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.found += [f"<style> {p}" for p in _css_problems(data)]


def external_references(page: str) -> list[str]:
    """Everything in an HTML page that runs code or points outside it.

    Reported: ``<script>`` elements, event handler attributes (``onerror=``,
    ``onload=``...), frames (and ``srcdoc``), ``<object>``/``<embed>``/
    ``<applet>``, forms, ``<base>``, ``<meta http-equiv=refresh>``, and every
    URL in ``src``/``href``/``srcset``/``poster``/``action`` & co., CSS
    ``url()``, ``image-set()`` and ``@import`` that is not an in-page anchor
    (``#...``) or a ``data:image/...`` URI: anything with a scheme
    (``http:``, ``javascript:``, ``file:``...), a protocol-relative ``//``, a
    relative path to another file, or a ``data:`` URI that is not an image.
    CSS ``expression()``, ``behavior:`` and ``-moz-binding`` count as scripts.

    Parameters
    ----------
    page : str
        The HTML text.

    Returns
    -------
    list of str
        One entry per finding, in page order, e.g.
        ``"<script src=https://cdn...>"`` or ``"<img onerror=alert(1)>"``;
        empty for a self-contained, script-free page.

    Examples
    --------
    >>> external_references("<img src='data:image/png;base64,AAAA'><a href='#step-1'>step 1</a>")
    []
    >>> external_references("<script src='https://cdn.example/require.js'></script><link href=//x/y.css>")
    ['<script src=https://cdn.example/require.js>', '<link href=//x/y.css>']
    >>> external_references("<img src='figure.png'>")
    ['<img src=figure.png>']
    >>> external_references("<a href='javascript:alert(1)'>x</a><script>alert(2)</script><p onclick=go()>")
    ['<a href=javascript:alert(1)>', '<script>', '<p onclick=go()>']
    """
    checker = _Checker()
    checker.feed(page)
    checker.close()
    return checker.found


def _checked(page: str) -> str:
    left = external_references(page)
    if left:
        raise NV12KitError(f"the page still holds {len(left)} script(s) or outside reference(s) after sanitising, "
                           f"e.g. {left[:3]}; this is a bug in nv12kit, please report it")
    return page
