"""The selection policy: the newest release with a build that runs on the target.

``select`` is pure. Every (release, variant) pair it passes over is kept as a
``Rejection`` with a one-line reason, so ``--explain`` and error messages need
no second pass.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from . import compat
from .errors import NoCompatibleBuild, UsageError
from .models import Family, Pin, Plan, Rejection, Requirement, Target, Variant
from .snapshot import Build, Catalog, CompanionPair, ProjectRelease, Release
from .wheels import best_wheel, parse_wheel, platform_floor, platform_key, python_accepts, python_tag

DEFAULT_PROJECTS = ("torch", "torchvision", "torchaudio")
_FAMILY_FOR = {"cuda": Family.CUDA, "rocm": Family.ROCM, "xpu": Family.XPU}


@dataclass
class _Search:
    target: Target
    catalog: Catalog
    specs: dict[str, SpecifierSet]
    rejected: list[Rejection] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # (torch release, variant) -> the companion versions picked for it
    chosen: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    # True while collecting the pages a live lock needs: statuses are what those pages decide.
    ignore_status: bool = False

    @functools.cached_property
    def pairings(self) -> dict[tuple[str, str], CompanionPair]:
        """(companion, version) -> a recorded pairing of it: where its builds come from."""
        out: dict[tuple[str, str], CompanionPair] = {}
        for r in self.catalog.releases:
            for pair in r.companions.values():
                out.setdefault((pair.project, pair.version), pair)
        return out

    def reject(self, release: Release, variant: str, reason: str) -> None:
        self.rejected.append(Rejection(str(release.version), variant, reason))


def public_spec(spec: SpecifierSet) -> SpecifierSet:
    """The spec a release (no local tag) must meet: ``==2.5.1+cu121`` asks for release 2.5.1."""
    return SpecifierSet(",".join(f"{s.operator}{s.version.split('+')[0]}" for s in spec))


def requirement_map(requirements: Sequence[Requirement]) -> dict[str, SpecifierSet]:
    """Merge requirements per project; no requirement at all means the trio, any version."""
    specs: dict[str, SpecifierSet] = {}
    asked = [r for r in requirements if not r.constraint]
    for req in asked or [Requirement(p) for p in DEFAULT_PROJECTS]:
        specs[req.project] = specs.get(req.project, SpecifierSet()) & req.specifier
    specs.setdefault("torch", SpecifierSet())
    for req in requirements:
        if req.constraint and req.project in specs:
            specs[req.project] &= req.specifier
    return specs


def untagged(release: Release, variant: Variant, platform: str) -> bool:
    """Whether the variant's wheels carry no local tag (macOS, aarch64 CPU up to 2.5): PyPI has them."""
    return variant.family is Family.CPU and platform in release.untagged_cpu


def pinned_version(version: str, variant: Variant, plain: bool) -> str:
    """The exact version a lock pins: with the variant's local tag unless the index has none."""
    return version if plain else f"{version}+{variant.name}"


def select(target: Target, catalog: Catalog, requirements: Sequence[Requirement] = ()) -> Plan:
    """Pick the torch-family builds for ``target``; ``NoCompatibleBuild`` says why none fits.

    Newest release first; within it, the variant ``_prefer`` ranks best among
    those whose driver, GPU arch, companions and facts' status all pass.
    """
    s = _Search(target, catalog, requirement_map(requirements))
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
            return _plan(s, release, variant, why)
    raise _no_build(s)


def _check_plausible_gpus(s: _Search) -> None:
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


def _check_requirements_exist(s: _Search) -> None:
    for project, spec in s.specs.items():
        if project == "torch":
            known = [r.version for r in s.catalog.releases]
        else:
            known = sorted((Version(v) for v in s.catalog.projects.get(project, {})), reverse=True)
        if not any(public_spec(spec).contains(v, prereleases=True) for v in known):
            newest = f"the newest known is {known[0]}" if known else "none is known"
            raise NoCompatibleBuild(
                f"no {project} release satisfies '{project}{spec}'; {newest}",
                hint="loosen the requirement, or refresh the snapshot if a newer release exists",
            )


