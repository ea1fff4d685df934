"""Reading a network's insides without changing it.

Three tools live here, and every explanation method is built from them:

* :func:`find_layer` turns a dotted name (``"layer4"``, ``"features.29"``) or a module into the
  ``(name, module)`` pair, and answers a typo with the closest valid names.
* :func:`capture` is a context manager that records the output of one layer during a forward pass,
  so that the caller can take the gradient of a score with respect to it with
  :func:`torch.autograd.grad`. It uses a forward hook only and passes a *copy* of the output on to
  the rest of the network, so an in-place ReLU that follows the layer cannot overwrite what was
  recorded.
* :func:`model_guard` is a context manager that puts the model back exactly as it found it on exit
  (train/eval mode of every module, ``requires_grad`` and ``.grad`` of every parameter, in-place
  flags, hook dictionaries), also when the code inside raises.

Example::

    >>> import torch, torchvision
    >>> net = torchvision.models.resnet18(weights=None).eval()
    >>> x = torch.rand(1, 3, 64, 64)
    >>> with model_guard(net), capture(net, "layer4") as cap:
    ...     score = net(x)[0, 3]
    ...     grad, = torch.autograd.grad(score, cap.activation)
    >>> tuple(grad.shape)
    (1, 512, 2, 2)
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
from torch import nn

__all__ = [
    "LayerNotFoundError",
    "Capture",
    "find_layer",
    "layer_names",
    "capture",
    "model_guard",
    "forward_hooks",
]


class LayerNotFoundError(KeyError, ValueError):
    """A layer name that the model does not have. The message lists the nearest valid names."""

    def __str__(self) -> str:  # KeyError would otherwise quote the whole message
        return str(self.args[0])


def layer_names(model: nn.Module) -> list[str]:
    """All dotted names of the model's sub-modules, in definition order (the root is left out)."""
    return [name for name, _ in model.named_modules() if name]


def find_layer(model: nn.Module, layer: str | nn.Module) -> tuple[str, nn.Module]:
    """Return ``(dotted_name, module)`` for ``layer`` given by name or as a module of ``model``.

    Raises :class:`LayerNotFoundError` naming the closest valid names when the name is unknown,
    and ``TypeError`` for anything that is neither a string nor a module.
    """
    if isinstance(layer, nn.Module):
        for name, module in model.named_modules():
            if module is layer:
                return name, module
        raise LayerNotFoundError(
            f"the module {type(layer).__name__} given as layer is not part of the model"
        )
    if not isinstance(layer, str):
        raise TypeError(
            f"layer must be a dotted name such as 'layer4' or a module, not {type(layer).__name__}"
        )
    modules = dict(model.named_modules())
    if layer in modules and layer:
        return layer, modules[layer]
    names = layer_names(model)
    close = difflib.get_close_matches(layer, names, n=5, cutoff=0.4)
    if not close:  # fall back to names sharing the first component
        head = layer.split(".")[0]
        close = [n for n in names if n.split(".")[0] == head][:5] or names[-5:]
    raise LayerNotFoundError(
        f"the model has no layer named {layer!r}; nearest valid names: {', '.join(close)}"
    )


@dataclass
class Capture:
    """What :func:`capture` recorded: the layer's output of the last forward pass."""

    name: str
    module: nn.Module
    activation: torch.Tensor | None = None
    calls: int = 0
    _all: list[torch.Tensor] = field(default_factory=list, repr=False)

    def require(self) -> torch.Tensor:
        """The recorded activation; a clear error if the layer never ran."""
        if self.activation is None:
            raise RuntimeError(
                f"layer {self.name!r} was not used in the forward pass, so nothing was captured"
            )
        return self.activation


@contextlib.contextmanager
def capture(model: nn.Module, layer: str | nn.Module) -> Iterator[Capture]:
    """Record the output of ``layer`` during forward passes inside the ``with`` block.

    The recorded tensor stays part of the autograd graph, so ``torch.autograd.grad(score,
    cap.activation)`` gives ``d score / d A``; when nothing upstream requires gradients (frozen
    parameters, plain input) the activation is made a leaf that does, so the backward pass stops
    there instead of running down to the input. The network downstream receives ``A.clone()``,
    which protects the record from in-place operations (``ReLU(inplace=True)``, ``+=``). When the
    layer runs several times in one pass (a ResNet block's shared ReLU), the last call is kept.
    The hook is removed on exit, also after an exception.
    """
    name, module = find_layer(model, layer)
    record = Capture(name=name, module=module)

    def hook(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> torch.Tensor:
        if not isinstance(output, torch.Tensor):
            raise TypeError(
                f"layer {name!r} returns {type(output).__name__}; choose a layer that returns a "
                "single tensor"
            )
        if not output.requires_grad and torch.is_grad_enabled():
            # parameters are frozen inside model_guard and the input may not require grad:
            # make the activation a leaf of the graph so d score / d A still exists
            output = output.detach().requires_grad_(True)
        record.activation = output
        record.calls += 1
        record._all.append(output)
        return output.clone()

    handle = module.register_forward_hook(hook)
    try:
        yield record
    finally:
        handle.remove()


@contextlib.contextmanager
def forward_hooks(hooks: list[tuple[nn.Module, object]]) -> Iterator[None]:
    """Register ``(module, fn)`` forward hooks for the duration of the block, then remove them."""
    handles = []
    try:
        for module, fn in hooks:
            handles.append(module.register_forward_hook(fn))
        yield
    finally:
        for handle in handles:
            handle.remove()


_HOOK_DICTS = (
    "_forward_hooks",
    "_forward_pre_hooks",
    "_backward_hooks",
    "_backward_pre_hooks",
    "_forward_hooks_with_kwargs",
    "_forward_pre_hooks_with_kwargs",
    "_forward_hooks_always_called",
    "_state_dict_hooks",
)


@contextlib.contextmanager
def model_guard(model: nn.Module) -> Iterator[nn.Module]:
    """Leave ``model`` exactly as it was: mode, ``requires_grad``, ``.grad``, in-place flags, hooks.

    Inside the block the model is in eval mode and its parameters do not require gradients (the
    explanation methods differentiate with respect to inputs and activations only, so weight
    gradients would be wasted work). On exit everything is restored, whether or not the block
    raised, and hooks that were added to any module inside the block are removed.
    """
    modules = list(model.modules())
    training = [m.training for m in modules]
    inplace = [getattr(m, "inplace", None) for m in modules]
    hooks = [{d: dict(getattr(m, d)) for d in _HOOK_DICTS if hasattr(m, d)} for m in modules]
    params = list(model.parameters())
    requires = [p.requires_grad for p in params]
    grads = [p.grad for p in params]
    try:
        model.eval()
        for p in params:
            p.requires_grad_(False)
        yield model
    finally:
        for m, was_training in zip(modules, training):
            m.training = was_training
        for m, flag in zip(modules, inplace):
            if flag is not None:
                m.inplace = flag
        for m, saved in zip(modules, hooks):
            for d, content in saved.items():
                current = getattr(m, d)
                for key in list(current):
                    if key not in content:
                        del current[key]
        for p, req, g in zip(params, requires, grads):
            p.requires_grad_(req)
            p.grad = g
