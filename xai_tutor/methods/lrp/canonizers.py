"""Canonizing: turn the user's model into an equivalent copy whose layer graph LRP can see.

LRP is defined layer by layer, so three things must be made explicit first (Montavon et al. 2019,
sec. 10.3; Motzkus et al. 2022, "Measurably stronger explanation reliability via model
canonization"):

1. **BatchNorm folding.** In eval mode ``BN(conv(x)) = conv'(x)`` with
   ``w' = w * g / sqrt(var + eps)`` and ``b' = (b - mean) * g / sqrt(var + eps) + beta`` (per output
   channel). The folded conv gets the conv's rule; the BatchNorm becomes an identity.
2. **Residual sums.** ``out += identity`` hides the addition inside ``forward``. For blocks shaped
   like torchvision's ``BasicBlock`` / ``Bottleneck`` (children ``conv1, bn1, conv2, bn2[, conv3,
   bn3]``, a ReLU and a shortcut called ``downsample``/``down``/``shortcut``/``skip``) the copy gets
   an equivalent forward that adds through a :class:`~.engine.RelevanceSum`, which splits the
   relevance between branch and shortcut in proportion to their contributions.
3. **Layer wrappers.** ``Conv2d``, ``Linear`` and average pooling become
   :class:`~.engine.RelevanceLayer` objects (their rule is assigned later, see :mod:`.composites`).
   In-place ReLUs of the copy are made out-of-place.

All of this happens on ``copy.deepcopy(model)`` whose parameters and buffers are *shared* with the
user's model (the memo trick), so the copy costs no weight memory and the user's model is never
touched: folded and modified weights are new tensors.

Limits: a residual addition in an architecture of a different shape cannot be seen; the explanation
then stops with an error from :func:`~.engine.check_graph` rather than give wrong relevance, and
the copy's logits are compared with the original's to catch a canonical forward that differs.
"""

from __future__ import annotations

import copy
import types
from dataclasses import dataclass, field
from itertools import chain

import torch
from torch import nn

from ...hooks import _HOOK_DICTS
from .engine import Recorder, RelevanceLayer, RelevanceSum, Tap
from .rules import LinearMap

__all__ = ["CanonicalModel", "canonize", "fold_batchnorm", "find_residual_blocks"]

_SHORTCUT_NAMES = ("downsample", "down", "shortcut", "skip", "proj", "projection")
_LINEAR_TYPES = (nn.Conv2d, nn.Linear, nn.AvgPool2d, nn.AdaptiveAvgPool2d)
_PARAM_TYPES = (nn.Conv2d, nn.Linear, nn.BatchNorm2d)


@dataclass
class ResidualSpec:
    """Where a residual block keeps its parts (attribute names in the block)."""

    name: str
    convs: list[tuple[str, str | None]]
    relu: str
    shortcut: str | None


@dataclass
class CanonicalModel:
    """The canonical copy: ``model`` plus its relevance layers, sums and bookkeeping."""

    model: nn.Module
    layers: dict[str, RelevanceLayer]
    sums: dict[str, RelevanceSum]
    recorder: Recorder
    blocks: list[ResidualSpec] = field(default_factory=list)
    folded: list[tuple[str, str]] = field(default_factory=list)
    _biases: dict[str, torch.Tensor | None] = field(default_factory=dict)

    def use_bias(self, flag: bool) -> None:
        """Switch every layer between its bias and no bias (``zero_bias=True`` explanations)."""
        for name, layer in self.layers.items():
            layer.lin.bias = self._biases[name] if flag else None
            layer.lin._cache.clear()


def fold_batchnorm(
    conv: nn.Conv2d, bn: nn.BatchNorm2d
) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight and bias of the conv that equals ``bn(conv(x))`` in eval mode (new tensors)."""
    scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
    weight = conv.weight.detach() * scale.view(-1, 1, 1, 1)
    bias = conv.bias.detach() if conv.bias is not None else torch.zeros_like(bn.running_mean)
    bias = (bias - bn.running_mean) * scale + bn.bias.detach()
    return weight, bias


def _check_supported(model: nn.Module) -> None:
    for name, m in model.named_modules():
        own = [p for p in m._parameters.values() if p is not None]
        if own and not isinstance(m, _PARAM_TYPES):
            raise TypeError(
                f"LRP has no rule for the layer {name!r} of type {type(m).__name__} (a layer with "
                "parameters); supported layers with parameters are Conv2d, Linear and BatchNorm2d "
                "directly after a Conv2d"
            )
        if isinstance(m, nn.Conv2d) and m.padding_mode != "zeros":
            raise TypeError(
                f"LRP supports zero-padded convolutions only; {name!r} uses padding_mode="
                f"{m.padding_mode!r}"
            )
        if isinstance(m, nn.BatchNorm2d) and (m.running_mean is None or m.weight is None):
            raise TypeError(
                f"BatchNorm2d {name!r} has no running statistics or no affine parameters, so it "
                "cannot be folded into its convolution for LRP"
            )


def find_residual_blocks(model: nn.Module) -> list[tuple[nn.Module, ResidualSpec]]:
    """Blocks shaped like torchvision's BasicBlock/Bottleneck, found by their attribute names."""
    found = []
    for name, m in model.named_modules():
        if isinstance(m, (nn.Sequential, nn.ModuleList, nn.ModuleDict)):
            continue
        children = dict(m.named_children())
        convs: list[tuple[str, str | None]] = []
        i = 1
        while isinstance(children.get(f"conv{i}"), nn.Conv2d):
            bn = f"bn{i}" if isinstance(children.get(f"bn{i}"), nn.BatchNorm2d) else None
            convs.append((f"conv{i}", bn))
            i += 1
        if len(convs) < 2:
            continue
        relu = next((n for n, c in children.items() if isinstance(c, nn.ReLU)), None)
        shortcut = next((s for s in _SHORTCUT_NAMES if hasattr(m, s)), None)
        if relu is None or shortcut is None:
            continue
        short = shortcut if isinstance(getattr(m, shortcut), nn.Module) else None
        found.append((m, ResidualSpec(name, convs, relu, short)))
    return found


