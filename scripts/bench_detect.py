#!/usr/bin/env python3
"""Time `torchpin detect` as a whole process (target: median <= 150 ms without a GPU).

    .venv/bin/python scripts/bench_detect.py [--runs 30] [--against REV]

Also times a machine whose nvidia-smi hangs (a fake one on PATH): detect must end
after about one probe timeout (TORCHPIN_PROBE_TIMEOUT=1 here), not hang.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from benchutil import Case, baseline, other_revision, report, run_cases, with_revision


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--against", metavar="REV", help="also time git revision REV, interleaved (e.g. HEAD~1)")
    args = ap.parse_args()
    exe = str(Path(sys.executable).with_name("torchpin"))
    cases: list[Case] = [
        baseline(),
        ("torchpin detect --json", [exe, "detect", "--json"], None),
        ("torchpin detect (table)", [exe, "detect"], None),
    ]
    with other_revision(args.against) as pkg:
        report(run_cases(with_revision(cases, pkg, args.against), args.runs))
    with tempfile.TemporaryDirectory() as tmp:
        smi = Path(tmp, "nvidia-smi")
        smi.write_text("#!/bin/sh\nsleep 60\n")
        smi.chmod(0o755)
        env = {"PATH": f"{tmp}:{os.environ['PATH']}", "TORCHPIN_PROBE_TIMEOUT": "1"}
        hang: list[Case] = [("hanging nvidia-smi, probe timeout 1 s", [exe, "detect", "--json"], env)]
        report(run_cases(hang, 3))
    return 0


if __name__ == "__main__":
    sys.exit(main())
