"""FullGrad (Srinivas & Fleuret 2019, "Full-Gradient Representation for Neural Network
Visualization", NeurIPS).

For a network built from ReLUs, max/average pooling, convolutions, linear layers and BatchNorm in
eval mode, the logit splits exactly into an input-gradient part and one bias-gradient part per
layer with a bias (*completeness*)::

    y = sum_i x_i dy/dx_i  +  sum_layers sum_j b_j dy/dz_j

where ``z`` is the layer's output and ``b`` its bias broadcast over space. A BatchNorm layer in
eval mode computes ``gamma (z - mu) / sqrt(var + eps) + beta``, i.e. an affine map with the
*effective bias* ``beta - mu gamma / sqrt(var + eps)``. :func:`fullgrad_terms` returns these raw,
signed terms (so the identity can be checked); the saliency map post-processes every spatial term
``T`` (the input term and the bias terms of Conv2d / BatchNorm2d layers)::

    psi(T) = upsample( sum_channels normalise(|T|) )          (B, H, W)
    FullGrad = psi(x * dy/dx) + sum_layers psi(b * dy/dz)

``variant`` chooses ``normalise`` and ``upsample``:

* ``"authors"`` (default) is the authors' code (idiap/fullgrad-saliency, ``saliency/fullgrad.py``):
  each term is scaled jointly over its channels and positions, ``(t - min) / (max - min + 1e-6)``
  with min and max over ``(C, h, w)``, summed over channels and resized bilinearly with
  ``align_corners=True``; the input-gradient term is already at input size and is not resized.
* ``"layer"``: the same joint scaling, resized with ``align_corners=False`` as every other CAM
  method of this library (and OpenCV) resizes; the default of xai-tutor before 2026-11. Not a
  rounding difference: on the three offline course models and the three course scenes its
  saliency differs from the authors' by 0.11-0.32 at the worst pixel of a map and by 1.6-3.5 %
  on average (min-max scaled maps; measured in ``tests/methods/test_fullgrad_authors.py``); the
  two resizes disagree most near the borders and on small feature maps.
* ``"channel"`` scales every channel on its own (``+1e-7``) and resizes with
  ``align_corners=False``, as pytorch-grad-cam does.

Summing the channels before upsampling is exact because bilinear upsampling is linear (one
resize per layer instead of one per channel). Bias terms of linear layers are not spatial and
only enter the completeness identity.

Unlike the rest of the family, ``attribution`` is at input resolution: ``(B, H, W)``, the sum
above before the final min-max scaling; ``layer`` is not used.

Example::

    >>> import torch, torchvision, xai_tutor
    >>> net = torchvision.models.resnet18(weights=None).eval()
    >>> x = torch.rand(1, 3, 64, 64)
    >>> terms = fullgrad_terms(net, x)      # completeness check
    >>> biases = sum(t.flatten(1).sum(1) for _, t in terms.bias_terms)
    >>> total = terms.input_term.sum((1, 2, 3)) + biases
    >>> torch.allclose(total, terms.score, rtol=1e-4)
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ...explanation import Explanation, normalise_per_image
from ..declarations import variant_param
from ..inputs import check_input
from ..registry import register
from ..targets import resolve_target
from .base import Target, model_guard

__all__ = ["fullgrad", "fullgrad_terms", "FullGradTerms", "bias_layers", "effective_bias"]

VARIANTS = ("authors", "layer", "channel")


@dataclass
class FullGradTerms:
    """Raw signed FullGrad terms of a batch.

    Attributes:
        input_term: ``x * dy/dx``, ``(B, C, H, W)``.
        bias_terms: ``(name, b * dy/dz)`` per call of a layer with a bias, in execution order:
            ``(B, C, h, w)`` for Conv2d / BatchNorm2d, ``(B, F)`` for Linear.
        target, score: the explained classes and their logits ``(B,)``.
    """

    input_term: torch.Tensor
    bias_terms: list[tuple[str, torch.Tensor]]
    target: torch.Tensor
    score: torch.Tensor


def effective_bias(module: nn.Module) -> torch.Tensor | None:
    """The bias a layer adds to its output, or None: conv/linear ``bias``; BatchNorm (eval)
    ``beta - mu gamma / sqrt(var + eps)``."""
    if isinstance(module, nn.BatchNorm2d):
        if module.running_mean is None or module.running_var is None:
            raise ValueError(
                "FullGrad needs BatchNorm layers with running statistics (track_running_stats="
                "True); in eval mode without them BatchNorm is not a fixed affine map"
            )
        scale = torch.rsqrt(module.running_var + module.eps)
        gamma = module.weight if module.weight is not None else torch.ones_like(scale)
        beta = module.bias if module.bias is not None else torch.zeros_like(scale)
        return (beta - module.running_mean * gamma * scale).detach()
    if isinstance(module, (nn.Conv2d, nn.Linear)) and module.bias is not None:
        return module.bias.detach()
    return None


def bias_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Every Conv2d / Linear with a bias and every BatchNorm2d, in definition order."""
    out = []
    for name, module in model.named_modules():
        if isinstance(module, nn.BatchNorm2d) or (
            isinstance(module, (nn.Conv2d, nn.Linear)) and module.bias is not None
        ):
            out.append((name, module))
    return out


