"""Grade submitted notebooks: each in a fresh kernel, in a fresh temporary folder, with a time
limit; collect what every exercise check reported.

For each submission :func:`grade_one` makes a temporary folder ``W`` with ``W/box/{run,home,tmp}``;
the notebook is validated (a file that is not a notebook is reported and never run) and copied to
``W/box/run``, the kernel's working folder. The kernel starts with ``HOME``, ``TMPDIR`` and every
Jupyter, IPython, Matplotlib and XDG folder inside ``W/box``, with an environment that holds only
what the course needs (no tokens or passwords of the teacher's shell), and with the guard of
:mod:`xai_tutor.grading.guard` as an IPython start-up file: nothing outside ``W/box`` may be
written, removed or renamed, and no program may be started. It runs in a child process of its
own session; past the time limit the whole session is killed. The checks report through
``XAI_TUTOR_CHECK_LOG`` (one JSON line per check: ``key``, ``notebook``, ``ok``, ``answered``,
``message``); the last report of a key counts. ``W`` is deleted afterwards.

Example::

    >>> parse_log('{"key": "cam.gap_logit", "ok": true, "answered": true, "message": "ok"}\\nx')
    {'cam.gap_logit': Check(ok=True, answered=True, message='ok')}
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .guard import startup_file
from .submissions import Submission, read_notebook

__all__ = ["Check", "Result", "grade_one", "parse_log", "kernel_environment"]

CHECK_LOG = "XAI_TUTOR_CHECK_LOG"
#: Variables of the teacher's environment a kernel may see (the rest is left out).
PASSED_ON = ("PATH", "PYTHONPATH", "LANG", "LC_ALL", "LC_CTYPE", "XAI_TUTOR_MODELS",
             "OMP_NUM_THREADS", "MKL_NUM_THREADS", "MALLOC_MMAP_THRESHOLD_",
             "MALLOC_TRIM_THRESHOLD_", "CUDA_VISIBLE_DEVICES")
MAX_FILE_BYTES = 2**30  # no file written by a submission may grow past 1 GiB
MAX_LOG_BYTES = 2**24   # what is read of a check log


@dataclass(frozen=True)
class Check:
    ok: bool
    answered: bool
    message: str

    @property
    def result(self) -> str:
        return "right" if self.ok else ("wrong" if self.answered else "not answered")


@dataclass
class Result:
    """What grading one submission found: ``status`` is ``ran``, ``errors`` (some cells raised),
    ``time limit``, ``kernel died``, ``crashed`` or ``not a notebook``."""

    learner: str
    file: str
    notebook: str | None
    status: str
    detail: str = ""
    seconds: float = 0.0
    checks: dict[str, Check] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    executed: Path | None = None


def parse_log(text: str) -> dict[str, Check]:
    """The checks reported in a check log (lines that are not such JSON are skipped); the last
    report of a key wins."""
    checks: dict[str, Check] = {}
    for line in text.splitlines():
        try:
            entry = json.loads(line)
            key = str(entry["key"])
            checks[key] = Check(bool(entry["ok"]), bool(entry.get("answered", True)),
                                str(entry.get("message", "")))
        except (ValueError, KeyError, TypeError):
            continue
    return checks


def _torch_home() -> str:
    """The teacher's torch cache (read-only to a submission: the weights of the models)."""
    if os.environ.get("TORCH_HOME"):
        return os.environ["TORCH_HOME"]
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "torch")


