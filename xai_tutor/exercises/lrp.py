"""Checks for notebook 04 (Layer-wise Relevance Propagation).

The expected values are computed here in float64 straight from the formulas (Bach et al. 2015;
Montavon et al. 2019, "Layer-wise relevance propagation: an overview"), not with
:mod:`xai_tutor.methods.lrp`:

* the epsilon rule for one dense layer ``z_k = sum_j a_j W_kj + b_k``::

      R_j = a_j * sum_k W_kj * R_k / (z_k + eps * sign(z_k))       (sign(0) = +1)

* BatchNorm folded into the convolution before it (eval mode)::

      W'[o] = W[o] * gamma_o / sqrt(var_o + eps_bn)
      b'_o  = (b_o - mu_o) * gamma_o / sqrt(var_o + eps_bn) + beta_o

* the proportional split of relevance at a residual sum ``y = branch + shortcut``::

      R_branch = branch * R / y,   R_shortcut = shortcut * R / y       (0 where y = 0)

Each check accepts a right answer, then recognises the usual slips (no epsilon, epsilon without
the sign, the bias left out of ``z``, the factor ``a_j`` forgotten, the variance instead of the
standard deviation, the shift ``beta`` or the mean forgotten, the two shares swapped ...) and says
which one it is.

Example::

    >>> import torch
    >>> a, W, b = torch.rand(3), torch.randn(2, 3), torch.zeros(2)
    >>> R = torch.tensor([1.0, 0.0])
    >>> check_epsilon_rule(None, a, W, b, R, 0.1).ok
    False
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..numerics import safe_divide, stabilise
from .core import Expect, exercise
from .feedback import Feedback, _close, check_choice, check_with_slips

__all__ = [
    "check_epsilon_rule",
    "check_large_epsilon",
    "check_fold_batchnorm",
    "check_residual_split",
]


def _f64(t: Any) -> torch.Tensor:
    return torch.as_tensor(t).detach().to("cpu", torch.float64)


# ------------------------------------------------------------------------------ expected values


def _expected_epsilon_rule(
    a: Any, W: Any, b: Any, R: Any, eps: float
) -> torch.Tensor:
    """LRP-epsilon for one dense layer: ``a (J,)``, ``W (K, J)``, ``b (K,)``, ``R (K,)`` ->
    ``R_in (J,)`` in float64."""
    a, W, b, R = _f64(a), _f64(W), _f64(b), _f64(R)
    z = W @ a + b
    return a * (W.T @ (R / stabilise(z, float(eps))))


def _expected_fold_batchnorm(
    conv: nn.Conv2d, bn: nn.BatchNorm2d
) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight ``(O, I, kh, kw)`` and bias ``(O,)`` of the conv equal to ``bn(conv(x))``, float64."""
    W = _f64(conv.weight)
    b = _f64(conv.bias) if conv.bias is not None else torch.zeros(W.shape[0], dtype=torch.float64)
    scale = _f64(bn.weight) / torch.sqrt(_f64(bn.running_var) + bn.eps)
    return W * scale[:, None, None, None], (b - _f64(bn.running_mean)) * scale + _f64(bn.bias)


def _expected_residual_split(
    branch: Any, shortcut: Any, R: Any
) -> tuple[torch.Tensor, torch.Tensor]:
    """The proportional split of ``R`` at ``y = branch + shortcut`` (0 where ``y = 0``)."""
    x1, x2, R = _f64(branch), _f64(shortcut), _f64(R)
    s = safe_divide(R, x1 + x2)
    return x1 * s, x2 * s


# ------------------------------------------------------------------------------ helpers


#: LRP's exercises are small exact computations: tight tolerances, in float64 or the inputs' dtype.
_TIGHT: dict[str, float] = {"rtol": 1e-6, "atol_rel": 1e-7}


def _precision(*values: Any) -> torch.dtype:
    """The lowest precision among the given tensors (float64 for anything else)."""
    dtypes = [v.dtype for v in values if isinstance(v, torch.Tensor) and v.is_floating_point()]
    return min(dtypes, key=lambda d: torch.finfo(d).bits, default=torch.float64)


# ------------------------------------------------------------------------------ checks


