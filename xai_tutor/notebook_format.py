"""The committed form of a course notebook: no outputs, no execution counts, stable cell ids.

``notebooks/NN_slug.ipynb`` is committed stripped (what JupyterLab, nbval and Colab open); the
editions are built stripped too. :func:`strip` makes a notebook so, :func:`stripped_text` gives
the exact text it is committed as, and :func:`cell_signature` is what the ``.ipynb`` and its
MyST source ``NN_slug.md`` must agree on.

Example::

    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    >>> nb.cells[0].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"})]
    >>> nb.cells[0].execution_count = 1
    >>> cell = strip(nb).cells[0]
    >>> cell.outputs, cell.execution_count, cell.id
    ([], None, 'cell-000')
"""

from __future__ import annotations

from typing import Any

__all__ = ["KERNELSPEC", "LANGUAGE_INFO", "cell_signature", "strip", "stripped_text"]

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
LANGUAGE_INFO = {"name": "python", "pygments_lexer": "ipython3"}
VOLATILE_CELL_KEYS = ("execution", "collapsed", "scrolled", "ExecuteTime")
VOLATILE_NOTEBOOK_KEYS = ("widgets", "toc", "varInspector", "jupytext")


def strip(nb: Any) -> Any:
    """Remove outputs, execution counts and volatile metadata in place; number the cell ids.

    ``nb`` is an ``nbformat.NotebookNode``; it is returned for chaining.
    """
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for key in VOLATILE_CELL_KEYS:
            cell.metadata.pop(key, None)
        cell["id"] = f"cell-{i:03d}"  # stable ids keep diffs small
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata.setdefault("language_info", dict(LANGUAGE_INFO))
    for key in VOLATILE_NOTEBOOK_KEYS:
        nb.metadata.pop(key, None)
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb


def stripped_text(nb: Any) -> str:
    """The exact text a stripped notebook is committed as."""
    import nbformat

    return nbformat.writes(strip(nb)) + "\n"


def cell_signature(nb: Any) -> list[tuple[str, str, tuple[str, ...]]]:
    """What both files of a pair must agree on: per cell its type, source and tags."""
    return [(c.cell_type, c.source.strip("\n"), tuple(c.metadata.get("tags", ())))
            for c in nb.cells]
