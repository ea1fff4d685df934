"""A course notebook as the site (``scripts/site.py``) and the slides (``scripts/slides.py``) show
it: read, not run, and offline.

* :func:`for_the_web`: without its Colab badge and set-up cell, each interactive widget replaced
  by a note (a widget needs a running kernel);
* :func:`title_of`, :func:`objectives_of`: its title and first paragraph;
* :data:`MATHJAX` and :func:`copy_mathjax`: the site's own copy of MathJax (from the
  ``django-static-mathjax`` wheel) and the tags that load it, so formulas render without a
  network.

Example::

    >>> import nbformat
    >>> title = nbformat.v4.new_markdown_cell("# 05 · CAM\\n\\nMaps.")
    >>> nb = nbformat.v4.new_notebook(cells=[title])
    >>> title_of(nb, "05_cam"), objectives_of(nb)
    ('05 · CAM', 'Maps.')
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat

__all__ = ["MATHJAX", "MATHJAX_SCRIPT", "WIDGET_NOTE", "title_of", "objectives_of",
           "for_the_web", "copy_mathjax"]

MATHJAX_SCRIPT = "tex-svg-full.js"  # MathJax 3, SVG output: one file, no web fonts to fetch
MATHJAX = (
    "<script>window.MathJax = {tex: {inlineMath: [['$', '$'], ['\\\\(', '\\\\)']], "
    "displayMath: [['$$', '$$'], ['\\\\[', '\\\\]']], processEscapes: true}, "
    "svg: {fontCache: 'global'}};</script>"
    f"<script src='mathjax/{MATHJAX_SCRIPT}' defer></script>"
)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = ("[interactive widget: open this notebook in JupyterLab (make lab) or on Colab to "
               "use it]")


def title_of(nb: nbformat.NotebookNode, fallback: str) -> str:
    """The notebook's ``# `` title, else ``fallback``."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^# (.+)$", cell.source, re.M)
            if match:
                return match.group(1).strip()
    return fallback


def objectives_of(nb: nbformat.NotebookNode) -> str:
    """The first paragraph after the title (what the notebook is about), as plain text."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("# "):
            paragraphs = [p for p in cell.source.split("\n\n")[1:] if p.strip()]
            return re.sub(r"\s+", " ", paragraphs[0]).strip() if paragraphs else ""
    return ""


def for_the_web(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``nb`` as the site shows it: without its Colab badge and set-up cell (the site is read, not
    run), and with each interactive widget replaced by a note (a widget needs a running kernel)."""
    nb.cells = [c for c in nb.cells
                if "<!-- colab -->" not in c.source and not c.source.startswith("# Colab set-up")]
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data:
                output["data"] = {"text/plain": WIDGET_NOTE}
    return nb


def copy_mathjax(out: Path) -> None:
    """Copy MathJax (from the ``django-static-mathjax`` wheel, which holds MathJax's files) into
    ``out/mathjax``, so formulas render without a network."""
    try:
        import mathjax
    except ImportError as err:
        raise SystemExit("site: MathJax is missing; install the test extra "
                         "(pip install -e '.[test]')") from err
    source = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5" / MATHJAX_SCRIPT
    (Path(out) / "mathjax").mkdir(exist_ok=True)
    shutil.copy2(source, Path(out) / "mathjax" / MATHJAX_SCRIPT)
