"""The model-randomisation sanity check of the run (Adebayo et al. 2018), cascading.

On the canonical single scene at half size (a quarter of the pixels), each method's map of the
trained model is compared (Spearman) with its maps after randomising the top third, two thirds
and all of the parameterised layers (:data:`STAGES` cascading stages,
:func:`xai_tutor.evaluation.randomisation_check`): ``1 + STAGES`` maps per method. A method
*fails* on a model when ``|rho| >= 0.5`` at any stage
(:func:`xai_tutor.evaluation.randomisation_failures_by_model`); the report flags it next to its
localisation scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import nn

from .. import evaluation as ev
from .timing import HALF

STAGES = 3
FLAG = "fails randomisation"


def sanity_check(model_name: str, model: nn.Module, scene: Any, methods: Sequence[str],
                 params: Mapping[str, dict], seed: int, bar: Any) -> list[dict[str, Any]]:
    """One row per method and stage: model, method, stage (1..STAGES), layers (how many were
    randomised, from the top), deepest (the lowest of them) and spearman."""
    from ..data import load_image

    w, h = scene.image.size
    x, _ = load_image(scene.image, size=(max(round(w * HALF), 32), max(round(h * HALF), 32)))
    rows = []
    for method in methods:
        bar.set_description(f"{model_name} sanity {method}")
        r = ev.randomisation_check(model, x, method, mode="cascading", stages=STAGES, seed=seed,
                                   progress=False, params=params[method])
        for stage, (layers, deepest, rho) in enumerate(
                zip(r.randomised, r.deepest, r.correlations), start=1):
            rows.append({"model": model_name, "method": method, "stage": stage,
                         "layers": layers, "deepest": deepest, "spearman": rho})
        bar.update(1)
    return rows


def failures(sanity_rows: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """``{model: [methods failing the check]}`` (every model checked, possibly ``[]``)."""
    return ev.randomisation_failures_by_model(sanity_rows, column="spearman") if sanity_rows \
        else {}


def flag(method: str, failing: Mapping[str, Sequence[str]], model: str | None = None) -> str:
    """``method`` with a ``(fails randomisation)`` marker when it fails on ``model`` (on any
    model when ``model`` is None: then the failing models are named)."""
    if model is not None:
        return f"{method} ({FLAG})" if method in failing.get(model, ()) else method
    models = [m for m, names in failing.items() if method in names]
    return f"{method} ({FLAG}: {', '.join(models)})" if models else method
