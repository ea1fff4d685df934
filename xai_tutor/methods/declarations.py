"""What a method declares about itself: its parameters (type, default, allowed values) and cost.

Every registered method lists its parameters with :class:`Param` in its ``@register(...)`` line.
Every call of the method (through :func:`xai_tutor.explain` or its module's function) checks every
value against that declaration *before* the method runs,
so a bad value is blamed by name (``lrp: gamma must be a finite float in [0, inf); got inf``)
instead of surfacing later as NaN maps or a torch traceback. The explorer builds its controls
from the same declarations (:mod:`xai_tutor.widgets.param_specs`).

A numeric range is ``[low, high]``; ``low_open`` / ``high_open`` make an end exclusive, ``None``
means unbounded. Every float must be finite, whatever its range. ``optional=True`` lets ``None``
through (it stands for "automatic", e.g. LRP's composite chosen from the architecture).

Cost: :class:`Passes` counts the work of one call per image, from the layer's channel count
and the method's ``n`` / ``batch_size``; :data:`COSTS` holds the three cost models
("one pass", "n passes", "per channel").

Example::

    >>> p = Param("sigma", "float", 0.15, low=0.0, doc="noise")
    >>> p.check("smoothgrad", 0.2)
    0.2
    >>> p.check("smoothgrad", float("inf"))
    Traceback (most recent call last):
    ...
    ValueError: smoothgrad: sigma must be a number >= 0 (not inf or NaN); got inf (sigma: noise)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Param", "Passes", "COSTS", "KINDS", "MISSING"]

#: the kinds of parameter: numbers, flags, a fixed set of choices, seeds, anything else
KINDS = ("float", "int", "bool", "choice", "seed", "object")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: default of a declaration that takes its default from the function's signature
MISSING: Any = _Missing()

#: seeds accepted by ``torch.Generator.manual_seed``
_SEED_LOW, _SEED_HIGH = -(2**63), 2**64 - 1


def _number(value: float | None, fallback: str) -> str:
    if value is None:
        return fallback
    return repr(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass(frozen=True)
class Param:
    """One method parameter: how it is checked and how the explorer offers it.

    Attributes:
        name: keyword name in the method's signature.
        kind: one of :data:`KINDS`. ``"object"`` values are checked by ``check_fn`` only.
        default: the default value (``MISSING``: taken from the signature at registration).
        doc: one line for the docs and the explorer's tooltip.
        low, high: inclusive bounds of a number (``None``: unbounded);
            ``low_open`` / ``high_open`` make them exclusive.
        choices: the allowed values of a ``"choice"``.
        optional: ``None`` is allowed (it means "automatic").
        check_fn: extra check ``f(value) -> value`` raising ``ValueError``/``TypeError`` with a
            message (without the method's name, which is added).
        slider: ``(low, high, step)`` of the explorer's slider for a number the explorer offers;
            ``log=True``: the slider runs over ``10**low .. 10**high``.
        explorer: the explorer shows a control for it (numbers need ``slider``).
    """

    name: str
    kind: str
    default: Any = MISSING
    doc: str = ""
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[Any, ...] = ()
    optional: bool = False
    check_fn: Callable[[Any], Any] | None = None
    slider: tuple[float, float, float] | None = None
    log: bool = False
    explorer: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"parameter {self.name!r}: kind must be one of {KINDS}; "
                             f"got {self.kind!r}")
        if self.kind == "choice" and not self.choices:
            raise ValueError(f"parameter {self.name!r} of kind 'choice' needs choices")
        if self.explorer and self.kind in ("float", "int") and self.slider is None:
            raise ValueError(f"parameter {self.name!r}: the explorer needs a slider range")
        if self.kind == "seed":
            object.__setattr__(self, "low", _SEED_LOW if self.low is None else self.low)
            object.__setattr__(self, "high", _SEED_HIGH if self.high is None else self.high)

    # ------------------------------------------------------------------ description
    def allowed(self) -> str:
        """What the parameter accepts, in words: ``"a number >= 0 (not inf or NaN)"``."""
        none = " or None" if self.optional else ""
        if self.kind in ("float", "int", "seed"):
            return self._numbers() + none
        if self.kind == "bool":
            return f"True or False{none}"
        if self.kind == "choice":
            return f"one of {', '.join(repr(c) for c in self.choices)}{none}"
        return self.doc or "see the method's docstring"

    def _numbers(self) -> str:
        what = "a number" if self.kind == "float" else "an int"
        low, high = self.low, self.high
        if self.kind != "float" and low == 1 and not self.low_open and high is None:
            text = "a positive int"
        elif low is not None and high is not None:
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            text = f"{what} in {left}{_number(low, '')}, {_number(high, '')}{right}"
        elif low is not None:
            text = f"{what} {'>' if self.low_open else '>='} {_number(low, '')}"
        elif high is not None:
            text = f"{what} {'<' if self.high_open else '<='} {_number(high, '')}"
        else:
            text = what
        return text + (" (not inf or NaN)" if self.kind == "float" else "")

    def _fail(self, method: str, value: Any, error: type[Exception] = ValueError) -> Exception:
        about = f" ({self.name}: {self.doc})" if self.doc and self.kind != "object" else ""
        return error(f"{method}: {self.name} must be {self.allowed()}; got {value!r}{about}")

    # ------------------------------------------------------------------ checking
    def check(self, method: str, value: Any) -> Any:
        """``value`` if it is allowed (NumPy scalars become Python numbers), else a clear error.

        ``TypeError`` for a value of the wrong type, ``ValueError`` for one out of range; both
        name ``method``, the parameter, the value and what is allowed.
        """
        if value is None and (self.optional or (self.kind == "object" and self.default is None)):
            return None
        if self.kind == "object":
            if self.check_fn is None:
                return value
            try:
                return self.check_fn(value)
            except (TypeError, ValueError) as err:
                raise type(err)(f"{method}: {self.name} {err}") from None
        if self.kind == "bool":
            if isinstance(value, bool) or type(value).__name__ == "bool_":
                return bool(value)
            raise self._fail(method, value, TypeError)
        if self.kind == "choice":
            try:
                ok = value in self.choices
            except Exception:  # e.g. a tensor compared with strings
                ok = False
            if not ok:
                raise self._fail(method, value)
            return value
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise self._fail(method, value, TypeError)
        if self.kind in ("int", "seed"):
            if not isinstance(value, numbers.Integral):
                raise self._fail(method, value, TypeError)
            value = int(value)
        else:
            value = float(value)
            if not math.isfinite(value):
                raise self._fail(method, value)
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            raise self._fail(method, value)
        if self.high is not None and (
            value > self.high or (self.high_open and value == self.high)
        ):
            raise self._fail(method, value)
        if self.check_fn is not None:
            try:
                value = self.check_fn(value)
            except (TypeError, ValueError) as err:
                raise type(err)(f"{method}: {self.name} {err}") from None
        return value


# ---------------------------------------------------------------------- cost models


@dataclass(frozen=True)
class Passes:
    """The work of one call, per image.

    Attributes:
        forwards: full forward passes of the network.
        backwards: backward passes.
        tail_forwards: forward passes through only the layers after the target layer
            (Ablation-CAM), much cheaper than full ones.
        calls: how many times the network (or its tail) is called, with batching.
    """

    forwards: int
    backwards: int = 0
    tail_forwards: int = 0
    calls: int = 1

    def describe(self) -> str:
        """``"~513 forwards in 66 batches"``, ``"~1 forward/backward pass"``..."""
        if self.forwards <= 1 and self.tail_forwards == 0:
            return "~1 forward/backward pass" if self.backwards else "~1 forward pass"
        parts = []
        if self.backwards and self.backwards >= self.forwards - 1 and not self.tail_forwards:
            parts.append(f"~{self.forwards} forward/backward passes")
        else:
            parts.append(f"~{self.forwards} forward{'s' if self.forwards != 1 else ''}")
            if self.backwards:
                parts.append(f"{self.backwards} backward{'s' if self.backwards != 1 else ''}")
            if self.tail_forwards:
                parts.append(f"{self.tail_forwards} passes through the layers after the target")
        return " + ".join(parts) + f" in {self.calls} batch{'es' if self.calls != 1 else ''}"


def _batches(count: int, batch: int) -> int:
    return -(-max(count, 0) // max(batch, 1))


def one_pass(channels: int, samples: int, batch_size: int) -> Passes:
    """One forward and one backward pass: gradient methods, Grad-CAM family, LRP, FullGrad."""
    del channels, samples, batch_size
    return Passes(1, 1)


def one_forward(channels: int, samples: int, batch_size: int) -> Passes:
    """One forward pass, no backward: CAM."""
    del channels, samples, batch_size
    return Passes(1, 0)


def n_passes(channels: int, samples: int, batch_size: int) -> Passes:
    """SmoothGrad-like: one clean forward, then ``samples`` noisy forward/backward passes."""
    del channels
    return Passes(1 + samples, samples, calls=1 + _batches(samples, batch_size))


def per_channel(channels: int, samples: int, batch_size: int) -> Passes:
    """Score-CAM: one forward, then one forward per channel of the layer (at most)."""
    del samples
    return Passes(1 + channels, 0, calls=1 + _batches(channels, batch_size))


def per_channel_tail(channels: int, samples: int, batch_size: int) -> Passes:
    """Ablation-CAM: one forward, then one pass per channel through the layers after the target."""
    del samples
    return Passes(1, 0, tail_forwards=channels, calls=1 + _batches(channels, batch_size))


#: cost model name -> the estimators that may carry it
COSTS: dict[str, tuple[Callable[..., Passes], ...]] = {
    "one pass": (one_pass, one_forward),
    "n passes": (n_passes,),
    "per channel": (per_channel, per_channel_tail),
}


# ---------------------------------------------------------------------- shared declarations


def samples_param(doc: str = "noisy copies averaged per image") -> Param:
    """``n``: how many noisy copies (SmoothGrad, Smooth Grad-CAM++)."""
    return Param("n", "int", low=1, doc=doc, slider=(1, 100, 1), explorer=True)


def sigma_param() -> Param:
    """``sigma``: noise std as a fraction of each image's value range."""
    return Param(
        "sigma", "float", low=0.0,
        doc="noise std as a fraction of the image range, s = sigma * (max x - min x)",
        slider=(0.0, 0.5, 0.01), explorer=True,
    )


#: the batch size an estimate assumes when a method chooses it itself (``batch_size=None``):
#: Score-CAM's choice on a CPU for images over 256 x 256 pixels (see ``cam.scorecam.auto_batch``)
AUTO_BATCH_ESTIMATE = 8


def batch_param(doc: str, explorer: bool = False, optional: bool = False) -> Param:
    """``batch_size``: images per forward pass (memory against speed); ``optional``: ``None``
    lets the method choose it."""
    return Param("batch_size", "int", low=1, doc=doc, slider=(1, 256, 1), explorer=explorer,
                 optional=optional)


def seed_param() -> Param:
    """``seed``: seed of the noise generator; ``None`` draws from torch's global generator."""
    return Param("seed", "seed", optional=True,
                 doc="seed of the noise generator (None: torch's global generator)")


def variant_param(choices: tuple[str, ...], doc: str, explorer: bool = True) -> Param:
    """``variant``: which published form of a method (the first choice is the default)."""
    return Param("variant", "choice", choices=tuple(choices), doc=doc, explorer=explorer)


def reduce_param() -> Param:
    """``reduce``: how a ``(3, H, W)`` pixel attribution becomes one map."""
    return Param("reduce", "choice", choices=("abs_max", "abs_sum", "positive_sum"),
                 doc="colour channels to one map: max |a_c|, sum |a_c| or max(sum a_c, 0)")
