"""flash-attn's release wheels (issue 28, item 2) against the stand-in GitHub host: the file of the
chosen torch's minor, CUDA major and C++ ABI, read (through GitHub's redirect to its asset host)
and hashed, installed by real pip and uv without a source build.

The stand-in (``tests.support.fake_index``, role "github") serves each release's build matrix, but
2.8.3.post1 only the files seen there; anything else answers 404, as GitHub does.
"""

from __future__ import annotations

import hashlib
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomllib

from tests.support.cli import installer_env
from tests.support.cli import run as run_cli
from tests.support.fake_index import ASSETS_PATH, FLASH_ATTN_RELEASES, FakeIndexServer, FakePytorchIndex
from tests.support.installers import install, package_block, uv_lock
from tests.support.installers import uv as find_uv
from tests.support.pep751 import only_file
from tests.support.static_server import StaticServer
from tests.support.wheelmaker import make_wheel

TARGET = ("--no-detect", "--python-version", "3.11", "--python-platform", "x86_64-manylinux_2_28")
Served = tuple[Path, FakeIndexServer, str]


def _simple(root: Path, project: str, *files: Path) -> None:
    page = root / "simple" / project
    page.mkdir(parents=True, exist_ok=True)
    links = "".join(f'<a href="{f.name}">{f.name}</a>\n' for f in files)
    (page / "index.html").write_text(f"<html><body>\n{links}</body></html>\n")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("flash-attn")
    pypi = tmp / "pypi"
    # PyPI has flash-attn as an sdist only: a lock that let an installer look there would build it.
    sdist = pypi / "simple" / "flash-attn" / "flash_attn-2.8.3.tar.gz"
    sdist.parent.mkdir(parents=True)
    sdist.write_bytes(b"not a real sdist")
    _simple(pypi, "flash-attn", sdist)
    _simple(pypi, "einops", make_wheel(pypi / "simple" / "einops", "einops", "0.8.1"))
    with FakeIndexServer(FakePytorchIndex()) as server, StaticServer(pypi) as static:
        yield tmp, server, f"{static.url}/simple"


def _env(served: Served, **extra: str) -> dict[str, str]:
    tmp, server, pypi = served
    given = {"TORCHPIN_CACHE_DIR": str(tmp / "cache"), "TORCHPIN_FLASH_ATTN_URL": server.flash_attn_url}
    return installer_env(TORCHPIN_PYPI_URL=pypi, **(given | extra))


def _lock(served: Served, *args: str, code: int = 0, **env: str) -> subprocess.CompletedProcess[str]:
    _, server, _ = served
    r = run_cli("lock", *args, *TARGET, "--index-url", server.base, env=_env(served, **env))
    assert r.returncode == code, r.stderr
    return r


def _line(text: str) -> tuple[str, str]:
    line = next(x for x in text.splitlines() if x.startswith("flash-attn @ "))
    url, _, digest = line.removeprefix("flash-attn @ ").partition("#sha256=")
    return url, digest


def _served_sha(server: FakeIndexServer, url: str) -> str:
    version, _, name = url.removeprefix(server.flash_attn_url + "/v").partition("/")
    body = server.index.flash_attn_asset(version, name.replace("%2B", "+"))
    assert body is not None
    return hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize(("backend", "abi"), [("cu126", "TRUE"), ("cu124", "FALSE")])
def test_torch_2_6_takes_the_file_of_its_abi_read_through_the_redirect(served: Served, backend: str, abi: str) -> None:
    _, server, _ = served
    r = _lock(served, "torch==2.6.0", "flash-attn", "--backend", backend, "--no-fallback")
    assert f"torch==2.6.0+{backend}" in r.stdout.splitlines()
    url, digest = _line(r.stdout)
    assert f"%2Bcu12torch2.6cxx11abi{abi}-cp311-cp311-linux_x86_64.whl" in url
    assert digest == _served_sha(server, url)
    assert server.cdn.hits[f"{ASSETS_PATH}/{url.removeprefix(server.flash_attn_url + '/')}".replace("%2B", "+")] >= 1


def test_a_file_the_release_lacks_moves_to_the_next_release(served: Served) -> None:
    """2.8.3.post1's cu12torch2.6 TRUE file was never seen: the live look finds it missing (404),
    and the lock takes 2.8.3's, saying why in --explain."""
    _, server, _ = served
    r = _lock(served, "torch==2.6.0", "flash-attn", "--backend", "cu126", "--explain")
    url, _ = _line(r.stdout)
    assert url == (
        f"{server.flash_attn_url}/v2.8.3/flash_attn-2.8.3%2Bcu12torch2.6cxx11abiTRUE-cp311-cp311-linux_x86_64.whl"
    )
    name = "flash_attn-2.8.3.post1+cu12torch2.6cxx11abiTRUE-cp311-cp311-linux_x86_64.whl"
    missing = f"{FLASH_ATTN_RELEASES}/v2.8.3.post1/{name}"
    assert server.github.hits[missing] >= 1
    assert "flash-attn 2.8.3.post1's release has no" in r.stderr and "(it answers 404)" in r.stderr


