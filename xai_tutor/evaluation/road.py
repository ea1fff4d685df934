"""ROAD: remove and debias (Rong et al., "A consistent and efficient evaluation strategy for
attribution methods", ICML 2022).

Deletion curves (:mod:`.deletion`) replace pixels by grey. Rong et al. show that the *shape* of
the removed region then leaks the class: a model can recognise a bird from the grey silhouette
of its pixels, so a map is rewarded or punished for the outline it draws rather than for the
evidence it finds. ROAD removes pixels by **noisy linear imputation**, which leaves no such
outline, and measures the model on the imputed image.

**Noisy linear imputation.** Let ``R`` be the removed pixels. Every removed pixel takes the
weighted mean of its 8 neighbours, weight ``1/6`` for the 4 direct and ``1/12`` for the 4
diagonal ones (neighbours outside the image are left out and the weights of the rest
renormalised), whether those neighbours are kept or removed themselves:

    ``w_i x_i - sum_{j in N(i) ∩ R} w_ij x_j = sum_{j in N(i) \\ R} w_ij x_j``,
    ``w_i = sum_{j in N(i)} w_ij``,   for every ``i in R``,

a sparse linear system with one unknown per removed pixel, solved per channel (scipy's sparse
LU). Then Gaussian noise of standard deviation ``noise`` (default 0.01, in the units of the
model's normalised input) is added to the imputed values, from a seeded generator. Kept pixels
are not changed. The system is singular only when every pixel is removed, which is refused.

**The curves.** For each share ``p`` in ``percentages`` (default 10 %, 20 %, ..., 90 %), the
``k = floor(p n / 100)`` pixels of an ``n``-pixel map are removed, either the **most relevant
first** (MoRF: the highest saliency; ties in row-major order) or the **least relevant first**
(LeRF: the lowest; ties in row-major order), and the imputed image is sent through the model.
Each point is ``softmax(model(x_p))[target]``; the score is the mean over the percentages:

* ``road_morf``: a faithful map removes the evidence first, so the probability falls fast:
  **lower is better**;
* ``road_lerf``: a faithful map removes the irrelevant pixels first, so the probability stays:
  **higher is better**.

Rong et al. report the accuracy over a test set at each share; on one image the probability of
the explained class is the graded version of that, and :attr:`ROADCurve.hits` keeps the
accuracy's ``argmax == target``. Quantus 0.6 (``ROAD``) computes the MoRF hits only, with the
same imputation, and draws its noise from NumPy's global generator.

Example::

    >>> import torch, xai_tutor
    >>> from xai_tutor.evaluation import road
    >>> model = xai_tutor.load_model("tiny_vgg")
    >>> x = torch.randn(1, 3, 64, 64)
    >>> e = xai_tutor.explain(model, x, "gradcam")
    >>> morf, lerf = road(model, x, e.saliency[0], percentages=(20, 60), progress=False)
    >>> 0.0 <= morf.score <= 1.0 and 0.0 <= lerf.score <= 1.0
    True
"""

from __future__ import annotations

from collections.abc import Sequence
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

__all__ = ["ROADCurve", "NEIGHBOURS", "noisy_linear_imputation", "road_curve", "road"]

#: (row offset, column offset, weight) of the 8 neighbours in the imputation
NEIGHBOURS: tuple[tuple[int, int, float], ...] = (
    (-1, 0, 1 / 6), (1, 0, 1 / 6), (0, -1, 1 / 6), (0, 1, 1 / 6),
    (-1, -1, 1 / 12), (-1, 1, 1 / 12), (1, -1, 1 / 12), (1, 1, 1 / 12),
)
DEFAULT_PERCENTAGES = (10, 20, 30, 40, 50, 60, 70, 80, 90)


@dataclass(frozen=True)
class ROADCurve:
    """One ROAD curve: ``percentages``, the target's probability ``probs`` and ``hits``
    (``argmax == target``) at each, their mean ``score``, the ``order`` and the ``target``."""

    order: str
    percentages: np.ndarray
    probs: np.ndarray
    hits: np.ndarray
    score: float
    target: int


