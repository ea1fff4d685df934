"""Exercises: ``check_*`` functions that tell the learner what is wrong.

The shared core lives in :mod:`xai_tutor.exercises.core`; each notebook has its own module of
checks (:mod:`~xai_tutor.exercises.taxonomy` for notebook 01, :mod:`~xai_tutor.exercises.gradient`
for notebook 02, ...). Typical use in a notebook (the student edition)::

    from xai_tutor.exercises.gradient import check_saliency

    saliency = None          # your code here
    check_saliency(saliency, model, x)

The solutions are in the teacher edition of the notebooks only (see CONTRIBUTING.md).

Writing a new check module: compute the expected value independently (in private helpers), then
return :func:`check_with_slips` with the exercise's known slips (each a wrong value and the
sentence that names it), ``hints`` for :func:`check_close`'s diagnoses, and ``precision=x.dtype``
so that the tolerances follow the dtype the learner computes in (or :func:`check_shape` /
:func:`check_class` / :func:`check_set` / :func:`check_equal`); run the model in its own dtype,
as the learner does. Decorate the public check with :func:`exercise_check` and register how to
check a notebook namespace with :func:`register_check` under ``"<module>.<exercise>"``.
"""

from __future__ import annotations

from .core import (
    NOT_ANSWERED,
    SOLUTION_CHECKS,
    Feedback,
    check_class,
    check_close,
    check_equal,
    check_set,
    check_shape,
    check_with_slips,
    exercise_check,
    register_check,
    strict_checks,
)

__all__ = [
    "Feedback",
    "check_close",
    "check_with_slips",
    "check_equal",
    "check_shape",
    "check_class",
    "check_set",
    "SOLUTION_CHECKS",
    "NOT_ANSWERED",
    "exercise_check",
    "register_check",
    "strict_checks",
]
