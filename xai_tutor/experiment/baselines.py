"""Which metrics of a run beat a blind guess: the baseline rule applied to the run's scores.

For every judged metric (:data:`~.spec.JUDGED`) and scope of scenes, the rule of
:func:`xai_tutor.evaluation.compare_metrics`: with ``d_s`` = (median of the explanation methods
on scene ``s``) - (the centre blob on ``s``), sign-flipped when lower is better, over the
(model, kind, scene) triples of the scope, the metric is **informative** when
``mean(d) - 2 SE(d) > 0``; otherwise it is **uninformative** and cannot decide a verdict.
The methods are the registered explanation methods present in the scores (not the combinations,
not the baselines). Scopes: ``"all"`` (every scene) and ``"pair+flock"`` (the multi-instance
scenes, on which the multi-instance claims are decided), when the run has such scenes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .. import evaluation as ev
from .spec import CENTRE, JUDGED, RANDOM

ALL = "all"
MULTI = "pair+flock"
MULTI_KINDS = ("pair", "flock")


def explanation_methods(scores: Sequence[Mapping[str, Any]]) -> list[str]:
    """The registered methods present in ``scores``, in registry order."""
    from ..methods import METHODS

    present = {r["method"] for r in scores}
    return [m for m in METHODS if m in present]


def judge(scores: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, ev.BaselineComparison]]:
    """``{scope: {metric: BaselineComparison}}`` for the scopes the scores allow.

    Empty when the scores hold no centre-baseline row or no explanation method.
    """
    methods = explanation_methods(scores)
    if not methods or not any(r["method"] == CENTRE for r in scores):
        return {}
    random = RANDOM if any(r["method"] == RANDOM for r in scores) else None
    out = {ALL: ev.compare_metrics(scores, JUDGED, centre=CENTRE, random=random,
                                   methods=methods)}
    multi = [r for r in scores if r["kind"] in MULTI_KINDS]
    if any(r["method"] == CENTRE for r in multi):
        out[MULTI] = ev.compare_metrics(multi, JUDGED, centre=CENTRE, random=random,
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
    """Rows of ``baselines.csv``: per scope and metric, the baselines' means, the median
    method's margin over the centre blob ± SE, its margin over the random map, n, the label
    (``"not measured"`` where no scene has the metric, e.g. curves switched off)."""
    rows = []
    for scope, table in judged.items():
        for metric, c in table.items():
            rnd = c.random or (float("nan"), float("nan"), 0)
            rows.append({"scenes": scope, "metric": metric,
                         "higher_is_better": int(c.higher_is_better),
                         "centre_mean": c.centre_mean, "random_mean": c.random_mean,
                         "margin": c.margin, "se": c.se, "n": c.n,
                         "margin_random": rnd[0], "se_random": rnd[1],
                         "verdict": c.label if c.n else "not measured"})
    return rows
