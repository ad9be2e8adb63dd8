"""Shared timing for the bench_*.py scripts: cases interleaved, so drift hits all alike."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence

Case = tuple[str, Sequence[str], Mapping[str, str] | None]


def baseline() -> Case:
    """`python -c pass` with this venv: the floor any Python CLI pays on this machine."""
    return ("python -c pass (baseline)", [sys.executable, "-c", "pass"], None)


def run_cases(cases: Sequence[Case], runs: int) -> dict[str, list[float]]:
    """Round-robin over the cases ``runs`` times after one warm-up each; wall ms per run."""
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


def _env(extra: Mapping[str, str] | None) -> dict[str, str] | None:
    return None if extra is None else {**os.environ, **extra}
