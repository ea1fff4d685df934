"""The model-randomisation check (Adebayo et al., "Sanity checks for saliency maps", NeurIPS
2018) over several images and seeds, with a chance level and a stated verdict rule.

**The question.** A map that shows what the model learned must change when the learned weights
are destroyed. We explain the same image and class with the trained model and with copies whose
top layers are re-initialised, and measure how similar the maps stay.

**Cascade.** The *parameterised* layers (modules with weights of their own: Conv2d, Linear,
BatchNorm, ...) in definition order; :func:`cascade` splits them into ``stages`` cascading stages
that randomise about the top ``1/stages``, ``2/stages``, ... of them, the last stage all of them.
Every stage randomises the output layer, so the learned class evidence is gone at every stage.
Each stage is repeated with several ``seeds`` (:func:`~xai_tutor.evaluation.randomised_copy`:
layer ``i`` gets ``torch.manual_seed(seed * 100003 + i)``, so the stages of one seed are nested),
on deep copies: the user's model is never touched. The explained class is the trained model's
(``targets`` or its top class) at every stage.

**Similarity** (:func:`spearman`): the signed Spearman rank correlation ``rho`` of the two maps'
pixels (ties get average ranks; a map with no ranking, e.g. a Grad-CAM that the randomised
model's ReLU left all zero, has rho 0 with anything). Rank-based: a map shown at twice the size
(each pixel repeated) has exactly the same rho, so the rule does not depend on the map's size
(resampled with interpolation, a map is smoothed and rho moves a little). The maps are compared
at their own resolution, not on a coarse common grid: averaged over grid cells, pixel maps turn
into edge densities that any two models share, which raises the chance level of exactly the
methods the check is meant to catch.
**Signed, not** ``|rho|``: a negative rho means the ranking reversed, i.e. the map changed, and
it counts as low similarity. Sign flips come from maps that keep a sign (the paper's CAM, without
ReLU): random head weights count each channel for or against the class with equal odds, so a
randomised map is about as likely to look like the trained one upside down as the right way up,
and rho swings from seed to seed on both sides of 0. ``|rho|`` would call a map turned upside
down unchanged; the signed mean over seeds averages the swings out. Grad-CAM
(``ReLU(CAM) / (h w)`` on a GAP head) sees the positive part of the same maps and gets the same
verdict as CAM (tested on tiny_resnet).

**Chance level.** The similarity of the maps of two independently randomised models (same
method, image, stage and class; seeds ``s`` and the next seed): what maps share through the
image and the architecture whatever the weights. With every layer random (the last stage),
nothing learned is left: that chance level is the floor a map can reach, and a map as far from
the trained one as two random models are from each other has changed as much as it can. A
method whose random maps agree (an edge detector: chance 1) cannot change at all. The chance
level of an intermediate stage is reported but does not enter the rule: two models that share
the trained lower layers agree more, and a map that ignores the randomised top layers (guided
backprop's maps of two models with random top layers are nearly the same) would excuse itself.

**The rule** (:data:`RANDOMISATION_RULE`, applied by :func:`randomisation_verdicts`): at each
stage, the mean similarity over images x seeds with its 95 % t-interval (the values of one image
share its trained map, so the interval is somewhat optimistic; more images narrow it honestly),
against the threshold halfway between the chance level ``c`` (clipped at 0) and 1:
``threshold = (1 + c) / 2`` (:func:`randomisation_threshold`; 0.5 where random maps share
nothing). A method fails at a stage when the whole interval is at or above the threshold (the
map kept more than half of what it could lose), passes when it is below, and is undecided
otherwise; it fails the check when it fails at some stage. Why not "fails when clearly above
chance": the maps of two random models are usually *more* alike than the trained map is to
either (the trained map has structure of its own), so that test would pass nearly everything,
the image-only edge map included (its similarity and its chance level are both 1).

**Limits.** Passing does not make a map informative (Binder et al., "Shortcomings of top-down
randomization-based sanity checks", CVPR 2023): :func:`weight_noise`, noise seeded by the
weights, passes, and it says nothing about the image; nor does a lower similarity rank methods.
Failing is decided by choices (the similarity measure, signed or absolute, the resolution, the
floor): Hedström et al. 2023 show how such choices decide the outcome, and propose eMPRT
(:mod:`.mprt`), which asks whether the map becomes *more complex* once the weights are gone.
:func:`image_edges`, a map of the image alone, is the other reference: it fails at every stage.

Example::

    >>> import torch, xai_tutor
    >>> model = xai_tutor.load_model("tiny_resnet")
    >>> x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    >>> check = randomisation_check(model, x, ["gradcam", image_edges], stages=2, seeds=(0, 1),
    ...                             progress=False)
    >>> verdicts = check.verdicts()
    >>> verdicts["image_edges"].verdict, verdicts["image_edges"].threshold
    ('fails', 1.0)
    >>> [s.n for s in verdicts["gradcam"].stages]   # 2 images x 2 seeds per stage
    [4, 4]
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ..hooks import model_guard
from ..methods.inputs import check_images
from ..methods.progress import progress as progress_bar
from ._checks import saliency_map
from .explainers import explainer, parameterised_layers, randomised_copy

__all__ = ["CONFIDENCE", "FAILS", "PASSES", "RANDOMISATION_RULE", "SEEDS", "STAGES",
           "UNDECIDED", "RandomisationCheck", "RandomisationVerdict", "StageSummary", "cascade",
           "image_edges", "images_within", "maps_per_image", "randomisation_check",
           "randomisation_failures", "randomisation_failures_by_model", "randomisation_summary",
           "randomisation_threshold", "randomisation_verdicts", "rankdata", "spearman",
           "weight_noise"]

#: cascading stages of the check (the last randomises every parameterised layer)
STAGES = 3
#: randomisation seeds of the check (two at least: the chance level compares two of them)
SEEDS = (0, 1, 2)
#: confidence of the t-interval of a stage's mean similarity
CONFIDENCE = 0.95
FAILS, PASSES, UNDECIDED = "fails", "passes", "undecided"
#: values a computed similarity may miss an exact threshold by (rounding)
_TOLERANCE = 1e-9

RANDOMISATION_RULE = (
    "at each cascading stage, the mean signed Spearman similarity between the trained model's "
    "map and the randomised models' maps over images x seeds, with its 95 % t-interval, is "
    "compared with a threshold halfway between the chance level and 1 (identical maps); the "
    "chance level is the mean similarity of the maps of two independently, fully randomised "
    "models (every layer random, two seeds), counted as 0 when negative. A method fails at a "
    "stage when the interval lies at or above the threshold, passes when it lies below, and is "
    "undecided otherwise; it fails the check when it fails at some stage, passes when it passes "
    "at every stage, and is undecided otherwise")
"""The verdict rule of the randomisation check, stated once (module docstring)."""


# --- similarity ---------------------------------------------------------------------------------

def rankdata(values: np.ndarray) -> np.ndarray:
    """Ranks ``1..n`` of a 1-D array, ties replaced by the mean of the ranks they span."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    order = np.argsort(v, kind="mergesort")
    sorted_v = v[order]
    starts = np.flatnonzero(np.r_[True, sorted_v[1:] != sorted_v[:-1]])
    counts = np.diff(np.r_[starts, v.size])
    mean_rank = starts + (counts - 1) / 2.0 + 1.0
    ranks = np.empty(v.size, dtype=np.float64)
    ranks[order] = np.repeat(mean_rank, counts)
    return ranks


