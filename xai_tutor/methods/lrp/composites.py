"""Composites: which rule each layer of a network gets.

Good LRP explanations use different rules at different depths (Montavon et al. 2019; Kohlbrenner
et al. 2020, "Towards best practice in explaining neural network decisions with LRP"):

``epsilon_gamma_box`` (default for plain VGG-like CNNs)
    zB on the first conv (pixels in a box), gamma on every other conv, epsilon on dense layers.
``epsilon_plus`` (default for ResNets, i.e. when residual blocks are found)
    zB on the first conv, z+ on every other conv, epsilon on dense layers.
``epsilon_plus_flat``
    as ``epsilon_plus`` but the flat rule on the first layer.
``epsilon`` / ``zero``
    LRP-epsilon / LRP-0 on every layer (pooling and residual sums included). With biases zeroed,
    ``zero`` conserves relevance exactly and equals gradient x input on ReLU networks.

Average pooling and residual sums get the proportional ("norm") rule, i.e. epsilon with the small
``stabilizer``, except in ``zero`` (exact) and ``epsilon`` (``epsilon``). ``gamma``, ``epsilon``,
``stabilizer``, ``low`` and ``high`` parametrise the rules.

A ``rules`` mapping overrides the composite per layer. Keys are a layer name (``"features.0"``),
the name of a container (``"layer4"``: every layer inside it) or a module type (``nn.Linear``);
values are rule names (``"zero"``, ``"epsilon"``, ``"gamma"``, ``"zplus"``, ``"zb"``, ``"flat"``)
or :class:`~.rules.Rule` instances. Exact names win over containers (the longest prefix wins),
containers over types. Example::

    explain(vgg, x, "lrp", composite="epsilon_gamma_box",
            rules={"features.28": "epsilon", "classifier": "zero"})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from .canonizers import CanonicalModel
from .rules import Epsilon, Rule, Zero, make_rule

__all__ = ["COMPOSITES", "default_composite", "assign_rules"]

COMPOSITES = ("epsilon_gamma_box", "epsilon_plus", "epsilon_plus_flat", "epsilon", "zero")

_TYPE_KINDS = {nn.Conv2d: "conv", nn.Linear: "linear"}


def default_composite(canon: CanonicalModel) -> str:
    """``epsilon_plus`` when the model has residual blocks, else ``epsilon_gamma_box``."""
    return "epsilon_plus" if canon.blocks else "epsilon_gamma_box"


def _composite_rule(composite: str, kind: str, first: bool, **p: Any) -> str | Rule:
    if composite == "zero":
        return Zero()
    if composite == "epsilon":
        return Epsilon(p["epsilon"])
    if kind == "pool":
        return Epsilon(p["stabilizer"])
    if kind == "linear":
        return "epsilon"
    if first:
        return "flat" if composite == "epsilon_plus_flat" else "zb"
    return "gamma" if composite == "epsilon_gamma_box" else "zplus"


def _override(
    name: str, kind: str, rules: Mapping[Any, Any]
) -> str | Rule | None:
    if name in rules:
        return rules[name]
    best, best_len = None, -1
    for key, value in rules.items():
        if isinstance(key, str) and name.startswith(key + ".") and len(key) > best_len:
            best, best_len = value, len(key)
    if best is not None:
        return best
    for key, value in rules.items():
        if isinstance(key, type) and _TYPE_KINDS.get(key) == kind:
            return value
        if isinstance(key, type) and kind == "pool" and issubclass(
            key, (nn.AvgPool2d, nn.AdaptiveAvgPool2d)
        ):
            return value
    return None


def assign_rules(
    canon: CanonicalModel,
    composite: str,
    rules: Mapping[Any, Any] | None = None,
    epsilon: float = 1e-6,
    gamma: float = 0.25,
    stabilizer: float = 1e-6,
    low: float | Sequence[float] | torch.Tensor | None = None,
    high: float | Sequence[float] | torch.Tensor | None = None,
) -> dict[str, str]:
    """Give every relevance layer and sum of ``canon`` its rule; returns ``{name: rule repr}``."""
    if composite not in COMPOSITES:
        raise ValueError(
            f"unknown LRP composite {composite!r}; use one of {', '.join(COMPOSITES)}"
        )
    rules = dict(rules or {})
    for key in rules:
        if not isinstance(key, (str, type)):
            raise TypeError(
                f"rules keys must be layer names or module types; got {key!r}"
            )
        if isinstance(key, str) and key not in canon.layers and not any(
            n.startswith(key + ".") for n in canon.layers
        ):
            raise ValueError(
                f"rules names the layer {key!r}, which is not a Conv2d/Linear/pooling layer of "
                f"the model (nor contains one); layers: {', '.join(list(canon.layers)[:12])} ..."
            )
    params = dict(epsilon=epsilon, gamma=gamma, stabilizer=stabilizer, low=low, high=high)
    first = next((n for n, l in canon.layers.items() if l.kind == "conv"), None)
    if first is None:
        first = next((n for n, l in canon.layers.items() if l.kind == "linear"), None)
    summary = {}
    for name, layer in canon.layers.items():
        spec = _override(name, layer.kind, rules)
        if spec is None:
            spec = _composite_rule(composite, layer.kind, name == first, **params)
        rule = make_rule(spec, **params)
        if layer.kind == "pool" and not rule.pool_ok:
            raise ValueError(
                f"average pooling {name!r} can only use the 'zero' or 'epsilon' rule; got "
                f"{rule.name!r}"
            )
        layer.rule = rule
        summary[name] = repr(rule)
    sum_eps = {"zero": 0.0, "epsilon": epsilon}.get(composite, stabilizer)
    for name, module in canon.sums.items():
        module.stabilizer = sum_eps
        summary[name] = f"Sum(stabilizer={sum_eps})"
    return summary
