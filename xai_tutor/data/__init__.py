"""Bird scenes, backgrounds and image loading for the xai-tutor course.

- ``SPECIES`` / ``BIRDS``: the curated bird cut-outs (class order of the course models).
- ``make_scene(kind, species, size, seed)``: seeded "single", "pair" and "flock" scenes with
  visible-pixel masks and boxes per bird; ``course_scenes()`` the three canonical ones.
- ``make_training_sample`` / ``make_training_batch``: augmented single-bird training images.
- ``load_image(source, size, max_side)``: any image -> ImageNet-normalised tensor + display
  image; ``to_rgb(pil_image)`` the same RGB conversion (transparency on white) for a PIL image;
  ``check_declared_size(path_or_bytes, max_pixels)`` a file's size from its header, before
  decoding.

Example::

    >>> from xai_tutor.data import course_scenes, load_image
    >>> scene = course_scenes()["single"]
    >>> x, shown = load_image(scene.image)
    >>> tuple(x.shape)
    (1, 3, 418, 626)
"""

from .backgrounds import BACKGROUNDS, make_background
from .birds import BIRDS, SPECIES, Bird
from .images import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    ImageResizedWarning,
    check_declared_size,
    denormalise,
    load_image,
    normalise,
    to_display,
    to_rgb,
)
from .scenes import COURSE_SCENES, KINDS, Scene, course_scenes, make_scene, write_course_scenes
from .training import make_training_batch, make_training_sample

__all__ = [
    "BACKGROUNDS",
    "BIRDS",
    "Bird",
    "COURSE_SCENES",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ImageResizedWarning",
    "KINDS",
    "SPECIES",
    "Scene",
    "check_declared_size",
    "course_scenes",
    "denormalise",
    "load_image",
    "make_background",
    "make_scene",
    "make_training_batch",
    "make_training_sample",
    "normalise",
    "to_display",
    "to_rgb",
    "write_course_scenes",
]
