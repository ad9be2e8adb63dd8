"""This machine in the wheel-variant providers' own terms (PEP 817/825; pure): the properties the
NVIDIA, AMD and x86-64 providers would report here, and the variables each provider reads to
report them for a machine it doesn't run on, so a variant-aware installer can be told about
another machine (a docker build, a cluster node) with what ``detect --json`` found there.

Names and values follow the providers' sources (wheelnext nvidia-, amd-, x86-64 variant
providers): ``nvidia :: cuda_version_lower_bound`` is every CUDA version the driver runs, newest
first (``12.9`` … ``12.0``, ``12``, ``11.20`` … ``11``); ``nvidia :: sm_arch`` the highest GPU's
``{major}{minor}_real`` down to ``{major}0_real``, then ``{major}0_virtual``; ``amd :: gfx_arch``
every gfx target; ``x86_64 :: level`` ``v4`` … ``v1`` from the CPU's flags. Intel's ``device_ip``
needs Level Zero, which torchpin doesn't load: it is left out, with a note.
"""

from __future__ import annotations

from typing import Any

from .host import Host

# The CUDA versions the NVIDIA provider knows (its UMD_MAJOR_RANGE and UMD_MINOR_RANGE).
_CUDA_MAJORS = range(11, 16)
_CUDA_MINORS = range(21)
# x86-64 micro-architecture levels (the psABI), each adding these /proc/cpuinfo flags.
X86_LEVELS: tuple[tuple[str, frozenset[str]], ...] = (
    ("v2", frozenset({"cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3"})),
    ("v3", frozenset({"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"})),
    ("v4", frozenset({"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"})),
)


def x86_64_level(flags: set[str]) -> str:
    """The highest level whose flags (and every lower level's) the CPU has; v1 is any x86-64."""
    level = "v1"
    for name, needs in X86_LEVELS:
        if not needs <= flags:
            break
        level = name
    return level


def cuda_lower_bounds(cuda: tuple[int, int]) -> list[str]:
    major, minor = cuda
    out: list[str] = []
    for m in range(major, min(_CUDA_MAJORS) - 1, -1):
        top = minor if m == major else max(_CUDA_MINORS)
        out += [f"{m}.{n}" for n in range(top, -1, -1)] + [str(m)]
    return out


def sm_arch(cc: tuple[int, int]) -> list[str]:
    major, minor = cc
    return [f"{major}{n}_real" for n in range(minor, -1, -1)] + [f"{major}0_virtual"]


def variant_properties(host: Host) -> dict[str, Any]:
    """``detect --json``'s ``variant_properties``: per namespace, per feature, the values in the
    provider's priority order; and ``provider_env``, the variables that make each provider report
    this machine anywhere."""
    props: dict[str, dict[str, list[str]]] = {}
    env: dict[str, str] = {}
    notes: list[str] = []
    nv = host.nvidia
    if nv is not None:
        cuda = _version(nv.cuda_max)
        if cuda is not None and cuda[0] in _CUDA_MAJORS:
            props.setdefault("nvidia", {})["cuda_version_lower_bound"] = cuda_lower_bounds(cuda)
            env["NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION"] = f"{cuda[0]}.{cuda[1]}"
        ccs = [g.cc for g in nv.visible if g.cc is not None]
        if ccs:
            top = max(ccs)
            props.setdefault("nvidia", {})["sm_arch"] = sm_arch(top)
            env["NV_VARIANT_PROVIDER_FORCE_SM_ARCH"] = f"{top[0]}.{top[1]}"
            if len(set(ccs)) > 1:
                notes.append("the NVIDIA provider reports the highest GPU only: sm_arch says nothing of the others")
    if host.amd is not None and host.amd.gfx:
        props["amd"] = {"gfx_arch": list(host.amd.gfx)}
        env["AMD_VARIANT_PROVIDER_GFX_ARCH"] = ",".join(host.amd.gfx)
        if host.amd.rocm_version:
            props["amd"]["rocm_version"] = [host.amd.rocm_version]
            env["AMD_VARIANT_PROVIDER_ROCM_VERSION"] = host.amd.rocm_version
    if host.x86_64_level is not None:
        levels = [f"v{n}" for n in range(int(host.x86_64_level[1]), 0, -1)]
        props["x86_64"] = {"level": levels}
    if host.intel:
        notes.append("intel :: device_ip needs Level Zero (the Intel provider reads it); torchpin reads PCI IDs only")
    return {
        "properties": [
            f"{ns} :: {feature} :: {values[0]}" for ns, fs in props.items() for feature, values in fs.items()
        ],
        "supported": props,
        "provider_env": env,
        "notes": notes,
    }


def _version(text: str | None) -> tuple[int, int] | None:
    major, _, minor = (text or "").partition(".")
    return (int(major), int(minor)) if major.isdigit() and minor.isdigit() else None
