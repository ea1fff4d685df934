"""Which metrics can be trusted: does a metric rank the methods as the ground truth does?

On a model whose reliance is known, the methods are ranked by their ground-truth correctness
(the reference, by default ``truth_mass``: the map's mass on what the model uses, split as it
uses it; :mod:`xai_tutor.evaluation.ground_truth`). A metric *can be trusted* to the extent that
it ranks the methods the same way. The agreement is Kendall's tau-b between the methods' mean
scores on the metric and on the reference (over the scenes of one model), with the metric's
sign turned so that higher is better (:data:`xai_tutor.evaluation.METRICS` declares the
direction)::

    tau_b = (C - D) / sqrt((C + D + T_x) (C + D + T_y))

over the pairs of methods: ``C`` concordant, ``D`` discordant, ``T_x`` tied on the metric only,
``T_y`` tied on the reference only (Kendall 1945; pairs tied on both count nowhere). 1: the same
order; -1: the reverse; 0: unrelated. Methods whose maps coincide (Grad-CAM, XGrad-CAM and
HiResCAM on a global-average-pool + linear head) are ties, which tau-b accounts for.

The uncertainty is over scenes: the scenes of a model are resampled with replacement (1000
times, seeded) and both means recomputed on the same resample
(:func:`~xai_tutor.trust.bootstrap.bootstrap`). Over several models (scope ``"all"``) the
statistic is the mean of the models' tau-b, each model's scenes resampled within the model.

:data:`METRIC_RULE` turns the interval into a label, stated here and checked nowhere else.

Example::

    >>> kendall_tau_b([1, 2, 3, 4], [10, 20, 40, 30])
    0.6666666666666666
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import evaluation as ev
from .bootstrap import RESAMPLES, bootstrap

__all__ = ["METRIC_RULE", "kendall_tau_b", "metric_trust", "trust_label", "REFERENCE"]

REFERENCE = "truth_mass"
ALL = "all"

METRIC_RULE = (
    "per model, the methods are ranked by their mean ground-truth score (truth_mass) and by "
    "their mean score on the metric (turned so that higher is better); the agreement is "
    "Kendall's tau-b of the two rankings, with a 95 % bootstrap interval over scenes (1000 "
    "resamples, seeded). A metric agrees with the ground truth when the whole interval lies "
    "above 0, misleads when it lies below 0, and is undecided otherwise")


def kendall_tau_b(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall's tau-b of two equal-length vectors (module docstring); NaN when either is
    constant or has fewer than 2 values."""
    a, b = np.asarray(x, float).reshape(-1), np.asarray(y, float).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"vectors must have the same length; got {a.size} and {b.size}")
    i, j = np.triu_indices(a.size, k=1)
    sa, sb = np.sign(a[i] - a[j]), np.sign(b[i] - b[j])
    concordant_minus_discordant = float((sa * sb).sum())
    n_a, n_b = float((sa != 0).sum()), float((sb != 0).sum())  # pairs not tied on a, on b
    if n_a == 0 or n_b == 0:
        return float("nan")
    return concordant_minus_discordant / float(np.sqrt(n_a * n_b))


def trust_label(low: float, high: float) -> str:
    """``"agrees"``, ``"misleads"`` or ``"undecided"`` from a tau-b interval (the rule)."""
    if low > 0:
        return "agrees"
    if high < 0:
        return "misleads"
    return "undecided"


def _matrix(study: Any, model: str, column: str, methods: Sequence[str]) -> np.ndarray:
    """(scenes, methods) of one column; NaN where a method has no row for a scene."""
    scenes = sorted({r["scene"] for r in study.rows if r["model"] == model})
    where = {s: k for k, s in enumerate(scenes)}
    out = np.full((len(scenes), len(methods)), np.nan)
    col = {m: k for k, m in enumerate(methods)}
    for r in study.rows:
        if r["model"] == model and r["method"] in col:
            out[where[r["scene"]], col[r["method"]]] = r.get(column, np.nan)
    return out


def _tau(pair: np.ndarray) -> float:
    """tau-b of the methods' means: ``pair`` is (scenes, 2, methods): metric, reference."""
    return kendall_tau_b(pair[:, 0].mean(axis=0), pair[:, 1].mean(axis=0))


def _mean_tau(groups: Sequence[np.ndarray]) -> float:
    """The mean of the groups' tau-b (those defined); NaN when none is."""
    taus = np.array([_tau(g) for g in groups])
    taus = taus[np.isfinite(taus)]
    return float(taus.mean()) if taus.size else float("nan")


def metric_trust(study: Any, metrics: Sequence[str] | None = None, *,
                 reference: str = REFERENCE, models: Sequence[str] | None = None,
                 resamples: int = RESAMPLES, seed: int = 0) -> list[dict[str, Any]]:
    """One row per metric and scope (each model, then ``"all"``): tau-b, its interval, the
    number of methods compared and scenes, and the label of :data:`METRIC_RULE`.

    ``metrics``: the study's metrics and the other ground-truth scores by default;
    ``models``: the cue models of the study by default (the course models get no other
    metric). Methods without a finite score on the metric are left out of its comparison.
    """
    models = [m for m, k in study.kinds.items() if k == "cue"] if models is None else \
        list(models)
    names = list(study.metrics) + [m for m in ("truth_rank", "truth_contrast")
                                   if m != reference] if metrics is None else list(metrics)
    out = []
    for name in names:
        sign = 1.0 if ev.METRICS[name].higher_is_better else -1.0
        groups = []
        for model in models:
            methods = [m for m in study.methods if (model, m) not in study.skipped]
            metric = sign * _matrix(study, model, name, methods)
            ref = _matrix(study, model, reference, methods)
            keep = np.isfinite(metric).any(0) & np.isfinite(ref).any(0)
            pair = np.stack([metric[:, keep], ref[:, keep]], axis=1)
            # a scene missing one method's score drops out of the comparison entirely
            pair = pair[np.isfinite(pair.reshape(len(pair), -1)).all(1)]
            groups.append((model, pair, int(keep.sum())))
            e = bootstrap(pair, _tau, resamples=resamples, seed=seed) if len(pair) else None
            out.append(_row(name, model, e, int(keep.sum()), reference))
        usable = [g for g in groups if len(g[1]) and g[2] >= 2]
        if len(models) > 1 and usable:
            e = bootstrap([g[1] for g in usable], _mean_tau, resamples=resamples, seed=seed)
            out.append(_row(name, ALL, e, min(g[2] for g in usable), reference))
    return out


def _row(metric: str, scope: str, e: Any, methods: int, reference: str) -> dict[str, Any]:
    info = ev.METRICS[metric]
    nan = float("nan")
    value, low, high, n = (e.value, e.low, e.high, e.n) if e is not None else (nan, nan, nan, 0)
    label = trust_label(low, high) if np.isfinite(low) and np.isfinite(high) else "not measured"
    return {"metric": metric, "title": info.title, "family": info.family,
            "higher_is_better": info.higher_is_better, "model": scope, "reference": reference,
            "tau": value, "tau_low": low, "tau_high": high, "methods": methods, "scenes": n,
            "label": label}
