"""How many of the instances a map finds, and how much of each object it covers.

**Multi-instance coverage** (ours, for the paper's claim that explanations struggle with several
birds). Let ``U`` be the union of the instance masks and ``d_U = sum(s * U) / |U|`` the mean
saliency on the objects. Instance ``i`` is *covered* when its own mean saliency reaches a share
``fraction`` (default 0.5) of that:

    ``d_i = sum(s * m_i) / |m_i| >= fraction * d_U``   and   ``d_i > 0``.

In words: had the map spread its on-object relevance uniformly over the objects' area, each
instance would get ``d_U`` per pixel; an instance is covered if it gets at least half of its fair
share. ``coverage = covered / N``. It judges the *spread* over instances, not whether the map is on
the objects at all (that is :func:`relevance_mass`). Instances with an empty mask (fully occluded)
are left out; with no non-empty instance, or no saliency on the objects, the coverage is 0.
For one instance the coverage is 1 as soon as any saliency falls on it.

**Area recall**: share of the object pixels where the map is at least ``threshold`` (default 0.5
of its maximum): ``|{s >= threshold * max s} ∩ U| / |U|``, how much of the body a map lights up.

**Shape IoU**: intersection over union between ``U`` and the ``|U|`` highest-saliency pixels
(ties broken by row-major order): 1 when the map's top pixels trace exactly the objects' shape.

Example::

    >>> import numpy as np
    >>> m = np.zeros((2, 4, 4), bool); m[0, :2, :2] = True; m[1, 2:, 2:] = True
    >>> s = np.zeros((4, 4)); s[:2, :2] = 1.0; s[3, 3] = 0.1
    >>> multi_instance_coverage(s, m)
    0.5
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import instance_masks, saliency_map
from .registry import Subject, register_metric

__all__ = ["multi_instance_coverage", "covered_instances", "area_recall", "shape_iou"]


def covered_instances(saliency: Any, masks: Any, fraction: float = 0.5) -> np.ndarray:
    """Boolean ``(N,)``: which instances are covered (see the module docstring); empty -> False."""
    if not 0.0 <= fraction:
        raise ValueError(f"fraction must be >= 0; got {fraction}")
    s = saliency_map(saliency)
    m = instance_masks(masks, s.shape)
    union = m.any(axis=0)
    area_u = int(union.sum())
    out = np.zeros(len(m), dtype=bool)
    if area_u == 0:
        return out
    d_u = float(s[union].sum()) / area_u
    if d_u <= 0:
        return out
    for i, mi in enumerate(m):
        area = int(mi.sum())
        if area == 0:
            continue
        d_i = float(s[mi].sum()) / area
        out[i] = d_i > 0 and d_i >= fraction * d_u
    return out


def multi_instance_coverage(saliency: Any, masks: Any, fraction: float = 0.5) -> float:
    """Share of the (non-empty) instances that are covered; 0 when none is non-empty."""
    s = saliency_map(saliency)
    m = instance_masks(masks, s.shape)
    present = m.reshape(len(m), -1).any(axis=1)
    if not present.any():
        return 0.0
    covered = covered_instances(s, m, fraction)
    return float(covered[present].sum() / present.sum())


def area_recall(saliency: Any, masks: Any, threshold: float = 0.5) -> float:
    """Share of object pixels where ``s >= threshold * max(s)``; 0 for a zero map or no object."""
    s = saliency_map(saliency)
    union = instance_masks(masks, s.shape).any(axis=0)
    top = float(s.max())
    if top <= 0 or not union.any():
        return 0.0
    hot = s >= threshold * top
    return float((hot & union).sum() / union.sum())


def shape_iou(saliency: Any, masks: Any) -> float:
    """IoU between the objects' union ``U`` and the ``|U|`` highest-saliency pixels.

    Ties in the ranking are broken by row-major order (a stable sort). A constant map (no ranking
    information) scores 0, as does a scene without object pixels.
    """
    s = saliency_map(saliency)
    union = instance_masks(masks, s.shape).any(axis=0)
    k = int(union.sum())
    if k == 0 or s.max() == s.min():
        return 0.0
    order = np.argsort(-s.reshape(-1), kind="stable")[:k]
    top = np.zeros(s.size, dtype=bool)
    top[order] = True
    inter = int((top & union.reshape(-1)).sum())
    return inter / (2 * k - inter)


@register_metric("coverage", title="coverage", family="localisation", higher_is_better=True,
                 needs=("masks",), reference="ours (fair share per instance)")
def _score_coverage(s: Subject) -> float:
    return multi_instance_coverage(s.saliency, s.masks, **s.kwargs("coverage"))


@register_metric("recall", title="area recall", family="localisation", higher_is_better=True,
                 needs=("masks",), reference="ours (share of the objects above half the maximum)")
def _score_recall(s: Subject) -> float:
    return area_recall(s.saliency, s.masks, **s.kwargs("recall"))


@register_metric("shape_iou", title="shape IoU", family="localisation", higher_is_better=True,
                 needs=("masks",), reference="ours (top-|U| pixels against the objects)")
def _score_shape_iou(s: Subject) -> float:
    return shape_iou(s.saliency, s.masks)
