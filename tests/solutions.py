"""Read the course's solutions from the notebooks (their only home) and run them in a namespace.

A solution is the code between ``### BEGIN SOLUTION <key>`` and ``### END SOLUTION`` in a code cell
of ``notebooks/NN_slug.md``; its check is ``xai_tutor.exercises.SOLUTION_CHECKS[key]``.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import cache
from pathlib import Path
from typing import Any

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
BLOCK = re.compile(r"^### BEGIN SOLUTION (\S+)\n(.*?)^### END SOLUTION$", re.M | re.S)


@cache
def solutions() -> dict[str, str]:
    """Every solution block of every notebook, by key (a key used twice is an error)."""
    found: dict[str, str] = {}
    for path in sorted(NOTEBOOKS.glob("*.md")):
        for key, code in BLOCK.findall(path.read_text(encoding="utf-8")):
            if key in found:
                raise AssertionError(f"solution {key!r} appears twice (again in {path.name})")
            found[key] = code
    return found


@cache
def checks() -> dict[str, Any]:
    """``SOLUTION_CHECKS`` with every exercise module imported."""
    import xai_tutor.exercises as exercises

    for info in pkgutil.iter_modules(exercises.__path__):
        importlib.import_module(f"xai_tutor.exercises.{info.name}")
    return dict(exercises.SOLUTION_CHECKS)


def run_solution(key: str, namespace: dict[str, Any]) -> Any:
    """Run the notebooks' solution ``key`` in ``namespace``, then its check; return the feedback."""
    code = solutions()[key]
    exec(compile(code, f"<solution {key}>", "exec"), namespace)
    return checks()[key](namespace)
