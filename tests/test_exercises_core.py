"""The one declaration behind every exercise: placeholders, naming, strict mode, registration,
:func:`solved` (the student edition's guard) and the check log that grading reads."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from xai_tutor.exercises import Feedback, core
from xai_tutor.exercises.core import EXERCISES, LOG_ENV, Expect, exercise, solved
from xai_tutor.teaching.syllabus import notebook_id

from solutions import NOTEBOOKS, checks, solutions


@pytest.fixture()
def demo():
    """A throw-away exercise, registered for the test only."""

    @exercise("demo.double", "twice", "n", notebook="98")
    def check_double(twice, n):
        if n < 0:
            raise ValueError("n must be >= 0")
        return Expect(2.0 * n, [(float(n), "you returned n itself.")])

    yield check_double
    core.SOLUTION_CHECKS.pop("demo.double")
    EXERCISES.pop("demo.double")
    core._RESULTS.pop("demo.double", None)


def test_a_declaration_judges_names_and_registers(demo) -> None:
    assert demo(6.0, 3).ok and demo(6.0, 3).name == "twice"
    assert demo(3.0, 3).message == "you returned n itself."
    assert "factor" in demo(12.0, 3).message
    fb = demo(None, 3)
    assert not fb.ok and not fb.answered and "`twice` is still None" in fb.message
    assert core.SOLUTION_CHECKS["demo.double"]({"twice": 6.0, "n": 3}).ok
    with pytest.raises(RuntimeError, match="twice"):
        exercise("demo.double", "twice", "n")(lambda twice, n: Expect(0))


def test_every_check_answers_placeholders_without_raising(monkeypatch) -> None:
    """Whatever the context, a placeholder answer is feedback, never an exception (the student
    edition runs every check cell with its placeholder)."""
    monkeypatch.delenv("XAI_TUTOR_STRICT_CHECKS", raising=False)
    checks()  # imports every exercise module
    for key, ex in EXERCISES.items():
        for placeholder in (None, ...):
            fb = ex.check(*([placeholder] * len(ex.names)))
            assert isinstance(fb, Feedback) and not fb.ok and not fb.answered, key
            assert "placeholder" in fb.message, key


def test_declarations_match_the_notebooks() -> None:
    """The declared notebook is the one holding the solution block, and the solution sets the
    names the check reads as answers."""
    checks()
    where = {key: notebook_id(path.stem) for path in sorted(NOTEBOOKS.glob("*.md"))
             for key in re.findall(r"^### BEGIN SOLUTION (\S+)$", path.read_text(), re.M)}
    assert set(where) == set(EXERCISES)
    for key, ex in EXERCISES.items():
        assert ex.notebook == where[key], key
        for name in ex.names[:ex.answers]:
            pattern = rf"^\s*(def )?{re.escape(name)}\b"
            assert re.search(pattern, solutions()[key], re.M), (key, name)
    books = {ex.notebook for ex in EXERCISES.values() if ex.prediction}
    assert books == {notebook_id(p.stem) for p in NOTEBOOKS.glob("[0-9][0-9]*_*.md")}, (
        "every notebook has a predict-then-check exercise")


def test_strict_mode_raises_on_a_wrong_answer_only(demo, monkeypatch) -> None:
    monkeypatch.setenv("XAI_TUTOR_STRICT_CHECKS", "1")
    assert demo(6.0, 3).ok
    with pytest.raises(AssertionError, match="check_double failed"):
        demo(5.0, 3)


def test_solved_says_which_exercise_to_solve_first(demo, capsys) -> None:
    assert not solved("demo.double", "Exercise 2 — the double")
    assert "solve exercise 2 — the double first" in capsys.readouterr().out
    demo(5.0, 3)
    assert not solved("demo.double", "Exercise 2 — the double")
    assert "not right yet" in capsys.readouterr().out
    demo(6.0, 3)
    assert solved("demo.double", "Exercise 2 — the double")
    assert capsys.readouterr().out == ""


def test_the_check_log_contract(demo, tmp_path, monkeypatch) -> None:
    """XAI_TUTOR_CHECK_LOG: one JSON line per call, appended, with key, notebook, ok, answered
    and message; an error inside a check is logged, then raised."""
    log = tmp_path / "checks.jsonl"
    log.write_text('{"earlier": "line"}\n')
    monkeypatch.setenv(LOG_ENV, str(log))
    demo(6.0, 3)
    demo(3.0, 3)
    demo(None, 3)
    with pytest.raises(ValueError):
        demo(1.0, -1)
    lines = log.read_text().splitlines()
    assert lines[0] == '{"earlier": "line"}'
    records = [json.loads(line) for line in lines[1:]]
    assert [set(r) for r in records] == [{"key", "notebook", "ok", "answered", "message"}] * 4
    assert [(r["key"], r["notebook"]) for r in records] == [("demo.double", "98")] * 4
    assert [(r["ok"], r["answered"]) for r in records] == [
        (True, True), (False, True), (False, False), (False, True)]
    assert records[1]["message"] == "you returned n itself."
    assert "ValueError" in records[3]["message"]


def test_a_log_that_cannot_be_written_never_breaks_a_check(demo, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(LOG_ENV, str(tmp_path))                  # a folder, not a file
    assert demo(6.0, 3).ok
    monkeypatch.setenv(LOG_ENV, str(tmp_path / "missing" / "dir" / "log.jsonl"))
    assert demo(6.0, 3).ok
    monkeypatch.delenv(LOG_ENV)
    assert demo(6.0, 3).ok and not (Path.cwd() / "checks.jsonl").exists()


def test_a_log_line_is_written_by_a_real_exercise(tmp_path, monkeypatch) -> None:
    from xai_tutor.exercises.comparison import check_relevance_mass

    log = tmp_path / "log.jsonl"
    monkeypatch.setenv(LOG_ENV, str(log))
    s = np.array([[1.0, 3.0], [0.0, 0.0]])
    m = np.array([[[False, True], [False, False]]])
    check_relevance_mass(0.25, s, m)
    (record,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert record["key"] == "comparison.relevance_mass" and record["notebook"] == "11"
    assert record["ok"] is False and record["answered"] is True
    assert "OUTSIDE" in record["message"]
