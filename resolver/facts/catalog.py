"""The catalog (pure): everything the policy may consult, as typed values.

``snapshot`` builds it from ``wheel_index.json``; ``live`` folds index pages into it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from torchpin.models import PLATFORM_KEYS, DriverVersion, Status, Variant, WheelFile

from .flash_attn import FlashAttnFacts
from .pyg import PygPage
from .wheels import platform_floor, platform_key, python_tag, wheel_tags


@dataclass(frozen=True)
class ArchList:
    """GPU code a CUDA build carries: SASS per compute capability, PTX for the highest."""

    sass: tuple[tuple[int, int], ...]
    ptx: tuple[int, int] | None
    status: Status
    source: str


@dataclass(frozen=True)
class Build:
    """One variant of one release published for one platform."""

    variant: Variant
    platform: str
    status: Status
    source: str
    arch: ArchList | None = None


@dataclass(frozen=True)
class CompanionPair:
    """The companion version paired with a torch release, and where its builds come from."""

    project: str
    version: str
    built_with: str
    status: Status
    source: str
    extra_variants: frozenset[str] = frozenset()
    families: frozenset[str] | None = None  # build families the companion publishes (None: torch's)
    # An ecosystem release's own variant builds (None: those of the torch it was built with).
    variants: frozenset[str] | None = None
    tagged: bool = True  # its variant wheels carry the +variant local tag


@dataclass(frozen=True)
class VariantBuilds:
    """Where an ecosystem release (xformers …) is published, from its publisher's build workflow."""

    variants: frozenset[str]
    pypi_build: str | None  # the variant whose build PyPI got: the others differ under one name
    built_with: str  # the torch it was compiled against
    tagged: bool
    status: Status
    source: str


@dataclass(frozen=True)
class Release:
    """What is known about one torch release."""

    version: Version
    date: str
    glibc: Mapping[str, Version]
    pypi_default: Mapping[str, str]
    untagged_cpu: frozenset[str]
    builds: tuple[Build, ...]
    companions: Mapping[str, CompanionPair]
    extra_python_tags: Mapping[str, frozenset[str]] = field(default_factory=dict)
    extra_python_status: Status = "unconfirmed"
    triton: str | None = None  # the triton release its Requires-Dist pins (its build, by family)

    def build(self, variant: str, platform: str) -> Build | None:
        for b in self.builds:
            if b.variant.name == variant and b.platform == platform:
                return b
        return None


