"""Rewrite every notebook's Colab badge and set-up cell from ``xai_tutor/colab.py``.

Edit ``REPOSITORY`` / ``RELEASE`` in ``xai_tutor/colab.py`` (a fork, a new release), then::

    python scripts/colab_cells.py          # rewrites notebooks/NN_slug.md, then syncs the .ipynb

Only the badge line after ``<!-- colab -->`` and the code cell that starts with
``# Colab set-up`` change; a notebook without them is reported, not edited.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from xai_tutor import colab

ROOT = Path(__file__).resolve().parents[1]

BADGE = re.compile(r"^(<!-- colab -->\n)[^\n]*$", re.M)
SETUP = re.compile(r"^(```\{code-cell\}[^\n]*\n)# Colab set-up.*?(?=^```$)", re.M | re.S)


def rewrite(text: str, notebook: str) -> tuple[str, list[str]]:
    """``text`` (a MyST notebook) with the badge and set-up cell of ``notebook``; problems."""
    problems = []
    badge = colab.badge_cell(notebook).split("\n", 1)[1]
    text, n_badge = BADGE.subn(lambda m: m.group(1) + badge, text)
    text, n_setup = SETUP.subn(lambda m: m.group(1) + colab.setup_cell() + "\n", text)
    if n_badge != 1:
        problems.append(f"{notebook}: {n_badge} Colab badges (expected 1)")
    if n_setup != 1:
        problems.append(f"{notebook}: {n_setup} Colab set-up cells (expected 1)")
    return text, problems


def main() -> int:
    changed, problems = [], []
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]*_*.md")):
        old = path.read_text(encoding="utf-8")
        new, found = rewrite(old, path.with_suffix(".ipynb").name)
        problems += found
        if new != old and not found:
            tmp = path.with_suffix(".md.tmp")
            tmp.write_text(new, encoding="utf-8")
            tmp.replace(path)
            changed.append(path.name)
    for line in problems:
        print(line, file=sys.stderr)
    print(f"{len(changed)} notebook(s) rewritten for {colab.REPOSITORY} at {colab.RELEASE}")
    if changed:
        subprocess.run([sys.executable, str(ROOT / "scripts" / "notebooks.py"), "sync"],
                       check=True)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
