"""The paths a new user takes, crossed (issue 26): torchpin installed as a tool (`uv tool install`)
or into the project's own venv x the project's venv on torchpin's Python or another x pip or uv x
every lock format (and `--full`, and a multi-target lock) → `torchpin install --lock` → the
venv holds the build the lock pins, for that venv's Python. Stand-in wheels from the fake index
(the real CPU torch exists for one Python only); no cell may fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.support.fake_index import FakeIndexServer
from tests.support.local_index import write_simple_index
from tests.support.static_server import StaticServer
from tests.support.venvs import newcomer_env, other_python

pytestmark = pytest.mark.slow  # tool installs, venvs, real pip and uv

ROOT = Path(__file__).resolve().parent.parent
UV = Path(sys.executable).with_name("uv")
MINE = f"{sys.version_info.major}.{sys.version_info.minor}"

# format name -> the `torchpin lock` arguments that write it to FILE
FORMATS = {
    "requirements": ["torch", "-o", "FILE"],
    "constraints": ["torch", "--format", "constraints", "-o", "FILE"],
    "json": ["torch", "--format", "json", "-o", "FILE"],
    "full": ["torch", "--full", "-o", "FILE"],
    "multi-target": ["torch", "--target", "this", "--target", "macos-arm64", "-o", "FILE"],
    "pylock": ["torch", "--format", "pylock", "-o", "FILE"],
    "pyproject": ["--format", "pyproject", "--add", "-o", "FILE"],
}
UV_ONLY = {"pylock", "pyproject"}  # pip reads neither


class Project(NamedTuple):
    folder: Path
    python: Path  # its .venv's interpreter
    version: str
    torchpin: list[str]  # how this user runs torchpin
    env: dict[str, str]  # the user's environment there


class Lab(NamedTuple):
    env: dict[str, str]
    projects: dict[tuple[str, str], Project]  # (how torchpin is installed, "same"/"other" Python)


def _run(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=600, check=False)


def _version(python: Path) -> str:
    return subprocess.run(
        [str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    tmp = tmp_path_factory.mktemp("matrix")
    write_simple_index(tmp / "pypi" / "simple", [])
    env = newcomer_env(tmp)
    done = _run([str(UV), "tool", "install", str(ROOT)], env)
    if done.returncode != 0:
        pytest.skip(f"uv tool install needs PyPI for torchpin's dependencies: {done.stderr.strip()[-200:]}")
    pythons = {"same": sys.executable, "other": other_python()}
    projects = {}
    for how in ("tool", "venv"):
        for which, base in pythons.items():
            if base is None:
                continue  # no second CPython here: those cells skip, saying so
            folder = tmp / f"{how}-{which}"
            folder.mkdir()
            assert (
                _run([str(UV), "venv", "--seed", "--quiet", "--python", base, str(folder / ".venv")], env).returncode
                == 0
            )
            python = folder / ".venv" / "bin" / "python"
            user = dict(env)
            if how == "tool":
                torchpin = [str(tmp / "bin" / "torchpin")]
            else:  # torchpin in the project's own venv, beside what it installs; the venv active
                got = _run([str(UV), "pip", "install", "--python", str(python), str(ROOT)], env)
                assert got.returncode == 0, got.stderr[-2000:]
                torchpin = [str(python), "-m", "torchpin"]
                user.update(VIRTUAL_ENV=str(folder / ".venv"), PATH=f"{python.parent}{os.pathsep}{env['PATH']}")
            projects[(how, which)] = Project(folder, python, _version(python), torchpin, user)
    with FakeIndexServer() as index, StaticServer(tmp / "pypi") as pypi:
        for project in projects.values():
            project.env.update(TORCHPIN_INDEX_URL=index.base, TORCHPIN_PYPI_URL=f"{pypi.url}/simple")
        yield Lab(env, projects)


_WANT: dict[Path, str] = {}


def _newest_cpu_torch(project: Project) -> str:
    """What a single-target JSON lock pins for this project's venv: the build every format must give."""
    if project.folder not in _WANT:
        made = _run([*project.torchpin, "lock", "torch", "--format", "json"], project.env, project.folder)
        _WANT[project.folder] = next(p["version"] for p in json.loads(made.stdout)["packages"] if p["name"] == "torch")
    return _WANT[project.folder]


CELLS = [
    (how, which, installer, fmt)
    for how in ("tool", "venv")
    for which in ("same", "other")
    for installer in ("pip", "uv")
    for fmt in FORMATS
    if not (installer == "pip" and fmt in UV_ONLY)
]


@pytest.mark.parametrize(("how", "which", "installer", "fmt"), CELLS, ids=["-".join(c) for c in CELLS])
def test_lock_then_install_lock_gives_the_venv_its_build(
    lab: Lab, how: str, which: str, installer: str, fmt: str
) -> None:
    project = lab.projects.get((how, which))
    if project is None:
        pytest.skip("needs a CPython of another minor version than the one running the tests (pyenv's 3.12 or 3.13)")
    (project.folder / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "0"\ndependencies = ["torch"]\n')
    name = {"pylock": "pylock.toml", "pyproject": "pyproject.toml", "json": "lock.json"}.get(fmt, "lock.txt")
    lock = project.folder / name
    args = [str(lock) if a == "FILE" else a for a in FORMATS[fmt]]
    env = project.env  # the venv user has it active; the tool user has torchpin on PATH
    made = _run([*project.torchpin, "lock", *args], env, project.folder)  # no GPU here: cpu
    assert made.returncode == 0, made.stderr[-2000:]
    want = _newest_cpu_torch(project)
    done = _run(
        [*project.torchpin, "install", "--lock", str(lock), "--installer", installer, "--no-verify"],
        env,
        project.folder,
    )
    assert done.returncode == 0, f"{fmt} with {installer} into CPython {project.version}:\n{done.stderr[-3000:]}"
    code = "import importlib.metadata as m; print(m.version('torch'))"
    got = subprocess.run([str(project.python), "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert got == want, (fmt, installer, project.version)
    tag = "cp" + project.version.replace(".", "")
    record = subprocess.run(
        [
            str(project.python),
            "-c",
            "import importlib.metadata as m; print(m.distribution('torch').read_text('WHEEL'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"Tag: {tag}-{tag}-" in record, record  # the wheel for that venv's Python, not torchpin's
