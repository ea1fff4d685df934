"""Keep the course's notebook pairs in step: ``notebooks/NN_slug.md`` (MyST text, the source a
teacher edits) and ``notebooks/NN_slug.ipynb`` (stripped: no outputs, no execution counts, stable
cell ids; what JupyterLab, nbval and Colab open).

Usage::

    python scripts/notebooks.py sync      # newer file of each pair wins (jupytext --sync); strip
    python scripts/notebooks.py check     # exit 1 if a pair differs or an .ipynb is not stripped
    python scripts/notebooks.py strip     # only strip the .ipynb files

In JupyterLab nothing needs running: jupytext's contents manager (installed with the course)
updates the other file of a pair every time one is saved. ``jupytext.toml`` at the repository root
declares the pairing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jupytext
import nbformat

from xai_tutor.notebook_format import cell_signature, stripped_text

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def pairs(folder: Path = NOTEBOOKS) -> list[tuple[Path, Path]]:
    """Every ``(text, ipynb)`` pair in ``folder``; a file without its partner is an error."""
    texts = {p.stem: p for p in folder.glob("*.md") if p.name != "README.md"}
    books = {p.stem: p for p in folder.glob("*.ipynb")}
    lonely = sorted(set(texts) ^ set(books))
    if lonely:
        raise SystemExit(f"unpaired notebooks in {folder}: {lonely}; run "
                         "`jupytext --set-formats ipynb,md:myst` on the lone file")
    return [(texts[s], books[s]) for s in sorted(texts)]


def problems(text: Path, book: Path) -> list[str]:
    """Why a pair is not in step (empty when it is)."""
    out = []
    source = jupytext.read(text)
    committed = book.read_text(encoding="utf-8")
    notebook = nbformat.reads(committed, as_version=4)
    if cell_signature(source) != cell_signature(notebook):
        out.append(f"{book.name} and {text.name} hold different cells")
    if stripped_text(nbformat.reads(committed, as_version=4)) != committed:
        out.append(f"{book.name} is not stripped (outputs, execution counts or metadata)")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("sync", "check", "strip"))
    args = parser.parse_args(argv)
    found = pairs()
    if args.action == "sync":
        from jupytext.cli import jupytext as jupytext_cli

        jupytext_cli(["--sync", "--quiet", *(str(t) for t, _ in found)])
    if args.action in ("sync", "strip"):
        for _, book in found:
            text = stripped_text(nbformat.read(book, as_version=4))
            if text != book.read_text(encoding="utf-8"):
                book.write_text(text, encoding="utf-8")
                print(f"stripped {book.relative_to(ROOT)}")
    bad = [p for text, book in found for p in problems(text, book)]
    for line in bad:
        print(line, file=sys.stderr)
    if bad and args.action == "check":
        print("run `python scripts/notebooks.py sync` (or save the notebook in JupyterLab)",
              file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
