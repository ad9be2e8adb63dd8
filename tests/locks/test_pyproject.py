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
from tests.support.installers import package_block, uv_lock
from tests.support.local_index import write_simple_index
from tests.support.newest import TORCH as NEWEST
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
    assert f'"torch=={NEWEST}+cpu",' in out and '"torch>=2.4"' not in out and '"numpy>=2",   # numbers' in out


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
        block = package_block(uv_lock(project, env), "torch")
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


# ---- --add keeps the user's file (issue 16, item 9)

GROUPS = """\
[project]
name = "demo"
version = "0.1.0"
dependencies = [
    "numpy>=2",  # numerics
    "torch>=2.4",  # the model
    "rich",
]

[project.optional-dependencies]
vision = ["torchvision"]  # images

[dependency-groups]
audio = [
    "torchaudio",  # voice
    "soundfile",
]

[tool.uv]
# our private index
[[tool.uv.index]]
name = "corp"
url = "https://corp.example/simple"

[tool.uv.sources]
mylib = { path = "../mylib" }  # ours

[tool.ruff]
line-length = 100
"""


def _subsequence(small: list[str], big: list[str]) -> bool:
    it = iter(big)
    return all(line in it for line in small)


def test_add_pins_each_project_where_it_is_required_and_keeps_comments(catalog: Catalog) -> None:
    p = plan(catalog, "cu126", "torch", "torchvision", "torchaudio")
    pin = {x.project: f"{x.project}=={x.version}" for x in p.pins}
    out = edit(GROUPS, [(None, p)], add=True)
    lines = out.splitlines()
    assert f'    "{pin["torch"]}",  # the model' in lines
    assert f'vision = ["{pin["torchvision"]}"]  # images' in lines
    assert f'    "{pin["torchaudio"]}",  # voice' in lines
    deps = out[out.index("dependencies = [") : out.index("]")]
    assert "torchvision" not in deps and "torchaudio" not in deps  # not moved into [project.dependencies]
    unpinned = {"torch>=2.4", "torchvision", "torchaudio"}
    kept = [line for line in GROUPS.splitlines() if not any(f'"{u}"' in line for u in unpinned)]
    assert _subsequence(kept, lines)  # every other line of the user's, in its order
    # torchpin's tables follow the user's: their index, then torchpin's, then the sources.
    assert lines.index('name = "corp"') < lines.index('name = "torchpin-cu126"') < lines.index("[tool.ruff]")
    assert lines[lines.index("[tool.ruff]") - 1] == ""
    assert edit(out, [(None, p)], add=True) == out


def test_routing_and_unrouting_gives_back_the_same_bytes(catalog: Catalog) -> None:
    mac = select(target("3.12", "macos", "aarch64"), catalog, [])
    for text in (GROUPS, USER, GROUPS.replace("\n", "\r\n"), "\ufeff" + GROUPS):
        routed = edit(text, [(None, plan(catalog, "cu126"))])
        assert routed != text and edit(routed, [(None, mac)]) == text


def test_a_bom_and_crlf_stay_on_every_line(catalog: Catalog) -> None:
    text = "\ufeff" + GROUPS.replace("\n", "\r\n")
    out = edit(text, [(None, plan(catalog, "cu126", "torch"))], add=True)
    assert out.startswith("\ufeff[project]\r\n")
    assert out.count("\n") == out.count("\r\n") and 'torch = {index = "torchpin-cu126"}\r\n' in out


def test_a_multi_target_add_keeps_the_place_and_reruns_cleanly(catalog: Catalog) -> None:
    mac = select(target("3.12", "macos", "aarch64"), catalog, [Requirement("torch")])
    plans = [("linux", plan(catalog, "cu126", "torch")), ("mac", mac)]
    out = edit(GROUPS, plans, add=True)
    lines = out.splitlines()
    at = lines.index('    "numpy>=2",  # numerics')
    linux, darwin = (f'    "torch=={next(p.version for p in pl.pins if p.project == "torch")} ; ' for _, pl in plans)
    assert lines[at + 1].startswith(linux) and lines[at + 1].endswith("# the model")
    assert lines[at + 2].startswith(darwin) and lines[at + 3] == '    "rich",'
    assert edit(out, plans, add=True) == out


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('[project]\nname = "d"\n[tool]\nuv = 5\n', "tool.uv is not a table"),
        ('tool = 5\n[project]\nname = "d"\n', "tool is not a table"),
        ('[project]\nname = "d"\n[tool.uv]\nsources = 3\n', "tool.uv.sources is not a table"),
        ('[project]\nname = "d"\n[tool.uv]\nindex = "x"\n', "tool.uv.index is not an array of tables"),
        ('[project]\nname = "d"\n[project.optional-dependencies]\ncuda = "torch"\n', "optional-dependencies.cuda"),
        (
            '[project]\nname = "d"\n[tool.uv.sources]\npytorch-triton-rocm = { index = "mine" }\n',
            "already routes pytorch-triton-rocm",
        ),
    ],
)
def test_add_refuses_what_it_cannot_edit_naming_the_key(text: str, why: str, tmp_path: Path) -> None:
    from tests.support.cli import run

    path = tmp_path / "pyproject.toml"
    path.write_text(text)
    r = run("lock", *RTX_50, "torch", "--add", "-o", str(path), home=tmp_path)
    assert r.returncode == 2 and why in r.stderr and path.read_text() == text, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_the_cli_keeps_a_bom_and_crlf(tmp_path: Path) -> None:
    from tests.support.cli import run

    path = tmp_path / "pyproject.toml"
    path.write_bytes(("\ufeff" + GROUPS.replace("\n", "\r\n")).encode())
    r = run("lock", *RTX_50, "--add", "-o", str(path), home=tmp_path)
    data = path.read_bytes()
    assert r.returncode == 0 and data.startswith(b"\xef\xbb\xbf[project]\r\n"), r.stderr
    assert data.count(b"\n") == data.count(b"\r\n") and b"torchpin-cu1" in data


def test_its_own_earlier_pins_are_replaced_not_obeyed(tmp_path: Path) -> None:
    """`--add --backend cpu`, then `--add --backend cu126`: the first run's `torch==X+cpu` is
    torchpin's, not the user's, and must not lock the project out of the next backend (issue 26,
    item 10). A pin the user wrote still binds."""
    from tests.support.cli import run

    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "demo"\nversion = "0"\ndependencies = ["torch", "numpy>=2"]\n')
    offline = ("--format", "pyproject", "--add", "--offline", "--no-detect", "-o", str(path))
    assert run("lock", *offline, "--backend", "cpu", home=tmp_path).returncode == 0
    assert "+cpu" in path.read_text()
    r = run("lock", *offline, "--backend", "cu126", home=tmp_path)
    assert r.returncode == 0, r.stderr
    text = path.read_text()
    assert "+cu126" in text and "+cpu" not in text and '"numpy>=2"' in text and "torchpin-cpu" not in text
    path.write_text('[project]\nname = "demo"\nversion = "0"\ndependencies = ["torch==2.5.1+cpu"]\n')
    r = run("lock", *offline, "--backend", "cu126", home=tmp_path)  # the user's own pin: obeyed
    assert r.returncode == 3, r.stderr
