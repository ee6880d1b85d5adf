"""The house rules of ../shared/design/ARCHITECTURE.md, checked on the source tree.

- no import circle inside nv12kit (imports inside functions count; ``TYPE_CHECKING`` blocks do not);
- imports only go down the layers; the core never imports the front ends;
- no source file over 1,000 lines (ARCHITECTURE.md; the house issue allows 1,200);
- ``import nv12kit`` loads none of the heavy libraries, and the CLI's parser neither.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "nv12kit"
HEAVY = ("onnx", "onnxruntime", "matplotlib", "ipywidgets", "nbclient", "tqdm")

# The layers, bottom first: a module may import its own layer and those below it.
LAYERS: list[set[str]] = [
    {"errors", "_util", "_io", "data"},
    {"conventions", "_kernels", "_decoders", "convert", "yuv", "yuv_layouts", "chart", "images"},
    {"preprocess", "model", "runtime", "metrics", "dumps", "feeds", "openvino_node"},
    {"graph", "resizer", "roundtrip", "noise", "augment", "lint", "layers"},
    {"triage", "verdicts", "roi_triage", "counterfactual", "baseline", "evaluation"},
    {"report", "plots", "bundle"},
    {"explore"},
    {"widgets", "notebook_report", "cli"},
]
CORE = set().union(*LAYERS[:5])
FRONT_ENDS = {"cli", "widgets", "plots", "notebook_report", "explore"}
# A result object's to_html may render itself through report, lazily, inside the method (to_bundle through bundle).
ALLOWED_UPWARD = {("triage", "report"), ("layers", "report"), ("noise", "report"), ("roundtrip", "report"),
                   ("evaluation", "report"), ("triage", "bundle")}


def _room(module: str) -> str:
    """``nv12kit.lint.colour`` -> ``lint``: the room (top-level module or package) a module lives in."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _layer(room: str) -> int:
    for index, members in enumerate(LAYERS):
        if room in members:
            return index
    raise AssertionError(f"nv12kit.{room} is in no layer of ARCHITECTURE.md; add it to LAYERS in {__file__}")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every nv12kit module ``path`` imports, at the top or inside functions, outside TYPE_CHECKING."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for n in ast.walk(node))
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("nv12kit"):
                found.add(target)
                found.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("nv12kit"))
    return found


def _graph() -> dict[str, set[str]]:
    files = {(_module_name(p)): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for module, path in files.items():
        graph[module] = {m for m in _imports(path) if m in files and m != module}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_checker_sees_a_circle_and_an_upward_import():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]
    assert _layer("cli") > _layer("triage") > _layer("graph") > _layer("images")


def test_no_import_circle_inside_the_package():
    graph = _graph()
    # The package __init__ re-exports from every room, and every submodule import runs it first:
    # that is Python's package mechanism, not a circle between rooms.
    graph = {m: {d for d in deps if d != "nv12kit"} for m, deps in graph.items() if m != "nv12kit"}
    assert _cycles(graph) == []


def test_imports_only_go_down_the_layers():
    wrong = []
    for module, deps in _graph().items():
        room = _room(module)
        if room == "__init__":
            continue
        for dep in deps:
            target = _room(dep)
            if target in ("__init__", room) or (room, target) in ALLOWED_UPWARD:
                continue
            if _layer(target) > _layer(room):
                wrong.append(f"{module} imports {dep}")
    assert wrong == []


def test_the_core_never_imports_a_front_end():
    wrong = [f"{m} imports {d}" for m, deps in _graph().items() if _room(m) in CORE
             for d in deps if _room(d) in FRONT_ENDS]
    assert wrong == []


def test_no_source_file_over_1000_lines():
    long = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 1000}
    assert long == {}


def _loaded_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    return done.stdout.split()


def test_import_nv12kit_loads_no_heavy_library():
    assert _loaded_after("import nv12kit") == []


def test_cli_parser_loads_no_heavy_library():
    assert _loaded_after("from nv12kit.cli import build_parser\nbuild_parser().format_help()") == []


@pytest.mark.parametrize("name", ["insert_nv12_node", "Runner", "diagnose", "layer_divergence", "load_model",
                                  "NODE_MODES", "triage"])
def test_lazy_public_names_resolve_and_stay_bound(name):
    import nv12kit

    assert name in nv12kit.__all__ and name in dir(nv12kit)
    value = getattr(nv12kit, name)
    assert getattr(nv12kit, name) is value


def test_importing_the_triage_module_does_not_hide_the_triage_function():
    code = "import nv12kit.triage, nv12kit\nprint(callable(nv12kit.triage))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "True"


def test_unknown_attribute_is_an_attribute_error():
    import nv12kit

    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        nv12kit.not_a_name  # noqa: B018


def test_submodules_are_reachable_after_a_plain_import():
    code = "import nv12kit\nprint(nv12kit.data.DEMO_MODELS[0], callable(nv12kit.plots.plot_planes))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.split() == ["demo_robust", "True"]
