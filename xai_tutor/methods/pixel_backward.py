"""The backward pass the pixel methods share: the class score handed back to the input.

Gradient saliency, guided backprop and DeconvNet all compute ``d y_c / d x`` by one forward and
one backward pass; they differ only in what a ReLU passes back, the *rule* of
:mod:`xai_tutor.methods.relu_rules` (``"gradient"``: the plain gradient, ``"guided"``,
``"deconvnet"``). :func:`input_gradient` runs that pass for a whole batch (images are independent
in eval mode, so one backward pass of ``sum_b y_{b, c_b}`` gives every image its own gradient);
:func:`pixel_explanation` packages it as an :class:`~xai_tutor.explanation.Explanation`. SmoothGrad
(:mod:`xai_tutor.methods.smoothgrad`) averages any of them over noisy copies.

The images must already be checked (the registered methods are, see
:mod:`xai_tutor.methods.registry`).

Example::

    >>> import torch, torchvision
    >>> from xai_tutor.hooks import model_guard
    >>> net = torchvision.models.vgg11(weights=None).eval()
    >>> x = torch.rand(1, 3, 64, 64)
    >>> with model_guard(net):
    ...     grad, logits, target = input_gradient(net, x, 3, rule="guided")
    >>> tuple(grad.shape), target.tolist()
    ((1, 3, 64, 64), [3])
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ..explanation import Explanation, normalise_per_image, pixel_map
from ..hooks import model_guard
from .relu_rules import relu_rule
from .targets import resolve_target

__all__ = ["input_gradient", "pixel_explanation"]


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
    method: str,
    rule: str,
    params: dict[str, Any],
) -> Explanation:
    """Run :func:`input_gradient` inside a model guard and package the result as an Explanation.

    ``params`` are the method's own parameter values, recorded in the Explanation; the engine
    reads ``reduce`` (how the colour channels become one map) and ``times_input`` (default
    False) from them. ``attribution`` = the (signed) backpropagated signal, times the input if
    ``times_input``; ``saliency`` = ``normalise_per_image(pixel_map(attribution, reduce))``.
    """
    with model_guard(model):
        grad, logits, chosen = input_gradient(model, images, target, rule)
    attribution = grad * images if params.get("times_input", False) else grad
    score = logits.gather(1, chosen[:, None])[:, 0]
    return Explanation(
        attribution=attribution,
        saliency=normalise_per_image(pixel_map(attribution, params["reduce"])),
        target=chosen,
        score=score,
        method=method,
        layer=None,
        params=dict(params),
    )
