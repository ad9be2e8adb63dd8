"""``lock --full`` (edge): a complete, hash-pinned lock of the user's requirements, resolved by
``uv pip compile`` (a well-kept resolver; torchpin doesn't write one) with the torch family
pinned to the chosen builds and routed to their index, everything else from PyPI.

Every file is pinned by sha256, so plain ``pip install --require-hashes -r`` installs it, and an
unpinned extra index can't slip in another package of the same name (the December 2022
``torchtriton`` incident).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from . import proc
from .errors import InstallFailed, UsageError
from .lockfile import header, index_lines
from .models import Plan, PlatformTarget
from .net import NetPolicy


def uv_binary() -> str:
    uv = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
    if uv is None:
        raise UsageError("--full resolves with uv, which is not installed", hint="pip install uv (or pipx install uv)")
    return uv


def uv_platform(platform: PlatformTarget) -> str:
    """uv's ``--python-platform`` name for a target."""
    if platform.os == "windows":
        return "x86_64-pc-windows-msvc"
    if platform.os == "macos":
        return f"{platform.arch}-apple-darwin"
    if platform.glibc is not None:
        return f"{platform.arch}-manylinux_{str(platform.glibc).replace('.', '_')}"
    return f"{platform.arch}-unknown-linux-gnu"


def compile_lock(
    plan: Plan,
    others: Sequence[str],
    policy: NetPolicy,
    *,
    fmt: str = "requirements.txt",
    offline: bool = False,
    timeout: float = 600.0,
) -> str:
    """``uv pip compile`` of the other requirements with the plan's pins, for the plan's target:
    uv's output, credentials stripped."""
    from .install import index_options

    t = plan.target
    flags = [part for line in index_lines(plan) for part in line]
    options, env = index_options("uv", flags, policy.credentials)
    with tempfile.TemporaryDirectory(prefix="torchpin-full-") as tmp:
        source = Path(tmp) / "requirements.in"
        source.write_text("\n".join([*others, *(f"{p.project}=={p.version}" for p in plan.pins)]) + "\n")
        argv = [
            uv_binary(), "pip", "compile", str(source), "--format", fmt, "--no-header", "--quiet",
            "--python-version", f"{t.python.major}.{t.python.minor}", "--python-platform", uv_platform(t.platform),
            *(["--generate-hashes", "--emit-index-url"] if fmt == "requirements.txt" else []),
            *(["--offline"] if offline else []), *options,
        ]  # fmt: skip
        try:
            done = proc.run(argv, timeout=timeout, env={**policy.environ, **env})
        except (proc.NotStarted, proc.TimedOut) as e:
            raise InstallFailed(f"uv pip compile: {e}") from None
    from .urls import scrub, strip_credentials

    if done.returncode != 0:
        tail = scrub(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no output")
        raise UsageError(f"uv could not resolve the full lock: {tail[:300]}", hint="check the other requirements")
    lines = []
    for line in done.stdout.replace(str(source), "requirements.in").splitlines():
        flag, _, url = line.partition(" ")
        # The credential went to uv through its environment; it never comes back into the file.
        lines.append(f"{flag} {strip_credentials(url)}" if flag.startswith("--") and "://" in url else scrub(line))
    return "\n".join(lines) + "\n"


def full_lock(plan: Plan, others: Sequence[str], policy: NetPolicy, *, timeout: float = 600.0) -> str:
    """The whole lock text: torchpin's header, then uv's hash-pinned resolution."""
    body = compile_lock(plan, others, policy, timeout=timeout)
    head = [*header(plan), "# Complete and hash-pinned (uv pip compile): pip install --require-hashes -r FILE"]
    return "\n".join(head) + "\n" + body
