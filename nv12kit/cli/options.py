"""Options and helpers that several subcommands share: preprocessing, frame size, image folders, outputs, exit codes.

Light at import time (argparse only): every subcommand's parser is built
from here for ``nv12kit --help``, so the library modules these helpers
need are imported inside them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError, ModelError

if TYPE_CHECKING:
    from ..preprocess import Preprocess

__all__ = ["EXIT_OK", "EXIT_PROBLEM", "EXIT_USAGE", "EXIT_INTERNAL", "add_preprocess_arguments",
           "preprocess_from_args", "expand_images", "add_chip_range_argument", "add_image_budget_argument",
           "add_force_argument", "guarded_outputs", "one_line", "path_values"]

# 0 success; 1 a problem was found in the model; 2 the user's input or environment; 3 a bug (unexpected exception).
EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

#: The flags that library messages name instead of Python arguments (``triage(option_names=...)``).
CLI_OPTION_NAMES = {"size": "--size", "input_name": "--input", "extra_inputs": "--extra-input"}

FORCE_HELP = ("replace output files that already exist (never an input of the command, a folder or a device; "
              "without --force an existing output is an error, exit 2)")


def add_force_argument(parser: argparse.ArgumentParser) -> None:
    """``--force``: the one switch, on every subcommand that writes files, that lets an existing output be replaced."""
    parser.add_argument("--force", action="store_true", help=FORCE_HELP)


@contextlib.contextmanager
def guarded_outputs(
    args: argparse.Namespace,
    outputs: Mapping[str, str | os.PathLike[str] | None],
    inputs: Iterable[str | os.PathLike[str] | None],
) -> Iterator[list[Path]]:
    """Vet a command's outputs before its work, then apply the write rule to every write inside the block.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options; ``args.force`` (absent: False) lets existing
        regular files be replaced.
    outputs : mapping of str to path or None
        Option name to output path (``{"--json": args.json}``); None entries
        are options not given.
    inputs : iterable of path or None
        Every file or folder the command reads; None entries are skipped.

    Yields
    ------
    list of pathlib.Path
        The outputs given.

    Raises
    ------
    InputError
        Before anything runs: a missing, read-only or unwritable folder; an
        output that is a directory, FIFO, socket or device, or an input, or
        another output; an existing output without ``--force``.
    """
    from .._io import check_outputs, write_rules

    sources = [os.fspath(p) for p in inputs if p is not None]
    force = bool(getattr(args, "force", False))
    paths = check_outputs(outputs, inputs=sources, overwrite=force)
    with write_rules(overwrite=force, inputs=sources):
        yield paths


def one_line(text: object) -> str:
    """A message for one line of stderr (CI logs grep them): its line breaks become '; '."""
    return "; ".join(part.strip() for part in str(text).splitlines() if part.strip())


def path_values(value: Any) -> list[str]:
    """The strings in a (nested) parameter value that name existing files or folders: inputs of the command."""
    if isinstance(value, str):
        return [value] if value and os.path.exists(value) else []
    if isinstance(value, (list, tuple)):
        return [p for item in value for p in path_values(item)]
    if isinstance(value, dict):
        return [p for item in value.values() for p in path_values(item)]
    return []


def _chip_range(text: str) -> str:
    # One range vocabulary (full/limited); hbdk's "video" still works, with a note where the user looks.
    if text == "video":
        print("note: --chip-range video is deprecated; say --chip-range limited", file=sys.stderr)
        return "limited"
    if text not in ("full", "limited"):
        raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from 'full', 'limited')")
    return text


def add_chip_range_argument(parser: argparse.ArgumentParser) -> None:
    """``--chip-range full|limited``: the range of the NV12 the chip delivers."""
    parser.add_argument("--chip-range", type=_chip_range, default="full", metavar="{full,limited}",
                        help="range of the chip's NV12: full (hbdk's default) or limited (BT.601 Y 16-235; "
                             "hbdk calls it video)")


def _pixel_count(text: str) -> int | None:
    if text.lower() in ("none", "0"):
        return None
    try:
        value = int(float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of pixels (e.g. 200e6) or 'none', got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of pixels or 'none', got {text!r}")
    return value


def add_image_budget_argument(parser: argparse.ArgumentParser) -> None:
    """``--max-pixels N``: the pixel budget of every image file the command loads (checked before decoding)."""
    from .._io import MAX_IMAGE_PIXELS

    parser.add_argument("--max-pixels", type=_pixel_count, default=MAX_IMAGE_PIXELS, metavar="N",
                        help=f"refuse image files above N pixels before decoding them (default {MAX_IMAGE_PIXELS}, "
                             "about 67 Mpx; 'none' for no limit)")


def add_preprocess_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that describe a model's normalisation ``((x / divisor) - mean) / std``."""
    group = parser.add_argument_group(
        "preprocessing",
        "((x / divisor) - mean) / std per channel, in the model's channel order. Without --mean/--std the "
        "model's 'nv12kit.preprocess' metadata is used. PyTorch's (x/255 - m)/s is --divisor 255 --mean m --std s.",
    )
    group.add_argument("--mean", type=float, nargs="+", default=None, metavar="M", help="1 or 3 values")
    group.add_argument("--std", type=float, nargs="+", default=None, metavar="S", help="1 or 3 values")
    group.add_argument("--divisor", type=float, default=None, help="divides the pixel first (default: 1)")
    group.add_argument("--order", "--color", dest="order", choices=("rgb", "bgr", "yuv444"), default=None,
                       help="channel order the model was trained on (default: rgb)")
    group.add_argument("--layout", choices=("NCHW", "NHWC"), default=None,
                       help="layout of the image input (default: detected)")


