"""CAM (Zhou et al. 2016, "Learning Deep Features for Discriminative Localization", CVPR).

For a network that ends in global average pooling (GAP) followed by one linear layer ``fc``, the
class logit is ``y^c = sum_k W[c, k] mean_ab A_k(a, b) + b_c``, so the map::

    M^c = sum_k W[c, k] A_k

shows where each location adds to ``y^c`` (``mean_ab M^c + b_c = y^c``). The paper applies no
ReLU: ``attribution`` keeps its sign (``relu=True`` clips it as Grad-CAM does). On such a head
Grad-CAM equals ``ReLU(M^c) / (h w)``.

The head is found automatically (the last ``nn.Linear`` whose input size is the layer's channel
count) and **checked numerically**: ``fc(mean_ab A)`` must reproduce the logits. Pass ``fc=`` (a
dotted name or the module) to choose it; a model without such a head gets a clear error (use
``gradcam`` there).

Example::

    >>> import torch, torchvision, xai_tutor
    >>> net = torchvision.models.resnet18(weights=None).eval()
    >>> e = xai_tutor.explain(net, torch.rand(1, 3, 64, 64), "cam", layer="layer4")
"""

from __future__ import annotations

import torch
from torch import nn

from ...explanation import Explanation
from ...hooks import find_layer
from ..declarations import Param, one_forward
from ..registry import register
from .base import Target, cam_explanation, layer_pass, model_guard, weighted_map

__all__ = ["cam", "find_gap_head"]


def _head_error(layer: str, why: str) -> ValueError:
    return ValueError(
        f"CAM needs the layer's output to go through global average pooling and one linear "
        f"layer to the logits, but {why} (layer {layer!r}). Pick the last conv block of a "
        "GAP + linear model (e.g. 'layer4' of a ResNet), pass fc= the head's linear layer, or "
        "use 'gradcam', which works for any head"
    )


def _check_fc(fc: object) -> object:
    if not isinstance(fc, (str, nn.Module)):
        raise TypeError(f"must be a layer name, an nn.Module or None; got {fc!r}")
    return fc


def find_gap_head(
    model: nn.Module,
    activation: torch.Tensor,
    logits: torch.Tensor,
    layer: str,
    fc: str | nn.Module | None = None,
) -> nn.Linear:
    """The linear layer ``fc`` with ``logits == fc(mean_ab A)``, or a ValueError saying why not."""
    channels = activation.shape[1]
    if fc is not None:
        name, module = find_layer(model, fc)
        if not isinstance(module, nn.Linear):
            raise TypeError(f"fc must be an nn.Linear layer; {name!r} is {type(module).__name__}")
        candidates = [module]
    else:
        candidates = [m for m in model.modules() if isinstance(m, nn.Linear)][-1:]
        if not candidates:
            raise _head_error(layer, "the model has no nn.Linear layer")
    head = candidates[0]
    if head.in_features != channels:
        raise _head_error(
            layer,
            f"the linear layer takes {head.in_features} features and the layer has "
            f"{channels} channels",
        )
    if head.out_features != logits.shape[1]:
        raise _head_error(layer, "the linear layer does not produce the logits")
    pooled = activation.mean(dim=(2, 3)).to(head.weight.dtype)
    with torch.no_grad():
        predicted = head(pooled)
    scale = logits.abs().max().clamp(min=1.0)
    if not torch.allclose(predicted, logits, rtol=1e-4, atol=1e-4 * float(scale)):
        raise _head_error(layer, "fc(global average of the layer) does not reproduce the logits")
    return head


@register(
    "cam",
    "cam",
    "CAM (Zhou et al. 2016): fc weights of the class on a GAP + linear head",
    params=(
        Param("fc", "object", optional=True, check_fn=_check_fc,
              doc="the head's linear layer (name or module); None: found automatically"),
        Param("relu", "bool", doc="clip negative evidence (the paper does not)"),
    ),
    cost="one pass",
    estimate=one_forward,
    title="CAM",
    notebook="05_cam",
    position=1,
)
def cam(
    model: nn.Module,
    images: torch.Tensor,
    target: Target = None,
    layer: str | nn.Module | None = None,
    fc: str | nn.Module | None = None,
    relu: bool = False,
) -> Explanation:
    """Class activation map ``sum_k W[c, k] A_k`` of ``images`` for ``target``.

    Args:
        fc: the head's linear layer (name or module); found and verified automatically if None.
        relu: clip negative evidence (the paper does not; Grad-CAM does).
    """
    with model_guard(model):
        run = layer_pass(model, images, target, layer, gradients=False)
        head = find_gap_head(model, run.activation, run.logits, run.layer, fc)
        weights = head.weight.detach()[run.target]
        maps = weighted_map(weights, run.activation, relu=relu)
    return cam_explanation("cam", maps, run, {"relu": relu})
