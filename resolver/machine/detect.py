"""Probe the machine torchpin runs on (edge module). Never imports torch, never raises.

Every probe returns a value or None plus a note. Native NVIDIA calls run in a
subprocess with a timeout (a broken driver can hang). Paths are read under
``TORCHPIN_SYSROOT`` (default ``/``) so tests can lay out a fake machine.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torchpin import proc

from . import probes
from .host import AmdInfo, GpuInfo, Host, NvidiaInfo
from .interpreter import host_platform, host_python
from .variants import x86_64_level

if TYPE_CHECKING:
    from torchpin.proc import Done

DEFAULT_TIMEOUT = 5.0


@dataclass
class _Ctx:
    root: Path
    env: Mapping[str, str]
    timeout: float
    notes: list[str] = field(default_factory=list)

    def path(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    def read(self, absolute: str) -> str | None:
        try:
            return self.path(absolute).read_text(errors="replace")
        except OSError:
            return None

    def which(self, name: str) -> str | None:
        # shutil.which without importing shutil: most runs look up one or two names.
        for folder in self.env.get("PATH", os.defpath).split(os.pathsep):
            candidate = Path(folder or ".") / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
        return None

    def run(self, argv: list[str], what: str) -> Done | None:
        """A probe process (``proc.run``: own session, killed whole on timeout); None + a note if it failed."""

        try:
            return proc.run(argv, timeout=self.timeout, env=self.env)
        except proc.NotStarted as e:
            self.notes.append(f"{what}: could not start ({e.reason})")
        except proc.TimedOut:
            self.notes.append(
                f"{what} did not answer within {self.timeout:g} s (a hung driver?); its facts are missing"
            )
        return None


def detect_host(environ: Mapping[str, str]) -> Host:
    """Probe this machine; ``environ`` is the command's environment (PATH, TORCHPIN_SYSROOT, CUDA_*)."""
    env = dict(environ)
    ctx = _Ctx(Path(env.get("TORCHPIN_SYSROOT", "/")), env, _timeout(env))
    plat = host_platform(ctx.root)
    host = Host(
        python=host_python(),
        implementation=platform.python_implementation(),
        bits=64 if sys.maxsize > 2**32 else 32,
        executable=sys.executable,
        platform=plat,
    )
    if host.implementation != "CPython":
        ctx.notes.append(f"{host.implementation} has no PyTorch wheels; use CPython")
    if host.bits != 64:
        ctx.notes.append("a 32-bit Python has no PyTorch wheels; install a 64-bit Python")
    wsl = probes.is_wsl(ctx.read("/proc/version") or "")
    rosetta = plat.os == "macos" and probes.is_rosetta(platform.machine(), _proc_translated())
    if rosetta:
        ctx.notes.append("this is an x86_64 Python under Rosetta on Apple silicon: install an arm64 Python for MPS")
    l4t = probes.parse_tegra_release(ctx.read("/etc/nv_tegra_release") or "")
    jetson_cc = None
    if l4t:
        chip = (ctx.read("/sys/module/tegra_fuse/parameters/tegra_chip_id") or "").strip()
        jetson_cc = probes.TEGRA_CC.get(int(chip, 0)) if chip.isdigit() or chip.startswith("0x") else None
        ctx.notes.append(f"Jetson L4T {l4t}: the PyTorch index has no Jetson wheels; use NVIDIA's Jetson wheels")
    nvidia = _nvidia(ctx, wsl) if plat.os != "macos" else None
    amd = _amd(ctx) if plat.os == "linux" else None
    intel = _intel(ctx) if plat.os == "linux" else ()
    hint = probes.parse_cuda_hint(env.get("CUDA_VERSION"), env.get("NVIDIA_REQUIRE_CUDA"))
    hint_source = None
    if hint:
        hint_source = f"CUDA_VERSION={env['CUDA_VERSION']}" if env.get("CUDA_VERSION") else "NVIDIA_REQUIRE_CUDA"
    return Host(
        python=host.python,
        implementation=host.implementation,
        bits=host.bits,
        executable=host.executable,
        platform=plat,
        rosetta=rosetta,
        wsl=wsl,
        container=_container(ctx),
        jetson=l4t,
        jetson_cc=jetson_cc,
        nvidia=nvidia,
        amd=amd,
        intel=intel,
        cuda_hint=hint,
        cuda_hint_source=hint_source,
        notes=tuple(ctx.notes),
        hostname=(ctx.read("/proc/sys/kernel/hostname") or platform.node()).strip() or None,
        x86_64_level=_x86_64_level(ctx) if plat.os == "linux" and plat.arch == "x86_64" else None,
    )


