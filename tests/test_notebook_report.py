"""Notebook reports: executed with parameters, exported without code, widgets or anything from outside the file."""

from __future__ import annotations

import argparse
import pathlib
import re
from html.parser import HTMLParser

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from nv12kit.cli.report import add_report_arguments, run_report_command
from nv12kit.data import model_path, photo_path
from nv12kit.errors import InputError
from nv12kit.notebook_report import (
    NotebookError,
    export_html,
    external_references,
    parse_parameters,
    render_notebook,
)

ROOT = pathlib.Path(__file__).resolve().parents[1]
GUIDED = ROOT / "notebooks" / "01_guided_triage.ipynb"

# Figures of notebook 01 on demo_fragile with one image: the planes, the round-trip error and the pixel-exact
# image beside its round trip (step 2), the histogram and the floor-against-amplitude curve (step 5), and the
# report's six (planes, round trip, histogram, curve, what another convention would cost, and the per-layer
# divergence that an over-sensitive verdict adds).
EXPECTED_IMAGES = 3 + 2 + 6


class _Page(HTMLParser):
    """What a reader of the page gets: the text, the <img> sources, every src/href."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.images: list[str] = []
        self.links: list[str] = []
        self.scripts = 0
        self.classes: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "img":
            self.images.append(values.get("src") or "")
        if tag == "script":
            self.scripts += 1
        self.links += [v for k, v in attrs if k in ("src", "href") and v is not None]
        self.classes += (values.get("class") or "").split()

    def handle_data(self, data):
        self.text.append(data)


def _parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    return parser


@pytest.fixture(scope="module")
def guided_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "guided.html"
    executed = out.with_suffix(".ipynb")
    parameters = {"model_path": str(model_path("demo_fragile")), "image_paths": [str(photo_path("coffee"))],
                  "trials": 8}
    path = render_notebook(GUIDED, out, parameters=parameters, executed_notebook=executed)
    return path, path.read_text(encoding="utf-8"), nbformat.read(executed, as_version=4)


def test_guided_notebook_renders_with_the_given_parameters(guided_report):
    path, page, executed = guided_report
    assert path.name == "guided.html"
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "demo_fragile" in injected[0].source
    text = " ".join(_parse(page).text)
    # demo_robust (the default) is healthy; the parameters made it demo_fragile on one image.
    assert "verdict: over_sensitive_model" in text
    assert "coffee.png: cos(feat, nv12)" in text and "astronaut.png" not in text
    assert "demo_fragile.onnx" in text
    assert "Rendered from 01_guided_triage.ipynb with model_path = " in text


def test_report_refers_to_nothing_outside_the_file(guided_report):
    _, page, _ = guided_report
    parsed = _parse(page)
    outside = [link for link in parsed.links if not link.startswith(("data:", "#"))]
    assert outside == []
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:|//)""", page, re.IGNORECASE)
    assert external_references(page) == []
    assert parsed.scripts == 0
    assert "<link" not in page and "@import" not in page


def test_report_has_no_input_cells_and_no_widgets(guided_report):
    _, page, _ = guided_report
    parsed = _parse(page)
    assert "input_area" not in parsed.classes and "jp-InputArea" not in parsed.classes
    for code in ("NBVAL_CHECK_OUTPUT", "import nv12kit", "explore.describe_model(", "%matplotlib"):
        assert code not in page
    assert "widget-view" not in page and "widget-state" not in page
    assert "VBox(" not in page  # the text form of a widget output
    # The markdown steps are there.
    for step in range(1, 7):
        assert f"Step {step}." in page


def test_report_shows_every_static_figure_inline(guided_report):
    _, page, _ = guided_report
    images = _parse(page).images
    assert len(images) == EXPECTED_IMAGES
    assert all(src.startswith("data:image/png;base64,") for src in images)


# ----------------------------------------------------------------------------
# export on hand-made notebooks (no kernel)
# ----------------------------------------------------------------------------
def _executed_notebook() -> nbformat.NotebookNode:
    widget = new_code_cell("widgets.model_picker()", metadata={"tags": ["widget"]})
    widget.outputs = [new_output("execute_result", {"text/plain": "ModelPicker(...)",
                                                    "application/vnd.jupyter.widget-view+json": {"model_id": "x"}})]
    stray = new_code_cell("tqdm()")
    stray.outputs = [new_output("display_data", {"text/plain": "HBox(children=(...))",
                                                 "application/vnd.jupyter.widget-view+json": {"model_id": "y"}}),
                     new_output("stream", name="stdout", text="kept text\n")]
    script = new_code_cell("HTML(...)")
    script.outputs = [new_output("display_data", {
        "text/html": "<script src='https://cdn.example/x.js'></script><p>table here</p>"
                     "<a href='https://example.org/docs'>the docs</a>",
        "application/javascript": "alert(1)"})]
    nb = new_notebook(cells=[
        new_markdown_cell("# My title\n\nSee [the wiki](http://wiki.example/page) and ![logo](https://x/logo.png)."),
        widget, stray, script,
        new_code_cell("secret_code = 1", metadata={"tags": ["remove_cell"]}),
    ])
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return nb


