"""lint_aipp: read a Huawei Ascend AIPP config and check it against how the model was trained.

AIPP ("AI pre-processing") is the Ascend NPU's NV12 node.  ATC (the model
converter) takes its settings from a protobuf-text file::

    aipp_op {
        aipp_mode: static
        input_format: YUV420SP_U8
        csc_switch: true
        rbuv_swap_switch: false
        matrix_r0c0: 298
        ...
        input_bias_0: 16
        ...
        mean_chn_0: 104
        min_chn_0: 0.0
        var_reci_chn_0: 1.0
    }

The facts used here come from the Ascend ATC documentation (AIPP
"Configuration File Template", "CSC Configuration", "Normalization
Configuration" and the "YUV420SP_U8 to BGR" sample; also the AscendCL
``aclmdlSetAIPPCscParams`` / ``aclmdlSetAIPPPixelVarReci`` references):

* colour space conversion, YUV to RGB/BGR::

      | out0 |   | matrix_r0c0 matrix_r0c1 matrix_r0c2 |   | Y - input_bias_0 |
      | out1 | = | matrix_r1c0 matrix_r1c1 matrix_r1c2 | @ | U - input_bias_1 | >> 8
      | out2 |   | matrix_r2c0 matrix_r2c1 matrix_r2c2 |   | V - input_bias_2 |

  the row order of the matrix is the output channel order (the BGR sample
  puts the B row first); ``rbuv_swap_switch: true`` reads the input as NV21
  (V before U); the matrix entries are int16 and the biases uint8;
* normalisation, per output channel after CSC and swap:
  ``pixel_out = (pixel_in - mean_chn_i - min_chn_i) * var_reci_chn_i``
  (defaults 0, 0 and 1.0; ``var_reci`` within [-65504, 65504]);
* ``input_format`` is mandatory.

The documentation does not say how the ``>> 8`` result is saturated or how
chroma is up-sampled; the Convention built here clips to 0-255 and uses
nearest chroma, and says so.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._io.reads import read_bytes
from ..conventions import MATRICES, Convention, Decoder, get_convention, range_name
from ..errors import InputError
from ..preprocess import Preprocess
from .findings import NodeFinding
from .node import lint_node

__all__ = ["lint_aipp", "parse_aipp", "AippLint", "AIPP_FINDING_IDS", "AIPP_KEYS"]

#: What :func:`lint_aipp` can find: the format, the CSC (off, not a standard matrix, U/V columns swapped),
#: rbuv_swap, the channel order, the range, the matrix standard, and the normalisation (as lint_node).
AIPP_FINDING_IDS: tuple[str, ...] = (
    "format", "csc", "swap", "order", "range", "matrix", "divisor", "mean", "std", "scale", "ambiguous",
)

_MATRIX_KEYS = tuple(f"matrix_r{r}c{c}" for r in range(3) for c in range(3))
_BOOL_KEYS = ("crop", "resize", "padding", "csc_switch", "rbuv_swap_switch", "ax_swap_switch", "single_line_mode",
              "support_rotation")
_INT_KEYS = (
    "related_input_rank", "input_edge_idx", "max_src_image_size", "src_image_size_w", "src_image_size_h",
    "load_start_pos_w", "load_start_pos_h", "crop_size_w", "crop_size_h", "resize_output_w", "resize_output_h",
    "left_padding_size", "right_padding_size", "top_padding_size", "bottom_padding_size", "padding_value",
    *_MATRIX_KEYS, *(f"output_bias_{i}" for i in range(3)), *(f"input_bias_{i}" for i in range(3)),
)
_FLOAT_KEYS = (*(f"mean_chn_{i}" for i in range(4)), *(f"min_chn_{i}" for i in range(4)),
               *(f"var_reci_chn_{i}" for i in range(4)), "cpadding_value")
_WORD_KEYS = ("aipp_mode", "input_format", "related_input_name")
#: Every key of the documented configuration template that this parser accepts.
AIPP_KEYS: tuple[str, ...] = (*_WORD_KEYS, *_BOOL_KEYS, *_INT_KEYS, *_FLOAT_KEYS)
_INPUT_FORMATS = ("YUV420SP_U8", "XRGB8888_U8", "RGB888_U8", "YUV400_U8", "ARGB8888_U8", "YUYV_U8", "YUV422SP_U8",
                  "AYUV444_U8", "RGB16", "RGB20", "RGB24", "RGB8_IR", "RGB16_IR", "RGB24_IR", "RAW10", "RAW12",
                  "RAW16", "RAW24")
_DEFAULT_MAX_BYTES = 1 << 20  # an AIPP config is a few hundred bytes; a megabyte is already absurd
_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(\S(?:.*\S)?)$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


# ----------------------------------------------------------------------------
# parsing
# ----------------------------------------------------------------------------
def _value(key: str, raw: str, where: str) -> Any:
    if key in _WORD_KEYS:
        text = raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] == '"' else raw
        if key == "aipp_mode" and text not in ("static", "dynamic"):
            raise InputError(f"{where}: aipp_mode must be static or dynamic, got {raw!r}")
        if key == "input_format" and text not in _INPUT_FORMATS:
            raise InputError(f"{where}: unknown input_format {raw!r}; documented formats: {', '.join(_INPUT_FORMATS)}")
        return text
    if key in _BOOL_KEYS:
        if raw.lower() in ("true", "1"):
            return True
        if raw.lower() in ("false", "0"):
            return False
        raise InputError(f"{where}: {key} must be true or false, got {raw!r}")
    if not _NUMBER.match(raw):
        raise InputError(f"{where}: {key} must be a number, got {raw!r}")
    number = float(raw)
    if not math.isfinite(number):
        raise InputError(f"{where}: {key} must be a finite number, got {raw!r}")
    if key in _INT_KEYS:
        if number != int(number):
            raise InputError(f"{where}: {key} must be an integer, got {raw!r}")
        value = int(number)
        if key in _MATRIX_KEYS and not -32768 <= value <= 32767:
            raise InputError(f"{where}: {key} is an int16 (-32768..32767), got {raw!r}")
        if key.startswith(("input_bias", "output_bias")) and not 0 <= value <= 255:
            raise InputError(f"{where}: {key} is a uint8 (0..255), got {raw!r}")
        return value
    if key.startswith("var_reci") and abs(number) > 65504:
        raise InputError(f"{where}: {key} must lie within [-65504, 65504] (float16), got {raw!r}")
    return number


def parse_aipp(text: str, *, name: str = "AIPP config") -> list[dict[str, Any]]:
    """Parse the text of an AIPP config into one dict per ``aipp_op`` block.

    Parameters
    ----------
    text : str
        The protobuf-text config.  ``#`` starts a comment.
    name : str, optional
        What to call the text in messages (the file name).

    Returns
    -------
    list of dict
        The keys given in each block, with typed values (bool, int, float,
        str).  Defaults are not filled in.

    Raises
    ------
    InputError
        Unknown or repeated keys, values of the wrong type or out of their
        documented range, text outside an ``aipp_op { ... }`` block,
        unbalanced braces, a block without ``input_format``, no block.

    Examples
    --------
    >>> parse_aipp("aipp_op { aipp_mode: static input_format: YUV420SP_U8 csc_switch: false }")
    [{'aipp_mode': 'static', 'input_format': 'YUV420SP_U8', 'csc_switch': False}]
    """
    if not isinstance(text, str):
        raise InputError(f"{name}: expected the config text as str, got {type(text).__name__}")
    # one token stream: comments out, braces apart, "key : value" pairs kept together
    lines = [line.split("#", 1)[0] for line in text.splitlines()]
    tokens: list[tuple[str, int]] = []
    for number, line in enumerate(lines, 1):
        for piece in re.findall(r'"[^"]*"|[{}]|[^\s{}:"]+\s*:\s*(?:"[^"]*"|[^\s{}]+)|[^\s{}]+', line):
            tokens.append((piece, number))
    blocks: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    index = 0
    while index < len(tokens):
        token, line_no = tokens[index]
        where = f"{name}, line {line_no}"
        if current is None:
            if token.rstrip(":").strip() == "aipp_op" and index + 1 < len(tokens) and tokens[index + 1][0] == "{":
                current = {}
                index += 2
                continue
            raise InputError(f"{where}: expected 'aipp_op {{', got {token[:40]!r}; an AIPP config is one or more "
                             "aipp_op { key: value ... } blocks")
        if token == "}":
            if "input_format" not in current:
                raise InputError(f"{where}: this aipp_op block has no input_format (mandatory; e.g. "
                                 "input_format: YUV420SP_U8 for NV12)")
            blocks.append(current)
            current = None
            index += 1
            continue
        if token == "{":
            raise InputError(f"{where}: unexpected '{{' inside aipp_op (blocks do not nest)")
        match = _LINE.match(token)
        if match is None:
            raise InputError(f"{where}: expected 'key: value', got {token[:40]!r}")
        key, raw = match.group(1), match.group(2)
        if key not in AIPP_KEYS:
            raise InputError(f"{where}: unknown key {key!r}; the documented AIPP keys are {', '.join(AIPP_KEYS)} "
                             "(a key of another CANN version? check its ATC documentation)")
        if key in current:
            raise InputError(f"{where}: {key} is given twice in one aipp_op block")
        current[key] = _value(key, raw, where)
        index += 1
    if current is not None:
        raise InputError(f"{name}: the last aipp_op block is not closed with '}}'")
    if not blocks:
        raise InputError(f"{name}: no aipp_op block found; an AIPP config is aipp_op {{ input_format: ... }}")
    return blocks


# ----------------------------------------------------------------------------
# interpretation
# ----------------------------------------------------------------------------
def _standard_matrices() -> list[tuple[str, str, str, np.ndarray, tuple[int, int, int]]]:
    """(matrix, range, order, 256 x decode matrix with rows in output order, input biases)."""
    found = []
    for matrix in MATRICES:
        for rng in ("full", "limited"):
            m, offset = Convention("probe", matrix=matrix, range=rng).decode_matrix()
            bias = tuple(int(o) for o in offset)
            found.append((matrix, rng, "rgb", 256 * m, bias))
            found.append((matrix, rng, "bgr", 256 * m[::-1], bias))
    return found


def _identify(matrix: np.ndarray, bias: tuple[int, int, int]) -> tuple[str, str, str, float] | None:
    """The standard (matrix, range, order) whose 8-bit CSC this is, within 2 units of 1/256, or None."""
    best = None
    for name, rng, order, standard, std_bias in _standard_matrices():
        error = float(np.abs(matrix - standard).max())
        if error <= 2.0 and bias == std_bias and (best is None or error < best[3]):
            best = (name, rng, order, error)
    return best


def _order_of_rows(matrix: np.ndarray) -> str | None:
    """'rgb' or 'bgr' from where the V (red) and U (blue) weights sit, for matrices of no standard."""
    red, blue = int(np.argmax(matrix[:, 2])), int(np.argmax(matrix[:, 1]))
    return {(0, 2): "rgb", (2, 0): "bgr"}.get((red, blue))


def _aipp_lines(mean: Sequence[float], std: Sequence[float]) -> str:
    """The normalisation as AIPP config lines: mean_chn_i, min_chn_i 0, var_reci_chn_i = 1/std."""
    parts = [f"mean_chn_{i}: {_num(m)}" for i, m in enumerate(mean)]
    parts += [f"min_chn_{i}: 0.0" for i in range(3)]
    parts += [f"var_reci_chn_{i}: {1.0 / s:.9g}" for i, s in enumerate(std)]
    return " ".join(parts)


def _vec(values: Sequence[float]) -> str:
    return "(" + ", ".join(f"{float(v):.4g}" for v in values) + ")"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{float(value):.9g}"


@dataclass
class AippLint:
    """What :func:`lint_aipp` read and found.

    Attributes
    ----------
    source : str
        The file (or ``"text"``).
    block : dict
        The ``aipp_op`` block that was checked, as parsed.
    convention : Convention or None
        How the AIPP decodes NV12 (``input_format: YUV420SP_U8`` with
        ``csc_switch: true``): a :class:`~nv12kit.conventions.Decoder` with
        the config's matrix and biases, ``>> 8``; None for other inputs.
    output_order : {"rgb", "bgr", "yuv444"} or None
        What the CSC gives the model; None when the matrix says neither.
    standard : str
        The standard the matrix is (``"bt601 limited"``...) or why none.
    preprocess : Preprocess
        The AIPP normalisation as nv12kit's ``((x / 1) - mean) / std``:
        ``mean = mean_chn + min_chn``, ``std = 1 / var_reci_chn``.
    findings : list of NodeFinding
        Ids from :data:`AIPP_FINDING_IDS`; the ``fix`` names the config
        lines to write.
    """

    source: str
    block: dict[str, Any]
    convention: Convention | None
    output_order: str | None
    standard: str
    preprocess: Preprocess | None
    findings: list[NodeFinding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing at all was found."""
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "source": self.source,
            "block": dict(self.block),
            "convention": self.convention.to_dict() if self.convention is not None else None,
            "output_order": self.output_order,
            "standard": self.standard,
            "preprocess": self.preprocess.to_dict() if self.preprocess is not None else None,
            "findings": [f.to_dict() for f in self.findings],
        }

    def __str__(self) -> str:
        lines = [f"AIPP config {self.source}: {self.standard}"
                 + (f", output {self.output_order.upper()}" if self.output_order else "")]
        if self.preprocess is not None:
            lines.append(f"normalisation: {self.preprocess}")
        lines += [f"  {f}" for f in self.findings] or ["  no findings"]
        return "\n".join(lines)


