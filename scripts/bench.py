#!/usr/bin/env python3
"""torchpin against the tools users would pick instead, on the same index and the same machines.

    .venv/bin/python scripts/bench.py [--runs 5] [--install-runs 5] [--workdir DIR] [--write]

The lab (tests/support/lab.py) imitates download.pytorch.org and PyPI over HTTPS on loopback, with
a certificate from a CA made for the run, behind a CONNECT proxy; every tool reaches it through
HTTPS_PROXY + SSL_CERT_FILE (+ PIP_CERT), without this machine's pip config. Fake nvidia-smi,
rocm_agent_enumerator and lspci give each tool the same machine. Three parts:

1. decisions: what each tool picks on 12 machines, and whether that build runs there (judged from
   the snapshot's facts by scripts/bench_judge.py), and whether it is the newest that would;
2. speed and traffic: locking the trio for a CUDA machine, cold and warm, interleaved runs with a
   bare-interpreter baseline, requests counted by the lab, peak RSS;
3. install: the same CPU build into fresh venvs, torchpin (with uv, with pip) against bare uv / pip
   with the same lock (the wheels: torch 2.13.0+cpu from this disk, its dependencies from PyPI).

--write puts the tables into BENCHMARKS.md between its bench markers; the prose stays.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_judge import CPU_ONLY, INFERRED, RUNS, Judge  # noqa: E402
from bench_tools import (  # noqa: E402
    MACOS,
    PY,
    Result,
    lines_pins,
    ltt_argv,
    report_pins,
    setup,
    timed,
    torchpin_argv,
    torchruntime_argv,
    torchruntime_probe,
    uv_argv,
)

from tests.support.fake_index import REAL_TORCH  # noqa: E402
from tests.support.lab import TORCH_REQUIRES, Gpu, Lab, Machine, shims  # noqa: E402

RTX3090 = Gpu("NVIDIA GeForce RTX 3090", "8.6", pci="10de:2204", chip="GA102 [GeForce RTX 3090]")
RTX5090 = Gpu("NVIDIA GeForce RTX 5090", "12.0", pci="10de:2b85", chip="GB202 [GeForce RTX 5090]")
GTX1080 = Gpu("NVIDIA GeForce GTX 1080", "6.1", pci="10de:1b80", chip="GP104 [GeForce GTX 1080]")
H100 = Gpu("NVIDIA H100 80GB HBM3", "9.0", pci="10de:2330", chip="GH100 [H100 SXM5 80GB]")
T4 = Gpu("Tesla T4", "7.5", pci="10de:1eb8", chip="TU104GL [Tesla T4]")
V100 = Gpu("Tesla V100-PCIE-16GB", "7.0", pci="10de:1db4", chip="GV100GL [Tesla V100 PCIe 16GB]")
RTX4090 = Gpu("NVIDIA GeForce RTX 4090", "8.9", pci="10de:2684", chip="AD102 [GeForce RTX 4090]")
A100 = Gpu("NVIDIA A100-SXM4-40GB", "8.0", pci="10de:20b0", chip="GA100 [A100 SXM4 40GB]")
RTX4070 = Gpu("NVIDIA GeForce RTX 4070", "8.9", pci="10de:2786", chip="AD104 [GeForce RTX 4070]")
RX7900 = Gpu("AMD Radeon RX 7900 XTX", gfx="gfx1100", pci="1002:744c", chip="Navi 31 [Radeon RX 7900 XT/7900 XTX]")

MACHINES = [
    Machine("RTX 3090 (8.6), driver 550", driver="550.54.15", gpus=(RTX3090,)),
    Machine("RTX 5090 (12.0), driver 570", driver="570.86.15", gpus=(RTX5090,)),
    Machine("GTX 1080 (6.1), driver 580", driver="580.65.06", gpus=(GTX1080,)),
    Machine("H100 (9.0), driver 580", driver="580.65.06", gpus=(H100,)),
    Machine("T4 (7.5), driver 470", driver="470.256.02", gpus=(T4,)),
    Machine("V100 (7.0), driver 580", driver="580.65.06", gpus=(V100,)),
    Machine("GTX 1080 + RTX 4090, driver 560", driver="560.35.03", gpus=(GTX1080, RTX4090)),
    Machine("no GPU"),
    Machine("A100 (8.0), driver 535", driver="535.104.05", gpus=(A100,)),
    Machine("Windows, RTX 4070 (8.9), driver 560", os="windows", driver="560.94", gpus=(RTX4070,)),
    Machine("AMD RX 7900 XTX (gfx1100)", gpus=(RX7900,)),
    Machine("Apple arm64 (macOS)", os="macos", arch="arm64"),
]
TOOLS = ("torchpin", "uv --torch-backend auto", "light-the-torch", "torchruntime")


def no_pins(_: str) -> dict[str, str]:
    return {}


def json_pins(text: str) -> dict[str, str]:
    return {p["name"]: p["version"] for p in json.loads(text)["packages"]}


class Bench:
    def __init__(self, lab: Lab, bins: dict[str, Path], work: Path) -> None:
        self.lab, self.bins, self.work = lab, bins, work
        self.base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PIP_", "UV_", "TORCHPIN_", "LTT_", "CUDA_", "NVIDIA_"))
            and "proxy" not in k.lower()
            and k not in ("REQUESTS_CA_BUNDLE", "SSL_CERT_DIR", "PYTHONDONTWRITEBYTECODE")
        }
        self.base.update(lab.env())

    def env(self, m: Machine, **extra: str) -> dict[str, str]:
        bin_dir = shims(m, self.work / "machines" / m.label.replace(" ", "_").replace("/", "_"))
        return {**self.base, "PATH": f"{bin_dir}:/usr/bin:/bin", **extra}

    def run(self, argv: list[str], env: dict[str, str], pins: Callable[[str], dict[str, str]]) -> Result:
        before = self.lab.requests()
        code, out, err, wall, rss = timed(argv, env)
        got = pins(out) if code == 0 else {}
        note = "" if code == 0 else (err.strip().splitlines() or ["no output"])[-1][:160]
        return Result(got, code, wall, rss, self.lab.requests() - before, note)

    def pick(self, tool: str, m: Machine, cache: Path) -> Result:
        """One tool's pick for the trio on machine ``m`` (``cache``: that tool's cache folder)."""
        env = self.env(m)
        out = self.work / "out"
        out.mkdir(exist_ok=True)
        if tool == "torchpin":
            env["TORCHPIN_CACHE_DIR"] = str(cache)
            return self.run(torchpin_argv(m), env, json_pins)
        if tool.startswith("uv"):
            if m.os == "macos":  # uv's own default for aarch64-apple-darwin is an older macOS
                env["MACOSX_DEPLOYMENT_TARGET"] = MACOS
            req = out / "trio.in"
            req.write_text("torch\ntorchvision\ntorchaudio\n")
            return self.run(uv_argv(self.bins, m, req, cache), env, lines_pins)
        report = out / f"{tool}.json"
        report.unlink(missing_ok=True)
        if tool == "light-the-torch":
            return self.run(ltt_argv(self.bins, m, report, cache), env, lambda _: report_pins(report))
        probe = torchruntime_probe(m, out)
        start = time.perf_counter()
        code, text, err, wall, rss = timed(
            [str(self.bins["torchruntime"] / "python"), str(out / "harness.py"), str(probe)], env
        )
        decision = json.loads(text) if code == 0 else {"error": err.strip()[-160:]}
        if "error" in decision:
            return Result({}, 1, wall, rss, 0, decision["error"])
        result = self.run(torchruntime_argv(self.bins, decision, m, report, cache), env, lambda _: report_pins(report))
        result.wall_ms = (time.perf_counter() - start) * 1000
        result.max_rss_kb = max(result.max_rss_kb, rss)
        result.note = f"platform {decision['platform']}" + (f"; {result.note}" if result.note else "")
        return result


# ---- 1. decisions ---------------------------------------------------------------------------------


def decisions(bench: Bench, judge: Judge) -> list[str]:
    rows = ["| machine | newest build that runs | " + " | ".join(TOOLS) + " |", "|---" * (len(TOOLS) + 2) + "|"]
    # Every run decides from empty caches: a cache of an earlier lab (other certificates, other
    # stand-in bytes) would fail the tools for reasons of no machine's.
    shutil.rmtree(bench.work / "caches" / "decisions", ignore_errors=True)
    score = dict.fromkeys(TOOLS, 0)
    newest_count = dict.fromkeys(TOOLS, 0)
    for m in MACHINES:
        newest, variants = judge.newest(m)
        maybe, maybe_variants = judge.newest(m, (RUNS, INFERRED))
        cells = []
        for tool in TOOLS:
            r = bench.pick(tool, m, bench.work / "caches" / "decisions" / tool.split()[0])
            if not r.pins.get("torch"):
                cells.append(f"❌ failed (exit {r.code}): {r.note}".replace("|", "/"))
                continue
            verdict, why = judge.verdict(m, r.pins)
            picked = " ".join(f"{n} {r.pins[n]}" for n in ("torch", "torchvision", "torchaudio") if n in r.pins)
            mark = {RUNS: "✅", INFERRED: "✅?", CPU_ONLY: "⚠️"}.get(verdict, "❌")
            version = Version(r.pins["torch"].split("+")[0])
            is_newest = verdict in (RUNS, INFERRED) and bool(newest) and version >= Version(newest)
            score[tool] += verdict in (RUNS, INFERRED) or (verdict == CPU_ONLY and not newest)
            newest_count[tool] += is_newest
            detail = "" if verdict == RUNS else f" — {why}"
            older = " (older than the newest that runs)" if verdict in (RUNS, INFERRED) and not is_newest else ""
            cells.append(f"{mark} {picked}{detail}{older}".replace("|", "/"))
            print(f"bench: {m.label} / {tool}: {mark} {picked}{detail}", file=sys.stderr, flush=True)
        best = f"{newest} ({', '.join(variants)})" if newest else "none"
        if maybe and maybe != newest:
            best += f"; {maybe} ({', '.join(v for v in maybe_variants)}) if its inferred facts hold"
        rows.append(f"| {m.label} | {best} | " + " | ".join(cells) + " |")
    rows.append(f"| **runs (of {len(MACHINES)})** | | " + " | ".join(str(score[t]) for t in TOOLS) + " |")
    rows.append("| **newest that runs** | | " + " | ".join(str(newest_count[t]) for t in TOOLS) + " |")
    return rows


# ---- 2. speed and traffic -------------------------------------------------------------------------


DASH = "\u2013"  # the en dash of a min-max range


def speed(bench: Bench, runs: int, rtt_ms: float) -> list[str]:
    """The speed table with the lab's network at ``rtt_ms`` round-trip time (0: loopback as is)."""
    bench.lab.proxy.delay = rtt_ms / 2000
    m = MACHINES[0]
    caches = bench.work / "caches" / "speed"
    shutil.rmtree(caches, ignore_errors=True)
    exe = str(Path(sys.executable).with_name("torchpin"))
    cases: list[tuple[str, Callable[[int], Result]]] = [
        ("python -c pass (baseline)", lambda i: bench.run([sys.executable, "-c", "pass"], bench.env(m), no_pins)),
        (
            "torchpin lock --offline",
            lambda i: bench.run([exe, "lock", "--offline", "--python-version", PY], bench.env(m), lines_pins),
        ),
        ("torchpin detect", lambda i: bench.run([exe, "detect", "--json"], bench.env(m), no_pins)),
    ]

    def pick(tool: str, cache: str) -> Callable[[int], Result]:
        return lambda i: bench.pick(tool, m, caches / cache.format(tool=tool.split(maxsplit=1)[0], i=i))

    def full(cache: str) -> Callable[[int], Result]:
        """torchpin's decision and uv's resolution of everything else: the like-for-like row for
        ``uv pip compile --torch-backend auto``, which resolves the trio's dependencies too."""

        def run(i: int) -> Result:
            folder = caches / cache.format(i=i)
            env = bench.env(m, TORCHPIN_CACHE_DIR=str(folder / "tp"), UV_CACHE_DIR=str(folder / "uv"))
            env["PATH"] = f"{bench.bins['uv']}:{env['PATH']}"  # the same uv the uv rows run
            return bench.run([exe, "lock", "--full", "--python-version", PY], env, lines_pins)

        return run

    for tool in TOOLS:
        cases.append((f"{tool}, cold", pick(tool, "{tool}-cold-{i}")))  # a new cache every run
        cases.append((f"{tool}, warm", pick(tool, "{tool}-warm")))
        if tool == "torchpin":
            cases.append(("torchpin lock --full, cold", full("full-cold-{i}")))
            cases.append(("torchpin lock --full, warm", full("full-warm")))
    for _, case in cases:  # warm-up: fills the warm caches, writes bytecode
        case(-1)
    results: dict[str, list[Result]] = {name: [] for name, _ in cases}
    for i in range(runs):
        for name, case in cases:
            results[name].append(case(i))
    base = statistics.median(r.wall_ms for r in results[cases[0][0]])
    offline = statistics.median(r.wall_ms for r in results["torchpin lock --offline"])
    rows = [
        f"| what | x torchpin --offline | x baseline | median ms (min{DASH}max) | packages locked | requests"
        " | peak RSS MiB | exit |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, rs in results.items():
        ms = statistics.median(r.wall_ms for r in rs)
        req = statistics.median(r.requests for r in rs)
        rss = max(r.max_rss_kb for r in rs) / 1024
        codes = ",".join(sorted({str(r.code) for r in rs}))
        lo, hi = min(r.wall_ms for r in rs), max(r.wall_ms for r in rs)
        locked = ",".join(sorted({str(len(r.pins)) for r in rs})) if any(r.pins for r in rs) else DASH
        rows.append(
            f"| {name} | {ms / offline:.2f} | {ms / base:.1f} | {ms:.0f} ({lo:.0f}{DASH}{hi:.0f}) | {locked} | {req:g}"
            f" | {rss:.0f} | {codes} |"
        )
    return rows


# ---- 3. install -----------------------------------------------------------------------------------


def wheelhouse(folder: Path) -> Path:
    """torch 2.13.0's dependencies, fetched from PyPI once (outside the lab) for the lab's PyPI."""
    done = folder / ".complete-2"
    if not done.exists():
        env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
        env["PIP_CONFIG_FILE"] = os.devnull
        deps = list(TORCH_REQUIRES)  # torch 2.13.0's Requires-Dist
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "--dest", str(folder), *deps],
            check=True,
            env=env,
        )
        done.write_text("ok")
    return folder