@dataclass(frozen=True)
class ProjectRelease:
    """A project version's PyPI files; tags are derived on first use, not stored."""

    project: str
    version: str
    requires_python: SpecifierSet | None
    yanked: bool
    raw_files: tuple[Mapping[str, Any], ...]
    requires_torch: SpecifierSet | None = None  # its Requires-Dist on torch (companions), if it declares one
    # The torch range its publisher pairs it with where the wheel declares none (torchcodec's
    # README table), and that fact's source.
    paired_torch: SpecifierSet | None = None
    paired_source: str | None = None
    builds: VariantBuilds | None = None  # ecosystem releases: their variant builds, where recorded

    @property
    def pairs_torch(self) -> SpecifierSet | None:
        """The torch range this release goes with: its Requires-Dist, else its publisher's table."""
        return self.requires_torch if self.requires_torch is not None else self.paired_torch

    @cached_property
    def _tags(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for f in self.raw_files:
            for tag in wheel_tags(f["filename"]):
                # A pure wheel (torchrec, torchao's CPU build) installs on every platform.
                for key in PLATFORM_KEYS if tag.platform == "any" else (platform_key(tag.platform),):
                    if key:
                        out.setdefault(key, set()).add(python_tag(tag))
        return out

    def python_tags(self, platform: str) -> frozenset[str]:
        return frozenset(self._tags.get(platform, ()))

    def files(self) -> tuple[WheelFile, ...]:
        return tuple(WheelFile(f["filename"], f.get("url"), f.get("sha256"), f.get("size")) for f in self.raw_files)

    def min_floor(self, platform: str) -> Version | None:
        """The lowest OS floor (glibc / macOS) any wheel for this platform asks for."""
        floors = [
            fl
            for f in self.raw_files
            for tag in wheel_tags(f["filename"])
            if platform_key(tag.platform) == platform and (fl := platform_floor(tag.platform))
        ]
        return min(floors) if floors else None


class Projects(Mapping[str, Mapping[str, ProjectRelease]]):
    """The snapshot's projects, each parsed and validated on first use: a lock of the trio reads
    three of the dozen, and the rest cost nothing but their JSON."""

    def __init__(
        self,
        raw: Mapping[str, Any],
        parse: Callable[[str, Any], dict[str, ProjectRelease]],
        parsed: Mapping[str, Mapping[str, ProjectRelease]] | None = None,
    ) -> None:
        self._raw = raw
        self._parse = parse
        self._parsed: dict[str, Mapping[str, ProjectRelease]] = dict(parsed or {})

    def __getitem__(self, project: str) -> Mapping[str, ProjectRelease]:
        if project not in self._parsed:
            if project not in self._raw:
                raise KeyError(project)
            self._parsed[project] = self._parse(project, self._raw[project])
        return self._parsed[project]

    def __iter__(self) -> Iterator[str]:
        return iter({**dict.fromkeys(self._raw), **dict.fromkeys(self._parsed)})

    def __len__(self) -> int:
        return len(self._raw.keys() | self._parsed.keys())

    def updated(self, edits: Mapping[str, Mapping[str, ProjectRelease]]) -> Projects:
        """A copy with ``edits`` replacing whole projects; the others stay unparsed until used."""
        return Projects(self._raw, self._parse, {**self._parsed, **edits})


def with_projects(
    projects: Mapping[str, Mapping[str, ProjectRelease]], edits: Mapping[str, Mapping[str, ProjectRelease]]
) -> Mapping[str, Mapping[str, ProjectRelease]]:
    """``projects`` with ``edits`` replacing whole projects, lazily where it was lazy."""
    return projects.updated(edits) if isinstance(projects, Projects) else {**projects, **edits}


@dataclass(frozen=True)
class CudaVariantFacts:
    """Driver minimums of one CUDA variant (``full`` = the toolkit's own, strict rule)."""

    cuda: str
    full_linux: DriverVersion | None
    full_windows: DriverVersion | None
    status: Status


@dataclass(frozen=True)
class Catalog:
    """Everything the policy may consult, newest release first."""

    snapshot_date: str
    releases: tuple[Release, ...]
    projects: Mapping[str, Mapping[str, ProjectRelease]]
    minor_compat: Mapping[int, Mapping[str, DriverVersion]]
    cuda_variants: Mapping[str, CudaVariantFacts]
    rocm_gfx: Mapping[str, tuple[frozenset[str], Status]]
    variant_files: Mapping[str, WheelFile]
    # (variant, project) pages read from a live index: their file lists are the whole truth.
    live_pages: frozenset[tuple[str, str]] = frozenset()
    # Files those pages mark yanked (PEP 592): used only for an exact == pin, as pip does.
    yanked_files: frozenset[str] = frozenset()
    # Each live page's own wheels: an untagged file name (xformers) is on several variant pages,
    # a different build on each.
    page_files: Mapping[tuple[str, str], tuple[WheelFile, ...]] = field(default_factory=dict)
    # data.pyg.org's pages by (torch minor, variant): recorded, or read live.
    pyg: Mapping[tuple[str, str], PygPage] = field(default_factory=dict)
    # flash-attn's release wheels: each release's build matrix, and torch's C++ ABI per build.
    flash_attn: FlashAttnFacts = field(default_factory=FlashAttnFacts)

    def release(self, version: str) -> Release | None:
        for r in self.releases:
            if str(r.version) == version:
                return r
        return None

    def project(self, project: str, version: str) -> ProjectRelease | None:
        return self.projects.get(project, {}).get(version)

    def gfx(self, variant: str) -> tuple[frozenset[str], Status]:
        """A ROCm build's gfx list and its status (empty and unconfirmed: not known)."""
        return self.rocm_gfx.get(variant, (frozenset(), "unconfirmed"))

    @property
    def variant_names(self) -> list[str]:
        names = {b.variant.name for r in self.releases for b in r.builds}
        return sorted(names)
