"""Score-CAM (Wang et al. 2020, "Score-CAM: Score-Weighted Visual Explanations for
Convolutional Neural Networks", CVPR workshops).

Gradient-free: every channel, upsampled to the input size and scaled to ``[0, 1]``, is used as a
mask on the image, and the network's confidence in the class on the masked image is the
channel's weight::

    M_k = normalise( upsample(A_k) )                     min-max per channel
    w_k = softmax( f(x * M_k) )[c]                       class probability (variant "paper")
    L   = ReLU( sum_k w_k A_k )

``variant="paper"`` follows the authors' code: the softmax is over the classes, and channels
that are constant (their mask carries no location) are skipped (``w_k = 0``, no forward pass).
``variant="channel_softmax"`` follows pytorch-grad-cam: ``w = softmax_k( f(x * M_k)[c] )``, a
softmax of the target logits over the channels, with masks upsampled with
``align_corners=True``; constant channels give an all-zero mask and still take part (their
masked image is the same all-zero image, so it is run once per image and its score shared). Both
need one forward pass per (varying) channel, run in batches of ``batch_size``.

Speed: the forwards are the whole cost. On a CPU, small batches of masked images in channels-last
memory layout run fastest (2 threads, 224 x 224: ResNet50 29 ms per image at batch 8 against
62 ms at batch 32 in the default layout; VGG16 81 against 126 ms), hence ``batch_size=8`` and
channels-last batches; the layout changes no value beyond float rounding. On a GPU, pass a
larger ``batch_size`` (64-256).

Example::

    >>> e = xai_tutor.explain(net, x, "scorecam", layer="layer4", batch_size=64)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...explanation import Explanation
from ..base import progress as progress_bar
from ..base import register
from ..params import batch_param, variant_param
from .base import (
    Target,
    cam_explanation,
    check_choice,
    check_positive_int,
    layer_pass,
    model_guard,
    safe_divide,
    weighted_map,
)

__all__ = ["scorecam", "channel_masks"]

VARIANTS = ("paper", "channel_softmax")


def channel_masks(
    channels: torch.Tensor, size: tuple[int, int], align_corners: bool = False
) -> torch.Tensor:
    """Masks ``(n, 1, H, W)`` in ``[0, 1]`` from channel maps ``(n, h, w)``; constant -> zeros."""
    up = F.interpolate(channels[:, None], size=size, mode="bilinear", align_corners=align_corners)
    flat = up.reshape(up.shape[0], -1)
    low = flat.min(dim=1).values.reshape(-1, 1, 1, 1)
    high = flat.max(dim=1).values.reshape(-1, 1, 1, 1)
    return safe_divide(up - low, (high - low).expand_as(up))


def _channels_last(batch: torch.Tensor) -> torch.Tensor:
    """The same images in channels-last memory layout (faster convolutions on CPU)."""
    return batch.contiguous(memory_format=torch.channels_last)


@register(
    "scorecam",
    "cam",
    "Score-CAM (Wang et al. 2020): channels weighted by the class score of the masked image",
    expensive=True,
    params=(
        variant_param(VARIANTS, "score of each masked image: class probability as published, "
                      "or pytorch-grad-cam's softmax over channels"),
        batch_param("masked images per forward pass", explorer=True),
    ),
    progress=True,
    cost="per channel",
)
def scorecam(
    model: nn.Module,
    images: torch.Tensor,
    target: Target = None,
    layer: str | nn.Module | None = None,
    variant: str = "paper",
    batch_size: int = 8,
    progress: bool = True,
) -> Explanation:
    """Score-CAM of ``images`` for ``target`` at ``layer``.

    Args:
        variant: ``"paper"`` (class probability, constant channels skipped) or
            ``"channel_softmax"`` (pytorch-grad-cam: softmax over channels of the target logit).
        batch_size: masked images per forward pass (8 is fastest on CPU; larger on a GPU).
        progress: show a progress bar over the batches.
    """
    check_choice("variant", variant, VARIANTS)
    check_positive_int("batch_size", batch_size)
    with model_guard(model), torch.no_grad():
        run = layer_pass(model, images, target, layer, gradients=False)
        x, act = run.images, run.activation
        size = (int(x.shape[-2]), int(x.shape[-1]))
        batch_count, channels = act.shape[:2]
        flat = act.reshape(batch_count, channels, -1)
        varying = flat.amax(dim=2) > flat.amin(dim=2)
        scores = torch.zeros(batch_count, channels, dtype=run.score.dtype, device=x.device)
        jobs = []
        for b in range(batch_count):
            ks = torch.nonzero(varying[b]).flatten()
            jobs += [(b, ks[i : i + batch_size]) for i in range(0, len(ks), batch_size)]
            if variant != "paper" and not bool(varying[b].all()):
                # every constant channel masks the image to zeros: one forward serves them all
                logits = model(torch.zeros_like(x[b : b + 1]))
                scores[b, ~varying[b]] = logits[0, run.target[b]]
        for b, ks in progress_bar(jobs, progress, "Score-CAM", len(jobs)):
            masks = channel_masks(act[b, ks], size, align_corners=variant != "paper")
            logits = model(_channels_last(x[b : b + 1] * masks))
            if variant == "paper":
                scores[b, ks] = torch.softmax(logits, dim=1)[:, run.target[b]]
            else:
                scores[b, ks] = logits[:, run.target[b]]
        weights = torch.softmax(scores, dim=1) if variant != "paper" else scores
        maps = weighted_map(weights, act)
    return cam_explanation("scorecam", maps, run, {"variant": variant, "batch_size": batch_size})
