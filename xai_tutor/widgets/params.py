"""The method parameters a widget can set, as a table, and how to read them off a method.

Every method has the same call ``fn(model, images, target=None, layer=None, **params)``; the
``params`` differ. :data:`PARAM_SPECS` says, per registry name, which parameters the explorer
offers and with which control (range, step, choices). :func:`method_params` keeps only the
entries the registered function really accepts (so a renamed parameter can never be passed by
mistake) and takes the default from the function's signature where it has one. A method that is
not in the table gets no extra controls.

Example::

    >>> def fn(model, images, target=None, layer=None, batch_size=8, progress=True): ...
    >>> [(p.name, p.default) for p in method_params("scorecam", fn)]
    [('batch_size', 8)]
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["ParamSpec", "PARAM_SPECS", "NO_LAYER", "AUTO", "method_params"]

#: the choice that stands for ``None`` (the method's automatic default)
AUTO = "auto"


@dataclass(frozen=True)
class ParamSpec:
    """One parameter control.

    ``kind`` is ``"float"`` or ``"int"`` (a slider from ``low`` to ``high`` in ``step``),
    ``"log"`` (a slider over ``10**low .. 10**high``), ``"choice"`` (a dropdown over
    ``choices``) or ``"bool"`` (a checkbox).
    """

    name: str
    kind: str
    default: Any
    low: float | None = None
    high: float | None = None
    step: float | None = None
    choices: tuple[Any, ...] = ()
    help: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("float", "int", "log", "choice", "bool"):
            raise ValueError(f"kind must be float, int, log, choice or bool; got {self.kind!r}")
        if self.kind == "choice" and not self.choices:
            raise ValueError(f"parameter {self.name!r} of kind 'choice' needs choices")


_SIGMA = ParamSpec(
    "sigma", "float", 0.15, 0.0, 0.5, 0.01,
    help="noise std as a fraction of the image range, s = sigma * (max x - min x)",
)
_N = ParamSpec("n", "int", 25, 1, 100, 1, help="noisy copies averaged")
_BATCH = ParamSpec("batch_size", "int", 32, 1, 256, 1, help="masked images per forward pass")
_BASE = ParamSpec(
    "base", "choice", "gradient", choices=("gradient", "guided_backprop", "deconvnet"),
    help="the method whose maps are averaged",
)


def _variant(default: str, *others: str, help: str = "") -> ParamSpec:
    return ParamSpec("variant", "choice", default, choices=(default, *others), help=help)


PARAM_SPECS: dict[str, tuple[ParamSpec, ...]] = {
    "gradient": (
        ParamSpec("times_input", "bool", False, help="gradient x input instead of the gradient"),
    ),
    "smoothgrad": (_BASE, _SIGMA, _N),
    "smoothgradcampp": (_SIGMA, _N),
    "lrp": (
        ParamSpec(
            "composite", "choice", AUTO, choices=(
                AUTO, "epsilon_gamma_box", "epsilon_plus", "epsilon_plus_flat", "epsilon", "zero",
            ),
            help="which rule runs in which layer (auto: epsilon_plus with residual blocks, "
            "else epsilon_gamma_box)",
        ),
        ParamSpec("epsilon", "log", 1e-6, -9.0, 0.0, 0.5, help="stabiliser of the epsilon rule"),
        ParamSpec("gamma", "float", 0.25, 0.0, 2.0, 0.05, help="weight on positive contributions"),
    ),
    "gradcampp": (_variant("paper", "grad-cam", help="weights as in the paper or Grad-CAM's"),),
    "xgradcam": (_variant("paper", "grad-cam", help="weights as in the paper or Grad-CAM's"),),
    "scorecam": (
        _variant("paper", "channel_softmax", help="score of each masked image as published"),
        _BATCH,
    ),
    "ablationcam": (_variant("paper", "abs", help="relative score drop per channel"), _BATCH),
    "fullgrad": (
        _variant("layer", "channel", help="normalise each bias term per layer or per channel"),
    ),
}

#: methods of the CAM family that use every layer and take no ``layer`` argument
NO_LAYER = frozenset({"fullgrad"})


def method_params(name: str, fn: Callable[..., Any]) -> list[ParamSpec]:
    """The entries of :data:`PARAM_SPECS` for ``name`` that ``fn`` accepts, signature defaults.

    A choice default that is not among the choices is added to them.
    """
    specs = PARAM_SPECS.get(name, ())
    if not specs:
        return []
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return list(specs)
    params = signature.parameters
    out = []
    for spec in specs:
        if spec.name not in params:  # only named parameters: **kwargs may go elsewhere
            continue
        default = params[spec.name].default
        if default is inspect.Parameter.empty or default is None:
            out.append(spec)
            continue
        if spec.kind == "log" and not (isinstance(default, (int, float)) and default > 0):
            out.append(spec)
            continue
        if spec.kind == "choice" and default not in spec.choices:
            spec = replace(spec, choices=(*spec.choices, default))
        if spec.kind in ("float", "int") and isinstance(default, (int, float)):
            low = min(spec.low, default) if spec.low is not None else spec.low
            high = max(spec.high, default) if spec.high is not None else spec.high
            spec = replace(spec, low=low, high=high)
        out.append(replace(spec, default=default))
    return out
