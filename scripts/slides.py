"""Slides of the course from the executed teacher edition: one reveal.js deck per notebook, offline.

Usage (``make slides``, after ``make site``)::

    python scripts/slides.py build/site-notebooks build/slides

The slides come from the same cells as the site; a light-touch scheme decides what a cell becomes
(:func:`slide_type`), and a cell's own tags win over it:

* the title and every ``##`` heading start a slide, every ``###`` heading a sub-slide (down);
* a code cell whose output is a figure starts a sub-slide, so each figure gets the screen;
* code longer than :data:`MAX_CODE_LINES` lines is hidden (its output stays), and a code cell
  that is long and shows nothing is left out;
* cells tagged ``teacher`` or ``solution`` in prose become speaker notes (press ``s``);
* what a cell writes to stderr (log lines, warnings) is left out;
* tags ``slides-skip``, ``slides-hide-code``, ``slides-show-code``, ``slides-new`` (a new slide)
  override all of this for one cell.

reveal.js comes from the ``pyreveal`` package (which ships reveal.js's own files), MathJax from the
site's copy (``django-static-mathjax``): both are copied beside the decks, so the slides work
without a network. Open ``build/slides/index.html``; print a deck to PDF from Chromium with
``?print-pdf`` added to its address.
"""

from __future__ import annotations

import argparse
import html
import importlib.util
import shutil
import sys
from pathlib import Path

import nbformat
from nbconvert import SlidesExporter
from nbconvert.preprocessors import TagRemovePreprocessor

from xai_tutor.atomic import atomic_folder
from xai_tutor.teaching.syllabus import notebook_files
from xai_tutor.teaching.web_pages import MATHJAX, copy_mathjax, for_the_web, title_of

TEMPLATES = Path(__file__).resolve().parent / "templates"
MAX_CODE_LINES = 8
HIDE_CODE, SKIP = "slides-hide-code", "slides-skip"
#: what a deck needs of reveal.js's distribution (paths inside its ``dist`` folder)
REVEAL_FILES = ["reveal.js", "reveal.css", "theme/white.css", "plugin/notes.js"]


def reveal_folder() -> Path:
    """reveal.js's own folder inside the installed ``pyreveal`` package."""
    spec = importlib.util.find_spec("pyreveal")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("slides: reveal.js is missing; install the test extra "
                         "(pip install -e '.[test]', it brings pyreveal)")
    folder = Path(list(spec.submodule_search_locations)[0]) / "revealjs"
    missing = [f for f in REVEAL_FILES if not (folder / "dist" / f).is_file()]
    if missing:
        raise SystemExit(f"slides: the installed pyreveal lacks reveal.js's {missing}")
    return folder


def _has_figure(cell: nbformat.NotebookNode) -> bool:
    return any(k.startswith("image/") for o in cell.get("outputs", [])
               for k in o.get("data", {}))


def slide_type(cell: nbformat.NotebookNode, first: bool = False) -> tuple[str, bool]:
    """``(slide_type, hide_code)`` of ``cell`` under the scheme of this module."""
    tags = set(cell.metadata.get("tags", ()))
    lines = [ln for ln in cell.source.split("\n") if ln.strip()]
    head = lines[0] if lines else ""
    if SKIP in tags:
        return "skip", False
    if cell.cell_type == "markdown":
        if tags & {"teacher", "solution"}:
            return "notes", False
        if first or "slides-new" in tags or head.startswith(("# ", "## ")):
            return "slide", False
        return ("subslide" if head.startswith("### ") else "-"), False
    if cell.cell_type != "code":
        return "skip", False
    long = len(lines) > MAX_CODE_LINES
    hide = (long or HIDE_CODE in tags) and "slides-show-code" not in tags
    if hide and not cell.get("outputs"):
        return "skip", False
    if "slides-new" in tags:
        return "slide", hide
    return ("subslide" if _has_figure(cell) else "-"), hide


def as_slides(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``nb`` (executed, as the site shows it) with slide metadata and hide/skip tags set."""
    nb = for_the_web(nb)
    for cell in nb.cells:  # log lines and warnings are not for the audience
        if "outputs" in cell:
            cell.outputs = [o for o in cell.outputs if o.get("name") != "stderr"]
    for i, cell in enumerate(nb.cells):
        kind, hide = slide_type(cell, first=i == 0)
        cell.metadata["slideshow"] = {"slide_type": kind}
        tags = [t for t in cell.metadata.get("tags", []) if t not in (HIDE_CODE,)]
        cell.metadata["tags"] = tags + ([HIDE_CODE] if hide else [])
    return nb


def exporter(url_prefix: str = "reveal.js") -> SlidesExporter:
    slides = SlidesExporter(template_name="xai_slides", extra_template_basedirs=[str(TEMPLATES)],
                            reveal_url_prefix=url_prefix, reveal_theme="white")
    slides.register_preprocessor(TagRemovePreprocessor(remove_input_tags={HIDE_CODE},
                                                       remove_cell_tags={SKIP}), enabled=True)
    return slides


def copy_reveal(out: Path) -> None:
    source = reveal_folder()
    for name in REVEAL_FILES:
        target = out / "reveal.js" / "dist" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / "dist" / name, target)
    shutil.copy2(source / "LICENSE", out / "reveal.js" / "LICENSE")


def build(notebooks: Path, out: Path) -> list[Path]:
    """A deck per executed notebook in ``notebooks``, and an index, in ``out``."""
    books = notebook_files(Path(notebooks), ".ipynb")
    if not books:
        raise SystemExit(f"slides: no notebooks in {notebooks}; run scripts/editions.py first")
    with atomic_folder(Path(out)) as tmp:
        copy_reveal(tmp)
        copy_mathjax(tmp)
        slides = exporter()
        rows = []
        for book in books:
            nb = as_slides(nbformat.read(book, as_version=4))
            body, _ = slides.from_notebook_node(nb, resources={"local_mathjax": MATHJAX})
            (tmp / f"{book.stem}.html").write_text(body, encoding="utf-8")
            rows.append(f"<li><a href='{book.stem}.html'>{html.escape(title_of(nb, book.stem))}"
                        "</a></li>")
        (tmp / "index.html").write_text(
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>xai-tutor slides"
            "</title></head><body style='font-family:system-ui,sans-serif'><h1>xai-tutor: "
            "slides</h1><p>Arrow keys move; <kbd>s</kbd> opens the speaker notes; add "
            "<code>?print-pdf</code> to a deck's address to print it.</p><ul>" + "".join(rows)
            + "</ul></body></html>", encoding="utf-8")
    return [Path(out) / f"{book.stem}.html" for book in books]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", type=Path, help="folder of executed notebooks")
    parser.add_argument("out", type=Path, help="folder of slides to write")
    args = parser.parse_args(argv)
    decks = build(args.notebooks, args.out)
    print(f"slides: {len(decks)} decks in {args.out} (open {args.out / 'index.html'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
