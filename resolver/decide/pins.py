"""Exact pins and the concrete wheel each one resolves to, where the catalog knows it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from torchpin.facts.snapshot import Catalog
from torchpin.facts.wheels import best_wheel
from torchpin.models import COMPANIONS, Pin, Target, Variant, WheelFile

from .search import pinned_version


def pins_for(
    catalog: Catalog, target: Target, variant: Variant, versions: Mapping[str, str], *, on_pypi: bool
) -> tuple[Pin, ...]:
    """torch first, then the requested companions (``versions``: project -> version) in a fixed order."""
    pins = []
    for project in ("torch", *COMPANIONS):
        if project not in versions:
            continue
        version = versions[project]
        exact = pinned_version(version, variant, on_pypi)
        if on_pypi:
            pr = catalog.project(project, version)
            files: Iterable[WheelFile] = pr.files() if pr else ()
        else:
            files = catalog.variant_files.values()
        pins.append(Pin(project, exact, best_wheel(files, project, exact, target)))
    return tuple(pins)
