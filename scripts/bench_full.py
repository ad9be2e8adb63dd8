#!/usr/bin/env python3
"""Where `torchpin lock --full` spends its time, against `uv pip compile --torch-backend auto`.

    python scripts/bench_full.py [--runs 5] [--rtt 0 20] [--against REV]

The lab and the RTX 3090 machine of scripts/bench.py; the same uv for every row (the one on
PATH or beside this interpreter). Rows, cold (new empty caches every run) and warm (each row's
own caches, filled by an untimed run):

- `torchpin lock`: the decision alone (the trio, with its pages and sidecars);
- `torchpin lock --full`: the decision, then uv resolving everything else with it;
- `uv pip compile` of --full's input: uv's part of --full alone, the same input and options;
- `uv pip compile --torch-backend auto`: uv's own way to the same 14 packages.

Requests are counted by the lab's servers. With --against REV the torchpin rows also run as
REV's code (`python -m torchpin` on PYTHONPATH), interleaved.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import DASH, MACHINES, Bench, no_pins  # noqa: E402
from bench_tools import PY, Result, lines_pins, uv_argv  # noqa: E402
from benchutil import other_revision  # noqa: E402

from tests.support.lab import Lab  # noqa: E402
from torchpin.decide.platforms import uv_platform  # noqa: E402
from torchpin.machine.interpreter import host_platform  # noqa: E402


def full_input(bench: Bench, torchpin: list[str], env: dict[str, str], work: Path) -> list[str]:
    """The `uv pip compile` command --full runs: the lock's pins as input, its index lines as options."""
    lock = work / "decided.txt"
    made = bench.run([*torchpin, "lock", "--python-version", PY, "-o", str(lock)], env, no_pins)
    if made.code != 0:
        raise SystemExit(f"torchpin lock failed: {made.note}")
    pins, options = [], []
    for line in lock.read_text().splitlines():
        if line.startswith("--"):
            options += line.split(maxsplit=1)
        elif line and not line.startswith("#"):
            pins.append(line)
    req = work / "requirements.in"
    req.write_text("\n".join(pins) + "\n")
    return [
        *("pip", "compile", str(req), "--format", "requirements.txt", "--no-header", "--quiet"),
        "--python-version",
        PY,
        "--python-platform",
        uv_platform(host_platform()),  # the machine's, as --full passes it
        "--generate-hashes",
        "--emit-index-url",
        "--emit-find-links",
        *options,
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rtt", type=float, nargs="+", default=[0.0, 20.0], metavar="MS")
    ap.add_argument("--against", metavar="REV")
    args = ap.parse_args()
    uv = Path(shutil.which("uv") or Path(sys.executable).with_name("uv"))
    m = MACHINES[0]
    with tempfile.TemporaryDirectory(prefix="torchpin-bench-full-") as tmp, other_revision(args.against) as pkg:
        work = Path(tmp)
        with Lab(work / "lab") as lab:
            bench = Bench(lab, {"uv": uv.parent}, work)
            here = [str(Path(sys.executable).with_name("torchpin"))]
            old = [sys.executable, "-m", "torchpin"]
            tools: dict[str, tuple[list[str], dict[str, str]]] = {"": (here, {})}
            if pkg:
                tools[f" @ {args.against}"] = (old, {"PYTHONPATH": pkg})

            def env(cache: Path, extra: dict[str, str]) -> dict[str, str]:
                e = bench.env(m, TORCHPIN_CACHE_DIR=str(cache / "tp"), UV_CACHE_DIR=str(cache / "uv"), **extra)
                e["PATH"] = f"{uv.parent}:{e['PATH']}"
                return e

            compile_argv = full_input(bench, here, env(work / "probe", {}), work)
            cases: dict[str, Callable[[Path], Result]] = {}

            def torchpin(args: list[str], exe: list[str], extra: dict[str, str]) -> Callable[[Path], Result]:
                return lambda c: bench.run([*exe, *args, "--python-version", PY], env(c, extra), lines_pins)

            for suffix, (exe, extra) in tools.items():
                cases[f"torchpin lock{suffix}"] = torchpin(["lock"], exe, extra)
                cases[f"torchpin lock --full{suffix}"] = torchpin(["lock", "--full"], exe, extra)
            cases["uv pip compile of --full's input"] = lambda c: bench.run(
                [str(uv), *compile_argv], env(c, {}), lines_pins
            )
            trio = work / "trio.in"
            trio.write_text("torch\ntorchvision\ntorchaudio\n")
            cases["uv pip compile --torch-backend auto"] = lambda c: bench.run(
                uv_argv({"uv": uv.parent}, m, trio, c / "uv"), env(c, {}), lines_pins
            )
            rows = [
                f"| what | round trip | cache | median ms (min{DASH}max) | packages | requests | exit |",
                "|---|---|---|---|---|---|---|",
            ]
            for rtt in args.rtt:
                lab.proxy.delay = rtt / 2000
                results: dict[tuple[str, str], list[Result]] = {}
                for i, run in enumerate(cases.values()):
                    run(work / "warm" / f"{rtt}-{i}")  # fills the warm caches
                for r in range(args.runs):
                    for i, (name, run) in enumerate(cases.items()):
                        cold = work / "cold" / f"{rtt}-{i}-{r}"
                        results.setdefault((name, "cold"), []).append(run(cold))
                        shutil.rmtree(cold, ignore_errors=True)
                        results.setdefault((name, "warm"), []).append(run(work / "warm" / f"{rtt}-{i}"))
                for (name, temp), rs in sorted(results.items(), key=lambda kv: kv[0][1]):
                    ms = [r.wall_ms for r in rs]
                    codes = ",".join(sorted({str(r.code) for r in rs}))
                    packages = ",".join(sorted({str(len(r.pins)) for r in rs}))
                    req = statistics.median(r.requests for r in rs)
                    spread = f"{min(ms):.0f}{DASH}{max(ms):.0f}"
                    rows.append(
                        f"| {name} | {rtt:g} ms | {temp} | {statistics.median(ms):.0f} ({spread}) | {packages}"
                        f" | {req:g} | {codes} |"
                    )
                print(f"round trip {rtt:g} ms done", file=sys.stderr)
    flags = f"--runs {args.runs} --rtt {' '.join(f'{r:g}' for r in args.rtt)}"
    print(f"Made by `python scripts/bench_full.py {flags}{f' --against {args.against}' if args.against else ''}`.\n")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
