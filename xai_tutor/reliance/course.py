"""Does a course model use the flamingo's reflection? Region removals on the course scenes.

The course's "single" scene is a flamingo standing in water, and the scene generator draws a
faint, fading mirror image of every bird standing on water (``scenes._reflection``). Grad-CAM
on ``tiny_vgg`` puts much of its map on the water under the flamingo: either the model uses
the reflection there (the map is right) or the method misleads (the map is wrong). Only an
intervention on the input can tell. :func:`measure_course_regions` removes, one at a time, the
bird, its reflection and the rest of the image (:func:`xai_tutor.data.regions.region_scene`)
and reports the logit drop of the flamingo class:

* on the course scene itself (one image: what the notebooks explain), and
* on ``n`` fresh flamingo-on-water scenes (seeds ``seed_offset + i``), with the control drop of
  a square of fresh water as large as the reflection, placed elsewhere in the background
  (:func:`xai_tutor.reliance.control_drops`): a reflection drop no larger than the control
  says the model does not use the reflection.

Example::

    >>> from xai_tutor.models import load_model
    >>> result = measure_course_regions(load_model("tiny_vgg"), n=4)
    >>> result.course.regions
    ('bird', 'reflection', 'rest')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import nn

from ..data.birds import SPECIES
from ..data.regions import RegionScene, course_region_scene, region_scene
from .cue import FRESH_SEED_OFFSET, _check_n
from .interventions import RegionDrops, control_drops, predictions, region_drops


@dataclass
class CourseRegions:
    """Logit drops of the bird's class when each region of a course-like scene is removed.

    ``course``: the course's "single" scene (one row); ``fresh``: ``n`` fresh scenes of the same
    species on the same background; ``control``: (n,) drops of a square of fresh background as
    large as ``region`` (the reflection) in the fresh scenes; ``predicted``: the course scene's
    predicted species, intact and without each region.
    """

    region: str
    species: str
    course: RegionDrops
    fresh: RegionDrops
    control: np.ndarray
    predicted: dict[str, str]

    def as_dict(self, digits: int = 3) -> dict:
        """The numbers (rounded), JSON-able."""
        r = lambda v: round(float(v), digits)  # noqa: E731
        fresh = self.fresh.mean()
        return {
            "species": self.species,
            "course_scene": {k: r(v) for k, v in self.course.mean().items()},
            "course_logit": r(self.course.clean[0]),
            "predicted": dict(self.predicted),
            "fresh_scenes": len(self.fresh.clean),
            "fresh_seed_offset": int(self.fresh.seeds[0]),
            "fresh": {k: r(v) for k, v in fresh.items()},
            "fresh_control": r(np.mean(self.control)),
            f"fresh_{self.region}_above_control": r(np.mean(
                self.fresh.column(self.region) > self.control)),
        }

    def table(self) -> str:
        """A few lines of text for a notebook or a log."""
        d = self.as_dict(2)
        course = ", ".join(f"{k} {v:+.2f}" for k, v in d["course_scene"].items())
        fresh = ", ".join(f"{k} {v:+.2f}" for k, v in d["fresh"].items())
        return (
            f"logit drop of {self.species!r} when a region is removed\n"
            f"  course scene (logit {d['course_logit']:.2f}): {course}\n"
            f"  {d['fresh_scenes']} fresh scenes (mean): {fresh}; a square of fresh background "
            f"as large as the {self.region}: {d['fresh_control']:+.2f}"
        )


def measure_course_regions(model: nn.Module, n: int = 16, seed_offset: int = FRESH_SEED_OFFSET,
                           *, batch: int = 16) -> CourseRegions:
    """Remove the flamingo, its reflection and the rest from the course scene and ``n`` more.

    The fresh scenes are ``region_scene("flamingo", seed_offset + i, background="water")``.
    """
    n = _check_n(n)
    course = course_region_scene()
    fresh: list[RegionScene] = [region_scene(course.species, seed_offset + i,
                                             background=course.background) for i in range(n)]
    region = "reflection"
    images = [course.image, *(course.removed[r] for r in course.regions)]
    names = [SPECIES[int(c)] for c in predictions(model, images, batch)]
    return CourseRegions(
        region=region, species=course.species,
        course=region_drops(model, [course], batch=batch),
        fresh=region_drops(model, fresh, batch=batch),
        control=control_drops(model, fresh, region, batch=batch),
        predicted=dict(zip(["intact", *(f"without {r}" for r in course.regions)], names)),
    )
