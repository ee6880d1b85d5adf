"""Run any model through one small interface.

:class:`Runner` wraps an ONNX model (path or ``ModelProto``), an
``onnxruntime.InferenceSession``, or anything with ORT's call shape
``run(output_names, feed)`` (Horizon's ``HBRuntime`` among them, and
OpenVINO's NV12 node from :func:`nv12kit.openvino_node.openvino_nv12_runtime`), and
returns outputs as a ``{name: array}`` dict. It checks feeds before they
reach the runtime and splits large batches into pieces the model accepts.
Float tensors are fed in the model's own float type when that loses nothing
(float32 to a float64 input) or when the input is float16 (nv12kit's
normalised tensors are float32); other dtype mismatches are refused.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import InputError, ModelError

__all__ = ["Runner", "InputInfo", "quiet_onnxruntime"]

# ORT's type strings for the tensor types models use.
_ORT_TYPES = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
    "tensor(uint8)": np.uint8,
    "tensor(int8)": np.int8,
    "tensor(int16)": np.int16,
    "tensor(uint16)": np.uint16,
    "tensor(int32)": np.int32,
    "tensor(int64)": np.int64,
    "tensor(bool)": np.bool_,
}

#: Batch pieces for a dynamic-batch model: bounded memory; 16 was fastest for conv nets here (bench_triage).
DEFAULT_MAX_BATCH = 16


#: Element types numpy cannot hand to onnxruntime's Python API.
_UNFEEDABLE = {"tensor(bfloat16)": "bfloat16", "tensor(float8e4m3fn)": "float8", "tensor(float8e5m2)": "float8"}


@dataclass(frozen=True)
class InputInfo:
    """What a runtime says about one input: name, shape (ints, names or None), dtype (or None) and ORT type."""

    name: str
    shape: tuple[int | str | None, ...] | None
    dtype: np.dtype | None
    type_name: str | None = None

    @property
    def batch(self) -> int | str | None:
        """The leading dimension: an int if static."""
        return self.shape[0] if self.shape else None


def _session_infos(items: Sequence[Any]) -> list[InputInfo]:
    infos = []
    for item in items:
        shape = tuple(d if isinstance(d, (int, str)) else None for d in item.shape) if item.shape is not None else None
        dtype = _ORT_TYPES.get(item.type)
        infos.append(InputInfo(item.name, shape, np.dtype(dtype) if dtype is not None else None, str(item.type)))
    return infos


def _make_session(model: Any, providers: Sequence[str] | None, session_options: Any) -> Any:
    import onnxruntime as ort

    if isinstance(model, (bytes, bytearray, memoryview)):
        data = bytes(model)  # already serialised (e.g. the file as read): no parse, no SerializeToString
    else:
        from .model import load_model

        data = load_model(model).SerializeToString()
    if session_options is None:
        session_options = ort.SessionOptions()
        # nv12kit interleaves numpy work (noise, metrics) with short runs; spinning ORT threads would
        # compete with it for the cores (measured 2x slower on a busy 2-core machine, bench_triage.py).
        session_options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # Graph-optimiser warnings ("Removing initializer ...") are about the model, not the user's problem;
        # they filled exported notebooks with stderr boxes. Errors still show.
        session_options.log_severity_level = 3
    try:
        return ort.InferenceSession(
            data,
            sess_options=session_options,
            providers=list(providers) if providers else ["CPUExecutionProvider"],
        )
    except Exception as exc:
        raise ModelError(f"onnxruntime cannot load the model: {type(exc).__name__}: {exc}") from exc


class _OnnxruntimeWarnings(logging.Filter):
    """Drops records below ERROR that onnxruntime's Python code logged straight through the root logger."""

    def __init__(self, package_dir: str) -> None:
        super().__init__()
        self.package_dir = package_dir

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or not record.pathname.startswith(self.package_dir)


