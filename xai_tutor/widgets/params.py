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

__all__ = ["ParamSpec", "PARAM_SPECS", "method_params"]


@dataclass(frozen=True)
class ParamSpec:
    """One parameter control.

    ``kind`` is ``"float"`` or ``"int"`` (a slider from ``low`` to ``high`` in ``step``),
    ``"choice"`` (a dropdown over ``choices``) or ``"bool"`` (a checkbox).
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
        if self.kind not in ("float", "int", "choice", "bool"):
            raise ValueError(f"kind must be float, int, choice or bool; got {self.kind!r}")
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

PARAM_SPECS: dict[str, tuple[ParamSpec, ...]] = {
    "smoothgrad": (_BASE, _SIGMA, _N),
    "smoothgradcampp": (_SIGMA, _N),
    "lrp": (
        ParamSpec(
            "composite", "choice", "epsilon_plus", choices=(
                "epsilon", "epsilon_plus", "epsilon_gamma_box", "epsilon_plus_flat",
                "alpha1_beta0", "alpha2_beta1",
            ),
            help="which rule runs in which layer",
        ),
        ParamSpec("epsilon", "float", 0.25, 0.0, 2.0, 0.01, help="stabiliser of the epsilon rule"),
        ParamSpec("gamma", "float", 0.25, 0.0, 2.0, 0.01, help="weight on positive contributions"),
    ),
    "scorecam": (_BATCH,),
    "ablationcam": (_BATCH,),
    "fullgrad": (
        ParamSpec(
            "variant", "choice", "full", choices=("full", "simple"),
            help="full: input-gradient term plus bias terms; simple: bias terms only",
        ),
    ),
}


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
        if spec.kind == "choice" and default not in spec.choices:
            spec = replace(spec, choices=(*spec.choices, default))
        if spec.kind in ("float", "int") and isinstance(default, (int, float)):
            low = min(spec.low, default) if spec.low is not None else spec.low
            high = max(spec.high, default) if spec.high is not None else spec.high
            spec = replace(spec, low=low, high=high)
        out.append(replace(spec, default=default))
    return out
