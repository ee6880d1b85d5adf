"""Packaging stays in step: pyproject.toml, environment.yml, Makefile, data.

pyproject.toml is the source of truth for dependencies. environment.yml must
list the same things under their conda-forge names, with the same lower
bounds, so that a conda user and a pip user get the same environment.
"""

from __future__ import annotations

import copy
import fnmatch
import importlib.util
import re
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "nv12kit" / "data"

# pip name -> conda-forge name. Names not listed are the same on both.
# None means "pip only": conda-forge has no equivalent we want (its py-opencv
# is not the headless wheel the tests use as a reference), so environment.yml
# installs it from its pip section.
CONDA_NAME: dict[str, str | None] = {
    "opencv-python-headless": None,
    "polygraphy": None,
}
# Extras that environment.yml must install through its `-e .[...]` line.
ENV_EXTRAS = ("notebooks", "test")
EDITABLE_LINE = "-e .[notebooks,test]"


# --------------------------------------------------------------------------
# loading


def _load_toml(path: Path) -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - depends on the interpreter
        tomllib = pytest.importorskip("tomli", reason="tomli is needed on 3.10")
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def parse_simple_yaml(text: str) -> dict:
    """Parse the small YAML subset that environment.yml uses, strictly.

    Supported: top-level ``key: scalar`` and ``key:`` followed by a list of
    ``- item`` lines; a list item ``- key:`` followed by a more deeply
    indented list (conda's ``- pip:``). Comments and blank lines are skipped.
    Anything else raises ValueError, so a change of structure is noticed
    rather than misread.
    """
    result: dict = {}
    current: list | None = None  # the top-level list being filled
    nested: list | None = None  # the list under a `- key:` item
    item_indent = nested_indent = -1
    for lineno, raw in enumerate(text.splitlines(), 1):
        # Drop comments: whole-line ones and trailing " # ..." ones.
        line = "" if raw.lstrip().startswith("#") else raw.split(" #", 1)[0].rstrip()
        if not line.strip():
            continue
        body = line.lstrip(" ")
        if body.startswith("\t"):
            raise ValueError(f"line {lineno}: tabs in indentation")
        indent = len(line) - len(body)
        if indent == 0:
            m = re.fullmatch(r"([A-Za-z_][\w-]*):(?:\s+(\S.*))?", body)
            if not m:
                raise ValueError(f"line {lineno}: expected 'key: value' or 'key:', got {raw!r}")
            key, value = m.groups()
            if key in result:
                raise ValueError(f"line {lineno}: duplicate key {key!r}")
            if value is None:
                current = result[key] = []
                item_indent = -1
            else:
                current = None
                result[key] = value
            nested = None
            continue
        if not body.startswith("- "):
            raise ValueError(f"line {lineno}: expected a list item '- ...', got {raw!r}")
        item = body[2:].strip()
        if nested is not None and indent > item_indent:
            if nested_indent == -1:
                nested_indent = indent
            if indent != nested_indent:
                raise ValueError(f"line {lineno}: inconsistent indentation")
            nested.append(item)
            continue
        if current is None:
            raise ValueError(f"line {lineno}: list item outside a list: {raw!r}")
        if item_indent == -1:
            item_indent = indent
        if indent != item_indent:
            raise ValueError(f"line {lineno}: inconsistent indentation")
        m = re.fullmatch(r"([A-Za-z_][\w-]*):", item)
        if m:
            nested = []
            nested_indent = -1
            current.append({m.group(1): nested})
        else:
            nested = None
            current.append(item)
    return result


# --------------------------------------------------------------------------
# the consistency check


def _lower_bound(specifier: str) -> str | None:
    m = re.search(r">=\s*([0-9][^,\s]*)", specifier)
    return m.group(1) if m else None


def _conda_spec(spec: str) -> tuple[str, str | None]:
    m = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(.*)", spec)
    if not m:
        raise ValueError(f"cannot read conda spec {spec!r}")
    return canonicalize_name(m.group(1)), _lower_bound(m.group(2))


