"""Companions (pure): which torchvision / torchaudio / torchcodec release goes with a torch build.

The newest companion release whose publisher declares that torch compatible (its Requires-Dist
on torch, or torchcodec's README table, recorded as ``requires_torch``) and that has a build for
the variant, platform and CPython; the data's recorded pairing is one candidate among them.
"""

from __future__ import annotations

from dataclasses import replace

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from torchpin.facts.pyg import local_tag, minor_of, releases_on
from torchpin.facts.snapshot import CompanionPair, Release
from torchpin.facts.wheels import best_wheel, parse_variant, python_accepts
from torchpin.models import FLASH_ATTN, PYG, TRITON_BUILDS, Variant, triton_build

from . import compat
from .flash_attn import flash_attn_pick
from .search import (
    UNRECORDED,
    Picked,
    Problem,
    Search,
    exact_pin,
    not_on_index,
    pinned_version,
    pypi_file_problem,
    untagged,
)

# The source of a companion release known only by its declared torch range: which variant
# builds it has, nothing recorded says (a new release's are unconfirmed until an index lists them).
DECLARED = "declared compatible; builds as torch's"


def companion_problem(s: Search, release: Release, variant: Variant) -> Problem:
    """Pick each requested companion for (release, variant); the first reason none fits, or None."""
    chosen: dict[str, str] = {}
    why: list[str] = []
    notes: list[str] = []
    for project, spec in s.specs.items():
        if project == "torch":
            continue
        if project in TRITON_BUILDS:
            problem = _triton_problem(s, release, variant, project, spec)
            if problem is not None:
                return problem
            chosen[project] = str(release.triton)
            why.append(f"{project} {release.triton} is the triton build torch {release.version} requires")
            continue
        if project in PYG or project == FLASH_ATTN:
            picked = (
                flash_attn_pick(s, release, variant, spec)
                if project == FLASH_ATTN
                else _pyg_pick(s, release, variant, project, spec)
            )
            if not isinstance(picked, Picked):
                return picked
            chosen[project] = picked.version
            why.append(picked.why)
            continue
        candidates = _companion_candidates(s, release, project)
        if not candidates:
            return f"no {project} release is paired with torch {release.version}", "companion"
        problems = [_pair_problem(s, release, variant, spec, pair) for pair in candidates]
        fits = [pair for pair, problem in zip(candidates, problems, strict=True) if problem is None]
        if not fits:
            return problems[0]
        chosen[project] = fits[0].version
        newer = [pair.version for pair in candidates if Version(pair.version) > Version(fits[0].version)]
        first = problems[0]
        passed = f"; newer {', '.join(newer)} did not fit: {first[0]}" if newer and first else ""
        why.append(f"{project} {fits[0].version} pairs with torch {release.version} {_by(s, fits[0])}{passed}")
        declared = _declared(s, fits[0])
        if declared is not None and not compat.usable(fits[0].status, live=s.ignore_status):
            notes.append(f"{project} {fits[0].version} pairs with torch {release.version} {_by(s, fits[0])}")
    s.chosen[(str(release.version), variant.name)] = chosen
    s.chosen_why[(str(release.version), variant.name)] = why
    s.chosen_notes[(str(release.version), variant.name)] = notes
    return None


def _companion_candidates(s: Search, release: Release, project: str) -> list[CompanionPair]:
    """The pairing the data records, and every other release of the companion whose publisher
    declares this torch compatible (``requires_torch``); newest first.

    A declared release that no torch release records a pairing for is assumed to follow this
    torch release's builds, as the recorded pairing does (its families and extra variants).
    """
    recorded = release.companions.get(project)
    out = [recorded] if recorded else []
    spec = s.specs.get(project)
    for version, files in s.catalog.projects.get(project, {}).items():
        if files.pairs_torch is None or not files.pairs_torch.contains(release.version, prereleases=True):
            continue
        if files.yanked and not exact_pin(spec, Version(version)):
            continue  # pip skips a yanked release unless it is pinned exactly
        if recorded and version == recorded.version:
            continue
        pair = s.pairings.get((project, version))
        if pair is None and recorded is not None:
            pair = replace(recorded, version=version, source=DECLARED)
        if pair is not None:
            out.append(pair)

    def live(pair: CompanionPair) -> bool:
        files = s.catalog.project(project, pair.version)
        return not (files and files.yanked and not exact_pin(spec, Version(pair.version)))

    return sorted(filter(live, out), key=lambda p: Version(p.version), reverse=True)


