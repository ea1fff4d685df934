"""`xai-tutor grade` runs submitted notebooks in fresh kernels and temporary folders and reports
every check; bad submissions are rows of the table, never a crash, and touch nothing outside.

The submissions are a tiny notebook with two real checks of notebook 01 (cheap: no model); the
checks report to ``XAI_TUTOR_CHECK_LOG`` themselves, as in a course notebook.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from xai_tutor.grading import COURSE_NOTEBOOKS, grade_folder, parse_log
from xai_tutor.grading.guard import _inside
from xai_tutor.grading.report import cells, columns
from xai_tutor.grading.run import Check, Result
from xai_tutor.grading.submissions import expected_keys, notebook_number
from xai_tutor.teaching.syllabus import declarations

pytestmark = pytest.mark.slow  # about 40 s: eight submissions, six kernels

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 25  # seconds per notebook: a kernel starts and runs the tiny notebook in a few

REPORTER = "from xai_tutor.exercises.taxonomy import check_classification, check_filter"
RIGHT_FILTER = '["DeconvNet", "DeepLIFT", "LRP", "CAM", "Grad-CAM++"]'
RIGHT_CLASS = ('{"stage": "post-hoc", "dependency": "model-specific", '
               '"explanation": "attribution"}')
KEYS = ["taxonomy.filter", "taxonomy.classify"]


def notebook(*cells: str) -> str:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(REPORTER)]
                                  + [nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nbformat.writes(nb)


def answers(methods: str, score_cam: str) -> list[str]:
    return [f"methods = {methods}\ncheck_filter(methods)",
            f"score_cam = {score_cam}\ncheck_classification(score_cam)"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("grading")
    precious = base / "precious.txt"
    precious.write_text("the teacher's file")
    course = base / "course"
    course.mkdir()
    (course / "01_tiny.md").write_text("### BEGIN SOLUTION taxonomy.filter\n### END SOLUTION\n"
                                       "### BEGIN SOLUTION taxonomy.classify\n### END SOLUTION\n")
    subs = base / "submissions"
    for learner, text in {
        "ana": notebook(*answers(RIGHT_FILTER, RIGHT_CLASS)),
        "ben": notebook(*answers("None", "None")),
        "cat": notebook(*answers('["DeconvNet", "LRP", "CAM", "Grad-CAM++", "LIME"]',
                                 RIGHT_CLASS)),
        "dan": notebook(answers(RIGHT_FILTER, RIGHT_CLASS)[0], "while True:\n    pass",
                        answers(RIGHT_FILTER, RIGHT_CLASS)[1]),
        "eli": notebook("raise ValueError('my mistake')", *answers(RIGHT_FILTER, RIGHT_CLASS)),
        "fay": notebook(
            f"import os, shutil, subprocess, pathlib\nprecious = {str(precious)!r}\ntried = []\n"
            "for attempt in (lambda: os.remove(precious),\n"
            "                lambda: pathlib.Path(precious).unlink(),\n"
            "                lambda: open(precious, 'w').write('gone'),\n"
            "                lambda: shutil.rmtree(os.path.dirname(precious)),\n"
            "                lambda: os.rename(precious, 'here.txt'),\n"
            "                lambda: os.system('rm ' + precious),\n"
            "                lambda: subprocess.run(['rm', precious])):\n"
            "    try:\n        attempt()\n        tried.append('done')\n"
            "    except PermissionError:\n        tried.append('refused')\n"
            "assert tried == ['refused'] * 7, tried\n"
            "open('inside.txt', 'w').write('allowed')\n"
            "open(os.path.expanduser('~/home.txt'), 'w').write('allowed')\n"
            "import tempfile\ntempfile.NamedTemporaryFile().close()",
            *answers(RIGHT_FILTER, RIGHT_CLASS)),
    }.items():
        (subs / learner).mkdir(parents=True)
        (subs / learner / "01_tiny.ipynb").write_text(text)
    (subs / "gus").mkdir()
    (subs / "gus" / "01_tiny.ipynb").write_text('{"cells": [')           # broken JSON
    (subs / "hal.pdf").write_bytes(b"%PDF-1.4 not a notebook")           # a file per learner
    before = set(Path(tempfile.gettempdir()).glob("xai-tutor-grade-*"))
    results = grade_folder(subs, base / "grades", seconds=LIMIT, jobs=2, notebooks=course,
                           progress=False)
    left = set(Path(tempfile.gettempdir()).glob("xai-tutor-grade-*")) - before
    return base, {r.learner: r for r in results}, precious, left


def _row(results, learner):
    r = results[learner]
    return {k: v for k, (v, _m) in zip(KEYS, cells(r, KEYS, {"01": KEYS}))}


def test_right_answers_placeholders_and_a_slip(graded) -> None:
    _base, results, _p, _left = graded
    assert results["ana"].status == "ran"
    assert _row(results, "ana") == {"taxonomy.filter": "right", "taxonomy.classify": "right"}
    assert _row(results, "ben") == {"taxonomy.filter": "not answered",
                                    "taxonomy.classify": "not answered"}
    assert _row(results, "cat") == {"taxonomy.filter": "wrong", "taxonomy.classify": "right"}
    assert "1 that do not belong" in results["cat"].checks["taxonomy.filter"].message


def test_an_endless_cell_is_stopped_and_later_checks_are_not_run(graded) -> None:
    _base, results, _p, _left = graded
    dan = results["dan"]
    assert dan.status == "time limit" and "cell 2" in dan.detail
    assert dan.seconds < LIMIT + 10
    assert _row(results, "dan") == {"taxonomy.filter": "right", "taxonomy.classify": "not run"}


def test_an_exception_is_reported_and_the_rest_still_runs(graded) -> None:
    _base, results, _p, _left = graded
    eli = results["eli"]
    assert eli.status == "errors" and "ValueError: my mistake" in eli.errors[0]
    assert _row(results, "eli") == {"taxonomy.filter": "right", "taxonomy.classify": "right"}


def test_files_that_are_not_notebooks_are_reported_not_run(graded) -> None:
    _base, results, _p, _left = graded
    assert results["gus"].status == "not a notebook" and "JSON" in results["gus"].detail
    assert results["hal"].status == "not a notebook" and results["hal"].file == "hal.pdf"
    assert _row(results, "hal") == {"taxonomy.filter": "", "taxonomy.classify": ""}


def test_nothing_outside_the_temporary_folder_changes(graded) -> None:
    base, results, precious, left = graded
    fay = results["fay"]
    assert fay.status == "ran", (fay.status, fay.detail, fay.errors)   # every attempt refused
    assert precious.read_text() == "the teacher's file"
    assert _row(results, "fay") == {"taxonomy.filter": "right", "taxonomy.classify": "right"}
    assert not (Path.home() / "home.txt").exists()
    assert not left, f"temporary folders left behind: {left}"
    assert sorted(p.name for p in base.iterdir()) == ["course", "grades", "precious.txt",
                                                      "submissions"]


def test_one_table_as_csv_and_html_and_the_executed_notebooks(graded) -> None:
    base, results, _p, _left = graded
    grades = base / "grades"
    rows = list(csv.DictReader(io.StringIO((grades / "grades.csv").read_text())))
    assert [r["learner"] for r in rows] == ["ana", "ben", "cat", "dan", "eli", "fay", "gus",
                                            "hal"]
    ana = rows[0]
    assert (ana["taxonomy.filter"], ana["taxonomy.classify"], ana["right"], ana["of"]) == (
        "right", "right", "2", "2")
    page = (grades / "grades.html").read_text()
    assert page.count("<tr>") == 9 and "time limit" in page and "not a notebook" in page
    assert (grades / "executed" / "ana" / "01_tiny.ipynb").is_file()
    assert not (grades / "executed" / "dan").exists()    # killed: nothing to keep


def test_an_existing_output_folder_needs_force(graded, tmp_path: Path) -> None:
    base, _results, _p, _left = graded
    with pytest.raises(FileExistsError, match="--force"):
        grade_folder(base / "submissions", base / "grades", seconds=LIMIT, progress=False)


def test_the_command_line_reports_bad_arguments_in_one_line(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "xai_tutor", "grade", str(tmp_path / "none")],
                          capture_output=True, text=True, env={**os.environ,
                                                               "PYTHONPATH": str(ROOT)})
    assert done.returncode == 2
    assert done.stderr.strip().startswith("xai-tutor: error: no folder of submissions")


def test_the_log_keeps_the_last_report_of_a_key_and_skips_garbage() -> None:
    text = "\n".join([json.dumps({"key": "a", "ok": False, "answered": True, "message": "no"}),
                      "not json", json.dumps({"no key": 1}),
                      json.dumps({"key": "a", "ok": True, "answered": True, "message": "yes"})])
    assert parse_log(text) == {"a": Check(True, True, "yes")}
    r = Result("x", "01_t.ipynb", "01", "ran", checks=parse_log(text))
    assert cells(r, ["a", "b"], {"01": ["a", "b"]}) == [("right", "yes"), ("not run", "")]


def test_the_guard_tells_inside_from_outside(tmp_path: Path) -> None:
    root = str(tmp_path / "box")
    os.mkdir(root)
    assert _inside(os.path.join(root, "x", "y"), root)
    assert not _inside(os.path.join(root, "..", "escape.txt"), root)
    os.symlink("/etc", os.path.join(root, "link"))
    assert not _inside(os.path.join(root, "link", "passwd"), root)   # a link out of the box
    assert not _inside(root + "-sibling/file", root)


def test_a_second_part_is_graded_under_its_own_identifier(tmp_path: Path) -> None:
    """11b_claims is notebook "11b" in file names, expected keys and the table's column order;
    the keys of the course match each exercise's declared notebook."""
    assert [notebook_number(n) for n in ("11b_claims.ipynb", "ana_11b_claims (2).ipynb",
                                         "11_comparison.ipynb", "13_new.ipynb")] == [
        "11b", "11b", "11", "13"]
    for name, key in (("12_c.md", "c.z"), ("11b_b.md", "b.y"), ("11_a.md", "a.x")):
        (tmp_path / name).write_text(f"### BEGIN SOLUTION {key}\nx = 1\n### END SOLUTION\n")
    expected = expected_keys(tmp_path)
    assert expected == {"11": ["a.x"], "11b": ["b.y"], "12": ["c.z"]}
    results = [Result("ana", f"{n}_x.ipynb", n, "ran") for n in ("12", "11b", "11")]
    assert columns(results, expected) == ["a.x", "b.y", "c.z"]
    course = expected_keys(COURSE_NOTEBOOKS)
    declared = declarations()
    assert "comparison.verdict" in course["11b"]
    assert {k: n for n, keys in course.items() for k in keys} == {
        k: d.notebook for k, d in declared.items()}
