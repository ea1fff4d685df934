"""Checks for notebook 09 (FullGrad).

The expected values are computed here from the paper's formulas (Srinivas & Fleuret 2019), in the
model's dtype, with plain forward hooks and ``torch.autograd.grad``
(:mod:`~xai_tutor.exercises.oracle`), not with :mod:`xai_tutor.methods.cam.fullgrad`:

* the effective bias of a BatchNorm layer in eval mode::

      BN(z) = gamma (z - mu) / sqrt(var + eps) + beta  =  s z + b,
      s = gamma / sqrt(var + eps),   b = beta - mu gamma / sqrt(var + eps)

* the bias-gradient term of a layer with output ``z`` and bias ``b`` (one value per channel,
  broadcast over the positions)::

      T = b * dy/dz                     (1, C, h, w)

* FullGrad's post-processing of a term (the authors' code, ``variant="authors"``)::

      psi(T) = upsample( sum_channels (|T| - min) / (max - min + 1e-6) )     (1, H, W)

  with ``min`` / ``max`` over all channels and positions of the image and bilinear upsampling
  with ``align_corners=True`` (as in idiap/fullgrad-saliency).

Each check accepts a right answer first, then names the typical slip (``beta`` alone, the square
root forgotten, ``gamma`` forgotten, the gradient without the bias, ``beta`` instead of the
effective bias, the absolute value forgotten, per-channel scaling, a mean over channels, no
upsampling, ...).

Example::

    >>> import torch
    >>> from torch import nn
    >>> bn = nn.BatchNorm2d(3).eval()
    >>> check_bn_bias(bn.bias.detach(), bn).ok     # beta alone is right only when mu = 0
    True
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .core import Expect, exercise
from .feedback import check_choice, image_size
from .oracle import module_named, record_layer

__all__ = [
    "check_bn_bias",
    "check_bias_term",
    "check_relu6_scaling",
    "check_postprocess",
]


def _bn_parts(bn: nn.Module) -> tuple[torch.Tensor, ...]:
    if not isinstance(bn, nn.BatchNorm2d):
        raise TypeError(f"bn must be an nn.BatchNorm2d layer; got {type(bn).__name__}")
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError("bn has no running statistics (track_running_stats=False)")
    mu = bn.running_mean.detach().double()
    var = bn.running_var.detach().double()
    gamma = bn.weight.detach().double() if bn.weight is not None else torch.ones_like(mu)
    beta = bn.bias.detach().double() if bn.bias is not None else torch.zeros_like(mu)
    return mu, var, gamma, beta


def _expected_bn_bias(bn: nn.Module) -> torch.Tensor:
    """``beta - mu gamma / sqrt(var + eps)`` in float64, shape ``(C,)``."""
    mu, var, gamma, beta = _bn_parts(bn)
    return beta - mu * gamma / torch.sqrt(var + bn.eps)


def _dtype(module: nn.Module) -> torch.dtype:
    """The dtype of the module's first parameter or buffer (float32 when it has none)."""
    for t in (*module.parameters(), *module.buffers()):
        if t.is_floating_point():
            return t.dtype
    return torch.float32


def _effective_bias(module: nn.Module) -> torch.Tensor:
    if isinstance(module, nn.BatchNorm2d):
        return _expected_bn_bias(module)
    bias = getattr(module, "bias", None)
    if not isinstance(bias, torch.Tensor):
        raise ValueError(f"layer {type(module).__name__} has no bias; pick a Conv2d with a bias "
                         "or a BatchNorm2d layer")
    return bias.detach().double()


def _output_gradient(model: nn.Module, x: torch.Tensor, target: int | None,
                     layer: str) -> tuple[torch.Tensor, nn.Module]:
    """``dy/dz`` (float64, ``(1, C, h, w)``) at the output of ``layer``, and the layer."""
    _, module = module_named(model, layer)
    return record_layer(model, x, target, layer).gradient[None], module


def _expected_bias_term(model: nn.Module, x: torch.Tensor, layer: str,
                        target: int | None = None) -> torch.Tensor:
    """``b * dy/dz`` for ``layer`` (float64, ``(1, C, h, w)``); ``b`` is the effective bias."""
    grad, module = _output_gradient(model, x, target, layer)
    return _effective_bias(module).reshape(1, -1, 1, 1) * grad


