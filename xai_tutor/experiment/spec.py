"""What a run is made of: defaults, argument checks, models, methods, scenes and targets."""

from __future__ import annotations

import math
import numbers
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from torch import nn

from ..data import KINDS

DEFAULT_SAMPLES = 4
#: scene sides the generator accepts (:func:`xai_tutor.data.make_scene`)
MIN_SIDE, MAX_SIDE = 64, 4096
DEFAULT_KINDS = KINDS  # the scene kinds, defined once in xai_tutor.data
CENTRE = "centre_baseline"
#: the random-map baseline's row label; its map is :func:`random_baseline` (seeded per scene)
RANDOM = "random_baseline"
BASELINES = (CENTRE, RANDOM)
#: grid of the random baseline's noise (a CAM's 7 x 7 at 224 px), resized to the scene
RANDOM_RESOLUTION = (7, 7)
#: ``--preset``: settings a preset gives unless the command line names them. ``quick`` is meant
#: to finish within 10 minutes on 2 cores for the ImageNet trio: the canonical scenes only, at
#: half the paper's size, no deletion / insertion curves (2 (steps + 1) forwards per scored map:
#: the largest part of a short run; no claim uses them), no sanity check, a 20 s limit per map,
#: and no Score-CAM (one forward pass per channel of the last conv layer: 512-2048 per map)
PRESETS: dict[str, dict[str, Any]] = {
    "default": {"samples": DEFAULT_SAMPLES, "size": (626, 418), "curves": "canonical",
                "sanity": True, "max_seconds": 60.0, "leave_out": ()},
    "quick": {"samples": 0, "size": (313, 209), "curves": "none", "sanity": False,
              "max_seconds": 20.0, "leave_out": ("scorecam",)},
}
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
    "energy": ("energy", True),
    "recall": ("area recall", True),
    "shape_iou": ("shape IoU", True),
    "deletion": ("deletion AUC", False),
    "insertion": ("insertion AUC", True),
    "seconds": ("time s", False),
    "peak_mb": ("peak MB", False),
}


def combo_name(a: str, b: str, rule: str) -> str:
    """Row label of a combination, e.g. ``fullgrad*smoothgradcampp`` or ``fullgrad+gradcam``."""
    return f"{a}{'*' if rule == 'product' else '+' if rule == 'mean' else '|' + rule + '|'}{b}"


#: the metrics the baseline rule judges (:func:`xai_tutor.evaluation.compare_metrics`): name ->
#: higher is better (run time and memory are costs, not localisation, and are not judged)
JUDGED: dict[str, bool] = {k: METRICS[k][1] for k in (
    "pointing", "mass", "energy", "coverage", "recall", "shape_iou", "deletion", "insertion")}


def centre_baseline(shape: tuple[int, int]) -> np.ndarray:
    """A Gaussian bump at the image centre, ``sigma = min(H, W) / 4``, peak 1 (image-blind);
    :func:`xai_tutor.evaluation.centre_blob`."""
    from ..evaluation import centre_blob

    return centre_blob(shape)


def scene_seed(seed: int, kind: str, scene_id: str) -> int:
    """Seed of a scene's random baseline: ``seed * 1000003 + crc32("<kind>/<scene id>")``, the
    same for every model (and every run with the same ``seed``), different across scenes."""
    return int(seed) * 1000003 + zlib.crc32(f"{kind}/{scene_id}".encode())


def random_baseline(shape: tuple[int, int], seed: int) -> np.ndarray:
    """Image-blind random map: uniform noise on a :data:`RANDOM_RESOLUTION` grid, resized
    bilinearly to ``shape`` (:func:`xai_tutor.evaluation.random_map`)."""
    from ..evaluation import random_map

    return random_map(shape, seed, resolution=RANDOM_RESOLUTION)


def check_args(*, samples: Any = 0, kinds: Sequence[str] = DEFAULT_KINDS,
               curves: str = "canonical", expensive: str = "canonical", steps: Any = 4,
               max_seconds: Any = 60.0, batch_size: Any = None,
               size: Sequence[int] = (626, 418)) -> None:
    """Check the arguments of :func:`run_experiment` before any work.

    Raises ValueError naming the bad argument, what was given and what is expected.
    """
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


def resolve_models(models: Any) -> dict[str, nn.Module]:
    if isinstance(models, Mapping):
        return dict(models)
    from ..models import course_models, load_model

    if models is None:
        return dict(course_models())
    if isinstance(models, str):
        models = [models]
    return {name: load_model(name) for name in models}


def resolve_methods(methods: Sequence[str] | None) -> list[str]:
    from ..methods import METHODS

    if methods is None:
        return list(METHODS)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(
            f"unknown method(s) {', '.join(unknown)}; available: {', '.join(sorted(METHODS))}"
        )
    return list(methods)


def make_scenes(kinds: Sequence[str], samples: int, size: tuple[int, int], seed: int) -> list[Any]:
    from ..data import COURSE_SCENES, SPECIES, make_scene

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


def method_params(name: str, batch_size: int | None) -> dict[str, Any]:
    """``progress=False`` (one bar for the whole run); ``batch_size``, if given, where accepted."""
    from ..methods import METHODS

    info = METHODS[name]                    # what the registry declares, not the signature
    out: dict[str, Any] = {}
    if info.accepts_progress:
        out["progress"] = False
    if batch_size is not None and "batch_size" in info.defaults():
        out["batch_size"] = batch_size
    return out


def target_masks(model: nn.Module, scene: Any, cls: int, classes: int) -> tuple[np.ndarray, bool]:
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