def test_no_file_for_the_combination_is_exit_3_naming_the_nearest(served: Served) -> None:
    r = _lock(served, "torch==2.9.0", "flash-attn", "--backend", "cu128", code=3)
    assert "flash-attn publishes no file for torch 2.9, CUDA 12, cxx11abiTRUE, CPython 3.11" in r.stderr
    assert "the newest torch with one for CUDA 12 and CPython 3.11 is 2.8 (flash-attn 2.8.3.post1)" in r.stderr


def test_offline_pins_the_recorded_file_by_url_and_says_it_has_no_hash(served: Served) -> None:
    r = _lock(served, "torch==2.6.0", "flash-attn", "--backend", "cu126", "--offline")
    url, digest = _line(r.stdout)
    assert url.endswith("/v2.8.3/flash_attn-2.8.3%2Bcu12torch2.6cxx11abiTRUE-cp311-cp311-linux_x86_64.whl")
    assert digest == ""
    assert "# note: flash-attn pinned by URL without a sha256: --offline reads no file" in r.stdout


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_host_falls_back_to_the_recorded_files_or_exit_4(served: Served) -> None:
    down = f"http://127.0.0.1:{_closed_port()}/Dao-AILab/flash-attention/releases/download"
    args = ("torch==2.6.0", "flash-attn", "--backend", "cu126")
    r = _lock(served, *args, TORCHPIN_FLASH_ATTN_URL=down)
    url, digest = _line(r.stdout)
    assert "/v2.8.3/" in url and digest == ""  # post1's unseen file no longer counts
    assert "flash-attn is pinned by URL only, from the recorded files" in r.stdout
    r = _lock(served, *args, "--no-fallback", code=4, TORCHPIN_FLASH_ATTN_URL=down)
    assert "could not read" in r.stderr


@pytest.mark.parametrize("tool", ["pip", "uv"])
def test_real_installers_take_the_release_file_without_building(served: Served, tool: str) -> None:
    """The lock's file by URL and sha256 installs with pip and uv from wheels only: PyPI's flash-attn
    is an sdist and is never tried; einops, which the wheel requires, comes from PyPI."""
    tmp = served[0]
    r = _lock(served, "torch", "flash-attn", "--backend", "cu128")
    lock = tmp / f"fa-{tool}.txt"
    lock.write_text(r.stdout)
    into = tmp / f"site-{tool}"
    cache = {"UV_CACHE_DIR": str(tmp / "uv-cache"), "PIP_CACHE_DIR": str(tmp / "pip-cache")}
    done = install(tool, lock, into, installer_env(**cache), "--only-binary", ":all:")
    assert done.returncode == 0, done.stderr
    version = (into / "flash_attn" / "__init__.py").read_text()
    assert version == "__version__ = '2.8.3.post1'\n__build__ = 'cu12torch2.8cxx11abiTRUE'\n"
    assert (into / "einops").is_dir() and (into / "torch").is_dir()


def test_a_uv_project_takes_it_by_url_and_uv_lock_hashes_it(served: Served) -> None:
    tmp, server, pypi = served
    find_uv()
    project = tmp / "attn"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "attn"\nversion = "0"\nrequires-python = ">=3.11"\n'
        f'dependencies = ["torch", "flash-attn"]\n\n[tool.uv]\nindex-url = "{pypi}"\n'
    )
    env = _env(served, UV_CACHE_DIR=str(tmp / "uv-cache-project"))
    where = ("--backend", "cu128", "--index-url", server.base, "--no-fallback")
    for _ in range(2):  # a re-run replaces its own pin and source
        r = run_cli("lock", *TARGET, *where, "--format", "pyproject", "--add", env=env, cwd=project)
        assert r.returncode == 0, r.stderr
    doc = tomllib.loads((project / "pyproject.toml").read_text())
    assert "flash-attn==2.8.3.post1+cu12torch2.8cxx11abiTRUE" in doc["project"]["dependencies"]
    url = doc["tool"]["uv"]["sources"]["flash-attn"]["url"]
    assert url.startswith(
        f"{server.flash_attn_url}/v2.8.3.post1/flash_attn-2.8.3.post1%2Bcu12torch2.8cxx11abiTRUE-cp311"
    )
    block = package_block(uv_lock(project, env), "flash-attn")
    assert f'hash = "sha256:{_served_sha(server, url)}"' in block


def test_pylock_and_multi_target_locks_carry_the_file(served: Served) -> None:
    _, server, _ = served
    find_uv()
    doc = tomllib.loads(_lock(served, "torch", "flash-attn", "--backend", "cu128", "--format", "pylock").stdout)
    wheel = only_file(doc, "flash-attn")
    assert wheel["url"].startswith(f"{server.flash_attn_url}/v2.8.3.post1/")
    assert wheel["hashes"]["sha256"] == _served_sha(server, wheel["url"])
    r = run_cli(
        "lock",
        "torch",
        'flash-attn; sys_platform == "linux"',
        "--python-version",
        "3.11",
        "--target",
        "linux-x86_64-cu128",
        "--target",
        "macos-arm64",
        "--index-url",
        server.base,
        env=_env(served),
    )
    assert r.returncode == 0, r.stderr
    [line] = [x for x in r.stdout.splitlines() if x.startswith("flash-attn @ ")]
    assert "/v2.8.3.post1/" in line and "#sha256=" in line
    assert line.endswith('; sys_platform == "linux" and platform_machine == "x86_64"')