def check_in_step(pyproject: dict, env: dict) -> list[str]:
    """Return the ways in which environment.yml disagrees with pyproject.toml.

    An empty list means they are in step.
    """
    problems: list[str] = []
    project = pyproject["project"]
    extras = project.get("optional-dependencies", {})

    if env.get("channels") != ["conda-forge"]:
        problems.append(f"channels must be exactly [conda-forge], got {env.get('channels')}")

    conda: dict[str, str | None] = {}
    pip_lines: list[str] = []
    for dep in env.get("dependencies", []):
        if isinstance(dep, dict):
            if list(dep) != ["pip"]:
                problems.append(f"unexpected nested section {dep}")
                continue
            pip_lines.extend(dep["pip"])
        else:
            name, bound = _conda_spec(dep)
            conda[name] = bound

    if "pip" not in conda:
        problems.append("'pip' must be a conda dependency when there is a pip section")

    # Python lower bound.
    py_bound = _lower_bound(project.get("requires-python", ""))
    if "python" not in conda:
        problems.append("environment.yml does not pin python")
    elif conda["python"] != py_bound:
        problems.append(
            f"python lower bound differs: requires-python >={py_bound}, "
            f"environment.yml python>={conda['python']}"
        )

    # The editable install of the package with the extras.
    editable = [ln for ln in pip_lines if ln.startswith("-e ")]
    if EDITABLE_LINE not in pip_lines:
        problems.append(f"pip section must contain {EDITABLE_LINE!r}, has {editable}")
    for extra in ENV_EXTRAS:
        if extra not in extras:
            problems.append(f"pyproject.toml has no [{extra}] extra")

    pip_reqs: dict[str, str | None] = {}
    for ln in pip_lines:
        if ln.startswith("-"):
            continue
        req = Requirement(ln)
        pip_reqs[canonicalize_name(req.name)] = _lower_bound(str(req.specifier))

    wanted = list(project.get("dependencies", []))
    for extra in ENV_EXTRAS:
        wanted += extras.get(extra, [])
    expected_conda = {"python", "pip"}
    for spec in wanted:
        req = Requirement(spec)
        name = canonicalize_name(req.name)
        bound = _lower_bound(str(req.specifier))
        conda_name = CONDA_NAME.get(name, name)
        if conda_name is None:
            # Pip only: explicit in the pip section, or pulled in by `-e .[...]`.
            if name in pip_reqs and pip_reqs[name] != bound and pip_reqs[name] is not None:
                problems.append(
                    f"{name}: lower bound {bound} in pyproject.toml, {pip_reqs[name]} in pip section"
                )
            elif name not in pip_reqs and EDITABLE_LINE not in pip_lines:
                problems.append(f"{name} (pip only) is missing from the pip section")
            continue
        expected_conda.add(conda_name)
        if conda_name not in conda:
            problems.append(f"{name} is missing from environment.yml (conda-forge: {conda_name})")
        elif bound is not None and conda[conda_name] is not None and conda[conda_name] != bound:
            problems.append(
                f"{name}: lower bound {bound} in pyproject.toml, "
                f"{conda[conda_name]} in environment.yml"
            )
    for stray in sorted(set(conda) - expected_conda):
        problems.append(f"environment.yml lists {stray}, which pyproject.toml does not need")
    return problems


# --------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return _load_toml(ROOT / "pyproject.toml")


@pytest.fixture(scope="module")
def env() -> dict:
    return parse_simple_yaml((ROOT / "environment.yml").read_text(encoding="utf-8"))


# --------------------------------------------------------------------------
# pyproject.toml and environment.yml


def test_environment_yml_is_in_step_with_pyproject(pyproject, env):
    assert check_in_step(pyproject, env) == []


