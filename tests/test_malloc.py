"""xai_tutor sets glibc's allocator thresholds at import (xai_tutor/_malloc.py)."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

import pytest

from xai_tutor import _malloc

ROOT = Path(__file__).resolve().parents[1]


class FakeLibc:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

        def mallopt(param: int, value: int) -> int:
            self.calls.append((param, value))
            return 1

        self.mallopt = mallopt


@pytest.fixture
def fake_libc(monkeypatch: pytest.MonkeyPatch) -> FakeLibc:
    lib = FakeLibc()
    monkeypatch.setattr(_malloc.ctypes, "CDLL", lambda *args, **kwargs: lib)
    return lib


def test_sets_both_thresholds_on_glibc(monkeypatch, fake_libc) -> None:
    monkeypatch.setattr(_malloc, "is_glibc", lambda: True)
    done = _malloc.tune_malloc({})
    assert sorted(fake_libc.calls) == [(-3, 32 * 2**20), (-1, 256 * 2**20)]
    assert done == {"MALLOC_MMAP_THRESHOLD_": 32 * 2**20, "MALLOC_TRIM_THRESHOLD_": 256 * 2**20}


def test_an_environment_variable_wins(monkeypatch, fake_libc) -> None:
    monkeypatch.setattr(_malloc, "is_glibc", lambda: True)
    _malloc.tune_malloc({"MALLOC_MMAP_THRESHOLD_": "65536"})
    assert fake_libc.calls == [(_malloc.M_TRIM_THRESHOLD, _malloc.TRIM_THRESHOLD)]
    fake_libc.calls.clear()
    env = {"MALLOC_MMAP_THRESHOLD_": "1", "MALLOC_TRIM_THRESHOLD_": "1"}
    assert _malloc.tune_malloc(env) == {} and fake_libc.calls == []


def test_opt_out(monkeypatch, fake_libc) -> None:
    monkeypatch.setattr(_malloc, "is_glibc", lambda: True)
    assert _malloc.tune_malloc({"XAI_TUTOR_MALLOPT": "0"}) == {}
    assert fake_libc.calls == []


def test_no_op_off_glibc(monkeypatch, fake_libc) -> None:
    def no_glibc(name: str) -> str:
        raise ValueError(f"unrecognized configuration name {name}")  # what musl / macOS give

    monkeypatch.setattr(_malloc.os, "confstr", no_glibc)
    assert not _malloc.is_glibc()
    assert _malloc.tune_malloc({}) == {}
    assert fake_libc.calls == []


def test_a_missing_mallopt_leaves_the_defaults(monkeypatch) -> None:
    monkeypatch.setattr(_malloc, "is_glibc", lambda: True)

    def no_library(*args, **kwargs):
        raise OSError("no libc")

    monkeypatch.setattr(_malloc.ctypes, "CDLL", no_library)
    assert _malloc.tune_malloc({}) == {}


def test_import_calls_it(monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(_malloc, "tune_malloc", lambda *a, **k: calls.append(a) or {})
    import importlib

    import xai_tutor

    importlib.reload(xai_tutor)
    assert calls == [()]


_PROBE = """
import ctypes, os
class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                 "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
import xai_tutor
before = libc.mallinfo2().hblks
block = libc.malloc(4 << 20)   # 4 MiB: mmap-ed by default, from the heap with the 32 MiB threshold
print(libc.mallinfo2().hblks - before)
libc.free(ctypes.c_void_p(block))
"""


@pytest.mark.skipif(not _malloc.is_glibc() or not hasattr(ctypes.CDLL("libc.so.6"), "mallinfo2")
                    if sys.platform == "linux" else True, reason="needs glibc >= 2.33")
def test_real_effect_on_glibc() -> None:
    """A fresh process maps a 4 MiB block with mmap unless xai_tutor raised the threshold."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env["PYTHONPATH"] = str(ROOT)

    def mapped(**extra: str) -> int:
        out = subprocess.run([sys.executable, "-c", _PROBE], env={**env, **extra}, check=True,
                             capture_output=True, text=True)
        return int(out.stdout.strip())

    assert mapped() == 0
    assert mapped(XAI_TUTOR_MALLOPT="0") == 1
