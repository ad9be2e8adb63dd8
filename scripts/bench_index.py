#!/usr/bin/env python3
"""Live `torchpin lock` against the fake index with added latency per request.

    .venv/bin/python scripts/bench_index.py [--runs 15] [--latency-ms 50]

Cold: an empty page cache each run, so every page is downloaded; the pages are fetched
concurrently, so the waiting should be about one round-trip, not one per page.
Warm: the cache from a first run, younger than its max-age: no request at all (target: at
most 1.5x offline). Stale: the same cache with TORCHPIN_CACHE_MAX_AGE=0: every page is
revalidated (304), none downloaded.
Offline: the same lock from the embedded snapshot, for the cost without any network.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.fake_index import FakeIndexServer, FakePytorchIndex

TARGET = ["--no-detect", "--python-version", "3.12", "--python-platform", "x86_64-manylinux_2_28"]


def run(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=True, env=env)
    return (time.perf_counter() - t) * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--latency-ms", type=float, default=50)
    args = ap.parse_args()
    exe = str(Path(sys.executable).with_name("torchpin"))
    index = FakePytorchIndex()
    # Bytecode on, as an installed torchpin runs (some dev machines set PYTHONDONTWRITEBYTECODE).
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("TORCHPIN_") and k != "PYTHONDONTWRITEBYTECODE"}
    pages = 3
    with FakeIndexServer(index) as srv, tempfile.TemporaryDirectory() as tmp:
        for project in ("torch", "torchvision", "torchaudio"):
            index.page("cpu", project, srv.cdn_url)  # render once, outside the timing
        lock = [exe, "lock", *TARGET, "--index-url", srv.base, "--no-fallback"]
        warm_env = {**base_env, "TORCHPIN_CACHE_DIR": str(Path(tmp) / "warm")}
        run(lock, warm_env)  # fills the warm cache
        times: dict[str, list[float]] = {"offline": [], "cold, no latency": [], "cold": [], "warm": [], "stale": []}
        hits_before = sum(srv.hits().values())
        revalidated_before = sum(srv.main.not_modified.values())
        warm_full = warm_requests = 0
        for i in range(args.runs):
            index.knobs.latency_s = 0
            times["offline"].append(run([exe, "lock", *TARGET, "--offline"], base_env))
            times["cold, no latency"].append(run(lock, {**base_env, "TORCHPIN_CACHE_DIR": str(Path(tmp) / f"z{i}")}))
            index.knobs.latency_s = args.latency_ms / 1000
            times["cold"].append(run(lock, {**base_env, "TORCHPIN_CACHE_DIR": str(Path(tmp) / f"c{i}")}))
            before = sum(srv.main.full.values())
            hits = sum(srv.hits().values())
            times["warm"].append(run(lock, warm_env))
            warm_requests += sum(srv.hits().values()) - hits
            times["stale"].append(run(lock, {**warm_env, "TORCHPIN_CACHE_MAX_AGE": "0"}))
            warm_full += sum(srv.main.full.values()) - before
        med = {name: statistics.median(v) for name, v in times.items()}
        for name, value in med.items():
            print(f"{name:<18} median {value:7.1f} ms (n={args.runs})")
        waiting = med["cold"] - med["cold, no latency"]
        print(
            f"waiting added by {args.latency_ms:g} ms latency on {pages} pages: {waiting:.1f} ms"
            f" = {waiting / args.latency_ms:.2f} round-trips (one at a time would be {pages})"
        )
        revalidations = sum(srv.main.not_modified.values()) - revalidated_before
        off = med["offline"]
        print(f"warm / offline: {med['warm'] / off:.2f}x; stale / offline: {med['stale'] / off:.2f}x")
        print(
            f"warm runs: {warm_requests} requests; stale runs: {warm_full} full page downloads,"
            f" {revalidations} revalidations (304); {sum(srv.hits().values()) - hits_before} requests in all"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