def _terms(model: nn.Module, x: torch.Tensor, target: Target) -> FullGradTerms:
    """The computation behind :func:`fullgrad_terms`; call inside ``model_guard``."""
    layers = bias_layers(model)
    biases = {id(m): effective_bias(m) for _, m in layers}
    records: list[tuple[str, nn.Module, torch.Tensor]] = []

    def make_hook(name: str):
        def hook(module: nn.Module, _inputs: tuple, output: torch.Tensor) -> torch.Tensor:
            calls = sum(1 for n, _, _ in records if n.split("#")[0] == name)
            records.append((name if calls == 0 else f"{name}#{calls}", module, output))
            return output.clone()  # protect the record from in-place ReLUs and `+=`

        return hook

    handles = [m.register_forward_hook(make_hook(n)) for n, m in layers]
    try:
        with torch.enable_grad():
            xg = x.detach().requires_grad_(True)
            logits = model(xg)
            if not isinstance(logits, torch.Tensor) or logits.dim() != 2:
                raise ValueError("the model must return logits of shape (B, classes)")
            chosen = resolve_target(logits, target)
            score = logits.gather(1, chosen[:, None])[:, 0]
            outputs = [out for _, _, out in records]
            grads = torch.autograd.grad(score.sum(), [xg, *outputs], allow_unused=True)
    finally:
        for h in handles:
            h.remove()
    bias_terms = []
    for (name, module, out), g in zip(records, grads[1:]):
        if g is None:
            g = torch.zeros_like(out)
        b = biases[id(module)]
        if isinstance(module, nn.Linear):  # bias along the last dimension
            term = b * g
        else:  # channels along dimension 1
            term = b.reshape(1, -1, *([1] * (g.dim() - 2))) * g
        bias_terms.append((name, term.detach()))
    return FullGradTerms(
        input_term=(x * grads[0]).detach(),
        bias_terms=bias_terms,
        target=chosen,
        score=score.detach(),
    )


def fullgrad_terms(model: nn.Module, images: torch.Tensor, target: Target = None) -> FullGradTerms:
    """The raw signed terms of the full-gradient decomposition (see the module docstring)."""
    x = check_input(model, images).detach()
    with model_guard(model):
        return _terms(model, x, target)


def _postprocess(term: torch.Tensor, variant: str) -> torch.Tensor:
    """``sum_channels normalise(|T|)`` for a ``(B, C, h, w)`` term, giving ``(B, h, w)``."""
    t = term.abs()
    if variant in ("authors", "layer"):
        flat = t.reshape(t.shape[0], -1)
        low = flat.min(dim=1).values.reshape(-1, 1, 1, 1)
        high = flat.max(dim=1).values.reshape(-1, 1, 1, 1)
        norm = (t - low) / (high - low + 1e-6)
    else:
        low = t.amin(dim=(2, 3), keepdim=True)
        high = t.amax(dim=(2, 3), keepdim=True)
        norm = (t - low) / (high - low + 1e-7)
    return norm.sum(dim=1)


def _resize(maps: torch.Tensor, size: tuple[int, int], variant: str) -> torch.Tensor:
    """Bilinear resize of ``(B, h, w)`` to ``size``; ``align_corners=True`` for ``"authors"``."""
    if tuple(maps.shape[-2:]) == tuple(size):
        return maps  # also what F.interpolate gives at equal size with align_corners=True
    corners = variant == "authors"
    return F.interpolate(maps[:, None], size=size, mode="bilinear", align_corners=corners)[:, 0]


@register(
    "fullgrad",
    "cam",
    "FullGrad (Srinivas & Fleuret 2019): input-gradient plus bias-gradients of every layer",
    params=(variant_param(VARIANTS, "authors' code (per layer, align_corners=True), per layer "
                          "with align_corners=False, or per channel (pytorch-grad-cam)"),),
    takes_layer=False,
    title="FullGrad",
    resolution="input",
    notebook="09_fullgrad",
    position=1,
)
def fullgrad(
    model: nn.Module,
    images: torch.Tensor,
    target: int | Sequence[int] | torch.Tensor | None = None,
    layer: str | nn.Module | None = None,
    variant: str = "authors",
) -> Explanation:
    """FullGrad saliency of ``images`` for ``target``.

    Args:
        layer: not used (FullGrad uses every layer with a bias); must be None.
        variant: ``"authors"`` (idiap/fullgrad-saliency: each layer's term normalised jointly,
            resized with ``align_corners=True``), ``"layer"`` (the same normalisation resized
            with ``align_corners=False``) or ``"channel"`` (pytorch-grad-cam: every channel
            normalised separately, ``align_corners=False``).
    """
    x = images.detach()
    size = (int(x.shape[-2]), int(x.shape[-1]))
    with model_guard(model):
        terms = _terms(model, x, target)
        total = _resize(_postprocess(terms.input_term, variant), size, variant)
        for _, term in terms.bias_terms:
            if term.dim() == 4:
                total = total + _resize(_postprocess(term, variant), size, variant)
    return Explanation(
        attribution=total,
        saliency=normalise_per_image(total),
        target=terms.target,
        score=terms.score,
        method="fullgrad",
        layer=None,
        params={"variant": variant},
    )
