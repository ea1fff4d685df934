"""Correctness against ground truth: does the map show what the model is known to use?

The localisation metrics score a map against *where the bird is*. An explanation claims to
show *what the model uses*. On the models of :mod:`xai_tutor.reliance` that is known, measured
by intervention: the logit drop ``d_r = f_t(x) - f_t(x without r)`` of each region ``r`` of a
scene, removed alone by re-rendering the scene without it (FunnyBirds, Hesse et al. ICCV 2023;
IDSDS, Hesse et al. NeurIPS 2024). Three scores compare a non-negative map ``S`` with them.

**Region shares.** ``s_r = sum_{p in r} S_p / sum_p S_p``: the share of the map on region ``r``
(the regions partition the image, so the shares sum to 1; all 0 for a map that sums to 0).

**Drop shares.** ``w_r = max(d_r, 0) / sum_q max(d_q, 0)``: how the model's reliance is split
between the regions (the positive drops, normalised). Undefined (NaN) when no removal lowers the
logit by :data:`MIN_DROP` (half a logit, fifty times the largest mean drop of a control square
of fresh background on the cue models, ``data/models/README.md``): then nothing in the scene is
measurably used for that class, and the scene has no ground truth for it (every score below is
NaN there).

**Mass on what is used** (:func:`truth_mass`, metric ``truth_mass``)::

    truth_mass = sum_r min(s_r, w_r)  =  1 - (1/2) sum_r |s_r - w_r|

the overlap of the map's split with the model's split (one minus their total-variation
distance), in ``[0, 1]``. For a model that uses one region (``w`` = 1 there) it is the map's
share on that region; for a model that uses two (the mixed cue model: bird about 2/3, badge
about 1/3) a map scores 1 only when it splits its mass as the drops do, and a map all on the
bird scores ``w_bird``.

**Rank correlation with the drops** (:func:`drop_rank_correlation`, metric ``truth_rank``):
Spearman's rho between the map's sum over each part ``a_r = sum_{p in r} S_p`` and the part's
single-deletion drop ``d_r``, over the parts of one scene (NaN when no region's drop reaches
:data:`MIN_DROP`) (IDSDS's correlation; the parts of
:func:`xai_tutor.reliance.parts.part_scene`: the bird in quarters, the badge, the rest in grid
cells, so that one scene gives a dozen pairs rather than three). Ties get mean ranks; 0 when
either side is constant (a map that ranks nothing predicts nothing).

**Contrastivity** (:func:`contrastivity`, metric ``truth_contrast``): explain the same image for
two classes, ``t`` and ``u`` (on a *swap* scene the bird's class and the badge's class). The
model's reliance moves by ``Δw = w(u) - w(t)``, the map by ``Δs = s(u) - s(t)``; the score is
the share of the reliance's move that the map makes, projected on its direction::

    contrastivity = sum_r Δs_r Δw_r / sum_r Δw_r²

1 when the map moves as the reliance does, 0 when it does not move (a map blind to the class),
negative when it moves the wrong way; NaN when the reliance does not move (``Δw = 0``). On the
mixed cue model ``w(t) ≈ (1, 0, 0)`` and ``w(u) ≈ (0, 1, 0)`` over (bird, badge, rest), so it
is ``((s_cue(u) - s_cue(t)) - (s_bird(u) - s_bird(t))) / 2``.

The three are registered in :data:`~xai_tutor.evaluation.METRICS` (family ``ground_truth``,
need ``truth``: a :class:`GroundTruth` on the :class:`~xai_tutor.evaluation.Subject`); the study
across methods and models is :mod:`xai_tutor.trust`.

Example::

    >>> import numpy as np
    >>> regions = {"bird": np.array([[1, 0], [0, 0]], bool), "cue": np.array([[0, 1], [0, 0]],
    ...            bool), "rest": np.array([[0, 0], [1, 1]], bool)}
    >>> s = np.array([[3.0, 1.0], [0.0, 0.0]])
    >>> region_shares(s, regions)
    {'bird': 0.75, 'cue': 0.25, 'rest': 0.0}
    >>> truth_mass(s, regions, {"bird": -0.1, "cue": 5.0, "rest": 0.0})   # a shortcut model
    0.25
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._checks import saliency_map
from .randomisation import rankdata
from .registry import Subject, register_metric

__all__ = ["GroundTruth", "MIN_DROP", "region_shares", "drop_shares", "truth_mass",
           "drop_rank_correlation", "rank_correlation", "contrastivity"]

#: the smallest logit drop that counts as evidence that a region is used (module docstring)
MIN_DROP = 0.5


@dataclass(frozen=True)
class GroundTruth:
    """What a model is known to use in one scene, for the ``ground_truth`` metrics.

    Attributes:
        regions: ``{name: (H, W) bool}``, a partition of the image (e.g. bird, cue, rest).
        drops: ``{name: logit drop}`` of the explained class for each of ``regions``.
        parts: a finer partition (:func:`xai_tutor.reliance.parts.part_scene`), or None.
        part_drops: the drop of each part, or None.
        other: a second class to explain (contrastivity), or None.
        other_drops: ``{name: logit drop}`` of ``other`` for each of ``regions``, or None.
    """

    regions: Mapping[str, np.ndarray]
    drops: Mapping[str, float]
    parts: Mapping[str, np.ndarray] | None = None
    part_drops: Mapping[str, float] | None = None
    other: int | None = None
    other_drops: Mapping[str, float] | None = None


def _regions(regions: Mapping[str, Any], shape: tuple[int, int]) -> dict[str, np.ndarray]:
    if not isinstance(regions, Mapping) or not regions:
        raise TypeError("regions must be a non-empty mapping {name: (H, W) bool mask}")
    out = {}
    for name, mask in regions.items():
        m = np.asarray(mask)
        if m.shape != tuple(shape):
            raise ValueError(f"region {name!r} has shape {m.shape}; the map is {shape}")
        out[name] = m.astype(bool)
    return out


def _values(values: Mapping[str, float], names: Any, what: str) -> np.ndarray:
    missing = [n for n in names if n not in values]
    if missing:
        raise ValueError(f"{what} lacks the region(s) {', '.join(map(str, missing))}")
    return np.array([float(values[n]) for n in names])


def region_shares(saliency: Any, regions: Mapping[str, Any]) -> dict[str, float]:
    """``{name: s_r}``: the share of the map's sum on each region (module docstring)."""
    s = saliency_map(saliency)
    masks = _regions(regions, s.shape)
    total = float(s.sum())
    return {n: (float(s[m].sum()) / total if total > 0 else 0.0) for n, m in masks.items()}


