"""The result every method returns, and the one way raw attributions become saliency maps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .numerics import safe_divide

__all__ = ["Explanation", "normalise_per_image", "upsample_map", "pixel_map", "one_map"]


def one_map(saliency: Any) -> np.ndarray:
    """One saliency map as a finite float64 array ``(H, W)``, or a clear error.

    Accepts a tensor or array ``(H, W)`` or ``(1, H, W)``, or an :class:`Explanation` of one
    image (its ``saliency``). The values are not changed (no scaling, no sign check).

    >>> one_map(torch.ones(1, 2, 3)).shape
    (2, 3)
    """
    if hasattr(saliency, "saliency") and hasattr(saliency, "method"):  # an Explanation
        saliency = saliency.saliency
    if isinstance(saliency, torch.Tensor):
        arr = saliency.detach().cpu().to(torch.float64).numpy()
    elif isinstance(saliency, np.ndarray):
        arr = saliency.astype(np.float64)
    else:
        raise TypeError(
            f"saliency must be a torch.Tensor or numpy array (H, W); got {type(saliency).__name__}"
        )
    while arr.ndim > 2 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2:
        raise ValueError(
            f"saliency must be one map of shape (H, W) (or (1, H, W)); got {tuple(saliency.shape)}"
        )
    if not np.isfinite(arr).all():
        raise ValueError("saliency contains NaN or infinite values")
    return arr


def normalise_per_image(maps: torch.Tensor) -> torch.Tensor:
    """Min-max scale each map of a ``(B, H, W)`` batch to ``[0, 1]``.

    ``s = (m - min m) / (max m - min m)``; a constant map (all zeros included) becomes all zeros,
    never NaN.
    """
    flat = maps.reshape(maps.shape[0], -1)
    low = flat.min(dim=1, keepdim=True).values
    span = flat.max(dim=1, keepdim=True).values - low
    return safe_divide(flat - low, span).reshape(maps.shape)


def upsample_map(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of ``(B, h, w)`` maps to ``size = (H, W)`` (``align_corners=False``)."""
    if tuple(maps.shape[-2:]) == tuple(size):
        return maps
    return F.interpolate(maps[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]


def pixel_map(attribution: torch.Tensor, reduce: str = "abs_max") -> torch.Tensor:
    """Collapse a ``(B, 3, H, W)`` pixel attribution to ``(B, H, W)``, non-negative.

    ``abs_max``: ``max_c |a_c|`` (Simonyan et al. 2013); ``abs_sum``: ``sum_c |a_c|``;
    ``positive_sum``: ``max(sum_c a_c, 0)`` (LRP, where the sign carries meaning).
    """
    if reduce == "abs_max":
        return attribution.abs().amax(dim=1)
    if reduce == "abs_sum":
        return attribution.abs().sum(dim=1)
    if reduce == "positive_sum":
        return attribution.sum(dim=1).clamp(min=0)
    raise ValueError(f"unknown reduce {reduce!r}; use 'abs_max', 'abs_sum' or 'positive_sum'")


@dataclass
class Explanation:
    """An explanation of a batch of ``B`` images.

    Attributes:
        attribution: the method's raw output, unnormalised and signed as the method defines it:
            ``(B, h, w)`` at feature-map resolution for the CAM family (after the method's ReLU
            where it applies it there; Score-CAM applies it after upsampling, see
            :mod:`xai_tutor.methods.cam.base`), ``(B, H, W)`` for FullGrad, ``(B, 3, H, W)`` for
            pixel methods.
        saliency: ``(B, H, W)`` at input resolution, non-negative, min-max scaled per image.
        target: ``(B,)`` class indices that were explained.
        score: ``(B,)`` the target logits of the unmodified forward pass.
        method: registry name of the method.
        layer: dotted name of the layer used (``None`` for pixel methods).
        params: the method's parameters, defaults included.
    """

    attribution: torch.Tensor
    saliency: torch.Tensor
    target: torch.Tensor
    score: torch.Tensor
    method: str
    layer: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.target.shape[0])

    def numpy(self) -> Any:
        """The saliency maps as a NumPy array ``(B, H, W)`` for plotting."""
        return self.saliency.detach().cpu().numpy()
