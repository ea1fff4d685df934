"""Solutions in the course's source: the lines between ``### BEGIN SOLUTION <key>`` and
``### END SOLUTION`` in a code cell of ``notebooks/NN_slug.md``, their only home.

A cell with a solution reads::

    y_c = None  # your code here
    ### BEGIN SOLUTION cam.gap_logit
    y_c = pooled @ fc.weight[c] + fc.bias[c]
    ### END SOLUTION
    check_gap_logit(y_c, model, x, c)

The student edition drops the block (:func:`student_source`: the placeholder and the check
remain), the teacher edition frames it with visible comments (:func:`teacher_source`).

Example::

    >>> cell = "x = None\\n### BEGIN SOLUTION demo.x\\nx = 42\\n### END SOLUTION\\ncheck_x(x)"
    >>> student_source(cell)
    'x = None\\ncheck_x(x)'
    >>> solution_keys(cell)
    ['demo.x']
"""

from __future__ import annotations

import re

__all__ = ["BEGIN", "END", "EditionError", "split_solutions", "student_source", "teacher_source",
           "solution_keys"]

BEGIN = re.compile(r"^### BEGIN SOLUTION(?: (\S+))?\s*$")
END = re.compile(r"^### END SOLUTION\s*$")
KEYS = re.compile(r"^### BEGIN SOLUTION (\S+)\s*$", re.M)


class EditionError(ValueError):
    """A solution block that is not closed, nested or empty."""


def split_solutions(source: str, where: str = "cell") -> list[tuple[str, str | None]]:
    """The lines of ``source`` as ``(line, key)`` pairs: ``key`` is None outside a solution block
    and the block's key (``""`` when unnamed) inside it; marker lines are left out. Broken
    markers raise :class:`EditionError` naming ``where``."""
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
    """``source`` with each solution block framed by visible comments (``# --- solution (key)``
    ... ``# --- end of solution``)."""
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


def solution_keys(text: str) -> list[str]:
    """The keys of the named solution blocks in ``text`` (a cell, or a whole ``.md`` source), in
    order, each once."""
    return list(dict.fromkeys(KEYS.findall(text)))
