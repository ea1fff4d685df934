"""Notebook run-time budget for nbval, and the model trio every test run pins.

nbval runs each notebook cell as a test item. This plugin adds up the cell times per notebook,
prints a table at the end of the run (wall seconds, and the CPU seconds of the notebook's kernel,
a measure that a busy machine disturbs less), lists the heavy cells (over
``XAI_TUTOR_HEAVY_CELL`` seconds, 5 by default), and turns the last cell of a notebook into a
failure when the notebook as a whole took longer than its budget (90 s on the 2-core CI machine,
set with ``XAI_TUTOR_NOTEBOOK_BUDGET``).

The notebooks and tests use the offline course models unless ``XAI_TUTOR_MODELS`` says otherwise
(``make test`` runs a second pass with ``XAI_TUTOR_MODELS=imagenet`` on stand-in weights), so the
result of a run does not depend on which weights a machine happens to have cached.
"""

from __future__ import annotations

import os
from collections import defaultdict

# On a busy machine OpenMP threads that spin while waiting for each other make torch many times
# slower; passive waiting costs little when the machine is quiet. nbval's kernels inherit it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# Pin the trio (kernels inherit it too); the ImageNet pass sets XAI_TUTOR_MODELS=imagenet itself.
os.environ.setdefault("XAI_TUTOR_MODELS", "offline")

import pytest

BUDGET_S = float(os.environ.get("XAI_TUTOR_NOTEBOOK_BUDGET", "90"))
HEAVY_CELL_S = float(os.environ.get("XAI_TUTOR_HEAVY_CELL", "5"))
_elapsed: dict[str, float] = defaultdict(float)
_cpu: dict[str, float] = defaultdict(float)
_cells: dict[str, list[tuple[float, float | None, str]]] = defaultdict(list)
_last_item: dict[str, str] = {}


def _notebook(item: pytest.Item) -> str | None:
    path = str(getattr(item, "path", getattr(item, "fspath", "")))
    return path if path.endswith(".ipynb") else None


def _kernel_cpu(item: pytest.Item) -> float | None:
    """User + system CPU seconds used so far by the item's notebook kernel (None if unknown)."""
    try:
        import psutil

        pid = item.parent.kernel.km.provisioner.process.pid
        proc = psutil.Process(pid)
        times = proc.cpu_times()
        total = times.user + times.system
        for child in proc.children(recursive=True):
            child_times = child.cpu_times()
            total += child_times.user + child_times.system
        return total
    except Exception:  # noqa: BLE001 - a report column, never a reason to fail a test
        return None


def _first_line(item: pytest.Item) -> str:
    cell = getattr(item, "cell", None)
    source = getattr(cell, "source", "") if cell is not None else ""
    lines = [ln.strip() for ln in source.splitlines() if ln.strip() and not ln.startswith("#")]
    return (lines[0] if lines else item.name)[:70]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        nb = _notebook(item)
        if nb:
            _last_item[nb] = item.nodeid


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):  # type: ignore[no-untyped-def]
    before = _kernel_cpu(item) if _notebook(item) else None
    yield
    if before is not None:
        after = _kernel_cpu(item)
        item._xai_cpu = None if after is None else after - before  # type: ignore[attr-defined]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    nb = _notebook(item)
    if nb is None or report.when != "call":
        return
    _elapsed[nb] += call.duration
    cpu = getattr(item, "_xai_cpu", None)
    if cpu is not None:
        _cpu[nb] += cpu
    if call.duration > HEAVY_CELL_S:
        _cells[nb].append((call.duration, cpu, _first_line(item)))
    if _last_item.get(nb) == item.nodeid and _elapsed[nb] > BUDGET_S and report.passed:
        report.outcome = "failed"
        report.longrepr = (
            f"{os.path.basename(nb)} ran for {_elapsed[nb]:.1f} s, over its budget of "
            f"{BUDGET_S:.0f} s"
        )


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if not _elapsed:
        return
    trio = os.environ.get("XAI_TUTOR_MODELS", "") or "automatic"
    terminalreporter.section(f"notebook run times (XAI_TUTOR_MODELS={trio})")
    terminalreporter.write_line("   wall   kernel CPU  notebook")
    for nb, seconds in sorted(_elapsed.items()):
        flag = "  OVER BUDGET" if seconds > BUDGET_S else ""
        cpu = f"{_cpu[nb]:7.1f} s" if nb in _cpu else "      ? "
        terminalreporter.write_line(f"{seconds:7.1f} s  {cpu}  {os.path.basename(nb)}{flag}")
        for wall, cell_cpu, line in sorted(_cells[nb], reverse=True):
            shown = f"{cell_cpu:6.1f} s" if cell_cpu is not None else "     ? "
            terminalreporter.write_line(f"    {wall:6.1f} s  {shown}    cell: {line}")
    terminalreporter.write_line(f"budget per notebook: {BUDGET_S:.0f} s wall; cells over "
                                f"{HEAVY_CELL_S:.0f} s listed")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Notebook kernels run with strict exercise checks (a solution that fails its check fails the
    cell); the unit tests, which feed wrong answers on purpose, run without."""
    if _notebook(item):
        os.environ["XAI_TUTOR_STRICT_CHECKS"] = "1"
    else:
        os.environ.pop("XAI_TUTOR_STRICT_CHECKS", None)
