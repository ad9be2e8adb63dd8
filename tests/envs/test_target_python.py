"""Which interpreter install, verify and doctor use: found as uv finds it, and never torchpin's own
tool environment (issue 16, item 10)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from torchpin.envs import verify
from torchpin.envs.verify import target_python, venv_python
from torchpin.errors import UsageError


def make_venv(folder: Path) -> Path:
    python = venv_python(folder)
    python.parent.mkdir(parents=True)
    python.write_text("")
    return python


def test_the_order_is_python_then_virtual_env_then_conda_then_dot_venv(tmp_path: Path) -> None:
    a, b, c = make_venv(tmp_path / "a"), make_venv(tmp_path / "b"), make_venv(tmp_path / "c")
    project = tmp_path / "project" / "src"
    project.mkdir(parents=True)
    dot = make_venv(tmp_path / "project" / ".venv")
    env = {"VIRTUAL_ENV": str(tmp_path / "b"), "CONDA_PREFIX": str(tmp_path / "c")}
    assert target_python(str(tmp_path / "a"), env, project) == str(a)
    assert target_python(None, env, project) == str(b)
    assert target_python(None, {"CONDA_PREFIX": env["CONDA_PREFIX"]}, project) == str(c)
    assert target_python(None, {}, project) == str(dot)  # a parent's .venv, as uv finds it


def test_a_tool_environment_is_never_the_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tool = tmp_path / "tools" / "torchpin"
    tool.mkdir(parents=True)
    (tool / "uv-receipt.toml").write_text("[tool]\n")
    monkeypatch.setattr(sys, "prefix", str(tool))
    with pytest.raises(UsageError, match="its own tool environment") as e:
        target_python(None, {}, tmp_path)
    assert "--python" in str(e.value)
    monkeypatch.setattr(verify, "TOOL_MARKERS", ())
    assert target_python(None, {}, tmp_path) == sys.executable


@pytest.mark.skipif(not os.access("/tmp", os.W_OK), reason="needs a writable /tmp")
def test_a_uv_tool_install_verifies_the_projects_venv(tmp_path: Path) -> None:
    """torchpin installed with `uv tool install`, run in a project with a .venv: that .venv is checked."""
    import subprocess

    from tests.support.cli import installer_env
    from tests.support.venvs import new_venv

    root = Path(__file__).resolve().parents[2]
    env = installer_env(UV_TOOL_DIR=str(tmp_path / "tools"), UV_TOOL_BIN_DIR=str(tmp_path / "bin"))
    uv = Path(sys.executable).with_name("uv")
    done = subprocess.run(
        [str(uv), "tool", "install", str(root)], capture_output=True, text=True, env=env, timeout=600, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"uv tool install needs PyPI for torchpin's dependencies: {done.stderr.strip()[-200:]}")
    project = tmp_path / "project"
    new_venv(project / ".venv")
    run = subprocess.run(
        [str(tmp_path / "bin" / "torchpin"), "verify", "--json"],
        capture_output=True,
        text=True,
        cwd=project,
        env={k: v for k, v in env.items() if k != "VIRTUAL_ENV"},
        timeout=300,
        check=False,
    )
    assert str(project / ".venv" / "bin" / "python") in run.stdout, run.stderr
    outside = subprocess.run(
        [str(tmp_path / "bin" / "torchpin"), "verify"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={k: v for k, v in env.items() if k != "VIRTUAL_ENV"},
        timeout=300,
        check=False,
    )
    assert outside.returncode == 2 and "its own tool environment" in outside.stderr
