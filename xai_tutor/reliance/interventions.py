"""Interventions on region scenes: logits, predictions and the logit drop of each removed region.

The *logit drop* of region ``r`` for target class ``t`` is the single-deletion effect used by
FunnyBirds (Hesse et al., ICCV 2023) and IDSDS (Hesse et al., NeurIPS 2024)::

    drop_r = f_t(x) - f_t(x without r)

with ``f_t`` the model's logit of class ``t`` (before the softmax), ``x`` the scene and
``x without r`` the same scene re-rendered without region ``r``
(:class:`xai_tutor.data.regions.RegionScene.removed`). A positive drop means the region
supported class ``t``.

*Control*: to check that a removal does not move the logit merely because pixels changed, a
square of fresh background, as large as the region and placed in the ``rest`` (``margin``
pixels from every named region), replaces the pixels there (:func:`control_image`); its drop
should be small next to the drop of a region the model uses.

Example::

    >>> from xai_tutor.data.regions import course_region_scene
    >>> from xai_tutor.models import load_model
    >>> drops = region_drops(load_model("tiny_resnet"), [course_region_scene()])
    >>> drops.regions
    ('bird', 'reflection', 'rest')
    >>> bool(drops.mean()["bird"] > drops.mean()["reflection"])
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..data.regions import RegionScene, free_square, fresh_rest, to_tensor
from ..hooks import model_guard

CONTROL_STREAM = 3  # the control square's place comes from default_rng([seed, 3])


def _device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def logits(model: nn.Module, images: np.ndarray | Sequence[np.ndarray],
           batch: int = 16) -> torch.Tensor:
    """The model's logits (N, C) for uint8 RGB images (N, H, W, 3), in eval mode, no gradient.

    The model is put back in the mode it was in. Images go to the model's device in batches of
    ``batch``; the logits come back on the CPU as float64.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    array = np.stack(images) if not isinstance(images, np.ndarray) else images
    if array.ndim == 3:
        array = array[None]
    device = _device(model)
    out = []
    with model_guard(model), torch.no_grad():
        model.eval()
        for start in range(0, len(array), batch):
            x = to_tensor(array[start:start + batch]).to(device)
            out.append(model(x).double().cpu())
    return torch.cat(out)


def predictions(model: nn.Module, images: np.ndarray | Sequence[np.ndarray],
                batch: int = 16) -> np.ndarray:
    """Top-1 class index (N,) of ``model`` for uint8 RGB images (N, H, W, 3)."""
    return logits(model, images, batch).argmax(1).numpy()


def entropy(logit: torch.Tensor) -> np.ndarray:
    """Predictive entropy in nats, ``-sum_c p_c log p_c`` with ``p = softmax(logit)``, per row."""
    logp = torch.log_softmax(logit.double(), dim=1)
    return -(logp.exp() * logp).sum(1).numpy()


@dataclass
class RegionDrops:
    """Logit drops of single region removals on a list of scenes.

    ``regions``: the region names (columns), in the order of the first scene's regions, then any
    new ones; ``drops`` (N, R) float64, ``f_t(x) - f_t(x without r)``, NaN where a scene has no
    such region; ``clean`` (N,) the target logit on the intact scene; ``targets`` (N,) the
    explained classes; ``seeds`` (N,) the scenes' seeds; ``entropy`` {"clean" or region: (N,)}
    the predictive entropy (nats) of each image.
    """

    regions: tuple[str, ...]
    drops: np.ndarray
    clean: np.ndarray
    targets: np.ndarray
    seeds: np.ndarray
    entropy: dict[str, np.ndarray]

    def mean(self) -> dict[str, float]:
        """Mean drop of each region over the scenes that have it."""
        return {r: float(np.nanmean(self.drops[:, i])) for i, r in enumerate(self.regions)}

    def column(self, region: str) -> np.ndarray:
        """The (N,) drops of one region."""
        if region not in self.regions:
            raise ValueError(f"unknown region {region!r}; measured: {', '.join(self.regions)}")
        return self.drops[:, self.regions.index(region)]


