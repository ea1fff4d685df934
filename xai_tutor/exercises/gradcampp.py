"""Checks for notebook 07 (Grad-CAM++ and XGrad-CAM).

The expected values are computed here from the papers' formulas, in float64, from one plain
forward/backward pass (:func:`~xai_tutor.exercises.oracle.record_layer`), not with
:mod:`xai_tutor.methods.cam`:

* Grad-CAM++ (Chattopadhyay et al. 2018, Eq. 19 with an exponential score)::

      alpha_k(i, j) = g^2 / (2 g^2 + sum_ab A_k(a, b) g^3)      (0 where g = 0)
      w_k = sum_ij alpha_k(i, j) ReLU(g_k(i, j))

* XGrad-CAM (Fu et al. 2020)::

      w_k = sum_ij g_k(i, j) A_k(i, j) / sum_ab A_k(a, b)      (0 where the sum is 0)

The pixel weights are asked for as a function ``alpha_of(A, g)``, so that the check can also try
it on its own data, where some gradients are exactly 0 (the case the ``torch.where`` guard is
for; the course model's gradients are never 0). Each check then recognises the typical slips (a
missing factor 2, ``A_ij`` instead of the channel sum, ``g`` instead of ``ReLU(g)``, alpha never
divided, as in torchcam 0.5, Grad-CAM's mean gradient, a missing normalisation) and names them.

Example::

    >>> from xai_tutor.exercises.gradcampp import check_xgradcam_weights
    >>> check_xgradcam_weights(None, model, x).ok   # doctest: +SKIP
    False
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..numerics import safe_divide
from .core import Expect, call_answer, exercise
from .feedback import Feedback, check_choice
from .oracle import record_layer

__all__ = [
    "check_gradcampp_alpha",
    "check_gradcampp_weights",
    "check_xgradcam_weights",
    "check_same_as_gradcam",
]


def _expected_gradcampp_alpha(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """Grad-CAM++'s ``alpha`` for ``A`` and ``g`` of shape ``(K, h, w)``, float64, same shape."""
    a, g = activation.double(), gradient.double()
    alpha = safe_divide(g**2, 2 * g**2 + a.sum(dim=(-2, -1), keepdim=True) * g**3)
    return torch.where(g != 0, alpha, torch.zeros_like(alpha))