@exercise("lrp.epsilon_rule", "R_in", "a", "W", "b", "R", "eps", notebook="04")
def check_epsilon_rule(got: Any, a: Any, W: Any, b: Any, R: Any, eps: float) -> Expect:
    """The input relevance ``R_in (J,)`` of one dense layer under LRP-epsilon.

    ``a (J,)`` is the layer's input, ``W (K, J)`` and ``b (K,)`` its weight and bias (PyTorch's
    layout: ``z = W @ a + b``), ``R (K,)`` the relevance of its outputs and ``eps`` the epsilon.
    """
    a64, W64, b64, R64 = _f64(a), _f64(W), _f64(b), _f64(R)
    expected = _expected_epsilon_rule(a64, W64, b64, R64, eps)
    z = W64 @ a64 + b64
    slips = [
        (a64 * (W64.T @ safe_divide(R64, z)),
         "that is LRP-0: you divided by z_k alone. The epsilon rule divides by "
         "z_k + eps * sign(z_k), which moves every denominator away from zero."),
        (a64 * (W64.T @ (R64 / (z + eps))),
         "you added eps to every z_k; for a negative z_k the stabiliser must push it further "
         "from zero: z_k + eps * sign(z_k) (torch.where(z >= 0, z + eps, z - eps))."),
        (a64 * (W64.T @ (R64 / stabilise(W64 @ a64, eps))),
         "the bias is missing from z_k: z = W @ a + b (the bias takes part in the forward "
         "pass, so it takes its share of the relevance)."),
        (W64.T @ (R64 / stabilise(z, eps)),
         "the factor a_j is missing: each input gets its contribution a_j w_jk, so multiply "
         "W.T @ s by a (elementwise)."),
        (a64 * (W64.T @ R64) / stabilise(W64 @ a64 + b64, eps).sum(),
         "you divided by one total instead of by each output's own z_k: s_k = R_k / stab(z_k) "
         "is a vector with one entry per output k."),
        (a64 * (W64.T @ (R64 * stabilise(z, eps))),
         "you multiplied by z_k instead of dividing: the share of input j is "
         "a_j w_jk / z_k."),
    ]
    return Expect(expected, slips, **_TIGHT, precision=_precision(a, W, b, R),
                  hints={"shape": f"R_in has one entry per input: shape ({a64.numel()},).",
                         "values": "z = W @ a + b; s = R / (z + eps * sign(z)); "
                                   "R_in = a * (W.T @ s)."})


@exercise("lrp.fold_batchnorm", "folded_weight", "folded_bias", "conv", "bn", answers=2,
          notebook="04")
def check_fold_batchnorm(weight: Any, bias: Any, conv: nn.Conv2d, bn: nn.BatchNorm2d) -> Feedback:
    """The weight ``(O, I, kh, kw)`` and bias ``(O,)`` of the convolution that equals
    ``bn(conv(x))`` in eval mode."""
    W = _f64(conv.weight)
    b = _f64(conv.bias) if conv.bias is not None else torch.zeros(W.shape[0], dtype=torch.float64)
    g, beta = _f64(bn.weight), _f64(bn.bias)
    mu, var = _f64(bn.running_mean), _f64(bn.running_var)
    std = torch.sqrt(var + bn.eps)
    exp_w, exp_b = _expected_fold_batchnorm(conv, bn)
    w_slips = [
        (W * (g / (var + bn.eps))[:, None, None, None],
         "you divided by the variance; divide by the standard deviation sqrt(var + eps)."),
        (W * (g * std)[:, None, None, None],
         "you multiplied by the standard deviation; BatchNorm divides by it: "
         "scale = gamma / sqrt(var + eps)."),
        (W / std[:, None, None, None],
         "gamma (bn.weight) is missing from the scale: scale = gamma / sqrt(var + eps)."),
        (W, "the weight is unchanged: every output channel o must be multiplied by "
            "gamma_o / sqrt(var_o + eps)."),
    ]
    precision = _precision(conv.weight, bn.weight)
    fb = check_with_slips("folded_weight", weight, exp_w, w_slips, rtol=1e-5, atol_rel=1e-6,
                          atol=0.0, precision=precision,
                          hints={"shape": "the folded weight has the conv's weight shape; scale "
                                          "it per OUTPUT channel: scale.view(-1, 1, 1, 1).",
                                 "values": "W' = W * (gamma / sqrt(var + eps))"
                                           ".view(-1, 1, 1, 1)"})
    if not fb.ok:
        return fb
    scale = g / std
    b_slips = [
        ((b - mu) * scale, "the shift beta (bn.bias) is missing: b' = (b - mu) * scale + beta."),
        (b * scale + beta, "the running mean is missing: b' = (b - mu) * scale + beta."),
        (b - mu + beta, "the bias must be scaled too: b' = (b - mu) * gamma / sqrt(var + eps) "
                        "+ beta."),
        ((b - mu) * scale - beta, "beta is added, not subtracted: b' = (b - mu) * scale + beta."),
        (b - mu * scale + beta, "the conv's bias b goes through the same scaling as the mean: "
                                "b' = (b - mu) * scale + beta."),
    ]
    fb_b = check_with_slips("folded_bias", bias, exp_b, b_slips, rtol=1e-5, atol_rel=1e-6,
                            atol=1e-9, precision=precision,
                            hints={"shape": "one bias per output channel.",
                                   "values": "b' = (b - mu) * scale + beta, with b = 0 when the "
                                             "conv has no bias."})
    if not fb_b.ok:
        return fb_b
    return Feedback(True, "weight and bias both match: conv' (x) = bn(conv(x)).",
                    fb.details + fb_b.details, "fold_batchnorm")


