"""The course's notebooks as the teacher's documents read them: identifiers, titles, prerequisites,
exercises and reading times, from ``notebooks/NN_slug.md`` (the one home of every exercise,
solution and prerequisite).

* a notebook's **identifier** is the part of its file name before the first underscore:
  ``"06"`` for ``06_gradcam``, ``"11b"`` for ``11b_claims`` (a notebook split in two keeps its
  number, the second part with a letter); :func:`notebook_id`, :func:`id_order`;
* :func:`exercises`: every solution block in cell order, with the heading it sits under (the
  nearest ``##``-``####`` heading before it), its key, the ``check_...(...)`` call after it and
  whether its declaration (:func:`xai_tutor.exercises.exercise`) asks for a prediction;
* :func:`prose_answers`: markdown cells tagged ``solution`` (answers in prose, teacher edition
  only), with their heading;
* :func:`prerequisites`: the notebooks named in the ``**Prerequisites.**`` paragraph, split into
  required and helpful ones (see the function for the rules).

Example::

    >>> book = read_notebook(NOTEBOOKS / "06_gradcam.md")
    >>> [e.key for e in book.exercises][:2]
    ['cam.gradcam_weights', 'cam.gradcam_map']
    >>> sorted(book.requires)
    ['03', '05']
    >>> notebook_id("11b_claims"), sorted(["12", "11b", "11"], key=id_order)
    ('11b', ['11', '11b', '12'])
"""

from __future__ import annotations

import importlib
import math
import pkgutil
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .expected_values import check_after, check_calls
from .solution_blocks import split_solutions

__all__ = ["NOTEBOOKS", "WORDS_PER_MINUTE", "CODE_LINES_PER_MINUTE", "Exercise", "ProseAnswer",
           "Notebook", "notebook_id", "id_order", "notebook_files", "exercises", "prose_answers",
           "prerequisites", "read_notebook", "course", "declarations"]

#: The course's notebook sources, in a checkout of the course.
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
WORDS_PER_MINUTE = 180      # technical prose with formulas, read with care
CODE_LINES_PER_MINUTE = 10  # code read (not written) to follow a cell

#: A course notebook's file stem: two digits, a letter for a second part, an underscore, a slug.
STEM = re.compile(r"^(\d\d[b-z]?)_[a-z0-9_]+$")
HEADING = re.compile(r"^(#{2,4}) +(.+?)\s*$", re.M)
TITLE = re.compile(r"^# +(.+?)\s*$", re.M)
PREREQUISITES = re.compile(r"\*\*Prerequisites\.?\*\*(.*?)(?:\n\s*\n|\Z)", re.S)
LINK = re.compile(r"\]\((\d\d[b-z]?)_[\w-]*\.ipynb\)")
RANGE = re.compile(r"\b[Nn]otebooks +(\d\d) *[-–] *(\d\d)\b")
HELPFUL = re.compile(r"\bhelps?\b")


def notebook_id(stem: str) -> str:
    """The identifier of a notebook (``"11b"``): the part of its file stem (or name) before the
    first underscore."""
    return Path(stem).name.split("_", 1)[0]


def id_order(ident: str) -> tuple[int, str]:
    """A sort key that puts identifiers in course order: ``11`` < ``11b`` < ``12`` < ``100``."""
    digits = re.match(r"\d*", ident).group(0)
    return (int(digits) if digits else -1, ident[len(digits):])


def notebook_files(folder: Path = NOTEBOOKS, suffix: str = ".md") -> list[Path]:
    """The course notebooks in ``folder`` (files ``NN[b-z]?_slug`` + ``suffix``), in course
    order."""
    found = [p for p in Path(folder).glob(f"[0-9][0-9]*_*{suffix}") if STEM.match(p.stem)]
    return sorted(found, key=lambda p: (id_order(notebook_id(p.stem)), p.name))


def declarations() -> Mapping[str, Any]:
    """Every exercise declared in :mod:`xai_tutor.exercises` (its modules imported), by key:
    ``.prediction``, ``.notebook``, ``.names`` (:class:`xai_tutor.exercises.core.Exercise`)."""
    from .. import exercises

    for info in pkgutil.iter_modules(exercises.__path__):
        importlib.import_module(f"{exercises.__name__}.{info.name}")
    return exercises.EXERCISES


@dataclass(frozen=True)
class Exercise:
    """One solution block: its heading, key, solution code, the check call that follows, and
    whether it asks for a prediction (read from the exercise's declaration)."""

    heading: str
    key: str
    solution: str
    check: str
    prediction: bool = False


@dataclass(frozen=True)
class ProseAnswer:
    """A markdown cell tagged ``solution``: an answer in prose, under ``heading``."""

    heading: str
    text: str


@dataclass(frozen=True)
class Notebook:
    """A course notebook as the guide reads it (``words`` of prose and ``code_lines`` that a
    student sees; the teacher-only cells do not count)."""

    stem: str
    title: str
    words: int
    code_lines: int
    exercises: list[Exercise] = field(default_factory=list)
    prose_answers: list[ProseAnswer] = field(default_factory=list)
    requires: frozenset[str] = frozenset()
    helpful: frozenset[str] = frozenset()

    @property
    def id(self) -> str:
        """``"06"``, ``"11b"``: see :func:`notebook_id`."""
        return notebook_id(self.stem)

    @property
    def predictions(self) -> int:
        """How many of its exercises ask for a prediction."""
        return sum(ex.prediction for ex in self.exercises)

    @property
    def reading_minutes(self) -> int:
        return math.ceil(self.words / WORDS_PER_MINUTE + self.code_lines / CODE_LINES_PER_MINUTE)


