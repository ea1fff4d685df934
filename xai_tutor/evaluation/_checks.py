"""Input checks shared by the metrics: one saliency map and a stack of instance masks."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..explanation import one_map

__all__ = ["saliency_map", "instance_masks"]


def saliency_map(saliency: Any) -> np.ndarray:
    """``saliency`` as a float64 array ``(H, W)``, non-negative and finite, or a clear error.

    Accepts a tensor or array ``(H, W)`` or ``(1, H, W)``, or an Explanation of one image.
    """
    arr = one_map(saliency)
    if arr.min() < 0:
        raise ValueError(
            "saliency must be non-negative (e.g. Explanation.saliency); got a minimum of "
            f"{arr.min():.3g}"
        )
    return arr


def instance_masks(masks: Any, shape: tuple[int, int]) -> np.ndarray:
    """``masks`` as a bool array ``(N, H, W)`` matching ``shape``; one mask -> N=1."""
    if isinstance(masks, torch.Tensor):
        masks = masks.detach().cpu().numpy()
    if not isinstance(masks, np.ndarray):
        raise TypeError(
            f"masks must be a bool array (N, H, W) such as Scene.masks; got {type(masks).__name__}"
        )
    if masks.ndim == 2:
        masks = masks[None]
    if masks.ndim != 3 or tuple(masks.shape[1:]) != tuple(shape):
        raise ValueError(
            f"masks must have shape (N, {shape[0]}, {shape[1]}) to match the saliency map; got "
            f"{tuple(masks.shape)}"
        )
    return masks.astype(bool)
