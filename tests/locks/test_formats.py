"""Lock formats other than the requirements file, accepted by the real clients against the fake index."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import target
from tests.support.cli import installer_env, pip_dry_run
from tests.support.cli import run as run_cli
from tests.support.fake_index import FakeIndexServer
from tests.support.local_index import write_simple_index
from tests.support.newest import TORCH as NEWEST
from tests.support.static_server import StaticServer
from tests.support.wheelmaker import make_wheel
from torchpin.facts.catalog import Catalog

TAG = "cp311-cp311-manylinux_2_28_x86_64"
PINS = {"torch": "2.14.1", "torchvision": "0.29.1"}


@pytest.fixture(scope="module")
def constraints(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, str, Path]]:
    """A constraints lock from the fake index, a PyPI stand-in with a decoy untagged torch."""
    tmp = tmp_path_factory.mktemp("constraints")
    decoy = make_wheel(tmp / "build", "torch", "2.14.1", TAG)
    write_simple_index(tmp / "pypi" / "simple", [decoy])
    with FakeIndexServer() as index, StaticServer(tmp / "pypi") as pypi:
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "torchpin",
                "lock",
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
                "--format",
                "constraints",
                *(f"{p}=={v}" for p, v in PINS.items()),
            ],
            capture_output=True,
            text=True,
            check=False,
            env=installer_env(TORCHPIN_CACHE_DIR=str(tmp / "cache")),
            timeout=120,
        )
        assert r.returncode == 0, r.stderr
        assert not any(line.startswith("--") for line in r.stdout.splitlines())  # pins only
        path = tmp / "constraints.txt"
        path.write_text(r.stdout)
        yield path, f"{pypi.url}/simple", f"{index.base}/cpu", tmp


def test_pip_honours_the_constraints(constraints: tuple[Path, str, str, Path]) -> None:
    path, pypi, variant_index, tmp = constraints
    chosen = pip_dry_run(
        tmp,
        *("--index-url", pypi, "--extra-index-url", variant_index, "-c", str(path), "torch", "torchvision"),
    )
    assert chosen == {p: f"{v}+cpu" for p, v in PINS.items()}  # not PyPI's untagged decoy


def test_uv_honours_the_constraints(constraints: tuple[Path, str, str, Path]) -> None:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed (scripts/test installs it with the dev extra)")
    path, pypi, variant_index, tmp = constraints
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    r = subprocess.run(
        [
            uv,
            "pip",
            "install",
            "--dry-run",
            "--python",
            str(venv / "bin" / "python"),
            "--index-url",
            pypi,
            "--extra-index-url",
            variant_index,
            "--constraint",
            str(path),
            "torch",
            "torchvision",
        ],
        capture_output=True,
        text=True,
        env=installer_env(UV_CACHE_DIR=str(tmp / "uv-cache")),
        timeout=300,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    for project, version in PINS.items():
        assert f"+ {project}=={version}+cpu" in r.stderr


def test_full_lock_installs_with_require_hashes(tmp_path: Path) -> None:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed (scripts/test installs it with the dev extra)")
    from tests.support.fake_index import FakePytorchIndex, Knobs

    deps = [
        make_wheel(tmp_path / "build", "filelock", "3.16.1", "py3-none-any"),
        make_wheel(tmp_path / "build", "numpy", "2.1.0", "py3-none-any"),
        make_wheel(tmp_path / "build", "torch", "2.14.1", TAG),  # the last one: a decoy
    ]
    write_simple_index(tmp_path / "pypi" / "simple", deps)
    (tmp_path / "requirements.in").write_text("numpy>=2  # from PyPI\ntorch\n")
    env = installer_env(TORCHPIN_CACHE_DIR=str(tmp_path / "cache"), UV_CACHE_DIR=str(tmp_path / "uv-cache"))
    with (
        FakeIndexServer(FakePytorchIndex(knobs=Knobs(torch_requires=("filelock",)))) as index,
        StaticServer(tmp_path / "pypi") as pypi,
    ):
        env["TORCHPIN_PYPI_URL"] = f"{pypi.url}/simple"
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "torchpin",
                "lock",
                "--full",
                "-r",
                str(tmp_path / "requirements.in"),
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
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
        assert r.returncode == 0, r.stderr
        lock = tmp_path / "full.txt"
        lock.write_text(r.stdout)
        pins = {
            line.split("==")[0]: line.split("==")[1].split()[0]
            for line in r.stdout.splitlines()
            if "==" in line and not line.startswith("#")
        }
        assert pins == {"filelock": "3.16.1", "numpy": "2.1.0", "torch": f"{NEWEST}+cpu"}
        assert r.stdout.count("--hash=sha256:") >= 3
        chosen = pip_dry_run(tmp_path, "--require-hashes", "-r", str(lock))
    assert chosen == pins


def test_install_from_a_requirements_lock(tmp_path: Path) -> None:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed (scripts/test installs it with the dev extra)")
    decoy = make_wheel(tmp_path / "build", "torch", "2.14.1", TAG)
    write_simple_index(tmp_path / "pypi" / "simple", [decoy])
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    env = installer_env(TORCHPIN_CACHE_DIR=str(tmp_path / "cache"), UV_CACHE_DIR=str(tmp_path / "uv-cache"))
    with FakeIndexServer() as index, StaticServer(tmp_path / "pypi") as pypi:
        env["TORCHPIN_PYPI_URL"] = f"{pypi.url}/simple"
        made = subprocess.run(
            [
                sys.executable,
                "-m",
                "torchpin",
                "lock",
                "torch==2.14.1",
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
                "-o",
                str(tmp_path / "lock.txt"),
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        assert made.returncode == 0, made.stderr
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "torchpin",
                "install",
                "--lock",
                str(tmp_path / "lock.txt"),
                "--python",
                str(venv / "bin" / "python"),
                "--installer",
                "uv",
                "--no-verify",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
        wrong = run_cli("install", "--lock", str(tmp_path / "lock.txt"), "torch", env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    listed = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import importlib.metadata as m; print(m.version('torch'))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert listed.stdout.strip() == "2.14.1+cpu"  # the lock's build, not PyPI's decoy
    assert wrong.returncode == 2 and "give no REQ" in wrong.stderr


def test_full_for_a_mac_tells_uv_the_macos_the_chosen_wheels_need(tmp_path: Path, catalog: Catalog) -> None:
    """uv assumes an older macOS than torch's macosx_14_0 wheels unless told (issue 16, item 7)."""
    from torchpin.decide.select import select
    from torchpin.envs.uv import compile_lock
    from torchpin.models import Requirement, Sources
    from torchpin.net import NetPolicy

    wheel = make_wheel(tmp_path / "w", "torch", NEWEST, "cp312-cp312-macosx_14_0_arm64")
    write_simple_index(tmp_path / "pypi" / "simple", [wheel])
    with StaticServer(tmp_path / "pypi") as pypi:
        plan = select(
            target("3.12", "macos", "aarch64"),
            catalog,
            [Requirement("torch")],
            Sources(pypi=f"{pypi.url}/simple"),
        )
        resolved = compile_lock(plan, [], NetPolicy(environ=installer_env(UV_CACHE_DIR=str(tmp_path / "uvc"))))
    assert f"torch=={NEWEST}" in resolved and "--hash=sha256:" in resolved


