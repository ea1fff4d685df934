"""House rules that hold across the code base: scripts import the package, not each other; no
references to the tracker's numbers in code or tests; no module kept only under an old name."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "scripts").glob("*.py"))
CODE = sorted(p for folder in ("xai_tutor", "tests", "scripts", "benchmarks")
              for p in (ROOT / folder).rglob("*.py"))
# "issue" followed by a number (the tracker's numbering means nothing to a reader of the code)
TRACKER = re.compile(r"\bissues?\s*#?\s*\d", re.I)


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_scripts_import_the_package_not_each_other(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    siblings = {p.stem for p in SCRIPTS}
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            imported.add(node.module.split(".")[0])
    assert not imported & siblings, f"{path.name} imports the script(s) {imported & siblings}"
    assert "sys.path" not in path.read_text(encoding="utf-8"), (
        f"{path.name} changes sys.path; import xai_tutor (installed with `pip install -e .`)")


def test_no_tracker_numbers_in_code_or_tests() -> None:
    found = [f"{p.relative_to(ROOT)}:{i}" for p in CODE
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if TRACKER.search(line)]
    assert not found, f"say what the code does, not which ticket asked for it: {found}"


def test_no_module_kept_under_an_old_name() -> None:
    stale = [p.relative_to(ROOT) for p in (ROOT / "xai_tutor").rglob("*.py")
             if re.search(r"(kept|still) importable|old (place|name|path)|backward[- ]compat",
                          p.read_text(encoding="utf-8"), re.I)]
    assert not stale, f"a 0.1 package has no compatibility aliases: {stale}"
