"""SmoothGrad (Smilkov et al. 2017, "SmoothGrad: removing noise by adding noise").

Gradients of deep networks flicker from pixel to pixel. SmoothGrad averages an explanation over
``n`` noisy copies of the image,

    ``A_smooth(x) = 1/n * sum_{i=1..n} A(x + e_i)``,  ``e_i ~ N(0, s^2)``,
    ``s = sigma * (max x - min x)``,

where ``sigma`` is the noise level as a fraction of the image's value range (the paper finds 10-20%
works well; the range is taken per image over all channels). ``A`` can be any registered method
(``base=``): the plain gradient (the paper's default), ``"guided_backprop"``, ``"deconvnet"``, or
any other entry of :data:`xai_tutor.METHODS` (a CAM method gives SmoothGrad over its maps).

The target class is fixed from the *clean* image, so every noisy copy explains the same class, and
``score`` is the clean image's logit. The noise is drawn image by image, sample by sample, from a
seeded generator, so the result does not depend on ``batch_size`` and image ``b`` of a batch gets
the same noise as when explained alone (with the same seed, as the first image). It is drawn **on
the CPU** (a CPU ``torch.Generator`` seeded with ``seed``, or torch's global CPU generator for
``seed=None``) and then moved to the model's device, so the same seed gives the same noise on a
CPU and on a GPU (CUDA's generator would give different numbers).

Same noise is not same numbers: on NVIDIA GPUs cuDNN convolutions use TF32 by default, which
changes gradient maps by about 1e-2 (relative) against the CPU. For CPU-like results set, before
explaining::

    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False

Saliency: for pixel bases that name their channel reduction (``params["reduce"]``: gradient,
guided backprop, DeconvNet), that reduction of the *averaged* attribution (``max_c |mean A_c|`` by
default); for other bases, the average of the base's saliency maps; min-max scaled per image.

Example::

    >>> import torch, torchvision, xai_tutor
    >>> net = torchvision.models.resnet18(weights=None).eval()
    >>> x = torch.rand(1, 3, 64, 64)
    >>> e = xai_tutor.explain(net, x, "smoothgrad", n=8, sigma=0.15, seed=0, progress=False)
    >>> e.params["base"]
    'gradient'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ..explanation import Explanation, normalise_per_image, pixel_map
from ..hooks import model_guard
from .declarations import Param, batch_param, samples_param, seed_param, sigma_param
from .progress import progress as progress_iter
from .registry import METHODS, register
from .targets import resolve_target

__all__ = ["smoothgrad", "noise_scale", "noise_generator", "draw_noise"]


def noise_scale(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Standard deviation per image, ``sigma * (max - min)``, shaped ``(B, 1, 1, 1)``."""
    flat = images.reshape(images.shape[0], -1)
    span = flat.max(dim=1).values - flat.min(dim=1).values
    return (sigma * span).reshape(-1, 1, 1, 1)


# ---- declarations checked on every call (see xai_tutor.methods.registry)


def _check_base(base: Any) -> str:
    if not isinstance(base, str) or base == "smoothgrad" or base not in METHODS:
        known = ", ".join(sorted(m for m in METHODS if m != "smoothgrad"))
        raise ValueError(f"must be a registered method other than smoothgrad ({known}); "
                         f"got {base!r}")
    return base


def _check_generator(generator: Any) -> torch.Generator:
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"must be a torch.Generator or None; got {generator!r}")
    return generator


def _seed_or_generator(method: str, params: dict[str, Any]) -> None:
    if params.get("seed") is not None and params.get("generator") is not None:
        raise ValueError(f"{method}: pass either seed or generator, not both (seed=None to use "
                         "the generator)")


def _base_params(method: str, params: dict[str, Any], extras: dict[str, Any]) -> dict[str, Any]:
    """Keywords for the base method: checked against the base's own declarations."""
    base = params.get("base", "gradient")
    try:
        return METHODS[base].validate(extras)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{method} with base={base!r}: {err}") from None


def noise_generator(seed: int | None) -> torch.Generator | None:
    """The generator the noise is drawn from: a CPU generator seeded with ``seed``, whatever the
    model's device (``None``: torch's global CPU generator)."""
    return None if seed is None else torch.Generator(device="cpu").manual_seed(seed)


def draw_noise(
    shape: tuple[int, ...], generator: torch.Generator | None, like: torch.Tensor
) -> torch.Tensor:
    """One standard-normal sample drawn on the generator's device (the CPU for ``None`` and for
    :func:`noise_generator`'s), then moved to ``like``'s device and dtype."""
    device = generator.device if generator is not None else torch.device("cpu")
    draw = torch.randn(shape, generator=generator, device=device, dtype=like.dtype)
    return draw.to(like.device)


