"""Ablation-CAM (Ramaswamy et al. 2020, "Ablation-CAM: Visual Explanations for Deep Convolutional
Network via Gradient-free Localization", WACV).

Gradient-free: the weight of channel ``k`` is the relative drop of the class logit when that
channel of the layer is set to zero::

    w_k = (y - y_k) / y,      y_k = logit with A_k := 0
    L   = ReLU( sum_k w_k A_k )

With ``y < 0`` the division flips every weight's sign (``variant="paper"``, also what
pytorch-grad-cam does); ``variant="abs"`` divides by ``|y|`` so that a channel whose removal
lowers the score always gets a positive weight. ``y = 0`` gives zero weights.

Speed: only the modules after the layer see the ablated activations. When the rest of the
network is a simple chain of modules (torchvision ResNet / VGG / EfficientNet at their last conv
block, ``nn.Sequential`` models), :func:`~xai_tutor.methods.cam.tail.find_tail` finds it and each
batch of ablations runs only that tail (for a ResNet at ``layer4``: average pooling and the
linear layer). When the tail begins with channel-wise modules (pooling, ReLU, dropout,
flatten) and a linear layer, zeroing channel ``k`` only removes channel ``k``'s columns from that
layer's input, so all ``K`` corrections come from one product with its weight and only the
modules after it run per copy (VGG16: the 25088 x 4096 layer once instead of 512 times; see
:meth:`~xai_tutor.methods.cam.tail.Tail.channel_ablator`, checked against the plain tail on every
call). Otherwise (``path="full"`` or no chain found) each batch re-runs the whole network
with the layer's output replaced by a forward hook, which costs one full forward pass per
``batch_size`` channels. Both paths give the same numbers.

Example::

    >>> import torch, torchvision, xai_tutor
    >>> net = torchvision.models.resnet18(weights=None).eval()
    >>> x = torch.rand(1, 3, 64, 64)
    >>> e = xai_tutor.explain(net, x, "ablationcam", layer="layer4", batch_size=128)
    >>> e.params["path"]
    'tail'
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ...explanation import Explanation
from ..declarations import Param, batch_param, per_channel_tail, variant_param
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
from .tail import find_tail

__all__ = ["ablationcam"]

VARIANTS = ("paper", "abs")
PATHS = ("auto", "tail", "full")


def _full_runner(
    model: nn.Module, module: nn.Module, image: torch.Tensor
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Run the whole network on copies of ``image`` with ``module``'s output replaced."""

    def run(batch: torch.Tensor) -> torch.Tensor:
        def hook(_m: nn.Module, _i: tuple, output: torch.Tensor) -> torch.Tensor:
            if output.shape[1:] != batch.shape[1:]:
                raise RuntimeError("the layer's output changed shape between passes")
            return batch

        handle = module.register_forward_hook(hook)
        try:
            return model(image.expand(batch.shape[0], *image.shape[1:]))
        finally:
            handle.remove()

    return run


def _fast_ablator(tail, activation: torch.Tensor):
    """The tail's linear-layer shortcut for one image, checked against the plain tail on two
    ablated copies; None when unavailable or when it disagrees."""
    ablator = tail.channel_ablator(activation)
    if ablator is None:
        return None
    ks = torch.arange(min(2, activation.shape[1]), device=activation.device)
    batch = activation.repeat(len(ks), 1, 1, 1)
    batch[torch.arange(len(ks), device=ks.device), ks] = 0
    expected = tail(batch)
    scale = float(expected.abs().max().clamp(min=1.0))
    if not torch.allclose(ablator(ks), expected, rtol=1e-4, atol=1e-5 * scale):
        return None
    return ablator


@register(
    "ablationcam",
    "cam",
    "Ablation-CAM (Ramaswamy et al. 2020): relative logit drop when a channel is zeroed",
    expensive=True,
    params=(
        variant_param(VARIANTS, "relative score drop per channel: divide by y or by |y|"),
        batch_param("ablated copies evaluated per pass", explorer=True),
        Param("path", "choice", choices=PATHS,
              doc="rerun only the layers after the target ('tail'), the whole net ('full') or "
              "the tail when possible ('auto')"),
    ),
    progress=True,
    cost="per channel",
    estimate=per_channel_tail,
    title="Ablation-CAM",
    notebook="10_gradient_free_cams",
    position=1,
)
def ablationcam(
    model: nn.Module,
    images: torch.Tensor,
    target: Target = None,
    layer: str | nn.Module | None = None,
    variant: str = "paper",
    batch_size: int = 128,
    path: str = "auto",
    progress: bool = True,
) -> Explanation:
    """Ablation-CAM of ``images`` for ``target`` at ``layer``.

    Args:
        variant: ``"paper"`` (divide by ``y``) or ``"abs"`` (divide by ``|y|``).
        batch_size: ablated copies evaluated per pass.
        path: ``"auto"`` (tail when possible), ``"tail"`` (require it) or ``"full"``.
        progress: show a progress bar over the batches.
    """
    with model_guard(model), torch.no_grad():
        run = layer_pass(model, images, target, layer, gradients=False)
        if run.calls != 1:
            raise ValueError(
                f"layer {run.layer!r} runs {run.calls} times per forward pass; Ablation-CAM "
                "needs a layer that runs once (pick a block output such as 'layer4')"
            )
        x, act = run.images, run.activation
        tail = None
        if path != "full":
            tail = find_tail(model, run.layer, x[:1])
            if tail is None and path == "tail":
                raise ValueError(
                    f"the network after layer {run.layer!r} is not a simple chain of modules; "
                    "use path='auto' or 'full'"
                )
        module = dict(model.named_modules())[run.layer]
        batch_count, channels = act.shape[:2]
        chunks = [(b, k) for b in range(batch_count) for k in range(0, channels, batch_size)]
        ablated = torch.empty(batch_count, channels, dtype=run.score.dtype, device=x.device)
        fast = None
        for b, start in progress_bar(chunks, progress, "Ablation-CAM", len(chunks)):
            ks = torch.arange(start, min(start + batch_size, channels), device=x.device)
            if fast is None or fast[0] != b:
                fast = (b, _fast_ablator(tail, act[b : b + 1]) if tail is not None else None)
            if fast[1] is not None:
                ablated[b, ks] = fast[1](ks)[:, run.target[b]]
                continue
            batch = act[b : b + 1].repeat(len(ks), 1, 1, 1)
            batch[torch.arange(len(ks), device=x.device), ks] = 0
            runner = tail if tail is not None else _full_runner(model, module, x[b : b + 1])
            ablated[b, ks] = runner(batch)[:, run.target[b]]
        y = run.score[:, None]
        denominator = y if variant == "paper" else y.abs()
        weights = safe_divide(y - ablated, denominator.expand_as(ablated))
        maps = weighted_map(weights, act)
    params = {
        "variant": variant,
        "batch_size": batch_size,
        "path": "tail" if tail is not None else "full",
    }
    return cam_explanation("ablationcam", maps, run, params)
