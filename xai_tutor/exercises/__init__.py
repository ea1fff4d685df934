"""Exercises: ``check_*`` functions that tell the learner what is wrong, and hidden solutions.

The shared core lives in :mod:`xai_tutor.exercises.core`; each notebook has its own module of
checks (:mod:`~xai_tutor.exercises.taxonomy` for notebook 01, :mod:`~xai_tutor.exercises.gradient`
for notebook 02, ...). Typical use in a notebook::

    from xai_tutor.exercises import show_solution
    from xai_tutor.exercises.gradient import check_saliency

    saliency = None          # your code here
    check_saliency(saliency, model, x)

    show_solution("gradient.saliency")   # collapsed; runs the solution and checks it

Writing a new check module: compute the expected value independently, then return
:func:`check_close` / :func:`check_shape` / :func:`check_class` / :func:`check_set` with
``hints`` for the slips typical of that exercise; register the solution with
:func:`register_solution` under ``"<module>.<exercise>"``.
"""

from __future__ import annotations

from .core import (
    NOT_ANSWERED,
    SOLUTIONS,
    Feedback,
    Solution,
    check_class,
    check_close,
    check_equal,
    check_set,
    check_shape,
    register_solution,
    show_solution,
)

__all__ = [
    "Feedback",
    "check_close",
    "check_equal",
    "check_shape",
    "check_class",
    "check_set",
    "Solution",
    "SOLUTIONS",
    "NOT_ANSWERED",
    "register_solution",
    "show_solution",
]