@exercise("lrp.residual_split", "r_branch", "r_shortcut", "branch", "shortcut", "R_block",
          answers=2, notebook="04")
def check_residual_split(r_branch: Any, r_shortcut: Any, branch: Any, shortcut: Any,
                         R: Any) -> Feedback:
    """Split the relevance ``R`` of ``y = branch + shortcut`` in proportion to each
    term's contribution (same shapes as ``R``; 0 where ``y = 0``)."""
    exp_b, exp_s = _expected_residual_split(branch, shortcut, R)
    x1, x2, R64 = _f64(branch), _f64(shortcut), _f64(R)
    precision = _precision(*(v for v in (branch, shortcut, R) if isinstance(v, torch.Tensor)))
    for name, got, exp, mine in (("r_branch", r_branch, exp_b, x1),
                                 ("r_shortcut", r_shortcut, exp_s, x2)):
        slips = []
        if mine is x1 and _close(r_shortcut, exp_b, **_TIGHT, atol=1e-12):
            slips.append((exp_s, "the two shares are swapped: the branch gets branch * R / y."))
        slips += [
            (R64 / 2, "an equal split ignores how much each term contributed: use "
                      f"{'branch' if mine is x1 else 'shortcut'} * R / (branch + shortcut)."),
            (mine * R64, "you forgot to divide by y = branch + shortcut (the shares must add "
                         "up to R)."),
            (safe_divide(mine, x1.abs() + x2.abs()) * R64,
             "you divided by |branch| + |shortcut|; LRP divides by the sum y itself, "
             "so that the shares add up to R exactly."),
        ]
        fb = check_with_slips(name, got, exp, slips, rtol=1e-5, atol_rel=1e-6,
                              precision=precision,
                              hints={"nan": "where y = 0 the share is 0/0: set it to 0 "
                                            "(torch.where)."})
        if not fb.ok:
            return fb
    total = float((_f64(r_branch) + _f64(r_shortcut)).sum())
    return Feedback(True, f"both shares match; together they hold {total:.6g} of the "
                          f"{float(R64.sum()):.6g} that arrived.", name="residual_split")



LEVELS = ("about the logit", "close to 0", "much larger than the logit")


@exercise("lrp.large_epsilon", "prediction", "net", "x0", "c0", notebook="04", prediction=True)
def check_large_epsilon(got: Any, net: nn.Module, x: torch.Tensor, target: int,
                        eps: float = 100.0) -> Expect:
    """Predict what LRP-epsilon with a large ``eps`` (100) hands down to the pixels of the small
    dense network ``net`` (``Flatten``, then ``Linear`` layers with ReLUs between them): its sum
    is ``"about the logit"``, ``"close to 0"`` or ``"much larger than the logit"``. Computed
    here by hand, layer by layer, in float64."""
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    a, inputs = _f64(x).flatten(), []
    for i, lin in enumerate(linears):
        inputs.append(a)
        z = _f64(lin.weight) @ a + _f64(lin.bias)
        a = torch.relu(z) if i < len(linears) - 1 else z
    R = torch.zeros_like(a)
    R[target] = a[target]
    for lin, a_in in zip(reversed(linears), reversed(inputs)):
        W = _f64(lin.weight)
        R = a_in * (W.T @ (R / stabilise(W @ a_in + _f64(lin.bias), eps)))
    ratio = float(R.sum()) / float(a[target])
    outcome = LEVELS[0] if 0.5 < ratio < 2 else LEVELS[1] if abs(ratio) < 0.1 else LEVELS[2]
    why = (f"with eps = {eps:g}, every denominator z_k + eps sign(z_k) is about {eps:g}, far "
           "larger than z_k: each layer hands down only about z_k / eps of its relevance and "
           "the rest is absorbed. Epsilon trades conservation for sparser, less noisy maps; "
           "a small eps keeps nearly all of it.")
    return Expect(outcome, judge=check_choice, choices=LEVELS, why=why,
                  details=[f"the pixels hold {ratio:.2e} x the logit {float(a[target]):.4f}"])
