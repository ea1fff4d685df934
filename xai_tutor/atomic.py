"""Write a file or a folder so that a reader finds the old version or the new one, never half.

Both build the new version beside the target (same folder, so the final rename stays on one
file system and is atomic) and rename it into place only when it is complete:

* :func:`atomic_write`: ``write(fh)`` into a temporary file, flushed to disk, renamed over
  ``path``;
* :func:`atomic_folder`: a temporary folder to fill; on success an empty target is removed, a
  non-empty one renamed aside, the new folder renamed in and only then the old one deleted
  (restored if the rename in fails).

On any exception, Ctrl-C included, the temporary file or folder is deleted and the target is
left exactly as it was. New files and folders get the usual permissions (``0o666`` / ``0o777``
less the umask), not the private ones of :mod:`tempfile`.

Example::

    >>> import tempfile
    >>> from pathlib import Path
    >>> root = Path(tempfile.mkdtemp())
    >>> with atomic_folder(root / "site") as tmp:
    ...     _ = (tmp / "index.html").write_text("<p>hello</p>")
    >>> sorted(p.name for p in (root / "site").iterdir())
    ['index.html']
    >>> atomic_write(root / "note.txt", lambda fh: fh.write(b"done"))
    >>> (root / "note.txt").read_text()
    'done'
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_folder", "atomic_write", "replace_folder"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], Any]) -> None:
    """Call ``write(fh)`` on a temporary binary file beside ``path``, then rename it to ``path``.

    The data is flushed and synced before the rename, so ``path`` holds either its old content
    or all of the new. Raises whatever ``write`` raises (the temporary file is removed).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def replace_folder(new: Path, out: Path) -> None:
    """Rename the complete folder ``new`` to ``out``, replacing what ``out`` held.

    An empty ``out`` is removed first; a non-empty one is renamed aside, ``new`` renamed in,
    then the old one deleted. If renaming ``new`` in fails, the old folder is put back.
    """
    new, out = Path(new), Path(out)
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()
    if not out.exists():
        os.replace(new, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.absolute().parent))
    old.rmdir()  # a free name beside out
    os.replace(out, old)
    try:
        os.replace(new, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_folder(out: str | Path,
                  before_swap: Callable[[], Any] | None = None) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``out``; when the block ends without an error it
    replaces ``out`` (:func:`replace_folder`).

    ``before_swap`` is called just before the swap (e.g. to refuse if someone filled ``out``
    meanwhile); if it raises, nothing is swapped. On any exception, Ctrl-C included, the
    temporary folder is removed and ``out`` is left as it was.
    """
    out = Path(out)
    parent = out.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
    try:
        tmp.chmod(0o777 & ~_umask())
        yield tmp
        if before_swap is not None:
            before_swap()
        replace_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