def _release_fits(s: _Search, release: Release) -> bool:
    """Python tag, requires-python and OS floor: facts of the release, not of a variant."""
    python, plat = s.target.python, s.target.platform
    pypi = s.catalog.project("torch", str(release.version))
    if plat.musl:
        s.reject(release, "*", "PyTorch publishes no musllinux wheels (Alpine); use a glibc-based image")
        return False
    if not any(b.platform == plat.key for b in release.builds):
        s.reject(release, "*", f"no wheels for {plat.key}")
        return False
    if pypi and pypi.requires_python and not pypi.requires_python.contains(python.version):
        s.reject(release, "*", f"requires Python {pypi.requires_python}, target is {python}")
        return False
    tags = pypi.python_tags(plat.key) if pypi else frozenset()
    extra = release.extra_python_tags.get(plat.key, frozenset())
    if not python_accepts(tags, python):
        if python_accepts(extra, python) and compat.usable(release.extra_python_status):
            s.notes.append(f"CPython {python} wheels of torch {release.version} exist only on the PyTorch index")
        else:
            have = ", ".join(sorted(tags | extra)) or "none"
            s.reject(release, "*", f"no CPython {python} wheel for {plat.key} (has {have})")
            return False
    floor = release.glibc.get(plat.key)
    if plat.os == "linux" and floor and plat.glibc and plat.glibc < floor:
        s.reject(release, "*", f"needs glibc {floor}, target has {plat.glibc}")
        return False
    if pypi and plat.os == "macos" and (problem := _pypi_file_problem(s, pypi)):
        s.reject(release, "*", problem)  # every macOS build is PyPI's: its files decide
        return False
    return True


def _pypi_file_problem(s: _Search, files: ProjectRelease) -> str | None:
    """Why no PyPI file of this release installs on the target (tags, then OS floor), or None.

    Checked per file, as pip does: one Python's wheel may need a newer macOS than another's.
    """
    t = s.target
    if best_wheel(files.files(), files.project, files.version, t) is not None:
        return None
    have = t.platform.macos if t.platform.os == "macos" else t.platform.glibc
    floors = sorted(
        floor
        for f in files.files()
        for tag in parse_wheel(f.filename).tags
        if platform_key(tag.platform) == t.platform.key
        and python_accepts({python_tag(tag)}, t.python)
        and (floor := platform_floor(tag.platform))
    )
    what = f"{files.project} {files.version}"
    if floors and have:
        os_name = "macOS" if t.platform.os == "macos" else "glibc"
        return f"{what}'s CPython {t.python} wheel for {t.platform.key} needs {os_name} {floors[0]}, target has {have}"
    return f"{what} has no CPython {t.python} wheel for {t.platform.key}"


def _candidate_builds(s: _Search, release: Release) -> list[Build]:
    """Builds for the platform in the family the target asks for (explicit backend or accelerator)."""
    key = s.target.platform.key
    builds = [b for b in release.builds if b.platform == key]
    if s.target.backend is not None:
        forced = [b for b in builds if b.variant == s.target.backend]
        if not forced:
            s.reject(release, s.target.backend.name, f"no {s.target.backend} build for {key}")
        return forced
    family = _FAMILY_FOR.get(s.target.accelerator.kind, Family.CPU)
    return [b for b in builds if b.variant.family is family]


def _build_fits(s: _Search, release: Release, build: Build) -> bool:
    reason = _variant_problem(s, release, build) or _companion_problem(s, release, build.variant)
    if reason:
        s.reject(release, build.variant.name, reason)
    return reason is None


def _variant_problem(s: _Search, release: Release, build: Build) -> str | None:
    v = build.variant
    if not compat.usable(build.status, live=s.ignore_status):
        return f"{v} for {build.platform} is unconfirmed ({build.source}); needs the live index"
    pinned = Version(pinned_version(str(release.version), v, untagged(release, v, build.platform)))
    if not s.specs["torch"].contains(pinned, prereleases=True):
        return f"torch {pinned} is excluded by 'torch{s.specs['torch']}'"
    if missing := _not_on_index(s, release, v, "torch", pinned):
        return missing
    if v.family is Family.CUDA:
        return _cuda_problem(s, build)
    if v.family is Family.ROCM:
        gfx, status = s.catalog.rocm_gfx.get(v.name, (frozenset(), "unconfirmed"))
        if not gfx or not compat.usable(status, live=s.ignore_status):
            return f"the gfx list of {v} is not known"
        absent = sorted({g.gfx for g in s.target.accelerator.gpus if g.gfx and g.gfx not in gfx})
        return f"{v} has no kernels for {', '.join(absent)}" if absent else None
    return None


def _not_on_index(s: _Search, release: Release, variant: Variant, project: str, pinned: Version) -> str | None:
    """Pages read from a live index list every wheel there is: no file for the target, no build."""
    plat = s.target.platform.key
    if (variant.name, project) not in s.catalog.live_pages or untagged(release, variant, plat):
        return None
    if best_wheel(s.catalog.variant_files.values(), project, str(pinned), s.target) is None:
        return f"the index has no {project} {pinned} wheel for CPython {s.target.python} on {plat}"
    return None


