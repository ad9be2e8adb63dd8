"""Turn TARGET flags (strings) into a ``Target``; pure, so every bad input is table-tested."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from torchpin.errors import UsageError
from torchpin.facts.wheels import nearest_names, parse_variant
from torchpin.models import (
    PROJECTS,
    Accelerator,
    CudaCompat,
    DriverVersion,
    Gpu,
    PythonTarget,
    Requirement,
    Target,
    Variant,
)

from .platforms import parse_python_platform


def parse_python_version(text: str) -> PythonTarget:
    """``3.12`` / ``3.14t`` / ``cp312``; only CPython 3 has PyTorch wheels."""
    m = re.fullmatch(r"(?:cp)?(\d)\.?(\d{1,2})(t?)", text.strip().lower())
    if not m:
        raise UsageError(
            f"--python-version {text!r} is not a Python version", hint="expected X.Y or X.Yt, e.g. 3.12 or 3.14t"
        )
    if m[1] != "3":
        raise UsageError(f"--python-version {text}: PyTorch ships wheels for CPython 3 only", hint="use e.g. 3.12")
    if int(m[2]) > 20:  # one minor a year: 3.20 is a decade out, 3.99 a typo
        raise UsageError(f"--python-version {text}: no such CPython", hint="use e.g. 3.12")
    return PythonTarget(3, int(m[2]), bool(m[3]))


def parse_os_version(text: str, flag: str) -> Version:
    try:
        v = Version(text)
    except InvalidVersion:
        raise UsageError(f"{flag} {text!r} is not a version", hint="expected X.Y, e.g. 2.31") from None
    if len(v.release) < 2:
        raise UsageError(f"{flag} {text!r} needs a minor version", hint="expected X.Y, e.g. 2.31")
    return v


# NVIDIA's Linux/Windows driver branches run from R3xx (2012) to R6xx (2026); a branch a few
# years out is plausible, a four-digit or two-digit one is a typo.
DRIVER_BRANCHES = (300, 799)


def parse_driver(text: str) -> DriverVersion:
    hint = "expected e.g. 550.54.15 (nvidia-smi shows it)"
    if not re.fullmatch(r"\d{3}(\.\d+){0,2}", text.strip()):
        raise UsageError(f"--driver {text!r} is not an NVIDIA driver version", hint=hint)
    branch = int(text.strip().split(".")[0])
    if not DRIVER_BRANCHES[0] <= branch <= DRIVER_BRANCHES[1]:
        raise UsageError(f"--driver {text}: no NVIDIA driver branch R{branch} exists", hint=hint)
    return DriverVersion(text.strip())


def parse_cc(text: str) -> tuple[int, int]:
    """``8.6`` or ``sm_86`` → (8, 6)."""
    t = text.strip().lower()
    m = re.fullmatch(r"(\d{1,2})\.(\d)", t) or re.fullmatch(r"sm_?(\d{1,2})(\d)", t)
    if not m or int(m[1]) < 1:
        raise UsageError(
            f"--gpu-cc {text!r} is not a compute capability",
            hint="expected X.Y, e.g. 8.6 (nvidia-smi --query-gpu=compute_cap)",
        )
    return int(m[1]), int(m[2])


def parse_gfx(text: str) -> str:
    """``gfx1100``: GCN/CDNA ``gfx6xx``-``gfx9xx`` and RDNA ``gfx10xx``-``gfx12xx`` (``gfx13xx`` as the next)."""
    t = text.strip().lower()
    if not re.fullmatch(r"gfx([6-9][0-9a-f]{2}|1[0-3][0-9a-f]{2})", t):
        raise UsageError(
            f"--amd-gfx {text!r} is not an AMD GPU architecture", hint="expected e.g. gfx1100 (rocminfo shows it)"
        )
    return t


def parse_backend(text: str, known: Sequence[str]) -> Variant | None:
    """``auto`` → None; otherwise a variant the snapshot knows, with 'did you mean' on typos."""
    if text.strip().lower() == "auto":
        return None
    try:
        variant = parse_variant(text)
    except UsageError:
        variant = None
    if variant is None or variant.name not in known:
        near = nearest_names(text, list(known))
        hint = f"did you mean {' or '.join(near)}?" if near else "known: auto, " + ", ".join(known)
        raise UsageError(f"unknown backend {text!r}", hint=hint)
    return variant


# Names uv routes to the variant index whose pairing with torch no recorded fact says.
UNPAIRED = {
    "torchtune": "its wheels declare no torch, and its publisher states no pairing (it was wound down in 2025)",
    "pytorch-triton": "it is the nightly triton build, and torchpin locks releases",
}


# Pure-Python packages of the ecosystem whose compiled parts torchpin locks under other names.
FROM_PYPI = {
    "torch-geometric": "it is pure Python on PyPI; its compiled extensions are pyg-lib, torch-scatter, torch-sparse,"
    " torch-cluster and torch-spline-conv, which torchpin locks",
}


def parse_requirement(text: str, *, where: str = "") -> Requirement:
    """A torch-family requirement string; a marker is kept and later evaluated for the target."""
    from packaging.requirements import InvalidRequirement
    from packaging.requirements import Requirement as PkgRequirement

    try:
        req = PkgRequirement(text)
    except InvalidRequirement as e:
        # packaging's message is three lines with a caret diagram: its first line says it.
        first = str(e).splitlines()[0].rstrip(". ")
        raise UsageError(f"{where}bad requirement {text!r}: {first}", hint="e.g. 'torch>=2.4,<2.6'") from None
    name = canonicalize_name(req.name)
    if name in UNPAIRED:
        raise UsageError(
            f"{where}torchpin can't pair {name} with a torch build yet: {UNPAIRED[name]}",
            hint=f"lock torch here, then install {name} from the same index (README: the PyTorch ecosystem)",
        )
    if name in FROM_PYPI:
        raise UsageError(
            f"{where}{name} is not built per torch: {FROM_PYPI[name]}",
            hint=f"lock the torch family here, then install {name} from PyPI beside it",
        )
    if name not in PROJECTS:
        near = ["torch"] if name == "pytorch" else nearest_names(name, list(PROJECTS), n=1)
        raise UsageError(
            f"{where}torchpin locks {', '.join(PROJECTS)}; {text!r} is not one of them",
            hint=f"did you mean {near[0]}?" if near else "install other packages from PyPI as usual",
        )
    if req.url:
        raise UsageError(
            f"{where}{text!r}: a direct URL can't be locked (torchpin picks the file)", hint="give a version range"
        )
    if req.extras:
        raise UsageError(
            f"{where}{text!r}: extras are not locked", hint=f"lock {name} here; install the extras' packages from PyPI"
        )
    return Requirement(str(name), req.specifier, str(req.marker) if req.marker else None)


def marker_environment(target: Target) -> dict[str, str]:
    """PEP 508 marker values of the target (not of this machine)."""
    os_name = target.platform.os
    machine: str = target.platform.arch
    if os_name == "windows":
        machine = "AMD64" if machine == "x86_64" else "ARM64"
    elif os_name == "macos":
        machine = "arm64" if machine == "aarch64" else "x86_64"
    py = f"{target.python.major}.{target.python.minor}"
    return {
        "python_version": py,
        "python_full_version": f"{py}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "implementation_version": f"{py}.0",
        "os_name": "nt" if os_name == "windows" else "posix",
        "sys_platform": {"linux": "linux", "windows": "win32", "macos": "darwin"}[os_name],
        "platform_system": {"linux": "Linux", "windows": "Windows", "macos": "Darwin"}[os_name],
        "platform_machine": machine,
        "platform_release": "",
        "platform_version": "",
        "extra": "",
    }


def applicable(requirements: Sequence[Requirement], target: Target) -> list[Requirement]:
    """The requirements whose markers hold on the target; given ones that all drop out are an error."""
    if all(r.marker is None for r in requirements):
        return list(requirements)  # and packaging.markers (3 ms) is never imported
    from packaging.markers import Marker

    env = marker_environment(target)
    kept = [r for r in requirements if r.marker is None or Marker(r.marker).evaluate(env)]
    if requirements and not any(not r.constraint for r in kept) and any(not r.constraint for r in requirements):
        raise UsageError(
            f"no requirement applies to the target (CPython {target.python} on {target.platform}): "
            "every one has a marker that is false there",
            hint="check the markers, or describe another target with --python-platform / --python-version",
        )
    return kept


@dataclass(frozen=True)
class TargetFlags:
    """TARGET options as given; None means 'not given'."""

    python_version: str | None = None
    python_platform: str | None = None
    glibc: str | None = None
    macos_version: str | None = None
    driver: str | None = None
    gpu_cc: tuple[str, ...] = ()
    amd_gfx: tuple[str, ...] = ()
    backend: str = "auto"
    cuda_compat: CudaCompat = "minor"
    no_detect: bool = False


def build_target(flags: TargetFlags, host: Target, known_variants: Sequence[str]) -> Target:
    """Flags win over the host's facts; another OS than the host's never inherits its GPUs."""
    platform = host.platform
    accelerator = host.accelerator
    if flags.no_detect:
        accelerator = Accelerator()
    if flags.python_platform:
        platform = parse_python_platform(flags.python_platform)
        if (platform.os, platform.arch) != (host.platform.os, host.platform.arch):
            accelerator = Accelerator()
    if flags.glibc:
        platform = replace(platform, glibc=parse_os_version(flags.glibc, "--glibc"))
    if flags.macos_version:
        platform = replace(platform, macos=parse_os_version(flags.macos_version, "--macos-version"))
    gpus = tuple(Gpu(cc=parse_cc(c)) for c in flags.gpu_cc)
    gfx = tuple(Gpu(gfx=parse_gfx(g)) for g in flags.amd_gfx)
    if gpus and gfx:
        raise UsageError("--gpu-cc and --amd-gfx describe different machines", hint="give one kind of GPU per target")
    if flags.driver or gpus:
        # Each flag replaces its own part of what was detected: --gpu-cc keeps the driver
        # (or an image's CUDA hint), --driver keeps the GPUs but drops NVML's now-stale CUDA.
        base = accelerator if accelerator.kind == "cuda" else Accelerator("cuda")
        accelerator = Accelerator(
            "cuda",
            parse_driver(flags.driver) if flags.driver else base.driver,
            gpus or base.gpus,
            cuda_max=None if flags.driver else base.cuda_max,
        )
    elif gfx:
        accelerator = Accelerator("rocm", None, gfx)
    if platform.os == "macos" and (flags.driver or gpus or gfx):
        given = "--amd-gfx" if gfx else "--gpu-cc" if gpus else "--driver"
        raise UsageError(
            f"{given} describes an {'AMD' if gfx else 'NVIDIA'} GPU, but the target is macOS: "
            "PyTorch has no CUDA or ROCm builds for macOS (Apple GPUs use the default build's MPS)",
            hint=f"drop {given} for a Mac, or give --python-platform linux / windows for a GPU machine",
        )
    if accelerator.kind == "none" and platform.os == "macos" and platform.arch == "aarch64":
        accelerator = Accelerator("mps")
    python = parse_python_version(flags.python_version) if flags.python_version else host.python
    return Target(
        python=python,
        platform=platform,
        accelerator=accelerator,
        backend=parse_backend(flags.backend, known_variants),
        cuda_compat=flags.cuda_compat,
    )
