"""The run: every method on every scene and model, scored; then the tables and figures."""

from __future__ import annotations

import dataclasses
import json
import platform
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import evaluation as ev
from .. import viz
from ..combination import combine
from . import report, spec
from .claims import evaluate_claims
from .judge import judge
from .output import check_out, staging
from .report import summarise
from .sanity import failures, sanity_check, verdicts
from .settings import Settings
from .spec import (
    CENTRE,
    COMBINATIONS,
    RANDOM,
    centre_baseline,
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
    #: what the run measured
    settings: Settings | None = None


def score_map(subject: ev.Subject, metrics: Sequence[str], model_metrics: bool,
              recompute: bool) -> dict[str, float]:
    """Every metric of ``metrics`` for one map, in registry order: those that need only the
    map and the masks always; those that run the model when ``model_metrics``; those that
    recompute the map when ``recompute`` too. A metric not computed is NaN."""
    out = {}
    for name in metrics:
        info = ev.METRICS[name]
        wanted = ("model" not in info.needs or model_metrics) and (
            "explainer" not in info.needs or recompute)
        out[name] = float(info.score(subject)) if wanted and info.available(subject) else \
            float("nan")
    return out


def _subject(template: ev.Subject, saliency: np.ndarray,
             fn: ev.explainers.Explainer) -> ev.Subject:
    """``template`` (the scene's masks, model, image, class, options) for one map."""
    return dataclasses.replace(template, saliency=saliency, explainer=fn, cache={})


def _fixed(saliency: np.ndarray) -> ev.explainers.Explainer:
    """The explainer of an image-blind baseline: the same map whatever the model, input, class."""
    return lambda model, x, target: saliency


def _combined(a: ev.explainers.Explainer, b: ev.explainers.Explainer,
              rule: str) -> ev.explainers.Explainer:
    return lambda model, x, target: np.asarray(combine([a(model, x, target),
                                                        b(model, x, target)], rule))


def run_experiment(settings: Settings | None = None, *, models: Any = None,
                   out: str | Path = "results", force: bool = False, progress: bool = True,
                   run_info: Mapping[str, Any] | None = None,
                   **overrides: Any) -> ExperimentResult:
    """Run the paper's experiment and write its figures and tables to ``out``.

    Args:
        settings: what to measure (:class:`~.settings.Settings`; default ``Settings()``: the
            command line's ``"default"`` preset without its trust section). ``overrides``
            replace some of its fields (``samples=1``, ``methods=[...]``), checked as a new
            Settings.
        models: ``None`` (the course models), model names for :func:`xai_tutor.load_model`, or a
            ``{name: model}`` mapping.
        out: output folder. The run is written into a temporary folder beside it and renamed
            to ``out`` only when complete; an interrupted or failed run leaves ``out`` as it
            was. A non-empty ``out`` is refused (:class:`ResultsExistError`) unless ``force``.
        force: replace a non-empty ``out`` (renamed aside, the new run renamed in, the old
            folder deleted).
        progress: show a progress bar.
        run_info: more entries for ``run.json`` (the command line adds its preset and estimate).
    """
    from ..data import load_image
    from ..methods import METHODS

    t_start = time.perf_counter()
    settings = settings if settings is not None else Settings()
    if overrides:
        known = {f.name for f in dataclasses.fields(Settings)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise TypeError(f"run_experiment got unknown setting(s) {', '.join(unknown)}; "
                            f"settings are {', '.join(sorted(known))}")
        settings = dataclasses.replace(settings, **overrides)
    out = check_out(out, force)
    s = settings
    method_list = s.method_list()
    metric_names = s.metric_names()
    model_map = spec.resolve_models(models)
    combos = [c for c in COMBINATIONS if c[0] in method_list and c[1] in method_list]
    scenes = make_scenes(s.kinds, s.samples, s.size, s.seed)
    params = {m: method_params(m, s.batch_size) for m in method_list}

    scores: list[dict[str, Any]] = []
    canonical_maps: dict[str, dict[str, list[Any]]] = {}
    canonical_titles: dict[str, list[str]] = {}   # per model: "kind: class (p = ...)"
    timing: list[dict[str, Any]] = []
    sanity_rows: list[dict[str, Any]] = []
    sanity_skipped: dict[tuple[str, str], str] = {}
    skipped: dict[tuple[str, str], str] = {}
    slow: dict[tuple[str, str], str] = {}
    costly = {m for m in method_list if METHODS[m].expensive and s.expensive == "canonical"}
    n_canon = sum(1 for sid, _ in scenes if sid == "canonical")
    total = len(model_map) * (
        len(scenes) * (len(method_list) - len(costly)) + n_canon * len(costly)
        + 2 * len(method_list) + (len(method_list) if s.sanity else 0))
    bar = make_bar(total, progress)
    try:
        for model_name, model in model_map.items():
            grid_rows: dict[str, list[np.ndarray]] = {}
            first_costs: dict[str, ev.Cost] = {}
            randomised: list[Any] = []   # the fully randomised model, made when first needed
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
                explainers: dict[str, tuple[ev.explainers.Explainer, float]] = {}
                model_metrics = s.curves == "all" or (s.curves == "canonical"
                                                      and scene_id == "canonical")
                seed_here = scene_seed(s.seed, scene.kind, scene_id)
                options = s.options(seed_here)
                if model_metrics and not randomised and any(
                        "explainer" in ev.METRICS[m].needs for m in metric_names):
                    randomised.append(ev.randomised_copy(model, seed=s.seed))

                template = ev.Subject(np.zeros((1, 1)), masks, model, x, cls, None,
                                      randomised[0] if randomised else None, options)

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
                    explainers[method] = (ev.explainer(method, params[method]), cost.seconds)
                    if cost.seconds > s.max_seconds:
                        slow[(model_name, method)] = (
                            f"{cost.seconds:.0f} s on one scene > --max-seconds "
                            f"{s.max_seconds:g}; first scene only")
                    if scene_id == "canonical" and scene.kind == s.kinds[0]:
                        first_costs[method] = cost
                    row = dict(base, method=method, seconds=cost.seconds)
                    subj = _subject(template, sal, explainers[method][0])
                    row.update(score_map(subj, metric_names, model_metrics,
                                         cost.seconds <= s.recompute_seconds))
                    scores.append(row)
                extra = {}
                for a, b, rule in combos:
                    if a in maps and b in maps:
                        fn = _combined(explainers[a][0], explainers[b][0], rule)
                        extra[combo_name(a, b, rule)] = (
                            np.asarray(combine([maps[a], maps[b]], rule)), fn,
                            explainers[a][1] + explainers[b][1])
                shape = (scene.image.size[1], scene.image.size[0])
                for name, blind in ((CENTRE, centre_baseline(shape)),
                                    (RANDOM, random_baseline(shape, seed_here))):
                    extra[name] = (blind, _fixed(blind), 0.0)
                for name, (sal, fn, seconds) in extra.items():
                    row = dict(base, method=name, seconds=float("nan"))
                    row.update(score_map(_subject(template, sal, fn), metric_names, model_metrics,
                                         seconds <= s.recompute_seconds))
                    scores.append(row)
                if scene_id == "canonical":
                    explained = viz.explained_class(model, x, cls)
                    canonical_titles.setdefault(model_name, []).append(
                        f"{scene.kind}: {viz.panel_title(explained)}")
                    for name in list(method_list) + [combo_name(*c) for c in combos]:
                        cell = extra[name][0] if name in extra else maps.get(name)
                        if cell is None and (model_name, name) in skipped:
                            cell = viz.NotApplicable(skipped[(model_name, name)])
                        grid_rows.setdefault(name, []).append(cell)
            canonical_maps[model_name] = grid_rows
            single = next((sc for sid, sc in scenes if sid == "canonical"), scenes[0][1])
            usable = [m for m in method_list if (model_name, m) not in skipped]
            bar.update((len(method_list) - len(usable)) * (3 if s.sanity else 2))
            timing += time_methods(model_name, model, single, usable, params, bar, first_costs)
            if s.sanity:
                fast = [m for m in usable if (model_name, m) not in slow]
                bar.update(len(usable) - len(fast))
                rows, left = sanity_check(model_name, model, scenes, fast, params, s, bar)
                sanity_rows += rows
                sanity_skipped.update({(model_name, m): why for m, why in left.items()})
    finally:
        bar.close()

    study = None
    if s.trust_scenes:
        from ..trust import trust_study

        study = trust_study(None, method_list, s.trust_scenes, seed=s.seed,
                            params=lambda m: method_params(m, s.batch_size), progress=progress)
    metrics = summarise(scores)
    judged = judge(scores)
    failing = failures(sanity_rows)
    randomisation = {model: {m: v.verdict for m, v in table.items()}
                     for model, table in verdicts(sanity_rows).items()}
    if sanity_rows:   # why a method has no verdict on a model
        for model, method in skipped:
            randomisation.setdefault(model, {})[method] = "does not run"
        for model, method in {**slow, **sanity_skipped}:
            randomisation.setdefault(model, {}).setdefault(method, "not checked (too slow)")
    claims = evaluate_claims(scores, timing, judged, randomisation)
    with staging(out, force) as tmp:
        written = report.write_all(tmp, scores, metrics, timing, sanity_rows, claims,
                                   judged, failing,
                                   canonical_maps, scenes, s.kinds, model_map, method_list,
                                   combos, {**skipped, **slow}, column_titles=canonical_titles,
                                   sanity_skipped=sanity_skipped)
        if study is not None:
            from ..trust import write_trust

            written += write_trust(tmp, study)
        elapsed = time.perf_counter() - t_start
        run = {
            "models": list(model_map), "methods": method_list, "metrics": metric_names,
            "kinds": list(s.kinds), "samples": s.samples, "scenes_per_kind": 1 + s.samples,
            "size": list(s.size), "steps": s.steps, "curves": s.curves,
            "expensive": s.expensive, "batch_size": s.batch_size, "seed": s.seed,
            "max_seconds": s.max_seconds, "settings": s.record(),
            "skipped": [f"{k} on {m}: {why}" for (m, k), why in {**skipped, **slow}.items()],
            "sanity_skipped": [f"{k} on {m}: {why}" for (m, k), why in sanity_skipped.items()],
            "seconds": round(elapsed, 1),
            "trust": None if study is None else {
                "scenes": s.trust_scenes, "models": list(study.kinds),
                "seconds": round(study.seconds, 1),
                "skipped": [f"{k} on {m}: {why}" for (m, k), why in study.skipped.items()]},
            "torch": torch.__version__, "threads": torch.get_num_threads(),
            "python": platform.python_version(), "machine": platform.machine(),
            **dict(run_info or {}),
        }
        (tmp / "run.json").write_text(json.dumps(run, indent=2) + "\n")
        written.append(tmp / "run.json")
    files = [out / p.relative_to(tmp) for p in written]
    return ExperimentResult(scores, metrics, timing, sanity_rows, claims,
                            report.baseline_rows(judged), sorted(files), elapsed, s)


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


