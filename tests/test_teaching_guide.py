"""The teacher's documents are generated from the notebooks and the recorded run: they must match;
the class plans respect every notebook's prerequisites and leave slack."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import jupytext
import nbformat

from xai_tutor.teaching import editions, guide, plans
from xai_tutor.teaching import expected_values as values
from xai_tutor.teaching import syllabus as notebooks

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str) -> dict:
    path = ROOT / "docs" / name
    return json.loads(path.read_text()) if path.exists() else {}


def _books() -> dict:
    return {b.id: b for b in notebooks.course()}


def test_answer_key_is_the_notebooks_solutions_and_the_recorded_run() -> None:
    expected = guide.answers_markdown(notebooks.course(), _load("expected.json"),
                                      _load("timings.json"))
    assert (ROOT / "docs" / "answers.md").read_text(encoding="utf-8") == expected, (
        "docs/answers.md is out of date: run `make guide`")


def test_timings_page_matches_the_notebooks_and_the_recorded_run() -> None:
    expected = guide.timings_markdown(notebooks.course(), _load("timings.json"))
    assert (ROOT / "docs" / "timings.md").read_text(encoding="utf-8") == expected, (
        "docs/timings.md is out of date: run `python scripts/teaching_guide.py`")


def test_the_exercise_lists_of_the_teaching_guide_are_generated() -> None:
    text = (ROOT / "docs" / "teaching.md").read_text(encoding="utf-8")
    assert guide.teaching_markdown(text, notebooks.course()) == text, (
        "docs/teaching.md's exercise lists are out of date: run "
        "`python scripts/teaching_guide.py`")
    for book in notebooks.course():
        for ex in book.exercises:
            assert f"(`{ex.key}`" in text, f"docs/teaching.md does not list {ex.key}"


def test_the_teaching_guide_has_no_note_on_an_exercise_that_does_not_exist() -> None:
    keys = {ex.key for b in notebooks.course() for ex in b.exercises}
    modules = {k.split(".")[0] for k in keys}
    text = (ROOT / "docs" / "teaching.md").read_text(encoding="utf-8")
    noted = set(re.findall(r"^- `([a-z_]+\.[a-z_]+)`:", text, re.M))
    stale = sorted(k for k in noted if k.split(".")[0] in modules and k not in keys)
    assert not stale, f"docs/teaching.md has notes on exercises no notebook has: {stale}"


def test_every_notebook_was_timed_and_every_answer_recorded() -> None:
    seconds = _load("timings.json").get("seconds", {})
    missing = [b.stem for b in notebooks.course() if b.stem not in seconds]
    assert not missing, f"no measured run time for {missing}: run `make guide`"
    answers = _load("expected.json").get("answers", {})
    unrecorded = [ex.key for b in notebooks.course() for ex in b.exercises
                  if ex.key not in answers.get(b.stem, {})]
    assert not unrecorded, f"no recorded answer for {unrecorded}: run `make guide`"


def test_every_exercise_sits_under_its_own_heading() -> None:
    """A section heading such as "## Exercises" above the first "### Exercise 1" belongs to no
    exercise (the answer key once paired each solution with the heading before its own)."""
    nb = jupytext.reads("## Exercises\n\n### Exercise 1 — a\n\n```{code-cell}\nx = None\n"
                        "### BEGIN SOLUTION t.a\nx = 1\n### END SOLUTION\ncheck_a(x)\n```\n\n"
                        "### Exercise 2 — b\n\n```{code-cell}\ny = None\n### BEGIN SOLUTION t.b\n"
                        "y = 2\n### END SOLUTION\ncheck_b(y, x)\n```\n", fmt="md:myst")
    found = notebooks.exercises(nb.cells)
    assert [(e.heading, e.key, e.check) for e in found] == [
        ("Exercise 1 — a", "t.a", "check_a(x)"), ("Exercise 2 — b", "t.b", "check_b(y, x)")]
    for book in notebooks.course():
        for ex in book.exercises:
            assert not re.fullmatch(r"Exercises?", ex.heading), (book.stem, ex.key)


def test_prerequisites_are_read_from_every_notebook_and_come_earlier() -> None:
    books = _books()
    order = notebooks.id_order
    for ident, book in books.items():
        if ident != "00":
            assert book.requires, f"{book.stem}: no **Prerequisites.** paragraph with a link"
        for need in book.requires | book.helpful:
            assert need in books, f"{book.stem} names notebook {need}, which does not exist"
            assert order(need) < order(ident), f"{book.stem} needs the later notebook {need}"
    assert books["06"].requires == {"03", "05"} and books["08"].requires >= {"07"}
    assert "03" in books["04"].helpful and "03" not in books["04"].requires
    assert books["11b"].requires == {"11"}, "the second part of 11 needs 11"


def test_prerequisite_rules() -> None:
    read = notebooks.prerequisites
    assert read("**Prerequisites.** Python. Notebook 02 recaps what you need.") == (
        frozenset(), frozenset())
    assert read("**Prerequisites.** [05 · CAM](05_cam.ipynb); the method notebooks 03–04; "
                "[09](09_f.ipynb) and 10 help.") == (frozenset({"03", "04", "05"}),
                                                     frozenset({"09"}))


def test_every_plan_respects_prerequisites_and_leaves_slack() -> None:
    books, seconds = _books(), _load("timings.json").get("seconds", {})
    for plan in plans.PLANS:
        assert plans.problems(plan, books, seconds) == [], plan.title


def test_the_rules_catch_the_plans_they_are_for() -> None:
    """The former plans: 06 (guided backprop from 03) in a class without 03, 116 of 120 minutes
    with no set-up or discussion, and 08 read before 07 was taught."""
    books, seconds = _books(), _load("timings.json").get("seconds", {})
    old_class = plans.Plan("2h", [plans.Session("c", in_class=["02", "05", "06"])], False)
    found = "\n".join(plans.problems(old_class, books, seconds))
    assert "notebook 06 needs 03" in found and "set-up" in found and "discussion" in found
    old_course = plans.Plan("4", [
        plans.Session("1", before=["00"], in_class=["01", "02"], setup=10, discussion=10),
        plans.Session("2", in_class=["03"], setup=10, discussion=10),
        plans.Session("3", before=["05", "08"], in_class=["06", "07"], setup=5, discussion=10),
    ], True)
    found = "\n".join(plans.problems(old_course, books, seconds))
    assert "notebook 08 needs 07" in found and "are in no session" in found


def test_notebook_identifiers_are_the_stem_before_the_first_underscore() -> None:
    assert [notebooks.notebook_id(s) for s in ("06_gradcam", "11b_claims", "13_shortcuts")] == [
        "06", "11b", "13"]
    assert sorted(["12", "11b", "13", "11", "02"], key=notebooks.id_order) == [
        "02", "11", "11b", "12", "13"]
    ids = [b.id for b in notebooks.course()]
    assert "11b" in ids and ids == sorted(ids, key=notebooks.id_order)
    assert notebooks.prerequisites("**Prerequisites.** [11 · C](11_comparison.ipynb) and "
                                   "[11b · Claims](11b_claims.ipynb).")[0] == {"11", "11b"}


def test_a_notebook_added_later_lands_in_the_last_session(tmp_path: Path) -> None:
    """A notebook 14 added to the course (a copy of the course's folder with one more notebook)
    is read with its identifier and prerequisites and placed after the last session, and every
    plan still keeps its rules."""
    for source in notebooks.notebook_files():
        (tmp_path / source.name).write_bytes(source.read_bytes())
    (tmp_path / "14_shortcuts.md").write_text(
        "# 14 · Shortcuts\n\n**Prerequisites.** [06 · Grad-CAM](06_gradcam.ipynb) and "
        "[11b · Claims](11b_claims.ipynb).\n\n```{code-cell} ipython3\nx = None\n"
        "### BEGIN SOLUTION late.x\nx = 1\n### END SOLUTION\ncheck_x(x)\n```\n",
        encoding="utf-8")
    books = {b.id: b for b in notebooks.course(tmp_path)}
    assert list(books)[-1] == "14" and books["14"].requires == {"06", "11b"}
    stems = [b.stem for b in books.values()]
    assert plans.expand(plans.COURSE_4, stems)[-1].after[-1] == "14"
    assert "14" not in plans.expand(plans.CLASS_2H, stems)[-1].after
    seconds = _load("timings.json").get("seconds", {})
    for plan in plans.PLANS:
        assert plans.problems(plan, books, seconds) == [], plan.title
    assert books["12"].requires >= {"11", "11b"}, "a range 03-11 takes in the parts of 11"


def test_predictions_count_less_time_than_exercises() -> None:
    """The minutes of a notebook's exercises read the declaration of each: a prediction
    (``exercise(..., prediction=True)``) counts MINUTES_PER_PREDICTION."""
    declared = notebooks.declarations()
    for book in notebooks.course():
        for ex in book.exercises:
            assert ex.prediction == declared[ex.key].prediction, ex.key
        expected = sum(plans.MINUTES_PER_PREDICTION if declared[ex.key].prediction
                       else plans.MINUTES_PER_EXERCISE for ex in book.exercises)
        assert plans.exercise_minutes(book) == expected, book.stem
    assert sum(b.predictions for b in notebooks.course()) >= 12
    assert plans.MINUTES_PER_PREDICTION < plans.MINUTES_PER_EXERCISE
    one = notebooks.Notebook("99_x", "x", 0, 0, exercises=[
        notebooks.Exercise("E1", "a.b", "", "", prediction=True),
        notebooks.Exercise("E2", "a.c", "", "")])
    assert plans.exercise_minutes(one) == plans.MINUTES_PER_PREDICTION + plans.MINUTES_PER_EXERCISE


def test_the_plans_place_both_parts_of_11() -> None:
    stems = [b.stem for b in notebooks.course()]
    placed = [n for s in plans.expand(plans.COURSE_4, stems) for n in s.order]
    assert placed.index("11") < placed.index("11b") < placed.index("12")


def test_reading_time_counts_words_and_code() -> None:
    book = notebooks.Notebook("99_x", "x", words=360, code_lines=20)
    assert book.reading_minutes == 4   # 360 / 180 + 20 / 10


def test_probes_record_each_answer_and_leave_no_trace() -> None:
    """The probe cells run in a real kernel after each exercise (after the later cell that checks
    a prediction) and are removed afterwards."""
    cells = [nbformat.v4.new_markdown_cell("# t"),
             nbformat.v4.new_code_cell("import numpy as np\nx = np.arange(6.0).reshape(2, 3)"),
             nbformat.v4.new_code_cell("y = None  # your code here\n# --- solution (t.y)\n"
                                       "y = x.sum(axis=0)\n# --- end of solution\n"
                                       "print('✅ Correct (y): fine')\ncheck = None\n"
                                       "def check_y(a, b):\n    return a\ncheck_y(y, x)"),
             nbformat.v4.new_code_cell("# --- solution (t.f)\ndef twice(a, b=2):\n"
                                       "    return a * b\n# --- end of solution\n"
                                       "check_y(twice, x)"),
             nbformat.v4.new_code_cell("guess = None  # your prediction\n"
                                       "# --- solution (t.guess)\nguess = 'up'\n"
                                       "# --- end of solution"),
             nbformat.v4.new_code_cell("print('revealed')"),
             nbformat.v4.new_code_cell("class Said:\n    def __repr__(self):\n"
                                       "        return '✅ Correct (guess): up'\n"
                                       "def check_guess(a):\n    return Said()\n"
                                       "check_guess(guess)"),
             nbformat.v4.new_code_cell("print('after')")]
    nb = values.add_probes(nbformat.v4.new_notebook(cells=cells))
    assert len(nb.cells) == 11 and values.PROBE_TAG in nb.cells[9].metadata.tags
    editions.execute(nb, ROOT)
    record = values.take_probes(nb)
    assert [c.source for c in nb.cells] == [c.source for c in cells]
    assert record == {"t.y": {"values": {"y": "array of shape (3,): min 3, max 7, mean 5, "
                                               "values [3.0, 5.0, 7.0]"},
                              "check": "✅ Correct (y): fine"},
                      "t.f": {"values": {"twice": "function twice(a, b=2)"}, "check": ""},
                      "t.guess": {"values": {"guess": "'up'"},
                                  "check": "✅ Correct (guess): up"}}
    assert values.printed(nb) == [["t", "revealed"], ["t", "after"]]


def test_a_prediction_is_listed_with_the_cell_that_checks_it() -> None:
    nb = jupytext.reads("### Exercise 1 — predict\n\n```{code-cell}\nguess = None\n"
                        "### BEGIN SOLUTION t.guess\nguess = 'up'\n### END SOLUTION\n```\n\n"
                        "```{code-cell}\nprint(1)\n```\n\n```{code-cell}\ncheck_guess(guess)\n```"
                        "\n", fmt="md:myst")
    (found,) = notebooks.exercises(nb.cells, {"t.guess": SimpleNamespace(prediction=True)})
    assert (found.key, found.check, found.prediction) == ("t.guess", "check_guess(guess)", True)
    declared = notebooks.declarations()
    for book in notebooks.course():
        for ex in book.exercises:
            assert ex.check.startswith(declared[ex.key].check.__name__ + "("), ex.key


def test_a_notebook_added_later_gets_its_exercise_list() -> None:
    books = notebooks.course()
    late = notebooks.Notebook("14_late", "14 · Late", 10, 1, exercises=[
        notebooks.Exercise("Exercise 1 — x", "late.x", "x = 1", "check_x(x)")])
    text = guide.teaching_markdown("# Guide\n\n## Further reading\n", books + [late])
    assert "### 14 · Late\n\n<!-- exercises 14 " in text
    assert text.index("(`late.x`, checked by `check_x(x)`)") < text.index("## Further reading")
