#!/usr/bin/env python3
"""Time `torchpin lock --offline --machines DIR` on 1,000 inventories (target: < 1 s as a whole
process), with 5, 20 and 80 distinct kinds of machine among them: the work should grow with
the kinds, not the nodes. Also 100 inventories of 20 kinds, and `--explain` on 1,000 of 20.

    python scripts/bench_fleet.py [--runs 10]

Inventories are real `detect --json` documents (tests/support/fleet.py) with each node's
hostname, Python, driver and GPUs; kinds vary the driver, the GPU and the Python.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchutil import Case, baseline, report, run_cases

from tests.support.fleet import A100, B200, H100, V100, NodeSpec, inventory

DRIVERS = ("535.104.05", "550.54.15", "570.86.15", "580.65.06", "590.44.01")
GPUS = (V100, A100, H100, B200, ("NVIDIA L4", "8.9"), ("NVIDIA A10", "8.6"), ("Tesla T4", "7.5"), None)
PYTHONS = ("3.12", "3.11", "3.13")


def kinds(n: int) -> list[NodeSpec]:
    """``n`` distinct machines (a GPU-less one among them)."""
    combos = itertools.product(PYTHONS, GPUS, DRIVERS)
    out: list[NodeSpec] = []
    for python, gpu, driver in combos:
        spec = (
            NodeSpec("", python=python) if gpu is None else NodeSpec("", driver=driver, gpus=(gpu,) * 8, python=python)
        )
        if spec not in out:
            out.append(spec)
        if len(out) == n:
            return out
    raise SystemExit(f"only {len(out)} kinds")


def fleet(folder: Path, nodes: int, distinct: int) -> Path:
    folder.mkdir(parents=True)
    for i, spec in enumerate(itertools.islice(itertools.cycle(kinds(distinct)), nodes)):
        name = f"node-{i:04d}"
        (folder / f"{name}.json").write_text(json.dumps(inventory(spec._replace(name=name)), indent=2))
    return folder


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    exe = str(Path(sys.executable).with_name("torchpin"))
    with tempfile.TemporaryDirectory() as tmp:
        cases: list[Case] = [baseline()]
        for nodes, distinct in ((100, 20), (1000, 5), (1000, 20), (1000, 80)):
            folder = fleet(Path(tmp) / f"n{nodes}-k{distinct}", nodes, distinct)
            argv = [exe, "lock", "--offline", "--format", "constraints", "--machines", str(folder)]
            cases.append((f"{nodes} inventories, {distinct} kinds", argv, None))
        explain = [*cases[3][1], "--explain"]
        cases.append(("1000 inventories, 20 kinds, --explain", explain, None))
        for name, cmd, _ in cases[1:]:  # a case that fails would be timed as a fast one
            done = subprocess.run(list(cmd), capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise SystemExit(f"{name}: exit {done.returncode}: {done.stderr.strip()[-300:]}")
        report(run_cases(cases, args.runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
