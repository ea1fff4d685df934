"""Checks for notebook 10 (Ablation-CAM and Score-CAM).

The expected values are computed here from the papers' formulas, with plain forward hooks and
whole forward passes of the model (never the shortcut of :mod:`xai_tutor.methods.cam.tail`), not
with :mod:`xai_tutor.methods.cam`:

* Ablation-CAM (Ramaswamy et al. 2020): ``y_k`` is the target logit when channel ``k`` of the
  layer's output is set to zero (the other channels untouched), and::

      w_k = (y - y_k) / y

* Score-CAM (Wang et al. 2020): the mask of channel ``k`` is its map upsampled bilinearly to the
  image size (``align_corners=False``) and min-max scaled to ``[0, 1]`` per channel (a constant
  channel gives an all-zero mask); the weight is the target's softmax probability for the masked
  image ``x * M_k``, and 0 for constant channels (the authors' code skips them)::

      M_k = normalise(upsample(A_k)),      w_k = softmax(f(x * M_k))[c]

Each check accepts a right answer, then names the typical slip (the ablated copies not restored,
only channel ``k`` kept, probabilities instead of logits, the sign of the drop, no division,
per-image instead of per-channel scaling, no upsampling, the logits or pytorch-grad-cam's softmax
over channels instead of the class probability, ...).

Example::

    >>> from xai_tutor.exercises.gradient_free import check_ablated_scores
    >>> check_ablated_scores(None, model, x, c).ok   # doctest: +SKIP
    False
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..hooks import model_guard
from .core import Expect, exercise
from .feedback import Feedback, _as_array, check_choice, image_size
from .oracle import forward_replacing, record_layer

__all__ = [
    "check_ablated_scores",
    "check_ablation_weights",
    "check_score_masks",
    "check_score_weights",
    "check_weights_sum",
]


def layer_output(model: nn.Module, x: torch.Tensor, layer: str | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """The layer's output ``A`` ``(1, K, h, w)`` in the model's dtype and the logits
    ``(1, classes)`` of one pass."""
    rec = record_layer(model, x, layer=layer, grad=False)
    return rec.activation[None].to(x.dtype), rec.logits[None].to(x.dtype)


def _ablated_copies(a: torch.Tensor) -> torch.Tensor:
    k = a.shape[1]
    batch = a.repeat(k, 1, 1, 1)
    batch[torch.arange(k), torch.arange(k)] = 0
    return batch


def _target(logits: torch.Tensor, target: int | None) -> int:
    return int(logits[0].argmax()) if target is None else int(target)


def _expected_ablated_scores(model: nn.Module, x: torch.Tensor, target: int | None = None,
                            layer: str | None = None) -> torch.Tensor:
    """``y_k`` for every channel ``k`` (float64, ``(K,)``), by whole forward passes."""
    a, logits = layer_output(model, x, layer)
    c = _target(logits, target)
    return forward_replacing(model, x, _ablated_copies(a), layer)[:, c].double()


def _expected_ablation_weights(model: nn.Module, x: torch.Tensor, target: int | None = None,
                              layer: str | None = None) -> torch.Tensor:
    """``(y - y_k) / y`` (float64, ``(K,)``)."""
    _, logits = layer_output(model, x, layer)
    y = float(logits[0, _target(logits, target)])
    yk = _expected_ablated_scores(model, x, target, layer)
    return (y - yk) / y if y != 0 else torch.zeros_like(yk)


def _minmax_channels(up: torch.Tensor) -> torch.Tensor:
    flat = up.reshape(up.shape[0], -1)
    low = flat.min(dim=1).values.reshape(-1, 1, 1)
    high = flat.max(dim=1).values.reshape(-1, 1, 1)
    span = high - low
    return torch.where(span > 0, (up - low) / torch.where(span > 0, span, 1.0),
                       torch.zeros_like(up))


def _upsample(a: torch.Tensor, size: tuple[int, int], mode: str = "bilinear",
              align_corners: bool | None = False) -> torch.Tensor:
    """``(1, K, h, w)`` or ``(K, h, w)`` -> ``(K, H, W)`` in float64."""
    a = a.detach().double()
    if a.dim() == 4:
        a = a[0]
    if mode == "nearest":
        return F.interpolate(a[None], size=size, mode="nearest")[0]
    return F.interpolate(a[None], size=size, mode=mode, align_corners=align_corners)[0]


def _expected_score_masks(activation: torch.Tensor, size: Any) -> torch.Tensor:
    """Score-CAM's masks ``(K, H, W)`` (float64) from ``A`` ``(1, K, h, w)``."""
    return _minmax_channels(_upsample(activation, image_size(size)))


def _masked_probabilities(model: nn.Module, x: torch.Tensor, masks: torch.Tensor, c: int,
                          batch_size: int = 64) -> torch.Tensor:
    out = []
    with model_guard(model), torch.no_grad():
        for start in range(0, masks.shape[0], batch_size):
            m = masks[start:start + batch_size].to(x.dtype)[:, None]
            out.append(torch.softmax(model(x * m), dim=1)[:, c])
    return torch.cat(out).double()