def _cuda_problem(s: _Search, build: Build) -> str | None:
    t, v = s.target, build.variant
    driver, cuda_max = t.accelerator.driver, t.accelerator.cuda_max
    floor = compat.driver_floor(s.catalog, v, t.platform, t.cuda_compat)
    if driver is None and cuda_max is not None:
        limit = cuda_max if t.cuda_compat == "strict" else (cuda_max[0], 99)
        if v.version > limit:
            return f"{v} needs a newer driver than CUDA {cuda_max[0]}.{cuda_max[1]} (the target's CUDA)"
    if driver is not None and floor is not None and driver < floor:
        rule = (
            "its toolkit minimum" if t.cuda_compat == "strict" else f"CUDA {v.cuda_major}.x minor-version compatibility"
        )
        return f"driver {driver} < {floor} needed by {v} ({rule})"
    gpus = [g for g in t.accelerator.gpus if g.cc is not None]
    if not gpus:
        return None
    arch = build.arch
    if arch is None or not compat.usable(arch.status, live=s.ignore_status):
        return f"the GPU arch list of {v} for {build.platform} is not known"
    missing = [g for g in gpus if g.cc is not None and compat.cc_covered(g.cc, arch) is None]
    if missing:
        names = ", ".join(sorted({compat.gpu_label(g) for g in missing}))
        return f"{v} has no kernels for {names} (built for {compat.arch_text(arch)})"
    return None


def _companion_problem(s: _Search, release: Release, variant: Variant) -> str | None:
    """Pick each requested companion for (release, variant); the first reason none fits, or None."""
    chosen: dict[str, str] = {}
    for project, spec in s.specs.items():
        if project == "torch":
            continue
        candidates = _companion_candidates(s, release, project)
        if not candidates:
            return f"no {project} release is paired with torch {release.version}"
        problems = [_pair_problem(s, release, variant, spec, pair) for pair in candidates]
        fits = [pair for pair, problem in zip(candidates, problems, strict=True) if problem is None]
        if not fits:
            return problems[0]
        chosen[project] = fits[0].version
        declared = _declared(s, fits[0])
        if declared is not None and not compat.usable(fits[0].status, live=s.ignore_status):
            s.notes.append(f"{project} {fits[0].version} pairs with torch {release.version} by its own"
                           f" Requires-Dist: torch{declared}")  # fmt: skip
    s.chosen[(str(release.version), variant.name)] = chosen
    return None


def _companion_candidates(s: _Search, release: Release, project: str) -> list[CompanionPair]:
    """The pairing the data records, and every other release of the companion whose publisher
    declares this torch compatible (``requires_torch``); newest first.

    A declared release that no torch release records a pairing for is assumed to follow this
    torch release's builds, as the recorded pairing does (its families and extra variants).
    """
    recorded = release.companions.get(project)
    out = [recorded] if recorded else []
    for version, files in s.catalog.projects.get(project, {}).items():
        if files.requires_torch is None or not files.requires_torch.contains(release.version, prereleases=True):
            continue
        if recorded and version == recorded.version:
            continue
        pair = s.pairings.get((project, version))
        if pair is None and recorded is not None:
            pair = replace(recorded, version=version, source="declared compatible; builds as torch's")
        if pair is not None:
            out.append(pair)
    return sorted(out, key=lambda p: Version(p.version), reverse=True)


def _declared(s: _Search, pair: CompanionPair) -> SpecifierSet | None:
    files = s.catalog.project(pair.project, pair.version)
    return files.requires_torch if files else None


def _pair_problem(
    s: _Search, release: Release, variant: Variant, spec: SpecifierSet, pair: CompanionPair
) -> str | None:
    project, plat = pair.project, s.target.platform.key
    declared = _declared(s, pair)
    if declared is not None and not declared.contains(release.version, prereleases=True):
        return f"{project} {pair.version} declares torch{declared}, which excludes torch {release.version}"
    if declared is None and not compat.usable(pair.status, live=s.ignore_status):
        return f"{project} {pair.version} pairing with torch {release.version} is unconfirmed ({pair.source})"
    if pair.families is not None and variant.family.value not in pair.families:
        return f"{project} publishes no {variant.family.value} builds (only {', '.join(sorted(pair.families))})"
    # A companion page read live is the truth for that companion; the builds of the torch
    # release it was built with are only the offline stand-in.
    if (variant.name, project) not in s.catalog.live_pages:
        base = s.catalog.release(pair.built_with)
        build = base.build(variant.name, plat) if base else None
        built = build is not None and compat.usable(build.status, live=s.ignore_status)
        if not (variant.name in pair.extra_variants or built):
            return f"{project} {pair.version} has no {variant} build for {plat}"
    pinned = Version(pinned_version(pair.version, variant, untagged(release, variant, plat)))
    if missing := _not_on_index(s, release, variant, project, pinned):
        return missing
    if not spec.contains(pinned, prereleases=True):
        return f"'{project}{spec}' excludes {project} {pair.version}, the one paired with torch {release.version}"
    files = s.catalog.project(project, pair.version)
    if files and files.requires_python and not files.requires_python.contains(s.target.python.version):
        return f"{project} {pair.version} requires Python {files.requires_python}"
    if files and not python_accepts(files.python_tags(plat), s.target.python):
        return f"{project} {pair.version} has no CPython {s.target.python} wheel for {plat}"
    if files and untagged(release, variant, plat) and (problem := _pypi_file_problem(s, files)):
        return problem
    return None


