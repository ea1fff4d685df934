"""Model-randomisation sanity check (Adebayo et al., "Sanity checks for saliency maps", 2018).

An explanation that depends on what the model learned must change when the learned weights are
destroyed. We compare the map of the trained model with maps of copies whose weights have been
re-initialised, by the **Spearman rank correlation** of the two maps' pixels (ties get average
ranks; a constant map has no ranking and correlates 0 with anything). High correlation after
randomisation is a failed check: the map mostly reflects the image or the architecture.

Layers: the *parameterised* modules (those with their own weights: Conv2d, Linear, BatchNorm, ...)
in definition order. Two modes:

* ``"cascading"`` (Adebayo's main test): start from the top (the output end) and randomise more
  and more layers, in ``stages`` groups of about equal size, the last stage covering all of them.
* ``"full"``: one stage that randomises every parameterised layer at once.

Randomising a module means calling its ``reset_parameters()`` (PyTorch's default initialisation;
for BatchNorm this also resets the running statistics) under a fixed seed, on a ``copy.deepcopy``
of the model: the user's model is never touched and the global RNG state is restored.
The explained class is the trained model's (``target`` or its top class) for every stage.

**Flagging a failure** (:func:`randomisation_failures`, a convention of ours, since Adebayo et al.
judge by eye): a method *fails* when the absolute Spearman correlation reaches ``threshold``
(default :data:`RANDOMISATION_THRESHOLD` = 0.5) at **any** stage. Every stage randomises at least
the output layer, so the learned class evidence is gone at every stage; a map that keeps half of
its rank structure there does not show what the model learned (guided backprop on the tiny VGG:
0.94 with the top third of the layers randomised, 0.36 with all of them; looking only at the last
stage would pass it). A report should print the flag next to the method's localisation scores: a
map that does not depend on the weights can sit on the birds for reasons that have nothing to do
with the model.

Example::

    >>> import torch, xai_tutor
    >>> from xai_tutor.evaluation import randomisation_check
    >>> model = xai_tutor.load_model("tiny_vgg")
    >>> r = randomisation_check(model, torch.randn(1, 3, 64, 64), "gradcam", stages=2,
    ...                         progress=False)
    >>> len(r.correlations)
    2
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..methods.inputs import check_images
from ..methods.progress import progress as progress_bar
from ._checks import saliency_map
from .explainers import explainer, parameterised_layers, randomised_copy

__all__ = ["RANDOMISATION_THRESHOLD", "RandomisationResult", "rankdata", "spearman",
           "parameterised_layers", "randomisation_check", "randomisation_failures",
           "randomisation_failures_by_model"]

RANDOMISATION_THRESHOLD = 0.5
"""Absolute Spearman correlation, after randomising every layer, from which a method fails."""


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


def spearman(a: Any, b: Any) -> float:
    """Spearman rank correlation of two maps of equal size: Pearson correlation of their ranks.

    ``rho = cov(rank a, rank b) / (std(rank a) std(rank b))``; 0 when either map is constant.
    """
    x, y = saliency_map(a).reshape(-1), saliency_map(b).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"maps must have the same size; got {x.size} and {y.size} pixels")
    rx, ry = rankdata(x), rankdata(y)
    rx -= rx.mean()
    ry -= ry.mean()
    den = float(np.sqrt((rx**2).sum() * (ry**2).sum()))
    if den == 0:
        return 0.0
    return float((rx * ry).sum() / den)


@dataclass(frozen=True)
class RandomisationResult:
    """Per stage: ``randomised`` (how many layers, from the top), ``deepest`` (the lowest layer
    randomised so far) and ``correlations`` (Spearman with the trained model's map)."""

    mode: str
    randomised: list[int]
    deepest: list[str]
    correlations: list[float]
    target: int


def randomisation_check(
    model: nn.Module,
    x: torch.Tensor,
    method: str | Callable[..., Any],
    target: int | None = None,
    mode: str = "cascading",
    stages: int = 4,
    seed: int = 0,
    progress: bool = True,
    params: dict[str, Any] | None = None,
) -> RandomisationResult:
    """Spearman correlation between the trained model's map and maps after randomisation.

    Args:
        model: the trained model (left untouched; randomisation happens on deep copies).
        x: one normalised image ``(1, 3, H, W)``.
        method: a registry name for :func:`xai_tutor.explain`, or a callable
            ``f(model, x, target) -> Explanation | saliency (1, H, W)``.
        target: class to explain; ``None``: the trained model's top class.
        mode: ``"cascading"`` (from the top, ``stages`` steps) or ``"full"`` (all at once).
        stages: number of cascading steps (clipped to the number of layers).
        seed: seed of the re-initialisation.
        progress: show a progress bar over the stages.
        params: keyword arguments for the method, e.g. ``{"progress": False}``.
    """
    x = check_images(x)
    if x.shape[0] != 1:
        raise ValueError(f"pass one image (1, C, H, W); got a batch of {x.shape[0]}")
    if mode not in ("cascading", "full"):
        raise ValueError(f"mode must be 'cascading' or 'full'; got {mode!r}")
    layers = parameterised_layers(model)
    if not layers:
        raise ValueError("the model has no layer with parameters to randomise")
    if mode == "full":
        cuts = [len(layers)]
    else:
        if not isinstance(stages, int) or stages < 1:
            raise ValueError(f"stages must be a positive int; got {stages!r}")
        k = min(stages, len(layers))
        cuts = sorted({int(np.ceil(len(layers) * (j + 1) / k)) for j in range(k)})
    fn = explainer(method, params)
    if target is None:
        with torch.no_grad():
            training = model.training
            model.eval()
            try:
                target = int(model(x).argmax(dim=1)[0])
            finally:
                model.train(training)
    reference = fn(model, x, target)
    randomised, deepest, corrs = [], [], []
    for cut in progress_bar(cuts, progress, "randomisation"):
        clone = randomised_copy(model, cut, seed)
        corrs.append(spearman(reference, fn(clone, x, target)))
        randomised.append(cut)
        deepest.append(layers[len(layers) - cut])
    return RandomisationResult(mode, randomised, deepest, corrs, int(target))


def _largest_correlation(name: str, result: Any) -> float:
    if isinstance(result, RandomisationResult):
        values = result.correlations
    elif isinstance(result, (int, float, np.floating, np.integer)):
        values = [float(result)]
    else:
        try:
            values = [float(v) for v in result]
        except (TypeError, ValueError):
            raise TypeError(
                f"result for {name!r} must be a RandomisationResult, a correlation or a list of "
                f"correlations per stage; got {type(result).__name__}"
            ) from None
    if not values:
        raise ValueError(f"result for {name!r} has no correlation")
    finite = [abs(v) for v in values if np.isfinite(v)]
    return max(finite) if finite else float("nan")


def randomisation_failures(
    results: Mapping[str, Any], threshold: float = RANDOMISATION_THRESHOLD
) -> list[str]:
    """Methods whose map survives randomisation: ``max over stages |rho| >= threshold``.

    Args:
        results: ``{method: RandomisationResult}`` (all its stages), or ``{method: correlation}``,
            or ``{method: [correlation per stage]}``. NaN correlations (not measured) are ignored.
        threshold: the failure threshold on the absolute Spearman correlation, in ``(0, 1]``.

    Returns:
        the failing methods, in the order of ``results``.

    Example::

        >>> randomisation_failures({"gradcam": 0.06, "guided_backprop": [0.94, 0.36],
        ...                         "lrp": [0.1, -0.6], "cam": [0.2, 0.3]})
        ['guided_backprop', 'lrp']
    """
    if not 0.0 < float(threshold) <= 1.0:
        raise ValueError(f"threshold must lie in (0, 1]; got {threshold}")
    if not isinstance(results, Mapping):
        raise TypeError(
            f"results must be a {{method: result}} mapping; got {type(results).__name__}")
    out = []
    for name, result in results.items():
        rho = _largest_correlation(name, result)
        if np.isfinite(rho) and rho >= threshold:
            out.append(name)
    return out


def randomisation_failures_by_model(
    rows: Iterable[Mapping[str, Any]], threshold: float = RANDOMISATION_THRESHOLD,
    column: str = "spearman",
) -> dict[str, list[str]]:
    """:func:`randomisation_failures` per model, from rows such as the experiment's ``sanity.csv``.

    Each row has ``"model"``, ``"method"`` and ``column`` (a correlation; several rows of one
    model and method, e.g. one per stage, count as its stages). Returns
    ``{model: [failing methods]}`` with every model present (possibly ``[]``).
    """
    grouped: dict[str, dict[str, list[float]]] = {}
    for r in rows:
        grouped.setdefault(str(r["model"]), {}).setdefault(str(r["method"]), []).append(
            float(r[column]))
    return {model: randomisation_failures(vals, threshold) for model, vals in grouped.items()}
