"""The paper's experiment (Section 4), with numbers instead of only pictures.

The paper runs every method on three bird photographs (one bird, two birds, many occluded birds)
with three ImageNet models and compares the saliency maps by eye (Figure 5). Here:

1. **Scenes**: per kind (``single``, ``pair``, ``flock``) the canonical course scene plus
   ``samples`` seeded generated scenes (seed ``1000 + i``). Each generated scene uses *one*
   species for all its birds, so a pair or a flock holds several instances of the explained class.
2. **Target**: each model's top class (the paper explains the prediction). The instances that
   count as ground truth are those of the predicted species; when the prediction names no bird in
   the scene (a misclassification) all instances count. The ``correct`` column records which.
3. **Maps**: every method of :data:`xai_tutor.METHODS` on every scene and model, timed with peak
   memory (:func:`xai_tutor.evaluation.measure`); combinations of pairs of methods
   (:data:`COMBINATIONS`, :func:`xai_tutor.combine`); and a *centre baseline* that knows nothing
   about the image (a Gaussian at the image centre, sigma = a quarter of the shorter side,
   TorchRay's centre baseline as a map).
4. **Metrics** per map (:mod:`xai_tutor.evaluation`): pointing game (15 px), relevance mass,
   multi-instance coverage, area recall, shape IoU; deletion AUC (grey baseline) and insertion AUC
   (blurred baseline), by default on the canonical scenes only (they cost ``2 (steps + 1)``
   forward passes per map); run time and peak memory; ``area`` is the objects' share of the
   image (the relevance mass of a uniform map).
5. **Scaling**: each method's run time on the canonical single scene at half and full size.
6. **Sanity**: Spearman correlation between the map of each model and of a copy with every layer
   re-initialised (Adebayo et al. 2018), on the canonical single scene at half size.
7. **Claims**: the paper's qualitative statements, each with the numbers measured and a verdict
   computed by a stated rule (:func:`evaluate_claims`).

Outputs (in ``out``): ``grid_<model>.png`` (Figure 5: the three canonical scenes as columns, one
row per method), ``representations_<model>.png``, ``scenes.png``, ``scores.csv`` (one row per
map), ``metrics.csv`` / ``metrics.md`` (mean and standard error per method x model x kind),
``overall.csv`` (per method over all models and scenes),
``timing.csv``, ``sanity.csv``, ``claims.csv`` / ``claims.md``, ``run.json``.

Example::

    >>> from xai_tutor.experiment import run_experiment
    >>> result = run_experiment(models=["tiny_vgg"], methods=["gradcam"], samples=0,
    ...                         size=(160, 112), out="/tmp/xai-exp", progress=False)
    >>> sorted(p.name for p in result.files)[:2]
    ['claims.csv', 'claims.md']
"""

from __future__ import annotations

import contextlib
import csv
import inspect
import json
import math
import numbers
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from . import evaluation as ev
from .combination import combine

__all__ = [
    "COMBINATIONS",
    "DEFAULT_SAMPLES",
    "METRICS",
    "ExperimentResult",
    "run_experiment",
    "summarise",
    "evaluate_claims",
    "centre_baseline",
    "check_out",
    "ResultsExistError",
]

DEFAULT_SAMPLES = 4
#: scene sides the generator accepts (:func:`xai_tutor.data.make_scene`)
MIN_SIDE, MAX_SIDE = 64, 4096
DEFAULT_KINDS = ("single", "pair", "flock")
CENTRE = "centre_baseline"
#: pairs of methods combined by :func:`xai_tutor.combine`: (first, second, rule)
COMBINATIONS: tuple[tuple[str, str, str], ...] = (
    ("fullgrad", "smoothgradcampp", "product"),
    ("fullgrad", "smoothgradcampp", "mean"),
    ("lrp", "gradcam", "product"),
    ("gradcampp", "scorecam", "mean"),
    ("guided_backprop", "gradcampp", "product"),
)
#: metric name -> (column title, higher is better)
METRICS: dict[str, tuple[str, bool]] = {
    "pointing": ("pointing", True),
    "mass": ("mass", True),
    "coverage": ("coverage", True),
    "recall": ("area recall", True),
    "shape_iou": ("shape IoU", True),
    "deletion": ("deletion AUC", False),
    "insertion": ("insertion AUC", True),
    "seconds": ("time s", False),
    "peak_mb": ("peak MB", False),
}
_HALF = 0.5
_REPEATS = 3
_REPEAT_BUDGET_S = 3.0
# fast runs (milliseconds) are repeated until this much time is timed, at most _FAST_REPEATS
# times, so that a ratio of two such times is not at the mercy of timer noise
_FAST_TIMED_S = 0.25
_FAST_REPEATS = 25


@dataclass
class ExperimentResult:
    """What :func:`run_experiment` produced: raw rows, tables, claims and the files written."""

    scores: list[dict[str, Any]]
    metrics: list[dict[str, Any]]
    timing: list[dict[str, Any]]
    sanity: list[dict[str, Any]]
    claims: list[dict[str, Any]]
    files: list[Path] = field(default_factory=list)
    seconds: float = 0.0


