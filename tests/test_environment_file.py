"""environment.yml (conda, for classrooms) must name every runtime dependency of pyproject.toml."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]

# pip names whose conda package is called differently
CONDA_NAMES = {"torch": "pytorch"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement.strip(), maxsplit=1)[0].lower()


def _environment_names() -> set[str]:
    names = set()
    for line in (ROOT / "environment.yml").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("- ") and not line.endswith(":"):
            names.add(_name(line[2:]))
    return names


def test_environment_names_every_runtime_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_name(r) for r in project["dependencies"]}
    listed = _environment_names()
    missing = sorted(d for d in declared if CONDA_NAMES.get(d, d) not in listed and d not in listed)
    assert not missing, f"environment.yml lacks runtime dependencies: {missing}"


def test_environment_installs_the_package_itself() -> None:
    assert "-e ." in (ROOT / "environment.yml").read_text()


def test_torch_ranges_admit_the_capped_releases() -> None:
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = {Requirement(r).name: Requirement(r) for r in project["dependencies"]}
    assert reqs["torch"].specifier.contains("2.14.1")
    assert reqs["torchvision"].specifier.contains("0.29.1")
