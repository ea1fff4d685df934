"""Run All in the student edition: cells that need an exercise's answer wait for it.

In the student edition a solution block is gone and its placeholder (``y = None``) remains, so a
later cell that uses the answer — a name the solution sets, or one computed from it, or from a
cell that itself waits — would stop Run All with a traceback. :func:`guard_plan` finds those
cells by reading the cells' code (a small data-flow pass over their statements), and
:func:`guarded_source` wraps each in ``if solved("<key>", "<Exercise N — title>"):``
(:func:`xai_tutor.exercises.solved`), so Run All prints "solve exercise N first" there instead.
The check calls themselves are never wrapped: a check answers a placeholder with feedback.

Example::

    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[
    ...     nbformat.v4.new_markdown_cell("### Exercise 1 — double"),
    ...     nbformat.v4.new_code_cell("y = None\\n### BEGIN SOLUTION demo.y\\ny = 2\\n"
    ...                               "### END SOLUTION\\ncheck_y(y)"),
    ...     nbformat.v4.new_code_cell("print(y + 1)")])
    >>> guard_plan(nb)
    {2: [('demo.y', 'Exercise 1 — double')]}
"""

from __future__ import annotations

import ast
import io
import re
import tokenize

import nbformat

from .solution_blocks import split_solutions

__all__ = ["guard_plan", "guarded_source"]

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
