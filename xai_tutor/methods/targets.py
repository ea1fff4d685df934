"""Which class each image is explained for.

Example::

    >>> import torch
    >>> resolve_target(torch.tensor([[0.0, 2.0, 1.0]]), None)     # the top class
    tensor([1])
    >>> resolve_target(torch.tensor([[0.0, 2.0, 1.0]]), 2)
    tensor([2])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["resolve_target"]


def resolve_target(
    logits: torch.Tensor, target: int | Sequence[int] | torch.Tensor | None
) -> torch.Tensor:
    """Class index per image: the top class when ``target`` is None, else ``target`` checked.

    ``target`` may be one int (same class for every image) or one int per image; a length that
    differs from the batch size, or a class outside ``[0, num_classes)``, is an error.
    """
    batch, classes = logits.shape
    if target is None:
        return logits.argmax(dim=1)
    if isinstance(target, torch.Tensor) and target.dim() == 0:
        target = target.item()
    if isinstance(target, bool):
        raise TypeError(f"target must be None, an int or a sequence of ints; got {target!r}")
    if isinstance(target, int) or (hasattr(target, "__index__") and not hasattr(target, "__len__")):
        values = [int(target)] * batch
    elif isinstance(target, torch.Tensor):
        values = target.detach().reshape(-1).tolist()
    elif isinstance(target, Sequence) and not isinstance(target, str):
        values = list(target)
    else:
        raise TypeError(f"target must be None, an int or a sequence of ints; got {target!r}")
    if len(values) != batch:
        raise ValueError(
            f"target has {len(values)} entries but the batch has {batch} images; give one class "
            "per image, a single int for all, or None for each image's top class"
        )
    out = []
    for v in values:
        if isinstance(v, bool) or not float(v).is_integer():
            raise TypeError(f"target classes must be integers; got {v!r}")
        v = int(v)
        if not 0 <= v < classes:
            raise ValueError(f"target class {v} is outside the model's classes 0..{classes - 1}")
        out.append(v)
    return torch.tensor(out, dtype=torch.long, device=logits.device)

