#!/usr/bin/env python3
"""How torchpin's cost grows: per target, per index link, per requirement line, and its memory.

    python scripts/bench_growth.py [--runs 5]

Each series runs one command at three sizes (x1, x8, x64 of its unit), interleaved round by
round, and fits median time = a + b*n by least squares over the three: b is the cost of one
more unit, a what the command costs without any; the largest relative residual says whether
the growth is linear (a few % is noise; a quadratic term would leave tens of %). Peak RSS
(GNU time, the largest process) is fitted the same way.

- targets: the planning of N `--target` specs (`commands.lock` plans each as a single lock
  would) in one process, timed around the planning alone: a lock can only hold targets pip's
  markers tell apart (OS, arch, Python: about 25), so x64 is measured before the writer;
- index links: a live `lock torch --find-links` of a flat mirror whose cpu/ listing has the
  real files plus N made-up older releases, with an empty page cache each run;
- requirement lines: `lock --offline -r FILE` with N lines of other projects (reported and
  skipped, as every lock but --full treats them).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_tools import timed  # noqa: E402

from tests.support.fake_index import FakePytorchIndex  # noqa: E402
from tests.support.static_server import StaticServer  # noqa: E402

PY = f"{sys.version_info.major}.{sys.version_info.minor}"
TORCHPIN = str(Path(sys.executable).with_name("torchpin"))
FIXED = ["--no-detect", "--python-version", PY, "--python-platform", "x86_64-manylinux_2_28"]
# Sixteen machines at four Python versions: 64 distinct targets, each planned as a whole
# single-target decision (drivers, GPU kernels, companions, pins), none answered from another's.
MACHINES = (
    "linux-cu126:driver=560.35.03,gpu-cc=8.9",
    "linux-cu126:driver=550.54.15,gpu-cc=8.6",
    "linux-cu128:driver=570.86.15,gpu-cc=12.0",
    "linux-cu128:driver=575.51.03,gpu-cc=9.0",
    "linux-cpu:glibc=2.28",
    "linux-cpu:glibc=2.35",
    "linux-aarch64-cpu:glibc=2.28",
    "linux-aarch64-cpu:glibc=2.39",
    "macos-arm64:macos-version=14.0",
    "macos-arm64:macos-version=15.0",
    "windows-cpu",
    "windows-cu128:driver=572.16,gpu-cc=12.0",
    "windows-cu126:driver=560.94,gpu-cc=8.9",
    "windows-cu126:driver=552.22,gpu-cc=7.5",
    "linux-rocm6.4:amd-gfx=gfx1100",
    "linux-rocm6.4:amd-gfx=gfx942",
)
PYTHONS = ("3.10", "3.11", "3.12", "3.13")
PLAN = """
import os, sys, time
from torchpin.cli.snapshot import snapshot_bytes
from torchpin.commands import Context, IndexOptions
from torchpin.commands.lock import _plans
from torchpin.decide import TargetFlags, parse_requirement
specs = sys.argv[1:]
ctx = Context(os.environ, snapshot_bytes, lambda s: None)
reqs = [parse_requirement(r) for r in ("torch", "torchvision", "torchaudio")]
start = time.perf_counter()
plans = _plans(ctx, reqs, TargetFlags(no_detect=True), IndexOptions(offline=True), specs)
print(f"{(time.perf_counter() - start) * 1000:.3f} {len(plans)}")
"""


def targets(n: int) -> list[str]:
    specs = [f"{m},python-version={py}" if ":" in m else f"{m}:python-version={py}" for py in PYTHONS for m in MACHINES]
    assert n <= len(specs) == len(set(specs))
    return specs[:n]


def fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float, float]:
    """(a, b, largest |residual| / y) of y = a + b*x by least squares."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)
    a = my - b * mx
    return a, b, max(abs(y - (a + b * x)) / y for x, y in zip(xs, ys, strict=True))


Measure = Callable[[int], tuple[float, int]]  # size -> (ms, peak RSS KiB)


