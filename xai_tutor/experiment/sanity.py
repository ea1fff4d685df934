"""The model-randomisation check of the run (Adebayo et al. 2018): cascading, over several
scenes and seeds, with a chance level.

On the first ``Settings.sanity_scenes`` scenes of each kind (the canonical one first) at half
size, each method's map of the trained model is compared (signed Spearman) with its maps after
randomising the top third, two thirds and all of the parameterised layers (:data:`STAGES`
cascading stages), each with ``Settings.sanity_seeds`` seeds from the run's seed on, and the
maps of two randomised models with each other (the chance level):
:func:`xai_tutor.evaluation.randomisation_check`, ``1 + STAGES x seeds`` maps per method and
scene. A method gets as many of these scenes as fit into ``Settings.sanity_seconds`` (none when
one scene does not fit: it is then not checked). Two reference maps are checked beside the
methods: :func:`~xai_tutor.evaluation.image_edges` (the image alone: must fail) and
:func:`~xai_tutor.evaluation.weight_noise` (noise seeded by the weights: passes, though it shows
nothing). Verdicts: :data:`xai_tutor.evaluation.RANDOMISATION_RULE`; a method that fails on a
model is flagged next to its scores and in the claims about its maps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import nn

from .. import evaluation as ev
from ..evaluation.randomisation import FAILS, STAGES
from .timing import HALF

__all__ = ["FLAG", "REFERENCES", "STAGES", "failures", "flag", "sanity_check", "sanity_scenes",
           "verdicts"]

FLAG = "fails randomisation"
#: reference maps checked beside the methods (not methods: no scores, no claims)
REFERENCES = {"image_edges": ev.image_edges, "weight_noise": ev.weight_noise}


def sanity_scenes(scenes: Sequence[tuple[str, Any]], per_kind: int) -> list[tuple[str, Any]]:
    """The first ``per_kind`` scenes of each kind, in the run's order (canonical first)."""
    out, seen = [], {}
    for scene_id, scene in scenes:
        if seen.get(scene.kind, 0) < per_kind:
            seen[scene.kind] = seen.get(scene.kind, 0) + 1
            out.append((scene_id, scene))
    return out


def sanity_check(model_name: str, model: nn.Module, scenes: Sequence[tuple[str, Any]],
                 methods: Sequence[str], params: Mapping[str, dict], settings: Any, bar: Any
                 ) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Rows of ``sanity.csv`` for one model (every pair of maps compared: ``model``, ``method``,
    ``image`` (``<kind>/<scene id>``), ``stage``, ``layers``, ``deepest``, ``kind``, ``seeds``,
    ``similarity``) and the methods not checked, with why."""
    from ..data import load_image

    chosen = sanity_scenes(scenes, settings.sanity_scenes)
    xs, labels = [], []
    for scene_id, scene in chosen:
        w, h = scene.image.size
        xs.append(load_image(scene.image, size=(max(round(w * HALF), 32),
                                                max(round(h * HALF), 32)))[0])
        labels.append(f"{scene.kind}/{scene_id}")
    seeds = tuple(range(settings.seed, settings.seed + settings.sanity_seeds))
    rows: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    jobs = [({m: m}, {m: params[m]}) for m in methods] + [(REFERENCES, {})]
    for named, kwargs in jobs:
        bar.set_description(f"{model_name} sanity {', '.join(named)}")
        check = ev.randomisation_check(model, xs, named, stages=STAGES, seeds=seeds,
                                       params=kwargs, labels=labels,
                                       seconds=settings.sanity_seconds, progress=False)
        rows += [{"model": model_name, **r} for r in check.rows]
        skipped.update(check.skipped)
        bar.update(len(named) if named is not REFERENCES else 0)
    return rows, skipped


def verdicts(sanity_rows: Sequence[Mapping[str, Any]]
             ) -> dict[str, dict[str, ev.RandomisationVerdict]]:
    """``{model: {method: verdict}}`` by :data:`xai_tutor.evaluation.RANDOMISATION_RULE`
    (reference maps included)."""
    models = dict.fromkeys(str(r["model"]) for r in sanity_rows)
    return {m: ev.randomisation_verdicts(sanity_rows, m) for m in models}


def failures(sanity_rows: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """``{model: [methods failing the check]}`` (every model checked, possibly ``[]``; the
    reference maps left out)."""
    return {model: [m for m, v in table.items() if v.verdict == FAILS and m not in REFERENCES]
            for model, table in verdicts(sanity_rows).items()}


def flag(method: str, failing: Mapping[str, Sequence[str]], model: str | None = None) -> str:
    """``method`` with a ``(fails randomisation)`` marker when it fails on ``model`` (on any
    model when ``model`` is None: then the failing models are named)."""
    if model is not None:
        return f"{method} ({FLAG})" if method in failing.get(model, ()) else method
    models = [m for m, names in failing.items() if method in names]
    return f"{method} ({FLAG}: {', '.join(models)})" if models else method
