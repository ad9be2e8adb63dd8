"""The search state the policy's parts share, and the small pure rules about pins (pure).

Kept apart so ``policy`` (releases and variants), ``pairing`` (companions), ``nobuild`` (why
nothing fits) and ``pins`` read one state without importing each other in a loop.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from torchpin.facts.snapshot import Catalog, CompanionPair, ProjectRelease, Release
from torchpin.facts.wheels import best_wheel, parse_wheel, platform_floor, platform_key, python_accepts, python_tag
from torchpin.models import (
    BRINGS,
    ECOSYSTEM,
    TRIO,
    Family,
    Rejection,
    RejectionKind,
    Requirement,
    Target,
    Variant,
    WheelFile,
)

Problem = tuple[str, RejectionKind] | None  # why a build doesn't fit, and what kind of fact said so


class Picked(NamedTuple):
    """A package's version for a torch build, and why that one."""

    version: str
    why: str


@dataclass
class Search:
    target: Target
    catalog: Catalog
    specs: dict[str, SpecifierSet]
    rejected: list[Rejection] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # (torch release, variant) -> the companion versions picked for it
    chosen: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    # (torch release, variant) -> why each picked companion is that version
    chosen_why: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    # (torch release, variant) -> notes about its companions: said only if that build is chosen
    chosen_notes: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    # True while collecting the pages a live lock needs: statuses are what those pages decide.
    ignore_status: bool = False

    @functools.cached_property
    def pairings(self) -> dict[tuple[str, str], CompanionPair]:
        """(companion, version) -> a recorded pairing of it: where its builds come from."""
        out: dict[tuple[str, str], CompanionPair] = {}
        for r in self.catalog.releases:
            for pair in r.companions.values():
                out.setdefault((pair.project, pair.version), pair)
        for project in ECOSYSTEM:
            if project in self.specs:
                for version, files in self.catalog.projects.get(project, {}).items():
                    out[(project, version)] = ecosystem_pair(files)
        return out

    @property
    def unconfirmed_tail(self) -> str:
        """What would confirm an unconfirmed fact: the live index, unless it was already read."""
        return "; the live index pages read did not confirm it" if self.catalog.live_pages else "; needs the live index"

    def reject(self, release: Release, variant: str, reason: str, kind: RejectionKind) -> None:
        self.rejected.append(Rejection(str(release.version), variant, reason, kind))


# An ecosystem release whose variant builds nothing recorded: the live pages say which exist.
UNRECORDED = "its variant builds are not recorded"


def ecosystem_pair(files: ProjectRelease) -> CompanionPair:
    """An ecosystem release as a pairing: its own variant builds, or none known until a page lists them."""
    b = files.builds
    if b is None:
        return CompanionPair(files.project, files.version, "", "unconfirmed", UNRECORDED, variants=frozenset())
    return CompanionPair(
        files.project, files.version, b.built_with, b.status, b.source, variants=b.variants, tagged=b.tagged
    )


def public_spec(spec: SpecifierSet) -> SpecifierSet:
    """The spec a release (no local tag) must meet: ``==2.5.1+cu121`` asks for release 2.5.1."""
    return SpecifierSet(",".join(f"{s.operator}{s.version.split('+')[0]}" for s in spec))


def requirement_map(requirements: Sequence[Requirement]) -> dict[str, SpecifierSet]:
    """Merge requirements per project; no requirement at all means the trio, any version."""
    specs: dict[str, SpecifierSet] = {}
    asked = [r for r in requirements if not r.constraint]
    for req in asked or [Requirement(p) for p in TRIO]:
        specs[req.project] = specs.get(req.project, SpecifierSet()) & req.specifier
    specs.setdefault("torch", SpecifierSet())
    for project in list(specs):
        for brought in BRINGS.get(project, ()):
            specs.setdefault(brought, SpecifierSet())
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


def pypi_file_problem(s: Search, files: ProjectRelease) -> str | None:
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


def not_on_index(s: Search, release: Release, variant: Variant, project: str, pinned: Version) -> str | None:
    """Pages read from a live index list every wheel there is: no file for the target, no build."""
    plat = s.target.platform.key
    if (variant.name, project) not in s.catalog.live_pages or untagged(release, variant, plat):
        return None
    listed = s.catalog.page_files.get((variant.name, project), ())
    files: Iterable[WheelFile] = listed
    if not exact_pin(s.specs.get(project), pinned):
        files = [f for f in files if f.filename not in s.catalog.yanked_files]
    if best_wheel(files, project, str(pinned), s.target) is None:
        yanked = best_wheel(listed, project, str(pinned), s.target) is not None
        if yanked:
            return f"{project} {pinned} is yanked on the index (pin it with == to use it anyway)"
        return f"the index has no {project} {pinned} wheel for CPython {s.target.python} on {plat}"
    return None


def exact_pin(spec: SpecifierSet | None, version: Version) -> bool:
    """Whether the user pinned exactly this release (``==X`` / ``===X``): pip's rule for yanked files."""
    if spec is None:
        return False
    return any(
        s.operator in ("==", "===") and "*" not in s.version and Version(s.version).public == version.public
        for s in spec
    )
