"""Checks for notebook 01 (the taxonomy of explanation methods, paper section 2).

Example::

    >>> from xai_tutor.exercises.taxonomy import check_filter
    >>> check_filter(["DeconvNet"]).ok
    False
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..taxonomy import COURSE_METHODS, TABLE_1, filter_table, normalise_label
from .core import Expect, exercise
from .feedback import Feedback, check_choice, check_set

__all__ = ["check_filter", "check_classification", "check_same_contributions"]

_AXIS_WORDS = {
    "stage": "post-hoc / ante-hoc",
    "dependency": "model-specific / model-agnostic",
    "explanation": "explanation type",
}


def _describe(row: Mapping[str, Any]) -> str:
    return f"{row['method']} is {row['stage']}, {row['dependency']}, {row['explanation']}"


def _expected_filter() -> list[str]:
    """The post-hoc, model-specific attribution methods of Table 1, in table order."""
    return [r["method"] for r in filter_table("post-hoc", "model-specific", "attribution")]


def _names(got: Any) -> Any:
    if isinstance(got, list) and got and all(isinstance(r, Mapping) for r in got):
        return [r.get("method") for r in got]
    return got


@exercise("taxonomy.filter", "methods", notebook="01")
def check_filter(got: Any) -> Feedback:
    """The names (or rows) of Table 1's post-hoc, model-specific attribution methods. Each
    missing or extra method comes with its classification."""
    reasons = {m.method: _describe(m.as_dict()) for m in TABLE_1}
    return check_set("methods", _names(got), _expected_filter(), reasons=reasons,
                     key=lambda v: str(v).strip().lower(),
                     hints={"set": "Filter on all three columns: stage, dependency and type."})


_HINTS = {
    ("Score-CAM", "dependency"): "Score-CAM needs no gradients, but it reads the activation maps "
                                 "of an inner convolutional layer: a black box would not give "
                                 "you those.",
    ("Score-CAM", "stage"): "Score-CAM explains an already trained network without changing it.",
    ("Score-CAM", "explanation"): "Score-CAM scores the regions of one input image.",
    ("Grad-CAM", "dependency"): "Grad-CAM needs gradients with respect to inner feature maps.",
}


def _find(method: str) -> Mapping[str, Any]:
    for m in TABLE_1 + COURSE_METHODS:
        if m.method.lower() == method.strip().lower():
            return m.as_dict()
    names = sorted({m.method for m in TABLE_1 + COURSE_METHODS})
    raise ValueError(f"unknown method {method!r}; known: {', '.join(names)}")


@exercise("taxonomy.classify", "score_cam", notebook="01")
def check_classification(got: Any, method: str = "Score-CAM") -> Feedback:
    """Classify ``method`` as a dict with the keys ``"stage"``, ``"dependency"`` and
    ``"explanation"``. Each wrong field is named with a reason."""
    name = f"{method} classification"
    if isinstance(got, Mapping) and all(v in (None, Ellipsis) for v in got.values()):
        return Feedback(False, "the fields are still None: fill in the dict and run the cell "
                               "again.", name=name, answered=False)
    if not isinstance(got, Mapping):
        return Feedback(False, "give a dict such as {'stage': 'post-hoc', 'dependency': ..., "
                               "'explanation': ...}", name=name)
    row = _find(method)
    details = []
    missing = [k for k in _AXIS_WORDS if k not in got]
    if missing:
        return Feedback(False, f"the dict lacks the key(s) {', '.join(map(repr, missing))}.",
                        name=name)
    for axis, words in _AXIS_WORDS.items():
        value = got[axis]
        label = normalise_label(value) if isinstance(value, str) else value
        if label in (None, Ellipsis):
            details.append(f"{axis} ({words}) is not filled in yet")
        elif label != row[axis]:
            why = _HINTS.get((row["method"], axis), "")
            details.append(f"{axis} ({words}): {value!r} is not right. {why}".strip())
    if details:
        return Feedback(False, f"{len(details)} of 3 fields are wrong or missing.", details, name)
    return Feedback(True, _describe(row) + ".", name=name)



@exercise("taxonomy.same_contributions", "same", "agnostic", "specific",
          notebook="01", prediction=True)
def check_same_contributions(got: Any, agnostic: Any, specific: Any) -> Expect:
    """Predict whether, for a linear score, the model-agnostic contributions (occlusion: the
    prediction minus the prediction with feature ``i`` set to 0) equal the model-specific ones
    (``w_i x_i``, read from the weights): ``True`` or ``False``. ``agnostic`` and ``specific`` are
    the two measured vectors."""
    a, s = np.asarray(agnostic, dtype=np.float64), np.asarray(specific, dtype=np.float64)
    why = ("for a linear score f(x) = sum_j w_j x_j, setting x_i to 0 removes exactly the term "
           "w_i x_i: f(x) - f(x without i) = w_i x_i. With a non-linearity (a ReLU, a product of "
           "features) removing one feature also changes how the others count, and the two routes "
           "part ways; the specific one then needs one look, the agnostic one a forward pass per "
           "feature.")
    return Expect(bool(np.allclose(a, s)), judge=check_choice, choices=(True, False), why=why,
                  details=[f"largest difference {float(np.abs(a - s).max()):.1e}"])
