"""Metrics that put numbers on the paper's visual comparison (Section 4.3).

* localisation against the scenes' instance masks: :func:`pointing_game`,
  :func:`relevance_mass`, :func:`multi_instance_coverage`, :func:`area_recall`, :func:`shape_iou`;
* faithfulness to the model: :func:`deletion_auc` and :func:`insertion_auc` (RISE);
* sanity: :func:`randomisation_check` (Adebayo et al.);
* cost: :func:`measure` (run time and peak memory).

Each module's docstring gives the definition and the conventions for ties and empty inputs.
"""

from .cost import Cost, measure, release_freed_memory
from .coverage import area_recall, covered_instances, multi_instance_coverage, shape_iou
from .deletion import (
    Curve,
    deletion_auc,
    deletion_curve,
    gaussian_blur,
    insertion_auc,
    insertion_curve,
)
from .mass import instance_mass, relevance_mass
from .pointing import PointingResult, pointing_game
from .randomisation import (
    RandomisationResult,
    parameterised_layers,
    randomisation_check,
    rankdata,
    spearman,
)

__all__ = [
    "Cost",
    "Curve",
    "PointingResult",
    "RandomisationResult",
    "area_recall",
    "covered_instances",
    "deletion_auc",
    "deletion_curve",
    "gaussian_blur",
    "insertion_auc",
    "insertion_curve",
    "instance_mass",
    "measure",
    "multi_instance_coverage",
    "parameterised_layers",
    "pointing_game",
    "randomisation_check",
    "rankdata",
    "relevance_mass",
    "release_freed_memory",
    "shape_iou",
    "spearman",
]
