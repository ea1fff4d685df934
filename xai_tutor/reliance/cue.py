"""What a cue model relies on, measured by intervention on fresh cue scenes.

Five measurements on ``n`` fresh cue scenes (:func:`cue_scenes`: species balanced, seeds
``seed_offset + i``, the bird's own cue), none of them using an explanation:

``accuracy``
    top-1 accuracy on the intact scenes;
``accuracy_without_cue``
    the same scenes re-rendered without the cue (chance is 1/16 = 0.0625);
``accuracy_without_bird``
    the scenes without the bird, the cue kept: the share of predictions that still name the
    bird's class, i.e. follow the cue alone;
``swap_follows_bird`` / ``swap_follows_cue``
    the same scenes with the cue of a random other class (seeded) in place of the bird's: the
    share of predictions that name the bird's class and the cue's class;
``drops``
    the logit drop of the bird's class when each region (``bird``, ``cue``, ``rest``) is removed
    singly (:func:`xai_tutor.reliance.region_drops`), scene by scene.

And one check that removal is in-domain, ``control``: the logit drop when a square of fresh
background as large as the cue replaces background pixels elsewhere in the scene
(:func:`xai_tutor.reliance.control_drops`). The ``rest`` removal itself (a fresh background
behind bird and cue, most of the image) is a second such check.

Example::

    >>> from xai_tutor.models import load_model
    >>> report = measure_cue_reliance(load_model("tiny_resnet_shortcut"), n=16)
    >>> report.accuracy > 0.9, report.swap_follows_cue > 0.9
    (True, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import nn

from ..data.birds import SPECIES
from ..data.cues import CUE_SCENE_SIZE, make_cue_scene
from ..data.regions import RegionScene
from .interventions import RegionDrops, control_drops, predictions, region_drops

FRESH_SEED_OFFSET = 700_000  # default scenes: no training (2_000_000 + i) or validation seed
SWAP_STREAM = 4  # the swapped cue of scene i: default_rng([seed_offset, 4])


def _check_n(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    return int(n)


def cue_scenes(n: int = 32, seed_offset: int = FRESH_SEED_OFFSET, cue="species",
               size: tuple[int, int] = CUE_SCENE_SIZE) -> list[RegionScene]:
    """``n`` cue scenes: scene ``i`` has bird ``SPECIES[i % 16]`` and seed ``seed_offset + i``.

    ``cue``: ``"species"`` (each bird's own cue), ``"swap"`` (the cue of another class,
    :func:`swap_classes`), None (no cue) or a list of ``n`` class indices.
    """
    n = _check_n(n)
    labels = [i % len(SPECIES) for i in range(n)]
    if isinstance(cue, str) and cue == "swap":
        cues = swap_classes(labels, seed_offset).tolist()
    elif cue is None or (isinstance(cue, str) and cue == "species"):
        cues = [cue] * n
    else:
        cues = list(cue)
        if len(cues) != n:
            raise ValueError(f"cue: pass {n} class indices, one per scene; got {len(cues)}")
    return [make_cue_scene(SPECIES[c], k, seed_offset + i, size)
            for i, (c, k) in enumerate(zip(labels, cues))]


def swap_classes(labels, seed_offset: int = FRESH_SEED_OFFSET) -> np.ndarray:
    """For each label a seeded, uniformly chosen *other* class: the cue of a cue swap."""
    labels = np.asarray(labels, dtype=np.int64)
    shift = np.random.default_rng([seed_offset, SWAP_STREAM]).integers(1, len(SPECIES),
                                                                       len(labels))
    return (labels + shift) % len(SPECIES)


@dataclass
class CueReliance:
    """What a model relies on in cue scenes (see the module's docstring for each number)."""

    scenes: int
    seed_offset: int
    accuracy: float
    accuracy_without_cue: float
    accuracy_without_bird: float
    accuracy_without_rest: float
    swap_follows_bird: float
    swap_follows_cue: float
    drops: RegionDrops
    control: np.ndarray
    swap_cues: np.ndarray
    swap_predictions: np.ndarray

    def mean_drops(self) -> dict[str, float]:
        """Mean logit drop of each region and of the control square."""
        return {**self.drops.mean(), "control": float(np.mean(self.control))}

    def uses(self, threshold: float = 0.5) -> tuple[str, ...]:
        """The regions whose removal lowers the bird's logit by ``threshold`` or more on average.

        The default, half a logit, is fifty times the largest mean control drop measured on the
        cue models (0.01, ``data/models/README.md``).
        """
        return tuple(r for r, d in self.drops.mean().items() if d >= threshold)

    def drop_shares(self) -> dict[str, float]:
        """Each region's share of the summed positive mean drops (how the reliance is split)."""
        positive = {r: max(d, 0.0) for r, d in self.drops.mean().items()}
        total = sum(positive.values())
        return {r: (d / total if total > 0 else 0.0) for r, d in positive.items()}

    def as_dict(self, digits: int = 3) -> dict:
        """The numbers (rounded), JSON-able: what ``models.json`` records under ``reliance``."""
        r = lambda v: round(float(v), digits)  # noqa: E731
        return {
            "scenes": self.scenes, "seed_offset": self.seed_offset,
            "accuracy": r(self.accuracy),
            "accuracy_without_cue": r(self.accuracy_without_cue),
            "accuracy_without_bird": r(self.accuracy_without_bird),
            "accuracy_without_rest": r(self.accuracy_without_rest),
            "swap_follows_bird": r(self.swap_follows_bird),
            "swap_follows_cue": r(self.swap_follows_cue),
            "logit_drop": {k: r(v) for k, v in self.mean_drops().items()},
            "entropy": {k: r(np.nanmean(v)) for k, v in self.drops.entropy.items()},
            "uses": list(self.uses()),
        }

    def table(self) -> str:
        """A few lines of text for a notebook or a log."""
        d = self.as_dict(2)
        drops = ", ".join(f"{k} {v:+.2f}" for k, v in d["logit_drop"].items())
        return (
            f"{self.scenes} fresh cue scenes (seeds {self.seed_offset}+i)\n"
            f"  accuracy: intact {d['accuracy']:.2f}, without cue {d['accuracy_without_cue']:.2f}"
            f", without bird (cue kept) {d['accuracy_without_bird']:.2f}, with a fresh "
            f"background {d['accuracy_without_rest']:.2f}\n"
            f"  cue of another class: follows the bird {d['swap_follows_bird']:.2f}, "
            f"the cue {d['swap_follows_cue']:.2f}\n"
            f"  mean logit drop of the bird's class when removed: {drops}\n"
            f"  uses: {', '.join(d['uses']) or 'none of the regions'}"
        )


def measure_cue_reliance(model: nn.Module, n: int = 32, seed_offset: int = FRESH_SEED_OFFSET,
                         *, scenes: list[RegionScene] | None = None,
                         swapped: list[RegionScene] | None = None,
                         batch: int = 16) -> CueReliance:
    """Measure by intervention what ``model`` relies on, on ``n`` fresh cue scenes.

    ``scenes`` / ``swapped`` may be given (the output of :func:`cue_scenes` with
    ``cue="species"`` and ``cue="swap"`` for the same ``n`` and ``seed_offset``) to reuse
    rendered scenes between models.
    """
    if scenes is not None:
        n, seed_offset = len(scenes), scenes[0].seed if scenes else seed_offset
    n = _check_n(n)
    scenes = scenes if scenes is not None else cue_scenes(n, seed_offset)
    swapped = swapped if swapped is not None else cue_scenes(n, seed_offset, cue="swap")
    if len(swapped) != n or any(s.cue is None for s in scenes):
        raise ValueError("scenes and swapped must be n cue scenes each, with their cues")
    labels = np.asarray([s.label for s in scenes])
    drops = region_drops(model, scenes, batch=batch)
    acc = lambda images: float(np.mean(predictions(model, images, batch) == labels))  # noqa: E731
    swap_cues = np.asarray([s.cue for s in swapped])
    swap_pred = predictions(model, [s.image for s in swapped], batch)
    return CueReliance(
        scenes=n, seed_offset=seed_offset,
        accuracy=acc([s.image for s in scenes]),
        accuracy_without_cue=acc([s.removed["cue"] for s in scenes]),
        accuracy_without_bird=acc([s.removed["bird"] for s in scenes]),
        accuracy_without_rest=acc([s.removed["rest"] for s in scenes]),
        swap_follows_bird=float(np.mean(swap_pred == labels)),
        swap_follows_cue=float(np.mean(swap_pred == swap_cues)),
        drops=drops,
        control=control_drops(model, scenes, "cue", batch=batch),
        swap_cues=swap_cues, swap_predictions=swap_pred,
    )
