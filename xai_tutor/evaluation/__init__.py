"""Metrics that put numbers on the paper's visual comparison (Section 4.3).

* localisation against the scenes' instance masks: :func:`pointing_game`,
  :func:`relevance_mass`, :func:`multi_instance_coverage`, :func:`area_recall`, :func:`shape_iou`,
  and per instance :func:`instance_energy` (energy-based pointing relative to each bird's area);
* image-blind baselines and the rule that marks a metric uninformative: :func:`centre_blob`,
  :func:`random_map`, :func:`compare_to_baselines`, :func:`compare_rows`, :func:`compare_metrics`;
* faithfulness to the model: :func:`deletion_auc` and :func:`insertion_auc` (RISE);
* sanity: :func:`randomisation_check` (Adebayo et al.) and :func:`randomisation_failures`;
* cost: :func:`measure` (run time and peak memory).

Each module's docstring gives the definition and the conventions for ties and empty inputs.
"""

from .baselines import (
    BaselineComparison,
    centre_blob,
    compare_metrics,
    compare_rows,
    compare_to_baselines,
    paired_mean_se,
    random_map,
)
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
from .energy import instance_energy, instance_energy_ratios
from .mass import instance_mass, relevance_mass
from .pointing import PointingResult, pointing_game
from .randomisation import (
    RANDOMISATION_THRESHOLD,
    RandomisationResult,
    parameterised_layers,
    randomisation_check,
    randomisation_failures,
    randomisation_failures_by_model,
    rankdata,
    spearman,
)

__all__ = [
    "RANDOMISATION_THRESHOLD",
    "BaselineComparison",
    "Cost",
    "Curve",
    "PointingResult",
    "RandomisationResult",
    "area_recall",
    "centre_blob",
    "compare_metrics",
    "compare_rows",
    "compare_to_baselines",
    "covered_instances",
    "deletion_auc",
    "deletion_curve",
    "gaussian_blur",
    "insertion_auc",
    "insertion_curve",
    "instance_energy",
    "instance_energy_ratios",
    "instance_mass",
    "measure",
    "multi_instance_coverage",
    "paired_mean_se",
    "parameterised_layers",
    "pointing_game",
    "random_map",
    "randomisation_check",
    "randomisation_failures",
    "randomisation_failures_by_model",
    "rankdata",
    "relevance_mass",
    "release_freed_memory",
    "shape_iou",
    "spearman",
]
