"""Every exercise declared once: what a right answer is, and everything around it, done here.

An exercise is one function, declared with :func:`exercise`::

    @exercise("cam.gap_logit", "y_c", "model", "x", "c", notebook="05")
    def check_gap_logit(y_c, model, x, target=None, layer=None):
        rec = record_layer(model, x, target, layer)          # independently, in the model's dtype
        ...
        return Expect(expected, slips, hints={"values": "..."}, precision=x.dtype)

The function computes the expected value and returns an :class:`Expect` (the value, the known
slips, each a wrong value and the sentence that names it, hints for
:func:`~xai_tutor.exercises.feedback.check_close`'s diagnoses, and the tolerances), or a
:class:`~xai_tutor.exercises.feedback.Feedback` where the exercise needs its own logic. The
decorator does the rest, the same way for every exercise:

* **placeholders**: an answer that is still ``None`` (or ``...``) gets "replace the placeholder"
  before anything is computed; a check never raises on a placeholder;
* **judging**: the ``Expect`` is judged under the name the answer has in the notebook (the first
  of the declared names), with :func:`~xai_tutor.exercises.feedback.check_with_slips` unless it
  names another judge;
* **strict mode**: with ``XAI_TUTOR_STRICT_CHECKS=1`` (set when the teacher edition runs under
  nbval) a wrong answer raises ``AssertionError``, so a solution that stops passing its check
  fails the test run;
* **registration**: ``SOLUTION_CHECKS[key](namespace)`` runs the check on the names declared for
  it (the tests run each notebook's ``### BEGIN SOLUTION <key>`` block, then this);
* **results**: :func:`solved` tells a later cell whether the exercise's check has passed in this
  session; the student edition guards every cell that uses an answer with it
  (``scripts/editions.py``), so Run All prints "solve exercise N first" instead of a traceback;
* **the check log**, a contract for grading: when the environment variable
  ``XAI_TUTOR_CHECK_LOG`` names a file, every call of a check appends one line of JSON to it,
  ``{"key": "cam.gap_logit", "notebook": "05", "ok": false, "answered": true, "message": "..."}``
  (``notebook`` is null when not declared; ``answered`` is false while an answer is still its
  placeholder; a check that raises is logged with ``ok`` false and the error as message before
  the error propagates). The file is opened in append mode and the line written and flushed in
  one call; a log that cannot be written never breaks the check.

Example::

    >>> from xai_tutor.exercises.core import Expect, exercise
    >>> @exercise("demo.double", "twice", "n", notebook=None)
    ... def check_double(twice, n):
    ...     return Expect(2 * n, [(n, "you returned n itself.")])
    >>> check_double(3, 3).message
    'you returned n itself.'
    >>> check_double(None, 3).answered, check_double(6, 3).ok
    (False, True)
    >>> _ = SOLUTION_CHECKS.pop("demo.double"), EXERCISES.pop("demo.double")
"""

from __future__ import annotations

import functools
import inspect
import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .feedback import Feedback, Slip, check_with_slips, is_placeholder, not_answered

__all__ = [
    "Expect",
    "Exercise",
    "exercise",
    "call_answer",
    "register_check",
    "SOLUTION_CHECKS",
    "EXERCISES",
    "strict_checks",
    "solved",
    "STRICT_ENV",
    "LOG_ENV",
]

STRICT_ENV = "XAI_TUTOR_STRICT_CHECKS"
LOG_ENV = "XAI_TUTOR_CHECK_LOG"


class Expect:
    """What a right answer is: ``value``, the known ``slips`` (``(value, message)`` or ``(value,
    message, details)``, tried in order), ``hints`` for check_close's diagnoses, and the
    ``options`` of the judge (tolerances, ``precision=x.dtype``, ...). ``judge`` defaults to
    :func:`check_with_slips`; another judge is called as ``judge(name, got, value, **options)``.
    ``name`` overrides the answer's name in the feedback; ``note`` is a line added to a right
    answer's feedback."""

    def __init__(self, value: Any, slips: Iterable[Slip] = (), *,
                 judge: Callable[..., Feedback] | None = None,
                 hints: Mapping[str, str] | None = None, name: str | None = None,
                 note: str | None = None, **options: Any) -> None:
        self.value, self.slips, self.judge = value, list(slips), judge
        self.hints, self.name, self.note, self.options = hints, name, note, options

    def verdict(self, name: str, got: Any) -> Feedback:
        name = self.name or name
        if self.judge is None:
            fb = check_with_slips(name, got, self.value, self.slips, hints=self.hints,
                                  **self.options)
        else:
            extra = {"hints": self.hints} if self.hints is not None else {}
            fb = self.judge(name, got, self.value, **extra, **self.options)
        if fb.ok and self.note:
            fb.details.append(self.note)
        return fb


@dataclass(frozen=True)
class Exercise:
    """An exercise's declaration: its key, the notebook names of the check's arguments (the
    answers first), how many of them are answers, the notebook that holds it, and whether it asks
    for a prediction (a choice made before a cell reveals the outcome)."""

    key: str
    names: tuple[str, ...]
    answers: int
    notebook: str | None
    prediction: bool
    check: Callable[..., Feedback]


