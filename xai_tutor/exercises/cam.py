"""Checks for notebooks 05 (CAM) and 06 (Grad-CAM and Guided Grad-CAM).

The expected values are computed here independently of :mod:`xai_tutor.methods.cam`: the layer's
activations and gradients come from :mod:`~xai_tutor.exercises.oracle` (a plain forward hook and
``torch.autograd.grad``, in the model's dtype), the head is the last ``nn.Linear`` of the model,
and guided backpropagation is written with tensor hooks, not with
:mod:`xai_tutor.methods.relu_rules`. The sums after the passes are done in float64, and the
tolerances follow the dtype of the input (``precision=x.dtype``).

Example::

    >>> from xai_tutor.exercises.cam import check_gradcam_weights
    >>> check_gradcam_weights(None, model, x).ok   # doctest: +SKIP
    False
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .core import Expect, exercise
from .feedback import Feedback, check_choice, check_equal
from .oracle import (
    LayerRecord,
    guided_backprop_reference,
    last_linear,
    record_layer,
    top_class,
)

__all__ = [
    "check_gap_logit",
    "check_cam",
    "check_bias_in_cam",
    "check_gradcam_weights",
    "check_gradcam",
    "check_gap_gradient",
    "check_guided_gradcam",
    "check_occlusion",
]


def _terms(weights: torch.Tensor, rec: LayerRecord) -> float:
    """``max_ij sum_k |w_k A_k(i, j)|``: the size of the terms a weighted channel sum adds up,
    which sets its rounding error when they cancel."""
    return float(torch.einsum("k,khw->hw", weights.abs(), rec.activation.abs()).max())


# ------------------------------------------------------------------------------- 05 · CAM


@exercise("cam.gap_logit", "y_c", "model", "x", "c", notebook="05")
def check_gap_logit(got: Any, model: nn.Module, x: torch.Tensor, target: int | None = None,
                    layer: str | None = None) -> Expect:
    """The class score ``y_c = sum_k W[c, k] mean_ab A_k(a, b) + b_c`` recomputed from the
    activations and the linear head; it must equal the model's logit."""
    rec = record_layer(model, x, target, layer)
    fc = last_linear(model)
    w = fc.weight.detach().double()[rec.target]
    b = 0.0 if fc.bias is None else float(fc.bias.detach().double()[rec.target])
    a = rec.activation
    slips = [
        (float(a.mean(dim=(1, 2)) @ w), "you left out the bias b_c of the linear layer."),
        (float(a.sum(dim=(1, 2)) @ w + b), "you summed over the positions; global AVERAGE "
                                           "pooling takes the mean."),
        (float(a.amax(dim=(1, 2)) @ w + b), "you took the maximum over the positions (global "
                                            "max pooling); CAM's head averages."),
    ]
    return Expect(float(rec.logits[rec.target]), slips, rtol=1e-4, atol_rel=1e-4, atol=1e-4,
                  precision=x.dtype,
                  hints={"values": "pool A over its two spatial axes (mean), take the dot "
                                   "product with row c of fc.weight, add fc.bias[c]; c is the "
                                   "class you explain."})


@exercise("cam.cam_map", "cam_map", "model", "x", "c", notebook="05")
def check_cam(got: Any, model: nn.Module, x: torch.Tensor, target: int | None = None,
              layer: str | None = None) -> Expect:
    """The class activation map ``M_c = sum_k W[c, k] A_k`` of shape ``(h, w)``, without ReLU
    and without normalisation."""
    rec = record_layer(model, x, target, layer)
    weights = last_linear(model).weight.detach().double()[rec.target]
    expected = torch.einsum("k,khw->hw", weights, rec.activation)
    slips = [
        (expected.clamp(min=0), "you applied a ReLU: CAM (Zhou et al.) keeps the negative "
                                "evidence; Grad-CAM adds the ReLU."),
        (expected / (expected.shape[0] * expected.shape[1]),
         "you divided by h*w: that is Grad-CAM's scale; CAM is the plain weighted sum."),
    ]
    return Expect(expected, slips, rtol=1e-4, atol_rel=1e-5, atol=1e-9, precision=x.dtype,
                  magnitude=_terms(weights, rec),
                  hints={"shape_unreduced": "sum over the channel axis k: "
                                            "torch.einsum('k,khw->hw', w, A) or "
                                            "(w[:, None, None] * A).sum(0).",
                         "pattern": "use the weight row of the class you explain "
                                    "(fc.weight[c]), not another class.",
                         "values": "use the weight row of the class you explain (fc.weight[c]) "
                                   "and the activations of the layer just before global average "
                                   "pooling."})


