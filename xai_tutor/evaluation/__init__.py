"""Metrics that put numbers on the paper's visual comparison (Section 4.3), and more.

Every metric is declared in :data:`METRICS` (:mod:`.registry`: name, title, family, direction,
what it needs, whether the baseline rule judges it, its paper), by the module that defines it:

* localisation against the scenes' instance masks: :func:`pointing_game`,
  :func:`relevance_mass`, :func:`relevance_rank_accuracy`, :func:`instance_energy`,
  :func:`multi_instance_coverage`, :func:`area_recall`, :func:`shape_iou`;
* faithfulness to the model: :func:`deletion_auc` and :func:`insertion_auc` (RISE), :func:`road`
  (remove and debias, by :func:`noisy_linear_imputation`);
* robustness: :func:`sensitivity` (Max- and Avg-Sensitivity);
* complexity: :func:`sparseness` (Gini), :func:`complexity` (entropy);
* randomisation: :func:`random_logit`, :func:`efficient_mprt`, and the sanity check
  :func:`randomisation_check` (Adebayo et al.: several images and seeds, a chance level) with its
  rule :func:`randomisation_verdicts` (:data:`RANDOMISATION_RULE`) and the reference maps
  :func:`image_edges` and :func:`weight_noise`;
* ground truth, on models whose reliance is known by intervention (:mod:`xai_tutor.reliance`):
  :func:`truth_mass`, :func:`drop_rank_correlation`, :func:`contrastivity`, from
  :func:`region_shares` and :func:`drop_shares` (:mod:`.ground_truth`; not computed by the
  experiment on the course scenes, see :mod:`xai_tutor.trust`);
* cost: :func:`measure` (run time), :func:`tensor_memory` (deterministic tensor memory);
* image-blind baselines and the rule that marks a metric uninformative: :func:`centre_blob`,
  :func:`random_map`, :func:`compare_to_baselines` (:data:`INFORMATIVE_RULE`),
  :func:`compare_rows`, :func:`compare_metrics`.

Each module's docstring gives the definition and the conventions for ties and empty inputs.
"""

# isort: off
# The order of these imports is the registration order of the metrics in METRICS (tables list
# the metrics of a family in that order): localisation, faithfulness, robustness, complexity,
# randomisation, ground truth, cost.
from .pointing import PointingResult, pointing_game
from .mass import instance_mass, relevance_mass, relevance_rank_accuracy
from .energy import instance_energy, instance_energy_ratios
from .coverage import area_recall, covered_instances, multi_instance_coverage, shape_iou
from .deletion import (
    Curve,
    deletion_auc,
    deletion_curve,
    gaussian_blur,
    insertion_auc,
    insertion_curve,
)
from .road import ROADCurve, noisy_linear_imputation, road, road_curve
from .robustness import Sensitivity, perturbations, sensitivity
from .complexity import complexity, discrete_entropy, sparseness
from .random_logit import RandomLogit, other_class, random_logit
from .mprt import MPRTResult, efficient_mprt
from .ground_truth import (
    GroundTruth,
    contrastivity,
    drop_rank_correlation,
    drop_shares,
    rank_correlation,
    region_shares,
    truth_mass,
)
from .cost import Cost, TensorMemory, measure, release_freed_memory, tensor_memory
# isort: on
from .baselines import (
    INFORMATIVE_RULE,
    BaselineComparison,
    centre_blob,
    compare_metrics,
    compare_rows,
    compare_to_baselines,
    paired_mean_se,
    random_map,
)
from .explainers import explainer, parameterised_layers, randomised_copy
from .randomisation import (
    RANDOMISATION_RULE,
    RandomisationCheck,
    RandomisationVerdict,
    StageSummary,
    cascade,
    image_edges,
    randomisation_check,
    randomisation_failures,
    randomisation_failures_by_model,
    randomisation_summary,
    randomisation_threshold,
    randomisation_verdicts,
    rankdata,
    spearman,
    weight_noise,
)
from .registry import FAMILIES, METRICS, NEEDS, MetricInfo, Subject, directions, metrics_in
from .similarity import ssim

__all__ = [
    "FAMILIES",
    "INFORMATIVE_RULE",
    "METRICS",
    "NEEDS",
    "RANDOMISATION_RULE",
    "BaselineComparison",
    "Cost",
    "GroundTruth",
    "Curve",
    "MPRTResult",
    "MetricInfo",
    "PointingResult",
    "ROADCurve",
    "RandomLogit",
    "RandomisationCheck",
    "RandomisationVerdict",
    "Sensitivity",
    "StageSummary",
    "Subject",
    "TensorMemory",
    "area_recall",
    "cascade",
    "centre_blob",
    "compare_metrics",
    "compare_rows",
    "compare_to_baselines",
    "complexity",
    "contrastivity",
    "covered_instances",
    "deletion_auc",
    "deletion_curve",
    "directions",
    "discrete_entropy",
    "drop_rank_correlation",
    "drop_shares",
    "efficient_mprt",
    "explainer",
    "gaussian_blur",
    "image_edges",
    "insertion_auc",
    "insertion_curve",
    "instance_energy",
    "instance_energy_ratios",
    "instance_mass",
    "measure",
    "metrics_in",
    "multi_instance_coverage",
    "noisy_linear_imputation",
    "other_class",
    "paired_mean_se",
    "parameterised_layers",
    "perturbations",
    "pointing_game",
    "random_logit",
    "random_map",
    "randomisation_check",
    "randomisation_failures",
    "randomisation_failures_by_model",
    "randomisation_summary",
    "randomisation_threshold",
    "randomisation_verdicts",
    "randomised_copy",
    "rank_correlation",
    "rankdata",
    "region_shares",
    "relevance_mass",
    "relevance_rank_accuracy",
    "release_freed_memory",
    "road",
    "road_curve",
    "sensitivity",
    "shape_iou",
    "spearman",
    "sparseness",
    "ssim",
    "tensor_memory",
    "weight_noise",
    "truth_mass",
]
