"""Real installers for the install tests: pip from this interpreter, and uv beside it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def uv() -> str:
    """uv's path; the test is skipped, saying why, where uv isn't installed."""
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if found is None:
        pytest.skip("uv is not installed (scripts/test installs it with the dev extra)")
    return found


def install(tool: str, lock: Path, into: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    """A real ``pip install`` or ``uv pip install`` (with ``extra`` options) of ``lock`` into ``into``."""
    if tool == "pip":
        argv = [sys.executable, "-m", "pip", "install", "--quiet", *extra, "--target", str(into), "-r", str(lock)]
    else:
        argv = [uv(), "pip", "install", *extra, "--python", sys.executable, "--target", str(into), "-r", str(lock)]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300, check=False)


def uv_lock(project: Path, env: dict[str, str]) -> str:
    """``uv lock`` in a uv project (it must succeed): the uv.lock it wrote."""
    locked = subprocess.run(
        [uv(), "lock"], cwd=project, capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert locked.returncode == 0, locked.stderr
    return (project / "uv.lock").read_text()


def package_block(lock: str, name: str) -> str:
    """One ``[[package]]`` table of a uv.lock, up to the blank line after it."""
    return lock[lock.index(f'[[package]]\nname = "{name}"\n') :].split("\n\n")[0]
