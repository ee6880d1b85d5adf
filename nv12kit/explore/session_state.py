"""The model and frames a guided notebook's cells use: the parameters cell's values, until a picker changes them.

A picker widget runs in the browser after its cell has run, so it cannot
rewrite the notebook's variables. Instead the cells read one shared
:class:`NotebookSelection`: it starts from the parameters cell (so
``nv12kit report -p ...``, papermill and nbval get exactly those values),
and a picker that follows it (:meth:`NotebookSelection.follow_model_picker`,
:meth:`NotebookSelection.follow_image_picker`) writes each valid choice
into it. Run the cells below a picker again and they use the new choice.

The choosing itself is two plain methods, :meth:`NotebookSelection.choose_model`
and :meth:`NotebookSelection.choose_image`, testable without a browser and
without ipywidgets; the ``follow_*`` methods only connect a picker of
:mod:`nv12kit.widgets` to them (they call the picker's ``observe``, so this
module imports no widget library).
"""

from __future__ import annotations

import html
import os
import pathlib
from collections.abc import Iterable
from typing import Any

from ..errors import InputError

__all__ = ["NotebookSelection"]


def _existing_file(path: str | os.PathLike[str], what: str) -> str:
    text = str(path).strip()
    if not text:
        raise InputError(f"no {what} given; pick one or type its path")
    if not pathlib.Path(text).is_file():
        raise InputError(f"{what} {text!r} does not exist (or is not a file)")
    return text


class NotebookSelection:
    """The chosen model and frames, shared by the cells of a guided notebook.

    Parameters
    ----------
    model_path : str or os.PathLike
        The float model, as set in the parameters cell.
    image_paths : iterable of str or os.PathLike
        The frames to test, as set in the parameters cell; the first one is
        the one looked at closely.

    Attributes
    ----------
    model_path : str
        The model the cells use now.
    image_paths : list of str
        The frames the cells use now; the chosen image comes first.
    history : list of str
        What the pickers changed, oldest first (shown with the selection).

    Examples
    --------
    >>> from nv12kit.data import model_path, photo_paths
    >>> chosen = NotebookSelection(model_path("demo_robust"), photo_paths())
    >>> pathlib.Path(chosen.model_path).name
    'demo_robust.onnx'
    >>> _ = chosen.choose_model(model_path("demo_fragile"))
    >>> pathlib.Path(chosen.model_path).name
    'demo_fragile.onnx'
    >>> _ = chosen.choose_image(photo_paths()[1])
    >>> [pathlib.Path(p).name for p in chosen.image_paths]
    ['coffee.png', 'astronaut.png', 'chelsea_odd.png']
    """

    def __init__(self, model_path: str | os.PathLike[str], image_paths: Iterable[str | os.PathLike[str]]) -> None:
        self.model_path = str(model_path)
        if isinstance(image_paths, (str, os.PathLike)):  # one path given where a list belongs
            image_paths = [image_paths]
        self.image_paths = [str(p) for p in image_paths]
        if not self.image_paths:
            raise InputError("image_paths is empty; give at least one frame")
        self.history: list[str] = []

    @property
    def image_path(self) -> str:
        """The frame looked at closely: the chosen one, else the first of ``image_paths``."""
        return self.image_paths[0]

    def choose_model(self, path: str | os.PathLike[str]) -> str:
        """Make ``path`` the model the cells use; returns it as a string.

        Raises
        ------
        InputError
            The path is empty or not a file (the selection is unchanged).
        """
        path = _existing_file(path, "model")
        if path != self.model_path:
            self.model_path = path
            self.history.append(f"model: {pathlib.Path(path).name}")
        return path

    def choose_image(self, path: str | os.PathLike[str]) -> str:
        """Make ``path`` the frame looked at closely: first in ``image_paths`` (added when new).

        Raises
        ------
        InputError
            The path is empty or not a file (the selection is unchanged).
        """
        path = _existing_file(path, "image")
        if path != self.image_paths[0]:
            self.image_paths = [path, *(p for p in self.image_paths if p != path)]
            self.history.append(f"image: {pathlib.Path(path).name}")
        return path

    def follow_model_picker(self, picker: Any) -> Any:
        """Let a :func:`nv12kit.widgets.model_picker` drive :attr:`model_path`; returns the picker to display it.

        Only choices the picker could describe are taken (a path with an
        error leaves the selection as it was).
        """

        def take(change: Any) -> None:
            # The picker's own observer ran first (registered in its constructor), so result/error are current.
            if getattr(picker, "result", None) is not None and getattr(picker, "error", None) is None:
                try:
                    self.choose_model(change["new"])
                except InputError:
                    pass  # the picker already shows why

        picker.path.observe(take, names="value")
        return picker

    def follow_image_picker(self, picker: Any) -> Any:
        """Let a :func:`nv12kit.widgets.image_picker` drive :attr:`image_path`; returns the picker to display it.

        The picker first shows the current frame when its folder holds it,
        so what it shows is what the cells use.
        """
        values = [option[1] if isinstance(option, tuple) else option for option in picker.files.options]
        if self.image_path in values and picker.files.value != self.image_path:
            picker.files.value = self.image_path

        def take(change: Any) -> None:
            if change["new"] is not None and getattr(picker, "error", None) is None:
                try:
                    self.choose_image(change["new"])
                except InputError:
                    pass  # the picker already shows why

        picker.files.observe(take, names="value")
        return picker

    def lines(self) -> list[str]:
        """The selection as text lines."""
        frames = ", ".join(pathlib.Path(p).name for p in self.image_paths)
        out = [f"model: {pathlib.Path(self.model_path).name}", f"frames: {frames}"]
        if self.history:
            out.append("changed by the pickers: " + ", ".join(self.history))
        return out

    def __repr__(self) -> str:
        return f"NotebookSelection(model_path={self.model_path!r}, image_paths={self.image_paths!r})"

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def _repr_html_(self) -> str:
        return "<p class='nv12kit-selection'>" + "<br>".join(html.escape(line) for line in self.lines()) + "</p>"