def test_environment_yml_is_named_nv12kit(env):
    assert env["name"] == "nv12kit"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda p, e: e["dependencies"].remove("numpy>=1.24"), "numpy is missing"),
        (lambda p, e: e["dependencies"].remove("tqdm>=4.64"), "tqdm is missing"),
        (lambda p, e: p["project"].update({"requires-python": ">=3.9"}), "python lower bound"),
        (lambda p, e: e["dependencies"][-1]["pip"].remove(EDITABLE_LINE), "must contain"),
        (
            lambda p, e: p["project"]["dependencies"].__setitem__(0, "numpy>=2.0"),
            "numpy: lower bound 2.0",
        ),
        (lambda p, e: e["dependencies"].insert(1, "scipy"), "lists scipy"),
        (lambda p, e: e.update({"channels": ["defaults"]}), "channels"),
        (lambda p, e: p["project"]["optional-dependencies"].pop("test"), "no [test] extra"),
    ],
    ids=[
        "runtime-dep-missing",
        "notebook-dep-missing",
        "python-bound",
        "editable-line-missing",
        "lower-bound-differs",
        "stray-conda-package",
        "wrong-channel",
        "extra-missing",
    ],
)
def test_inconsistent_pair_is_reported(pyproject, env, mutate, expected):
    p, e = copy.deepcopy(pyproject), copy.deepcopy(env)
    mutate(p, e)
    problems = check_in_step(p, e)
    assert any(expected in msg for msg in problems), problems


def test_runtime_dependencies_are_the_headless_core(pyproject):
    names = {canonicalize_name(Requirement(d).name) for d in pyproject["project"]["dependencies"]}
    # nh3: the HTML sanitiser every report goes through (issue 13), small and headless.
    # ml_dtypes: onnx's own dependency, bounded because 0.7.0 makes `import onnx` take 0.9 s (issue 18).
    assert names == {"numpy", "pillow", "onnx", "ml-dtypes", "onnxruntime", "sympy", "nh3"}


def test_ml_dtypes_is_bounded_below_the_slow_import(pyproject):
    from packaging.version import Version

    spec = next(Requirement(d).specifier for d in pyproject["project"]["dependencies"]
                if canonicalize_name(Requirement(d).name) == "ml-dtypes")
    assert Version("0.6.0") in spec and Version("0.7.0") not in spec


def test_dev_extra_is_notebooks_plus_test_plus_ruff(pyproject):
    extras = pyproject["project"]["optional-dependencies"]
    union = set(extras["notebooks"]) | set(extras["test"]) | {"ruff>=0.4"}
    assert set(extras["dev"]) == union


def test_torch_is_not_a_dependency(pyproject):
    project = pyproject["project"]
    every = list(project["dependencies"])
    for name, deps in project["optional-dependencies"].items():
        if name != "train":
            every += deps
    assert "torch" not in {canonicalize_name(Requirement(d).name) for d in every}


def test_console_script_points_at_cli_main(pyproject):
    # Only the string: nv12kit.cli may not exist yet, and importing it is not our job here.
    target = pyproject["project"]["scripts"]["nv12kit"]
    assert re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", target)
    assert target == "nv12kit.cli:main"


def test_doctests_are_not_in_pytest_addopts(pyproject):
    ini = pyproject["tool"]["pytest"]["ini_options"]
    assert "--doctest-modules" not in ini["addopts"]
    assert ini["testpaths"] == ["tests"]
    assert any(m.startswith("slow:") for m in ini["markers"])


def test_makefile_installs_the_same_extras_as_environment_yml():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "pip install -e '.[notebooks,test]'" in makefile
    assert "--doctest-modules nv12kit tests" in makefile


def test_ci_script_is_executable_and_strict():
    script = ROOT / ".ci" / "run"
    assert script.stat().st_mode & 0o111, "chmod +x .ci/run"
    text = script.read_text(encoding="utf-8")
    assert "set -euo pipefail" in text
    assert "make test" in text


