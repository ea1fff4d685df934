"""Which files a folder of submissions holds, whose they are, and whether each is a notebook.

Layout: ``SUBMISSIONS/<learner>/<file>`` (a folder per learner, as an LMS download often gives)
or ``SUBMISSIONS/<file>`` (one file per learner, named after the learner). Hidden files are
skipped. The course notebook a file answers is read from its name: its identifier, two digits
and a letter for a second part, followed by ``_`` (``06_gradcam.ipynb``, ``alice_06_gradcam.ipynb``,
``11b_claims.ipynb``; see :func:`xai_tutor.teaching.syllabus.notebook_id`).

Example::

    >>> notebook_number("alice_06_gradcam (1).ipynb"), notebook_number("essay.pdf")
    ('06', None)
    >>> notebook_number("bo_11b_claims.ipynb")
    '11b'
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..teaching.solution_blocks import solution_keys
from ..teaching.syllabus import notebook_files, notebook_id

__all__ = ["Submission", "find_submissions", "notebook_number", "read_notebook",
           "expected_keys", "MAX_BYTES"]

MAX_BYTES = 50 * 2**20  # a notebook of the course with every output is a few MB
NUMBER = re.compile(r"(?<!\d)(\d\d[b-z]?)_")


@dataclass(frozen=True)
class Submission:
    learner: str
    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def notebook(self) -> str | None:
        return notebook_number(self.path.name)


def notebook_number(name: str) -> str | None:
    """The course notebook's identifier (``"06"``, ``"11b"``) in a file name, else None."""
    match = NUMBER.search(name)
    return match.group(1) if match else None


def find_submissions(folder: Path) -> list[Submission]:
    """Every submitted file under ``folder`` (see the module's layout), sorted by learner."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no folder of submissions at {folder}")
    found: list[Submission] = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            found += [Submission(entry.name, f) for f in sorted(entry.rglob("*"))
                      if f.is_file() and not any(p.startswith(".") for p in
                                                 f.relative_to(entry).parts)]
        elif entry.is_file():
            found.append(Submission(entry.stem, entry))
    return found


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """The notebook in ``path``, checked against the notebook format; ``ValueError`` with a
    sentence for anything else (too big, not JSON, not a notebook, invalid)."""
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise ValueError(f"{size / 2**20:.0f} MB is too big for a notebook "
                         f"(limit {MAX_BYTES // 2**20} MB)")
    raw = path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"not a notebook: the file is not JSON ({err.__class__.__name__}: "
                         f"{str(err)[:80]})") from None
    if not isinstance(data, dict) or "cells" not in data or "nbformat" not in data:
        raise ValueError("not a notebook: JSON without the cells and nbformat of a notebook")
    try:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # nbformat raises several kinds for a broken file
        raise ValueError(f"not a valid notebook: {str(err).splitlines()[0][:120]}") from None
    return nb


def expected_keys(notebooks: Path | None) -> dict[str, list[str]]:
    """The exercise keys of each course notebook (``{"06": ["cam.gradcam_weights", ...],
    "11b": [...]}``), read from the solution blocks of ``notebooks/*.md``; empty without that
    folder."""
    if notebooks is None or not Path(notebooks).is_dir():
        return {}
    keys: dict[str, list[str]] = {}
    for source in notebook_files(Path(notebooks)):
        found = solution_keys(source.read_text(encoding="utf-8"))
        if found:
            keys[notebook_id(source.stem)] = found
    return keys
