#!/usr/bin/env python3
"""Time `torchpin install` against bare uv and pip on a GB-size torch wheel, cold and warm.

    python scripts/bench_install.py [--size-mb 1024] [--runs 3] [--rtt 0] [--against REV] [--no-pip]

The lab (tests/support/lab.py) plays download.pytorch.org and PyPI over HTTPS behind its proxy;
the newest CPU torch for this CPython is served as a stand-in of --size-mb (random bytes, stored:
every byte is downloaded, hashed and unpacked). Every case installs that build into a fresh venv
(made before the clock starts): bare `uv pip install -r` / `pip install -r` of the lock,
`torchpin install --lock` of that lock and of its JSON form (each wheel by URL and sha256), and
`torchpin install` planning it live. Cold: empty caches (the installer's and torchpin's) for
every run; warm: each case's own caches, filled by an untimed run first. "wheel reads" is how
often the lab served the whole big wheel per run. With --against REV the torchpin cases also run as
REV's code (`python -m torchpin`, like this revision's rows marked [-m]), interleaved.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchutil import other_revision  # noqa: E402

from tests.support.fake_index import FakePytorchIndex, Knobs  # noqa: E402
from tests.support.lab import COMPANION_REQUIRES, TORCH_REQUIRES, Lab  # noqa: E402
from tests.support.newest import TORCH  # noqa: E402

DASH = "\u2013"
CP = f"cp{sys.version_info.major}{sys.version_info.minor}"
WHEEL = f"torch-{TORCH}+cpu-{CP}-{CP}-manylinux_2_28_x86_64.whl"


def _record_hash(data_hash: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(data_hash).rstrip(b"=").decode()


def big_wheel(folder: Path, size_mb: int) -> Path:
    """The stand-in: torch's METADATA (its real Requires-Dist) and ``size_mb`` MiB of random bytes."""
    path = folder / f"{size_mb}MB" / WHEEL
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    info = f"torch-{TORCH}+cpu.dist-info"
    files = {
        "torch/__init__.py": f"__version__ = '{TORCH}+cpu'\n".encode(),
        f"{info}/METADATA": (
            f"Metadata-Version: 2.1\nName: torch\nVersion: {TORCH}+cpu\n"
            + "".join(f"Requires-Dist: {r}\n" for r in TORCH_REQUIRES)
        ).encode(),
        f"{info}/WHEEL": (
            f"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: false\nTag: {CP}-{CP}-manylinux_2_28_x86_64\n"
        ).encode(),
    }
    record = []
    tmp = path.with_suffix(".part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
        for name, body in files.items():
            zf.writestr(name, body)
            record.append(f"{name},{_record_hash(hashlib.sha256(body).digest())},{len(body)}")
        digest = hashlib.sha256()
        with zf.open("torch/_payload.bin", "w", force_zip64=True) as f:
            for _ in range(size_mb):
                chunk = os.urandom(1 << 20)
                digest.update(chunk)
                f.write(chunk)
        record.append(f"torch/_payload.bin,{_record_hash(digest.digest())},{size_mb << 20}")
        zf.writestr(f"{info}/RECORD", "\n".join([*record, f"{info}/RECORD,,"]) + "\n")
    tmp.rename(path)
    return path


@dataclass
class Case:
    name: str
    installer: str  # "uv" | "pip": which bare case it is compared with
    argv: list[str]  # {python} is replaced by the fresh venv's interpreter
    env: dict[str, str] = field(default_factory=dict)
    times: dict[str, list[float]] = field(default_factory=lambda: {"cold": [], "warm": []})
    reads: dict[str, list[int]] = field(default_factory=lambda: {"cold": [], "warm": []})
    codes: set[int] = field(default_factory=set)


def cases(work: Path, uv: str, torchpin: list[str], pkg: str | None, rev: str | None, pip: bool) -> list[Case]:
    lock, jlock = str(work / "lock.txt"), str(work / "lock.json")
    plan = ["install", f"torch=={TORCH}", "--backend", "cpu", "--no-detect", "--no-fallback"]
    tail = ["--python", "{python}", "--no-verify"]
    out: list[Case] = []
    for inst in ("uv", *(["pip"] if pip else [])):
        bare = (
            [uv, "pip", "install", "--python", "{python}", "-r", lock]
            if inst == "uv"
            else ["{pip}", "install", "-q", "-r", lock]
        )
        out.append(Case(f"{inst} pip install -r (bare)" if inst == "uv" else "pip install -r (bare)", inst, bare))
        ours = {
            f"torchpin install --lock (requirements, {inst})": ["install", "--lock", lock, "--installer", inst, *tail],
            f"torchpin install --lock (json, {inst})": ["install", "--lock", jlock, "--installer", inst, *tail],
            f"torchpin install (plan, {inst})": [*plan, "--installer", inst, "-o", "{lockout}", *tail],
        }
        for name, args in ours.items():
            out.append(Case(name, inst, [*torchpin, *args]))
            if pkg is not None:
                out.append(
                    Case(f"{name} @ {rev}", inst, [sys.executable, "-m", "torchpin", *args], {"PYTHONPATH": pkg})
                )
    return out


def run_one(case: Case, lab: Lab, env: dict[str, str], work: Path, caches: Path) -> tuple[float, int, int]:
    venv = work / "venv"
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run(
        [sys.executable, "-m", "venv", *([] if case.installer == "pip" else ["--without-pip"]), str(venv)], check=True
    )
    py = str(venv / "bin" / "python")
    argv = [
        a.replace("{python}", py)
        .replace("{pip}", str(venv / "bin" / "pip"))
        .replace("{lockout}", str(work / "out.txt"))
        for a in case.argv
    ]
    run_env = {
        **env,
        **case.env,
        "UV_CACHE_DIR": str(caches / "uv"),
        "PIP_CACHE_DIR": str(caches / "pip"),
        "TORCHPIN_CACHE_DIR": str(caches / "torchpin"),
    }
    before = reads(lab)
    t = time.perf_counter()
    done = subprocess.run(argv, env=run_env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t
    if done.returncode != 0:
        print(f"  {case.name}: exit {done.returncode}: {done.stderr.strip()[-400:]}", file=sys.stderr)
    got = subprocess.run(
        [py, "-c", "import importlib.metadata as m; print(m.version('torch'))"],
        capture_output=True,
        text=True,
        check=False,
    )
    if got.stdout.strip() != f"{TORCH}+cpu":
        print(
            f"  {case.name}: torch not installed ({got.stdout.strip() or got.stderr.strip()[-200:]})", file=sys.stderr
        )
        return wall, reads(lab) - before, done.returncode or 99
    return wall, reads(lab) - before, done.returncode


def reads(lab: Lab) -> int:
    """Whole answers with the big wheel so far (not HEADs, 304s or other files)."""
    return sum(server.full[f"/whl/cpu/{WHEEL}"] for server in (lab.pytorch.main, lab.pytorch.cdn))


def table(all_cases: Sequence[Case]) -> list[str]:
    rows = [
        f"| install into a fresh venv | cache | median s (min{DASH}max) | x bare | overhead | wheel reads | exit |",
        "|---|---|---|---|---|---|---|",
    ]
    for temp in ("cold", "warm"):
        bare = {
            c.installer: statistics.median(c.times[temp]) for c in all_cases if "(bare)" in c.name and c.times[temp]
        }
        for c in all_cases:
            ts = c.times[temp]
            if not ts:
                continue
            med = statistics.median(ts)
            b = bare.get(c.installer)
            ratio = f"{med / b:.3f}" if b and "(bare)" not in c.name else ""
            over = f"{med - b:+.2f} s" if b and "(bare)" not in c.name else ""
            reads = ",".join(str(r) for r in sorted(set(c.reads[temp])))
            codes = ",".join(map(str, sorted(c.codes)))
            spread = f"{min(ts):.2f}{DASH}{max(ts):.2f}"
            rows.append(f"| {c.name} | {temp} | {med:.2f} ({spread}) | {ratio} | {over} | {reads} | {codes} |")
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rtt", type=float, default=0.0, help="round trip added by the lab's proxy, ms")
    ap.add_argument("--against", metavar="REV", help="also run the torchpin cases as git revision REV")
    ap.add_argument("--no-pip", action="store_true", help="uv cases only (pip takes ~10x longer)")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "torchpin-bench-install")
    args = ap.parse_args()
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    torchpin = [str(Path(sys.executable).with_name("torchpin"))]
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    big = big_wheel(work / "wheels", args.size_mb)
    knobs = Knobs(torch_requires=TORCH_REQUIRES, companion_requires=COMPANION_REQUIRES, files={WHEEL: big})
    started = time.monotonic()
    with other_revision(args.against) as pkg, Lab(work / "lab", index=FakePytorchIndex(knobs=knobs)) as lab:
        lab.proxy.delay = args.rtt / 2000
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "TORCHPIN_", "VIRTUAL_ENV"))}
        env.update(lab.env())
        env["PATH"] = f"{Path(uv).parent}:{env['PATH']}"  # torchpin finds the same uv
        for fmt, out in (("requirements", "lock.txt"), ("json", "lock.json")):
            made = subprocess.run(
                [
                    *torchpin,
                    "lock",
                    f"torch=={TORCH}",
                    "--backend",
                    "cpu",
                    "--no-detect",
                    "--format",
                    fmt,
                    "-o",
                    str(work / out),
                ],
                env={**env, "TORCHPIN_CACHE_DIR": str(work / "lockcache")},
                capture_output=True,
                text=True,
                check=False,
            )
            if made.returncode != 0:
                print(made.stderr, file=sys.stderr)
                return 1
        all_cases = cases(work, uv, torchpin, pkg, args.against, not args.no_pip)
        for temp in ("warm", "cold"):
            if temp == "warm":
                for i, c in enumerate(all_cases):  # each case's own caches, filled once untimed
                    run_one(c, lab, env, work, work / "warm" / str(i))
            for r in range(args.runs):
                for i, c in enumerate(all_cases):
                    caches = work / "warm" / str(i) if temp == "warm" else work / "cold"
                    if temp == "cold":
                        shutil.rmtree(caches, ignore_errors=True)
                    wall, reads, code = run_one(c, lab, env, work, caches)
                    c.times[temp].append(wall)
                    c.reads[temp].append(reads)
                    c.codes.add(code)
                print(f"{temp} round {r + 1}/{args.runs} done", file=sys.stderr)
    minutes = (time.monotonic() - started) / 60
    print(
        f"Made by `python scripts/bench_install.py --size-mb {args.size_mb} --runs {args.runs} --rtt {args.rtt:g}"
        f"{' --no-pip' if args.no_pip else ''}{f' --against {args.against}' if args.against else ''}` "
        f"({minutes:.1f} min): torch {TORCH}+cpu as a {args.size_mb} MiB stand-in wheel.\n"
    )
    print("\n".join(table(all_cases)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