def _expected_score_weights(model: nn.Module, x: torch.Tensor, target: int | None = None,
                           layer: str | None = None) -> torch.Tensor:
    """Score-CAM's channel weights ``(K,)`` (float64); 0 for constant channels."""
    a, logits = layer_output(model, x, layer)
    c = _target(logits, target)
    masks = _expected_score_masks(a, x.shape[-2:])
    flat = a[0].reshape(a.shape[1], -1)
    varying = flat.amax(dim=1) > flat.amin(dim=1)
    probs = _masked_probabilities(model, x, masks, c)
    return torch.where(varying, probs, torch.zeros_like(probs))


@exercise("gradient_free.ablated_scores", "ablated", "model", "x", "c", "layer", notebook="10")
def check_ablated_scores(got: Any, model: nn.Module, x: torch.Tensor, target: int | None = None,
                         layer: str | None = None) -> Expect:
    """``ablated[k]`` = the target logit when channel ``k`` of the layer's output is
    zeroed (all other channels as they were), shape ``(K,)``, for the single image ``x``."""
    a, logits = layer_output(model, x, layer)
    c = _target(logits, target)
    k = a.shape[1]
    ablated_logits = forward_replacing(model, x, _ablated_copies(a), layer).double()
    expected = ablated_logits[:, c]

    def cumulative() -> torch.Tensor:
        batch = a.repeat(k, 1, 1, 1)
        for i in range(k):
            batch[i, : i + 1] = 0
        return forward_replacing(model, x, batch, layer)[:, c].double()

    def keep_only() -> torch.Tensor:
        batch = torch.zeros_like(a).repeat(k, 1, 1, 1)
        batch[torch.arange(k), torch.arange(k)] = a[0]
        return forward_replacing(model, x, batch, layer)[:, c].double()

    # the last two slips cost as many whole passes as the answer: computed only when reached
    slips = [
        (torch.full((k,), float(logits[0, c]), dtype=torch.float64),
         "every value equals the unablated logit y: nothing was zeroed (check that the replaced "
         "output really reaches the model: the hook must *return* the new tensor)."),
        (torch.softmax(ablated_logits, dim=1)[:, c], "these are softmax probabilities; "
                                                     "Ablation-CAM uses the logit (the score "
                                                     "before the softmax)."),
        (cumulative, "the zeros add up: copy k has channels 0..k zeroed. Make a fresh copy of "
                     "the activations for every channel (A.repeat(K, 1, 1, 1) or .clone()) "
                     "before zeroing."),
        (keep_only, "you kept channel k and zeroed all the others; ablation does the opposite: "
                    "zero channel k only."),
    ]
    return Expect(expected, slips, rtol=1e-4, atol_rel=1e-5,
                  precision=x.dtype,
                  hints={"shape": f"one logit per channel: shape ({k},).",
                         "values": "for each k: a copy of A with A[:, k] = 0, run the "
                                   "rest of the network on it, take the logit of "
                                   "class c."})


@exercise("gradient_free.ablation_weights", "ab_weights", "model", "x", "c", "layer",
          notebook="10")
def check_ablation_weights(got: Any, model: nn.Module, x: torch.Tensor,
                           target: int | None = None, layer: str | None = None) -> Expect:
    """Ablation-CAM's weights ``w_k = (y - y_k) / y``, shape ``(K,)``."""
    _, logits = layer_output(model, x, layer)
    c = _target(logits, target)
    y = float(logits[0, c])
    yk = _expected_ablated_scores(model, x, c, layer)
    expected = (y - yk) / y if y != 0 else torch.zeros_like(yk)
    slips = [
        ((yk - y) / y, "the sign is flipped: the weight is the DROP of the score, (y - y_k) / y,"
                       " positive when removing the channel lowers the score."),
        (y - yk, "you did not divide by y: the weight is the RELATIVE drop (y - y_k) / y."),
        ((y - yk) / yk, "divide by the score of the full network y, not by y_k."),
        (yk / y, "that is y_k / y; the weight is 1 - y_k / y = (y - y_k) / y."),
    ]
    # y - y_k cancels: its rounding error is that of y and y_k, not of their difference
    terms = max(abs(y), float(yk.abs().max())) / abs(y) if y != 0 else None
    return Expect(expected, slips, rtol=1e-4, atol_rel=1e-5,
                  precision=x.dtype, magnitude=terms,
                  hints={"values": "w = (y - ablated) / y with y the logit of class c "
                                   "on the unchanged image."})


