"""--format pyproject: a uv project routed to the chosen index, the user's bytes kept, uv lock accepting it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import target
from tests.support.fake_index import FakeIndexServer
from tests.support.local_index import write_simple_index
from tests.support.static_server import StaticServer
from torchpin.decide.select import select
from torchpin.errors import UsageError
from torchpin.facts.snapshot import Catalog
from torchpin.locks.pyproject import edit
from torchpin.models import Plan, Requirement

USER = """\
# my project -- keep this comment
[project]
name    =   "demo"   # odd spacing stays
version = "0.1.0"
requires-python = ">=3.11"
dependencies = [
    "numpy>=2",   # numbers
    "torch>=2.4",
]

[tool.ruff]
line-length = 99

[tool.uv]
environments = ["sys_platform == 'linux'"]  # unrelated uv settings stay
"""


def plan(catalog: Catalog, backend: str, *reqs: str) -> Plan:
    return select(target("3.12", backend=backend), catalog, [Requirement(r) for r in reqs] or ())


def test_the_users_bytes_stay_and_a_rerun_is_a_no_op(catalog: Catalog) -> None:
    p = plan(catalog, "cu126")
    once = edit(USER, [(None, p)])
    assert once.startswith(USER)  # everything of the user's, byte for byte, before torchpin's entries
    assert 'name = "torchpin-cu126"' in once and "explicit = true" in once
    assert 'torch = {index = "torchpin-cu126"}' in once and 'torchaudio = {index = "torchpin-cu126"}' in once
    assert edit(once, [(None, p)]) == once  # running twice changes nothing


def test_another_variant_replaces_torchpins_entries_only(catalog: Catalog) -> None:
    cu = edit(USER, [(None, plan(catalog, "cu126"))])
    cpu = edit(cu, [(None, plan(catalog, "cpu"))])
    assert "torchpin-cu126" not in cpu and cpu.count("[[tool.uv.index]]") == 1
    assert cpu == edit(USER, [(None, plan(catalog, "cpu"))])


def test_add_pins_the_builds_in_the_dependencies(catalog: Catalog) -> None:
    out = edit(USER, [(None, plan(catalog, "cpu", "torch"))], add=True)
    assert '"torch==2.15.0+cpu",' in out and '"torch>=2.4"' not in out and '"numpy>=2",   # numbers' in out


def test_pypi_builds_need_no_index(catalog: Catalog) -> None:
    mac = select(target("3.12", "macos", "aarch64"), catalog, [])
    routed = edit(USER, [(None, plan(catalog, "cpu"))])
    assert edit(routed, [(None, mac)]) == USER  # torchpin's entries removed, nothing else touched


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[tool.uv]\nindex-url = "x"\n', "no [project] table"),
        (USER + '\n[tool.uv.sources]\ntorch = { index = "mine" }\n', "already routes torch"),
        (
            USER + '\n[[tool.uv.index]]\nname = "pytorch"\nurl = "https://download.pytorch.org/whl/cu126"\n',
            "already names https://download.pytorch.org/whl/cu126",
        ),
        ("[project\nname = 1", "not valid TOML"),
    ],
    ids=["no-project", "user-sources", "same-url-index", "bad-toml"],
)
def test_what_torchpin_would_overwrite_is_refused(catalog: Catalog, text: str, fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment.replace("[", r"\[").replace("(", r"\(")):
        edit(text, [(None, plan(catalog, "cu126"))])


def test_uv_lock_installs_the_chosen_build(tmp_path: Path) -> None:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed (scripts/test installs it with the dev extra)")
    from tests.support.wheelmaker import make_wheel

    numpy = make_wheel(tmp_path / "build", "numpy", "2.0.0", "py3-none-any")
    decoy = make_wheel(tmp_path / "build", "torch", "2.14.1", "cp311-cp311-manylinux_2_28_x86_64")
    write_simple_index(tmp_path / "pypi" / "simple", [numpy, decoy])
    project = tmp_path / "demo"
    project.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "TORCHPIN_"))}
    env.update(UV_NO_CONFIG="1", UV_CACHE_DIR=str(tmp_path / "uv-cache"), TORCHPIN_CACHE_DIR=str(tmp_path / "c"))
    with FakeIndexServer() as index, StaticServer(tmp_path / "pypi") as pypi:
        text = USER.replace("[tool.uv]\n", f'[tool.uv]\nindex-url = "{pypi.url}/simple"\n')
        (project / "pyproject.toml").write_text(text)
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "torchpin",
                "lock",
                "torch==2.14.1",
                "--format",
                "pyproject",
                "--add",
                "--no-detect",
                "--backend",
                "cpu",
                "--python-version",
                "3.11",
                "--python-platform",
                "x86_64-manylinux_2_28",
                "--index-url",
                index.base,
                "--no-fallback",
            ],
            cwd=project,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        assert r.returncode == 0 and r.stdout == "", r.stderr
        edited = (project / "pyproject.toml").read_text()
        assert edited.startswith(text.split("dependencies")[0])  # the user's head is untouched
        locked = subprocess.run(
            [uv, "lock"], cwd=project, capture_output=True, text=True, env=env, timeout=300, check=False
        )
    assert locked.returncode == 0, locked.stderr
    lock = (project / "uv.lock").read_text()
    block = lock[lock.index('[[package]]\nname = "torch"\n') :].split("\n\n")[0]
    assert 'version = "2.14.1+cpu"' in block and f'registry = "{index.base}/cpu"' in block  # not PyPI's decoy


PROJECT_RANGE = (
    '[project]\nname = "demo"\nversion = "0"\nrequires-python = ">=3.13"\ndependencies = ["torch>=2.4,<2.9"]\n'
)
RTX_50 = ("--no-detect", "--driver", "580.65.06", "--gpu-cc", "12.0", "--offline", "--format", "pyproject")


def test_the_projects_own_range_decides_a_pyproject_lock(tmp_path: Path) -> None:
    """torch>=2.4,<2.9 in [project.dependencies] on an RTX 50xx: cu129 (2.8.0), not cu132 (issue 16, item 8)."""
    from tests.support.cli import run

    path = tmp_path / "pyproject.toml"
    path.write_text(PROJECT_RANGE)
    r = run("lock", *RTX_50, "-o", str(path), "--add", home=tmp_path)
    assert r.returncode == 0, r.stderr
    text = path.read_text()
    assert 'index = "torchpin-cu129"' in text and "torch==2.8.0+cu129" in text
    assert "the project's own requirements decide: torch>=2.4,<2.9" in r.stderr
    assert "locking for Python 3.13: requires-python is >=3.13" in r.stderr  # this interpreter is older
    path.write_text(PROJECT_RANGE)
    given = run("lock", *RTX_50, "-o", str(path), "torch>=2.9", home=tmp_path)  # REQ overrides the project
    assert given.returncode == 0 and 'index = "torchpin-cu129"' not in path.read_text(), given.stderr


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('[project]\nname = "d"\ndependencies = "torch"\n', "project.dependencies is not an array"),
        ('[project]\nname = "d"\ndependencies = []\n[dependency-groups]\ndev = 5\n', "dependency-groups.dev is not"),
        ('[project]\nname = "d"\nrequires-python = 3\n', "requires-python is not a string"),
        ('[project]\nname = "d"\ndependencies = ["torch>=="]\n', "is not a requirement"),
    ],
)
def test_wrongly_typed_project_tables_are_exit_2_naming_the_key(text: str, why: str, tmp_path: Path) -> None:
    from tests.support.cli import run

    path = tmp_path / "pyproject.toml"
    path.write_text(text)
    r = run("lock", *RTX_50, "-o", str(path), home=tmp_path)
    assert r.returncode == 2 and why in r.stderr and path.read_text() == text, r.stderr