def _unit_ranks(saliency: Any) -> np.ndarray:
    """Centred ranks scaled to unit length (all zeros for a constant map): the Spearman
    correlation of two maps is the dot product of theirs."""
    r = rankdata(saliency_map(saliency))
    r -= r.mean()
    norm = float(np.sqrt((r ** 2).sum()))
    return r / norm if norm > 0 else r


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    if a.shape != b.shape:
        raise ValueError(f"maps must have the same size; got {a.size} and {b.size} pixels")
    return float(np.clip(np.dot(a, b), -1.0, 1.0))


def spearman(a: Any, b: Any) -> float:
    """Spearman rank correlation of two maps of equal size: Pearson correlation of their ranks.

    ``rho = cov(rank a, rank b) / (std(rank a) std(rank b))``, signed; 0 when either map is
    constant.
    """
    return _dot(_unit_ranks(a), _unit_ranks(b))


# --- reference maps -----------------------------------------------------------------------------

def image_edges(model: nn.Module, x: torch.Tensor, target: int) -> np.ndarray:
    """A map of the image alone: the Sobel gradient magnitude of ``x``, summed over channels.

    It ignores the model and the class, so it is the same before and after randomisation: the
    check must flag it (its chance level is 1, its threshold 1, every similarity 1).
    """
    img = check_images(x)[0].detach().to(torch.float64).cpu().numpy()
    padded = np.pad(img, ((0, 0), (1, 1), (1, 1)), mode="edge")
    gx = (padded[:, 1:-1, 2:] - padded[:, 1:-1, :-2]) * 2 + (
        padded[:, :-2, 2:] - padded[:, :-2, :-2]) + (padded[:, 2:, 2:] - padded[:, 2:, :-2])
    gy = (padded[:, 2:, 1:-1] - padded[:, :-2, 1:-1]) * 2 + (
        padded[:, 2:, :-2] - padded[:, :-2, :-2]) + (padded[:, 2:, 2:] - padded[:, :-2, 2:])
    return np.sqrt(gx ** 2 + gy ** 2).sum(axis=0)


