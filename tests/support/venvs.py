"""Fresh virtual environments for the install tests, made the fast way a user makes them.

``python -m venv`` spends ~3 s of CPU running ensurepip; ``uv venv --seed`` makes the same
environment (this interpreter, pip inside) in ~0.3 s from uv's cache. Where uv can't (no cache
and no PyPI), the standard library's venv makes it: slower, never a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

UV = Path(sys.executable).with_name("uv")


def new_venv(path: Path, *, pip: bool = True) -> Path:
    """A new venv at ``path`` on this interpreter, with pip in it unless ``pip=False``; its python."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_", "VIRTUAL_ENV"))}
    env.update(UV_NO_CONFIG="1", PIP_CONFIG_FILE=os.devnull)
    if UV.exists():
        argv = [str(UV), "venv", "--quiet", "--python", sys.executable, *(["--seed"] if pip else []), str(path)]
        if subprocess.run(argv, env=env, capture_output=True, timeout=300, check=False).returncode == 0:
            return path / "bin" / "python"
    argv = [sys.executable, "-m", "venv", *([] if pip else ["--without-pip"]), "--clear", str(path)]
    subprocess.run(argv, env=env, check=True, timeout=300)
    return path / "bin" / "python"


def other_python() -> str | None:
    """A CPython 3.10+ of another minor version than this one (pyenv's, or on PATH), or None."""
    mine = f"{sys.version_info.major}.{sys.version_info.minor}"
    roots = [Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"]
    found = [str(p) for root in roots for p in sorted(root.glob("3.1[0-9]*/bin/python3.1[0-9]"))]
    found += [w for minor in range(10, 15) if (w := shutil.which(f"python3.{minor}"))]
    for candidate in found:
        done = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if done.returncode == 0 and done.stdout.strip() not in ("", mine):
            return candidate
    return None


def venv_on(python: str, path: Path) -> Path:
    """A new venv (no pip) at ``path`` on another interpreter; its python."""
    argv = (
        [str(UV), "venv", "--quiet", "--python", python, str(path)]
        if UV.exists()
        else [python, "-m", "venv", str(path)]
    )
    subprocess.run(argv, check=True, capture_output=True, timeout=300)
    return path / "bin" / "python"


def newcomer_env(home: Path) -> dict[str, str]:
    """A new user's environment under ``home``: none of this machine's torchpin, pip or uv
    settings, a machine with no GPU (``home/root`` as TORCHPIN_SYSROOT), uv on PATH (they ran
    `uv tool install`), and that tool's bin first."""
    (home / "root").mkdir(exist_ok=True)
    drop = ("TORCHPIN_", "PIP_", "UV_", "VIRTUAL_ENV", "CONDA_PREFIX")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(
        HOME=str(home),
        PIP_CONFIG_FILE=os.devnull,
        UV_NO_CONFIG="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        UV_CACHE_DIR=str(home / "uv-cache"),
        UV_TOOL_DIR=str(home / "tools"),
        UV_TOOL_BIN_DIR=str(home / "bin"),
        TORCHPIN_CACHE_DIR=str(home / "cache"),
        TORCHPIN_SYSROOT=str(home / "root"),
        PATH=os.pathsep.join([str(home / "bin"), str(UV.parent), os.environ["PATH"]]),
    )
    return env