def combo_name(a: str, b: str, rule: str) -> str:
    """Row label of a combination, e.g. ``fullgrad*smoothgradcampp`` or ``fullgrad+gradcam``."""
    return f"{a}{'*' if rule == 'product' else '+' if rule == 'mean' else '|' + rule + '|'}{b}"


def centre_baseline(shape: tuple[int, int]) -> np.ndarray:
    """A Gaussian bump at the image centre, ``sigma = min(H, W) / 4``, peak 1 (image-blind)."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    sigma = min(h, w) / 4.0
    return np.exp(-(((yy - (h - 1) / 2) ** 2 + (xx - (w - 1) / 2) ** 2) / (2 * sigma**2)))


# --------------------------------------------------------------------------- the output folder


class ResultsExistError(FileExistsError):
    """The output folder already holds results and ``force`` was not given."""


def check_out(out: str | Path, force: bool = False) -> Path:
    """Check, before any work, that a run can be published at ``out``; return it as a Path.

    Raises ValueError when ``out`` is a file, lies under a file or cannot be created (its first
    existing parent is not a writable folder), and :class:`ResultsExistError` when ``out`` is a
    non-empty folder and ``force`` is not set. Nothing is left behind (an empty probe folder is
    made and removed beside ``out`` to prove that one can be made there).
    """
    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise ValueError(f"output folder {out} is a file, not a folder; give a folder path")
    if out.is_dir():
        if any(out.iterdir()) and not force:
            raise ResultsExistError(
                f"output folder {out} already holds files; pass --force to replace them (the old folder "
                "is replaced only once the new run is complete) or choose another folder")
        parent = out.resolve().parent
    else:
        parent = out.absolute().parent
        while not parent.exists():
            parent = parent.parent
        if not parent.is_dir():
            raise ValueError(f"output folder {out} lies under {parent}, which is a file, not a folder")
    try:  # the one sure test that a folder can be made there (permissions, read-only mounts)
        os.rmdir(tempfile.mkdtemp(prefix=f".{out.name}.probe-", dir=parent))
    except OSError as err:
        raise ValueError(f"output folder {out} cannot be created in {parent}: "
                         f"{err.strerror or err}") from None
    return out


@contextlib.contextmanager
def _staging(out: Path, force: bool) -> Iterator[Path]:
    """A temporary folder beside ``out`` to write the run into; published only on success.

    On success the folder is renamed to ``out``. An existing empty ``out`` is removed first; a
    non-empty one (``force`` only) is renamed aside, the new folder renamed in, then the old one
    deleted, so ``out`` always holds one complete run. On any exception (``KeyboardInterrupt``
    included) the temporary folder is deleted and ``out`` is left as it was.
    """
    out = check_out(out, force)
    out.absolute().parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.absolute().parent))
    try:
        yield tmp
        _publish(tmp, out, force)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _publish(tmp: Path, out: Path, force: bool) -> None:
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()
    if not out.exists():
        os.replace(tmp, out)
        return
    check_out(out, force)  # someone filled it meanwhile: refuse without force
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.absolute().parent))
    old.rmdir()
    os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------- arguments


def check_args(*, samples: Any = 0, kinds: Sequence[str] = DEFAULT_KINDS,
               curves: str = "canonical", expensive: str = "canonical", steps: Any = 4,
               max_seconds: Any = 60.0, batch_size: Any = None,
               size: Sequence[int] = (626, 418)) -> None:
    """Check the arguments of :func:`run_experiment` before any work; ValueError names the bad one."""
    def whole(value: Any) -> bool:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)

    if not whole(samples) or samples < 0:
        raise ValueError(f"samples must be a whole number >= 0; got {samples!r}")
    if not kinds:
        raise ValueError("give at least one scene kind")
    if curves not in ("canonical", "all", "none"):
        raise ValueError(f"curves must be 'canonical', 'all' or 'none'; got {curves!r}")
    if expensive not in ("canonical", "all"):
        raise ValueError(f"expensive must be 'canonical' or 'all'; got {expensive!r}")
    if not whole(steps) or steps < 1:
        raise ValueError(f"steps must be a whole number >= 1; got {steps!r}")
    if (not isinstance(max_seconds, numbers.Real) or isinstance(max_seconds, bool)
            or not math.isfinite(max_seconds) or max_seconds < 0):
        raise ValueError(f"max_seconds must be a finite number >= 0; got {max_seconds!r}")
    if batch_size is not None and (not whole(batch_size) or batch_size < 1):
        raise ValueError(f"batch_size must be a whole number >= 1; got {batch_size!r}")
    if (len(size) != 2 or not all(whole(v) for v in size)
            or not all(MIN_SIDE <= v <= MAX_SIDE for v in size)):
        raise ValueError(f"size must be two whole numbers (W, H), each from {MIN_SIDE} to "
                         f"{MAX_SIDE} (the scene generator's range); got {tuple(size)!r}")


# --------------------------------------------------------------------------- set-up helpers


def _resolve_models(models: Any) -> dict[str, nn.Module]:
    if isinstance(models, Mapping):
        return dict(models)
    from .models import course_models, load_model

    if models is None:
        return dict(course_models())
    if isinstance(models, str):
        models = [models]
    return {name: load_model(name) for name in models}


def _resolve_methods(methods: Sequence[str] | None) -> list[str]:
    from .methods import METHODS

    if methods is None:
        return list(METHODS)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(
            f"unknown method(s) {', '.join(unknown)}; available: {', '.join(sorted(METHODS))}"
        )
    return list(methods)


def _scenes(kinds: Sequence[str], samples: int, size: tuple[int, int], seed: int) -> list[Any]:
    from .data import COURSE_SCENES, SPECIES, make_scene

    out = []
    for kind in kinds:
        if kind not in COURSE_SCENES:
            raise ValueError(f"unknown scene kind {kind!r}; use single, pair or flock")
        canonical = make_scene(kind, size=size, **COURSE_SCENES[kind])
        out.append(("canonical", canonical))
        for i in range(samples):
            scene_seed = seed + 1000 + i
            species = SPECIES[int(np.random.default_rng(scene_seed).integers(len(SPECIES)))]
            out.append((f"s{scene_seed}", make_scene(kind, species=species, size=size,
                                                     seed=scene_seed)))
    return out


def _method_params(name: str, batch_size: int | None) -> dict[str, Any]:
    """``progress=False`` (one bar for the whole run); ``batch_size``, if given, where accepted."""
    from .methods import METHODS

    params = inspect.signature(METHODS[name].fn).parameters
    out: dict[str, Any] = {}
    if "progress" in params:
        out["progress"] = False
    if batch_size is not None and "batch_size" in params:
        out["batch_size"] = batch_size
    return out


def _target_masks(model: nn.Module, scene: Any, cls: int, classes: int) -> tuple[np.ndarray, bool]:
    """Masks of the instances of the predicted class, and whether there were any."""
    names = getattr(model, "class_names", None)
    keep = []
    for species, iid in zip(scene.species, scene.imagenet_ids):
        if classes == 1000:
            keep.append(iid is not None and int(iid) == cls)
        else:
            keep.append(names is not None and cls < len(names) and names[cls] == species)
    keep_arr = np.array(keep, dtype=bool)
    if keep_arr.any():
        return scene.masks[keep_arr], True
    return scene.masks, False


def _explain(model: nn.Module, x: torch.Tensor, method: str, target: int,
             params: dict[str, Any]) -> ev.Cost:
    from .api import explain

    return ev.measure(explain, model, x, method, target=target, **params)


def _score_map(model: nn.Module, x: torch.Tensor, sal: np.ndarray, masks: np.ndarray,
               target: int, steps: int, curves: bool) -> dict[str, float]:
    pg = ev.pointing_game(sal, masks, 15)
    out = {
        "pointing": float(pg.hit),
        "mass": ev.relevance_mass(sal, masks),
        "coverage": ev.multi_instance_coverage(sal, masks),
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


# --------------------------------------------------------------------------- the run


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
        force: replace a non-empty ``out`` (renamed aside, the new run renamed in, the old
            folder deleted).
    """
    from .data import load_image

    t_start = time.perf_counter()
    check_args(samples=samples, kinds=kinds, curves=curves, expensive=expensive, steps=steps,
               max_seconds=max_seconds, batch_size=batch_size, size=size)
    out = check_out(out, force)
    ev.release_freed_memory()
    method_list = _resolve_methods(methods)
    model_map = _resolve_models(models)
    combos = [c for c in COMBINATIONS if c[0] in method_list and c[1] in method_list]
    scenes = _scenes(kinds, samples, tuple(size), seed)
    params = {m: _method_params(m, batch_size) for m in method_list}

    scores: list[dict[str, Any]] = []
    canonical_maps: dict[str, dict[str, list[np.ndarray]]] = {}
    timing: list[dict[str, Any]] = []
    sanity_rows: list[dict[str, Any]] = []
    skipped: dict[tuple[str, str], str] = {}
    slow: dict[tuple[str, str], str] = {}
    from .methods import METHODS

    costly = {m for m in method_list if METHODS[m].expensive and expensive == "canonical"}
    n_canon = sum(1 for sid, _ in scenes if sid == "canonical")
    total = len(model_map) * (
        len(scenes) * (len(method_list) - len(costly)) + n_canon * len(costly)
        + 2 * len(method_list) + (len(method_list) if sanity else 0))
    bar = _bar(total, progress)
    try:
        for model_name, model in model_map.items():
            grid_rows: dict[str, list[np.ndarray]] = {}
            first_costs: dict[str, ev.Cost] = {}
            for scene_id, scene in scenes:
                x, _ = load_image(scene.image)
                with torch.no_grad():
                    logits = model(x)
                cls = int(logits.argmax(dim=1)[0])
                masks, correct = _target_masks(model, scene, cls, logits.shape[1])
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
                        cost = _explain(model, x, method, cls, params[method])
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
                    row.update(_score_map(model, x, sal, masks, cls, steps, do_curves))
                    scores.append(row)
                extra = {combo_name(*c): combine([maps[c[0]], maps[c[1]]], c[2])
                         for c in combos if c[0] in maps and c[1] in maps}
                extra[CENTRE] = centre_baseline((scene.image.size[1], scene.image.size[0]))
                for name, sal in extra.items():
                    row = dict(base, method=name, seconds=float("nan"), peak_mb=float("nan"))
                    row.update(_score_map(model, x, sal, masks, cls, steps, do_curves))
                    scores.append(row)
                if scene_id == "canonical":
                    for name in list(method_list) + [combo_name(*c) for c in combos]:
                        grid_rows.setdefault(name, []).append(extra.get(name, maps.get(name)))
            canonical_maps[model_name] = grid_rows
            single = next((s for sid, s in scenes if sid == "canonical"), scenes[0][1])
            usable = [m for m in method_list if (model_name, m) not in skipped]
            bar.update((len(method_list) - len(usable)) * (3 if sanity else 2))
            timing += _timing(model_name, model, single, usable, params, bar, first_costs)
            if sanity:
                fast = [m for m in usable if (model_name, m) not in slow]
                bar.update(len(usable) - len(fast))
                sanity_rows += _sanity(model_name, model, single, fast, params, seed, bar)
    finally:
        bar.close()

    metrics = summarise(scores)
    claims = evaluate_claims(scores, timing)
    with _staging(out, force) as tmp:
        written = _write(tmp, scores, metrics, timing, sanity_rows, claims, canonical_maps,
                         scenes, kinds, model_map, method_list, combos, {**skipped, **slow})
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
        }
        (tmp / "run.json").write_text(json.dumps(run, indent=2) + "\n")
        written.append(tmp / "run.json")
    files = [out / p.relative_to(tmp) for p in written]
    return ExperimentResult(scores, metrics, timing, sanity_rows, claims, sorted(files), elapsed)


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_description(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


def _bar(total: int, enabled: bool) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="experiment", unit="map")


