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
REPOSITORY = "xai-tutor/xai-tutor"  # GitHub owner/name the Colab badges and set-up cell point to
COLAB_MARK = "<!-- colab -->"
SETUP_MARK = "# Colab set-up"
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


def colab_cells(name: str) -> list[nbformat.NotebookNode]:
    """A Colab badge and a set-up cell that installs the course on Colab (a no-op elsewhere)."""
    url = f"https://colab.research.google.com/github/{REPOSITORY}/blob/main/notebooks/{name}"
    badge = md(f"""
        {COLAB_MARK}
        [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})
        """)
    setup = code(f"""
        {SETUP_MARK}: on Colab this fetches the course and installs it; elsewhere it does nothing.
        import sys
        if "google.colab" in sys.modules:
            !git clone -q --depth 1 https://github.com/{REPOSITORY}.git /content/xai-tutor
            !pip install -q -e /content/xai-tutor
            sys.path.insert(0, "/content/xai-tutor")
        """)
    return [badge, setup]


def with_colab(name: str, cells: list[nbformat.NotebookNode]) -> list[nbformat.NotebookNode]:
    """``cells`` with the Colab badge and set-up cell after the title cell (added once)."""
    if any(COLAB_MARK in c.source for c in cells):
        return list(cells)
    return list(cells[:1]) + colab_cells(name) + list(cells[1:])


def write_notebook(path: str | Path, cells: list[nbformat.NotebookNode]) -> Path:
    """Write ``cells`` as a clean notebook at ``path`` (with the Colab cells) and validate it."""
    cells = with_colab(Path(path).name, cells)
    nb = nbformat.v4.new_notebook(cells=cells)
    clean(nb)
    nbformat.validate(nb)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path
