"""Progress of the methods that loop (SmoothGrad, Score-CAM, Ablation-CAM, ...).

:func:`progress` wraps a method's loop in a ``tqdm.auto`` bar when asked; :func:`progress_listener`
lets a caller (the explorer) follow every step, and stop the method between two steps.

A bar appears only once the loop has run for :data:`DELAY_S` seconds: short work (SmoothGrad
with a few samples, Score-CAM on a tiny model) prints nothing, long work shows its bar.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

__all__ = ["DELAY_S", "ProgressCallback", "progress", "progress_listener"]

#: seconds a loop runs before its progress bar is shown (tqdm's ``delay``)
DELAY_S = 1.5


ProgressCallback = Callable[[str, int, "int | None"], None]

_LISTENER: ContextVar[ProgressCallback | None] = ContextVar("xai_tutor_progress", default=None)


@contextlib.contextmanager
def progress_listener(callback: ProgressCallback) -> Iterator[None]:
    """Call ``callback(desc, done, total)`` before every step of every :func:`progress` loop.

    The callback runs in the context (thread) that entered the block, before each step and once
    after the last one, whether or not the tqdm bar is shown. It may raise, which stops the
    method between two steps (the widgets use this to cancel a long Score-CAM run)::

        >>> seen = []
        >>> with progress_listener(lambda desc, done, total: seen.append(done)):
        ...     _ = list(progress(range(2), False, "demo"))
        >>> seen
        [0, 1, 2]
    """
    token = _LISTENER.set(callback)
    try:
        yield
    finally:
        _LISTENER.reset(token)


def _reported(iterable: Any, callback: ProgressCallback, desc: str, total: int | None) -> Any:
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)
    done = 0
    for item in iterable:
        callback(desc, done, total)
        yield item
        done += 1
    callback(desc, done, total)


def progress(iterable: Any, enabled: bool, desc: str, total: int | None = None) -> Any:
    """Wrap ``iterable`` in a ``tqdm.auto`` progress bar when ``enabled``; the bar is shown only
    once the loop has lasted :data:`DELAY_S` seconds.

    Inside :func:`progress_listener` every step is also reported to the listener (at once,
    whatever the delay).
    """
    callback = _LISTENER.get()
    if callback is not None:
        iterable = _reported(iterable, callback, desc, total)
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, leave=False, delay=DELAY_S)