def _x86_64_level(ctx: _Ctx) -> str | None:
    """The CPU's x86-64 level from the first processor's flags in /proc/cpuinfo (None: unreadable)."""
    text = ctx.read("/proc/cpuinfo")
    flags = next(
        (line.partition(":")[2].split() for line in (text or "").splitlines() if line.startswith("flags")), None
    )
    return x86_64_level(set(flags)) if flags else None


def _nvidia(ctx: _Ctx, wsl: bool) -> NvidiaInfo | None:
    kernel = probes.parse_sys_module_version(ctx.read("/sys/module/nvidia/version") or "")
    proc = probes.parse_proc_driver_version(ctx.read("/proc/driver/nvidia/version") or "")
    kernel = kernel or proc
    smi = ctx.which("nvidia-smi") or (str(ctx.path("/usr/lib/wsl/lib/nvidia-smi")) if wsl else None)
    if smi and not Path(smi).exists():
        smi = None
    signs = (
        kernel or smi or ctx.path("/dev/nvidiactl").exists() or ctx.path("/usr/lib/wsl/lib/libnvidia-ml.so.1").exists()
    )
    if sys.platform == "win32":
        dlls, exes = probes.windows_nvidia_paths(dict(ctx.env))
        signs = signs or any(Path(p).exists() for p in dlls)
        smi = smi or next((p for p in exes if Path(p).exists()), None)
    if not signs:
        return None
    driver, source, cuda, gpus = None, None, None, []
    nvml = _nvml(ctx)
    if nvml and nvml.get("status") == "ok":
        driver, source, cuda = nvml.get("driver"), "NVML", nvml.get("cuda")
        for g in nvml.get("gpus", []):
            gpus.append(
                GpuInfo(
                    g["index"], g.get("name"), probes.parse_cc(g.get("cc")), g.get("memory_mib"), g.get("uuid"), "NVML"
                )
            )
    elif nvml and nvml.get("status") == "init_failed":
        rc = nvml.get("rc")
        detail = "reboot needed (kernel module and user-space driver differ)" if rc == 18 else nvml.get("detail")
        ctx.notes.append(f"NVML failed to initialize (error {rc}): {detail}")
    if not gpus and smi and nvml is not None:
        driver2, gpus2 = _smi(ctx, smi)
        if gpus2 or driver2:
            driver, source, gpus = driver or driver2, source or "nvidia-smi", gpus2
    if driver is None and kernel:
        driver, source = (
            kernel,
            "/sys/module/nvidia" if ctx.read("/sys/module/nvidia/version") else "/proc/driver/nvidia",
        )
    if kernel and driver and kernel != driver and source in ("NVML", "nvidia-smi"):
        ctx.notes.append(
            f"kernel module {kernel} but user-space driver {driver}: reboot needed to finish the driver update"
        )
    visible = _visible(ctx, gpus)
    return NvidiaInfo(driver, source, kernel, cuda, tuple(gpus), tuple(visible))


def _nvml(ctx: _Ctx) -> dict[str, Any] | None:
    """NVML in a subprocess; None when it could not run at all (a timeout is noted)."""
    script = Path(__file__).with_name("nvml_probe.py")
    done = ctx.run([sys.executable, "-I", "-S", str(script)], "the NVML probe")
    if done is None:
        return None
    try:
        result: dict[str, Any] = json.loads(done.stdout)
    except ValueError:
        ctx.notes.append(f"the NVML probe failed (exit {done.returncode}): {done.stderr.strip()[-200:]}")
        return {"status": "crashed"}
    return result


def _smi(ctx: _Ctx, smi: str) -> tuple[str | None, list[GpuInfo]]:
    for fields, with_cc in ((probes.SMI_FIELDS, True), (probes.SMI_FIELDS_OLD, False)):
        done = ctx.run([smi, f"--query-gpu={fields}", "--format=csv,noheader,nounits"], "nvidia-smi")
        if done is None:
            return None, []
        failure = probes.smi_failure(done.stdout, done.stderr)
        if failure == "old-driver" and with_cc:
            continue  # drivers before compute_cap existed: ask again without it, map names
        if failure or done.returncode != 0:
            ctx.notes.append(f"nvidia-smi: {failure or done.stderr.strip() or f'exit {done.returncode}'}")
            return None, []
        rows = probes.parse_smi_query(done.stdout, with_cc=with_cc)
        if not with_cc:
            unknown = [r.name for r in rows if r.cc is None]
            ctx.notes.append("nvidia-smi is too old to report compute capability; mapped from GPU names")
            if unknown:
                ctx.notes.append(
                    f"compute capability unknown for {', '.join(n or '?' for n in unknown)}; give --gpu-cc"
                )
        gpus = [GpuInfo(r.index, r.name, r.cc, r.memory_mib, r.uuid, "nvidia-smi") for r in rows]
        return (rows[0].driver if rows else None), gpus
    return None, []


