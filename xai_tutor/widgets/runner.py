"""Background work for the explorer: one job at a time in a thread, cancellable between steps.

:meth:`Runner.start` runs ``work()`` in a daemon thread and then ``done(result, error)`` in the
same thread. *Cancel* sets a flag; :meth:`Runner.check`, called from the method's progress loop
(:func:`xai_tutor.methods.progress.progress_listener`), raises :class:`Cancelled` at the next step,
so a method stops after the batch in flight. A method that never reports progress is only stopped
when it finishes; the caller then throws its result away.

Example::

    >>> r = Runner()
    >>> seen = []
    >>> r.start(lambda: 6 * 7, lambda result, error: seen.append(result))
    >>> r.wait(5), seen
    (True, [42])
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

__all__ = ["Cancelled", "Runner"]


class Cancelled(Exception):
    """Raised inside a running method when the user pressed Cancel."""


class Runner:
    """Runs one piece of work at a time in a background thread."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._running = False
        self._cancel = threading.Event()

    @property
    def busy(self) -> bool:
        """Whether a job's work is running (``done`` already sees ``False``)."""
        return self._running

    @property
    def cancelled(self) -> bool:
        """Whether Cancel was pressed for the current (or last) job."""
        return self._cancel.is_set()

    def start(self, work: Callable[[], Any],
              done: Callable[[Any, BaseException | None], None]) -> None:
        """Run ``work()`` in a thread, then ``done(result, None)`` or ``done(None, error)``."""
        if self.busy:
            raise RuntimeError("a job is already running")
        self._cancel.clear()

        def body() -> None:
            result: Any = None
            error: BaseException | None = None
            try:
                result = work()
            except Exception as err:  # handed to done(), which shows it
                error = err
            finally:
                self._running = False
            done(result, error)

        self._running = True
        self._thread = threading.Thread(target=body, name="xai-explorer", daemon=True)
        self._thread.start()

    def cancel(self) -> bool:
        """Ask the running job to stop at its next progress step; ``False`` if none runs."""
        if not self.busy:
            return False
        self._cancel.set()
        return True

    def check(self, *_args: Any) -> None:
        """Raise :class:`Cancelled` when Cancel was pressed (use as a progress callback)."""
        if self._cancel.is_set():
            raise Cancelled()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job and its ``done`` end; ``True`` when nothing runs any more."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()
