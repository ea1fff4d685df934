"""LRP rules: how one linear layer hands the relevance of its outputs down to its inputs.

Every rule here has the same shape (Bach et al. 2015, PLoS ONE 10(7):e0130140; Montavon et al.
2019, "Layer-wise relevance propagation: an overview"). For a layer ``z_k = sum_j a_j w_jk + b_k``
with inputs ``a_j`` and output relevance ``R_k``::

    R_j = sum_k  a_j w'_jk / stab(z'_k) * R_k        z'_k = sum_j a_j w'_jk (+ b'_k)

and the rules differ only in the modified weights ``w'`` (and inputs) they use:

=============  ===========================================================================
``zero``       LRP-0: ``w' = w``, ``z' = z``; exact division (a zero ``z_k`` passes nothing).
``epsilon``    LRP-epsilon: ``w' = w``, ``stab(z) = z + eps * sign(z)`` with ``sign(0) = +1``.
``gamma``      LRP-gamma: ``w' = w + gamma * w+`` (the generalised form of Andeol et al. 2021
               for signed inputs: for outputs ``z_k < 0`` the roles of ``w+`` and ``w-`` swap).
``zplus``      z+ = LRP-alpha1-beta0: only positive contributions, ``a+ w+`` (and ``a- w-``).
``zb``         z^B, the box rule for the input layer whose pixels lie in ``[l, h]``:
               ``R_j = sum_k (x_j w_jk - l_j w+_jk - h_j w-_jk) / stab(z'_k) * R_k``.
``flat``       every input gets an equal share of each output it is connected to (``w' = 1``).
=============  ===========================================================================

Implementation: the sum over ``k`` is the transposed layer applied to ``s_k = R_k / stab(z'_k)``
(the gradient of ``sum_k z'_k s_k`` with respect to the input), so a rule is "one modified forward
pass, one division, one transposed pass, one product". The layer hands each rule a
:class:`LinearMap` that knows its forward and transposed operation and caches modified weights
once per call.

Example::

    >>> import torch
    >>> from xai_tutor.methods.lrp.rules import LinearMap, Epsilon
    >>> lin = torch.nn.Linear(3, 2)
    >>> m = LinearMap.from_module(lin, lin.weight.detach(), lin.bias.detach())
    >>> a = torch.rand(1, 3); z = m.forward(a)
    >>> R = Epsilon(1e-9).relevance(m, a, z, z)
    >>> bool(torch.allclose(R.sum(), (z - lin.bias).sum(), atol=1e-5))
    True
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ...constants import IMAGENET_MEAN, IMAGENET_STD
from ...numerics import safe_divide, stabilise

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "stabilise",
    "safe_divide",
    "LinearMap",
    "Rule",
    "Zero",
    "Epsilon",
    "Gamma",
    "ZPlus",
    "ZBox",
    "Flat",
    "make_rule",
    "RULE_NAMES",
]


def _signed(a: torch.Tensor) -> bool:
    """Whether ``a`` has negative entries (then the generalised rules need their second term)."""
    return bool(a.min() < 0)


class LinearMap:
    """The linear part of a layer: ``forward(x, w, b)`` and its transpose ``transpose(s, w, ...)``.

    ``kind`` is ``"conv"`` (``Conv2d`` geometry), ``"linear"`` or ``"pool"`` (average pooling, a
    linear map with fixed non-negative weights, so it has no ``weight``). Modified weights are
    computed once and cached in :meth:`weights`.
    """

    def __init__(
        self,
        kind: str,
        weight: torch.Tensor | None,
        bias: torch.Tensor | None,
        module: nn.Module | None = None,
    ) -> None:
        self.kind = kind
        self.weight = weight
        self.bias = bias
        self.module = module
        self._cache: dict[str, tuple[torch.Tensor, torch.Tensor | None]] = {}
        if kind == "conv":
            assert isinstance(module, nn.Conv2d)
            self.conv_args = (module.stride, module.padding, module.dilation, module.groups)

    @classmethod
    def from_module(
        cls, module: nn.Module, weight: torch.Tensor | None = None, bias: torch.Tensor | None = None
    ) -> LinearMap:
        if isinstance(module, nn.Conv2d):
            return cls("conv", weight, bias, module)
        if isinstance(module, nn.Linear):
            return cls("linear", weight, bias, module)
        if isinstance(module, (nn.AvgPool2d, nn.AdaptiveAvgPool2d)):
            return cls("pool", None, None, module)
        raise TypeError(f"no linear map for {type(module).__name__}")

    # -- modified weights, computed once per call ---------------------------------------------
    def weights(self, key: str, gamma: float = 0.0) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(w', b')`` for ``key`` in plain, pos, neg, gamma_pos, gamma_neg, ones (cached)."""
        if self.weight is None:
            raise ValueError(
                "average pooling has no weights; use the 'zero' or 'epsilon' rule for it"
            )
        cache_key = f"{key}:{gamma}"
        if cache_key not in self._cache:
            w, b = self.weight, self.bias
            if key == "plain":
                out = (w, b)
            elif key == "pos":
                out = (w.clamp(min=0), None if b is None else b.clamp(min=0))
            elif key == "neg":
                out = (w.clamp(max=0), None if b is None else b.clamp(max=0))
            elif key == "gamma_pos":  # w + gamma w+
                bias = None if b is None else b + gamma * b.clamp(min=0)
                out = (w + gamma * w.clamp(min=0), bias)
            elif key == "gamma_neg":  # w + gamma w-
                bias = None if b is None else b + gamma * b.clamp(max=0)
                out = (w + gamma * w.clamp(max=0), bias)
            elif key == "ones":
                out = (torch.ones_like(w), None)
            else:
                raise KeyError(key)
            self._cache[cache_key] = out
        return self._cache[cache_key]

    # -- the two linear operations ---------------------------------------------------------------
    def forward(
        self, x: torch.Tensor, w: torch.Tensor | None = None, b: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The layer's linear operation with weights ``w`` (default: its own) and bias ``b``."""
        if self.kind == "pool":
            return self.module(x)
        if w is None:
            w, b = self.weight, self.bias
        if self.kind == "conv":
            return F.conv2d(x, w, b, *self.conv_args)
        return F.linear(x, w, b)

    def transpose(
        self, s: torch.Tensor, w: torch.Tensor | None, shape: torch.Size
    ) -> torch.Tensor:
        """``c_j = sum_k w_jk s_k``: the transposed operation (the input-gradient of the map)."""
        if self.kind == "linear":
            return s @ w
        if self.kind == "conv":
            stride, padding, dilation, groups = self.conv_args
            if not isinstance(padding, str):
                return torch.nn.grad.conv2d_input(
                    shape, w, s, stride, padding, dilation, groups
                )
        with torch.enable_grad():
            probe = torch.zeros(shape, dtype=s.dtype, device=s.device, requires_grad=True)
            out = self.forward(probe, w, None)
            (grad,) = torch.autograd.grad(out, probe, s)
        return grad


class Rule:
    """Base class: ``relevance(lin, a, z, R)`` returns the input relevance of one layer call.

    ``a`` is the layer input, ``z`` its plain output (bias included), ``R`` the output relevance.
    """

    name = "rule"
    pool_ok = False

    def relevance(
        self, lin: LinearMap, a: torch.Tensor, z: torch.Tensor, R: torch.Tensor
    ) -> torch.Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


class Epsilon(Rule):
    """LRP-epsilon: ``R_j = sum_k a_j w_jk / (z_k + eps sign(z_k)) R_k``; the bias and ``eps``
    absorb some relevance, so the sum is conserved only up to them."""

    name = "epsilon"
    pool_ok = True

    def __init__(self, epsilon: float = 1e-6) -> None:
        if not epsilon >= 0:
            raise ValueError(f"epsilon must be >= 0; got {epsilon!r}")
        self.epsilon = float(epsilon)

    def relevance(self, lin, a, z, R):
        s = safe_divide(R, z, self.epsilon)
        return a * lin.transpose(s, lin.weight, a.shape)


class Zero(Epsilon):
    """LRP-0 (Bach et al. 2015): ``R_j = sum_k a_j w_jk / z_k R_k``; exact division."""

    name = "zero"

    def __init__(self) -> None:
        super().__init__(0.0)


class Gamma(Rule):
    """LRP-gamma: favour positive contributions, ``w' = w + gamma w+`` (Montavon et al. 2019).

    Generalised to signed inputs (Andeol et al. 2021, as in zennit): where ``z_k > 0`` the
    denominator is ``(w + gamma w+) a+ + (w + gamma w-) a- + b + gamma b+``; where ``z_k < 0`` it is
    ``(w + gamma w-) a+ + (w + gamma w+) a- + b + gamma b-``; ``z_k = 0`` passes nothing.
    With non-negative inputs (after a ReLU) only the first term of each remains.
    """

    name = "gamma"

    def __init__(self, gamma: float = 0.25, stabilizer: float = 1e-6) -> None:
        if not gamma >= 0:
            raise ValueError(f"gamma must be >= 0; got {gamma!r}")
        self.gamma = float(gamma)
        self.stabilizer = float(stabilizer)

    def relevance(self, lin, a, z, R):
        wp, bp = lin.weights("gamma_pos", self.gamma)
        wn, bn = lin.weights("gamma_neg", self.gamma)
        signed = _signed(a)
        ap = a.clamp(min=0) if signed else a
        an = a.clamp(max=0) if signed else None
        # relevance sitting on outputs z <= 0 (usually none: a ReLU follows and zeroes it)
        r_off = R.masked_fill(z > 0, 0)
        if bool(r_off.any()):
            branches = [(R - r_off, (wp, bp), wn), (r_off.masked_fill(z == 0, 0), (wn, bn), wp)]
        else:
            branches = [(R, (wp, bp), wn)]
        out = None
        for r, (w1, b1), w2 in branches:
            denom = lin.forward(ap, w1, b1)
            if signed:
                denom = denom + lin.forward(an, w2, None)
            s = safe_divide(r, denom, self.stabilizer)
            part = ap * lin.transpose(s, w1, a.shape)
            if signed:
                part = part + an * lin.transpose(s, w2, a.shape)
            out = part if out is None else out + part
        return out


class ZPlus(Rule):
    """z+ (alpha=1, beta=0): ``R_j = sum_k a_j w+_jk / (sum_j a_j w+_jk + b+_k) R_k``.

    Signed inputs add the other positive products ``a- w-`` (zennit's convention).
    """

    name = "zplus"

    def __init__(self, stabilizer: float = 1e-6) -> None:
        self.stabilizer = float(stabilizer)

    def relevance(self, lin, a, z, R):
        wp, bp = lin.weights("pos")
        signed = _signed(a)
        ap = a.clamp(min=0) if signed else a
        denom = lin.forward(ap, wp, bp)
        if signed:
            wn, _ = lin.weights("neg")
            an = a.clamp(max=0)
            denom = denom + lin.forward(an, wn, None)
        # every term is >= 0 (a+ w+, b+, a- w-), so stab(z) = z + eps needs no sign
        if self.stabilizer > 0:
            s = R / denom.add_(self.stabilizer)
        else:
            s = safe_divide(R, denom, 0.0)
        out = ap * lin.transpose(s, wp, a.shape)
        if signed:
            out = out + an * lin.transpose(s, wn, a.shape)
        return out


def _bound(value: float | Sequence[float] | torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(value, dtype=like.dtype, device=like.device)
    if t.dim() == 1 and like.dim() == 4:
        if t.numel() != like.shape[1]:
            raise ValueError(
                f"zB bounds have {t.numel()} values but the input has {like.shape[1]} channels"
            )
        t = t.view(1, -1, 1, 1)
    return t.expand_as(like)


class ZBox(Rule):
    """z^B (Montavon et al. 2017, deep Taylor decomposition) for the input layer, pixels in [l, h].

    ``R_j = sum_k (x_j w_jk - l_j w+_jk - h_j w-_jk) / stab(sum_j ...) R_k``. The bias cancels
    (``b - b+ - b- = 0``). Default bounds: the ImageNet-normalised range of pixels in ``[0, 1]``,
    ``l_c = (0 - mean_c) / std_c`` and ``h_c = (1 - mean_c) / std_c``.
    """

    name = "zb"

    def __init__(
        self,
        low: float | Sequence[float] | torch.Tensor | None = None,
        high: float | Sequence[float] | torch.Tensor | None = None,
        stabilizer: float = 1e-6,
    ) -> None:
        if low is None:
            low = [(0.0 - m) / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD)]
        if high is None:
            high = [(1.0 - m) / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD)]
        self.low = low
        self.high = high
        self.stabilizer = float(stabilizer)

    def relevance(self, lin, a, z, R):
        w, _ = lin.weights("plain")
        wp, _ = lin.weights("pos")
        wn, _ = lin.weights("neg")
        low, high = _bound(self.low, a), _bound(self.high, a)
        denom = lin.forward(a, w, None) - lin.forward(low, wp, None) - lin.forward(high, wn, None)
        s = safe_divide(R, denom, self.stabilizer)
        return (
            a * lin.transpose(s, w, a.shape)
            - low * lin.transpose(s, wp, a.shape)
            - high * lin.transpose(s, wn, a.shape)
        )