def preprocess_from_args(args: argparse.Namespace, model: object) -> Preprocess:
    """A Preprocess from the options, or from the model's metadata when --mean/--std are absent.

    Contradictions are refused rather than resolved silently: --divisor or
    --order without --mean/--std (they would override half of the model's
    own spec), or --mean without --std.
    """
    from ..model import ImageInputSpec
    from ..preprocess import Preprocess

    if args.mean is None and args.std is None:
        partial = [flag for flag, value in (("--divisor", args.divisor), ("--order/--color", args.order))
                   if value is not None]
        if partial:
            raise InputError(f"{' and '.join(partial)} given without --mean and --std; give the whole "
                             "preprocessing (--mean, --std and optionally --divisor, --order), or none of it to "
                             "use the model's metadata")
        try:
            pre = Preprocess.from_model(model)
        except ModelError as exc:
            raise InputError(f"give --mean and --std: {exc}") from exc
        return pre if args.layout is None else Preprocess(**{**pre.to_dict(), "layout": args.layout})
    if args.mean is None or args.std is None:
        raise InputError("give both --mean and --std (1 or 3 values each)")
    layout = args.layout or ImageInputSpec.from_model(model, getattr(args, "input_name", None),
                                                      input_flag="--input").layout
    return Preprocess(mean=args.mean, std=args.std, divisor=1.0 if args.divisor is None else args.divisor,
                      order=args.order or "rgb", layout=layout)


def expand_images(items: Sequence[str], option: str) -> list[str]:
    """The image files named by an option: each folder becomes its image files (sorted), other items stay.

    Parameters
    ----------
    items : sequence of str
        What was given on the command line: files or folders.
    option : str
        The option's name (``"--image"``), for the error message.

    Raises
    ------
    InputError
        A folder that holds no image files.

    Examples
    --------
    >>> import os, nv12kit.data
    >>> folder = str(nv12kit.data.photo_path("coffee").parent)
    >>> [os.path.basename(p) for p in expand_images(["frame.jpg", folder], "--image")]
    ['frame.jpg', 'astronaut.png', 'chelsea_odd.png', 'coffee.png']
    """
    from ..images import image_sources

    found: list[str] = []
    for item in items:
        found += image_sources(item, name=option, hint=f"give {option} image files or folders that hold some")
    return found


def _parse_size(text: str | None) -> tuple[int | None, int | None] | int | None:
    """``--size`` as the triage's ``size``: ``HxW``; ``W`` alone (the one dynamic side); -1 keeps a static side.

    ``"48x192"`` -> (48, 192); ``"48x-1"`` or ``"48x"`` -> (48, None); ``"192"`` -> 192.
    (argparse reads a leading ``-1x192`` as an option: write ``--size=-1x192`` or ``--size x192``.)
    Whether the sides fit the model (static sides, even for NV12) is
    checked against it by the triage, which names the fix.

    >>> _parse_size("48x192"), _parse_size("-1x192"), _parse_size("x192"), _parse_size("192"), _parse_size(None)
    ((48, 192), (None, 192), (None, 192), 192, None)
    """
    if text is None:
        return None
    form = ("--size takes HxW (height x width, e.g. 224x224), one number for the one dynamic side of a partly "
            f"static input (e.g. 192), or -1 or nothing for a side to keep the model's static value (48x-1, x192); "
            f"got {text!r}")
    try:
        values = [int(v) if v else -1 for v in text.lower().replace(" ", "").split("x")]
    except ValueError as exc:
        raise InputError(form) from exc
    if len(values) not in (1, 2) or any(v == 0 or v < -1 for v in values) or values == [-1] or values == [-1, -1]:
        raise InputError(form)
    if len(values) == 1:
        return values[0]
    h, w = (None if v == -1 else v for v in values)
    return h, w


def extra_input_paths(items: Sequence[str] | None) -> list[str]:
    """The files named by ``--extra-input NAME=FILE.npy`` items (inputs of the command, never outputs)."""
    return [item.partition("=")[2] for item in items or () if "=" in item]


def read_extra_inputs(items: Sequence[str] | None, option: str = "--extra-input") -> dict[str, Any]:
    """``NAME=FILE.npy`` items as ``{name: array}``, each file read safely (no pickles, size-checked).

    Raises
    ------
    InputError
        An item without ``=``, a name given twice, or a file that is
        missing, not a regular file or not a readable ``.npy`` (the message
        names the option and the item).
    """
    from .._io import read_npy

    out: dict[str, Any] = {}
    for item in items or ():
        name, sep, path = item.partition("=")
        name = name.strip()
        if not sep or not name or not path:
            raise InputError(f"{option} takes NAME=FILE.npy (the model input's name and a numpy .npy file), "
                             f"got {item!r}")
        if name in out:
            raise InputError(f"{option} {name}=... is given twice; give each input once")
        if not os.path.isfile(path):
            raise InputError(f"{option} {item}: {path!r} is not a file; save the input's value with "
                             "numpy.save(path, array)")
        try:
            out[name] = read_npy(path)
        except InputError as exc:
            raise InputError(f"{option} {item}: {exc}") from exc
    return out