# --------------------------------------------------------------------------
# the tiny YAML parser


def test_simple_yaml_reads_nested_pip_section():
    text = "name: x\nchannels:\n  - conda-forge\ndependencies:\n  - a>=1  # why\n  - pip:\n      - b\n  - c\n"
    assert parse_simple_yaml(text) == {
        "name": "x",
        "channels": ["conda-forge"],
        "dependencies": ["a>=1", {"pip": ["b"]}, "c"],
    }


@pytest.mark.parametrize(
    "text",
    [
        "name: x\n  stray: 1\n",  # indented mapping
        "- a\n",  # list with no key
        "name: x\nname: y\n",  # duplicate key
        "deps:\n  - a\n   - b\n",  # ragged indentation
        "deps:\n  a: 1\n",  # mapping where a list item belongs
        "deps:\n\t- a\n",  # tab indentation
    ],
)
def test_simple_yaml_rejects_what_it_does_not_understand(text):
    with pytest.raises(ValueError, match="line"):
        parse_simple_yaml(text)


@pytest.mark.skipif(importlib.util.find_spec("yaml") is None, reason="PyYAML not installed")
def test_simple_yaml_agrees_with_pyyaml_on_environment_yml():
    import yaml

    text = (ROOT / "environment.yml").read_text(encoding="utf-8")
    assert parse_simple_yaml(text) == yaml.safe_load(text)


# --------------------------------------------------------------------------
# bundled data


def test_every_bundled_data_file_is_package_data(pyproject):
    patterns = pyproject["tool"]["setuptools"]["package-data"]["nv12kit.data"]
    files = [p.name for p in DATA_DIR.iterdir() if p.is_file() and p.suffix not in {".py", ".pyc"}]
    assert files, "nv12kit/data holds no data files"
    missed = [f for f in files if not any(fnmatch.fnmatch(f, pat) for pat in patterns)]
    assert missed == [], f"add patterns for {missed} to [tool.setuptools.package-data]"


def test_bundled_photos_are_small_rgb_and_one_is_odd_sized():
    from PIL import Image

    from nv12kit.data import PHOTOS, photo_paths

    sizes = {}
    for name, path in zip(PHOTOS, photo_paths()):
        assert path.is_file()
        assert path.stat().st_size < 150_000
        with Image.open(path) as im:
            assert (im.format, im.mode) == ("PNG", "RGB")
            sizes[name] = im.size
    assert sizes["astronaut"] == (256, 256)
    assert all(d % 2 == 0 for d in sizes["coffee"]) and sizes["coffee"][0] % 16 != 0
    assert sizes["chelsea_odd"][0] % 2 == 1


def test_every_bundled_photo_has_a_licence_entry():
    from nv12kit.data import PHOTOS

    licences = (DATA_DIR / "LICENSES.md").read_text(encoding="utf-8")
    for name in PHOTOS:
        assert f"## {name}.png" in licences
    for term in ("public domain", "CC0"):
        assert term in licences


def test_unknown_photo_is_rejected_with_the_list_of_names():
    from nv12kit.data import photo_path
    from nv12kit.errors import InputError

    with pytest.raises(InputError, match="astronaut.*coffee.*chelsea_odd"):
        photo_path("lena")
    with pytest.raises(InputError, match="must be a str"):
        photo_path(3)  # type: ignore[arg-type]


def test_photo_name_may_carry_the_png_suffix():
    from nv12kit.data import photo_path

    assert photo_path("coffee.png") == photo_path("coffee")


def test_make_demo_can_run_twice():
    """The demo target rewrites its own reports: every nv12kit command in it passes --force."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = text.split("\ndemo:", 1)[1].split("\n\n", 1)[0].replace("\\\n", " ")
    commands = [line for line in recipe.splitlines() if "bin/nv12kit " in line]
    assert commands and all("--force" in line for line in commands)
