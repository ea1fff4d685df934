"""The LRP engine: layers whose backward pass carries relevance instead of gradients.

The idea: in the canonical copy of the model (see :mod:`.canonizers`) every linear layer
(``Conv2d``, ``Linear``, average pooling) is replaced by a :class:`RelevanceLayer` and every
residual addition by a :class:`RelevanceSum`. Both compute their ordinary output in the forward
pass, and in the backward pass receive the *relevance* ``R_k`` of their outputs (where autograd
would pass a gradient) and return the relevance ``R_j`` of their inputs given by their rule.
Everything between them keeps its ordinary backward, which is exactly what LRP asks for:

* ReLU: the gradient passes ``R`` where the unit was active; an inactive unit has ``a_k = 0``
  and therefore ``R_k = 0`` anyway, so this is the LRP pass-through rule;
* max-pooling: the gradient routes ``R`` to the winning input ("winner takes all");
* flatten / reshape / eval-mode dropout: identities.

So one call of ``torch.autograd.grad(logits, x, grad_outputs=R_out)`` runs the whole layer-wise
relevance pass, in the right order for any graph, ResNets included. Modified weights are computed
once per call and cached by each layer's :class:`~.rules.LinearMap`.

:func:`check_graph` walks the autograd graph before the backward pass and refuses operations
whose gradient is not a relevance rule (a residual ``+`` that was not turned into a
:class:`RelevanceSum`, a multiplication, a sigmoid ...), because their backward would create or
destroy relevance silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from .rules import LinearMap, Rule, safe_divide

__all__ = ["Recorder", "RelevanceLayer", "RelevanceSum", "Tap", "check_graph", "ALLOWED_NODES"]


@dataclass
class Recorder:
    """Collects ``(name, per-image relevance sum)`` during the backward pass when enabled."""

    enabled: bool = False
    records: list[tuple[str, torch.Tensor]] = field(default_factory=list)

    def add(self, name: str, relevance: torch.Tensor) -> None:
        if self.enabled:
            self.records.append((name, relevance.detach().flatten(1).sum(1)))


class _LayerRelevance(torch.autograd.Function):
    """Forward: the layer's output ``z``. Backward: ``R_in = rule(a, z, R_out)``."""

    @staticmethod
    def forward(ctx, a: torch.Tensor, layer: RelevanceLayer) -> torch.Tensor:  # type: ignore[override]
        z = layer.lin.forward(a)
        ctx.layer = layer
        ctx.save_for_backward(a, z)
        return z

    @staticmethod
    def backward(ctx, R: torch.Tensor):  # type: ignore[override]
        a, z = ctx.saved_tensors
        layer: RelevanceLayer = ctx.layer
        r_in = layer.rule.relevance(layer.lin, a, z, R)
        layer.recorder.add(layer.name, r_in)
        return r_in, None


class RelevanceLayer(nn.Module):
    """A linear layer (conv, dense, average pooling) that propagates relevance with ``rule``."""

    def __init__(
        self, name: str, lin: LinearMap, rule: Rule | None, recorder: Recorder
    ) -> None:
        super().__init__()
        self.name = name
        self.lin = lin
        self.rule = rule
        self.recorder = recorder

    @property
    def kind(self) -> str:
        return self.lin.kind

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        if self.rule is None:
            raise RuntimeError(f"no LRP rule was assigned to layer {self.name!r}")
        return _LayerRelevance.apply(a, self)

    def extra_repr(self) -> str:
        return f"{self.name!r}, {self.lin.kind}, rule={self.rule!r}"