def _declared(s: Search, pair: CompanionPair) -> SpecifierSet | None:
    files = s.catalog.project(pair.project, pair.version)
    return files.pairs_torch if files else None


def _by(s: Search, pair: CompanionPair) -> str:
    """Who says a companion release goes with a torch range: the wheel, or its publisher's table."""
    files = s.catalog.project(pair.project, pair.version)
    if files and files.requires_torch is not None:
        return f"by its own Requires-Dist: torch{files.requires_torch}"
    if files and files.paired_torch is not None:
        return f"by {pair.project}'s compatibility table ({files.paired_source}): torch{files.paired_torch}"
    if pair.source == DECLARED:
        return f"as {pair.source}"
    # The ids (PYPI; AUDIO_4194; …) are keys into the snapshot's `sources`, not words for a user.
    n = len([part for part in pair.source.split(";") if part.strip()])
    return f"as torchpin's snapshot records ({n} source{'s' if n != 1 else ''} cited in wheel_index.json)"


def _pair_problem(s: Search, release: Release, variant: Variant, spec: SpecifierSet, pair: CompanionPair) -> Problem:
    project, plat = pair.project, s.target.platform.key
    declared = _declared(s, pair)
    if declared is not None and not declared.contains(release.version, prereleases=True):
        return f"{project} {pair.version} declares torch{declared}, which excludes torch {release.version}", "companion"
    if declared is None and not compat.usable(pair.status, live=s.ignore_status):
        return (
            f"{project} {pair.version} pairing with torch {release.version} is unconfirmed ({pair.source})"
            f"{s.unconfirmed_tail}",
            "status",
        )
    if pair.families is not None and variant.family.value not in pair.families:
        only = ", ".join(sorted(pair.families))
        return f"{project} publishes no {variant.family.value} builds (only {only})", "companion"
    on_pypi = untagged(release, variant, plat)
    # A companion page read live is the truth for that companion; the builds of the torch
    # release it was built with are only the offline stand-in. Beside a torch from PyPI (macOS)
    # the package comes from PyPI too: its files there decide (checked below).
    unread = not on_pypi and (variant.name, project) not in s.catalog.live_pages
    if unread and pair.variants is not None:
        if not compat.usable(pair.status, live=s.ignore_status):
            what = pair.source if pair.source == UNRECORDED else f"its variant builds are unconfirmed ({pair.source})"
            return f"{project} {pair.version}: {what}{s.unconfirmed_tail}", "status"
        if variant.name not in pair.variants:
            published = ", ".join(sorted(pair.variants, key=parse_variant))
            return f"{project} {pair.version} has no {variant} build (published for {published})", "companion"
    elif unread:
        base = s.catalog.release(pair.built_with)
        build = base.build(variant.name, plat) if base else None
        built = build is not None and compat.usable(build.status, live=s.ignore_status)
        if not (variant.name in pair.extra_variants or built):
            return f"{project} {pair.version} has no {variant} build for {plat}", "companion"
    recorded = release.companions.get(project)
    newer = recorded is not None and Version(pair.version) > Version(recorded.version)
    if pair.source == DECLARED and newer and unread:
        # A release newer than the recorded pairing is one the data hasn't caught up with: PyPI's
        # own files confirm what PyPI serves; a variant index build only its page does. (Older
        # declared releases were known when the pairing was recorded and follow its builds.)
        return (
            f"{project} {pair.version} has no confirmed {variant} build (PyPI lists the release; no index page"
            f" read lists that build){s.unconfirmed_tail}",
            "status",
        )
    pinned = Version(pinned_version(pair.version, variant, on_pypi or not pair.tagged))
    if missing := not_on_index(s, release, variant, project, pinned):
        return missing, "index"
    if not spec.contains(pinned, prereleases=True):
        return f"'{project}{spec}' excludes {project} {pair.version} (for torch {release.version})", "requirement"
    files = s.catalog.project(project, pair.version)
    if files and files.requires_python and not files.requires_python.contains(s.target.python.version):
        return f"{project} {pair.version} requires Python {files.requires_python}", "companion"
    # A release only the live index knows has no PyPI file list: its page (checked above) decides.
    if files and files.raw_files and not python_accepts(files.python_tags(plat), s.target.python):
        return f"{project} {pair.version} has no CPython {s.target.python} wheel for {plat}", "companion"
    if files and files.raw_files and untagged(release, variant, plat) and (problem := pypi_file_problem(s, files)):
        return problem, "os-floor"
    return None


