"""Max- and Avg-Sensitivity (Yeh et al., "On the (in)fidelity and sensitivity of explanations",
NeurIPS 2019): how much a map changes when the input changes a little.

For an image ``x``, the map ``Φ(x)`` of the explained class, and ``samples`` perturbations
``δ_1 .. δ_N`` drawn uniformly from the ``L∞`` ball of radius ``r`` (every input value moved by
at most ``r``, in the units of the model's normalised input; a seeded generator), the relative
change of the map is

    ``d_i = ||Φ(x + δ_i) - Φ(x)||_2 / ||Φ(x)||_2``   (Frobenius norms over the pixels),

and

* **Max-Sensitivity** ``= max_i d_i``, Yeh et al.'s ``SENS_max`` estimated by sampling the ball,
* **Avg-Sensitivity** ``= mean_i d_i``, its average.

Lower is better: a robust map does not swing with changes too small to matter. The explained
class stays the same for every sample (the caller's ``target``, by default the top class on
``x``). Yeh et al. define the absolute norm; dividing by ``||Φ(x)||`` (Quantus's default)
makes maps of different scales comparable. Conventions: a zero reference map has no relative
change: NaN. An image-blind map is perfectly robust (``d_i = 0``), which is why the experiment
reads these next to its baselines. Quantus 0.6 (``MaxSensitivity``, ``AvgSensitivity``) gives
the same with ``norm_numerator = norm_denominator = fro_norm``, ``lower_bound = r`` and the same
perturbations; by default it draws them from NumPy's global generator.

Example::

    >>> import torch, xai_tutor
    >>> model = xai_tutor.load_model("tiny_vgg")
    >>> r = sensitivity(model, torch.randn(1, 3, 64, 64), "gradcam", samples=3)
    >>> len(r.values), r.max >= r.mean >= 0
    (3, True)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..hooks import model_guard
from ..methods.inputs import check_images
from ..methods.targets import resolve_target
from ._checks import saliency_map
from .explainers import Explainer, explainer
from .registry import Subject, register_metric

__all__ = ["Sensitivity", "perturbations", "sensitivity"]


@dataclass(frozen=True)
class Sensitivity:
    """The relative changes ``values`` (one per perturbation), their ``max`` and ``mean``."""

    values: np.ndarray
    max: float
    mean: float
    target: int


def perturbations(x: torch.Tensor, radius: float, samples: int, seed: int = 0
                  ) -> list[torch.Tensor]:
    """``samples`` copies of ``x`` moved by ``δ ~ U[-radius, radius]`` per value (float64
    draws from ``numpy.random.default_rng(seed)``, in order), cast to ``x``'s dtype."""
    rng = np.random.default_rng(seed)
    return [x + torch.from_numpy(rng.uniform(-radius, radius, size=tuple(x.shape))).to(x)
            for _ in range(samples)]


def sensitivity(model: nn.Module, x: torch.Tensor, method: str | Callable[..., Any],
                target: int | None = None, radius: float = 0.2, samples: int = 10,
                seed: int = 0, params: Mapping[str, Any] | None = None,
                reference: Any = None) -> Sensitivity:
    """Max- and Avg-Sensitivity of ``method``'s map for image ``x (1, 3, H, W)``.

    Args:
        method: a registry name, or a callable ``f(model, x, target)`` returning an
            Explanation or a map (see :func:`~xai_tutor.evaluation.explainer`).
        target: the explained class (``None``: the top class on ``x``).
        radius: ``r``, the half-width of the uniform noise (normalised input units).
        samples: ``N``, the number of perturbations.
        seed: the perturbations' seed.
        params: keyword arguments for the method.
        reference: ``Φ(x)`` if already computed (saves one call).
    """
    x = check_images(x)
    if x.shape[0] != 1:
        raise ValueError(f"pass one image (1, C, H, W); got a batch of {x.shape[0]}")
    if not radius > 0:
        raise ValueError(f"radius must be > 0; got {radius}")
    if not isinstance(samples, int) or isinstance(samples, bool) or samples < 1:
        raise ValueError(f"samples must be a positive int; got {samples!r}")
    f: Explainer = explainer(method, params)
    if target is None:
        with model_guard(model), torch.no_grad():
            target = int(resolve_target(model(x), None)[0])
    base = f(model, x, target) if reference is None else saliency_map(reference)
    norm = float(np.linalg.norm(base))
    values = np.array([float(np.linalg.norm(f(model, xp, target) - base)) / norm if norm > 0
                       else float("nan") for xp in perturbations(x, radius, samples, seed)])
    return Sensitivity(values, float(values.max()), float(values.mean()), int(target))


def _subject_sensitivity(s: Subject) -> Sensitivity:
    """One set of perturbed maps for both registry entries (kept on the subject)."""
    kw = s.kwargs("sensitivity")
    key = ("sensitivity", tuple(sorted(kw.items())))
    if key not in s.cache:
        s.cache[key] = sensitivity(s.model, s.x, s.explainer, s.target, reference=s.saliency,
                                   **kw)
    return s.cache[key]


@register_metric("max_sensitivity", title="max-sensitivity", family="robustness",
                 higher_is_better=False, needs=("model", "explainer"),
                 reference="Yeh et al. 2019 (NeurIPS)")
def _score_max_sensitivity(s: Subject) -> float:
    return _subject_sensitivity(s).max


@register_metric("avg_sensitivity", title="avg-sensitivity", family="robustness",
                 higher_is_better=False, needs=("model", "explainer"),
                 reference="Yeh et al. 2019 (NeurIPS)")
def _score_avg_sensitivity(s: Subject) -> float:
    return _subject_sensitivity(s).mean
