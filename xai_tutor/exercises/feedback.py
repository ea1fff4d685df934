"""Feedback that says *what* is wrong: the comparisons every exercise check is built from.

* :class:`Feedback` is what every check returns: ``ok`` plus a message for the learner. It is
  truthy when the answer is right, so ``assert check_...(...)`` works, and it shows itself as a
  coloured box in a notebook.
* :func:`check_close` compares a numeric answer with the expected one and diagnoses the usual
  slips: not answered yet, wrong type, a shape that differs (batch dimension, channel not reduced,
  transposed), NaN, the wrong sign, an absolute value too many or too few, a constant factor
  (sum instead of mean), missing normalisation, and the right pattern with wrong values.
* :func:`check_with_slips` accepts a right answer, then names the first of the exercise's *known
  slips* that the answer equals (each a wrong value and the sentence that explains it), and only
  then falls back on :func:`check_close`'s diagnosis. Its tolerances follow the precision the
  answer was computed in (``precision=torch.float32``).
* :func:`check_equal`, :func:`check_shape`, :func:`check_class`, :func:`check_set` and
  :func:`check_choice` (a prediction or a decision, with the reason for its outcome) do the same
  for plain values, shapes, class indices, collections and choices.

The exercises themselves are declared with :func:`xai_tutor.exercises.core.exercise`.

Example::

    >>> import numpy as np
    >>> fb = check_close("weights", -np.ones(3), np.ones(3))
    >>> fb.ok, "sign" in fb.message
    (False, True)
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "Feedback",
    "NOT_ANSWERED",
    "Slip",
    "PRECISION_ULPS",
    "PRECISION_CAP",
    "check_close",
    "check_with_slips",
    "check_equal",
    "check_shape",
    "check_class",
    "check_set",
    "check_choice",
    "not_answered",
    "is_placeholder",
    "one_map",
]

#: Placeholder values that mean "the learner has not written an answer yet".
NOT_ANSWERED = (None, Ellipsis, NotImplemented)


@dataclass
class Feedback:
    """The outcome of a check: ``ok`` and a message saying what is right or wrong, and why.

    ``details`` holds extra lines (numbers, hints); ``answered`` is False while an answer is
    still its placeholder. ``bool(feedback)`` is ``feedback.ok``.
    """

    ok: bool
    message: str
    details: list[str] = field(default_factory=list)
    name: str = ""
    answered: bool = True

    def __bool__(self) -> bool:
        return bool(self.ok)

    def text(self) -> str:
        head = ("Correct" if self.ok else "Not yet") + (f" ({self.name})" if self.name else "")
        lines = [f"{'✅' if self.ok else '❌'} {head}: {self.message}"]
        lines += [f"   - {d}" for d in self.details]
        return "\n".join(lines)

    __str__ = text

    def __repr__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        colour, mark = ("#e6f4ea", "✅") if self.ok else ("#fdecea", "❌")
        head = ("Correct" if self.ok else "Not yet") + (
            f" &mdash; <code>{html.escape(self.name)}</code>" if self.name else "")
        items = "".join(f"<li>{html.escape(d)}</li>" for d in self.details)
        extra = f"<ul style='margin:4px 0'>{items}</ul>" if items else ""
        return (f"<div style='background:{colour};padding:6px 10px;border-radius:4px'>"
                f"{mark} <b>{head}</b>: {html.escape(self.message)}{extra}</div>")

    def raise_if_wrong(self) -> Feedback:
        """Raise ``AssertionError`` with the message when the answer is wrong; return self."""
        if not self.ok:
            raise AssertionError(self.text())
        return self


def image_size(size: Any) -> tuple[int, int]:
    """``(H, W)`` as two ints from any pair (tuple, list, ``torch.Size``), else a clear error."""
    try:
        h, w = (int(s) for s in size)
    except (TypeError, ValueError) as err:
        raise ValueError(f"size must be (H, W); got {size!r}") from err
    return h, w


def one_map(saliency: Any) -> np.ndarray:
    """One saliency map as a float64 ``(H, W)`` array, from a tensor or array with any number of
    leading axes of size 1; else a clear error."""
    if hasattr(saliency, "detach"):
        saliency = saliency.detach().cpu().numpy()
    s = np.asarray(saliency, dtype=np.float64)
    while s.ndim > 2 and s.shape[0] == 1:
        s = s[0]
    if s.ndim != 2:
        raise ValueError(f"the exercise's saliency must be one map (H, W); got shape {s.shape}")
    return s


def is_placeholder(got: Any) -> bool:
    """Whether ``got`` is one of :data:`NOT_ANSWERED` (``None``, ``...``)."""
    return any(got is p for p in NOT_ANSWERED)


def not_answered(name: str, got: Any = None, what: str = "") -> Feedback:
    """The feedback for an answer that is still its placeholder (``what`` says where it is)."""
    where = what or f"`{name}` is still {got!r}"
    return Feedback(False, f"{where}: replace the placeholder with your code and run the cell "
                           "again.", name=name, answered=False)


def _not_answered(name: str, got: Any) -> Feedback | None:
    return not_answered(name, got) if is_placeholder(got) else None


def _as_array(got: Any) -> np.ndarray | None:
    """A float64 NumPy copy of a tensor / array / number / nested list, or None."""
    try:
        import torch

        if isinstance(got, torch.Tensor):
            return got.detach().to("cpu", torch.float64).numpy()
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    if isinstance(got, (bool, str, bytes)) or got is None:
        return None
    try:
        arr = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return arr


def _hint(hints: Mapping[str, str] | None, key: str) -> list[str]:
    if hints and key in hints:
        return [hints[key]]
    return []


def _shape_feedback(name: str, g: tuple[int, ...], e: tuple[int, ...],
                    hints: Mapping[str, str] | None) -> Feedback:
    msg = f"`{name}` has shape {g} but should have shape {e}."
    details: list[str] = []
    key = "shape"
    squeeze_g = tuple(s for s in g if s != 1)
    squeeze_e = tuple(s for s in e if s != 1)
    if squeeze_g == squeeze_e:
        key = "shape_singleton"
        if len(g) > len(e):
            details.append("You have an extra dimension of size 1 (a batch dimension?): "
                           "remove it with .squeeze(dim) or index [0].")
        else:
            details.append("A dimension of size 1 is missing (the batch dimension?): add it "
                           "with .unsqueeze(0) or x[None].")
    elif sorted(squeeze_g) == sorted(squeeze_e):
        key = "shape_order"
        details.append("Same sizes in a different order: the axes are permuted "
                       "(check .permute / .transpose, or (H, W) versus (W, H)).")
        if len(g) != len(e):
            details.append("A dimension of size 1 (the batch dimension?) is also "
                           + ("extra." if len(g) > len(e) else "missing."))
    elif len(g) == len(e) + 1 and any(g[:i] + g[i + 1:] == e for i in range(len(g))):
        key = "shape_unreduced"
        axis = next(i for i in range(len(g)) if g[:i] + g[i + 1:] == e)
        details.append(f"You kept axis {axis} (size {g[axis]}) that should be reduced away: "
                       "did you forget a sum / mean / max over it?")
    elif len(g) + 1 == len(e) and any(e[:i] + e[i + 1:] == g for i in range(len(e))):
        key = "shape_overreduced"
        axis = next(i for i in range(len(e)) if e[:i] + e[i + 1:] == g)
        details.append(f"Axis {axis} (size {e[axis]}) is missing: you reduced over one axis "
                       "too many, or forgot keepdim=True.")
    elif math.prod(g) == math.prod(e):
        key = "shape_reshape"
        details.append("Same number of elements, different layout: a reshape or view went "
                       "wrong.")
    details += _hint(hints, key) or _hint(hints, "shape")
    return Feedback(False, msg, details, name)


def check_close(
    name: str,
    got: Any,
    expected: Any,
    *,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    hints: Mapping[str, str] | None = None,
) -> Feedback:
    """Compare a numeric answer with the expected value and say what is wrong.

    ``got`` and ``expected`` may be tensors, arrays, numbers or nested lists. The answer is right
    when ``|got - expected| <= atol + rtol * |expected|`` everywhere (after both are converted to
    float64). Otherwise the first diagnosis that fits is reported: ``"missing"``, ``"type"``,
    a shape problem, ``"nan"``, ``"sign"``, ``"abs_extra"``, ``"abs_missing"``, ``"factor"``,
    ``"normalise"``, ``"pattern"`` or ``"values"``. ``hints`` maps those keys to an extra sentence
    for this exercise, e.g. ``{"sign": "the gradient of -y points the other way"}``.
    """
    missing = _not_answered(name, got)
    if missing is not None:
        return missing
    g = _as_array(got)
    e = _as_array(expected)
    if e is None:
        raise TypeError(f"expected value for {name!r} must be numeric; got {type(expected)}")
    if g is None or g.dtype == object:
        return Feedback(False, f"`{name}` should be a number or a tensor/array of shape "
                               f"{tuple(e.shape)}, not a {type(got).__name__}.",
                        _hint(hints, "type"), name)
    if g.shape != e.shape:
        if g.size == 1 and e.size == 1:
            g = g.reshape(e.shape)
        else:
            return _shape_feedback(name, tuple(g.shape), tuple(e.shape), hints)
    if not np.isfinite(g).all():
        bad = int((~np.isfinite(g)).sum())
        return Feedback(False, f"`{name}` contains {bad} NaN or infinite value(s): look for a "
                               "division by zero or a log of zero.", _hint(hints, "nan"), name)
    err = np.abs(g - e)
    tol = atol + rtol * np.abs(e)
    if (err <= tol).all():
        worst = float(err.max()) if err.size else 0.0
        return Feedback(True, f"matches the expected value (largest difference {worst:.2g}).",
                        name=name)
    scale = float(np.abs(e).max()) if e.size else 0.0

    def close(a: np.ndarray) -> bool:
        return bool((np.abs(a - e) <= tol).all())

    def fail(key: str, msg: str, details: Iterable[str] = ()) -> Feedback:
        return Feedback(False, msg, list(details) + _hint(hints, key), name)

    numbers = (f"largest difference {float(err.max()):.3g} at index "
               f"{tuple(int(i) for i in np.unravel_index(int(err.argmax()), err.shape))}"
               if err.ndim else f"got {float(g):.6g}, expected {float(e):.6g}")
    if scale > 0 and close(-g):
        return fail("sign", f"`{name}` has the wrong sign: every value is the negative of the "
                            "expected one.", [numbers])
    if (e < -atol).any() and (g >= 0).all() and close(g * np.sign(e)):
        return fail("abs_extra", f"`{name}` looks like the absolute value of the answer: the "
                                 "expected values keep their sign (some are negative).", [numbers])
    if (g < -atol).any() and (e >= 0).all() and close(np.abs(g)):
        return fail("abs_missing", f"`{name}` has negative values where the answer is their "
                                   "absolute value: take .abs() (magnitude, not direction).",
                    [numbers])
    ee = float((e * e).sum())
    if ee > 0:
        k = float((g * e).sum()) / ee
        if k != 0 and abs(k - 1) > 1e-6 and np.abs(g - k * e).max() <= atol + rtol * abs(k) * scale:
            detail = [f"got = {k:.6g} x expected"]
            for count in sorted({int(s) for s in e.shape} | {e.size} | {
                    int(math.prod(e.shape[-2:])) if e.ndim >= 2 else 0}):
                if count > 1 and (abs(k - count) < 1e-3 * count or
                                  abs(1 / k - count) < 1e-3 * count):
                    detail.append(f"{count} is the size of some axes: a sum instead of a mean "
                                  "(or the other way round)?")
                    break
            return fail("factor", f"`{name}` is off by a constant factor of about {k:.4g}.",
                        detail)
    if g.size > 1 and e.size > 1 and np.ptp(e) > 0 and np.ptp(g) > 0:
        a, b = np.polyfit(e.ravel(), g.ravel(), 1)
        affine = a * e + b
        if np.abs(g - affine).max() <= atol + rtol * (abs(a) * scale + abs(b)) and a > 0:
            if np.isclose(e.min(), 0, atol=1e-6) and np.isclose(e.max(), 1, atol=1e-6):
                return fail("normalise", f"`{name}` is not normalised: the expected values are "
                                         "min-max scaled to [0, 1] "
                                         "((m - m.min()) / (m.max() - m.min())).",
                            [f"your range is [{g.min():.4g}, {g.max():.4g}]"])
            if np.isclose(g.min(), 0, atol=1e-6) and np.isclose(g.max(), 1, atol=1e-6):
                return fail("normalise", f"`{name}` is min-max normalised but the raw values "
                                         "are expected: leave out the normalisation.",
                            [f"expected range [{e.min():.4g}, {e.max():.4g}]"])
            return fail("affine", f"`{name}` is a shifted and scaled version of the answer "
                                  f"(about {a:.4g} x expected + {b:.4g}).", [numbers])
        r = float(np.corrcoef(e.ravel(), g.ravel())[0, 1])
        if r > 0.9:
            return fail("pattern", f"`{name}` has the right pattern (correlation {r:.3f}) but the "
                                   "values differ: check the details of the formula.", [numbers])
    return fail("values", f"`{name}` does not match the expected values.", [numbers])


#: A known wrong answer: ``(value, message)`` or ``(value, message, details)``. ``value`` may be a
#: callable without arguments, computed only when the slips before it did not match and the answer
#: has the expected shape (for slips that cost forward passes).
Slip = tuple[Any, str] | tuple[Any, str, Sequence[str]]

#: How many units in the last place of the answer's dtype the tolerances allow at least, relative
#: to the magnitude of the answer: the floor ``PRECISION_ULPS * eps(dtype) * magnitude`` of the
#: absolute tolerance. 256 ulps of float32 are 3.1e-5; of float64, 5.7e-14 (no effect). The floor
#: never exceeds ``PRECISION_CAP`` (1 %: half precision would otherwise accept anything).
PRECISION_ULPS = 256
PRECISION_CAP = 1e-2


def _eps(precision: Any) -> float:
    """Machine epsilon of ``precision`` (a torch or NumPy float dtype); 0 for None."""
    if precision is None:
        return 0.0
    try:
        import torch

        if isinstance(precision, torch.dtype):
            if not precision.is_floating_point:
                raise TypeError(f"precision must be a floating dtype; got {precision}")
            return float(torch.finfo(precision).eps)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    try:
        return float(np.finfo(np.dtype(precision)).eps)
    except (TypeError, ValueError) as err:
        raise TypeError(f"precision must be a float dtype (torch.float32, np.float64, ...); got "
                        f"{precision!r}") from err


def _comparable(g: np.ndarray | None, v: np.ndarray | None) -> tuple[np.ndarray, np.ndarray] | None:
    """``(g, v)`` with one-element arrays brought to one shape; None when they cannot be compared
    (not numeric, other shapes, or not finite)."""
    if g is None or v is None or g.dtype == object or v.dtype == object:
        return None
    if g.shape != v.shape:
        if g.size == 1 and v.size == 1:
            g = g.reshape(v.shape)
        else:
            return None
    if not (np.isfinite(g).all() and np.isfinite(v).all()):
        return None
    return g, v


def _near(g: np.ndarray, v: np.ndarray, rtol: float, atol_rel: float, atol: float) -> bool:
    """``|g - v| <= atol + atol_rel * max|v| + rtol * |v|`` everywhere."""
    scale = float(np.abs(v).max()) if v.size else 0.0
    return bool(np.allclose(g, v, rtol=rtol, atol=atol + atol_rel * scale))


def _close(got: Any, value: Any, rtol: float = 1e-5, atol_rel: float = 0.0,
           atol: float = 1e-8) -> bool:
    """Whether ``got`` equals ``value`` within ``atol + atol_rel * max|value| + rtol * |value|``
    (both numeric, finite and of one shape) -- for checks whose slips are not single values."""
    pair = _comparable(_as_array(got), _as_array(value))
    return pair is not None and _near(pair[0], pair[1], rtol, atol_rel, atol)


def check_with_slips(
    name: str,
    got: Any,
    expected: Any,
    slips: Iterable[Slip] = (),
    *,
    rtol: float = 1e-4,
    atol_rel: float = 1e-5,
    atol: float = 1e-12,
    slip_rtol: float | None = None,
    slip_atol_rel: float | None = None,
    slip_atol: float | None = None,
    precision: Any = None,
    magnitude: float | None = None,
    l2_rtol: float | None = None,
    hints: Mapping[str, str] | None = None,
) -> Feedback:
    """Accept a right answer, else name the known slip it equals, else diagnose it.

    1. The answer is right when ``|got - expected| <= atol_eff + rtol * |expected|`` everywhere,
       with ``atol_eff = atol + max(atol_rel * max|expected|, PRECISION_ULPS * eps * magnitude)``
       (the factor of ``magnitude`` at most ``PRECISION_CAP``):
       ``eps`` is the machine epsilon of ``precision``, the dtype the answer is computed in (a
       learner's float32 answer on a deep model differs from any reference by rounding), and
       ``magnitude`` defaults to ``max|expected|`` (pass the size of the summed terms where they
       cancel). With ``l2_rtol``, an answer with ``||got - expected|| <= l2_rtol ||expected||``
       also counts as right (for maps through ReLUs, where rounding can flip a few units).
    2. Otherwise the slips are tried in order: ``(value, message)`` or ``(value, message,
       details)``; ``value`` may be a callable, computed only when reached and only for an answer
       of the expected shape. A slip fires when the answer equals its value within ``slip_rtol``
       and ``slip_atol_rel * max|value| + slip_atol`` (by default the right answer's tolerances,
       with the same precision floor), and never when the value itself equals the right answer.
    3. Otherwise :func:`check_close`'s diagnosis (sign, factor, shape, ...), with ``hints``.

    Example::

        >>> import numpy as np
        >>> x = np.array([1.0, -2.0, 3.0])
        >>> slips = [(np.abs(x), "you took the absolute value."),
        ...          (lambda: x / 3, "you divided by the length.")]
        >>> check_with_slips("v", x.astype(np.float32), x, slips, precision=np.float32).ok
        True
        >>> check_with_slips("v", x / 3, x, slips).message
        'you divided by the length.'
        >>> check_with_slips("v", -x, x, slips).message
        '`v` has the wrong sign: every value is the negative of the expected one.'
    """
    e = _as_array(expected)
    if e is None:
        raise TypeError(f"expected value for {name!r} must be numeric; got {type(expected)}")
    scale = float(np.abs(e).max()) if e.size else 0.0
    floor = min(PRECISION_ULPS * _eps(precision), PRECISION_CAP)
    size = scale if magnitude is None else float(magnitude)
    atol_eff = atol + max(atol_rel * scale, floor * size)
    fb = check_close(name, got, expected, atol=atol_eff, rtol=rtol, hints=hints)
    if fb.ok or any(got is p for p in NOT_ANSWERED):
        return fb
    g = _as_array(got)
    pair = _comparable(g, e)
    if pair is not None and l2_rtol is not None:
        norm = float(np.linalg.norm(pair[1]))
        diff = float(np.linalg.norm(pair[0] - pair[1]))
        if norm > 0 and diff <= l2_rtol * norm:
            return Feedback(True, f"matches the expected values (relative L2 difference "
                                  f"{diff / norm:.1e}; a few values differ by rounding at ReLU "
                                  "boundaries).", name=name)
    s_rtol = rtol if slip_rtol is None else slip_rtol
    s_atol_rel = atol_rel if slip_atol_rel is None else slip_atol_rel
    s_atol = atol if slip_atol is None else slip_atol
    for slip in slips:
        value, message = slip[0], slip[1]
        details = list(slip[2]) if len(slip) > 2 else []  # type: ignore[misc]
        if g is None:
            break
        if callable(value):
            if g.shape != e.shape:
                continue  # an expensive slip is only worth computing for an answer of the
                # right shape
            value = value()
        v = _as_array(value)
        both = _comparable(g, v)
        if both is None:
            continue
        gv, vv = both
        vscale = float(np.abs(vv).max()) if vv.size else 0.0
        vatol = s_atol + max(s_atol_rel * vscale, floor * vscale)
        right = _comparable(vv, e)
        if right is not None and _near(right[0], right[1], s_rtol, 0.0, vatol):
            continue  # this "slip" is the right answer here: it must never fire
        if _near(gv, vv, s_rtol, 0.0, vatol):
            return Feedback(False, message, details, name)
    return fb


def check_equal(name: str, got: Any, expected: Any,
                hints: Mapping[str, str] | None = None) -> Feedback:
    """Exact comparison for ints, strings, tuples; says how an int or a string differs."""
    missing = _not_answered(name, got)
    if missing is not None:
        return missing
    if got == expected and type(got) is type(expected) or (
            isinstance(got, (int, np.integer)) and isinstance(expected, int)
            and not isinstance(got, bool) and int(got) == expected):
        return Feedback(True, f"{expected!r} is right.", name=name)
    details: list[str] = []
    key = "values"
    if isinstance(expected, int) and not isinstance(expected, bool):
        try:
            gi = got.item() if hasattr(got, "item") else got
        except (ValueError, RuntimeError):
            gi = got
        if isinstance(gi, float) and gi.is_integer():
            gi = int(gi)
        if isinstance(gi, int) and not isinstance(gi, bool):
            if gi == expected:
                return Feedback(True, f"{expected!r} is right.", name=name)
            if abs(gi - expected) == 1:
                key = "off_by_one"
                details.append("off by one: counting from 0 or from 1?")
            elif gi == -expected:
                key = "sign"
                details.append("the sign is wrong")
        else:
            key = "type"
            details.append(f"an integer is expected, not a {type(got).__name__}")
    elif isinstance(expected, str) and isinstance(got, str):
        if got.strip().lower() == expected.strip().lower():
            return Feedback(True, f"{expected!r} is right.", name=name)
    details += _hint(hints, key)
    return Feedback(False, f"`{name}` is {got!r}; that is not the expected value.", details, name)


def check_shape(name: str, got: Any, expected: Sequence[int],
                hints: Mapping[str, str] | None = None) -> Feedback:
    """Check a shape given as a tuple / ``torch.Size`` / list, or the shape of a tensor/array."""
    missing = _not_answered(name, got)
    if missing is not None:
        return missing
    shape = getattr(got, "shape", got)
    try:
        g = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        return Feedback(False, f"`{name}` should be a shape such as {tuple(expected)}, or a "
                               f"tensor; got a {type(got).__name__}.", name=name)
    e = tuple(int(s) for s in expected)
    if g == e:
        return Feedback(True, f"the shape {e} is right.", name=name)
    fb = _shape_feedback(name, g, e, hints)
    if len(g) == len(e):
        wrong = [f"axis {i}: {a} instead of {b}" for i, (a, b) in enumerate(zip(g, e)) if a != b]
        fb.details.append("; ".join(wrong))
    return fb


def check_class(name: str, got: Any, expected: int, class_names: Sequence[str] | None = None,
                scores: Any = None, hints: Mapping[str, str] | None = None) -> Feedback:
    """Check a predicted class index. With ``scores`` (the logits) the feedback says whether the
    answer is the lowest class (argmin) or the second best."""
    missing = _not_answered(name, got)
    if missing is not None:
        return missing
    if hasattr(got, "numel") and got.numel() == 1 or isinstance(got, np.ndarray) and got.size == 1:
        got = got.item()
    if isinstance(got, str) and class_names is not None:
        if got in class_names:
            got = list(class_names).index(got)
        else:
            return Feedback(False, f"{got!r} is not a class name of this model.", name=name)
    if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
        return Feedback(False, f"`{name}` should be a class index (an int), not a "
                               f"{type(got).__name__}; .item() turns a one-element tensor into "
                               "an int.", _hint(hints, "type"), name)
    got = int(got)

    def label(i: int) -> str:
        if class_names is not None and 0 <= i < len(class_names):
            return f"{i} ({class_names[i]})"
        return str(i)

    if got == expected:
        return Feedback(True, f"class {label(expected)} is right.", name=name)
    details = []
    key = "class"
    if scores is not None:
        s = _as_array(scores).reshape(-1)
        order = np.argsort(-s)
        if got == int(order[-1]):
            key = "argmin"
            details.append("that is the class with the LOWEST score: argmax, not argmin")
        elif len(order) > 1 and got == int(order[1]):
            key = "second"
            details.append("that is the runner-up; the top class has the highest score")
        elif not 0 <= got < len(s):
            key = "range"
            details.append(f"the model has only {len(s)} classes (0..{len(s) - 1})")
    details += _hint(hints, key)
    return Feedback(False, f"`{name}` is class {label(got)} but the expected class is "
                           f"{label(expected)}.", details, name)


def check_set(name: str, got: Any, expected: Iterable[Any],
              reasons: Mapping[Any, str] | None = None, key: Callable[[Any], Any] | None = None,
              hints: Mapping[str, str] | None = None) -> Feedback:
    """Compare collections regardless of order: list what is missing and what does not belong.

    ``reasons`` maps an item to the sentence explaining why it belongs (or does not); ``key``
    normalises items before comparison (e.g. ``str.lower``).
    """
    missing = _not_answered(name, got)
    if missing is not None:
        return missing
    if isinstance(got, (str, bytes)) or not isinstance(got, Iterable):
        return Feedback(False, f"`{name}` should be a list of items, not a {type(got).__name__}.",
                        name=name)
    norm = key or (lambda v: v)
    exp = {norm(v): v for v in expected}
    got_list = list(got)
    have = {norm(v): v for v in got_list}
    absent = [exp[k] for k in exp if k not in have]
    extra = [have[k] for k in have if k not in exp]
    if not absent and not extra:
        dup = len(got_list) - len(have)
        note = f" ({dup} duplicate(s) ignored)" if dup else ""
        return Feedback(True, f"all {len(exp)} items, nothing extra{note}.", name=name)
    reasons = reasons or {}
    rmap = {norm(k): v for k, v in reasons.items()}
    details = [f"missing {v!r}" + (f": {rmap[norm(v)]}" if norm(v) in rmap else "")
               for v in absent]
    details += [f"{v!r} does not belong" + (f": {rmap[norm(v)]}" if norm(v) in rmap else "")
                for v in extra]
    details += _hint(hints, "set")
    return Feedback(False, f"`{name}` has {len(have) - len(extra)} of {len(exp)} expected items"
                           f" and {len(extra)} that do not belong.", details, name)


def _label(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def check_choice(name: str, got: Any, outcome: Any, choices: Sequence[Any],
                 why: str | Mapping[Any, str], details: Sequence[str] = ()) -> Feedback:
    """A prediction or a decision: ``got`` must be one of ``choices`` (strings compare without
    case and surrounding spaces; ``numpy.bool_`` counts as a bool), and is right when it equals
    the measured ``outcome``. ``why`` explains the outcome (a sentence, or one per outcome), so a
    wrong prediction learns the reason, not only the answer; ``details`` are the measurements.

    Example::

        >>> check_choice("same", False, True, (True, False), "both are the mean gradient").message
        'the outcome is True, not False: both are the mean gradient'
    """
    missing = _not_answered(name, got)
    if missing is not None:
        return missing
    if isinstance(got, np.bool_):
        got = bool(got)
    options = [_label(c) for c in choices]
    if _label(got) not in options or isinstance(got, bool) != isinstance(choices[0], bool):
        return Feedback(False, f"`{name}` should be one of {', '.join(map(repr, choices))}; got "
                               f"{got!r}.", list(details), name)
    reason = why.get(outcome, "") if isinstance(why, Mapping) else why
    if _label(got) == _label(outcome):
        return Feedback(True, f"{outcome!r} is right: {reason}", list(details), name)
    return Feedback(False, f"the outcome is {outcome!r}, not {got!r}: {reason}", list(details),
                    name)
