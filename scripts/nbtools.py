"""Small helpers to write course notebooks from Python and to keep them clean.

A notebook generator script lists its cells with :func:`md` and :func:`code` and calls
:func:`write_notebook`, which writes nbformat 4 with the ``python3`` kernel, no outputs and no
execution counts (what ``tests/test_notebooks_format.py`` requires)::

    from nbtools import code, md, write_notebook

    write_notebook("notebooks/05_cam.ipynb", [md("# 05 · CAM ..."), code("import xai_tutor")])
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
LANGUAGE_INFO = {"name": "python", "pygments_lexer": "ipython3"}


def md(text: str) -> nbformat.NotebookNode:
    """A markdown cell; the text is dedented and stripped."""
    return nbformat.v4.new_markdown_cell(textwrap.dedent(text).strip("\n"))


def code(text: str) -> nbformat.NotebookNode:
    """A code cell without outputs; the text is dedented and stripped."""
    return nbformat.v4.new_code_cell(textwrap.dedent(text).strip("\n"))


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove outputs, execution counts and volatile metadata in place; return the notebook."""
    for cell in nb.cells:
        cell.pop("id", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for key in ("execution", "collapsed", "scrolled", "ExecuteTime"):
            cell.metadata.pop(key, None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata.setdefault("language_info", dict(LANGUAGE_INFO))
    for key in ("widgets", "toc", "varInspector"):
        nb.metadata.pop(key, None)
    nb.nbformat, nb.nbformat_minor = 4, 5
    for i, cell in enumerate(nb.cells):  # stable ids keep diffs small
        cell["id"] = f"cell-{i:03d}"
    return nb


def write_notebook(path: str | Path, cells: list[nbformat.NotebookNode]) -> Path:
    """Write ``cells`` as a clean notebook at ``path`` and validate it."""
    nb = nbformat.v4.new_notebook(cells=cells)
    clean(nb)
    nbformat.validate(nb)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path