def series(name: str, unit: str, sizes: Sequence[int], measure: Measure, runs: int) -> list[str]:
    ms: dict[int, list[float]] = {n: [] for n in sizes}
    rss: dict[int, list[int]] = {n: [] for n in sizes}
    for n in sizes:
        measure(n)  # warm-up: bytecode, the OS's file cache
    for _ in range(runs):
        for n in sizes:
            t, r = measure(n)
            ms[n].append(t)
            rss[n].append(r)
    med = [statistics.median(ms[n]) for n in sizes]
    mem = [statistics.median(rss[n]) / 1024 for n in sizes]
    a, b, res = fit(sizes, med)
    ra, rb, rres = fit(sizes, mem)
    cells = " | ".join(f"{n:,}: {m:.1f}" for n, m in zip(sizes, med, strict=True))
    mcells = " | ".join(f"{n:,}: {m:.1f}" for n, m in zip(sizes, mem, strict=True))
    return [
        f"| {name}: ms | {cells} | {a:.1f} ms + {b:.4f} ms per {unit} | {res:.1%} |",
        f"| {name}: peak RSS MiB | {mcells} | {ra:.1f} MiB + {rb * 1024:.2f} KiB per {unit} | {rres:.1%} |",
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    rows = [
        "| series | x1 (size: median) | x8 | x64 | fit: fixed + per unit | largest residual |",
        "|---|---|---|---|---|---|",
    ]

    def plan(n: int) -> tuple[float, int]:
        code, out, err, _, rss = timed([sys.executable, "-c", PLAN, *targets(n)], env=_env())
        if code != 0:
            raise SystemExit(f"planning {n} targets failed: {err[-500:]}")
        took, count = out.split()
        assert int(count) == n
        return float(took), rss

    rows += series("targets (planning, offline)", "target", (1, 8, 64), plan, args.runs)

    with tempfile.TemporaryDirectory(prefix="torchpin-growth-") as tmp:
        root = Path(tmp)
        real = FakePytorchIndex().flat("cpu") or ""
        head, _, tail = real.partition("<pre>\n")
        sizes = (1000, 8000, 64000)
        for n in sizes:
            made_up = "".join(
                f'<a href="torch-0.{i // 1000}.{i % 1000}&#43;cpu-cp311-cp311-manylinux_2_28_x86_64.whl">'
                f"torch-0.{i // 1000}.{i % 1000}+cpu-cp311-cp311-manylinux_2_28_x86_64.whl</a>  2026-01-01 00:00  1M\n"
                for i in range(n)
            )
            (root / f"m{n}" / "cpu").mkdir(parents=True)
            (root / f"m{n}" / "cpu" / "index.html").write_text(head + "<pre>\n" + made_up + tail)
        with StaticServer(root) as srv:

            def links(n: int) -> tuple[float, int]:
                with tempfile.TemporaryDirectory() as cache:
                    argv = [TORCHPIN, "lock", "torch", "--backend", "cpu", *FIXED, "--no-fallback"]
                    argv += ["--find-links", f"{srv.url}/m{n}"]
                    code, out, err, wall, rss = timed(argv, env=_env(TORCHPIN_CACHE_DIR=cache))
                if code != 0 or "torch==" not in out:
                    raise SystemExit(f"the lock with {n} links failed: {err[-500:]}")
                return wall, rss

            rows += series("index links (live, cold)", "link", sizes, links, args.runs)

        for n in (100, 800, 6400):
            lines = [f"project-{i}=={i % 7}.{i % 13}.0 ; python_version >= '3.8'" for i in range(n)]
            (root / f"r{n}.txt").write_text("torch\n" + "\n".join(lines) + "\n")

        def reqs(n: int) -> tuple[float, int]:
            argv = [TORCHPIN, "lock", "--offline", *FIXED, "-r", str(root / f"r{n}.txt")]
            code, out, err, wall, rss = timed(argv, env=_env())
            if code != 0 or "torch==" not in out:
                raise SystemExit(f"the lock of {n} lines failed: {err[-500:]}")
            return wall, rss

        rows += series("requirement lines (offline)", "line", (100, 800, 6400), reqs, args.runs)
    print(f"Made by `python scripts/bench_growth.py --runs {args.runs}`; medians of {args.runs} interleaved runs.\n")
    print("\n".join(rows))
    return 0


def _env(**extra: str) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("TORCHPIN_", "PIP_", "UV_"))}
    return {**env, "PIP_CONFIG_FILE": os.devnull, **extra}


if __name__ == "__main__":
    sys.exit(main())