BIAS_EFFECTS = ("the map and the score change", "only the score changes",
                "only the map changes", "neither changes")


@exercise("cam.bias_in_cam", "bias_effect", "model", "x", "c", notebook="05", prediction=True)
def check_bias_in_cam(got: Any, model: nn.Module, x: torch.Tensor, target: int,
                      shift: float = 10.0) -> Expect:
    """Predict what adding ``shift`` to the bias ``fc.bias[c]`` of the explained class does to
    its CAM map and to its score (one of :data:`BIAS_EFFECTS`). Measured here on a copy of the
    model."""
    if not has_gap_head(model, x):
        raise ValueError("CAM needs a model whose last block feeds global average pooling and "
                         "one linear layer; pass such a model")
    before = record_layer(model, x, target, grad=False)
    changed = copy.deepcopy(model)
    with torch.no_grad():
        last_linear(changed).bias[target] += shift
    after = record_layer(changed, x, target, grad=False)
    rows = [last_linear(m).weight.detach().double()[target] for m in (model, changed)]
    maps = [torch.einsum("k,khw->hw", w, r.activation) for w, r in zip(rows, (before, after))]
    map_moved = float((maps[0] - maps[1]).abs().max())
    score_moved = float(after.logits[target] - before.logits[target])
    outcome = {(True, True): BIAS_EFFECTS[0], (False, True): BIAS_EFFECTS[1],
               (True, False): BIAS_EFFECTS[2], (False, False): BIAS_EFFECTS[3]}[
        (map_moved > 1e-6, abs(score_moved) > 1e-3)]
    why = ("y_c = mean(M_c) + b_c: the bias is added after the pooling, so it shifts the score "
           f"by {shift:g} and never enters M_c = sum_k w_k A_k. CAM cannot show what the bias "
           "contributes (FullGrad, notebook 09, adds such bias terms back).")
    return Expect(outcome, judge=check_choice, choices=BIAS_EFFECTS, why=why,
                  details=[f"score moved by {score_moved:+.4f}, map by at most {map_moved:.1e}"])


# --------------------------------------------------------------------------- 06 · Grad-CAM


@exercise("cam.gradcam_weights", "alpha", "model", "x", "c", notebook="06")
def check_gradcam_weights(got: Any, model: nn.Module, x: torch.Tensor,
                          target: int | None = None, layer: str | None = None) -> Expect:
    """Grad-CAM's channel weights ``alpha_k = mean_ab dy_c/dA_k(a, b)``, shape ``(K,)``."""
    rec = record_layer(model, x, target, layer)
    slips = [
        (rec.activation.mean(dim=(1, 2)),
         "these are the mean ACTIVATIONS; the weights are the mean GRADIENTS dy_c/dA."),
        (rec.gradient.clamp(min=0).mean(dim=(1, 2)),
         "you dropped the negative gradients before averaging; Grad-CAM averages the signed "
         "gradient (Grad-CAM++ is the method that keeps only positive ones)."),
    ]
    return Expect(rec.gradient.mean(dim=(1, 2)), slips, rtol=1e-4, atol_rel=1e-6,
                  precision=x.dtype,
                  magnitude=float(rec.gradient.abs().mean(dim=(1, 2)).max()),
                  hints={"shape_unreduced": "average over the two spatial axes: "
                                            "grad.mean(dim=(1, 2)) for a (K, h, w) tensor.",
                         "factor": "a factor of h*w: the weight is the MEAN of the gradient "
                                   "over positions, not the sum.",
                         "values": "differentiate the logit y_c of the class you explain (not "
                                   "the softmax, not another class) with respect to the "
                                   "recorded activations."})


