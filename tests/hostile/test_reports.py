"""Hostile HTML and CSV: no scripts, handlers, frames, refreshes or outside URLs reach a report; no formulas a CSV.

Issue 13, items 3 and 9: raw HTML in markdown cells and ``display(HTML(...))``
outputs, model/image/node names carrying markup, and node names that a
spreadsheet would run.
"""

from __future__ import annotations

import argparse
import csv
import io
from html.parser import HTMLParser

import nbformat
import numpy as np
import onnx
import onnx_models as om
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from PIL import Image

from nv12kit import Preprocess
from nv12kit.cli.demo import demo_page
from nv12kit.cli.layers import add_layers_arguments, run_layers_command
from nv12kit.layers import LayerDivergence, LayerRow, layers_csv
from nv12kit.notebook_report import export_html, external_references, render_notebook
from nv12kit.report import html_page, sanitize_html
from nv12kit.triage import triage

# Each hostile piece, and a word that external_references must name in its finding.
PIECES = {
    "script": ("<script>alert('script')</script>", "<script>"),
    "handler": ("<img src=x onerror=alert(1)>", "onerror"),
    "iframe": ("<iframe srcdoc=\"<script>alert(2)</script>\"></iframe>", "srcdoc"),
    "refresh": ("<meta http-equiv=refresh content=\"0;url=http://x.example/\">", "refresh"),
    "javascript": ("<a href=\"javascript:alert(3)\">click me</a>", "javascript:"),
    "remote image": ("<img src=\"http://example.com/x.png\">", "http://example.com/x.png"),
    "css url": ("<p style=\"background:url(http://example.com/bg.png)\">styled</p>", "http://example.com/bg.png"),
    "style sheet": ("<style>@import 'http://example.com/s.css'; body{color:red}</style>", "@import"),
    "object": ("<object data=\"http://example.com/x.swf\"></object>", "http://example.com/x.swf"),
    "embed": ("<embed src=\"evil.swf\">", "evil.swf"),
    "form": ("<form action=\"http://example.com/steal\"><input name=pw></form>", "http://example.com/steal"),
    "base": ("<base href=\"http://example.com/\">", "http://example.com/"),
    "tabbed javascript": ("<a href=\"java&#x09;script:alert(4)\">tab</a>", "javascript:"),
    "svg script": ("<svg><script>alert(5)</script></svg>", "<script>"),
    "data html": ("<a href=\"data:text/html,<script>alert(6)</script>\">data</a>", "data:text/html"),
}
HOSTILE = "".join(piece for piece, _ in PIECES.values())


