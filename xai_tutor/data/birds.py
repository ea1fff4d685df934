"""The curated bird cut-outs: species names, files, ImageNet class ids and licence.

The photographs come from Debian's ``tuxpaint-stamps-default`` package (version 2022.06.04-1,
GPL-2): real bird photos with an alpha mask around the bird. ``SPECIES`` fixes the class order
of the course models: a course model's class index ``i`` means ``SPECIES[i]``.

Example::

    >>> from xai_tutor.data import BIRDS, SPECIES
    >>> SPECIES[0], BIRDS["flamingo"].imagenet_id
    ('flamingo', 130)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

SOURCE_PACKAGE = "tuxpaint-stamps-default"
SOURCE_VERSION = "2022.06.04-1"
LICENCE = "GPL-2"


def data_dir() -> Path:
    """Folder holding ``birds/``, ``occluders/`` and ``scenes/``.

    It is the repository's ``data/`` folder unless the environment variable ``XAI_TUTOR_DATA``
    names another one.
    """
    override = os.environ.get("XAI_TUTOR_DATA")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "data"


@dataclass(frozen=True)
class Bird:
    """One species of the catalogue.

    ``file`` is relative to ``data/birds``; ``source_file`` is the stamp's path inside the Debian
    package; ``imagenet_id`` is the ImageNet-1k class index (torchvision order) or ``None``.
    """

    species: str
    file: str
    source_file: str
    imagenet_id: int | None
    imagenet_name: str | None
    licence: str = LICENCE
    note: str = ""


_STAMPS = "usr/share/tuxpaint/stamps/animals/birds/"

_CATALOGUE = [
    Bird("flamingo", "flamingo.png", _STAMPS + "pink_flamingo.png", 130, "flamingo"),
    Bird("toucan", "toucan.png", _STAMPS + "tucan.png", 96, "toucan"),
    Bird("pelican", "pelican.png", _STAMPS + "pelican.png", 144, "pelican"),
    Bird("king_penguin", "king_penguin.png", _STAMPS + "penguin.png", 145, "king penguin"),
    Bird("peacock", "peacock.png", _STAMPS + "peacock.png", 84, "peacock"),
    Bird("ostrich", "ostrich.png", _STAMPS + "ostrich.png", 9, "ostrich",
         note="pale plumage; ImageNet ostriches are mostly dark"),
    Bird("drake", "drake.png", _STAMPS + "drake.png", 97, "drake"),
    Bird("rooster", "rooster.png", _STAMPS + "rooster.png", 7, "cock"),
    Bird("hen", "hen.png", _STAMPS + "hen.png", 8, "hen"),
    Bird("magpie", "magpie.png", _STAMPS + "magpie.png", 18, "magpie",
         note="an Australian magpie; ImageNet's magpie is the Eurasian one"),
    Bird("vulture", "vulture.png", _STAMPS + "vulture.png", 23, "vulture"),
    Bird("lorikeet", "lorikeet.png", _STAMPS + "rainbow-lorikeet.png", 90, "lorikeet"),
    Bird("crowned_crane", "crowned_crane.png", _STAMPS + "crowned_crane.png", 134, "crane bird"),
    Bird("goose", "goose.png", _STAMPS + "gander.png", 99, "goose"),
    Bird("snowy_owl", "snowy_owl.png", _STAMPS + "owl.png", None, None,
         note="ImageNet's only owl class is the great grey owl (24)"),
    Bird("blackbird", "blackbird.png", _STAMPS + "blackbird.png", None, None,
         note="no ImageNet class"),
]

BIRDS: dict[str, Bird] = {b.species: b for b in _CATALOGUE}
SPECIES: list[str] = [b.species for b in _CATALOGUE]


def check_species(species: str) -> str:
    """Return ``species`` if it is in the catalogue, else raise a ``ValueError`` listing them."""
    if not isinstance(species, str):
        raise TypeError(f"species must be a string from SPECIES, got {type(species).__name__}")
    if species not in BIRDS:
        raise ValueError(f"unknown species {species!r}; choose one of {', '.join(SPECIES)}")
    return species


@cache
def load_cutout(species: str) -> np.ndarray:
    """The cut-out of ``species`` as a read-only uint8 RGBA array cropped to its alpha box.

    >>> load_cutout("toucan").shape[2]
    4
    """
    bird = BIRDS[check_species(species)]
    path = data_dir() / "birds" / bird.file
    if not path.is_file():
        raise FileNotFoundError(
            f"bird cut-out {path} is missing; run scripts/make_data_assets.py or set XAI_TUTOR_DATA"
        )
    with Image.open(path) as im:
        rgba = np.asarray(im.convert("RGBA"))
    ys, xs = np.nonzero(rgba[..., 3] > 8)
    rgba = np.ascontiguousarray(rgba[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])
    rgba.setflags(write=False)
    return rgba
