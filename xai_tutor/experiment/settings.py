"""What a run measures: one frozen settings object, checked once when it is made, and the presets.

:class:`Settings` holds every choice of a run (methods, metrics, scenes, sizes, budgets, seeds);
its ``__post_init__`` is the one place these values are checked (a ValueError naming the field,
what was given and what is expected). The presets are instances (:data:`PRESETS`); the command
line starts from one and replaces the fields given as options
(``dataclasses.replace(PRESETS["quick"], samples=1)``), which checks them again.

Example::

    >>> from dataclasses import replace
    >>> s = replace(PRESETS["quick"], samples=1)
    >>> s.samples, s.size, s.curves
    (1, (313, 209), 'none')
    >>> Settings(samples=-1)
    Traceback (most recent call last):
    ...
    ValueError: samples must be a whole number >= 0; got -1
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, fields
from typing import Any

from ..data import KINDS

__all__ = ["Settings", "PRESETS", "DEFAULT_SAMPLES", "MIN_SIDE", "MAX_SIDE", "SCOPES"]

DEFAULT_SAMPLES = 4
#: scene sides the generator accepts (:func:`xai_tutor.data.make_scene`)
MIN_SIDE, MAX_SIDE = 64, 4096
#: where the metrics that run the model (and those that recompute the map) are computed
SCOPES = ("canonical", "all", "none")


def _whole(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(
        value)


def _names(value: Any, field: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    try:
        out = tuple(value)
    except TypeError:
        raise ValueError(f"{field} must be a list of names; got {value!r}") from None
    if not all(isinstance(v, str) for v in out):
        raise ValueError(f"{field} must be a list of names; got {value!r}")
    return out


@dataclass(frozen=True)
class Settings:
    """Every choice of a run of :func:`~xai_tutor.experiment.run_experiment`.

    Attributes:
        methods: registry names (``None``: every registered method but ``leave_out``).
        metrics: metric names of :data:`xai_tutor.evaluation.METRICS` to compute (``None``:
            all; the costs are always measured).
        kinds: scene kinds; the canonical scenes of these kinds are the grid's columns.
        samples: generated scenes per kind on top of the canonical one.
        size: scene size ``(W, H)``; the paper uses 626 x 418.
        steps: steps of the deletion / insertion curves.
        curves: scenes on which the metrics that run the model (deletion, insertion, ROAD) and
            those that recompute the map (sensitivity, Random Logit, eMPRT) are computed:
            ``"canonical"``, ``"all"`` or ``"none"``.
        expensive: scenes for the methods registered as expensive: ``"canonical"`` or ``"all"``.
        max_seconds: a method whose call takes longer than this on one scene is not run on the
            model's further scenes, nor in the sanity check.
        recompute_seconds: the metrics that recompute the map are computed for a map only when
            one call of its method took at most this (they cost ``2 + sensitivity_samples``
            calls each).
        batch_size: batch size of the methods that take one (``None``: each method's own).
        seed: base seed (generated scenes, random baseline, perturbations, noise, randomised
            model).
        sanity: run the cascading model-randomisation check (:mod:`.sanity`).
        sanity_scenes: scenes per kind in the check (the canonical one first), at half size.
        sanity_seeds: randomisation seeds per stage (from ``seed`` on), at least 2: the chance
            level compares two randomised models.
        sanity_seconds: time allowed per method and model in the check: a method runs on as
            many of its scenes as fit, and is not checked when one scene does not fit.
        road_percentages: shares of pixels removed by ROAD, each in ``(0, 100)``.
        road_scale: ROAD runs on the image and map resized by this factor (``(0, 1]``): its
            sparse solves grow faster than the pixels.
        sensitivity_samples: perturbations per map for Max- and Avg-Sensitivity.
        sensitivity_radius: their ``L∞`` radius, in normalised input units.
        leave_out: methods a preset leaves out unless named in ``methods``.
        trust_scenes: scenes per model of the trust section (:func:`xai_tutor.trust.trust_study`
            on the cue models and the course's tiny models, with the run's methods and seed and
            the study's own small metric settings); 0 (the default of a Settings made in
            code): no trust section. The command line's presets ask for one.
    """

    methods: tuple[str, ...] | None = None
    metrics: tuple[str, ...] | None = None
    kinds: tuple[str, ...] = KINDS
    samples: int = DEFAULT_SAMPLES
    size: tuple[int, int] = (626, 418)
    steps: int = 4
    curves: str = "canonical"
    expensive: str = "canonical"
    max_seconds: float = 60.0
    recompute_seconds: float = 0.5
    batch_size: int | None = None
    seed: int = 0
    sanity: bool = True
    sanity_scenes: int = 2
    sanity_seeds: int = 3
    sanity_seconds: float = 30.0
    road_percentages: tuple[float, ...] = (25.0, 50.0, 75.0)
    road_scale: float = 0.5
    sensitivity_samples: int = 3
    sensitivity_radius: float = 0.2
    leave_out: tuple[str, ...] = ()
    trust_scenes: int = 0

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        if self.methods is not None:
            put("methods", _names(self.methods, "methods"))
            from ..methods import METHODS

            unknown = [m for m in self.methods if m not in METHODS]
            if unknown:
                raise ValueError(f"unknown method(s) {', '.join(unknown)}; available: "
                                 f"{', '.join(sorted(METHODS))}")
        put("leave_out", _names(self.leave_out, "leave_out"))
        if self.metrics is not None:
            put("metrics", _names(self.metrics, "metrics"))
            from ..evaluation import metrics_in

            metrics_in(self.metrics)  # unknown names: a ValueError that lists the metrics
        put("kinds", _names(self.kinds, "kinds"))
        if not self.kinds:
            raise ValueError("give at least one scene kind")
        bad = [k for k in self.kinds if k not in KINDS]
        if bad:
            raise ValueError(f"unknown scene kind(s) {', '.join(bad)}; use {', '.join(KINDS)}")
        for name in ("samples", "seed", "trust_scenes"):
            if not _whole(getattr(self, name)) or getattr(self, name) < 0:
                raise ValueError(f"{name} must be a whole number >= 0; got "
                                 f"{getattr(self, name)!r}")
        for name in ("steps", "sensitivity_samples", "sanity_scenes"):
            if not _whole(getattr(self, name)) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a whole number >= 1; got "
                                 f"{getattr(self, name)!r}")
        try:
            size = tuple(self.size)
        except TypeError:
            size = (self.size,)
        if (len(size) != 2 or not all(_whole(v) for v in size)
                or not all(MIN_SIDE <= v <= MAX_SIDE for v in size)):
            raise ValueError(f"size must be two whole numbers (W, H), each from {MIN_SIDE} to "
                             f"{MAX_SIDE} (the scene generator's range); got {size!r}")
        put("size", (int(size[0]), int(size[1])))
        for name, allowed in (("curves", SCOPES), ("expensive", ("canonical", "all"))):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be {', '.join(repr(a) for a in allowed)}; got "
                                 f"{getattr(self, name)!r}")
        if not _whole(self.sanity_seeds) or self.sanity_seeds < 2:
            raise ValueError(f"sanity_seeds must be a whole number >= 2 (the chance level "
                             f"compares two randomised models); got {self.sanity_seeds!r}")
        for name in ("max_seconds", "recompute_seconds", "sanity_seconds"):
            if not _real(getattr(self, name)) or getattr(self, name) < 0:
                raise ValueError(f"{name} must be a finite number >= 0; got "
                                 f"{getattr(self, name)!r}")
        if self.batch_size is not None and (not _whole(self.batch_size) or self.batch_size < 1):
            raise ValueError(f"batch_size must be a whole number >= 1; got {self.batch_size!r}")
        if not isinstance(self.sanity, bool):
            raise ValueError(f"sanity must be True or False; got {self.sanity!r}")
        try:
            values = tuple(self.road_percentages)
        except TypeError:
            values = ()
        shares = tuple(float(p) for p in values) if all(_real(p) for p in values) else ()
        if not shares or not all(0 < p < 100 for p in shares):
            raise ValueError(f"road_percentages must be one or more shares in (0, 100); got "
                             f"{self.road_percentages!r}")
        put("road_percentages", shares)
        if not _real(self.road_scale) or not 0 < self.road_scale <= 1:
            raise ValueError(f"road_scale must be in (0, 1]; got {self.road_scale!r}")
        if not _real(self.sensitivity_radius) or self.sensitivity_radius <= 0:
            raise ValueError(f"sensitivity_radius must be a number > 0; got "
                             f"{self.sensitivity_radius!r}")

    def method_list(self) -> list[str]:
        """The methods the run explains with, in registry order when not named."""
        from ..methods import METHODS

        if self.methods is not None:
            return list(self.methods)
        return [m for m in METHODS if m not in self.leave_out]

    def left_out(self) -> list[str]:
        """The registered methods the preset leaves out (none when ``methods`` names them)."""
        from ..methods import METHODS

        return [] if self.methods is not None else [m for m in self.leave_out if m in METHODS]

    def metric_names(self) -> list[str]:
        """The metrics computed from the maps, in registry order (the costs are measured; the
        ground-truth metrics need a model whose reliance is known: the trust study's)."""
        from ..evaluation import metrics_in

        return [m.name for m in metrics_in(self.metrics)
                if m.score is not None and "truth" not in m.needs]

    def options(self, scene_seed: int) -> dict[str, dict[str, Any]]:
        """Keyword arguments per metric (:class:`xai_tutor.evaluation.Subject`); ``scene_seed``
        seeds the perturbations, the imputation noise and the other class, the same for every
        method on a scene so that the methods are compared on the same draws."""
        return {
            "deletion": {"steps": self.steps, "batch_size": self.steps + 1},
            "insertion": {"steps": self.steps, "batch_size": self.steps + 1},
            "road": {"percentages": self.road_percentages, "scale": self.road_scale,
                     "seed": scene_seed},
            "sensitivity": {"samples": self.sensitivity_samples,
                            "radius": self.sensitivity_radius, "seed": scene_seed},
            "random_logit": {"seed": scene_seed},
        }

    def record(self) -> dict[str, Any]:
        """The settings as plain JSON values, for ``run.json``."""
        out = asdict(self)
        return {f.name: list(out[f.name]) if isinstance(out[f.name], tuple) else out[f.name]
                for f in fields(self)}


#: settings a preset gives unless the command line names them. ``quick`` is meant to finish
#: within 10 minutes on 2 cores for the ImageNet trio: the canonical scenes only, at half the
#: paper's size, no metric that runs the model or recomputes the map (deletion, insertion,
#: ROAD, sensitivity, Random Logit, eMPRT: the largest part of a short run; no claim uses
#: them), no sanity check, a 20 s limit per map, no Score-CAM (one forward pass per
#: channel of the last conv layer: 512-2048 per map), and 4 scenes per model in the trust section
PRESETS: dict[str, Settings] = {
    "default": Settings(trust_scenes=16),
    "quick": Settings(samples=0, size=(313, 209), curves="none", sanity=False,
                      max_seconds=20.0, leave_out=("scorecam",), trust_scenes=4),
}
