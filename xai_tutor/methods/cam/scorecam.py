"""Score-CAM (Wang et al. 2020, "Score-CAM: Score-Weighted Visual Explanations for
Convolutional Neural Networks", CVPR workshops).

Gradient-free: every channel, upsampled to the input size and scaled to ``[0, 1]``, is used as a
mask on the image, and the network's confidence in the class on the masked image is the
channel's weight::

    M_k = normalise( upsample(A_k) )                     min-max per channel
    w_k = softmax( f(x * M_k) )[c]                       class probability (variant "paper")
    L   = ReLU( upsample( sum_k w_k A_k ) )              at input resolution (relu_at "input")

**Where the ReLU goes.** The authors' code (haofanwang/Score-CAM) sums the weighted, upsampled
activation maps and applies the ReLU to that sum at input resolution: ``relu_at="input"``, the
default. pytorch-grad-cam and torchcam, like the rest of the CAM family here, apply it at the
layer's resolution and upsample afterwards, ``upsample(ReLU(sum_k w_k A_k))``:
``relu_at="layer"``. Every weight is positive (a probability, or a softmax), so on a layer whose
activations are non-negative (after a ReLU: the default layers of the course and torchvision
models) the sum is non-negative and the two orders give the same map. On a layer with signed
activations (a convolution before its ReLU, a BatchNorm output) they differ where the sum changes
sign: bilinear interpolation between a positive and a negative value is clipped after
upsampling in the authors' order, before it in the other (measured in
``tests/methods/test_cam_reference.py``). With ``relu_at="input"`` the ``attribution`` is the
signed sum ``sum_k w_k A_k`` at the layer's resolution and the saliency is
``normalise(ReLU(upsample(attribution)))``; with ``"layer"`` it is ``ReLU(sum_k w_k A_k)`` and
the saliency ``normalise(upsample(attribution))``.

``variant="paper"`` follows the authors' code: the softmax is over the classes, and channels
that are constant (their mask carries no location) are skipped (``w_k = 0``, no forward pass).
``variant="channel_softmax"`` follows pytorch-grad-cam: ``w = softmax_k( f(x * M_k)[c] )``, a
softmax of the target logits over the channels, with masks upsampled with
``align_corners=True``; constant channels give an all-zero mask and still take part (their
masked image is the same all-zero image, so it is run once per image and its score shared). Both
need one forward pass per (varying) channel, run in batches of ``batch_size``.

Speed: the forwards are the whole cost, so the method does no forward it does not need and runs
the rest the fastest way for the device:

* channels whose masks are identical are run once: constant channels (``"paper"``: skipped;
  ``"channel_softmax"``: one all-zero image per image) and channels whose maps are equal after
  min-max scaling at the layer's resolution (``A_j = a A_i + b`` with ``a > 0`` gives the same
  mask), whose score is then shared;
* ``batch_size=None`` (default) picks the number of masked images per forward pass from the
  model, the device and the image size. On the CPU, in channels-last layout, a short probe on
  the first masked images (real work, nothing thrown away) times batches of 8 and of 32 and keeps
  the faster: which one wins depends on the model's activation sizes and the CPU's caches
  (2 loaded cores, per masked image: ResNet18 at 112 px 55 ms at batch 32 against 128 ms at 8,
  ResNet18 at 224 px 187 against 429, while ResNet50 at 224 px was measured faster at 8).
  With fewer than 320 masked images, and on a GPU, a rule (:func:`auto_batch`): on the CPU 32
  up to 256 x 256 pixels and 8 above; on a GPU ``2**24 / (H W)`` images (256 at 224 x 224) in
  the default layout. An explicit ``batch_size`` is used as given.

The layout and batch size change no value beyond float rounding.
Example::

    >>> import torch, torchvision, xai_tutor
    >>> net = torchvision.models.resnet18(weights=None).eval()
    >>> x = torch.rand(1, 3, 64, 64)
    >>> e = xai_tutor.explain(net, x, "scorecam", layer="layer4")   # batch size chosen
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import nn

from ...explanation import Explanation
from ..declarations import Param, batch_param, variant_param
from ..progress import progress as progress_bar
from ..registry import register
from .base import (
    Target,
    cam_explanation,
    layer_pass,
    model_guard,
    safe_divide,
    weighted_map,
)

__all__ = ["scorecam", "channel_masks", "auto_batch", "distinct_channels"]

VARIANTS = ("paper", "channel_softmax")
RELU_AT = ("input", "layer")


def channel_masks(
    channels: torch.Tensor, size: tuple[int, int], align_corners: bool = False
) -> torch.Tensor:
    """Masks ``(n, 1, H, W)`` in ``[0, 1]`` from channel maps ``(n, h, w)``; constant -> zeros."""
    up = F.interpolate(channels[:, None], size=size, mode="bilinear", align_corners=align_corners)
    flat = up.reshape(up.shape[0], -1)
    low = flat.min(dim=1).values.reshape(-1, 1, 1, 1)
    high = flat.max(dim=1).values.reshape(-1, 1, 1, 1)
    return safe_divide(up - low, (high - low).expand_as(up))


def auto_batch(images: torch.Tensor) -> tuple[int, bool]:
    """``(masked images per forward pass, channels-last?)`` for ``images`` on their device."""
    pixels = int(images.shape[-2]) * int(images.shape[-1])
    if images.device.type != "cpu":
        return max(16, min(256, 2**24 // pixels)), False
    return (32 if pixels <= 256 * 256 else 8), True


_PROBE = (8, 8, 32, 32)  # CPU batch sizes tried on the first masked images (real work)


def _probe(first: tuple[int, torch.Tensor], score, default: int) -> tuple[int, tuple]:
    """On the CPU, run the first masked images of image ``first[0]`` in batches of 8 and of 32
    (two each; the second of each is timed, the first pays for one-time set-up) and return the
    faster batch size with the channels still to do. Too few channels: ``default``, nothing run.
    """
    b, reps = first
    if len(reps) < 4 * sum(_PROBE):
        return default, first
    per_image: dict[int, float] = {}
    start = 0
    for i, size in enumerate(_PROBE):
        t0 = time.perf_counter()
        score(b, reps[start : start + size])
        if i % 2:
            per_image[size] = (time.perf_counter() - t0) / size
        start += size
    return min(per_image, key=per_image.get), (b, reps[start:])


def distinct_channels(maps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For channel maps ``(n, h, w)`` (none constant): ``(rows, inverse)`` such that the channels
    ``rows`` have distinct min-max scaled maps and channel ``j`` has the mask of
    ``rows[inverse[j]]`` (equal scaled maps give equal upsampled, scaled masks)."""
    flat = maps.reshape(maps.shape[0], -1)
    low = flat.amin(dim=1, keepdim=True)
    scaled = (flat - low) / (flat.amax(dim=1, keepdim=True) - low)
    _, inverse = torch.unique(scaled, dim=0, return_inverse=True)
    first = torch.full((int(inverse.max()) + 1,), maps.shape[0], device=maps.device)
    first = first.scatter_reduce(0, inverse, torch.arange(maps.shape[0], device=maps.device),
                                 reduce="amin")
    return first, inverse


