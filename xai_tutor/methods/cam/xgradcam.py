"""XGrad-CAM (Fu et al. 2020, "Axiom-based Grad-CAM: Towards Accurate Visualization and
Explanation of CNNs", BMVC).

Each gradient is weighted by the activation's share of its channel's total::

    w_k = sum_ab dy/dA_k(a, b) * A_k(a, b) / sum_ab A_k(a, b)
    L   = ReLU( sum_k w_k A_k )

A channel whose activations sum to zero gets ``w_k = 0`` (``variant="paper"``). The
``"grad-cam"`` variant divides by ``sum_ab A_k + 1e-7`` instead, as pytorch-grad-cam and torchcam
do; the two differ only for channels whose sum is (close to) zero.

Example::

    >>> import torch, torchvision, xai_tutor
    >>> net = torchvision.models.resnet18(weights=None).eval()
    >>> x = torch.rand(1, 3, 64, 64)
    >>> e = xai_tutor.explain(net, x, "xgradcam", layer="layer4")
"""

from __future__ import annotations

import torch
from torch import nn

from ...explanation import Explanation
from ..declarations import variant_param
from ..registry import register
from .base import (
    Target,
    cam_explanation,
    layer_pass,
    model_guard,
    safe_divide,
    weighted_map,
)

__all__ = ["xgradcam", "xgradcam_weights"]

VARIANTS = ("paper", "grad-cam")


def xgradcam_weights(
    activation: torch.Tensor, gradients: torch.Tensor, variant: str = "paper"
) -> torch.Tensor:
    """``w_k = sum(g A) / sum(A)`` per image and channel, ``(B, K)``."""
    num = (gradients * activation).sum(dim=(2, 3))
    den = activation.sum(dim=(2, 3))
    if variant == "grad-cam":
        return num / (den + 1e-7)
    return safe_divide(num, den)


@register(
    "xgradcam",
    "cam",
    "XGrad-CAM (Fu et al. 2020): gradients weighted by normalised activations",
    params=(variant_param(VARIANTS, "weights as in the paper or as in pytorch-grad-cam"),),
    title="XGrad-CAM",
    notebook="07_gradcampp_xgradcam",
    position=2,
)
def xgradcam(
    model: nn.Module,
    images: torch.Tensor,
    target: Target = None,
    layer: str | nn.Module | None = None,
    variant: str = "paper",
) -> Explanation:
    """XGrad-CAM of ``images`` for ``target`` at ``layer``.

    Args:
        variant: ``"paper"`` (zero weight for a channel summing to 0) or ``"grad-cam"``
            (denominator ``sum A + 1e-7`` as in pytorch-grad-cam).
    """
    with model_guard(model):
        run = layer_pass(model, images, target, layer, gradients=True)
        weights = xgradcam_weights(run.activation, run.gradients, variant)
        maps = weighted_map(weights, run.activation)
    return cam_explanation("xgradcam", maps, run, {"variant": variant})