@exercise("cam.gradcam_map", "gradcam_map", "model", "x", "c", notebook="06")
def check_gradcam(got: Any, model: nn.Module, x: torch.Tensor, target: int | None = None,
                  layer: str | None = None) -> Expect:
    """The Grad-CAM map ``ReLU(sum_k alpha_k A_k)`` of shape ``(h, w)``, not normalised."""
    rec = record_layer(model, x, target, layer)
    alpha = rec.gradient.mean(dim=(1, 2))
    raw = torch.einsum("k,khw->hw", alpha, rec.activation)
    slips = [(raw, "the map has negative values: Grad-CAM keeps only the positive evidence with "
                   "a ReLU (torch.relu or .clamp(min=0)).")]
    return Expect(raw.clamp(min=0), slips, rtol=1e-4, atol_rel=1e-5, precision=x.dtype,
                  magnitude=_terms(alpha, rec),
                  hints={"factor": "did you use the SUM of the gradients instead of their mean "
                                   "(a factor h*w)?",
                         "shape_unreduced": "sum the weighted maps over the channel axis.",
                         "values": "weights = spatial mean of dy_c/dA; map = ReLU of the "
                                   "weighted sum of the activations over channels."})


def has_gap_head(model: nn.Module, x: torch.Tensor) -> bool:
    """Whether the model's logits are its last linear layer applied to the spatial mean of the
    default layer's activations (a GAP + linear head), checked numerically."""
    rec = record_layer(model, x, grad=False)
    fc = last_linear(model)
    if fc.in_features != rec.activation.shape[0]:
        return False
    again = rec.activation.mean(dim=(1, 2)) @ fc.weight.detach().double().T
    if fc.bias is not None:
        again = again + fc.bias.detach().double()
    return bool(torch.allclose(again, rec.logits, rtol=1e-3,
                               atol=1e-3 * float(rec.logits.abs().max())))


GRADIENT_SHAPES = ("the same at every position", "largest where the activation is largest",
                   "zero outside the bird")


@exercise("cam.gap_gradient", "gap_gradient", "models", "x", notebook="06", prediction=True)
def check_gap_gradient(got: Any, models: Mapping[str, nn.Module], x: torch.Tensor) -> Expect:
    """Predict what the gradient ``dy_c/dA_k(a, b)`` of a GAP + linear head looks like inside
    one channel (one of :data:`GRADIENT_SHAPES`). Measured here on every course model with such
    a head: the largest spread of the gradient inside a channel."""
    spreads = {}
    for name, m in models.items():
        if has_gap_head(m, x):
            g = record_layer(m, x).gradient.flatten(1)
            spreads[name] = float((g.amax(dim=1) - g.amin(dim=1)).max() / g.abs().max())
    if not spreads:
        raise ValueError("none of the models has a GAP + linear head")
    outcome = GRADIENT_SHAPES[0] if max(spreads.values()) < 1e-5 else GRADIENT_SHAPES[1]
    why = ("y_c = sum_k W[c, k] (1 / hw) sum_ab A_k(a, b) + b_c is linear in every A_k(a, b) "
           "with the same coefficient W[c, k] / (hw), whatever the image: the gradient is one "
           "number per channel, and its mean alpha_k is W[c, k] / (hw). That is why Grad-CAM "
           "equals CAM / (hw) on such a head (next section).")
    return Expect(outcome, judge=check_choice, choices=GRADIENT_SHAPES, why=why,
                  details=[f"{n}: largest spread inside a channel {s:.1e} of the largest "
                           "|gradient|" for n, s in spreads.items()])


@exercise("cam.guided_gradcam", "guided_gradcam", "model", "x", "c", notebook="06")
def check_guided_gradcam(got: Any, model: nn.Module, x: torch.Tensor,
                         target: int | None = None, layer: str | None = None) -> Expect:
    """Guided Grad-CAM ``(3, H, W)``: guided backpropagation times the Grad-CAM map upsampled
    bilinearly to ``(H, W)`` (``align_corners=False``) and min-max scaled to [0, 1]."""
    rec = record_layer(model, x, target, layer)
    cam = torch.einsum("k,khw->hw", rec.gradient.mean(dim=(1, 2)), rec.activation).clamp(min=0)
    up = F.interpolate(cam[None, None], size=tuple(x.shape[-2:]), mode="bilinear",
                       align_corners=False)[0, 0]
    span = up.max() - up.min()
    up = (up - up.min()) / span if span > 0 else torch.zeros_like(up)
    guided = guided_backprop_reference(model, x, rec.target)
    slips = [
        (guided * (up > 0.5), "you thresholded the Grad-CAM map; Guided Grad-CAM multiplies by "
                              "its values."),
        (guided, "this is guided backpropagation alone: multiply it by the upsampled Grad-CAM "
                 "map."),
    ]
    return Expect(guided * up, slips, rtol=1e-3, atol_rel=1e-4, precision=x.dtype,
                  hints={"factor": "scale the upsampled Grad-CAM map to [0, 1] (min-max) before "
                                   "multiplying: use the saliency of the Grad-CAM explanation.",
                         "shape_overreduced": "keep the three colour channels of guided "
                                              "backprop: (3, H, W) times the (H, W) map.",
                         "pattern": "upsample with bilinear interpolation (align_corners=False) "
                                    "to the image size.",
                         "values": "multiply the guided backprop attribution (3, H, W) by the "
                                   "upsampled, min-max scaled Grad-CAM map (H, W) of the same "
                                   "class."})


