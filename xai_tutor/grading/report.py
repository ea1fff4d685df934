"""One table of every check's result per submission: ``grades.csv`` and ``grades.html``.

Columns: the learner, the file, the course notebook, the run's status and detail (errors, the
cell where the time limit struck), the seconds, how many checks were right out of the exercises
expected, then one column per exercise key with ``right`` / ``wrong`` / ``not answered`` /
``not run`` (the check never ran: an earlier cell failed, or the time limit struck) and, in the
CSV, one column more with the check's feedback. Keys are those of the course notebooks (in
order) and any other key a check reported.

Example::

    >>> r = Result("ana", "06_gradcam.ipynb", "06", "ran",
    ...            checks={"cam.gradcam_map": Check(True, True, "ok")})
    >>> cells(r, ["cam.gradcam_weights", "cam.gradcam_map"], {"06": ["cam.gradcam_weights",
    ...                                                              "cam.gradcam_map"]})
    [('not run', ''), ('right', 'ok')]
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence

from ..teaching.syllabus import id_order
from .run import Check, Result

__all__ = ["columns", "cells", "to_csv", "to_html"]

COLOURS = {"right": "#e6f4ea", "wrong": "#fdecea", "not answered": "#fff4d6",
           "not run": "#eeeeee", "": "#ffffff"}


def columns(results: Sequence[Result], expected: dict[str, list[str]]) -> list[str]:
    """The exercise keys of the table: the expected ones of the notebooks graded, then the rest
    reported, sorted."""
    graded = {r.notebook for r in results}
    keys = [k for n in sorted(expected, key=id_order) if n in graded for k in expected[n]]
    seen = sorted({k for r in results for k in r.checks} - set(keys))
    return keys + seen


def cells(result: Result, keys: list[str], expected: dict[str, list[str]]) -> list[tuple[str,
                                                                                         str]]:
    """``(result, feedback)`` of ``result`` for each key: blank for a key of another notebook."""
    own = set(expected.get(result.notebook or "", ())) if result.status != "not a notebook" \
        else set()
    out = []
    for key in keys:
        check: Check | None = result.checks.get(key)
        if check is not None:
            out.append((check.result, check.message))
        elif key in own:
            out.append(("not run", ""))
        else:
            out.append(("", ""))
    return out


def _score(result: Result, keys: list[str], expected: dict[str, list[str]]) -> tuple[int, int]:
    row = cells(result, keys, expected)
    return (sum(r == "right" for r, _ in row), sum(bool(r) for r, _ in row))


def _detail(result: Result) -> str:
    parts = [result.detail] if result.detail else []
    parts += result.errors
    return "; ".join(parts)


def to_csv(results: Sequence[Result], expected: dict[str, list[str]]) -> str:
    keys = columns(results, expected)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["learner", "file", "notebook", "status", "detail", "seconds", "right", "of"]
                    + [c for k in keys for c in (k, f"{k} feedback")])
    for r in results:
        right, total = _score(r, keys, expected)
        writer.writerow([r.learner, r.file, r.notebook or "", r.status, _detail(r), r.seconds,
                         right, total] + [v for pair in cells(r, keys, expected) for v in pair])
    return out.getvalue()


def to_html(results: Sequence[Result], expected: dict[str, list[str]], title: str) -> str:
    keys = columns(results, expected)
    esc = html.escape
    head = "".join(f"<th>{esc(k)}</th>" for k in keys)
    rows = []
    for r in results:
        right, total = _score(r, keys, expected)
        tds = "".join(
            f"<td style='background:{COLOURS[v]}'><b>{esc(v)}</b>"
            + (f"<div class='fb'>{esc(m)}</div>" if m else "") + "</td>"
            for v, m in cells(r, keys, expected))
        status = "" if r.status == "ran" else " class='bad'"
        rows.append(f"<tr><td>{esc(r.learner)}</td><td>{esc(r.file)}</td>"
                    f"<td>{esc(r.notebook or '')}</td><td{status}>{esc(r.status)}"
                    f"<div class='fb'>{esc(_detail(r))}</div></td><td>{r.seconds:.0f} s</td>"
                    f"<td>{right} / {total}</td>{tds}</tr>")
    style = ("body{font-family:system-ui,sans-serif;margin:1rem}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:.3rem .5rem;vertical-align:top}"
             ".fb{font-size:.8em;max-width:22rem}.bad{background:#fdecea}"
             "@media print{.fb{max-width:none}}")
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{esc(title)}"
            f"</title><style>{style}</style></head><body><h1>{esc(title)}</h1>"
            f"<p>{len(results)} submissions. right / wrong / not answered: what the check "
            "reported; not run: the check never ran (an earlier cell failed or the time limit "
            "struck).</p><table><tr><th>learner</th><th>file</th><th>notebook</th>"
            f"<th>status</th><th>time</th><th>right</th>{head}</tr>{''.join(rows)}</table>"
            "</body></html>")