@exercise("gradient_free.score_masks", "masks", "A", "size", notebook="10")
def check_score_masks(got: Any, activation: torch.Tensor, size: Any) -> Expect | Feedback:
    """Score-CAM's masks ``(K, H, W)``: every channel of ``activation`` ``(1, K, h,
    w)`` upsampled bilinearly (``align_corners=False``) to ``size`` = (H, W), then min-max scaled
    to [0, 1] on its own; constant channels give zeros."""
    size = image_size(size)
    up = _upsample(activation, size)
    expected = _minmax_channels(up)
    g = _as_array(got)
    if g is not None and g.shape == tuple(expected.shape) and not np.isfinite(g).all():
        return Feedback(False, "NaN in the masks: a channel whose map is constant (often all "
                               "zero after a ReLU) gives 0 / 0. Set its mask to 0 (torch.where "
                               "on max - min > 0).", name="masks")
    flat = up.reshape(-1)
    span = float(flat.max() - flat.min())
    a = activation.detach().double()
    a = a[0] if a.dim() == 4 else a
    slips = [
        (up, "the min-max scaling is missing: scale every upsampled channel to [0, 1]."),
        ((up - flat.min()) / span if span > 0 else up,
         "you scaled all channels together; Score-CAM scales each channel on its own "
         "(min and max over that channel's positions)."),
        (_upsample(_minmax_channels(a), size),
         "you scaled before upsampling; upsample first, then min-max scale (the bilinear "
         "interpolation changes the minimum and maximum)."),
        (_minmax_channels(_upsample(activation, size, "bilinear", True)),
         "align_corners=True (pytorch-grad-cam's choice); the authors and the library use "
         "align_corners=False."),
        (_minmax_channels(_upsample(activation, size, "nearest", None)),
         "nearest-neighbour upsampling: use mode='bilinear', align_corners=False."),
    ]
    return Expect(expected, slips, rtol=1e-4, atol_rel=1e-5,
                  precision=activation.dtype,
                  hints={"shape": f"one mask per channel at the image size: "
                                  f"({expected.shape[0]}, {size[0]}, {size[1]}).",
                         "values": "F.interpolate(A, size=(H, W), mode='bilinear', "
                                   "align_corners=False)[0], then (m - min) / "
                                   "(max - min) per channel."})


@exercise("gradient_free.score_weights", "sc_weights", "model", "x", "c", "layer", notebook="10")
def check_score_weights(got: Any, model: nn.Module, x: torch.Tensor, target: int | None = None,
                        layer: str | None = None) -> Expect:
    """Score-CAM's weights ``(K,)``: the softmax probability of the target class for
    ``x * M_k``; 0 for channels whose map is constant."""
    a, logits = layer_output(model, x, layer)
    c = _target(logits, target)
    masks = _expected_score_masks(a, x.shape[-2:])
    flat = a[0].reshape(a.shape[1], -1)
    varying = flat.amax(dim=1) > flat.amin(dim=1)
    probs = _masked_probabilities(model, x, masks, c)
    expected = torch.where(varying, probs, torch.zeros_like(probs))

    @functools.cache
    def masked_logits() -> torch.Tensor:
        out = []
        with model_guard(model), torch.no_grad():
            for start in range(0, masks.shape[0], 64):
                m = masks[start:start + 64].to(x.dtype)[:, None]
                out.append(model(x * m)[:, c])
        return torch.cat(out).double()

    slips = [
        (probs, "right for every channel that varies, but constant channels (an all-zero mask) "
                "must get weight 0: their mask carries no location, and the authors' code "
                "skips them."),
        (lambda: torch.where(varying, masked_logits(), torch.zeros_like(probs)),
         "these are logits; Score-CAM's weight is the class PROBABILITY, a softmax over the "
         "classes of the masked image's logits."),
        (masked_logits, "these are logits; take the softmax over the classes (and 0 for "
                        "constant channels)."),
        (lambda: torch.softmax(masked_logits(), dim=0),
         "that is pytorch-grad-cam's variant (a softmax over the channels of the target "
         "logits); the paper's weight is the softmax over the classes for each masked image."),
    ]
    return Expect(expected, slips, rtol=1e-4, atol_rel=1e-4,
                  precision=x.dtype,
                  hints={"values": "for each k: torch.softmax(model(x * masks[k]), "
                                   "dim=1)[0, c], 0 where the channel is constant."})



@exercise("gradient_free.weights_sum", "sums_to_one", "model", "x", "c", "layer",
          notebook="10", prediction=True)
def check_weights_sum(got: Any, model: nn.Module, x: torch.Tensor, target: int | None = None,
                      layer: str | None = None) -> Expect:
    """Predict whether Score-CAM's weights (the paper's) add up to 1 over the channels
    (``True`` / ``False``). Computed here from whole forward passes of the masked images."""
    weights = _expected_score_weights(model, x, target, layer)
    total = float(weights.sum())
    why = {False: "each weight is the class probability of a DIFFERENT masked image: the softmax "
                  "runs over the classes of one image, not over the channels, so nothing makes "
                  "the K weights add up to 1. pytorch-grad-cam's variant takes a softmax over "
                  "the channels instead, and its weights do (variant='channel_softmax').",
           True: "the weights happen to add up to 1 here, but only by chance: each is the class "
                 "probability of a different masked image."}
    return Expect(abs(total - 1) < 1e-3, judge=check_choice, choices=(True, False), why=why,
                  details=[f"the {weights.numel()} weights add up to {total:.4f}"])
