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

:func:`pixel_explanation` is the shared engine of the pixel methods: guided backprop and
DeconvNet (:mod:`xai_tutor.methods.guided_backprop`, :mod:`xai_tutor.methods.deconvnet`) pass it
the name of a rule of :mod:`xai_tutor.methods.relu_rules`, which modifies the ReLU backward;
SmoothGrad (:mod:`xai_tutor.methods.smoothgrad`) averages any of them over noisy copies.

Example::

    >>> import torch, torchvision, xai_tutor
    >>> net = torchvision.models.resnet18(weights=None).eval()
    >>> x = torch.rand(2, 3, 64, 64)
    >>> e = xai_tutor.explain(net, x, "gradient", target=[1, 7])
    >>> tuple(e.attribution.shape), tuple(e.saliency.shape)
    ((2, 3, 64, 64), (2, 64, 64))
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ..explanation import Explanation, normalise_per_image, pixel_map
from ..hooks import model_guard
from .base import check_images, register, resolve_target
from .params import Param, reduce_param
from .relu_rules import relu_rule

__all__ = ["input_gradient", "pixel_explanation", "gradient", "check_pixel_layer"]


def check_pixel_layer(layer: Any, method: str) -> None:
    """Pixel methods explain the input itself; refuse a ``layer`` argument with a clear message."""
    if layer is not None:
        raise ValueError(
            f"{method!r} attributes the class score to the input pixels and takes no layer; "
            f"pass layer=None (got {layer!r}). Layer-based maps are the CAM family, e.g. 'gradcam'"
        )


def input_gradient(
    model: nn.Module,
    images: torch.Tensor,
    target: int | Sequence[int] | torch.Tensor | None = None,
    rule: str = "gradient",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``d y_c / d x`` for each image, with the ReLU backward rule ``rule``.

    Returns ``(grad (B, 3, H, W), logits (B, classes) detached, target (B,))``. Must be called
    inside :func:`xai_tutor.hooks.model_guard` (the registered methods do this). ``rule`` is
    ``"gradient"`` (plain autograd), ``"guided"`` or ``"deconvnet"``
    (see :func:`xai_tutor.methods.relu_rules.relu_rule`).
    """
    if rule == "gradient":
        modified: contextlib.AbstractContextManager = contextlib.nullcontext()
    else:
        modified = relu_rule(model, rule)
    x = images.detach().clone().requires_grad_(True)
    with torch.enable_grad(), modified:
        logits = model(x)
        if not isinstance(logits, torch.Tensor) or logits.dim() != 2:
            shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits)
            raise ValueError(
                f"the model must return logits of shape (B, classes); it returned {shape}"
            )
        chosen = resolve_target(logits, target)
        score = logits.gather(1, chosen[:, None]).sum()
        (grad,) = torch.autograd.grad(score, x)
    return grad, logits.detach(), chosen


def pixel_explanation(
    model: nn.Module,
    images: torch.Tensor,
    target: int | Sequence[int] | torch.Tensor | None,
    layer: Any,
    method: str,
    rule: str = "gradient",
    reduce: str = "abs_max",
    times_input: bool = False,
) -> Explanation:
    """Run :func:`input_gradient` inside a model guard and package the result as an Explanation.

    ``attribution`` = the (signed) backpropagated signal, times the input if ``times_input``;
    ``saliency`` = ``normalise_per_image(pixel_map(attribution, reduce))``.
    """
    check_pixel_layer(layer, method)
    if reduce not in ("abs_max", "abs_sum", "positive_sum"):
        raise ValueError(f"unknown reduce {reduce!r}; use 'abs_max', 'abs_sum' or 'positive_sum'")
    if not isinstance(times_input, bool):
        raise TypeError(f"times_input must be True or False; got {times_input!r}")
    x = check_images(images)
    with model_guard(model):
        grad, logits, chosen = input_gradient(model, x, target, rule)
    attribution = grad * x if times_input else grad
    params: dict[str, Any] = {"reduce": reduce}
    if method == "gradient":
        params["times_input"] = times_input
    score = logits.gather(1, chosen[:, None])[:, 0]
    return Explanation(
        attribution=attribution,
        saliency=normalise_per_image(pixel_map(attribution, reduce)),
        target=chosen,
        score=score,
        method=method,
        layer=None,
        params=params,
    )


@register(
    "gradient",
    "pixel",
    "Gradient saliency (Simonyan et al. 2013): d y_c / d x, max |.| over colour channels",
    params=(
        Param("times_input", "bool", doc="gradient x input instead of the gradient",
              explorer=True),
        reduce_param(),
    ),
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
    return pixel_explanation(
        model, images, target, layer, "gradient", "gradient", reduce, times_input
    )
