"""Bird scenes, backgrounds and image loading for the xai-tutor course.

- ``SPECIES`` / ``BIRDS``: the curated bird cut-outs (class order of the course models).
- ``make_scene(kind, species, size, seed)``: seeded "single", "pair" and "flock" scenes with
  visible-pixel masks and boxes per bird; ``course_scenes()`` the three canonical ones.
- ``make_training_sample`` / ``make_training_batch``: augmented single-bird training images.
- ``load_image(source, size)``: any image -> ImageNet-normalised tensor + display image.

Example::

    >>> from xai_tutor.data import course_scenes, load_image
    >>> scene = course_scenes()["single"]
    >>> x, shown = load_image(scene.image)
    >>> tuple(x.shape)
    (1, 3, 418, 626)
"""

from .backgrounds import BACKGROUNDS, make_background
from .birds import BIRDS, SPECIES, Bird
from .images import IMAGENET_MEAN, IMAGENET_STD, denormalise, load_image, normalise, to_display
from .scenes import COURSE_SCENES, KINDS, Scene, course_scenes, make_scene, write_course_scenes
from .training import make_training_batch, make_training_sample

__all__ = [
    "BACKGROUNDS",
    "BIRDS",
    "Bird",
    "COURSE_SCENES",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "KINDS",
    "SPECIES",
    "Scene",
    "course_scenes",
    "denormalise",
    "load_image",
    "make_background",
    "make_scene",
    "make_training_batch",
    "make_training_sample",
    "normalise",
    "to_display",
    "write_course_scenes",
]
