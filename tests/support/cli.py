"""The one way tests run torchpin: ``run`` as a user does (``python -m torchpin`` in this venv, a
process of its own), or in-process through a ``Context`` whose stderr the test reads back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from torchpin.cli.snapshot import snapshot_bytes
from torchpin.commands import Context, IndexOptions, run_lock
from torchpin.decide.targets import TargetFlags
from torchpin.locks import LockFormat
from torchpin.models import Requirement

OFFLINE = IndexOptions(offline=True)


def clean_env(*prefixes: str, home: Path | None = None) -> dict[str, str]:
    """This process's environment without ``TORCHPIN_*`` (and any other ``prefixes``), so the
    developer's own settings never reach a test; with ``home``, a cache of the test's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TORCHPIN_", *prefixes))}
    if home is not None:
        env["TORCHPIN_CACHE_DIR"] = str(home / "cache")
    return env


def installer_env(**extra: str) -> dict[str, str]:
    """For tests that run pip or uv themselves: none of this machine's pip / uv configuration
    (its find-links and constraint) reaches them."""
    env = clean_env("PIP_", "UV_")
    env.update(PIP_CONFIG_FILE=os.devnull, UV_NO_CONFIG="1", PIP_DISABLE_PIP_VERSION_CHECK="1", **extra)
    return env


def pip_dry_run(tmp: Path, *args: str, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """What a real ``pip install --dry-run ARGS`` would install (name → version), from its
    ``--report``; pip's error fails the test."""
    report = tmp / "pip-report.json"
    argv = ["--dry-run", "--ignore-installed", "--quiet", "--report", str(report), "--target", str(tmp / "unused")]
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", *argv, *args],
        capture_output=True,
        text=True,
        env=installer_env() if env is None else env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return {i["metadata"]["name"]: i["metadata"]["version"] for i in json.loads(report.read_text())["install"]}


def run(
    *args: str,
    env: Mapping[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
    home: Path | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
    check: bool = False,
    **kw: Any,
) -> subprocess.CompletedProcess[str]:
    """``torchpin ARGS``; ``env`` is the whole environment (default ``clean_env(home=home)``),
    ``extra`` is added to it."""
    full = {**(clean_env(home=home) if env is None else env), **(extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "torchpin", *args],
        capture_output=True,
        text=True,
        env=full,
        cwd=cwd,
        timeout=timeout,
        check=check,
        **kw,
    )


def context(environ: Mapping[str, str] | None = None) -> tuple[Context, list[str]]:
    """An in-process Context over ``environ`` (default: this process's), and what it says."""
    said: list[str] = []
    return Context(dict(os.environ if environ is None else environ), snapshot_bytes, said.append), said


def lock(
    requirements: Sequence[Requirement],
    flags: TargetFlags,
    index: IndexOptions = OFFLINE,
    *,
    fmt: str = "requirements",
    targets: Sequence[str] = (),
    full: Sequence[str] | None = None,
    existing: str = "",
) -> str:
    """``torchpin lock`` in-process: the lock text."""
    ctx, _ = context()
    form = LockFormat(fmt)
    return run_lock(ctx, requirements, flags, index, fmt=form, others=full, targets=targets, existing=existing)
