"""The metric registry: every metric of :mod:`xai_tutor.evaluation`, declared once, with its facts.

Each metric module registers its metrics with :func:`register_metric` where the metric is
defined; :data:`METRICS` maps the name to a :class:`MetricInfo`. Everything that lists, titles,
orders, judges or computes metrics (the experiment's runner, claims, report and cost estimate,
``scripts/results_readme.py``, notebook 11) reads it here instead of keeping its own table.

What a :class:`MetricInfo` declares:

* ``name`` (the column in ``scores.csv``), ``title`` (for tables), ``family`` (one of
  :data:`FAMILIES`), ``higher_is_better`` (its direction);
* ``needs``: what a score requires besides the map (:data:`NEEDS`): ``"masks"`` (the instance
  masks of the explained objects), ``"model"`` (forward passes of the model on altered inputs),
  ``"explainer"`` (the map recomputed: on a perturbed input, for another class, or for a
  randomised model), ``"call"`` (measured around the method's call, not from its map),
  ``"truth"`` (what the model is known to use in the scene, measured by intervention: a
  :class:`~xai_tutor.evaluation.ground_truth.GroundTruth`; only the models of
  :mod:`xai_tutor.reliance` have it, so the experiment on the course scenes leaves these out);
* ``judged``: whether the baseline rule (:func:`~xai_tutor.evaluation.compare_to_baselines`)
  is applied to it. Costs are not judged: an image-blind map costs nothing;
* ``reference``: the paper the definition comes from (or ``"ours"``);
* ``score``: ``score(subject) -> float`` for a :class:`Subject` (one map and what it needs), the
  one way the experiment computes the metric; ``None`` for the costs, which are measured around
  the call.

Example::

    >>> from xai_tutor.evaluation import METRICS
    >>> info = METRICS["sparseness"]
    >>> info.family, info.higher_is_better, sorted(info.needs)
    ('complexity', True, [])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["FAMILIES", "NEEDS", "METRICS", "MetricInfo", "Subject", "register_metric",
           "metrics_in", "directions"]

#: the metric families, in the order tables list them
FAMILIES = ("localisation", "faithfulness", "robustness", "complexity", "randomisation",
            "ground_truth", "cost")
#: what a metric may need besides the map
NEEDS = ("masks", "model", "explainer", "call", "truth")


@dataclass(frozen=True)
class Subject:
    """One saliency map and what the metrics may need to score it.

    Attributes:
        saliency: the map ``(H, W)``, non-negative (``Explanation.saliency``).
        masks: instance masks ``(N, H, W)`` of the explained objects, or ``None``.
        model: the explained model, or ``None``.
        x: the explained image ``(1, 3, H, W)``, or ``None``.
        target: the explained class, or ``None``.
        explainer: ``explainer(model, x, target) -> map (H, W)``, the method that made the map
            (recomputed by the robustness and randomisation metrics), or ``None``.
        randomised: the model with every parameterised layer re-initialised (shared by all the
            maps of a model, see :func:`~xai_tutor.evaluation.randomised_copy`), or ``None``.
        truth: what the model uses in this scene
            (:class:`~xai_tutor.evaluation.ground_truth.GroundTruth`), or ``None``.
        options: keyword arguments per metric (or group of metrics), e.g.
            ``{"deletion": {"steps": 4}, "road": {"percentages": (20, 80)}}``.
        cache: results shared by several metrics of the same subject (e.g. the perturbed maps
            behind both sensitivities); filled by the score functions.
    """

    saliency: np.ndarray
    masks: np.ndarray | None = None
    model: Any = None
    x: Any = None
    target: int | None = None
    explainer: Callable[[Any, Any, int], Any] | None = None
    randomised: Any = None
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    truth: Any = None
    cache: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def kwargs(self, metric: str) -> dict[str, Any]:
        """The options given for ``metric`` (empty when none)."""
        return dict(self.options.get(metric, {}))


@dataclass(frozen=True)
class MetricInfo:
    """What is known about one metric; see the module docstring."""

    name: str
    title: str
    family: str
    higher_is_better: bool
    needs: frozenset[str]
    judged: bool
    reference: str
    score: Callable[[Subject], float] | None = None

    @property
    def arrow(self) -> str:
        """``"↑"`` when higher is better, else ``"↓"``."""
        return "↑" if self.higher_is_better else "↓"

    def available(self, subject: Subject) -> bool:
        """Whether ``subject`` holds what the metric needs (costs are never computed here)."""
        if self.score is None:
            return False
        have = {"masks": subject.masks is not None,
                "model": subject.model is not None and subject.x is not None,
                "explainer": subject.explainer is not None and subject.model is not None,
                "truth": subject.truth is not None}
        return all(have.get(n, False) for n in self.needs)


METRICS: dict[str, MetricInfo] = {}
"""Every registered metric, name -> :class:`MetricInfo`, in registration order."""


def register_metric(name: str, *, title: str, family: str, higher_is_better: bool,
                    reference: str, needs: Iterable[str] = (), judged: bool = True
                    ) -> Callable[[Callable[[Subject], float] | None], Any]:
    """Declare a metric. Used as a decorator on its ``score(subject) -> float`` function, or
    called with ``None`` for a cost measured around the call (``needs`` then holds ``"call"``).

    Every rule on a declaration is checked here, once: a new name, a known family and known
    needs, a cost that is not judged.
    """
    needs = frozenset(needs)
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"a metric name must be an identifier (a CSV column); got {name!r}")
    if name in METRICS:
        raise ValueError(f"metric {name!r} is already registered")
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)}; got {family!r}")
    unknown = needs - set(NEEDS)
    if unknown:
        raise ValueError(f"unknown needs {sorted(unknown)}; use {', '.join(NEEDS)}")
    if family == "cost" and (judged or "call" not in needs):
        raise ValueError("a cost is measured around the call (needs 'call') and is not judged")

    def add(score: Callable[[Subject], float] | None) -> Any:
        if (score is None) != ("call" in needs):
            raise ValueError("a metric computed from the map needs a score function; a cost "
                             "measured around the call has none")
        METRICS[name] = MetricInfo(name, title, family, bool(higher_is_better), needs,
                                   bool(judged), reference, score)
        return score

    return add


def metrics_in(names: Sequence[str] | None = None, *, judged: bool | None = None,
               family: str | None = None) -> list[MetricInfo]:
    """Registered metrics, in registry order: those named (all when ``None``), optionally only
    the judged (or unjudged) ones or one family. An unknown name is an error that lists them."""
    if names is not None:
        unknown = [n for n in names if n not in METRICS]
        if unknown:
            raise ValueError(f"unknown metric(s) {', '.join(unknown)}; available: "
                             f"{', '.join(METRICS)}")
    keep = set(METRICS) if names is None else set(names)
    return [m for m in METRICS.values() if m.name in keep
            and (judged is None or m.judged == judged) and (family is None or m.family == family)]


def directions(names: Sequence[str] | None = None) -> dict[str, bool]:
    """``{name: higher_is_better}`` of the judged metrics among ``names`` (all when ``None``),
    the mapping :func:`~xai_tutor.evaluation.compare_metrics` takes."""
    return {m.name: m.higher_is_better for m in metrics_in(names, judged=True)}
