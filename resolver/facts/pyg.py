"""PyTorch Geometric's extension wheels (pure): data.pyg.org's pages, what the snapshot records of
them, and what a live read of one says.

One find-links page per torch minor and variant, ``torch-X.Y.0+VARIANT.html`` for every ``X.Y.*``
(ecosystem facts §4), listing each package's wheels under relative links; each wheel's local tag
names both (``+pt211cu128``). A page that doesn't exist answers 403: PyG's pages lag torch releases.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from packaging.version import InvalidVersion, Version

from torchpin.models import Status, WheelFile

from .wheels import wheel_parts

if TYPE_CHECKING:
    from .catalog import Catalog
    from .simple import Link


@dataclass(frozen=True)
class PygBuild:
    """A package release the snapshot records on a page: derived from its publisher's changelog and
    the file names seen, not read from the page."""

    version: str
    platforms: frozenset[str]
    python: str | None  # one abi3 wheel (``cp310-abi3``); None: one wheel per CPython torch has
    status: Status
    source: str


@dataclass(frozen=True)
class PygPage:
    """One page: recorded (it exists; the newest release of each package on it), or read live
    (``files``: every wheel it lists; ``absent``: the host has no such page)."""

    minor: str  # "2.11"
    variant: str
    status: Status
    source: str
    recorded: Mapping[str, PygBuild]
    files: tuple[WheelFile, ...] | None = None
    absent: bool = False

    @property
    def live(self) -> bool:
        return self.files is not None or self.absent


def minor_of(torch: str | Version) -> str:
    """``2.11.1`` → ``2.11``: every patch release of a minor shares its page."""
    v = torch if isinstance(torch, Version) else Version(str(torch))
    return f"{v.major}.{v.minor}"


def page_url(root: str, minor: str, variant: str) -> str:
    """``https://data.pyg.org/whl/torch-2.11.0+cu128.html``: always ``X.Y.0``, for every ``X.Y.*``
    (no alias page exists for several patch releases)."""
    return f"{root.rstrip('/')}/torch-{minor}.0+{variant}.html"


def local_tag(minor: str, variant: str) -> str:
    """The local version each wheel on the page carries: ``pt211cu128`` for 2.11 and cu128, ``pt28cpu``."""
    return "pt" + minor.replace(".", "") + variant


def releases_on(page: PygPage, project: str) -> list[tuple[Version, list[WheelFile]]]:
    """A live page's releases of ``project`` built for its torch and variant, newest first."""
    tag = local_tag(page.minor, page.variant)
    stem = project.replace("-", "_") + "-"
    found: dict[Version, list[WheelFile]] = {}
    for f in page.files or ():
        if not f.filename.lower().startswith(stem):
            continue
        try:
            name, version, _, _ = wheel_parts(f.filename)
        except (ValueError, InvalidVersion):
            continue
        if str(name) == project and version.local == tag:
            found.setdefault(version, []).append(f)
    return sorted(found.items(), key=lambda kv: kv[0], reverse=True)


def merge_pyg(catalog: Catalog, pages: Mapping[tuple[str, str], Iterable[Link] | None]) -> Catalog:
    """Fold pages read live into the catalog: ``pages`` maps (minor, variant) to the page's links,
    or None when the host has no such page."""
    known = dict(catalog.pyg)
    for (minor, variant), links in pages.items():
        old = known.get((minor, variant)) or PygPage(minor, variant, "confirmed", "LIVE", {})
        if links is None:
            known[(minor, variant)] = replace(old, files=None, absent=True, source="LIVE")
            continue
        wheels = tuple(WheelFile(link.filename, link.url, link.sha256) for link in links if link.is_wheel)
        known[(minor, variant)] = replace(old, files=wheels, absent=False, status="confirmed", source="LIVE")
    return replace(catalog, pyg=known)


__all__ = ["PygBuild", "PygPage", "local_tag", "merge_pyg", "minor_of", "page_url", "releases_on"]
