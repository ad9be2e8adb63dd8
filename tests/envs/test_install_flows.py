"""`torchpin install` end to end with real pip: the whole `lock --full` → `install --lock` →
`verify --lock` workflow, and failures midway (made-up wheels from the fake index; no PyPI
needed for those). Tests that share one real torch install are in test_install.py."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.envs.test_install import env, pypi_reachable, torchpin, venv
from tests.support.fake_index import REAL_TORCH, FakeIndexServer, FakePytorchIndex, Knobs
from tests.support.local_index import write_simple_index
from tests.support.newest import AUDIO, VISION
from tests.support.newest import TORCH as NEWEST
from tests.support.static_server import StaticServer
from tests.support.venvs import new_venv
from torchpin.locks.read import read_lock

pytestmark = pytest.mark.slow  # real pip and uv installs into fresh venvs


def test_full_lock_then_install_lock_then_verify_lock(tmp_path: Path) -> None:
    """The workflow end to end with real clients: `lock --full` (uv, the real torch's real
    dependencies from PyPI), `install --lock` (pip in hash-checking mode), `verify --lock`."""
    if not REAL_TORCH.exists():
        pytest.skip(f"the real CPU torch wheel is not on this machine ({REAL_TORCH})")
    if not pypi_reachable():
        pytest.skip("PyPI is unreachable: the real torch's dependencies (filelock, sympy, ...) come from it")
    environ = env(TORCHPIN_CACHE_DIR=str(tmp_path / "cache"), UV_CACHE_DIR=str(tmp_path / "uvc"))
    (tmp_path / "requirements.in").write_text("torch==2.13.0\n")
    full = tmp_path / "requirements.txt"
    with FakeIndexServer() as index:
        made = torchpin(
            *("lock", "--full", "-r", str(tmp_path / "requirements.in"), "--backend", "cpu", "--no-detect"),
            *("--python-version", "3.11", "--python-platform", "x86_64-manylinux_2_28"),
            *("--index-url", index.base, "--no-fallback", "-o", str(full)),
            environ=environ,
        )
        assert made.returncode == 0, made.stderr
        text = full.read_text()
        assert f"--find-links {index.base}/cpu/torch/" in text and "--extra-index-url" not in text
        assert "filelock==" in text and "sympy==" in text  # torch's own dependencies, from PyPI
        python = venv(tmp_path / "venv")
        done = torchpin("install", "--lock", str(full), "--python", str(python), "--installer", "pip", environ=environ)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "(requirements) with pip" in done.stderr, done.stderr[:400]
        r = torchpin("verify", "--python", str(python), "--lock", str(full), "--json", environ=environ)
        assert r.returncode == 0, r.stdout + r.stderr
        assert {c["id"]: c["status"] for c in json.loads(r.stdout)["checks"]}["installed-set"] == "pass"


# ---- failures midway (made-up wheels from the fake index; no PyPI needed)


@pytest.fixture
def empty_pypi(tmp_path: Path) -> Iterator[str]:
    write_simple_index(tmp_path / "pypi" / "simple", [])
    with StaticServer(tmp_path / "pypi") as srv:
        yield f"{srv.url}/simple"


def install_torch_2_14_1(
    tmp_path: Path, pypi: str, knobs: Knobs
) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    """`torchpin install torch==2.14.1` (cpu, pip) into a fresh venv from a fake index with ``knobs``."""
    with FakeIndexServer(FakePytorchIndex(knobs=knobs)) as srv:
        python = venv(tmp_path / "venv")
        lock = tmp_path / "lock.txt"
        r = torchpin(
            "install",
            "--backend",
            "cpu",
            "torch==2.14.1",
            "--python",
            str(python),
            "--installer",
            "pip",
            "--index-url",
            srv.base,
            "--no-fallback",
            "-o",
            str(lock),
            environ=env(TORCHPIN_CACHE_DIR=str(tmp_path / "c"), TORCHPIN_PYPI_URL=pypi),
        )
    return r, python, lock


def test_bad_hash_installs_nothing_and_keeps_the_lock(tmp_path: Path, empty_pypi: str) -> None:
    bad = "torch-2.14.1+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"
    r, python, lock = install_torch_2_14_1(tmp_path, empty_pypi, Knobs(corrupt={bad}))
    assert r.returncode == 5, r.stderr
    assert f"sha256 mismatch for {bad}" in r.stderr and "nothing was installed" in r.stderr
    assert read_lock(lock.read_text()).pins == {"torch": "2.14.1+cpu"}  # the lock is whole
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json"], capture_output=True, text=True, check=True
    )
    assert "torch" not in {p["name"] for p in json.loads(listed.stdout)}


def test_unresolvable_dependency_reports_the_state(tmp_path: Path, empty_pypi: str) -> None:
    knobs = Knobs(torch_requires=("torchpin-no-such-dependency==1.0",))
    r, _, lock = install_torch_2_14_1(tmp_path, empty_pypi, knobs)
    assert r.returncode == 5, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert "pip failed (exit 1); now installed: no torch-family package; nothing changed" in last
    assert f"the lock {lock} is intact" in last and f"then: pip install -r {lock}" in last
    assert read_lock(lock.read_text()).pins == {"torch": "2.14.1+cpu"}


def test_dry_run_changes_nothing(tmp_path: Path, empty_pypi: str) -> None:
    with FakeIndexServer(FakePytorchIndex()) as srv:
        python = venv(tmp_path / "venv")
        lock = tmp_path / "lock.txt"
        r = torchpin(
            "install",
            "--dry-run",
            "--backend",
            "cpu",
            "--python",
            str(python),
            "--installer",
            "pip",
            "--index-url",
            srv.base,
            "-o",
            str(lock),
            environ=env(TORCHPIN_CACHE_DIR=str(tmp_path / "c"), TORCHPIN_PYPI_URL=empty_pypi),
        )
    assert r.returncode == 0, r.stderr
    assert f"would run: {python} -m pip install --disable-pip-version-check --index-url {empty_pypi}" in r.stderr
    assert f"torch=={NEWEST}+cpu torchvision=={VISION}+cpu torchaudio=={AUDIO}+cpu" in r.stderr
    assert not lock.exists() and r.stdout == ""


def test_a_mixed_family_is_replaced(tmp_path: Path, empty_pypi: str) -> None:
    # A cu126 torchaudio sits in the venv; locking torch alone on cpu must not leave it beside torch.
    index = FakePytorchIndex()
    stale = tmp_path / "torchaudio-2.11.0+cu126-cp311-cp311-manylinux_2_28_x86_64.whl"
    stale.write_bytes(index.wheel(stale.name))
    python = venv(tmp_path / "venv")
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", str(stale)], check=True, env=env(), timeout=300
    )
    with FakeIndexServer(index) as srv:
        r = torchpin(
            "install",
            "--backend",
            "cpu",
            "torch",
            "--python",
            str(python),
            "--installer",
            "pip",
            "--no-verify",
            "--index-url",
            srv.base,
            "-o",
            str(tmp_path / "lock.txt"),
            environ=env(TORCHPIN_CACHE_DIR=str(tmp_path / "c"), TORCHPIN_PYPI_URL=empty_pypi),
        )
    assert r.returncode == 0, r.stderr
    assert "removing torchaudio: other builds than cpu would be left mixed" in r.stderr
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json"], capture_output=True, text=True, check=True
    )
    names = {p["name"]: p["version"] for p in json.loads(listed.stdout)}
    assert names.get("torch") == f"{NEWEST}+cpu" and "torchaudio" not in names


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_install_r_installs_the_whole_file(tmp_path: Path, installer: str) -> None:
    """`install -r requirements.txt`: the torch family pinned to the right build, every other line
    installed too, from PyPI (issue 26, item 8)."""
    from tests.support.wheelmaker import make_wheel

    extra = make_wheel(tmp_path / "w", "tinydep", "1.2.0", "py3-none-any")
    write_simple_index(tmp_path / "pypi" / "simple", [extra])
    (tmp_path / "requirements.txt").write_text("torch\ntinydep>=1.0 ; python_version >= '3.8'\n")
    python = new_venv(tmp_path / "venv", pip=installer == "pip")
    environ = env(TORCHPIN_CACHE_DIR=str(tmp_path / "c"), UV_CACHE_DIR=str(tmp_path / "uvc"))
    with FakeIndexServer() as srv, StaticServer(tmp_path / "pypi") as pypi:
        environ["TORCHPIN_PYPI_URL"] = f"{pypi.url}/simple"
        r = torchpin(
            *("install", "-r", str(tmp_path / "requirements.txt"), "--backend", "cpu", "--no-verify"),
            *("--installer", installer, "--python", str(python), "--index-url", srv.base, "--no-fallback"),
            *("-o", str(tmp_path / "lock.txt")),
            environ=environ,
        )
    assert r.returncode == 0, r.stderr[-2000:]
    assert "also installing from PyPI, outside the lock: tinydep>=1.0" in r.stderr
    code = "import importlib.metadata as m, json; print(json.dumps({d.metadata['Name']: d.version"
    code += " for d in m.distributions()}))"
    listed = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    names = json.loads(listed.stdout)
    assert names.get("torch") == f"{NEWEST}+cpu" and names.get("tinydep") == "1.2.0", names
