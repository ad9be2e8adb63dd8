"""What detection found on a machine, and the accelerator that follows from it (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from torchpin.models import Accelerator, DriverVersion, Gpu, PlatformTarget, PythonTarget, Target


@dataclass(frozen=True)
class GpuInfo:
    """One detected GPU with the probe that reported it."""

    index: int
    name: str | None
    cc: tuple[int, int] | None
    memory_mib: int | None
    uuid: str | None
    source: str


@dataclass(frozen=True)
class NvidiaInfo:
    """NVIDIA facts; ``gpus`` is every GPU, ``visible`` those CUDA_VISIBLE_DEVICES leaves."""

    driver: str | None
    driver_source: str | None
    kernel_module: str | None
    cuda_max: str | None
    gpus: tuple[GpuInfo, ...]
    visible: tuple[GpuInfo, ...]


@dataclass(frozen=True)
class AmdInfo:
    gfx: tuple[str, ...]
    rocm_version: str | None
    source: str


@dataclass(frozen=True)
class Host:
    """Everything ``detect`` learned, each GPU fact with its source, and what went wrong as notes."""

    python: PythonTarget
    implementation: str
    bits: int
    executable: str
    platform: PlatformTarget
    rosetta: bool = False
    wsl: bool = False
    container: str | None = None
    jetson: str | None = None
    jetson_cc: tuple[int, int] | None = None
    nvidia: NvidiaInfo | None = None
    amd: AmdInfo | None = None
    intel: tuple[str, ...] = ()
    cuda_hint: tuple[int, int] | None = None
    cuda_hint_source: str | None = None
    notes: tuple[str, ...] = ()
    hostname: str | None = None  # names the node in a fleet's inventories
    x86_64_level: str | None = None  # v1..v4 from the CPU's flags (x86-64 Linux only)


def _cc_text(cc: tuple[int, int] | None) -> str:
    return f"{cc[0]}.{cc[1]}" if cc else "?"


def decide(host: Host) -> tuple[Accelerator, str]:
    """The accelerator a lock should target, and which fact decided it (in words)."""
    if host.platform.os == "macos":
        if host.platform.arch == "aarch64":
            return Accelerator("mps"), "Apple silicon: PyPI's macOS build (CPU + MPS)"
        if host.rosetta:
            return Accelerator(), "x86_64 Python under Rosetta: Intel macOS wheels only (CPU); an arm64 Python gets MPS"
        return Accelerator(), "Intel macOS: CPU only"
    nv = host.nvidia
    if nv and (nv.visible or nv.driver):
        gpus = tuple(Gpu(cc=g.cc, name=g.name) for g in nv.visible)
        names = ", ".join(f"{g.name or 'GPU'} ({_cc_text(g.cc)})" for g in nv.visible) or "no GPU visible"
        cuda_max = tuple(int(p) for p in nv.cuda_max.split(".")) if nv.cuda_max else None
        driver = DriverVersion(nv.driver) if nv.driver else None
        return (
            Accelerator("cuda", driver, gpus, cuda_max=cuda_max),  # type: ignore[arg-type]
            f"NVIDIA driver {nv.driver or 'unknown'} ({nv.driver_source}); {names}",
        )
    if host.jetson:
        return (
            Accelerator("cuda", None, (Gpu(cc=host.jetson_cc, name="Jetson iGPU"),)),
            f"Jetson (L4T {host.jetson}): download.pytorch.org has no Jetson wheels; use NVIDIA's Jetson builds",
        )
    if host.amd and host.amd.gfx:
        return Accelerator("rocm", None, tuple(Gpu(gfx=g) for g in host.amd.gfx)), (
            f"AMD {', '.join(host.amd.gfx)} ({host.amd.source})"
        )
    if host.intel:
        return Accelerator("xpu", None, ()), f"Intel discrete GPU(s) {', '.join(host.intel)} (PCI)"
    if host.cuda_hint:
        major, minor = host.cuda_hint
        return (
            Accelerator("cuda", None, (), cuda_max=host.cuda_hint),
            f"no GPU visible; {host.cuda_hint_source} says this image targets CUDA {major}.{minor} (a docker build?)",
        )
    return Accelerator(), "no GPU found"


def host_target(host: Host) -> Target:
    """The target for this machine: its Python, platform and accelerator, auto backend."""
    return Target(host.python, host.platform, decide(host)[0])


def _gpu_json(g: GpuInfo) -> dict[str, object]:
    return {
        "index": g.index,
        "name": g.name,
        "cc": _cc_text(g.cc) if g.cc else None,
        "memory_mib": g.memory_mib,
        "uuid": g.uuid,
        "source": g.source,
    }


def host_json(host: Host, overrides: dict[str, str]) -> dict[str, object]:
    """``torchpin detect --json`` (schema 1): every fact with its source, then the decision."""
    accel, decided_by = decide(host)
    nv = host.nvidia
    plat = host.platform
    return {
        "schema": 1,
        "hostname": host.hostname,
        "python": {
            "version": str(host.python),
            "implementation": host.implementation,
            "bits": host.bits,
            "freethreaded": host.python.freethreaded,
            "executable": host.executable,
        },
        "platform": {
            "os": plat.os,
            "arch": plat.arch,
            "key": plat.key,
            "glibc": str(plat.glibc) if plat.glibc else None,
            "musl": plat.musl,
            "macos": str(plat.macos) if plat.macos else None,
            "rosetta": host.rosetta,
            "wsl": host.wsl,
            "container": host.container,
            "x86_64_level": host.x86_64_level,
        },
        "nvidia": None
        if nv is None
        else {
            "driver": nv.driver,
            "driver_source": nv.driver_source,
            "kernel_module": nv.kernel_module,
            "cuda_max": nv.cuda_max,
            "gpus": [_gpu_json(g) for g in nv.gpus],
            "visible": [g.index for g in nv.visible],
        },
        "amd": None
        if host.amd is None
        else {"gfx": list(host.amd.gfx), "rocm_version": host.amd.rocm_version, "source": host.amd.source},
        "intel": list(host.intel),
        "jetson": None if host.jetson is None else {"l4t": host.jetson, "cc": _cc_text(host.jetson_cc)},
        "build_hint": None
        if host.cuda_hint is None
        else {"cuda": _cc_text(host.cuda_hint), "source": host.cuda_hint_source},
        "accelerator": {
            "kind": accel.kind,
            "driver": str(accel.driver) if accel.driver else None,
            "gpus": [str(g) for g in accel.gpus],
            "cuda_max": _cc_text(accel.cuda_max) if accel.cuda_max else None,
        },
        "decided_by": decided_by,
        "overrides": overrides,
        "notes": list(host.notes),
    }
