"""Why no build fits, and the fix that would really help (pure): the exit-3 message.

The decisive gap is picked by the kind of fact (``Rejection.kind``), never by reading the
policy's prose: a platform with no build at all, then the user's own pins, then what the
GPUs lack, what the driver lacks, what a companion lacks, and last what is merely unconfirmed.
"""

from __future__ import annotations

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from torchpin.errors import NoCompatibleBuild, UsageError
from torchpin.facts.wheels import parse_variant
from torchpin.models import Rejection, RejectionKind

from . import compat
from .search import Search

# Lower is more decisive. Release-wide facts (Python, OS floor, platform) rank after the
# build-level ones: older releases often lack a Python the newer ones have, and that is not
# what keeps the newer ones out. Unconfirmed facts come last: confirming them may not help.
_RANK: dict[RejectionKind, int] = {
    "requirement": 0,
    "arch": 1,
    "gfx": 1,
    "driver": 2,
    "companion": 3,
    "index": 4,
    "os-floor": 5,
    "python": 6,
    "platform": 7,
    "status": 9,
}
# Where an AMD GPU missing from a ROCm list has a known stand-in (the ROCm docs' and the
# community's HSA_OVERRIDE_GFX_VERSION workaround): RDNA2 and RDNA3 consumer parts report
# themselves as the family's listed part, which only helps where that part is listed.
_GFX_OVERRIDE = {"gfx103": ("10.3.0", "gfx1030"), "gfx110": ("11.0.0", "gfx1100")}


def no_build(s: Search) -> NoCompatibleBuild:
    t = s.target
    if not s.rejected:
        return NoCompatibleBuild("no torch release matches the requirements")
    jetson = sorted({compat.gpu_label(g) for g in t.accelerator.gpus if g.cc in compat.JETSON_IGPU})
    if jetson and t.backend is None:
        return NoCompatibleBuild(
            f"the PyTorch index has no builds for Jetson iGPUs ({', '.join(jetson)})",
            hint="install NVIDIA's Jetson wheels for your JetPack (or use jetson-containers), or --backend cpu",
        )
    if t.platform.musl:
        return NoCompatibleBuild(
            "PyTorch publishes no musllinux (Alpine) wheels",
            hint="build on a glibc-based image such as python:3.12-slim, or lock for one with --python-platform",
        )
    if t.accelerator.kind == "rocm" and t.platform.key != "linux_x86_64" and t.backend is None:
        return NoCompatibleBuild(
            f"PyTorch publishes ROCm builds for Linux x86_64 only; the target is {t.platform.key}",
            hint="lock a CPU build with --backend cpu, or target Linux x86_64",
        )
    if all(r.kind == "python" for r in s.rejected):
        lo, hi = _python_span(s)
        spec = s.specs.get("torch")
        if spec and _python_fits_elsewhere(s, spec):  # the pin, not the Python, is what shuts it out
            kept = [str(r.version) for r in s.catalog.releases if spec.contains(r.version, prereleases=True)]
            return NoCompatibleBuild(
                f"no torch release matching torch{spec} ({', '.join(reversed(kept[:4]))}"
                f"{' …' if len(kept) > 4 else ''}) has a build for CPython {t.python} on {t.platform.key};"
                f" newer releases do",
                hint=f"widen or drop the pin torch{spec}, or lock for a Python those releases support"
                " with --python-version",
            )
        return NoCompatibleBuild(
            f"no torch release here supports CPython {t.python} on {t.platform.key}"
            f" (torch {s.catalog.releases[-1].version}-{s.catalog.releases[0].version} cover CPython {lo} to {hi})",
            hint="pick a supported Python with --python-version, or install one",
        )
    lowest = compat.lowest_driver(s.catalog, t.platform)
    driver = t.accelerator.driver
    if t.accelerator.kind == "cuda" and driver and lowest and driver < lowest and t.backend is None:
        return NoCompatibleBuild(
            f"NVIDIA driver {driver} is older than any CUDA build of PyTorch needs (minimum {lowest})",
            hint="upgrade the driver, or lock a CPU build with --backend cpu",
        )
    # A build that has kernels for every GPU but needs a newer driver: the driver is the gap,
    # whatever the builds the driver does allow lack.
    blocked = [r for r in s.rejected if r.kind == "driver" and _covers_gpus(s, r)]
    decisive = blocked[0] if blocked else min(_past_kernel_gaps(s, _contenders(s)), key=lambda r: _RANK[r.kind])
    # A build of the same release kept out only because it is unconfirmed may be the answer.
    pending = [
        r
        for r in s.rejected
        if r.kind == "status" and r.release == decisive.release and r is not decisive and _covers_gpus(s, r)
    ]
    # What is unconfirmed about it, said once: the fix says what would confirm it.
    gap = _gap(s, decisive) + (f"; {pending[0].reason.removesuffix(s.unconfirmed_tail)}" if pending else "")
    fix = _fix(s, decisive)
    if pending and not s.catalog.live_pages and decisive.kind != "status":
        fix = f"drop --offline so the live index can confirm {pending[0].variant}, or {fix}"
    error = NoCompatibleBuild(gap, hint=f"{fix}; --explain lists every rejection")
    error.rejections = tuple(s.rejected)
    return error


