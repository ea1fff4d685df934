"""Student and teacher editions come from one source: solutions marked in notebooks/*.md.

The student edition must lose every solution and keep every check; run, its checks must answer the
placeholders with feedback (not an exception). The teacher edition keeps the solutions, visibly.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jupytext
import nbformat
import pytest

from xai_tutor.teaching import editions, guards, solution_blocks

from solutions import solutions

ROOT = Path(__file__).resolve().parents[1]

CELL = """x = None  # your code here
### BEGIN SOLUTION demo.x
x = 41 + 1
### END SOLUTION
check_x(x)"""


def test_student_source_drops_the_solution_and_keeps_the_check() -> None:
    assert solution_blocks.student_source(CELL) == "x = None  # your code here\ncheck_x(x)"


def test_teacher_source_frames_the_solution() -> None:
    assert solution_blocks.teacher_source(CELL).split("\n") == [
        "x = None  # your code here", "# --- solution (demo.x)", "x = 41 + 1",
        "# --- end of solution", "check_x(x)"]


@pytest.mark.parametrize("bad, why", [
    ("### BEGIN SOLUTION\nx = 1", "not closed"),
    ("### END SOLUTION", "without a BEGIN"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\nx\n### END SOLUTION", "nested"),
    ("### BEGIN SOLUTION a\n### END SOLUTION", "empty"),
])
def test_broken_markers_are_refused(bad: str, why: str) -> None:
    with pytest.raises(solution_blocks.EditionError, match=why):
        solution_blocks.student_source(bad, "demo cell 3")


def test_tagged_cells_are_for_the_teacher_only() -> None:
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_markdown_cell("The answer is 42.", metadata={"tags": ["solution"]}),
        nbformat.v4.new_markdown_cell("Ask the class first.", metadata={"tags": ["teacher"]}),
        nbformat.v4.new_code_cell(CELL),
    ])
    student = editions.edition(nb, "student")
    teacher = editions.edition(nb, "teacher")
    text = "\n".join(c.source for c in student.cells)
    assert "42" not in text and "Ask the class" not in text and "Student edition" in text
    assert [c.source for c in teacher.cells if "42" in c.source] == ["The answer is 42."]
    with pytest.raises(ValueError, match="student' or 'teacher"):
        editions.edition(nb, "parent")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("editions")
    return {kind: (editions.build(kind, out / kind), out / kind)[1]
            for kind in ("student", "teacher")}


def test_every_notebook_gets_both_editions(built: dict[str, Path]) -> None:
    sources = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]*_*.md"))
    for folder in built.values():
        assert sorted(p.stem for p in folder.glob("*.ipynb")) == sources


def test_student_edition_holds_no_solution_and_every_check(built: dict[str, Path]) -> None:
    answers = solutions()
    assert len(answers) >= 30
    for book in sorted(built["student"].glob("*.ipynb")):
        source = jupytext.read(ROOT / "notebooks" / f"{book.stem}.md")
        student = nbformat.read(book, as_version=4)
        text = "\n".join(c.source for c in student.cells)
        code = "\n".join(c.source for c in student.cells if c.cell_type == "code")
        assert "BEGIN SOLUTION" not in code and "--- solution" not in code, book.name
        calls = re.findall(r"^\s*(check_\w+)\(", "\n".join(c.source for c in source.cells),
                           re.M)
        assert calls == re.findall(r"^\s*(check_\w+)\(", text, re.M), book.name
    student_text = "\n".join(nbformat.read(b, as_version=4).cells[i].source
                             for b in built["student"].glob("*.ipynb")
                             for i in range(len(nbformat.read(b, as_version=4).cells)))
    for key, code in answers.items():
        longest = max(code.strip().split("\n"), key=len).strip()
        assert longest not in student_text, f"solution {key} leaks into the student edition"


def test_teacher_edition_shows_every_solution(built: dict[str, Path]) -> None:
    text = "\n".join(c.source for b in built["teacher"].glob("*.ipynb")
                     for c in nbformat.read(b, as_version=4).cells)
    for key, code in solutions().items():
        assert f"# --- solution ({key})" in text
        assert code.strip() in text, key


GUARDED = """import numpy as np
### BEGIN SOLUTION demo.answer
answer = np.ones(3)
helper = 2
### END SOLUTION
check_answer(answer)"""


def _nb(*sources: str) -> nbformat.NotebookNode:
    cells = [nbformat.v4.new_markdown_cell("### Exercise 7 — the answer")]
    cells += [nbformat.v4.new_code_cell(src) for src in sources]
    return nbformat.v4.new_notebook(cells=cells)


def test_cells_that_use_an_answer_wait_for_its_check() -> None:
    nb = _nb("answer = None  # your code here\n" + GUARDED,
             "print(answer.sum())",                       # uses the answer
             "total = answer * helper\nrest = 3",         # sets names from it
             "print(total, rest)",                        # so this waits too
             "answer = np.zeros(2)\nprint(answer)",       # sets the name anew: does not wait
             "check_answer(answer)\nprint(len('x'))",     # a check answers placeholders itself
             "for answer in range(3):\n    print(answer)",
             "table = {}",
             "table['x'] = total",                        # changes a name the next cell reads
             "print(table)")
    plan = guards.guard_plan(nb)
    title = [("demo.answer", "Exercise 7 — the answer")]
    assert plan == {2: title, 3: title, 4: title, 9: title, 10: title}


def test_a_guarded_cell_keeps_its_code_strings_and_last_value() -> None:
    source = ('text = """first\n  second"""\nfig = text.upper()\nfig')
    guarded = guards.guarded_source(source, [("demo.answer", "Exercise 7 — the answer")])
    assert "if solved('demo.answer', 'Exercise 7 — the answer'):" in guarded
    namespace: dict = {}
    shown = []
    exec(compile(guarded, "<cell>", "exec"),
         {"__builtins__": __builtins__, "display": shown.append, **namespace}, namespace)
    assert shown == []  # not solved: nothing ran
    from xai_tutor.exercises import core

    core._RESULTS["demo.answer"] = True
    try:
        exec(compile(guarded, "<cell>", "exec"), {"display": shown.append}, namespace)
    finally:
        core._RESULTS.pop("demo.answer")
    assert namespace["text"] == "first\n  second" and shown == ["FIRST\n  SECOND"]


@pytest.mark.slow
def test_student_edition_runs_top_to_bottom(built: dict[str, Path], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Run All on every notebook of the student edition, as a learner who has written nothing
    yet, on the offline course models: no cell raises; every check answers its placeholder with
    feedback (and writes it to the check log); every cell that needs an answer says which
    exercise to solve first."""
    from nbclient import NotebookClient

    from solutions import checks

    log = tmp_path / "checks.jsonl"
    monkeypatch.setenv("XAI_TUTOR_CHECK_LOG", str(log))
    monkeypatch.setenv("XAI_TUTOR_MODELS", "offline")
    monkeypatch.delenv("XAI_TUTOR_STRICT_CHECKS", raising=False)
    for book in sorted(built["student"].glob("*.ipynb")):
        nb = nbformat.read(book, as_version=4)
        NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(built["student"])}}).execute()
        for cell in (c for c in nb.cells if c.cell_type == "code"):
            errors = [o for o in cell.outputs if o.output_type == "error"]
            assert not errors, (book.name, cell.source[:300], errors and errors[0].evalue)
            shown = " ".join(str(o.get("data", {}).get("text/plain", o.get("text", "")))
                             for o in cell.outputs)
            if "solved(" in cell.source:
                assert "Skipped: solve exercise" in shown, (book.name, cell.source[:200])
            elif re.search(r"^check_\w+\(", cell.source, re.M):
                assert "Not yet" in shown, (book.name, cell.source, shown)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert {r["key"] for r in records} == set(checks())
    assert not any(r["ok"] or r["answered"] for r in records)
