"""Verdicts: which maps reveal what the model uses, and how correct each method is.

Both tables are computed from a :class:`~xai_tutor.trust.study.TrustStudy`, with an uncertainty
over scenes (:func:`~xai_tutor.trust.bootstrap.bootstrap`: 95 % percentile intervals, 1000
resamples of the scenes, seeded).

:func:`verdicts` (the cue models) applies :data:`VERDICT_RULE`, stated here and checked nowhere
else. :func:`correctness` gives, per model and method, the ground-truth scores
(:mod:`xai_tutor.evaluation.ground_truth`) with their intervals and the methods' rank by
``truth_mass``; on the course models it also gives the maps' share on the reflection, which no
course model uses (``data/models/README.md``).

Example::

    >>> from xai_tutor.trust import trust_study
    >>> study = trust_study(["tiny_resnet_shortcut"], ["gradcam"], scenes=4, metrics=(),
    ...                     progress=False)
    >>> row = verdicts(study)[0]
    >>> row["model"], row["method"], row["model_leans"]
    ('tiny_resnet_shortcut', 'gradcam', 'badge')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..evaluation.ground_truth import drop_shares
from .bootstrap import LEVEL, RESAMPLES, Estimate, bootstrap

__all__ = ["VERDICT_RULE", "RANK_TIE", "lean", "leaning", "verdicts", "correctness", "SAYS"]

#: two methods whose mean ``truth_mass`` differ by no more than this share a rank
RANK_TIE = 1e-6

VERDICT_RULE = (
    "a map's lean on a scene is its share on the badge minus its share on the bird "
    "(s_cue - s_bird); over a model's scenes it points at the badge when the 95 % bootstrap "
    "interval of the mean lean (1000 resamples of the scenes, seeded) lies above 0, at the "
    "bird when it lies below 0, and at neither otherwise. The model's own lean is the same "
    "statistic of its drop shares (w_cue - w_bird, measured by deleting each region). A map "
    "is right when it points where the model leans, wrong when it points the other way. On a "
    "model that uses the badge only, a map that points at the badge reveals the shortcut, one "
    "that points at the bird points at the bird anyway")

#: what a map's lean means on a model that leans to the badge, to the bird, or to neither
SAYS = {
    ("badge", "badge"): "reveals the shortcut",
    ("badge", "bird"): "points at the bird anyway",
    ("badge", "neither"): "unclear",
    ("bird", "bird"): "shows the bird it uses",
    ("bird", "badge"): "points at the badge it ignores",
    ("bird", "neither"): "unclear",
}


def leaning(e: Estimate) -> str:
    """``"badge"``, ``"bird"`` or ``"neither"`` from the interval of a lean (the rule)."""
    if e.above(0.0):
        return "badge"
    if e.below(0.0):
        return "bird"
    return "neither"


def lean(shares_cue: Sequence[float], shares_bird: Sequence[float], *,
         resamples: int = RESAMPLES, seed: int = 0, level: float = LEVEL) -> Estimate:
    """Mean of ``s_cue - s_bird`` over scenes, with its bootstrap interval."""
    d = np.asarray(shares_cue, float) - np.asarray(shares_bird, float)
    return bootstrap(d, np.mean, resamples=resamples, seed=seed, level=level)


def _rows(study: Any, model: str, method: str) -> list[dict[str, Any]]:
    return [r for r in study.rows if r["model"] == model and r["method"] == method]


def _mean(values: Sequence[float]) -> float:
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else float("nan")


def verdicts(study: Any, *, resamples: int = RESAMPLES, seed: int = 0) -> list[dict[str, Any]]:
    """One row per cue model and method (and baseline): the shares, the map's lean and the
    model's lean with their intervals, and the verdict of :data:`VERDICT_RULE`."""
    out = []
    for model, kind in study.kinds.items():
        if kind != "cue":
            continue
        shares = [drop_shares(t.drops) for t in study.truth[model]]
        truth = lean([w["cue"] for w in shares], [w["bird"] for w in shares],
                     resamples=resamples, seed=seed)
        model_leans = leaning(truth)
        for method in [*study.methods, *_baselines(study)]:
            rows = _rows(study, model, method)
            if not rows:
                continue
            e = lean([r["share_cue"] for r in rows], [r["share_bird"] for r in rows],
                     resamples=resamples, seed=seed)
            points = leaning(e)
            if model_leans == "neither" or points == "neither":
                right = "unclear"
            else:
                right = "right" if points == model_leans else "wrong"
            out.append({
                "model": model, "method": method, "baseline": rows[0]["baseline"],
                "scenes": e.n, "uses": ", ".join(study.uses[model]),
                "share_bird": _mean([r["share_bird"] for r in rows]),
                "share_cue": _mean([r["share_cue"] for r in rows]),
                "share_rest": _mean([r["share_rest"] for r in rows]),
                "lean": e.value, "lean_low": e.low, "lean_high": e.high,
                "points_at": points, "model_lean": truth.value,
                "model_lean_low": truth.low, "model_lean_high": truth.high,
                "model_leans": model_leans, "verdict": right,
                "says": SAYS.get((model_leans, points), "unclear"),
            })
    return out


def _baselines(study: Any) -> list[str]:
    from .study import BASELINES

    return list(BASELINES)


def correctness(study: Any, *, resamples: int = RESAMPLES, seed: int = 0
                ) -> list[dict[str, Any]]:
    """One row per model and method (and baseline): ``truth_mass``, ``truth_rank`` and
    ``truth_contrast`` (mean and interval; NaN where not measured), the mean share on each
    region, and ``rank``: the method's place by mean ``truth_mass`` on that model (1 = best;
    methods within :data:`RANK_TIE` of each other share a place, as Grad-CAM, XGrad-CAM and
    HiResCAM on a global-average-pool + linear head; baselines are not ranked)."""
    out = []
    for model in study.kinds:
        rows_model = []
        for method in [*study.methods, *_baselines(study)]:
            rows = _rows(study, model, method)
            if not rows:
                continue
            row: dict[str, Any] = {"model": model, "method": method,
                                   "baseline": rows[0]["baseline"], "scenes": len(rows)}
            for metric in ("truth_mass", "truth_rank", "truth_contrast"):
                e = bootstrap(np.array([r[metric] for r in rows], float), np.mean,
                              resamples=resamples, seed=seed)
                row.update({metric: e.value, f"{metric}_low": e.low,
                            f"{metric}_high": e.high})
            for region in study.regions[model]:
                row[f"share_{region}"] = _mean([r[f"share_{region}"] for r in rows])
                row[f"area_{region}"] = _mean([r[f"area_{region}"] for r in rows])
            rows_model.append(row)
        ranked = sorted((r for r in rows_model if not r["baseline"]),
                        key=lambda r: -r["truth_mass"])
        for place, r in enumerate(ranked, start=1):
            tied = [q for q in ranked[:place - 1]
                    if abs(q["truth_mass"] - r["truth_mass"]) <= RANK_TIE]
            r["rank"] = tied[0]["rank"] if tied else place
        for r in rows_model:
            r.setdefault("rank", None)
        out += rows_model
    return out
