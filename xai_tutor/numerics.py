"""Safe division, the one home of a small piece of arithmetic every method family needs.

CAM weights divide by sums that may be zero (Grad-CAM++'s alpha, XGrad-CAM's activation sums,
Ablation-CAM's logit, Score-CAM's mask range), LRP divides relevance by pre-activations, and
saliency maps are min-max scaled. All use :func:`safe_divide`:

    ``safe_divide(n, d)        = n / d`` where ``d != 0``, else ``0``   (no NaN, no inf)
    ``safe_divide(n, d, eps)   = n / (d + eps * sign(d))``, ``sign(0) = +1``   (``eps > 0``)

the second being LRP's stabilised denominator (:func:`stabilise`).

>>> import torch
>>> safe_divide(torch.tensor([1.0, 2.0]), torch.tensor([0.0, 4.0]))
tensor([0.0000, 0.5000])
"""

from __future__ import annotations

import torch

__all__ = ["safe_divide", "stabilise"]


def stabilise(z: torch.Tensor, eps: float) -> torch.Tensor:
    """``z + eps * sign(z)`` with ``sign(0) = +1``: moves every denominator away from zero."""
    # 0-dim tensors of z's dtype: with two Python floats torch.where would build a float32
    # tensor, and a float64 explanation would use eps rounded to float32
    pos = torch.tensor(eps, dtype=z.dtype, device=z.device)
    return torch.where(z >= 0, pos, -pos).add_(z)


def safe_divide(num: torch.Tensor, den: torch.Tensor, eps: float = 0.0) -> torch.Tensor:
    """``num / den``, never NaN or inf.

    ``eps = 0`` (default): an exact division where ``den != 0`` and 0 where ``den == 0`` (the
    gradient is safe too: the masked-out division never sees a zero). ``eps > 0``:
    ``num / stabilise(den, eps)``. ``num`` and ``den`` broadcast as in ``num / den``.
    """
    if eps > 0:
        return num / stabilise(den, eps)
    nonzero = den != 0
    quotient = num / torch.where(nonzero, den, torch.ones_like(den))
    return torch.where(nonzero, quotient, torch.zeros_like(quotient))
