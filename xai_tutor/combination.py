"""Combining explanations (paper, Section 4.3: "combining FullGrad ... with SmoothGrad++").

Every map is first min-max scaled per image to ``[0, 1]`` (``n_i``), so that methods with
different units weigh the same. Then, with weights ``w_i`` (default equal, scaled to sum to 1):

* ``"mean"``: ``sum_i w_i n_i`` (OR-like: a pixel counts if some method likes it).
* ``"product"``: ``prod_i n_i``, min-max renormalised (AND: a pixel counts only if *every* method
  likes it, as Guided Grad-CAM multiplies guided backprop by Grad-CAM). Weights are ignored.
* ``"geometric"``: ``prod_i n_i ** w_i``, min-max renormalised (a weighted, softer AND).
* ``"max"``: ``max_i n_i`` (pure OR). Weights are ignored.

The result is min-max scaled per image again (a constant result is all zeros), has the inputs'
shape ``(H, W)`` or ``(B, H, W)``, and the type of the first input (tensor or array).

Example::

    >>> import numpy as np
    >>> a = np.array([[0.0, 1.0], [1.0, 0.0]]); b = np.array([[0.0, 1.0], [0.0, 1.0]])
    >>> combine([a, b], "product").tolist()
    [[0.0, 1.0], [0.0, 0.0]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .explanation import normalise_per_image

__all__ = ["RULES", "combine"]

RULES = ("mean", "product", "geometric", "max")


def _as_tensor(m: Any) -> torch.Tensor:
    if hasattr(m, "saliency") and hasattr(m, "method"):  # an Explanation
        m = m.saliency
    if isinstance(m, np.ndarray):
        m = torch.from_numpy(m)
    if not isinstance(m, torch.Tensor):
        raise TypeError(
            f"each map must be a torch.Tensor, numpy array or Explanation; got {type(m).__name__}"
        )
    if m.dim() not in (2, 3):
        raise ValueError(f"maps must have shape (H, W) or (B, H, W); got {tuple(m.shape)}")
    m = m.detach().to(torch.float64).cpu()
    if not torch.isfinite(m).all():
        raise ValueError("a map contains NaN or infinite values")
    return m


def combine(
    maps: Sequence[Any],
    rule: str = "mean",
    weights: Sequence[float] | None = None,
) -> Any:
    """Combine saliency maps of the same images into one map by ``rule`` (see module docstring).

    Args:
        maps: two or more maps ``(H, W)`` or ``(B, H, W)`` of equal shape (tensors, arrays or
            Explanations).
        rule: ``"mean"``, ``"product"``, ``"geometric"`` or ``"max"``.
        weights: one non-negative weight per map (``"mean"`` and ``"geometric"``), not all zero.
    """
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; use one of {', '.join(RULES)}")
    if isinstance(maps, (torch.Tensor, np.ndarray)) or len(maps) < 2:
        raise ValueError("combine needs a sequence of at least two maps")
    first = maps[0].saliency if hasattr(maps[0], "saliency") else maps[0]
    tensors = [_as_tensor(m) for m in maps]
    shape = tensors[0].shape
    for t in tensors[1:]:
        if t.shape != shape:
            raise ValueError(f"all maps must have the same shape; got {tuple(shape)} and "
                             f"{tuple(t.shape)} (resize them to the image size first)")
    if weights is None:
        w = torch.full((len(tensors),), 1.0 / len(tensors), dtype=torch.float64)
    else:
        w = torch.as_tensor(list(weights), dtype=torch.float64)
        if w.numel() != len(tensors):
            raise ValueError(f"give one weight per map: {len(tensors)} maps, {w.numel()} weights")
        if (w < 0).any() or w.sum() <= 0 or not torch.isfinite(w).all():
            raise ValueError("weights must be finite, non-negative and not all zero")
        w = w / w.sum()
    batched = torch.stack([t if t.dim() == 3 else t[None] for t in tensors])  # (M, B, H, W)
    norm = torch.stack([normalise_per_image(b) for b in batched])
    if rule == "mean":
        out = (w.view(-1, 1, 1, 1) * norm).sum(dim=0)
    elif rule == "product":
        out = norm.prod(dim=0)
    elif rule == "geometric":
        out = (norm ** w.view(-1, 1, 1, 1)).prod(dim=0)
    else:
        out = norm.amax(dim=0)
    out = normalise_per_image(out)
    if len(shape) == 2:
        out = out[0]
    if isinstance(first, np.ndarray):
        return out.numpy()
    return out.to(first.dtype if first.is_floating_point() else torch.float32)
