"""Which frames, with which labels, mapped to which output index: checked, and said.

Labels come from class sub-folders (``DIR/<class>/*.png``), a CSV file
(``path,label`` or ``path,index``), a Python sequence (one per image), or
nowhere (then only agreement with ``feat`` is measured). Class names are
mapped to output indices by the ``classes`` list when given, else by the
model's ``nv12kit.labels`` metadata, else by the sorted folder (or CSV)
order; :attr:`FrameSet.mapping` says which was chosen.
"""

from __future__ import annotations

import csv
import io
import os
import pathlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._io import read_bytes
from ..errors import InputError
from ..images import IMAGE_SUFFIXES, image_files

__all__ = ["FrameSet", "resolve_frames", "parse_classes"]

#: CSV files larger than this are refused before reading (a label file of a million frames is ~50 MB).
MAX_LABEL_FILE_BYTES = 256 * 1024 * 1024
_HEADER_WORDS = {"label", "index", "class", "class_index", "target"}


@dataclass(frozen=True)
class FrameSet:
    """The frames of an evaluation and their labels.

    Attributes
    ----------
    sources : list
        What each frame is read from (a path, or an array given in Python).
    keys : list of str
        A stable name per frame (its path relative to the folder): the
        resume key, the per-frame seed and the name in reports.
    labels : list of int or None
        Output index of each frame's class; None when there are no labels.
    label_names : list of str or None
        The class name as the user gave it (folder or CSV), when names were given.
    classes : tuple of str or None
        Class name of every output index, when known.
    source : str
        ``"folders"``, ``"csv"``, ``"python"`` or ``"none"``.
    mapping : str
        How names became indices (or why there are no labels): for reports.
    """

    sources: list[Any]
    keys: list[str]
    labels: list[int | None]
    label_names: list[str] | None
    classes: tuple[str, ...] | None
    source: str
    mapping: str

    @property
    def labelled(self) -> bool:
        return self.source != "none"


def parse_classes(value: Any, *, option: str = "classes") -> tuple[str, ...] | None:
    """Class names from a sequence, a comma-separated string, or a text file (one name a line)."""
    if value is None:
        return None
    if isinstance(value, (str, os.PathLike)):
        text = os.fspath(value)
        if os.path.isfile(text):
            lines = read_bytes(text, max_bytes=MAX_LABEL_FILE_BYTES, what="classes file").decode("utf-8-sig")
            names = [line.strip() for line in lines.splitlines() if line.strip()]
        else:
            names = [part.strip() for part in text.split(",")]
    else:
        names = [str(v) for v in value]
    if not names or any(not n for n in names):
        raise InputError(f"{option} must name every class, in the order of the model's output (comma-separated, or a "
                         f"file with one name a line); got {value!r}")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(f"{option} names {duplicates} more than once; each output index has one class name")
    return tuple(names)


def _class_folders(root: pathlib.Path) -> list[pathlib.Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and image_files(p))


def _relative(path: str, root: pathlib.Path) -> str:
    return pathlib.Path(path).relative_to(root).as_posix()


def _read_csv(path: Any, root: pathlib.Path | None) -> tuple[list[str], list[str]]:
    """(relative paths, label texts) of a ``path,label`` CSV; a header row is skipped."""
    text = read_bytes(path, max_bytes=MAX_LABEL_FILE_BYTES, what="labels file").decode("utf-8-sig")
    paths, values = [], []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if len(row) < 2:
            raise InputError(f"labels file {os.fspath(path)!r} line {number} has {len(row)} column(s); each line is "
                             "path,label (a class name) or path,index (an output index)")
        name, value = row[0].strip(), row[1].strip()
        if number == 1 and value.lower() in _HEADER_WORDS:
            continue
        paths.append(pathlib.PurePosixPath(name.replace("\\", "/")).as_posix())
        values.append(value)
    if not paths:
        raise InputError(f"labels file {os.fspath(path)!r} has no rows; each line is path,label or path,index")
    seen: dict[str, str] = {}
    for p, v in zip(paths, values):
        if p in seen and seen[p] != v:
            raise InputError(f"labels file {os.fspath(path)!r} gives {p!r} two labels ({seen[p]!r} and {v!r})")
        seen[p] = v
    return paths, values