def _system(removed: np.ndarray) -> tuple[Any, np.ndarray, list[tuple[np.ndarray, np.ndarray,
                                                                       float]]]:
    """The sparse matrix of the imputation for the ``removed`` pixels ``(H, W)``, the flat
    indices of the unknowns, and per neighbour offset the (unknown row, kept flat index, weight)
    pairs that make the right-hand side."""
    from scipy import sparse

    h, w = removed.shape
    flat = removed.reshape(-1)
    unknown = np.flatnonzero(flat)
    var = np.full(h * w, -1)
    var[unknown] = np.arange(unknown.size)
    rows, cols = np.divmod(unknown, w)
    diag = np.zeros(unknown.size)
    a_rows, a_cols, a_vals, rhs = [], [], [], []
    for dy, dx, weight in NEIGHBOURS:
        r, c = rows + dy, cols + dx
        inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        diag[inside] += weight
        idx = np.flatnonzero(inside)
        j = r[inside] * w + c[inside]
        gone = flat[j]
        a_rows.append(idx[gone])
        a_cols.append(var[j[gone]])
        a_vals.append(np.full(int(gone.sum()), -weight))
        rhs.append((idx[~gone], j[~gone], weight))
    a_rows.append(np.arange(unknown.size))
    a_cols.append(np.arange(unknown.size))
    a_vals.append(diag)
    matrix = sparse.csc_matrix((np.concatenate(a_vals),
                                (np.concatenate(a_rows), np.concatenate(a_cols))),
                               shape=(unknown.size, unknown.size))
    return matrix, unknown, rhs


def noisy_linear_imputation(x: torch.Tensor, removed: Any, noise: float = 0.01,
                            seed: int | np.random.Generator = 0) -> torch.Tensor:
    """``x`` ``(C, H, W)`` or ``(1, C, H, W)`` with the ``removed`` pixels ``(H, W)`` (bool)
    replaced by the noisy linear imputation of the module docstring; same shape and dtype.

    ``seed``: an int or a ``numpy.random.Generator`` for the noise (``noise=0``: none).
    """
    from scipy.sparse.linalg import splu

    batched = x.dim() == 4
    if batched and x.shape[0] != 1:
        raise ValueError(f"pass one image (1, C, H, W); got a batch of {x.shape[0]}")
    img = x[0] if batched else x
    if img.dim() != 3:
        raise ValueError(f"x must be (C, H, W) or (1, C, H, W); got {tuple(x.shape)}")
    removed = np.asarray(removed.cpu() if isinstance(removed, torch.Tensor) else removed)
    if removed.shape != tuple(img.shape[1:]) or removed.dtype != bool:
        raise ValueError(f"removed must be a bool array {tuple(img.shape[1:])} (the image's "
                         f"height and width); got {removed.dtype} {removed.shape}")
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0; got {noise}")
    if removed.all():
        raise ValueError("every pixel is removed: the imputation needs at least one kept pixel")
    if not removed.any():
        return x.clone()
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    values = img.detach().cpu().to(torch.float64).reshape(img.shape[0], -1).numpy()
    matrix, unknown, rhs = _system(removed)
    b = np.zeros((unknown.size, values.shape[0]))
    for var_rows, kept, weight in rhs:
        np.add.at(b, var_rows, weight * values[:, kept].T)
    solved = splu(matrix).solve(b)
    if noise:
        solved = solved + noise * rng.standard_normal(solved.shape)
    out = values.copy()
    out[:, unknown] = solved.T
    result = torch.from_numpy(out).reshape(img.shape).to(device=x.device, dtype=x.dtype)
    return result[None] if batched else result


