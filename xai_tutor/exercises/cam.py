"""Checks and solutions for notebooks 05 (CAM) and 06 (Grad-CAM and Guided Grad-CAM).

The expected values are computed here independently of :mod:`xai_tutor.methods.cam`: the layer's
activations are read with a plain forward hook, the gradients with ``torch.autograd.grad``, the
head is taken as the last ``nn.Linear`` of the model, and guided backpropagation is written with
tensor hooks (the gradient arriving at each ReLU output is clamped to be non-negative; the ReLU's
own backward then applies the forward mask), not with :mod:`xai_tutor.methods.relu_rules`.

The passes through the model run in its own dtype, as the learner's do (on a deep model, a float64
pass flips a few ReLUs near 0 and changes the map by more than rounding); the sums after them are
done in float64, and the tolerances of :func:`~xai_tutor.exercises.core.check_with_slips` follow
the dtype of the input (``precision=x.dtype``).

Example::

    >>> from xai_tutor.exercises.cam import check_gradcam_weights
    >>> check_gradcam_weights(None, model, x).ok   # doctest: +SKIP
    False
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..hooks import model_guard
from .core import (
    Feedback,
    _not_answered,
    check_equal,
    check_with_slips,
    exercise_check,
    register_check,
)

__all__ = [
    "LayerRecord",
    "record_layer",
    "last_linear",
    "check_gap_logit",
    "check_cam",
    "check_gradcam_weights",
    "check_gradcam",
    "check_guided_gradcam",
    "check_occlusion",
]


class LayerRecord:
    """Activations ``A (K, h, w)``, gradients ``dy/dA (K, h, w)``, logits and the target class."""

    def __init__(self, activation: torch.Tensor, gradient: torch.Tensor, logits: torch.Tensor,
                 target: int) -> None:
        self.activation = activation
        self.gradient = gradient
        self.logits = logits
        self.target = target


def record_layer(model: nn.Module, x: torch.Tensor, target: int | None = None,
                 layer: str | None = None) -> LayerRecord:
    """One forward/backward pass of the single image ``x`` with a plain forward hook on
    ``layer`` (default ``model.default_layer``). Returns float64 copies."""
    layer = layer or model.default_layer
    module = dict(model.named_modules())[layer]
    kept: dict[str, torch.Tensor] = {}

    def hook(_m: nn.Module, _i: tuple, out: torch.Tensor) -> torch.Tensor:
        kept["A"] = out
        return out.clone()  # an in-place op downstream must not change what we kept

    with model_guard(model), torch.enable_grad():
        leaf = x.detach().clone().requires_grad_(True)
        handle = module.register_forward_hook(hook)
        try:
            logits = model(leaf)
        finally:
            handle.remove()
        c = int(logits[0].argmax()) if target is None else int(target)
        (grad,) = torch.autograd.grad(logits[0, c], kept["A"])
    return LayerRecord(kept["A"][0].detach().double(), grad[0].double(),
                       logits[0].detach().double(), c)


def last_linear(model: nn.Module) -> nn.Linear:
    """The model's last ``nn.Linear`` (the classifier of a GAP + linear head)."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(f"{type(model).__name__} has no nn.Linear layer")
    return linears[-1]


# ------------------------------------------------------------------------------- 05 · CAM


@exercise_check
def check_gap_logit(got: Any, model: nn.Module, x: torch.Tensor, target: int | None = None,
                    layer: str | None = None) -> Feedback:
    """Exercise: the class score ``y_c = sum_k W[c, k] mean_ab A_k(a, b) + b_c`` recomputed from
    the activations and the linear head; it must equal the model's logit."""
    missing = _not_answered("y_c", got)
    if missing is not None:
        return missing
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
    expected = float(rec.logits[rec.target])
    return check_with_slips("y_c", got, expected, slips, rtol=1e-4,
                            atol_rel=1e-4, atol=1e-4,
                            precision=x.dtype,
                            hints={"values": "pool A over its two spatial axes (mean), take the "
                                             "dot product with row c of fc.weight, add "
                                             "fc.bias[c]; c is the class you explain."})


def _cam_weights(rec: LayerRecord, model: nn.Module) -> torch.Tensor:
    return last_linear(model).weight.detach().double()[rec.target]


