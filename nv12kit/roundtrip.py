"""How much an RGB -> NV12 -> RGB round trip loses, per convention, and what mismatches cost.

An honest round trip (encode and decode with the same convention) loses a
little: mostly chroma subsampling.  A mismatch between encoder and decoder
(full against limited range, U/V swapped, ...) loses far more.  This module
measures both so that the numbers in a report can be compared with the
honest baseline.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .conventions import Convention, get_convention
from .convert import as_rgb_array, nv12_to_rgb, rgb_to_nv12
from .yuv import NV12Frame

__all__ = ["RoundTrip", "image_error", "roundtrip", "roundtrip_table", "MISMATCHES", "format_table"]


@dataclass(frozen=True)
class RoundTrip:
    """Error of one encode/decode pair on one image.

    Attributes
    ----------
    image : str
        Name of the image.
    encoder, decoder : str
        Conventions (or a description of the mismatch) used to encode and decode.
    psnr_db : float
        Peak signal-to-noise ratio against the source, in dB (``inf`` if identical).
    mae : float
        Mean absolute error in 0-255 levels over all pixels and channels.
    max_abs : int
        Largest absolute error.
    """

    image: str
    encoder: str
    decoder: str
    psnr_db: float
    mae: float
    max_abs: int

    def to_dict(self) -> dict[str, object]:
        """The fields as a JSON-friendly dict (``inf`` PSNR becomes ``None``)."""
        out = asdict(self)
        if math.isinf(self.psnr_db):
            out["psnr_db"] = None
        return out


def image_error(reference: np.ndarray, test: np.ndarray) -> tuple[float, float, int]:
    """PSNR (dB), mean absolute error and max absolute error between two uint8 images.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((2, 2, 3), np.uint8); b = a.copy(); b[0, 0, 0] = 10
    >>> psnr, mae, mx = image_error(a, b)
    >>> round(psnr, 2), round(mae, 3), mx
    (38.92, 0.833, 10)
    """
    diff = reference.astype(np.int16) - test.astype(np.int16)
    mse = float(np.mean(diff.astype(np.float64) ** 2))
    psnr = math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)
    return psnr, float(np.mean(np.abs(diff))), int(np.max(np.abs(diff)))


#: Mismatches worth knowing the cost of: (label, encoder, decoder, swap U/V, swap RGB/BGR).
MISMATCHES: tuple[tuple[str, str, str, bool, bool], ...] = (
    ("limited range read as full", "opencv", "horizon", False, False),
    ("full range read as limited", "bt601-full", "bt601-limited", False, False),
    ("BT.709 read as BT.601", "bt709-full", "bt601-full", False, False),
    ("NV21 read as NV12", "bt601-full", "bt601-full", True, False),
    ("RGB/BGR swapped", "bt601-full", "bt601-full", False, True),
)


def roundtrip(
    image: np.ndarray,
    encoder: str | Convention,
    decoder: str | Convention | None = None,
    *,
    name: str = "image",
    swap_uv: bool = False,
    swap_rgb: bool = False,
) -> RoundTrip:
    """Encode with one convention, decode with another (default: the same), and measure.

    Parameters
    ----------
    image : (H, W, 3) uint8 ndarray
        Even-sized RGB image.
    encoder, decoder : str or Convention
        Conventions of the two ends.
    name : str
        Label of the image in the result.
    swap_uv : bool
        Read the frame as NV21 (U and V exchanged) before decoding.
    swap_rgb : bool
        Decode to BGR and treat it as RGB (a channel-order bug).
    """
    enc = get_convention(encoder)
    dec = enc if decoder is None else get_convention(decoder)
    rgb = as_rgb_array(image)
    frame = rgb_to_nv12(rgb, convention=enc)
    if swap_uv:
        frame = NV12Frame(frame.y, frame.uv[..., ::-1])
    back = nv12_to_rgb(frame, convention=dec, order="bgr" if swap_rgb else "rgb")
    psnr, mae, max_abs = image_error(rgb, back)
    return RoundTrip(name, enc.name, dec.name, psnr, mae, max_abs)


def roundtrip_table(
    images: Iterable[tuple[str, np.ndarray]],
    conventions: Sequence[str | Convention],
    *,
    mismatches: bool = True,
) -> list[RoundTrip]:
    """Honest round trips for each convention, then the usual mismatches, on each image.

    Mismatch rows carry the mismatch's label as their ``decoder``.
    """
    rows: list[RoundTrip] = []
    for name, rgb in images:
        for conv in conventions:
            rows.append(roundtrip(rgb, conv, name=name))
        if mismatches:
            for label, enc, dec, swap_uv, swap_rgb in MISMATCHES:
                row = roundtrip(rgb, enc, dec, name=name, swap_uv=swap_uv, swap_rgb=swap_rgb)
                rows.append(RoundTrip(row.image, row.encoder, label, row.psnr_db, row.mae, row.max_abs))
    return rows


def format_table(rows: Sequence[RoundTrip], *, baseline: str = "bt601-full", html_output: bool = False) -> str:
    """A text (or HTML) table; ``x honest`` compares each MAE with ``baseline``'s on the same image."""
    base = {r.image: r.mae for r in rows if r.encoder == baseline and r.decoder == baseline}
    header = ("image", "encoder", "decoder", "PSNR dB", "MAE", "max", "x honest")
    body = []
    for r in rows:
        ratio = r.mae / base[r.image] if base.get(r.image) else float("nan")
        body.append(
            (
                r.image,
                r.encoder,
                r.decoder,
                "inf" if math.isinf(r.psnr_db) else f"{r.psnr_db:.2f}",
                f"{r.mae:.3f}",
                str(r.max_abs),
                f"{ratio:.1f}" if not math.isnan(ratio) else "-",
            )
        )
    if html_output:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        trs = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in body)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{trs}</tbody></table>"
    widths = [max(len(h), *(len(row[i]) for row in body)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in body]
    return "\n".join(lines)
