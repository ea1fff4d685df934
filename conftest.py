"""Notebook run-time budget for nbval.

nbval runs each notebook cell as a test item. This plugin adds up the cell times per notebook,
prints a table at the end of the run, and turns the last cell of a notebook into a failure when the
notebook as a whole took longer than its budget (90 s on the 2-core CI machine, set with
``XAI_TUTOR_NOTEBOOK_BUDGET``).
"""

from __future__ import annotations

import os
from collections import defaultdict

# On a busy machine OpenMP threads that spin while waiting for each other make torch many times
# slower; passive waiting costs little when the machine is quiet. Kernels started by nbval inherit it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest

BUDGET_S = float(os.environ.get("XAI_TUTOR_NOTEBOOK_BUDGET", "90"))
_elapsed: dict[str, float] = defaultdict(float)
_last_item: dict[str, str] = {}


def _notebook(item: pytest.Item) -> str | None:
    path = str(getattr(item, "path", getattr(item, "fspath", "")))
    return path if path.endswith(".ipynb") else None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        nb = _notebook(item)
        if nb:
            _last_item[nb] = item.nodeid


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    nb = _notebook(item)
    if nb is None or report.when != "call":
        return
    _elapsed[nb] += call.duration
    if _last_item.get(nb) == item.nodeid and _elapsed[nb] > BUDGET_S and report.passed:
        report.outcome = "failed"
        report.longrepr = (
            f"{os.path.basename(nb)} ran for {_elapsed[nb]:.1f} s, over its budget of "
            f"{BUDGET_S:.0f} s"
        )


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if not _elapsed:
        return
    terminalreporter.section("notebook run times")
    for nb, seconds in sorted(_elapsed.items()):
        flag = "  OVER BUDGET" if seconds > BUDGET_S else ""
        terminalreporter.write_line(f"{seconds:7.1f} s  {os.path.basename(nb)}{flag}")
    terminalreporter.write_line(f"budget per notebook: {BUDGET_S:.0f} s")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Notebook kernels run with strict exercise checks (a solution that fails its check fails the
    cell); the unit tests, which feed wrong answers on purpose, run without."""
    if _notebook(item):
        os.environ["XAI_TUTOR_STRICT_CHECKS"] = "1"
    else:
        os.environ.pop("XAI_TUTOR_STRICT_CHECKS", None)