def _first(items: list[str], count: int = 4) -> str:
    return ", ".join(items[:count]) + (", ..." if len(items) > count else "")


def _is_index(text: str) -> bool:
    return text.lstrip("-").isdigit()


def _map_names(names: list[str], *, classes: tuple[str, ...] | None, model_classes: tuple[str, ...] | None,
               order: list[str], outputs: int | None, where: str,
               option: str) -> tuple[list[int], tuple[str, ...], str]:
    """Class names to output indices, checked against the output size; returns (indices, classes, how)."""
    if classes is not None:
        chosen, how = classes, f"class names mapped by the {option} list ({len(classes)} classes)"
    elif model_classes is not None:
        chosen, how = model_classes, (f"class names mapped by the model's nv12kit.labels metadata "
                                      f"({len(model_classes)} classes); pass {option} to choose another order")
    else:
        chosen, how = tuple(order), (f"class names mapped by the sorted {where} order ({len(order)} classes: "
                                     f"{', '.join(order[:6])}{', ...' if len(order) > 6 else ''}); pass {option} "
                                     "if the model orders them differently")
    if outputs is not None and len(chosen) != outputs:
        raise InputError(f"{len(chosen)} classes ({how.split(' (')[0]}) but the model's output has {outputs} scores: "
                         f"the class count does not match the output size; pass {option} with all {outputs} class "
                         "names in output order")
    unknown = sorted(set(names) - set(chosen))
    if unknown:
        raise InputError(f"unknown classes {unknown[:8]}{' ...' if len(unknown) > 8 else ''}: not in the class list "
                         f"({', '.join(chosen[:8])}{', ...' if len(chosen) > 8 else ''}); fix the {where} names or "
                         f"pass {option} with every class in output order")
    index = {name: i for i, name in enumerate(chosen)}
    return [index[n] for n in names], tuple(chosen), how


def _check_indices(values: list[int], outputs: int | None, where: str) -> None:
    bad = sorted({v for v in values if v < 0 or (outputs is not None and v >= outputs)})
    if bad:
        limit = f"0..{outputs - 1}" if outputs is not None else "non-negative"
        raise InputError(f"{where} has class indices {bad[:8]} outside the model's output ({limit}); give indices "
                         "into the model's output, or class names with --classes")


