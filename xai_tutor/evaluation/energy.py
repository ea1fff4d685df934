"""Energy-based pointing per instance: does every bird get its fair share of the map?

Energy-based pointing (Wang et al., "Score-CAM", 2020) asks what share of a map's energy lies in
the object's box. We ask it **per instance**, with exact masks, and relative to the instance's
area, so that a map cannot score by being large, or by sitting where birds usually are.

For a non-negative map ``s`` of ``H x W`` pixels and instance masks ``m_i``:

* ``p_i = sum(s * m_i) / sum(s)``: the share of the map's energy on instance ``i``;
* ``a_i = |m_i| / (H W)``: the share of the image the instance covers;
* the **energy ratio** ``r_i = p_i / a_i`` (:func:`instance_energy_ratios`): how many times more
  energy per pixel the instance gets than a uniform map would give it (uniform map: ``r_i = 1``);
* the **instance energy score** (:func:`instance_energy`) averages, over the ``N`` non-empty
  instances, the instance's energy relative to its *fair share* ``q_i = |m_i| / |U|`` of the union
  ``U`` of the masks, capped at 1:

      ``score = (1 / N) * sum_i min(1, p_i / q_i)``   (equivalently ``min(1, r_i * |U| / (H W))``).

Why this form. Each term is 1 exactly when bird ``i`` holds at least its fair share of *all* the
map's energy (off-object energy counts against it). Because ``sum_i p_i <= 1 = sum_i q_i`` (for
non-overlapping masks), the score is 1 **only** when ``p_i = q_i`` for every instance, i.e. when
all the energy is on the birds and spread over them in proportion to their size: a map equal to
the masks scores 1. A map with no energy on all birds but one scores at most ``1 / N``; a uniform
map scores ``|U| / (H W)``, the objects' area share; an image-blind centre blob scores well only
on the birds that happen to sit in the middle. The score does not change when the map is
multiplied by a positive constant. With one instance it equals the relevance mass. (An uncapped
mean of ``r_i`` would instead reward putting all the energy on the smallest bird.)

Conventions: instances with an empty mask (fully occluded) are left out; with no non-empty
instance, or a map that sums to 0, the score is 0 and the ratios are 0.

Example::

    >>> import numpy as np
    >>> m = np.zeros((2, 4, 4), bool); m[0, :2, :2] = True; m[1, 2:, 2:] = True
    >>> instance_energy(m.any(0).astype(float), m), instance_energy(m[0].astype(float), m)
    (1.0, 0.5)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import instance_masks, saliency_map
from .registry import Subject, register_metric

__all__ = ["instance_energy_ratios", "instance_energy"]


def instance_energy_ratios(saliency: Any, masks: Any) -> np.ndarray:
    """Per instance ``r_i = (sum(s m_i) / sum(s)) / (|m_i| / HW)``, shape ``(N,)``.

    1 means the instance gets the energy a uniform map would give it; ``HW / |m_i|`` (the most
    possible) means all the energy is on it. Empty instances and a zero map give 0.
    """
    s = saliency_map(saliency)
    m = instance_masks(masks, s.shape)
    total = float(s.sum())
    out = np.zeros(len(m))
    if total <= 0:
        return out
    for i, mi in enumerate(m):
        area = int(mi.sum())
        if area:
            out[i] = (float(s[mi].sum()) / total) / (area / s.size)
    return out


def instance_energy(saliency: Any, masks: Any) -> float:
    """Mean over non-empty instances of ``min(1, p_i / q_i)`` (module docstring); in [0, 1]."""
    s = saliency_map(saliency)
    m = instance_masks(masks, s.shape)
    areas = m.reshape(len(m), -1).sum(axis=1)
    present = areas > 0
    union = int(m.any(axis=0).sum())
    if not present.any():
        return 0.0
    ratios = instance_energy_ratios(s, m)[present]
    terms = np.minimum(1.0, ratios * union / s.size)
    return float(terms.mean())


@register_metric("energy", title="instance energy", family="localisation",
                 higher_is_better=True, needs=("masks",),
                 reference="ours, after Wang et al. 2020 (energy-based pointing)")
def _score_energy(s: Subject) -> float:
    return instance_energy(s.saliency, s.masks)