def _timing(model_name: str, model: nn.Module, scene: Any, methods: Sequence[str],
            params: Mapping[str, dict], bar: Any,
            known: Mapping[str, ev.Cost] | None = None) -> list[dict[str, Any]]:
    """Run time and peak memory of each method at half and full scene size.

    Time: the fastest of up to ``_REPEATS`` runs (fewer when the runs add up to more than
    ``_REPEAT_BUDGET_S`` seconds; more, up to ``_FAST_REPEATS``, while they add up to less than
    ``_FAST_TIMED_S``), which filters out noise from other processes; memory: the
    largest peak seen. ``known``: full-size costs already measured in the main loop on this
    scene; they count as one run, and a method slower than the budget is not run again.
    """
    from .data import load_image
    from .models.efficientnet_lite import ShortSideResize

    rows = []
    w, h = scene.image.size
    # a model that resizes every input itself (EfficientNet-Lite0) costs the same at any size
    resizes = any(isinstance(m, ShortSideResize) for m in model.modules())
    for method in methods:
        prior_full = (known or {}).get(method)
        budget = _REPEAT_BUDGET_S if prior_full is None else min(
            _REPEAT_BUDGET_S, prior_full.seconds)
        entry: dict[str, Any] = {"model": model_name, "method": method, "resizes_input": resizes}
        for label, scale in (("half", _HALF), ("full", 1.0)):
            bar.set_description(f"{model_name} timing {method} {label}")
            size = (max(int(round(w * scale)), 32), max(int(round(h * scale)), 32))
            x, _ = load_image(scene.image, size=size)
            with torch.no_grad():
                cls = int(model(x).argmax(dim=1)[0])
            prior = (known or {}).get(method) if scale == 1.0 else None
            costs = [prior] if prior is not None else [_explain(model, x, method, cls,
                                                                 params[method])]
            while (len(costs) < _REPEATS and sum(c.seconds for c in costs) < budget) or (
                    len(costs) < _FAST_REPEATS and sum(c.seconds for c in costs) < _FAST_TIMED_S):
                costs.append(_explain(model, x, method, cls, params[method]))
            entry[f"{label}_size"] = f"{size[0]}x{size[1]}"
            entry[f"{label}_seconds"] = min(c.seconds for c in costs)
            entry[f"{label}_peak_mb"] = max(c.peak_bytes for c in costs) / 2**20
            entry[f"{label}_runs"] = len(costs)
            bar.update(1)
        entry["time_ratio"] = entry["full_seconds"] / max(entry["half_seconds"], 1e-9)
        rows.append(entry)
    return rows