@register(
    "scorecam",
    "cam",
    "Score-CAM (Wang et al. 2020): channels weighted by the class score of the masked image",
    expensive=True,
    params=(
        variant_param(VARIANTS, "score of each masked image: class probability as published, "
                      "or pytorch-grad-cam's softmax over channels"),
        batch_param("masked images per forward pass (None: chosen from the model, input size "
                    "and device)", explorer=True, optional=True),
        Param("relu_at", "choice", choices=RELU_AT,
              doc="apply the final ReLU at input resolution after upsampling (the authors' "
                  "code) or at the layer's resolution before it (pytorch-grad-cam, torchcam)"),
    ),
    progress=True,
    cost="per channel",
    title="Score-CAM",
    notebook="10_gradient_free_cams",
    position=2,
)
def scorecam(
    model: nn.Module,
    images: torch.Tensor,
    target: Target = None,
    layer: str | nn.Module | None = None,
    variant: str = "paper",
    batch_size: int | None = None,
    relu_at: str = "input",
    progress: bool = True,
) -> Explanation:
    """Score-CAM of ``images`` for ``target`` at ``layer``.

    Args:
        variant: ``"paper"`` (class probability, constant channels skipped) or
            ``"channel_softmax"`` (pytorch-grad-cam: softmax over channels of the target logit).
        batch_size: masked images per forward pass; ``None`` chooses it (and the memory
            layout) from the device and the image size, see :func:`auto_batch`.
        relu_at: ``"input"`` (the authors: ReLU after upsampling the weighted sum) or
            ``"layer"`` (ReLU at the layer's resolution, then upsampling).
        progress: show a progress bar over the batches.
    """
    with model_guard(model), torch.no_grad():
        run = layer_pass(model, images, target, layer, gradients=False)
        x, act = run.images, run.activation
        size = (int(x.shape[-2]), int(x.shape[-1]))
        batch, channels_last = auto_batch(x)
        if batch_size is not None:
            batch = batch_size
        batch_count, channels = act.shape[:2]
        flat = act.reshape(batch_count, channels, -1)
        varying = flat.amax(dim=2) > flat.amin(dim=2)
        scores = torch.zeros(batch_count, channels, dtype=run.score.dtype, device=x.device)

        def score(b: int, ks: torch.Tensor) -> None:
            masks = channel_masks(act[b, ks], size, align_corners=variant != "paper")
            masked = x[b : b + 1] * masks
            if channels_last:
                masked = masked.contiguous(memory_format=torch.channels_last)
            logits = model(masked)
            if variant == "paper":
                scores[b, ks] = torch.softmax(logits, dim=1)[:, run.target[b]]
            else:
                scores[b, ks] = logits[:, run.target[b]]

        todo, shared = [], []
        for b in range(batch_count):
            ks = torch.nonzero(varying[b]).flatten()
            if len(ks):
                rows, inverse = distinct_channels(act[b, ks])
                shared.append((b, ks, ks[rows], inverse))
                todo.append((b, ks[rows]))
            if variant != "paper" and not bool(varying[b].all()):
                # every constant channel masks the image to zeros: one forward serves them all
                logits = model(torch.zeros_like(x[b : b + 1]))
                scores[b, ~varying[b]] = logits[0, run.target[b]]
        if batch_size is None and x.device.type == "cpu" and todo:
            batch, todo[0] = _probe(todo[0], score, batch)
        jobs = [(b, reps[i : i + batch]) for b, reps in todo for i in range(0, len(reps), batch)]
        for b, ks in progress_bar(jobs, progress, "Score-CAM", len(jobs)):
            score(b, ks)
        for b, ks, reps, inverse in shared:  # channels with the same mask share its score
            scores[b, ks] = scores[b, reps][inverse]
        weights = torch.softmax(scores, dim=1) if variant != "paper" else scores
        maps = weighted_map(weights, act, relu=relu_at == "layer")
    params = {"variant": variant, "batch_size": batch_size, "relu_at": relu_at, "batch": batch,
              "channels_last": channels_last}
    return cam_explanation("scorecam", maps, run, params, relu_after_upsampling=relu_at == "input")