@pytest.mark.parametrize("fmt", ["full", "pylock"])
def test_only_the_torch_family_comes_from_the_variant_index(tmp_path: Path, fmt: str) -> None:
    """The variant pages carry stale copies of torch's dependencies and answer 403 for what they
    lack: uv must take everything but the torch family from PyPI (issue 16, item 4)."""
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed (scripts/test installs it with the dev extra)")
    from tests.support.fake_index import DEPENDENCY_COPIES, FakePytorchIndex, Knobs

    assert max(DEPENDENCY_COPIES["filelock"]) < "3.17" and "numpy" in DEPENDENCY_COPIES
    deps = [
        make_wheel(tmp_path / "build", "filelock", "3.20.0", "py3-none-any"),
        make_wheel(tmp_path / "build", "numpy", "2.3.0", "py3-none-any"),
        make_wheel(tmp_path / "build", "jinja2", "3.1.6", "py3-none-any"),  # newer than the variant page's copy
        make_wheel(tmp_path / "build", "typing_extensions", "4.15.0", "py3-none-any"),
        make_wheel(tmp_path / "build", "torch", NEWEST, TAG),  # PyPI's own torch: a decoy
    ]
    write_simple_index(tmp_path / "pypi" / "simple", deps)
    (tmp_path / "requirements.in").write_text("filelock>=3.17\nnumpy\ntorch\n")
    env = installer_env(TORCHPIN_CACHE_DIR=str(tmp_path / "cache"), UV_CACHE_DIR=str(tmp_path / "uv-cache"))
    knobs = Knobs(torch_requires=("filelock", "jinja2", "typing-extensions"))
    with FakeIndexServer(FakePytorchIndex(knobs=knobs)) as index, StaticServer(tmp_path / "pypi") as pypi:
        pypi_url = f"{pypi.url}/simple"
        env["TORCHPIN_PYPI_URL"] = pypi_url
        r = run_cli(
            "lock",
            *(["--full"] if fmt == "full" else ["--format", "pylock"]),
            "-r",
            str(tmp_path / "requirements.in"),
            *("--no-detect", "--backend", "cu130", "--python-version", "3.11"),
            *("--python-platform", "x86_64-manylinux_2_28", "--index-url", index.base, "--no-fallback"),
            env=env,
            timeout=300,
        )
        assert r.returncode == 0, r.stderr
        if fmt == "pylock":
            import tomllib

            packages = {p["name"]: p for p in tomllib.loads(r.stdout)["packages"]}
            versions = {name: p["version"] for name, p in packages.items()}
            assert versions == {
                "filelock": "3.20.0",
                "jinja2": "3.1.6",
                "numpy": "2.3.0",
                "torch": f"{NEWEST}+cu130",
                "typing-extensions": "4.15.0",
            }
            for name, p in packages.items():
                urls = [w["url"] for w in p.get("wheels", [])]
                assert urls and all(u.startswith(pypi_url) != name.startswith("torch") for u in urls), (name, urls)
            return
        lines = r.stdout.splitlines()
        assert f"--index-url {pypi_url}" in lines and f"--find-links {index.base}/cu130/torch/" in lines
        assert not any(line.startswith("--extra-index-url") for line in lines)
        lock = tmp_path / "full.txt"
        lock.write_text(r.stdout)
        chosen = pip_dry_run(tmp_path, "--require-hashes", "-r", str(lock))
    assert chosen == {
        "filelock": "3.20.0",
        "jinja2": "3.1.6",
        "numpy": "2.3.0",
        "torch": f"{NEWEST}+cu130",
        "typing_extensions": "4.15.0",
    }


