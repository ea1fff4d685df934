"""HiResCAM (Draelos & Carin 2020, "Use HiResCAM instead of Grad-CAM for faithful explanations of
convolutional neural networks", arXiv:2011.08891).

Grad-CAM averages each channel's gradient over the positions before weighting the channel.
HiResCAM keeps the gradient where it is and multiplies element by element::

    L(a, b) = ReLU( sum_k dy/dA_k(a, b) * A_k(a, b) )

so every position is weighted by its own gradient (the weights ``w_k(a, b)`` are position-wise:
:func:`~xai_tutor.methods.cam.base.weighted_map` with ``(B, K, h, w)`` weights). Summed over the
positions, the map before its ReLU is ``sum_ab g A``, the first-order (Taylor) part of the logit
at the layer; for a head that is linear in ``A`` (GAP + linear, flatten + linear) it equals
``y - b_c``, which is Draelos & Carin's argument that HiResCAM shows what the model computes
and Grad-CAM's averaging may not.

**Identity with Grad-CAM.** When the layer's output goes through global average pooling and
one linear layer, ``dy/dA_k(a, b) = W[c, k] / (h w)`` is the same at every position, so HiResCAM
equals Grad-CAM exactly. With any other head (VGG's flatten + dense layers) the gradient varies
over the positions and the two maps differ.

Example::

    >>> import torch, torchvision, xai_tutor
    >>> net = torchvision.models.resnet18(weights=None).eval()   # GAP + linear head
    >>> x = torch.rand(1, 3, 64, 64)
    >>> hires = xai_tutor.explain(net, x, "hirescam", layer="layer4")
    >>> grad = xai_tutor.explain(net, x, "gradcam", layer="layer4")
    >>> torch.allclose(hires.attribution, grad.attribution, atol=1e-6)
    True
"""

from __future__ import annotations

import torch
from torch import nn

from ...explanation import Explanation
from ..registry import register
from .base import Target, cam_explanation, layer_pass, model_guard, weighted_map

__all__ = ["hirescam"]


@register(
    "hirescam",
    "cam",
    "HiResCAM (Draelos & Carin 2020): activations times their own gradient, position by position",
    title="HiResCAM",
    notebook="07_gradcampp_xgradcam",
    position=3,
)
def hirescam(
    model: nn.Module,
    images: torch.Tensor,
    target: Target = None,
    layer: str | nn.Module | None = None,
) -> Explanation:
    """HiResCAM of ``images`` for ``target`` at ``layer`` (default: last conv block).

    Formula: ``L = ReLU(sum_k dy/dA_k * A_k)``, element by element. One forward and one backward
    pass.
    """
    with model_guard(model):
        run = layer_pass(model, images, target, layer, gradients=True)
        maps = weighted_map(run.gradients, run.activation)
    return cam_explanation("hirescam", maps, run, {})
