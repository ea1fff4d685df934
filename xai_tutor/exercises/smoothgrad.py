"""Checks for notebook 08 (SmoothGrad and Smooth Grad-CAM++).

The expected values are computed here from the papers' formulas with plain autograd (one pass per
noisy copy, a forward hook for the layer's activations via
:func:`xai_tutor.exercises.oracle.record_layer`), not with :mod:`xai_tutor.methods.smoothgrad` or
:mod:`xai_tutor.methods.cam`. The noise itself is given to the checks (a tensor ``noise`` of shape
``(n, 3, H, W)`` of standard-normal draws), so they do not depend on how it was drawn:

* noise level (Smilkov et al. 2017): ``s = sigma * (max x - min x)`` over the whole image;
* SmoothGrad: ``1/n sum_i dy_c/dx (x + s * noise_i)``, shape ``(1, 3, H, W)``, class ``c`` fixed
  from the clean image;
* Smooth Grad-CAM++ (Omeiza et al. 2019): the layer gradients averaged over the noisy copies,
  ``g_bar``, then Grad-CAM++'s ``alpha`` and weights from ``g_bar`` and the map
  ``ReLU(sum_k w_k A_k)`` with the CLEAN image's activations ``A``, shape ``(h, w)``.

The checks recognise the usual slips, among them the two bugs of torchcam 0.5's
``SmoothGradCAMpp`` (averaging ``g^2`` and ``g^3`` instead of ``g``; activations and ``ReLU(g)``
from the last noisy pass).

Example::

    >>> import torch
    >>> from xai_tutor.exercises.smoothgrad import check_noise_scale
    >>> x = torch.tensor([[[[-1.0, 3.0]]]])
    >>> check_noise_scale(0.6, x, 0.15).ok       # 0.15 * (3 - (-1))
    True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from .cam import has_gap_head
from .core import Expect, exercise
from .feedback import Feedback, _as_array, check_choice
from .gradcampp import _expected_gradcampp_weights
from .oracle import input_gradient, record_layer, top_class

__all__ = [
    "check_noise_scale",
    "check_smoothgrad",
    "check_smoothgradcampp_map",
    "check_smooth_on_gap",
]


def _check_noise(noise: torch.Tensor, x: torch.Tensor) -> None:
    if not isinstance(noise, torch.Tensor) or noise.dim() != 4 or noise.shape[1:] != x.shape[1:]:
        shape = tuple(noise.shape) if isinstance(noise, torch.Tensor) else type(noise).__name__
        raise ValueError(f"noise must be a tensor (n, {', '.join(map(str, x.shape[1:]))}) of "
                         f"standard-normal draws; got {shape}")


def _expected_noise_scale(x: torch.Tensor, sigma: float) -> float:
    """``sigma * (max x - min x)``, the range taken over all channels and pixels."""
    xd = x.detach().double()
    return float(sigma) * float(xd.max() - xd.min())


@exercise("smoothgrad.noise_scale", "s", "x", "sigma", notebook="08")
def check_noise_scale(got: Any, x: torch.Tensor, sigma: float) -> Expect | Feedback:
    """The noise standard deviation ``s = sigma * (max x - min x)`` (a number)."""
    xd = x.detach().double()
    expected = _expected_noise_scale(x, sigma)
    g = _as_array(got)
    if g is not None and g.size == 3:
        return Feedback(False, "`s` has one value per colour channel; SmoothGrad takes the range "
                               "over the whole image (all channels): x.max() - x.min().",
                        name="s")
    slips = [
        (float(sigma), "`s` is sigma itself; sigma is a FRACTION of the image's range: "
                       "multiply it by x.max() - x.min()."),
        (float(sigma) * float(xd.std()), "you scaled sigma by the image's standard deviation; "
                                         "the paper uses the range max - min."),
        (float(sigma) * float(xd.max()), "you scaled sigma by the maximum only; use the range "
                                         "x.max() - x.min()."),
        (float(sigma) * float(xd.abs().max()), "you scaled sigma by max |x|; use the range "
                                               "x.max() - x.min()."),
    ]
    return Expect(expected, slips, rtol=1e-5, atol_rel=0.0, atol=1e-7, slip_atol=1e-9,
                  hints={"values": "s = sigma * (x.max() - x.min()), a single number."})


#: Gradients through ReLUs are only piecewise continuous: summing in another order (a batched
#: pass) can flip a few units that sit at 0 and change a few pixels by a percent, so an answer
#: whose relative L2 error is below 0.5 % also counts as right.
_MAP_TOLERANCES: dict[str, float] = {"rtol": 1e-3, "atol_rel": 1e-4, "l2_rtol": 5e-3}


def _noisy_copies(x: torch.Tensor, noise: torch.Tensor, scale: float) -> torch.Tensor:
    return x.detach()[0] + float(scale) * noise.to(x.dtype)


def _clean_target(model: nn.Module, x: torch.Tensor, target: int | None) -> int:
    return int(target) if target is not None else top_class(model, x)


def _input_gradients(model: nn.Module, batch: torch.Tensor, target: int | list[int]
                     ) -> torch.Tensor:
    """``dy/dx`` for each image of ``batch`` (one pass per image), float64 ``(n, 3, H, W)``."""
    return torch.stack([input_gradient(model, batch[i:i + 1],
                                       target if isinstance(target, int) else target[i])[0]
                        for i in range(batch.shape[0])])


def _expected_smoothgrad(model: nn.Module, x: torch.Tensor, noise: torch.Tensor, scale: float,
                        target: int | None = None) -> torch.Tensor:
    """``1/n sum_i dy_c/dx (x + scale * noise_i)`` as float64 ``(1, 3, H, W)``."""
    _check_noise(noise, x)
    c = _clean_target(model, x, target)
    return _input_gradients(model, _noisy_copies(x, noise, scale), c).mean(dim=0, keepdim=True)


@exercise("smoothgrad.average", "smooth", "model", "x", "noise", "s", "c", notebook="08")
def check_smoothgrad(got: Any, model: nn.Module, x: torch.Tensor, noise: torch.Tensor,
                     scale: float, target: int | None = None) -> Expect:
    """The SmoothGrad average of the input gradient over the noisy copies
    ``x + scale * noise[i]``, shape ``(1, 3, H, W)``, signed, for the clean image's top class
    (or ``target``)."""
    _check_noise(noise, x)
    c = _clean_target(model, x, target)
    copies = _noisy_copies(x, noise, scale)
    grads = _input_gradients(model, copies, c)
    expected = grads.mean(dim=0, keepdim=True)
    slips: list[tuple[Callable[[], torch.Tensor], str]] = [
        (lambda: _input_gradients(model, x.detach(), c),
         "this is the gradient of the clean image: add the noise scale * noise[i] to x for "
         "each copy."),
        (lambda: grads.abs().mean(dim=0, keepdim=True),
         "you averaged |gradient|; average the signed gradients (the absolute value belongs to "
         "the saliency map, after averaging)."),
        (lambda: grads[-1:],
         "this is the gradient of the last noisy copy only: average over all n copies."),
        (lambda: _input_gradients(model, x.detach()[0] + noise.to(x.dtype), c).mean(
            dim=0, keepdim=True),
         "you added the standard-normal noise without scaling it: multiply noise[i] by s."),
    ]
    own = [top_class(model, copy[None]) for copy in copies]
    if any(k != c for k in own):
        slips.append((lambda: _input_gradients(model, copies, own).mean(dim=0, keepdim=True),
                      "each copy explained its own top class; keep the clean image's class c "
                      "for every noisy copy."))
    return Expect(expected, slips, **_MAP_TOLERANCES, precision=x.dtype,
                  hints={"shape_overreduced": "keep the colour channels: the average gradient "
                                              "has the shape of x, (1, 3, H, W).",
                         "factor": "a factor n: divide the sum of the gradients by n (a mean, "
                                   "not a sum).",
                         "values": "for each i: noisy = x + s * noise[i]; gradient of "
                                   "model(noisy)[0, c] with respect to noisy; then average."})


def _layer_records(model: nn.Module, x: torch.Tensor, noise: torch.Tensor, scale: float, c: int,
                   layer: str | None) -> tuple[torch.Tensor, list[torch.Tensor],
                                               list[torch.Tensor]]:
    clean = record_layer(model, x, c, layer)
    acts, grads = [], []
    for copy in _noisy_copies(x, noise, scale):
        rec = record_layer(model, copy[None], c, layer)
        acts.append(rec.activation)
        grads.append(rec.gradient)
    return clean.activation, acts, grads


def _expected_smoothgradcampp_map(model: nn.Module, x: torch.Tensor, noise: torch.Tensor,
                                 scale: float, target: int | None = None,
                                 layer: str | None = None) -> torch.Tensor:
    """The Smooth Grad-CAM++ map ``(h, w)`` (before upsampling), float64."""
    _check_noise(noise, x)
    c = _clean_target(model, x, target)
    a, _acts, grads = _layer_records(model, x, noise, scale, c, layer)
    w = _per_order_weights(a, torch.stack(grads))
    return torch.einsum("k,khw->hw", w, a).clamp(min=0)


def _per_order_weights(a: torch.Tensor, grads: torch.Tensor) -> torch.Tensor:
    """Omeiza et al.'s weights ``(K,)`` (Section 3): each derivative order averaged over the
    copies, ``alpha = mean(g^2) / (2 mean(g^2) + sum_ab A mean(g^3))`` (0 where the denominator
    is 0), ``w = sum alpha ReLU(mean g)``; ``grads`` ``(n, K, h, w)``."""
    g1, g2, g3 = grads.mean(dim=0), (grads**2).mean(dim=0), (grads**3).mean(dim=0)
    den = 2 * g2 + a.sum(dim=(1, 2), keepdim=True) * g3
    alpha = torch.where(den != 0, g2 / torch.where(den != 0, den, torch.ones_like(den)),
                        torch.zeros_like(den))
    return (alpha * g1.clamp(min=0)).sum(dim=(1, 2))


@exercise("smoothgrad.smoothgradcampp", "sgcampp_map", "model", "x", "noise", "s", "c",
          notebook="08")
def check_smoothgradcampp_map(got: Any, model: nn.Module, x: torch.Tensor, noise: torch.Tensor,
                              scale: float, target: int | None = None,
                              layer: str | None = None) -> Expect:
    """The Smooth Grad-CAM++ map ``ReLU(sum_k w_k A_k)`` of shape ``(h, w)``, as in
    Omeiza et al.'s Section 3: Grad-CAM++'s weights with each derivative order averaged over
    ``x + scale * noise[i]`` (``mean g``, ``mean g^2``, ``mean g^3``), activations of the clean
    image, not upsampled or normalised."""
    _check_noise(noise, x)
    c = _clean_target(model, x, target)
    a, acts, grads = _layer_records(model, x, noise, scale, c, layer)
    stacked = torch.stack(grads)
    g_bar = stacked.mean(dim=0)
    w = _per_order_weights(a, stacked)
    raw = torch.einsum("k,khw->hw", w, a)
    expected = raw.clamp(min=0)

    def torchcam_like() -> torch.Tensor:
        g2 = torch.stack([g**2 for g in grads]).mean(dim=0)
        g3 = torch.stack([g**3 for g in grads]).mean(dim=0)
        last_a, last_g = acts[-1], grads[-1]
        total = last_a.sum(dim=(1, 2), keepdim=True)
        den = 2 * g2 + total * g3
        alpha = torch.where(den != 0, g2 / torch.where(den != 0, den, torch.ones_like(den)),
                            torch.zeros_like(den))
        weights = (alpha * last_g.clamp(min=0)).sum(dim=(1, 2))
        return torch.einsum("k,khw->hw", weights, last_a).clamp(min=0)

    slips: list[tuple[Callable[[], torch.Tensor], str]] = [
        (lambda: torch.einsum("k,khw->hw", w, acts[-1]).clamp(min=0),
         "you weighted the activations of the last NOISY copy (torchcam's bug); use the "
         "activations A of the clean image."),
        (lambda: torch.einsum("k,khw->hw", _expected_gradcampp_weights(a, grads[-1]), a).clamp(
            min=0),
         "the weights come from the gradient of the last noisy copy only: average the gradients "
         "over all copies first."),
        (torchcam_like,
         "you took ReLU(g) and A from the last noisy pass (torchcam 0.5's SmoothGradCAMpp); "
         "the paper uses ReLU of the averaged gradient and the clean image's activations."),
        (lambda: torch.einsum("k,khw->hw", _expected_gradcampp_weights(a, g_bar), a).clamp(
            min=0),
         "you averaged the gradient first and then took its powers (g_bar^2, g_bar^3): that is "
         "explain(..., average='gradient'). The paper's Section 3 averages each derivative "
         "order over the copies: mean(g^2) and mean(g^3), with ReLU(mean(g)) in the weights."),
        (lambda: torch.einsum("k,khw->hw", _expected_gradcampp_weights(
            a, record_layer(model, x, c, layer).gradient), a).clamp(min=0),
         "this is plain Grad-CAM++ of the clean image: the gradients must come from the noisy "
         "copies."),
        (lambda: raw, "the map has negative values: apply the ReLU to the weighted sum."),
    ]
    return Expect(expected, slips, **_MAP_TOLERANCES, precision=x.dtype,
                  hints={"shape_unreduced": "sum the weighted activations over the channel "
                                            "axis: torch.einsum('k,khw->hw', w, A).",
                         "values": "average g, g^2 and g^3 over the noisy copies; alpha = "
                                   "mean(g^2) / (2 mean(g^2) + sum A mean(g^3)); w = sum alpha "
                                   "ReLU(mean g); map = ReLU(sum_k w_k A_k) with the clean "
                                   "activations."})


GAP_MAPS = ("identical", "different")


@exercise("smoothgrad.smooth_on_gap", "gap_maps", "models", "x", notebook="08", prediction=True)
def check_smooth_on_gap(got: Any, models: Mapping[str, nn.Module], x: torch.Tensor,
                        scale: float = 0.15) -> Expect:
    """Predict whether Smooth Grad-CAM++ and Grad-CAM++ give ``"identical"`` or ``"different"``
    maps on a model whose layer feeds a GAP + linear head. Measured here on every such course
    model: the layer's gradient for the clean image and for a noisy copy."""
    noise = torch.randn(x.shape[1:], generator=torch.Generator().manual_seed(0)).to(x.dtype)
    noisy = x + scale * float(x.max() - x.min()) * noise
    moved = {}
    for name, m in models.items():
        if has_gap_head(m, x):
            c = top_class(m, x)
            g0, g1 = (record_layer(m, inp, c).gradient for inp in (x, noisy))
            moved[name] = float((g0 - g1).abs().max() / g0.abs().max())
    if not moved:
        raise ValueError("none of the models has a GAP + linear head")
    outcome = "identical" if max(moved.values()) < 1e-5 else "different"
    why = ("on a GAP + linear head the gradient dy_c/dA_k(i, j) = W[c, k] / Z does not depend on "
           "the input at all: every noisy copy has the clean image's gradient, every average "
           "(g, g^2, g^3) equals the clean one, and with the clean activations Smooth "
           "Grad-CAM++ is Grad-CAM++. The noise can only act through a non-linear head.")
    return Expect(outcome, judge=check_choice, choices=GAP_MAPS, why=why,
                  details=[f"{n}: the noise moved the layer's gradient by {v:.1e} of its largest "
                           "value" for n, v in moved.items()])
