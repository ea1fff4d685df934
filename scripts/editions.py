"""Build the student and teacher editions of the course from its one source, ``notebooks/*.md``.

Solutions are marked in the source, in a code cell::

    y_c = None  # your code here
    ### BEGIN SOLUTION cam.gap_logit
    y_c = pooled @ fc.weight[c] + fc.bias[c]
    ### END SOLUTION
    check_gap_logit(y_c, model, x, c)

and whole cells can carry the tag ``solution`` (an answer in prose) or ``teacher`` (a note for the
teacher). The **student** edition drops the marked lines and tagged cells, so the placeholder and
the check remain: running the cell shows the check's feedback. The **teacher** edition keeps
everything, with the markers turned into visible comments; ``--execute`` also runs it and keeps the
outputs (the expected answers). Usage::

    python scripts/editions.py student build/student
    python scripts/editions.py teacher build/teacher [--execute]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import time
from pathlib import Path

import jupytext
import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from atomic import atomic_folder  # noqa: E402
from expected_values import add_probes, take_probes  # noqa: E402

from notebooks import NOTEBOOKS, strip  # noqa: E402

BEGIN = re.compile(r"^### BEGIN SOLUTION(?: (\S+))?\s*$")
END = re.compile(r"^### END SOLUTION\s*$")
HIDDEN_TAGS = {"solution", "teacher"}
BANNER = {
    "student": "*Student edition: the exercises are yours to solve; each check tells you what is "
               "right or wrong. Your teacher has the edition with the solutions.*",
    "teacher": "*Teacher edition: every solution is shown between `# --- solution` and "
               "`# --- end of solution` comments, and the checks run on it.*",
}


class EditionError(ValueError):
    """A solution block that is not closed, nested or empty."""


def split_solutions(source: str, where: str = "cell") -> list[tuple[str, str | None]]:
    """The lines of ``source`` as ``(line, key)`` pairs: ``key`` is None outside a solution block
    and the block's key (``""`` when unnamed) inside it; marker lines are left out."""
    out: list[tuple[str, str | None]] = []
    key: str | None = None
    body = 0
    for line in source.split("\n"):
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if key is not None:
                raise EditionError(f"{where}: nested ### BEGIN SOLUTION")
            key, body = begin.group(1) or "", 0
        elif end:
            if key is None:
                raise EditionError(f"{where}: ### END SOLUTION without a BEGIN")
            if body == 0:
                raise EditionError(f"{where}: empty solution block {key!r}")
            key = None
        else:
            out.append((line, key))
            body += key is not None
    if key is not None:
        raise EditionError(f"{where}: solution block {key!r} is not closed")
    return out


def student_source(source: str, where: str = "cell") -> str:
    """``source`` without its solution blocks."""
    return "\n".join(line for line, key in split_solutions(source, where) if key is None)


def teacher_source(source: str, where: str = "cell") -> str:
    """``source`` with each solution block framed by visible comments."""
    lines: list[str] = []
    previous: str | None = None
    for line, key in split_solutions(source, where):
        if key is not None and previous is None:
            lines.append("# --- solution" + (f" ({key})" if key else ""))
        if key is None and previous is not None:
            lines.append("# --- end of solution")
        lines.append(line)
        previous = key
    if previous is not None:
        lines.append("# --- end of solution")
    return "\n".join(lines)


def edition(nb: nbformat.NotebookNode, kind: str, name: str = "notebook") -> nbformat.NotebookNode:
    """The ``kind`` (``"student"`` or ``"teacher"``) edition of a source notebook."""
    if kind not in BANNER:
        raise ValueError(f"edition must be 'student' or 'teacher'; got {kind!r}")
    cells = []
    for i, cell in enumerate(nb.cells):
        tags = set(cell.metadata.get("tags", ()))
        if kind == "student" and tags & HIDDEN_TAGS:
            continue
        cell = nbformat.from_dict(dict(cell))
        if cell.cell_type == "code":
            where = f"{name} cell {i}"
            cell.source = (student_source if kind == "student" else teacher_source)(
                cell.source, where)
        cells.append(cell)
    banner = nbformat.v4.new_markdown_cell(BANNER[kind])
    out = nbformat.v4.new_notebook(cells=cells[:1] + [banner] + cells[1:],
                                   metadata=dict(nb.metadata))
    return strip(out)


@contextlib.contextmanager
def strict_checks(on: bool):  # type: ignore[no-untyped-def]
    """Set ``XAI_TUTOR_STRICT_CHECKS`` for kernels started inside the block, then restore it."""
    name, before = "XAI_TUTOR_STRICT_CHECKS", os.environ.get("XAI_TUTOR_STRICT_CHECKS")
    os.environ[name] = "1" if on else "0"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def execute(nb: nbformat.NotebookNode, cwd: Path, timeout: int = 600) -> nbformat.NotebookNode:
    """Run ``nb`` in a fresh ``python3`` kernel in ``cwd`` and keep its outputs."""
    from nbclient import NotebookClient

    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def build(kind: str, out: Path, run: bool = False, only: list[str] | None = None) -> list[Path]:
    """Write the ``kind`` edition of every course notebook (or those named in ``only``) to
    ``out``. The folder is written beside ``out`` and renamed into place when complete, so an
    interrupted build leaves the previous one intact."""
    sources = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.md"))
    if only:
        sources = [s for s in sources if s.stem in only or s.stem[:2] in only]
    written = []
    seconds: dict[str, float] = {}
    answers: dict[str, dict] = {}
    with atomic_folder(Path(out)) as tmp:
        for src in sources:
            nb = edition(jupytext.read(src), kind, src.name)
            if run:
                probe = kind == "teacher"  # the value of every answer, for the answer key
                start = time.perf_counter()
                with strict_checks(kind == "teacher"):
                    execute(add_probes(nb) if probe else nb, tmp)
                seconds[src.stem] = round(time.perf_counter() - start, 1)
                if probe:
                    answers[src.stem] = take_probes(nb)
            target = tmp / f"{src.stem}.ipynb"
            nbformat.write(nb, str(target))
            written.append(Path(out) / target.name)
        if run:  # measured run time per notebook, read by scripts/teaching_guide.py
            record = {"seconds": seconds, "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d"),
                      "models": os.environ.get("XAI_TUTOR_MODELS", "auto")}
            (tmp / "timings.json").write_text(json.dumps(record, indent=1) + "\n")
        if answers:  # each answer's value and check feedback, read by scripts/teaching_guide.py
            (tmp / "answers.json").write_text(json.dumps(answers, indent=1, ensure_ascii=False)
                                              + "\n", encoding="utf-8")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=sorted(BANNER))
    parser.add_argument("out", type=Path)
    parser.add_argument("--execute", action="store_true",
                        help="run each notebook and keep its outputs (the expected answers)")
    parser.add_argument("--only", nargs="*", help="notebook numbers or names, e.g. 02 05_cam")
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