@contextlib.contextmanager
def quiet_onnxruntime() -> Iterator[None]:
    """Silence onnxruntime's warnings and info inside nv12kit's own calls; errors still show.

    ``onnxruntime.quantization`` logs hundreds of warnings on ordinary
    models ("Expected bias ... to be an initializer"), most through the root
    logger (``logging.warning``), and its calibration sessions print the C++
    graph optimiser's warnings. Inside this context: the ``onnxruntime``
    loggers are set to ERROR, a filter on the root logger drops records below
    ERROR that come from onnxruntime's package, and the C++ default logger's
    severity is ERROR. Everything is put back afterwards, except that
    onnxruntime has no getter for the C++ severity: it is restored to
    onnxruntime's default (WARNING).

    Examples
    --------
    >>> import logging
    >>> with quiet_onnxruntime():
    ...     logging.getLogger("onnxruntime.quantization").warning("not shown")
    """
    import onnxruntime as ort

    package_dir = os.path.dirname(ort.__file__)
    named = logging.getLogger("onnxruntime")
    root = logging.getLogger()
    level = named.level
    drop = _OnnxruntimeWarnings(package_dir)
    # logging.warning() on a root logger without handlers installs a stderr handler for good (basicConfig);
    # a placeholder handler for the duration keeps it from doing so.
    placeholder = logging.NullHandler() if not root.handlers else None
    named.setLevel(logging.ERROR)
    root.addFilter(drop)
    if placeholder is not None:
        root.addHandler(placeholder)
    ort.set_default_logger_severity(3)
    try:
        yield
    finally:
        ort.set_default_logger_severity(2)
        if placeholder is not None:
            root.removeHandler(placeholder)
        root.removeFilter(drop)
        named.setLevel(level)