def _prefer(s: _Search, variants: list[Variant]) -> tuple[Variant, str]:
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


def _plan(s: _Search, release: Release, variant: Variant, why: str) -> Plan:
    from .pins import pins_for  # the wheel lookup lives beside the index rules

    plat = s.target.platform.key
    on_pypi = untagged(release, variant, plat)
    index = s.catalog.pypi_index_url if on_pypi else f"{s.catalog.pytorch_index_url}/{variant.name}"
    versions = {"torch": str(release.version), **s.chosen.get((str(release.version), variant.name), {})}
    pins: tuple[Pin, ...] = pins_for(s.catalog, s.target, variant, versions, on_pypi=on_pypi)
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
        notes=tuple(dict.fromkeys(s.notes)),
        rejected=tuple(s.rejected),
        pypi_url=s.catalog.pypi_index_url,
    )


def _python_span(catalog: Catalog, platform: str) -> tuple[str, str]:
    minors = {
        int(interp[3:])
        for r in catalog.releases
        if (pr := catalog.project("torch", str(r.version)))
        for tag in pr.python_tags(platform)
        if (interp := tag.split("-")[0]).startswith("cp3") and interp[3:].isdigit()
    }
    return (f"3.{min(minors)}", f"3.{max(minors)}") if minors else ("?", "?")


def _no_build(s: _Search) -> NoCompatibleBuild:
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
    if all(r.variant == "*" and "Python" in r.reason for r in s.rejected):
        lo, hi = _python_span(s.catalog, t.platform.key)
        return NoCompatibleBuild(
            f"no torch release here supports CPython {t.python} on {t.platform.key}"
            f" (torch {s.catalog.releases[-1].version}-{s.catalog.releases[0].version} cover CPython {lo} to {hi})",
            hint="pick a supported Python with --python-version, or install one",
        )
    # The newest rejection that names a variant says more than "unconfirmed" or a release-wide fact.
    informative = [r for r in s.rejected if r.variant != "*" and "unconfirmed" not in r.reason]
    first = (informative or s.rejected)[0]
    kind = t.accelerator.kind
    lowest = compat.lowest_driver(s.catalog, t.platform)
    if kind == "cuda" and t.accelerator.driver and lowest and t.accelerator.driver < lowest and t.backend is None:
        return NoCompatibleBuild(
            f"NVIDIA driver {t.accelerator.driver} is older than any CUDA build of PyTorch needs (minimum {lowest})",
            hint="upgrade the driver, or lock a CPU build with --backend cpu",
        )
    options = "use an older torch, change the target, or refresh the snapshot"
    if kind in ("cuda", "rocm", "xpu") and t.backend is None:
        options = "upgrade the driver, pin an older torch, or lock a CPU build with --backend cpu"
    return NoCompatibleBuild(
        f"no torch build fits {t.platform}, CPython {t.python}: newest tried torch {first.release}"
        f"{'' if first.variant == '*' else ' ' + first.variant}: {first.reason}",
        hint=f"{options}; --explain lists every rejection",
    )


def live_candidates(target: Target, catalog: Catalog, requirements: Sequence[Requirement] = ()) -> list[Variant]:
    """Variants whose live pages could change the decision, newest release first.

    Every variant passing all checks but the facts' status is collected, down to the
    first release the snapshot alone can already decide on: nothing older can win.
    """
    loose = _Search(target, catalog, requirement_map(requirements), ignore_status=True)
    strict = _Search(target, catalog, loose.specs)
    found: list[Variant] = []
    for release in catalog.releases:
        if not public_spec(loose.specs["torch"]).contains(release.version, prereleases=True):
            continue
        if not _release_fits(loose, release):
            continue
        for build in _candidate_builds(loose, release):
            if untagged(release, build.variant, build.platform):
                continue  # PyPI serves these: the snapshot has their real files already
            if _variant_problem(loose, release, build) is None and build.variant not in found:
                found.append(build.variant)
        if any(_build_fits(strict, release, b) for b in _candidate_builds(strict, release)):
            break
    return found
