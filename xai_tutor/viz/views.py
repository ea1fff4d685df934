"""The paper's three representations of a saliency map (Section 4.1), and a signed heatmap.

Each returns ``uint8 (H, W, 3)``: :func:`heatmap` (``"jet"`` blended over the image),
:func:`opacity` (the image through a white frame), :func:`edges` (Sobel edges, dark where
important), :func:`signed_heatmap` (``"bwr"`` centred at 0 over the grey image). ``scale="robust"``
divides by the map's 99th percentile first (:func:`xai_tutor.viz.maps.robust_scale`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .maps import ROBUST_PERCENTILE, _resize, as_image, as_saliency, robust_scale, signed_map

__all__ = ["REPRESENTATIONS", "edge_strength", "edges", "heatmap", "opacity", "projection_image",
           "render", "signed_heatmap"]

REPRESENTATIONS = ("heatmap", "opacity", "edges")


def _scaled(saliency: Any, size: tuple[int, int], scale: str | None,
            percentile: float) -> np.ndarray:
    if scale is None or scale == "linear":
        return as_saliency(saliency, size)
    if scale == "robust":
        return robust_scale(as_saliency(saliency, size), percentile)
    raise ValueError(f"scale must be None, 'linear' or 'robust'; got {scale!r}")


def _colour_map(name: str) -> Any:
    import matplotlib

    return matplotlib.colormaps[name]


def heatmap(image: Any, saliency: Any, alpha: float = 0.5, cmap: str = "jet",
            scale: str | None = None, percentile: float = ROBUST_PERCENTILE) -> np.ndarray:
    """Blend a warm/cold colour map of ``saliency`` over ``image``.

    ``pixel = (1 - alpha) * image + alpha * cmap(s)``, with ``cmap = "jet"``: ``s = 1`` is red
    (important), ``s = 0`` is dark blue (indecisive). ``scale="robust"`` first divides by the
    ``percentile`` of the map (:func:`robust_scale`). Returns ``uint8 (H, W, 3)``.

    Example::

        >>> import numpy as np
        >>> out = heatmap(np.zeros((2, 2, 3), np.uint8), np.array([[0.0, 1.0], [0.5, 0.0]]))
        >>> out.shape, out.dtype.name
        ((2, 2, 3), 'uint8')
    """
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1]; got {alpha}")
    img = as_image(image).astype(np.float64)
    s = _scaled(saliency, img.shape[:2], scale, percentile)
    colours = _colour_map(cmap)(s)[..., :3] * 255.0
    out = (1.0 - alpha) * img + alpha * colours
    return np.round(out).clip(0, 255).astype(np.uint8)


def opacity(image: Any, saliency: Any, scale: str | None = None,
            percentile: float = ROBUST_PERCENTILE) -> np.ndarray:
    """Show the image through a white frame whose opacity is the importance.

    ``pixel = image * s + 255 * (1 - s)``: where ``s = 1`` the image shows fully, where ``s = 0``
    the frame stays blank. ``scale="robust"``: see :func:`robust_scale` (use it for pixel
    methods, whose min-max scaled maps leave the frame nearly blank). Returns ``uint8 (H, W, 3)``.
    """
    img = as_image(image).astype(np.float64)
    s = _scaled(saliency, img.shape[:2], scale, percentile)[..., None]
    out = img * s + 255.0 * (1.0 - s)
    return np.round(out).clip(0, 255).astype(np.uint8)


def edge_strength(image: Any) -> np.ndarray:
    """Sobel edge strength of the image in ``[0, 1]``, float64 ``(H, W)``.

    ``grey = 0.299 R + 0.587 G + 0.114 B``; ``g = sqrt(Gx^2 + Gy^2)`` with the 3x3 Sobel kernels
    (replicate padding); ``e = min(g / q, 1)`` where ``q`` is the 99th percentile of ``g`` (so a few
    very strong edges do not wash out the others). A flat image gives ``e = 0`` everywhere.
    """
    img = as_image(image).astype(np.float64) / 255.0
    grey = img @ np.array([0.299, 0.587, 0.114])
    t = torch.from_numpy(grey)[None, None]
    t = F.pad(t, (1, 1, 1, 1), mode="replicate")
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=torch.float64)
    kernels = torch.stack([kx, kx.T])[:, None]
    g = F.conv2d(t, kernels)[0]
    mag = torch.sqrt(g[0] ** 2 + g[1] ** 2).numpy()
    q = float(np.percentile(mag, 99))
    if q <= 0:
        q = float(mag.max())
    if q <= 0:
        return np.zeros_like(mag)
    return np.minimum(mag / q, 1.0)


def edges(image: Any, saliency: Any, scale: str | None = None,
          percentile: float = ROBUST_PERCENTILE) -> np.ndarray:
    """Edges of the image, drawn dark on white where the saliency is high.

    ``pixel = 255 * (1 - e * s)`` on all three channels, with ``e`` from :func:`edge_strength`.
    An edge shows at full darkness only where it is strong *and* the map says important.
    ``scale="robust"``: see :func:`robust_scale`. Returns ``uint8 (H, W, 3)``.
    """
    img = as_image(image)
    s = _scaled(saliency, img.shape[:2], scale, percentile)
    e = edge_strength(img)
    grey = 255.0 * (1.0 - e * s)
    out = np.repeat(grey[..., None], 3, axis=2)
    return np.round(out).clip(0, 255).astype(np.uint8)


def render(image: Any, saliency: Any, representation: str = "heatmap", **kwargs: Any) -> np.ndarray:
    """Dispatch to :func:`heatmap`, :func:`opacity` or :func:`edges` by name."""
    if representation == "heatmap":
        return heatmap(image, saliency, **kwargs)
    if representation == "opacity":
        return opacity(image, saliency, **kwargs)
    if representation == "edges":
        return edges(image, saliency, **kwargs)
    raise ValueError(
        f"unknown representation {representation!r}; use one of {', '.join(REPRESENTATIONS)}"
    )


def signed_heatmap(image: Any, attribution: Any, alpha: float = 0.75, cmap: str = "bwr",
                   percentile: float = ROBUST_PERCENTILE) -> np.ndarray:
    """A signed map drawn with a diverging colour map centred at 0, over the grey image.

    ``a = robust_scale(signed_map(attribution), percentile, signed=True)`` in ``[-1, 1]``;
    ``pixel = (1 - alpha) * grey + alpha * cmap((a + 1) / 2)``: with ``"bwr"`` positive relevance
    is red, negative blue and 0 white, whatever the map's own range (``vmin = -vmax``).
    Returns ``uint8 (H, W, 3)``.
    """
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1]; got {alpha}")
    img = as_image(image).astype(np.float64)
    a = robust_scale(_resize(signed_map(attribution), img.shape[:2]), percentile, signed=True)
    grey = (img @ np.array([0.299, 0.587, 0.114]))[..., None]
    colours = _colour_map(cmap)((a + 1.0) / 2.0)[..., :3] * 255.0
    out = (1.0 - alpha) * grey + alpha * colours
    return np.round(out).clip(0, 255).astype(np.uint8)


def projection_image(projection: Any, percentile: float = ROBUST_PERCENTILE) -> np.ndarray:
    """A signed projection back to pixel space (DeconvNet, a gradient) shown as a picture.

    ``projection`` is ``(3, H, W)`` or ``(1, 3, H, W)`` (tensor or array). Each colour channel
    becomes ``0.5 + 0.5 * clip(p / q, -1, 1)`` with ``q`` the ``percentile`` of ``|p|`` over the
    whole projection: grey is 0, brighter is positive, darker negative, and ``q`` (not the
    maximum) sets the scale, so that a few extreme pixels cannot fade everything else to grey.
    Returns float ``(H, W, 3)`` in ``[0, 1]``.

    Example::

        >>> import numpy as np
        >>> p = np.zeros((3, 4, 4)); p[:, 1, 1] = 1.0; p[:, 0, 0] = 100.0  # one outlier
        >>> pic = projection_image(p, percentile=90)
        >>> pic[2, 2].tolist(), pic[1, 1].round(2).tolist(), pic[0, 0].tolist()
        ([0.5, 0.5, 0.5], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0])
    """
    arr = projection.detach().cpu().double().numpy() if isinstance(projection, torch.Tensor) \
        else np.asarray(projection, dtype=np.float64)
    while arr.ndim > 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 3 or arr.shape[0] != 3:
        raise ValueError(f"projection must be (3, H, W) or (1, 3, H, W); got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("projection contains NaN or infinite values")
    scaled = robust_scale(arr, percentile, signed=True)
    return (0.5 + 0.5 * scaled).transpose(1, 2, 0)