def kernel_environment(box: Path) -> dict[str, str]:
    """The environment of a graded kernel whose folders all lie in ``box``."""
    env = {k: os.environ[k] for k in PASSED_ON if k in os.environ}
    home, tmp = box / "home", box / "tmp"
    env.update({
        "HOME": str(home), "TMPDIR": str(tmp), "TEMP": str(tmp), "TMP": str(tmp),
        "IPYTHONDIR": str(home / ".ipython"), "MPLCONFIGDIR": str(home / ".matplotlib"),
        "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
        "JUPYTER_DATA_DIR": str(home / ".local/share/jupyter"),
        "JUPYTER_RUNTIME_DIR": str(home / ".local/share/jupyter/runtime"),
        "XDG_CACHE_HOME": str(home / ".cache"), "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local/share"), "TORCH_HOME": _torch_home(),
        CHECK_LOG: str(box / "checks.jsonl"), "XAI_TUTOR_STRICT_CHECKS": "0",
        "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg", "PYTHONIOENCODING": "utf-8",
    })
    return env


def _limit_file_size() -> None:  # pragma: no cover - runs in the child before exec
    import resource

    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))


def _remove(folder: Path) -> None:
    """Delete ``folder`` even where a submission made parts of it read-only."""
    def unlock(func, path, _exc):  # type: ignore[no-untyped-def]
        try:
            os.chmod(os.path.dirname(path), stat.S_IRWXU)
            os.chmod(path, stat.S_IRWXU)
            func(path)
        except OSError:
            pass
    shutil.rmtree(folder, onerror=unlock)


def grade_one(submission: Submission, seconds: int, keep: Path | None = None) -> Result:
    """Run ``submission`` in a fresh kernel and temporary folder for at most ``seconds``; the
    executed notebook is copied to ``keep`` (a file path) when given. Never raises for a bad
    submission: every problem is a status of the result."""
    result = Result(submission.learner, submission.name, submission.notebook, "ran")
    try:
        nb = read_notebook(submission.path)
    except (ValueError, OSError) as err:
        result.status, result.detail = "not a notebook", str(err)
        return result
    work = Path(tempfile.mkdtemp(prefix="xai-tutor-grade-"))
    start = time.perf_counter()
    try:
        box = work / "box"
        run = box / "run"
        startup = box / "home" / ".ipython" / "profile_default" / "startup"
        for folder in (run, box / "tmp", startup):
            folder.mkdir(parents=True)
        (startup / "00-grading-guard.py").write_text(startup_file(str(box)), encoding="utf-8")
        notebook = run / "submission.ipynb"
        nbformat.write(nb, str(notebook))
        command = [sys.executable, "-m", "xai_tutor.grading._execute", str(notebook),
                   str(seconds), str(work)]
        with open(work / "child.log", "wb") as log:
            child = subprocess.Popen(command, cwd=run, env=kernel_environment(box),
                                     stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True, preexec_fn=_limit_file_size)
            try:
                child.wait(timeout=seconds)
            except subprocess.TimeoutExpired:
                cell = (work / "progress").read_text() if (work / "progress").exists() else "?"
                result.status = "time limit"
                result.detail = f"stopped after {seconds} s, in cell {cell}"
            finally:
                try:
                    os.killpg(child.pid, signal.SIGKILL)  # the kernel and anything it left
                except ProcessLookupError:
                    pass
                child.wait()
        result.seconds = round(time.perf_counter() - start, 1)
        if result.status == "ran":
            done = work / "result.json"
            if done.exists():
                report = json.loads(done.read_text())
                result.status, result.detail = report["status"], report["detail"]
                result.errors = report["errors"]
            else:
                with open(work / "child.log", "rb") as f:
                    f.seek(max(0, f.seek(0, os.SEEK_END) - 4096))
                    tail = f.read().decode("utf-8", "replace").strip().splitlines()
                result.status = "crashed"
                result.detail = tail[-1][:200] if tail else f"exit status {child.returncode}"
        log_file = box / "checks.jsonl"
        if log_file.is_file() and not log_file.is_symlink():
            with open(log_file, "rb") as f:
                result.checks = parse_log(f.read(MAX_LOG_BYTES).decode("utf-8", "replace"))
        executed = work / "executed.ipynb"
        if keep is not None and executed.exists():
            keep.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(executed, keep)
            result.executed = keep
    finally:
        _remove(work)
    return result
