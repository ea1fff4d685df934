"""Grad-CAM++ (Chattopadhyay et al. 2018, "Grad-CAM++: Generalized Gradient-based Visual
Explanations for Deep Convolutional Networks", WACV).

Positive gradients are weighted pixel by pixel, so that several instances of a class all count::

    w_k = sum_ab alpha_k(a, b) ReLU(g_k(a, b)),       g = dy/dA
    alpha_k(a, b) = g^2 / (2 g^2 + sum_ij A_k(i, j) g^3)      (alpha = 0 where g = 0)
    L = ReLU( sum_k w_k A_k )

The closed form of ``alpha`` (the paper's Eq. 19) replaces 2nd and 3rd derivatives by powers of
the 1st, exact for piecewise-linear networks when the score is passed through ``exp`` (Eq. 17-18).
With the exponential score ``Y = exp(y)`` every derivative gets the same factor ``exp(y)``, which
cancels in ``alpha`` and multiplies all ``w_k`` of an image by the same positive number: the
normalised saliency is identical, so only the plain-logit form is implemented.

``variant``:

* ``"paper"`` (default): Eq. 19 exactly (``alpha = 0`` where the denominator is 0);
* ``"grad-cam"`` adds ``1e-6`` to the denominator as pytorch-grad-cam does, which changes the
  result when gradients are tiny (e.g. randomly initialised networks);
* ``"authors"``: the authors' code (adityac94/Grad_CAM_plus_plus, ``misc/utils.py``), which
  normalises the alphas of every channel by their sum over the positions with a positive
  gradient before weighting (a step the paper does not have)::

      alpha'_k(a, b) = alpha_k(a, b) / sum_{ij: g_k(i, j) > 0} alpha_k(i, j)   (sum 0: kept as is)

  Their ``exp(y)`` factor on every derivative is left out: it cancels in ``alpha`` and scales
  all weights of an image by the same positive number (the saliency is unchanged, the
  attribution is ``exp(-y)`` times theirs).

Example::

    >>> import torch, torchvision, xai_tutor
    >>> net = torchvision.models.resnet18(weights=None).eval()
    >>> x = torch.rand(1, 3, 64, 64)
    >>> e = xai_tutor.explain(net, x, "gradcampp", layer="layer4")
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

__all__ = ["gradcampp", "gradcampp_weights", "derivative_weights"]

VARIANTS = ("paper", "grad-cam", "authors")


def gradcampp_weights(
    activation: torch.Tensor,
    gradients: torch.Tensor,
    variant: str = "paper",
    relu_gradients: torch.Tensor | None = None,
) -> torch.Tensor:
    """Grad-CAM++ channel weights ``(B, K)`` from ``A`` and ``g = dy/dA``.

    ``relu_gradients`` (default ``g``) is the gradient inside ``ReLU(.)``.
    """
    g2 = gradients * gradients
    positive = torch.relu(gradients if relu_gradients is None else relu_gradients)
    return derivative_weights(activation, g2, g2 * gradients, positive, variant)


def derivative_weights(
    activation: torch.Tensor,
    second: torch.Tensor,
    third: torch.Tensor,
    positive: torch.Tensor,
    variant: str = "paper",
) -> torch.Tensor:
    """``w_k = sum_ab alpha ReLU-part`` from the 2nd and 3rd derivative terms (``g^2``, ``g^3``
    for plain Grad-CAM++; their averages over noisy copies for Smooth Grad-CAM++) and the
    non-negative first-order part ``positive`` (``ReLU(g)``). ``alpha = 0`` where ``second`` is 0.
    """
    total = activation.sum(dim=(2, 3), keepdim=True)
    den = 2 * second + total * third
    if variant == "grad-cam":
        alpha = second / (den + 1e-6)
    else:
        alpha = safe_divide(second, den)
    alpha = torch.where(second != 0, alpha, torch.zeros_like(alpha))
    if variant == "authors":
        norm = torch.where(positive > 0, alpha, torch.zeros_like(alpha)).sum((2, 3), keepdim=True)
        alpha = alpha / torch.where(norm != 0, norm, torch.ones_like(norm))
    return (alpha * positive).sum(dim=(2, 3))


@register(
    "gradcampp",
    "cam",
    "Grad-CAM++ (Chattopadhyay et al. 2018): pixel-weighted positive gradients",
    params=(variant_param(VARIANTS, "weights as in the paper (Eq. 19), pytorch-grad-cam (+1e-6) "
                          "or the authors' code (alphas normalised per channel)"),),
    title="Grad-CAM++",
    notebook="07_gradcampp_xgradcam",
    position=1,
)
def gradcampp(
    model: nn.Module,
    images: torch.Tensor,
    target: Target = None,
    layer: str | nn.Module | None = None,
    variant: str = "paper",
) -> Explanation:
    """Grad-CAM++ of ``images`` for ``target`` at ``layer``.

    Args:
        variant: ``"paper"`` (Eq. 19, exact division), ``"grad-cam"`` (``+1e-6`` in the
            denominator) or ``"authors"`` (adityac94's code: alphas normalised per channel over
            the positions with a positive gradient).
    """
    with model_guard(model):
        run = layer_pass(model, images, target, layer, gradients=True)
        weights = gradcampp_weights(run.activation, run.gradients, variant)
        maps = weighted_map(weights, run.activation)
    return cam_explanation("gradcampp", maps, run, {"variant": variant})
