"""Build the student and teacher editions of the course from its one source, ``notebooks/*.md``.

Solutions are marked in the source, in a code cell::

    y_c = None  # your code here
    ### BEGIN SOLUTION cam.gap_logit
    y_c = pooled @ fc.weight[c] + fc.bias[c]
    ### END SOLUTION
    check_gap_logit(y_c, model, x, c)

and whole cells can carry the tag ``solution`` (an answer in prose) or ``teacher`` (a note for the
teacher). The **student** edition drops the marked lines and tagged cells, so the placeholder and
the check remain; a later cell that uses an answer is wrapped in ``if solved(...)``, so that Run
All prints "solve exercise N first" there instead of stopping with a traceback. The **teacher**
edition keeps everything, with the markers turned into visible comments; ``--execute`` also runs
it (strict checks) and keeps the outputs, the run times and the value of every answer (the
answer probes), read by ``scripts/teaching_guide.py``. The work is done by
:mod:`xai_tutor.teaching.editions`. Usage::

    python scripts/editions.py student build/student
    python scripts/editions.py teacher build/teacher [--execute] [--only 06 11b]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from xai_tutor.teaching.editions import BANNER, build
from xai_tutor.teaching.solution_blocks import EditionError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=sorted(BANNER))
    parser.add_argument("out", type=Path)
    parser.add_argument("--execute", action="store_true",
                        help="run each notebook and keep its outputs (the expected answers)")
    parser.add_argument("--only", nargs="*",
                        help="notebook identifiers or names, e.g. 02 11b 05_cam")
    args = parser.parse_args(argv)
    try:
        written = build(args.kind, args.out, args.execute, args.only)
    except EditionError as err:
        print(f"editions: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("editions: interrupted; the previous build is left as it was", file=sys.stderr)
        return 130
    print(f"{args.kind} edition: {len(written)} notebooks in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
