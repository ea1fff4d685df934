"""Which metrics of a run beat a blind guess: the baseline rule applied to the run's scores.

For every judged metric of the run (:data:`xai_tutor.evaluation.METRICS`, ``judged``) and scope
of scenes, the rule of :func:`xai_tutor.evaluation.compare_to_baselines`
(:data:`xai_tutor.evaluation.INFORMATIVE_RULE`, decided there and nowhere else): the median
explanation method must beat the centre blob *and* the random map by 2 standard errors of the
paired differences over the (model, kind, scene) triples of the scope, or the metric is
**uninformative** and decides no verdict. The methods are the registered explanation methods
present in the scores (not the combinations, not the baselines). Scopes: ``"all"`` (every
scene) and ``"pair+flock"`` (the multi-instance scenes, on which the multi-instance claims are
decided), when the run has such scenes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .. import evaluation as ev
from .spec import CENTRE, RANDOM

ALL = "all"
MULTI = "pair+flock"
MULTI_KINDS = ("pair", "flock")


def explanation_methods(scores: Sequence[Mapping[str, Any]]) -> list[str]:
    """The registered methods present in ``scores``, in registry order."""
    from ..methods import METHODS

    present = {r["method"] for r in scores}
    return [m for m in METHODS if m in present]


def judged_metrics(scores: Sequence[Mapping[str, Any]]) -> dict[str, bool]:
    """``{metric: higher_is_better}`` of the judged metrics that are columns of ``scores``."""
    columns = set().union(*(r.keys() for r in scores)) if scores else set()
    return {name: higher for name, higher in ev.directions().items() if name in columns}


def judge(scores: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, ev.BaselineComparison]]:
    """``{scope: {metric: BaselineComparison}}`` for the scopes the scores allow.

    Empty when the scores hold no centre-baseline row or no explanation method.
    """
    methods = explanation_methods(scores)
    if not methods or not any(r["method"] == CENTRE for r in scores):
        return {}
    metrics = judged_metrics(scores)
    random = RANDOM if any(r["method"] == RANDOM for r in scores) else None
    out = {ALL: ev.compare_metrics(scores, metrics, centre=CENTRE, random=random,
                                   methods=methods)}
    multi = [r for r in scores if r["kind"] in MULTI_KINDS]
    if any(r["method"] == CENTRE for r in multi):
        out[MULTI] = ev.compare_metrics(multi, metrics, centre=CENTRE, random=random,
                                        methods=methods)
    return out


def scope_text(scope: str) -> str:
    """``"all scenes"`` or ``"the pair+flock scenes"``, for sentences."""
    return "all scenes" if scope == ALL else f"the {scope} scenes"


def uninformative(judged: Mapping[str, Mapping[str, ev.BaselineComparison]],
                  metrics: Sequence[str], scope: str = ALL) -> list[str]:
    """The ``metrics`` marked uninformative in ``scope`` (none when the scope was not judged)."""
    table = judged.get(scope, {})
    return [m for m in metrics if m in table and not table[m].informative]


def baseline_rows(judged: Mapping[str, Mapping[str, ev.BaselineComparison]]
                  ) -> list[dict[str, Any]]:
    """Rows of ``baselines.csv``: per scope and metric, its family, the baselines' means, the
    median method's margin over the centre blob ± SE and over the random map ± SE, n, and the
    verdict of the rule (``"not measured"`` where no scene has the metric)."""
    rows = []
    for scope, table in judged.items():
        for metric, c in table.items():
            rnd = c.random or (float("nan"), float("nan"), 0)
            rows.append({"scenes": scope, "metric": metric,
                         "family": ev.METRICS[metric].family,
                         "higher_is_better": int(c.higher_is_better),
                         "centre_mean": c.centre_mean, "random_mean": c.random_mean,
                         "margin": c.margin, "se": c.se, "n": c.n,
                         "margin_random": rnd[0], "se_random": rnd[1],
                         "verdict": c.label if c.n else "not measured"})
    return rows
