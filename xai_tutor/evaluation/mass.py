"""Relevance mass and rank accuracy inside the objects (Arras et al., "CLEVR-XAI", Information
Fusion 2022; Kohlbrenner et al. 2020).

``mass = sum(s * U) / sum(s)`` where ``U`` is the union of the instance masks: the share of the
map's total relevance that falls on the objects. 1 means everything is on the birds; a uniform map
scores the objects' area fraction. A map that sums to 0 scores 0 (it puts nothing anywhere).

**Relevance rank accuracy** (:func:`relevance_rank_accuracy`): with ``K = |U|`` the number of
object pixels and ``P_K`` the ``K`` pixels of highest saliency,

    ``rank accuracy = |P_K ∩ U| / K``.

1 when the top-``K`` pixels are exactly the objects; a map that ranks pixels at random scores
the area share ``K / (H W)`` on average. Ties in the ranking are broken by row-major order (a
stable sort), as in :func:`~xai_tutor.evaluation.shape_iou`; a constant map has no ranking and
scores 0, as does a scene without object pixels. The two are the same count: with
``I = |P_K ∩ U|``, ``shape IoU = I / (2K - I) = r / (2 - r)`` for ``r`` the rank accuracy, so they
order maps identically. Quantus 0.6 (``RelevanceRankAccuracy``) breaks ties in an unspecified
order (``np.argsort``, not stable), returns NaN for an empty mask and ranks a constant map
anyway; on maps without ties it agrees with ours.

Example::

    >>> import numpy as np
    >>> s = np.array([[1.0, 3.0], [0.0, 0.0]])
    >>> m = np.array([[[False, True], [False, False]]])
    >>> relevance_mass(s, m), relevance_rank_accuracy(s, m)
    (0.75, 1.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import instance_masks, saliency_map
from .registry import Subject, register_metric

__all__ = ["relevance_mass", "relevance_rank_accuracy", "instance_mass"]


def relevance_mass(saliency: Any, masks: Any) -> float:
    """Share of the (non-negative) saliency that lies inside the union of the masks."""
    s = saliency_map(saliency)
    union = instance_masks(masks, s.shape).any(axis=0)
    total = float(s.sum())
    if total <= 0:
        return 0.0
    return float(s[union].sum() / total)


def relevance_rank_accuracy(saliency: Any, masks: Any) -> float:
    """Share of the ``K = |U|`` highest-saliency pixels that lie on the objects (module
    docstring); ties in row-major order; 0 for a constant map or no object pixel."""
    s = saliency_map(saliency)
    union = instance_masks(masks, s.shape).any(axis=0).reshape(-1)
    k = int(union.sum())
    if k == 0 or s.max() == s.min():
        return 0.0
    top = np.argsort(-s.reshape(-1), kind="stable")[:k]
    return float(union[top].sum() / k)


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


@register_metric("mass", title="relevance mass", family="localisation", higher_is_better=True,
                 needs=("masks",), reference="Arras et al. 2022 (Information Fusion)")
def _score_mass(s: Subject) -> float:
    return relevance_mass(s.saliency, s.masks)


@register_metric("rank_accuracy", title="rank accuracy", family="localisation",
                 higher_is_better=True, needs=("masks",),
                 reference="Arras et al. 2022 (Information Fusion)")
def _score_rank_accuracy(s: Subject) -> float:
    return relevance_rank_accuracy(s.saliency, s.masks)
