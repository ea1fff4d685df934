"""Exercises: ``check_*`` functions that tell the learner what is wrong.

The shared core lives in :mod:`xai_tutor.exercises.core`; each notebook has its own module of
checks (:mod:`~xai_tutor.exercises.taxonomy` for notebook 01, :mod:`~xai_tutor.exercises.gradient`
for notebook 02, ...). Typical use in a notebook (the student edition)::

    from xai_tutor.exercises.gradient import check_saliency

    saliency = None          # your code here
    check_saliency(saliency, model, x)

The solutions are in the teacher edition of the notebooks only (see CONTRIBUTING.md).

Writing a new check module: compute the expected value independently (in private helpers), then
return :func:`check_close` / :func:`check_shape` / :func:`check_class` / :func:`check_set` with
``hints`` for the slips typical of that exercise; decorate the public check with
:func:`exercise_check` and register how to check a notebook namespace with :func:`register_check`
under ``"<module>.<exercise>"``.
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
    exercise_check,
    register_check,
    strict_checks,
)

__all__ = [
    "Feedback",
    "check_close",
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
