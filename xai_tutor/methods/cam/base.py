"""What every CAM method shares: one forward pass at a layer, the weighted sum, the output.

A CAM method explains class ``c`` with the activations ``A`` (``(B, K, h, w)``) of one layer::

    L = ReLU( sum_k w_k A_k )          (B, h, w), at feature-map resolution

and the methods differ only in the weights: one per channel, ``w_k`` (CAM, Grad-CAM, Grad-CAM++,
XGrad-CAM, Score-CAM, Ablation-CAM), or one per channel *and position*, ``w_k(a, b)``, so that
``L(a, b) = ReLU( sum_k w_k(a, b) A_k(a, b) )`` (HiResCAM, LayerCAM). This module does the rest
once:

* :func:`layer_pass` runs **one** forward pass while recording ``A`` (with
  :func:`xai_tutor.hooks.capture`, so in-place ReLUs cannot overwrite it), picks the target
  class and, when asked, differentiates the target logit ``y = logits[b, c_b]`` with respect to
  ``A`` by ``torch.autograd.grad(y.sum(), A)`` (images are independent, so summing over the
  batch gives every image its own gradient).
* :func:`weighted_map` forms ``sum_k w_k A_k`` (weights ``(B, K)`` or ``(B, K, h, w)``) and
  applies the method's ReLU.
* :func:`cam_explanation` turns the map into an :class:`~xai_tutor.explanation.Explanation`.

Conventions (the same for every method of the family except FullGrad, see ``fullgrad.py``):

* ``attribution`` is the map at the layer's resolution, ``(B, h, w)``, unnormalised, **after the
  method's ReLU when the method applies it there**. CAM (Zhou et al. 2016) has no ReLU and keeps
  its sign. Score-CAM's authors apply the ReLU at input resolution, after upsampling (its
  default, ``relu_at="input"``): its attribution is then the signed sum ``sum_k w_k A_k``.
* ``saliency`` is ``attribution`` upsampled bilinearly to the input size
  (``align_corners=False``, as OpenCV's ``resize`` used by most libraries), passed through the
  ReLU when the method applies it at that resolution, and then min-max scaled per image by
  :func:`~xai_tutor.explanation.normalise_per_image`; a constant map (e.g. all zeros) gives
  zeros, never NaN. Bilinear upsampling is linear and keeps non-negative maps non-negative, so
  the two orders of ReLU and upsampling agree whenever ``sum_k w_k A_k >= 0`` everywhere (e.g.
  positive weights on a layer after a ReLU) and differ only where the sum changes sign.

Everything stays on the model's device; no NumPy in the computation.

Example::

    >>> import torch, torchvision
    >>> net = torchvision.models.resnet18(weights=None).eval()
    >>> x = torch.rand(2, 3, 64, 64)
    >>> with model_guard(net):
    ...     p = layer_pass(net, x, None, "layer4", gradients=True)
    >>> w = p.gradients.mean(dim=(2, 3))         # Grad-CAM's weights
    >>> weighted_map(w, p.activation).shape
    torch.Size([2, 2, 2])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ...explanation import Explanation, normalise_per_image, upsample_map
from ...hooks import capture, find_layer, model_guard
from ...numerics import safe_divide
from ..layer_choice import default_layer
from ..targets import resolve_target

__all__ = [
    "Target",
    "LayerPass",
    "layer_pass",
    "weighted_map",
    "cam_explanation",
    "safe_divide",
    "model_guard",
]

Target = int | Sequence[int] | torch.Tensor | None


@dataclass
class LayerPass:
    """The result of :func:`layer_pass`.

    Attributes:
        images: the checked input ``(B, C, H, W)``.
        logits: ``(B, classes)`` of the unmodified forward pass (detached).
        target: ``(B,)`` class indices explained.
        score: ``(B,)`` target logits ``y_b = logits[b, target_b]`` (detached).
        activation: ``A``, ``(B, K, h, w)`` (detached).
        gradients: ``dy/dA``, same shape as ``A``, or ``None`` when not asked for.
        layer: dotted name of the layer.
        calls: how often the layer ran in the forward pass (the last call is recorded).
    """

    images: torch.Tensor
    logits: torch.Tensor
    target: torch.Tensor
    score: torch.Tensor
    activation: torch.Tensor
    gradients: torch.Tensor | None
    layer: str
    calls: int = 1


def _logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    out = model(x)
    if not isinstance(out, torch.Tensor) or out.dim() != 2:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"the model must return logits of shape (B, classes); got {shape}")
    return out


def layer_pass(
    model: nn.Module,
    images: torch.Tensor,
    target: Target,
    layer: str | nn.Module | None,
    gradients: bool,
) -> LayerPass:
    """One forward pass recording the layer's activations; optionally ``dy/dA`` by one backward.

    Must be called inside :func:`~xai_tutor.hooks.model_guard`, with images that passed
    :func:`~xai_tutor.methods.inputs.check_input` (every registered method's call does both).
    Works for a whole batch; with ``gradients=True`` the graph and the backward pass start at
    ``A`` (the forward records nothing before the layer; see :func:`~xai_tutor.hooks.capture`'s
    ``grad_from_layer``).
    """
    x = images.detach()
    name = default_layer(model) if layer is None else find_layer(model, layer)[0]
    # the forward runs without recording until the layer; from there on the hook records (when
    # gradients are asked for), so the graph holds only the layers after it, whatever the
    # parameters' requires_grad
    with capture(model, name, grad_from_layer=gradients) as cap, torch.no_grad():
        logits = _logits(model, x)
    with torch.set_grad_enabled(gradients):
        chosen = resolve_target(logits, target)
        score = logits.gather(1, chosen[:, None])[:, 0]
        act = cap.require()
        if act.dim() != 4:
            raise ValueError(
                f"layer {name!r} gives a tensor of shape {tuple(act.shape)}; the CAM family "
                "needs a convolutional layer with output (B, K, h, w)"
            )
        grads = None
        if gradients:
            (grads,) = torch.autograd.grad(score.sum(), act)
    return LayerPass(
        images=x,
        logits=logits.detach(),
        target=chosen,
        score=score.detach(),
        activation=act.detach(),
        gradients=grads,
        layer=name,
        calls=cap.calls,
    )


def weighted_map(
    weights: torch.Tensor, activation: torch.Tensor, relu: bool = True
) -> torch.Tensor:
    """``L = sum_k w_k A_k`` over the channels of activations ``(B, K, h, w)``; ReLU'd.

    ``weights`` is ``(B, K)`` (one weight per channel) or ``(B, K, h, w)`` (one per channel and
    position: ``L(a, b) = sum_k w_k(a, b) A_k(a, b)``).
    """
    weights = weights.to(activation.dtype)
    if weights.dim() == 2:
        cam = torch.einsum("bk,bkhw->bhw", weights, activation)
    elif weights.shape == activation.shape:
        cam = (weights * activation).sum(dim=1)
    else:
        raise ValueError(
            f"weights must be (B, K) or (B, K, h, w) like the activations "
            f"{tuple(activation.shape)}; got {tuple(weights.shape)}"
        )
    return torch.relu(cam) if relu else cam


def cam_explanation(
    method: str,
    maps: torch.Tensor,
    run: LayerPass,
    params: dict[str, Any],
    relu_after_upsampling: bool = False,
) -> Explanation:
    """Wrap ``(B, h, w)`` maps into an Explanation; saliency = upsample, then per-image min-max.

    ``relu_after_upsampling``: ``maps`` is the signed sum and the method's ReLU comes after the
    upsampling (saliency = min-max of ``ReLU(upsample(maps))``).
    """
    maps = maps.detach()
    size = (int(run.images.shape[-2]), int(run.images.shape[-1]))
    upsampled = upsample_map(maps, size)
    if relu_after_upsampling:
        upsampled = torch.relu(upsampled)
    saliency = normalise_per_image(upsampled)
    return Explanation(
        attribution=maps,
        saliency=saliency,
        target=run.target,
        score=run.score,
        method=method,
        layer=run.layer,
        params=params,
    )
