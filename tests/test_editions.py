"""Student and teacher editions come from one source: solutions marked in notebooks/*.md.

The student edition must lose every solution and keep every check; run, its checks must answer the
placeholders with feedback (not an exception). The teacher edition keeps the solutions, visibly.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat
import pytest

from course_scripts import load_script
from solutions import solutions

ROOT = Path(__file__).resolve().parents[1]
editions = load_script("editions")

CELL = """x = None  # your code here
### BEGIN SOLUTION demo.x
x = 41 + 1
### END SOLUTION
check_x(x)"""


def test_student_source_drops_the_solution_and_keeps_the_check() -> None:
    assert editions.student_source(CELL) == "x = None  # your code here\ncheck_x(x)"


def test_teacher_source_frames_the_solution() -> None:
    assert editions.teacher_source(CELL).split("\n") == [
        "x = None  # your code here", "# --- solution (demo.x)", "x = 41 + 1",
        "# --- end of solution", "check_x(x)"]


@pytest.mark.parametrize("bad, why", [
    ("### BEGIN SOLUTION\nx = 1", "not closed"),
    ("### END SOLUTION", "without a BEGIN"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\nx\n### END SOLUTION", "nested"),
    ("### BEGIN SOLUTION a\n### END SOLUTION", "empty"),
])
def test_broken_markers_are_refused(bad: str, why: str) -> None:
    with pytest.raises(editions.EditionError, match=why):
        editions.student_source(bad, "demo cell 3")


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
        calls = re.findall(r"^(check_\w+)\(", "\n".join(c.source for c in source.cells), re.M)
        assert calls == re.findall(r"^(check_\w+)\(", text, re.M), book.name
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


@pytest.mark.slow
@pytest.mark.parametrize("name", ["01_taxonomy", "05_cam"])
def test_student_checks_give_feedback_on_the_placeholders(built: dict[str, Path],
                                                          name: str) -> None:
    """Run the student edition as a learner who has written nothing yet: every exercise cell
    answers with feedback ("Not yet"), none raises."""
    nb = nbformat.read(built["student"] / f"{name}.ipynb", as_version=4)
    from nbclient import NotebookClient

    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(built["student"])}}).execute()
    exercise_cells = [c for c in nb.cells
                      if c.cell_type == "code" and re.search(r"^check_\w+\(", c.source, re.M)]
    assert exercise_cells, name
    for cell in exercise_cells:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, (cell.source, errors[0].ename if errors else None)
        shown = " ".join(str(o.get("data", {}).get("text/plain", o.get("text", "")))
                         for o in cell.outputs)
        assert "Not yet" in shown, (cell.source, shown)
