"""The paper's experiment (Section 4), with numbers instead of only pictures.

The paper runs every method on three bird photographs (one bird, two birds, many occluded birds)
with three ImageNet models and compares the saliency maps by eye (Figure 5). Here:

1. **Scenes**: per kind (``single``, ``pair``, ``flock``) the canonical course scene plus
   ``samples`` seeded generated scenes (seed ``1000 + i``). Each generated scene uses *one*
   species for all its birds, so a pair or a flock holds several instances of the explained class.
2. **Target**: each model's top class (the paper explains the prediction). The instances that
   count as ground truth are those of the predicted species; when the prediction names no bird in
   the scene (a misclassification) all instances count. The ``correct`` column records which.
3. **Maps**: every method of :data:`xai_tutor.METHODS` on every scene and model, timed
   (:func:`xai_tutor.evaluation.measure`); combinations of pairs of methods
   (:data:`COMBINATIONS`, :func:`xai_tutor.combine`); and two baselines that know nothing
   about the image: the *centre baseline* (a Gaussian at the image centre, sigma = a quarter of
   the shorter side, TorchRay's centre baseline as a map) and the *random baseline* (uniform
   noise on a 7 x 7 grid resized to the image, seeded per scene).
4. **Metrics** per map: every metric of :data:`xai_tutor.evaluation.METRICS` the settings ask
   for (all by default), computed through its registry entry: localisation against the masks on
   every scene; the metrics that run the model (deletion, insertion, ROAD) and those that
   recompute the map (Max/Avg-Sensitivity, Random Logit, eMPRT) on the canonical scenes by
   default (``Settings.curves``), the latter only for maps whose method took at most
   ``Settings.recompute_seconds``; ``area`` is the objects' share of the image (the relevance
   mass of a uniform map). **Baselines** (:mod:`.judge`): every judged metric must let the
   median method beat the centre and the random baselines by 2 standard errors (over all
   scenes, and over the pair and flock scenes), or it is *uninformative* and decides no claim
   (:data:`xai_tutor.evaluation.INFORMATIVE_RULE`).
5. **Scaling**: each method's run time and peak tensor memory
   (:func:`xai_tutor.evaluation.tensor_memory`, deterministic) on the canonical single scene at
   half and full size.
6. **Sanity**: the signed Spearman similarity between the map of each model and of copies with
   the top third, two thirds and all of the layers re-initialised (cascading, Adebayo et al.
   2018), on two scenes per kind at half size with three seeds, against the chance level of two
   randomised models; a method that fails the rule
   (:data:`xai_tutor.evaluation.RANDOMISATION_RULE`) is flagged next to its scores and in the
   claims about its maps (:mod:`.sanity`).
7. **Claims**: the paper's qualitative statements, each with the numbers measured and a verdict
   computed by a stated rule (:func:`evaluate_claims`).
8. **Trust** (``Settings.trust_scenes`` scenes per model; the command line's presets: 16, quick
   4): every method on the models whose reliance is known by intervention (the cue models and
   the course's tiny models), scored against that ground truth, with the verdicts and the
   metric meta-evaluation of :mod:`xai_tutor.trust` (their rules stated in ``trust.md``).

The package: :mod:`.settings` (:class:`Settings`, one frozen object checked once, and the
presets), :mod:`.spec` (models, scenes, baselines, targets), :mod:`.run` (the loop),
:mod:`.judge` (the baseline rule applied to the run), :mod:`.timing`, :mod:`.sanity`,
:mod:`.report` (tables and figures), :mod:`.claims`, :mod:`.estimate` and :mod:`.output` (the
output folder, published whole: written into a temporary folder beside ``out``, renamed into
place when complete; a non-empty ``out`` only replaced with ``force``).

Outputs (in ``out``): ``grid_<model>.png`` (Figure 5: the three canonical scenes as columns, one
row per method), ``representations_<model>.png``, ``scenes.png``, ``scores.csv`` (one row per
map), ``metrics.csv`` / ``metrics.md`` (mean and standard error per method x model x kind),
``overall.csv`` (per method over all models and scenes), ``baselines.csv`` (the baseline rule
per metric; also at the top of ``metrics.md``), ``timing.csv`` (time and tensor memory),
``sanity.csv``, ``claims.csv`` / ``claims.md``, ``run.json``; with a trust section
``trust.md``, ``trust.csv``, ``metric_trust.csv`` and ``trust_scores.csv``
(:func:`xai_tutor.trust.write_trust`).

Example::

    >>> import tempfile
    >>> from xai_tutor.experiment import run_experiment
    >>> out = tempfile.mkdtemp()   # an empty folder; a non-empty one needs force=True
    >>> result = run_experiment(models=["tiny_vgg"], methods=["gradcam"], samples=0,
    ...                         size=(160, 112), out=out, progress=False)   # default + overrides
    >>> sorted(p.name for p in result.files)[:3]
    ['baselines.csv', 'claims.csv', 'claims.md']
"""

from __future__ import annotations

from . import claims, estimate, judge, output, report, run, sanity, settings, spec, timing
from .claims import _verdict as _verdict  # noqa: F401 - used by exercises tests
from .claims import evaluate_claims
from .output import ResultsExistError, check_out
from .report import summarise
from .run import ExperimentResult, run_experiment
from .settings import DEFAULT_SAMPLES, MAX_SIDE, MIN_SIDE, PRESETS, Settings
from .spec import (
    BASELINES,
    CENTRE,
    COMBINATIONS,
    DEFAULT_KINDS,
    RANDOM,
    centre_baseline,
    combo_name,
)

__all__ = [
    "BASELINES",
    "COMBINATIONS",
    "CENTRE",
    "RANDOM",
    "DEFAULT_KINDS",
    "DEFAULT_SAMPLES",
    "MIN_SIDE",
    "MAX_SIDE",
    "PRESETS",
    "Settings",
    "estimate",
    "ExperimentResult",
    "ResultsExistError",
    "run_experiment",
    "summarise",
    "evaluate_claims",
    "centre_baseline",
    "combo_name",
    "check_out",
    "claims",
    "judge",
    "output",
    "report",
    "run",
    "sanity",
    "settings",
    "spec",
    "timing",
]
