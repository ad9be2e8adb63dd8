"""The tools under test, each in its own venv, and how each one is asked for its pick on a machine.

Pinned peers (installed from PyPI by ``setup``): uv 0.13.9 (``--torch-backend auto``),
light-the-torch 0.8.1 (with the pip 23.2.1 it works with), torchruntime 2.24.0.
uv-torch-compass is not run: it installs every candidate build for real and probes it on the
GPU, which this lab (no GPU, tiny stand-in wheels) can't give it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.lab import Machine

PEERS = {
    "uv": ["uv==0.13.9"],
    "ltt": ["light-the-torch==0.8.1", "pip==23.2.1"],
    "torchruntime": ["torchruntime==2.24.0"],
}
TRIO = ["torch", "torchvision", "torchaudio"]
PY = "3.11"  # every tool's venv runs this Python here, so no tool has to resolve for another
UV_PLATFORM = {"windows": "x86_64-pc-windows-msvc", "macos": "aarch64-apple-darwin"}
MACOS = "15.0"  # the Mac of the table runs macOS 15; each tool is told so in its own way
PIP_PLATFORM = {"windows": ["win_amd64"], "macos": [f"macosx_{MACOS.replace('.', '_')}_arm64"]}


def setup(folder: Path) -> dict[str, Path]:
    """One venv per peer, made once; returns each venv's bin folder."""
    out = {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull  # this machine's find-links and constraints stay out
    for name, pins in PEERS.items():
        venv = folder / name
        done = venv / ".installed"
        if not done.exists() or done.read_text() != " ".join(pins):
            print(f"bench: installing {' '.join(pins)} into {venv}", file=sys.stderr, flush=True)
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
            subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *pins], check=True, env=env)
            done.write_text(" ".join(pins))
        out[name] = venv / "bin"
    return out


@dataclass
class Result:
    pins: dict[str, str]
    code: int
    wall_ms: float
    max_rss_kb: int
    requests: int
    note: str = ""


GNU_TIME = "/usr/bin/time"
RSS_MARK = "bench-maxrss-kib="


def timed(argv: Sequence[str], env: dict[str, str], cwd: Path | None = None) -> tuple[int, str, str, float, int]:
    """Run to the end: (exit code, stdout, stderr, wall ms, peak RSS in KiB of the largest process).

    The peak comes from GNU time, which forks the command from its own small process: a child
    forked straight from this (large) benchmark would report this process's RSS as its peak.
    """
    wrap = [GNU_TIME, "-f", RSS_MARK + "%M"] if Path(GNU_TIME).exists() else []
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        code = subprocess.run([*wrap, *argv], stdout=out, stderr=err, env=env, cwd=cwd, check=False).returncode
        wall = (time.perf_counter() - start) * 1000
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    rss = 0
    if wrap and RSS_MARK in stderr:
        stderr, _, tail = stderr.rpartition(RSS_MARK)
        rss = int(tail.strip() or 0)
    return code, stdout, stderr, wall, rss


def torchpin_argv(m: Machine) -> list[str]:
    """torchpin detects a Linux machine itself; another OS is described with the TARGET options."""
    argv = [str(Path(sys.executable).with_name("torchpin")), "lock", "--format", "json", "--python-version", PY]
    if m.os == "linux":
        return argv
    argv += ["--python-platform", m.os, *(["--macos-version", MACOS] if m.os == "macos" else [])]
    if m.driver:
        argv += ["--driver", m.driver, *(a for g in m.nvidia for a in ("--gpu-cc", str(g.cc)))]
    return argv


def uv_argv(bins: dict[str, Path], m: Machine, req_in: Path, cache: Path) -> list[str]:
    argv = [
        str(bins["uv"] / "uv"),
        "pip",
        "compile",
        str(req_in),
        "--torch-backend",
        "auto",
        "--python-version",
        PY,
        "--no-header",
        "--quiet",
        "--cache-dir",
        str(cache),
    ]
    return argv + (["--python-platform", UV_PLATFORM[m.os]] if m.os in UV_PLATFORM else [])


def pip_target(m: Machine, folder: Path) -> list[str]:
    """pip's options for resolving for another OS than this one (ltt and torchruntime run pip)."""
    if m.os not in PIP_PLATFORM:
        return []
    plats = [a for p in PIP_PLATFORM[m.os] for a in ("--platform", p)]
    return [
        *plats,
        "--python-version",
        PY,
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--target",
        str(folder / "target"),
    ]


def ltt_argv(bins: dict[str, Path], m: Machine, report: Path, cache: Path) -> list[str]:
    return [
        str(bins["ltt"] / "ltt"),
        "install",
        "--dry-run",
        "--ignore-installed",
        "--report",
        str(report),
        "--cache-dir",
        str(cache),
        *pip_target(m, report.parent),
        *TRIO,
    ]


HARNESS = r"""
import json, sys
M = json.load(open(sys.argv[1]))
from torchruntime import device_db, installer, platform_detection
system = {"linux": "Linux", "windows": "Windows", "macos": "Darwin"}[M["os"]]
device_db.os_name = platform_detection.os_name = installer.os_name = system
platform_detection.arch = {"windows": "amd64"}.get(M["os"], M["arch"])
device_db.get_linux_output = lambda: M["lspci"]
device_db.get_windows_output = lambda: M["wmi"]
device_db.get_macos_output = lambda: M["profiler"]
try:
    chosen = platform_detection.get_torch_platform(device_db.get_gpus(), M["packages"])
    print(json.dumps({"platform": chosen, "commands": installer.get_install_commands(chosen, M["packages"])}))
except Exception as e:
    print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
"""


def torchruntime_probe(m: Machine, folder: Path) -> Path:
    """torchruntime's view of the machine: what its OS probes (lspci / WMI / system_profiler) print."""
    lspci = "\n".join(
        f"0{i + 1}:00.0 VGA compatible controller [0300]: {g.chip} [{g.pci}]" for i, g in enumerate(m.gpus)
    )
    wmi = "\n".join(
        f"PCI\\VEN_{g.pci[:4].upper()}&DEV_{g.pci[5:].upper()}&SUBSYS_00000000&REV_A1\\4&0&0&0008" for g in m.gpus
    )
    apple = {"sppci_model": "Apple M3", "spdisplays_vendor": "sppci_vendor_Apple"}  # no PCI ids on Apple silicon
    profiler = json.dumps({"SPDisplaysDataType": [apple]})
    path = folder / "torchruntime-machine.json"
    path.write_text(
        json.dumps({"os": m.os, "arch": m.arch, "lspci": lspci, "wmi": wmi, "profiler": profiler, "packages": TRIO})
    )
    (folder / "harness.py").write_text(HARNESS)
    return path


def torchruntime_argv(
    bins: dict[str, Path], decision: dict[str, Any], m: Machine, report: Path, cache: Path
) -> list[str]:
    """torchruntime's first install command (the trio and its index), as pip --dry-run --report."""
    first = decision["commands"][0]
    return [
        str(bins["torchruntime"] / "python"),
        "-m",
        "pip",
        "install",
        "--dry-run",
        "--ignore-installed",
        "--report",
        str(report),
        "--cache-dir",
        str(cache),
        *pip_target(m, report.parent),
        *first,
    ]


def report_pins(path: Path) -> dict[str, str]:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {i["metadata"]["name"]: i["metadata"]["version"] for i in doc.get("install", [])}


def lines_pins(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        if "==" in line and not line.startswith(("#", " ")):
            name, version = line.split("==", 1)
            pins[name.strip()] = version.split()[0].split(";")[0]
    return pins
