"""Write the teacher's documents that are generated from the course itself.

* ``docs/answers.md``: every exercise with its solution, the value of the answer and the check's
  feedback in the teacher's run, the answers in prose, and what each notebook printed;
* ``docs/timings.md``: per notebook, its prerequisites, reading time, exercises and measured run
  time; then the class plans with set-up, discussion and slack;
* the exercise lists and the summary of the plans in ``docs/teaching.md``.

The run is recorded in ``docs/timings.json`` and ``docs/expected.json``, copied from the executed
teacher edition, so that the pages can be regenerated and tested without running the course
again. The work is done by :mod:`xai_tutor.teaching.guide`. Usage (after ``make site``)::

    python scripts/teaching_guide.py build/site-notebooks/timings.json

Without an argument the recorded run in ``docs/`` is kept. ``tests/test_teaching_guide.py`` fails
when a page no longer matches the notebooks and the record.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from xai_tutor.teaching.guide import (
    DOCS,
    answers_markdown,
    load,
    record_run,
    teaching_markdown,
    timings_markdown,
    write_text,
)
from xai_tutor.teaching.syllabus import course


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("timings", type=Path, nargs="?",
                        help="timings.json from `scripts/editions.py teacher ... --execute`; "
                             "without it the run recorded in docs/ is kept")
    args = parser.parse_args(argv)
    if args.timings and not args.timings.is_file():
        print(f"teaching_guide: no run at {args.timings}; run `make site` first",
              file=sys.stderr)
        return 2
    books = course()
    if args.timings:
        record_run(args.timings)
    record, expected = load("timings.json"), load("expected.json")
    write_text(DOCS / "answers.md", answers_markdown(books, expected, record))
    write_text(DOCS / "timings.md", timings_markdown(books, record))
    teaching = DOCS / "teaching.md"
    write_text(teaching, teaching_markdown(teaching.read_text(encoding="utf-8"), books))
    print("wrote docs/answers.md, docs/timings.md and the generated parts of docs/teaching.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
