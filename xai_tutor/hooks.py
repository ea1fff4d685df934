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
  (train/eval mode of every module, in-place flags, hook dictionaries), also when the code inside
  raises. It never touches the parameters: the methods differentiate with
  :func:`torch.autograd.grad` with respect to inputs and activations only, so ``requires_grad``
  and an existing ``.grad`` stay as they are (same tensors, same values), and the guard costs a
  few dictionary look-ups per module.

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
from torch.utils.hooks import RemovableHandle

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
def capture(
    model: nn.Module, layer: str | nn.Module, grad_from_layer: bool = False
) -> Iterator[Capture]:
    """Record the output of ``layer`` during forward passes inside the ``with`` block.

    The recorded tensor stays part of the autograd graph, so ``torch.autograd.grad(score,
    cap.activation)`` gives ``d score / d A``; when nothing upstream requires gradients (plain
    input, or the forward runs under ``torch.no_grad()``) the activation is made a leaf that does,
    so the backward pass stops there instead of running down to the input. The network
    downstream receives ``A.clone()``, which protects the record from in-place operations
    (``ReLU(inplace=True)``, ``+=``). When the layer runs several times in one pass (a ResNet
    block's shared ReLU), the last call is kept. The hook is removed on exit, also after an
    exception.

    ``grad_from_layer=True`` is for a forward pass run under ``torch.no_grad()``: the hook makes
    the activation a leaf and switches gradient recording on for the rest of that pass, so the
    autograd graph holds only the layers after ``layer`` (whatever the parameters'
    ``requires_grad``); the ``torch.no_grad()`` block restores the mode when it ends.
    """
    name, module = find_layer(model, layer)
    record = Capture(name=name, module=module)

    def hook(_module: nn.Module, _inputs: tuple, output: torch.Tensor) -> torch.Tensor:
        if not isinstance(output, torch.Tensor):
            raise TypeError(
                f"layer {name!r} returns {type(output).__name__}; choose a layer that returns a "
                "single tensor"
            )
        if grad_from_layer:
            torch.set_grad_enabled(True)
        if not output.requires_grad and torch.is_grad_enabled():
            # the input does not require grad (or the pass so far ran without recording):
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


def _next_hook_id() -> int:
    return RemovableHandle.next_id


@contextlib.contextmanager
def model_guard(model: nn.Module) -> Iterator[nn.Module]:
    """Leave ``model`` as it was: train/eval mode, in-place flags, hooks; parameters untouched.

    Inside the block the model is in eval mode. The parameters are not modified at all: the
    explanation methods differentiate with :func:`torch.autograd.grad` with respect to inputs and
    activations only, which neither computes nor accumulates weight gradients, so
    ``requires_grad`` and any existing ``.grad`` (same tensor objects, same values) are as the
    caller left them, and the guard's cost does not grow with the number of parameters.

    On exit, whether or not the block raised: the modules that were in training mode are put
    back in it, ``inplace`` flags are restored, a parameter's ``requires_grad`` or ``.grad`` that
    code inside the block changed is put back (a check, no copy), and every hook registered
    inside the block and still present is removed (hooks are keyed by a global, increasing
    handle id, so "registered inside" is "id >= the id counter at entry"; when the counter did
    not move, nothing is scanned).
    """
    modules = list(model.modules())
    was_training = {id(m) for m in modules if m.__dict__.get("training", False)}
    inplace = [(m, flag) for m in modules
               if isinstance(flag := m.__dict__.get("inplace"), bool)]
    params = [(p, p.requires_grad, p.grad) for m in modules
              for p in m.__dict__["_parameters"].values() if p is not None]
    first_id = _next_hook_id()
    try:
        if was_training:
            model.eval()
        yield model
    finally:
        for p, req, grad in params:  # reads only, unless code in the block changed them
            if p.requires_grad is not req:
                p.requires_grad_(req)
            if p.grad is not grad:
                p.grad = grad
        for m in modules:
            want = id(m) in was_training
            if m.__dict__.get("training", False) is not want:
                m.training = want
        for m, flag in inplace:
            if m.__dict__.get("inplace") is not flag:
                m.inplace = flag
        if _next_hook_id() != first_id:
            for m in modules:
                md = m.__dict__
                for d in _HOOK_DICTS:
                    hooks = md.get(d)
                    if hooks:
                        for key in [k for k in hooks if isinstance(k, int) and k >= first_id]:
                            del hooks[key]
