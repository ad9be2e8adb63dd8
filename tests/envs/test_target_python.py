"""Which interpreter install, verify and doctor use: found as uv finds it, and never torchpin's own
tool environment (issue 16, item 10)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from torchpin.envs.verify import target_python, venv_python
from torchpin.errors import UsageError
from torchpin.machine import interpreter


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
    monkeypatch.setattr(interpreter, "TOOL_MARKERS", ())
    assert target_python(None, {}, tmp_path) == sys.executable


@pytest.mark.skipif(not os.access("/tmp", os.W_OK), reason="needs a writable /tmp")
def test_a_uv_tool_install_verifies_the_projects_venv(tmp_path: Path) -> None:
    """torchpin installed with `uv tool install`, run in a project with a .venv: that .venv is checked."""
    import subprocess

    from tests.support.cli import installer_env
    from tests.support.venvs import new_venv, other_python, venv_on

    root = Path(__file__).resolve().parents[2]
    env = installer_env(UV_TOOL_DIR=str(tmp_path / "tools"), UV_TOOL_BIN_DIR=str(tmp_path / "bin"))
    uv = Path(sys.executable).with_name("uv")
    done = subprocess.run(
        [str(uv), "tool", "install", str(root)], capture_output=True, text=True, env=env, timeout=600, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"uv tool install needs PyPI for torchpin's dependencies: {done.stderr.strip()[-200:]}")
    project = tmp_path / "project"
    other = other_python()
    if other is not None:  # the project's Python differs from the tool's: the lock must follow the project
        venv_on(other, project / ".venv")
    else:
        new_venv(project / ".venv")
    version = subprocess.run(
        [str(project / ".venv" / "bin" / "python"), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    user = {k: v for k, v in env.items() if k != "VIRTUAL_ENV"}

    def tool(*args: str, cwd: Path = project) -> subprocess.CompletedProcess[str]:
        argv = [str(tmp_path / "bin" / "torchpin"), *args]
        return subprocess.run(argv, capture_output=True, text=True, cwd=cwd, env=user, timeout=300, check=False)

    lock = tool("lock", "torch", "--backend", "cpu", "--offline")
    assert lock.returncode == 0, lock.stderr
    assert f"# target: CPython {version} on linux x86_64" in lock.stdout, lock.stdout
    assert f"# note: for the environment of {project / '.venv' / 'bin' / 'python'}" in lock.stdout
    run = tool("verify", "--json")
    assert str(project / ".venv" / "bin" / "python") in run.stdout, run.stderr
    # Its detect --json is a fleet inventory: the Python it reports is the project's, as locked.
    import json

    inventory = json.loads(tool("detect", "--json").stdout)
    assert inventory["python"]["version"] == version
    assert inventory["python"]["executable"] == str(project / ".venv" / "bin" / "python")
    outside = tool("verify", cwd=tmp_path)
    assert outside.returncode == 2 and "its own tool environment" in outside.stderr


# ---- the target interpreter decides (issue 26, item 1): a torchpin installed as a tool runs on
# its own Python; what it installs must be chosen for the environment's.


@pytest.fixture(scope="module")
def other_venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    from tests.support.venvs import other_python, venv_on

    python = other_python()
    if python is None:
        pytest.skip("needs a CPython of another minor version than the one running the tests (pyenv's 3.12 or 3.13)")
    target = venv_on(python, tmp_path_factory.mktemp("other") / "venv")
    import subprocess

    version = subprocess.run(
        [str(target), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return target, version


def test_install_plans_for_the_target_interpreter_not_its_own(other_venv: tuple[Path, str], tmp_path: Path) -> None:
    from tests.support.cli import run

    python, version = other_venv
    mine = f"{sys.version_info.major}.{sys.version_info.minor}"
    r = run("install", "torch", "--backend", "cpu", "--offline", "--dry-run", "--python", str(python), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"target:  CPython {version} on linux" in r.stderr and f"CPython {mine} " not in r.stderr


def test_install_into_another_python_installs_its_wheel(other_venv: tuple[Path, str], tmp_path: Path) -> None:
    """Tool on this Python, venv on another, real uv, the fake index: the venv's cpXY wheel goes in."""
    from tests.support.cli import installer_env, run
    from tests.support.fake_index import FakeIndexServer
    from tests.support.local_index import write_simple_index
    from tests.support.static_server import StaticServer

    python, version = other_venv
    tag = "cp" + version.replace(".", "")
    write_simple_index(tmp_path / "pypi" / "simple", [])
    env = installer_env(TORCHPIN_CACHE_DIR=str(tmp_path / "c"), UV_CACHE_DIR=str(tmp_path / "uvc"))
    with FakeIndexServer() as index, StaticServer(tmp_path / "pypi") as pypi:
        env["TORCHPIN_PYPI_URL"] = f"{pypi.url}/simple"
        r = run(
            *("install", "torch", "--backend", "cpu", "--installer", "uv", "--no-verify"),
            *("--python", str(python), "--index-url", index.base, "--no-fallback", "-o", str(tmp_path / "lock.txt")),
            env=env,
            cwd=tmp_path,
        )
    assert r.returncode == 0, r.stderr[-2000:]
    ask = "import importlib.metadata as m; print(m.distribution('torch').read_text('WHEEL'))"
    wheel = subprocess.run([str(python), "-c", ask], capture_output=True, text=True, check=True).stdout
    assert f"Tag: {tag}-{tag}-" in wheel, wheel  # the installed wheel is the venv's
    assert f"# target: CPython {version} on linux x86_64" in (tmp_path / "lock.txt").read_text()


def test_a_lock_for_another_python_names_the_lock_command_for_this_one(
    other_venv: tuple[Path, str], tmp_path: Path
) -> None:
    from tests.support.cli import run

    python, version = other_venv
    lock = tmp_path / "lock.txt"
    made = run(*("lock", "torch", "--backend", "cpu", "--offline", "--no-detect", "-o", str(lock)), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    r = run("install", "--lock", str(lock), "--python", str(python), "--dry-run", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert f"this interpreter is CPython {version} on linux x86_64" in r.stderr
    assert f"torchpin lock --python-version {version} --python-platform x86_64-manylinux_2_" in r.stderr