def _cam_expected(rec: LayerRecord, model: nn.Module) -> torch.Tensor:
    return torch.einsum("k,khw->hw", _cam_weights(rec, model), rec.activation)


def _terms(weights: torch.Tensor, rec: LayerRecord) -> float:
    """``max_ij sum_k |w_k A_k(i, j)|``: the size of the terms a weighted channel sum adds up,
    which sets its rounding error when they cancel."""
    return float(torch.einsum("k,khw->hw", weights.abs(), rec.activation.abs()).max())


@exercise_check
def check_cam(got: Any, model: nn.Module, x: torch.Tensor, target: int | None = None,
              layer: str | None = None) -> Feedback:
    """Exercise: the class activation map ``M_c = sum_k W[c, k] A_k`` of shape ``(h, w)``,
    without ReLU and without normalisation."""
    missing = _not_answered("cam", got)
    if missing is not None:
        return missing
    rec = record_layer(model, x, target, layer)
    expected = _cam_expected(rec, model)
    slips = [
        (expected.clamp(min=0), "you applied a ReLU: CAM (Zhou et al.) keeps the negative "
                                "evidence; Grad-CAM adds the ReLU."),
        (expected / (expected.shape[0] * expected.shape[1]),
         "you divided by h*w: that is Grad-CAM's scale; CAM is the plain weighted sum."),
    ]
    return check_with_slips("cam", got, expected, slips, rtol=1e-4, atol_rel=1e-5, atol=1e-9,
                            precision=x.dtype, magnitude=_terms(_cam_weights(rec, model), rec),
                            hints={"shape_unreduced": "sum over the channel axis k: "
                                                      "torch.einsum('k,khw->hw', w, A) or "
                                                      "(w[:, None, None] * A).sum(0).",
                                   "pattern": "use the weight row of the class you explain "
                                              "(fc.weight[c]), not another class.",
                                   "values": "use the weight row of the class you explain "
                                             "(fc.weight[c]) and the activations of the layer "
                                             "just before global average pooling."})


# --------------------------------------------------------------------------- 06 · Grad-CAM


@exercise_check
def check_gradcam_weights(got: Any, model: nn.Module, x: torch.Tensor,
                          target: int | None = None, layer: str | None = None) -> Feedback:
    """Exercise: Grad-CAM's channel weights ``alpha_k = mean_ab dy_c/dA_k(a, b)``, shape ``(K,)``.
    """
    missing = _not_answered("alpha", got)
    if missing is not None:
        return missing
    rec = record_layer(model, x, target, layer)
    expected = rec.gradient.mean(dim=(1, 2))
    slips = [
        (rec.activation.mean(dim=(1, 2)),
         "these are the mean ACTIVATIONS; the weights are the mean GRADIENTS dy_c/dA."),
        (rec.gradient.clamp(min=0).mean(dim=(1, 2)),
         "you dropped the negative gradients before averaging; Grad-CAM averages the signed "
         "gradient (Grad-CAM++ is the method that keeps only positive ones)."),
    ]
    return check_with_slips("alpha", got, expected, slips, rtol=1e-4, atol_rel=1e-6,
                            precision=x.dtype,
                            magnitude=float(rec.gradient.abs().mean(dim=(1, 2)).max()),
                            hints={"shape_unreduced": "average over the two spatial axes: "
                                                      "grad.mean(dim=(1, 2)) for a (K, h, w) "
                                                      "tensor.",
                                   "factor": "a factor of h*w: the weight is the MEAN of the "
                                             "gradient over positions, not the sum.",
                                   "values": "differentiate the logit y_c of the class you "
                                             "explain (not the softmax, not another class) with "
                                             "respect to the recorded activations."})


