"""environment.yml (conda, for classrooms) stays in step with pyproject.toml and solves today.

* every runtime dependency of pyproject.toml is listed, with the same version range;
* conda-forge only: the ``pytorch`` channel stopped publishing after torch 2.5 and its ``cpuonly``
  package went with it; mixing that channel with conda-forge breaks MKL builds. pytorch comes as
  conda-forge's CPU build ``pytorch-cpu``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tomllib
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]

# pip name -> conda-forge name where they differ
CONDA_NAMES = {"torch": "pytorch-cpu"}
RETIRED_CHANNELS = {"pytorch", "pytorch-nightly", "defaults"}
RETIRED_PACKAGES = {"cpuonly", "pytorch"}  # `pytorch` alone may resolve to a CUDA build


def _environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def _conda_specs(env: dict) -> dict[str, str]:
    """conda name -> version spec ("" when unpinned) for the conda (not pip) dependencies."""
    specs = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str):
            name, spec = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", dep.strip()).groups()
            specs[name.lower()] = spec.strip()
    return specs


def _pip_requirements(env: dict) -> dict[str, Requirement]:
    out = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for line in dep.get("pip", []):
                if not line.startswith("-"):
                    req = Requirement(line)
                    out[req.name.lower()] = req
    return out


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _runtime() -> dict[str, Requirement]:
    return {Requirement(r).name.lower(): Requirement(r) for r in _project()["dependencies"]}


def test_conda_forge_only() -> None:
    channels = _environment()["channels"]
    assert channels[0] == "conda-forge", f"conda-forge must come first, got {channels}"
    retired = sorted(set(channels) & RETIRED_CHANNELS)
    assert not retired, (f"environment.yml names the channel(s) {retired}; the pytorch channel "
                         "stopped publishing after torch 2.5: use conda-forge only")


def test_no_retired_packages() -> None:
    found = sorted(set(_conda_specs(_environment())) & RETIRED_PACKAGES)
    assert not found, (f"environment.yml lists {found}: `cpuonly` exists only on the retired "
                       "pytorch channel; use conda-forge's CPU build `pytorch-cpu`")


@pytest.mark.parametrize("name", sorted(_runtime()))
def test_runtime_dependency_listed_with_the_same_range(name: str) -> None:
    env = _environment()
    conda, pip = _conda_specs(env), _pip_requirements(env)
    wanted = _runtime()[name].specifier
    conda_name = CONDA_NAMES.get(name, name)
    if conda_name in conda:
        got = SpecifierSet(conda[conda_name])
        where = f"conda package {conda_name!r}"
    elif name in pip:
        got = pip[name].specifier
        where = f"pip package {name!r}"
    else:
        pytest.fail(f"environment.yml lacks the runtime dependency {name!r} "
                    f"(conda name {conda_name!r})")
    assert got == wanted, f"{where}: environment.yml has {got or 'no range'}, pyproject {wanted}"


def test_python_version_is_allowed_by_the_project() -> None:
    python = _conda_specs(_environment())["python"].lstrip("=")
    assert SpecifierSet(_project()["requires-python"]).contains(Version(python))


def test_environment_installs_the_package_itself() -> None:
    pip = next(d["pip"] for d in _environment()["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip


def test_torch_ranges_admit_the_capped_releases() -> None:
    reqs = _runtime()
    assert reqs["torch"].specifier.contains("2.14.1")
    assert reqs["torchvision"].specifier.contains("0.29.1")


def test_ipywidgets_range_leaves_out_the_release_vs_code_cannot_render() -> None:
    """ipywidgets 8.1.9 displays nothing in VS Code's Jupyter extension (vscode-jupyter#17504,
    open; 8.1.8 renders), so both files exclude it; Colab's 7.7.1 and 8.1.8 stay allowed."""
    spec = _runtime()["ipywidgets"].specifier
    assert not spec.contains("8.1.9")
    assert spec.contains("8.1.8") and spec.contains("7.7.1")
    conda = SpecifierSet(_conda_specs(_environment())["ipywidgets"])
    assert not conda.contains("8.1.9")


def test_the_installed_ipywidgets_is_one_users_get() -> None:
    """The suite runs on a version the ranges allow, so it tests what a learner installs."""
    from importlib.metadata import version

    installed = version("ipywidgets")
    assert _runtime()["ipywidgets"].specifier.contains(installed), (
        f"ipywidgets {installed} is installed, which pyproject.toml excludes: "
        "pip install -e . picks an allowed one")
