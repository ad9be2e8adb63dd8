#!/usr/bin/env python3
"""Time `torchpin verify` on a real CPU torch (target: the CPU checks in <= 10 s).

    .venv/bin/python scripts/bench_verify.py [--runs 5] [--python PATH]

Without --python, makes a venv and installs torch==2.13.0 into it with this machine's
pip configuration (which finds the local CPU wheel). Also times `import torch` alone,
the bulk of it.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=False)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--python")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        python = args.python
        if python is None:
            subprocess.run([sys.executable, "-m", "venv", f"{tmp}/venv"], check=True)
            python = f"{tmp}/venv/bin/python"
            subprocess.run([python, "-m", "pip", "install", "-q", "torch==2.13.0"], check=True)
        exe = str(Path(sys.executable).with_name("torchpin"))
        verify = [timed([exe, "verify", "--python", python]) for _ in range(args.runs)]
        imports = [timed([python, "-c", "import torch"]) for _ in range(args.runs)]
    med = statistics.median(verify)
    print(f"torchpin verify (CPU checks)  median {med:5.2f} s  max {max(verify):5.2f} s  n={args.runs}")
    print(f"python -c 'import torch'       median {statistics.median(imports):5.2f} s  n={args.runs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
