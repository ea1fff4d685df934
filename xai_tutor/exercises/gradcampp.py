"""Checks and solutions for notebook 07 (Grad-CAM++ and XGrad-CAM).

The expected values are computed here from the papers' formulas, in float64, from one plain
forward/backward pass (:func:`xai_tutor.exercises.cam.record_layer`: a forward hook and
``torch.autograd.grad``), not with :mod:`xai_tutor.methods.cam`:

* Grad-CAM++ (Chattopadhyay et al. 2018, Eq. 19 with an exponential score)::

      alpha_k(i, j) = g^2 / (2 g^2 + sum_ab A_k(a, b) g^3)      (0 where g = 0)
      w_k = sum_ij alpha_k(i, j) ReLU(g_k(i, j))

* XGrad-CAM (Fu et al. 2020)::

      w_k = sum_ij g_k(i, j) A_k(i, j) / sum_ab A_k(a, b)      (0 where the sum is 0)

Each check first accepts a right answer, then recognises the typical slips (a missing factor 2,
``A_ij`` instead of the channel sum, ``g`` instead of ``ReLU(g)``, alpha never divided, as in
torchcam 0.5, Grad-CAM's mean gradient, a missing normalisation) and says which one it is.

Example::

    >>> from xai_tutor.exercises.gradcampp import check_xgradcam_weights
    >>> check_xgradcam_weights(None, model, x).ok   # doctest: +SKIP
    False
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ..numerics import safe_divide
from .cam import LayerRecord, record_layer
from .core import Feedback, _not_answered, check_with_slips, exercise_check, register_check

__all__ = [
    "check_gradcampp_alpha",
    "check_gradcampp_weights",
    "check_xgradcam_weights",
]


def _expected_gradcampp_alpha(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """Grad-CAM++'s ``alpha`` for ``A`` and ``g`` of shape ``(K, h, w)``, float64, same shape."""
    a, g = activation.double(), gradient.double()
    total = a.sum(dim=(-2, -1), keepdim=True)
    alpha = safe_divide(g**2, 2 * g**2 + total * g**3)
    return torch.where(g != 0, alpha, torch.zeros_like(alpha))


