"""One image through the NV12 round trip under a convention: its planes, the decoded image and the error."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import plots
from .._util import source_label
from ..conventions import Convention, get_convention
from ..convert import nv12_to_rgb, rgb_to_nv12
from ..images import prepare_image
from ..roundtrip import image_error
from ..yuv import NV12Frame
from .common import escape, figure_img_html, figure_row_html, pixel_scale, pixels_png

__all__ = ["PlaneView", "plane_view_figures"]


@dataclass
class PlaneView:
    """One image through the NV12 round trip: its planes, the decoded image and the error.

    Attributes
    ----------
    name : str
    convention : str
    rgb : numpy.ndarray
        The image as encoded, (H, W, 3) uint8.
    frame : NV12Frame
    decoded : numpy.ndarray
        ``nv12_to_rgb(frame)`` under the same convention.
    psnr, mae : float
        Of ``decoded`` against ``rgb``, over all pixels and channels.
    max_error : int
        Largest absolute error in levels.
    planes, error : matplotlib.figure.Figure
        :func:`nv12kit.plots.plot_planes` and :func:`nv12kit.plots.plot_roundtrip_error`.
    notes : list of str
    """

    name: str
    convention: str
    rgb: np.ndarray = field(repr=False)
    frame: NV12Frame = field(repr=False)
    decoded: np.ndarray = field(repr=False)
    psnr: float
    mae: float
    max_error: int
    planes: Any = field(repr=False)
    error: Any = field(repr=False)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line with the round trip's numbers."""
        psnr = "inf" if math.isinf(self.psnr) else f"{self.psnr:.2f}"
        h, w = self.rgb.shape[:2]
        return (f"{self.name} ({w}x{h}) through {self.convention}: PSNR {psnr} dB, MAE {self.mae:.3f}, "
                f"max error {self.max_error} levels")

    @property
    def pixel_scale(self) -> int:
        """The integer factor :meth:`pixels_png` enlarges by: 1 for big frames, up to 8 for small ones."""
        return pixel_scale(*self.rgb.shape[:2])

    def pixels_png(self) -> bytes:
        """The image and its round trip side by side, at their own pixels (nearest neighbour, integer scale).

        Show it at its own size: the round trip's colour bleeding is then visible pixel by pixel, not
        smoothed away by resampling.
        """
        return pixels_png(self.rgb, self.decoded, scale=self.pixel_scale)

    def _repr_html_(self) -> str:
        import base64

        notes = "".join(f"<li>{escape(n)}</li>" for n in self.notes)
        png = self.pixels_png()
        width = int.from_bytes(png[16:20], "big")
        pixels = (f"<img alt='{escape(self.name)} and its round trip' src='data:image/png;base64,"
                  f"{base64.b64encode(png).decode('ascii')}' style='width:{width}px;max-width:100%;height:auto;"
                  "image-rendering:pixelated'>")
        return (f"<div class='nv12kit-planes'><p>{escape(self.summary())}</p>"
                + (f"<ul>{notes}</ul>" if notes else "")
                + f"<p>left: the image; right: after the round trip ({self.pixel_scale}× pixels)</p>" + pixels
                + figure_row_html(figure_img_html(self.planes, f"Y, U and V planes of {self.name}"),
                                  figure_img_html(self.error, f"round-trip error of {self.name}")) + "</div>")


def plane_view_figures(
    image: Any,
    *,
    convention: str | Convention = "horizon",
    size: tuple[int, int] | None = None,
) -> PlaneView:
    """Encode an image to NV12, decode it back, and draw the planes and the error.

    Parameters
    ----------
    image : path, PIL image or (H, W, 3) uint8 array
    convention : str or Convention, optional
        Used both to encode and to decode (an honest round trip).
    size : (int, int), optional
        Resize to this (height, width) first, e.g. the model's input size;
        otherwise odd sides are cropped to even.

    Returns
    -------
    PlaneView

    Raises
    ------
    InputError, ConventionError
        An unreadable image or an unknown convention.

    Examples
    --------
    >>> import numpy as np
    >>> view = plane_view_figures(np.full((8, 8, 3), 200, np.uint8))
    >>> view.max_error, view.frame.shape, len(view.planes.axes) >= 3
    (0, (8, 8), True)
    """
    conv = get_convention(convention)
    rgb, notes, _ = prepare_image(image, size)
    frame = rgb_to_nv12(rgb, convention=conv)
    decoded = nv12_to_rgb(frame, convention=conv)
    psnr, mae, max_error = image_error(rgb, decoded)
    name = source_label(image)
    planes = plots.plot_planes(frame, title=f"NV12 planes of {name} ({conv.name})")
    error = plots.plot_roundtrip_error(rgb, decoded, title=f"RGB → NV12 → RGB error of {name} ({conv.name})")
    return PlaneView(name, conv.name, rgb, frame, decoded, psnr, mae, max_error, planes, error, notes)
