"""``explain(model, x, "lrp")``: Layer-wise Relevance Propagation (Bach et al. 2015).

LRP explains the logit ``f_c(x)`` of the target class by handing it back through the network,
layer by layer, with the rule ``R_j = sum_k a_j w'_jk / stab(z'_k) R_k`` (see :mod:`.rules`),
starting from ``R = f_c(x)`` at the target output and 0 elsewhere. The relevance that reaches the
pixels is the explanation; it is signed (red = for the class, blue = against). With LRP-0 and no
biases, the total is conserved: ``sum_p R_p = f_c(x)``.

Pipeline: :func:`~.canonizers.canonize` (copy, fold BatchNorm, explicit residual sums) ->
:func:`~.composites.assign_rules` (which rule where) -> one forward pass of the copy and one
relevance pass with :func:`torch.autograd.grad` (see :mod:`.engine`).

Example::

    >>> import torch, torchvision, xai_tutor
    >>> net = torchvision.models.resnet18(weights=None).eval()
    >>> e = xai_tutor.explain(net, torch.rand(1, 3, 64, 64), "lrp", composite="epsilon_plus")
    >>> e.attribution.shape, e.saliency.shape
    (torch.Size([1, 3, 64, 64]), torch.Size([1, 64, 64]))
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ...constants import IMAGENET_MEAN, IMAGENET_STD
from ...explanation import Explanation, normalise_per_image, pixel_map
from ...hooks import model_guard
from ..declarations import Param
from ..registry import register
from ..targets import resolve_target
from .canonizers import CanonicalModel, canonize
from .composites import COMPOSITES, assign_rules, default_composite
from .engine import check_graph

__all__ = ["lrp", "lrp_layerwise"]

Bounds = float | Sequence[float] | torch.Tensor | None

# Models whose canonical copy has already been checked against their own logits, with the
# fingerprint of their weights at that time: a later call on unchanged weights skips the extra
# forward pass of the original model (any in-place change of a weight bumps its version).
_VERIFIED: weakref.WeakKeyDictionary[nn.Module, tuple] = weakref.WeakKeyDictionary()


def _fingerprint(model: nn.Module, images: torch.Tensor) -> tuple:
    tensors = [*model.parameters(), *model.buffers()]
    return (images.dtype, images.device, tuple((t.data_ptr(), t._version) for t in tensors))


# ---- declarations checked on every call (see xai_tutor.methods.registry)


def _check_rules(rules: Any) -> Mapping[Any, Any]:
    if not isinstance(rules, Mapping):
        raise TypeError(f"must be a mapping {{layer name | module type: rule}} or None; got "
                        f"{type(rules).__name__}")
    return rules


def _check_bound(value: Any) -> Any:
    try:
        t = torch.as_tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(
            f"must be a float, one float per channel or a tensor; got {value!r}"
        ) from None
    if t.numel() == 0 or not bool(torch.isfinite(t).all()):
        raise ValueError(f"must hold finite numbers; got {value!r}")
    return value


def _check_box(method: str, params: dict[str, Any]) -> None:
    """The zB box needs ``low < high`` in every channel (defaults: pixels in ``[0, 1]``)."""
    if params.get("low") is None and params.get("high") is None:
        return
    default_low = [(0.0 - m) / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD)]
    default_high = [(1.0 - m) / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD)]
    low = params.get("low")
    high = params.get("high")
    low_t = torch.as_tensor(default_low if low is None else low, dtype=torch.float64).cpu()
    high_t = torch.as_tensor(default_high if high is None else high, dtype=torch.float64).cpu()
    if low_t.dim() == 1 and low_t.numel() == 3 and high_t.dim() > 1:
        low_t = low_t.view(-1, 1, 1)
    if high_t.dim() == 1 and high_t.numel() == 3 and low_t.dim() > 1:
        high_t = high_t.view(-1, 1, 1)
    try:
        ok = bool((low_t < high_t).all())
    except RuntimeError:
        raise ValueError(
            f"{method}: the zB bounds low {tuple(low_t.shape)} and high {tuple(high_t.shape)} do "
            "not broadcast against each other"
        ) from None
    if not ok:
        raise ValueError(
            f"{method}: the zB box needs low < high in every channel; got low={low!r}, "
            f"high={high!r} (None: the normalised pixel range, low={default_low[0]:.3f}.., "
            f"high={default_high[0]:.3f}..)"
        )


_TOL64 = 1e-8


def _max_difference(a: torch.Tensor, b: torch.Tensor) -> tuple[float, float]:
    """``(max |a - b|, 1 + max |b|)``."""
    return float((a.detach() - b).abs().max()), 1.0 + float(b.abs().max())


def exact_check(model: nn.Module, images: torch.Tensor) -> float:
    """Canonize a float64 copy of ``model`` and return the largest logit difference between that
    copy's canonical form and the copy itself on ``images`` (as float64), relative to
    ``1 + max |logit|``; ``inf`` when the float64 forward fails.

    This separates a wrong canonical copy (a structural difference: about as large in float64
    as in float32) from reduced-precision arithmetic (TF32 convolutions on CUDA, bfloat16 or
    float16 weights), whose rounding differences vanish in float64. It costs a float64 copy of
    the weights and two forward passes, and runs only when the check in the working precision
    fails.
    """
    try:
        with torch.no_grad():
            twin = copy.deepcopy(model).to(torch.float64)
            x = images.detach().to(torch.float64)
            reference = twin(x)
            canon = canonize(twin)
            assign_rules(canon, "zero")  # rules change the backward pass only
            canon.use_bias(True)
            diff, scale = _max_difference(canon.model(x), reference)
    except Exception:  # noqa: BLE001 - any failure means the copy cannot be vouched for
        return float("inf")
    return diff / scale


def _propagate(
    canon: CanonicalModel,
    images: torch.Tensor,
    target: Any,
    reference_logits: torch.Tensor | None,
    zero_bias: bool,
    record: bool,
    recheck: Callable[[], float] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[tuple[str, torch.Tensor]]]:
    """Forward the canonical copy, check it against ``reference_logits`` (when given), and run
    the relevance pass back to the pixels. Returns relevance, target, logits and records.

    The check allows ``1e-8`` (float64) or ``1e-3`` (lower precisions) times
    ``1 + max |logit|``. When a lower-precision check fails, ``recheck`` (:func:`exact_check`)
    repeats it in float64: the copy is accepted when the float64 difference is within ``1e-8``,
    so reduced-precision arithmetic (TF32 on CUDA, bfloat16) never refuses a correct copy.
    """
    tol = _TOL64 if images.dtype == torch.float64 else 1e-3

    def verify(out: torch.Tensor) -> None:
        if reference_logits is None:
            return
        diff, scale = _max_difference(out, reference_logits)
        if diff <= tol * scale:
            return
        if images.dtype != torch.float64 and recheck is not None and recheck() <= _TOL64:
            return
        raise ValueError(
            "LRP's canonical copy of the model (BatchNorm folded, residual sums made explicit) "
            f"computes different logits (max difference {diff:.3g}, also in float64); the "
            "model's forward does something xai_tutor cannot see. LRP needs a layer graph it can "
            "see: Sequential stacks and torchvision-style residual blocks"
        )

    if zero_bias:
        canon.use_bias(True)
        with torch.no_grad():
            verify(canon.model(images))
    canon.use_bias(not zero_bias)
    recorder = canon.recorder
    recorder.enabled = record
    recorder.records.clear()
    x = images.detach().clone().requires_grad_(True)
    out = canon.model(x)
    if not isinstance(out, torch.Tensor) or out.dim() != 2:
        raise ValueError("the model must return logits of shape (B, classes)")
    if not zero_bias:
        verify(out)
    check_graph(out)
    target = resolve_target(out.detach() if reference_logits is None else reference_logits, target)
    r_out = torch.zeros_like(out).scatter(1, target[:, None], out.gather(1, target[:, None]))
    r_out = r_out.detach()
    recorder.add("output", r_out)
    try:
        (relevance,) = torch.autograd.grad(out, x, r_out)
    except RuntimeError as err:
        if "inplace" in str(err):
            raise ValueError(
                "the model's forward changes a tensor in place (e.g. F.relu(x, inplace=True) or "
                "x += y) that LRP needs; use out-of-place operations or nn.ReLU modules"
            ) from err
        raise
    recorder.add("input", relevance)
    records = list(recorder.records)
    recorder.enabled = False
    return relevance.detach(), target, out.detach(), records


def _run(
    model: nn.Module,
    images: torch.Tensor,
    target: Any,
    composite: str | None,
    rules: Mapping[Any, Any] | None,
    epsilon: float,
    gamma: float,
    stabilizer: float,
    low: Bounds,
    high: Bounds,
    zero_bias: bool,
    record: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list, dict[str, Any]]:
    """The LRP pass on checked inputs (see :func:`lrp`)."""
    with model_guard(model), torch.enable_grad():
        fingerprint = _fingerprint(model, images)
        trusted = not zero_bias and _VERIFIED.get(model) == fingerprint
        logits = None
        if not trusted:
            with torch.no_grad():
                logits = model(images)
            if not isinstance(logits, torch.Tensor) or logits.dim() != 2:
                raise ValueError("the model must return logits of shape (B, classes)")
            resolve_target(logits, target)  # a bad target fails before any LRP work
        canon = canonize(model)
        comp = default_composite(canon) if composite is None else composite
        summary = assign_rules(
            canon, comp, rules, epsilon=epsilon, gamma=gamma, stabilizer=stabilizer,
            low=low, high=high,
        )
        relevance, tgt, out, records = _propagate(
            canon, images, target, logits, zero_bias, record,
            recheck=lambda: exact_check(model, images),
        )
        if not zero_bias:
            _VERIFIED[model] = fingerprint
        # the copy's logits equal the model's (checked now or on an earlier call, same weights)
        score = (out if logits is None else logits).gather(1, tgt[:, None])[:, 0]
    params: dict[str, Any] = dict(
        composite=comp, epsilon=epsilon, gamma=gamma, stabilizer=stabilizer, low=low,
        high=high, zero_bias=zero_bias, rules=summary,
    )
    return relevance, tgt, score, records, params


@register(
    "lrp",
    family="pixel",
    summary="Layer-wise relevance propagation: the logit handed back layer by layer with rules",
    params=(
        Param("composite", "choice", choices=COMPOSITES, optional=True, explorer=True,
              doc="which rule runs in which layer (None: epsilon_plus with residual blocks, "
              "else epsilon_gamma_box)"),
        Param("rules", "object", optional=True, check_fn=_check_rules,
              doc="per-layer overrides {layer name | container name | module type: rule}"),
        Param("epsilon", "float", low=0.0, slider=(-9.0, 0.0, 0.5), log=True, explorer=True,
              doc="stabiliser of the epsilon rule"),
        Param("gamma", "float", low=0.0, slider=(0.0, 2.0, 0.05), explorer=True,
              doc="weight on positive contributions (gamma rule)"),
        Param("stabilizer", "float", low=0.0, doc="small denominator shift of the other rules"),
        Param("low", "object", optional=True, check_fn=_check_bound,
              doc="zB lower pixel bound: a float, one per channel, or a tensor"),
        Param("high", "object", optional=True, check_fn=_check_bound,
              doc="zB upper pixel bound: a float, one per channel, or a tensor"),
        Param("zero_bias", "bool", doc="explain the network with every bias set to zero"),
        Param("return_layers", "bool", doc="also return the relevance sum per layer"),
    ),
    relations=_check_box,
    title="LRP",
    signed=True,
    notebook="04_lrp",
    position=1,
)
def lrp(
    model: nn.Module,
    images: torch.Tensor,
    target: int | Sequence[int] | torch.Tensor | None = None,
    layer: str | nn.Module | None = None,
    composite: str | None = None,
    rules: Mapping[Any, Any] | None = None,
    epsilon: float = 1e-6,
    gamma: float = 0.25,
    stabilizer: float = 1e-6,
    low: Bounds = None,
    high: Bounds = None,
    zero_bias: bool = False,
    return_layers: bool = False,
) -> Explanation:
    """Layer-wise Relevance Propagation of the target logit down to the input pixels.

    Args:
        model: a ReLU CNN (torchvision VGG/ResNet, the course's tiny models, ...). It is not
            modified: LRP works on a copy with BatchNorm folded and explicit residual sums.
        images: ``(B, 3, H, W)`` normalised images.
        target: class per image (``None``: the top class).
        layer: unused (LRP explains pixels); must be ``None``.
        composite: ``"epsilon_gamma_box"``, ``"epsilon_plus"``, ``"epsilon_plus_flat"``,
            ``"epsilon"`` or ``"zero"`` (see :mod:`xai_tutor.methods.lrp.composites`). ``None``:
            ``"epsilon_plus"`` for models with residual blocks, else ``"epsilon_gamma_box"``.
        rules: per-layer overrides ``{layer name | container name | module type: rule}``.
        epsilon: epsilon of the epsilon rule (dense layers; every layer in ``"epsilon"``).
        gamma: gamma of the gamma rule.
        stabilizer: the small denominator shift of the other rules, pooling and sums.
        low, high: zB pixel bounds (float, per channel, or a tensor broadcastable to the input);
            default: the ImageNet-normalised range of pixels in ``[0, 1]``.
        zero_bias: explain the network with all biases (folded BatchNorm shifts included) set
            to zero, for which LRP-0 conserves relevance exactly.
        return_layers: also store the relevance sum per layer, ``params["layers"]``: a list of
            ``(name, (B,) tensor)`` in the order of the backward pass (``"output"`` first,
            ``"input"`` last).

    Returns:
        :class:`~xai_tutor.Explanation` with ``attribution`` = signed input relevance
        ``(B, 3, H, W)``, ``saliency`` = positive part of its channel sum, min-max scaled per
        image, ``score`` = the target logit of the unmodified model.

    Example::

        >>> import torch, torchvision, xai_tutor
        >>> vgg = torchvision.models.vgg11(weights=None).eval()
        >>> x = torch.rand(1, 3, 64, 64)
        >>> e = xai_tutor.explain(vgg, x, "lrp", composite="epsilon_gamma_box", gamma=0.25)
        >>> tuple(e.attribution.shape)
        (1, 3, 64, 64)
    """
    relevance, tgt, score, records, params = _run(
        model, images, target, composite, rules, epsilon, gamma, stabilizer, low, high,
        zero_bias, return_layers,
    )
    if return_layers:
        params["layers"] = records
    saliency = normalise_per_image(pixel_map(relevance, "positive_sum"))
    return Explanation(
        attribution=relevance,
        saliency=saliency,
        target=tgt,
        score=score,
        method="lrp",
        layer=None,
        params=params,
    )


def lrp_layerwise(
    model: nn.Module,
    images: torch.Tensor,
    target: int | Sequence[int] | torch.Tensor | None = None,
    composite: str | None = None,
    rules: Mapping[Any, Any] | None = None,
    epsilon: float = 1e-6,
    gamma: float = 0.25,
    stabilizer: float = 1e-6,
    low: Bounds = None,
    high: Bounds = None,
    zero_bias: bool = False,
) -> list[tuple[str, torch.Tensor]]:
    """Total relevance per layer: ``[(name, (B,) sums), ...]`` from ``"output"`` to ``"input"``.

    The same pass as :func:`lrp` (and the same checks of every argument), keeping only the sums.

    Each entry is the relevance that the layer ``name`` handed to its input (for a residual
    block's name: the total arriving at the block input). With ``composite="zero"`` and
    ``zero_bias=True`` every entry of a plain chain equals the target logit (conservation).

    Example::

        >>> import torch
        >>> from torch import nn
        >>> _ = torch.manual_seed(0)
        >>> net = nn.Sequential(nn.Flatten(), nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 3))
        >>> x = torch.rand(1, 1, 2, 3)
        >>> totals = [float(t[0]) for _, t in lrp_layerwise(net.double(), x.double(),
        ...                                                  composite="zero", zero_bias=True)]
        >>> max(totals) - min(totals) < 1e-9    # conservation: every layer hands on the logit
        True
    """
    explained = lrp(
        model, images, target=target, composite=composite, rules=rules, epsilon=epsilon,
        gamma=gamma, stabilizer=stabilizer, low=low, high=high, zero_bias=zero_bias,
        return_layers=True,
    )
    return explained.params["layers"]