def _layer_scale(t: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    flat = t.reshape(t.shape[0], -1)
    low = flat.min(dim=1).values.reshape(-1, 1, 1, 1)
    high = flat.max(dim=1).values.reshape(-1, 1, 1, 1)
    return (t - low) / (high - low + eps)


def _channel_scale(t: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    low = t.amin(dim=(2, 3), keepdim=True)
    high = t.amax(dim=(2, 3), keepdim=True)
    return (t - low) / (high - low + eps)


def _up(m: torch.Tensor, size: tuple[int, int], mode: str = "bilinear",
        align_corners: bool | None = True) -> torch.Tensor:
    if mode == "nearest":
        return F.interpolate(m[:, None], size=size, mode="nearest")[:, 0]
    return F.interpolate(m[:, None], size=size, mode=mode, align_corners=align_corners)[:, 0]


def _expected_postprocess(term: torch.Tensor, size: Any) -> torch.Tensor:
    """``upsample(sum_c layer_normalise(|T|))`` for a term ``(B, C, h, w)``: ``(B, H, W)``."""
    t = term.detach().double()
    if t.dim() != 4:
        raise ValueError(f"term must have shape (B, C, h, w); got {tuple(t.shape)}")
    return _up(_layer_scale(t.abs()).sum(dim=1), image_size(size))


@exercise("fullgrad.bn_bias", "bn_bias", "bn", notebook="09")
def check_bn_bias(got: Any, bn: nn.Module) -> Expect:
    """The effective bias ``beta - mu gamma / sqrt(var + eps)`` of the BatchNorm layer ``bn`` (in
    eval mode), shape ``(C,)``."""
    expected = _expected_bn_bias(bn)
    mu, var, gamma, beta = _bn_parts(bn)
    slips = [
        (beta, "that is beta alone. In eval mode BatchNorm also subtracts the running mean: "
               "gamma (z - mu) / sqrt(var + eps) + beta, so the constant part is "
               "beta - mu gamma / sqrt(var + eps)."),
        (beta - mu, "you subtracted mu without the scale: the mean is multiplied by "
                    "gamma / sqrt(var + eps) like everything else, b = beta - mu gamma / "
                    "sqrt(var + eps)."),
        (beta - mu * gamma / (var + bn.eps), "the square root is missing: BatchNorm divides by "
                                             "the standard deviation sqrt(var + eps)."),
        (beta - mu / torch.sqrt(var + bn.eps), "gamma is missing: the normalised value is "
                                               "multiplied by gamma before beta is added."),
        (beta - mu * gamma / torch.sqrt(var), "almost: BatchNorm adds eps (bn.eps) to the "
                                              "variance before the square root."),
        (beta + mu * gamma / torch.sqrt(var + bn.eps), "the mean term has the wrong sign: "
                                                       "BatchNorm computes z - mu."),
        (mu * gamma / torch.sqrt(var + bn.eps) - beta, "every value has the wrong sign: "
                                                       "b = beta - mu gamma / sqrt(var + eps)."),
    ]
    return Expect(expected, slips, rtol=1e-4, atol_rel=1e-5, precision=_dtype(bn),
                  hints={"shape": "one value per channel: shape (C,), like bn.bias.",
                         "values": "use bn.running_mean, bn.running_var, bn.weight (gamma), "
                                   "bn.bias (beta) and bn.eps."})


@exercise("fullgrad.bias_term", "term", "net64", "x64", "term_layer", "c64", notebook="09")
def check_bias_term(got: Any, model: nn.Module, x: torch.Tensor, layer: str,
                    target: int | None = None) -> Expect:
    """The bias-gradient term ``b * dy/dz`` of ``layer`` (its effective bias times the
    gradient of the target logit at the layer's output), shape ``(1, C, h, w)``."""
    grad, module = _output_gradient(model, x, target, layer)
    b = _effective_bias(module)
    expected = b.reshape(1, -1, 1, 1) * grad
    slips = [
        (grad, "that is the gradient dy/dz alone: multiply it by the layer's bias, one value "
               "per channel, b.reshape(1, -1, 1, 1) * grad."),
        (b.reshape(1, -1, 1, 1).expand_as(grad), "that is the bias broadcast over the map: "
                                                 "multiply it by the gradient at the layer's "
                                                 "output."),
    ]
    if isinstance(module, nn.BatchNorm2d):
        _, _, _, beta = _bn_parts(module)
        slips.append((beta.reshape(1, -1, 1, 1) * grad,
                      "you used beta (bn.bias); the bias BatchNorm adds in eval mode is the "
                      "effective bias beta - mu gamma / sqrt(var + eps) of exercise 1."))
    return Expect(expected, slips, rtol=1e-4, atol_rel=1e-5, precision=x.dtype,
                  hints={"shape_unreduced": "keep the channels and the positions: the term has "
                                            "the shape of the layer's output.",
                         "shape_overreduced": "do not sum: the term has the shape of the layer's "
                                              "output (1, C, h, w).",
                         "values": "term = bias.reshape(1, -1, 1, 1) * grad, with grad the "
                                   "gradient of the class logit at the layer's output."})


@exercise("fullgrad.postprocess", "psi", "term", "size64", notebook="09")
def check_postprocess(got: Any, term: torch.Tensor, size: Any) -> Expect:
    """FullGrad's post-processing of one term ``(1, C, h, w)``: absolute value, one
    min-max scaling over all channels and positions (``+1e-6``), sum over the channels,
    bilinear upsampling to ``size`` = (H, W); shape ``(1, H, W)``."""
    size = image_size(size)
    t = term.detach().double()
    expected = _expected_postprocess(t, size)
    a = t.abs()
    slips = [
        (_up(_layer_scale(t).sum(dim=1), size),
         "the absolute value is missing: FullGrad scales |T| (negative and positive "
         "contributions both count as important)."),
        (_up(_channel_scale(a).sum(dim=1), size),
         "you scaled every channel on its own: that is the \"channel\" variant "
         "(pytorch-grad-cam); the official code scales the whole term at once, min and max "
         "over all channels and positions."),
        (_up(a.sum(dim=1), size), "the min-max scaling is missing: scale |T| to [0, 1] with one "
                                  "min and max over the whole term before summing the channels."),
        (_up(_layer_scale(a).mean(dim=1), size), "you averaged over the channels; FullGrad sums "
                                                 "them."),
        (_up(_layer_scale(a.sum(dim=1, keepdim=True)).sum(dim=1), size),
         "you summed the channels first and scaled afterwards; scale |T| first, then sum."),
        (_up(_layer_scale(a).sum(dim=1), size, "bilinear", False),
         "bilinear with align_corners=False: that is variant='layer' (OpenCV-style resizing); "
         "the authors' code upsamples with align_corners=True."),
        (_up(_layer_scale(a).sum(dim=1), size, "nearest", None),
         "nearest-neighbour upsampling: use mode='bilinear', align_corners=True."),
    ]
    return Expect(expected, slips, rtol=1e-4, atol_rel=1e-5, precision=term.dtype,
                  hints={"shape": f"upsample to the image size: shape (1, {size[0]}, {size[1]}) "
                                  "with F.interpolate(m[:, None], size=..., mode='bilinear', "
                                  "align_corners=True)[:, 0].",
                         "values": "psi = upsample(sum_c (|T| - min) / (max - min + 1e-6))."})


def _scaled_biases(net: nn.Module, t: float) -> nn.Module:
    """A copy of ``net`` whose every bias (for BatchNorm: beta and the running mean, so that its
    effective bias) is multiplied by ``t``."""
    scaled = copy.deepcopy(net)
    with torch.no_grad():
        for m in scaled.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.bias.mul_(t)
                m.running_mean.mul_(t)
            elif getattr(m, "bias", None) is not None and isinstance(m.bias, torch.Tensor):
                m.bias.mul_(t)
    return scaled


@exercise("fullgrad.relu6_scaling", "still_holds", "net64", "x64", "c64",
          notebook="09", prediction=True)
def check_relu6_scaling(got: Any, net: nn.Module, x: torch.Tensor, target: int,
                        t: float = 2.5) -> Expect:
    """Predict whether ``f(t x; t b) = t f(x; b)`` still holds (``True`` / ``False``) when every
    ReLU of ``net`` is replaced by ReLU6, ``min(max(z, 0), 6)``. Measured here on a copy."""
    relu6 = copy.deepcopy(net)
    for module in list(relu6.modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, nn.ReLU):
                setattr(module, child_name, nn.ReLU6())
    with torch.no_grad():
        y = float(relu6(x)[0, target])
        y_scaled = float(_scaled_biases(relu6, t)(t * x)[0, target])
        clipped = sum(int((out > 6).sum()) for out in _relu_inputs(relu6, t * x))
    holds = abs(y_scaled - t * y) <= 1e-9 * max(1.0, abs(y_scaled))
    why = ("ReLU6 clips at 6, and min(t z, 6) is not t min(z, 6) once t z > 6: a clipped unit "
           "outputs the constant 6 whatever its input, a constant that no bias accounts for, so "
           "scaling the input and the biases by t no longer scales the output by t. Completeness "
           "(the parts add up to the score) fails with it: that is EfficientNet-Lite's case.")
    return Expect(holds, judge=check_choice, choices=(True, False), why=why,
                  details=[f"t f(x; b) = {t * y:.6f}, f(t x; t b) = {y_scaled:.6f}; "
                           f"{clipped} ReLU6 inputs above 6 in the scaled pass"])


def _relu_inputs(net: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The inputs of every ReLU6 module of ``net`` for ``x`` (one forward pass)."""
    seen: list[torch.Tensor] = []
    handles = [m.register_forward_hook(lambda _m, i, _o: seen.append(i[0].detach()))
               for m in net.modules() if isinstance(m, nn.ReLU6)]
    try:
        net(x)
    finally:
        for h in handles:
            h.remove()
    return seen
