"""Parse and validate ``wheel_index.json`` into a typed ``Catalog`` (pure: bytes in, values out)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, cast

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import parse_wheel_filename
from packaging.version import InvalidVersion, Version

from .errors import SnapshotError
from .models import PLATFORM_KEYS, STATUS_RANK, DriverVersion, Status, Variant, WheelFile
from .wheels import parse_variant, platform_floor, platform_key, python_tag

SCHEMA = 1


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

    @cached_property
    def _tags(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for f in self.raw_files:
            for tag in parse_wheel_filename(f["filename"])[3]:
                key = platform_key(tag.platform)
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
            for tag in parse_wheel_filename(f["filename"])[3]
            if platform_key(tag.platform) == platform and (fl := platform_floor(tag.platform))
        ]
        return min(floors) if floors else None


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
    pytorch_index_url: str
    pypi_index_url: str
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

    def release(self, version: str) -> Release | None:
        for r in self.releases:
            if str(r.version) == version:
                return r
        return None

    def project(self, project: str, version: str) -> ProjectRelease | None:
        return self.projects.get(project, {}).get(version)

    @property
    def variant_names(self) -> list[str]:
        names = {b.variant.name for r in self.releases for b in r.builds}
        return sorted(names)


class _Reader:
    """Typed accessors that name the JSON path of whatever is wrong."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, path: str, expected: str) -> SnapshotError:
        return SnapshotError(
            f"{self.origin}: {path}: expected {expected}",
            hint="reinstall torchpin or run scripts/refresh_wheel_index.py",
        )

    def obj(self, v: Any, path: str) -> dict[str, Any]:
        if not isinstance(v, dict):
            raise self.fail(path, "an object")
        return v

    def str_(self, v: Any, path: str) -> str:
        if not isinstance(v, str):
            raise self.fail(path, "a string")
        return v

    def list_(self, v: Any, path: str) -> list[Any]:
        if not isinstance(v, list):
            raise self.fail(path, "a list")
        return v

    def version(self, v: Any, path: str) -> Version:
        try:
            return Version(self.str_(v, path))
        except InvalidVersion:
            raise self.fail(path, "a version") from None

    def status(self, v: Any, path: str) -> Status:
        if v not in STATUS_RANK:
            raise self.fail(path, "confirmed, secondary or unconfirmed")
        return cast(Status, v)

    def driver(self, v: Any, path: str) -> DriverVersion:
        text = self.str_(v, path)
        if not all(p.isdigit() for p in text.split(".")):
            raise self.fail(path, "a driver version like 525.60.13")
        return DriverVersion(text)

    def cc(self, v: Any, path: str) -> tuple[int, int]:
        try:
            major, minor = self.str_(v, path).split(".")
            return int(major), int(minor)
        except ValueError:
            raise self.fail(path, "a compute capability like '8.6'") from None

    def variant(self, v: Any, path: str) -> Variant:
        try:
            return parse_variant(self.str_(v, path))
        except Exception:
            raise self.fail(path, "a variant name like cu128") from None


def load_catalog(raw: bytes | str, origin: str = "wheel_index.json") -> Catalog:
    """Parse and validate a snapshot; ``SnapshotError`` names the first bad field."""
    rd = _Reader(origin)
    try:
        doc = json.loads(raw)
    except ValueError as e:
        raise SnapshotError(f"{origin}: not valid JSON ({e})") from None
    doc = rd.obj(doc, "$")
    if doc.get("schema") != SCHEMA:
        raise rd.fail("schema", f"{SCHEMA} (this torchpin reads schema {SCHEMA} only)")
    releases = [
        _release(rd, ver, rd.obj(body, f"releases.{ver}"))
        for ver, body in rd.obj(doc.get("releases"), "releases").items()
    ]
    releases.sort(key=lambda r: r.version, reverse=True)
    cuda = rd.obj(doc.get("cuda"), "cuda")
    minor = {
        int(major): {os_: rd.driver(body.get(os_), f"cuda.minor_compat.{major}.{os_}") for os_ in ("linux", "windows")}
        for major, body in rd.obj(cuda.get("minor_compat"), "cuda.minor_compat").items()
    }
    cuda_variants = {}
    for name, body in rd.obj(cuda.get("variants"), "cuda.variants").items():
        path = f"cuda.variants.{name}"
        full = rd.obj(body.get("full"), path + ".full")
        cuda_variants[name] = CudaVariantFacts(
            cuda=rd.str_(body.get("cuda"), path + ".cuda"),
            full_linux=rd.driver(full["linux"], path + ".full.linux") if full.get("linux") else None,
            full_windows=rd.driver(full["windows"], path + ".full.windows") if full.get("windows") else None,
            status=rd.status(body.get("status"), path + ".status"),
        )
    rocm = {
        name: (
            frozenset(rd.list_(body.get("gfx"), f"rocm.{name}.gfx")),
            rd.status(body.get("status"), f"rocm.{name}.status"),
        )
        for name, body in rd.obj(doc.get("rocm", {}), "rocm").items()
    }
    projects: dict[str, dict[str, ProjectRelease]] = {}
    for project, versions in rd.obj(doc.get("projects"), "projects").items():
        projects[project] = {
            ver: _project_release(rd, project, ver, rd.obj(body, f"projects.{project}.{ver}"))
            for ver, body in rd.obj(versions, f"projects.{project}").items()
        }
    variant_files = {}
    for i, f in enumerate(rd.list_(doc.get("variant_files", []), "variant_files")):
        url = rd.str_(rd.obj(f, f"variant_files[{i}]").get("url"), f"variant_files[{i}].url")
        filename = url.rsplit("/", 1)[-1].replace("%2B", "+")
        variant_files[filename] = WheelFile(filename, url, f.get("sha256"), f.get("size"))
    return Catalog(
        snapshot_date=rd.str_(doc.get("snapshot_date"), "snapshot_date"),
        pytorch_index_url=rd.str_(doc.get("pytorch_index_url"), "pytorch_index_url"),
        pypi_index_url=rd.str_(doc.get("pypi_index_url"), "pypi_index_url"),
        releases=tuple(releases),
        projects=projects,
        minor_compat=minor,
        cuda_variants=cuda_variants,
        rocm_gfx=rocm,
        variant_files=variant_files,
    )


