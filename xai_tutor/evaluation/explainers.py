"""What the metrics that recompute a map share: the map of a method as a function, and a model
with its learned weights destroyed.

* :func:`explainer`: ``explainer(method, params)(model, x, target) -> map (H, W)`` for a registry
  name (through :func:`xai_tutor.explain`) or a callable returning an Explanation or a map; the
  robustness metrics call it on perturbed inputs, Random Logit for another class, the
  randomisation checks for a randomised model.
* :func:`randomised_copy`: a deep copy of a model whose parameterised layers (the last ``count``
  of them, in definition order; all by default) are re-initialised with ``reset_parameters()``
  (PyTorch's default initialisation; BatchNorm's running statistics reset too) under a fixed
  seed per layer: ``torch.manual_seed(seed * 100003 + i)`` for layer ``i`` of
  :func:`parameterised_layers`, so a layer gets the same random weights whatever ``count`` (the
  cascading stages of one seed are nested). The user's model is never touched and the global
  random state is restored.

Example::

    >>> import torch, xai_tutor
    >>> model = xai_tutor.load_model("tiny_vgg")
    >>> x = torch.randn(1, 3, 64, 64)
    >>> f = explainer("gradcam")
    >>> f(model, x, 0).shape, f(randomised_copy(model), x, 0).shape
    ((64, 64), (64, 64))
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from ._checks import saliency_map

__all__ = ["explainer", "parameterised_layers", "randomised_copy"]

Explainer = Callable[[nn.Module, torch.Tensor, int], np.ndarray]


def _as_map(out: Any) -> np.ndarray:
    """A method's output (an Explanation of one image, or a map) as a float64 ``(H, W)``."""
    return saliency_map(out.saliency[0] if hasattr(out, "saliency") else out)


def explainer(method: str | Callable[..., Any],
              params: Mapping[str, Any] | None = None) -> Explainer:
    """``f(model, x, target) -> map (H, W)`` for a registry name or a callable
    ``method(model, x, target)`` returning an Explanation or a non-negative map."""
    kwargs = dict(params or {})
    if callable(method):
        return lambda m, x, t: _as_map(method(m, x, t, **kwargs))
    from ..api import explain

    return lambda m, x, t: _as_map(explain(m, x, method, target=t, **kwargs))


def parameterised_layers(model: nn.Module) -> list[str]:
    """Dotted names of the modules that own parameters and can ``reset_parameters()``."""
    return [
        name
        for name, m in model.named_modules()
        if name and hasattr(m, "reset_parameters") and any(True for _ in m.parameters(False))
    ]


def randomised_copy(model: nn.Module, count: int | None = None, seed: int = 0) -> nn.Module:
    """A deep copy of ``model`` in eval mode with its last ``count`` parameterised layers (all
    when None) re-initialised; see the module docstring."""
    layers = parameterised_layers(model)
    if not layers:
        raise ValueError("the model has no layer with parameters to randomise")
    count = len(layers) if count is None else count
    if not isinstance(count, int) or not 1 <= count <= len(layers):
        raise ValueError(f"count must be a whole number from 1 to {len(layers)}; got {count!r}")
    clone = copy.deepcopy(model)
    modules = dict(clone.named_modules())
    with torch.random.fork_rng(devices=[]):
        for i, name in enumerate(layers):
            if i < len(layers) - count:
                continue
            torch.manual_seed(seed * 100003 + i)
            modules[name].reset_parameters()
    return clone.eval()
