"""Safe reads (issue 13): regular files only, sizes checked before allocating, clear errors.

- a FIFO (or a symlink to one) named like an input is refused before it is opened, never read (it would block);
- an .npy header that claims more data than the file holds is "truncated or corrupt", not a MemoryError;
- an .npz bomb (4 GiB of zeros in 4 MB) is refused from its zip directory, in bounded memory;
- a truncated .npz member is called truncated, not "pickled";
- raw YUV sizes (``--stride 99999999999``) are refused before allocating;
- a 12000 x 12000 PNG is refused from its header, before decoding; Pillow's bomb warning never reaches the user;
- ``diagnose`` on tiny frames does not raise IndexError.

Every hostile file is built here, in ``tmp_path``; FIFOs only there.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import struct
import subprocess
import sys
import warnings
import zipfile
import zlib

import numpy as np
import pytest
from numpy.lib import format as npy_format
from PIL import Image

import nv12kit
from nv12kit._io import MAX_READ_BYTES, open_regular, read_bytes, read_npy, read_npz
from nv12kit.cli import main
from nv12kit.errors import InputError
from nv12kit.lint import diagnose
from nv12kit.metrics import compare, load_outputs
from nv12kit.yuv import NV12Frame, read_yuv, write_yuv

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")

#: Peak resident memory (MiB) a refused bomb may cost, interpreter and numpy included.
PEAK_MIB = 300


@contextlib.contextmanager
def no_hang(seconds: int = 10):
    """Fail instead of hanging when a read blocks (on a FIFO without a writer)."""

    def _timeout(signum, frame):
        raise TimeoutError(f"the read blocked for {seconds} s")

    previous = signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _fifo(path):
    os.mkfifo(path)
    return path


def _npy_bytes(header: dict, data: bytes = b"") -> bytes:
    buf = io.BytesIO()
    npy_format.write_array_header_1_0(buf, header)
    return buf.getvalue() + data


def _crc32_of_zeros(n: int, crc: int = 0) -> int:
    """``zlib.crc32(bytes(n), crc)`` without building n bytes: appending zeros is affine over GF(2)."""
    zero = zlib.crc32(b"\0", 0)
    images = [zlib.crc32(b"\0", 1 << i) ^ zero for i in range(32)]

    def linear(imgs, c):
        out = 0
        for i in range(32):
            if c >> i & 1:
                out ^= imgs[i]
        return out

    while n:  # square-and-multiply over the map "append one zero byte"
        if n & 1:
            crc = linear(images, crc) ^ zero
        zero = linear(images, zero) ^ zero
        images = [linear(images, x) for x in images]
        n >>= 1
    return crc


def write_npz_bomb(path, nbytes: int = 4 * 1024**3, *, claimed_size: int | None = None) -> int:
    """A valid .npz whose one member holds ``nbytes`` of float64 zeros, in a few MB, without allocating them.

    The deflate stream repeats one compressed 16 MiB block (a full flush resets the compressor, so every
    block of zeros compresses to the same bytes); the CRC is computed without the data. ``claimed_size``
    makes the zip directory lie about the member's uncompressed size. Returns the true uncompressed size.
    """
    chunk = 16 * 1024**2
    count = nbytes // chunk
    header = _npy_bytes({"descr": "<f8", "fortran_order": False, "shape": (count * chunk // 8,)})
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = comp.compress(header) + comp.flush(zlib.Z_FULL_FLUSH)
    block = comp.compress(bytes(chunk)) + comp.flush(zlib.Z_FULL_FLUSH)
    tail = comp.flush(zlib.Z_FINISH)
    size = len(header) + count * chunk
    csize = len(head) + count * len(block) + len(tail)
    crc = _crc32_of_zeros(count * chunk, zlib.crc32(header))
    name = b"logits.npy"
    zip64 = struct.pack("<HHQQ", 1, 16, size if claimed_size is None else claimed_size, csize)
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 8, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                        len(name), len(zip64))
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 8, 0, 0x21, crc, 0xFFFFFFFF,
                          0xFFFFFFFF, len(name), len(zip64), 0, 0, 0, 0, 0)
    with open(path, "wb") as fh:
        fh.write(local + name + zip64 + head)
        for _ in range(count):
            fh.write(block)
        fh.write(tail)
        offset = fh.tell()
        directory = central + name + zip64
        fh.write(directory + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(directory), offset, 0))
    return size


_PEAK = """
import resource
try:  # VmHWM belongs to this process image; ru_maxrss can carry the forking parent's peak across exec
    with open("/proc/self/status") as fh:
        peak = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("PEAK", peak)