def lint_aipp(
    config: str | os.PathLike[str],
    *,
    preprocess: Preprocess | None = None,
    train_order: str = "rgb",
    train_mean: float | Sequence[float] | None = None,
    train_std: float | Sequence[float] | None = None,
    train_divisor: float | None = None,
    chip_range: str | None = None,
    frames: str | Convention | None = None,
    input_rank: int = 0,
    max_bytes: int = _DEFAULT_MAX_BYTES,
) -> AippLint:
    """Read an Ascend AIPP config and check it against the model's training preprocessing.

    Parameters
    ----------
    config : str or os.PathLike
        The AIPP config file (``aipp.cfg``), read through nv12kit's checked
        reader (regular files only, at most ``max_bytes``).
    preprocess : Preprocess, optional
        The training preprocessing (e.g. ``Preprocess.from_model(model)``);
        sets ``train_order``, ``train_mean``, ``train_std`` and
        ``train_divisor`` at once.
    train_order, train_mean, train_std, train_divisor : optional
        As in :func:`nv12kit.lint_node`.
    chip_range : {"full", "limited"}, optional
        The range of the NV12 the camera/decoder delivers; checked against
        the CSC's range when given.
    frames : str or Convention, optional
        The convention of the delivered frames (matrix and range); checked
        against the CSC's when given.
    input_rank : int, optional
        Which model input's ``aipp_op`` block to check
        (``related_input_rank``; the first block without one is input 0).
    max_bytes : int, optional
        Larger files are refused before they are read (default 1 MiB).

    Returns
    -------
    AippLint
        The parsed block, the Convention and Preprocess it amounts to, and
        the findings.

    Raises
    ------
    InputError
        The file cannot be read, is too large, or is not a valid AIPP
        config (unknown keys, non-numbers, missing CSC fields...); the
        message names the line and the fix.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from nv12kit.lint import lint_aipp
    >>> cfg = '''aipp_op { aipp_mode: static input_format: YUV420SP_U8 csc_switch: true
    ...   matrix_r0c0: 298 matrix_r0c1: 516 matrix_r0c2: 0 matrix_r1c0: 298 matrix_r1c1: -100
    ...   matrix_r1c2: -208 matrix_r2c0: 298 matrix_r2c1: 0 matrix_r2c2: 409
    ...   input_bias_0: 16 input_bias_1: 128 input_bias_2: 128 }'''
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = pathlib.Path(d) / "aipp.cfg"
    ...     _ = path.write_text(cfg)
    ...     result = lint_aipp(path, train_order="rgb")
    >>> result.standard, result.output_order, [f.id for f in result.findings]
    ('bt601 limited', 'bgr', ['order'])
    """
    data = read_bytes(config, max_bytes=max_bytes, what="AIPP config")
    name = os.fspath(config) if isinstance(config, (str, os.PathLike)) else "AIPP config"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not a text file ({exc.reason} at byte {exc.start}); an AIPP config is "
                         "UTF-8/ASCII protobuf text") from None
    blocks = parse_aipp(text, name=name)
    chosen = [b for i, b in enumerate(blocks) if b.get("related_input_rank", i) == input_rank]
    if not chosen:
        ranks = [b.get("related_input_rank", i) for i, b in enumerate(blocks)]
        raise InputError(f"{name}: no aipp_op block for input_rank={input_rank}; the blocks are for inputs {ranks}")
    if preprocess is not None:
        if not isinstance(preprocess, Preprocess):
            raise InputError(f"preprocess must be an nv12kit.Preprocess, got {type(preprocess).__name__}")
        train_order, train_mean, train_std = preprocess.order, preprocess.mean, preprocess.std
        train_divisor = preprocess.divisor
    if train_order not in ("rgb", "bgr", "yuv444"):
        raise InputError(f"train_order must be 'rgb', 'bgr' or 'yuv444', got {train_order!r}")
    chip = None if chip_range is None else range_name(chip_range, name="chip_range")
    frames_conv = None if frames is None else get_convention(frames)
    return _lint_block(name, chosen[0], train_order, train_mean, train_std, train_divisor, chip, frames_conv)


