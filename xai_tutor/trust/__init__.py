"""Which explanation can you trust? Methods and metrics checked against known reliance.

The models of :mod:`xai_tutor.reliance` rely on what we know by intervention: the shortcut
cue models on a class badge only, the mixed one on bird and badge, the bird model on the bird,
the course models on the bird and not on the flamingo's reflection. Here every explanation
method is run on them and scored against that ground truth
(:mod:`xai_tutor.evaluation.ground_truth`), and every other metric of
:data:`xai_tutor.evaluation.METRICS` is checked for whether it ranks the methods as the ground
truth does.

The API
-------

:func:`trust_study` ``(models=None, methods=None, scenes=16, *, metrics=None, options=None,
seed=0, seed_offset=700_000, grid=(3, 3), params=None, progress=True) -> TrustStudy``
    everything measured, one row per map (``.rows``: model, scene, method, the share of the
    map on each region, the ground-truth scores, the other metrics, the time of the call);
    ``.truth`` the measured drops; ``.uses`` what each model uses; ``.costs`` seconds spent.
    The fast path for a notebook: ``trust_study(["tiny_resnet_shortcut"], ["gradcam", "lrp"],
    scenes=4, metrics=())`` (seconds).
``study.verdicts()`` -> rows (:func:`.verdict.verdicts`)
    per cue model and method: does the map point at the badge or the bird, and is that where
    the model leans (:data:`VERDICT_RULE`): "reveals the shortcut" / "points at the bird
    anyway" on the shortcut models.
``study.correctness()`` -> rows (:func:`.verdict.correctness`)
    per model and method: ``truth_mass``, ``truth_rank``, ``truth_contrast`` with 95 %
    intervals over scenes, and the methods' rank by ``truth_mass``.
``study.metric_trust()`` -> rows (:func:`.meta.metric_trust`)
    per metric and model: Kendall's tau-b between the metric's ranking of the methods and the
    ground truth's, its interval and the label of :data:`METRIC_RULE` (agrees / misleads /
    undecided).
``study.table()`` -> str
    the verdict table in Markdown.
:func:`write_trust` ``(folder, study) -> list[Path]``
    ``trust.csv``, ``trust.md``, ``metric_trust.csv``, ``trust_scores.csv`` (the experiment's
    trust section, :mod:`.report`).

Modules: :mod:`.truth` (the ground truth of each scene), :mod:`.study` (the runs),
:mod:`.verdict` (the verdict rule, correctness), :mod:`.meta` (metric meta-evaluation),
:mod:`.bootstrap` (intervals over scenes), :mod:`.report` (tables and files).

Example::

    >>> study = trust_study(["tiny_resnet_shortcut"], ["gradcam"], scenes=2, metrics=(),
    ...                     progress=False)
    >>> [r["method"] for r in study.rows][:3]
    ['gradcam', 'centre_baseline', 'random_baseline']
"""

from .bootstrap import Estimate, bootstrap
from .meta import METRIC_RULE, kendall_tau_b, metric_trust, trust_label
from .report import write_trust
from .study import BASELINES, DEFAULT_MODELS, TrustStudy, default_options, trust_study
from .truth import USE_THRESHOLD, measure_truth, used_regions
from .verdict import VERDICT_RULE, correctness, lean, leaning, verdicts

__all__ = [
    "BASELINES",
    "DEFAULT_MODELS",
    "METRIC_RULE",
    "USE_THRESHOLD",
    "VERDICT_RULE",
    "Estimate",
    "TrustStudy",
    "bootstrap",
    "correctness",
    "default_options",
    "kendall_tau_b",
    "lean",
    "leaning",
    "measure_truth",
    "metric_trust",
    "trust_label",
    "trust_study",
    "used_regions",
    "verdicts",
    "write_trust",
]
