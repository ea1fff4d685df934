"""Smooth Grad-CAM++ (Omeiza et al. 2019, "Smooth Grad-CAM++: An Enhanced Inference Level
Visualization Technique for Deep Convolutional Neural Network Models", arXiv:1908.01224).

Grad-CAM++ with its derivatives replaced by SmoothGrad averages over ``n`` noisy copies
``x + eps_m``, ``eps_m ~ N(0, (sigma (max x - min x))^2)``. Writing ``D_p`` for the p-th
derivative of the class score with respect to ``A_k(i, j)`` at copy ``m`` (for a piecewise-linear
network with exponential score, ``D_1 = g``, ``D_2 = g^2``, ``D_3 = g^3`` up to the common factor
``exp(y)``, Grad-CAM++'s Eq. 17-18), the paper's Section 3 averages **each order** over the copies::

    alpha_k(i, j) = (1/n sum_m D_2) / (2 (1/n sum_m D_2) + sum_ab A_k(a, b) (1/n sum_m D_3))
    w_k           = sum_ij alpha_k(i, j) ReLU(1/n sum_m D_1)
    L             = ReLU( sum_k w_k A_k )         A = activations of the CLEAN image

This is ``average="derivatives"`` (the default): ``mean(g^2)``, ``mean(g^3)`` and
``ReLU(mean(g))``. The numerator printed in the paper reads ``1/n sum_m D_1``; we follow
torchcam's reading that it is a misprint for ``D_2``: with ``D_1`` the formula would not reduce to
Grad-CAM++'s Eq. 19 for ``n = 1`` (and its two terms would not have the same order).
``average="gradient"`` (xai-tutor's default before 2026-11) averages the first-order gradient
and takes its powers afterwards: ``g_bar = mean(g)``, ``alpha = g_bar^2 / (2 g_bar^2 + sum A
g_bar^3)``, ``w = sum alpha ReLU(g_bar)``. Both coincide for ``n = 1`` or ``sigma = 0``.

``variant`` is Grad-CAM++'s (``"paper"``, ``"grad-cam"``, ``"authors"``, see ``gradcampp.py``).
The noise is drawn as :func:`xai_tutor.methods.smoothgrad.smoothgrad` draws it: image by image,
one copy at a time, on the CPU from a generator seeded with ``seed``, then moved to the model's
device, so the result depends neither on ``batch_size`` nor on the device's generator.

Differences from torchcam's ``SmoothGradCAMpp`` (0.5; both pinned in
``tests/methods/test_cam_peers.py``): its averages of ``g^2`` and ``g^3`` are ours, but

* its denominator is ``2 mean(g^2)(i, j) + sum_ab A_k(a, b) mean(g^3)(a, b)`` (+ 1e-8): one
  number per channel, the sum of ``A g^3`` over the positions, where the paper (Grad-CAM++'s
  Eq. 19, averaged) has ``(sum_ab A_k(a, b)) mean(g^3)(i, j)``, which varies with the position;
* it takes ``ReLU(g)`` and the activations from the *last noisy* pass, not ``ReLU(mean g)`` and
  the clean image.

Example::

    >>> import torch, torchvision, xai_tutor
    >>> net = torchvision.models.resnet18(weights=None).eval()
    >>> x = torch.rand(1, 3, 64, 64)
    >>> e = xai_tutor.explain(net, x, "smoothgradcampp", n=16, sigma=0.15, seed=0)
"""

from __future__ import annotations

import torch
from torch import nn

from ...explanation import Explanation
from ..declarations import Param, batch_param, samples_param, seed_param, sigma_param, variant_param
from ..progress import progress as progress_bar
from ..registry import register
from ..smoothgrad import draw_noise, noise_generator, noise_scale
from .base import (
    Target,
    cam_explanation,
    layer_pass,
    model_guard,
    weighted_map,
)
from .gradcampp import VARIANTS, derivative_weights

__all__ = ["smoothgradcampp"]

AVERAGES = ("derivatives", "gradient")


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
        variant_param(VARIANTS, "Grad-CAM++'s variant: the paper, grad-cam's +1e-6 or the "
                      "authors' per-channel normalisation",
                      explorer=False),
        Param("average", "choice", choices=AVERAGES, explorer=True,
              doc="what is averaged over the noisy copies: each derivative order (the paper's "
                  "Section 3) or the gradient, then raised to powers"),
    ),
    progress=True,
    cost="n passes",
    title="Smooth Grad-CAM++",
    notebook="08_smoothgrad",
    position=2,
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
    average: str = "derivatives",
    progress: bool = True,
) -> Explanation:
    """Smooth Grad-CAM++ of ``images`` for ``target`` at ``layer``.

    Args:
        n: noisy copies per image.
        sigma: noise standard deviation as a fraction of each image's range ``max - min``.
        batch_size: noisy copies per forward/backward pass.
        seed: seed of the CPU noise generator (same noise on every device); ``None`` uses
            torch's global CPU generator. On CUDA, TF32 changes the maps by ~1e-2; see
            :mod:`xai_tutor.methods.smoothgrad` for how to turn it off.
        variant: Grad-CAM++'s variant, ``"paper"``, ``"grad-cam"`` (``+1e-6``) or
            ``"authors"`` (alphas normalised per channel).
        average: ``"derivatives"`` (the paper: mean of ``g``, ``g^2``, ``g^3`` over the copies)
            or ``"gradient"`` (powers of the mean gradient).
        progress: show a progress bar over the noisy batches.
    """
    with model_guard(model):
        clean = layer_pass(model, images, target, layer, gradients=False)
        x = clean.images
        generator = noise_generator(seed)
        scale = noise_scale(x, sigma)
        jobs = [b for b in range(x.shape[0]) for _ in range(n)]
        chunks = [jobs[i : i + batch_size] for i in range(0, len(jobs), batch_size)]
        sums = [torch.zeros_like(clean.activation) for _ in range(3)]  # g, g^2, g^3
        for chunk in progress_bar(chunks, progress, "Smooth Grad-CAM++", len(chunks)):
            idx = torch.tensor(chunk, device=x.device)
            noise = torch.stack([draw_noise(tuple(x.shape[1:]), generator, x) for _ in chunk])
            noisy = layer_pass(model, x[idx] + scale[idx] * noise, clean.target[idx],
                               clean.layer, gradients=True)
            g = noisy.gradients
            sums[0].index_add_(0, idx, g)
            if average == "derivatives":
                sums[1].index_add_(0, idx, g * g)
                sums[2].index_add_(0, idx, g * g * g)
        mean_g = sums[0] / n
        if average == "derivatives":
            second, third = sums[1] / n, sums[2] / n
        else:
            second = mean_g * mean_g
            third = second * mean_g
        weights = derivative_weights(clean.activation, second, third, torch.relu(mean_g), variant)
        maps = weighted_map(weights, clean.activation)
    params = {"n": n, "sigma": sigma, "batch_size": batch_size, "seed": seed, "variant": variant,
              "average": average}
    return cam_explanation("smoothgradcampp", maps, clean, params)