def _lint_block(name: str, block: Mapping[str, Any], train_order: str, train_mean: Any, train_std: Any,
                train_divisor: Any, chip: str | None, frames: Convention | None) -> AippLint:
    found: list[tuple[str, str, str, str]] = []  # (id, severity, message, fix)
    fmt = block["input_format"]
    csc = bool(block.get("csc_switch", False))
    swap = bool(block.get("rbuv_swap_switch", False))
    convention = None
    output_order: str | None = None
    standard = "no colour conversion"
    if fmt != "YUV420SP_U8":
        found.append(("format", "info", f"input_format is {fmt}, not YUV420SP_U8 (NV12): this AIPP does not take "
                      "NV12 frames, so only its normalisation is checked", "input_format: YUV420SP_U8 for NV12"))
    elif swap:
        found.append(("swap", "error", "rbuv_swap_switch: true reads the frame as NV21 (V before U); NV12 frames then "
                      "have blue and red chroma exchanged", "rbuv_swap_switch: false"))
    if fmt == "YUV420SP_U8" and not csc:
        output_order = "yuv444"
        if train_order != "yuv444":
            found.append(("csc", "error", f"csc_switch is off, so the model is fed YUV444, but it was trained on "
                          f"{train_order.upper()}", "csc_switch: true with the matrix of your frames' standard "
                          "(ATC 'CSC Configuration')"))
    elif fmt == "YUV420SP_U8":
        missing = [k for k in (*_MATRIX_KEYS, "input_bias_0", "input_bias_1", "input_bias_2") if k not in block]
        if missing:
            raise InputError(f"{name}: csc_switch is true but {', '.join(missing)} are missing; give all nine "
                             "matrix_rXcY and the three input_bias_i (ATC 'CSC Configuration' lists them per standard)")
        matrix = np.array([[block[f"matrix_r{r}c{c}"] for c in range(3)] for r in range(3)], dtype=np.float64)
        bias = (block["input_bias_0"], block["input_bias_1"], block["input_bias_2"])
        ident = _identify(matrix, bias)
        swapped = _identify(matrix[:, [0, 2, 1]], bias)
        if ident is not None:
            std_name, rng, output_order, _ = ident
            standard = f"{std_name} {rng}"
        else:
            output_order = _order_of_rows(matrix) if swapped is None else swapped[2]
            standard = "no standard matrix"
            if swapped is not None:
                found.append(("csc", "error", f"the CSC matrix is {swapped[0].upper()} {swapped[1]} with the U and V "
                              "columns exchanged: blue and red chroma are swapped", "exchange matrix_rXc1 and "
                              "matrix_rXc2 in every row"))
            else:
                found.append(("csc", "warning", "the CSC matrix and biases match no BT.601/709/2020 full or limited "
                              "standard (within 2/256)", "copy the matrix of your frames' standard from ATC's "
                              "'CSC Configuration'"))
        rows = matrix if output_order != "bgr" else matrix[::-1]  # the Decoder computes R, G, B
        cols = [0, 2, 1] if swap else [0, 1, 2]  # NV21 reading: the decoder sees V where NV12 has U
        decoder = Decoder(tuple(tuple(int(v) for v in row[cols]) for row in rows),
                          offsets=tuple(bias[c] for c in cols), dtype="fixed", shift=8, rounding="floor", clip=True,
                          source=f"AIPP config {name}: (M @ (yuv - input_bias)) >> 8 (ATC 'CSC Configuration'); "
                                 "clipping to 0-255 and nearest chroma assumed")
        matrix_name, range_ = (ident[0], ident[1]) if ident is not None else ("bt601", "limited")
        convention = Convention(f"aipp:{os.path.basename(name)}", matrix=matrix_name, range=range_,
                                arithmetic="float", chroma_down="box", chroma_up="nearest", decoder=decoder,
                                description=f"Ascend AIPP from {name}: {standard}"
                                + (", read as NV21 (rbuv_swap_switch)" if swap else ""),
                                reference="the AIPP config and the ATC documentation's CSC formula")
        if output_order in ("rgb", "bgr") and train_order in ("rgb", "bgr") and output_order != train_order:
            found.append(("order", "error", f"the CSC gives {output_order.upper()} (row 0 is "
                          f"{'R' if output_order == 'rgb' else 'B'}) but the model was trained on "
                          f"{train_order.upper()}: red and blue are exchanged",
                          "reverse the rows of the matrix: matrix_r0cY <-> matrix_r2cY"))
        if train_order == "yuv444":
            found.append(("csc", "error", "the model was trained on YUV444 but csc_switch converts to "
                          f"{(output_order or 'RGB').upper()}", "csc_switch: false"))
        if ident is not None and chip is not None and ident[1] != chip:
            effect = "blacks turn grey and whites dim" if ident[1] == "full" else "contrast is stretched and clipped"
            found.append(("range", "error", f"the CSC decodes {ident[1]} range but the frames are {chip} range: "
                          f"{effect}", f"the {chip}-range matrix and input_bias_0: {16 if chip == 'limited' else 0}"))
        if ident is not None and frames is not None and (frames.matrix, frames.range) != (ident[0], ident[1]):
            found.append(("matrix", "error", f"the CSC is {ident[0].upper()} {ident[1]} but the frames are "
                          f"{frames.matrix.upper()} {frames.range} ({frames.name})", f"the {frames.matrix.upper()} "
                          f"{frames.range} matrix of ATC's 'CSC Configuration'"))

    # --- normalisation: pixel_out = (pixel_in - mean_chn - min_chn) * var_reci_chn ----------------------
    mean = [float(block.get(f"mean_chn_{i}", 0.0)) + float(block.get(f"min_chn_{i}", 0.0)) for i in range(3)]
    var_reci = [float(block.get(f"var_reci_chn_{i}", 1.0)) for i in range(3)]
    if any(v == 0 for v in var_reci):
        raise InputError(f"{name}: var_reci_chn_i is 0 for channel {var_reci.index(0.0)}: it multiplies, so the "
                         "channel would be all zeros; var_reci is 1/std (e.g. 0.0171247 for std 58.395)")
    std = [1.0 / v for v in var_reci]
    order = output_order if output_order in ("rgb", "bgr", "yuv444") else train_order
    aipp_pre = Preprocess(mean=mean, std=std, divisor=1.0, order=order)
    mode = None if order == "yuv444" else f"yuvbt601full2{order}"
    node = lint_node(mode=mode, divisor=1.0, mean=mean, std=std, train_order=order, train_mean=train_mean,
                     train_std=train_std, train_divisor=train_divisor)
    fixed = _fixed_normalisation(mean, std, train_mean, train_std, train_divisor)
    trained = train_mean is not None or train_std is not None or train_divisor is not None
    for finding in node:
        if finding.id == "scale" and not trained:  # lint_node speaks of its divisor; AIPP has none
            in_01 = max(mean) <= 1.0
            message = (f"mean_chn + min_chn = {_vec(mean)} and 1/var_reci_chn = {_vec(std)} look like 0-1 statistics, "
                       "but AIPP works on 0-255 pixels" if in_01 else finding.message)
            target = ([m * 255 for m in mean], [s * 255 for s in std]) if in_01 else fixed
            found.append(("scale", finding.severity, message, _aipp_lines(*target)))
        elif finding.id in ("divisor", "mean", "std", "scale", "order", "ambiguous"):
            text = finding.message.replace("the node", "AIPP")
            found.append((finding.id if finding.id != "divisor" else "scale", finding.severity, text,
                          _aipp_lines(*fixed)))
    findings = [NodeFinding(i, sev, msg, fix) for i, sev, msg, fix in found]
    return AippLint(name, dict(block), convention, output_order, standard, aipp_pre, findings)


def _fixed_normalisation(mean: list[float], std: list[float], train_mean: Any, train_std: Any,
                         train_divisor: Any) -> tuple[list[float], list[float]]:
    """The training normalisation in AIPP's 0-255 units (as lint_node infers the training scale)."""
    from ..preprocess import per_channel

    t_mean = None if train_mean is None else per_channel(train_mean, "train_mean")
    t_std = None if train_std is None else per_channel(train_std, "train_std")
    if train_divisor is not None:
        scale = float(train_divisor)
    elif any(v is not None and max(abs(x) for x in v) <= 1.5 for v in (t_mean, t_std)):
        scale = 255.0
    else:
        scale = 1.0
    if t_mean is None and t_std is None and train_divisor is None:
        return mean, std
    new_mean = [m * scale for m in t_mean] if t_mean is not None else mean
    new_std = [s * scale for s in t_std] if t_std is not None else std
    return new_mean, new_std