def resolve_frames(
    images: Any,
    labels: Any = None,
    *,
    classes: Any = None,
    model_classes: Sequence[str] | None = None,
    outputs: int | None = None,
    option_names: dict[str, str] | None = None,
) -> FrameSet:
    """Find the frames and their labels; see the module documentation.

    Parameters
    ----------
    images : folder, path, array, or sequence of paths or arrays
    labels : None, CSV path, or sequence of int or str, optional
    classes : sequence of str, comma-separated str or file, optional
    model_classes : sequence of str, optional
        The model's own class names (``nv12kit.labels`` metadata).
    outputs : int, optional
        The number of scores the model outputs, when static; the class list must match it.
    option_names : dict, optional
        Flags to name in messages (``{"labels": "--labels", "classes": "--classes"}``).

    Raises
    ------
    InputError
        No frames; a frame without a label or a label without a frame;
        unknown classes; a class count that does not match the output size.
    """
    names = {"labels": "labels=", "classes": "classes=", **(option_names or {})}
    chosen = parse_classes(classes, option=names["classes"])
    given_model = tuple(model_classes) if model_classes else None
    if given_model is not None and outputs is not None and len(given_model) != outputs:
        given_model = None  # metadata that does not fit the output is not used
    if isinstance(images, (str, os.PathLike)) and not os.path.exists(images):
        raise InputError(f"{os.fspath(images)!r} does not exist; give a folder of frames (class sub-folders give the "
                         "labels) or a list of image files")
    folder = pathlib.Path(images) if isinstance(images, (str, os.PathLike)) and os.path.isdir(images) else None

    if labels is None and folder is not None and _class_folders(folder):
        sub = _class_folders(folder)
        loose = image_files(folder)
        if loose:
            raise InputError(f"{str(folder)!r} has class sub-folders and also {len(loose)} image(s) directly in it "
                             f"({pathlib.Path(loose[0]).name}, ...): those have no class; move them into a class "
                             f"folder, or give {names['labels']} a CSV file")
        files, label_names = [], []
        for d in sub:
            for f in image_files(d):
                files.append(f)
                label_names.append(d.name)
        order = [d.name for d in sub]
        if all(_is_index(n) for n in order) and chosen is None:
            values = [int(n) for n in label_names]
            _check_indices(values, outputs, "the class folder names")
            return FrameSet(files, [_relative(f, folder) for f in files], list(values), label_names,
                            given_model, "folders", "class folders named by output index")
        indices, cls, how = _map_names(label_names, classes=chosen, model_classes=given_model, order=order,
                                       outputs=outputs, where="class folder", option=names["classes"])
        return FrameSet(files, [_relative(f, folder) for f in files], list(indices), label_names, cls, "folders",
                        f"labels from {len(order)} class sub-folders; {how}")

    if labels is not None and isinstance(labels, (str, os.PathLike)):
        if folder is None:
            raise InputError(f"{names['labels']} as a CSV file needs the images as a folder (the CSV's paths are "
                             "relative to it)")
        rel_paths, values = _read_csv(labels, folder)
        present = {_relative(f, folder): f for f in image_files(folder, recursive=True)}
        table = dict(zip(rel_paths, values))
        unlabelled = sorted(set(present) - set(table))
        missing = sorted(set(table) - set(present))
        if missing:
            raise InputError(f"labels file {os.fspath(labels)!r} names {len(missing)} frame(s) that are not image "
                             f"files in {str(folder)!r} ({_first(missing)}); paths in the CSV are relative to the "
                             "images folder")
        if unlabelled:
            raise InputError(f"{len(unlabelled)} frame(s) in {str(folder)!r} have no label in "
                             f"{os.fspath(labels)!r} ({_first(unlabelled)}); "
                             "add a path,label line for each, or move them out of the folder")
        keys = sorted(present)
        texts = [table[k] for k in keys]
        if all(_is_index(t) for t in texts):
            values_int = [int(t) for t in texts]
            _check_indices(values_int, outputs, f"labels file {os.fspath(labels)!r}")
            return FrameSet([present[k] for k in keys], keys, list(values_int), None,
                            chosen or given_model, "csv", "labels from the CSV as output indices")
        indices, cls, how = _map_names(texts, classes=chosen, model_classes=given_model,
                                       order=sorted(set(texts)), outputs=outputs, where="CSV label",
                                       option=names["classes"])
        return FrameSet([present[k] for k in keys], keys, list(indices), texts, cls, "csv",
                        f"labels from the CSV; {how}")

    # images as given (a folder without class folders, one image, or a sequence)
    if folder is not None:
        sources: list[Any] = image_files(folder)
        if not sources:
            raise InputError(f"the folder {str(folder)!r} holds no image files ({', '.join(IMAGE_SUFFIXES[:4])}, ...) "
                             "and no class sub-folders with images")
        keys = [_relative(f, folder) for f in sources]
    else:
        from ..images import image_sources

        sources = image_sources(images, hint="give at least one frame")
        keys = [pathlib.Path(s).name if isinstance(s, (str, os.PathLike)) else f"image {i + 1}"
                for i, s in enumerate(sources)]
        if len(set(keys)) != len(keys):
            keys = [f"{i:06d} {k}" for i, k in enumerate(keys)]  # same file names in different folders
    if labels is None:
        return FrameSet(sources, keys, [None] * len(sources), None, chosen or given_model, "none",
                        "no labels: only agreement with feat is measured")
    if isinstance(labels, np.ndarray):
        labels = labels.tolist()
    values = list(labels)
    if len(values) != len(sources):
        raise InputError(f"{names['labels']} has {len(values)} label(s) for {len(sources)} frame(s); give one per "
                         "frame, in the same order")
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        ints = [int(v) for v in values]
        _check_indices(ints, outputs, names["labels"])
        return FrameSet(sources, keys, ints, None, chosen or given_model, "python", "labels given as output indices")
    texts = [str(v) for v in values]
    indices, cls, how = _map_names(texts, classes=chosen, model_classes=given_model, order=sorted(set(texts)),
                                   outputs=outputs, where="label", option=names["classes"])
    return FrameSet(sources, keys, list(indices), texts, cls, "python", f"labels given as names; {how}")
