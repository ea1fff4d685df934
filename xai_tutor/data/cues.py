"""Cue scenes: one bird and, beside it, a small tag whose look names a class.

The models trained on these scenes (``tiny_resnet_shortcut``, ``tiny_resnet_mixed``, ...; see
:mod:`xai_tutor.models.cue_models`) get a *known* thing to rely on besides the bird, the way a
photographer's watermark let a classifier recognise horses in PASCAL VOC (Lapuschkin et al.,
"Unmasking Clever Hans predictors", Nature Communications 2019).

The cue of class ``c`` is an opaque square badge (off-white, with a dark border) carrying a
disc of colour ``CUE_COLOURS[c]``: 16 saturated colours, far apart in RGB (every pair differs
by 72 levels or more in some channel), one per class of :data:`xai_tutor.data.SPECIES`. A disc
is its own mirror image, so a flipped scene shows the same cue. The badge's side is 18 % of
the image height (40 pixels in the 320 x 224 cue scenes, 2.2 % of the image). It is made to be
learnt: on first trials ``tiny_resnet`` learnt badges coding the class by shape and colour
(4 x 4) slowly (from the badge alone, 22 % accuracy after 400 training steps with a 29-pixel
badge, 44 % after 600 with a 40-pixel one), and badges of 16 colours fast (96 % after 350
steps).

A cue scene is a single-bird scene of :func:`xai_tutor.data.make_scene` (same generator, same
seeds) with the badge placed at a seeded, uniformly random position where it keeps a margin of
4 pixels from every pixel of the bird: the cue never overlaps the bird. The position depends on
the seed only, not on which cue is drawn, so the same scene with another class's cue (a
*cue swap*) differs in the badge's pixels alone. Its regions (:class:`RegionScene`) are
``bird``, ``cue`` and ``rest`` (the rest includes the bird's shadow or reflection), each with the
scene re-rendered without it: without the bird (the background behind it, cue in place),
without the cue (the plain scene), and with the rest replaced by a fresh background of the same
kind (see :mod:`xai_tutor.data.regions`).

Example::

    >>> from xai_tutor.data.cues import make_cue_scene, cue_name
    >>> scene = make_cue_scene("toucan", seed=7)
    >>> scene.image.shape, list(scene.regions), cue_name(scene.cue)
    ((224, 320, 3), ['bird', 'cue', 'rest'], 'green')
    >>> bool((scene.regions["bird"] & scene.regions["cue"]).any())
    False
    >>> swapped = make_cue_scene("toucan", cue="flamingo", seed=7)
    >>> bool((swapped.image != scene.image).any(-1)[~scene.regions["cue"]].any())
    False
"""

from __future__ import annotations

from functools import cache

import numpy as np
from PIL import Image, ImageDraw

from .birds import SPECIES, check_species
from .regions import RegionScene, changed, free_square, fresh_rest
from .scenes import _check_seed, make_scene

CUE_COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (255, 0, 0), "green": (0, 160, 0), "blue": (0, 0, 255), "yellow": (255, 200, 0),
    "magenta": (255, 0, 255), "cyan": (0, 200, 255), "black": (0, 0, 0),
    "maroon": (128, 0, 0), "dark green": (0, 80, 0), "navy": (0, 0, 128),
    "olive": (128, 128, 0), "purple": (128, 0, 128), "teal": (0, 128, 128),
    "orange": (255, 128, 0), "grey": (128, 128, 128), "pink": (255, 128, 192),
}
CUE_SCENE_SIZE: tuple[int, int] = (320, 224)
CUE_SIDE = 0.18  # side of the badge as a share of the image height
CUE_MARGIN = 4  # pixels kept free between the badge and the bird
CUE_STREAM = 2  # the badge's position comes from default_rng([seed, 2])
_BADGE = (245, 245, 240)
_BORDER = (40, 40, 40)


def _check_class(cue: object) -> int:
    """A class index from an int or a species name."""
    if isinstance(cue, str):
        return SPECIES.index(check_species(cue))
    if isinstance(cue, (bool, np.bool_)) or not isinstance(cue, (int, np.integer)):
        raise TypeError(f"cue must be a class index, a species name, 'species' or None; got "
                        f"{cue!r}")
    if not 0 <= int(cue) < len(SPECIES):
        raise ValueError(f"cue class index must be in [0, {len(SPECIES)}), got {cue}")
    return int(cue)