def road_curve(model: nn.Module, x: torch.Tensor, saliency: Any, target: Any = None,
               order: str = "morf", percentages: Sequence[float] = DEFAULT_PERCENTAGES,
               noise: float = 0.01, seed: int = 0, batch_size: int = 16,
               progress: bool = True) -> ROADCurve:
    """The ROAD curve of ``saliency`` for image ``x (1, 3, H, W)`` (module docstring).

    ``order``: ``"morf"`` (most relevant removed first) or ``"lerf"`` (least relevant first);
    ``percentages``: shares in ``(0, 100)``; ``seed``: the noise's seed (the same for every
    share). A map of another size is resized bilinearly to the image first.
    """
    x = check_images(x)
    if x.shape[0] != 1:
        raise ValueError(f"pass one image (1, C, H, W); got a batch of {x.shape[0]}")
    if order not in ("morf", "lerf"):
        raise ValueError(f"order must be 'morf' or 'lerf'; got {order!r}")
    shares = np.asarray([float(p) for p in percentages], dtype=np.float64)
    if shares.size == 0 or not ((shares > 0) & (shares < 100)).all():
        raise ValueError(f"percentages must be one or more shares in (0, 100); got "
                         f"{list(percentages)!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    h, w = x.shape[-2:]
    s = torch.from_numpy(saliency_map(saliency))
    if tuple(s.shape) != (h, w):
        s = F.interpolate(s[None, None], size=(h, w), mode="bilinear", align_corners=False)[0, 0]
    key = -s.reshape(-1) if order == "morf" else s.reshape(-1)
    ranked = torch.argsort(key, stable=True).numpy()
    n = h * w
    rng = np.random.default_rng(seed)
    images = []
    for p in progress_bar(shares, progress, f"ROAD {order}"):
        removed = np.zeros(n, dtype=bool)
        removed[ranked[: int(np.floor(p * n / 100))]] = True
        images.append(noisy_linear_imputation(x, removed.reshape(h, w), noise, rng))
    probs, hits = [], []
    with model_guard(model), torch.no_grad():
        tgt = int(resolve_target(model(x), target)[0])
        for b0 in range(0, len(images), batch_size):
            logits = model(torch.cat(images[b0 : b0 + batch_size])).double()
            probs += torch.softmax(logits, dim=1)[:, tgt].tolist()
            hits += (logits.argmax(dim=1) == tgt).tolist()
    pr = np.array(probs)
    return ROADCurve(order, shares, pr, np.array(hits, dtype=bool), float(pr.mean()), tgt)


def road(model: nn.Module, x: torch.Tensor, saliency: Any, target: Any = None,
         percentages: Sequence[float] = DEFAULT_PERCENTAGES, noise: float = 0.01,
         seed: int = 0, batch_size: int = 16,
         progress: bool = True) -> tuple[ROADCurve, ROADCurve]:
    """Both ROAD curves, ``(MoRF, LeRF)``, with the same noise seed."""
    return tuple(road_curve(model, x, saliency, target, order, percentages, noise, seed,
                            batch_size, progress) for order in ("morf", "lerf"))


def _road_score(s: Subject, order: str) -> float:
    """The registry's ROAD score; option ``scale`` (in ``(0, 1]``) runs it on the image and map
    resized by that factor (the experiment's way to keep the sparse solves short)."""
    kw = {"progress": False, **s.kwargs("road")}
    scale = float(kw.pop("scale", 1.0))
    x = s.x
    if scale != 1.0:
        if not 0 < scale <= 1:
            raise ValueError(f"road scale must be in (0, 1]; got {scale}")
        size = tuple(max(int(round(v * scale)), 8) for v in x.shape[-2:])
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
    return road_curve(s.model, x, s.saliency, s.target, order, **kw).score


@register_metric("road_morf", title="ROAD MoRF", family="faithfulness", higher_is_better=False,
                 needs=("model",), reference="Rong et al. 2022 (ICML)")
def _score_road_morf(s: Subject) -> float:
    return _road_score(s, "morf")


@register_metric("road_lerf", title="ROAD LeRF", family="faithfulness", higher_is_better=True,
                 needs=("model",), reference="Rong et al. 2022 (ICML)")
def _score_road_lerf(s: Subject) -> float:
    return _road_score(s, "lerf")
