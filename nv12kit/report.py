"""Render a TriageReport as one self-contained HTML page.

Everything is inline: the style sheet, and the figures as base64 PNG. There
are no scripts and no links to anything outside the file, so the report opens
offline and can be attached to a ticket. Every string that came from the user
(model and image names, paths, settings) is HTML-escaped.
"""

from __future__ import annotations

import datetime as _dt
import html
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["render_html", "figures_for", "html_page"]

_STYLE = """
.nv12kit-report{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#222;line-height:1.45}
.nv12kit-report h1{font-size:1.6em;margin-bottom:.2em}
.nv12kit-report h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #ddd}
.nv12kit-report .verdict{border-radius:6px;padding:.8em 1.2em;margin:1em 0}
.nv12kit-report .verdict.bad{background:#fdecea;border-left:6px solid #c62828}
.nv12kit-report .verdict.good{background:#e8f5e9;border-left:6px solid #2e7d32}
.nv12kit-report .verdict h2{border:0;margin:.1em 0}
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


def figures_for(report: Any) -> list[tuple[str, str]]:
    """(caption, data URI) of every figure the report shows; empty without matplotlib."""
    try:
        from . import plots
    except ImportError:
        return []
    preview = report.preview
    if not preview:
        return []
    from .convert import nv12_to_rgb

    shown: list[tuple[str, str]] = []
    worst = report.images[report.worst]

    def add(caption: str, fig: Any) -> None:
        shown.append((caption, plots.figure_to_data_uri(fig)))

    frame = preview["frame"]
    add(f"Y, U and V planes of {worst.name} ({worst.frame_source})", plots.plot_planes(frame))
    decoded = nv12_to_rgb(frame, convention=preview.get("convention", "horizon"))
    add(f"Round-trip error of {worst.name}: |RGB - decode(NV12)|, largest channel", plots.plot_roundtrip_error(
        preview["rgb"], decoded))
    t = report.thresholds
    add(f"1 - cosine of every noise trial, per amplitude, with the NV12 loss ({worst.name})",
        plots.plot_cosine_histograms(worst.noise))
    nv12 = {"qat_nv12 (node)": worst.nv12_cosine} if worst.nv12_cosine is not None else None
    add(f"Noise floor against amplitude; the NV12 loss is marked (relative limit: {t.max_loss_ratio:g}x the floor "
        f"at ±{t.reference_amplitude:g})", plots.plot_cosine_vs_amplitude(worst.noise, nv12_loss=nv12))
    layer_results = list(getattr(report, "layers", None) or [])
    if layer_results:
        add("1 - cosine of every layer's output along the network's depth: NV12 round trip against pixel noise, "
            "the layers where the loss grows most are marked",
            plots.plot_layer_divergence(layer_results[0], others=layer_results[1:]))
    out_feat, out_nv12 = preview.get("out_feat"), preview.get("out_nv12")
    if out_feat is not None and getattr(out_feat, "ndim", 0) >= 3 and out_feat.shape[-1] > 1:
        add(f"|qat_feat - qat_nv12| of the dense output {worst.noise.output!r}",
            plots.plot_output_diff(out_feat, out_nv12))
    return shown


def _verdict_html(report: Any) -> str:
    v = report.verdict
    css = "good" if v.id == "healthy" else "bad"
    evidence = "".join(f"<li>{_e(e)}</li>" for e in v.evidence)
    todo = "".join(f"<li>{_e(r)}</li>" for r in v.recommendations)
    return (f'<div class="verdict {css}"><h2>Verdict: <code>{_e(v.id)}</code></h2><p>{_e(v.title)}</p>'
            f"<p><strong>Decided by:</strong> {_e(v.decided_by)}</p><p><strong>Evidence</strong></p><ul>{evidence}"
            f"</ul><p><strong>What to do</strong></p><ul>{todo}</ul></div>")


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


def render_html(report: Any, *, figures: bool = True, standalone: bool = True, title: str | None = None) -> str:
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
    """
    heading = title or f"nv12kit triage: {report.parameters.get('model', 'model')}"
    body = [f"<h1>{_e(heading)}</h1>",
            f"<p class='small'>Generated {_e(_dt.datetime.now().astimezone().isoformat(timespec='seconds'))} by "
            f"nv12kit {_e(report.versions.get('nv12kit', '?'))}; seed {_e(report.parameters.get('seed'))}.</p>",
            _verdict_html(report), _images_html(report)]
    if figures:
        shown = figures_for(report)
        if shown:
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
        return f"<div class='nv12kit-report'><style>{_STYLE}</style>{content}</div>"
    return html_page(heading, content)


def html_page(title: str, body_html: str) -> str:
    """A whole self-contained page around ``body_html``: the report's style sheet inline, nothing linked.

    Parameters
    ----------
    title : str
        Page title (escaped here).
    body_html : str
        The page's content, already HTML; whatever came from the user in it
        must be escaped by the caller.

    Returns
    -------
    str

    Examples
    --------
    >>> page = html_page("a <b>", "<p>hello</p>")
    >>> page.startswith("<!DOCTYPE html>") and "<title>a &lt;b&gt;</title>" in page
    True
    """
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{_PAGE_STYLE}{_STYLE}"
            f"</style></head><body><div class='nv12kit-report'>{body_html}</div></body></html>\n")
