"""Layer-wise Relevance Propagation (Bach et al. 2015), one concept per module.

* :mod:`.rules`: LRP-0, epsilon, gamma, z+, zB, flat — the formula of each rule;
* :mod:`.canonizers`: the model copy LRP works on (BatchNorm folded, explicit residual sums);
* :mod:`.composites`: which rule each layer gets (``epsilon_gamma_box``, ``epsilon_plus`` ...);
* :mod:`.engine`: layers whose backward pass carries relevance, and the graph check;
* :mod:`.method`: ``explain(model, x, "lrp", ...)`` and :func:`lrp_layerwise`.
"""

from .composites import COMPOSITES, assign_rules, default_composite
from .method import lrp, lrp_layerwise
from .rules import RULE_NAMES, Epsilon, Flat, Gamma, Rule, ZBox, Zero, ZPlus, make_rule

__all__ = [
    "COMPOSITES",
    "RULE_NAMES",
    "Epsilon",
    "Flat",
    "Gamma",
    "Rule",
    "ZBox",
    "Zero",
    "ZPlus",
    "assign_rules",
    "default_composite",
    "lrp",
    "lrp_layerwise",
    "make_rule",
]