def _targets(scenes: Sequence[RegionScene], target) -> np.ndarray:
    if target is None:
        return np.asarray([s.label for s in scenes])
    if target == "cue":
        if any(s.cue is None for s in scenes):
            raise ValueError("target='cue' needs scenes that all have a cue")
        return np.asarray([s.cue for s in scenes])
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        return np.full(len(scenes), int(target))
    if isinstance(target, (list, tuple, np.ndarray)) and len(target) == len(scenes) and all(
            isinstance(t, (int, np.integer)) and not isinstance(t, bool) for t in target):
        return np.asarray(target, dtype=np.int64)
    raise ValueError(f"target must be None (each scene's label), 'cue', a class index or one "
                     f"class index per scene; got {target!r}")


def region_drops(model: nn.Module, scenes: Sequence[RegionScene], target=None,
                 batch: int = 16) -> RegionDrops:
    """The logit drop of every region of every scene, removed one at a time.

    ``target``: None (each scene's bird, ``scene.label``), ``"cue"`` (each scene's cue class),
    one class index for all, or a list of one class index per scene (e.g. the predictions).
    """
    if not scenes:
        raise ValueError("region_drops needs at least one scene")
    names: list[str] = []
    for scene in scenes:
        names += [r for r in scene.regions if r not in names]
    targets = _targets(scenes, target)
    rows = np.arange(len(scenes))
    clean_logits = logits(model, [s.image for s in scenes], batch)
    clean = clean_logits.numpy()[rows, targets]
    drops = np.full((len(scenes), len(names)), np.nan)
    ent = {"clean": entropy(clean_logits)}
    for j, name in enumerate(names):
        have = [i for i, s in enumerate(scenes) if name in s.removed]
        out = logits(model, [scenes[i].removed[name] for i in have], batch)
        drops[have, j] = clean[have] - out.numpy()[np.arange(len(have)), targets[have]]
        ent[name] = np.full(len(scenes), np.nan)
        ent[name][have] = entropy(out)
    return RegionDrops(tuple(names), drops, clean, targets,
                       np.asarray([s.seed for s in scenes]), ent)


def control_image(scene: RegionScene, region: str, margin: int = 4) -> np.ndarray:
    """The scene with a square of fresh background, as large as ``region``, put in its rest.

    The square has the region's pixel count (side ``ceil(sqrt(count))``), keeps ``margin``
    pixels from every other region, and its pixels come from the same fresh background that
    removes the ``rest`` (:func:`xai_tutor.data.regions.fresh_rest`); its place is seeded by the
    scene's seed.
    """
    if region not in scene.regions or region == "rest":
        raise ValueError(f"control_image needs a named region other than 'rest'; this scene has "
                         f"{', '.join(r for r in scene.regions if r != 'rest')}")
    side = max(2, math.ceil(math.sqrt(int(scene.regions[region].sum()))))
    occupied = ~scene.regions["rest"]
    x, y = free_square(occupied, side, np.random.default_rng([scene.seed, CONTROL_STREAM]),
                       margin)
    keep = np.ones(occupied.shape, bool)
    keep[y:y + side, x:x + side] = False
    keep |= occupied  # never touch a named region, even when the square had to overlap one
    return fresh_rest(scene.image, keep, scene.background, scene.seed)


def control_drops(model: nn.Module, scenes: Sequence[RegionScene], region: str, target=None,
                  batch: int = 16) -> np.ndarray:
    """(N,) logit drops when a square of fresh background as large as ``region`` is put in the
    rest (:func:`control_image`): the effect of changing that many pixels of background."""
    targets = _targets(scenes, target)
    rows = np.arange(len(scenes))
    clean = logits(model, [s.image for s in scenes], batch).numpy()[rows, targets]
    moved = logits(model, [control_image(s, region) for s in scenes], batch).numpy()
    return clean - moved[rows, targets]
