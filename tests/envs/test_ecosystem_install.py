"""xformers from the variant index under real pip and real uv, past PyPI's file of the same name
(issue 18, item 2).

The fake index serves xformers on each variant page its publisher uploads to, a different build on
each (``__build__`` in the package says which); the stand-in PyPI serves PyPI's own file of that
name and version, another CUDA build. A lock that let either tool take PyPI's file fails here.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import installer_env, pip_dry_run
from tests.support.cli import run as run_cli
from tests.support.fake_index import FakeIndexServer, FakePytorchIndex
from tests.support.installers import install, uv_lock
from tests.support.installers import uv as find_uv
from tests.support.local_index import write_simple_index
from tests.support.static_server import StaticServer

FILE = "xformers-0.0.35-py39-none-manylinux_2_28_x86_64.whl"
TARGET = ("--no-detect", "--python-version", "3.11", "--python-platform", "x86_64-manylinux_2_28")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, FakeIndexServer, str]]:
    tmp = tmp_path_factory.mktemp("ecosystem")
    index = FakePytorchIndex()
    decoy = tmp / "build" / FILE
    decoy.parent.mkdir()
    decoy.write_bytes(index.stand_in(FILE))  # PyPI's build: cu128, as the publisher uploaded it
    # What an installer takes from PyPI for torchrec's unpinned fbgemm-gpu: the newest, no table
    # pairs it with any torch.
    newest = decoy.parent / "fbgemm_gpu-1.9.0-cp311-cp311-manylinux_2_28_x86_64.whl"
    newest.write_bytes(index.stand_in(newest.name))
    # PyPI's flash-attn-3 is a 0.0.0 placeholder.
    placeholder = decoy.parent / "flash_attn_3-0.0.0-py3-none-any.whl"
    placeholder.write_bytes(index.stand_in(placeholder.name))
    write_simple_index(tmp / "pypi" / "simple", [decoy, newest, placeholder])
    with FakeIndexServer(index) as server, StaticServer(tmp / "pypi") as pypi:
        yield tmp, server, f"{pypi.url}/simple"


def _lock_with(tmp: Path, server: FakeIndexServer, pypi: str, *args: str) -> str:
    """``torchpin lock ARGS`` for the fixed target, against the fake index and the decoy PyPI."""
    env = installer_env(TORCHPIN_CACHE_DIR=str(tmp / "cache"), TORCHPIN_PYPI_URL=pypi)
    r = run_cli("lock", *args, *TARGET, "--index-url", server.base, "--no-fallback", env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout


def _lock(tmp: Path, server: FakeIndexServer, pypi: str, backend: str, *extra: str) -> str:
    return _lock_with(tmp, server, pypi, "torch", "xformers", "--backend", backend, *extra)


def _uv_locked(tmp: Path, server: FakeIndexServer, pypi: str, name: str, deps: str, backend: str) -> str:
    """A uv project depending on ``deps``, pinned by ``lock --format pyproject --add`` and then
    ``uv lock``: the uv.lock text."""
    find_uv()
    project = tmp / name
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0"\nrequires-python = ">=3.11"\n'
        f'dependencies = [{deps}]\n\n[tool.uv]\nindex-url = "{pypi}"\n'
    )
    env = installer_env(TORCHPIN_CACHE_DIR=str(tmp / "cache"), UV_CACHE_DIR=str(tmp / f"uv-cache-{name}"))
    where = ("--backend", backend, "--index-url", server.base, "--no-fallback")
    r = run_cli("lock", *TARGET, *where, "--format", "pyproject", "--add", env=env, cwd=project)
    assert r.returncode == 0, r.stderr
    return uv_lock(project, env)


@pytest.mark.parametrize("backend", ["cu126", "cu130"])
def test_the_lock_names_the_variant_file_and_its_hash(served: tuple[Path, FakeIndexServer, str], backend: str) -> None:
    tmp, server, pypi = served
    text = _lock(tmp, server, pypi, backend)
    sha = server.index.sha256(FILE, backend)
    assert f"xformers @ {server.base}/{backend}/{FILE}#sha256={sha}" in text.splitlines()
    assert sha != server.index.sha256(FILE)  # the page's build is not PyPI's


def _installed_build(folder: Path) -> str:
    init = (folder / "xformers" / "__init__.py").read_text()
    return init.split("__build__ = ")[1].split("\n")[0].strip("'")


@pytest.mark.parametrize("tool", ["pip", "uv"])
def test_real_installers_take_the_variant_file(served: tuple[Path, FakeIndexServer, str], tool: str) -> None:
    tmp, server, pypi = served
    lock = tmp / f"requirements-{tool}.txt"
    lock.write_text(_lock(tmp, server, pypi, "cu126"))
    into = tmp / f"site-{tool}"
    env = installer_env(UV_CACHE_DIR=str(tmp / "uv-cache"), PIP_CACHE_DIR=str(tmp / "pip-cache"))
    done = install(tool, lock, into, env)
    assert done.returncode == 0, done.stderr
    assert _installed_build(into) == "cu126"


@pytest.mark.parametrize("tool", ["pip", "uv"])
def test_a_wrong_hash_fragment_stops_the_installer(served: tuple[Path, FakeIndexServer, str], tool: str) -> None:
    """The fragment binds: both tools check it without hash-checking the rest of the file."""
    tmp, server, pypi = served
    text = _lock(tmp, server, pypi, "cu126").replace(server.index.sha256(FILE, "cu126"), "0" * 64)
    lock = tmp / f"tampered-{tool}.txt"
    lock.write_text(text)
    done = install(tool, lock, tmp / f"t-{tool}", installer_env(UV_CACHE_DIR=str(tmp / "uv-cache-2")))
    assert done.returncode != 0 and "hash" in done.stderr.lower(), done.stderr


def test_pylock_takes_xformers_from_the_variant_page(served: tuple[Path, FakeIndexServer, str]) -> None:
    import tomllib

    find_uv()
    tmp, server, pypi = served
    text = _lock(tmp, server, pypi, "cu130", "--format", "pylock")
    doc = tomllib.loads(text)
    xformers = next(p for p in doc["packages"] if p["name"] == "xformers")
    [wheel] = xformers["wheels"]
    assert wheel["url"] == f"{server.base}/cu130/{FILE}"
    assert wheel["hashes"]["sha256"] == server.index.sha256(FILE, "cu130")
    # uv installs a pylock (pip can't yet): the variant's build lands, not PyPI's.
    lock = tmp / "pylock.toml"
    lock.write_text(text)
    into = tmp / "site-pylock"
    done = install("uv", lock, into, installer_env(UV_CACHE_DIR=str(tmp / "uv-cache-pylock")))
    assert done.returncode == 0, done.stderr
    assert _installed_build(into) == "cu130"


def test_full_pins_the_variant_file_by_hash(served: tuple[Path, FakeIndexServer, str]) -> None:
    find_uv()
    tmp, server, pypi = served
    (tmp / "other.in").write_text("\n")
    text = _lock(tmp, server, pypi, "cu130", "--full", "-r", str(tmp / "other.in"))
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("xformers"))
    assert lines[at].startswith(f"xformers @ {server.base}/cu130/{FILE}")
    assert f"--hash=sha256:{server.index.sha256(FILE, 'cu130')}" in lines[at + 1]
    lock = tmp / "full.txt"
    lock.write_text(text.replace("https://pypi.org/simple", pypi))
    into = tmp / "site-full"
    argv = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--require-hashes",
        "--target",
        str(into),
        "-r",
        str(lock),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, env=installer_env(), timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert _installed_build(into) == "cu130"


def test_a_uv_project_routes_xformers_with_the_torch_family(served: tuple[Path, FakeIndexServer, str]) -> None:
    tmp, server, pypi = served
    lock = _uv_locked(tmp, server, pypi, "demo", '"torch", "xformers"', "cu126")
    block = lock[lock.index('[[package]]\nname = "xformers"\n') :].split("\n\n")[0]
    assert f'registry = "{server.base}/cu126"' in block
    assert server.index.sha256(FILE, "cu126") in block and server.index.sha256(FILE) not in block


def test_torchao_is_its_variant_build_and_holds_torch_back_where_it_has_none(
    served: tuple[Path, FakeIndexServer, str],
) -> None:
    """torchao 0.18.0 was built for torch 2.11's variants (no cu132): on a driver that runs cu132,
    torch stays on cu130 beside it, and the lock says so. Its wheels declare no torch, so no
    sidecar of it is read."""
    tmp, server, pypi = served
    text = _lock_with(tmp, server, pypi, "torch", "torchao", "--driver", "580.65", "--gpu-cc", "8.6")
    lines = text.splitlines()
    assert "torchao==0.18.0+cu130" in lines and any(line.startswith("torch==2.14.1+cu130") for line in lines)
    assert any("torchao holds torch back: without it, torch would be 2.15.0 (cu132)" in line for line in lines)
    assert any("torchao 0.18.0 pairs with torch 2.14.1 by torchao's compatibility table" in line for line in lines)
    assert not [path for path in server.hits() if "torchao" in path and path.endswith(".metadata")]


def test_torchrec_brings_its_paired_fbgemm_gpu_past_pypis_newest(served: tuple[Path, FakeIndexServer, str]) -> None:
    """torchrec requires fbgemm-gpu unpinned: the lock pins the FBGEMM release its table pairs with
    the chosen torch, and real pip and uv take it, not PyPI's 1.9.0."""
    tmp, server, pypi = served
    text = _lock_with(tmp, server, pypi, "torch", "torchrec", "--backend", "cu130")
    lines = text.splitlines()
    assert {"fbgemm-gpu==1.6.0+cu130", "torchrec==1.6.1+cu130", "torch==2.11.0+cu130"} <= set(lines)
    lock = tmp / "torchrec.txt"
    lock.write_text(text)
    env = installer_env(UV_CACHE_DIR=str(tmp / "uv-cache-rec"))
    chosen = {name.replace("_", "-"): v for name, v in pip_dry_run(tmp, "-r", str(lock), env=env).items()}
    assert chosen["fbgemm-gpu"] == "1.6.0+cu130" and chosen["torchrec"] == "1.6.1+cu130"
    done = install("uv", lock, tmp / "rec", env, "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "fbgemm-gpu==1.6.0+cu130" in done.stderr and "1.9.0" not in done.stderr


@pytest.mark.parametrize(
    ("backend", "torch", "triton"),
    [("rocm7.1", "2.13.0", "triton-rocm==3.7.1"), ("rocm6.4", "2.9.1", "pytorch-triton-rocm==3.5.1")],
)
def test_a_rocm_torch_gets_the_triton_build_it_requires(
    served: tuple[Path, FakeIndexServer, str], backend: str, torch: str, triton: str
) -> None:
    """A ROCm torch requires its own triton build, on its variant page only (PyPI has none of that
    name and version), renamed at torch 2.10: the lock routes the right name, and pip and uv take it."""
    tmp, server, pypi = served
    text = _lock_with(tmp, server, pypi, f"torch=={torch}", "--backend", backend)
    name = triton.split("==")[0]
    assert f"--find-links {server.base}/{backend}/{name}/" in text.splitlines()
    lock = tmp / f"rocm-{backend}.txt"
    lock.write_text(text)
    env = installer_env(UV_CACHE_DIR=str(tmp / f"uv-cache-{backend}"))
    chosen = {n.replace("_", "-"): v for n, v in pip_dry_run(tmp, "-r", str(lock), env=env).items()}
    assert chosen[name] == triton.split("==")[1] and chosen["torch"] == f"{torch}+{backend}"
    done = install("uv", lock, tmp / "r", env, "--dry-run")
    assert done.returncode == 0 and f" + {triton}" in done.stderr, done.stderr
    named = _lock_with(tmp, server, pypi, f"torch=={torch}", name, "--backend", backend)
    assert triton in named.splitlines() and f"--find-links {server.base}/{backend}/{name}/" in named.splitlines()


def test_every_format_takes_the_table_paired_packages_from_the_variant(
    served: tuple[Path, FakeIndexServer, str],
) -> None:
    """pylock names each variant file with the page's hash; a uv project routes them (and the
    fbgemm-gpu torchrec brings) with the torch family, and ``uv lock`` accepts it."""
    import tomllib

    tmp, server, pypi = served
    args = ("torch", "torchao", "torchrec", "--backend", "cu130")
    doc = tomllib.loads(_lock_with(tmp, server, pypi, *args, "--format", "pylock"))
    for name in ("torchao", "fbgemm-gpu", "torchrec"):
        package = next(p for p in doc["packages"] if p["name"] == name)
        assert package["version"].endswith("+cu130") and package["wheels"]
        for wheel in package["wheels"]:
            filename = wheel["url"].rsplit("/", 1)[1].replace("%2B", "+")
            assert wheel["url"].startswith(f"{server.base}/cu130/")
            assert wheel["hashes"]["sha256"] == server.index.sha256(filename, "cu130")
    lock = _uv_locked(tmp, server, pypi, "table-paired", '"torch", "torchao", "torchrec"', "cu130")
    for name, version in (("torchao", "0.18.0+cu130"), ("fbgemm-gpu", "1.6.0+cu130"), ("torchrec", "1.6.1+cu130")):
        block = lock[lock.index(f'[[package]]\nname = "{name}"\n') :].split("\n\n")[0]
        assert f'version = "{version}"' in block and f'registry = "{server.base}/cu130"' in block


def test_a_multi_target_lock_carries_torchao_per_target(served: tuple[Path, FakeIndexServer, str]) -> None:
    """Linux takes the cu130 build from its page; macOS takes PyPI's (its CPU build) beside PyPI's torch."""
    tmp, server, pypi = served
    env = installer_env(TORCHPIN_CACHE_DIR=str(tmp / "cache"), TORCHPIN_PYPI_URL=pypi)
    targets = ("--target", "linux-x86_64-cu130", "--target", "macos-arm64")
    r = run_cli("lock", "torch", "torchao", "--python-version", "3.11", *targets, "--index-url", server.base, env=env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert f"--find-links {server.base}/cu130/torchao/" in lines
    assert 'torchao==0.18.0+cu130 ; sys_platform == "linux" and platform_machine == "x86_64"' in lines
    assert 'torchao==0.18.0 ; sys_platform == "darwin" and platform_machine == "arm64"' in lines


def test_flash_attn_3_installs_from_its_variant_page(served: tuple[Path, FakeIndexServer, str]) -> None:
    tmp, server, pypi = served
    text = _lock_with(tmp, server, pypi, "torch", "flash-attn-3", "--backend", "cu128")
    lines = text.splitlines()
    assert "flash-attn-3==3.0.0" in lines and f"--find-links {server.base}/cu128/flash-attn-3/" in lines
    lock = tmp / "fa3.txt"
    lock.write_text(text)
    chosen = {n.replace("_", "-"): v for n, v in pip_dry_run(tmp, "-r", str(lock), env=installer_env()).items()}
    assert chosen["flash-attn-3"] == "3.0.0" and chosen["torch"].endswith("+cu128")
