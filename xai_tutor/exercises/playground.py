"""Checks for notebook 12 (the playground): a prediction about the layers the explorer offers.

Example::

    >>> from xai_tutor.exercises.playground import check_default_grid
    >>> check_default_grid("finer", model).ok   # doctest: +SKIP
    False
"""

from __future__ import annotations

from typing import Any

from torch import nn

from .core import Expect, exercise
from .feedback import check_choice
from .oracle import record_layer

__all__ = ["GRIDS", "check_default_grid"]

GRIDS = ("finer", "coarser", "the same")


@exercise("playground.default_grid", "default_grid", "model", notebook="12", prediction=True)
def check_default_grid(got: Any, model: nn.Module) -> Expect:
    """Predict whether the map of ``model.default_layer`` is ``"finer"``, ``"coarser"`` or
    ``"the same"`` as the map of the model's first convolution (one of :data:`GRIDS`). Measured
    here on the one-bird scene at half size (the ratio does not depend on the size)."""
    from ..data import course_scenes, load_image

    x, _ = load_image(course_scenes()["single"].image, size=(313, 209))
    first = next(n for n, m in model.named_modules() if isinstance(m, nn.Conv2d))
    cells = {name: tuple(record_layer(model, x, layer=name, grad=False).activation.shape[-2:])
             for name in (first, model.default_layer)}
    size = {name: h * w for name, (h, w) in cells.items()}
    outcome = GRIDS[0] if size[model.default_layer] > size[first] else (
        GRIDS[1] if size[model.default_layer] < size[first] else GRIDS[2])
    why = ("every stride and pooling on the way down shrinks the grid, and the default layer is "
           "the last convolutional block: its map has the fewest cells, each one covering a large "
           "patch of the image. Earlier layers give finer maps of less class-specific features.")
    return Expect(outcome, judge=check_choice, choices=GRIDS, why=why,
                  details=[f"{name}: {h} x {w} cells" for name, (h, w) in cells.items()])
