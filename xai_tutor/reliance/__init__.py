"""What a model relies on, established by intervention on the input, never by an explanation.

An explanation claims to show what a model uses. To check such a claim one needs to know, for
some model and image, what the model does use. This package measures it by *removing* a part of
the scene and watching the model's output, on scenes the model was not trained on.

Removal stays in-domain because it is done by the scene generator, not on pixels: a region is
removed by drawing the same scene again without that object (``make_scene(..., omit=...)``;
:class:`xai_tutor.data.regions.RegionScene`), so the bird leaves the very water or grass that
was behind it, with no grey box, blur or seam whose shape could itself tell the model something
(the leak that ROAD, Rong et al. ICML 2022, and IDSDS, Hesse et al. NeurIPS 2024, guard
against). The ``rest`` of the image is removed by drawing a fresh background of the same kind
around the objects. That this adds no effect of its own is measured, not assumed: a square of
fresh background as large as the removed region, put elsewhere in the background
(:func:`control_drops`), and the ``rest`` removal itself, which changes most of the pixels,
both move the logit by a few hundredths where the regions a model uses move it by several units
(``data/models/README.md`` gives the numbers).

The API
-------

:func:`region_drops` ``(model, scenes, target=None) -> RegionDrops``
    the single-deletion logit drop ``f_t(x) - f_t(x without r)`` of every region of every scene
    (FunnyBirds, Hesse et al. ICCV 2023; IDSDS): ``.regions`` names, ``.drops`` (N, R),
    ``.clean`` (N,), ``.targets``, ``.seeds``, ``.entropy``; ``.mean()``, ``.column(r)``.
:func:`control_drops` ``(model, scenes, region) -> ndarray (N,)`` and :func:`control_image`
    the in-domain check above.
:func:`measure_cue_reliance` ``(model, n=32, seed_offset=700_000) -> CueReliance``
    the cue models (:mod:`xai_tutor.models.cue_models`) on ``n`` fresh cue scenes: accuracy
    intact, without the cue, without the bird (cue kept), with a fresh background; which class
    wins when another class's cue is beside the bird (``swap_follows_bird`` /
    ``swap_follows_cue``); the logit drop of each region, per scene (``.drops``) and on average
    (``.mean_drops()``); ``.uses()`` the regions it relies on; ``.as_dict()``, ``.table()``.
:func:`cue_scenes` ``(n, seed_offset, cue="species" | "swap" | None)``
    the scenes it uses (species balanced, seeds ``seed_offset + i``), to share between models
    or to explain with a method and compare with ``.drops`` scene by scene.
:func:`measure_course_regions` ``(model, n=16) -> CourseRegions``
    a course model on the course's flamingo scene and ``n`` fresh flamingo-on-water scenes:
    the drop of the bird, its reflection and the rest; answers "does tiny_vgg use the
    flamingo's reflection?" (it does not: ``data/models/README.md``).
:func:`logits`, :func:`predictions`, :func:`entropy`
    the forward passes underneath (eval mode, no gradient, the model left as it was).

Example::

    >>> from xai_tutor.models import load_model
    >>> from xai_tutor.reliance import cue_scenes, region_drops
    >>> scenes = cue_scenes(4)
    >>> drops = region_drops(load_model("tiny_resnet_shortcut"), scenes)
    >>> drops.regions, drops.drops.shape
    (('bird', 'cue', 'rest'), (4, 3))
"""

from .course import CourseRegions, measure_course_regions
from .cue import FRESH_SEED_OFFSET, CueReliance, cue_scenes, measure_cue_reliance, swap_classes
from .interventions import (
    RegionDrops,
    control_drops,
    control_image,
    entropy,
    logits,
    predictions,
    region_drops,
)

__all__ = [
    "FRESH_SEED_OFFSET",
    "CourseRegions",
    "CueReliance",
    "RegionDrops",
    "control_drops",
    "control_image",
    "cue_scenes",
    "entropy",
    "logits",
    "measure_course_regions",
    "measure_cue_reliance",
    "predictions",
    "region_drops",
    "swap_classes",
]
