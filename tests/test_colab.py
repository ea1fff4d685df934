"""Every notebook's Colab badge and set-up cell follow the one setting in xai_tutor/colab.py."""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat
import pytest
import tomllib
from packaging.requirements import Requirement

from xai_tutor import colab

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]*_*.ipynb"))


def _cells(path: Path) -> list:
    if path.suffix == ".md":
        return jupytext.read(path).cells
    return nbformat.read(path, as_version=4).cells


@pytest.mark.parametrize("path", NOTEBOOKS + [p.with_suffix(".md") for p in NOTEBOOKS],
                         ids=lambda p: p.name)
def test_badge_and_setup_cell_follow_the_setting(path: Path) -> None:
    cells = _cells(path)
    notebook = path.with_suffix(".ipynb").name
    badges = [c for c in cells if "colab.research.google.com/github" in c.source]
    setups = [c for c in cells if "google.colab" in c.source]
    fix = "edit xai_tutor/colab.py if needed, then run `python scripts/colab_cells.py`"
    assert len(badges) == 1 and badges[0].source.strip() == colab.badge_cell(notebook), (
        f"{path.name}: the Colab badge must be exactly\n{colab.badge_cell(notebook)}\n({fix})")
    assert len(setups) == 1 and setups[0].cell_type == "code", f"{path.name}: one set-up cell"
    assert setups[0].source.strip() == colab.setup_cell(), (
        f"{path.name}: the Colab set-up cell differs from colab.setup_cell() ({fix})")
    assert cells.index(badges[0]) < cells.index(setups[0]) <= 3, (
        f"{path.name}: badge and set-up cell belong at the top, before any other code")


def test_badge_opens_the_notebook_at_the_release() -> None:
    url = colab.badge_url("03_deconvnet.ipynb")
    assert url == ("https://colab.research.google.com/github/"
                   f"{colab.REPOSITORY}/blob/{colab.RELEASE}/notebooks/03_deconvnet.ipynb")
    assert f"--branch {colab.RELEASE} " in colab.setup_cell()
    assert f"https://github.com/{colab.REPOSITORY}.git" in colab.setup_cell()


def test_the_setting_pins_a_release_not_a_branch() -> None:
    assert re.fullmatch(r"[\w.-]+/[\w.-]+", colab.REPOSITORY), colab.REPOSITORY
    assert colab.RELEASE not in ("main", "master", "HEAD")
    assert re.fullmatch(r"v?\d+(\.\d+)*([.-]?\w+)?", colab.RELEASE), (
        f"RELEASE should be a release tag such as v0.1.0, got {colab.RELEASE!r}")


def _runtime() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {Requirement(r).name.lower(): Requirement(r) for r in project["dependencies"]}


def test_setup_cell_accounts_for_every_runtime_dependency() -> None:
    """The cell installs with --no-deps, so each dependency is shipped by Colab, not needed
    there, or installed by the cell itself."""
    covered = set(colab.COLAB_SHIPS) | set(colab.COLAB_NOT_NEEDED) | set(colab.COLAB_INSTALLS)
    missing = sorted(set(_runtime()) - covered)
    assert not missing, f"add {missing} to colab.COLAB_INSTALLS (or COLAB_SHIPS if Colab has it)"
    cell = colab.setup_cell()
    assert "--no-deps" in cell and all(name in cell for name in colab.COLAB_INSTALLS)


def test_dependency_range_admits_colabs_ipywidgets() -> None:
    """Colab ships ipywidgets 7.7.1 (its front end does not render 8); locally pip picks 8."""
    spec = _runtime()["ipywidgets"].specifier
    assert spec.contains("7.7.1") and spec.contains("8.1.5")


def test_install_docs_say_how_to_change_it() -> None:
    """The release procedure lives in docs/install.md, which the README links."""
    docs = (ROOT / "docs" / "install.md").read_text(encoding="utf-8")
    assert "xai_tutor/colab.py" in docs and "scripts/colab_cells.py" in docs
    assert "REPOSITORY" in docs and "RELEASE" in docs and "git tag" in docs
    assert "docs/install.md" in (ROOT / "README.md").read_text(encoding="utf-8")
