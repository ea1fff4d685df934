"""What the teacher's run of the course shows, recorded for the answer key: the value of every
exercise's answer, each check's feedback, and what each notebook prints.

The teacher's run (:func:`xai_tutor.teaching.editions.build` with ``run=True``, i.e.
``scripts/editions.py teacher OUT --execute``) calls :func:`add_probes` before it runs a notebook:
after every exercise cell (one with a ``### BEGIN SOLUTION`` block) it inserts a cell tagged
``answer-probe`` that prints a one-line JSON summary of the answer (the check call's arguments
that the cell assigns: shape, dtype, range and mean of a tensor; the value of a number, a string
or a short list). After the run, :func:`take_probes` removes those cells and returns, per exercise
key, the summary and the check's feedback; the notebook is saved as if they had never been there.
:func:`printed` reads what each section of an executed notebook printed (stdout).

Example::

    >>> answer_names("y = None\\ny = a @ b\\ncheck_y(y, a)", "check_y(y, a)")
    ['y']
"""

from __future__ import annotations

import ast
import json
import re
import textwrap
from typing import Any

import nbformat

__all__ = ["PROBE_TAG", "add_probes", "take_probes", "printed", "check_calls", "check_after",
           "answer_names"]

PROBE_TAG = "answer-probe"
MARK = "__xai_tutor_answer__"
MAX_LINES = 12       # lines kept of one cell's printed output
MAX_WIDTH = 200      # characters kept of one printed line
HEADING = re.compile(r"^#{1,4} +(.+?)\s*$", re.M)
FEEDBACK = re.compile(r"^[✅❌] ")
CHECK_CALL = re.compile(r"^\s*(?:assert\s+|\w+\s*=\s*)?(check_\w+\(.*)$")

# Runs in the notebook's kernel: summarise the named values as JSON on one marked line.
PROBE = '''def __xai_tutor_probe(key, names, space):
    import json, numbers
    def short(v):
        if isinstance(v, float):
            return float(f"{v:.6g}")
        return v
    def summary(v):
        if hasattr(v, "detach") and hasattr(v, "shape"):
            v = v.detach().cpu().double().numpy()
        if hasattr(v, "shape") and hasattr(v, "dtype") and getattr(v, "ndim", 0) > 0:
            text = f"array of shape {tuple(v.shape)}"
            if v.size and v.dtype.kind in "biuf":
                text += (f": min {float(v.min()):.6g}, max {float(v.max()):.6g}, "
                         f"mean {float(v.mean()):.6g}")
                if v.size <= 8:
                    text += f", values {[short(float(x)) for x in v.ravel()]}"
            return text
        if hasattr(v, "item") and getattr(v, "ndim", None) == 0:
            v = v.item()
        if isinstance(v, (bool, str)) or v is None:
            return repr(v)
        if callable(v) and hasattr(v, "__code__"):
            import inspect
            return f"function {v.__name__}{inspect.signature(v)}"
        if isinstance(v, numbers.Number):
            return repr(short(float(v)) if isinstance(v, float) else v)
        if isinstance(v, dict) and len(v) <= 8:
            return "{" + ", ".join(f"{k!r}: {summary(x)}" for k, x in v.items()) + "}"
        if isinstance(v, (list, tuple)) and len(v) <= 8:
            inner = ", ".join(summary(x) for x in v)
            return f"[{inner}]" if isinstance(v, list) else f"({inner})"
        if hasattr(v, "__len__"):
            return f"{type(v).__name__} of length {len(v)}"
        return type(v).__name__
    def safe(n):
        if n not in space:
            return "not defined"
        try:
            return summary(space[n])
        except Exception as err:  # a probe must never fail the run it observes
            return f"{type(space[n]).__name__} (not summarised: {type(err).__name__})"
    found = {n: safe(n) for n in names}
    print("{mark}" + json.dumps({"key": key, "values": found}))
'''.replace("{mark}", MARK)


def check_calls(lines: list[str]) -> list[str]:
    """The ``check_...(...)`` calls in ``lines`` (a call may span lines), one line each."""
    calls = []
    for i, line in enumerate(lines):
        match = CHECK_CALL.match(line)
        if match is None:
            continue
        call = match.group(1).strip()
        for more in lines[i + 1:]:
            if call.count("(") <= call.count(")"):
                break
            call += " " + more.strip()
        calls.append(re.sub(r"\s*#.*$", "", call) if call.count("(") == call.count(")")
                     else call)
    return calls


