"""The run: every method on every scene and model, scored; then the tables and figures."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import evaluation as ev
from .. import viz
from ..combination import combine
from . import report, spec
from .baselines import judge
from .claims import evaluate_claims
from .output import check_out, staging
from .report import summarise
from .sanity import failures, sanity_check
from .spec import (
    CENTRE,
    COMBINATIONS,
    DEFAULT_KINDS,
    DEFAULT_SAMPLES,
    RANDOM,
    centre_baseline,
    check_args,
    combo_name,
    make_scenes,
    method_params,
    random_baseline,
    scene_seed,
    target_masks,
)
from .timing import explain_timed, time_methods


@dataclass
class ExperimentResult:
    """What :func:`run_experiment` produced: raw rows, tables, claims and the files written."""

    scores: list[dict[str, Any]]
    metrics: list[dict[str, Any]]
    timing: list[dict[str, Any]]
    sanity: list[dict[str, Any]]
    claims: list[dict[str, Any]]
    #: rows of ``baselines.csv`` (the baseline rule per scope of scenes and metric)
    baselines: list[dict[str, Any]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    seconds: float = 0.0


def score_map(model: nn.Module, x: torch.Tensor, sal: np.ndarray, masks: np.ndarray,
               target: int, steps: int, curves: bool) -> dict[str, float]:
    """Every metric of one map against the explained birds' ``masks``: pointing game (15 px),
    relevance mass, multi-instance coverage, per-instance energy
    (:func:`xai_tutor.evaluation.instance_energy`), area recall, shape IoU; deletion and
    insertion AUC when ``curves`` (NaN otherwise)."""
    pg = ev.pointing_game(sal, masks, 15)
    out = {
        "pointing": float(pg.hit),
        "mass": ev.relevance_mass(sal, masks),
        "coverage": ev.multi_instance_coverage(sal, masks),
        "energy": ev.instance_energy(sal, masks),
        "recall": ev.area_recall(sal, masks),
        "shape_iou": ev.shape_iou(sal, masks),
        "deletion": float("nan"),
        "insertion": float("nan"),
    }
    if curves:
        out["deletion"] = ev.deletion_auc(model, x, sal, target, steps=steps,
                                          batch_size=steps + 1, progress=False)
        out["insertion"] = ev.insertion_auc(model, x, sal, target, steps=steps,
                                            batch_size=steps + 1, progress=False)
    return out


def run_experiment(
    models: Any = None,
    methods: Sequence[str] | None = None,
    kinds: Sequence[str] = DEFAULT_KINDS,
    samples: int = DEFAULT_SAMPLES,
    out: str | Path = "results",
    size: tuple[int, int] = (626, 418),
    steps: int = 4,
    curves: str = "canonical",
    expensive: str = "canonical",
    max_seconds: float = 60.0,
    batch_size: int | None = None,
    seed: int = 0,
    sanity: bool = True,
    progress: bool = True,
    force: bool = False,
    run_info: Mapping[str, Any] | None = None,
) -> ExperimentResult:
    """Run the paper's experiment and write its figures and tables to ``out``.

    Args:
        models: ``None`` (the course models), model names for :func:`xai_tutor.load_model`, or a
            ``{name: model}`` mapping.
        methods: registry names (default: all of :data:`xai_tutor.METHODS`).
        kinds: scene kinds; the canonical scenes of these kinds are the grid's columns.
        samples: generated scenes per kind on top of the canonical one.
        out: output folder. The run is written into a temporary folder beside it and renamed
            to ``out`` only when complete; an interrupted or failed run leaves ``out`` as it
            was. A non-empty ``out`` is refused (:class:`ResultsExistError`) unless ``force``.
        size: scene size ``(W, H)``; the paper uses 626 x 418.
        steps: steps of the deletion / insertion curves.
        curves: where to run the (costly) deletion / insertion curves: ``"canonical"`` (the
            canonical scenes only), ``"all"`` (every scene) or ``"none"``.
        expensive: scenes for the methods registered as expensive (Score-CAM, Ablation-CAM):
            ``"canonical"`` (default, to keep the run short) or ``"all"``.
        max_seconds: a method whose call takes longer than this on one scene is not run on the
            model's further scenes, nor in the sanity check (its time still enters the timing
            table, with one half-size run); this keeps e.g. Score-CAM on EfficientNet's 1280
            channels from taking most of the run.
        batch_size: batch size of the methods that take one (Score-CAM, Ablation-CAM, the
            SmoothGrad family); ``None`` keeps each method's own default, the fastest on CPU.
        seed: base seed of the generated scenes.
        sanity: run the model-randomisation check.
        progress: show a progress bar.
        run_info: more entries for ``run.json`` (the command line adds its preset and estimate).
        force: replace a non-empty ``out`` (renamed aside, the new run renamed in, the old
            folder deleted).
    """
    from ..data import load_image

    t_start = time.perf_counter()
    check_args(samples=samples, kinds=kinds, curves=curves, expensive=expensive, steps=steps,
               max_seconds=max_seconds, batch_size=batch_size, size=size)
    out = check_out(out, force)
    ev.release_freed_memory()
    method_list = spec.resolve_methods(methods)
    model_map = spec.resolve_models(models)
    combos = [c for c in COMBINATIONS if c[0] in method_list and c[1] in method_list]
    scenes = make_scenes(kinds, samples, tuple(size), seed)
    params = {m: method_params(m, batch_size) for m in method_list}

    scores: list[dict[str, Any]] = []
    canonical_maps: dict[str, dict[str, list[Any]]] = {}
    canonical_titles: dict[str, list[str]] = {}   # per model: "kind: class (p = ...)"
    timing: list[dict[str, Any]] = []
    sanity_rows: list[dict[str, Any]] = []
    skipped: dict[tuple[str, str], str] = {}
    slow: dict[tuple[str, str], str] = {}
    from ..methods import METHODS

    costly = {m for m in method_list if METHODS[m].expensive and expensive == "canonical"}
    n_canon = sum(1 for sid, _ in scenes if sid == "canonical")
    total = len(model_map) * (
        len(scenes) * (len(method_list) - len(costly)) + n_canon * len(costly)
        + 2 * len(method_list) + (len(method_list) if sanity else 0))
    bar = make_bar(total, progress)
    try:
        for model_name, model in model_map.items():
            grid_rows: dict[str, list[np.ndarray]] = {}
            first_costs: dict[str, ev.Cost] = {}
            for scene_id, scene in scenes:
                x, _ = load_image(scene.image)
                with torch.no_grad():
                    logits = model(x)
                cls = int(logits.argmax(dim=1)[0])
                masks, correct = target_masks(model, scene, cls, logits.shape[1])
                base = {"model": model_name, "kind": scene.kind, "scene": scene_id,
                        "target": cls, "correct": int(correct), "instances": len(masks),
                        "area": float(masks.any(axis=0).mean())}
                maps: dict[str, np.ndarray] = {}
                do_curves = curves == "all" or (curves == "canonical" and scene_id == "canonical")
                for method in method_list:
                    if method in costly and scene_id != "canonical":
                        continue
                    bar.set_description(f"{model_name} {scene.kind} {scene_id} {method}")
                    bar.update(1)
                    if (model_name, method) in skipped or (model_name, method) in slow:
                        continue
                    try:
                        cost = explain_timed(model, x, method, cls, params[method])
                    except (ValueError, TypeError, NotImplementedError) as err:
                        skipped[(model_name, method)] = str(err).split(". ")[0]
                        continue
                    sal = cost.result.saliency[0].detach().cpu().to(torch.float64).numpy()
                    maps[method] = sal
                    if cost.seconds > max_seconds:
                        slow[(model_name, method)] = (
                            f"{cost.seconds:.0f} s on one scene > --max-seconds {max_seconds:g}; "
                            "first scene only")
                    if scene_id == "canonical" and scene.kind == kinds[0]:
                        first_costs[method] = cost
                    row = dict(base, method=method, seconds=cost.seconds,
                               peak_mb=cost.peak_bytes / 2**20)
                    row.update(score_map(model, x, sal, masks, cls, steps, do_curves))
                    scores.append(row)
                extra = {combo_name(*c): combine([maps[c[0]], maps[c[1]]], c[2])
                         for c in combos if c[0] in maps and c[1] in maps}
                shape = (scene.image.size[1], scene.image.size[0])
                extra[CENTRE] = centre_baseline(shape)
                extra[RANDOM] = random_baseline(shape, scene_seed(seed, scene.kind, scene_id))
                for name, sal in extra.items():
                    row = dict(base, method=name, seconds=float("nan"), peak_mb=float("nan"))
                    row.update(score_map(model, x, sal, masks, cls, steps, do_curves))
                    scores.append(row)
                if scene_id == "canonical":
                    explained = viz.explained_class(model, x, cls)
                    canonical_titles.setdefault(model_name, []).append(
                        f"{scene.kind}: {viz.panel_title(explained)}")
                    for name in list(method_list) + [combo_name(*c) for c in combos]:
                        cell = extra.get(name, maps.get(name))
                        if cell is None and (model_name, name) in skipped:
                            cell = viz.NotApplicable(skipped[(model_name, name)])
                        grid_rows.setdefault(name, []).append(cell)
            canonical_maps[model_name] = grid_rows
            single = next((s for sid, s in scenes if sid == "canonical"), scenes[0][1])
            usable = [m for m in method_list if (model_name, m) not in skipped]
            bar.update((len(method_list) - len(usable)) * (3 if sanity else 2))
            timing += time_methods(model_name, model, single, usable, params, bar, first_costs)
            if sanity:
                fast = [m for m in usable if (model_name, m) not in slow]
                bar.update(len(usable) - len(fast))
                sanity_rows += sanity_check(model_name, model, single, fast, params, seed, bar)
    finally:
        bar.close()

    metrics = summarise(scores)
    judged = judge(scores)
    failing = failures(sanity_rows)
    claims = evaluate_claims(scores, timing, judged)
    with staging(out, force) as tmp:
        written = report.write_all(tmp, scores, metrics, timing, sanity_rows, claims,
                                   judged, failing,
                                   canonical_maps, scenes, kinds, model_map, method_list, combos,
                                   {**skipped, **slow}, column_titles=canonical_titles)
        elapsed = time.perf_counter() - t_start
        run = {
            "models": list(model_map), "methods": method_list, "kinds": list(kinds),
            "samples": samples, "scenes_per_kind": 1 + samples, "size": list(size),
            "steps": steps, "curves": curves, "expensive": expensive, "batch_size": batch_size,
            "seed": seed, "max_seconds": max_seconds,
            "skipped": [f"{k} on {m}: {why}" for (m, k), why in {**skipped, **slow}.items()],
            "seconds": round(elapsed, 1),
            "torch": torch.__version__, "threads": torch.get_num_threads(),
            "python": platform.python_version(), "machine": platform.machine(),
            **dict(run_info or {}),
        }
        (tmp / "run.json").write_text(json.dumps(run, indent=2) + "\n")
        written.append(tmp / "run.json")
    files = [out / p.relative_to(tmp) for p in written]
    return ExperimentResult(scores, metrics, timing, sanity_rows, claims,
                            report.baseline_rows(judged), sorted(files), elapsed)


class NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_description(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


def make_bar(total: int, enabled: bool) -> Any:
    if not enabled:
        return NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="experiment", unit="map")