"""


def _peak_mib(code: str, *args: str) -> tuple[float, str]:
    """Run ``code`` in a fresh interpreter; return its peak resident memory (MiB) and what it printed."""
    done = subprocess.run([sys.executable, "-c", code + _PEAK, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    peak_kib = int(lines[-1].split()[1])  # both are in KiB on Linux
    return peak_kib / 1024, "\n".join(lines[:-1])


# ---------------------------------------------------------------------------
# regular files only
# ---------------------------------------------------------------------------


@needs_fifo
def test_open_regular_refuses_a_fifo_without_blocking(tmp_path):
    fifo = _fifo(tmp_path / "frame.nv12")
    with no_hang(), pytest.raises(InputError, match="FIFO") as info:
        open_regular(fifo, what="raw file")
    assert str(fifo) in str(info.value) and "regular file" in str(info.value)


@needs_fifo
def test_a_symlink_to_a_fifo_is_refused(tmp_path):
    fifo = _fifo(tmp_path / "pipe")
    link = tmp_path / "frame.png"
    link.symlink_to(fifo)
    with no_hang(), pytest.raises(InputError, match="FIFO"):
        nv12kit.load_image(link)


@needs_fifo
def test_a_fifo_named_frame_png_is_refused_not_read(tmp_path):
    fifo = _fifo(tmp_path / "frame.png")
    with no_hang(), pytest.raises(InputError, match="FIFO") as info:
        nv12kit.load_image(fifo)
    assert "frame.png" in str(info.value)


@needs_fifo
def test_read_yuv_refuses_a_fifo(tmp_path):
    fifo = _fifo(tmp_path / "frame.nv12")
    with no_hang(), pytest.raises(InputError, match="FIFO"):
        read_yuv(fifo, 4, 4)


@needs_fifo
@pytest.mark.parametrize("name", ["out.npy", "out.npz"])
def test_compare_refuses_a_fifo_output_file(tmp_path, name):
    good = tmp_path / "good.npy"
    np.save(good, np.ones(3))
    fifo = _fifo(tmp_path / name)
    with no_hang(), pytest.raises(InputError, match="FIFO"):
        compare(good, fifo)


@needs_fifo
def test_a_fifo_inside_an_outputs_folder_is_refused(tmp_path):
    folder = tmp_path / "dump"
    folder.mkdir()
    np.save(folder / "a.npy", np.ones(3))
    _fifo(folder / "b.npy")
    with no_hang(), pytest.raises(InputError, match="FIFO"):
        load_outputs(folder)


@needs_fifo
@pytest.mark.parametrize("name", ["frame.nv12", "frame.npy"])
def test_diagnose_refuses_a_fifo(tmp_path, name):
    fifo = _fifo(tmp_path / name)
    with no_hang(), pytest.raises(InputError, match="FIFO"):
        diagnose(None, fifo, width=4, height=4)


@needs_fifo
def test_cli_convert_refuses_a_fifo_image_with_exit_2(tmp_path, capsys):
    fifo = _fifo(tmp_path / "frame.png")
    with no_hang():
        assert main(["convert", str(fifo), str(tmp_path / "out.nv12")]) == 2
    assert "FIFO" in capsys.readouterr().err


def test_read_bytes_checks_the_budget_before_reading(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(100))
    with pytest.raises(InputError, match="budget"):
        read_bytes(path, max_bytes=99)
    assert len(read_bytes(path, max_bytes=100)) == 100
    assert len(read_bytes(path, max_bytes=None)) == 100
    with pytest.raises(InputError, match="max_bytes"):
        read_bytes(path, max_bytes=0)


# ---------------------------------------------------------------------------
# .npy and .npz
# ---------------------------------------------------------------------------


def test_an_npy_header_claiming_1e12_elements_is_refused_without_allocating(tmp_path):
    path = tmp_path / "liar.npy"
    path.write_bytes(_npy_bytes({"descr": "<f4", "fortran_order": False, "shape": (10**6, 10**6)}, bytes(64)))
    with pytest.raises(InputError, match="truncated or corrupt") as info:
        load_outputs(path)
    assert "liar.npy" in str(info.value) and "pickle" not in str(info.value)


def test_an_npy_larger_than_the_budget_is_refused_and_the_budget_can_be_raised(tmp_path):
    path = tmp_path / "big.npy"
    np.save(path, np.zeros(1000))
    with pytest.raises(InputError, match="max_bytes"):
        read_npy(path, max_bytes=1000)
    with pytest.raises(InputError, match="budget"):
        load_outputs(path, max_bytes=1000)
    assert read_npy(path, max_bytes=8000).shape == (1000,)
    assert compare(path, path, max_bytes=8000)


def test_read_npy_gives_what_np_load_gives(tmp_path):
    for array in (np.arange(12, dtype=">i2").reshape(3, 4), np.asfortranarray(np.ones((3, 5))), np.float32(2.5),
                  np.zeros((0, 4)), np.array([1 + 2j])):
        path = tmp_path / "a.npy"
        np.save(path, array)
        got = read_npy(path)
        assert got.dtype == array.dtype and got.shape == np.shape(array)
        np.testing.assert_array_equal(got, array)
        assert got.flags.writeable


def test_an_object_npy_still_gets_the_pickle_message(tmp_path):
    path = tmp_path / "obj.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="pickle"):
        read_npy(path)


def test_a_truncated_npz_member_is_called_truncated_not_pickled(tmp_path):
    member = io.BytesIO()
    np.save(member, np.arange(1000.0))
    path = tmp_path / "cut.npz"
    with zipfile.ZipFile(path, "w") as zf:  # a valid zip whose member lost its tail
        zf.writestr("logits.npy", member.getvalue()[:300])
    with pytest.raises(InputError) as info:
        load_outputs(path)
    text = str(info.value)
    assert "truncated" in text and "'logits'" in text and "cut.npz" in text
    assert "pickle" not in text


def test_a_cut_off_npz_file_is_not_readable(tmp_path):
    path = tmp_path / "half.npz"
    np.savez(path, logits=np.arange(1000.0))
    path.write_bytes(path.read_bytes()[:3000])
    with pytest.raises(InputError, match="half.npz") as info:
        load_outputs(path)
    assert "pickle" not in str(info.value)


def test_a_corrupt_npz_member_is_called_corrupt(tmp_path):
    path = tmp_path / "flip.npz"
    np.savez_compressed(path, logits=np.arange(1000.0))
    data = bytearray(path.read_bytes())
    data[200] ^= 0xFF  # inside the deflate stream
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="corrupt|truncated"):
        load_outputs(path)


def test_npz_budget_counts_all_members_and_can_be_raised(tmp_path):
    path = tmp_path / "two.npz"
    np.savez(path, a=np.zeros(100), b=np.zeros(100))
    with pytest.raises(InputError, match="budget"):
        read_npz(path, max_bytes=1000)
    assert set(read_npz(path, max_bytes=4000)) == {"a", "b"}


def test_the_npz_bomb_is_a_real_bomb(tmp_path):
    # Not a strawman: the zip is valid and its member decompresses (checked on the first MiB only).
    path = tmp_path / "bomb.npz"
    size = write_npz_bomb(path)
    assert path.stat().st_size < 8 * 1024**2 and size > 4 * 1024**3 - 1
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("logits.npy")
        assert info.file_size == size
        with zf.open(info) as member:
            assert npy_format.read_magic(member) == (1, 0)
            shape, _, dtype = npy_format.read_array_header_1_0(member)
            assert shape[0] * dtype.itemsize > MAX_READ_BYTES
            assert member.read(1024**2) == bytes(1024**2)


def test_compare_on_an_npz_bomb_is_refused_under_300_mib(tmp_path):
    path = tmp_path / "bomb.npz"
    write_npz_bomb(path)
    code = (
        "import sys, nv12kit\n"
        "try:\n"
        "    nv12kit.compare(sys.argv[1], sys.argv[1])\n"
        "except nv12kit.NV12KitError as exc:\n"
        "    print('REFUSED', exc)\n"
    )
    peak, out = _peak_mib(code, str(path))
    assert out.startswith("REFUSED") and "budget" in out and "max_bytes" in out, out
    assert "pickle" not in out
    assert peak < PEAK_MIB, f"peak {peak:.0f} MiB"


def test_an_npz_whose_directory_lies_about_its_size_is_corrupt_in_bounded_memory(tmp_path):
    # The directory claims 1 MiB, the stream and the header hold 4 GiB: the header is checked against the claim.
    path = tmp_path / "liar.npz"
    write_npz_bomb(path, claimed_size=1024**2)
    code = (
        "import sys, nv12kit\n"
        "try:\n"
        "    nv12kit.compare(sys.argv[1], sys.argv[1])\n"
        "except nv12kit.NV12KitError as exc:\n"
        "    print('REFUSED', exc)\n"
    )
    peak, out = _peak_mib(code, str(path))
    assert out.startswith("REFUSED") and "truncated or corrupt" in out, out
    assert peak < PEAK_MIB, f"peak {peak:.0f} MiB"


# ---------------------------------------------------------------------------
# raw YUV sizes
# ---------------------------------------------------------------------------


def test_a_huge_stride_is_refused_before_allocating():
    frame = NV12Frame(np.zeros((4, 4), np.uint8), np.zeros((2, 2, 2), np.uint8))
    with pytest.raises(InputError, match="stride"):
        frame.to_bytes(stride=99_999_999_999)


def test_write_yuv_with_a_huge_stride_writes_nothing(tmp_path):
    frame = NV12Frame(np.zeros((4, 4), np.uint8), np.zeros((2, 2, 2), np.uint8))
    with pytest.raises(InputError, match="stride"):
        write_yuv(tmp_path / "f.nv12", frame, stride=99_999_999_999)
    assert list(tmp_path.iterdir()) == []


def test_cli_convert_with_a_huge_stride_exits_2(tmp_path, capsys):
    image = tmp_path / "in.png"
    Image.new("RGB", (8, 6), (10, 20, 30)).save(image)
    assert main(["convert", str(image), str(tmp_path / "out.nv12"), "--stride", "99999999999"]) == 2
    err = capsys.readouterr().err
    assert "stride" in err and "Traceback" not in err
    assert not (tmp_path / "out.nv12").exists()


@pytest.mark.parametrize(
    ("width", "height", "stride"), [(2**40, 2**40, None), (4, 4, 2**62), (99_999_999_998, 2, None)]
)
def test_huge_geometry_is_a_size_error_not_an_allocation(tmp_path, width, height, stride):
    path = tmp_path / "f.nv12"
    path.write_bytes(bytes(24))
    with pytest.raises(InputError, match="bytes"):
        read_yuv(path, width, height, stride=stride)
    with pytest.raises(InputError, match="bytes"):
        NV12Frame.from_bytes(bytes(24), width, height, stride=stride)


# ---------------------------------------------------------------------------
# images
# ---------------------------------------------------------------------------


def test_a_144_mpx_png_is_refused_before_decoding(tmp_path):
    path = tmp_path / "big.png"
    Image.new("1", (12000, 12000)).save(path)  # 18 MB in memory, ~20 KB on disk
    assert path.stat().st_size < 1024**2
    code = (
        "import sys, warnings, nv12kit\n"
        "warnings.simplefilter('error')\n"  # a DecompressionBombWarning would fail here
        "try:\n"
        "    nv12kit.load_image(sys.argv[1])\n"
        "except nv12kit.NV12KitError as exc:\n"
        "    print('REFUSED', exc)\n"
    )
    peak, out = _peak_mib(code, str(path))
    assert out.startswith("REFUSED") and "12000x12000" in out and "max_pixels" in out, out
    assert peak < PEAK_MIB, f"peak {peak:.0f} MiB"


def test_the_pixel_budget_names_the_option_and_can_be_raised(tmp_path):
    path = tmp_path / "p.png"
    Image.new("RGB", (100, 80)).save(path)
    with pytest.raises(InputError, match="max_pixels") as info:
        nv12kit.load_image(path, max_pixels=7999)
    assert "100x80" in str(info.value)
    assert nv12kit.load_image(path, max_pixels=8000).shape == (80, 100, 3)
    assert nv12kit.load_image(path, max_pixels=None).shape == (80, 100, 3)
    with pytest.raises(InputError, match="max_pixels"):
        nv12kit.load_image(path, max_pixels=-1)


def test_pillows_bomb_warning_never_reaches_the_user(tmp_path, monkeypatch):
    path = tmp_path / "p.png"
    Image.new("L", (40, 40)).save(path)  # 1600 px: above Pillow's (lowered) warning limit, under its error limit
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert nv12kit.load_image(path).shape == (40, 40, 3)
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]


def test_pillows_bomb_error_becomes_our_error_naming_both_limits(tmp_path, monkeypatch):
    path = tmp_path / "p.png"
    Image.new("L", (50, 50)).save(path)  # 2500 px: above twice Pillow's lowered limit
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(InputError, match="max_pixels") as info:
        nv12kit.load_image(path)
    assert "PIL.Image.MAX_IMAGE_PIXELS" in str(info.value)


# ---------------------------------------------------------------------------
# tiny frames
# ---------------------------------------------------------------------------


def _tiled(period: int, n: int) -> bytes:
    return (np.tile(np.arange(period) * 37 % 256, n)[:n]).astype(np.uint8).tobytes()


@pytest.mark.parametrize("seed", [0, 5, 6])
def test_diagnose_on_a_random_4x4_frame_does_not_raise_index_error(seed):
    data = np.random.default_rng(seed).integers(0, 256, 24, dtype=np.uint8).tobytes()
    result = diagnose(None, data, width=4, height=4)
    assert result.hypotheses and all(h.issues for h in result.hypotheses)


@pytest.mark.parametrize(("period", "width", "height"), [(3, 4, 4), (5, 8, 8), (9, 16, 6)])
def test_diagnose_on_a_repetitive_small_frame_keeps_the_size_stride(period, width, height):
    # bytes that repeat with a period above the width look like row padding, but no padded frame fits the size
    result = diagnose(None, _tiled(period, width * height * 3 // 2), width=width, height=height)
    assert result.hypotheses and all(h.issues for h in result.hypotheses)
    assert "stride" not in result.hypotheses[0].issues


# ----------------------------------------------------------------------------
# the pixel budget on the command line, and models read only from regular files
# ----------------------------------------------------------------------------
def test_cli_max_pixels_refuses_and_admits_images(tmp_path, capsys):
    image = tmp_path / "frame.png"
    Image.new("RGB", (100, 80)).save(image)
    assert main(["convert", str(image), str(tmp_path / "a.nv12"), "--max-pixels", "5000"]) == 2
    err = capsys.readouterr().err
    assert "pixel budget" in err and "--max-pixels" in err and err.count("\n") == 1
    assert not (tmp_path / "a.nv12").exists()
    assert main(["convert", str(image), str(tmp_path / "a.nv12"), "--max-pixels", "8000"]) == 0
    assert (tmp_path / "a.nv12").stat().st_size == 100 * 80 * 3 // 2


def test_pixel_budget_applies_inside_the_block_only(tmp_path):
    from nv12kit._io import current_pixel_budget, pixel_budget

    image = tmp_path / "frame.png"
    Image.new("RGB", (100, 80)).save(image)
    default = current_pixel_budget()
    with pixel_budget(1000):
        with pytest.raises(InputError, match="pixel budget"):
            nv12kit.load_image(image)
        assert nv12kit.load_image(image, max_pixels=None).shape == (80, 100, 3)  # an explicit budget wins
    assert current_pixel_budget() == default
    assert nv12kit.load_image(image).shape == (80, 100, 3)


def test_a_fifo_named_like_a_model_is_refused_not_read(tmp_path):
    fifo = tmp_path / "model.onnx"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="FIFO"):
        nv12kit.load_model(fifo)
    assert main(["triage", "--model", str(fifo), "--image", str(tmp_path / "x.png")]) == 2


def test_an_empty_npy_with_unindexable_dimensions_is_an_input_error(tmp_path):
    # Found by the fuzz test: shape (0, 2**40, 2**40) holds no data, so the size checks pass, but numpy
    # refuses the reshape with a bare ValueError.
    import struct

    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 1099511627776, 1099511627776), }"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    path = tmp_path / "empty.npy"
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1"))
    with pytest.raises(nv12kit.InputError, match="cannot be indexed"):
        nv12kit._io.read_npy(path)
