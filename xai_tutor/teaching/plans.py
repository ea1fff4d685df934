"""The class plans of the teaching guide, their minutes, and the rules every plan must keep.

A session is ``before`` (notebooks read and worked at home before the class), ``in_class`` (read,
run and their exercises done in class, in this order) and ``after`` (home work after the class),
plus minutes for set-up and for discussion. Its class time is set-up + reading + exercises +
computation of the in-class notebooks + discussion; the rest of the session is slack.

The rules (:func:`problems`): every notebook a plan names exists and is placed once; every
*required* prerequisite of a notebook (``**Prerequisites.**`` in the notebook, read by
:func:`xai_tutor.teaching.syllabus.prerequisites`) comes earlier in the plan's order (earlier
sessions, then the session's ``before``, ``in_class`` and ``after`` lists in order); each session
states its set-up and discussion minutes and leaves at least :data:`MIN_SLACK` minutes free. A
course plan must place every notebook: the last session's ``after`` may be :data:`REST`, every
notebook not placed elsewhere, so a notebook added to the course lands there until a teacher
plans it.

Exercises count :data:`MINUTES_PER_EXERCISE` minutes each, and :data:`MINUTES_PER_PREDICTION` for
one declared as a prediction (``exercise(..., prediction=True)`` in :mod:`xai_tutor.exercises`:
a choice before a cell reveals the outcome).

Example::

    >>> s = Session("one", before=["00"], in_class=["01"], setup=10, discussion=15)
    >>> s.order
    ['00', '01']
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .syllabus import Notebook, notebook_id

__all__ = ["SESSION_MINUTES", "MINUTES_PER_EXERCISE", "MINUTES_PER_PREDICTION", "MIN_SLACK",
           "MIN_SETUP", "MIN_DISCUSSION", "REST", "Session", "Plan", "CLASS_2H", "COURSE_4",
           "PLANS", "expand", "exercise_minutes", "minutes", "problems"]

SESSION_MINUTES = 120
MINUTES_PER_EXERCISE = 5    # the median learner, with a check that says what is wrong
MINUTES_PER_PREDICTION = 2  # a predict-then-check exercise: a choice, then the cell's answer
MIN_SLACK = 5               # minutes of every session left free for the unforeseen
MIN_SETUP = 5               # opening the notebooks, the kernel, the models
MIN_DISCUSSION = 10         # the notebooks' discussion prompts
REST = "rest"               # in a course plan's last ``after``: every notebook not placed elsewhere


@dataclass(frozen=True)
class Session:
    title: str
    before: list[str] = field(default_factory=list)
    in_class: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    setup: int = 0
    discussion: int = 0

    @property
    def order(self) -> list[str]:
        return self.before + self.in_class + self.after


@dataclass(frozen=True)
class Plan:
    title: str
    sessions: list[Session]
    whole_course: bool  # must place every notebook


#: 06's Guided Grad-CAM needs guided backprop from 03, so 00-03 are read and run at home first
#: (the set-up is short: the course already runs on the learners' machines).
CLASS_2H = Plan("A 2-hour class", [
    Session("CAM and Grad-CAM (gradients, hooks and guided backprop read and run before)",
            before=["00", "01", "02", "03"], in_class=["05", "06"], setup=5, discussion=15),
], whole_course=False)

#: 11 and 11b do not fit in one session: 11b (the paper's claims, which needs 11) is read at
#: home after the last session, before the playground (12) and anything added later.
COURSE_4 = Plan("A 4-session course", [
    Session("Session 1: what an explanation is, hooks and gradients",
            before=["00"], in_class=["01", "02"], setup=15, discussion=15),
    Session("Session 2: from feature maps to Grad-CAM",
            before=["03"], in_class=["05", "06"], after=["04"], setup=5, discussion=15),
    Session("Session 3: better weights, and CAMs without gradients",
            before=["07"], in_class=["10"], after=["08", "09"], setup=5, discussion=15),
    Session("Session 4: measuring the methods against ground truth",
            in_class=["11"], after=["11b", "12", REST], setup=5, discussion=15),
], whole_course=True)

PLANS = [CLASS_2H, COURSE_4]


def expand(plan: Plan, stems: list[str]) -> list[Session]:
    """The sessions of ``plan`` with :data:`REST` replaced by the notebooks (identifiers such as
    ``"11b"``, from the file stems ``stems``, in their order) that no session names."""
    named = {n for s in plan.sessions for n in s.order if n != REST}
    rest = [notebook_id(s) for s in stems if notebook_id(s) not in named]
    return [Session(s.title, s.before, s.in_class,
                    [m for n in s.after for m in (rest if n == REST else [n])],
                    s.setup, s.discussion) for s in plan.sessions]


def exercise_minutes(book: Notebook) -> int:
    """Minutes for the exercises of ``book``: :data:`MINUTES_PER_PREDICTION` for each that asks
    for a prediction (as declared with the exercise), :data:`MINUTES_PER_EXERCISE` for the
    others."""
    return sum(MINUTES_PER_PREDICTION if ex.prediction else MINUTES_PER_EXERCISE
               for ex in book.exercises)


def minutes(session: Session, books: dict[str, Notebook],
            seconds: dict[str, float]) -> dict[str, int]:
    """Minutes of ``session``: reading, exercises and computation of the in-class notebooks,
    set-up, discussion, class time (their sum), slack (the rest of the session), and the reading
    and exercises at home (before and after)."""
    def part(numbers: list[str]) -> tuple[int, int, int]:
        chosen = [books[n] for n in numbers if n in books]
        return (sum(b.reading_minutes for b in chosen),
                sum(exercise_minutes(b) for b in chosen),
                math.ceil(sum(seconds.get(b.stem, 0.0) for b in chosen) / 60))
    reading, exercises, computation = part(session.in_class)
    home_reading, home_exercises, _ = part(session.before + session.after)
    total = session.setup + reading + exercises + computation + session.discussion
    return {"setup": session.setup, "reading": reading, "exercises": exercises,
            "computation": computation, "discussion": session.discussion, "total": total,
            "slack": SESSION_MINUTES - total, "home reading": home_reading,
            "home exercises": home_exercises}


def problems(plan: Plan, books: dict[str, Notebook], seconds: dict[str, float]) -> list[str]:
    """Every way ``plan`` breaks the rules of this module (empty when it keeps them all).
    ``books`` maps notebook identifiers (``"06"``, ``"11b"``) to the notebooks."""
    found: list[str] = []
    seen: list[str] = []
    for session in expand(plan, [b.stem for b in books.values()]):
        where = f"{plan.title}, {session.title}"
        for n in session.order:
            if n not in books:
                found.append(f"{where}: there is no notebook {n}")
                continue
            if n in seen:
                found.append(f"{where}: notebook {n} is placed twice")
            missing = sorted(books[n].requires - set(seen))
            if missing:
                found.append(f"{where}: notebook {n} needs {', '.join(missing)} first "
                             "(its Prerequisites)")
            seen.append(n)
        spent = minutes(session, books, seconds)
        if session.setup < MIN_SETUP:
            found.append(f"{where}: {session.setup} min of set-up (at least {MIN_SETUP})")
        if session.discussion < MIN_DISCUSSION:
            found.append(f"{where}: {session.discussion} min of discussion "
                         f"(at least {MIN_DISCUSSION})")
        if spent["slack"] < MIN_SLACK:
            found.append(f"{where}: {spent['total']} min of class time leaves {spent['slack']} "
                         f"min of {SESSION_MINUTES} free (at least {MIN_SLACK})")
    if plan.whole_course:
        unplaced = sorted(set(books) - set(seen))
        if unplaced:
            found.append(f"{plan.title}: notebooks {', '.join(unplaced)} are in no session")
    return found