def _statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements of ``body`` and of the blocks inside it (``with``, ``if``, ``for``, ``try``),
    not those inside function or class definitions."""
    found: list[ast.stmt] = []
    for node in body:
        found.append(node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for name in ("body", "orelse", "finalbody", "handlers"):
            found += _statements([n for n in getattr(node, name, []) if isinstance(n, ast.stmt)]
                                 + [s for h in getattr(node, name, [])
                                    if isinstance(h, ast.ExceptHandler) for s in h.body])
    return found


def answer_names(source: str, check: str) -> list[str]:
    """The arguments of the ``check`` call that ``source`` assigns or defines as a function (at
    its top level or in a block such as ``with``; the answer names), in the call's order.

    >>> answer_names("def f(a):\\n    return a\\ny = f(2)", "check_f(f, y, z)")
    ['f', 'y']
    """
    try:
        tree = ast.parse(source)
        call = ast.parse(check.strip(), mode="eval").body
    except SyntaxError:
        return []
    assigned: set[str] = set()
    for node in _statements(tree.body):
        targets: list[ast.expr] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            assigned.add(node.name)
        elif isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            assigned |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    args = call.args if isinstance(call, ast.Call) else []
    return [a.id for a in args if isinstance(a, ast.Name) and a.id in assigned]


def _exercise(cell: nbformat.NotebookNode) -> tuple[list[str], str] | None:
    """(keys, check call) of an exercise cell of the teacher edition (the call ``""`` when the
    cell holds none), else None."""
    keys = re.findall(r"^# --- solution \((\S+)\)$", cell.source, re.M)
    if cell.cell_type != "code" or not keys:
        return None
    calls = check_calls(cell.source.split("\n"))
    return keys, calls[-1] if calls else ""


def check_after(sources: list[str], start: int, is_exercise: Any = None) -> tuple[int, str] | None:
    """``(index, call)`` of the first ``check_...(...)`` call in the code ``sources[start:]``
    (a predict-then-check exercise checks in a later cell, after a cell that reveals the
    outcome), stopping before the next exercise cell (``is_exercise(source)``); None if there is
    none."""
    for j in range(start, len(sources)):
        if is_exercise is not None and is_exercise(sources[j]):
            return None
        calls = check_calls(sources[j].split("\n"))
        if calls:
            return j, calls[0]
    return None


def add_probes(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``nb`` (teacher edition) with a probe cell after every exercise cell, or after the later
    cell that checks it when the exercise cell holds no check (a prediction)."""
    code = [c.source if c.cell_type == "code" else "" for c in nb.cells]
    after: dict[int, list[nbformat.NotebookNode]] = {}
    for i, cell in enumerate(nb.cells):
        found = _exercise(cell)
        if found is None:
            continue
        keys, call = found
        where = i
        if not call:
            later = check_after(code, i + 1, lambda src: "# --- solution" in src)
            if later is not None:
                where, call = later
        region = re.findall(r"^[ \t]*# --- solution.*?\n(.*?)^[ \t]*# --- end of solution",
                            cell.source, re.M | re.S)
        names = answer_names(textwrap.dedent("\n".join(region)), call)
        names = names or answer_names(cell.source, call)
        probe = (PROBE + f"__xai_tutor_probe({keys[-1]!r}, {names!r}, globals())\n"
                 "del __xai_tutor_probe")
        after.setdefault(where, []).append(
            nbformat.v4.new_code_cell(probe, metadata={"tags": [PROBE_TAG]}))
    nb.cells = [c for i, cell in enumerate(nb.cells) for c in [cell] + after.get(i, [])]
    return nb


def _text(output: dict) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    return output.get("data", {}).get("text/plain", "")


def take_probes(nb: nbformat.NotebookNode) -> dict[str, dict[str, Any]]:
    """Remove the probe cells from the executed ``nb``; return ``{key: {"values": {name: text},
    "check": feedback text}}``."""
    record: dict[str, dict[str, Any]] = {}
    kept = []
    previous = None
    for cell in nb.cells:
        if PROBE_TAG not in cell.metadata.get("tags", ()):
            kept.append(cell)
            previous = cell
            continue
        lines = "".join(_text(o) for o in cell.get("outputs", [])).splitlines()
        probe = next((json.loads(ln[len(MARK):]) for ln in lines if ln.startswith(MARK)), None)
        if probe is None:
            continue
        checks = [t.strip() for o in (previous or {}).get("outputs", [])
                  if FEEDBACK.match(t := _text(o).strip())]
        record[probe["key"]] = {"values": probe["values"], "check": "\n".join(checks)}
    nb.cells = kept
    return record


def _clip(text: str) -> str:
    lines = [ln if len(ln) <= MAX_WIDTH else ln[:MAX_WIDTH - 1] + "…"
             for ln in text.rstrip("\n").split("\n")]
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES] + [f"… ({len(lines) - MAX_LINES} more lines)"]
    return "\n".join(lines)


def printed(nb: nbformat.NotebookNode) -> list[list[str]]:
    """``[heading, text]`` for every code cell of the executed ``nb`` that printed to stdout
    (exercise cells excepted: their feedback is recorded with the exercise), clipped to
    :data:`MAX_LINES` lines of :data:`MAX_WIDTH` characters."""
    found: list[list[str]] = []
    heading = ""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            headings = HEADING.findall(cell.source)
            heading = headings[-1] if headings else heading
            continue
        if cell.cell_type != "code" or _exercise(cell) is not None:
            continue
        text = "".join(o.get("text", "") for o in cell.get("outputs", [])
                       if o.get("output_type") == "stream" and o.get("name") == "stdout")
        if text.strip():
            found.append([heading, _clip(text)])
    return found