#: Every exercise by key: ``SOLUTION_CHECKS[key](namespace)`` checks the learner's names in a
#: notebook namespace. Solutions live only in the notebooks (``### BEGIN SOLUTION <key>``).
SOLUTION_CHECKS: dict[str, Callable[[dict[str, Any]], Feedback]] = {}
EXERCISES: dict[str, Exercise] = {}
_RESULTS: dict[str, bool | None] = {}  # None: still a placeholder


def register_check(key: str, check: Callable[[dict[str, Any]], Any]) -> None:
    """Register how exercise ``key`` is checked in a notebook namespace (done by
    :func:`exercise`)."""
    if key in SOLUTION_CHECKS:
        raise RuntimeError(f"exercise check {key!r} registered twice")
    SOLUTION_CHECKS[key] = check


def strict_checks() -> bool:
    """True when wrong answers must raise (``XAI_TUTOR_STRICT_CHECKS=1``)."""
    return os.environ.get(STRICT_ENV, "").strip().lower() not in ("", "0", "false", "no")


def _log(key: str, notebook: str | None, ok: bool, answered: bool, message: str) -> None:
    path = os.environ.get(LOG_ENV, "").strip()
    if not path:
        return
    line = json.dumps({"key": key, "notebook": notebook, "ok": bool(ok),
                       "answered": bool(answered), "message": message}, ensure_ascii=False)
    try:
        with open(path, "a", encoding="utf-8") as log:
            log.write(line + "\n")
            log.flush()
    except Exception:  # noqa: BLE001 - the log serves grading; it must never break a check
        pass


def exercise(key: str, *names: str, answers: int = 1, notebook: str | None = None,
             prediction: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Feedback]]:
    """Declare the check of exercise ``key`` (``"<module>.<exercise>"``).

    ``names`` are the notebook's names for the check's positional arguments, in order (the
    namespace adapter reads them); the first ``answers`` of them are the learner's answers, and
    name them in the feedback. ``notebook`` is the identifier of the notebook that holds the
    exercise, its file name up to the first underscore (``"06"``, ``"11b"``; reported in the
    check log); ``prediction`` marks a predict-then-check exercise (the teaching guide gives it
    less time than an exercise that asks for code)."""
    if len(names) < answers:
        raise ValueError(f"{key}: {answers} answer(s) but only {len(names)} name(s)")

    def declare(fn: Callable[..., Any]) -> Callable[..., Feedback]:
        params = list(inspect.signature(fn).parameters)[:answers]

        @functools.wraps(fn)
        def check(*args: Any, **kwargs: Any) -> Feedback:
            given = list(args[:answers]) + [kwargs.get(p) for p in params[len(args):]]
            waiting = [(n, g) for n, g in zip(names, given) if is_placeholder(g)]
            try:
                if waiting:
                    fb = not_answered(*waiting[0])
                else:
                    result = fn(*args, **kwargs)
                    fb = result.verdict(names[0], given[0]) if isinstance(result, Expect) \
                        else result
            except Exception as err:
                _log(key, notebook, False, True, f"the check raised {type(err).__name__}: {err}")
                raise
            _RESULTS[key] = bool(fb.ok) if fb.answered else None
            _log(key, notebook, fb.ok, fb.answered, fb.message)
            if strict_checks() and not fb.ok:
                raise AssertionError(f"{STRICT_ENV} is set and {fn.__name__} failed:\n"
                                     + fb.text())
            return fb

        register_check(key, lambda ns: check(*(ns[n] for n in names)))
        EXERCISES[key] = Exercise(key, tuple(names), answers, notebook, prediction, check)
        return check

    return declare


def call_answer(name: str, fn: Any, *args: Any) -> Any:
    """Call the learner's function ``fn`` (the answer ``name``) on the check's own data: its
    result, or the :class:`Feedback` that says why there is none (not a function, still the
    placeholder, or an error inside it)."""
    if not callable(fn):
        return Feedback(False, f"`{name}` should be a function; got a {type(fn).__name__}.",
                        name=name)
    try:
        out = fn(*args)
    except Exception as err:  # noqa: BLE001 - the learner's code: report it, do not crash
        return Feedback(False, f"calling `{name}` raised {type(err).__name__}: {err}", name=name)
    if is_placeholder(out):
        return not_answered(name, what=f"`{name}` returns {out!r}")
    return out


def solved(key: str, title: str = "") -> bool:
    """Whether the check of exercise ``key`` has passed in this session. If not, prints that the
    cell is skipped and which exercise to solve first (``title``, e.g. "Exercise 2 — the map")."""
    if _RESULTS.get(key):
        return True
    what = title or f"exercise {key}"
    what = what[:1].lower() + what[1:]
    if _RESULTS.get(key) is False:
        print(f"⏭ Skipped: {what} is not right yet. Fix it first (its check says what is "
              "wrong); this cell uses its answer.")
    else:
        print(f"⏭ Skipped: solve {what} first; this cell uses its answer. Run the exercise's "
              "cell again once its check says Correct, then this one.")
    return False
