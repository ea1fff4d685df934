"""Every course notebook is committed clean and follows the course's conventions.

* file names ``NN_slug.ipynb`` (two digits, lower-case slug), numbered 00, 01, ... without gaps;
  a notebook split in two keeps its number for both parts, the second with a letter
  (``11_comparison``, ``11b_claims``), so the files still sort in course order;
* valid nbformat 4, kernel ``python3``;
* no outputs and no execution counts (``python scripts/notebooks.py strip``);
* each ``.ipynb`` paired with its MyST text source ``NN_slug.md`` and in step with it;
* learning objectives, prerequisites and the expected run time at the top; a summary and further
  reading at the end.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAME = re.compile(r"^\d\d([b-z]?)_[a-z0-9_]+\.ipynb$")


def course_notebooks() -> list[Path]:
    return sorted(p for p in NOTEBOOKS.glob("*.ipynb"))


def test_there_are_notebooks() -> None:
    assert course_notebooks(), f"no notebooks in {NOTEBOOKS}"


def test_names_follow_the_pattern() -> None:
    bad = [p.name for p in course_notebooks() if not NAME.match(p.name)]
    assert not bad, f"notebook names must match {NAME.pattern} (e.g. 03_deconvnet.ipynb): {bad}"


def test_numbering_is_gap_free_and_unique() -> None:
    parts = [(p.name[:2], NAME.match(p.name).group(1)) for p in course_notebooks()
             if NAME.match(p.name)]
    dupes = sorted({"".join(n) for n in parts if parts.count(n) > 1})
    assert not dupes, f"two notebooks share the number(s) {dupes}"
    lettered = sorted({"".join(n) for n in parts if n[1] and (n[0], "") not in parts})
    assert not lettered, f"a second part needs its first part (NN_...): {lettered}"
    numbers = [int(n) for n, _ in parts]
    missing = sorted(set(range(max(numbers) + 1)) - set(numbers))
    assert not missing, f"notebook numbers must run 00..NN without gaps; missing {missing}"


@pytest.fixture(params=course_notebooks(), ids=lambda p: p.name)
def notebook(request: pytest.FixtureRequest) -> tuple[str, nbformat.NotebookNode]:
    path: Path = request.param
    return path.name, nbformat.read(path, as_version=nbformat.NO_CONVERT)


def test_valid_nbformat_and_python3_kernel(notebook) -> None:
    name, nb = notebook
    assert nb.nbformat == 4, f"{name}: nbformat {nb.nbformat}, expected 4"
    nbformat.validate(nb)
    kernel = nb.metadata.get("kernelspec", {}).get("name")
    assert kernel == "python3", f"{name}: kernelspec name is {kernel!r}, expected 'python3'"


def test_committed_without_outputs(notebook) -> None:
    name, nb = notebook
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert not dirty, (f"{name}: cells {dirty} have outputs or execution counts; run "
                       "`python scripts/notebooks.py sync` before committing")


def test_no_code_cell_is_empty(notebook) -> None:
    name, nb = notebook
    empty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and not c.source.strip()]
    assert not empty, f"{name}: empty code cells {empty}"


def _markdown(cells: list) -> str:
    return "\n".join(c.source for c in cells if c.cell_type == "markdown").lower()


def test_header_and_footer(notebook) -> None:
    name, nb = notebook
    assert nb.cells and nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith(
        "# "), f"{name}: the first cell must be a markdown cell starting with a '# ' title"
    top = _markdown(nb.cells[:3])
    for needle in ("learning objectives", "prerequisites", "run time"):
        assert needle in top, f"{name}: the first cells should state the {needle!r}"
    bottom = _markdown(nb.cells[-3:])
    for needle in ("summary", "further reading"):
        assert needle in bottom, f"{name}: the last cells should hold a {needle!r} section"


def test_files_are_plain_json_with_a_trailing_newline(notebook) -> None:
    name, _ = notebook
    text = (NOTEBOOKS / name).read_text(encoding="utf-8")
    json.loads(text)
    assert text.endswith("\n"), f"{name}: end the file with a newline (nbformat.write does)"


def _notebook_tool():  # type: ignore[no-untyped-def]
    from course_scripts import load_script

    return load_script("notebooks")


def test_every_notebook_has_its_text_source_and_they_agree() -> None:
    """The MyST text file is the source a teacher edits; the .ipynb must hold the same cells."""
    tool = _notebook_tool()
    found = tool.pairs(NOTEBOOKS)
    assert [b.name for _, b in found] == [p.name for p in course_notebooks()]
    bad = [msg for text, book in found for msg in tool.problems(text, book)]
    assert not bad, "\n".join(bad) + "\nrun `python scripts/notebooks.py sync`"


def test_pair_check_notices_an_edit_of_either_file(tmp_path: Path) -> None:
    """The check must fail when only one file of a pair was edited (it is not vacuous)."""
    import jupytext

    tool = _notebook_tool()
    text, book = tool.pairs(NOTEBOOKS)[0]
    edited_text = tmp_path / text.name
    edited_text.write_text(text.read_text(encoding="utf-8").replace("# ", "# Edited: ", 1),
                           encoding="utf-8")
    copy_book = tmp_path / book.name
    copy_book.write_text(book.read_text(encoding="utf-8"), encoding="utf-8")
    assert any("different cells" in m for m in tool.problems(edited_text, copy_book))
    nb = jupytext.read(text)
    nb.cells[0].source += " changed"
    copy_book.write_text(tool.stripped_text(nb), encoding="utf-8")
    assert any("different cells" in m for m in tool.problems(text, copy_book))
