"""Relevance mass inside the objects (Arras et al., "CLEVR-XAI", 2022; Kohlbrenner et al. 2020).

``mass = sum(s * U) / sum(s)`` where ``U`` is the union of the instance masks: the share of the
map's total relevance that falls on the objects. 1 means everything is on the birds; a uniform map
scores the objects' area fraction. A map that sums to 0 scores 0 (it puts nothing anywhere).

Example::

    >>> import numpy as np
    >>> s = np.array([[1.0, 3.0], [0.0, 0.0]])
    >>> relevance_mass(s, np.array([[[False, True], [False, False]]]))
    0.75
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import instance_masks, saliency_map

__all__ = ["relevance_mass", "instance_mass"]


def relevance_mass(saliency: Any, masks: Any) -> float:
    """Share of the (non-negative) saliency that lies inside the union of the masks."""
    s = saliency_map(saliency)
    union = instance_masks(masks, s.shape).any(axis=0)
    total = float(s.sum())
    if total <= 0:
        return 0.0
    return float(s[union].sum() / total)


def instance_mass(saliency: Any, masks: Any) -> np.ndarray:
    """Share of the total saliency on each instance: ``sum(s * m_i) / sum(s)``, shape ``(N,)``.

    Masks of visible pixels do not overlap, so these add up to :func:`relevance_mass`; where they
    do overlap a pixel counts for every instance that contains it. All zeros when ``sum(s) = 0``.
    """
    s = saliency_map(saliency)
    m = instance_masks(masks, s.shape)
    total = float(s.sum())
    if total <= 0:
        return np.zeros(len(m))
    return np.array([float(s[mi].sum()) / total for mi in m])
