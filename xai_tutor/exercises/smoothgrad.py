"""Checks and solutions for notebook 08 (SmoothGrad and Smooth Grad-CAM++).

The expected values are computed here from the papers' formulas with plain autograd (one pass per
noisy copy, a forward hook for the layer's activations via
:func:`xai_tutor.exercises.cam.record_layer`), not with :mod:`xai_tutor.methods.smoothgrad` or
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

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from ..hooks import model_guard
from .cam import record_layer
from .core import Feedback, _as_array, _not_answered, check_close, exercise_check, register_check
from .gradcampp import _expected_gradcampp_weights

__all__ = [
    "check_noise_scale",
    "check_smoothgrad",
    "check_smoothgradcampp_map",
]


def _scalar(value: Any) -> float:
    if isinstance(value, torch.Tensor):
        return float(value.detach().double().reshape(-1)[0])
    return float(np.asarray(value, dtype=np.float64).reshape(-1)[0])


def _check_noise(noise: torch.Tensor, x: torch.Tensor) -> None:
    if not isinstance(noise, torch.Tensor) or noise.dim() != 4 or noise.shape[1:] != x.shape[1:]:
        shape = tuple(noise.shape) if isinstance(noise, torch.Tensor) else type(noise).__name__
        raise ValueError(f"noise must be a tensor (n, {', '.join(map(str, x.shape[1:]))}) of "
                         f"standard-normal draws; got {shape}")


def _expected_noise_scale(x: torch.Tensor, sigma: float) -> float:
    """``sigma * (max x - min x)``, the range taken over all channels and pixels."""
    xd = x.detach().double()
    return float(sigma) * float(xd.max() - xd.min())


@exercise_check
def check_noise_scale(got: Any, x: torch.Tensor, sigma: float) -> Feedback:
    """Exercise: the noise standard deviation ``s = sigma * (max x - min x)`` (a number)."""
    missing = _not_answered("s", got)
    if missing is not None:
        return missing
    xd = x.detach().double()
    expected = _expected_noise_scale(x, sigma)
    g = _as_array(got)
    if g is not None and g.size == 3:
        return Feedback(False, "`s` has one value per colour channel; SmoothGrad takes the range "
                               "over the whole image (all channels): x.max() - x.min().",
                        name="s")
    if g is not None and g.size == 1 and np.isclose(float(g.reshape(-1)[0]), expected,
                                                   rtol=1e-5, atol=1e-9):
        return check_close("s", got, expected, atol=1e-7, rtol=1e-5)
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
    if g is not None and g.size == 1:
        value = float(g.reshape(-1)[0])
        for wrong, message in slips:
            if np.isclose(value, wrong, rtol=1e-5, atol=1e-9):
                return Feedback(False, message, name="s")
    return check_close("s", got, expected, atol=1e-7, rtol=1e-5,
                       hints={"values": "s = sigma * (x.max() - x.min()), a single number."})


def _noisy_copies(x: torch.Tensor, noise: torch.Tensor, scale: float) -> torch.Tensor:
    return x.detach()[0] + float(scale) * noise.to(x.dtype)


def _clean_target(model: nn.Module, x: torch.Tensor, target: int | None) -> int:
    if target is not None:
        return int(target)
    with model_guard(model), torch.no_grad():
        return int(model(x)[0].argmax())


def _input_gradients(model: nn.Module, batch: torch.Tensor, target: int | list[int]
                     ) -> torch.Tensor:
    """``dy/dx`` for each image of ``batch`` (one pass per image), float64 ``(n, 3, H, W)``."""
    out = []
    with model_guard(model), torch.enable_grad():
        for i in range(batch.shape[0]):
            leaf = batch[i : i + 1].detach().clone().requires_grad_(True)
            logits = model(leaf)
            c = target if isinstance(target, int) else target[i]
            (grad,) = torch.autograd.grad(logits[0, c], leaf)
            out.append(grad[0].double())
    return torch.stack(out)


def _expected_smoothgrad(model: nn.Module, x: torch.Tensor, noise: torch.Tensor, scale: float,
                        target: int | None = None) -> torch.Tensor:
    """``1/n sum_i dy_c/dx (x + scale * noise_i)`` as float64 ``(1, 3, H, W)``."""
    _check_noise(noise, x)
    c = _clean_target(model, x, target)
    return _input_gradients(model, _noisy_copies(x, noise, scale), c).mean(dim=0, keepdim=True)


def _slip(got: Any, value: torch.Tensor, message: str, name: str) -> Feedback | None:
    g, v = _as_array(got), _as_array(value)
    if g is None or v is None or g.shape != v.shape:
        return None
    scale = float(np.abs(v).max()) if v.size else 0.0
    if np.allclose(g, v, rtol=1e-3, atol=1e-4 * scale + 1e-12):
        return Feedback(False, message, name=name)
    return None


def _right(got: Any, expected: torch.Tensor, name: str, rel: float) -> Feedback | None:
    """Accept a close answer. Gradients through ReLUs are only piecewise continuous: summing in
    another order (a batched pass) can flip a few units that sit at 0 and change a few pixels by
    a percent, so an answer whose relative L2 error is below 0.5 % also counts as right."""
    g, e = _as_array(got), expected.numpy()
    if g is not None and g.shape == e.shape and np.isfinite(g).all():
        atol = rel * float(np.abs(e).max()) + 1e-12
        if np.allclose(g, e, rtol=1e-3, atol=atol):
            return check_close(name, got, expected, atol=atol, rtol=1e-3)
        norm = float(np.linalg.norm(e))
        if norm > 0 and float(np.linalg.norm(g - e)) <= 5e-3 * norm:
            return Feedback(True, f"matches the expected values (relative L2 difference "
                                  f"{float(np.linalg.norm(g - e)) / norm:.1e}; a few pixels "
                                  "differ by rounding at ReLU boundaries).", name=name)
    return None


@exercise_check
def check_smoothgrad(got: Any, model: nn.Module, x: torch.Tensor, noise: torch.Tensor,
                     scale: float, target: int | None = None) -> Feedback:
    """Exercise: the SmoothGrad average of the input gradient over the noisy copies
    ``x + scale * noise[i]``, shape ``(1, 3, H, W)``, signed, for the clean image's top class
    (or ``target``)."""
    missing = _not_answered("smooth", got)
    if missing is not None:
        return missing
    _check_noise(noise, x)
    c = _clean_target(model, x, target)
    copies = _noisy_copies(x, noise, scale)
    grads = _input_gradients(model, copies, c)
    expected = grads.mean(dim=0, keepdim=True)
    ok = _right(got, expected, "smooth", 1e-4)
    if ok is not None:
        return ok
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
    with model_guard(model), torch.no_grad():
        own = model(copies).argmax(dim=1).tolist()
    if any(k != c for k in own):
        slips.append((lambda: _input_gradients(model, copies, own).mean(dim=0, keepdim=True),
                      "each copy explained its own top class; keep the clean image's class c "
                      "for every noisy copy."))
    for value, message in slips:
        fb = _slip(got, value(), message, "smooth")
        if fb is not None:
            return fb
    return check_close("smooth", got, expected, atol=1e-4 * float(expected.abs().max()) + 1e-12,
                       rtol=1e-3,
                       hints={"shape_overreduced": "keep the colour channels: the average "
                                                   "gradient has the shape of x, (1, 3, H, W).",
                              "factor": "a factor n: divide the sum of the gradients by n "
                                        "(a mean, not a sum).",
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
    g_bar = torch.stack(grads).mean(dim=0)
    w = _expected_gradcampp_weights(a, g_bar)
    return torch.einsum("k,khw->hw", w, a).clamp(min=0)


@exercise_check
def check_smoothgradcampp_map(got: Any, model: nn.Module, x: torch.Tensor, noise: torch.Tensor,
                              scale: float, target: int | None = None,
                              layer: str | None = None) -> Feedback:
    """Exercise: the Smooth Grad-CAM++ map ``ReLU(sum_k w_k A_k)`` of shape ``(h, w)``: weights
    from the layer gradients averaged over ``x + scale * noise[i]``, activations of the clean
    image, not upsampled or normalised."""
    missing = _not_answered("sgcampp_map", got)
    if missing is not None:
        return missing
    _check_noise(noise, x)
    c = _clean_target(model, x, target)
    a, acts, grads = _layer_records(model, x, noise, scale, c, layer)
    g_bar = torch.stack(grads).mean(dim=0)
    w = _expected_gradcampp_weights(a, g_bar)
    raw = torch.einsum("k,khw->hw", w, a)
    expected = raw.clamp(min=0)
    ok = _right(got, expected, "sgcampp_map", 1e-4)
    if ok is not None:
        return ok

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
         "you averaged g^2 and g^3 over the copies and took ReLU(g) and A from the last noisy "
         "pass (torchcam 0.5's SmoothGradCAMpp); the paper averages the first-order gradients "
         "and uses the clean image's activations."),
        (lambda: torch.einsum("k,khw->hw", _expected_gradcampp_weights(
            a, record_layer(model, x, c, layer).gradient), a).clamp(min=0),
         "this is plain Grad-CAM++ of the clean image: the gradients must come from the noisy "
         "copies."),
        (lambda: raw, "the map has negative values: apply the ReLU to the weighted sum."),
    ]
    for value, message in slips:
        fb = _slip(got, value(), message, "sgcampp_map")
        if fb is not None:
            return fb
    return check_close("sgcampp_map", got, expected,
                       atol=1e-4 * float(expected.abs().max()) + 1e-12, rtol=1e-3,
                       hints={"shape_unreduced": "sum the weighted activations over the channel "
                                                 "axis: torch.einsum('k,khw->hw', w, A).",
                              "values": "g_bar = mean of the layer gradients over the noisy "
                                        "copies; alpha and w from g_bar (Grad-CAM++); map = "
                                        "ReLU(sum_k w_k A_k) with the clean activations."})


def _ns_check(fn: Callable[..., Feedback], *names: str) -> Callable[[dict[str, Any]], Feedback]:
    return lambda ns: fn(*(ns[n] for n in names))


register_check(
    "smoothgrad.noise_scale",
    check=lambda ns: check_noise_scale(ns["s"], ns["x"], ns["sigma"]),
)

register_check(
    "smoothgrad.average",
    check=_ns_check(check_smoothgrad, "smooth", "model", "x", "noise", "s", "c"),
)

register_check(
    "smoothgrad.smoothgradcampp",
    check=_ns_check(check_smoothgradcampp_map, "sgcampp_map", "model", "x", "noise", "s", "c"),
)
