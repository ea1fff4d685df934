"""Build the student and teacher editions of the course from its one source, ``notebooks/*.md``.

Solutions are marked in the source, in a code cell::

    y_c = None  # your code here
    ### BEGIN SOLUTION cam.gap_logit
    y_c = pooled @ fc.weight[c] + fc.bias[c]
    ### END SOLUTION
    check_gap_logit(y_c, model, x, c)

and whole cells can carry the tag ``solution`` (an answer in prose) or ``teacher`` (a note for the
teacher). The **student** edition drops the marked lines and tagged cells, so the placeholder and
the check remain: running the cell shows the check's feedback. A later cell that uses an answer
(a name the solution defines, or one computed from it, or from a cell that itself waits) is
wrapped in ``if solved("<key>", "<Exercise N — title>"):`` (:func:`guard_plan` finds them by
reading the cells' code), so that Run All prints "solve exercise N first" there instead of
stopping with a traceback; the check calls themselves are never wrapped (a check answers a
placeholder with feedback). The **teacher** edition keeps everything, with the markers turned
into visible comments; ``--execute`` also runs it and keeps the outputs (the expected answers).
Usage::

    python scripts/editions.py student build/student
    python scripts/editions.py teacher build/teacher [--execute]
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import io
import json
import os
import re
import sys
import time
import tokenize
from pathlib import Path

import jupytext
import nbformat

from xai_tutor.atomic import atomic_folder
from xai_tutor.notebook_format import strip

sys.path.insert(0, str(Path(__file__).resolve().parent))
from expected_values import add_probes, take_probes  # noqa: E402

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

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


# ------------------------------------------------------------------ cells that need an answer

EXERCISE_HEADING = re.compile(r"^#{2,4} (Exercise[^\n]*)$", re.M)


def _python(source: str) -> ast.Module:
    """The cell's code as Python (IPython's ``!`` and ``%`` lines turned into calls)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return ast.parse(TransformerManager().transform_cell(source))


def _bound(node: ast.AST) -> set[str]:
    """Names a function, lambda or comprehension binds locally (parameters, assignments)."""
    names: set[str] = set()
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        a = node.args
        names |= {x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)}
        names |= {x.arg for x in (a.vararg, a.kwarg) if x is not None}
    body = node.generators if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp,
                                                ast.GeneratorExp)) else [node]
    for part in body:
        for sub in ast.walk(part.target if isinstance(part, ast.comprehension) else part):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                names.add(sub.id)
    return names


def _loads(node: ast.AST, bound: frozenset[str] = frozenset()) -> set[str]:
    """Global names that ``node`` reads, leaving out the arguments of ``check_*`` calls (a check
    answers a placeholder itself) and names bound in an inner scope."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
            and node.func.id.startswith("check_"):
        return set()
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ListComp,
                         ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        bound = bound | _bound(node)
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
        return set() if node.id in bound else {node.id}
    return set().union(*(_loads(child, bound) for child in ast.iter_child_nodes(node)))


def _stores(node: ast.stmt) -> set[str]:
    """Global names that a top-level statement binds."""
    names: set[str] = set()
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    for sub in ast.walk(node):
        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
            names.add(sub.id)
    return names


def _changed(node: ast.stmt) -> set[str]:
    """Names whose item or attribute a statement assigns (``x[k] = ...``, ``x.a += ...``)."""
    targets = getattr(node, "targets", None) or [getattr(node, "target", None)]
    names = set()
    for target in targets:
        while isinstance(target, (ast.Subscript, ast.Attribute)):
            target = target.value
            if isinstance(target, ast.Name):
                names.add(target.id)
    return names


class _Flow:
    """Which exercises the values of a cell's names wait for, statement by statement."""

    def __init__(self, waits: dict[str, frozenset[str]], own: list[str],
                 answers: dict[str, frozenset[str]], after: int) -> None:
        self.waits, self.own, self.answers, self.after = waits, set(own), answers, after
        self.local: dict[str, frozenset[str]] = {}
        self.needs: set[str] = set()

    def read(self, node: ast.AST) -> frozenset[str]:
        got = frozenset().union(*(self.local.get(n, self.waits.get(n, frozenset()))
                                  for n in _loads(node)))
        self.needs.update(got - self.own)
        return got

    def set(self, target: ast.AST, got: frozenset[str]) -> None:
        self.local.update({n.id: got for n in ast.walk(target) if isinstance(n, ast.Name)})

    def answer(self) -> None:
        for n, k in self.answers.items():  # where the solution block sets the answers
            self.local[n] = self.local.get(n, frozenset()) | k
        self.answers = {}

    def run(self, stmts: list[ast.stmt]) -> None:
        for stmt in stmts:
            if self.answers and stmt.lineno > self.after:
                self.answer()
            if isinstance(stmt, (ast.For, ast.AsyncFor)):
                self.set(stmt.target, self.read(stmt.iter))
                self.run(stmt.body + stmt.orelse)
            elif isinstance(stmt, (ast.With, ast.AsyncWith)):
                for item in stmt.items:
                    got = self.read(item.context_expr)
                    if item.optional_vars is not None:
                        self.set(item.optional_vars, got)
                self.run(stmt.body)
            elif isinstance(stmt, (ast.If, ast.While)):
                self.read(stmt.test)
                self.run(stmt.body + stmt.orelse)
            elif isinstance(stmt, ast.Try):
                self.run(stmt.body + [h for handler in stmt.handlers for h in handler.body]
                         + stmt.orelse + stmt.finalbody)
            else:
                got = self.read(stmt)
                self.local.update({n: got for n in _stores(stmt)})
                for n in _changed(stmt):  # x[k] = ..., x.a = ...: x keeps what it waited for
                    self.local[n] = got | self.local.get(n, self.waits.get(n, frozenset()))


