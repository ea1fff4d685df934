"""What a run is made of besides its settings: models, scenes, baselines, combinations, targets."""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from torch import nn

from ..data import KINDS

DEFAULT_KINDS = KINDS  # the scene kinds, defined once in xai_tutor.data
CENTRE = "centre_baseline"
#: the random-map baseline's row label; its map is :func:`random_baseline` (seeded per scene)
RANDOM = "random_baseline"
BASELINES = (CENTRE, RANDOM)
#: grid of the random baseline's noise (a CAM's 7 x 7 at 224 px), resized to the scene
RANDOM_RESOLUTION = (7, 7)
#: pairs of methods combined by :func:`xai_tutor.combine`: (first, second, rule)
COMBINATIONS: tuple[tuple[str, str, str], ...] = (
    ("fullgrad", "smoothgradcampp", "product"),
    ("fullgrad", "smoothgradcampp", "mean"),
    ("lrp", "gradcam", "product"),
    ("gradcampp", "scorecam", "mean"),
    ("guided_backprop", "gradcampp", "product"),
)


def combo_name(a: str, b: str, rule: str) -> str:
    """Row label of a combination, e.g. ``fullgrad*smoothgradcampp`` or ``fullgrad+gradcam``."""
    return f"{a}{'*' if rule == 'product' else '+' if rule == 'mean' else '|' + rule + '|'}{b}"


def centre_baseline(shape: tuple[int, int]) -> np.ndarray:
    """A Gaussian bump at the image centre, ``sigma = min(H, W) / 4``, peak 1 (image-blind);
    :func:`xai_tutor.evaluation.centre_blob`."""
    from ..evaluation import centre_blob

    return centre_blob(shape)


def scene_seed(seed: int, kind: str, scene_id: str) -> int:
    """Seed of a scene's random baseline and of its metrics' draws (perturbations, imputation
    noise, the other class): ``seed * 1000003 + crc32("<kind>/<scene id>")``, the same for every
    model and method (and every run with the same ``seed``), different across scenes."""
    return int(seed) * 1000003 + zlib.crc32(f"{kind}/{scene_id}".encode())


def random_baseline(shape: tuple[int, int], seed: int) -> np.ndarray:
    """Image-blind random map: uniform noise on a :data:`RANDOM_RESOLUTION` grid, resized
    bilinearly to ``shape`` (:func:`xai_tutor.evaluation.random_map`)."""
    from ..evaluation import random_map

    return random_map(shape, seed, resolution=RANDOM_RESOLUTION)


def resolve_models(models: Any) -> dict[str, nn.Module]:
    if isinstance(models, Mapping):
        return dict(models)
    from ..models import course_models, load_model

    if models is None:
        return dict(course_models())
    if isinstance(models, str):
        models = [models]
    return {name: load_model(name) for name in models}


def make_scenes(kinds: Sequence[str], samples: int, size: tuple[int, int], seed: int) -> list[Any]:
    """``[(scene id, Scene)]``: per kind the canonical scene, then ``samples`` generated ones
    (seed ``seed + 1000 + i``, one species per scene)."""
    from ..data import COURSE_SCENES, SPECIES, make_scene

    out = []
    for kind in kinds:  # kinds checked by Settings
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


