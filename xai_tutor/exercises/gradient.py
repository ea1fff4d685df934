"""Checks for notebook 02 (models, data, hooks and the first explanation).

The expected values are computed here independently of :func:`xai_tutor.explain`: plain autograd
for the gradient (:mod:`~xai_tutor.exercises.oracle`), the ImageNet constants written out for the
de-normalisation.

Example::

    >>> import torch
    >>> from xai_tutor.exercises.gradient import check_denormalise
    >>> x = torch.zeros(1, 3, 4, 4)
    >>> check_denormalise(x, x).ok      # forgot to undo the normalisation
    False
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..constants import IMAGENET_MEAN, IMAGENET_STD
from ..hooks import capture, model_guard
from .core import Expect, exercise
from .feedback import check_choice, check_class, check_shape
from .oracle import input_gradient

__all__ = [
    "check_top_class",
    "check_denormalise",
    "check_activation_shape",
    "check_kept_minimum",
    "check_saliency",
]


def _stats(like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    shape = (1, 3, 1, 1) if like.dim() == 4 else (3, 1, 1)
    mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float64).reshape(shape)
    std = torch.tensor(IMAGENET_STD, dtype=torch.float64).reshape(shape)
    return mean, std


@exercise("gradient.top_class", "top_class", "model", "x", notebook="02")
def check_top_class(got: Any, model: nn.Module, x: torch.Tensor) -> Expect:
    """The index of the model's highest logit for the image ``x``."""
    with model_guard(model), torch.no_grad():
        logits = model(x)[0]
    return Expect(int(logits.argmax()), judge=check_class,
                  class_names=getattr(model, "class_names", None), scores=logits,
                  hints={"type": "logits.argmax().item() gives a Python int."})


def _expected_denormalise(x: torch.Tensor) -> torch.Tensor:
    """``x * std + mean`` per channel, in float64: the image back in [0, 1]."""
    mean, std = _stats(x)
    return x.detach().double() * std + mean


@exercise("gradient.denormalise", "image", "x", notebook="02")
def check_denormalise(got: Any, x: torch.Tensor) -> Expect:
    """Undo the ImageNet normalisation ``x = (image - mean) / std`` of a tensor."""
    mean, std = _stats(x)
    xd = x.detach().double()
    slips = [
        (xd, "`image` is still the normalised tensor: undo (image - mean) / std."),
        ((xd - mean) / std, "you normalised a second time; the inverse of (image - mean) / std "
                            "is x * std + mean."),
        ((xd + mean) * std, "right ingredients, wrong order: multiply by std first, then add "
                            "the mean."),
        (xd * std, "you multiplied by std but did not add the mean back."),
        (xd + mean, "you added the mean but did not multiply by std."),
        (xd * mean + std, "mean and std are swapped."),
    ]
    return Expect(_expected_denormalise(x), slips, rtol=1e-4, atol_rel=0.0, atol=1e-5,
                  precision=x.dtype,
                  hints={"shape_order": "keep the (1, 3, H, W) layout; only matplotlib wants "
                                        "(H, W, 3).",
                         "values": "mean and std are per colour channel: reshape them to "
                                   "(1, 3, 1, 1) so they broadcast over H and W."})


def _expected_activation_shape(model: nn.Module, x: torch.Tensor,
                               layer: str | None = None) -> tuple[int, ...]:
    """The shape of ``layer``'s output (default: the model's ``default_layer``) for ``x``."""
    with model_guard(model), torch.no_grad(), capture(model, layer or model.default_layer) as cap:
        model(x)
    return tuple(cap.require().shape)


@exercise("gradient.activation_shape", "activation_shape", "model", "x", notebook="02")
def check_activation_shape(got: Any, model: nn.Module, x: torch.Tensor,
                           layer: str | None = None) -> Expect:
    """The shape ``(1, K, h, w)`` of the activations of ``layer`` for the image ``x``."""
    expected = _expected_activation_shape(model, x, layer)
    note = None
    if len(expected) == 4:
        _, k, h, w = expected
        note = (f"{k} feature maps of {h} x {w}: the input's {x.shape[-2]} x {x.shape[-1]} pixels "
                f"shrunk by about {x.shape[-2] / h:.0f}.")
    return Expect(expected, judge=check_shape, name="activation shape", note=note,
                  hints={"shape": "read it from the tensor your hook stored: "
                                  "tuple(stored.shape)."})


KEPT = ("negative", "zero", "positive")


@exercise("gradient.kept_minimum", "kept_minimum", notebook="02", prediction=True)
def check_kept_minimum(got: Any, seed: int = 0) -> Expect:
    """Predict the smallest value a hook keeps *by reference* of a convolution's output when an
    in-place ReLU follows: ``"negative"``, ``"zero"`` or ``"positive"``. Measured here on the
    notebook's two-layer network (seeded)."""
    kept: dict[str, torch.Tensor] = {}
    with torch.random.fork_rng(devices=[]), torch.no_grad():  # the learner's RNG stays as it was
        torch.manual_seed(seed)
        net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(inplace=True))
        net[0].register_forward_hook(lambda _m, _i, out: kept.update(out=out))
        net(torch.randn(1, 3, 8, 8))
    low = float(kept["out"].min())
    outcome = "negative" if low < 0 else "zero" if low == 0 else "positive"
    why = ("the hook kept a reference to the very tensor that the in-place ReLU then overwrote: "
           "every negative value became 0, so the smallest kept value is exactly 0. A copy "
           "(output.detach().clone()) keeps the negative values.")
    return Expect(outcome, judge=check_choice, choices=KEPT, why=why,
                  details=[f"smallest value kept by reference: {low}"])


@exercise("gradient.saliency", "saliency", "model", "x", notebook="02")
def check_saliency(got: Any, model: nn.Module, x: torch.Tensor,
                   target: int | None = None) -> Expect:
    """The raw (not normalised) gradient saliency map ``max_c |dy/dx|`` of shape ``(H, W)`` for the
    top class (or ``target``)."""
    grad, _ = input_gradient(model, x, target)
    slips = [
        (grad.amax(dim=0), "you took the max of the signed gradient: take the absolute value "
                           "first (.abs().amax(dim=0))."),
        (grad.abs().sum(dim=0), "you summed |gradient| over the colour channels; Simonyan et "
                                "al. take the maximum."),
        (grad.abs().mean(dim=0), "you averaged |gradient| over the colour channels; take the "
                                 "maximum."),
    ]
    return Expect(grad.abs().amax(dim=0), slips, rtol=1e-4, atol_rel=1e-5, precision=x.dtype,
                  hints={"shape_unreduced": "reduce over the colour channels with .amax(dim=0) "
                                            "(or dim=1 before removing the batch dimension).",
                         "pattern": "did you take the gradient of the top class's logit (not of "
                                    "the softmax probability, not of another class)?",
                         "values": "did you take the gradient of the top class's logit, with "
                                   "respect to the input tensor?"})
