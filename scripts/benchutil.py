"""Shared timing for the bench_*.py scripts: cases interleaved, so drift hits all alike."""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

Case = tuple[str, Sequence[str], Mapping[str, str] | None]


def baseline() -> Case:
    """`python -c pass` with this venv: the floor any Python CLI pays on this machine."""
    return ("python -c pass (baseline)", [sys.executable, "-c", "pass"], None)


def run_cases(cases: Sequence[Case], runs: int) -> dict[str, list[float]]:
    """Round-robin over the cases ``runs`` times after one warm-up each (which also writes the
    bytecode caches); wall ms per run."""
    times: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    for _name, cmd, env in cases:
        subprocess.run(list(cmd), capture_output=True, check=False, env=_env(env))
    for _ in range(runs):
        for name, cmd, env in cases:
            t = time.perf_counter()
            subprocess.run(list(cmd), capture_output=True, check=False, env=_env(env))
            times[name].append((time.perf_counter() - t) * 1000)
    return times


def report(times: dict[str, list[float]]) -> None:
    base = statistics.median(times[baseline()[0]]) if baseline()[0] in times else None
    for name, ms in times.items():
        med = statistics.median(ms)
        ratio = f"  {med / base:4.1f}x baseline" if base else ""
        print(f"{name:<40} median {med:7.1f} ms  min {min(ms):7.1f}  max {max(ms):7.1f}  n={len(ms)}{ratio}")


@contextlib.contextmanager
def other_revision(rev: str | None) -> Iterator[str | None]:
    """A checkout of ``rev`` importable as ``torchpin`` (its folder, for PYTHONPATH), or None.

    Lets a benchmark time the code before a change in the same run as the code after it, so
    the machine's drift hits both alike. The worktree is removed afterwards.
    """
    if rev is None:
        yield None
        return
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory(prefix="torchpin-bench-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(root), "worktree", "add", "--detach", "-q", str(tree), rev], check=True)
        try:
            (Path(tmp) / "pkg").mkdir()
            (Path(tmp) / "pkg" / "torchpin").symlink_to(tree / "resolver")
            (Path(tmp) / "pkg" / "data").symlink_to(tree / "data")  # a checkout's snapshot, beside the package
            yield str(Path(tmp) / "pkg")
        finally:
            subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(tree)], check=False)


def with_revision(cases: Sequence[Case], pkg: str | None, rev: str | None) -> list[Case]:
    """``cases`` plus each non-baseline case run against the other revision.

    Both sides then run as ``python -m torchpin`` (the other revision has no console script),
    so each pair differs only in the code.
    """
    out = list(cases)
    if pkg is None:
        return out
    for name, cmd, env in cases:
        if name == baseline()[0]:
            continue
        script = Path(cmd[0]).name == "torchpin"
        argv = [sys.executable, "-m", "torchpin", *cmd[1:]] if script else list(cmd)
        if script:
            out.append((f"{name} [-m]", argv, env))
        out.append((f"{name} [-m] @ {rev}" if script else f"{name} @ {rev}", argv, {**(env or {}), "PYTHONPATH": pkg}))
    return out


def _env(extra: Mapping[str, str] | None) -> dict[str, str]:
    # Installed packages run from compiled bytecode; with PYTHONDONTWRITEBYTECODE set (as on
    # some dev machines) every run would compile the sources again and time the compiler.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, **(extra or {})}
