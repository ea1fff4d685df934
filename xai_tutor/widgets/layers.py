"""Which layers a CAM-family method can use: found with one dry forward pass.

A CAM map is ``ReLU(sum_k w_k A_k)`` over the ``K`` feature maps ``A_k`` of one layer, so the
layer must output a 4-D tensor ``(B, K, h, w)``. Module types alone cannot tell (a block may
flatten, a pooling head may squeeze), so :func:`spatial_layers` runs the model once on the image
with a forward hook on every candidate and keeps those whose output really is 4-D. Candidates are
convolutions, activations (ReLU, SiLU, ...) and blocks (modules with children, such as
``layer4`` or ``features``); BatchNorm, pooling, dropout and the like are left out because their
output equals or merely resamples a neighbouring candidate's.

Example::

    >>> import torch, torchvision
    >>> net = torchvision.models.resnet18(weights=None).eval()
    >>> names = spatial_layers(net, torch.rand(1, 3, 64, 64))
    >>> "layer4" in names and "fc" not in names and "bn1" not in names
    True
"""

from __future__ import annotations

import torch
from torch import nn

from ..hooks import forward_hooks, model_guard

__all__ = ["spatial_layers", "layer_shapes", "ACTIVATIONS"]

ACTIVATIONS = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.SiLU, nn.GELU, nn.Hardswish, nn.Mish, nn.PReLU,
)


def _candidate(module: nn.Module) -> bool:
    if isinstance(module, (nn.Conv2d, *ACTIVATIONS)):
        return True
    return any(True for _ in module.children())


def layer_shapes(model: nn.Module, images: torch.Tensor) -> dict[str, tuple[int, ...]]:
    """``{name: (1, K, h, w)}`` for the conv/activation/block modules whose output is 4-D.

    Names come in definition order, so the last one is usually the deepest. A module that runs
    several times keeps the shape of its last call, and is dropped if any call is not 4-D. The
    model is left as it was (see :func:`xai_tutor.model_guard`); no gradients are computed.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        raise ValueError("images must be a (B, 3, H, W) tensor as returned by xai_tutor.load_image")
    names = [(n, m) for n, m in model.named_modules() if n and _candidate(m)]
    shapes: dict[str, tuple[int, ...] | None] = {}

    def make_hook(name: str):
        def hook(_module: nn.Module, _inputs: tuple, output: object) -> None:
            ok = isinstance(output, torch.Tensor) and output.dim() == 4
            if ok and shapes.get(name, ()) is not None:
                shapes[name] = tuple(output.shape)
            else:
                shapes[name] = None

        return hook

    with model_guard(model), torch.no_grad(), forward_hooks(
        [(m, make_hook(n)) for n, m in names]
    ):
        model(images[:1])
    return {n: shapes[n] for n, _ in names if shapes.get(n) is not None}


def spatial_layers(model: nn.Module, images: torch.Tensor) -> list[str]:
    """Dotted names of the conv/activation/block modules whose output on ``images`` is 4-D."""
    return list(layer_shapes(model, images))
