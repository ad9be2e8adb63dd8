#!/usr/bin/env python3
"""Time `torchpin lock --offline` and `torchpin --help` as whole processes, against the floor.

    .venv/bin/python scripts/bench_lock.py [--runs 30] [--against REV]

The console script beside this interpreter and `python -m torchpin`, for a fixed target,
interleaved with a `python -c pass` baseline measured in the same run (issue 29's targets: an
offline lock within 4x of it, --help within 3x), and with the imports alone of what torchpin
can't do without: click (its CLI) and the standard and packaging modules an offline lock uses.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchutil import Case, baseline, other_revision, report, run_cases, with_revision

# What an offline lock imports beyond torchpin's own modules (python -X importtime).
FLOOR = (
    "import click, json, dataclasses, pathlib, subprocess, platform, ipaddress, urllib.parse, shutil,"
    " packaging.utils, packaging.specifiers"
)
TARGET = ["--no-detect", "--python-version", "3.12", "--python-platform", "x86_64-manylinux_2_28"]
EIGHT = [
    "linux-cu126:driver=560.35.03,gpu-cc=8.9,python-version=3.10",
    "linux-cu128:driver=570.86.15,gpu-cc=12.0,python-version=3.11",
    "linux-cpu:python-version=3.12",
    "linux-cpu:python-version=3.13",
    "linux-aarch64-cpu:python-version=3.12",
    "macos-arm64:python-version=3.12",
    "windows-cpu:python-version=3.12",
    "windows-cu126:driver=560.94,gpu-cc=8.9,python-version=3.13",
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--against", metavar="REV", help="also time git revision REV, interleaved (e.g. HEAD~1)")
    args = ap.parse_args()
    script = str(Path(sys.executable).with_name("torchpin"))
    gpu = ["--driver", "570.86.15", "--gpu-cc", "12.0", "--explain"]
    # Eight machines pip can tell apart: each target is planned as a single lock plans it.
    eight = [arg for spec in EIGHT for arg in ("--target", spec)]
    cases: list[Case] = [
        baseline(),
        ("torchpin lock --offline (cpu trio)", [script, "lock", "--offline", *TARGET], None),
        ("torchpin lock --offline (GPU, explain)", [script, "lock", "--offline", *TARGET, *gpu], None),
        ("torchpin lock --offline (detecting)", [script, "lock", "--offline"], None),
        ("torchpin lock --offline (8 --target)", [script, "lock", "--offline", "--format", "json", *eight], None),
        ("python -m torchpin lock --offline", [sys.executable, "-m", "torchpin", "lock", "--offline", *TARGET], None),
        ("torchpin --help", [script, "--help"], None),
        ("import click (floor of any click CLI)", [sys.executable, "-c", "import click"], None),
        ("import the libraries an offline lock needs", [sys.executable, "-c", FLOOR], None),
    ]
    with other_revision(args.against) as pkg:
        report(run_cases(with_revision(cases, pkg, args.against), args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
