"""Finer regions for single-deletion tests: the bird in quarters, the rest in a grid of cells.

A cue scene has three regions (``bird``, ``cue``, ``rest``); a rank correlation between the
attribution of three regions and their logit drops takes only four values per scene. IDSDS
(Hesse et al., NeurIPS 2024) correlates attribution and single-deletion drops over many
in-domain patches of one image; :func:`part_scene` gives a region scene the same shape:

``bird/top-left``, ``bird/top-right``, ``bird/bottom-left``, ``bird/bottom-right``
    the ``bird`` region cut into quarters at the centre of the bird's box. A quarter is removed
    by putting back the background that was behind the bird there (the pixels of the scene
    re-rendered without the bird). This is the removal every model of the course saw in
    training: random erasing replaced a rectangle of 30-60 % of the bird's box (each side) by
    the scene's own background, with probability 1/2 (``xai_tutor.train``).
every other named region (``cue``, ``reflection``, ``shadow``)
    kept whole, removed as in the scene.
``rest/<row>,<col>``
    the ``rest`` cut by a ``rows`` x ``cols`` grid of the image (cells with fewer than
    ``min_pixels`` rest pixels are merged into no cell: they stay in no part and are not
    removed). A cell is removed by the fresh background of the same kind that removes the
    whole rest (:func:`xai_tutor.data.regions.fresh_rest`), which moves the logit of the models
    by a few hundredths (``data/models/README.md``): the cells measure, and mostly show, that
    the rest is not used.

Every part is a subset of one region of the scene (:func:`parent`), parts do not overlap, and
removing a part changes only its own pixels.

Example::

    >>> from xai_tutor.data.cues import make_cue_scene
    >>> fine = part_scene(make_cue_scene("toucan", seed=7), grid=(2, 2))
    >>> list(fine.regions)[:5]
    ['bird/top-left', 'bird/top-right', 'bird/bottom-left', 'bird/bottom-right', 'cue']
    >>> sorted({parent(name) for name in fine.regions})
    ['bird', 'cue', 'rest']
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..data.regions import RegionScene

QUARTERS = ("top-left", "top-right", "bottom-left", "bottom-right")
DEFAULT_GRID = (3, 3)
MIN_PIXELS = 64

__all__ = ["QUARTERS", "DEFAULT_GRID", "part_scene", "parent"]


def parent(part: str) -> str:
    """The region of the scene a part belongs to: ``"bird/top-left"`` -> ``"bird"``."""
    return part.split("/", 1)[0]


def _check_grid(grid: object) -> tuple[int, int]:
    try:
        rows, cols = (int(v) for v in grid)  # type: ignore[union-attr]
        ok = all(float(v) == int(v) for v in grid) and rows >= 1 and cols >= 1  # type: ignore
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"grid must be two whole numbers (rows, cols) >= 1; got {grid!r}")
    return rows, cols


def part_scene(scene: RegionScene, grid: tuple[int, int] = DEFAULT_GRID,
               min_pixels: int = MIN_PIXELS) -> RegionScene:
    """``scene`` with its ``bird`` in quarters and its ``rest`` in grid cells (module docstring).

    The returned :class:`~xai_tutor.data.regions.RegionScene` has the same image, label, seed
    and cue; its ``regions`` are the parts (disjoint; together the whole image but for rest
    cells smaller than ``min_pixels``) and ``removed`` the image without each part.
    """
    if not isinstance(scene, RegionScene):
        raise TypeError(f"scene must be a RegionScene, got {type(scene).__name__}")
    if "bird" not in scene.regions or "rest" not in scene.regions:
        raise ValueError(f"the scene needs 'bird' and 'rest' regions; it has "
                         f"{', '.join(scene.regions)}")
    rows, cols = _check_grid(grid)
    height, width = scene.image.shape[:2]
    yy, xx = np.mgrid[0:height, 0:width]
    x0, y0, x1, y1 = (float(v) for v in scene.box)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    regions: dict[str, np.ndarray] = {}
    removed: dict[str, np.ndarray] = {}
    bird = scene.regions["bird"]
    for name, (top, left) in zip(QUARTERS, ((True, True), (True, False), (False, True),
                                            (False, False))):
        part = bird & ((yy < cy) == top) & ((xx < cx) == left)
        if part.any():
            regions[f"bird/{name}"] = part
            removed[f"bird/{name}"] = np.where(part[..., None], scene.removed["bird"],
                                               scene.image)
    for name in scene.regions:
        if name not in ("bird", "rest"):
            regions[name] = scene.regions[name]
            removed[name] = scene.removed[name]
    rest = scene.regions["rest"]
    row_edges = np.linspace(0, height, rows + 1).round().astype(int)
    col_edges = np.linspace(0, width, cols + 1).round().astype(int)
    for r in range(rows):
        for c in range(cols):
            cell = np.zeros_like(rest)
            cell[row_edges[r]:row_edges[r + 1], col_edges[c]:col_edges[c + 1]] = True
            cell &= rest
            if cell.sum() >= min_pixels:
                regions[f"rest/{r},{c}"] = cell
                removed[f"rest/{r},{c}"] = np.where(cell[..., None], scene.removed["rest"],
                                                    scene.image)
    return replace(scene, regions=regions, removed=removed)
