"""The method parameters a widget can set, read from the method registry.

Every method has the same call ``fn(model, images, target=None, layer=None, **params)``; the
``params`` differ. Each method declares its parameters in its ``@register(...)`` line
(:class:`xai_tutor.methods.Param`: type, default, allowed range, slider range, whether the
explorer offers it). :data:`PARAM_SPECS` turns those declarations into controls, per registry
name. :func:`method_params` keeps only the entries the registered function really accepts (so a
renamed parameter can never be passed by mistake) and takes the default from the function's
signature where it has one. A method without declared controls gets no extra controls.

Example::

    >>> def fn(model, images, target=None, layer=None, batch_size=8, progress=True): ...
    >>> [(p.name, p.default) for p in method_params("scorecam", fn)]
    [('batch_size', 8)]
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping, Set
from dataclasses import dataclass, replace
from typing import Any

from ..methods import METHODS, Param

__all__ = ["ParamSpec", "PARAM_SPECS", "NO_LAYER", "AUTO", "method_params", "spec_from_param"]

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


def spec_from_param(param: Param) -> ParamSpec:
    """The explorer control for a registry declaration (:class:`xai_tutor.methods.Param`).

    Numbers get a slider over the declaration's ``slider`` range (``"log"`` when ``log=True``),
    a flag a checkbox, a choice a dropdown; an optional choice or an optional whole number whose
    default is ``None`` (= automatic) becomes a dropdown that offers :data:`AUTO` first.
    """
    default = param.default
    if param.kind == "bool":
        return ParamSpec(param.name, "bool", bool(default), help=param.doc)
    if param.kind in ("choice", "object"):
        if not param.choices:
            raise ValueError(f"parameter {param.name!r} has no choices the explorer can offer")
        choices = tuple(param.choices)
        if param.optional:
            choices = (AUTO, *choices)
            default = AUTO if default is None else default
        return ParamSpec(param.name, "choice", default, choices=choices, help=param.doc)
    if param.slider is None:
        raise ValueError(f"parameter {param.name!r} has no slider range for the explorer")
    low, high, step = param.slider
    if param.optional and default is None and param.kind == "int":
        # "automatic" is not a slider position: offer it first, then powers of two in range
        powers = tuple(2**k for k in range(16) if low <= 2**k <= high)
        return ParamSpec(param.name, "choice", AUTO, choices=(AUTO, *powers), help=param.doc)
    kind = "log" if param.log else param.kind
    return ParamSpec(param.name, kind, default, low, high, step, help=param.doc)


def _specs_of(info: Any) -> tuple[ParamSpec, ...]:
    return tuple(spec_from_param(p) for p in getattr(info, "params", ()) if p.explorer)


class _RegistrySpecs(Mapping[str, tuple[ParamSpec, ...]]):
    """``{method: controls}`` read from :data:`xai_tutor.METHODS` on every access (methods
    registered later appear too); only methods with at least one control are listed."""

    def _table(self) -> dict[str, tuple[ParamSpec, ...]]:
        return {name: specs for name, info in METHODS.items() if (specs := _specs_of(info))}

    def __getitem__(self, name: str) -> tuple[ParamSpec, ...]:
        return self._table()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


#: per registry name, the parameters the explorer offers (from the method's declarations)
PARAM_SPECS: Mapping[str, tuple[ParamSpec, ...]] = _RegistrySpecs()


class _NoLayer(Set[str]):
    """CAM-family methods that take no ``layer`` (``takes_layer=False`` in the registry)."""

    def _names(self) -> frozenset[str]:
        return frozenset(
            n for n, i in METHODS.items() if i.family == "cam" and not i.takes_layer
        )

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


#: methods of the CAM family that use every layer and take no ``layer`` argument
NO_LAYER: Set[str] = _NoLayer()


def method_params(name: str, fn: Callable[..., Any]) -> list[ParamSpec]:
    """The entries of :data:`PARAM_SPECS` for ``name`` that ``fn`` accepts, signature defaults.

    A choice default that is not among the choices is added to them.
    """
    specs = _specs_of(METHODS[name]) if name in METHODS else ()
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
