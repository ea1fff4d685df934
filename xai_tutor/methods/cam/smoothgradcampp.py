"""Smooth Grad-CAM++ (Omeiza et al. 2019, "Smooth Grad-CAM++: An Enhanced Inference Level
Visualization Technique for Deep Convolutional Neural Network Models", arXiv:1908.01224).

Grad-CAM++ with the gradient replaced by its SmoothGrad average over ``n`` noisy copies::

    g_bar = 1/n sum_i dy/dA (x + eps_i),     eps_i ~ N(0, (sigma (max x - min x))^2)
    alpha = g_bar^2 / (2 g_bar^2 + sum_ab A g_bar^3)     (alpha = 0 where g_bar = 0)
    w_k   = sum_ab alpha ReLU(g_bar)
    L     = ReLU( sum_k w_k A_k )                         A = activations of the CLEAN image

Only first-order gradients are averaged; their powers are taken afterwards, as in the paper.
The noise is drawn as :func:`xai_tutor.methods.smoothgrad.smoothgrad` draws it: image by image,
one copy at a time, from a generator seeded with ``seed``, so the result does not depend on
``batch_size``, and ``sigma`` is a fraction of the image's value range.

Differences from torchcam's ``SmoothGradCAMpp``: it averages ``g^2`` and ``g^3`` instead of
``g``, and takes ``ReLU(g)`` and the final activations from the *last noisy* pass.

Example::

    >>> e = xai_tutor.explain(net, x, "smoothgradcampp", n=16, sigma=0.15, seed=0)
"""

from __future__ import annotations

import torch
from torch import nn

from ...explanation import Explanation
from ..base import progress as progress_bar
from ..base import register
from ..params import batch_param, samples_param, seed_param, sigma_param, variant_param
from ..smoothgrad import draw_noise, noise_scale
from .base import (
    Target,
    cam_explanation,
    check_choice,
    check_positive_int,
    layer_pass,
    model_guard,
    weighted_map,
)
from .gradcampp import VARIANTS, gradcampp_weights

__all__ = ["smoothgradcampp"]


@register(
    "smoothgradcampp",
    "cam",
    "Smooth Grad-CAM++ (Omeiza et al. 2019): Grad-CAM++ on gradients averaged over noisy copies",
    expensive=True,
    params=(
        samples_param("noisy copies per image"),
        sigma_param(),
        batch_param("noisy copies per forward/backward pass"),
        seed_param(),
        variant_param(VARIANTS, "Grad-CAM++ division: as in the paper or grad-cam's (+1e-6)",
                      explorer=False),
    ),
    progress=True,
    cost="n passes",
)
def smoothgradcampp(
    model: nn.Module,
    images: torch.Tensor,
    target: Target = None,
    layer: str | nn.Module | None = None,
    n: int = 25,
    sigma: float = 0.15,
    batch_size: int = 8,
    seed: int | None = 0,
    variant: str = "paper",
    progress: bool = True,
) -> Explanation:
    """Smooth Grad-CAM++ of ``images`` for ``target`` at ``layer``.

    Args:
        n: noisy copies per image.
        sigma: noise standard deviation as a fraction of each image's range ``max - min``.
        batch_size: noisy copies per forward/backward pass.
        seed: seed of the noise generator; ``None`` uses torch's global generator.
        variant: Grad-CAM++ division, ``"paper"`` or ``"grad-cam"`` (``+1e-6``).
        progress: show a progress bar over the noisy batches.
    """
    check_positive_int("n", n)
    check_positive_int("batch_size", batch_size)
    check_choice("variant", variant, VARIANTS)
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not sigma >= 0:
        raise ValueError(
            f"sigma must be a number >= 0 (a fraction of the image range); got {sigma!r}"
        )
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"seed must be an int or None; got {seed!r}")
    with model_guard(model):
        clean = layer_pass(model, images, target, layer, gradients=False)
        x = clean.images
        generator = None
        if seed is not None:
            generator = torch.Generator(device=x.device).manual_seed(seed)
        scale = noise_scale(x, sigma)
        jobs = [b for b in range(x.shape[0]) for _ in range(n)]
        chunks = [jobs[i : i + batch_size] for i in range(0, len(jobs), batch_size)]
        grad_sum = torch.zeros_like(clean.activation)
        for chunk in progress_bar(chunks, progress, "Smooth Grad-CAM++", len(chunks)):
            idx = torch.tensor(chunk, device=x.device)
            noise = torch.stack([draw_noise(tuple(x.shape[1:]), generator, x) for _ in chunk])
            noisy = layer_pass(model, x[idx] + scale[idx] * noise, clean.target[idx],
                               clean.layer, gradients=True)
            grad_sum.index_add_(0, idx, noisy.gradients)
        mean_grad = grad_sum / n
        weights = gradcampp_weights(clean.activation, mean_grad, variant)
        maps = weighted_map(weights, clean.activation)
    params = {"n": n, "sigma": sigma, "batch_size": batch_size, "seed": seed, "variant": variant}
    return cam_explanation("smoothgradcampp", maps, clean, params)
