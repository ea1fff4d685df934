"""Run time and tensor memory of each method at half and full scene size.

Time: the fastest of several calls (:func:`time_methods`). Memory: the peak bytes of the tensors
one call creates (:func:`xai_tutor.evaluation.tensor_memory`), measured in one more call of its
own (the counting slows the call down): deterministic, so one call suffices.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from .. import evaluation as ev

HALF = 0.5
REPEATS = 3
REPEAT_BUDGET_S = 3.0
# fast runs (milliseconds) are repeated until this much time is timed, at most FAST_REPEATS
# times, so that a ratio of two such times is not at the mercy of timer noise
FAST_TIMED_S = 0.25
FAST_REPEATS = 25


def explain_timed(model: nn.Module, x: torch.Tensor, method: str, target: int,
                  params: dict[str, Any]) -> ev.Cost:
    from ..api import explain

    return ev.measure(explain, model, x, method, target=target, **params)


def explain_memory(model: nn.Module, x: torch.Tensor, method: str, target: int,
                   params: dict[str, Any]) -> ev.TensorMemory:
    from ..api import explain

    return ev.tensor_memory(explain, model, x, method, target=target, **params)


def time_methods(model_name: str, model: nn.Module, scene: Any, methods: Sequence[str],
            params: Mapping[str, dict], bar: Any,
            known: Mapping[str, ev.Cost] | None = None) -> list[dict[str, Any]]:
    """Run time and tensor memory of each method at half and full scene size.

    Time: the fastest of up to ``REPEATS`` runs (fewer when the runs add up to more than
    ``REPEAT_BUDGET_S`` seconds; more, up to ``FAST_REPEATS``, while they add up to less than
    ``FAST_TIMED_S``), which filters out noise from other processes; memory: the peak tensor
    bytes of one more call (``<size>_tensor_mb``), deterministic. ``known``: full-size costs
    already measured in the main loop on this scene; they count as one run, and a method slower
    than the budget is not run again.
    """
    from ..data import load_image
    from ..models.efficientnet_lite import ShortSideResize

    rows = []
    w, h = scene.image.size
    # a model that resizes every input itself (EfficientNet-Lite0) costs the same at any size
    resizes = any(isinstance(m, ShortSideResize) for m in model.modules())
    for method in methods:
        prior_full = (known or {}).get(method)
        budget = REPEAT_BUDGET_S if prior_full is None else min(
            REPEAT_BUDGET_S, prior_full.seconds)
        entry: dict[str, Any] = {"model": model_name, "method": method, "resizes_input": resizes}
        for label, scale in (("half", HALF), ("full", 1.0)):
            bar.set_description(f"{model_name} timing {method} {label}")
            size = (max(int(round(w * scale)), 32), max(int(round(h * scale)), 32))
            x, _ = load_image(scene.image, size=size)
            with torch.no_grad():
                cls = int(model(x).argmax(dim=1)[0])
            prior = (known or {}).get(method) if scale == 1.0 else None
            costs = [prior] if prior is not None else [explain_timed(model, x, method, cls,
                                                                 params[method])]
            while (len(costs) < REPEATS and sum(c.seconds for c in costs) < budget) or (
                    len(costs) < FAST_REPEATS and sum(c.seconds for c in costs) < FAST_TIMED_S):
                costs.append(explain_timed(model, x, method, cls, params[method]))
            entry[f"{label}_size"] = f"{size[0]}x{size[1]}"
            entry[f"{label}_seconds"] = min(c.seconds for c in costs)
            entry[f"{label}_tensor_mb"] = explain_memory(model, x, method, cls,
                                                         params[method]).peak_bytes / 2**20
            entry[f"{label}_runs"] = len(costs)
            bar.update(1)
        entry["time_ratio"] = entry["full_seconds"] / max(entry["half_seconds"], 1e-9)
        rows.append(entry)
    return rows