class Runner:
    """One interface over ORT sessions, ONNX models and vendor runtimes.

    Parameters
    ----------
    model : str, os.PathLike, onnx.ModelProto, bytes, InferenceSession, Runner or runtime
        A model (loaded into an ``onnxruntime.InferenceSession`` on the CPU;
        ``bytes`` are a serialised model, handed to onnxruntime as they are),
        a session, or any object with ``run(output_names, feed)``; such an
        object must also expose ``input_names`` and ``output_names`` (as
        Horizon's ``HBRuntime`` does) or ORT's ``get_inputs()`` /
        ``get_outputs()``.
    batch_size : int, optional
        Largest batch sent in one call. By default: the static batch of
        the model if it has one, :data:`DEFAULT_MAX_BATCH` if the batch is
        dynamic, and 1 for runtimes that do not describe their inputs.
    providers : sequence of str, optional
        ORT execution providers when a model is loaded here (CPU by default).
    session_options : onnxruntime.SessionOptions, optional
        Used when a model is loaded here. By default ORT's worker threads do
        not spin between runs (``session.intra_op.allow_spinning=0``).
    name : str, optional
        A label for reports (``"qat_nv12"``...).

    Attributes
    ----------
    input_names, output_names : tuple of str
    inputs : tuple of InputInfo or None
        Shapes and dtypes when the runtime reports them.

    Examples
    --------
    >>> import numpy as np
    >>> class Doubler:  # the shape of Horizon's HBRuntime
    ...     input_names = ["x"]
    ...     output_names = ["y"]
    ...     def run(self, output_names, feed):
    ...         return [feed["x"] * 2]
    >>> runner = Runner(Doubler())
    >>> runner.run({"x": np.ones((3, 2), np.float32)})["y"].tolist()
    [[2.0, 2.0], [2.0, 2.0], [2.0, 2.0]]
    """

    def __init__(
        self,
        model: Any,
        *,
        batch_size: int | None = None,
        providers: Sequence[str] | None = None,
        session_options: Any = None,
        name: str | None = None,
    ) -> None:
        if isinstance(model, Runner):
            self._runtime = model._runtime
            self.inputs, self.outputs = model.inputs, model.outputs
            self.input_names, self.output_names = model.input_names, model.output_names
            self.name = name or model.name
            self.batch_size = model.batch_size if batch_size is None else self._default_batch(batch_size)
            return
        runtime = model
        if not hasattr(model, "run") or not callable(getattr(model, "run")):
            runtime = _make_session(model, providers, session_options)
        self._runtime = runtime
        self.inputs: tuple[InputInfo, ...] | None = None
        self.outputs: tuple[InputInfo, ...] | None = None
        if hasattr(runtime, "get_inputs") and hasattr(runtime, "get_outputs"):
            self.inputs = tuple(_session_infos(runtime.get_inputs()))
            self.outputs = tuple(_session_infos(runtime.get_outputs()))
            self.input_names = tuple(i.name for i in self.inputs)
            self.output_names = tuple(o.name for o in self.outputs)
        elif hasattr(runtime, "input_names") and hasattr(runtime, "output_names"):
            self.input_names = tuple(runtime.input_names)
            self.output_names = tuple(runtime.output_names)
        else:
            raise ModelError(
                f"{type(runtime).__name__} has run() but does not say its inputs and outputs; give it "
                "input_names and output_names attributes (as HBRuntime has) or get_inputs()/get_outputs()"
            )
        if not self.output_names:
            raise ModelError("the runtime reports no outputs")
        self.name = name or type(runtime).__name__
        self.batch_size = self._default_batch(batch_size)

    def _default_batch(self, batch_size: int | None) -> int:
        if batch_size is not None:
            if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
                raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
            return int(batch_size)
        if self.inputs is None:
            return 1
        batches = {i.batch for i in self.inputs if i.shape}
        static = {b for b in batches if isinstance(b, int)}
        if static:
            return min(static)
        return DEFAULT_MAX_BATCH

    @property
    def runtime(self) -> Any:
        """The wrapped session or runtime object."""
        return self._runtime

    @property
    def dynamic_batch(self) -> bool:
        """True when every batched input has a dynamic leading dimension."""
        if self.inputs is None:
            return False
        return all(not isinstance(i.batch, int) for i in self.inputs if i.shape)

    def __repr__(self) -> str:
        return (
            f"Runner({self.name}: inputs {list(self.input_names)}, outputs {list(self.output_names)}, "
            f"batch_size {self.batch_size})"
        )

    # ------------------------------------------------------------------
    # feeding
    # ------------------------------------------------------------------
    def _check_feed(self, feed: Mapping[str, Any]) -> dict[str, np.ndarray]:
        if not isinstance(feed, Mapping):
            raise InputError(f"feed must be a dict of input name to array, got {type(feed).__name__}")
        missing = [n for n in self.input_names if n not in feed]
        unknown = [n for n in feed if n not in self.input_names]
        if missing or unknown:
            parts = []
            if missing:
                parts.append(f"missing {missing}")
            if unknown:
                parts.append(f"unknown {unknown}")
            raise InputError(
                f"the feed does not match the model's inputs ({'; '.join(parts)}); "
                f"the model takes {list(self.input_names)}"
            )
        arrays = {name: np.asarray(feed[name]) for name in self.input_names}
        for info in self.inputs or ():
            array = arrays[info.name]
            if info.type_name in _UNFEEDABLE:
                raise ModelError(
                    f"input {info.name!r} is {_UNFEEDABLE[info.type_name]}, which onnxruntime's Python API cannot "
                    "take from numpy; export the model with a float32 or float16 input (a Cast node inside the "
                    "graph can keep the rest of it in lower precision)"
                )
            if info.dtype is not None and array.dtype != info.dtype and _castable(array.dtype, info.dtype):
                arrays[info.name] = array = _cast(array, info)
            if info.dtype is not None and array.dtype != info.dtype:
                raise InputError(
                    f"input {info.name!r} must be {info.dtype}, got {array.dtype}; convert with "
                    f".astype(np.{info.dtype})"
                    + (" (float images are normalised with nv12kit.Preprocess)"
                       if np.issubdtype(info.dtype, np.floating) else "")
                )
            if info.shape is not None:
                if array.ndim != len(info.shape):
                    raise InputError(
                        f"input {info.name!r} must have {len(info.shape)} dims {_shape_str(info.shape)}, "
                        f"got shape {array.shape}"
                    )
                for axis, (want, got) in enumerate(zip(info.shape, array.shape)):
                    if axis > 0 and isinstance(want, int) and want != got:
                        raise InputError(
                            f"input {info.name!r} must have shape {_shape_str(info.shape)}, got {array.shape}; "
                            "resize the image to the model's size first (nv12kit.resize_to)"
                        )
        return arrays

    def _batched_names(self, arrays: Mapping[str, np.ndarray]) -> tuple[list[str], int]:
        """Inputs that carry the batch, and its size N."""
        if self.inputs is not None:
            names = [i.name for i in self.inputs if i.shape and arrays[i.name].ndim > 0
                     and (not isinstance(i.batch, int) or i.batch == self.batch_size)]
        else:
            names = [n for n in self.input_names if arrays[n].ndim > 0]
        if not names:
            return [], 0
        sizes = {n: arrays[n].shape[0] for n in names}
        count = max(sizes.values())
        return [n for n in names if sizes[n] == count], count

    def _call(self, feed: dict[str, np.ndarray], output_names: list[str]) -> list[np.ndarray]:
        try:
            results = self._runtime.run(output_names, feed)
        except (InputError, ModelError):
            raise
        except Exception as exc:
            raise ModelError(f"{self.name} failed to run: {type(exc).__name__}: {exc}") from exc
        results = list(results.values()) if isinstance(results, Mapping) else list(results)
        if len(results) != len(output_names):
            raise ModelError(f"{self.name} returned {len(results)} outputs for {len(output_names)} requested")
        return [np.asarray(r) for r in results]

    def run(self, feed: Mapping[str, Any], *, output_names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Run the model on a feed, in batches the model accepts.

        Parameters
        ----------
        feed : dict of str to array
            One array per input. Inputs that carry the batch are split along
            axis 0 into pieces of at most ``batch_size`` (padded to a static
            batch when needed) and the outputs are put back together. A float
            array is cast to a float16 input, and to a wider float input
            (float32 to float64); other dtypes must match.
        output_names : sequence of str, optional
            A subset of the outputs; all by default.

        Returns
        -------
        dict of str to numpy.ndarray
            ``{output name: array}``, in ``output_names`` order. An output
            without a batch axis (a scalar, ``[C]``) is returned as the
            runtime gave it when the feed fits one call; split over several
            calls it cannot be put back together (ModelError).

        Raises
        ------
        InputError
            Missing or unknown input names, wrong dtype or rank, a size that
            does not fit a static-shape model, or values beyond float16's
            range for a float16 input.
        ModelError
            The runtime itself failed (its message is included), or an input
            is bfloat16/float8, which numpy cannot feed to onnxruntime.
        """
        names = list(self.output_names if output_names is None else output_names)
        unknown = [n for n in names if n not in self.output_names]
        if unknown:
            raise InputError(f"unknown outputs {unknown}; the model's outputs are {list(self.output_names)}")
        arrays = self._check_feed(feed)
        batched, count = self._batched_names(arrays)
        step = self.batch_size
        # Only a model that declares a static batch gets padded pieces.
        pad = self.inputs is not None and not self.dynamic_batch
        if not batched or count == step or (count < step and not pad):
            return dict(zip(names, self._call(arrays, names)))
        pieces: list[list[np.ndarray]] = []
        for start in range(0, count, step):
            stop = min(start + step, count)
            chunk = dict(arrays)
            for n in batched:
                part = arrays[n][start:stop]
                if stop - start < step and pad:
                    # a static batch: pad with copies of the last item, drop their outputs after
                    filler = np.repeat(part[-1:], step - (stop - start), axis=0)
                    part = np.concatenate([part, filler])
                chunk[n] = part
            outs = self._call(chunk, names)
            pieces.append([o[: stop - start] if o.ndim and o.shape[0] == len(chunk[batched[0]]) else o for o in outs])
        merged = {}
        for i, name in enumerate(names):
            parts = [p[i] for p in pieces]
            if all(p.ndim and p.shape[0] <= step for p in parts) and sum(p.shape[0] for p in parts) == count:
                merged[name] = np.concatenate(parts)
            elif len(parts) == 1:
                merged[name] = parts[0]  # no batch axis, but one call: the output is the runtime's, whole
            else:
                raise ModelError(
                    f"output {name!r} has no batch axis (shape {parts[0].shape}), so the batch of {count} cannot "
                    f"be split; run one item at a time or pass batch_size={count}"
                )
        return merged

    def __call__(self, feed: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Same as :meth:`run`."""
        return self.run(feed)


def _castable(given: np.dtype, wanted: np.dtype) -> bool:
    """Float arrays are fed to a float input when nothing is lost (float32 -> float64), or when the input is
    half precision: nv12kit's tensors are float32, and a float16 model can only be fed by rounding."""
    if not (np.issubdtype(given, np.floating) and np.issubdtype(wanted, np.floating)):
        return False
    return wanted == np.float16 or np.can_cast(given, wanted, casting="safe")


def _cast(array: np.ndarray, info: InputInfo) -> np.ndarray:
    with np.errstate(over="ignore"):  # an overflow is reported below, with the fix
        out = array.astype(info.dtype)
    if info.dtype == np.float16 and not np.isfinite(out).all() and np.isfinite(array).all():
        big = float(np.max(np.abs(array)))
        raise InputError(
            f"input {info.name!r} is float16, whose largest value is 65504, but the tensor reaches {big:.6g}; "
            "check the normalisation (mean/std), or export the model with a float32 input"
        )
    return out


def _shape_str(shape: tuple[int | str | None, ...]) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"
