"""The output folder: checked before any work, written into a temporary folder, published whole."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..atomic import atomic_folder


class ResultsExistError(FileExistsError):
    """The output folder already holds results and ``force`` was not given."""


def check_out(out: str | Path, force: bool = False) -> Path:
    """Check, before any work, that a run can be published at ``out``; return it as a Path.

    Raises ValueError when ``out`` is a file, lies under a file or cannot be created (its first
    existing parent is not a writable folder), and :class:`ResultsExistError` when ``out`` is a
    non-empty folder and ``force`` is not set. Nothing is left behind (an empty probe folder is
    made and removed beside ``out`` to prove that one can be made there).
    """
    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise ValueError(f"output folder {out} is a file, not a folder; give a folder path")
    if out.is_dir():
        if any(out.iterdir()) and not force:
            raise ResultsExistError(
                f"output folder {out} already holds files; pass --force (force=True) to replace "
                "them once the new run is complete, or choose another folder")
        parent = out.resolve().parent
    else:
        parent = out.absolute().parent
        while not parent.exists():
            parent = parent.parent
        if not parent.is_dir():
            raise ValueError(
                f"output folder {out} lies under {parent}, which is a file, not a folder")
    try:  # the one sure test that a folder can be made there (permissions, read-only mounts)
        os.rmdir(tempfile.mkdtemp(prefix=f".{out.name}.probe-", dir=parent))
    except OSError as err:
        raise ValueError(f"output folder {out} cannot be created in {parent}: "
                         f"{err.strerror or err}") from None
    return out


@contextlib.contextmanager
def staging(out: Path, force: bool) -> Iterator[Path]:
    """A temporary folder beside ``out`` to write the run into; published only on success.

    On success the folder is renamed to ``out``. An existing empty ``out`` is removed first; a
    non-empty one (``force`` only) is renamed aside, the new folder renamed in, then the old one
    deleted, so ``out`` always holds one complete run (:func:`xai_tutor.atomic.atomic_folder`).
    Just before that swap ``out`` is checked again: filled meanwhile, it is refused without
    ``force``. On any exception (``KeyboardInterrupt`` included) the temporary folder is deleted
    and ``out`` is left as it was.
    """
    out = check_out(out, force)
    with atomic_folder(out, before_swap=lambda: check_out(out, force)) as tmp:
        yield tmp
