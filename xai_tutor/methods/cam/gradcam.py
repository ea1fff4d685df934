"""Grad-CAM (Selvaraju et al. 2017, "Grad-CAM: Visual Explanations from Deep Networks via
Gradient-based Localization", ICCV).

The weight of channel ``k`` is the spatial mean of the gradient of the class logit ``y^c``::

    w_k = 1/(h w) sum_ab dy^c / dA_k(a, b)
    L   = ReLU( sum_k w_k A_k )

On a network whose head is global average pooling followed by one linear layer, ``w_k`` is
``W[c, k] / (h w)`` and Grad-CAM equals ``ReLU(CAM) / (h w)``.

Example::

    >>> import torch, torchvision, xai_tutor
    >>> net = torchvision.models.resnet18(weights=None).eval()
    >>> e = xai_tutor.explain(net, torch.rand(1, 3, 64, 64), "gradcam", layer="layer4")
    >>> e.attribution.shape, e.saliency.shape
    (torch.Size([1, 2, 2]), torch.Size([1, 64, 64]))
"""

from __future__ import annotations

import torch
from torch import nn

from ...explanation import Explanation
from ..registry import register
from .base import Target, cam_explanation, layer_pass, model_guard, weighted_map

__all__ = ["gradcam"]


@register(
    "gradcam",
    "cam",
    "Grad-CAM (Selvaraju et al. 2017): channels weighted by mean gradient",
    title="Grad-CAM",
    notebook="06_gradcam",
    position=1,
)
def gradcam(
    model: nn.Module,
    images: torch.Tensor,
    target: Target = None,
    layer: str | nn.Module | None = None,
) -> Explanation:
    """Grad-CAM of ``images`` for ``target`` at ``layer`` (default: last conv block).

    Formula: ``L = ReLU(sum_k mean_ab(dy/dA_k) A_k)``. One forward and one backward pass.
    """
    with model_guard(model):
        run = layer_pass(model, images, target, layer, gradients=True)
        weights = run.gradients.mean(dim=(2, 3))
        maps = weighted_map(weights, run.activation)
    return cam_explanation("gradcam", maps, run, {})