def drop_shares(drops: Mapping[str, float], floor: float = MIN_DROP) -> dict[str, float]:
    """``{name: w_r}``: each region's share of the positive drops; all NaN when no drop
    reaches ``floor``."""
    positive = {n: max(float(d), 0.0) for n, d in drops.items()}
    total = sum(positive.values())
    used = bool(positive) and max(positive.values()) >= floor and total > 0
    return {n: (d / total if used else float("nan")) for n, d in positive.items()}


def truth_mass(saliency: Any, regions: Mapping[str, Any], drops: Mapping[str, float]) -> float:
    """``sum_r min(s_r, w_r)``: the map's mass on what the model uses, split as it uses it."""
    s = region_shares(saliency, regions)
    w = drop_shares(_values_dict(drops, s))
    return float(sum(min(s[n], w[n]) for n in s))


def _values_dict(values: Mapping[str, float], like: Mapping[str, Any]) -> dict[str, float]:
    return dict(zip(like, _values(values, list(like), "drops")))


def rank_correlation(a: Any, b: Any) -> float:
    """Spearman's rho of two equal-length vectors (mean ranks for ties); 0 when one is
    constant; NaN for fewer than 2 values."""
    x, y = np.asarray(a, float).reshape(-1), np.asarray(b, float).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"vectors must have the same length; got {x.size} and {y.size}")
    if x.size < 2:
        return float("nan")
    rx, ry = rankdata(x), rankdata(y)
    rx -= rx.mean()
    ry -= ry.mean()
    den = float(np.sqrt((rx**2).sum() * (ry**2).sum()))
    return float((rx * ry).sum() / den) if den > 0 else 0.0


def drop_rank_correlation(saliency: Any, parts: Mapping[str, Any],
                          drops: Mapping[str, float]) -> float:
    """Spearman's rho between the map's sum on each part and the part's logit drop."""
    s = saliency_map(saliency)
    masks = _regions(parts, s.shape)
    sums = np.array([float(s[m].sum()) for m in masks.values()])
    return rank_correlation(sums, _values(drops, list(masks), "drops"))


def contrastivity(saliency: Any, other_saliency: Any, regions: Mapping[str, Any],
                  drops: Mapping[str, float], other_drops: Mapping[str, float]) -> float:
    """``sum_r Δs_r Δw_r / sum_r Δw_r²`` (module docstring): how far the map moves between the
    two explained classes, as a share of how far the model's reliance moves; NaN when it does
    not move or when a class uses nothing in the scene."""
    s_t, s_u = region_shares(saliency, regions), region_shares(other_saliency, regions)
    w_t = drop_shares(_values_dict(drops, s_t))
    w_u = drop_shares(_values_dict(other_drops, s_t))
    dw = np.array([w_u[n] - w_t[n] for n in s_t])
    ds = np.array([s_u[n] - s_t[n] for n in s_t])
    norm = float((dw**2).sum())
    if not np.isfinite(norm) or norm == 0:
        return float("nan")
    return float((ds * dw).sum() / norm)


@register_metric("truth_mass", title="mass on what is used", family="ground_truth",
                 higher_is_better=True, needs=("truth",), judged=False,
                 reference="ours, on Hesse et al. 2023 (ICCV) single deletions")
def _score_truth_mass(s: Subject) -> float:
    return truth_mass(s.saliency, s.truth.regions, s.truth.drops)


@register_metric("truth_rank", title="rank corr. with drops", family="ground_truth",
                 higher_is_better=True, needs=("truth",), judged=False,
                 reference="Hesse et al. 2024 (NeurIPS), IDSDS")
def _score_truth_rank(s: Subject) -> float:
    t = s.truth
    if max(t.drops.values()) < MIN_DROP:  # nothing measurably used: no ground truth
        return float("nan")
    if t.parts is None or t.part_drops is None:
        return drop_rank_correlation(s.saliency, t.regions, t.drops)
    return drop_rank_correlation(s.saliency, t.parts, t.part_drops)


@register_metric("truth_contrast", title="contrastivity", family="ground_truth",
                 higher_is_better=True, needs=("truth", "model", "explainer"), judged=False,
                 reference="Hesse et al. 2023 (ICCV), contrastivity")
def _score_truth_contrast(s: Subject) -> float:
    t = s.truth
    if t.other is None or t.other_drops is None:
        return float("nan")
    other = s.explainer(s.model, s.x, int(t.other))
    return contrastivity(s.saliency, other, t.regions, t.drops, t.other_drops)
