"""Efficient MPRT (Hedström et al., "Sanity checks revisited: an exploration to repair the model
parameter randomisation test", XAI in Action, NeurIPS workshop 2023).

The model parameter randomisation test (Adebayo et al. 2018, :mod:`.randomisation`) compares the
map of the trained model with the map of a randomised one by a similarity measure, which Hedström
et al. show to be biased (pre-processing and the choice of similarity decide the outcome). The
efficient variant asks instead how much *more complex* the map becomes once every learned weight
is destroyed: a map that shows what the model learned should turn into noise. With ``e`` the map
of the trained model, ``ê`` the map of the same image and class from the fully randomised model
(:func:`~xai_tutor.evaluation.randomised_copy`: every parameterised layer re-initialised) and
``H`` the discrete entropy of a map's histogram (:func:`~xai_tutor.evaluation.discrete_entropy`,
100 equal-width bins),

    ``eMPRT = H(ê) / H(e)``.

**Higher is better**: above 1 the map became more complex after randomisation; 1 means no
change (an image-blind map scores exactly 1); below 1 the randomised model's map is *simpler*.
Conventions: a constant trained map (``H(e) = 0``) has no ratio: NaN. The explained class is the
trained model's (``target`` or its top class). Quantus 0.6 (``EfficientMPRT``) reports
``(H(ê) - H(e)) / H(e)``, i.e. this ratio minus 1, and re-seeds every layer with the same seed;
the tests pass it the same randomised model.

Example::

    >>> import torch, xai_tutor
    >>> model = xai_tutor.load_model("tiny_vgg")
    >>> r = efficient_mprt(model, torch.randn(1, 3, 64, 64), "gradcam")
    >>> r.ratio == r.randomised_entropy / r.entropy
    True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..hooks import model_guard
from ..methods.inputs import check_images
from ..methods.targets import resolve_target
from ._checks import saliency_map
from .complexity import discrete_entropy
from .explainers import explainer, randomised_copy
from .registry import Subject, register_metric

__all__ = ["MPRTResult", "efficient_mprt"]


@dataclass(frozen=True)
class MPRTResult:
    """``entropy`` H(e), ``randomised_entropy`` H(ê), their ``ratio`` (eMPRT) and ``target``."""

    entropy: float
    randomised_entropy: float
    ratio: float
    target: int


def efficient_mprt(model: nn.Module, x: torch.Tensor, method: str | Callable[..., Any],
                   target: int | None = None, seed: int = 0, bins: int = 100,
                   randomised: nn.Module | None = None, params: Mapping[str, Any] | None = None,
                   reference: Any = None) -> MPRTResult:
    """eMPRT of ``method`` on image ``x (1, 3, H, W)`` (module docstring).

    ``randomised``: the fully randomised model if already made (the experiment makes one per
    model); otherwise ``randomised_copy(model, seed=seed)``. ``reference``: the trained model's
    map if already made.
    """
    x = check_images(x)
    if x.shape[0] != 1:
        raise ValueError(f"pass one image (1, C, H, W); got a batch of {x.shape[0]}")
    if target is None:
        with model_guard(model), torch.no_grad():
            target = int(resolve_target(model(x), None)[0])
    f = explainer(method, params)
    base = f(model, x, target) if reference is None else saliency_map(reference)
    other = randomised if randomised is not None else randomised_copy(model, seed=seed)
    h, h_rand = discrete_entropy(base, bins), discrete_entropy(f(other, x, target), bins)
    return MPRTResult(h, h_rand, h_rand / h if h > 0 else float("nan"), int(target))


@register_metric("emprt", title="eMPRT", family="randomisation", higher_is_better=True,
                 needs=("model", "explainer"), reference="Hedström et al. 2023 (XAI in Action)")
def _score_emprt(s: Subject) -> float:
    return efficient_mprt(s.model, s.x, s.explainer, s.target, randomised=s.randomised,
                          reference=s.saliency, **s.kwargs("emprt")).ratio
