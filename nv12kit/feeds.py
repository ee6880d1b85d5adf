"""What the triage feeds a model besides the pixels: the size it runs at, and the model's other inputs.

Four jobs, each small:

- :func:`resolve_size` reads what the user asked for (``size=(H, W)``,
  either side ``None`` to keep the model's static value, or one number for
  the one dynamic side) against the image input's static axes, up front.
- :func:`size_error` runs only after a forward pass failed: it probes the
  model with zero tensors at nearby sizes and names the sizes it runs at.
- :func:`check_extra_inputs` checks the values for the model's non-image
  inputs (all given, no unknown names, a dtype the input takes, the
  static dims) and :class:`FedRunner` feeds them to every run.
- :class:`Wording` phrases the fixes as Python arguments (``size=(48, W)``)
  or, from the CLI, as its flags (``--size 48xW``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import InputError, ModelError
from .model import ImageInputSpec, _dims, _dtype_name, _format_shape, graph_inputs
from .runtime import Runner

__all__ = ["Wording", "resolve_size", "size_error", "probe_sizes", "check_extra_inputs",
           "describe_extra_inputs", "FedRunner"]

#: Flags as the CLI names them (its options module passes the same mapping), for the doctests.
_CLI = {"size": "--size", "input_name": "--input", "extra_inputs": "--extra-input"}
#: Multiples tried by the probe, smallest first (a model that needs 32 fails at 8 and 16).
PROBE_MULTIPLES = (8, 16, 32, 64)
#: The most forward passes a probe makes (each a batch of one zero tensor).
MAX_PROBES = 12


@dataclass(frozen=True)
class Wording:
    """How a message names an argument: its Python form, or the CLI flag given in ``names``.

    >>> Wording().size(48, "W"), Wording(_CLI).size(48, "W")
    ('size=(48, W)', '--size 48xW')
    >>> Wording(_CLI).extra("aux")
    '--extra-input aux=FILE.npy'
    """

    names: Mapping[str, str] = field(default_factory=dict)

    def size(self, h: Any, w: Any) -> str:
        flag = self.names.get("size")
        return f"{flag} {h}x{w}" if flag else f"size=({h}, {w})"

    def one_side(self, value: Any) -> str:
        flag = self.names.get("size")
        return f"{flag} {value}" if flag else f"size={value}"

    def input(self, name: str) -> str:
        flag = self.names.get("input_name")
        return f"{flag} {name}" if flag else f"input_name={name!r}"

    def extra(self, name: str) -> str:
        flag = self.names.get("extra_inputs")
        return f"{flag} {name}=FILE.npy" if flag else f"extra_inputs={{{name!r}: array}}"


# ----------------------------------------------------------------------------
# sizes
# ----------------------------------------------------------------------------
def _static(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _side(value: Any, what: str) -> int | None:
    """One side as given: None or -1 (keep the static value) or a positive int."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"the {what} in size must be an integer, None or -1, got {value!r}")
    return None if int(value) == -1 else int(value)


