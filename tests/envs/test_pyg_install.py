"""PyTorch Geometric's extensions from data.pyg.org's pages (issue 28, item 1): the page of the
chosen torch minor and variant, each file pinned by URL and sha256, installed by real pip and uv.

The stand-in host (``tests.support.fake_index``, role "pyg") serves the pages the snapshot records,
as PyG's upload script writes them (relative links, ``%2B``, no hashes); torch 2.13's has pyg-lib
only, and 2.14's and 2.15's don't exist yet (403).
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomllib

from tests.support.cli import installer_env
from tests.support.cli import run as run_cli
from tests.support.fake_index import FakeIndexServer, FakePytorchIndex
from tests.support.installers import install, package_block, uv_lock
from tests.support.installers import uv as find_uv
from tests.support.pep751 import only_file
from tests.support.static_server import StaticServer

TARGET = ("--no-detect", "--python-version", "3.11", "--python-platform", "x86_64-manylinux_2_28")
Served = tuple[Path, FakeIndexServer, str]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("pyg")
    index = FakePytorchIndex()
    # PyPI has torch-scatter only as an sdist: a lock that let an installer look there would build it.
    page = tmp / "pypi" / "simple" / "torch-scatter"
    page.mkdir(parents=True)
    (page / "torch_scatter-2.1.2.tar.gz").write_bytes(b"not a real sdist")
    (page / "index.html").write_text(
        '<html><body><a href="torch_scatter-2.1.2.tar.gz">torch_scatter-2.1.2.tar.gz</a></body></html>\n'
    )
    with FakeIndexServer(index) as server, StaticServer(tmp / "pypi") as pypi:
        yield tmp, server, f"{pypi.url}/simple"


def _env(tmp: Path, server: FakeIndexServer, pypi: str, **extra: str) -> dict[str, str]:
    return installer_env(
        TORCHPIN_CACHE_DIR=str(tmp / "cache"), TORCHPIN_PYPI_URL=pypi, TORCHPIN_PYG_URL=server.pyg_url, **extra
    )


def _lock(served: Served, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    tmp, server, pypi = served
    r = run_cli("lock", *args, *TARGET, "--index-url", server.base, "--no-fallback", env=_env(tmp, server, pypi))
    assert r.returncode == code, r.stderr
    return r


def _sha(server: FakeIndexServer, url: str) -> str:
    """The sha256 of the bytes the stand-in host serves at ``url``."""
    return hashlib.sha256(server.index.pyg_wheel(url.rsplit("/", 1)[1].replace("%2B", "+"))).hexdigest()


@pytest.mark.parametrize(
    ("backend", "torch", "page"),
    [("cu126", "2.12.1+cu126", "torch-2.12.0%2Bcu126"), ("cu128", "2.11.0+cu128", "torch-2.11.0%2Bcu128")],
)
def test_the_lock_takes_each_file_from_the_chosen_torchs_page(
    served: Served, backend: str, torch: str, page: str
) -> None:
    """cu128 has no 2.12 page (PyG's docs list cu126, cu130 and cu132 for 2.12): torch stays on 2.11."""
    _, server, _ = served
    lines = _lock(served, "torch", "torch-scatter", "pyg-lib", "--backend", backend).stdout.splitlines()
    assert f"torch=={torch}" in lines
    local = "pt" + torch.split("+")[0].rsplit(".", 1)[0].replace(".", "") + backend
    scatter = next(line for line in lines if line.startswith("torch-scatter @ "))
    url, _, digest = scatter.removeprefix("torch-scatter @ ").partition("#sha256=")
    assert url == f"{server.pyg_url}/{page}/torch_scatter-2.1.2%2B{local}-cp311-cp311-linux_x86_64.whl"
    assert digest == _sha(server, url)
    assert any(
        line.startswith(f"pyg-lib @ {server.pyg_url}/{page}/pyg_lib-0.8.0%2B{local}-cp310-abi3-") for line in lines
    )
    assert not any("torch-scatter" in line and "find-links" in line for line in lines)


def test_a_torch_whose_page_is_missing_moves_to_the_newest_with_one(served: Served) -> None:
    """torch 2.15 and 2.14 have no page yet (403), 2.13's has pyg-lib only: torch-scatter holds torch
    at 2.12, and the note says why; pyg-lib alone goes to 2.13."""
    text = _lock(served, "torch", "torch-scatter", "--backend", "cu130").stdout
    assert "torch==2.12.1+cu130" in text.splitlines()
    assert (
        "torch-scatter holds torch back: without it, torch would be 2.15.0 (cu130), where data.pyg.org has no"
        " torch-2.15.0+cu130 page (it answers 403); the newest torch with torch-scatter there for cu130 is 2.12"
    ) in text
    alone = _lock(served, "torch", "pyg-lib", "--backend", "cu130").stdout
    assert "torch==2.13.0+cu130" in alone.splitlines()


def test_a_pinned_torch_without_a_page_is_exit_3_naming_the_nearest(served: Served) -> None:
    r = _lock(served, "torch==2.15.0", "torch-scatter", "--backend", "cu130", code=3)
    assert "data.pyg.org has no torch-2.15.0+cu130 page (it answers 403)" in r.stderr
    assert "the newest torch with torch-scatter there for cu130 is 2.12 (torch-2.12.0+cu130.html)" in r.stderr


def test_offline_pins_by_version_with_the_page_as_find_links(served: Served) -> None:
    tmp, server, pypi = served
    r = run_cli(
        "lock", "torch", "torch-scatter", *TARGET, "--backend", "cu128", "--offline", env=_env(tmp, server, pypi)
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert f"--find-links {server.pyg_url}/torch-2.11.0+cu128.html" in lines
    assert "torch-scatter==2.1.2+pt211cu128" in lines


@pytest.mark.parametrize("tool", ["pip", "uv"])
@pytest.mark.parametrize("offline", [False, True])
def test_real_installers_take_the_pages_wheels(served: Served, tool: str, offline: bool) -> None:
    """The lock by URL and sha256 (or, offline, by version from the page) installs with pip and uv,
    from wheels only: PyPI's torch-scatter is an sdist and is never tried."""
    tmp, server, pypi = served
    extra = ("--offline",) if offline else ()
    env = _env(tmp, server, pypi)
    r = run_cli("lock", "torch", "torch-scatter", "pyg-lib", *TARGET, "--backend", "cu128", *extra, env=env)
    assert r.returncode == 0, r.stderr
    text = r.stdout.replace("https://download.pytorch.org/whl", server.base)
    lock = tmp / f"pyg-{tool}-{offline}.txt"
    lock.write_text(text)
    into = tmp / f"site-{tool}-{offline}"
    cache = {"UV_CACHE_DIR": str(tmp / "uv-cache"), "PIP_CACHE_DIR": str(tmp / "pip-cache")}
    done = install(tool, lock, into, installer_env(**cache), "--only-binary", ":all:")
    assert done.returncode == 0, done.stderr
    assert (into / "torch_scatter" / "__init__.py").read_text().startswith("__version__ = '2.1.2+pt211cu128'")
    assert (into / "pyg_lib").is_dir()


def test_a_uv_project_routes_pyg_to_its_page(served: Served) -> None:
    tmp, server, pypi = served
    find_uv()
    project = tmp / "graph"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "graph"\nversion = "0"\nrequires-python = ">=3.11"\n'
        f'dependencies = ["torch", "torch-scatter"]\n\n[tool.uv]\nindex-url = "{pypi}"\n'
    )
    env = _env(tmp, server, pypi, UV_CACHE_DIR=str(tmp / "uv-cache-project"))
    where = ("--backend", "cu128", "--index-url", server.base, "--no-fallback")
    for _ in range(2):  # a re-run replaces its own pins and entries
        r = run_cli("lock", *TARGET, *where, "--format", "pyproject", "--add", env=env, cwd=project)
        assert r.returncode == 0, r.stderr
    doc = tomllib.loads((project / "pyproject.toml").read_text())
    assert "torch-scatter==2.1.2+pt211cu128" in doc["project"]["dependencies"]
    [pyg] = [i for i in doc["tool"]["uv"]["index"] if i["name"] == "torchpin-pyg-2.11-cu128"]
    assert pyg == {
        "name": "torchpin-pyg-2.11-cu128",
        "url": f"{server.pyg_url}/torch-2.11.0+cu128.html",
        "format": "flat",
        "explicit": True,
    }
    assert doc["tool"]["uv"]["sources"]["torch-scatter"] == {"index": "torchpin-pyg-2.11-cu128"}
    block = package_block(uv_lock(project, env), "torch-scatter")
    # The page carries no hashes, so uv's lock has none for these files (uv reads none off a
    # find-links page); the local tag names the one build.
    assert 'version = "2.1.2+pt211cu128"' in block
    assert f'source = {{ registry = "{server.pyg_url}/torch-2.11.0+cu128.html" }}' in block


def test_pylock_and_multi_target_locks_carry_the_page_files(served: Served) -> None:
    tmp, server, pypi = served
    find_uv()
    doc = tomllib.loads(_lock(served, "torch", "torch-scatter", "--backend", "cu128", "--format", "pylock").stdout)
    wheel = only_file(doc, "torch-scatter")
    assert wheel["url"].startswith(f"{server.pyg_url}/torch-2.11.0%2Bcu128/torch_scatter-2.1.2%2Bpt211cu128-cp311")
    assert wheel["hashes"]["sha256"] == _sha(server, wheel["url"])
    env = _env(tmp, server, pypi)
    targets = ("--target", "linux-x86_64-cu128", "--target", "macos-arm64")
    r = run_cli(
        "lock", "torch", "torch-scatter", "--python-version", "3.11", *targets, "--index-url", server.base, env=env
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert any(
        line.startswith(f"torch-scatter @ {server.pyg_url}/torch-2.11.0%2Bcu128/")
        and line.endswith('; sys_platform == "linux" and platform_machine == "x86_64"')
        for line in lines
    )
    assert any(
        "/torch-2.12.0%2Bcpu/torch_scatter-2.1.2%2Bpt212cpu-cp311-cp311-macosx_11_0_arm64.whl#sha256=" in line
        and line.endswith('; sys_platform == "darwin" and platform_machine == "arm64"')
        for line in lines
    )