class _SumRelevance(torch.autograd.Function):
    """Forward: ``y = x_1 + ... + x_n``. Backward: ``R_i = x_i / stab(y) * R`` (proportional)."""

    @staticmethod
    def forward(ctx, module: RelevanceSum, *xs: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        y = xs[0]
        for x in xs[1:]:
            y = y + x
        ctx.module = module
        ctx.save_for_backward(y, *xs)
        return y

    @staticmethod
    def backward(ctx, R: torch.Tensor):  # type: ignore[override]
        y, *xs = ctx.saved_tensors
        module: RelevanceSum = ctx.module
        s = safe_divide(R, y, module.stabilizer)
        out = [x * s for x in xs]
        for i, r in enumerate(out):
            module.recorder.add(f"{module.name}[{i}]", r)
        return (None, *out)


class RelevanceSum(nn.Module):
    """Explicit residual addition ``y = sum_i x_i``; relevance splits in proportion to ``x_i``."""

    def __init__(self, name: str, recorder: Recorder, stabilizer: float = 1e-6) -> None:
        super().__init__()
        self.name = name
        self.recorder = recorder
        self.stabilizer = stabilizer

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return _SumRelevance.apply(self, *xs)

    def extra_repr(self) -> str:
        return f"{self.name!r}, stabilizer={self.stabilizer}"


class _TapRelevance(torch.autograd.Function):
    """Identity that records the total relevance arriving at a tensor (e.g. a block's input)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, name: str, recorder: Recorder) -> torch.Tensor:  # type: ignore[override]
        ctx.name = name
        ctx.recorder = recorder
        return x.clone()

    @staticmethod
    def backward(ctx, R: torch.Tensor):  # type: ignore[override]
        ctx.recorder.add(ctx.name, R)
        return R, None, None


class Tap(nn.Module):
    """Records the relevance of its input under ``name`` (only when the recorder is enabled)."""

    def __init__(self, name: str, recorder: Recorder) -> None:
        super().__init__()
        self.name = name
        self.recorder = recorder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.recorder.enabled:
            return x
        return _TapRelevance.apply(x, self.name, self.recorder)


# Autograd nodes whose backward is a valid relevance rule (pass-through, winner-takes-all,
# reshapes) or one of ours. Anything else in the graph stops the explanation with a clear error.
ALLOWED_NODES = frozenset(
    {
        "_LayerRelevanceBackward",
        "_SumRelevanceBackward",
        "_TapRelevanceBackward",
        "ReluBackward0",
        "ReluBackward1",
        "ThresholdBackward0",
        "ThresholdBackward1",
        "MaxPool2DWithIndicesBackward0",
        "AdaptiveMaxPool2DBackward0",
        "ViewBackward0",
        "ReshapeAliasBackward0",
        "UnsafeViewBackward0",
        "CloneBackward0",
        "AliasBackward0",
        "SqueezeBackward0",
        "SqueezeBackward1",
        "SqueezeBackwardAutogradNestedTensor0",
        "UnsqueezeBackward0",
        "FlattenBackward0",
        "CatBackward0",
        "AccumulateGrad",
        "ToCopyBackward0",
    }
)

_HINTS = {
    "Add": "a residual '+' / '+=' that LRP cannot see; xai_tutor rewrites torchvision-style "
    "residual blocks (conv1/bn1/relu/conv2/bn2[/conv3/bn3]/downsample) itself, other blocks need "
    "their addition written with an explicit Sum module",
    "Mul": "a multiplication (gating, squeeze-excitation, attention) has no LRP rule here",
    "Sigmoid": "LRP here supports ReLU networks only",
    "Hardtanh": "ReLU6 / hardtanh clip relevance; LRP here supports ReLU networks only",
    "Silu": "LRP here supports ReLU networks only",
    "Gelu": "LRP here supports ReLU networks only",
    "AvgPool": "a functional average pooling (F.avg_pool2d); use nn.AvgPool2d modules",
    "Convolution": "a functional convolution (F.conv2d) that is not an nn.Conv2d module",
}


def check_graph(output: torch.Tensor) -> None:
    """Raise ``ValueError`` if the graph behind ``output`` holds an op without an LRP rule."""
    seen: set[int] = set()
    stack = [output.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        name = type(node).__name__
        if name not in ALLOWED_NODES:
            hint = next((h for k, h in _HINTS.items() if name.startswith(k)), None)
            hint = hint or "its backward pass is not a relevance rule"
            raise ValueError(
                f"LRP cannot explain this model: its forward pass contains the operation {name} "
                f"({hint}). LRP needs a layer graph it can see: Conv2d, Linear, BatchNorm2d after "
                "a conv, ReLU, max/avg pooling modules, flatten, dropout and torchvision-style "
                "residual blocks are supported."
            )
        stack.extend(fn for fn, _ in node.next_functions)
