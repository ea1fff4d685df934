"""Checks for notebook 03 (DeconvNet, guided backpropagation, ReLU backward rules).

The expected values are computed here independently of :mod:`xai_tutor.methods.deconvnet` and of
:mod:`xai_tutor.methods.relu_rules`: unpooling by walking over the pooling windows in NumPy, the
transposed filtering as the vector-Jacobian product of the convolution (autograd of ``conv2d``,
not ``conv_transpose2d``), and the three ReLU rules written out in NumPy.

Example::

    >>> import torch
    >>> from xai_tutor.exercises.deconvnet import check_relu_rules
    >>> x = torch.tensor([1.0, -2.0]); g = torch.tensor([-1.0, 3.0])
    >>> check_relu_rules({"gradient": g * (x > 0), "deconvnet": g.clamp(min=0),
    ...                   "guided": g * (x > 0) * (g > 0)}, x, g).ok
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .core import Expect, exercise
from .feedback import Feedback, _as_array, check_choice, check_with_slips

__all__ = ["check_unpool", "check_transposed_filter", "check_relu_rules", "check_which_step"]


def _expected_unpool(a: torch.Tensor, signal: torch.Tensor, kernel: int = 2) -> np.ndarray:
    """Unpool ``signal`` into the shape of ``a`` through the switches of ``kernel``x``kernel``
    max-pooling (stride = kernel) of ``a``: each value goes to the position of its window's
    maximum (first maximum in row-major order), every other position is 0. NumPy, float64."""
    av, sv = _as_array(a), _as_array(signal)
    out = np.zeros_like(av)
    b, c, h, w = av.shape
    for n in range(b):
        for k in range(c):
            for i in range(h // kernel):
                for j in range(w // kernel):
                    win = av[n, k, i * kernel:(i + 1) * kernel, j * kernel:(j + 1) * kernel]
                    di, dj = np.unravel_index(int(np.argmax(win)), win.shape)
                    out[n, k, i * kernel + di, j * kernel + dj] = sv[n, k, i, j]
    return out


@exercise("deconvnet.unpool", "unpooled", "a", "signal", notebook="03")
def check_unpool(got: Any, a: torch.Tensor, signal: torch.Tensor, kernel: int = 2) -> Expect:
    """Put ``signal`` (the size of the pooled map) back at the switch positions of the
    max-pooling of ``a``; zeros elsewhere; the result has the shape of ``a``."""
    expected = _expected_unpool(a, signal, kernel)
    spread = np.repeat(np.repeat(_as_array(signal), kernel, axis=2), kernel, axis=3)
    h, w = expected.shape[-2:]
    padded = np.zeros_like(expected)
    padded[..., : spread.shape[-2], : spread.shape[-1]] = spread[..., :h, :w]
    slips = [
        (padded, "you copied each value to every position of its window (nearest-neighbour "
                 "upsampling); unpooling puts it only at the switch, the position of the "
                 "window's maximum, and zeros elsewhere."),
        (_as_array(a), "`unpooled` is the input of the pooling layer itself: the non-maximal "
                       "values must be dropped (zeros), and the values put back are those of "
                       "`signal`."),
        (_expected_unpool(a, F.max_pool2d(a.detach().double(), kernel), kernel),
         "you put back the pooled maxima of `a`; put back the values of `signal` (the signal "
         "coming down from the layer above)."),
    ]
    return Expect(expected, slips, rtol=1e-5, atol_rel=0.0, atol=1e-6,
                  hints={"shape": "the result has the shape of the pooling layer's input "
                                  "(`a.shape`), not of the pooled map.",
                         "values": "each window has exactly one non-zero: at the argmax of that "
                                   "window of `a` (switches = indices returned by "
                                   "max_pool2d(..., return_indices=True))."})


def _expected_transposed_filter(signal: torch.Tensor, conv: nn.Conv2d,
                                input_shape: tuple[int, ...]) -> torch.Tensor:
    """The deconvnet's filtering step: ``R = W^T r``, the vector-Jacobian product of the
    convolution (no bias) at an input of ``input_shape``, computed with autograd of ``conv2d``."""
    w = conv.weight.detach().double()
    z = torch.zeros(tuple(input_shape), dtype=torch.float64, requires_grad=True)
    with torch.enable_grad():
        out = F.conv2d(z, w, None, conv.stride, conv.padding, conv.dilation, conv.groups)
        if tuple(out.shape) != tuple(signal.shape):
            raise ValueError(f"signal has shape {tuple(signal.shape)} but the convolution of an "
                             f"input {tuple(input_shape)} gives {tuple(out.shape)}")
        (r,) = torch.autograd.grad(out, z, signal.detach().double())
    return r


@exercise("deconvnet.transposed_filter", "filtered", "r", "conv", "conv_input_shape",
          notebook="03")
def check_transposed_filter(got: Any, signal: torch.Tensor, conv: nn.Conv2d,
                            input_shape: tuple[int, ...]) -> Expect:
    """Filter ``signal`` (at the convolution's output) with the transposed filters of ``conv``
    back to its input shape ``input_shape``."""
    expected = _expected_transposed_filter(signal, conv, input_shape)
    slips = []
    if conv.bias is not None and conv.in_channels == conv.out_channels:
        slips.append((expected + conv.bias.detach().double().reshape(1, -1, 1, 1),
                      "you added the bias: the deconvnet filters with the transposed weights "
                      "only (pass bias=None)."))
    return Expect(expected, slips, rtol=1e-4, atol_rel=0.0, atol=1e-5, precision=signal.dtype,
                  hints={"shape": "use F.conv_transpose2d with the layer's stride and padding; "
                                  "with stride 2 add output_padding so that the size equals the "
                                  "layer's input size.",
                         "shape_order": "conv_transpose2d takes the weight as it is (out, in, "
                                        "kh, kw): do not transpose it yourself.",
                         "values": "use the same weight tensor (conv.weight), the same stride "
                                   "and padding, and no bias."})


def _expected_relu_rules(x: Any, g: Any) -> dict[str, np.ndarray]:
    """The signal passed back through ``y = max(x, 0)`` when ``g`` arrives from above."""
    xv, gv = _as_array(x), _as_array(g)
    return {"gradient": gv * (xv > 0), "deconvnet": np.maximum(gv, 0.0),
            "guided": gv * (xv > 0) * (gv > 0)}


_RULE_SLIPS = {
    "gradient": "the gradient keeps g (with its sign) where the forward input x was positive, "
                "and 0 elsewhere: g * (x > 0).",
    "deconvnet": "the deconvnet ignores x entirely and rectifies the signal: max(g, 0).",
    "guided": "guided backprop combines both masks: g * (x > 0) * (g > 0).",
}


@exercise("deconvnet.relu_rules", "rules", "x1d", "g1d", notebook="03")
def check_relu_rules(got: Any, x: Any, g: Any) -> Feedback:
    """A dict ``{"gradient": ..., "deconvnet": ..., "guided": ...}`` with the signal each rule
    passes back through a ReLU whose forward input was ``x``, given ``g`` from above."""
    if not isinstance(got, Mapping):
        return Feedback(False, "`rules` should be a dict with the keys 'gradient', 'deconvnet' "
                               f"and 'guided'; got a {type(got).__name__}.", name="rules")
    expected = _expected_relu_rules(x, g)
    absent = [k for k in expected if k not in got]
    if absent:
        return Feedback(False, f"`rules` misses the key(s) {absent}.", name="rules")
    for key, value in expected.items():
        slips = [(other_value, f"rules[{key!r}] is the {other!r} rule. " + _RULE_SLIPS[key])
                 for other, other_value in expected.items() if other != key]
        fb = check_with_slips(f"rules[{key!r}]", got[key], value, slips, rtol=1e-6,
                              atol_rel=0.0, atol=1e-6)
        if not fb.ok:
            if not fb.message.startswith(f"rules[{key!r}] is the "):
                fb.details.append(_RULE_SLIPS[key])
            return fb
    return Feedback(True, "all three rules are right: they agree where x > 0 and g > 0 and "
                          "differ only in which other entries they let through.", name="rules")


STEPS = ("max-pooling", "convolution", "ReLU")


@exercise("deconvnet.which_step", "differs", notebook="03", prediction=True)
def check_which_step(got: Any) -> Expect:
    """Predict which layer the DeconvNet passes a signal back through differently from the
    gradient: ``"max-pooling"``, ``"convolution"`` or ``"ReLU"``. Measured here on random data:
    autograd's backward step of each layer against the deconvnet's step."""
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(1, 2, 4, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(3, 2, 3, 3, generator=gen, dtype=torch.float64)
    with torch.enable_grad():
        pooled, switches = F.max_pool2d(a, 2, return_indices=True)
        g = torch.randn(pooled.shape, generator=gen, dtype=torch.float64)
        diff = {"max-pooling": torch.autograd.grad(pooled, a, g)[0]
                - F.max_unpool2d(g, switches, 2, output_size=a.shape[-2:])}
        out = F.conv2d(a, weight, padding=1)
        g = torch.randn(out.shape, generator=gen, dtype=torch.float64)
        diff["convolution"] = (torch.autograd.grad(out, a, g)[0]
                               - F.conv_transpose2d(g, weight, padding=1))
        g = torch.randn(a.shape, generator=gen, dtype=torch.float64)
        diff["ReLU"] = torch.autograd.grad(torch.relu(a), a, g)[0] - g.clamp(min=0)
    size = {k: float(v.abs().max()) for k, v in diff.items()}
    outcome = next(k for k in STEPS if size[k] > 1e-9)
    why = ("max-pooling: both route the signal to the switch (the window's maximum); "
           "convolution: both multiply by the transposed filters W^T; only at a ReLU does the "
           "gradient use the forward pass (g * 1[x > 0]) while the DeconvNet rectifies the signal "
           "(max(g, 0)) and ignores x.")
    return Expect(outcome, judge=check_choice, choices=STEPS, why=why,
                  details=["largest difference, autograd against the deconvnet step: "
                           + ", ".join(f"{k} {v:.2g}" for k, v in size.items())])
