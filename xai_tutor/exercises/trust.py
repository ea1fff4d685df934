"""Checks for notebook 13 (can you trust an explanation?).

Three exercises, each computed here from its definition with plain NumPy and forward passes,
independently of :mod:`xai_tutor.trust` and :mod:`xai_tutor.evaluation`:

1. **Predict the intervention** (a prediction): which region's removal lowers the shortcut
   model's logit most, the ``"bird"``, the ``"badge"`` or the ``"rest"`` of the image? Measured
   here by drawing each scene again without the region and running the model.
2. **A map's lean**: ``s_badge - s_bird``, the share of the map's sum on the badge minus its share
   on the bird (the statistic of :data:`xai_tutor.trust.VERDICT_RULE` for one scene).
3. **Kendall's tau-b** between a metric's scores of the methods and their ground-truth scores
   (the statistic of :data:`xai_tutor.trust.METRIC_RULE`), from a loop over the pairs.

Example::

    >>> import numpy as np
    >>> from xai_tutor.exercises.trust import check_lean
    >>> s = np.array([[1.0, 3.0], [0.0, 0.0]])
    >>> regions = {"bird": np.array([[True, False], [False, False]]),
    ...            "cue": np.array([[False, True], [False, False]])}
    >>> check_lean(0.5, s, regions).ok, check_lean(-0.5, s, regions).ok
    (True, False)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from .core import Expect, exercise
from .feedback import check_choice, one_map

__all__ = ["REGIONS", "check_largest_drop", "check_lean", "check_tau_b"]

#: the regions of a cue scene, as the exercise names them (the data calls the badge ``"cue"``)
REGIONS = ("bird", "badge", "rest")
_DATA_NAME = {"bird": "bird", "badge": "cue", "rest": "rest"}


@exercise("trust.largest_drop", "largest_drop", "shortcut_model", notebook="13",
          prediction=True)
def check_largest_drop(got: Any, model: nn.Module, n: int = 4) -> Expect:
    """Predict which region's removal lowers ``model``'s logit of the explained class most on
    fresh cue scenes (one of :data:`REGIONS`). Measured here: ``n`` fresh cue scenes, each drawn
    again without the bird, without the badge and with a fresh background, and the mean drop
    ``f_c(x) - f_c(x without r)`` of the bird's class ``c``."""
    from ..data import SPECIES
    from ..data.cues import make_cue_scene

    drops = {r: [] for r in REGIONS}
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for i in range(n):
                scene = make_cue_scene(SPECIES[i % len(SPECIES)], "species", 710_000 + i)
                batch = torch.cat([scene.input()] + [scene.input(without=_DATA_NAME[r])
                                                     for r in REGIONS])
                logit = model(batch)[:, scene.label]
                for k, r in enumerate(REGIONS, start=1):
                    drops[r].append(float(logit[0] - logit[k]))
    finally:
        model.train(was_training)
    mean = {r: float(np.mean(v)) for r, v in drops.items()}
    outcome = max(mean, key=mean.get)
    why = (f"removing the {outcome} lowers the logit most ({mean[outcome]:+.2f} on average): "
           "the model was trained on scenes where the badge's colour always named the class, so "
           "the badge alone was enough to be right, and the model learnt that shortcut. Where "
           "the bird is says nothing about what the model uses: only removing each part tells.")
    return Expect(outcome, judge=check_choice, choices=REGIONS, why=why,
                  details=[f"mean drop without the {r}: {v:+.3f} ({n} scenes)"
                           for r, v in mean.items()])


@exercise("trust.lean", "lean", "ex_map", "ex_regions", notebook="13")
def check_lean(got: Any, saliency: Any, regions: Mapping[str, Any]) -> Expect:
    """The lean of one map: ``s[badge].sum() / s.sum() - s[bird].sum() / s.sum()`` (the badge is
    ``regions["cue"]``)."""
    s = one_map(saliency)
    bird, cue = (np.asarray(regions[k], dtype=bool) for k in ("bird", "cue"))
    total = s.sum()
    share_bird, share_cue = s[bird].sum() / total, s[cue].sum() / total
    expected = float(share_cue - share_bird)
    slips = [
        (-expected, "the sign is turned: the lean is the badge's share minus the bird's."),
        (float(s[cue].sum() - s[bird].sum()),
         "divide each sum by the map's total s.sum(): the lean compares shares, not sums."),
        (float(s[cue].mean() - s[bird].mean()),
         "that is the mean saliency on each region; the lean uses each region's share of the "
         "map's sum (s[mask].sum() / s.sum()), so a small badge is not weighted up."),
        (float(share_cue), "that is the badge's share alone; subtract the bird's share."),
    ]
    return Expect(expected, slips, atol=1e-9, rtol=1e-6,
                  note=f"share on the badge {share_cue:.3f}, on the bird {share_bird:.3f}")


def _tau_b(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Kendall's tau-b and tau-a of two vectors, from a loop over the pairs."""
    concordant = discordant = tied_x = tied_y = 0
    n = len(x)
    for i in range(n):
        for j in range(i + 1, n):
            dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
            if dx == 0 and dy == 0:
                continue
            if dx == 0:
                tied_x += 1
            elif dy == 0:
                tied_y += 1
            elif dx == dy:
                concordant += 1
            else:
                discordant += 1
    c_minus_d = concordant - discordant
    denominator = np.sqrt((concordant + discordant + tied_x) * (concordant + discordant + tied_y))
    tau_b = float(c_minus_d / denominator) if denominator > 0 else float("nan")
    return tau_b, float(c_minus_d / (n * (n - 1) / 2))


@exercise("trust.tau_b", "tau", "ex_metric", "ex_truth", notebook="13")
def check_tau_b(got: Any, metric: Any, truth: Any) -> Expect:
    """Kendall's tau-b between two vectors of scores (one per method):
    ``(C - D) / sqrt((C + D + T_x) (C + D + T_y))`` over the pairs of methods (C concordant, D
    discordant, T_x tied on the metric only, T_y on the truth only)."""
    x, y = (np.asarray(v, dtype=np.float64).reshape(-1) for v in (metric, truth))
    if x.shape != y.shape or x.size < 2:
        raise ValueError(f"ex_metric and ex_truth must hold one score per method (at least 2); "
                         f"got {x.size} and {y.size}")
    tau_b, tau_a = _tau_b(x, y)
    slips = [(-tau_b, "the sign is turned: a concordant pair (both scores higher for the same "
                      "method) counts +1."),
             (tau_a, "that is tau-a, (C - D) / (n (n - 1) / 2): tau-b divides by the pairs that "
                     "are not tied on each vector, sqrt((C + D + T_x)(C + D + T_y)).")]
    slips = [s for s in slips if not np.isclose(s[0], tau_b)]
    return Expect(tau_b, slips, atol=1e-9, rtol=1e-6)
