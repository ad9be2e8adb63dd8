"""Parse and validate ``wheel_index.json`` into a typed ``Catalog`` (pure: bytes in, values out)."""

from __future__ import annotations

import json
from typing import Any, cast

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from torchpin.errors import SnapshotError
from torchpin.models import PLATFORM_KEYS, STATUS_RANK, DriverVersion, Status, Variant, WheelFile

from . import flash_attn
from .catalog import (
    ArchList,
    Build,
    Catalog,
    CompanionPair,
    CudaVariantFacts,
    ProjectRelease,
    Projects,
    Release,
    VariantBuilds,
)
from .pyg import PygBuild, PygPage
from .wheels import parse_variant

SCHEMA = 1
__all__ = [
    "SCHEMA",
    "ArchList",
    "Build",
    "Catalog",
    "CompanionPair",
    "CudaVariantFacts",
    "ProjectRelease",
    "PygBuild",
    "PygPage",
    "Release",
    "VariantBuilds",
    "load_catalog",
]


class _Reader:
    """Typed accessors that name the JSON path of whatever is wrong."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        # Most builds of a variant carry the same arch list: each distinct one is read once.
        self.arch_lists: dict[tuple[Any, ...], ArchList] = {}
        self.specifiers: dict[str, SpecifierSet] = {}

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

    def parse(project: str, versions: Any) -> dict[str, ProjectRelease]:
        return {
            ver: _project_release(rd, project, ver, rd.obj(body, f"projects.{project}.{ver}"))
            for ver, body in rd.obj(versions, f"projects.{project}").items()
        }

    projects = Projects(rd.obj(doc.get("projects"), "projects"), parse)
    variant_files = {}
    for i, f in enumerate(rd.list_(doc.get("variant_files", []), "variant_files")):
        url = rd.str_(rd.obj(f, f"variant_files[{i}]").get("url"), f"variant_files[{i}].url")
        filename = url.rsplit("/", 1)[-1].replace("%2B", "+")
        variant_files[filename] = WheelFile(filename, url, f.get("sha256"), f.get("size"))
    return Catalog(
        snapshot_date=rd.str_(doc.get("snapshot_date"), "snapshot_date"),
        releases=tuple(releases),
        projects=projects,
        minor_compat=minor,
        cuda_variants=cuda_variants,
        rocm_gfx=rocm,
        variant_files=variant_files,
        pyg=_pyg(rd, rd.obj(doc.get("pyg", {}), "pyg")),
        flash_attn=flash_attn.parse(rd, rd.obj(doc.get("flash_attn", {}), "flash_attn")),
    )


def _pyg(rd: _Reader, raw: dict[str, Any]) -> dict[tuple[str, str], PygPage]:
    """data.pyg.org's pages the snapshot records, each with the newest release of each package on it."""
    on: dict[str, dict[str, PygBuild]] = {}
    for project, rows in rd.obj(raw.get("builds", {}), "pyg.builds").items():
        for i, row in enumerate(rd.list_(rows, f"pyg.builds.{project}")):
            path = f"pyg.builds.{project}[{i}]"
            b = rd.obj(row, path)
            python = b.get("python")
            build = PygBuild(
                version=str(rd.version(b.get("version"), path + ".version")),
                platforms=frozenset(
                    rd.str_(x, path + ".platforms") for x in rd.list_(b.get("platforms"), path + ".platforms")
                ),
                python=rd.str_(python, path + ".python") if python is not None else None,
                status=rd.status(b.get("status"), path + ".status"),
                source=rd.str_(b.get("source"), path + ".source"),
            )
            for minor in rd.list_(b.get("torch"), path + ".torch"):
                on.setdefault(rd.str_(minor, path + ".torch"), {})[project] = build
    pages = {}
    for minor, body in rd.obj(raw.get("pages", {}), "pyg.pages").items():
        path = f"pyg.pages.{minor}"
        page = rd.obj(body, path)
        for v in rd.list_(page.get("variants"), path + ".variants"):
            variant = rd.variant(v, path + ".variants").name
            status, source = (
                rd.status(page.get("status"), path + ".status"),
                rd.str_(page.get("source"), path + ".source"),
            )
            pages[(minor, variant)] = PygPage(minor, variant, status, source, on.get(minor, {}))
    return pages


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
                arch = _arch(rd, fact["arch"], fpath + ".arch")
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
        triton=str(rd.version(rd.obj(body["triton"], path + ".triton").get("version"), path + ".triton.version"))
        if "triton" in body
        else None,
    )