def install(bench: Bench, runs: int) -> list[str]:
    m = MACHINES[7]  # no GPU: the CPU build is the right one
    exe = str(Path(sys.executable).with_name("torchpin"))
    lock = bench.work / "install" / "lock.txt"
    lock.parent.mkdir(parents=True, exist_ok=True)
    env = bench.env(
        m,
        TORCHPIN_CACHE_DIR=str(bench.work / "caches" / "install-tp"),
        UV_CACHE_DIR=str(bench.work / "caches" / "install-uv"),
        PIP_CACHE_DIR=str(bench.work / "caches" / "install-pip"),
    )
    made = subprocess.run(
        [exe, "lock", "torch==2.13.0", "--backend", "cpu", "--python-version", PY, "-o", str(lock)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        return [f"(no install benchmark: the lock failed: {made.stderr.strip()[-200:]})"]
    uv = str(bench.bins["uv"] / "uv")
    cases: dict[str, Callable[[str], list[str]]] = {
        "torchpin install --lock (uv)": lambda v: [
            exe,
            "install",
            "--lock",
            str(lock),
            "--installer",
            "uv",
            "--python",
            v,
            "--no-verify",
        ],
        "uv pip install -r (bare)": lambda v: [uv, "pip", "install", "-r", str(lock), "--python", v],
        "torchpin install --lock (pip)": lambda v: [
            exe,
            "install",
            "--lock",
            str(lock),
            "--installer",
            "pip",
            "--python",
            v,
            "--no-verify",
        ],
        "pip install -r (bare)": lambda v: [str(Path(v).parent / "pip"), "install", "-q", "-r", str(lock)],
    }
    env["PATH"] = f"{bench.bins['uv']}:{env['PATH']}"  # torchpin finds the same uv
    results: dict[str, list[Result]] = {name: [] for name in cases}
    for i in range(-1, runs):  # run -1 fills the uv and pip caches
        for name, argv in cases.items():
            venv = bench.work / "install" / f"venv-{len(results[name])}-{name.split()[0]}"
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env)
            r = bench.run(argv(str(venv / "bin" / "python")), env, no_pins)
            ask = "import importlib.metadata as m; print(m.version('torch'))"
            got = subprocess.run([str(venv / "bin" / "python"), "-c", ask], capture_output=True, text=True, check=False)
            r.note = got.stdout.strip() or "torch not installed"
            if i >= 0:
                results[name].append(r)
            shutil.rmtree(venv, ignore_errors=True)
    rows = [
        f"| install into a fresh venv | torchpin overhead | median s (min{DASH}max) | installed | exit |",
        "|---|---|---|---|---|",
    ]
    med = {n: statistics.median(r.wall_ms for r in rs) / 1000 for n, rs in results.items()}
    for name, rs in results.items():
        bare = med["uv pip install -r (bare)" if "uv" in name else "pip install -r (bare)"]
        over = f"+{med[name] - bare:.2f} s ({med[name] / bare:.2f}x)" if name.startswith("torchpin") else ""
        codes = ",".join(sorted({str(r.code) for r in rs}))
        spread = f"{min(r.wall_ms for r in rs) / 1000:.2f}{DASH}{max(r.wall_ms for r in rs) / 1000:.2f}"
        installed = ", ".join(sorted({r.note for r in rs}))
        rows.append(f"| {name} | {over} | {med[name]:.2f} ({spread}) | {installed} | {codes} |")
    return rows


def machine_line() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return f"{os.cpu_count()} cores ({cpu}), Linux {platform.release()}, CPython {platform.python_version()}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="interleaved runs per speed case (default 5)")
    ap.add_argument(
        "--rtt",
        type=float,
        nargs="+",
        default=[0.0, 20.0],
        metavar="MS",
        help="round-trip times the lab's network gets for the speed table (default: 0 20)",
    )
    ap.add_argument("--install-runs", type=int, default=5, help="runs per install case; 0 skips them")
    ap.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "torchpin-bench")
    ap.add_argument("--write", action="store_true", help="put the tables into BENCHMARKS.md")
    args = ap.parse_args()
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    bins = setup(work / "peers")
    house = wheelhouse(work / "wheelhouse") if args.install_runs and REAL_TORCH.exists() else None
    started = time.time()
    with Lab(work / "lab", house) as lab:
        bench = Bench(lab, bins, work)
        parts = {"decisions": decisions(bench, Judge())}
        for rtt in args.rtt:
            parts[f"speed, round trip {rtt:g} ms"] = speed(bench, args.runs, rtt)
        if house:
            parts["install"] = install(bench, args.install_runs)
        refused = dict(lab.proxy.refused)
    took = time.time() - started
    rtts = " ".join(f"{r:g}" for r in args.rtt)
    cmd = f"python scripts/bench.py --runs {args.runs} --install-runs {args.install_runs} --rtt {rtts}"
    import torchpin

    # An editable install starts slower than a plain one and flatters every ratio to the baseline.
    how = "an editable install" if Path(torchpin.__file__).resolve().is_relative_to(ROOT) else "a `pip install .` venv"
    head = [
        f"Made by `{cmd}` from {how} on {time.strftime('%Y-%m-%d')}, {machine_line()}; {took / 60:.1f} min.",
        f"Requests the proxy refused (hosts outside the lab): {refused or 'none'}.",
    ]
    text = "\n".join(head) + "\n"
    titles = {"decisions": "Decisions: what each tool installs, and whether it runs there"}
    for name, rows in parts.items():
        title = titles.get(
            name,
            f"Speed and traffic: the trio for an RTX 3090 on R550, {name.split(', ', 1)[1]}"
            if name.startswith("speed")
            else "Install: the same CPU build into a fresh venv",
        )
        text += f"\n### {title}\n\n" + "\n".join(rows) + "\n"
    print(text)
    if args.write:
        path = ROOT / "BENCHMARKS.md"
        doc = path.read_text() if path.exists() else "<!-- bench:begin -->\n<!-- bench:end -->\n"
        start, end = doc.index("<!-- bench:begin -->"), doc.index("<!-- bench:end -->")
        path.write_text(doc[: start + len("<!-- bench:begin -->")] + "\n" + text + doc[end:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