def weight_noise(model: nn.Module, x: torch.Tensor, target: int) -> np.ndarray:
    """Uniform noise of the input's size, seeded by the model's weights (CRC-32 of the first
    4096 values of every parameter tensor): any re-initialised layer changes it completely.

    It knows nothing of the image or the class, yet it passes the check (its similarity and its
    chance level are about 0): passing does not mean informative (Binder et al. 2023).
    """
    h, w = check_images(x).shape[-2:]
    crc = 0
    for p in model.parameters():
        crc = zlib.crc32(p.detach().reshape(-1)[:4096].to(torch.float64).cpu().numpy()
                         .tobytes(), crc)
    return np.random.default_rng(crc).random((int(h), int(w)))


# --- the measurement ----------------------------------------------------------------------------

def cascade(model: nn.Module, stages: int = STAGES) -> list[tuple[int, str]]:
    """The cascading stages of ``model``: ``(layers randomised from the top, the deepest of
    them)`` per stage, ``stages`` clipped to the number of parameterised layers; the last stage
    randomises every layer."""
    if isinstance(stages, bool) or not isinstance(stages, int) or stages < 1:
        raise ValueError(f"stages must be a positive int; got {stages!r}")
    layers = parameterised_layers(model)
    if not layers:
        raise ValueError("the model has no layer with parameters to randomise")
    k = min(stages, len(layers))
    cuts = sorted({int(np.ceil(len(layers) * (j + 1) / k)) for j in range(k)})
    return [(cut, layers[len(layers) - cut]) for cut in cuts]


def maps_per_image(stages: int, seeds: int) -> int:
    """Maps the check computes per method and image: the trained model's and one per stage and
    seed."""
    return 1 + stages * seeds


