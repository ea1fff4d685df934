"""The model-randomisation sanity check of the run (Adebayo et al. 2018)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import nn

from .. import evaluation as ev
from .timing import HALF


def sanity_check(model_name: str, model: nn.Module, scene: Any, methods: Sequence[str],
            params: Mapping[str, dict], seed: int, bar: Any) -> list[dict[str, Any]]:
    """Full-randomisation check on the scene at half size (a quarter of the cost)."""
    from ..data import load_image

    w, h = scene.image.size
    x, _ = load_image(scene.image, size=(max(round(w * HALF), 32), max(round(h * HALF), 32)))
    rows = []
    for method in methods:
        bar.set_description(f"{model_name} sanity {method}")
        r = ev.randomisation_check(model, x, method, mode="full", seed=seed, progress=False,
                                   params=params[method])
        rows.append({"model": model_name, "method": method, "spearman": r.correlations[0],
                     "layers": r.randomised[0]})
        bar.update(1)
    return rows


