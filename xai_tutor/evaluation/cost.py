"""Run time and peak memory of one call.

* **time**: wall clock with :func:`time.perf_counter` around the call.
* **peak memory on CUDA**: ``torch.cuda.max_memory_allocated`` after a reset of the peak
  statistics, minus what was allocated before the call.
* **peak memory on CPU**: the process's resident set size (RSS, read from ``/proc/self/statm``)
  sampled every millisecond by a background thread, peak minus the value before the call.
  :mod:`tracemalloc` would miss PyTorch's tensors (they are not allocated through Python's
  allocator), so it is only the fallback where ``/proc`` does not exist. RSS includes memory the
  C allocator keeps after a free, so CPU numbers are lower bounds once the process has already
  held more memory; :func:`release_freed_memory` makes large blocks go back to the system at once.

Example::

    >>> c = measure(sum, range(1000))
    >>> c.result, c.seconds >= 0, c.peak_bytes >= 0
    (499500, True, True)
"""

from __future__ import annotations

import ctypes
import os
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

__all__ = ["Cost", "measure", "release_freed_memory"]

_STATM = "/proc/self/statm"


@dataclass(frozen=True)
class Cost:
    """What :func:`measure` returns: the call's ``result``, ``seconds`` and ``peak_bytes``."""

    result: Any
    seconds: float
    peak_bytes: int
    how: str

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / 2**20


def _rss() -> int:
    with open(_STATM) as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def release_freed_memory(threshold_bytes: int = 1 << 20) -> bool:
    """Ask glibc to serve blocks above ``threshold_bytes`` by ``mmap`` (so ``free`` returns them).

    Process-wide and permanent (``mallopt(M_MMAP_THRESHOLD)``); used by the experiment runner so
    that RSS follows the live memory. Returns False where glibc is not available.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(-3, int(threshold_bytes)))  # M_MMAP_THRESHOLD = -3
    except (OSError, AttributeError):
        return False


def _cuda_device(args: tuple, kwargs: dict) -> torch.device | None:
    for a in list(args) + list(kwargs.values()):
        if isinstance(a, torch.Tensor) and a.is_cuda:
            return a.device
        if isinstance(a, torch.nn.Module):
            p = next(a.parameters(), None)
            if p is not None and p.is_cuda:
                return p.device
    return None


def measure(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Cost:
    """Call ``fn(*args, **kwargs)`` and return its result with run time and peak memory.

    CUDA is used for memory when any tensor or module argument lives on a CUDA device.
    """
    device = _cuda_device(args, kwargs)
    if device is not None:
        torch.cuda.synchronize(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        t0 = time.perf_counter()
        result = fn(*args, **kwargs)
        torch.cuda.synchronize(device)
        seconds = time.perf_counter() - t0
        peak = torch.cuda.max_memory_allocated(device) - before
        return Cost(result, seconds, max(int(peak), 0), "cuda")
    if os.path.exists(_STATM):
        before = _rss()
        peak = [before]
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], _rss())
                stop.wait(0.001)

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        t0 = time.perf_counter()
        try:
            result = fn(*args, **kwargs)
        finally:
            seconds = time.perf_counter() - t0
            peak[0] = max(peak[0], _rss())
            stop.set()
            thread.join()
        return Cost(result, seconds, max(peak[0] - before, 0), "rss")
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        result = fn(*args, **kwargs)
    finally:
        seconds = time.perf_counter() - t0
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return Cost(result, seconds, int(top), "tracemalloc")