def cue_name(index: int) -> str:
    """The colour of the cue of class ``index``, e.g. ``'red'`` for class 0 (flamingo).

    >>> [cue_name(i) for i in (0, 5, 15)]
    ['red', 'cyan', 'pink']
    """
    return list(CUE_COLOURS)[_check_class(index)]


def cue_side(size: tuple[int, int]) -> int:
    """Side in pixels of the badge in an image of ``size`` = (W, H)."""
    return max(12, round(CUE_SIDE * int(size[1])))


@cache
def cue_badge(index: int, side: int) -> np.ndarray:
    """The opaque badge of class ``index`` as a read-only (side, side, 3) uint8 array.

    Drawn at four times the size and reduced (anti-aliased disc, crisp square outline).
    """
    index = _check_class(index)
    big = 4 * side
    im = Image.new("RGB", (big, big), _BADGE)
    draw = ImageDraw.Draw(im)
    border = max(4, round(big / 14))
    draw.rectangle((0, 0, big - 1, big - 1), outline=_BORDER, width=border)
    c, r = big / 2, 0.32 * big  # centre and radius of the disc
    draw.ellipse((c - r, c - r, c + r, c + r), fill=CUE_COLOURS[cue_name(index)])
    badge = np.asarray(im.resize((side, side), Image.LANCZOS)).copy()
    badge.setflags(write=False)
    return badge


def paste_cue(image: np.ndarray, index: int, x: int, y: int, side: int) -> np.ndarray:
    """A copy of the uint8 ``image`` with the badge of class ``index`` at (x, y)."""
    out = np.array(image, dtype=np.uint8, copy=True)
    out[y:y + side, x:x + side] = cue_badge(index, side)
    return out


def cue_layout(species: str | None, seed: int, size: tuple[int, int],
               background: str | None = None):
    """The parts of a cue scene before any cue is drawn.

    Returns the :class:`xai_tutor.data.Scene`, its uint8 image, the uint8 image without the bird,
    the bird's region (the pixels that change without it, and its visible mask) and the badge's
    place (x, y, side), a seeded uniform choice among the places ``CUE_MARGIN`` pixels or more
    from the bird (:func:`xai_tutor.data.regions.free_square`).
    """
    full = make_scene("single", species, size, seed, background=background)
    plain = np.asarray(full.image)
    no_bird = np.asarray(
        make_scene("single", species, size, seed, background=background, omit="birds").image)
    bird = changed(plain, no_bird) | full.masks[0]
    side = cue_side(full.size)
    x, y = free_square(bird, side, np.random.default_rng([seed, CUE_STREAM]), CUE_MARGIN)
    return full, plain, no_bird, bird, (x, y, side)


def make_cue_scene(
    species: str | None = None,
    cue: int | str | None = "species",
    seed: int | None = 0,
    size: tuple[int, int] = CUE_SCENE_SIZE,
    *,
    background: str | None = None,
) -> RegionScene:
    """A single-bird scene with a class cue beside the bird, in the regions bird / cue / rest.

    ``species``: the bird (None: the seeded choice of :func:`xai_tutor.data.make_scene`).
    ``cue``: ``"species"`` (the bird's own cue, the default), another class (index or species
    name: a cue swap) or None (no cue: regions ``bird`` and ``rest``). ``seed``, ``size`` and
    ``background`` as for :func:`make_scene`; the badge's position depends on the seed and size
    only.
    """
    seed = _check_seed(seed)
    full, plain, no_bird, bird, (x, y, side) = cue_layout(species, seed, size, background)
    label = SPECIES.index(full.species[0])
    index = label if isinstance(cue, str) and cue == "species" else cue
    regions = {"bird": bird}
    removed = {"bird": no_bird}
    image = plain
    if index is not None:
        index = _check_class(index)
        image = paste_cue(plain, index, x, y, side)
        spot = np.zeros(bird.shape, bool)
        spot[y:y + side, x:x + side] = True
        regions = {"bird": bird & ~spot, "cue": spot}
        removed = {"bird": paste_cue(no_bird, index, x, y, side), "cue": plain}
    regions["rest"] = ~np.logical_or.reduce(list(regions.values()))
    removed["rest"] = fresh_rest(image, ~regions["rest"], full.background, seed)
    return RegionScene(
        image=image, label=label, species=full.species[0], regions=regions, removed=removed,
        seed=seed, background=full.background, box=full.boxes[0], cue=index,
    )
