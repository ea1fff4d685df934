"""The paper's experiment (Section 4), with numbers instead of only pictures.

The paper runs every method on three bird photographs (one bird, two birds, many occluded birds)
with three ImageNet models and compares the saliency maps by eye (Figure 5). Here:

1. **Scenes**: per kind (``single``, ``pair``, ``flock``) the canonical course scene plus
   ``samples`` seeded generated scenes (seed ``1000 + i``). Each generated scene uses *one*
   species for all its birds, so a pair or a flock holds several instances of the explained class.
2. **Target**: each model's top class (the paper explains the prediction). The instances that
   count as ground truth are those of the predicted species; when the prediction names no bird in
   the scene (a misclassification) all instances count. The ``correct`` column records which.
3. **Maps**: every method of :data:`xai_tutor.METHODS` on every scene and model, timed with peak
   memory (:func:`xai_tutor.evaluation.measure`); combinations of pairs of methods
   (:data:`COMBINATIONS`, :func:`xai_tutor.combine`); and two baselines that know nothing
   about the image: the *centre baseline* (a Gaussian at the image centre, sigma = a quarter of
   the shorter side, TorchRay's centre baseline as a map) and the *random baseline* (uniform
   noise on a 7 x 7 grid resized to the image, seeded per scene).
4. **Metrics** per map (:mod:`xai_tutor.evaluation`): pointing game (15 px), relevance mass,
   multi-instance coverage, per-instance energy, area recall, shape IoU; deletion AUC (grey
   baseline) and insertion AUC (blurred baseline), by default on the canonical scenes only
   (they cost ``2 (steps + 1)`` forward passes per map); run time and peak memory; ``area`` is
   the objects' share of the image (the relevance mass of a uniform map).
   **Baselines** (:mod:`.baselines`): a metric on which the median method does not beat the
   centre baseline by 2 standard errors (over all scenes, and over the pair and flock scenes)
   is *uninformative* and decides no claim.
5. **Scaling**: each method's run time on the canonical single scene at half and full size.
6. **Sanity**: Spearman correlation between the map of each model and of copies with the top
   third, two thirds and all of the layers re-initialised (cascading, Adebayo et al. 2018), on
   the canonical single scene at half size; a method with ``|rho| >= 0.5`` at any stage fails
   and is flagged next to its scores (:mod:`.sanity`).
7. **Claims**: the paper's qualitative statements, each with the numbers measured and a verdict
   computed by a stated rule (:func:`evaluate_claims`).

The package: :mod:`.spec` (defaults, argument checks, scenes, targets), :mod:`.run` (the loop),
:mod:`.baselines` (the baseline rule), :mod:`.timing`, :mod:`.sanity`, :mod:`.report` (tables
and figures), :mod:`.claims` and :mod:`.output` (the output folder, published whole: written
into a temporary folder beside ``out``, renamed into place when complete; a non-empty ``out``
only replaced with ``force``).

Outputs (in ``out``): ``grid_<model>.png`` (Figure 5: the three canonical scenes as columns, one
row per method), ``representations_<model>.png``, ``scenes.png``, ``scores.csv`` (one row per
map), ``metrics.csv`` / ``metrics.md`` (mean and standard error per method x model x kind),
``overall.csv`` (per method over all models and scenes), ``baselines.csv`` (the baseline rule
per metric; also at the top of ``metrics.md``),
``timing.csv``, ``sanity.csv``, ``claims.csv`` / ``claims.md``, ``run.json``.

Example::

    >>> import tempfile
    >>> from xai_tutor.experiment import run_experiment
    >>> out = tempfile.mkdtemp()   # an empty folder; a non-empty one needs force=True
    >>> result = run_experiment(models=["tiny_vgg"], methods=["gradcam"], samples=0,
    ...                         size=(160, 112), out=out, progress=False)
    >>> sorted(p.name for p in result.files)[:3]
    ['baselines.csv', 'claims.csv', 'claims.md']
"""

from __future__ import annotations

from . import baselines, claims, estimate, output, report, run, sanity, spec, timing
from .claims import _verdict as _verdict  # noqa: F401 - used by exercises tests
from .claims import evaluate_claims
from .output import ResultsExistError, check_out
from .report import summarise
from .run import ExperimentResult, run_experiment
from .spec import (
    BASELINES,
    CENTRE,
    COMBINATIONS,
    DEFAULT_KINDS,
    DEFAULT_SAMPLES,
    MAX_SIDE,
    METRICS,
    MIN_SIDE,
    PRESETS,
    RANDOM,
    centre_baseline,
    check_args,
    combo_name,
)

__all__ = [
    "BASELINES",
    "COMBINATIONS",
    "CENTRE",
    "RANDOM",
    "DEFAULT_KINDS",
    "DEFAULT_SAMPLES",
    "METRICS",
    "MIN_SIDE",
    "MAX_SIDE",
    "PRESETS",
    "estimate",
    "ExperimentResult",
    "ResultsExistError",
    "run_experiment",
    "summarise",
    "evaluate_claims",
    "centre_baseline",
    "combo_name",
    "check_args",
    "check_out",
    "baselines",
    "claims",
    "output",
    "report",
    "run",
    "sanity",
    "spec",
    "timing",
]