# ------------------------------------------------------------- 06 · is the part needed?


def _quadrant_shares(saliency: Any, box: Any, swap: bool = False) -> dict[str, float]:
    """Saliency summed over each quadrant of ``box`` = (x0, y0, x1, y1), cut at its centre.
    ``swap`` indexes the map as ``[x, y]`` (the row/column slip)."""
    s = np.asarray(saliency, dtype=np.float64)
    x0, y0, x1, y1 = (int(v) for v in box)
    xm, ym = (x0 + x1) // 2, (y0 + y1) // 2
    rows = {"top": slice(y0, ym), "bottom": slice(ym, y1)}
    cols = {"left": slice(x0, xm), "right": slice(xm, x1)}
    return {f"{v}-{h}": float((s[cols[h], rows[v]] if swap else s[rows[v], cols[h]]).sum())
            for v in rows for h in cols}


def _hidden_top_class(model: nn.Module, scene: Any, quadrant: str) -> int:
    """The model's top class for the scene with ``quadrant`` of its first bird's box replaced by
    the scene's own background."""
    from ..data import load_image
    from ..data.training import hide_quadrant, scene_background

    background = scene_background(scene.kind, scene.species, scene.image.size, scene.seed,
                                  scene.background)
    hidden = hide_quadrant(np.asarray(scene.image.convert("RGB")), background, scene.boxes[0],
                           quadrant)
    return top_class(model, load_image(hidden)[0].to(next(model.parameters()).device))


_TRANSPOSED = {"top-right": "bottom-left", "bottom-left": "top-right"}


@exercise("cam.occlusion", "quadrant", "still_right", "model", "scene", "saliency", answers=2,
          notebook="06")
def check_occlusion(quadrant: Any, still_right: Any, model: nn.Module, scene: Any,
                    saliency: Any) -> Feedback:
    """``quadrant``, the quadrant of the bird's box (``scene.boxes[0]``, cut at its centre) that
    holds the most of ``saliency`` (H, W); ``still_right``, whether the model's top class stays
    the same when that quadrant is replaced by the scene's background."""
    from ..data import load_image

    shares = _quadrant_shares(saliency, scene.boxes[0])
    expected_q = max(shares, key=shares.get)
    fb = check_equal("quadrant", quadrant, expected_q, hints={
        "values": "sum the saliency inside each quadrant of the box and take the largest"})
    if not fb.ok:
        details = [", ".join(f"{q} {v:.4g}" for q, v in shares.items())]
        swapped = _quadrant_shares(saliency, scene.boxes[0], swap=True)
        if quadrant == min(shares, key=shares.get):
            return Feedback(False, "that quadrant holds the LEAST saliency; take the largest sum.",
                            details, "quadrant")
        if swapped and quadrant == max(swapped, key=swapped.get):
            return Feedback(False, "rows and columns are swapped: you indexed the map as "
                                   "saliency[x, y]. An image array is indexed [row, column] = "
                                   "[y, x], so the box's rows are y0:y1 and its columns x0:x1.",
                            details, "quadrant")
        if quadrant == _TRANSPOSED.get(expected_q):
            return Feedback(False, "rows and columns are swapped: 'top' and 'bottom' are rows "
                                   "(y), 'left' and 'right' are columns (x).", details, "quadrant")
        return fb
    clean = top_class(model, load_image(scene.image)[0].to(next(model.parameters()).device))
    expected_right = _hidden_top_class(model, scene, expected_q) == clean
    return check_equal("still_right", still_right, expected_right, hints={
        "values": "hide the quadrant with hide_quadrant(image, background, box, quadrant), run "
                  "the model on load_image of the result and compare its top class with c"})
