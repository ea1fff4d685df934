"""Table 1 shown: an HTML table and an interactive filter (ipywidgets)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from .table import AXES, COLUMNS, filter_table, table


def to_html(rows: Sequence[dict[str, Any]], notes: bool = True) -> str:
    """An HTML table of ``rows`` (the columns of :data:`COLUMNS`, plus the notes as footnotes)."""
    head = "".join(
        f"<th style='text-align:left;padding:2px 8px'>{html.escape(t)}</th>"
        for t in COLUMNS.values()
    )
    body = []
    marks: list[str] = []
    for r in rows:
        cells = []
        for key in COLUMNS:
            text = html.escape(str(r[key]))
            if key == "reference":
                text = f"{html.escape(r['ref'])} {text}"
            if key == "method" and notes and r.get("note"):
                marks.append(f"{r['method']}: {r['note']}")
                text += f"<sup>{len(marks)}</sup>"
            cells.append(f"<td style='text-align:left;padding:2px 8px'>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not rows:
        body.append(f"<tr><td colspan='{len(COLUMNS)}'><i>no method matches these filters"
                    "</i></td></tr>")
    foot = "".join(f"<li>{html.escape(m)}</li>" for m in marks)
    notes_html = f"<ol style='font-size:smaller'>{foot}</ol>" if foot else ""
    return (f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            f"<p>{len(rows)} method(s)</p>{notes_html}")


def taxonomy_table(include_course: bool = False) -> Any:
    """An interactive Table 1: one dropdown filter per axis and a text search on the name.

    Returns an ``ipywidgets.VBox``; display it as the last expression of a notebook cell. The
    current selection is available as ``widget.rows`` (a list of dicts), so code can read what
    the learner filtered.
    """
    import ipywidgets as widgets

    rows = table(include_course=include_course)
    any_ = "(any)"
    drops = {
        axis: widgets.Dropdown(options=(any_,) + values, value=any_,
                               description=COLUMNS[axis].split(" /")[0] if axis != "explanation"
                               else "Type",
                               layout=widgets.Layout(width="260px"))
        for axis, values in AXES.items()
    }
    drops["stage"].description = "Stage"
    drops["dependency"].description = "Dependency"
    search = widgets.Text(placeholder="search a method name", description="Name",
                          layout=widgets.Layout(width="260px"))
    out = widgets.HTML()
    box = widgets.VBox([widgets.HBox(list(drops.values())[:2]),
                        widgets.HBox([drops["explanation"], search]), out])

    def refresh(_change: Any = None) -> None:
        crit = {a: (None if d.value == any_ else d.value) for a, d in drops.items()}
        sel = filter_table(rows=rows, **crit)
        needle = search.value.strip().lower()
        if needle:
            sel = [r for r in sel if needle in r["method"].lower()]
        box.rows = sel
        out.value = to_html(sel)

    for d in drops.values():
        d.observe(refresh, names="value")
    search.observe(refresh, names="value")
    refresh()
    return box