@exercise_check
def check_gradcam(got: Any, model: nn.Module, x: torch.Tensor, target: int | None = None,
                  layer: str | None = None) -> Feedback:
    """Exercise: the Grad-CAM map ``ReLU(sum_k alpha_k A_k)`` of shape ``(h, w)``, not
    normalised."""
    missing = _not_answered("gradcam_map", got)
    if missing is not None:
        return missing
    rec = record_layer(model, x, target, layer)
    alpha = rec.gradient.mean(dim=(1, 2))
    raw = torch.einsum("k,khw->hw", alpha, rec.activation)
    expected = raw.clamp(min=0)
    slips = [(raw, "the map has negative values: Grad-CAM keeps only the positive evidence with "
                   "a ReLU (torch.relu or .clamp(min=0)).")]
    return check_with_slips("gradcam_map", got, expected, slips, rtol=1e-4, atol_rel=1e-5,
                            precision=x.dtype, magnitude=_terms(alpha, rec),
                            hints={"factor": "did you use the SUM of the gradients instead of "
                                             "their mean (a factor h*w)?",
                                   "shape_unreduced": "sum the weighted maps over the channel "
                                                      "axis.",
                                   "values": "weights = spatial mean of dy_c/dA; map = ReLU of "
                                             "the weighted sum of the activations over "
                                             "channels."})


def guided_backprop_reference(model: nn.Module, x: torch.Tensor, target: int,
                              dtype: torch.dtype | None = None) -> torch.Tensor:
    """Guided backpropagation ``(3, H, W)``: a tensor hook on every ReLU/ReLU6 output clamps the
    arriving gradient to ``>= 0``; the ReLU's own backward then multiplies by the forward mask.

    Computed in ``dtype`` (default: the dtype of ``x``, the one the learner computes in), on the
    model itself when its parameters already have that dtype (inside :func:`model_guard`, which
    restores the in-place flags and removes the hooks), else on a converted copy. The dtype
    matters on deep models: in float64 a few pre-activations close to 0 change sign compared with
    float32, and every unit that flips changes the map near it by up to a few percent of its
    maximum (VGG16 at 224 x 224: 0.4 %), far more than rounding.
    """
    dtype = x.dtype if dtype is None else dtype
    param = next(model.parameters(), None)
    net = model if param is None or param.dtype == dtype else copy.deepcopy(model).to(dtype)

    def hook(module: nn.Module, _i: tuple, out: torch.Tensor) -> torch.Tensor:
        out = out.clone()  # a fresh tensor to hang the hook on (in-place ReLUs share storage)
        out.register_hook(lambda g: g.clamp(min=0))
        return out

    with model_guard(net), torch.enable_grad():
        for m in net.modules():
            if isinstance(m, (nn.ReLU, nn.ReLU6)):
                m.inplace = False
                m.register_forward_hook(hook)  # removed by model_guard on exit
        leaf = x.detach().to(dtype).clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(net(leaf)[0, target], leaf)
    return grad[0].double()


@exercise_check
def check_guided_gradcam(got: Any, model: nn.Module, x: torch.Tensor,
                         target: int | None = None, layer: str | None = None) -> Feedback:
    """Exercise: Guided Grad-CAM ``(3, H, W)``: guided backpropagation times the Grad-CAM map
    upsampled bilinearly to ``(H, W)`` (``align_corners=False``) and min-max scaled to [0, 1]."""
    missing = _not_answered("guided_gradcam", got)
    if missing is not None:
        return missing
    rec = record_layer(model, x, target, layer)
    alpha = rec.gradient.mean(dim=(1, 2))
    cam = torch.einsum("k,khw->hw", alpha, rec.activation).clamp(min=0)
    up = F.interpolate(cam[None, None], size=tuple(x.shape[-2:]), mode="bilinear",
                       align_corners=False)[0, 0]
    span = up.max() - up.min()
    up = (up - up.min()) / span if span > 0 else torch.zeros_like(up)
    guided = guided_backprop_reference(model, x, rec.target)
    expected = guided * up
    slips = [
        (guided * (up > 0.5), "you thresholded the Grad-CAM map; Guided Grad-CAM multiplies by "
                              "its values."),
        (guided, "this is guided backpropagation alone: multiply it by the upsampled Grad-CAM "
                 "map."),
    ]
    return check_with_slips("guided_gradcam", got, expected, slips, rtol=1e-3, atol_rel=1e-4,
                            precision=x.dtype,
                            hints={"factor": "scale the upsampled Grad-CAM map to [0, 1] "
                                             "(min-max) before multiplying: use the saliency of "
                                             "the Grad-CAM explanation.",
                                   "shape_overreduced": "keep the three colour channels of "
                                                        "guided backprop: (3, H, W) times the "
                                                        "(H, W) map.",
                                   "pattern": "upsample with bilinear interpolation "
                                              "(align_corners=False) to the image size.",
                                   "values": "multiply the guided backprop attribution "
                                             "(3, H, W) by the upsampled, min-max scaled "
                                             "Grad-CAM map (H, W) of the same class."})


