"""DeconvNet (Zeiler & Fergus 2014, "Visualizing and understanding convolutional networks") as
the registered method: the class score projected to pixel space by a modified backward pass.

Zeiler & Fergus' deconvnet maps a signal back to the image by unpooling with the switches of the
forward pass, rectifying (``max(r, 0)``) and filtering with the transposed weights. Unpooling by
switches and transposed filtering are exactly what autograd does for max-pooling and convolution,
so the projection is the backward pass of the network with one change at every ReLU::

    R_l = max(R_{l+1}, 0)        (the forward mask 1[x_l > 0] of the gradient is ignored)

That rule is :func:`xai_tutor.methods.relu_rules.relu_rule` with ``"deconvnet"``, the backward
pass :func:`xai_tutor.methods.pixel_backward.pixel_explanation`; it works on any architecture
whose ReLUs are modules or calls of ``F.relu`` / ``torch.relu``. The explicit construction, stage
by stage, lives in :mod:`xai_tutor.methods.deconvnet_projection`.

Example::

    >>> import torch, torchvision, xai_tutor
    >>> net = torchvision.models.vgg11(weights=None).eval()
    >>> e = xai_tutor.explain(net, torch.rand(1, 3, 64, 64), "deconvnet", target=3)
    >>> tuple(e.attribution.shape), tuple(e.saliency.shape)
    ((1, 3, 64, 64), (1, 64, 64))
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..explanation import Explanation
from .declarations import reduce_param
from .pixel_backward import pixel_explanation
from .registry import register

__all__ = ["deconvnet"]


@register(
    "deconvnet",
    "pixel",
    "DeconvNet (Zeiler & Fergus 2014) as a modified backward: ReLUs pass back max(signal, 0), "
    "ignoring the forward mask; unpooling by switches and transposed filters come from autograd",
    params=(reduce_param(),),
    title="DeconvNet",
    notebook="03_deconvnet",
    position=1,
)
def deconvnet(
    model: nn.Module,
    images: torch.Tensor,
    target: int | Sequence[int] | torch.Tensor | None = None,
    layer: str | nn.Module | None = None,
    reduce: str = "abs_max",
) -> Explanation:
    """DeconvNet projection of the class score (Zeiler & Fergus 2014) via a modified backward.

    Backpropagates ``y_c`` to the input with the ReLU backward replaced by ``R_l = max(R_{l+1},
    0)`` (rectification, independent of the forward input). Max-pooling routes the signal to the
    recorded maxima (the switches) and convolutions apply the transposed filters, as in the
    paper's deconvnet; works on any architecture whose ReLUs are modules or calls of
    ``F.relu`` / ``torch.relu`` (ResNets, DenseNets too). :func:`project` builds the same
    projection explicitly on VGG-style networks
    (:mod:`xai_tutor.methods.deconvnet_projection`).

    Example::

        e = xai_tutor.explain(model, x, "deconvnet")
    """
    return pixel_explanation(model, images, target, "deconvnet", "deconvnet", {"reduce": reduce})
