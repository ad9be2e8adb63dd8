"""Exact pins and the concrete wheel each one resolves to, where the catalog knows it."""

from __future__ import annotations

from collections.abc import Iterable

from packaging.version import Version

from .models import COMPANIONS, Pin, Target, Variant, WheelFile
from .policy import pinned_version
from .snapshot import Catalog, Release
from .wheels import parse_wheel, platform_floor, platform_key, python_accepts, python_tag


def pins_for(
    catalog: Catalog, target: Target, release: Release, variant: Variant, *, projects: list[str], on_pypi: bool
) -> tuple[Pin, ...]:
    """torch first, then the requested companions in a fixed order."""
    pins = []
    for project in ("torch", *COMPANIONS):
        if project not in projects:
            continue
        version = str(release.version) if project == "torch" else release.companions[project].version
        exact = pinned_version(version, variant, on_pypi)
        if on_pypi:
            pr = catalog.project(project, version)
            files: Iterable[WheelFile] = pr.files() if pr else ()
        else:
            files = catalog.variant_files.values()
        pins.append(Pin(project, exact, best_wheel(files, project, exact, target)))
    return tuple(pins)


def best_wheel(files: Iterable[WheelFile], project: str, version: str, target: Target) -> WheelFile | None:
    """The wheel an installer would take for the target: tags match, OS floor met, highest build."""
    plat = target.platform
    want = Version(version)
    ranked: list[tuple[int, str, WheelFile]] = []
    for f in files:
        w = parse_wheel(f.filename)
        if w.project != project or w.version != want:
            continue
        for tag in w.tags:
            if platform_key(tag.platform) != plat.key or not python_accepts({python_tag(tag)}, target.python):
                continue
            floor = platform_floor(tag.platform)
            have = plat.glibc if plat.os == "linux" else plat.macos
            if floor and have and floor > have:
                continue
            ranked.append((w.build or 0, f.filename, f))
            break
    return max(ranked, key=lambda r: (r[0], r[1]))[2] if ranked else None
