"""The ground truth of each scene: which regions the model uses, measured by single deletions.

For a model and a list of region scenes (:mod:`xai_tutor.reliance`), :func:`measure_truth`
removes every region and every part (:func:`xai_tutor.reliance.parts.part_scene`) one at a
time and records the logit drop of the explained class (the scene's bird), giving one
:class:`~xai_tutor.evaluation.GroundTruth` per scene. With ``swapped`` scenes (the same scenes
with another class's badge) it also measures, on each swapped scene, the drops of the bird's
class ``j`` and of the badge's class ``k``: the ground truth of contrastivity (which regions
class ``j`` and class ``k`` rest on).

No explanation is used here: only forward passes of the model on re-rendered scenes
(:func:`xai_tutor.reliance.region_drops`).

Example::

    >>> from xai_tutor.models import load_model
    >>> from xai_tutor.reliance import cue_scenes
    >>> truths = measure_truth(load_model("tiny_resnet_shortcut"), cue_scenes(2))
    >>> sorted(truths[0].drops), truths[0].drops["cue"] > 1.0
    (['bird', 'cue', 'rest'], True)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from torch import nn

from ..data.regions import RegionScene
from ..evaluation.ground_truth import MIN_DROP, GroundTruth
from ..reliance import region_drops
from ..reliance.parts import DEFAULT_GRID, part_scene

__all__ = ["measure_truth", "USE_THRESHOLD", "used_regions"]

#: a region is *used* by a model when its mean drop is at least this: the ground truth's
#: :data:`~xai_tutor.evaluation.ground_truth.MIN_DROP` (half a logit, as
#: :meth:`xai_tutor.reliance.CueReliance.uses`)
USE_THRESHOLD = MIN_DROP


def _rows(drops, i: int) -> dict[str, float]:
    return {r: float(drops.drops[i, j]) for j, r in enumerate(drops.regions)
            if np.isfinite(drops.drops[i, j])}


def measure_truth(model: nn.Module, scenes: Sequence[RegionScene],
                  swapped: Sequence[RegionScene] | None = None,
                  grid: tuple[int, int] = DEFAULT_GRID, batch: int = 16,
                  targets: Sequence[int] | None = None) -> list[GroundTruth]:
    """One :class:`GroundTruth` per scene: drops of its regions and parts for the explained
    class, ``targets[i]`` (each scene's bird's class when None).

    With ``swapped`` (one scene per scene, with a badge of another class), the ground truth
    returned for scene ``i`` is that of ``swapped[i]`` instead, for its bird's class, with
    ``other`` = its badge's class and ``other_drops`` the drops of that class (``targets`` is
    not used).
    """
    if not scenes:
        raise ValueError("measure_truth needs at least one scene")
    if swapped is not None:
        if len(swapped) != len(scenes) or any(s.cue is None for s in swapped):
            raise ValueError("swapped must hold one scene with a badge per scene")
        scenes = list(swapped)
    parts = [part_scene(s, grid) for s in scenes]
    target = None if targets is None or swapped is not None else [int(t) for t in targets]
    coarse = region_drops(model, scenes, target, batch=batch)
    fine = region_drops(model, parts, target, batch=batch)
    other = region_drops(model, scenes, target="cue", batch=batch) if swapped else None
    out = []
    for i, (scene, part) in enumerate(zip(scenes, parts)):
        out.append(GroundTruth(
            regions=dict(scene.regions), drops=_rows(coarse, i),
            parts=dict(part.regions), part_drops=_rows(fine, i),
            other=None if other is None else int(scene.cue),
            other_drops=None if other is None else _rows(other, i)))
    return out


def used_regions(truths: Sequence[GroundTruth], threshold: float = USE_THRESHOLD
                 ) -> tuple[str, ...]:
    """The regions whose mean drop over ``truths`` is at least ``threshold``."""
    names = list(dict.fromkeys(r for t in truths for r in t.drops))
    return tuple(r for r in names
                 if np.mean([t.drops[r] for t in truths if r in t.drops]) >= threshold)
