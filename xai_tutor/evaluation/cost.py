"""Run time and memory of one call.

* **tensor memory** (:func:`tensor_memory`, deterministic; what the experiment reports and its
  claims use): every tensor an ATen operation creates during the call (forward, backward,
  hooks: the activations and gradients a method keeps, the tensors autograd saves for the
  backward pass, the temporaries) is counted by the bytes of its storage when it appears, and
  uncounted when its last tensor is freed; views of one storage count once. The **peak** is the
  largest sum of live bytes during the call; **retained** what is still alive when it returns
  (its result). Tensors that existed before the call (the model's weights, the input) are not
  counted, nor views of them (an output that shares an input's storage is new only when that
  storage was itself created during the call), nor memory an operation uses only inside its
  kernel (a convolution's workspace) or that is not a tensor (NumPy arrays). The same call
  gives the same bytes on every run, at any load, so a ratio of two methods' memory is a
  measurement, not noise. It watches the call through a ``TorchDispatchMode`` (PyTorch's Python
  dispatch hook): the call runs several times slower, so it is measured apart from the time.
* **time**: wall clock with :func:`time.perf_counter` around the call.
* **peak memory on CUDA**: ``torch.cuda.max_memory_allocated`` after a reset of the peak
  statistics, minus what was allocated before the call.
* **peak memory on CPU**: the process's resident set size (RSS, read from ``/proc/self/statm``)
  sampled every millisecond by a background thread, peak minus the value before the call.
  :mod:`tracemalloc` would miss PyTorch's tensors (they are not allocated through Python's
  allocator), so it is only the fallback where ``/proc`` does not exist. RSS includes memory the
  C allocator keeps after a free, so CPU numbers are lower bounds once the process has already
  held more memory; :func:`release_freed_memory` makes large blocks go back to the system at once.
  This RSS peak depends on what the process held before and on other threads: on the small
  course models it reads 0 to a fraction of a MB whatever the method. Compare memory with
  :func:`tensor_memory`.

Example::

    >>> c = measure(sum, range(1000))
    >>> c.result, c.seconds >= 0, c.peak_bytes >= 0
    (499500, True, True)
    >>> m = tensor_memory(lambda x: (x * 2 + 1).sum(), torch.ones(1000))  # 4000-byte tensors
    >>> m.peak_bytes, m.retained_bytes, float(m.result)
    (8000, 4, 3000.0)
"""

from __future__ import annotations

import ctypes
import os
import threading
import time
import tracemalloc
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from .registry import register_metric

__all__ = ["Cost", "TensorMemory", "measure", "release_freed_memory", "tensor_memory"]

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


@dataclass(frozen=True)
class TensorMemory:
    """What :func:`tensor_memory` returns: the call's ``result``, the ``peak_bytes`` of tensors
    alive at once, the ``retained_bytes`` still alive at its end and the number of storages
    ``allocations`` it created."""

    result: Any
    peak_bytes: int
    retained_bytes: int
    allocations: int

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / 2**20


class _LiveTensors(TorchDispatchMode):
    """Counts the bytes of the storages that operations create, while their tensors live."""

    def __init__(self) -> None:
        super().__init__()
        self.live: dict[int, list[int]] = {}   # storage address -> [bytes, live tensors]
        self.current = self.peak = self.allocations = 0

    def _release(self, key: int) -> None:
        entry = self.live.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] == 0:
            self.current -= self.live.pop(key)[0]

    @staticmethod
    def _storages(values: Any) -> list[tuple[torch.Tensor, Any]]:
        return [(t, t.untyped_storage()) for t in tree_flatten(values)[0]
                if isinstance(t, torch.Tensor) and not t.is_meta and t.layout == torch.strided]

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        kwargs = kwargs or {}
        inputs = {s.data_ptr() for _, s in self._storages((args, kwargs))}
        out = func(*args, **kwargs)
        for t, storage in self._storages(out):
            key = storage.data_ptr()
            if key == 0:
                continue
            if key in self.live:
                self.live[key][1] += 1
            elif key in inputs:  # a view of (or written into) a tensor made before the call
                continue
            else:
                self.live[key] = [storage.nbytes(), 1]
                self.allocations += 1
                self.current += storage.nbytes()
                self.peak = max(self.peak, self.current)
            weakref.finalize(t, self._release, key)
        return out


def tensor_memory(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> TensorMemory:
    """Call ``fn(*args, **kwargs)`` and count the tensor memory it creates (module docstring).

    Deterministic: the same call on the same inputs gives the same bytes. The peak is taken over
    the whole call, backward passes included.
    """
    counter = _LiveTensors()
    with counter:
        result = fn(*args, **kwargs)
    return TensorMemory(result, int(counter.peak), int(counter.current),
                        int(counter.allocations))


register_metric("seconds", title="time s", family="cost", higher_is_better=False,
                needs=("call",), judged=False,
                reference="wall clock of one call (time.perf_counter)")(None)
register_metric("tensor_mb", title="tensor MB", family="cost", higher_is_better=False,
                needs=("call",), judged=False,
                reference="peak tensor memory of one call (tensor_memory)")(None)
