"""glibc allocator thresholds set at import, so speed does not depend on how Python was started.

CPU forward passes allocate and free activation buffers of many megabytes per batch. glibc's
defaults serve blocks above a (dynamically rising) 128 KiB threshold with fresh ``mmap`` pages and
give freed heap memory back to the OS beyond 128 KiB, so every batch page-faults its buffers in
again. With

* ``M_MMAP_THRESHOLD = 32 MiB`` (blocks up to 32 MiB come from the heap) and
* ``M_TRIM_THRESHOLD = 256 MiB`` (the heap is trimmed only beyond 256 MiB free at its top)

freed buffers are reused instead (Score-CAM on EfficientNet-Lite0 14.5 s -> 8.1 s on 2 cores;
``benchmarks/bench_allocator.py`` measures it both ways). The Makefile exports the same values as
``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_``; this module makes JupyterLab started by
conda, Colab and a plain ``python`` get them too, through ``mallopt(3)``.

Rules: only on glibc (other C libraries are left alone); a threshold whose environment variable is
set is left to that variable; ``XAI_TUTOR_MALLOPT=0`` turns the whole thing off.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

__all__ = ["M_MMAP_THRESHOLD", "M_TRIM_THRESHOLD", "MMAP_THRESHOLD", "TRIM_THRESHOLD",
           "is_glibc", "tune_malloc"]

# mallopt parameter numbers from glibc's <malloc.h>
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 32 * 1024 * 1024
TRIM_THRESHOLD = 256 * 1024 * 1024

OPT_OUT = "XAI_TUTOR_MALLOPT"


def is_glibc() -> bool:
    """True when this process runs on GNU libc (``confstr`` names its version only there)."""
    try:
        return bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (AttributeError, ValueError, OSError):  # not POSIX, or not glibc
        return False


def tune_malloc(environ: dict[str, str] | None = None) -> dict[str, int]:
    """Set the two thresholds with ``mallopt`` where allowed; return what was set.

    Returns ``{}`` off glibc, when ``XAI_TUTOR_MALLOPT=0``, or when both environment variables
    are already set (glibc read them at start-up). Never raises: a failure only leaves the
    defaults in place.
    """
    env = os.environ if environ is None else environ
    if env.get(OPT_OUT, "").strip() == "0" or not is_glibc():
        return {}
    wanted = {
        "MALLOC_MMAP_THRESHOLD_": (M_MMAP_THRESHOLD, MMAP_THRESHOLD),
        "MALLOC_TRIM_THRESHOLD_": (M_TRIM_THRESHOLD, TRIM_THRESHOLD),
    }
    todo = {var: pair for var, pair in wanted.items() if var not in env}
    if not todo:
        return {}
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return {}
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    done = {}
    for var, (param, value) in todo.items():
        if mallopt(param, value) == 1:  # mallopt returns 1 on success, 0 on error
            done[var] = value
    return done