def _triton_problem(s: Search, release: Release, variant: Variant, project: str, spec: SpecifierSet) -> Problem:
    """A triton build asked for: the one this torch build requires, by name and version (torch's own
    Requires-Dist pins it), or why not."""
    plat = s.target.platform.key
    wants = triton_build(variant.family.value, str(release.version), plat)
    if wants is None:
        return (
            f"torch {release.version} {variant} on {plat} requires no triton build ({project} asked for)",
            "companion",
        )
    if wants != project:
        return f"torch {release.version} {variant} requires {wants}, not {project}", "companion"
    if release.triton is None:
        return f"which {project} torch {release.version} requires isn't recorded", "status"
    pinned = Version(release.triton)
    if not spec.contains(pinned, prereleases=True):
        return f"'{project}{spec}' excludes {project} {pinned}, which torch {release.version} requires", "requirement"
    if project != "triton" and (missing := not_on_index(s, release, variant, project, pinned)):
        return missing, "index"
    return None


def _pyg_pick(s: Search, release: Release, variant: Variant, project: str, spec: SpecifierSet) -> Picked | Problem:
    """The version (and why) of ``project``'s newest wheel on data.pyg.org's page for this torch minor and
    variant that installs on the target; or why there is none."""
    minor = minor_of(release.version)
    page = s.catalog.pyg.get((minor, variant.name))
    where = f"data.pyg.org's torch-{minor}.0+{variant} page"
    if page is None or page.absent:
        known = "it answers 403" if page is not None else "none is recorded"
        return (
            f"data.pyg.org has no torch-{minor}.0+{variant} page ({known}); {_nearest_pyg(s, project, variant)}",
            "companion",
        )
    plat, py = s.target.platform.key, s.target.python
    if page.files is not None:  # read live: the page is the whole truth
        releases = releases_on(page, project)
        if not releases:
            return f"{where} has no {project} wheels", "companion"
        excluded = None
        for version, files in releases:
            if not spec.contains(version, prereleases=True):
                excluded = excluded or f"'{project}{spec}' excludes {project} {version} on {where}"
                continue
            if best_wheel(files, project, str(version), s.target) is not None:
                return Picked(
                    str(version), f"{project} {version} is the newest on {where} with a CPython {py} wheel for {plat}"
                )
        if excluded:
            return excluded, "requirement"
        return f"{where} has no {project} wheel for CPython {py} on {plat}", "companion"
    build = page.recorded.get(project)
    if build is None:
        return f"{where} has no {project} (as recorded: {page.source})", "companion"
    if plat not in build.platforms:
        return f"{project} {build.version} on {where} has no {plat} wheel", "companion"
    if build.python is not None and not python_accepts({build.python}, py):
        return f"{project} {build.version} on {where} is one {build.python} wheel: no CPython {py}", "companion"
    if not compat.usable(build.status, live=s.ignore_status):
        return f"{project} on {where} is unconfirmed ({build.source}){s.unconfirmed_tail}", "status"
    pinned = f"{build.version}+{local_tag(minor, variant.name)}"
    if not spec.contains(Version(pinned), prereleases=True):
        return f"'{project}{spec}' excludes {project} {pinned}, the newest recorded on {where}", "requirement"
    return Picked(
        pinned,
        f"{project} {pinned} is the newest {where} has, as recorded ({build.source}); a live read names the file",
    )


def _nearest_pyg(s: Search, project: str, variant: Variant) -> str:
    """Which torch has a page with ``project`` for this variant, newest first: what to pin instead."""
    plat = s.target.platform.key
    minors = []
    for (minor, name), page in s.catalog.pyg.items():
        if name != variant.name or page.absent:
            continue
        if page.files is not None:
            has = any(best_wheel(f, project, str(v), s.target) for v, f in releases_on(page, project))
        else:
            has = project in page.recorded and plat in page.recorded[project].platforms
        if has:
            minors.append(tuple(int(x) for x in minor.split(".")))
    if not minors:
        return f"PyG publishes no {project} for {variant} on {plat}"
    newest = ".".join(map(str, max(minors)))
    return f"the newest torch with {project} there for {variant} is {newest} (torch-{newest}.0+{variant}.html)"