@register(
    "smoothgrad",
    "pixel",
    "SmoothGrad (Smilkov et al. 2017): any gradient method averaged over noisy copies of the image",
    expensive=True,
    params=(
        Param("base", "object", check_fn=_check_base, explorer=True,
              choices=("gradient", "guided_backprop", "deconvnet"),
              doc="registry name of the method whose maps are averaged (not smoothgrad)"),
        samples_param(),
        sigma_param(),
        batch_param("noisy copies per forward/backward pass"),
        seed_param(),
        Param("generator", "object", optional=True, check_fn=_check_generator,
              doc="a torch.Generator to draw the noise from instead of seed"),
    ),
    progress=True,
    cost="n passes",
    relations=_seed_or_generator,
    extra=_base_params,
    layer_via="base",
    title="SmoothGrad",
    notebook="08_smoothgrad",
    position=1,
)
def smoothgrad(
    model: nn.Module,
    images: torch.Tensor,
    target: int | Sequence[int] | torch.Tensor | None = None,
    layer: str | nn.Module | None = None,
    base: str = "gradient",
    n: int = 25,
    sigma: float = 0.15,
    batch_size: int = 8,
    seed: int | None = 0,
    generator: torch.Generator | None = None,
    progress: bool = True,
    **base_params: Any,
) -> Explanation:
    """Average the ``base`` method's attribution over ``n`` noisy copies of each image.

    Args:
        base: registry name of the method to smooth (``"gradient"`` as in the paper,
            ``"guided_backprop"``, ``"deconvnet"``, a CAM method, ...).
        n: number of noisy samples per image (the paper uses up to 50; 25 keeps CPU time low).
        sigma: noise standard deviation as a fraction of each image's range ``max - min``.
        batch_size: noisy copies per forward/backward pass (memory vs speed).
        seed: seed of a fresh CPU ``torch.Generator`` for the noise (reproducible by default, the
            same noise on every device); ``seed=None`` with ``generator=None`` draws from torch's
            global CPU generator.
        generator: a ``torch.Generator`` to draw from instead of ``seed`` (on its own device).
        progress: show a progress bar over the batches.
        layer, **base_params: passed on to the base method (e.g. ``times_input=True`` for
            ``"gradient"``, ``layer=`` for a CAM base).

    Formula: ``A(x) = 1/n sum_i base(x + N(0, (sigma (max x - min x))^2))``.

    Example::

        e = xai_tutor.explain(model, x, "smoothgrad", base="guided_backprop", n=25)
    """
    x = images.detach()
    info = METHODS[base]
    call_params = dict(base_params)
    if info.accepts_progress:
        call_params["progress"] = False
    run_base = info.unchecked if info.unchecked is not None else info.fn
    if seed is not None:
        generator = noise_generator(seed)

    with model_guard(model), torch.no_grad():
        logits = model(x)
        if not isinstance(logits, torch.Tensor) or logits.dim() != 2:
            raise ValueError("the model must return logits of shape (B, classes)")
        chosen = resolve_target(logits, target)
    score = logits.gather(1, chosen[:, None])[:, 0]
    scale = noise_scale(x, float(sigma))

    # (image, sample) pairs in drawing order, cut into batches
    jobs = [(b, i) for b in range(x.shape[0]) for i in range(n)]
    batches = [jobs[k : k + batch_size] for k in range(0, len(jobs), batch_size)]
    attr_sum: torch.Tensor | None = None
    sal_sum: torch.Tensor | None = None
    last: Explanation | None = None
    bar = progress_iter(batches, progress, desc=f"SmoothGrad ({base})", total=len(batches))
    for chunk in bar:
        idx = torch.tensor([b for b, _ in chunk], device=x.device)
        noise = torch.stack([draw_noise(tuple(x.shape[1:]), generator, x) for _ in chunk])
        noisy = x[idx] + scale[idx] * noise
        last = run_base(model, noisy, target=chosen[idx], layer=layer, **call_params)
        attr = last.attribution.detach()
        sal = last.saliency.detach()
        if attr_sum is None:
            attr_sum = attr.new_zeros((x.shape[0], *attr.shape[1:]))
            sal_sum = sal.new_zeros((x.shape[0], *sal.shape[1:]))
        attr_sum.index_add_(0, idx, attr)
        sal_sum.index_add_(0, idx, sal)
    assert attr_sum is not None and sal_sum is not None and last is not None
    attribution = attr_sum / n
    if info.family == "pixel" and last.params.get("reduce") is not None:
        saliency = normalise_per_image(pixel_map(attribution, last.params["reduce"]))
    else:
        saliency = normalise_per_image(sal_sum / n)
    params = {"base": base, "n": n, "sigma": sigma, "batch_size": batch_size, "seed": seed}
    params.update({f"base_{k}": v for k, v in last.params.items()})
    return Explanation(
        attribution=attribution,
        saliency=saliency,
        target=chosen,
        score=score,
        method="smoothgrad",
        layer=last.layer,
        params=params,
    )