def guard_plan(nb: nbformat.NotebookNode, name: str = "notebook"
               ) -> dict[int, list[tuple[str, str]]]:
    """For each code cell of the source notebook ``nb`` that uses an exercise's answer in the
    student edition: ``[(key, title), ...]`` of the exercises it waits for.

    A name is an exercise's answer when the solution block sets it and the student edition does
    not (it holds the placeholder, or is not defined before); a statement that reads such names
    passes the dependence on to the names it sets, and a cell that waits passes it on to every
    name it sets. Reads inside a ``check_*(...)`` call do not count."""
    waits: dict[str, frozenset[str]] = {}   # name -> the exercises its value waits for
    titles: dict[str, str] = {}
    heading = ""
    plan: dict[int, list[tuple[str, str]]] = {}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            found = EXERCISE_HEADING.findall(cell.source)
            heading = found[-1].strip() if found else heading
            continue
        if cell.cell_type != "code":
            continue
        lines = split_solutions(cell.source, f"{name} cell {i}")
        keys = list(dict.fromkeys(k for _, k in lines if k is not None))
        student = _python("\n".join(line for line, k in lines if k is None))
        kept = set().union(*(_stores(s) for s in student.body))
        answers: dict[str, frozenset[str]] = {}
        after = len(lines)  # the number of student lines before the first solution block
        for key in keys:
            titles[key] = heading or key
            first = [k for _, k in lines].index(key)
            after = min(after, sum(1 for _, k in lines[:first] if k is None))
            for stmt in _python("\n".join(line for line, k in lines if k == key)).body:
                for n in _stores(stmt):
                    if n in kept or n not in waits:
                        answers[n] = answers.get(n, frozenset()) | {key}
        flow = _Flow(waits, keys, answers, after)
        flow.run(student.body)
        flow.answer()
        if flow.needs:
            plan[i] = [(k, titles.get(k, k)) for k in sorted(flow.needs, key=list(titles).index)]
            flow.local = {n: k | frozenset(flow.needs) for n, k in flow.local.items()}
        waits.update(flow.local)
    return plan


def guarded_source(source: str, needs: list[tuple[str, str]]) -> str:
    """``source`` run only when every exercise in ``needs`` is solved: wrapped in
    ``if solved(...)``, its lines indented (not the continuation lines of a multi-line string), a
    last bare expression displayed as the cell would have shown it."""
    tree = _python(source)
    lines = source.split("\n")
    keep = set()  # continuation lines of multi-line strings keep their text
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.STRING and tok.end[0] > tok.start[0]:
            keep |= set(range(tok.start[0] + 1, tok.end[0] + 1))
    last = tree.body[-1] if tree.body else None
    if isinstance(last, ast.Expr) and not (
            isinstance(last.value, ast.Call) and (
                isinstance(last.value.func, ast.Name) and last.value.func.id in ("print", "display")
                or isinstance(last.value.func, ast.Attribute) and last.value.func.attr == "show")):
        first, end = last.lineno - 1, last.end_lineno
        expr = "\n".join(lines[first:end])
        lines[first:end] = [f"_shown = {expr}", "if _shown is not None:", "    display(_shown)"]
        keep = {n + (2 if n > end else 0) for n in keep}
    body = "\n".join(line if n + 1 in keep or not line.strip() else "    " + line
                     for n, line in enumerate(lines))
    calls = [f"solved({key!r}, {title!r})" for key, title in needs]
    test = calls[0] if len(calls) == 1 else "all([" + ", ".join(calls) + "])"
    return (f"# Student edition: this cell uses your answer{'s' if len(needs) > 1 else ''} to "
            + " and ".join(title for _, title in needs)
            + ": it runs once the check says Correct.\n"
            "from xai_tutor.exercises import solved\n\n"
            f"if {test}:\n{body}")


def edition(nb: nbformat.NotebookNode, kind: str, name: str = "notebook") -> nbformat.NotebookNode:
    """The ``kind`` (``"student"`` or ``"teacher"``) edition of a source notebook."""
    if kind not in BANNER:
        raise ValueError(f"edition must be 'student' or 'teacher'; got {kind!r}")
    plan = guard_plan(nb, name) if kind == "student" else {}
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
            if i in plan:
                cell.source = guarded_source(cell.source, plan[i])
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
    sources = sorted(NOTEBOOKS.glob("[0-9][0-9]*_*.md"))
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
