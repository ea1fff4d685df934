"""The pointing game (Zhang et al., "Top-down neural attention by excitation backprop", 2016).

A map *points* at its maximum. The point is a **hit** when it lies within ``tolerance_px`` pixels
(Euclidean) of any instance mask, i.e. inside the masks dilated by a disk of that radius; TorchRay's
benchmark uses 15 px. The score of a method is its hit rate over images.

Conventions (ours, stated because the papers leave them open):

* **Ties**: the point is the *first* maximal pixel in row-major order (``np.argmax``, as TorchRay).
  The number of tied maxima is reported, so a caller can spot maps that are flat at the top.
* **Constant maps** (all pixels equal, all-zero included) point nowhere: a **miss**. A flat map
  carries no location, and counting its first pixel would reward a map for saying nothing.
* **Empty masks**: no object to hit, so every point is a miss.

Example::

    >>> import numpy as np
    >>> s = np.zeros((40, 40)); s[8, 25] = 1.0  # 12 px above the square
    >>> m = np.zeros((1, 40, 40), bool); m[0, 20:30, 20:30] = True
    >>> pointing_game(s, m, tolerance_px=15).hit, pointing_game(s, m, tolerance_px=5).hit
    (True, False)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._checks import instance_masks, saliency_map
from .registry import Subject, register_metric

__all__ = ["PointingResult", "pointing_game"]


@dataclass(frozen=True)
class PointingResult:
    """Outcome of one pointing-game trial.

    Attributes:
        hit: whether the point lies within the tolerance of some instance.
        point: ``(row, col)`` of the map's first maximum, ``None`` for a constant map.
        instance: index of the nearest instance within tolerance (``-1`` for a miss).
        distance: Euclidean distance in pixels from the point to the nearest mask pixel within the
            search window (``inf`` if none).
        ties: how many pixels share the maximum value.
    """

    hit: bool
    point: tuple[int, int] | None
    instance: int
    distance: float
    ties: int


def pointing_game(saliency: Any, masks: Any, tolerance_px: float = 15.0) -> PointingResult:
    """Play the pointing game for one map ``(H, W)`` against instance masks ``(N, H, W)``.

    ``hit = min_{i, p in mask_i} ||argmax(s) - p||_2 <= tolerance_px``.
    """
    if tolerance_px < 0:
        raise ValueError(f"tolerance_px must be >= 0; got {tolerance_px}")
    s = saliency_map(saliency)
    m = instance_masks(masks, s.shape)
    top = s.max()
    ties = int((s == top).sum())
    if s.min() == top:
        return PointingResult(False, None, -1, float("inf"), ties)
    row, col = (int(v) for v in np.unravel_index(int(np.argmax(s)), s.shape))
    r = int(np.floor(tolerance_px))
    r0, r1 = max(row - r, 0), min(row + r + 1, s.shape[0])
    c0, c1 = max(col - r, 0), min(col + r + 1, s.shape[1])
    yy, xx = np.mgrid[r0:r1, c0:c1]
    dist = np.sqrt((yy - row) ** 2 + (xx - col) ** 2)
    best, best_i = float("inf"), -1
    for i, mask in enumerate(m):
        window = mask[r0:r1, c0:c1]
        if window.any():
            d = float(dist[window].min())
            if d < best:
                best, best_i = d, i
    hit = best <= tolerance_px
    return PointingResult(bool(hit), (row, col), best_i if hit else -1, best, ties)


@register_metric("pointing", title="pointing", family="localisation", higher_is_better=True,
                 needs=("masks",), reference="Zhang et al. 2016 (ECCV), tolerance 15 px")
def _score_pointing(s: Subject) -> float:
    return float(pointing_game(s.saliency, s.masks, **s.kwargs("pointing")).hit)