def _sanity(model_name: str, model: nn.Module, scene: Any, methods: Sequence[str],
            params: Mapping[str, dict], seed: int, bar: Any) -> list[dict[str, Any]]:
    """Full-randomisation check on the scene at half size (a quarter of the cost)."""
    from .data import load_image

    w, h = scene.image.size
    x, _ = load_image(scene.image, size=(max(round(w * _HALF), 32), max(round(h * _HALF), 32)))
    rows = []
    for method in methods:
        bar.set_description(f"{model_name} sanity {method}")
        r = ev.randomisation_check(model, x, method, mode="full", seed=seed, progress=False,
                                   params=params[method])
        rows.append({"model": model_name, "method": method, "spearman": r.correlations[0],
                     "layers": r.randomised[0]})
        bar.update(1)
    return rows


# --------------------------------------------------------------------------- tables


def _mean_se(values: Iterable[float]) -> tuple[float, float, int]:
    v = np.array([x for x in values if not math.isnan(x)], dtype=np.float64)
    if v.size == 0:
        return float("nan"), float("nan"), 0
    se = float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else float("nan")
    return float(v.mean()), se, int(v.size)


def summarise(scores: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Mean and standard error (``std / sqrt(n)``, ddof 1; NaN for n = 1) per method x model x
    kind. ``n`` counts the scenes, ``n_curves`` those with deletion / insertion curves."""
    groups: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for row in scores:
        groups.setdefault((row["method"], row["model"], row["kind"]), []).append(row)
    out = []
    for (method, model, kind), rows in groups.items():
        entry: dict[str, Any] = {"method": method, "model": model, "kind": kind, "n": len(rows),
                                 "correct": float(np.mean([r["correct"] for r in rows])),
                                 "area": float(np.mean([r["area"] for r in rows]))}
        entry["n_curves"] = _mean_se(r["deletion"] for r in rows)[2]
        for key in METRICS:
            mean, se, _ = _mean_se(r[key] for r in rows)
            entry[key] = mean
            entry[f"{key}_se"] = se
        out.append(entry)
    return out


def _is_expensive(method: str) -> bool:
    from .methods import METHODS

    return method in METHODS and METHODS[method].expensive


def _fmt(mean: float, se: float | None = None, digits: int = 3) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    text = f"{mean:.{digits}f}"
    if se is not None and not math.isnan(se):
        text += f" ± {se:.{digits}f}"
    return text


def _write_csv(path: Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v)
                             for k, v in row.items()})
    return path


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _write(out: Path, scores, metrics, timing, sanity_rows, claims, canonical_maps, scenes,
           kinds, model_map, methods, combos, skipped) -> list[Path]:
    files = [
        _write_csv(out / "scores.csv", scores),
        _write_csv(out / "metrics.csv", metrics),
        _write_csv(out / "timing.csv", timing),
        _write_csv(out / "claims.csv", claims),
    ]
    if sanity_rows:
        files.append(_write_csv(out / "sanity.csv", sanity_rows))
    n_per_kind = {k: sum(1 for _, s in scenes if s.kind == k) for k in kinds}
    order = list(methods) + [combo_name(*c) for c in combos] + [CENTRE]
    md = ["# Metrics per method, model and scene kind", "",
          "Mean ± standard error over the scenes of each kind "
          f"({', '.join(f'{k}: n = {n}' for k, n in n_per_kind.items())}; the canonical scene "
          "plus generated ones). Higher is better except deletion AUC, time and memory. "
          "`area`: share of the image covered by the explained birds (relevance mass of a "
          "uniform map). `correct`: share of scenes where the top class is a bird in the scene. "
          "Deletion and insertion AUC are computed on "
          + ("every scene." if any(
              not math.isnan(r["deletion"]) for r in scores if r["scene"] != "canonical")
             else "the canonical scenes only (n = 1 per cell: no standard error).")
          + (" Methods registered as expensive (" + ", ".join(sorted(
              {r["method"] for r in scores if _is_expensive(r["method"])})) + ") ran on the "
             "canonical scenes only (n = 1 per cell)." if any(
              _is_expensive(r["method"]) for r in scores) and not any(
              _is_expensive(r["method"]) and r["scene"] != "canonical" for r in scores) else "")
          + " Time and memory are per call during the run (other processes share the CPU); "
          "see the timing table for best-of-3 times.", ""]
    if skipped:
        md += ["Methods left out for a model (blank in the grid where they did not run): "
               + "; ".join(
            f"{method} on {model} ({reason})" for (model, method), reason in skipped.items()),
            ""]
    overall = summarise([dict(r, model="all", kind="all") for r in scores])
    md += ["## All models and scene kinds together", "",
           "Mean ± standard error over every (model, scene) pair; `n`: maps per method "
           "(`n curves`: maps with deletion / insertion curves).", "",
           _md_table(["method", "n", "n curves"] + [title for title, _ in METRICS.values()],
                     [[m["method"], m["n"], m["n_curves"]]
                      + [_fmt(m[k], m[f"{k}_se"], 1 if k == "peak_mb" else 3)
                                       for k in METRICS]
                      for name in order for m in overall if m["method"] == name]), ""]
    files.append(_write_csv(out / "overall.csv", overall))
    header = ["method", "kind"] + [title for title, _ in METRICS.values()]
    for model in model_map:
        rows_m = [m for m in metrics if m["model"] == model]
        first = next((m for m in rows_m), None)
        md += [f"## {model}", ""]
        if first is not None:
            md += ["correct / area per kind: " + ", ".join(
                f"{k}: {next(m['correct'] for m in rows_m if m['kind'] == k):.2f} / "
                f"{next(m['area'] for m in rows_m if m['kind'] == k):.2f}" for k in kinds), ""]
        table = []
        for method in order:
            for kind in kinds:
                m = next((r for r in rows_m if r["method"] == method and r["kind"] == kind), None)
                if m is None:
                    continue
                table.append([method, kind] + [
                    _fmt(m[k], m[f"{k}_se"], 1 if k == "peak_mb" else 3) for k in METRICS])
        md += [_md_table(header, table), ""]
    md += ["## Run time at two image sizes (canonical single scene)", "",
           "Best of up to 3 runs (one run for methods slower than 3 s); `ratio` = full / half "
           "time for 4x the pixels.", "",
           _md_table(["model", "method", "half", "s", "full", "s", "ratio", "peak MB (full)"],
                     [[t["model"], t["method"], t["half_size"], _fmt(t["half_seconds"]),
                       t["full_size"], _fmt(t["full_seconds"]), _fmt(t["time_ratio"], None, 2),
                       _fmt(t["full_peak_mb"], None, 1)] for t in timing]), ""]
    if sanity_rows:
        md += ["## Randomisation sanity check (canonical single scene, half size)", "",
               "Spearman correlation between the map of the trained model and of a copy with "
               "every layer re-initialised: lower means the map depends more on what the model "
               "learned.", "",
               _md_table(["model", "method", "Spearman"],
                         [[s["model"], s["method"], _fmt(s["spearman"])] for s in sanity_rows]),
               ""]
    (out / "metrics.md").write_text("\n".join(md))
    files.append(out / "metrics.md")
    cl = ["# The paper's claims against the measurements", "",
          "Verdicts come from the rules in the last column, applied to `scores.csv` and "
          "`timing.csv`. Paired comparisons use the same scenes and models; a difference counts "
          "when its mean is more than 2 standard errors away from 0.", "",
          _md_table(["claim", "measured", "verdict", "rule"],
                    [[c["claim"], c["measured"], f"**{c['verdict']}**", c["rule"]]
                     for c in claims]), ""]
    (out / "claims.md").write_text("\n".join(cl))
    files.append(out / "claims.md")
    files += _figures(out, canonical_maps, scenes, kinds)
    return files


def _figures(out: Path, canonical_maps, scenes, kinds) -> list[Path]:
    from . import viz

    canon = {s.kind: s for sid, s in scenes if sid == "canonical"}
    images = [canon[k].image for k in kinds]
    files = []
    for model, rows in canonical_maps.items():
        fig = viz.grid(images, rows, "heatmap", column_titles=list(kinds),
                       title=f"{model}: saliency maps (heatmap), first row the input scenes")
        path = out / f"grid_{model}.png"
        fig.savefig(path, dpi=60)
        files.append(path)
        full = [m for m in rows if all(v is not None for v in rows[m])]
        picks = [m for m in ("gradcampp", "lrp", "fullgrad") if m in full][:2] or full[:1]
        rep_rows = {f"{m} {rep}": [viz.render(im, s, rep) for im, s in zip(images, rows[m])]
                    for m in picks for rep in viz.REPRESENTATIONS}
        fig = _image_grid(images, rep_rows, list(kinds),
                          f"{model}: the paper's three representations")
        path = out / f"representations_{model}.png"
        fig.savefig(path, dpi=60)
        files.append(path)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4 * len(kinds), 3), layout="constrained")
    for ax, kind in zip(fig.subplots(1, len(kinds), squeeze=False)[0], kinds):
        viz.show_masks(canon[kind], ax=ax)
        ax.set_title(f"{kind}: instance masks")
    path = out / "scenes.png"
    fig.savefig(path, dpi=70)
    files.append(path)
    return files


def _image_grid(images, rows, titles, title):
    """Like :func:`xai_tutor.viz.grid`, but the rows are ready-made RGB images."""
    from matplotlib.figure import Figure

    from .viz import as_image

    imgs = [as_image(i) for i in images]
    h, w = imgs[0].shape[:2]
    n = 1 + len(rows)
    fig = Figure(figsize=(1.3 + 2.6 * len(imgs), 2.6 * h / w * n + 0.4), layout="constrained")
    axes = fig.subplots(n, len(imgs), squeeze=False)
    for r, (label, row) in enumerate([("input", imgs)] + list(rows.items())):
        for c, im in enumerate(row):
            axes[r][c].imshow(im)
            axes[r][c].set_xticks([])
            axes[r][c].set_yticks([])
            if r == 0:
                axes[r][c].set_title(titles[c])
            if c == 0:
                axes[r][c].set_ylabel(label, rotation=0, ha="right", va="center")
    fig.suptitle(title)
    return fig


# --------------------------------------------------------------------------- claims


def _paired(scores, metric: str, a: str, b: str | Sequence[str], kinds=None,
            reduce_b: str = "mean") -> tuple[float, float, int]:
    """Mean and SE of ``metric(a) - metric(b)`` over (model, scene) pairs present for both.

    ``b`` may be a list of methods: then the per-scene median (``reduce_b="median"``) of their
    values is the reference.
    """
    table: dict[tuple[str, str, str], dict[str, float]] = {}
    for r in scores:
        if kinds is not None and r["kind"] not in kinds:
            continue
        table.setdefault((r["model"], r["kind"], r["scene"]), {})[r["method"]] = r[metric]
    diffs = []
    for vals in table.values():
        if a not in vals:
            continue
        if isinstance(b, str):
            if b not in vals:
                continue
            ref = vals[b]
        else:
            ref_vals = [vals[m] for m in b if m in vals and m != a]
            if not ref_vals:
                continue
            ref = float(np.median(ref_vals)) if reduce_b == "median" else float(np.mean(ref_vals))
        diffs.append(vals[a] - ref)
    return _mean_se(diffs)


def _verdict(mean: float, se: float, n: int, higher_supports: bool = True) -> str:
    if n == 0 or math.isnan(mean):
        return "not measured"
    sign = 1 if higher_supports else -1
    if sign * mean - 2 * se > 0:
        return "supported"
    if sign * mean + 2 * se < 0:
        return "contradicted"
    return "inconclusive"


def _method_mean(scores, metric, method, kinds=None) -> tuple[float, float, int]:
    return _mean_se(r[metric] for r in scores
                    if r["method"] == method and (kinds is None or r["kind"] in kinds))


def _combine_verdicts(parts: Sequence[str]) -> str:
    if any(p == "not measured" for p in parts):
        return "not measured"
    if all(p == "supported" for p in parts):
        return "supported"
    if any(p == "supported" for p in parts):
        return "partly supported"
    if all(p == "contradicted" for p in parts):
        return "contradicted"
    return "not supported"


def evaluate_claims(scores: Sequence[Mapping[str, Any]],
                    timing: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The paper's claims, each with the numbers measured and a verdict from a stated rule."""
    from .methods import METHODS

    multi = ("pair", "flock")
    present = {r["method"] for r in scores}
    explainers = [m for m in present if m in METHODS]
    cams = [m for m in explainers if METHODS[m].family == "cam"]
    claims: list[dict[str, Any]] = []

    def add(claim: str, measured: str, verdict: str, rule: str) -> None:
        claims.append({"claim": claim, "measured": measured, "verdict": verdict, "rule": rule})

    def pd(mean, se, n):
        return f"{mean:+.3f} ± {se:.3f} (n = {n})"

    # 1. Grad-CAM and several instances
    if "gradcam" in present:
        g = _method_mean(scores, "coverage", "gradcam", multi)
        d = _paired(scores, "coverage", "gradcam", explainers, multi, "median")
        add("Grad-CAM struggles with multiple instances",
            f"Grad-CAM coverage on pair/flock {_fmt(g[0], g[1])} (n = {g[2]}); minus the "
            f"per-scene median of all methods: {pd(*d)}",
            _verdict(*d, higher_supports=False),
            "supported if Grad-CAM's multi-instance coverage is lower than the median method's "
            "on the same scenes (paired, 2 SE)")
    else:
        add("Grad-CAM struggles with multiple instances", "Grad-CAM not run", "not measured", "")
    # 2. Grad-CAM++ vs Grad-CAM
    d = _paired(scores, "coverage", "gradcampp", "gradcam", multi)
    add("Grad-CAM++ does better than Grad-CAM on multiple instances",
        f"coverage Grad-CAM++ minus Grad-CAM on pair/flock: {pd(*d)}", _verdict(*d),
        "supported if Grad-CAM++'s multi-instance coverage is higher (paired, 2 SE)")
    # 3. FullGrad: whole bird, noise, memory
    whole = _paired(scores, "recall", "fullgrad", "gradcam")
    noise = _paired(scores, "mass", "fullgrad", "smoothgradcampp")
    mem = _memory_ratio(scores, "fullgrad", [c for c in cams if c != "fullgrad"])
    v_mem = ("not measured" if math.isnan(mem) else "supported" if mem >= 1.5
             else "contradicted" if mem < 1.0 else "inconclusive")
    parts = [_verdict(*whole), _verdict(*noise, higher_supports=False), v_mem]
    add("FullGrad captures the whole bird but adds noise and uses a lot of memory",
        f"area recall FullGrad minus Grad-CAM {pd(*whole)}; relevance mass FullGrad minus "
        f"SmoothGrad-CAM++ {pd(*noise)} (negative = more saliency off the birds); peak memory "
        f"FullGrad / median other CAM method = {mem:.2f}x "
        f"[parts: {', '.join(parts)}]",
        _combine_verdicts(parts),
        "three parts, each paired with 2 SE: recall above Grad-CAM's; mass below SmoothGrad-"
        "CAM++'s; mean peak memory >= 1.5x the median of the other CAM methods. supported = all "
        "three, partly = some")
    d = _paired(scores, "coverage", "fullgrad", "gradcam", multi)
    add("FullGrad performs better than Grad-CAM on multi-instance images",
        f"coverage FullGrad minus Grad-CAM on pair/flock: {pd(*d)}", _verdict(*d),
        "supported if FullGrad's multi-instance coverage is higher (paired, 2 SE)")
    # 4. gradient-free methods: slower, and scale with image size
    add(*_speed_claim(timing))
    # 5. DeconvNet
    mass = _paired(scores, "mass", "deconvnet", CENTRE)
    point = _paired(scores, "pointing", "deconvnet", CENTRE)
    vm = _verdict(*mass)
    add("DeconvNet barely localises the bird",
        f"relevance mass DeconvNet minus centre baseline {pd(*mass)}; pointing hit rate "
        f"DeconvNet minus centre baseline {pd(*point)}",
        "not measured" if vm == "not measured" else
        "contradicted" if vm == "supported" else "supported",
        "supported unless DeconvNet's relevance mass beats an image-blind centre Gaussian "
        "(paired, 2 SE)")
    # 6. LRP shape
    d = _paired(scores, "shape_iou", "lrp", cams, None, "median")
    add("LRP gives the shape of the body",
        f"shape IoU LRP minus the per-scene median CAM method: {pd(*d)}", _verdict(*d),
        "supported if LRP's shape IoU is higher than the median CAM method's (paired, 2 SE)")
    # 7. combining
    add(*_combination_claim(scores))
    return claims


def _memory_ratio(scores, method: str, others: Sequence[str]) -> float:
    mine = _method_mean(scores, "peak_mb", method)[0]
    theirs = [_method_mean(scores, "peak_mb", m)[0] for m in others]
    theirs = [t for t in theirs if not math.isnan(t)]
    if math.isnan(mine) or not theirs:
        return float("nan")
    return mine / max(float(np.median(theirs)), 1e-6)


def _speed_claim(timing) -> tuple[str, str, str, str]:
    claim = "Gradient-free methods (Ablation-CAM, Score-CAM) are slower and scale with image size"
    rule = ("supported if, for every model, each gradient-free method is slower at full size "
            "than every gradient CAM method (Grad-CAM, Grad-CAM++, XGrad-CAM) and its run time "
            "grows at least 2x from half to full size (4x the pixels; not asked of a model that "
            "resizes every input to a fixed size itself); partly if one of the two")
    free = [t for t in timing if t["method"] in ("ablationcam", "scorecam")]
    grad = [t for t in timing if t["method"] in ("gradcam", "gradcampp", "xgradcam")]
    if not free or not grad:
        return claim, "not run", "not measured", rule
    slower, scales, text = True, True, []
    for model in sorted({t["model"] for t in free}):
        g_max = max(t["full_seconds"] for t in grad if t["model"] == model)
        for t in (t for t in free if t["model"] == model):
            slower &= t["full_seconds"] > g_max
            fixed = bool(t.get("resizes_input", False))
            scales &= fixed or t["time_ratio"] >= 2.0
            text.append(f"{model} {t['method']}: {t['full_seconds']:.2f} s "
                        f"(x{t['full_seconds'] / max(g_max, 1e-9):.1f} the slowest gradient "
                        f"CAM), half->full x{t['time_ratio']:.1f}"
                        + (" (the model resizes its input: not counted)" if fixed else ""))
    verdict = _combine_verdicts(["supported" if slower else "contradicted",
                                 "supported" if scales else "contradicted"])
    return claim, "; ".join(text), verdict, rule


def _combination_claim(scores) -> tuple[str, str, str, str]:
    claim = "Combining explanations gives a better explanation than either part"
    rule = ("for each combination: relevance mass minus that of the better part (higher mean "
            "over all scenes), paired with 2 SE; supported if most combinations are better, "
            "contradicted if most are worse, else inconclusive")
    present = {r["method"] for r in scores}
    texts, verdicts = [], []
    for a, b, rule_c in COMBINATIONS:
        name = combo_name(a, b, rule_c)
        if name not in present:
            continue
        better = max((a, b), key=lambda m: _method_mean(scores, "mass", m)[0])
        d = _paired(scores, "mass", name, better)
        v = _verdict(*d)
        verdicts.append(v)
        texts.append(f"{name} vs {better}: {d[0]:+.3f} ± {d[1]:.3f} ({v})")
    if not verdicts:
        return claim, "no combination run", "not measured", rule
    up = sum(v == "supported" for v in verdicts)
    down = sum(v == "contradicted" for v in verdicts)
    half = len(verdicts) / 2
    verdict = "supported" if up > half else "contradicted" if down > half else "inconclusive"
    return claim, "; ".join(texts), verdict, rule
