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
DeconvNet projection (:mod:`xai_tutor.methods.deconvnet_projection` also builds it by hand).

This module holds the rules only; the methods that use them live in
:mod:`xai_tutor.methods.guided_backprop` and :mod:`xai_tutor.methods.deconvnet`, and the engine
that runs the backward pass in :mod:`xai_tutor.methods.pixel_backward` (which imports this
module, never the other way round).

Mechanics: :func:`relu_rule` is a context manager that, while it is active, intercepts every ReLU
call of the forward pass with a :class:`torch.overrides.TorchFunctionMode`: ``nn.ReLU`` modules,
but also ReLUs applied as functions inside a ``forward`` (``F.relu``, ``torch.relu``,
``x.relu()`` and their in-place forms, e.g. the final ``F.relu(features, inplace=True)`` of
torchvision's DenseNet, which hooks on modules would miss), and ``nn.ReLU6`` / ``F.relu6`` /
``F.hardtanh(x, 0, upper)`` (EfficientNet-Lite, MobileNetV2: there the forward mask is
``0 < x < upper``). Each call is replaced by ``_RuleReLU.apply(x)``, a custom
:class:`torch.autograd.Function` with the same forward values and the modified backward; an
in-place call writes the result back into its input, as the original would. Other non-linearities
(SiLU, GELU, Hardswish, ...) have no such rule and keep their plain gradient: the context warns,
naming the modules, when the model has any as modules, and on exit, naming the functions and how
often they ran, when its ``forward`` called them as functions (``F.silu``, ``F.gelu``,
``torch.sigmoid``, ``x.tanh()``, ...) without a module of that kind. A forward pass in which no
ReLU ran is refused on exit, because the rule would silently have had no effect.

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
import warnings
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

__all__ = ["RULES", "relu_rule"]

RULES = ("gradient", "guided", "deconvnet")


class _RuleReLU(torch.autograd.Function):
    """``y = clamp(x, 0, upper)`` forward (in place when the model asked for it); the backward
    named by ``rule`` (see module docstring).

    Like torch's own ReLU it saves its *output*: ``y > 0`` exactly where ``x > 0`` (and
    ``0 < y < upper`` where ``0 < x < upper``), so the forward mask costs no extra tensor, an
    in-place ReLU may overwrite ``x``, and the backward is one fused masking pass
    (``threshold_backward``) like the plain gradient's, plus a clamp for the rectification.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, rule: str, upper: float | None,
                inplace: bool) -> torch.Tensor:
        ctx.rule, ctx.upper = rule, upper
        if inplace:
            out = torch.relu_(x) if upper is None else x.clamp_(0, upper)
            ctx.mark_dirty(x)
        else:
            out = torch.relu(x) if upper is None else x.clamp(0, upper)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, None, None, None]:
        if ctx.rule == "deconvnet":  # rectify the signal; the forward mask is ignored
            return grad.clamp(min=0), None, None, None
        (out,) = ctx.saved_tensors
        if ctx.upper is None:
            passed = torch.ops.aten.threshold_backward(grad, out, 0)
        else:
            passed = torch.ops.aten.hardtanh_backward(grad, out, 0.0, ctx.upper)
        if ctx.rule == "guided":  # and keep only the positive signal
            passed = passed.clamp_(min=0)
        return passed, None, None, None


_RELU = (F.relu, torch.relu, torch.Tensor.relu)
_RELU_INPLACE = (F.relu_, torch.relu_, torch.Tensor.relu_)
_HARDTANH = (F.hardtanh, F.hardtanh_)
# activations without a guided / DeconvNet rule: their plain gradient is used
_OTHER_ACTIVATIONS = (
    nn.SiLU, nn.GELU, nn.Hardswish, nn.Mish, nn.ELU, nn.SELU, nn.CELU, nn.LeakyReLU, nn.PReLU,
    nn.Softplus, nn.Tanh, nn.Hardsigmoid, nn.Sigmoid,
)


# the same activations called as functions (the module each one stands for, to warn only once)
_OTHER_FUNCTIONS: dict[Any, type[nn.Module]] = {
    F.silu: nn.SiLU, F.gelu: nn.GELU, F.hardswish: nn.Hardswish, F.mish: nn.Mish,
    F.elu: nn.ELU, F.elu_: nn.ELU, F.selu: nn.SELU, F.selu_: nn.SELU, F.celu: nn.CELU,
    F.celu_: nn.CELU, F.leaky_relu: nn.LeakyReLU, F.leaky_relu_: nn.LeakyReLU,
    F.prelu: nn.PReLU, torch.prelu: nn.PReLU, F.softplus: nn.Softplus,
    F.hardsigmoid: nn.Hardsigmoid,
    torch.tanh: nn.Tanh, torch.tanh_: nn.Tanh, torch.Tensor.tanh: nn.Tanh,
    torch.Tensor.tanh_: nn.Tanh,
    torch.sigmoid: nn.Sigmoid, torch.sigmoid_: nn.Sigmoid, torch.Tensor.sigmoid: nn.Sigmoid,
    torch.Tensor.sigmoid_: nn.Sigmoid, F.sigmoid: nn.Sigmoid,
}


def _arg(args: tuple, kwargs: dict, index: int, name: str, default: Any) -> Any:
    return args[index] if len(args) > index else kwargs.get(name, default)


class _RuleMode(TorchFunctionMode):
    """Replaces every ReLU-like call by :class:`_RuleReLU` with ``rule``; counts the calls, and
    the calls of other activations (:data:`_OTHER_FUNCTIONS`) by name."""

    def __init__(self, rule: str) -> None:
        super().__init__()
        self.rule = rule
        self.calls = 0
        self.others: dict[Any, int] = {}

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        kwargs = kwargs or {}
        upper: float | None = None
        if func in _RELU:
            inplace = bool(_arg(args, kwargs, 1, "inplace", False)) if func is F.relu else False
        elif func in _RELU_INPLACE:
            inplace = True
        elif func is F.relu6:
            inplace, upper = bool(_arg(args, kwargs, 1, "inplace", False)), 6.0
        elif func in _HARDTANH and float(_arg(args, kwargs, 1, "min_val", -1.0)) == 0.0:
            upper = float(_arg(args, kwargs, 2, "max_val", 1.0))
            inplace = func is F.hardtanh_ or bool(_arg(args, kwargs, 3, "inplace", False))
        else:
            if func in _OTHER_FUNCTIONS:
                self.others[func] = self.others.get(func, 0) + 1
            return func(*args, **kwargs)
        self.calls += 1
        return _RuleReLU.apply(args[0], self.rule, upper, inplace)


@contextlib.contextmanager
def relu_rule(model: nn.Module, rule: str) -> Iterator[list[nn.Module]]:
    """Inside the block, every ReLU that ``model`` runs backpropagates with ``rule``.

    ``rule`` is one of ``"gradient"``, ``"guided"``, ``"deconvnet"``. ReLU modules and functional
    ReLUs (``F.relu`` in a ``forward``) alike; the forward values are unchanged. Yields the list of
    the model's ``nn.ReLU``/``nn.ReLU6`` modules (for information; functional calls have none).
    Warns when the model has other activations (their gradient is left plain): as modules on
    entry, as functions called in ``forward`` (``F.silu``, ``F.gelu``, ...) on exit. Raises a
    ValueError on exit when no ReLU ran inside the block. Nothing of the model is modified.

    Example::

        with relu_rule(net, "deconvnet"):
            score = net(x.requires_grad_())[0, 3]
            projection, = torch.autograd.grad(score, x)
    """
    if rule not in RULES:
        raise ValueError(f"unknown ReLU rule {rule!r}; use one of {', '.join(RULES)}")
    named = list(model.named_modules())  # one walk over the model serves every question below
    others = [f"{n} ({type(m).__name__})" for n, m in named if isinstance(m, _OTHER_ACTIVATIONS)]
    module_types = {type(m) for _, m in named}
    if others and rule != "gradient":
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        warnings.warn(
            f"the {rule!r} rule applies to ReLUs only; {type(model).__name__} also has other "
            f"activations ({shown}) whose backward stays the plain gradient",
            stacklevel=3,
        )
    mode = _RuleMode(rule)
    with mode:
        yield [m for _, m in named if isinstance(m, (nn.ReLU, nn.ReLU6))]
    functional = [f"{getattr(f, '__name__', f)} ({count} call{'s' if count > 1 else ''})"
                  for f, count in mode.others.items() if _OTHER_FUNCTIONS[f] not in module_types]
    if functional and rule != "gradient":
        warnings.warn(
            f"the {rule!r} rule applies to ReLUs only; the forward() of {type(model).__name__} "
            f"also calls other activations as functions ({', '.join(functional)}), whose "
            "backward stays the plain gradient",
            stacklevel=3,
        )
    if mode.calls == 0:
        raise ValueError(
            f"no ReLU ran in the forward pass of {type(model).__name__}, so the {rule!r} ReLU "
            "rule had no effect; guided backprop and DeconvNet need ReLU activations (nn.ReLU, "
            "nn.ReLU6, F.relu, torch.relu)"
        )
