"""Fuzzed reads (issue 13): whatever the bytes and sizes, only NV12KitError escapes.

Targets: ``read_yuv`` (bytes written to a file), ``NV12Frame.from_bytes``, ``diagnose(None, bytes, width=,
height=)`` on small frames, and the .npy / .npz readers behind ``compare`` fed random, truncated and mutated
files and headers that lie. Bounded to well under a minute in all (``max_examples`` per test, no deadline).
"""

from __future__ import annotations

import io
import itertools
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.lib import format as npy_format

from nv12kit.errors import NV12KitError
from nv12kit.lint import diagnose
from nv12kit.metrics import load_outputs
from nv12kit.yuv import LAYOUTS, NV12Frame, read_yuv

FUZZ = settings(max_examples=1000, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

_counter = itertools.count()

sizes = st.one_of(st.integers(-3, 40), st.integers(2**31, 2**64), st.sampled_from([0, 1, 2, 99_999_999_999]))
strides = st.one_of(st.none(), st.integers(-2, 80), st.sampled_from([2**62, 99_999_999_999]))
layouts = st.sampled_from([*LAYOUTS, "NV12", "yuv420p", "bogus"])


def _only_our_errors(call):
    """Run ``call``; anything but success or an NV12KitError fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numeric warnings on odd frames are not the point here
        try:
            return call()
        except NV12KitError:
            return None


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def _write(folder, data: bytes, suffix: str):
    path = folder / f"f{next(_counter)}{suffix}"
    path.write_bytes(data)
    return path


# ---------------------------------------------------------------------------
# raw YUV
# ---------------------------------------------------------------------------


@FUZZ
@given(data=st.binary(max_size=200), width=sizes, height=sizes, stride=strides, layout=layouts)
def test_from_bytes_raises_only_nv12kit_errors(data, width, height, stride, layout):
    frame = _only_our_errors(lambda: NV12Frame.from_bytes(data, width, height, layout=layout, stride=stride))
    if frame is not None:
        assert frame.to_bytes(layout=layout.lower(), stride=stride) == data or stride is not None


@FUZZ
@given(data=st.binary(max_size=200), width=sizes, height=sizes, stride=strides, layout=layouts)
def test_read_yuv_raises_only_nv12kit_errors(scratch, data, width, height, stride, layout):
    path = _write(scratch, data, ".nv12")
    _only_our_errors(lambda: read_yuv(path, width, height, layout=layout, stride=stride))


@FUZZ
@given(width=sizes, height=sizes, stride=strides, layout=layouts)
def test_to_bytes_raises_only_nv12kit_errors(width, height, stride, layout):
    frame = NV12Frame(np.zeros((4, 6), np.uint8), np.zeros((2, 3, 2), np.uint8))
    _only_our_errors(lambda: frame.to_bytes(layout=layout, stride=stride))


# ---------------------------------------------------------------------------
# diagnose on small frames
# ---------------------------------------------------------------------------


@st.composite
def small_frames(draw):
    width = draw(st.integers(1, 12)) * 2
    height = draw(st.integers(1, 12)) * 2
    n = width * height * 3 // 2
    kind = draw(st.sampled_from(["exact", "pattern", "constant", "any"]))
    if kind == "exact":
        data = draw(st.binary(min_size=n, max_size=n))
    elif kind == "pattern":
        period = draw(st.binary(min_size=1, max_size=3 * width))
        data = (period * (n // len(period) + 1))[:n]
    elif kind == "constant":
        data = bytes([draw(st.integers(0, 255))]) * n
    else:
        data = draw(st.binary(max_size=3 * n))
    if draw(st.booleans()):
        width += draw(st.integers(-1, 1))
    return data, width, height


@settings(FUZZ, max_examples=3000)
@given(frame=small_frames())
def test_diagnose_bytes_raises_only_nv12kit_errors(frame):
    data, width, height = frame
    _only_our_errors(lambda: diagnose(None, data, width=width, height=height))


# ---------------------------------------------------------------------------
# .npy and .npz
# ---------------------------------------------------------------------------

_DESCRS = ["<f4", ">f8", "<i2", "|u1", "<c16", "|b1", "|O", "|S0", "|V8", "<U3", "|S4", "<m8[s]"]


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


arrays = st.builds(
    lambda shape, dtype, seed: np.random.default_rng(seed).integers(0, 100, size=shape).astype(dtype),
    st.lists(st.integers(0, 5), max_size=3).map(tuple),
    st.sampled_from(["float32", "float64", "int16", "uint8", "complex64", "bool"]),
    st.integers(0, 2**16),
)


@st.composite
def mutated(draw, data: bytes) -> bytes:
    """Truncate, flip bytes or splice random bytes into ``data``."""
    how = draw(st.sampled_from(["as is", "truncate", "flip", "splice"]))
    if how == "truncate" and data:
        return data[: draw(st.integers(0, len(data) - 1))]
    if how == "flip" and data:
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 4))):
            out[draw(st.integers(0, len(out) - 1))] ^= draw(st.integers(1, 255))
        return bytes(out)
    if how == "splice":
        at = draw(st.integers(0, len(data)))
        return data[:at] + draw(st.binary(max_size=64)) + data[at:]
    return data


@st.composite
def npy_files(draw) -> bytes:
    if draw(st.booleans()):  # a header that may lie: any shape, any dtype, any amount of data after it
        buf = io.BytesIO()
        shape = tuple(draw(st.lists(st.one_of(st.integers(0, 8), st.integers(0, 2**40)), max_size=3)))
        npy_format.write_array_header_1_0(
            buf, {"descr": draw(st.sampled_from(_DESCRS)), "fortran_order": draw(st.booleans()), "shape": shape}
        )
        return draw(mutated(buf.getvalue() + draw(st.binary(max_size=64))))
    return draw(mutated(_npy(draw(arrays))))


@st.composite
def npz_files(draw) -> bytes:
    buf = io.BytesIO()
    method = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
    with zipfile.ZipFile(buf, "w", compression=method) as zf:
        for i in range(draw(st.integers(0, 3))):
            zf.writestr(f"out{i}.npy", draw(npy_files()))
    return draw(mutated(buf.getvalue()))


@settings(FUZZ, max_examples=1500)
@given(data=npy_files())
def test_npy_reader_raises_only_nv12kit_errors(scratch, data):
    path = _write(scratch, data, ".npy")
    outputs = _only_our_errors(lambda: load_outputs(path))
    if outputs is not None:
        assert all(isinstance(v, np.ndarray) for v in outputs.values())


@settings(FUZZ, max_examples=1500)
@given(data=npz_files())
def test_npz_reader_raises_only_nv12kit_errors(scratch, data):
    path = _write(scratch, data, ".npz")
    outputs = _only_our_errors(lambda: load_outputs(path))
    if outputs is not None:
        assert all(isinstance(v, np.ndarray) for v in outputs.values())


@FUZZ
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".npy", ".npz"]))
def test_random_bytes_as_npy_or_npz_raise_only_nv12kit_errors(scratch, data, suffix):
    path = _write(scratch, data, suffix)
    _only_our_errors(lambda: load_outputs(path))
