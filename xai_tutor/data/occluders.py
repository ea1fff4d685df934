"""Foreground foliage that hides parts of the birds in ``flock`` scenes.

The sprites are crops of tree photos from Debian's ``tuxpaint-stamps-default`` 2022.06.04-1
(GPL-2), made by ``scripts/make_data_assets.py`` and kept in ``data/occluders``.

Example::

    >>> from xai_tutor.data.occluders import load_occluder
    >>> load_occluder("holly").shape[2]
    4
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image

from .birds import LICENCE, data_dir


@dataclass(frozen=True)
class Occluder:
    """A foliage sprite: ``crop`` is (x0, y0, x1, y1) as fractions of the source stamp."""

    name: str
    file: str
    source_file: str
    crop: tuple[float, float, float, float]
    licence: str = LICENCE


_TREES = "usr/share/tuxpaint/stamps/plants/trees/"

OCCLUDERS: dict[str, Occluder] = {
    o.name: o
    for o in [
        Occluder("leafy_branch", "leafy_branch.png", _TREES + "tree336.png", (0.0, 0.29, 0.5, 0.7)),
        Occluder("leafy_crown", "leafy_crown.png", _TREES + "tree336.png", (0.22, 0.0, 0.95, 0.5)),
        Occluder("oak_foliage", "oak_foliage.png", _TREES + "holm_oak.png", (0.5, 0.4, 1.0, 0.93)),
        Occluder("birch_twigs", "birch_twigs.png", _TREES + "birch.png", (0.0, 0.02, 1.0, 0.6)),
        Occluder("holly", "holly.png", _TREES + "holly_leaves.png", (0.0, 0.0, 1.0, 1.0)),
    ]
}


@cache
def load_occluder(name: str) -> np.ndarray:
    """The occluder sprite ``name`` as a read-only uint8 RGBA array."""
    if name not in OCCLUDERS:
        raise ValueError(f"unknown occluder {name!r}; choose one of {', '.join(OCCLUDERS)}")
    path = data_dir() / "occluders" / OCCLUDERS[name].file
    if not path.is_file():
        raise FileNotFoundError(
            f"occluder sprite {path} is missing; run scripts/make_data_assets.py"
        )
    with Image.open(path) as im:
        rgba = np.asarray(im.convert("RGBA")).copy()
    rgba.setflags(write=False)
    return rgba
