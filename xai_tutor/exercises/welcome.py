"""Checks for notebook 00 (welcome): a first prediction, about the course's scenes.

Example::

    >>> from xai_tutor.data import course_scenes
    >>> from xai_tutor.exercises.welcome import check_bird_share
    >>> check_bird_share("over 60 %", course_scenes()).ok
    False
"""

from __future__ import annotations

from typing import Any

from .core import Expect, exercise
from .feedback import check_choice

__all__ = ["SHARES", "check_bird_share"]

SHARES = ("under 10 %", "10-30 %", "30-60 %", "over 60 %")


@exercise("welcome.bird_share", "bird_share", "scenes", notebook="00", prediction=True)
def check_bird_share(got: Any, scenes: Any, kind: str = "single") -> Expect:
    """Predict which share of the pixels of the ``kind`` scene of ``scenes`` (the course scenes)
    its birds cover: one of :data:`SHARES`. Measured here from the scene's masks."""
    scene = scenes[kind]
    share = float(scene.masks.any(axis=0).mean())
    outcome = SHARES[sum(share >= b for b in (0.1, 0.3, 0.6))]
    why = (f"the bird covers {share:.1%} of the picture: a bird is a small object in a wide "
           "scene. Keep the number: a saliency map that spread its mass evenly would put "
           f"{share:.1%} of it on the bird, so that is the level a map must beat before it "
           "says anything about the bird (notebooks 02 and 11 measure it).")
    return Expect(outcome, judge=check_choice, choices=SHARES, why=why,
                  details=[f"{len(scene.species)} bird(s) on {scene.masks.shape[2]} x "
                           f"{scene.masks.shape[1]} pixels"])