def _expected_gradcampp_weights(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """Grad-CAM++'s channel weights ``(K,)``: ``sum_ij alpha ReLU(g)``."""
    alpha = _expected_gradcampp_alpha(activation, gradient)
    return (alpha * gradient.double().clamp(min=0)).sum(dim=(-2, -1))


def _expected_xgradcam_weights(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """XGrad-CAM's channel weights ``(K,)``: ``sum(g A) / sum(A)``; 0 where ``sum(A) = 0``."""
    a, g = activation.double(), gradient.double()
    return safe_divide((g * a).sum(dim=(-2, -1)), a.sum(dim=(-2, -1)))


def _record(model: nn.Module, x: torch.Tensor, target: int | None,
            layer: str | None) -> LayerRecord:
    return record_layer(model, x, target, layer)


@exercise_check
def check_gradcampp_alpha(got: Any, model: nn.Module, x: torch.Tensor,
                          target: int | None = None, layer: str | None = None) -> Feedback:
    """Exercise: Grad-CAM++'s pixel weights ``alpha`` of shape ``(K, h, w)`` for the single image
    ``x``, the top class (or ``target``) at ``layer`` (default ``model.default_layer``)."""
    missing = _not_answered("alpha", got)
    if missing is not None:
        return missing
    rec = _record(model, x, target, layer)
    a, g = rec.activation, rec.gradient
    expected = _expected_gradcampp_alpha(a, g)
    total = a.sum(dim=(1, 2), keepdim=True)
    nonzero = g != 0
    zero = torch.zeros_like(g)
    slips = [
        (torch.where(nonzero, safe_divide(g**2, g**2 + total * g**3), zero),
         "the factor 2 in front of g^2 in the denominator is missing: "
         "alpha = g^2 / (2 g^2 + sum_ab A_ab g^3)."),
        (torch.where(nonzero, safe_divide(g**2, 2 * g**2 + a * g**3), zero),
         "you used the activation A_ij at the same position; the denominator needs the SUM of "
         "the channel's activations, A.sum(dim=(1, 2), keepdim=True)."),
        (torch.where(nonzero, safe_divide(g**2, 2 * g**2 + total * g**2), zero),
         "the last term of the denominator uses g^3 (the third derivative), not g^2."),
        (g**2, "alpha is only the numerator g^2: you never divided (the torchcam 0.5 bug). "
               "Divide by 2 g^2 + sum_ab A_ab g^3."),
        (torch.full_like(g, 1.0 / (g.shape[1] * g.shape[2])),
         "that is Grad-CAM's uniform 1/(h w); Grad-CAM++'s alpha depends on the gradients."),
    ]
    return check_with_slips("alpha", got, expected, slips, rtol=1e-4, atol_rel=1e-5,
                            precision=x.dtype,
                            hints={"nan": "where g = 0 the fraction is 0/0: set alpha to 0 "
                                          "there (torch.where(g != 0, alpha, 0)).",
                                   "shape_singleton": "keep the layout (K, h, w) of A[0] and "
                                                      "g[0].",
                                   "values": "alpha = g^2 / (2 g^2 + S_k g^3) with S_k the sum "
                                             "of channel k's activations over all positions."})


@exercise_check
def check_gradcampp_weights(got: Any, model: nn.Module, x: torch.Tensor,
                            target: int | None = None, layer: str | None = None) -> Feedback:
    """Exercise: Grad-CAM++'s channel weights ``w_k = sum_ij alpha_k(i, j) ReLU(g_k(i, j))``,
    shape ``(K,)``."""
    missing = _not_answered("weights", got)
    if missing is not None:
        return missing
    rec = _record(model, x, target, layer)
    a, g = rec.activation, rec.gradient
    alpha = _expected_gradcampp_alpha(a, g)
    expected = _expected_gradcampp_weights(a, g)
    slips = [
        ((alpha * g).sum(dim=(1, 2)),
         "you multiplied alpha by the signed gradient; Grad-CAM++ keeps only the positive "
         "gradients: ReLU(g), e.g. g.clamp(min=0)."),
        (g.clamp(min=0).sum(dim=(1, 2)),
         "you summed ReLU(g) without the pixel weights alpha."),
        (g.mean(dim=(1, 2)), "these are Grad-CAM's weights (mean gradient); multiply ReLU(g) by "
                             "alpha and sum over positions."),
        ((g**2 * g.clamp(min=0)).sum(dim=(1, 2)),
         "you used alpha = g^2 without the division (the torchcam 0.5 bug)."),
        ((alpha * g.clamp(min=0)).mean(dim=(1, 2)),
         "you averaged over the positions; the formula SUMS alpha ReLU(g) over i, j."),
    ]
    return check_with_slips("weights", got, expected, slips, rtol=1e-4, atol_rel=1e-5,
                            precision=x.dtype,
                            hints={"shape_unreduced": "sum over the two spatial axes: "
                                                      "(alpha * relu_g).sum(dim=(1, 2)).",
                                   "values": "w_k = sum over i, j of alpha * ReLU(g), with the "
                                             "alpha of the previous exercise."})


@exercise_check
def check_xgradcam_weights(got: Any, model: nn.Module, x: torch.Tensor,
                           target: int | None = None, layer: str | None = None) -> Feedback:
    """Exercise: XGrad-CAM's channel weights ``w_k = sum_ij g A / sum_ab A``, shape ``(K,)``."""
    missing = _not_answered("weights", got)
    if missing is not None:
        return missing
    rec = _record(model, x, target, layer)
    a, g = rec.activation, rec.gradient
    expected = _expected_xgradcam_weights(a, g)
    k, h, w = a.shape
    slips = [
        ((g * a).sum(dim=(1, 2)),
         "you forgot to divide by the channel's total activation sum_ab A_k(a, b): the weights "
         "of the activations must add up to 1 in each channel."),
        ((g * a).mean(dim=(1, 2)),
         "you averaged g A over the positions; divide the sum by the channel's total "
         "activation instead."),
        (g.mean(dim=(1, 2)), "these are Grad-CAM's weights (mean gradient); XGrad-CAM weights "
                             "each gradient by A_ij / sum A."),
        (safe_divide((g.clamp(min=0) * a).sum(dim=(1, 2)), a.sum(dim=(1, 2))),
         "you kept only the positive gradients (that is Grad-CAM++'s ReLU); XGrad-CAM uses the "
         "signed gradient."),
    ]
    return check_with_slips("weights", got, expected, slips, rtol=1e-4, atol_rel=1e-5,
                            precision=x.dtype,
                            hints={"nan": "a channel whose activations are all 0 gives 0/0: "
                                          "its weight is 0.",
                                   "shape_unreduced": "sum over the two spatial axes.",
                                   "values": f"w_k = (g * A).sum((1, 2)) / A.sum((1, 2)) for "
                                             f"the {k} channels of {h} x {w}."})


def _ns_check(fn: Callable[..., Feedback], *names: str) -> Callable[[dict[str, Any]], Feedback]:
    return lambda ns: fn(*(ns[n] for n in names))


register_check(
    "gradcampp.alpha",
    check=_ns_check(check_gradcampp_alpha, "alpha", "model", "x", "c"),
)

register_check(
    "gradcampp.weights",
    check=_ns_check(check_gradcampp_weights, "weights", "model", "x", "c"),
)

register_check(
    "gradcampp.xgradcam_weights",
    check=_ns_check(check_xgradcam_weights, "x_weights", "model", "x", "c"),
)
