"""Guided backpropagation (Springenberg et al. 2015, "Striving for simplicity: the all
convolutional net").

The input gradient with one change at every ReLU ``y = max(x, 0)``: the signal ``R`` coming back
passes only where the forward input was positive (the gradient's mask) **and** where it is itself
positive (DeconvNet's rectification)::

    R_l = R_{l+1} * 1[x_l > 0] * 1[R_{l+1} > 0]

The rule is :func:`xai_tutor.methods.relu_rules.relu_rule` with ``"guided"``; the backward pass
is :func:`xai_tutor.methods.pixel_backward.pixel_explanation`.

Example::

    >>> import torch, torchvision, xai_tutor
    >>> net = torchvision.models.vgg11(weights=None).eval()
    >>> e = xai_tutor.explain(net, torch.rand(1, 3, 64, 64), "guided_backprop", target=3)
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

__all__ = ["guided_backprop"]


@register(
    "guided_backprop",
    "pixel",
    "Guided backpropagation (Springenberg et al. 2015): gradient with only positive signals "
    "passed back through ReLUs where the forward input was positive",
    params=(reduce_param(),),
    title="Guided backprop",
    notebook="03_deconvnet",
    position=2,
)
def guided_backprop(
    model: nn.Module,
    images: torch.Tensor,
    target: int | Sequence[int] | torch.Tensor | None = None,
    layer: str | nn.Module | None = None,
    reduce: str = "abs_max",
) -> Explanation:
    """Guided backpropagation (Springenberg et al. 2015, "Striving for simplicity").

    Backpropagates the target logit ``y_c`` to the input, replacing each ReLU's backward by
    ``R_l = R_{l+1} * 1[x_l > 0] * 1[R_{l+1} > 0]``: the forward mask of the gradient *and* the
    rectification of DeconvNet. Attribution: the signed ``(B, 3, H, W)`` result; saliency:
    ``max_c |R_c|`` per pixel (``reduce``, see :func:`xai_tutor.explanation.pixel_map`), min-max
    scaled per image.

    Example::

        e = xai_tutor.explain(model, x, "guided_backprop")
    """
    return pixel_explanation(model, images, target, "guided_backprop", "guided",
                             {"reduce": reduce})
