"""Notebooks hand the models they loaded to the explorers, so the ImageNet trio (~700 MB of
weights) is never loaded twice in one kernel."""

from __future__ import annotations

import ast
from pathlib import Path

import jupytext
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]*_*.md"))


def _explorer_calls(path: Path) -> list[ast.Call]:
    calls = []
    for cell in jupytext.read(path).cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(ln for ln in cell.source.splitlines() if not ln.lstrip().startswith("!"))
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in (
                    "method_explorer", "Explorer"):
                calls.append(node)
    return calls


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_explorers_get_the_loaded_models(path: Path) -> None:
    for call in _explorer_calls(path):
        positional = len(call.args) >= (2 if call.func.id == "method_explorer" else 1)
        keyword = any(k.arg == "models" for k in call.keywords)
        assert positional or keyword, (
            f"{path.name}, line {call.lineno} of its cell: pass the models the notebook loaded "
            f"({call.func.id}(..., models)), or the explorer loads the course trio again")


def test_some_notebooks_use_explorers() -> None:
    assert sum(bool(_explorer_calls(p)) for p in NOTEBOOKS) >= 5