def _contenders(s: Search) -> list[Rejection]:
    """The rejections that can be the gap. A build that was tried beats a whole release turned
    away (for its Python, OS or platform: a release without the build asked for says nothing);
    and the user's own pins excluding the other builds are only the gap when nothing else is."""
    rejected = s.rejected
    if (forced := s.target.backend) is not None:  # releases with no such build say nothing of it
        key = s.target.platform.key
        having = [r for r in rejected if (rel := s.catalog.release(r.release)) and rel.build(forced.name, key)]
        rejected = having or rejected
    tried = [r for r in rejected if r.variant != "*" and r.kind != "platform"]
    pool = tried or rejected
    return [r for r in pool if r.kind != "requirement"] or pool


def _past_kernel_gaps(s: Search, pool: list[Rejection]) -> list[Rejection]:
    """Without the GPU-kernel gaps of releases older than one whose build has kernels for every
    GPU: that newer build was kept out by something else, and that is the gap."""
    covering = [r for r in pool if r.kind not in ("arch", "gfx") and _covers_gpus(s, r)]
    if not covering:
        return pool
    newest = max(Version(r.release) for r in covering)
    return [r for r in pool if r.kind not in ("arch", "gfx") or Version(r.release) >= newest]


def _covers_gpus(s: Search, r: Rejection) -> bool:
    """Whether the rejected build's (possibly inferred) arch list covers every GPU: only then can
    confirming it, or a newer driver for it, give a lock."""
    release = s.catalog.release(r.release)
    build = release.build(r.variant, s.target.platform.key) if release else None
    gfx = {g.gfx for g in s.target.accelerator.gpus if g.gfx}
    if gfx and build is not None and r.variant.startswith("rocm"):
        listed, _ = s.catalog.gfx(r.variant)
        return gfx <= listed
    ccs = [g.cc for g in s.target.accelerator.gpus if g.cc is not None]
    if build is None or not ccs:
        return build is not None
    return build.arch is not None and all(compat.cc_covered(cc, build.arch) for cc in ccs)


def _gap(s: Search, r: Rejection) -> str:
    """The decisive gap in one line; for GPUs, what each build lacks."""
    t = s.target
    where = f"{t.platform}, CPython {t.python}"
    if r.kind == "arch":
        lacks: dict[str, str] = {}  # variant -> what it lacks, from its newest release
        for x in s.rejected:
            if x.kind == "arch" and x.variant not in lacks and len(lacks) < 4:
                older = "" if x.release == r.release else f" ({x.release})"
                lacks[x.variant] = x.reason.split(" (built for")[0] + older
        gpus = {compat.gpu_label(g) for g in t.accelerator.gpus if g.cc is not None}
        what = "covers every GPU" if len(gpus) > 1 else f"has kernels for {next(iter(gpus), 'the GPU')}"
        return f"no torch {r.release} build {what} on {where}: {'; '.join(lacks.values())}"
    local = _pinned_local(s)
    if r.kind == "requirement" and local and t.backend is None:
        family = _variant_family(local)
        return (
            f"'torch{s.specs['torch']}' asks for a {family} build, and this target ({where}) gets {_family(s)} builds"
        )
    build = "" if r.variant == "*" else f" {r.variant}"
    return f"no torch build fits {where}: newest tried torch {r.release}{build}: {r.reason}"


def _variant_family(local: str) -> str:
    try:
        return parse_variant(local).family.value
    except UsageError:  # a local tag that names no variant (a user's own build)
        return f"+{local}"


