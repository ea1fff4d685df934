"""Grade learners' notebooks: run each submission in a fresh kernel and temporary folder, with a
time limit, and write one table of every exercise check's result per submission.

Command line (``make grade SUBMISSIONS=folder`` runs the same)::

    xai-tutor grade SUBMISSIONS --out grades --timeout 600

``SUBMISSIONS`` holds a folder per learner (or one file per learner) with the student edition of
the notebooks, answered (see :mod:`xai_tutor.grading.submissions`). ``grades/`` receives
``grades.csv``, ``grades.html`` and ``executed/<learner>/<file>`` (each notebook as it ran). A
submission that is not a notebook, a cell that never ends, an exception, a kernel that dies or
code that tries to delete or write files outside its folder is reported in the table and never
stops the run (:mod:`xai_tutor.grading.run`, :mod:`xai_tutor.grading.guard`).

Why not nbgrader or otter-grader: see "Grading submitted notebooks" in ``docs/teaching.md``.

Example::

    >>> from xai_tutor.grading import grade_folder
    >>> grade_folder("submissions", "grades", seconds=600)  # doctest: +SKIP
"""

from __future__ import annotations

import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..teaching.syllabus import NOTEBOOKS
from .report import to_csv, to_html
from .run import Check, Result, grade_one, parse_log
from .submissions import Submission, expected_keys, find_submissions

__all__ = ["grade_folder", "grade_one", "find_submissions", "Submission", "Result", "Check",
           "parse_log", "COURSE_NOTEBOOKS"]

#: The course's notebook sources (their solution blocks name every exercise), in a checkout.
COURSE_NOTEBOOKS = NOTEBOOKS


def grade_folder(submissions: str | Path, out: str | Path, seconds: int = 600, jobs: int = 1,
                 force: bool = False, notebooks: Path | None = COURSE_NOTEBOOKS,
                 progress: bool = True) -> list[Result]:
    """Grade every file in ``submissions``; write ``out/grades.csv``, ``out/grades.html`` and
    ``out/executed/``. ``out`` is written beside itself and moved into place when complete; an
    existing ``out`` is replaced only with ``force``. ``jobs`` submissions run at a time."""
    if seconds < 1:
        raise ValueError(f"the time limit must be at least 1 second; got {seconds}")
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1; got {jobs}")
    out = Path(out)
    if out.exists() and not force and any(out.iterdir()):
        raise FileExistsError(f"{out} already holds files; pass --force to replace it")
    found = find_submissions(Path(submissions))
    expected = expected_keys(notebooks)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        def one(sub: Submission) -> Result:
            keep = tmp / "executed" / sub.learner / sub.path.name
            try:
                return grade_one(sub, seconds, keep)
            except Exception as err:  # one submission never stops the grading of the others
                return Result(sub.learner, sub.name, sub.notebook, "crashed",
                              f"the grader failed on it: {type(err).__name__}: {err}")

        from tqdm.auto import tqdm

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            results = list(tqdm(pool.map(one, found), total=len(found), disable=not progress,
                                desc="grading", unit="notebook"))
        (tmp / "grades.csv").write_text(to_csv(results, expected), encoding="utf-8")
        (tmp / "grades.html").write_text(
            to_html(results, expected, f"Grades of {Path(submissions).name}"), encoding="utf-8")
        tmp.chmod(0o755)
        if out.exists():
            old = out.with_name(f".{out.name}-old")
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for r in results:  # the copies now live in out
        if r.executed is not None:
            r.executed = out / r.executed.relative_to(tmp)
    return results
