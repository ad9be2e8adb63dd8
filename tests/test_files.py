"""Atomic writes: the old file survives a failed write, and no temp file is left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from torchpin import files


def test_replaces_and_keeps_mode(tmp_path: Path) -> None:
    target = tmp_path / "lock.txt"
    target.write_text("old\n")
    target.chmod(0o640)
    files.write_atomic(target, "new\n")
    assert target.read_text() == "new\n"
    assert target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["lock.txt"]


def test_new_file_gets_umask_mode(tmp_path: Path) -> None:
    target = tmp_path / "lock.txt"
    files.write_atomic(target, "x\n")
    assert target.stat().st_mode & 0o777 != 0o600  # not mkstemp's private mode


def test_failure_midway_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "lock.txt"
    target.write_text("old\n")

    def boom(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("torchpin.files.os.fsync", boom)
    with pytest.raises(OSError, match="No space left"):
        files.write_atomic(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["lock.txt"]