def resolve_size(spec: ImageInputSpec, size: Any, wording: Wording = Wording()) -> tuple[int, int] | None:
    """The (height, width) frames are resized to, or None to run each frame at its own size.

    Parameters
    ----------
    spec : ImageInputSpec
        The model's image input; its int height/width are static.
    size : None, int or (height, width)
        None: the model's static size (None when both sides are dynamic). One
        int: the one dynamic side, the other being static. A pair: either side
        may be None or -1 for the model's static value.
    wording : Wording, optional
        How the fix is phrased.

    Raises
    ------
    InputError
        A size that contradicts a static side, a dynamic side left open, or a
        side that is not positive and even (NV12's chroma plane is half size).

    Examples
    --------
    >>> spec = ImageInputSpec("image", "NCHW", 1, 48, "W", "float32")
    >>> resolve_size(spec, 192), resolve_size(spec, (None, 192)), resolve_size(spec, (48, 192))
    ((48, 192), (48, 192), (48, 192))
    >>> try:
    ...     resolve_size(spec, (64, 192), Wording(_CLI))
    ... except InputError as exc:
    ...     print(str(exc).split(": ", 1)[1])
    input 'image' [1, 3, 48, W] has its height fixed at 48; pass --size 48x192 (or --size 192)
    """
    fixed = (_static(spec.height), _static(spec.width))
    where = f"input {spec.name!r} {_format_shape(_spec_dims(spec))}"
    given = "size" if not wording.names.get("size") else wording.names["size"]
    if size is None:
        if fixed[0] is not None and fixed[1] is not None:
            return fixed[0], fixed[1]
        if fixed[0] is None and fixed[1] is None:
            return None
        side, value, open_side = (("height", fixed[0], "width") if fixed[0] is not None
                                  else ("width", fixed[1], "height"))
        form = wording.size(value, "W") if side == "height" else wording.size("H", value)
        raise InputError(f"{where} has its {side} fixed at {value} and a dynamic {open_side}: say the {open_side} "
                         f"with {form} (or {wording.one_side(open_side[0].upper())})")
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        if fixed[0] is not None and fixed[1] is not None:
            raise InputError(f"{where} is fixed at {fixed[0]}x{fixed[1]}: leave {given} out")
        if fixed[0] is None and fixed[1] is None:
            raise InputError(f"{wording.one_side(int(size))} sets the one dynamic side, but both sides of {where} "
                             f"are dynamic: give both, {wording.size('H', 'W')}")
        asked: tuple[int | None, int | None] = (None, int(size)) if fixed[0] is not None else (int(size), None)
    elif isinstance(size, (tuple, list)) and len(size) == 2:
        asked = (_side(size[0], "height"), _side(size[1], "width"))
    else:
        raise InputError(f"size must be (height, width), one number or None, got {size!r}")
    out = []
    for axis, (want, have) in enumerate(zip(asked, fixed)):
        name = ("height", "width")[axis]
        if want is None and have is None:
            raise InputError(f"the {name} of {where} is dynamic, so it cannot be kept (None or -1): give it, "
                             f"{wording.size('H', 'W')}")
        out.append(have if want is None else want)
    h, w = out
    contradicts = [(n, v) for n, a, v in (("height", h, fixed[0]), ("width", w, fixed[1])) if v is not None and a != v]
    if contradicts:
        shown = wording.size(*(v if v is not None else "?" for v in asked)) if wording.names.get("size") else \
            f"size=({asked[0]}, {asked[1]})"
        fix_h = fixed[0] if fixed[0] is not None else h
        fix_w = fixed[1] if fixed[1] is not None else w
        what = (f"is fixed at {fixed[0]}x{fixed[1]}" if None not in fixed else
                "has " + " and ".join(f"its {n} fixed at {v}" for n, v in contradicts))
        alt = ""
        if (fixed[0] is None) != (fixed[1] is None):
            alt = f" (or {wording.one_side(fix_w if fixed[0] is not None else fix_h)})"
        fix = f"pass {wording.size(fix_h, fix_w)}{alt}" if None in fixed else f"leave {given} out"
        raise InputError(f"{shown} contradicts the model: {where} {what}; {fix}")
    if h <= 0 or w <= 0 or h % 2 or w % 2:
        even = wording.size(max(2, h + h % 2), max(2, w + w % 2))
        raise InputError(f"{wording.size(h, w)}: both sides must be positive and even for NV12 (its chroma plane "
                         f"is half the size); pass {even}")
    return h, w


def _spec_dims(spec: ImageInputSpec) -> tuple[Any, ...]:
    if spec.layout == "NCHW":
        return spec.batch, 3, spec.height, spec.width
    return spec.batch, spec.height, spec.width, 3


def _zeros(spec: ImageInputSpec, h: int, w: int) -> np.ndarray:
    batch = _static(spec.batch) or 1
    shape = (batch, 3, h, w) if spec.layout == "NCHW" else (batch, h, w, 3)
    return np.zeros(shape, dtype=spec.numpy_dtype())


def _runs(runner: Runner, spec: ImageInputSpec, h: int, w: int) -> bool:
    try:
        runner.run({spec.name: _zeros(spec, h, w)})
    except (ModelError, InputError):
        return False
    return True


