"""The teacher's answer key and timing tables are generated from the notebooks: they must match."""

from __future__ import annotations

import json
from pathlib import Path

from course_scripts import load_script

ROOT = Path(__file__).resolve().parents[1]
guide = load_script("teaching_guide")


def _record() -> dict:
    path = ROOT / "docs" / "timings.json"
    return json.loads(path.read_text()) if path.exists() else {}


def test_answer_key_is_the_notebooks_solutions() -> None:
    expected = guide.answers_markdown(guide.course())
    assert (ROOT / "docs" / "answers.md").read_text(encoding="utf-8") == expected, (
        "docs/answers.md is out of date: run `python scripts/teaching_guide.py`")


def test_timings_page_matches_the_notebooks_and_the_recorded_run() -> None:
    expected = guide.timings_markdown(guide.course(), _record())
    assert (ROOT / "docs" / "timings.md").read_text(encoding="utf-8") == expected, (
        "docs/timings.md is out of date: run `python scripts/teaching_guide.py`")


def test_every_notebook_was_timed() -> None:
    seconds = _record().get("seconds", {})
    missing = [b.stem for b in guide.course() if b.stem not in seconds]
    assert not missing, f"no measured run time for {missing}: run `make guide`"


def test_each_planned_session_fits_two_hours() -> None:
    books = {b.stem: b for b in guide.course()}
    seconds = _record().get("seconds", {})
    for title, stems, _home, _assign in guide.CLASS_2H + guide.COURSE_4:
        total = guide.plan_minutes(stems, books, seconds)["total"]
        assert total <= 120, f"{title}: {total} min of class time"
    planned = {s for _t, stems, home, _a in guide.COURSE_4 for s in stems + home}
    assert planned == {s[:2] for s in books}, "the 4-session course must cover every notebook"


def test_reading_time_counts_words_and_code() -> None:
    book = guide.Notebook("99_x", "x", words=360, code_lines=20, exercises=[], solutions=[])
    assert book.reading_minutes == 4   # 360 / 180 + 20 / 10