@pytest.mark.parametrize("fmt", ["full", "pylock"])
def test_a_users_hash_binds_the_full_lock(tmp_path: Path, fmt: str) -> None:
    """uv reads no --hash from its input: torchpin keeps the user's, or refuses (issue 16, item 15)."""
    import hashlib

    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed (scripts/test installs it with the dev extra)")
    numpy = make_wheel(tmp_path / "build", "numpy", "2.1.0", "py3-none-any")
    good = hashlib.sha256(numpy.read_bytes()).hexdigest()
    write_simple_index(tmp_path / "pypi" / "simple", [numpy])
    env = installer_env(TORCHPIN_CACHE_DIR=str(tmp_path / "cache"), UV_CACHE_DIR=str(tmp_path / "uv-cache"))
    args = ["--full"] if fmt == "full" else ["--format", "pylock"]
    with FakeIndexServer() as index, StaticServer(tmp_path / "pypi") as pypi:
        env["TORCHPIN_PYPI_URL"] = f"{pypi.url}/simple"
        results = {}
        for sha in (good, "0" * 64):
            (tmp_path / "requirements.in").write_text(f"numpy==2.1.0 \\\n    --hash=sha256:{sha}\ntorch\n")
            results[sha] = run_cli(
                "lock",
                *args,
                *("-r", str(tmp_path / "requirements.in"), "--no-detect", "--backend", "cpu"),
                *("--python-version", "3.11", "--python-platform", "x86_64-manylinux_2_28"),
                *("--index-url", index.base, "--no-fallback"),
                env=env,
                timeout=300,
            )
    ok, bad = results[good], results["0" * 64]
    assert ok.returncode == 0 and good in ok.stdout, ok.stderr
    assert bad.returncode == 2 and bad.stdout == "", bad.stderr
    assert "uv resolved numpy 2.1.0, and none of its files has a sha256 your --hash values allow" in bad.stderr