def _arch(rd: _Reader, raw: Any, path: str) -> ArchList:
    a = rd.obj(raw, path)
    sass = rd.list_(a.get("sass"), path + ".sass")
    key = (*sass, a.get("ptx"), a.get("status"), a.get("source"))
    if all(isinstance(k, str | None) for k in key) and key in rd.arch_lists:
        return rd.arch_lists[key]
    arch = ArchList(
        sass=tuple(rd.cc(x, path + ".sass") for x in sass),
        ptx=rd.cc(a["ptx"], path + ".ptx") if a.get("ptx") else None,
        status=rd.status(a.get("status"), path + ".status"),
        source=rd.str_(a.get("source"), path + ".source"),
    )
    rd.arch_lists[key] = arch  # every part was a string (or None), or reading it raised
    return arch


def _project_release(rd: _Reader, project: str, ver: str, body: dict[str, Any]) -> ProjectRelease:
    path = f"projects.{project}.{ver}"
    files = rd.list_(body.get("files"), path + ".files")
    for i, f in enumerate(files):
        # Names are parsed lazily (only for releases a lock looks at); tests check every one.
        if not (isinstance(f, dict) and isinstance(f.get("filename"), str)):  # the message's path only when wrong
            rd.str_(rd.obj(f, f"{path}.files[{i}]").get("filename"), f"{path}.files[{i}].filename")
    specs: dict[str, SpecifierSet | None] = {}
    pairing = body.get("torch_pairing")
    if pairing is not None and not (isinstance(pairing, dict) and isinstance(pairing.get("source"), str)):
        raise rd.fail(f"{path}.torch_pairing", "an object with spec and source")
    for key, raw in (
        ("requires_python", body.get("requires_python")),
        ("requires_torch", body.get("requires_torch")),
        ("torch_pairing.spec", pairing and pairing.get("spec")),
    ):
        if not raw:
            specs[key] = None
        elif not isinstance(raw, str):
            raise rd.fail(f"{path}.{key}", "a version specifier")
        elif raw in rd.specifiers:  # a few ranges recur across a hundred releases: each parsed once
            specs[key] = rd.specifiers[raw]
        else:
            try:
                specs[key] = rd.specifiers[raw] = SpecifierSet(raw)
            except InvalidSpecifier:
                raise rd.fail(f"{path}.{key}", "a version specifier") from None
    return ProjectRelease(
        project,
        ver,
        specs["requires_python"],
        bool(body.get("yanked", False)),
        tuple(files),
        specs["requires_torch"],
        specs["torch_pairing.spec"],
        pairing["source"] if pairing else None,
        _variant_builds(rd, body["variant_builds"], path + ".variant_builds") if "variant_builds" in body else None,
    )


def _variant_builds(rd: _Reader, raw: Any, path: str) -> VariantBuilds:
    b = rd.obj(raw, path)
    variants = [rd.variant(v, f"{path}.variants").name for v in rd.list_(b.get("variants"), path + ".variants")]
    pypi = b.get("pypi_build")
    if not isinstance(b.get("local_tag"), bool):
        raise rd.fail(path + ".local_tag", "true or false")
    return VariantBuilds(
        variants=frozenset(variants),
        pypi_build=rd.variant(pypi, path + ".pypi_build").name if pypi is not None else None,
        built_with=str(rd.version(b.get("built_with"), path + ".built_with")),
        tagged=b["local_tag"],
        status=rd.status(b.get("status"), path + ".status"),
        source=rd.str_(b.get("source"), path + ".source"),
    )