def test_export_removes_widget_cells_widget_outputs_scripts_and_remote_links():
    nb = _executed_notebook()
    before = nbformat.writes(nb)
    page = export_html(nb, footer="made by a test")
    assert nbformat.writes(nb) == before  # the notebook itself is not touched
    parsed = _parse(page)
    text = " ".join(parsed.text)
    assert "<title>My title</title>" in page
    assert "kept text" in text and "table here" in text and "made by a test" in text
    assert "ModelPicker" not in page and "HBox" not in page and "secret_code" not in page
    assert parsed.scripts == 0 and "alert(1)" not in page and "widget-state" not in page
    assert external_references(page) == []
    # Remote links keep their words (and the address as a tooltip); remote images are left out.
    assert "the wiki" in text and "the docs" in text and 'title="https://example.org/docs"' in page
    assert all(not src.startswith("http") for src in parsed.images)


def test_external_references_finds_every_kind_of_outside_reference():
    page = ("<img src='https://a/b.png'><img srcset='data:x 1x, //c/d.png 2x'><link rel=stylesheet href=s.css>"
            "<div style=\"background:url('http://e/f.png')\"></div><style>@import 'g.css'; x{background:"
            "url(//h/i.png)}</style><a href='#ok'>ok</a><img src='data:image/png;base64,AA'>"
            "<iframe src=file:///etc/passwd></iframe>")
    found = external_references(page)
    for url in ("https://a/b.png", "//c/d.png", "s.css", "http://e/f.png", "g.css", "//h/i.png", "file:///etc/passwd"):
        assert any(url in item for item in found), (url, found)
    assert not any("#ok" in item or "data:image" in item for item in found)


# ----------------------------------------------------------------------------
# parameters, errors, command line
# ----------------------------------------------------------------------------
def test_parameters_are_json_when_they_parse_else_strings():
    assert parse_parameters([("a", "3"), ("b", "true"), ("c", "null"), ("d", "my.onnx"), ("e", '["x.jpg"]'),
                             ("f", "1e-3"), ("g", '{"mean": 128}')]) == {
        "a": 3, "b": True, "c": None, "d": "my.onnx", "e": ["x.jpg"], "f": 0.001, "g": {"mean": 128}}
    with pytest.raises(InputError, match="not a Python name"):
        parse_parameters([("model-path", "x")])
    with pytest.raises(InputError, match="given twice"):
        parse_parameters([("a", "1"), ("a", "2")])


def test_unknown_parameter_is_refused_with_the_known_ones(tmp_path):
    with pytest.raises(InputError, match=r"unknown parameter\(s\) \['modle_path'\]; this notebook takes: model_path"):
        render_notebook(GUIDED, tmp_path / "x.html", parameters={"modle_path": "m.onnx"})
    assert not (tmp_path / "x.html").exists()


def test_missing_notebook_and_overwriting_it_are_refused(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        render_notebook(tmp_path / "nope.ipynb", tmp_path / "x.html")
    copy = tmp_path / "nb.ipynb"
    copy.write_bytes(GUIDED.read_bytes())
    with pytest.raises(InputError, match="is the notebook itself"):
        render_notebook(copy, copy)
    with pytest.raises(InputError, match="not a notebook"):
        render_notebook(ROOT / "pyproject.toml", tmp_path / "x.html")


def _tiny_notebook(path, body: str) -> None:
    nb = new_notebook(cells=[new_markdown_cell("# Tiny"), new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
                             new_code_cell(body)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def _cli(argv):
    parser = argparse.ArgumentParser(prog="nv12kit report")
    add_report_arguments(parser)
    return run_report_command(parser.parse_args(argv))


def test_command_line_renders_with_parameters_and_failing_cells_exit_1(tmp_path, capsys):
    good = tmp_path / "good.ipynb"
    _tiny_notebook(good, "print('x is', x * 2)")
    out = tmp_path / "good.html"
    assert _cli([str(good), "-p", "x", "21", "-o", str(out)]) == 0
    assert "x is 42" in out.read_text()
    assert "notebook report written to" in capsys.readouterr().out

    bad = tmp_path / "bad.ipynb"
    _tiny_notebook(bad, "1 / x")
    target = tmp_path / "bad.html"
    assert _cli([str(bad), "-p", "x", "0", "-o", str(target)]) == 1
    err = capsys.readouterr().err
    assert "ZeroDivisionError" in err and "no report was written" in err
    assert not target.exists()
    with pytest.raises(NotebookError):
        render_notebook(bad, target, parameters={"x": 0})

    assert _cli([str(good), "-p", "y", "1", "-o", str(out)]) == 2
    assert "unknown parameter" in capsys.readouterr().err


def test_progress_bar_counts_the_cells_and_the_export_and_quiet_turns_it_off(tmp_path, capsys):
    source = tmp_path / "tiny.ipynb"
    _tiny_notebook(source, "print('x is', x)")
    render_notebook(source, tmp_path / "tiny.html", parameters={"x": 3})
    err = capsys.readouterr().err
    # Two cells of the notebook, papermill's parameters cell, and the export: four steps.
    assert "report tiny.ipynb" in err and "4/4" in err
    assert "without encryption" not in err
    assert _cli([str(source), "-p", "x", "4", "-o", str(tmp_path / "quiet.html"), "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    # The command draws its bar on a terminal only, never into a log or a pipe (such as pytest's capture).
    assert _cli([str(source), "-p", "x", "5", "-o", str(tmp_path / "piped.html")]) == 0
    assert capsys.readouterr().err == ""
