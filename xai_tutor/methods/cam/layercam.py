"""LayerCAM (Jiang, Zhang, Hou, Cheng & Wei 2021, "LayerCAM: Exploring Hierarchical Class
Activation Maps for Localization", IEEE Transactions on Image Processing 30).

Like HiResCAM, LayerCAM weights every position by its own gradient, but only by its positive
part (Eq. 5-6 of the paper)::

    w_k(a, b) = ReLU( dy/dA_k(a, b) )
    L(a, b)   = ReLU( sum_k w_k(a, b) * A_k(a, b) )

Positions whose gradient is negative add nothing, so the map stays informative at shallow
layers, where Grad-CAM's channel averages mix positive and negative gradients (the paper's point:
maps from earlier layers are finer). The paper fuses the maps of several layers after scaling
each by ``tanh(2 L / max L)`` (Eq. 9); this method explains one layer and leaves fusion out.

Where the gradient is positive LayerCAM equals HiResCAM; where it is negative HiResCAM subtracts
that evidence and LayerCAM ignores it.

Example::

    >>> import torch, torchvision, xai_tutor
    >>> net = torchvision.models.vgg11(weights=None).eval()
    >>> x = torch.rand(1, 3, 64, 64)
    >>> e = xai_tutor.explain(net, x, "layercam", layer="features.10")   # a shallower layer
    >>> tuple(e.attribution.shape), tuple(e.saliency.shape)
    ((1, 8, 8), (1, 64, 64))
"""

from __future__ import annotations

import torch
from torch import nn

from ...explanation import Explanation
from ..registry import register
from .base import Target, cam_explanation, layer_pass, model_guard, weighted_map

__all__ = ["layercam"]


@register(
    "layercam",
    "cam",
    "LayerCAM (Jiang et al. 2021): activations times their own positive gradient, position by "
    "position",
    title="LayerCAM",
    notebook="07_gradcampp_xgradcam",
    position=4,
)
def layercam(
    model: nn.Module,
    images: torch.Tensor,
    target: Target = None,
    layer: str | nn.Module | None = None,
) -> Explanation:
    """LayerCAM of ``images`` for ``target`` at ``layer`` (default: last conv block).

    Formula: ``L = ReLU(sum_k ReLU(dy/dA_k) * A_k)``, element by element. One forward and one
    backward pass.
    """
    with model_guard(model):
        run = layer_pass(model, images, target, layer, gradients=True)
        maps = weighted_map(torch.relu(run.gradients), run.activation)
    return cam_explanation("layercam", maps, run, {})
