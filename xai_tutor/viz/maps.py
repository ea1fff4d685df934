"""From what a method returns to the map a figure draws: input checks, robust scaling, signs.

* :func:`as_image`, :func:`as_saliency`: the image as ``uint8 (H, W, 3)``, a saliency in
  ``[0, 1]`` (min-max scaled when outside, resized bilinearly).
* :func:`robust_scale`: divide by the 99th percentile instead of the maximum, clip.
* :func:`signed_map`: a raw pixel attribution summed over colour channels, sign kept.
* :func:`display_map`: the policy figures follow (signed / robust / linear per method).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..explanation import one_map
from ..methods import METHODS
from .names import method_key

__all__ = ["ROBUST_PERCENTILE", "as_image", "as_saliency", "display_map", "robust_scale",
           "signed_map"]

ROBUST_PERCENTILE = 99.0


def as_image(image: Any) -> np.ndarray:
    """Return ``image`` as a ``uint8`` array ``(H, W, 3)``.

    Accepts a PIL image, a ``uint8`` array ``(H, W, 3)`` or ``(H, W)`` (grey), a float array in
    ``[0, 1]``, or a float tensor ``(3, H, W)`` / ``(1, 3, H, W)`` in ``[0, 1]`` (use
    :func:`xai_tutor.data.denormalise` on a normalised model input first).
    """
    if hasattr(image, "convert") and hasattr(image, "size"):  # PIL image
        return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()
    if isinstance(image, torch.Tensor):
        t = image.detach().cpu()
        if t.dim() == 4 and t.shape[0] == 1:
            t = t[0]
        if t.dim() == 3 and t.shape[0] in (1, 3):
            t = t.permute(1, 2, 0)
        image = t.numpy()
    if not isinstance(image, np.ndarray):
        raise TypeError(
            "image must be a PIL image, a uint8 array (H, W, 3) or a float tensor (3, H, W) in "
            f"[0, 1]; got {type(image).__name__}"
        )
    arr = image
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (1, 3):
        raise ValueError(f"image must have shape (H, W, 3) or (H, W); got {image.shape}")
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    if arr.dtype == np.uint8:
        return arr.copy()
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise ValueError("image contains NaN or infinite values")
        if arr.min() < 0 or arr.max() > 1:
            raise ValueError(
                "a float image must lie in [0, 1]; for a normalised model input use "
                "xai_tutor.data.denormalise first"
            )
        return np.round(arr * 255).astype(np.uint8)
    raise TypeError(f"image dtype must be uint8 or float; got {arr.dtype}")


def as_saliency(saliency: Any, size: tuple[int, int] | None = None) -> np.ndarray:
    """Return ``saliency`` as a float64 array ``(H, W)`` in ``[0, 1]``, resized to ``size``.

    A ``(1, H, W)`` batch of one is squeezed. Values already in ``[0, 1]`` are kept as they are;
    otherwise the map is min-max scaled (constant -> zeros). Resizing (when ``size = (H, W)``
    differs) is bilinear with ``align_corners=False``.
    """
    arr = one_map(saliency)
    low, high = float(arr.min()), float(arr.max())
    if low < 0 or high > 1:
        arr = (arr - low) / (high - low) if high > low else np.zeros_like(arr)
    return _resize(arr, size).clip(0.0, 1.0)


def _array(values: Any, what: str) -> np.ndarray:
    if hasattr(values, "attribution") and hasattr(values, "method"):  # an Explanation
        values = values.attribution[0]
    if isinstance(values, torch.Tensor):
        arr = values.detach().cpu().to(torch.float64).numpy()
    elif isinstance(values, np.ndarray):
        arr = values.astype(np.float64)
    else:
        raise TypeError(
            f"{what} must be a torch.Tensor or numpy array; got {type(values).__name__}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} contains NaN or infinite values")
    return arr


def _resize(arr: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    if size is None or tuple(arr.shape) == tuple(size):
        return arr
    t = torch.from_numpy(np.ascontiguousarray(arr))[None, None]
    return F.interpolate(t, size=tuple(size), mode="bilinear", align_corners=False)[0, 0].numpy()


def _blur(arr: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur (``sigma`` in pixels, kernel radius ``3 sigma``, replicate edges)."""
    if not sigma or sigma <= 0:
        return arr
    half = max(1, int(np.ceil(3 * sigma)))
    t = torch.arange(-half, half + 1, dtype=torch.float64)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    k = k / k.sum()
    x = torch.from_numpy(np.ascontiguousarray(arr))[None, None]
    x = F.conv2d(F.pad(x, (half, half, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
    x = F.conv2d(F.pad(x, (0, 0, half, half), mode="replicate"), k.view(1, 1, -1, 1))
    return x[0, 0].numpy()


def robust_scale(values: Any, percentile: float = ROBUST_PERCENTILE,
                 signed: bool = False) -> np.ndarray:
    """Scale a map by a high percentile instead of its maximum, clipping what lies above.

    Non-negative map: ``clip(s / q, 0, 1)`` with ``q = percentile(s)``. Signed map
    (``signed=True``): ``clip(a / q, -1, 1)`` with ``q = percentile(|a|)``, so 0 stays 0 and the
    scale is symmetric (``vmin = -vmax``). When ``q = 0`` (a map that is 0 on all but a few
    pixels) the maximum is used instead; an all-zero map stays 0.
    One outlier pixel changes ``q`` by at most one rank: it cannot wash out the rest of the map.

    Example::

        >>> import numpy as np
        >>> s = np.linspace(0, 1, 101); s[-1] = 1000.0  # one outlier
        >>> robust_scale(s, 99)[50].round(2), robust_scale(s, 99)[-1]
        (np.float64(0.51), np.float64(1.0))
    """
    if not 0.0 < float(percentile) <= 100.0:
        raise ValueError(f"percentile must lie in (0, 100]; got {percentile}")
    arr = _array(values, "the map")
    if signed:
        mag = np.abs(arr)
        q = float(np.percentile(mag, percentile))
        q = q if q > 0 else float(mag.max())
        return np.clip(arr / q, -1.0, 1.0) if q > 0 else np.zeros_like(arr)
    if arr.size and arr.min() < 0:
        raise ValueError(
            "robust_scale got negative values; pass signed=True for a signed map (LRP, gradient) "
            "or a non-negative saliency"
        )
    q = float(np.percentile(arr, percentile)) if arr.size else 0.0
    q = q if q > 0 else float(arr.max(initial=0.0))
    return np.clip(arr / q, 0.0, 1.0) if q > 0 else np.zeros_like(arr)


def signed_map(attribution: Any) -> np.ndarray:
    """A signed map ``(H, W)`` from a raw attribution: the sum over colour channels.

    Accepts an Explanation (its first ``attribution``), or a tensor/array ``(3, H, W)``,
    ``(1, 3, H, W)``, ``(1, H, W)`` or ``(H, W)``. For LRP the channel sum is the relevance of the
    pixel (conservation holds per pixel); for the gradient it is the directional derivative along
    ``(1, 1, 1)``. The sign is kept.
    """
    arr = _array(attribution, "attribution")
    while arr.ndim > 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim == 3:
        arr = arr.sum(axis=0)
    if arr.ndim != 2:
        raise ValueError(
            f"attribution must be (3, H, W), (1, 3, H, W), (1, H, W) or (H, W); got {arr.shape}"
        )
    return arr


def display_map(value: Any, method: str | None = None, signed: bool | None = None,
                percentile: float = ROBUST_PERCENTILE, blur: float | None = None,
                size: tuple[int, int] | None = None) -> tuple[np.ndarray, str]:
    """The map a figure should draw for ``value``, and how it is scaled.

    Returns ``(map, kind)`` with ``kind`` one of

    * ``"signed"``: a signed map in ``[-1, 1]`` (:func:`signed_map`, robust-scaled, centred at 0),
      for an Explanation of a method registered with ``signed=True`` (unless ``signed=False``) or
      for an array with negative values;
    * ``"robust"``: a non-negative map robust-scaled to ``[0, 1]``, for methods whose map lives
      on single pixels (registered ``resolution="pixel"``), optionally blurred by a Gaussian of
      ``blur`` pixels first;
    * ``"linear"``: the saliency as :func:`as_saliency` gives it (CAM family).

    ``method`` (a registry name or row label) defaults to the Explanation's method; ``size``
    resizes the map (bilinear) before scaling.
    """
    key = method_key(method) if method is not None else None
    is_expl = hasattr(value, "saliency") and hasattr(value, "method")
    if is_expl and key is None:
        key = method_key(value.method)
    if signed is None:
        if is_expl:
            signed = key in METHODS and METHODS[key].signed
        else:
            signed = float(_array(value, "saliency").min(initial=0.0)) < 0
    if signed:
        a = _resize(signed_map(value), size)
        return robust_scale(_blur(a, blur or 0.0), percentile, signed=True), "signed"
    sal = value.saliency if is_expl else value
    if key in METHODS and METHODS[key].resolution == "pixel":
        arr = _array(sal, "saliency")
        while arr.ndim > 2 and arr.shape[0] == 1:
            arr = arr[0]
        if arr.ndim == 3:  # a raw pixel attribution (3, H, W): its magnitude
            arr = np.abs(arr).max(axis=0)
        arr = np.abs(_resize(arr, size))
        return robust_scale(_blur(arr, blur or 0.0), percentile), "robust"
    return as_saliency(sal, size), "linear"