class _Live(HTMLParser):
    """What a browser would act on: active elements, handlers, and every URL that is not data:image or #."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.handlers: list[str] = []
        self.urls: list[str] = []
        self.images: list[str] = []
        self.refresh = 0
        self.style_blocks: list[str] = []
        self._style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        values = dict(attrs)
        if tag == "img":
            self.images.append(values.get("src") or "")
        if tag == "meta" and (values.get("http-equiv") or "").lower() == "refresh":
            self.refresh += 1
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(f"{name}={value}")
            elif name in ("src", "href", "srcdoc", "action", "data", "srcset", "formaction", "poster") and value:
                if not value.startswith(("#", "data:image/")):
                    self.urls.append(f"{tag} {name}={value}")
        self._style = tag == "style"

    def handle_endtag(self, tag):
        self._style = False

    def handle_data(self, data):
        if self._style:
            self.style_blocks.append(data)


def live(page: str) -> _Live:
    parser = _Live()
    parser.feed(page)
    parser.close()
    return parser


def assert_inert(page: str, *, escaped_text: bool = False) -> _Live:
    """The page runs nothing and loads nothing from outside (checked without nv12kit's own checker).

    With ``escaped_text`` the page shows hostile names as text (``&lt;script&gt;``), so only the markup is
    checked, not the words.
    """
    found = live(page)
    active = {"script", "iframe", "frame", "object", "embed", "applet", "form", "base", "svg", "link"}
    assert not active & set(found.tags), sorted(active & set(found.tags))
    assert found.handlers == [] and found.urls == [] and found.refresh == 0
    assert all("url(" not in css.lower() and "@import" not in css.lower() for css in found.style_blocks)
    lowered = page.lower()
    for word in ("<script", "<iframe", "<meta http-equiv") if escaped_text else (
            "<script", "<iframe", "javascript:", "http-equiv", "onerror=", "srcdoc"):
        assert word not in lowered, word
    assert external_references(page) == []
    return found


# ----------------------------------------------------------------------------
# the checker
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(PIECES))
def test_external_references_finds_each_hostile_piece(kind):
    piece, word = PIECES[kind]
    found = external_references(piece)
    assert any(word in item for item in found), (kind, found)


@pytest.mark.parametrize("page, word", [
    ("<div style='background:u\\72l(http://e.example/x.png)'>", "http://e.example/x.png"),
    ("<div style='background:image-set(\"http://e.example/a.png\" 1x)'>", "http://e.example/a.png"),
    ("<style>@import url(s.css);</style>", "@import"),
    ("<div style='width:expression(alert(1))'>", "expression"),
    ("<img srcset='data:image/png;base64,AA 1x, //cdn.example/b.png 2x'>", "//cdn.example/b.png"),
    ("<a href=' \tJaVaScRiPt:alert(1)'>x</a>", "JaVaScRiPt:alert(1)"),
    ("<img src='data:text/html;base64,PHNjcmlwdD4='>", "data:text/html"),
    ("<p onmouseover=\"alert(1)\">x</p>", "onmouseover"),
])
def test_external_references_sees_through_the_usual_disguises(page, word):
    assert any(word in item for item in external_references(page)), external_references(page)


def test_a_clean_page_has_no_findings():
    page = html_page("clean", "<h2 id='a'>A</h2><a href='#a'>up</a><img src='data:image/png;base64,iVBORw0KGgo='>"
                              "<table><tr><td style='background:#fde2e2'>1</td></tr></table>"
                              "<details open><summary>more</summary><p class='small'>x</p></details>")
    assert external_references(page) == []
    assert "<details open" in page and 'style="background:#fde2e2"' in page and 'href="#a"' in page
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in page


# ----------------------------------------------------------------------------
# exported notebooks
# ----------------------------------------------------------------------------
def _hostile_notebook() -> nbformat.NotebookNode:
    html_output = new_code_cell("display(HTML(...))")
    html_output.outputs = [new_output("display_data", {"text/html": HOSTILE + "<p>from an output</p>",
                                                       "text/plain": "<IPython.core.display.HTML object>"})]
    svg = new_code_cell("svg figure")
    svg.outputs = [new_output("display_data", {"image/svg+xml": (
        "<svg xmlns='http://www.w3.org/2000/svg' width='8' height='8'><rect width='8' height='8'/>"
        "<script>alert(7)</script></svg>")})]
    return new_notebook(cells=[new_markdown_cell("# Hostile notebook\n\n" + HOSTILE + "\n\nwords of the markdown"),
                               html_output, svg])


def test_exported_notebook_carries_none_of_the_hostile_html():
    page = export_html(_hostile_notebook(), footer="<script>footer</script>")
    found = assert_inert(page)
    # The words survive; the markup does not. The SVG figure is kept, as an image that cannot run anything.
    for text in ("words of the markdown", "from an output", "click me", "styled"):
        assert text in page, text
    assert "&lt;script&gt;footer&lt;/script&gt;" in page
    assert [src[:26] for src in found.images if src.startswith("data:")] == ["data:image/svg+xml;base64,"]


def test_external_references_of_the_raw_notebook_html_finds_every_piece():
    # The raw HTML that nbconvert produces before sanitising still carries each piece: the checker sees them.
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(template_name="basic").from_notebook_node(_hostile_notebook())
    found = " ".join(external_references(body))
    for kind, (_, word) in PIECES.items():
        assert word in found, (kind, found)


@pytest.mark.slow
def test_rendered_notebook_with_display_html_is_inert(tmp_path):
    nb = new_notebook(cells=[
        new_markdown_cell("# Rendered\n\n" + HOSTILE),
        new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
        new_code_cell(f"from IPython.display import HTML, display\ndisplay(HTML({HOSTILE!r}))\nprint('ran', x)"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    source = tmp_path / "hostile.ipynb"
    nbformat.write(nb, source)
    out = render_notebook(source, tmp_path / "hostile.html", parameters={"x": "<script>alert(8)</script>"})
    page = out.read_text(encoding="utf-8")
    assert_inert(page)
    assert "ran" in page and "&lt;script&gt;alert(8)&lt;/script&gt;" in page


# ----------------------------------------------------------------------------
# triage, layers and demo pages
# ----------------------------------------------------------------------------
def test_triage_report_with_hostile_model_and_image_names_is_escaped_and_inert(tmp_path):
    image = tmp_path / "<img src=x onerror=alert(1)>.png"
    Image.fromarray(np.full((32, 32, 3), 90, np.uint8)).save(image)
    label = "<script>alert(1)</script><iframe srcdoc=x></iframe><a href='javascript:go()'>m</a>"
    report = triage(om.classifier(32), [image], preprocess=Preprocess(mean=128, std=64), progress=False, trials=3,
                    model_label=label)
    page = report.to_html(tmp_path / "r.html", figures=False).read_text(encoding="utf-8")
    assert_inert(page, escaped_text=True)
    # Escaped, so the reader sees the names as they are; the report keeps its look.
    assert "&lt;img src=x onerror=alert(1)&gt;.png" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'class="verdict' in page and "<table" in page and ".nv12kit-report .verdict.bad" in page
    fragment = report._repr_html_()
    assert external_references(fragment) == [] and "&lt;script&gt;" in fragment


def _row(node: str, op_type: str = "Conv", output: str = "t", growth: float = -0.5, flags=()) -> LayerRow:
    return LayerRow(1, node, op_type, output, (1, 4), 0.5, 0.25, 0.1, -3.0, 0.9, growth, tuple(flags))


def test_layer_table_with_hostile_node_names_is_escaped_in_the_page():
    rows = (_row("<img src=x onerror=alert(1)>", op_type="<script>alert(2)</script>",
                 output="<a href='javascript:x()'>o</a>", flags=("<iframe srcdoc=y>",)),)
    result = LayerDivergence("nv12", "nv12 <b>label</b>", rows)
    page = html_page("layers", result._repr_html_())
    assert_inert(page, escaped_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "&lt;script&gt;alert(2)&lt;/script&gt;" in page


def test_demo_page_is_sanitised_even_when_a_fragment_is_not():
    fragment = "<div class='nv12kit-report'><style>.x{}</style><p>kept</p>" + HOSTILE + "</div>"
    page = demo_page([("<script>t</script>", fragment)], "<table><tr><td>-0.5</td></tr></table>", seconds=1.0)
    assert_inert(page)
    assert "kept" in page and "&lt;script&gt;t&lt;/script&gt;" in page and "<td>-0.5</td>" in page


def test_html_page_sanitises_a_careless_body():
    page = html_page("careless", HOSTILE + "<p>text</p>")
    assert_inert(page)
    assert "<p>text</p>" in page


def test_sanitiser_keeps_what_reports_use():
    kept = ("<h2>t</h2><table><tbody><tr><th>a</th><td class=\"num\">1</td></tr></tbody></table>"
            "<details open=\"\"><summary>s</summary><ul><li>x</li></ul></details>"
            "<figure><img alt=\"c\" src=\"data:image/png;base64,AAAA\"><figcaption>c</figcaption></figure>"
            "<pre><code>x</code></pre><p style=\"text-align: right;\"><a href=\"#s0\">s</a></p>")
    assert sanitize_html(kept) == kept


# ----------------------------------------------------------------------------
# CSV
# ----------------------------------------------------------------------------
def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_layers_csv_neutralises_formulas_and_keeps_numbers():
    rows = (_row('=HYPERLINK("http://x.example","click")', op_type="+cmd|' /C calc'!A0", output="@SUM(1+1)",
                 flags=("-2+3",)),
            _row("\tindented", output="\rcarriage", growth=-0.5),
            _row("-1", output="plain"),
            _row("x\r=HYPERLINK(\"http://x.example\")", output="split"))
    text = layers_csv([LayerDivergence("nv12", "nv12", rows)])
    first, second, third, fourth = _csv_rows(text)
    assert "\r" not in text
    assert fourth["node"] == "x\n=HYPERLINK(\"http://x.example\")" and fourth["output"] == "split"
    assert first["node"] == "'=HYPERLINK(\"http://x.example\",\"click\")"
    assert first["op_type"] == "'+cmd|' /C calc'!A0" and first["output"] == "'@SUM(1+1)"
    assert first["flags"] == "'-2+3"
    # A line break inside a name is written as a quoted "\n": a bare CR would split the row for a spreadsheet.
    assert second["node"] == "'\tindented" and second["output"] == "'\ncarriage"
    assert third["node"] == "-1"  # a plain number is no formula
    assert third["flags"] == "" and '"\'\ncarriage"' in text
    # Number columns stay numbers, negative ones too.
    for row in (first, second, third):
        assert float(row["growth_db"]) == -0.5 and float(row["snr_db"]) == -3.0 and row["growth_db"] == "-0.5"
    # No text cell starts with a formula character.
    for row in (first, second):
        for key in ("node", "op_type", "output", "flags"):
            assert not row[key] or row[key][0] not in "=+-@\t\r", (key, row[key])


def test_layers_command_csv_neutralises_a_hostile_node_name(tmp_path, capsys):
    model = om.classifier(32)
    model.graph.node[0].name = '=HYPERLINK("http://x.example")'
    path = tmp_path / "hostile.onnx"
    onnx.save_model(model, str(path))
    image = tmp_path / "frame.png"
    Image.fromarray(np.full((32, 32, 3), 120, np.uint8)).save(image)
    parser = argparse.ArgumentParser(prog="nv12kit layers")
    add_layers_arguments(parser)
    out = tmp_path / "l.csv"
    code = run_layers_command(parser.parse_args(["--model", str(path), "--image", str(image), "--mean", "128",
                                                 "--std", "64", "--compare", "nv12", "--csv", str(out)]))
    capsys.readouterr()
    assert code == 0
    nodes = [row["node"] for row in _csv_rows(out.read_text(encoding="utf-8"))]
    assert "'=HYPERLINK(\"http://x.example\")" in nodes
    assert not any(node.startswith("=") for node in nodes)
