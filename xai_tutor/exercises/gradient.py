"""Checks and solutions for notebook 02 (models, data, hooks and the first explanation).

The expected values are computed here independently of :func:`xai_tutor.explain`: plain autograd
for the gradient, the ImageNet constants written out for the de-normalisation.

Example::

    >>> import torch
    >>> from xai_tutor.exercises.gradient import check_denormalise
    >>> x = torch.zeros(1, 3, 4, 4)
    >>> check_denormalise(x, x).ok      # forgot to undo the normalisation
    False
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ..constants import IMAGENET_MEAN, IMAGENET_STD
from ..hooks import capture, model_guard
from .core import (
    Feedback,
    _not_answered,
    check_class,
    check_shape,
    check_with_slips,
    exercise_check,
    register_check,
)

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "check_top_class",
    "check_denormalise",
    "check_activation_shape",
    "check_saliency",
]

# written out here on purpose: the checks must not reuse the code they check


def _stats(like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    shape = (1, 3, 1, 1) if like.dim() == 4 else (3, 1, 1)
    mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float64).reshape(shape)
    std = torch.tensor(IMAGENET_STD, dtype=torch.float64).reshape(shape)
    return mean, std


def _expected_top_class(model: nn.Module, x: torch.Tensor) -> tuple[int, torch.Tensor]:
    """The model's top class for the single image ``x`` and its logits ``(classes,)``."""
    with model_guard(model), torch.no_grad():
        logits = model(x)[0]
    return int(logits.argmax()), logits


@exercise_check
def check_top_class(got: Any, model: nn.Module, x: torch.Tensor) -> Feedback:
    """Exercise: the index of the model's highest logit for the image ``x``."""
    expected, logits = _expected_top_class(model, x)
    names = getattr(model, "class_names", None)
    return check_class("top_class", got, expected, class_names=names, scores=logits,
                       hints={"type": "logits.argmax().item() gives a Python int."})


def _expected_denormalise(x: torch.Tensor) -> torch.Tensor:
    """``x * std + mean`` per channel, in float64: the image back in [0, 1]."""
    mean, std = _stats(x)
    return x.detach().double() * std + mean


@exercise_check
def check_denormalise(got: Any, x: torch.Tensor) -> Feedback:
    """Exercise: undo the ImageNet normalisation ``x = (image - mean) / std`` of a tensor."""
    missing = _not_answered("image", got)
    if missing is not None:
        return missing
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
    return check_with_slips("image", got, _expected_denormalise(x), slips, rtol=1e-4,
                            atol_rel=0.0, atol=1e-5, precision=x.dtype,
                            hints={"shape_order": "keep the (1, 3, H, W) layout; only "
                                                  "matplotlib wants (H, W, 3).",
                                   "values": "mean and std are per colour channel: reshape "
                                             "them to (1, 3, 1, 1) so they broadcast over H "
                                             "and W."})


def _expected_activation_shape(model: nn.Module, x: torch.Tensor,
                              layer: str | None = None) -> tuple[int, ...]:
    """The shape of ``layer``'s output (default: the model's ``default_layer``) for ``x``."""
    layer = layer or model.default_layer
    with model_guard(model), torch.no_grad(), capture(model, layer) as cap:
        model(x)
    return tuple(cap.require().shape)


@exercise_check
def check_activation_shape(got: Any, model: nn.Module, x: torch.Tensor,
                           layer: str | None = None) -> Feedback:
    """Exercise: the shape ``(1, K, h, w)`` of the activations of ``layer`` for the image ``x``."""
    expected = _expected_activation_shape(model, x, layer)
    fb = check_shape("activation shape", got, expected,
                     hints={"shape": "read it from the tensor your hook stored: "
                                     "tuple(stored.shape)."})
    if fb.ok and len(expected) == 4:
        _, k, h, w = expected
        fb.details.append(f"{k} feature maps of {h} x {w}: the input's {x.shape[-2]} x "
                          f"{x.shape[-1]} pixels shrunk by about {x.shape[-2] / h:.0f}.")
    return fb


def _input_gradient(model: nn.Module, x: torch.Tensor, target: int | None) -> torch.Tensor:
    with model_guard(model), torch.enable_grad():
        leaf = x.detach().clone().requires_grad_(True)
        logits = model(leaf)
        c = int(logits[0].argmax()) if target is None else int(target)
        (grad,) = torch.autograd.grad(logits[0, c], leaf)
    return grad[0].double()


def _expected_saliency(model: nn.Module, x: torch.Tensor,
                       target: int | None = None) -> torch.Tensor:
    """Simonyan et al.'s raw saliency ``M_ij = max_c |d y_c / d x_cij|``, shape ``(H, W)``."""
    return _input_gradient(model, x, target).abs().amax(dim=0)


@exercise_check
def check_saliency(got: Any, model: nn.Module, x: torch.Tensor,
                   target: int | None = None) -> Feedback:
    """Exercise: the raw (not normalised) gradient saliency map of shape ``(H, W)`` for the top
    class (or ``target``)."""
    missing = _not_answered("saliency", got)
    if missing is not None:
        return missing
    grad = _input_gradient(model, x, target)
    expected = grad.abs().amax(dim=0)
    slips = [
        (grad.amax(dim=0), "you took the max of the signed gradient: take the absolute value "
                           "first (.abs().amax(dim=0))."),
        (grad.abs().sum(dim=0), "you summed |gradient| over the colour channels; Simonyan et "
                                "al. take the maximum."),
        (grad.abs().mean(dim=0), "you averaged |gradient| over the colour channels; take the "
                                 "maximum."),
    ]
    return check_with_slips("saliency", got, expected, slips, rtol=1e-4, atol_rel=1e-5,
                            precision=x.dtype,
                            hints={"shape_unreduced": "reduce over the colour channels with "
                                                      ".amax(dim=0) (or dim=1 before removing "
                                                      "the batch dimension).",
                                   "pattern": "did you take the gradient of the top class's "
                                              "logit (not of the softmax probability, not of "
                                              "another class)?",
                                   "values": "did you take the gradient of the top class's "
                                             "logit, with respect to the input tensor?"})


def _ns_check(fn: Callable[..., Feedback], *names: str) -> Callable[[dict[str, Any]], Feedback]:
    return lambda ns: fn(*(ns[n] for n in names))


register_check("gradient.top_class", check=_ns_check(check_top_class, "top_class", "model", "x"))

register_check("gradient.denormalise", check=_ns_check(check_denormalise, "image", "x"))

register_check(
    "gradient.activation_shape",
    check=_ns_check(check_activation_shape, "activation_shape", "model", "x"),
)

register_check("gradient.saliency", check=_ns_check(check_saliency, "saliency", "model", "x"))
