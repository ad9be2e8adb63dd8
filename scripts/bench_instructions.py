#!/usr/bin/env python3
"""Count the instructions of `torchpin lock --offline` and `torchpin detect` (valgrind callgrind).

    .venv/bin/python scripts/bench_instructions.py [--against REV]

Wall time on a shared 2-core machine swings by half from run to run; instructions executed do
not (PYTHONHASHSEED is fixed, so the same code and inputs give the same count within ~0.1%). Each
case runs once under callgrind, this install first, then REV from a temporary worktree as
`python -m torchpin`, and the ratio of the two counts is printed. Needs valgrind.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

from bench_lock import EIGHT, TARGET
from benchutil import Case, other_revision

GPU = ["--driver", "570.86.15", "--gpu-cc", "12.0", "--explain"]


def instructions(argv: list[str], env: dict[str, str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out", *argv],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or not found:
        raise SystemExit(f"{' '.join(argv)} failed under valgrind:\n{done.stderr[-2000:]}")
    return int(found[1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--against", metavar="REV", help="also count git revision REV (e.g. HEAD~1)")
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    eight = [arg for spec in EIGHT for arg in ("--target", spec)]
    cases: list[Case] = [
        ("lock --offline (cpu trio)", ["lock", "--offline", *TARGET], None),
        ("lock --offline (GPU, explain)", ["lock", "--offline", *TARGET, *GPU], None),
        ("lock --offline (8 --target)", ["lock", "--offline", "--format", "json", *eight], None),
        ("detect --json", ["detect", "--json"], None),
    ]
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    base["PYTHONHASHSEED"] = "0"
    python = [sys.executable, "-m", "torchpin"]
    with other_revision(args.against) as pkg:
        for name, argv, _ in cases:
            here = instructions([*python, *argv], base)
            line = f"{name:<32} {here / 1e6:9.1f} M instructions"
            if pkg is not None:
                subprocess.run([*python, *argv], capture_output=True, env={**base, "PYTHONPATH": pkg}, check=False)
                there = instructions([*python, *argv], {**base, "PYTHONPATH": pkg})
                line += f"   @ {args.against}: {there / 1e6:9.1f} M   ratio {here / there:5.3f}"
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
