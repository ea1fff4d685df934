"""``explain``: one entry point for every registered method."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from .explanation import Explanation
from .methods import METHODS

__all__ = ["explain"]


def explain(
    model: nn.Module,
    images: torch.Tensor,
    method: str,
    target: int | Sequence[int] | torch.Tensor | None = None,
    layer: str | nn.Module | None = None,
    **params: Any,
) -> Explanation:
    """Explain ``model``'s decision on ``images`` with the registered ``method``.

    Args:
        model: a CNN image classifier returning logits ``(B, classes)``. It is left exactly as it
            was (mode, ``requires_grad``, ``.grad``, hooks), also when the method raises.
        images: ``(B, 3, H, W)`` or ``(3, H, W)`` normalised float tensor on the model's device,
            of the model's dtype. Checked once for every method
            (:func:`~xai_tutor.methods.inputs.check_input`): rank, channels against the model's
            first convolution (channels-last arrays are recognised), dtype and device against
            the model's parameters, finite values; an image too small for the model gives a
            ``ValueError`` with the size it needs instead of torch's ``RuntimeError``.
        method: a name from :data:`xai_tutor.METHODS`, e.g. ``"gradcam"`` or ``"lrp"``.
        target: ``None`` for each image's top class, one int for all images, or one per image.
        layer: for the CAM family, the layer whose activations are weighted; ``None`` picks
            :func:`xai_tutor.methods.default_layer`.
        **params: the method's own parameters (see its docstring and
            ``METHODS[method].params``). Every value is checked against the registry's
            declaration before the method runs (the same checks, with the same messages, as a
            direct call of the method's function, see :mod:`xai_tutor.methods.registry`): an
            unknown name, a value of the wrong type, a non-finite number or a value out of
            range raises ``TypeError``/``ValueError`` naming the method, the parameter, the
            value and the allowed range.
            ``progress=True/False`` is accepted by every method; only the methods with
            ``METHODS[method].supports_progress`` (the ones that loop) show a bar.

    Example::

        >>> import torch, xai_tutor
        >>> model = xai_tutor.load_model("tiny_resnet")
        >>> x = torch.rand(1, 3, 96, 96)
        >>> e = xai_tutor.explain(model, x, "gradcam")
        >>> e.saliency.shape == (1, 96, 96)
        True
    """
    if not isinstance(method, str) or method not in METHODS:
        known = ", ".join(sorted(METHODS))
        raise ValueError(f"unknown method {method!r}; available methods: {known}")
    return METHODS[method](model, images, target=target, layer=layer, **params)