def _visible(ctx: _Ctx, gpus: list[GpuInfo]) -> list[GpuInfo]:
    nv_env = ctx.env.get("NVIDIA_VISIBLE_DEVICES")
    if nv_env in ("void", "none", ""):
        ctx.notes.append(f"NVIDIA_VISIBLE_DEVICES={nv_env}: the container runtime exposes no GPU")
    raw = ctx.env.get("CUDA_VISIBLE_DEVICES")
    spec = probes.parse_visible_devices(raw)
    if spec.entries is None:
        return gpus
    chosen = [
        g for g in gpus if str(g.index) in spec.entries or (g.uuid and any(g.uuid.startswith(e) for e in spec.entries))
    ]
    ctx.notes.append(f"CUDA_VISIBLE_DEVICES={raw}: {len(chosen)} of {len(gpus)} GPUs visible to CUDA programs")
    if len(gpus) > 1 and "CUDA_DEVICE_ORDER" not in ctx.env:
        ctx.notes.append("set CUDA_DEVICE_ORDER=PCI_BUS_ID so CUDA's GPU numbers match nvidia-smi's")
    return chosen


def _amd(ctx: _Ctx) -> AmdInfo | None:
    gfx: list[str] = []
    source = "KFD topology"
    nodes = ctx.path("/sys/class/kfd/kfd/topology/nodes")
    if nodes.is_dir():
        for node in sorted(nodes.iterdir(), key=lambda p: p.name):
            name = probes.parse_kfd_properties(_read_path(node / "properties"))
            if name:
                gfx.append(name)
    if not gfx and (enum := ctx.which("rocm_agent_enumerator")):
        done = ctx.run([enum, "-name"], "rocm_agent_enumerator")
        gfx = probes.parse_rocm_agents(done.stdout) if done else []
        source = "rocm_agent_enumerator"
    if not gfx:
        return None
    rocm_path = ctx.env.get("ROCM_PATH", "/opt/rocm")
    version = probes.parse_rocm_version(ctx.read(f"{rocm_path}/.info/version") or "")
    if override := ctx.env.get("HSA_OVERRIDE_GFX_VERSION"):
        ctx.notes.append(f"HSA_OVERRIDE_GFX_VERSION={override} makes ROCm report another GPU than the hardware")
    return AmdInfo(tuple(dict.fromkeys(gfx)), version, source)


def _intel(ctx: _Ctx) -> tuple[str, ...]:
    devices = ctx.path("/sys/bus/pci/devices")
    found = []
    if devices.is_dir():
        for dev in sorted(devices.iterdir()):
            vendor, device, cls = (_read_path(dev / f) for f in ("vendor", "device", "class"))
            if probes.is_intel_discrete(vendor, device, cls):
                found.append(device.strip())
    return tuple(found)


def _container(ctx: _Ctx) -> str | None:
    if ctx.path("/.dockerenv").exists():
        return "docker"
    if ctx.path("/run/.containerenv").exists():
        return "podman"
    if kind := ctx.env.get("container"):
        return kind
    cgroup = ctx.read("/proc/1/cgroup") or ""
    for marker in ("kubepods", "docker", "containerd", "lxc"):
        if marker in cgroup:
            return marker
    return None


def _read_path(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _proc_translated() -> int | None:
    """sysctl.proc_translated via libc (no fork): 1 under Rosetta, 0 native, None elsewhere."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        value = ctypes.c_int(0)
        size = ctypes.c_size_t(ctypes.sizeof(value))
        if libc.sysctlbyname(b"sysctl.proc_translated", ctypes.byref(value), ctypes.byref(size), None, 0) != 0:
            return None
        return value.value
    except (OSError, AttributeError, TypeError):
        return None


def _timeout(env: Mapping[str, str]) -> float:
    try:
        return max(0.1, float(env.get("TORCHPIN_PROBE_TIMEOUT", DEFAULT_TIMEOUT)))
    except ValueError:
        return DEFAULT_TIMEOUT
