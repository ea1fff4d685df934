"""Exercises: ``check_*`` functions that tell the learner what is wrong, and why.

Three shared modules and one module of checks per notebook (:mod:`~xai_tutor.exercises.taxonomy`
for notebook 01, :mod:`~xai_tutor.exercises.gradient` for 02, ...):

* :mod:`~xai_tutor.exercises.feedback`: :class:`Feedback` and the comparisons that diagnose a
  wrong answer (a shape, a sign, a factor, a known slip);
* :mod:`~xai_tutor.exercises.core`: :func:`~xai_tutor.exercises.core.exercise`, the one
  declaration of an exercise (placeholders, strict mode, registration, the check log, and
  :func:`solved`, which the student edition uses to skip the cells that need an answer);
* :mod:`~xai_tutor.exercises.oracle`: the independent passes through a model that the checks
  compute their expected values from.

Typical use in a notebook (the student edition)::

    from xai_tutor.exercises.gradient import check_saliency

    saliency = None          # your code here
    check_saliency(saliency, model, x)

The solutions are in the teacher edition of the notebooks only (see CONTRIBUTING.md).
"""

from __future__ import annotations

from .core import (
    EXERCISES,
    SOLUTION_CHECKS,
    Expect,
    call_answer,
    exercise,
    register_check,
    solved,
    strict_checks,
)
from .feedback import (
    NOT_ANSWERED,
    Feedback,
    check_choice,
    check_class,
    check_close,
    check_equal,
    check_set,
    check_shape,
    check_with_slips,
)

__all__ = [
    "Feedback",
    "Expect",
    "exercise",
    "call_answer",
    "check_close",
    "check_with_slips",
    "check_equal",
    "check_shape",
    "check_class",
    "check_set",
    "check_choice",
    "SOLUTION_CHECKS",
    "EXERCISES",
    "NOT_ANSWERED",
    "register_check",
    "strict_checks",
    "solved",
]
