#!/usr/bin/env python3
"""Time `torchpin lock --offline` as a whole process (target: median <= 150 ms).

    .venv/bin/python scripts/bench_lock.py [--runs 30]

Runs the console script beside this interpreter (and `python -m torchpin`) for a
fixed target, after one warm-up run, and prints median / min / max in ms.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET = ["--no-detect", "--python-version", "3.12", "--python-platform", "x86_64-manylinux_2_28"]
CASES = {
    "cpu trio": [],
    "GPU, explain": ["--driver", "570.86.15", "--gpu-cc", "12.0", "--explain"],
}


def timed(cmd: list[str], runs: int) -> list[float]:
    subprocess.run(cmd, capture_output=True, check=True)  # warm the page cache
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    script = Path(sys.executable).with_name("torchpin")
    launchers = {"torchpin": [str(script)], "python -m torchpin": [sys.executable, "-m", "torchpin"]}
    for lname, launcher in launchers.items():
        for cname, extra in CASES.items():
            ms = timed([*launcher, "lock", "--offline", *TARGET, *extra], args.runs)
            print(
                f"{lname:<20} {cname:<14} median {statistics.median(ms):6.1f} ms"
                f"  min {min(ms):6.1f}  max {max(ms):6.1f}  (n={len(ms)})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
