"""What the teacher's documents read from the course notebooks (``notebooks/NN_slug.md``, the one
home of every exercise, solution and prerequisite).

* :func:`exercises`: every solution block in cell order, with the heading it sits under (the
  nearest ``##``-``####`` heading before it), its key and the ``check_...(...)`` call after it;
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
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import jupytext

sys.path.insert(0, str(Path(__file__).resolve().parent))
from editions import split_solutions  # noqa: E402
from expected_values import check_calls  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
WORDS_PER_MINUTE = 180      # technical prose with formulas, read with care
CODE_LINES_PER_MINUTE = 10  # code read (not written) to follow a cell

HEADING = re.compile(r"^(#{2,4}) +(.+?)\s*$", re.M)
TITLE = re.compile(r"^# +(.+?)\s*$", re.M)
PREREQUISITES = re.compile(r"\*\*Prerequisites\.?\*\*(.*?)(?:\n\s*\n|\Z)", re.S)
LINK = re.compile(r"\]\((\d\d)_[\w-]*\.ipynb\)")
RANGE = re.compile(r"\b[Nn]otebooks +(\d\d) *[-–] *(\d\d)\b")
HELPFUL = re.compile(r"\bhelps?\b")


@dataclass(frozen=True)
class Exercise:
    """One solution block: its heading, key, solution code and the check call that follows."""

    heading: str
    key: str
    solution: str
    check: str


@dataclass(frozen=True)
class ProseAnswer:
    """A markdown cell tagged ``solution``: an answer in prose, under ``heading``."""

    heading: str
    text: str


@dataclass(frozen=True)
class Notebook:
    stem: str
    title: str
    words: int
    code_lines: int
    exercises: list[Exercise] = field(default_factory=list)
    prose_answers: list[ProseAnswer] = field(default_factory=list)
    requires: frozenset[str] = frozenset()
    helpful: frozenset[str] = frozenset()

    @property
    def number(self) -> str:
        return self.stem[:2]

    @property
    def reading_minutes(self) -> int:
        return math.ceil(self.words / WORDS_PER_MINUTE + self.code_lines / CODE_LINES_PER_MINUTE)


def exercises(cells: list) -> list[Exercise]:
    """The solution blocks of ``cells`` in order, each with the nearest heading above it."""
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
        after = [line for line, key in lines if key is None]
        calls = check_calls(after)
        for n, key in enumerate(keys):
            code = "\n".join(line for line, k in lines if k == key)
            found.append(Exercise(heading, key or f"cell {i}", code,
                                  calls[n] if n < len(calls) else (calls[-1] if calls else "")))
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


def prerequisites(prose: str) -> tuple[frozenset[str], frozenset[str]]:
    """The notebooks (``"03"``) named in the ``**Prerequisites.**`` paragraph of ``prose``, as
    ``(required, helpful)``.

    The paragraph is cut into clauses at ``;`` and at the end of each sentence. A clause names a
    notebook by a link to it (``[03 · DeconvNet](03_deconvnet.ipynb)``) or by a range
    (``notebooks 03-08``, inclusive); a number alone (``notebook 02 recaps ...``) does not count.
    The notebooks of a clause that says "helps" / "help" are helpful, all others required.

    >>> prerequisites("**Prerequisites.** [02 · M](02_m.ipynb) and notebooks 03-04; "
    ...               "[05 · C](05_c.ipynb) helps.")
    (frozenset({'02', '03', '04'}), frozenset({'05'}))
    """
    match = PREREQUISITES.search(prose)
    if match is None:
        return frozenset(), frozenset()
    required: set[str] = set()
    helpful: set[str] = set()
    for clause in re.split(r";|\.(?:\s|$)", match.group(1)):
        named = set(LINK.findall(clause))
        for start, stop in RANGE.findall(clause):
            named |= {f"{n:02d}" for n in range(int(start), int(stop) + 1)}
        (helpful if HELPFUL.search(clause) else required).update(named)
    return frozenset(required), frozenset(helpful - required)


def read_notebook(path: Path) -> Notebook:
    nb = jupytext.read(path)
    markdown = [c for c in nb.cells if c.cell_type == "markdown"]
    teacher_only = [c for c in markdown if "solution" in c.metadata.get("tags", ())
                    or "teacher" in c.metadata.get("tags", ())]
    prose = "\n".join(c.source for c in markdown if c not in teacher_only)
    code = [line for c in nb.cells if c.cell_type == "code"
            for line in c.source.split("\n") if line.strip() and not line.startswith("#")]
    titles = TITLE.findall(prose)
    required, helpful = prerequisites(prose)
    return Notebook(path.stem, titles[0] if titles else path.stem,
                    len(re.findall(r"\w+", prose)), len(code), exercises(nb.cells),
                    prose_answers(nb.cells), required, helpful)


def course(folder: Path = NOTEBOOKS) -> list[Notebook]:
    """Every course notebook, in order."""
    return [read_notebook(p) for p in sorted(Path(folder).glob("[0-9][0-9]*_*.md"))]
