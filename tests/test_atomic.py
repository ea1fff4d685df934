"""One way to write a file or a folder atomically, shared by the experiment and the scripts."""

from __future__ import annotations

import os
import stat

import pytest

from xai_tutor.atomic import atomic_folder, atomic_write


def _tree(folder) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


def test_folder_replaces_the_old_one_whole(tmp_path) -> None:
    out = tmp_path / "site"
    out.mkdir()
    (out / "old.html").write_text("old")
    with atomic_folder(out) as tmp:
        assert tmp.parent == tmp_path and tmp != out
        (tmp / "new.html").write_text("new")
        assert _tree(out) == {"old.html": "old"}  # nothing visible before the block ends
    assert _tree(out) == {"new.html": "new"}
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # no temporary or old folder left


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_an_error_or_ctrl_c_leaves_the_target_as_it_was(tmp_path, error) -> None:
    out = tmp_path / "site"
    out.mkdir()
    (out / "old.html").write_text("old")
    with pytest.raises(error), atomic_folder(out) as tmp:
        (tmp / "half.html").write_text("half")
        raise error
    assert _tree(out) == {"old.html": "old"}
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


def test_before_swap_can_refuse(tmp_path) -> None:
    out = tmp_path / "results"

    def refuse() -> None:
        raise FileExistsError("filled meanwhile")

    with pytest.raises(FileExistsError), atomic_folder(out, before_swap=refuse) as tmp:
        (tmp / "a.csv").write_text("1")
    assert list(tmp_path.iterdir()) == []


def test_new_folder_and_file_get_the_usual_permissions(tmp_path) -> None:
    mask = os.umask(0o022)
    try:
        with atomic_folder(tmp_path / "deep" / "site") as tmp:
            (tmp / "x").write_text("x")
        atomic_write(tmp_path / "w.bin", lambda fh: fh.write(b"abc"))
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "deep" / "site").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "w.bin").stat().st_mode) == 0o644
    assert (tmp_path / "w.bin").read_bytes() == b"abc"


def test_write_failure_keeps_the_old_file(tmp_path) -> None:
    path = tmp_path / "weights.pt"
    path.write_bytes(b"old")

    def half(fh) -> None:
        fh.write(b"ne")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, half)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["weights.pt"]