# -------------------------------------------------------------------------------- solutions


def _ns_check(fn: Callable[..., Feedback], *names: str) -> Callable[[dict[str, Any]], Feedback]:
    return lambda ns: fn(*(ns[n] for n in names))


# ------------------------------------------------------------- 06 · is the part needed?


def _quadrant_shares(saliency: Any, box: Any) -> dict[str, float]:
    """Saliency summed over each quadrant of ``box`` = (x0, y0, x1, y1), cut at its centre."""
    import numpy as np

    s = np.asarray(saliency, dtype=np.float64)
    x0, y0, x1, y1 = (int(v) for v in box)
    xm, ym = (x0 + x1) // 2, (y0 + y1) // 2
    return {"top-left": float(s[y0:ym, x0:xm].sum()), "top-right": float(s[y0:ym, xm:x1].sum()),
            "bottom-left": float(s[ym:y1, x0:xm].sum()),
            "bottom-right": float(s[ym:y1, xm:x1].sum())}


def _top_class_with_hidden(model: nn.Module, scene: Any, quadrant: str) -> int:
    """The model's top class for the scene's first bird with ``quadrant`` of its box replaced by
    the scene's own background."""
    import numpy as np

    from ..data import load_image
    from ..data.training import hide_quadrant, scene_background

    background = scene_background(scene.kind, scene.species, scene.image.size, scene.seed,
                                  scene.background)
    hidden = hide_quadrant(np.asarray(scene.image.convert("RGB")), background, scene.boxes[0],
                           quadrant)
    x, _ = load_image(hidden)
    with model_guard(model), torch.no_grad():
        return int(model(x.to(next(model.parameters()).device))[0].argmax())


@exercise_check
def check_occlusion(quadrant: Any, still_right: Any, model: nn.Module, scene: Any,
                    saliency: Any) -> Feedback:
    """Exercise: ``quadrant``, the quadrant of the bird's box (``scene.boxes[0]``, cut at its
    centre) that holds the most of ``saliency`` (H, W); ``still_right``, whether the model's top
    class stays the same when that quadrant is replaced by the scene's background."""
    from ..data import load_image

    shares = _quadrant_shares(saliency, scene.boxes[0])
    expected_q = max(shares, key=shares.get)
    lowest = min(shares, key=shares.get)
    fb = check_equal("quadrant", quadrant, expected_q, hints={
        "values": "sum the saliency inside each quadrant of the box and take the largest"})
    if not fb.ok:
        if quadrant == lowest:
            return Feedback(False, "that quadrant holds the LEAST saliency; take the largest sum.",
                            name="quadrant")
        return fb
    x, _ = load_image(scene.image)
    with model_guard(model), torch.no_grad():
        clean = int(model(x.to(next(model.parameters()).device))[0].argmax())
    expected_right = _top_class_with_hidden(model, scene, expected_q) == clean
    return check_equal("still_right", still_right, expected_right, hints={
        "values": "hide the quadrant with hide_quadrant(image, background, box, quadrant), run "
                  "the model on load_image of the result and compare its top class with c"})


register_check("cam.gap_logit", check=_ns_check(check_gap_logit, "y_c", "model", "x", "c"))

register_check("cam.cam_map", check=_ns_check(check_cam, "cam_map", "model", "x", "c"))

register_check(
    "cam.gradcam_weights",
    check=_ns_check(check_gradcam_weights, "alpha", "model", "x", "c"),
)

register_check("cam.gradcam_map", check=_ns_check(check_gradcam, "gradcam_map", "model", "x", "c"))

register_check(
    "cam.guided_gradcam",
    check=_ns_check(check_guided_gradcam, "guided_gradcam", "model", "x", "c"),
)

register_check(
    "cam.occlusion",
    check=_ns_check(check_occlusion, "quadrant", "still_right", "model", "scene", "saliency"),
)
