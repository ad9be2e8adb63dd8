"""The selection policy: the newest release with a build that runs on the target.

``select`` is pure. Every (release, variant) pair it passes over is kept as a
``Rejection`` with a one-line reason, so ``--explain`` and error messages need
no second pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from packaging.version import Version

from torchpin import decide
from torchpin.errors import NoCompatibleBuild, UsageError
from torchpin.facts.pyg import releases_on
from torchpin.facts.snapshot import Build, Catalog, Release
from torchpin.facts.wheels import python_accepts
from torchpin.models import (
    DEFAULT_SOURCES,
    FLASH_ATTN,
    PAIRED,
    PYG,
    TRITON_BUILDS,
    DriverVersion,
    Family,
    Pin,
    Plan,
    Requirement,
    Sources,
    Target,
    Variant,
)

from . import compat
from .pairing import companion_problem
from .pins import pins_for
from .search import (
    Problem,
    Search,
    exact_pin,
    not_on_index,
    pinned_version,
    public_spec,
    pypi_file_problem,
    requirement_map,
    untagged,
)

__all__ = ["requirement_map", "select"]
_FAMILY_FOR = {"cuda": Family.CUDA, "rocm": Family.ROCM, "xpu": Family.XPU}


def select(
    target: Target, catalog: Catalog, requirements: Sequence[Requirement] = (), sources: Sources = DEFAULT_SOURCES
) -> Plan:
    """Pick the torch-family builds for ``target``; ``NoCompatibleBuild`` says why none fits.

    Newest release first; within it, the variant ``_prefer`` ranks best among
    those whose driver, GPU arch, companions and facts' status all pass. ``sources`` names
    the indexes the plan's lines point at; it never changes which build wins.
    """
    plan = _select(target, catalog, requirements, sources)
    hints = (
        _held_back_hint(target, catalog, requirements, plan),
        _newer_driver_hint(target, catalog, requirements, plan),
        _blackwell_hint(target, catalog, plan),
    )
    for hint in hints:
        if hint:
            plan = replace(plan, notes=(*plan.notes, hint))
    return plan


# Blackwell: the data-centre (sm_100) and consumer (sm_120) parts, as --gpu-cc takes them.
_BLACKWELL = {(10, 0): "B200", (12, 0): "RTX 50xx"}


def _held_back_hint(target: Target, catalog: Catalog, requirements: Sequence[Requirement], plan: Plan) -> str | None:
    """When an ecosystem package kept torch from its best build: what torch alone would be."""
    held = sorted({r.project for r in requirements if r.project in PAIRED and not r.constraint})
    if not held:
        return None
    rest = [r for r in requirements if r.project not in PAIRED]
    try:
        alone = _select(target, catalog, rest if any(not r.constraint for r in rest) else [*rest, Requirement("torch")])
    except NoCompatibleBuild:
        return None
    if (alone.release, alone.variant) == (plan.release, plan.variant):
        return None
    lacks = next((r.reason for r in plan.rejected if (r.release, r.variant) == (alone.release, alone.variant.name)), "")
    return (
        f"{' and '.join(held)} {'holds' if len(held) == 1 else 'hold'} torch back: without "
        f"{'it' if len(held) == 1 else 'them'}, torch would be {alone.release} ({alone.variant})"
        + (f", where {lacks}" if lacks else "; --explain says which builds it lacks")
    )


def _blackwell_hint(target: Target, catalog: Catalog, plan: Plan) -> str | None:
    """A CUDA target with no GPU named (a CUDA image in a docker build) gets a build chosen for
    the CUDA version alone: when that build can't run on Blackwell GPUs, say so, and how to
    target one."""
    acc = target.accelerator
    if acc.kind != "cuda" or acc.gpus or plan.variant.family is not Family.CUDA:
        return None
    release = catalog.release(plan.release)
    build = release.build(plan.variant.name, target.platform.key) if release else None
    if build is None or build.arch is None:
        return None
    lacking = [name for cc, name in _BLACKWELL.items() if compat.cc_covered(cc, build.arch) is None]
    if not lacking:
        return None
    flags = " or ".join(f"--gpu-cc {cc[0]}.{cc[1]} ({name})" for cc, name in _BLACKWELL.items() if name in lacking)
    return f"{plan.variant} has no kernels for Blackwell GPUs ({', '.join(lacking)}); to run on one, pass {flags}"


def _newer_driver_hint(target: Target, catalog: Catalog, requirements: Sequence[Requirement], plan: Plan) -> str | None:
    """When a newer driver would unlock a newer build, say which driver and which build."""
    acc = target.accelerator
    if acc.kind != "cuda" or acc.driver is None or target.backend is not None:
        return None
    try:
        best = _select(replace(target, accelerator=replace(acc, driver=DriverVersion("799"))), catalog, requirements)
        floor = compat.driver_floor(catalog, best.variant, target.platform, target.cuda_compat)
        if floor is None or floor <= acc.driver:
            return None
        at_floor = _select(replace(target, accelerator=replace(acc, driver=floor)), catalog, requirements)
    except NoCompatibleBuild:
        return None
    if (at_floor.release, at_floor.variant) == (plan.release, plan.variant):
        return None
    return f"driver {floor} or newer would give torch {at_floor.release}+{at_floor.variant} (this driver: {acc.driver})"


def _select(
    target: Target, catalog: Catalog, requirements: Sequence[Requirement], sources: Sources = DEFAULT_SOURCES
) -> Plan:
    s = Search(target, catalog, requirement_map(requirements))
    _check_plausible_gpus(s)
    _check_requirements_exist(s)
    for release in catalog.releases:
        if not public_spec(s.specs["torch"]).contains(release.version, prereleases=True):
            continue
        if not _release_fits(s, release):
            continue
        fitting = [b for b in _candidate_builds(s, release) if _build_fits(s, release, b)]
        if fitting:
            variant, why = _prefer(s, [b.variant for b in fitting])
            return _plan(s, release, variant, why, sources)

    raise decide.no_build(s)  # only a failed search loads the message's module


def _check_plausible_gpus(s: Search) -> None:
    """A compute capability beyond the next generation is a typo (exit 2); one newer than every
    known GPU but plausible runs only by PTX JIT, which no one has tried: say so."""
    ccs = [g.cc for g in s.target.accelerator.gpus if g.cc is not None]
    if not ccs:
        return
    newest = max((a for r in s.catalog.releases for b in r.builds if b.arch for a in b.arch.sass), default=(12, 0))
    for cc in ccs:
        text = f"{cc[0]}.{cc[1]}"
        if cc[0] > newest[0] + 1:
            raise UsageError(
                f"no NVIDIA GPU has compute capability {text} (the newest known is {newest[0]}.{newest[1]};"
                f" a next generation would be {newest[0] + 1}.x)",
                hint="nvidia-smi --query-gpu=compute_cap shows the real one",
            )
        if cc > newest:
            s.notes.append(
                f"compute capability {text} is newer than any GPU PyTorch builds for ({newest[0]}.{newest[1]}):"
                " it could only run by PTX JIT, which is unverified"
            )


def _check_requirements_exist(s: Search) -> None:
    for project, spec in s.specs.items():
        if project == "torch":
            known = [r.version for r in s.catalog.releases]
        elif project in TRITON_BUILDS:  # the releases torch pins, whichever build's name
            known = sorted({Version(r.triton) for r in s.catalog.releases if r.triton}, reverse=True)
        elif project in PYG:  # what its pages hold, recorded or read
            known = sorted(_pyg_versions(s, project), reverse=True)
        elif project == FLASH_ATTN:
            known = [Version(r.version) for r in s.catalog.flash_attn.newest_first()]
        else:
            known = sorted((Version(v) for v in s.catalog.projects.get(project, {})), reverse=True)
        if not any(public_spec(spec).contains(v, prereleases=True) for v in known):
            newest = f"the newest known is {known[0]}" if known else "none is known"
            raise NoCompatibleBuild(
                f"no {project} release satisfies '{project}{spec}'; {newest}",
                hint="loosen the requirement, or refresh the snapshot if a newer release exists",
            )


def _pyg_versions(s: Search, project: str) -> set[Version]:
    found = set()
    for page in s.catalog.pyg.values():
        if page.files is not None:
            found |= {Version(v.public) for v, _ in releases_on(page, project)}
        elif not page.absent and (build := page.recorded.get(project)):
            found.add(Version(build.version))
    return found


def _release_fits(s: Search, release: Release) -> bool:
    """Python tag, requires-python and OS floor: facts of the release, not of a variant."""
    python, plat = s.target.python, s.target.platform
    pypi = s.catalog.project("torch", str(release.version))
    if plat.musl:
        s.reject(release, "*", "PyTorch publishes no musllinux wheels (Alpine); use a glibc-based image", "platform")
        return False
    if not any(b.platform == plat.key for b in release.builds):
        s.reject(release, "*", f"no wheels for {plat.key}", "platform")
        return False
    if pypi and pypi.yanked and not exact_pin(s.specs["torch"], release.version):
        s.reject(release, "*", f"torch {release.version} is yanked on PyPI (pin it with == to use it anyway)", "status")
        return False
    if pypi and pypi.requires_python and not pypi.requires_python.contains(python.version):
        s.reject(release, "*", f"requires Python {pypi.requires_python}, target is {python}", "python")
        return False
    tags = pypi.python_tags(plat.key) if pypi else frozenset()
    extra = release.extra_python_tags.get(plat.key, frozenset())
    if not python_accepts(tags, python):
        if python_accepts(extra, python) and compat.usable(release.extra_python_status):
            s.notes.append(f"CPython {python} wheels of torch {release.version} exist only on the PyTorch index")
        else:
            have = ", ".join(sorted(tags | extra)) or "none"
            s.reject(release, "*", f"no CPython {python} wheel for {plat.key} (has {have})", "python")
            return False
    floor = release.glibc.get(plat.key)
    if plat.os == "linux" and floor and plat.glibc and plat.glibc < floor:
        s.reject(release, "*", f"needs glibc {floor}, target has {plat.glibc}", "os-floor")
        return False
    if pypi and plat.os == "macos" and (problem := pypi_file_problem(s, pypi)):
        s.reject(release, "*", problem, "os-floor")  # every macOS build is PyPI's: its files decide
        return False
    return True


def _candidate_builds(s: Search, release: Release) -> list[Build]:
    """Builds for the platform in the family the target asks for (explicit backend or accelerator)."""
    key = s.target.platform.key
    builds = [b for b in release.builds if b.platform == key]
    if s.target.backend is not None:
        forced = [b for b in builds if b.variant == s.target.backend]
        if not forced:
            s.reject(release, s.target.backend.name, f"no {s.target.backend} build for {key}", "platform")
        return forced
    family = _FAMILY_FOR.get(s.target.accelerator.kind, Family.CPU)
    return [b for b in builds if b.variant.family is family]


def _build_fits(s: Search, release: Release, build: Build) -> bool:
    problem = _variant_problem(s, release, build) or companion_problem(s, release, build.variant)
    if problem:
        s.reject(release, build.variant.name, *problem)
    return problem is None


def _variant_problem(s: Search, release: Release, build: Build) -> Problem:
    """Hard facts first (the user's pin, the driver, the GPUs), then whether the build is confirmed:
    a build the driver rules out is reported as that, not as 'unconfirmed'."""
    v = build.variant
    pinned = Version(pinned_version(str(release.version), v, untagged(release, v, build.platform)))
    if not s.specs["torch"].contains(pinned, prereleases=True):
        return f"torch {pinned} is excluded by 'torch{s.specs['torch']}'", "requirement"
    if v.family is Family.CUDA and (driver := _driver_problem(s, v)):
        return driver
    if not compat.usable(build.status, live=s.ignore_status):
        return f"{v} for {build.platform} is unconfirmed ({build.source}){s.unconfirmed_tail}", "status"
    if missing := not_on_index(s, release, v, "torch", pinned):
        return missing, "index"
    if v.family is Family.CUDA:
        return _arch_problem(s, build)
    if v.family is Family.ROCM:
        return _gfx_problem(s, v)
    return None


def _gfx_problem(s: Search, v: Variant) -> Problem:
    """As for CUDA's arch list: with no AMD GPU named there is nothing to check it against."""
    named = {g.gfx for g in s.target.accelerator.gpus if g.gfx}
    if not named:
        return None
    gfx, status = s.catalog.gfx(v.name)
    if not gfx or not compat.usable(status, live=s.ignore_status):
        return f"the gfx list of {v} is not known", "status"
    absent = sorted(named - gfx)
    return (f"{v} has no kernels for {', '.join(absent)}", "gfx") if absent else None


def _driver_problem(s: Search, v: Variant) -> Problem:
    t = s.target
    driver, cuda_max = t.accelerator.driver, t.accelerator.cuda_max
    if driver is None and cuda_max is not None:
        limit = cuda_max if t.cuda_compat == "strict" else (cuda_max[0], 99)
        if v.version > limit:
            return f"{v} needs a newer driver than CUDA {cuda_max[0]}.{cuda_max[1]} (the target's CUDA)", "driver"
    floor = compat.driver_floor(s.catalog, v, t.platform, t.cuda_compat)
    if driver is not None and floor is not None and driver < floor:
        rule = (
            "its toolkit minimum" if t.cuda_compat == "strict" else f"CUDA {v.cuda_major}.x minor-version compatibility"
        )
        return f"driver {driver} < {floor} needed by {v} ({rule})", "driver"
    return None


def _arch_problem(s: Search, build: Build) -> Problem:
    v = build.variant
    gpus = [g for g in s.target.accelerator.gpus if g.cc is not None]
    if not gpus:
        return None
    arch = build.arch
    if arch is None or not compat.usable(arch.status, live=s.ignore_status):
        return f"the GPU arch list of {v} for {build.platform} is not known", "status"
    missing = [g for g in gpus if g.cc is not None and compat.cc_covered(g.cc, arch) is None]
    if missing:
        names = ", ".join(sorted({compat.gpu_label(g) for g in missing}))
        return f"{v} has no kernels for {names} (built for {compat.arch_text(arch)})", "arch"
    return None


def _prefer(s: Search, variants: list[Variant]) -> tuple[Variant, str]:
    """Rank the release's usable variants (design: selection policy, step 3)."""
    t = s.target
    if variants[0].family is not Family.CUDA:
        best = max(variants)
        return best, f"{best} is the {'requested' if t.backend else 'best'} {best.family.value} build that fits"
    driver = t.accelerator.driver
    if driver is None:
        best = max(variants)
        return best, f"{best} is the newest CUDA build covering the GPUs (no driver given, so none was checked)"
    dmajor = compat.driver_cuda_major(s.catalog, driver, t.platform)
    same = sorted(v for v in variants if v.cuda_major == dmajor)
    full = [v for v in same if compat.full_support(s.catalog, v, t.platform, driver)]
    if full:
        return full[-1], f"{full[-1]} is the newest CUDA {dmajor}.x build driver {driver} fully supports"
    if same:
        return same[
            0
        ], f"{same[0]} is the CUDA {dmajor}.x build closest to driver {driver} (runs by minor-version compatibility)"
    best = max(variants)
    return best, f"no CUDA {dmajor}.x build fits, {best} is the newest of an older CUDA major"


def _plan(s: Search, release: Release, variant: Variant, why: str, sources: Sources) -> Plan:
    plat = s.target.platform.key
    on_pypi = untagged(release, variant, plat)
    flat = sources.find_links is not None and not on_pypi
    index = sources.pypi if on_pypi else sources.variant_index(variant)
    versions = {"torch": str(release.version), **s.chosen.get((str(release.version), variant.name), {})}
    pins: tuple[Pin, ...] = pins_for(
        s.catalog, s.target, variant, versions, on_pypi=on_pypi, index=index, flash_attn=sources.flash_attn
    )
    if variant.family is Family.CUDA and s.target.accelerator.kind != "cuda":
        s.notes.append(f"{variant} was requested without a visible NVIDIA GPU: driver and GPU arch were not checked")
    return Plan(
        target=s.target,
        variant=variant,
        release=str(release.version),
        index_url=index,
        on_pypi=on_pypi,
        pins=pins,
        why=f"torch {release.version} is the newest release with a build for this target; {why}",
        notes=tuple(dict.fromkeys([*s.notes, *s.chosen_notes.get((str(release.version), variant.name), ())])),
        rejected=tuple(s.rejected),
        pypi_url=sources.pypi,
        pyg_url=sources.pyg,
        find_links=flat,
        source=sources.label,
        source_detail=sources.detail,
        companions_why=tuple(s.chosen_why.get((str(release.version), variant.name), ())),
    )
