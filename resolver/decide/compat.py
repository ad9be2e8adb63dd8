"""Single-fact compatibility rules the policy combines: driver, GPU arch, gfx, OS floor."""

from __future__ import annotations

from torchpin.facts.snapshot import ArchList, Catalog
from torchpin.models import STATUS_RANK, CudaCompat, DriverVersion, Gpu, PlatformTarget, Status, Variant

# Jetson iGPUs get their own SASS: a discrete-GPU sm_X0 kernel does not cover them.
JETSON_IGPU = frozenset({(5, 3), (6, 2), (7, 2), (8, 7)})


def usable(status: Status, *, live: bool = False) -> bool:
    """Unconfirmed facts count only when the live index has confirmed them."""
    return live or STATUS_RANK[status] > STATUS_RANK["unconfirmed"]


def _os_key(platform: PlatformTarget) -> str:
    return "windows" if platform.os == "windows" else "linux"


def driver_floor(
    catalog: Catalog, variant: Variant, platform: PlatformTarget, rule: CudaCompat
) -> DriverVersion | None:
    """The minimum NVIDIA driver for a CUDA variant under the rule (None: unknown)."""
    major = variant.cuda_major
    if major is None:
        return None
    minor = catalog.minor_compat.get(major, {}).get(_os_key(platform))
    if rule == "minor":
        return minor
    # A variant whose toolkit minimum NVIDIA never published (cu134) falls back to the minor rule.
    return full_floor(catalog, variant, platform) or minor


def full_floor(catalog: Catalog, variant: Variant, platform: PlatformTarget) -> DriverVersion | None:
    """The toolkit's own driver minimum (Windows 13.x: the driver branch NVIDIA names)."""
    facts = catalog.cuda_variants.get(variant.name)
    return (facts.full_windows if platform.os == "windows" else facts.full_linux) if facts else None


def driver_cuda_major(catalog: Catalog, driver: DriverVersion, platform: PlatformTarget) -> int | None:
    """The newest CUDA major this driver runs under minor-version compatibility."""
    majors = [m for m, floors in catalog.minor_compat.items() if driver >= floors[_os_key(platform)]]
    return max(majors) if majors else None


def full_support(catalog: Catalog, variant: Variant, platform: PlatformTarget, driver: DriverVersion) -> bool:
    """Whether the driver meets the variant's own toolkit minimum (no compatibility mode needed);
    an unpublished minimum is never 'full' support."""
    floor = full_floor(catalog, variant, platform)
    return floor is not None and driver >= floor


def lowest_driver(catalog: Catalog, platform: PlatformTarget) -> DriverVersion | None:
    floors = [f[_os_key(platform)] for f in catalog.minor_compat.values()]
    return min(floors) if floors else None


def cc_covered(cc: tuple[int, int], arch: ArchList) -> str | None:
    """How a GPU runs a build: 'sass' or 'ptx', or None when it has no kernels for it.

    SASS for X.Y runs on X.Z with Z >= Y (same major); PTX for the highest arch
    JIT-compiles on any newer GPU; Jetson iGPUs need their own SASS.
    """
    if cc in JETSON_IGPU:
        return "sass" if cc in arch.sass else None
    for major, minor in arch.sass:
        if (major, minor) in JETSON_IGPU:
            continue
        if major == cc[0] and minor <= cc[1]:
            return "sass"
    if arch.ptx is not None and cc >= arch.ptx:
        return "ptx"
    return None


def arch_text(arch: ArchList) -> str:
    sass = " ".join(f"sm_{a}{b}" for a, b in arch.sass)
    return sass + (f" +PTX(compute_{arch.ptx[0]}{arch.ptx[1]})" if arch.ptx else "")


def gpu_label(gpu: Gpu) -> str:
    if gpu.cc is not None:
        return f"sm_{gpu.cc[0]}{gpu.cc[1]}" + (f" ({gpu.name})" if gpu.name else "")
    return str(gpu)