class Flat(Rule):
    """Flat rule: ``R_j = sum_k 1 / (number of inputs of k) R_k``, blind to inputs and weights."""

    name = "flat"

    def __init__(self, stabilizer: float = 1e-6) -> None:
        self.stabilizer = float(stabilizer)

    def relevance(self, lin, a, z, R):
        ones_w, _ = lin.weights("ones")
        ones = torch.ones_like(a)
        s = safe_divide(R, lin.forward(ones, ones_w, None), self.stabilizer)
        return lin.transpose(s, ones_w, a.shape)


RULE_NAMES = ("zero", "epsilon", "gamma", "zplus", "zb", "flat")


def make_rule(
    spec: str | Rule,
    epsilon: float = 1e-6,
    gamma: float = 0.25,
    stabilizer: float = 1e-6,
    low: float | Sequence[float] | torch.Tensor | None = None,
    high: float | Sequence[float] | torch.Tensor | None = None,
) -> Rule:
    """A :class:`Rule` from a name in :data:`RULE_NAMES` (with the call's parameters) or as is."""
    if isinstance(spec, Rule):
        return spec
    if spec == "zero":
        return Zero()
    if spec == "epsilon":
        return Epsilon(epsilon)
    if spec == "gamma":
        return Gamma(gamma, stabilizer)
    if spec in ("zplus", "z+"):
        return ZPlus(stabilizer)
    if spec in ("zb", "zbox"):
        return ZBox(low, high, stabilizer)
    if spec == "flat":
        return Flat(stabilizer)
    raise ValueError(
        f"unknown LRP rule {spec!r}; use one of {', '.join(RULE_NAMES)} or a Rule instance"
    )