def _release(rd: _Reader, ver: str, body: dict[str, Any]) -> Release:
    path = f"releases.{ver}"
    builds = []
    for vname, plats in rd.obj(body.get("variants"), path + ".variants").items():
        variant = rd.variant(vname, f"{path}.variants.{vname}")
        for plat, raw_fact in rd.obj(plats, f"{path}.variants.{vname}").items():
            fpath = f"{path}.variants.{vname}.{plat}"
            if plat not in PLATFORM_KEYS:
                raise rd.fail(fpath, "a platform key: " + ", ".join(PLATFORM_KEYS))
            fact = rd.obj(raw_fact, fpath)
            arch = None
            if "arch" in fact:
                a = rd.obj(fact["arch"], fpath + ".arch")
                arch = ArchList(
                    sass=tuple(rd.cc(x, fpath + ".arch.sass") for x in rd.list_(a.get("sass"), fpath + ".arch.sass")),
                    ptx=rd.cc(a["ptx"], fpath + ".arch.ptx") if a.get("ptx") else None,
                    status=rd.status(a.get("status"), fpath + ".arch.status"),
                    source=rd.str_(a.get("source"), fpath + ".arch.source"),
                )
            builds.append(
                Build(
                    variant,
                    plat,
                    rd.status(fact.get("status"), fpath + ".status"),
                    rd.str_(fact.get("source"), fpath + ".source"),
                    arch,
                )
            )
    companions = {}
    for project, raw_pair in rd.obj(body.get("companions", {}), path + ".companions").items():
        cpath = f"{path}.companions.{project}"
        c = rd.obj(raw_pair, cpath)
        companions[project] = CompanionPair(
            project=project,
            version=str(rd.version(c.get("version"), cpath + ".version")),
            built_with=str(rd.version(c.get("built_with"), cpath + ".built_with")),
            status=rd.status(c.get("status"), cpath + ".status"),
            source=rd.str_(c.get("source"), cpath + ".source"),
            extra_variants=frozenset(rd.list_(c.get("extra_variants", []), cpath + ".extra_variants")),
            families=frozenset(rd.list_(c["families"], cpath + ".families")) if "families" in c else None,
        )
    extra = rd.obj(body.get("extra_python_tags", {"tags": {}, "status": "unconfirmed"}), path + ".extra_python_tags")
    return Release(
        version=rd.version(ver, path),
        date=rd.str_(body.get("date"), path + ".date"),
        glibc={
            k: rd.version(v, f"{path}.glibc.{k}") for k, v in rd.obj(body.get("glibc", {}), path + ".glibc").items()
        },
        pypi_default={
            k: rd.str_(v, f"{path}.pypi_default.{k}")
            for k, v in rd.obj(body.get("pypi_default"), path + ".pypi_default").items()
        },
        untagged_cpu=frozenset(rd.list_(body.get("untagged_cpu", []), path + ".untagged_cpu")),
        builds=tuple(builds),
        companions=companions,
        extra_python_tags={
            k: frozenset(v) for k, v in rd.obj(extra.get("tags"), path + ".extra_python_tags.tags").items()
        },
        extra_python_status=rd.status(extra.get("status"), path + ".extra_python_tags.status"),
    )


def _project_release(rd: _Reader, project: str, ver: str, body: dict[str, Any]) -> ProjectRelease:
    path = f"projects.{project}.{ver}"
    files = rd.list_(body.get("files"), path + ".files")
    for i, f in enumerate(files):
        # Names are parsed lazily (only for releases a lock looks at); tests check every one.
        rd.str_(rd.obj(f, f"{path}.files[{i}]").get("filename"), f"{path}.files[{i}].filename")
    specs: dict[str, SpecifierSet | None] = {}
    for key in ("requires_python", "requires_torch"):
        raw = body.get(key)
        try:
            specs[key] = SpecifierSet(raw) if raw else None
        except InvalidSpecifier:
            raise rd.fail(f"{path}.{key}", "a version specifier") from None
    return ProjectRelease(
        project, ver, specs["requires_python"], bool(body.get("yanked", False)), tuple(files), specs["requires_torch"]
    )