def _residual_forward(self: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The canonical block: ``relu(branch(x) + shortcut(x))`` with an explicit relevance sum."""
    spec: ResidualSpec = self.lrp_spec
    x = self.lrp_tap(x)
    relu = getattr(self, spec.relu)
    out = x
    for i, (conv, bn) in enumerate(spec.convs):
        out = getattr(self, conv)(out)
        if bn is not None:
            out = getattr(self, bn)(out)
        if i < len(spec.convs) - 1:
            out = relu(out)
    identity = x if spec.shortcut is None else getattr(self, spec.shortcut)(x)
    return relu(self.lrp_sum(out, identity))


def _set_child(root: nn.Module, dotted: str, new: nn.Module) -> None:
    parent_name, _, attr = dotted.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    parent._modules[attr] = new


def canonize(model: nn.Module, sum_stabilizer: float = 1e-6) -> CanonicalModel:
    """Build the canonical LRP copy of ``model`` (which is left untouched). Rules are unset."""
    _check_supported(model)
    shared = {id(t): t for t in chain(model.parameters(), model.buffers())}
    twin = copy.deepcopy(model, memo=shared)
    twin.eval()
    for m in twin.modules():
        for d in _HOOK_DICTS:
            if hasattr(m, d):
                getattr(m, d).clear()
        if isinstance(getattr(m, "inplace", None), bool):
            m.inplace = False

    recorder = Recorder()
    blocks = find_residual_blocks(twin)
    names = {id(m): n for n, m in twin.named_modules()}

    # 1. pair every BatchNorm2d with the Conv2d defined right before it
    folded: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    pairs: list[tuple[str, str]] = []
    for parent in twin.modules():
        kids = list(parent.named_children())
        for (_, a), (_, b) in zip(kids, kids[1:]):
            if (
                isinstance(a, nn.Conv2d)
                and isinstance(b, nn.BatchNorm2d)
                and b.num_features == a.out_channels
            ):
                pairs.append((names[id(a)], names[id(b)]))
                folded[names[id(a)]] = fold_batchnorm(a, b)
    paired_bn = {bn for _, bn in pairs}
    for name, m in twin.named_modules():
        if isinstance(m, nn.BatchNorm2d) and name not in paired_bn:
            raise TypeError(
                f"BatchNorm2d {name!r} does not directly follow a Conv2d (in the order the model "
                "defines its layers), so it cannot be folded for LRP"
            )

    # 2. wrap linear layers, turn folded BatchNorms into identities
    layers: dict[str, RelevanceLayer] = {}
    biases: dict[str, torch.Tensor | None] = {}
    for name, m in list(twin.named_modules()):
        if not isinstance(m, _LINEAR_TYPES):
            continue
        if name in folded:
            weight, bias = folded[name]
        elif isinstance(m, (nn.Conv2d, nn.Linear)):
            weight = m.weight.detach()
            bias = None if m.bias is None else m.bias.detach()
        else:
            weight = bias = None
        layer = RelevanceLayer(name, LinearMap.from_module(m, weight, bias), None, recorder)
        layers[name] = layer
        biases[name] = bias
        _set_child(twin, name, layer)
    for _, bn in pairs:
        _set_child(twin, bn, nn.Identity())

    # 3. explicit sums in residual blocks
    sums: dict[str, RelevanceSum] = {}
    specs = []
    for block, spec in blocks:
        block.lrp_spec = spec
        block.lrp_tap = Tap(spec.name, recorder)
        block.lrp_sum = RelevanceSum(f"{spec.name}.lrp_sum", recorder, sum_stabilizer)
        block.forward = types.MethodType(_residual_forward, block)
        sums[f"{spec.name}.lrp_sum"] = block.lrp_sum
        specs.append(spec)
    canon = CanonicalModel(twin, layers, sums, recorder, specs, pairs, biases)
    return canon
