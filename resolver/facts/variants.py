"""A release's GPU list as its index states it (pure): ``{name}-{version}-variants.json`` (PEP 825),
served beside the wheels, declares each variant label's properties; its ``nvidia :: sm_arch``
values are the GPU code the build carries (``90_real``: SASS for 9.0; ``120_virtual``: PTX for
12.0). A stated list beats an inferred one: a release only the live index knows gets its
template's list marked unconfirmed, which no GPU decision trusts, until a variants.json says it.

torchpin reads the label named as the variant page it is on (``cu130`` on the cu130 page), for
every platform of that variant; other labels, and files it can't read whole, state nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from torchpin.models import Family

from .catalog import ArchList

if TYPE_CHECKING:
    from .simple import Link
    from .snapshot import Catalog

SOURCE = "variants.json"
_FILE = re.compile(r"torch-(\d[0-9a-z.!+]*)-variants\.json")
_SM = re.compile(r"(\d+)(\d)_(real|virtual)")


def variants_wanted(
    catalog: Catalog, pages: Mapping[tuple[str, str], tuple[Link, ...] | None]
) -> dict[str, tuple[str, str]]:
    """URL → (variant, torch version) of each torch variants.json a page lists for a release
    whose GPU list for that variant is not confirmed."""
    out: dict[str, tuple[str, str]] = {}
    for (variant, project), links in pages.items():
        if project != "torch":
            continue
        for link in links or ():
            m = _FILE.fullmatch(link.filename)
            release = catalog.release(m[1]) if m and link.yanked is None else None
            if release is None or m is None:
                continue
            if any(
                b.variant.name == variant and b.arch is not None and b.arch.status != "confirmed"
                for b in release.builds
            ):
                out[link.url] = (variant, m[1])
    return out


def stated_arch(body: bytes, variant: str) -> ArchList | None:
    """The GPU list ``body`` (a variants.json) states for the label ``variant``; None when it states
    none, or any value of it is unreadable (a statement is believed whole or not at all)."""
    try:
        values = json.loads(body)["variants"][variant]["nvidia"]["sm_arch"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(values, list) or not values:
        return None
    sass: set[tuple[int, int]] = set()
    ptx: set[tuple[int, int]] = set()
    for value in values:
        m = _SM.fullmatch(value) if isinstance(value, str) else None
        if m is None:
            return None
        (sass if m[3] == "real" else ptx).add((int(m[1]), int(m[2])))
    return ArchList(tuple(sorted(sass)), max(ptx) if ptx else None, "confirmed", SOURCE)


def with_stated_arch(catalog: Catalog, stated: Mapping[tuple[str, str], ArchList]) -> Catalog:
    """The catalog with each (variant, version)'s CUDA builds carrying the stated GPU list."""
    if not stated:
        return catalog
    releases = []
    for release in catalog.releases:
        builds = tuple(
            replace(b, arch=stated[(b.variant.name, str(release.version))])
            if b.variant.family is Family.CUDA and (b.variant.name, str(release.version)) in stated
            else b
            for b in release.builds
        )
        releases.append(replace(release, builds=builds) if builds != release.builds else release)
    return replace(catalog, releases=tuple(releases))
