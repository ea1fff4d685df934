"""Guided backpropagation and DeconvNet as *modified ReLU backward rules*.

The plain input gradient (:mod:`xai_tutor.methods.gradient`) passes the signal ``g`` arriving at a
ReLU back only where the forward input ``x`` was positive. Two classic methods change just this
one step and keep every other layer's ordinary backward pass (convolutions backward = transposed
filters, max-pooling backward = routing through the "switches" of the forward pass):

=============  ============================================  ==================================
rule           backward through ``y = max(x, 0)``             paper
=============  ============================================  ==================================
``gradient``   ``g * 1[x > 0]``                               Simonyan et al. 2013
``guided``     ``g * 1[x > 0] * 1[g > 0]``                    Springenberg et al. 2015
``deconvnet``  ``max(g, 0)`` (the forward mask is ignored)    Zeiler & Fergus 2014
=============  ============================================  ==================================

``deconvnet`` is the "rectification" step of Zeiler & Fergus' deconvolutional network: their
unpooling with switches and filtering with transposed weights are exactly what autograd already
does for max-pooling and convolution, so swapping the ReLU backward turns the gradient into the
DeconvNet projection (:mod:`xai_tutor.methods.deconvnet` also builds it by hand).

This module holds the rules only; the methods that use them live in
:mod:`xai_tutor.methods.guided_backprop` and :mod:`xai_tutor.methods.deconvnet`, and the engine
that runs the backward pass in :mod:`xai_tutor.methods.gradient` (which imports this module, never
the other way round).

Mechanics: :func:`relu_rule` is a context manager that puts a forward hook on every ``nn.ReLU``
(and ``nn.ReLU6``, used by EfficientNet-Lite: there the forward mask is ``0 < x < 6``). The hook
replaces the module's output by ``_RuleReLU.apply(x)``, a custom :class:`torch.autograd.Function`
with the same forward values and the modified backward. In-place ReLUs are switched to
``inplace=False`` while the context is active (an in-place ReLU would overwrite ``x`` before the
hook sees it) and switched back on exit, also after an exception. ReLUs applied as functions
(``F.relu`` in a ``forward``) are invisible to hooks and keep the plain gradient rule.

Example::

    >>> import torch, torchvision, xai_tutor
    >>> net = torchvision.models.vgg11(weights=None).eval()
    >>> x = torch.rand(1, 3, 64, 64)
    >>> e = xai_tutor.explain(net, x, "guided_backprop", target=3)   # uses relu_rule
    >>> tuple(e.attribution.shape), tuple(e.saliency.shape)
    ((1, 3, 64, 64), (1, 64, 64))
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

__all__ = ["RULES", "relu_rule"]

RULES = ("gradient", "guided", "deconvnet")


class _RuleReLU(torch.autograd.Function):
    """``y = clamp(x, 0, upper)`` forward; the backward named by ``rule`` (see module docstring)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, rule: str, upper: float | None) -> torch.Tensor:
        ctx.rule = rule
        ctx.upper = upper
        ctx.save_for_backward(x)
        return x.clamp(min=0) if upper is None else x.clamp(min=0, max=upper)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, None, None]:
        (x,) = ctx.saved_tensors
        zero = torch.zeros((), dtype=grad.dtype, device=grad.device)
        if ctx.rule == "deconvnet":
            return torch.where(grad > 0, grad, zero), None, None
        passes = x > 0
        if ctx.upper is not None:
            passes = passes & (x < ctx.upper)
        if ctx.rule == "guided":
            passes = passes & (grad > 0)
        return torch.where(passes, grad, zero), None, None


def _relu_modules(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, (nn.ReLU, nn.ReLU6))]


@contextlib.contextmanager
def relu_rule(model: nn.Module, rule: str) -> Iterator[list[nn.Module]]:
    """Inside the block, every ``nn.ReLU``/``nn.ReLU6`` of ``model`` backpropagates with ``rule``.

    ``rule`` is one of ``"gradient"``, ``"guided"``, ``"deconvnet"``. The forward values are
    unchanged. Yields the list of modified modules. Hooks are removed and ``inplace`` flags restored
    on exit, whether or not the block raised. A model without ``nn.ReLU`` modules is refused,
    because the rule would silently have no effect.

    Example::

        with relu_rule(net, "deconvnet"):
            score = net(x.requires_grad_())[0, 3]
            projection, = torch.autograd.grad(score, x)
    """
    if rule not in RULES:
        raise ValueError(f"unknown ReLU rule {rule!r}; use one of {', '.join(RULES)}")
    relus = _relu_modules(model)
    if not relus:
        raise ValueError(
            f"{type(model).__name__} has no nn.ReLU (or nn.ReLU6) modules, so the {rule!r} ReLU "
            "rule cannot be applied; guided backprop and DeconvNet need ReLU activations defined "
            "as modules (F.relu inside forward() cannot be hooked)"
        )

    def hook(module: nn.Module, inputs: tuple, _output: torch.Tensor) -> torch.Tensor:
        upper = 6.0 if isinstance(module, nn.ReLU6) else None
        return _RuleReLU.apply(inputs[0], rule, upper)

    flags = [m.inplace for m in relus]
    handles = []
    try:
        for m in relus:
            m.inplace = False
            handles.append(m.register_forward_hook(hook))
        yield relus
    finally:
        for h in handles:
            h.remove()
        for m, flag in zip(relus, flags, strict=True):
            m.inplace = flag
