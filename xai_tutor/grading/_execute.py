"""Run one submitted notebook in a fresh kernel (the grader's child process; see ``run.py``).

``python -m xai_tutor.grading._execute NOTEBOOK SECONDS WORK``: runs every cell of NOTEBOOK (its
folder is the kernel's working folder), on to the end even after a cell fails; writes the index
of the cell being run to ``WORK/progress`` before each cell, the executed notebook to
``WORK/executed.ipynb`` and ``{"status", "detail", "errors"}`` to ``WORK/result.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat


def errors_of(nb: nbformat.NotebookNode) -> list[str]:
    """``"cell N: Name: value"`` for every cell whose output is an exception."""
    found = []
    for i, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                value = str(output.get("evalue", "")).splitlines()
                found.append(f"cell {i}: {output.get('ename', 'Error')}: "
                             f"{value[0][:160] if value else ''}")
    return found


def main(argv: list[str]) -> int:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    notebook, seconds, work = Path(argv[0]), int(argv[1]), Path(argv[2])
    nb = nbformat.read(notebook, as_version=4)

    def started(cell: object = None, cell_index: int = 0, **_: object) -> None:
        (work / "progress").write_text(str(cell_index))

    client = NotebookClient(nb, timeout=seconds, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(notebook.parent)}},
                            on_cell_start=started)
    status, detail = "ran", ""
    try:
        client.execute()
    except CellTimeoutError:
        status, detail = "time limit", "a cell ran past the time limit"
    except DeadKernelError as err:
        status, detail = "kernel died", str(err).splitlines()[0][:200] if str(err) else ""
    except Exception as err:  # a submission must never stop the grading of the others
        status, detail = "crashed", f"{type(err).__name__}: {str(err)[:200]}"
    errors = errors_of(nb)
    if status == "ran" and errors:
        status = "errors"
    nbformat.write(nb, str(work / "executed.ipynb"))
    (work / "result.json").write_text(json.dumps({"status": status, "detail": detail,
                                                  "errors": errors}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
