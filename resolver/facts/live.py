"""Fold live index pages into the snapshot catalog (pure).

A variant page is the truth for that variant: builds it lists are confirmed, builds
it lacks are dropped, releases it lists that the snapshot lacks are added (their other
facts unconfirmed), and its wheels replace the snapshot's file knowledge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from torchpin.models import TABLE_PAIRED, WheelFile

from .catalog import with_projects
from .snapshot import Build, Catalog, ProjectRelease, Release
from .wheels import platform_key, wheel_parts

if TYPE_CHECKING:
    from .simple import Link

SOURCE = "INDEX"


def merge(catalog: Catalog, pages: Mapping[tuple[str, str], tuple[Link, ...] | None]) -> Catalog:
    """``pages`` maps (variant, project) to its links, or None when the index has no such page."""
    seen: dict[tuple[str, str], set[str]] = {}  # (variant, version) → platforms with a torch wheel
    files: dict[str, WheelFile] = dict(catalog.variant_files)
    new_torch: dict[str, list[Link]] = {}
    known = {str(r.version) for r in catalog.releases}
    fetched = {variant for (variant, project), links in pages.items() if project == "torch" and links is not None}
    missing = {variant for (variant, project), links in pages.items() if project == "torch" and links is None}
    yanked: set[str] = set()
    page_files: dict[tuple[str, str], tuple[WheelFile, ...]] = dict(catalog.page_files)
    for (variant, project), links in pages.items():
        own: list[WheelFile] = []
        for link in links or ():
            if not link.is_wheel:
                continue
            if link.yanked is not None:
                yanked.add(link.filename)
            files[link.filename] = wheel = WheelFile(link.filename, link.url, link.sha256)
            own.append(wheel)
            if not link.filename.startswith("torch-"):  # only torch's own wheels say which builds exist
                continue
            try:
                name, version, _, tags = wheel_parts(link.filename)
            except Exception:  # one odd file name must not sink the page
                continue
            # Untagged wheels on a cuXYZ page are CPU builds (aarch64 up to 2.5); only +variant
            # wheels, or untagged ones on the cpu page, show that this variant has the release.
            if str(name) != "torch" or not (version.local == variant or (variant == "cpu" and version.local is None)):
                continue
            for tag in tags:
                key = platform_key(tag.platform)
                if key:
                    seen.setdefault((variant, version.public), set()).add(key)
            if version.public not in known and not version.is_prerelease and link.yanked is None:
                new_torch.setdefault(version.public, []).append(link)
        page_files[(variant, project)] = tuple(own)
    releases = [_confirm(r, fetched | missing, seen) for r in catalog.releases]
    new_torch_files: dict[str, ProjectRelease] = {}
    newest = catalog.releases[0] if catalog.releases else None
    variants_of: dict[str, set[str]] = {}  # version → variants seen: one pass, not one per version
    for v, ver in seen:
        variants_of.setdefault(ver, set()).add(v)
    for new_version, new_links in _newest_unknown(new_torch, newest):
        if newest is None:
            break
        releases.append(_new_release(newest, new_version, variants_of.get(new_version, set()), seen))
        raw = tuple({"filename": link.filename, "sha256": link.sha256, "url": link.url} for link in new_links)
        new_torch_files[new_version] = ProjectRelease("torch", new_version, None, False, raw)
    releases.sort(key=lambda r: r.version, reverse=True)
    edits = {"torch": {**catalog.projects.get("torch", {}), **new_torch_files}} if new_torch_files else {}
    return replace(
        catalog,
        releases=tuple(releases),
        projects=with_projects(catalog.projects, edits),
        variant_files=files,
        live_pages=catalog.live_pages | frozenset(pages),
        yanked_files=catalog.yanked_files | frozenset(yanked),
        page_files=page_files,
    )


MAX_NEW_RELEASES = 16


def _newest_unknown(new_torch: dict[str, list[Link]], newest: Release | None) -> list[tuple[str, list[Link]]]:
    """Index-only releases worth adding: newer than the snapshot's newest (older unknown ones are
    outside what the snapshot covers, and their facts can't be inferred from a newer release),
    and at most the newest few, so a page listing 100 000 made-up versions costs no more."""
    if newest is None:
        return []
    later = [(Version(v), v) for v in new_torch if Version(v) > newest.version]
    later.sort(reverse=True)
    return [(v, new_torch[v]) for _, v in later[:MAX_NEW_RELEASES]]


def _confirm(release: Release, fetched: set[str], seen: dict[tuple[str, str], set[str]]) -> Release:
    builds = []
    for b in release.builds:
        if b.variant.name not in fetched:
            builds.append(b)
        elif b.platform in seen.get((b.variant.name, str(release.version)), set()):
            builds.append(replace(b, status="confirmed", source=SOURCE))
        # else: the index does not have it: dropped
    return replace(release, builds=tuple(builds))


def _new_release(template: Release, version: str, variants: set[str], seen: dict[tuple[str, str], set[str]]) -> Release:
    """A release only the index knows: its builds are observed, everything else is a guess."""
    builds: list[Build] = []
    for b in template.builds:
        if b.variant.name in variants and b.platform in seen.get((b.variant.name, version), set()):
            arch = replace(b.arch, status="unconfirmed", source="INFERRED") if b.arch else None
            builds.append(replace(b, status="confirmed", source=SOURCE, arch=arch))
    companions = {k: replace(p, status="unconfirmed", source="INFERRED") for k, p in template.companions.items()}
    return replace(
        template,
        version=Version(version),
        date="",
        builds=tuple(builds),
        companions=companions,
        extra_python_tags={},
        triton=None,  # which triton it pins, only its own metadata says
    )


MAX_SIDECARS = 4  # per companion: the newest releases are the ones that can win


def declarations_wanted(catalog: Catalog, pages: Mapping[tuple[str, str], tuple[Link, ...] | None]) -> dict[str, str]:
    """Sidecar URL -> "project==version" for companion releases on the pages whose torch
    declaration the catalog doesn't know yet (new releases), newest few per project."""
    found: dict[tuple[str, Version], str] = {}
    for (_variant, project), links in pages.items():
        if project == "torch" or project in TABLE_PAIRED:  # their wheels declare no torch
            continue
        for link in links or ():
            if not link.is_wheel or link.yanked is not None or not link.has_metadata:
                continue
            # The version is the second field of a wheel's name (the page parser checked the names);
            # reading it as text keeps a 2,000-link page from costing 2,000 version parses.
            public = link.filename.split("-")[1].split("+")[0]
            known = catalog.project(project, public)
            if known is None or known.requires_torch is None:
                try:
                    found.setdefault((project, Version(public)), link.url + ".metadata")
                except ValueError:  # one odd file name must not sink the page
                    continue
    out: dict[str, str] = {}
    for project in {p for p, _ in found}:
        newest = sorted((v for p, v in found if p == project), reverse=True)[:MAX_SIDECARS]
        out.update({found[(project, v)]: f"{project}=={v}" for v in newest})
    return out


def torch_declaration(metadata: bytes) -> str | None:
    """The specifier of ``Requires-Dist: torch…`` in a wheel's METADATA (">=0" for a bare name)."""

    for line in metadata.decode("utf-8", "replace").splitlines():
        if not line.lower().startswith("requires-dist:"):
            continue
        try:
            req = Requirement(line.split(":", 1)[1].strip())
        except InvalidRequirement:
            continue
        if req.name.lower() == "torch" and "extra" not in str(req.marker or ""):
            return str(req.specifier) or ">=0"
    return None


def with_declarations(catalog: Catalog, declared: Mapping[str, str]) -> Catalog:
    """Fold ``{"project==version": specifier}`` into the catalog's companion releases."""

    projects: dict[str, dict[str, ProjectRelease]] = {}
    for key, spec in declared.items():
        project, _, version = key.partition("==")
        try:
            parsed = SpecifierSet(spec)
        except InvalidSpecifier:
            continue
        old = catalog.project(project, version)
        new = replace(old, requires_torch=parsed) if old else ProjectRelease(project, version, None, False, (), parsed)
        projects.setdefault(project, dict(catalog.projects.get(project, {})))[version] = new
    return replace(catalog, projects=with_projects(catalog.projects, projects))
