"""A guard for a kernel that runs a learner's notebook: no writes outside one folder, no programs.

:func:`install` adds a Python audit hook (PEP 578; it cannot be removed once added) that refuses,
with ``PermissionError``, every file operation that would change something outside ``root`` —
opening a file for writing, removing, renaming, linking, creating or removing folders, changing
permissions or times, ``shutil.rmtree`` / ``copyfile`` / ``move`` — and every attempt to start a
program or signal a process (``subprocess``, ``os.system``, ``os.exec*``, ``os.spawn*``,
``os.posix_spawn``, ``os.fork``, ``os.kill``). Reading stays allowed everywhere (the notebook
needs the installed packages and the course's data).

The grader (:mod:`xai_tutor.grading.run`) writes this file, unchanged, as an IPython start-up file
of each submission's fresh kernel, so it is self-contained: standard library only.

It stops what ordinary Python code does; it is not a security boundary against code written to
break out (``ctypes``, a compiled extension): for untrusted submissions from strangers, run the
grader in a container or as a user that owns nothing else.

Example::

    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> _inside(os.path.join(folder, "a.txt"), folder), _inside("/etc/passwd", folder)
    (True, False)
"""

from __future__ import annotations

import os
import sys

#: Audit events whose first argument is a path that the operation changes.
CHANGES_PATH = {
    "os.remove", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.truncate", "os.utime",
    "os.chflags", "os.lchflags", "os.setxattr", "os.removexattr", "shutil.rmtree",
    "shutil.chown",
}
#: Audit events whose first two arguments are a source and a destination path: the destination
#: must be inside; so must the source of those that take it away or share it (a hard link).
TWO_PATHS = {"os.rename", "os.link", "os.symlink", "shutil.copyfile", "shutil.copytree",
             "shutil.move", "shutil.copymode", "shutil.copystat"}
SOURCE_CHANGES = {"os.rename", "os.link", "shutil.move"}
#: Audit events that start a program or signal a process.
PROCESSES = {"subprocess.Popen", "os.system", "os.exec", "os.spawn", "os.posix_spawn",
             "os.fork", "os.forkpty", "pty.spawn", "os.kill", "os.killpg", "os.startfile",
             "signal.pthread_kill"}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
HARMLESS = ("/dev/null", "/dev/tty", "/dev/shm")


def _inside(path: object, root: str, dir_fd: object = None) -> bool:
    """True when ``path`` (relative to ``dir_fd`` or the working folder) lies in ``root``."""
    if isinstance(path, int):  # an open file descriptor: it passed the check when opened
        return True
    try:
        name = os.fsdecode(path)  # type: ignore[arg-type]
    except TypeError:
        return False
    if isinstance(dir_fd, int) and not os.path.isabs(name):
        name = os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), name)
    full = os.path.realpath(name)
    return (full == root or full.startswith(root.rstrip(os.sep) + os.sep)
            or any(full == h or full.startswith(h + os.sep) for h in HARMLESS))


def install(root: str) -> None:
    """Refuse, from now on in this process, writes outside ``root`` and starting programs."""
    root = os.path.realpath(root)

    def refuse(what: str) -> None:
        raise PermissionError(f"grading: {what} is not allowed while a submission is graded "
                              f"(only files inside {root} may change)")

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None, 0))[:3]
            writing = ((isinstance(mode, str) and any(c in mode for c in "wax+"))
                       or (isinstance(flags, int) and bool(flags & WRITE_FLAGS)))
            if writing and not _inside(path, root):
                refuse(f"writing {path!r}")
        elif event in CHANGES_PATH:
            dir_fd = args[-1] if event in ("os.remove", "os.rmdir", "os.mkdir", "os.chmod",
                                           "os.chown", "os.utime") else None
            if not _inside(args[0], root, dir_fd):
                refuse(f"{event} on {args[0]!r}")
        elif event in TWO_PATHS:
            if not _inside(args[1], root) or (event in SOURCE_CHANGES
                                              and not _inside(args[0], root)):
                refuse(f"{event} from {args[0]!r} to {args[1]!r}")
        elif event in PROCESSES:
            refuse(f"{event} (starting a program or signalling a process)")

    sys.addaudithook(hook)



def startup_file(root: str) -> str:
    """The text of an IPython start-up file that installs this guard for ``root`` and leaves no
    name behind in the learner's namespace."""
    with open(__file__, encoding="utf-8") as f:
        source = f.read()
    return ("def __xai_tutor_guard():\n"
            f"    space = {{'__name__': 'xai_tutor_grading_guard'}}\n"
            f"    exec(compile({source!r}, 'xai_tutor/grading/guard.py', 'exec'), space)\n"
            f"    space['install']({root!r})\n"
            "__xai_tutor_guard()\n"
            "del __xai_tutor_guard\n")