def _near(value: int, multiple: int) -> tuple[int, int]:
    """The multiples of ``multiple`` just below and above ``value`` (at least ``multiple``)."""
    down = max(multiple, value // multiple * multiple)
    up = max(multiple, -(-value // multiple) * multiple)
    return down, up


def probe_sizes(runner: Runner, spec: ImageInputSpec, size: tuple[int, int]) -> tuple[list[tuple[int, int]], int]:
    """Sizes near ``size`` the model runs at, and the multiple they share (0: none found).

    Only the dynamic sides move. For 8, 16, 32 and 64 in turn, one zero
    tensor (batch 1) runs at the nearest multiples of the requested size;
    at the first multiple that runs, the sizes just below and above on each
    side are tried too. At most :data:`MAX_PROBES` forward passes.
    """
    fixed = (_static(spec.height), _static(spec.width))
    tried: dict[tuple[int, int], bool] = {}

    def runs(h: int, w: int) -> bool:
        if (h, w) not in tried and len(tried) < MAX_PROBES:
            tried[(h, w)] = _runs(runner, spec, h, w)
        return tried.get((h, w), False)

    def options(axis: int, multiple: int) -> tuple[int, int]:
        if fixed[axis] is not None:
            return fixed[axis], fixed[axis]  # type: ignore[return-value]
        return _near(size[axis], multiple)

    for multiple in PROBE_MULTIPLES:
        (h_down, h_up), (w_down, w_up) = options(0, multiple), options(1, multiple)
        nearest = (min((h_down, h_up), key=lambda v: (abs(v - size[0]), v)),
                   min((w_down, w_up), key=lambda v: (abs(v - size[1]), v)))
        if not runs(*nearest):
            continue
        pairs = sorted({(h, w) for h in (h_down, h_up) for w in (w_down, w_up)},
                       key=lambda p: (abs(p[0] - size[0]) + abs(p[1] - size[1]), p))
        return [p for p in pairs if runs(*p)], multiple
    return [], 0


def _reason(exc: BaseException) -> str:
    """The runtime's message on one short line (ORT's is long and multi-line)."""
    text = " ".join(str(exc).split())
    for marker in ("Non-zero status code returned while running ", "[ONNXRuntimeError] : "):
        if marker in text:
            text = text[text.index(marker) + len(marker):]
            break
    return text if len(text) <= 200 else text[:197] + "..."


def size_error(exc: BaseException, runner: Runner, spec: ImageInputSpec, size: tuple[int, int],
               wording: Wording = Wording()) -> BaseException:
    """After a forward pass failed at ``size``: an InputError naming sizes the model runs at, else ``exc``.

    A zero tensor at ``size`` first: if it runs, the failure was not the size
    and ``exc`` is returned unchanged. Nothing is probed on a static-size model.
    """
    h, w = size
    if spec.static_size is not None or _runs(runner, spec, h, w):
        return exc
    found, multiple = probe_sizes(runner, spec, size)
    if not found:
        return exc
    listed = ", ".join(f"{a}x{b}" for a, b in found)
    return InputError(
        f"the model cannot run at {h}x{w} (onnxruntime: {_reason(exc)}); sizes it runs at near it: {listed} "
        f"(the dynamic sides at multiples of {multiple} worked); pass {wording.size(*found[0])}"
    )


# ----------------------------------------------------------------------------
# the model's other inputs
# ----------------------------------------------------------------------------
def _castable_extra(given: np.dtype, wanted: np.dtype) -> bool:
    """Same kind of number: float to float, int to int (values checked after), bool to bool."""
    kinds = {"f": "f", "i": "iu", "u": "iu", "b": "b"}
    return given.kind in kinds and wanted.kind in kinds and kinds[given.kind] == kinds[wanted.kind]


def check_extra_inputs(model: Any, spec: ImageInputSpec, extra_inputs: Mapping[str, Any] | None,
                       wording: Wording = Wording()) -> dict[str, np.ndarray]:
    """The values for the model's non-image inputs, checked and cast to each input's dtype.

    Raises
    ------
    InputError
        A model input left out (named, with its shape and dtype, and how to
        give it), a name the model does not take, a value of another kind of
        number or of the wrong rank or static dims.
    """
    from .model import load_model

    proto = load_model(model)
    values = {v.name: v for v in graph_inputs(proto)}
    extras = dict(extra_inputs or {})
    unknown = [name for name in extras if name not in values or name == spec.name]
    if unknown:
        listed = "; ".join(f"{v.name} {_format_shape(_dims(v))} {_dtype_name(v)}" for v in values.values())
        why = f" ({spec.name!r} is the image)" if spec.name in unknown else ""
        raise InputError(f"unknown extra input(s) {unknown}{why}; the model's inputs are: {listed}")
    missing = [values[n] for n in spec.other_inputs if n not in extras]
    if missing:
        listed = "; ".join(f"{v.name} {_format_shape(_dims(v))} {_dtype_name(v)}" for v in missing)
        how = ", ".join(wording.extra(v.name) for v in missing)
        raise InputError(f"the model has input(s) besides the image {spec.name!r} that need values: {listed}; "
                         f"give them with {how} (each is fed unchanged to every run)")
    out = {}
    for name, given in extras.items():
        array = np.asarray(given)
        value = values[name]
        dims = _dims(value)
        wanted = np.dtype(_dtype_name(value)) if _dtype_name(value) not in ("non-tensor",) else None
        if wanted is not None and array.dtype != wanted:
            if not _castable_extra(array.dtype, wanted):
                raise InputError(f"extra input {name!r} is {array.dtype} but the model takes {wanted}; save it "
                                 f"as {wanted} ({wording.extra(name)})")
            cast = array.astype(wanted)
            if wanted.kind in "iu" and not np.array_equal(cast, array):
                raise InputError(f"extra input {name!r} has values that {wanted} cannot hold")
            array = cast
        if dims is not None:
            if array.ndim != len(dims):
                raise InputError(f"extra input {name!r} has shape {list(array.shape)} but the model takes "
                                 f"{_format_shape(dims)} ({len(dims)} dims)")
            wrong = [i for i, (d, n) in enumerate(zip(dims, array.shape)) if _static(d) is not None and d != n]
            if wrong:
                raise InputError(f"extra input {name!r} has shape {list(array.shape)} but the model takes "
                                 f"{_format_shape(dims)}")
        out[name] = array
    return out


def describe_extra_inputs(extras: Mapping[str, np.ndarray]) -> dict[str, dict[str, Any]]:
    """Names, shapes and dtypes (never values) for the report's parameters."""
    return {name: {"shape": list(value.shape), "dtype": str(value.dtype)} for name, value in extras.items()}


class FedRunner(Runner):
    """A :class:`Runner` that adds fixed values for the model's other inputs to every feed.

    A value with a leading 1 is repeated along axis 0 to the batch of the
    feed when the model's input has a dynamic batch (a batch of noisy
    trials); names the feed already has, or the model does not take, are
    left alone.

    >>> import numpy as np, onnx
    >>> from onnx import TensorProto, helper
    >>> graph = helper.make_graph([helper.make_node("Add", ["x", "b"], ["y"])], "g",
    ...     [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2]),
    ...      helper.make_tensor_value_info("b", TensorProto.FLOAT, ["N", 2])],
    ...     [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])])
    >>> runner = FedRunner(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]),
    ...                    extras={"b": np.ones((1, 2), np.float32)})
    >>> runner.run({"x": np.zeros((3, 2), np.float32)})["y"].tolist()
    [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]]
    """

    def __init__(self, model: Any, *, extras: Mapping[str, np.ndarray] | None = None, **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        self.extras = {k: np.asarray(v) for k, v in (extras or {}).items() if k in self.input_names}

    def run(self, feed: Mapping[str, Any], *, output_names: Any = None) -> dict[str, np.ndarray]:
        """:meth:`Runner.run` with the extra inputs added."""
        if not self.extras or not isinstance(feed, Mapping):
            return super().run(feed, output_names=output_names)
        full = dict(feed)
        batch = max((np.shape(v)[0] for v in feed.values() if np.ndim(v) > 0), default=1)
        infos = {i.name: i for i in self.inputs or ()}
        for name, value in self.extras.items():
            if name in full:
                continue
            info = infos.get(name)
            dynamic = info is None or not isinstance(info.batch, int)
            if batch > 1 and value.ndim and value.shape[0] == 1 and dynamic:
                value = np.repeat(value, batch, axis=0)
            full[name] = value
        return super().run(full, output_names=output_names)
