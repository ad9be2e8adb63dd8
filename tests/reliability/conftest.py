"""The reliability suite's tools: a CLI runner isolated from this machine, and the case checks.

Every case asserts the same contract: the documented exit code, one line on stderr, empty
stdout on failure, no half-written file, and no secret in any output channel.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import run as run_cli
from tests.support.fake_index import FakePytorchIndex
from tests.support.newest import TORCH as NEWEST

from .hostile import Hostile

HERE = Path(__file__).parent
CPU_TORCH = [
    "--no-detect",
    "--backend",
    "cpu",
    "--python-version",
    "3.12",
    "--python-platform",
    "x86_64-manylinux_2_28",
]
WANT = f"torch=={NEWEST}+cpu"  # what the fake index's cpu page gives torch alone on that target
SECRETS = ("s3cret", "ghp_T0KEN", "alice", "glpat-XYZ")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.reliability)


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    home: Path

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


def isolated_env(home: Path, **extra: str) -> dict[str, str]:
    """This machine's environment minus everything that would change what torchpin or pip sees."""
    drop = (
        "TORCHPIN_",
        "PIP_",
        "UV_",
        "VIRTUAL_ENV",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "NETRC",
        "REQUESTS_CA_BUNDLE",
        "SSL_CERT_",
    )
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(drop)}
    env.update(HOME=str(home), TORCHPIN_CACHE_DIR=str(home / "cache"), PIP_CONFIG_FILE=os.devnull, UV_NO_CONFIG="1")
    env.update(extra)
    return env


def torchpin(home: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60, **kw: Any) -> Run:
    home.mkdir(parents=True, exist_ok=True)
    done = run_cli(*args, cwd=home, env=env or isolated_env(home), timeout=timeout, **kw)
    return Run(done.returncode, done.stdout, done.stderr, home)


def fails(r: Run, code: int, *fragments: str) -> None:
    """The failure contract: this exit code, one line saying why, nothing on stdout."""
    assert r.code == code, f"exit {r.code}, wanted {code}: {r.stderr}"
    assert r.stdout == "", f"stdout on failure: {r.stdout!r}"
    assert len(r.lines) == 1, f"wanted one line on stderr, got: {r.stderr}"
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    for fragment in fragments:
        assert fragment in r.stderr, f"{fragment!r} not in {r.stderr!r}"


def no_secrets(r: Run, *extra_paths: Path, secrets: tuple[str, ...] = SECRETS) -> None:
    """No secret on stdout, stderr, or in any file under the run's home (cache, locks) or ``extra_paths``."""
    for secret in secrets:
        assert secret not in r.stdout and secret not in r.stderr, f"{secret!r} leaked to an output"
    for root in (r.home, *extra_paths):
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        for path in files:
            data = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in data, f"{secret!r} leaked into {path}"


def no_temp_files(directory: Path) -> None:
    left = [p.name for p in directory.rglob(".*.tmp")]
    assert not left, f"half-written temp files left: {left}"


@pytest.fixture(scope="session")
def fake() -> FakePytorchIndex:
    return FakePytorchIndex()


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    with Hostile() as h:
        yield h


def cpu_torch_links(fake: FakePytorchIndex, files_at: str) -> list[str]:
    """The real-looking ``<a>`` lines of the cpu torch page, with files served from ``files_at``."""
    text = fake.page("cpu", "torch", files_at) or ""
    return [line.strip().removesuffix("<br/>") for line in text.splitlines() if line.strip().startswith("<a ")]


def old_uv(home: Path) -> str:
    """A PATH entry whose uv says it is 0.3.5 (it checks no hash handed to it) and is today's otherwise."""
    real = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    shim = home / "old-uv" / "uv"
    shim.parent.mkdir(parents=True, exist_ok=True)
    shim.write_text(f'#!/bin/sh\n[ "$1" = --version ] && echo "uv 0.3.5" && exit 0\nexec {real} "$@"\n')
    shim.chmod(0o755)
    return f"{shim.parent}:{os.environ['PATH']}"
