"""What notebooks import from the split packages (experiment, taxonomy, widgets) still resolves."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
MINE = ("xai_tutor.experiment", "xai_tutor.taxonomy", "xai_tutor.widgets")
FROM = re.compile(r"from (xai_tutor(?:\.\w+)*) import (\([^)]*\)|[^\n#]+)")
DOTTED = re.compile(r"\b(xai_tutor(?:\.\w+)+)")


def _imports() -> set[tuple[str, str]]:
    found = set()
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text())["cells"]
        source = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        for module, names in FROM.findall(source):
            for name in re.split(r"[,\s()]+", names.split(" as ")[0].strip()):
                if name:
                    found.add((module, name))
        for dotted in DOTTED.findall(source):
            module, _, name = dotted.rpartition(".")
            found.add((module, name))
    return {(m, n) for m, n in found if m.startswith(MINE) or f"{m}.{n}".startswith(MINE)}


def test_notebooks_import_something_from_the_split_packages():
    assert len(_imports()) >= 5


@pytest.mark.parametrize("module, name", sorted(_imports()))
def test_every_name_notebooks_import_resolves(module, name):
    mod = importlib.import_module(module)
    if not hasattr(mod, name):  # a submodule not imported by its package
        importlib.import_module(f"{module}.{name}")


def test_old_module_paths_still_work():
    from xai_tutor.experiment import (  # noqa: F401
        CENTRE,
        COMBINATIONS,
        DEFAULT_SAMPLES,
        ExperimentResult,
        centre_baseline,
        evaluate_claims,
        run_experiment,
        summarise,
    )
    from xai_tutor.taxonomy import (  # noqa: F401
        COURSE_METHODS,
        QUESTIONS,
        TABLE_1,
        check_answer,
        filter_table,
        quiz,
        table,
        taxonomy_table,
        to_html,
    )
    from xai_tutor.widgets import Cancelled, Explorer, method_explorer  # noqa: F401
