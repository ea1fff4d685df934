"""The study: every method on every model whose reliance is known, scored against that truth.

:func:`trust_study` runs, for each model,

1. the **scenes**: the first ``scenes`` scenes of a pool of fresh scenes that the model
   classifies right. Scene ``i`` of the pool has the bird ``SPECIES[i % 16]`` and the seed
   ``seed_offset + i``: a cue scene with the bird's own badge for a cue model (as
   :func:`xai_tutor.reliance.cue_scenes`; 320 x 224), a single bird on water for a course model
   (:func:`xai_tutor.data.regions.region_scene`, regions bird / reflection / rest; the course
   size 626 x 418). On a scene the model gets wrong the explained class is neither the bird's
   nor the badge's, and nothing in the scene need carry it: such scenes are passed over
   (``passed_over``; the cue models' accuracy is 1.00 but ``tiny_vgg_shortcut``'s 0.72);
2. the **ground truth** of each scene by single deletions, no explanation involved
   (:func:`xai_tutor.trust.truth.measure_truth`): the logit drop of every region and every
   part. On a model that uses both the bird and the badge (measured: both mean drops >=
   :data:`~xai_tutor.trust.truth.USE_THRESHOLD`), also the same scenes with another class's
   badge (*swap* scenes), where the bird's class and the badge's class are both explained;
3. every **method** (:data:`xai_tutor.METHODS`) and the two image-blind baselines of the
   experiment (a centre blob, a seeded random map) on each scene, for the class the model
   predicts (the bird's, and on a cue scene the badge's);
4. the **scores** of each map: its share on each region (``share_<region>``; ``area_<region>``
   is the region's share of the pixels), the ground-truth metrics (``truth_mass``,
   ``truth_rank``, and ``truth_contrast`` on the swap scenes of the models that use both), and
   on the cue models every other metric of :data:`xai_tutor.evaluation.METRICS` (``metrics``;
   the localisation metrics against the bird's mask), with the options of ``options(seed)``.
   The course models get the ground-truth scores only: their scenes are four times larger, and
   the question they answer is whether a map on the reflection shows what they use.

Everything is seeded: the scenes by ``seed_offset``, the metrics' draws (perturbations,
imputation noise, the random logit's class, the randomised model) by ``seed`` and the scene.

The result, :class:`TrustStudy`, holds one row per map (``rows``, a tidy table for a notebook
or a CSV) and computes the verdicts (:mod:`.verdict`) and the metric meta-evaluation
(:mod:`.meta`) from them.

Example (a fast path for a notebook: one model, three methods, four scenes, no other metric)::

    >>> study = trust_study(["tiny_resnet_shortcut"], ["gradcam", "gradient", "lrp"], scenes=4,
    ...                     metrics=(), progress=False)
    >>> len(study.rows), sorted(study.uses["tiny_resnet_shortcut"])
    (20, ['cue'])
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .. import evaluation as ev
from ..data import SPECIES
from ..data.regions import RegionScene, region_scene
from ..evaluation.ground_truth import GroundTruth, region_shares
from ..models import CUE_MODEL_NAMES, load_model
from ..reliance import FRESH_SEED_OFFSET, predictions, swap_classes
from ..reliance.parts import DEFAULT_GRID
from .truth import measure_truth, used_regions

__all__ = ["TrustStudy", "trust_study", "DEFAULT_MODELS", "BASELINES", "default_options",
           "other_metrics"]

#: the models of the study: the cue models, then the course's tiny models
DEFAULT_MODELS: tuple[str, ...] = (*CUE_MODEL_NAMES, "tiny_vgg", "tiny_resnet")
CENTRE, RANDOM = "centre_baseline", "random_baseline"
#: a model's pool of fresh scenes is searched up to this many times ``scenes`` for scenes it
#: classifies right
MAX_TRIES = 4
BASELINES = (CENTRE, RANDOM)
GROUND_TRUTH = ("truth_mass", "truth_rank", "truth_contrast")


def default_options(seed: int) -> dict[str, dict[str, Any]]:
    """Small settings of the metrics that run the model or recompute the map: 8-step deletion
    and insertion curves, ROAD on the image and map resized to 0.3 (96 x 67 for a cue scene:
    its sparse solves grow faster than the pixels), 3 perturbations for the sensitivities."""
    return {
        "deletion": {"steps": 8, "batch_size": 9},
        "insertion": {"steps": 8, "batch_size": 9},
        "road": {"percentages": (20.0, 40.0, 60.0, 80.0), "scale": 0.3, "seed": seed},
        "sensitivity": {"samples": 3, "radius": 0.2, "seed": seed},
        "random_logit": {"seed": seed},
    }


def other_metrics(names: Sequence[str] | None = None) -> list[str]:
    """The registered metrics computed from a map that are not ground truth (all by default)."""
    return [m.name for m in ev.metrics_in(names)
            if m.score is not None and m.family != "ground_truth"]


@dataclass
class TrustStudy:
    """What :func:`trust_study` measured (module docstring).

    Attributes:
        rows: one dict per (model, scene, method or baseline): ``model``, ``scene`` (seed),
            ``method``, ``baseline`` (bool), ``target`` (the predicted class, the bird's),
            ``seconds`` (one call), the
            ``share_<region>`` and ``area_<region>`` of the scene's regions, and the scores.
        truth: ``{model: [GroundTruth per scene]}``; ``swap_truth`` the same on swap scenes.
        regions: ``{model: region names}`` (bird, cue, rest or bird, reflection, rest).
        uses: ``{model: regions whose mean drop >= USE_THRESHOLD}``, measured.
        kinds: ``{model: "cue" or "course"}``.
        methods / metrics: the methods run and the other metrics scored.
        skipped: ``{(model, method): why}`` for a method that does not apply to a model.
        passed_over: ``{model: scenes of its pool left out because it classifies them
            wrongly}``.
        costs: seconds spent: ``truth`` per model, ``explain`` per method, ``metric`` per metric.
        seconds: the study's wall time.
        settings: scenes, seed_offset, seed, grid, threads (torch's, during the study).
    """

    rows: list[dict[str, Any]]
    truth: dict[str, list[GroundTruth]]
    swap_truth: dict[str, list[GroundTruth]]
    regions: dict[str, tuple[str, ...]]
    uses: dict[str, tuple[str, ...]]
    kinds: dict[str, str]
    methods: list[str]
    metrics: list[str]
    skipped: dict[tuple[str, str], str] = field(default_factory=dict)
    passed_over: dict[str, int] = field(default_factory=dict)
    costs: dict[str, dict[str, float]] = field(default_factory=dict)
    seconds: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)

    def mean_drops(self, model: str) -> dict[str, float]:
        """Mean logit drop of each region over the model's scenes."""
        truths = self.truth[model]
        return {r: float(np.mean([t.drops[r] for t in truths])) for r in self.regions[model]}

    def verdicts(self, **kwargs: Any) -> list[dict[str, Any]]:
        """:func:`xai_tutor.trust.verdict.verdicts` of this study."""
        from .verdict import verdicts

        return verdicts(self, **kwargs)

    def correctness(self, **kwargs: Any) -> list[dict[str, Any]]:
        """:func:`xai_tutor.trust.verdict.correctness` of this study."""
        from .verdict import correctness

        return correctness(self, **kwargs)

    def metric_trust(self, **kwargs: Any) -> list[dict[str, Any]]:
        """:func:`xai_tutor.trust.meta.metric_trust` of this study."""
        from .meta import metric_trust

        return metric_trust(self, **kwargs)

    def table(self) -> str:
        """The verdict table in Markdown (:func:`xai_tutor.trust.report.verdict_table`)."""
        from .report import verdict_table

        return verdict_table(self.verdicts())


def _scene(name: str, i: int, seed_offset: int, cue: Any = "species") -> RegionScene:
    """Scene ``i`` of a model's pool: bird ``SPECIES[i % 16]``, seed ``seed_offset + i``; a cue
    scene (with the badge ``cue``) for a cue model, a scene on water for a course model."""
    from ..data.cues import make_cue_scene

    species = SPECIES[i % len(SPECIES)]
    if name in CUE_MODEL_NAMES:
        return make_cue_scene(species, cue, seed_offset + i)
    return region_scene(species, seed_offset + i, background="water")


def _classified_right(name: str, model: torch.nn.Module, n: int, seed_offset: int
                      ) -> tuple[list[int], list[RegionScene], int]:
    """The first ``n`` scenes of the pool that the model classifies right (at most ``4 n``
    tried): their indices, the scenes, and how many were passed over."""
    kept: list[tuple[int, RegionScene]] = []
    i = 0
    while len(kept) < n and i < MAX_TRIES * n:
        batch = [(j, _scene(name, j, seed_offset)) for j in range(i, i + n - len(kept))]
        i += len(batch)
        labels = predictions(model, [sc.image for _, sc in batch])
        kept += [(j, sc) for (j, sc), p in zip(batch, labels) if int(p) == sc.label]
    if len(kept) < n:
        raise ValueError(f"{name} classifies only {len(kept)} of {i} fresh scenes right; the "
                         f"study needs {n}")
    return [j for j, _ in kept], [sc for _, sc in kept], i - n


def _scene_seed(seed: int, model_kind: str, scene_seed: int) -> int:
    return int(seed) * 1000003 + zlib.crc32(f"trust/{model_kind}/{scene_seed}".encode())


def _fixed(saliency: np.ndarray) -> Callable[..., np.ndarray]:
    return lambda model, x, target: saliency


def _check(n: object, name: str, low: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < low:
        raise ValueError(f"{name} must be a whole number >= {low}; got {n!r}")
    return int(n)


def _bar(total: int, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="trust", unit="map", disable=not enabled, delay=1.0)


def trust_study(models: Sequence[str] | Mapping[str, torch.nn.Module] | None = None,
                methods: Sequence[str] | None = None, scenes: int = 16, *,
                metrics: Sequence[str] | None = None,
                options: Callable[[int], Mapping[str, Mapping[str, Any]]] | None = None,
                seed: int = 0, seed_offset: int = FRESH_SEED_OFFSET,
                grid: tuple[int, int] = DEFAULT_GRID,
                params: Callable[[str], dict[str, Any]] | None = None,
                progress: bool = True) -> TrustStudy:
    """Run the study of the module docstring and return its rows.

    Args:
        models: model names (:data:`DEFAULT_MODELS` when None), or ``{name: model}`` whose
            names are cue models or course models.
        methods: registry names (every registered method when None).
        scenes: scenes per model.
        metrics: the other metrics to score on the cue models (all when None; ``()`` for the
            ground truth only: the fast path).
        options: ``options(seed) -> {metric: kwargs}`` (:func:`default_options` when None).
        seed: seed of the metrics' draws and the randomised model.
        seed_offset: the scenes' first seed (never one a model was trained or validated on).
        grid: the grid that cuts the rest into parts (:func:`xai_tutor.reliance.parts`).
        params: ``params(method) -> kwargs`` for the method calls (``progress=False`` where
            accepted, when None).
        progress: show a progress bar.
    """
    from ..experiment.spec import method_params
    from ..methods import METHODS

    t0 = time.perf_counter()
    n = _check(scenes, "scenes", 1)
    seed = _check(seed, "seed", 0)
    names = list(DEFAULT_MODELS) if models is None else list(models)
    if not names:
        raise ValueError("give at least one model")
    bad = [m for m in names if m not in CUE_MODEL_NAMES and m not in ("tiny_vgg", "tiny_resnet")]
    if bad:
        raise ValueError(f"the study needs models whose reliance is measured: cue models "
                         f"({', '.join(CUE_MODEL_NAMES)}) or course models (tiny_vgg, "
                         f"tiny_resnet); got {', '.join(bad)}")
    method_list = list(METHODS) if methods is None else list(methods)
    unknown = [m for m in method_list if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {', '.join(unknown)}; available: "
                         f"{', '.join(METHODS)}")
    metric_list = other_metrics(None if metrics is None else list(metrics))
    options = options or default_options
    params = params or (lambda m: method_params(m, None))
    fns = {m: ev.explainer(m, params(m)) for m in method_list}

    study = TrustStudy([], {}, {}, {}, {}, {}, method_list, metric_list,
                       costs={"truth": {}, "explain": {}, "metric": {}},
                       settings={"scenes": n, "seed_offset": seed_offset, "seed": seed,
                                 "grid": list(grid), "threads": torch.get_num_threads()})
    per_model = n * (len(method_list) + len(BASELINES))
    bar = _bar(per_model * len(names), progress)
    try:
        for name in names:
            model = models[name] if isinstance(models, Mapping) else load_model(name)
            _run_model(study, name, model, n, seed_offset, seed, grid, fns, options, bar)
    finally:
        bar.close()
    study.seconds = time.perf_counter() - t0
    return study


def _add(costs: dict[str, float], key: str, seconds: float) -> None:
    costs[key] = costs.get(key, 0.0) + seconds


def _run_model(study: TrustStudy, name: str, model: torch.nn.Module, n: int, seed_offset: int,
               seed: int, grid: tuple[int, int], fns: Mapping[str, Any],
               options: Callable[[int], Mapping[str, Mapping[str, Any]]], bar: Any) -> None:
    t0 = time.perf_counter()
    kind = "cue" if name in CUE_MODEL_NAMES else "course"
    index, scenes, passed = _classified_right(name, model, n, seed_offset)
    study.passed_over[name] = passed
    truths = measure_truth(model, scenes, grid=grid)
    regions = tuple(scenes[0].regions)
    uses = used_regions(truths)
    contrast = kind == "cue" and {"bird", "cue"} <= set(uses)
    swapped = None
    if contrast:
        swap = swap_classes([j % len(SPECIES) for j in range(max(index) + 1)], seed_offset)
        swapped = [_scene(name, j, seed_offset, int(swap[j])) for j in index]
    swap_truths = measure_truth(model, scenes, swapped, grid=grid) if contrast else []
    study.truth[name], study.swap_truth[name] = truths, swap_truths
    study.regions[name], study.uses[name], study.kinds[name] = regions, uses, kind
    _add(study.costs["truth"], name, time.perf_counter() - t0)
    metrics = study.metrics if kind == "cue" else []
    randomised = None
    if any("explainer" in ev.METRICS[m].needs for m in metrics):
        randomised = ev.randomised_copy(model, seed=seed)
    scored = [*metrics, "truth_mass", "truth_rank"]
    for i, scene in enumerate(scenes):
        x = scene.input()
        target = int(scene.label)
        here = _scene_seed(seed, kind, scene.seed)
        template = ev.Subject(np.zeros((1, 1)), scene.regions["bird"][None], model, x, target,
                              None, randomised, dict(options(here)), truths[i])
        shape = scene.image.shape[:2]
        blind = {CENTRE: ev.centre_blob(shape),
                 RANDOM: ev.random_map(shape, here, resolution=(7, 7))}
        swap = swapped[i] if contrast else None
        for method in [*study.methods, *BASELINES]:
            bar.set_description(f"trust {name} {method}")
            bar.update(1)
            if (name, method) in study.skipped:
                continue
            t1 = time.perf_counter()
            if method in blind:
                saliency, fn = blind[method], _fixed(blind[method])
            else:
                fn = fns[method]
                try:
                    saliency = fn(model, x, target)
                except (ValueError, TypeError, NotImplementedError) as err:
                    study.skipped[(name, method)] = str(err).split(". ")[0]
                    continue
            seconds = time.perf_counter() - t1
            _add(study.costs["explain"], method, seconds)
            subject = ev.Subject(saliency, template.masks, model, x, target, fn, randomised,
                                 template.options, template.truth)
            row = {"model": name, "kind": kind, "scene": int(scene.seed), "method": method,
                   "baseline": method in blind, "target": target, "seconds": seconds}
            shares = region_shares(saliency, scene.regions)
            row.update({f"share_{r}": shares[r] for r in regions})
            row.update({f"area_{r}": float(scene.regions[r].mean()) for r in regions})
            for metric in scored:
                t2 = time.perf_counter()
                row[metric] = float(ev.METRICS[metric].score(subject))
                _add(study.costs["metric"], metric, time.perf_counter() - t2)
            row["truth_contrast"] = float("nan")
            if swap is not None:
                t2 = time.perf_counter()
                row["truth_contrast"] = _contrast(model, swap, swap_truths[i], fn)
                _add(study.costs["metric"], "truth_contrast", time.perf_counter() - t2)
            study.rows.append(row)


def _contrast(model: torch.nn.Module, swap: RegionScene, truth: GroundTruth, fn: Any) -> float:
    """``truth_contrast`` on a swap scene: the map of the bird's class against the badge's."""
    x = swap.input()
    saliency = fn(model, x, int(swap.label))
    subject = ev.Subject(saliency, None, model, x, int(swap.label), fn, truth=truth)
    return float(ev.METRICS["truth_contrast"].score(subject))
