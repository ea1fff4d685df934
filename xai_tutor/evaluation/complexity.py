"""How concentrated a map is: Sparseness (Gini index) and Complexity (entropy).

A map that puts its relevance on a few pixels is easier to read than one that spreads it
everywhere. Both metrics look at the map alone (no image, no model, no masks); for a map
``s >= 0`` of ``n`` pixels (a signed attribution: pass its absolute value):

* **Sparseness** (Chalasani et al., "Concise explanations of neural networks using adversarial
  training", ICML 2020): the **Gini index** (Hurley and Rickard 2009) of the pixel values sorted
  increasingly, ``s_(1) <= ... <= s_(n)``,

      ``G = sum_i (2 i - n - 1) s_(i) / (n sum_i s_(i))``,   in ``[0, 1 - 1/n]``;

  0 for a constant map, ``1 - 1/n`` when all the relevance is on one pixel. Higher is sparser.
* **Complexity** (Bhatt et al., "Evaluating and aggregating feature-based model explanations",
  IJCAI 2020): the entropy of the map normalised to a distribution, ``p_i = s_i / sum_j s_j``,

      ``H = - sum_i p_i ln p_i``  (with ``0 ln 0 = 0``),   in ``[0, ln n]``;

  0 when all the relevance is on one pixel, ``ln n`` for a constant map. Lower is simpler.
* :func:`discrete_entropy`: the entropy of the *histogram* of the values (``bins`` equal-width
  bins from the map's minimum to its maximum, ``p_b`` = share of pixels in bin ``b``); the
  complexity measure of efficient MPRT (:mod:`.mprt`). A constant map fills one bin: 0.

Conventions: a map that is all zeros singles nothing out and is treated like a constant map
(sparseness 0, complexity ``ln n``). Quantus 0.6 adds ``1e-7`` to every value before the Gini
index and ``1e-12`` inside the logarithm, which moves the values by less than ``1e-6`` on our
maps, and returns NaN for an all-zero map's complexity.

Example::

    >>> import numpy as np
    >>> one_hot = np.zeros((2, 2)); one_hot[0, 0] = 1.0
    >>> sparseness(one_hot), complexity(one_hot), sparseness(np.ones((2, 2)))
    (0.75, 0.0, 0.0)
    >>> round(complexity(np.ones((2, 2))), 4) == round(float(np.log(4)), 4)
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import saliency_map
from .registry import Subject, register_metric

__all__ = ["sparseness", "complexity", "discrete_entropy"]


def sparseness(saliency: Any) -> float:
    """Gini index of the map's values (module docstring): 0 = flat, ``1 - 1/n`` = one pixel."""
    v = np.sort(saliency_map(saliency).reshape(-1))
    n, total = v.size, float(v.sum())
    if total <= 0:
        return 0.0
    i = np.arange(1, n + 1, dtype=np.float64)
    return float(((2 * i - n - 1) * v).sum() / (n * total))


def complexity(saliency: Any) -> float:
    """Entropy (natural log) of the map normalised to sum 1; ``ln n`` for a zero map."""
    v = saliency_map(saliency).reshape(-1)
    total = float(v.sum())
    if total <= 0:
        return float(np.log(v.size))
    p = v[v > 0] / total
    return float(-(p * np.log(p)).sum()) + 0.0  # + 0.0: no negative zero


def discrete_entropy(saliency: Any, bins: int = 100) -> float:
    """Entropy (natural log) of the histogram of the map's values in ``bins`` equal-width bins
    between its minimum and maximum; 0 for a constant map. Signed maps are accepted."""
    if not isinstance(bins, int) or isinstance(bins, bool) or bins < 1:
        raise ValueError(f"bins must be a positive int; got {bins!r}")
    from ..explanation import one_map

    v = one_map(saliency).reshape(-1)
    counts, _ = np.histogram(v, bins=bins)
    p = counts[counts > 0] / v.size
    return float(-(p * np.log(p)).sum()) + 0.0  # + 0.0: no negative zero


@register_metric("sparseness", title="sparseness (Gini)", family="complexity",
                 higher_is_better=True, reference="Chalasani et al. 2020 (ICML)")
def _score_sparseness(s: Subject) -> float:
    return sparseness(s.saliency)


@register_metric("complexity", title="complexity (entropy)", family="complexity",
                 higher_is_better=False, reference="Bhatt et al. 2020 (IJCAI)")
def _score_complexity(s: Subject) -> float:
    return complexity(s.saliency)
