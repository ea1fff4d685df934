"""Gradient saliency (Simonyan, Vedaldi & Zisserman 2013, "Deep inside convolutional networks").

The simplest explanation of a class score ``y_c`` is its first-order Taylor coefficient at the
image ``x``: how much ``y_c`` changes when one pixel value changes,

    ``g = d y_c / d x``  (a ``(3, H, W)`` tensor, signed).

Simonyan et al. turn it into one map by taking the largest magnitude over the colour channels,
``M_ij = max_c |g_cij|``; that is the saliency used here (``reduce="abs_max"``; ``"abs_sum"`` sums
the magnitudes instead). The map is then min-max scaled per image.

``times_input=True`` gives *gradient x input* ``x * g`` (Shrikumar et al. 2016), the first-order
contribution of each pixel relative to a zero (mean-colour, after normalisation) baseline.

Each image's gradient is independent of the others in the batch (the model runs in eval mode), so
one backward pass of ``sum_b y_{b, c_b}`` gives every image's gradient at once.

The backward pass itself is :mod:`xai_tutor.methods.pixel_backward`, which guided backprop and
DeconvNet share (with a different ReLU rule).

Example::

    >>> import torch, torchvision, xai_tutor
    >>> net = torchvision.models.resnet18(weights=None).eval()
    >>> x = torch.rand(2, 3, 64, 64)
    >>> e = xai_tutor.explain(net, x, "gradient", target=[1, 7])
    >>> tuple(e.attribution.shape), tuple(e.saliency.shape)
    ((2, 3, 64, 64), (2, 64, 64))
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..explanation import Explanation
from .declarations import Param, reduce_param
from .pixel_backward import pixel_explanation
from .registry import register

__all__ = ["gradient"]


@register(
    "gradient",
    "pixel",
    "Gradient saliency (Simonyan et al. 2013): d y_c / d x, max |.| over colour channels",
    params=(
        Param("times_input", "bool", doc="gradient x input instead of the gradient",
              explorer=True),
        reduce_param(),
    ),
    title="Gradient",
    signed=True,
    notebook="02_models_data_hooks",
    position=1,
)
def gradient(
    model: nn.Module,
    images: torch.Tensor,
    target: int | Sequence[int] | torch.Tensor | None = None,
    layer: str | nn.Module | None = None,
    times_input: bool = False,
    reduce: str = "abs_max",
) -> Explanation:
    """Vanilla gradient saliency (Simonyan et al. 2013).

    ``attribution = d y_c / d x`` (signed, ``(B, 3, H, W)``), or ``x * d y_c / d x`` with
    ``times_input=True``. ``saliency = max_c |attribution_c|`` (``reduce="abs_max"``, the paper's
    choice: a pixel matters if any of its colour channels does), min-max scaled per image.

    Example::

        e = xai_tutor.explain(model, x, "gradient", times_input=True)
    """
    return pixel_explanation(model, images, target, "gradient", "gradient",
                             {"times_input": times_input, "reduce": reduce})
