"""Deletion and insertion curves (Petsiuk et al., "RISE", BMVC 2018).

Rank the pixels by saliency, highest first (ties: row-major order, a stable sort). Then

* **deletion**: start from the image and replace the top ``k`` pixels by a *baseline*, for
  ``k = round(j / steps * H W)``, ``j = 0 .. steps``. A faithful map makes the target's probability
  drop fast: **lower AUC is better**. Default baseline ``"zero"``: the value 0 of the normalised
  input, i.e. the ImageNet-mean grey.
* **insertion**: start from the baseline and put the top ``k`` pixels of the image back. A faithful
  map makes the probability rise fast: **higher AUC is better**. Default baseline ``"blur"``: the
  image blurred by a Gaussian (sigma = 5 px, kernel 11 px wide, as in RISE's code), so that inserted
  pixels do not create sharp, out-of-distribution edges.

Each point of the curve is ``p = softmax(model(x_k))[target]``; the AUC is the trapezoid rule over
the deleted/inserted fraction in ``[0, 1]``: ``AUC = sum_j (p_j + p_{j+1}) / 2 / steps``.

All ``steps + 1`` images are built at once and sent through the model in batches of
``batch_size`` under ``torch.no_grad``; the model is left unchanged.

Example::

    >>> import torch, xai_tutor
    >>> from xai_tutor.evaluation import deletion_auc
    >>> model = xai_tutor.load_model("tiny_vgg")
    >>> x = torch.randn(1, 3, 64, 64)
    >>> e = xai_tutor.explain(model, x, "gradcam")
    >>> 0.0 <= deletion_auc(model, x, e.saliency[0], steps=8, progress=False) <= 1.0
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..hooks import model_guard
from ..methods.inputs import check_images
from ..methods.progress import progress as progress_bar
from ..methods.targets import resolve_target
from ._checks import saliency_map
from .registry import Subject, register_metric

__all__ = ["Curve", "gaussian_blur", "deletion_curve", "insertion_curve", "deletion_auc",
           "insertion_auc"]


@dataclass(frozen=True)
class Curve:
    """A deletion or insertion curve: ``fractions (steps+1,)``, ``probs (steps+1,)`` and its AUC."""

    fractions: np.ndarray
    probs: np.ndarray
    auc: float
    target: int


def gaussian_blur(x: torch.Tensor, sigma: float = 5.0, size: int = 11) -> torch.Tensor:
    """Separable Gaussian blur of ``(B, C, H, W)`` with reflect padding (replicate if too small)."""
    half = size // 2
    t = torch.arange(size, dtype=x.dtype, device=x.device) - half
    k = torch.exp(-(t**2) / (2 * sigma**2))
    k = k / k.sum()
    c = x.shape[1]
    mode = "reflect" if min(x.shape[-2:]) > half else "replicate"
    y = F.pad(x, (half, half, 0, 0), mode=mode)
    y = F.conv2d(y, k.view(1, 1, 1, size).expand(c, 1, 1, size), groups=c)
    y = F.pad(y, (0, 0, half, half), mode=mode)
    return F.conv2d(y, k.view(1, 1, size, 1).expand(c, 1, size, 1), groups=c)


def _baseline(x: torch.Tensor, baseline: Any) -> torch.Tensor:
    if isinstance(baseline, torch.Tensor):
        if baseline.shape != x.shape:
            raise ValueError(f"a baseline tensor must have the image's shape {tuple(x.shape)}")
        return baseline.to(x)
    if baseline == "zero":
        return torch.zeros_like(x)
    if baseline == "blur":
        return gaussian_blur(x)
    raise ValueError(
        f"baseline must be 'zero', 'blur' or a tensor like the image; got {baseline!r}"
    )


def _curve(model: nn.Module, x: Any, saliency: Any, target: Any, steps: int, baseline: Any,
           insert: bool, batch_size: int, progress: bool) -> Curve:
    x = check_images(x)
    if x.shape[0] != 1:
        raise ValueError(f"pass one image (1, C, H, W); got a batch of {x.shape[0]}")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int; got {steps!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    h, w = x.shape[-2:]
    s = torch.from_numpy(saliency_map(saliency))
    if tuple(s.shape) != (h, w):
        s = F.interpolate(s[None, None], size=(h, w), mode="bilinear", align_corners=False)[0, 0]
    order = torch.argsort(-s.reshape(-1), stable=True).to(x.device)
    base = _baseline(x, baseline)
    start, end = (base, x) if insert else (x, base)
    n = h * w
    counts = [round(j * n / steps) for j in range(steps + 1)]
    # rank[p] = position of pixel p in the order; pixel p is switched at step j if rank < counts[j]
    rank = torch.empty(n, dtype=torch.long, device=x.device)
    rank[order] = torch.arange(n, device=x.device)
    probs: list[float] = []
    with model_guard(model), torch.no_grad():
        tgt = int(resolve_target(model(x), target)[0])
        batches = range(0, steps + 1, batch_size)
        for b0 in progress_bar(batches, progress, "insertion" if insert else "deletion"):
            ks = torch.tensor(counts[b0 : b0 + batch_size], device=x.device)
            switched = (rank[None, :] < ks[:, None]).view(-1, 1, h, w).to(x.dtype)
            batch = start * (1 - switched) + end * switched
            p = torch.softmax(model(batch).double(), dim=1)[:, tgt]
            probs.extend(p.tolist())
    fractions = np.array(counts, dtype=np.float64) / n
    pr = np.array(probs)
    auc = float(np.sum((pr[1:] + pr[:-1]) / 2 * np.diff(fractions)))
    return Curve(fractions, pr, auc, tgt)


def deletion_curve(model: nn.Module, x: torch.Tensor, saliency: Any, target: Any = None,
                   steps: int = 20, baseline: Any = "zero", batch_size: int = 8,
                   progress: bool = True) -> Curve:
    """The deletion curve of ``saliency`` for image ``x (1, 3, H, W)``; see module docstring."""
    return _curve(model, x, saliency, target, steps, baseline, False, batch_size, progress)


def insertion_curve(model: nn.Module, x: torch.Tensor, saliency: Any, target: Any = None,
                    steps: int = 20, baseline: Any = "blur", batch_size: int = 8,
                    progress: bool = True) -> Curve:
    """The insertion curve of ``saliency`` for image ``x (1, 3, H, W)``; see module docstring."""
    return _curve(model, x, saliency, target, steps, baseline, True, batch_size, progress)


def deletion_auc(model: nn.Module, x: torch.Tensor, saliency: Any, target: Any = None,
                 steps: int = 20, baseline: Any = "zero", batch_size: int = 8,
                 progress: bool = True) -> float:
    """Area under the deletion curve (lower = more faithful). ``target=None``: the top class."""
    return deletion_curve(model, x, saliency, target, steps, baseline, batch_size, progress).auc


def insertion_auc(model: nn.Module, x: torch.Tensor, saliency: Any, target: Any = None,
                  steps: int = 20, baseline: Any = "blur", batch_size: int = 8,
                  progress: bool = True) -> float:
    """Area under the insertion curve (higher = more faithful). ``target=None``: the top class."""
    return insertion_curve(model, x, saliency, target, steps, baseline, batch_size, progress).auc


@register_metric("deletion", title="deletion AUC", family="faithfulness", higher_is_better=False,
                 needs=("model",), reference="Petsiuk et al. 2018 (BMVC, RISE)")
def _score_deletion(s: Subject) -> float:
    kw = {"progress": False, **s.kwargs("deletion")}
    return deletion_auc(s.model, s.x, s.saliency, s.target, **kw)


@register_metric("insertion", title="insertion AUC", family="faithfulness",
                 higher_is_better=True, needs=("model",),
                 reference="Petsiuk et al. 2018 (BMVC, RISE)")
def _score_insertion(s: Subject) -> float:
    kw = {"progress": False, **s.kwargs("insertion")}
    return insertion_auc(s.model, s.x, s.saliency, s.target, **kw)
