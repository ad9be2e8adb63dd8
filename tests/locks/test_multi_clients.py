"""Multi-target and pylock locks read by the real clients (pip, uv) against the fake index, and
`install --lock` taking every format torchpin writes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote

import pytest
from packaging.utils import parse_wheel_filename
from packaging.version import Version

from tests.support import pep751
from tests.support.cli import installer_env, pip_dry_run
from tests.support.cli import run as run_cli
from tests.support.fake_index import FakeIndexServer
from tests.support.local_index import write_simple_index
from tests.support.static_server import StaticServer
from tests.support.wheelmaker import make_wheel
from torchpin.cli.snapshot import snapshot_bytes
from torchpin.decide.targets import marker_environment
from torchpin.locks.read import read_lock
from torchpin.models import PlatformTarget, PythonTarget, Target

UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
pytestmark = [
    pytest.mark.slow,  # real uv and pip resolutions
    pytest.mark.skipif(UV is None, reason="uv is not installed (scripts/test installs it with the dev extra)"),
]

# spec, the same machine as single-lock options, uv's --python-platform, marker values
LINUX = (
    "linux-x86_64-cu126:driver=550.54.15,gpu-cc=8.6",
    ["--python-platform", "linux", "--backend", "cu126", "--driver", "550.54.15", "--gpu-cc", "8.6"],
    "x86_64-manylinux_2_28",
    PlatformTarget("linux", "x86_64"),
)
WINDOWS = (
    "windows-cu126:driver=560.94,gpu-cc=8.9",
    ["--python-platform", "windows", "--backend", "cu126", "--driver", "560.94", "--gpu-cc", "8.9"],
    "x86_64-pc-windows-msvc",
    PlatformTarget("windows", "x86_64"),
)
ARM = (
    "linux-aarch64-cpu",
    ["--python-platform", "aarch64-manylinux_2_28", "--backend", "cpu"],
    "aarch64-manylinux_2_28",
    PlatformTarget("linux", "aarch64"),
)
LINUX_CPU = (
    "linux-cpu",
    ["--python-platform", "linux", "--backend", "cpu"],
    "x86_64-manylinux_2_28",
    PlatformTarget("linux", "x86_64"),
)


MAC = (
    "macos-arm64:macos-version=15.0",
    ["--python-platform", "aarch64-apple-darwin", "--macos-version", "15.0"],
    "aarch64-apple-darwin",
    PlatformTarget("macos", "aarch64"),
)


def env_of(platform: PlatformTarget) -> dict[str, str]:
    return marker_environment(Target(PythonTarget(3, 11), platform))


class Lab(NamedTuple):
    tmp: Path
    index_base: str
    pypi: str
    env: dict[str, str]

    def torchpin(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        argv = list(args)
        if args[0] == "lock":
            argv += ["--index-url", self.index_base, "--no-fallback", "--python-version", "3.11"]
        return run_cli(*argv, env=self.env, timeout=300, cwd=cwd)

    def single(self, argv: list[str], *reqs: str) -> dict[str, str]:
        r = self.torchpin("lock", *reqs, "--no-detect", *argv, "--format", "json")
        assert r.returncode == 0, r.stderr
        return {p["name"]: p["version"] for p in json.loads(r.stdout)["packages"]}

    def uv_dry_run(self, platform: str, *args: str) -> dict[str, str]:
        r = subprocess.run(
            [
                str(UV),
                "pip",
                "install",
                "--dry-run",
                "--python",
                sys.executable,
                "--python-platform",
                platform,
                "--target",
                str(self.tmp / "unused"),
                "--index-url",
                self.pypi,
                *args,
            ],
            capture_output=True,
            text=True,
            # uv assumes an old macOS unless told; the lab's Mac runs macOS 15.
            env={**self.env, **({"MACOSX_DEPLOYMENT_TARGET": "15.0"} if "apple" in platform else {})},
            timeout=300,
            check=False,
        )
        assert r.returncode == 0, r.stderr
        chosen = {}
        for line in r.stderr.splitlines():
            if not line.strip().startswith("+ "):
                continue
            item = line.strip()[2:]
            if " @ " in item:  # a URL requirement: its version is in the wheel's name
                name, url = item.split(" @ ")
                chosen[name] = str(parse_wheel_filename(unquote(url.split("#")[0].rsplit("/", 1)[-1]))[1])
            else:
                name, version = item.split("==", 1)
                chosen[name] = version
        return chosen


def _pypi_mac_builds(directory: Path) -> list[Path]:
    """Stand-ins of what PyPI itself serves the Mac: the family's macOS arm64 files the snapshot
    lists (from PyPI's JSON API), newest releases, for this lab's Python."""
    doc = json.loads(snapshot_bytes())
    out = []
    for project in ("torch", "torchvision", "torchaudio"):
        for version in sorted(doc["projects"][project], key=Version)[-3:]:
            for f in doc["projects"][project][version]["files"]:
                name, ver, _, tags = parse_wheel_filename(f["filename"])
                if any(
                    t.platform.startswith("macosx")
                    and t.platform.endswith("arm64")
                    and t.interpreter in ("cp311", "py3")
                    for t in tags
                ):
                    tag = f["filename"].removesuffix(".whl").split("-", 2)[2]
                    out.append(make_wheel(directory, str(name), str(ver), tag))
    return out


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    tmp = tmp_path_factory.mktemp("multi")
    decoys = [
        make_wheel(tmp / "build", "torch", "2.14.1", "cp311-cp311-manylinux_2_28_x86_64"),
        make_wheel(tmp / "build", "torch", "2.14.1", "cp311-cp311-win_amd64"),
    ]
    write_simple_index(tmp / "pypi" / "simple", decoys + _pypi_mac_builds(tmp / "build"))
    with FakeIndexServer() as index, StaticServer(tmp / "pypi") as pypi:
        env = installer_env(
            TORCHPIN_CACHE_DIR=str(tmp / "cache"),
            UV_CACHE_DIR=str(tmp / "uv-cache"),
            TORCHPIN_PYPI_URL=f"{pypi.url}/simple",
        )
        yield Lab(tmp, index.base, f"{pypi.url}/simple", env)


def test_one_requirements_file_for_three_indexes(lab: Lab) -> None:
    targets = (LINUX, WINDOWS, ARM)
    r = lab.torchpin("lock", "torch", "torchvision", *(a for t in targets for a in ("--target", t[0])))
    assert r.returncode == 0, r.stderr
    path = lab.tmp / "multi.txt"
    path.write_text(r.stdout)
    assert " @ " in r.stdout and "#sha256=" in r.stdout  # two variant indexes: each wheel by URL and hash
    for spec, argv, uv_platform, platform in targets:
        expected = lab.single(argv, "torch", "torchvision")
        assert lab.uv_dry_run(uv_platform, "-r", str(path)) == expected, spec
        assert read_lock(r.stdout, env_of(platform)).pins == expected  # what verify --lock reads there
    chosen = pip_dry_run(lab.tmp, "-r", str(path), env=lab.env)
    assert chosen == lab.single(LINUX[1], "torch", "torchvision")  # this machine is the linux x86_64 target


def test_pylock_for_two_targets_meets_pep_751_and_uv_installs_each(lab: Lab) -> None:
    targets = (LINUX_CPU, WINDOWS)
    r = lab.torchpin(
        "lock", "torch", "torchvision", "--format", "pylock", *(a for t in targets for a in ("--target", t[0]))
    )
    assert r.returncode == 0, r.stderr
    doc = pep751.check(r.stdout, [env_of(t[3]) for t in targets])
    # Only sizes uv read are written (the HTML pages state none; a HEAD's claim is nobody's check).
    unsized = [w for p in doc["packages"] for w in p["wheels"] if "size" not in w]
    assert unsized and f"no size known for {len(unsized)} file(s)" in r.stderr and "%2B" not in r.stderr
    path = lab.tmp / "pylock.toml"
    path.write_text(r.stdout)
    for spec, argv, uv_platform, _ in targets:
        assert lab.uv_dry_run(uv_platform, "-r", str(path)) == lab.single(argv, "torch", "torchvision"), spec


def test_pylock_offline_without_urls_is_refused(lab: Lab) -> None:
    r = lab.torchpin(
        "lock", "--offline", "--no-detect", "--backend", "cu126", "--python-platform", "linux", "--format", "pylock"
    )
    assert r.returncode == 2 and "drop --offline" in r.stderr and r.stdout == ""


def test_constraints_for_two_targets(lab: Lab) -> None:
    r = lab.torchpin("lock", "torch", "--format", "constraints", "--target", "linux-cpu", "--target", "windows-cpu")
    assert r.returncode == 0, r.stderr
    path = lab.tmp / "constraints.txt"
    path.write_text(r.stdout)
    variant = f"{lab.index_base}/cpu"
    for os_name, platform in (("linux", "x86_64-manylinux_2_28"), ("windows", "x86_64-pc-windows-msvc")):
        got = lab.uv_dry_run(platform, "--extra-index-url", variant, "--constraint", str(path), "torch")
        assert got == lab.single(["--python-platform", os_name, "--backend", "cpu"], "torch"), os_name


def test_pyproject_for_two_targets_locks_with_uv(lab: Lab) -> None:
    project = lab.tmp / "demo"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "demo"\nversion = "0.1.0"\nrequires-python = ">=3.11"\ndependencies = []\n\n'
        f'[tool.uv]\nindex-url = "{lab.pypi}"\n'
    )
    r = lab.torchpin(
        "lock", "torch", "--format", "pyproject", "--add", "--target", LINUX_CPU[0], "--target", WINDOWS[0], cwd=project
    )
    assert r.returncode == 0, r.stderr
    locked = subprocess.run(
        [str(UV), "lock"], cwd=project, capture_output=True, text=True, env=lab.env, timeout=300, check=False
    )
    assert locked.returncode == 0, locked.stderr
    lock = (project / "uv.lock").read_text()
    versions = {
        line.split('"')[1]
        for block in lock.split("[[package]]")
        if block.startswith('\nname = "torch"\n')
        for line in block.splitlines()
        if line.startswith("version = ")
    }
    assert versions == {lab.single(LINUX_CPU[1], "torch")["torch"], lab.single(WINDOWS[1], "torch")["torch"]}


@pytest.mark.parametrize("fmt", ["json", "pylock", "pyproject", "constraints", "multi"])
def test_install_lock_takes_every_format(lab: Lab, fmt: str) -> None:
    work = lab.tmp / f"install-{fmt}"
    work.mkdir()
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    target = ["--target", LINUX_CPU[0], "--target", WINDOWS[0]] if fmt == "multi" else ["--no-detect", *LINUX_CPU[1]]
    name = {"pylock": "pylock.toml", "pyproject": "pyproject.toml", "json": "lock.json"}.get(fmt, "lock.txt")
    if fmt == "pyproject":
        (work / name).write_text('[project]\nname = "demo"\nversion = "0.1.0"\ndependencies = []\n')
    r = lab.torchpin(
        "lock",
        "torch",
        *target,
        "--format",
        fmt if fmt != "multi" else "requirements",
        *(["--add"] if fmt == "pyproject" else []),
        "-o",
        str(work / name),
    )
    assert r.returncode == 0, r.stderr
    installed = lab.torchpin(
        "install",
        "--lock",
        str(work / name),
        "--python",
        str(venv / "bin" / "python"),
        "--installer",
        "uv",
        "--no-verify",
    )
    assert installed.returncode == 0, installed.stderr
    version = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import importlib.metadata as m; print(m.version('torch'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert version == lab.single(LINUX_CPU[1], "torch")["torch"]  # the lock's build for this machine, not a decoy


def test_a_cuda_linux_box_and_a_mac_share_one_requirements_file(lab: Lab) -> None:
    """One file for a Linux CUDA box and a Mac. A variant page lists only the releases built for it
    (torchaudio's newest isn't on cu126's) and stale copies of torch's dependencies, and uv takes
    each project from the first index that has it: so PyPI is the index, and the family's variant
    pages are find-links pages (issue 16, item 11; issue 26, item 3)."""
    targets = (LINUX, MAC)
    r = lab.torchpin("lock", *(a for t in targets for a in ("--target", t[0])))
    assert r.returncode == 0, r.stderr
    assert "--extra-index-url" not in r.stdout and " @ " not in r.stdout
    assert r.stdout.count(f"--find-links {lab.index_base}/cu126/") == 3
    path = lab.tmp / "linux-mac.txt"
    path.write_text(r.stdout)
    for spec, argv, uv_platform, platform in targets:
        expected = lab.single(argv, "torch", "torchvision", "torchaudio")
        assert lab.uv_dry_run(uv_platform, "-r", str(path)) == expected, spec
        assert read_lock(r.stdout, env_of(platform)).pins == expected
    chosen = pip_dry_run(lab.tmp, "-r", str(path), env=lab.env)
    assert chosen == lab.single(LINUX[1], "torch", "torchvision", "torchaudio")  # this machine is the Linux one
