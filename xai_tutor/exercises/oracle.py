"""The passes through a model that the checks compute their expected values from.

Written with plain forward hooks and ``torch.autograd.grad``, never with :mod:`xai_tutor.methods`
(a check must not reuse the code it checks), inside :func:`~xai_tutor.hooks.model_guard`, which
puts the model back as it was. The passes run in the model's own dtype, as the learner's do: on a
deep model a float64 pass flips a few ReLUs near 0 and changes a map by more than rounding; the
results come back as float64 copies, and the checks scale their tolerances with the dtype.

Example::

    >>> import torch
    >>> from torch import nn
    >>> from xai_tutor.exercises.oracle import record_layer
    >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    ...                     nn.Linear(4, 2))
    >>> rec = record_layer(net, torch.rand(1, 3, 8, 8), target=1, layer="1")
    >>> tuple(rec.activation.shape), tuple(rec.gradient.shape), rec.target
    ((4, 6, 6), (4, 6, 6), 1)
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from ..hooks import model_guard

__all__ = [
    "LayerRecord",
    "module_named",
    "record_layer",
    "input_gradient",
    "forward_replacing",
    "guided_backprop_reference",
    "last_linear",
    "top_class",
]


@dataclass
class LayerRecord:
    """Activations ``A (K, h, w)`` of one image at a layer, the gradient ``dy_c/dA (K, h, w)``
    (None without ``grad``), the logits ``(classes,)`` and the class ``c``; float64 copies."""

    activation: torch.Tensor
    gradient: torch.Tensor | None
    logits: torch.Tensor
    target: int


def module_named(model: nn.Module, layer: str | None) -> tuple[str, nn.Module]:
    """``(name, module)`` of ``layer`` (default ``model.default_layer``), or a clear error."""
    name = layer or getattr(model, "default_layer", None)
    modules = dict(model.named_modules())
    if not isinstance(name, str) or name not in modules:
        raise ValueError(f"no layer named {name!r} in the model; pass layer='<dotted name>'")
    return name, modules[name]


def top_class(model: nn.Module, x: torch.Tensor) -> int:
    """The model's top class for the single image ``x``."""
    with model_guard(model), torch.no_grad():
        return int(model(x)[0].argmax())


def record_layer(model: nn.Module, x: torch.Tensor, target: int | None = None,
                 layer: str | None = None, grad: bool = True) -> LayerRecord:
    """One forward pass of the single image ``x`` with a forward hook on ``layer``, and (with
    ``grad``) the gradient of the target logit (default: the top class) at the layer's output."""
    _, module = module_named(model, layer)
    kept: dict[str, torch.Tensor] = {}

    def hook(_m: nn.Module, _i: tuple, out: torch.Tensor) -> torch.Tensor:
        kept["A"] = out
        return out.clone()  # an in-place op downstream must not change what we kept

    with model_guard(model), torch.set_grad_enabled(grad):
        leaf = x.detach().clone().requires_grad_(grad)
        handle = module.register_forward_hook(hook)
        try:
            logits = model(leaf)
        finally:
            handle.remove()
        c = int(logits[0].argmax()) if target is None else int(target)
        gradient = torch.autograd.grad(logits[0, c], kept["A"])[0][0].double() if grad else None
    return LayerRecord(kept["A"][0].detach().double(), gradient, logits[0].detach().double(), c)


def input_gradient(model: nn.Module, x: torch.Tensor, target: int | None = None
                   ) -> tuple[torch.Tensor, int]:
    """``dy_c/dx`` of the single image ``x`` as float64 ``(3, H, W)``, and the class ``c``."""
    with model_guard(model), torch.enable_grad():
        leaf = x.detach().clone().requires_grad_(True)
        logits = model(leaf)
        c = int(logits[0].argmax()) if target is None else int(target)
        (grad,) = torch.autograd.grad(logits[0, c], leaf)
    return grad[0].double(), c


def forward_replacing(model: nn.Module, x: torch.Tensor, replacement: torch.Tensor,
                      layer: str | None = None, batch_size: int = 64) -> torch.Tensor:
    """Logits ``(n, classes)`` of whole forward passes of ``x`` (one image) in which the layer's
    output is replaced by ``replacement[i]`` (``(n, K, h, w)``)."""
    _, module = module_named(model, layer)
    out = []
    with model_guard(model), torch.no_grad():
        for start in range(0, replacement.shape[0], batch_size):
            part = replacement[start:start + batch_size].to(x.dtype)
            handle = module.register_forward_hook(lambda _m, _i, _o, part=part: part.clone())
            try:
                out.append(model(x.expand(part.shape[0], *x.shape[1:])))
            finally:
                handle.remove()
    return torch.cat(out)


def guided_backprop_reference(model: nn.Module, x: torch.Tensor, target: int,
                              dtype: torch.dtype | None = None) -> torch.Tensor:
    """Guided backpropagation ``(3, H, W)``: a tensor hook on every ReLU/ReLU6 output clamps the
    arriving gradient to ``>= 0``; the ReLU's own backward then multiplies by the forward mask.

    Computed in ``dtype`` (default: the dtype of ``x``), on the model itself when its parameters
    already have that dtype, else on a converted copy. The dtype matters on deep models: in
    float64 a few pre-activations close to 0 change sign compared with float32, and every unit
    that flips changes the map near it by up to a few percent of its maximum (VGG16 at 224 x 224:
    0.4 %), far more than rounding.
    """
    dtype = x.dtype if dtype is None else dtype
    param = next(model.parameters(), None)
    net = model if param is None or param.dtype == dtype else copy.deepcopy(model).to(dtype)

    def hook(module: nn.Module, _i: tuple, out: torch.Tensor) -> torch.Tensor:
        out = out.clone()  # a fresh tensor to hang the hook on (in-place ReLUs share storage)
        out.register_hook(lambda g: g.clamp(min=0))
        return out

    with model_guard(net), torch.enable_grad():
        for m in net.modules():
            if isinstance(m, (nn.ReLU, nn.ReLU6)):
                m.inplace = False
                m.register_forward_hook(hook)  # removed by model_guard on exit
        leaf = x.detach().to(dtype).clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(net(leaf)[0, target], leaf)
    return grad[0].double()


def last_linear(model: nn.Module) -> nn.Linear:
    """The model's last ``nn.Linear`` (the classifier of a GAP + linear head)."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(f"{type(model).__name__} has no nn.Linear layer")
    return linears[-1]