def images_within(call_seconds: float, images: int, stages: int, seeds: int,
                  seconds: float | None) -> int:
    """How many of ``images`` a method is checked on when one call takes ``call_seconds`` and
    the method may take ``seconds`` in all (None: no limit): as many as fit, 0 when one image's
    maps (:func:`maps_per_image`) do not.

    >>> images_within(0.5, images=6, stages=3, seeds=3, seconds=20.0)   # 10 maps = 5 s / image
    4
    >>> images_within(14.0, images=6, stages=3, seeds=3, seconds=20.0)
    0
    """
    if seconds is None:
        return images
    per_image = call_seconds * maps_per_image(stages, seeds)
    return min(images, int(seconds // per_image)) if per_image > 0 else images


def _as_images(images: Any) -> list[torch.Tensor]:
    if isinstance(images, torch.Tensor):
        batch = check_images(images)
        return [batch[i:i + 1] for i in range(batch.shape[0])]
    if isinstance(images, Sequence) and not isinstance(images, str) and images:
        out = []
        for i, x in enumerate(images):
            x = check_images(x)
            if x.shape[0] != 1:
                raise ValueError(f"images[{i}] must be one image (1, C, H, W); got a batch of "
                                 f"{x.shape[0]}")
            out.append(x)
        return out
    raise TypeError("images must be a (N, 3, H, W) tensor or a non-empty list of (1, 3, H, W) "
                    f"tensors; got {type(images).__name__}")


def _as_methods(methods: Any) -> dict[str, Any]:
    if isinstance(methods, Mapping):
        named = dict(methods)
    else:
        items = [methods] if isinstance(methods, str) or callable(methods) else list(methods)
        named = {}
        for m in items:
            if not isinstance(m, str) and not callable(m):
                raise TypeError(f"a method is a registry name or a callable; got {m!r}")
            named[m if isinstance(m, str) else getattr(m, "__name__", repr(m))] = m
    if not named:
        raise ValueError("give at least one method")
    return named


@dataclass(frozen=True)
class StageSummary:
    """One stage of one method: ``layers`` randomised from the top (``deepest`` the lowest of
    them); ``n`` values of the similarity between the trained and the randomised maps, their
    mean ``similarity`` and its t-interval ``[low, high]``; the stage's own chance level (mean
    over ``chance_n`` pairs of randomised maps, ``[chance_low, chance_high]``; reported, the rule
    uses the last stage's); ``threshold`` and the stage's ``verdict``."""

    stage: int
    layers: int
    deepest: str
    n: int
    similarity: float
    low: float
    high: float
    chance_n: int
    chance: float
    chance_low: float
    chance_high: float
    threshold: float
    verdict: str


@dataclass(frozen=True)
class RandomisationVerdict:
    """The rule's outcome for one method: ``verdict`` (``"fails"``, ``"passes"`` or
    ``"undecided"``), the ``chance`` level it used (the last stage's, clipped at 0), the
    ``threshold`` and every stage."""

    method: str
    verdict: str
    chance: float
    threshold: float
    stages: tuple[StageSummary, ...]

    @property
    def reason(self) -> str:
        """One sentence: which stage decided, with its numbers."""
        def text(s: StageSummary) -> str:
            return (f"stage {s.stage} ({s.layers} layers random): similarity {s.similarity:+.2f} "
                    f"[{s.low:+.2f}, {s.high:+.2f}], n = {s.n}")

        floor = f"threshold {self.threshold:.2f}, halfway from chance {self.chance:.2f} to 1"
        if self.verdict == FAILS:
            worst = [s for s in self.stages if s.verdict == FAILS]
            return f"fails at {'; '.join(text(s) for s in worst)}: at or above the {floor}"
        if self.verdict == PASSES:
            top = max(self.stages, key=lambda s: s.high)
            return f"passes: every stage below the {floor} (highest: {text(top)})"
        open_ = [s for s in self.stages if s.verdict == UNDECIDED]
        return (f"undecided at {'; '.join(text(s) for s in open_)}: the interval contains the "
                f"{floor}")


@dataclass
class RandomisationCheck:
    """What :func:`randomisation_check` measured: one row per pair of maps compared, the
    methods not checked (``skipped``: method -> why), the classes explained per image and the
    stages (:func:`cascade`).

    Each row: ``method``, ``image`` (label), ``stage``, ``layers``, ``deepest``, ``kind``
    (``"trained"``: trained vs randomised map; ``"chance"``: two randomised maps), ``seeds``
    (``"0"`` or ``"0,1"``) and ``similarity`` (:func:`spearman`).
    """

    rows: list[dict[str, Any]]
    skipped: dict[str, str] = field(default_factory=dict)
    targets: list[int] = field(default_factory=list)
    stages: list[tuple[int, str]] = field(default_factory=list)

    def verdicts(self) -> dict[str, RandomisationVerdict]:
        """:func:`randomisation_verdicts` of the rows."""
        return randomisation_verdicts(self.rows)

    def summary(self) -> list[dict[str, Any]]:
        """:func:`randomisation_summary` of the rows."""
        return randomisation_summary(self.rows)


def randomisation_check(
    model: nn.Module,
    images: Any,
    methods: Any,
    *,
    targets: Sequence[int] | None = None,
    stages: int = STAGES,
    seeds: Sequence[int] = SEEDS,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    labels: Sequence[str] | None = None,
    seconds: float | None = None,
    progress: bool = True,
) -> RandomisationCheck:
    """The cascading randomisation check of ``methods`` on ``images`` (module docstring).

    Args:
        model: the trained model (left untouched; randomisation happens on deep copies).
        images: normalised images, a ``(N, 3, H, W)`` batch or a list of ``(1, 3, H, W)``
            tensors (sizes may differ).
        methods: a registry name or a callable ``f(model, x, target) -> Explanation | map``, a
            list of them, or ``{label: method}``. :func:`image_edges` and :func:`weight_noise`
            are the two reference maps.
        targets: the class explained per image; None: the trained model's top class.
        stages: cascading stages (:func:`cascade`).
        seeds: randomisation seeds, at least two (the chance level compares neighbouring
            seeds: 0 with 1, 1 with 2, ..., the last with the first when there are three or
            more).
        params: keyword arguments per method label, e.g. ``{"smoothgrad": {"n": 10}}``.
        labels: a label per image for the rows (default ``"0"``, ``"1"``, ...).
        seconds: time allowed per method: a method runs on as many images as fit
            (:func:`images_within`, from its first call), none when one image does not fit.
        progress: show a progress bar over the randomised models.
    """
    xs = _as_images(images)
    named = _as_methods(methods)
    seeds = [int(s) for s in seeds]
    if len(seeds) < 2 or len(set(seeds)) != len(seeds):
        raise ValueError(f"give at least two different seeds (the chance level compares two "
                         f"randomised models); got {seeds}")
    labels = [str(i) for i in range(len(xs))] if labels is None else [str(v) for v in labels]
    if len(labels) != len(xs):
        raise ValueError(f"labels has {len(labels)} entries for {len(xs)} images")
    params = dict(params or {})
    unknown = sorted(set(params) - set(named))
    if unknown:
        raise ValueError(f"params for unknown method(s) {', '.join(unknown)}; methods: "
                         f"{', '.join(named)}")
    steps = cascade(model, stages)
    if targets is None:
        with model_guard(model), torch.no_grad():
            targets = [int(model(x).argmax(dim=1)[0]) for x in xs]
    targets = [int(t) for t in targets]
    if len(targets) != len(xs):
        raise ValueError(f"targets has {len(targets)} entries for {len(xs)} images")

    fns = {label: explainer(m, params.get(label)) for label, m in named.items()}
    trained: dict[str, list[np.ndarray]] = {}
    skipped: dict[str, str] = {}
    for label, fn in fns.items():
        start = time.perf_counter()
        head = _unit_ranks(fn(model, xs[0], targets[0]))
        took = time.perf_counter() - start
        n = images_within(took, len(xs), len(steps), len(seeds), seconds)
        if n == 0:
            skipped[label] = (f"one image needs {maps_per_image(len(steps), len(seeds))} maps "
                              f"of {took:.1f} s, more than the {seconds:g} s allowed")
            continue
        trained[label] = [head] + [_unit_ranks(fn(model, x, t))
                                   for x, t in zip(xs[1:n], targets[1:n])]

    rows: list[dict[str, Any]] = []
    if not trained:
        return RandomisationCheck(rows, skipped, targets, steps)
    work = [(stage, cut, deepest, j, seed) for stage, (cut, deepest) in enumerate(steps, start=1)
            for j, seed in enumerate(seeds)]
    first: dict[str, list[np.ndarray]] = {}
    previous: dict[str, list[np.ndarray]] = {}
    for stage, cut, deepest, j, seed in progress_bar(work, progress, "randomisation"):
        clone = randomised_copy(model, cut, seed)
        here = {label: [_unit_ranks(fns[label](clone, x, t))
                        for x, t in zip(xs[:len(ranks)], targets)]
                for label, ranks in trained.items()}
        del clone
        base = {"stage": stage, "layers": cut, "deepest": deepest}
        pairs = [("trained", str(seed), trained)]
        if j > 0:   # chance: this seed against the previous one ...
            pairs.append(("chance", f"{seeds[j - 1]},{seed}", previous))
        if j == len(seeds) - 1 and len(seeds) > 2:   # ... and the last against the first
            pairs.append(("chance", f"{seed},{seeds[0]}", first))
        for kind, pair, other in pairs:
            for label, maps in here.items():
                for i, m in enumerate(maps):
                    rows.append({"method": label, "image": labels[i], **base, "kind": kind,
                                 "seeds": pair, "similarity": _dot(other[label][i], m)})
        if j == 0:
            first = here
        previous = here
    return RandomisationCheck(rows, skipped, targets, steps)


# --- the rule -----------------------------------------------------------------------------------

def randomisation_threshold(chance: float) -> float:
    """The similarity from which a stage fails: halfway between the chance level (clipped to
    ``[0, 1]``) and 1. ``randomisation_threshold(0.0) == 0.5``, ``(0.6) == 0.8``, ``(1.0) ==
    1.0``."""
    c = min(max(float(chance), 0.0), 1.0) if math.isfinite(chance) else 0.0
    return (1.0 + c) / 2.0


def _interval(values: Sequence[float], confidence: float = CONFIDENCE
              ) -> tuple[int, float, float, float]:
    """``(n, mean, low, high)``: the t-interval of the mean (infinite for one value)."""
    v = np.array([x for x in values if math.isfinite(x)], dtype=np.float64)
    if v.size == 0:
        return 0, math.nan, math.nan, math.nan
    mean = float(v.mean())
    if v.size == 1:
        return 1, mean, -math.inf, math.inf
    from scipy import stats

    half = float(stats.t.ppf((1 + confidence) / 2, v.size - 1) * v.std(ddof=1)
                 / math.sqrt(v.size))
    return int(v.size), mean, mean - half, mean + half


def _stage_verdict(low: float, high: float, threshold: float) -> str:
    if low >= threshold - _TOLERANCE:
        return FAILS
    if high < threshold - _TOLERANCE:
        return PASSES
    return UNDECIDED


def _grouped(rows: Iterable[Mapping[str, Any]], model: str | None
             ) -> dict[str, dict[int, dict[str, Any]]]:
    """``{method: {stage: {"layers", "deepest", "trained": [...], "chance": [...]}}}``."""
    out: dict[str, dict[int, dict[str, Any]]] = {}
    models = set()
    for r in rows:
        if model is not None and str(r.get("model")) != model:
            continue
        models.add(str(r.get("model")))
        kind = str(r["kind"])
        if kind not in ("trained", "chance"):
            raise ValueError(f"row kind must be 'trained' or 'chance'; got {kind!r}")
        entry = out.setdefault(str(r["method"]), {}).setdefault(int(float(r["stage"])), {
            "layers": int(float(r["layers"])), "deepest": str(r["deepest"]),
            "trained": [], "chance": []})
        entry[kind].append(float(r["similarity"]))
    if model is None and len(models) > 1:
        raise ValueError(f"rows of several models ({', '.join(sorted(models))}): pass model=, "
                         "or use randomisation_failures_by_model")
    return out


def randomisation_verdicts(rows: Iterable[Mapping[str, Any]], model: str | None = None
                           ) -> dict[str, RandomisationVerdict]:
    """:data:`RANDOMISATION_RULE` applied to the rows of one model (``model``: keep the rows
    with that ``"model"``; None: all rows, which must then belong to one model).

    ``rows``: :attr:`RandomisationCheck.rows` or the experiment's ``sanity.csv`` (numbers may
    be strings). Returns ``{method: RandomisationVerdict}`` in the order the methods appear.

    Example (hand-made rows: a map that stays put at stage 1, and chance 0.2 at the last
    stage, so the threshold is 0.6)::

        >>> rows = [{"method": "m", "stage": st, "layers": st, "deepest": "x", "kind": k,
        ...          "similarity": v}
        ...         for st, k, vs in ((1, "trained", (0.9, 0.8, 0.85)),
        ...                           (2, "trained", (0.1, 0.3, 0.2)),
        ...                           (2, "chance", (0.1, 0.3)))
        ...         for v in vs]
        >>> v = randomisation_verdicts(rows)["m"]
        >>> v.verdict, v.threshold, [s.verdict for s in v.stages]
        ('fails', 0.6, ['fails', 'passes'])
    """
    out = {}
    for method, by_stage in _grouped(rows, model).items():
        last = by_stage[max(by_stage)]
        n_c, chance, _, _ = _interval(last["chance"])
        if n_c == 0:
            raise ValueError(f"{method}: no chance level at the last stage (needs the maps of "
                             "two randomised models: two seeds or more)")
        chance = max(chance, 0.0)
        threshold = randomisation_threshold(chance)
        stages = []
        for stage in sorted(by_stage):
            e = by_stage[stage]
            n, mean, low, high = _interval(e["trained"])
            cn, cm, cl, ch = _interval(e["chance"])
            stages.append(StageSummary(stage, e["layers"], e["deepest"], n, mean, low, high,
                                       cn, cm, cl, ch, threshold,
                                       _stage_verdict(low, high, threshold) if n else UNDECIDED))
        verdicts = [s.verdict for s in stages]
        verdict = FAILS if FAILS in verdicts else PASSES if all(
            v == PASSES for v in verdicts) else UNDECIDED
        out[method] = RandomisationVerdict(method, verdict, chance, threshold, tuple(stages))
    return out


def randomisation_summary(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per (model, method, stage) with the numbers and verdicts of the rule: ``n``,
    ``similarity``, ``low``, ``high``, ``chance_n``, ``chance``, ``chance_low``,
    ``chance_high`` (the stage's own), ``threshold``, ``stage_verdict`` and the method's
    ``verdict`` (``model`` is left out when the rows have none)."""
    rows = list(rows)
    models = list(dict.fromkeys(str(r["model"]) for r in rows if "model" in r)) or [None]
    out = []
    for model in models:
        for method, v in randomisation_verdicts(rows, model).items():
            for s in v.stages:
                entry = {} if model is None else {"model": model}
                entry.update({"method": method, "stage": s.stage, "layers": s.layers,
                              "deepest": s.deepest, "n": s.n, "similarity": s.similarity,
                              "low": s.low, "high": s.high, "chance_n": s.chance_n,
                              "chance": s.chance, "chance_low": s.chance_low,
                              "chance_high": s.chance_high, "threshold": s.threshold,
                              "stage_verdict": s.verdict, "verdict": v.verdict})
                out.append(entry)
    return out


def randomisation_failures(rows: Iterable[Mapping[str, Any]], model: str | None = None
                           ) -> list[str]:
    """The methods that fail the check (:func:`randomisation_verdicts`), in row order."""
    return [m for m, v in randomisation_verdicts(rows, model).items() if v.verdict == FAILS]


def randomisation_failures_by_model(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """``{model: [methods that fail]}`` from rows with a ``"model"`` key (the experiment's
    ``sanity.csv``), every model present (possibly ``[]``)."""
    rows = list(rows)
    return {model: randomisation_failures(rows, model)
            for model in dict.fromkeys(str(r["model"]) for r in rows)}
