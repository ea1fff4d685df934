"""Random Logit (Sixt et al., "When explanations lie: why many modified BP attributions fail",
ICML 2020): does the map change when another class is explained?

An explanation of *why class c* should differ from an explanation of *why class c'*. With
``Φ(x, c)`` the map for the explained class ``c`` and ``c'`` drawn uniformly from the other
classes (a seeded generator: ``numpy.random.default_rng(seed).integers(C - 1)`` indexes the
classes other than ``c`` in increasing order), the score is their structural similarity
(:func:`~xai_tutor.evaluation.ssim`):

    ``random logit = SSIM(Φ(x, c), Φ(x, c'))``.

**Lower is better**: 1 means the map does not depend on the class at all (Sixt et al. found
this for several modified-backprop methods, whose maps converge to a class-independent image
reconstruction); an image-blind map scores 1. Conventions: a model with a single class has no
other class to draw (an error); ``other`` may name ``c'`` explicitly.

Quantus 0.6 (``RandomLogit``) draws ``c'`` with NumPy's global generator and computes SSIM on
the *flattened* maps (a 1-D signal with a 7-sample window), not on the 2-D maps of the paper;
the tests compare with it through a 2-D SSIM and the class Quantus drew.

Example::

    >>> import torch, xai_tutor
    >>> model = xai_tutor.load_model("tiny_vgg")
    >>> r = random_logit(model, torch.randn(1, 3, 64, 64), "gradcam", target=0)
    >>> r.other != 0 and -1.0 <= r.similarity <= 1.0
    True
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
from .explainers import explainer
from .registry import Subject, register_metric
from .similarity import ssim

__all__ = ["RandomLogit", "other_class", "random_logit"]


@dataclass(frozen=True)
class RandomLogit:
    """The explained class ``target``, the ``other`` class drawn, and the maps' ``similarity``."""

    target: int
    other: int
    similarity: float


def other_class(target: int, classes: int, seed: int = 0) -> int:
    """A class other than ``target`` among ``classes``, drawn uniformly with ``seed``."""
    if classes < 2:
        raise ValueError("the model has one class: there is no other class to explain")
    pick = int(np.random.default_rng(seed).integers(classes - 1))
    return pick if pick < target else pick + 1


def random_logit(model: nn.Module, x: torch.Tensor, method: str | Callable[..., Any],
                 target: int | None = None, seed: int = 0, other: int | None = None,
                 params: Mapping[str, Any] | None = None, reference: Any = None
                 ) -> RandomLogit:
    """SSIM between ``method``'s map for ``target`` (default: the top class) and for a random
    other class, on image ``x (1, 3, H, W)``; ``reference``: the target's map if already made."""
    x = check_images(x)
    if x.shape[0] != 1:
        raise ValueError(f"pass one image (1, C, H, W); got a batch of {x.shape[0]}")
    with model_guard(model), torch.no_grad():
        logits = model(x)
    target = int(resolve_target(logits, target)[0])
    classes = int(logits.shape[1])
    other = other_class(target, classes, seed) if other is None else int(
        resolve_target(logits, other)[0])
    if other == target:
        raise ValueError(f"other must differ from the explained class {target}")
    f = explainer(method, params)
    base = f(model, x, target) if reference is None else saliency_map(reference)
    return RandomLogit(target, other, ssim(base, f(model, x, other)))


@register_metric("random_logit", title="random logit (SSIM)", family="randomisation",
                 higher_is_better=False, needs=("model", "explainer"),
                 reference="Sixt et al. 2020 (ICML)")
def _score_random_logit(s: Subject) -> float:
    return random_logit(s.model, s.x, s.explainer, s.target, reference=s.saliency,
                        **s.kwargs("random_logit")).similarity
