"""Running only the part of a network that comes after a layer (the *tail*).

Ablation-CAM evaluates the network once per zeroed channel; only the modules after the layer
see a different input, so recomputing everything before it is wasted work. :func:`find_tail`
records, during one forward pass, which modules run after the layer and what they receive, and
returns a :class:`Tail` when the rest of the network is a simple chain: at every level of the
layer's dotted name, the modules after it run once each, every one receives exactly the previous
one's output (possibly flattened, as ``torch.flatten`` between a ResNet's ``avgpool`` and ``fc``),
and the last one's output is the container's output (the logits at the top). That covers
``nn.Sequential`` models and torchvision's ResNet, VGG, EfficientNet and MobileNet at their last
conv block. The chain is finally checked by replaying it on the recorded activation: it must
reproduce the logits. When any check fails, :func:`find_tail` returns None and the caller falls
back to full forward passes with the layer's output replaced.

Example::

    >>> import torch, torchvision, xai_tutor
    >>> net = torchvision.models.resnet18(weights=None).eval()
    >>> x = torch.rand(1, 3, 64, 64)
    >>> with torch.no_grad():
    ...     tail = find_tail(net, "layer4", x)
    >>> [type(m).__name__ for m in tail.modules]
    ['AdaptiveAvgPool2d', 'Linear']
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from ...hooks import find_layer

__all__ = ["Tail", "find_tail"]


# modules whose output channel k depends only on input channel k and that map zeros to zeros
_CHANNELWISE = (
    nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d,
    nn.ReLU, nn.ReLU6, nn.Dropout, nn.Dropout2d, nn.Identity,
)


@dataclass
class Tail:
    """The modules after a layer with the input shape (without batch) each one expects
    (``None``: the previous module's output as it is, inside an ``nn.Sequential``)."""

    modules: list[nn.Module]
    shapes: list[tuple[int, ...] | None]
    out_shape: tuple[int, ...]

    def _run(self, t: torch.Tensor, start: int = 0, stop: int | None = None) -> torch.Tensor:
        for module, shape in list(zip(self.modules, self.shapes))[start:stop]:
            t = module(t if shape is None else t.reshape(t.shape[0], *shape))
        return t

    def __call__(self, activation: torch.Tensor) -> torch.Tensor:
        """Logits ``(n, classes)`` for a batch of layer outputs ``(n, K, h, w)``."""
        t = self._run(activation)
        return t.reshape(t.shape[0], *self.out_shape)

    def channel_ablator(self, activation: torch.Tensor):
        """A fast ``ks -> logits`` for one image's activation ``(1, K, h, w)`` with channel
        ``ks[i]`` zeroed in row ``i``, or None when the tail does not allow it.

        When the tail starts with channel-wise modules that keep zeros at zero (pooling, ReLU,
        dropout) followed by a linear layer, zeroing channel ``k`` removes exactly channel
        ``k``'s columns from that layer's input: ``W z_k = W z - W[:, cols_k] z[cols_k]``. All
        ``K`` corrections cost one product with ``W``; only the modules after the linear layer
        run per ablated copy (VGG16: the first 25088 x 4096 layer is done once, not 512 times).
        """
        split = 0
        while (split < len(self.modules) and isinstance(self.modules[split], _CHANNELWISE)
               and (self.shapes[split] is None or len(self.shapes[split]) == 3)):
            split += 1
        if split < len(self.modules) and isinstance(self.modules[split], nn.Flatten):
            split += 1  # flattening (B, K, h, w) keeps each channel's entries together
        if split == len(self.modules) or not isinstance(self.modules[split], nn.Linear):
            return None
        z = self._run(activation, 0, split)
        if self._run(torch.zeros_like(activation), 0, split).any():
            return None
        linear: nn.Linear = self.modules[split]
        channels = activation.shape[1]
        per = z[0].numel() // channels
        if z.shape[0] != 1 or not linear.in_features == channels * per == z[0].numel():
            return None
        base = linear(z.reshape(1, -1))  # (1, out)
        weight = linear.weight.reshape(linear.out_features, channels, per)
        correction = torch.einsum("okp,kp->ko", weight, z.reshape(channels, per))  # (K, out)

        def run(ks: torch.Tensor) -> torch.Tensor:
            t = self._run(base - correction[ks], split + 1)
            return t.reshape(t.shape[0], *self.out_shape)

        return run


@dataclass
class _Call:
    name: str
    order: int
    inputs: int
    input: torch.Tensor | None = None
    output: torch.Tensor | None = field(default=None, repr=False)


def _same(a: torch.Tensor | None, b: torch.Tensor | None) -> bool:
    if not isinstance(a, torch.Tensor) or not isinstance(b, torch.Tensor):
        return False
    if a.numel() != b.numel() or a.shape[0] != b.shape[0]:
        return False
    return torch.equal(a.reshape(b.shape), b)


def find_tail(model: nn.Module, layer: str, images: torch.Tensor) -> Tail | None:
    """A :class:`Tail` running ``model`` from ``layer``'s output to the logits, or None.

    Runs one forward pass of ``images`` (call it under ``torch.no_grad()``).
    """
    name, _ = find_layer(model, layer)
    parts = name.split(".")
    parents = [".".join(parts[:i]) for i in range(len(parts))]  # "" is the model itself
    modules = dict(model.named_modules())
    started = False
    counter = 0
    calls: dict[str, list[_Call]] = {}

    def qualified(parent: str, child: str) -> str:
        return f"{parent}.{child}" if parent else child

    def pre(qname: str):
        def hook(_m: nn.Module, args: tuple) -> None:
            nonlocal started, counter
            if qname == name:
                started = True
            counter += 1
            record = _Call(qname, counter, len(args))
            if started and len(args) == 1 and isinstance(args[0], torch.Tensor):
                record.input = args[0].detach().clone()
            calls.setdefault(qname, []).append(record)

        return hook

    def post(qname: str):
        def hook(_m: nn.Module, _args: tuple, output: object) -> None:
            if started and isinstance(output, torch.Tensor):
                calls[qname][-1].output = output.detach().clone()

        return hook

    handles = []
    try:
        for parent in parents:
            for child, module in modules[parent].named_children():
                qname = qualified(parent, child)
                handles.append(module.register_forward_pre_hook(pre(qname)))
                handles.append(module.register_forward_hook(post(qname)))
        logits = model(images)
    finally:
        for h in handles:
            h.remove()
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2:
        return None

    steps: list[nn.Module] = []
    shapes: list[tuple[int, ...] | None] = []
    for depth in range(len(parts), 0, -1):  # from the layer's own level up to the model
        parent = parents[depth - 1]
        path_child = ".".join(parts[:depth])
        names = [qualified(parent, c) for c, _ in modules[parent].named_children()]
        level = [calls[q] for q in names if q in calls]
        if path_child not in calls or len(calls[path_child]) != 1:
            return None
        order = calls[path_child][0].order
        if any(len(c) > 1 and c[-1].order > order for c in level):
            return None  # a module after the layer runs twice (e.g. a shared ReLU): no chain
        ordered = sorted((c[-1] for c in level), key=lambda c: c.order)
        start = next(i for i, c in enumerate(ordered) if c.name == path_child)
        chain = ordered[start:]
        for prev, nxt in zip(chain, chain[1:]):
            if nxt.inputs != 1 or not _same(prev.output, nxt.input):
                return None
            module = modules[nxt.name]
            if type(module) is nn.Sequential:  # a plain chain: run its children one by one
                children = list(module.children())
                steps.extend(children)
                shapes.extend([tuple(nxt.input.shape[1:])] + [None] * (len(children) - 1))
            else:
                steps.append(module)
                shapes.append(tuple(nxt.input.shape[1:]))
        parent_out = logits if parent == "" else calls[parent][-1].output
        if not _same(chain[-1].output, parent_out):
            return None
    tail = Tail(steps, shapes, tuple(logits.shape[1:]))
    replay = tail(calls[name][-1].output.clone())
    scale = float(logits.abs().max().clamp(min=1.0))
    if not torch.allclose(replay, logits, rtol=1e-4, atol=1e-5 * scale):
        return None
    return tail