def _family(s: Search) -> str:
    kind = s.target.accelerator.kind
    return {"cuda": "CUDA", "rocm": "ROCm", "xpu": "XPU"}.get(kind, "CPU")


def _fix(s: Search, r: Rejection) -> str:
    t = s.target
    on_cpu = t.accelerator.kind == "none" or (t.backend is not None and t.backend.name == "cpu")
    cpu = "" if on_cpu else ", or lock a CPU build with --backend cpu"
    if r.kind == "arch":
        if len({g.cc for g in t.accelerator.gpus if g.cc is not None}) > 1:
            return f"no single build runs on all these GPUs: limit the GPUs with CUDA_VISIBLE_DEVICES{cpu}"
        if local := _pinned_local(s):
            return f"drop the 'torch{s.specs['torch']}' pin to get the newest torch built for this GPU{cpu}"
        return f"pin an older torch whose builds cover this GPU{cpu}"
    if r.kind == "gfx":
        missing = sorted({g.gfx for g in t.accelerator.gpus if g.gfx})
        listed, _ = s.catalog.gfx(r.variant)
        overrides = sorted(
            {
                version
                for g in missing
                for prefix, (version, stand_in) in _GFX_OVERRIDE.items()
                if g.startswith(prefix) and g != stand_in and stand_in in listed
            }
        )
        if overrides:
            return f"HSA_OVERRIDE_GFX_VERSION={overrides[0]} is a known workaround for {', '.join(missing)}{cpu}"
        names = ", ".join(missing)
        elsewhere = any(set(missing) <= gfx for gfx, _ in s.catalog.rocm_gfx.values())
        pin = str(s.specs.get("torch") or "")
        if elsewhere and pin:
            return f"another ROCm build lists {names}: drop or widen the 'torch{pin}' pin{cpu}"
        return f"no ROCm build torchpin knows lists {names}{cpu}"
    if r.kind == "driver":
        floors = [
            floor
            for x in s.rejected
            if x.kind == "driver"
            and x.release == r.release
            and _covers_gpus(s, x)
            and (floor := compat.driver_floor(s.catalog, parse_variant(x.variant), t.platform, t.cuda_compat))
        ]
        to = f" to {min(floors)} or newer" if floors else ""
        return f"upgrade the NVIDIA driver{to} (for torch {r.release}), pin an older torch{cpu}"
    if r.kind == "companion":
        asked = [p for p in s.specs if p != "torch"]
        return f"drop {' / '.join(asked)} or pin an older torch{cpu}"
    if r.kind == "requirement":
        if (local := _pinned_local(s)) and t.backend is None:
            return f"add --backend {local}: a +{local} pin doesn't switch the build family this target gets"
        return "loosen the version requirement"
    if r.kind == "status":
        if s.catalog.live_pages:
            return "the live index did not confirm it: try another --index-url, or pin an older torch"
        return "drop --offline so the live index can confirm it, or pin an older torch"
    if r.kind in ("python", "os-floor"):
        return "pick another --python-version, a newer OS, or an older torch"
    return "use an older torch, change the target, or refresh the snapshot"


def _pinned_local(s: Search) -> str | None:
    """The variant a torch pin names in its local tag (``==2.5.1+cpu`` → cpu), if any."""
    for spec in s.specs["torch"]:
        if "+" in spec.version:
            return spec.version.split("+", 1)[1]
    return None


def _python_fits_elsewhere(s: Search, spec: SpecifierSet) -> bool:
    """A release the user's torch pin excludes has a wheel for the target's Python."""
    tag = s.target.python.tag
    return any(
        not spec.contains(r.version, prereleases=True)
        and (pr := s.catalog.project("torch", str(r.version))) is not None
        and any(t.split("-")[0] == tag for t in pr.python_tags(s.target.platform.key))
        for r in s.catalog.releases
    )


def _python_span(s: Search) -> tuple[str, str]:
    minors = {
        int(interp[3:])
        for r in s.catalog.releases
        if (pr := s.catalog.project("torch", str(r.version)))
        for tag in pr.python_tags(s.target.platform.key)
        if (interp := tag.split("-")[0]).startswith("cp3") and interp[3:].isdigit()
    }
    return (f"3.{min(minors)}", f"3.{max(minors)}") if minors else ("?", "?")
