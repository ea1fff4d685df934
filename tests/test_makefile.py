"""`make test` gives the same result whether or not ImageNet weights are cached on the machine."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _recipe(target: str) -> str:
    """The commands `make -n` would run for ``target`` (install steps skipped with `-o`)."""
    done = subprocess.run(
        ["make", "-n", "-C", str(ROOT), "-o", "install-test", "-o", ".venv/.installed-test",
         "-o", ".venv/.installed", "-o", ".venv/bin/python", target],
        capture_output=True, text=True, check=True)
    return done.stdout.replace("\\\n", " ")  # one line per command


@pytest.fixture(scope="module")
def recipes() -> dict[str, str]:
    try:
        return {t: _recipe(t) for t in ("test", "test-offline", "test-imagenet")}
    except (FileNotFoundError, subprocess.CalledProcessError) as err:
        pytest.skip(f"make is not usable here: {err}")


def test_test_runs_both_passes(recipes) -> None:
    text = (ROOT / "Makefile").read_text()
    body = re.search(r"^test: .*?(?=^\S)", text, re.S | re.M).group(0)
    assert "test-offline" in body and "test-imagenet" in body


def test_offline_pass_pins_the_offline_trio(recipes) -> None:
    pytest_lines = [ln for ln in recipes["test-offline"].splitlines() if "pytest" in ln]
    assert pytest_lines and all("XAI_TUTOR_MODELS=offline" in ln for ln in pytest_lines)
    assert all("build/teacher" in ln and "--nbval-lax" in ln for ln in pytest_lines)


def test_imagenet_pass_uses_standin_weights_in_a_temporary_torch_home(recipes) -> None:
    recipe = recipes["test-imagenet"]
    assert "mktemp -d" in recipe and "rm -rf" in recipe
    assert "scripts/standin_weights.py" in recipe
    assert "XAI_TUTOR_MODELS=imagenet" in recipe and 'TORCH_HOME="$home"' in recipe
    assert "build/teacher" in recipe and "tests/test_imagenet_trio.py" in recipe


def test_help_lists_the_teachers_targets_and_grade_passes_its_options() -> None:
    try:
        shown = subprocess.run(["make", "-s", "-C", str(ROOT), "help"], capture_output=True,
                               text=True, check=True).stdout
        grade = subprocess.run(["make", "-n", "-C", str(ROOT), "-o", "install", "grade",
                                "SUBMISSIONS=in", "GRADES=out", "TIMEOUT=30"],
                               capture_output=True, text=True, check=True).stdout
    except (FileNotFoundError, subprocess.CalledProcessError) as err:
        pytest.skip(f"make is not usable here: {err}")
    listed = {line.split()[1] for line in shown.splitlines() if line.startswith("  make ")}
    assert {"guide", "site", "slides", "grade", "test"} <= listed
    assert '-m xai_tutor grade "in" --out "out" --timeout 30' in grade