def _expected_gradcampp_weights(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """Grad-CAM++'s channel weights ``(K,)``: ``sum_ij alpha ReLU(g)``."""
    alpha = _expected_gradcampp_alpha(activation, gradient)
    return (alpha * gradient.double().clamp(min=0)).sum(dim=(-2, -1))


def _expected_xgradcam_weights(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """XGrad-CAM's channel weights ``(K,)``: ``sum(g A) / sum(A)``; 0 where ``sum(A) = 0``."""
    a, g = activation.double(), gradient.double()
    return safe_divide((g * a).sum(dim=(-2, -1)), a.sum(dim=(-2, -1)))


def _alpha_expect(a: torch.Tensor, g: torch.Tensor, precision: torch.dtype) -> Expect:
    a, g = a.double(), g.double()
    total = a.sum(dim=(1, 2), keepdim=True)
    nonzero, zero = g != 0, torch.zeros_like(g)
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
    return Expect(_expected_gradcampp_alpha(a, g), slips, rtol=1e-4, atol_rel=1e-5,
                  precision=precision,
                  hints={"nan": "where g = 0 the fraction is 0/0: set alpha to 0 there "
                                "(torch.where(g != 0, alpha, 0)).",
                         "shape_singleton": "keep the layout (K, h, w) of A[0] and g[0].",
                         "values": "alpha = g^2 / (2 g^2 + S_k g^3) with S_k the sum of channel "
                                   "k's activations over all positions."})


@exercise("gradcampp.alpha", "alpha_of", "model", "x", "c", notebook="07")
def check_gradcampp_alpha(alpha_of: Any, model: nn.Module, x: torch.Tensor,
                          target: int | None = None, layer: str | None = None) -> Feedback:
    """``alpha_of(A, g)``: a function that returns Grad-CAM++'s pixel weights ``alpha`` of shape
    ``(K, h, w)`` for ``A`` and ``g`` of that shape. Tried on the layer's activations and
    gradients for the single image ``x`` (the top class, or ``target``; ``layer`` defaults to
    ``model.default_layer``), then on the same data with a third of the gradients set to 0."""
    rec = record_layer(model, x, target, layer)
    a, g = rec.activation.to(x.dtype), rec.gradient.to(x.dtype)
    got = call_answer("alpha_of", alpha_of, a, g)
    if isinstance(got, Feedback):
        return got
    fb = _alpha_expect(a, g, x.dtype).verdict("alpha", got)
    if not fb.ok:
        return fb
    g_zero = g.clone()
    g_zero[:, ::3] = 0      # every third row of every channel: g = 0 there
    g_zero[0] = 0           # and one whole channel
    got = call_answer("alpha_of", alpha_of, a, g_zero)
    if isinstance(got, Feedback):
        got.details.append("alpha_of(A, g) was called with a g that is 0 at some positions.")
        return got
    fb = _alpha_expect(a, g_zero, x.dtype).verdict("alpha", got)
    if not fb.ok:
        fb.details.insert(0, "on the check's own data: the same A, with g set to 0 at a third "
                             "of the positions (your model's gradients are never exactly 0, "
                             "but another model's or layer's are).")
        return fb
    return Feedback(True, "right on your data, and 0 where g = 0.", fb.details, "alpha_of")


@exercise("gradcampp.weights", "weights", "model", "x", "c", notebook="07")
def check_gradcampp_weights(got: Any, model: nn.Module, x: torch.Tensor,
                            target: int | None = None, layer: str | None = None) -> Expect:
    """Grad-CAM++'s channel weights ``w_k = sum_ij alpha_k(i, j) ReLU(g_k(i, j))``, ``(K,)``."""
    rec = record_layer(model, x, target, layer)
    a, g = rec.activation, rec.gradient
    alpha = _expected_gradcampp_alpha(a, g)
    slips = [
        ((alpha * g).sum(dim=(1, 2)),
         "you multiplied alpha by the signed gradient; Grad-CAM++ keeps only the positive "
         "gradients: ReLU(g), e.g. g.clamp(min=0)."),
        (g.clamp(min=0).sum(dim=(1, 2)), "you summed ReLU(g) without the pixel weights alpha."),
        (g.mean(dim=(1, 2)), "these are Grad-CAM's weights (mean gradient); multiply ReLU(g) by "
                             "alpha and sum over positions."),
        ((g**2 * g.clamp(min=0)).sum(dim=(1, 2)),
         "you used alpha = g^2 without the division (the torchcam 0.5 bug)."),
        ((alpha * g.clamp(min=0)).mean(dim=(1, 2)),
         "you averaged over the positions; the formula SUMS alpha ReLU(g) over i, j."),
    ]
    return Expect(_expected_gradcampp_weights(a, g), slips, rtol=1e-4, atol_rel=1e-5,
                  precision=x.dtype,
                  hints={"shape_unreduced": "sum over the two spatial axes: "
                                            "(alpha * relu_g).sum(dim=(1, 2)).",
                         "values": "w_k = sum over i, j of alpha * ReLU(g), with the alpha of "
                                   "the previous exercise."})


@exercise("gradcampp.xgradcam_weights", "x_weights", "model", "x", "c", notebook="07")
def check_xgradcam_weights(got: Any, model: nn.Module, x: torch.Tensor,
                           target: int | None = None, layer: str | None = None) -> Expect:
    """XGrad-CAM's channel weights ``w_k = sum_ij g A / sum_ab A``, shape ``(K,)``."""
    rec = record_layer(model, x, target, layer)
    a, g = rec.activation, rec.gradient
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
    return Expect(_expected_xgradcam_weights(a, g), slips, rtol=1e-4, atol_rel=1e-5,
                  precision=x.dtype,
                  hints={"nan": "a channel whose activations are all 0 gives 0/0: its weight "
                                "is 0.",
                         "shape_unreduced": "sum over the two spatial axes.",
                         "values": f"w_k = (g * A).sum((1, 2)) / A.sum((1, 2)) for the {k} "
                                   f"channels of {h} x {w}."})


@exercise("gradcampp.same_as_gradcam", "same_maps", "model", "x", "c",
          notebook="07", prediction=True)
def check_same_as_gradcam(got: Any, model: nn.Module, x: torch.Tensor,
                          target: int | None = None, layer: str | None = None) -> Expect:
    """Predict whether XGrad-CAM's map equals Grad-CAM's on ``model`` (``True`` or ``False``).
    Measured here: both maps from one recorded pass, min-max scaled, and their largest
    difference."""
    rec = record_layer(model, x, target, layer)
    a, g = rec.activation, rec.gradient
    maps = [torch.einsum("k,khw->hw", w, a).clamp(min=0)
            for w in (g.mean(dim=(1, 2)), _expected_xgradcam_weights(a, g))]
    scaled = [m / m.max() if m.max() > 0 else m for m in maps]
    difference = float((scaled[0] - scaled[1]).abs().max())
    spread = g.flatten(1)
    varies = float((spread.amax(dim=1) - spread.amin(dim=1)).max() / spread.abs().max())
    why = {True: "the gradient is one number per channel on this model (a GAP + linear head: "
                 "g_k = W[c, k] / Z), so XGrad-CAM's sum_ij (A_ij / sum A) g_k is g_k, "
                 "Grad-CAM's mean gradient: same weights, same map.",
           False: "this model's head (flatten and dense layers after the layer) makes the "
                  "gradient vary from position to position; XGrad-CAM weights each gradient by "
                  "the activation's share A_ij / sum A, Grad-CAM by 1/Z, so the weights and the "
                  "maps differ. On a GAP + linear head they would be equal."}
    return Expect(difference < 1e-4, judge=check_choice, choices=(True, False), why=why,
                  details=[f"largest difference of the scaled maps: {difference:.3g}; spread of "
                           f"the gradient inside a channel: {varies:.3g} of its largest value"])