def exercises(cells: list, declared: Mapping[str, Any] | None = None) -> list[Exercise]:
    """The solution blocks of ``cells`` in order, each with the nearest heading above it and its
    check call: the one after the block in its cell, else (a prediction, checked after a cell
    reveals the outcome) the first in a later code cell before the next exercise. ``declared``
    (key -> declaration with ``.prediction``) marks the predictions."""
    declared = declared or {}
    code = [c.source if c.cell_type == "code" else "" for c in cells]
    found: list[Exercise] = []
    heading = ""
    for i, cell in enumerate(cells):
        if cell.cell_type == "markdown":
            headings = HEADING.findall(cell.source)
            if headings:
                heading = headings[-1][1]
            continue
        if cell.cell_type != "code" or "### BEGIN SOLUTION" not in cell.source:
            continue
        lines = split_solutions(cell.source, f"cell {i}")
        keys = list(dict.fromkeys(key for _line, key in lines if key is not None))
        calls = check_calls([line for line, key in lines if key is None])
        if not calls:
            later = check_after(code, i + 1, lambda src: "### BEGIN SOLUTION" in src)
            calls = [later[1]] if later else []
        for n, key in enumerate(keys):
            solution = "\n".join(line for line, k in lines if k == key)
            prediction = bool(getattr(declared.get(key), "prediction", False))
            found.append(Exercise(heading, key or f"cell {i}", solution,
                                  calls[n] if n < len(calls) else (calls[-1] if calls else ""),
                                  prediction))
    return found


def prose_answers(cells: list) -> list[ProseAnswer]:
    """Markdown cells tagged ``solution``, with the nearest heading above each."""
    found: list[ProseAnswer] = []
    heading = ""
    for cell in cells:
        if cell.cell_type != "markdown":
            continue
        if "solution" in cell.metadata.get("tags", ()):
            found.append(ProseAnswer(heading, cell.source.strip()))
            continue
        headings = HEADING.findall(cell.source)
        if headings:
            heading = headings[-1][1]
    return found


def prerequisites(prose: str, known: Iterable[str] | None = None
                  ) -> tuple[frozenset[str], frozenset[str]]:
    """The notebooks (``"03"``, ``"11b"``) named in the ``**Prerequisites.**`` paragraph of
    ``prose``, as ``(required, helpful)``.

    The paragraph is cut into clauses at ``;`` and at the end of each sentence. A clause names a
    notebook by a link to it (``[03 · DeconvNet](03_deconvnet.ipynb)``) or by a range
    (``notebooks 03-08``, inclusive: every notebook of ``known`` whose number lies in it, parts
    such as ``11b`` included; the two-digit numbers of the range without ``known``); a number
    alone (``notebook 02 recaps ...``) does not count. The notebooks of a clause that says
    "helps" / "help" are helpful, all others required.

    >>> required, helpful = prerequisites("**Prerequisites.** [02 · M](02_m.ipynb) and "
    ...                                   "notebooks 03-04; [05 · C](05_c.ipynb) helps.")
    >>> sorted(required), sorted(helpful)
    (['02', '03', '04'], ['05'])
    >>> sorted(prerequisites("**Prerequisites.** Notebooks 10-11.", ["10", "11", "11b", "12"])[0])
    ['10', '11', '11b']
    """
    match = PREREQUISITES.search(prose)
    if match is None:
        return frozenset(), frozenset()
    known = list(known) if known is not None else None
    required: set[str] = set()
    helpful: set[str] = set()
    for clause in re.split(r";|\.(?:\s|$)", match.group(1)):
        named = set(LINK.findall(clause))
        for start, stop in RANGE.findall(clause):
            span = range(int(start), int(stop) + 1)
            named |= ({k for k in known if id_order(k)[0] in span} if known is not None
                      else {f"{n:02d}" for n in span})
        (helpful if HELPFUL.search(clause) else required).update(named)
    return frozenset(required), frozenset(helpful - required)


def read_notebook(path: Path, declared: Mapping[str, Any] | None = None,
                  known: Iterable[str] | None = None) -> Notebook:
    """The notebook at ``path`` (a MyST ``.md`` or an ``.ipynb``). ``declared``: the exercise
    declarations (default: :func:`declarations`); ``known``: the identifiers of the course's
    notebooks, for ranges in the prerequisites (default: those beside ``path``)."""
    import jupytext

    path = Path(path)
    declared = declarations() if declared is None else declared
    if known is None:
        known = [notebook_id(p.stem) for p in notebook_files(path.parent, path.suffix)]
    nb = jupytext.read(path)
    markdown = [c for c in nb.cells if c.cell_type == "markdown"]
    teacher_only = [c for c in markdown if "solution" in c.metadata.get("tags", ())
                    or "teacher" in c.metadata.get("tags", ())]
    prose = "\n".join(c.source for c in markdown if c not in teacher_only)
    code = [line for c in nb.cells if c.cell_type == "code"
            for line in c.source.split("\n") if line.strip() and not line.startswith("#")]
    titles = TITLE.findall(prose)
    required, helpful = prerequisites(prose, known)
    return Notebook(path.stem, titles[0] if titles else path.stem,
                    len(re.findall(r"\w+", prose)), len(code), exercises(nb.cells, declared),
                    prose_answers(nb.cells), required, helpful)


def course(folder: Path = NOTEBOOKS) -> list[Notebook]:
    """Every course notebook in ``folder``, in course order."""
    files = notebook_files(folder)
    declared = declarations()
    known = [notebook_id(p.stem) for p in files]
    return [read_notebook(p, declared, known) for p in files]
