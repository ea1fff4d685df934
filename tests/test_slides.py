"""The slides: what each cell becomes, and decks that ask nothing of the network.
(tests/test_site.py opens real decks in Chromium.)"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from course_scripts import load_script

slides = load_script("slides")
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5E"
       "rkJggg==")


def _code(source: str, figure: bool = False, tags: tuple[str, ...] = ()) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": list(tags)})
    if figure:
        cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": PNG,
                                                                      "text/plain": "<Figure>"})]
    return cell


def _notebook() -> nbformat.NotebookNode:
    md = nbformat.v4.new_markdown_cell
    return nbformat.v4.new_notebook(cells=[
        md("# 99 · A notebook\n\nWhat it is about, $x^2$."),
        md("## A section"), md("Some prose."), md("### A part"),
        _code("short = 1"),
        _code("\n".join(f"line_{i} = {i}" for i in range(12)), figure=True),
        _code("\n".join(f"setup_{i} = {i}" for i in range(12))),
        md("For the teacher only.", metadata={"tags": ["teacher"]}),
        _code("hidden = 2", tags=("slides-skip",)),
        _code("\n".join(f"shown_{i} = {i}" for i in range(12)), tags=("slides-show-code",)),
    ])


def test_the_tagging_scheme() -> None:
    nb = slides.as_slides(_notebook())
    kinds = [c.metadata.slideshow["slide_type"] for c in nb.cells]
    assert kinds == ["slide", "slide", "-", "subslide", "-", "subslide", "skip", "notes",
                     "skip", "-"]
    hidden = [slides.HIDE_CODE in c.metadata.tags for c in nb.cells]
    assert hidden == [False] * 5 + [True] + [False] * 4


def test_a_deck_uses_only_its_own_files(tmp_path: Path) -> None:
    pytest.importorskip("pyreveal", reason="the test extra brings reveal.js (pyreveal)")
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nbformat.write(_notebook(), str(folder / "99_a.ipynb"))
    (deck,) = slides.build(folder, tmp_path / "slides")
    page = deck.read_text(encoding="utf-8")
    sources = re.findall(r"<(?:script|link|img)[^>]*(?:src|href)=[\"']([^\"']+)", page)
    assert sources and not [s for s in sources if re.match(r"(https?:)?//", s)], sources
    for local in (s for s in sources if not s.startswith("data:")):
        assert (deck.parent / local).is_file(), f"{local} is not beside the deck"
    assert "line_0" not in page and "shown_0" in page and "setup_0" not in page
    assert '<aside class="notes">' in page
