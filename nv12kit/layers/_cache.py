"""The model cache of per-layer divergence: graph analysis, plans and segment sessions per model content.

:class:`_Model` holds what depends on a model's bytes alone; :func:`_cached_model`
finds or builds it (keyed by the serialized bytes of a ``ModelProto``, or by
the stat signatures of a model file and its external data);
:func:`clear_cache` forgets it all. Also the default onnxruntime session
options of the segment sessions (:func:`_session_options`).
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import onnx

from ..model import ImageInputSpec, external_data_locations, load_model
from ._graph import _candidates, _Graph
from ._segments import _CutPlan, _CutStream, _Plan, _Stream
from .results import SkippedNode

# ----------------------------------------------------------------------------
# the segment sessions' options
# ----------------------------------------------------------------------------
#: Models with fewer weight bytes than this run on one ORT thread: starting and joining a thread pool for each
#: segment session costs more than a second thread saves on them (bench_layers.py).
SINGLE_THREAD_WEIGHTS = 4 << 20


def _session_options(session_options: Any, model: onnx.ModelProto) -> Any:
    if session_options is not None:
        return session_options
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Between runs numpy computes the metrics; spinning ORT threads would steal its cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # Each segment session runs only a few times: plain malloc returns its memory when the session goes,
    # where an arena would keep its high-water mark (bench_layers.py measures the RSS).
    options.enable_cpu_mem_arena = False
    weights = sum(len(t.raw_data) or 4 * int(np.prod(t.dims, dtype=np.int64)) for t in model.graph.initializer)
    if weights < SINGLE_THREAD_WEIGHTS:
        options.intra_op_num_threads = 1
    options.log_severity_level = 3
    return options


# ----------------------------------------------------------------------------
# the model cache: graph analysis and segment sessions, per model content
# ----------------------------------------------------------------------------
#: Models whose analysis and sessions are kept between calls; the least recently used goes first.
_CACHE_MODELS = 4

#: Serialized model bytes the cache holds at most, all models together; a bigger model is never cached.
_CACHE_BYTES = 128 << 20

_PLANS_PER_MODEL = 2  # chunkings kept per model: nv12/noise share one, "quantized" needs another
# Plans of more segments than this free each session after its step even when cached: dozens of live sessions
# interleave their small allocations with the freed tensors and fragment the heap (measured on the 100-node chain
# of test_layers at chunk_size=4: peak RSS +108 MiB instead of +12 MiB; malloc_trim gave it back, so it was
# fragmentation, not memory held). Big graphs are the ones that need the bound.
_KEEP_SEGMENTS = 4
_EXACT_KEY_BYTES = 16 << 20  # ModelProtos up to this size are keyed by their bytes (compared exactly), else SHA-256


class _Model:
    """One model's content and what is derived from it alone: types, graph, candidates, plans, sessions.

    Everything here depends only on the model's bytes (and on the image
    input's name, the chunking and the input types, which are part of the
    keys), never on the image or the comparison, so calls that share the
    model share it.
    """

    def __init__(self, proto: onnx.ModelProto, key: tuple[Any, ...] | None, nbytes: int,
                 files: tuple[tuple[str, tuple[int, ...] | None], ...] = ()) -> None:
        self.proto = proto
        self.key = key
        self.nbytes = nbytes
        self.files = files  # external data files and their stat signatures, for a model read from a path
        self._graph: _Graph | None = None
        self._specs: dict[tuple[Any, ...], ImageInputSpec] = {}
        self._candidates: dict[str, tuple[tuple[tuple[str, int, str, str], ...], tuple[SkippedNode, ...]]] = {}
        self._plans: dict[tuple[Any, ...], _Plan | _CutPlan] = {}
        self._options: Any = None
        self._lock = threading.Lock()

    @property
    def graph(self) -> _Graph:
        if self._graph is None:
            self._graph = _Graph(self.proto)
        return self._graph

    def spec(self, input_name: str | None, layout: Any) -> ImageInputSpec:
        key = (input_name, layout)
        spec = self._specs.get(key)
        if spec is None:
            spec = self._specs[key] = ImageInputSpec.from_model(self.proto, input_name, layout=layout)
        return spec

    def candidates(self, image: str) -> tuple[list[tuple[str, int, str, str]], list[SkippedNode]]:
        """The tensors to compare (in topological order) and the skipped ones; fresh lists for the caller."""
        found = self._candidates.get(image)
        if found is None:
            compared, skipped = _candidates(self.graph, image)
            found = self._candidates[image] = (tuple(compared), tuple(skipped))
        return list(found[0]), list(found[1])

    def plan(self, chunks: Sequence[Sequence[str]], *, cut: bool = False) -> _Plan | _CutPlan:
        key = (cut, *(tuple(chunk) for chunk in chunks))
        with self._lock:
            plan = self._plans.pop(key, None)
            if plan is None:
                plan = (_CutPlan if cut else _Plan)(self.graph, chunks)
            self._plans[key] = plan  # most recently used last
            while len(self._plans) > _PLANS_PER_MODEL:
                del self._plans[next(iter(self._plans))]
        return plan

    def options(self) -> Any:
        if self._options is None:
            self._options = _session_options(None, self.proto)
        return self._options


_CACHE: list[_Model] = []  # most recently used last
_CACHE_LOCK = threading.Lock()


def clear_cache() -> None:
    """Forget every model :func:`layer_divergence` has cached, and free their sessions.

    :func:`layer_divergence` keeps, for the 4 models it saw last (at most
    128 MiB of serialized model together; a bigger model is not cached),
    the graph analysis and the onnxruntime sessions of the graph's
    segments, so that another call on the same model (the triage's noise
    comparison after its NV12 one, a notebook widget) does not build them
    again. Entries are keyed by the model's content: a ``ModelProto`` by
    its serialized bytes, a path by the size, modification time and inode
    of the file and of its external data files, so a changed model is never
    served from the cache. Only the default session options are cached
    with; sessions built with ``session_options=`` are freed after the call.

    Call this to release the memory (each cached model holds about two
    copies of its weights: the parsed model and its sessions), or after
    rewriting a model file in place with the same size within the file
    system's timestamp resolution.

    Examples
    --------
    >>> from nv12kit.layers import clear_cache
    >>> clear_cache()
    """
    with _CACHE_LOCK:
        _CACHE.clear()


def _cache_get(key: tuple[Any, ...]) -> _Model | None:
    with _CACHE_LOCK:
        for i, entry in enumerate(_CACHE):
            if entry.key == key and all(_stat_signature(path) == sig for path, sig in entry.files):
                _CACHE.append(_CACHE.pop(i))
                return entry
    return None


def _cache_put(entry: _Model) -> None:
    with _CACHE_LOCK:
        _CACHE[:] = [other for other in _CACHE if other.key != entry.key]
        _CACHE.append(entry)
        while len(_CACHE) > _CACHE_MODELS or sum(e.nbytes for e in _CACHE) > _CACHE_BYTES:
            _CACHE.pop(0)


def _stat_signature(path: str) -> tuple[int, ...] | None:
    """What changes when a file is rewritten: device, inode, size, modification and change times.

    None for anything but an existing regular file.
    """
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _cached_model(model: Any) -> tuple[_Model, bool]:
    """The cache entry for ``model`` (a path or a ModelProto), built and stored on a miss.

    A model that cannot be keyed cheaply and safely (too big, unserializable,
    a file that changed while it was read) is returned uncached (``key`` None).
    The flag says whether the entry was found in the cache.
    """
    if isinstance(model, onnx.ModelProto):
        try:
            data = model.SerializeToString()
        except Exception:  # e.g. over protobuf's 2 GiB limit: analyse it afresh
            return _Model(load_model(model), None, 0), False
        if len(data) > _CACHE_BYTES:
            return _Model(load_model(model), None, 0), False
        if len(data) <= _EXACT_KEY_BYTES:
            key: tuple[Any, ...] = ("proto", data)
        else:
            key = ("proto-sha256", len(data), hashlib.sha256(data).digest())
        entry = _cache_get(key)
        if entry is not None:
            return entry, True
        load_model(model)  # its checks (e.g. external data not loaded) run on a miss; equal bytes passed them
        # a private copy: the caller may change their ModelProto after this call
        entry = _Model(onnx.ModelProto.FromString(data), key, len(data))
        _cache_put(entry)
        return entry, False
    if isinstance(model, (str, os.PathLike)):
        path = os.path.abspath(os.fspath(model))
        before = _stat_signature(path)
        if before is None or before[2] > _CACHE_BYTES:  # missing (load_model says so) or too big to keep
            return _Model(load_model(model), None, 0), False
        key = ("path", path, before)
        entry = _cache_get(key)
        if entry is not None:
            return entry, True
        # external data files are part of the content: their signatures, taken before reading, are checked on
        # every hit; a file that changes while being read leaves the model uncached
        try:
            locations = external_data_locations(onnx.load(path, load_external_data=False))
        except Exception:  # unreadable: load_model below raises the explained error
            locations = None
        folder = os.path.dirname(path)
        files = tuple((os.path.join(folder, loc), _stat_signature(os.path.join(folder, loc)))
                      for loc in dict.fromkeys(locations or ()))
        proto = load_model(model)
        nbytes = proto.ByteSize()
        unchanged = _stat_signature(path) == before and all(_stat_signature(f) == sig for f, sig in files)
        if locations is None or not unchanged or nbytes > _CACHE_BYTES:
            return _Model(proto, None, 0), False
        entry = _Model(proto, key, nbytes, files)
        _cache_put(entry)
        return entry, False
    return _Model(load_model(model), None, 0), False  # load_model names the wrong type


def _stream(entry: _Model, chunks: Sequence[Sequence[str]], feeds: Sequence[Any], session_options: Any,
            what: str, *, cut: bool = False) -> _Stream | _CutStream:
    """A stream over the model's (cached) plan; its sessions are kept when the cache may own them.

    ``cut``: every requested tensor from a model cut from the graph inputs with that tensor as a terminal
    output (:class:`._segments._CutPlan`), so onnxruntime fuses a QDQ model's nodes as in the whole model.
    """
    plan = entry.plan(chunks, cut=cut)
    sessions = sum(len(groups) for groups in plan.groups) if isinstance(plan, _CutPlan) else sum(
        1 for s in plan.segments if s)
    # only sessions built with the default options, which the cache owns, and only for a few segments
    keep = session_options is None and entry.key is not None and sessions <= _KEEP_SEGMENTS
    options = entry.options() if session_options is None else session_options
    if isinstance(plan, _CutPlan):
        return _CutStream(plan, feeds, session_options=options, what=what, keep_sessions=keep)
    return _Stream(plan, feeds, session_options=options, what=what, keep_sessions=keep)
