"""The student and teacher editions of the course, built from its one source, ``notebooks/*.md``.

Whole cells can carry the tag ``solution`` (an answer in prose) or ``teacher`` (a note for the
teacher). The **student** edition drops the solution blocks
(:mod:`~xai_tutor.teaching.solution_blocks`) and the tagged cells, so the placeholder and the
check remain: running the cell shows the check's feedback; a later cell that uses an answer is
guarded (:mod:`~xai_tutor.teaching.guards`), so Run All says which exercise to solve first. The
**teacher** edition keeps everything, with the markers turned into visible comments;
:func:`build` with ``run=True`` also runs it (strict checks on: a solution that fails its check
stops the build) and keeps the outputs, the run time of each notebook (``timings.json``) and,
through the answer probes (:mod:`~xai_tutor.teaching.expected_values`), the value of every answer
and its check's feedback (``answers.json``). ``scripts/editions.py`` is its command line.

Example::

    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T"),
    ...     nbformat.v4.new_code_cell("x = None\\n### BEGIN SOLUTION d.x\\nx = 1\\n"
    ...                               "### END SOLUTION\\ncheck_x(x)")])
    >>> edition(nb, "student").cells[2].source
    'x = None\\ncheck_x(x)'
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import jupytext
import nbformat

from ..atomic import atomic_folder
from ..notebook_format import strip
from .expected_values import add_probes, take_probes
from .guards import guard_plan, guarded_source
from .solution_blocks import student_source, teacher_source
from .syllabus import NOTEBOOKS, notebook_files, notebook_id

__all__ = ["BANNER", "HIDDEN_TAGS", "edition", "execute", "build", "strict_mode"]

HIDDEN_TAGS = {"solution", "teacher"}
BANNER = {
    "student": "*Student edition: the exercises are yours to solve; each check tells you what is "
               "right or wrong. Your teacher has the edition with the solutions.*",
    "teacher": "*Teacher edition: every solution is shown between `# --- solution` and "
               "`# --- end of solution` comments, and the checks run on it.*",
}


def edition(nb: nbformat.NotebookNode, kind: str, name: str = "notebook") -> nbformat.NotebookNode:
    """The ``kind`` (``"student"`` or ``"teacher"``) edition of a source notebook."""
    if kind not in BANNER:
        raise ValueError(f"edition must be 'student' or 'teacher'; got {kind!r}")
    plan = guard_plan(nb, name) if kind == "student" else {}
    cells = []
    for i, cell in enumerate(nb.cells):
        tags = set(cell.metadata.get("tags", ()))
        if kind == "student" and tags & HIDDEN_TAGS:
            continue
        cell = nbformat.from_dict(dict(cell))
        if cell.cell_type == "code":
            where = f"{name} cell {i}"
            cell.source = (student_source if kind == "student" else teacher_source)(
                cell.source, where)
            if i in plan:
                cell.source = guarded_source(cell.source, plan[i])
        cells.append(cell)
    banner = nbformat.v4.new_markdown_cell(BANNER[kind])
    out = nbformat.v4.new_notebook(cells=cells[:1] + [banner] + cells[1:],
                                   metadata=dict(nb.metadata))
    return strip(out)


@contextlib.contextmanager
def strict_mode(on: bool) -> Iterator[None]:
    """Set ``XAI_TUTOR_STRICT_CHECKS`` for kernels started inside the block, then restore it."""
    name, before = "XAI_TUTOR_STRICT_CHECKS", os.environ.get("XAI_TUTOR_STRICT_CHECKS")
    os.environ[name] = "1" if on else "0"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def execute(nb: nbformat.NotebookNode, cwd: Path, timeout: int = 600) -> nbformat.NotebookNode:
    """Run ``nb`` in a fresh ``python3`` kernel in ``cwd`` and keep its outputs."""
    from nbclient import NotebookClient

    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def build(kind: str, out: Path, run: bool = False, only: list[str] | None = None,
          notebooks: Path = NOTEBOOKS) -> list[Path]:
    """Write the ``kind`` edition of every course notebook in ``notebooks`` (or those named in
    ``only``, by identifier ``"11b"`` or stem ``"11b_claims"``) to ``out``. The folder is written
    beside ``out`` and renamed into place when complete, so an interrupted build leaves the
    previous one intact."""
    sources = notebook_files(notebooks)
    if only:
        sources = [s for s in sources if s.stem in only or notebook_id(s.stem) in only]
    written = []
    seconds: dict[str, float] = {}
    answers: dict[str, dict] = {}
    with atomic_folder(Path(out)) as tmp:
        for src in sources:
            nb = edition(jupytext.read(src), kind, src.name)
            if run:
                probe = kind == "teacher"  # the value of every answer, for the answer key
                start = time.perf_counter()
                with strict_mode(kind == "teacher"):
                    execute(add_probes(nb) if probe else nb, tmp)
                seconds[src.stem] = round(time.perf_counter() - start, 1)
                if probe:
                    answers[src.stem] = take_probes(nb)
            target = tmp / f"{src.stem}.ipynb"
            nbformat.write(nb, str(target))
            written.append(Path(out) / target.name)
        if run:  # measured run time per notebook, read by the teaching guide
            record = {"seconds": seconds, "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d"),
                      "models": os.environ.get("XAI_TUTOR_MODELS", "auto")}
            (tmp / "timings.json").write_text(json.dumps(record, indent=1) + "\n")
        if answers:  # each answer's value and check feedback, read by the teaching guide
            (tmp / "answers.json").write_text(json.dumps(answers, indent=1, ensure_ascii=False)
                                              + "\n", encoding="utf-8")
    return written
