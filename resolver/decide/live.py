"""Which live pages could change the decision (pure): the variant index's, and data.pyg.org's.

A live lock reads only these: every candidate build down to the first release the catalog as it
stands already decides on, since nothing older can win.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from packaging.specifiers import SpecifierSet

from torchpin.facts.pyg import minor_of
from torchpin.facts.snapshot import Build, Catalog, Release
from torchpin.models import PYG, Requirement, Target, Variant

from .search import Search, public_spec, requirement_map, untagged
from .select import _build_fits, _candidate_builds, _release_fits, _variant_problem

__all__ = ["live_candidates", "pyg_candidates"]


def live_candidates(target: Target, catalog: Catalog, requirements: Sequence[Requirement] = ()) -> list[Variant]:
    """Variants whose live pages could change the decision, newest release first.

    Every variant passing all checks but the facts' status is collected, down to the
    first release the snapshot alone can already decide on: nothing older can win.
    """
    found: list[Variant] = []
    for release, build in _candidates(target, catalog, requirement_map(requirements)):
        # Untagged builds: PyPI serves these, and the snapshot has their real files already.
        if not untagged(release, build.variant, build.platform) and build.variant not in found:
            found.append(build.variant)
    return found


def pyg_candidates(target: Target, catalog: Catalog, requirements: Sequence[Requirement] = ()) -> list[tuple[str, str]]:
    """data.pyg.org's (torch minor, variant) pages not yet read whose live read could change the
    decision, newest first: every candidate build's, down to the first release the catalog as it
    stands already decides on. Read them, fold them in and ask again until none is left: a page
    that lacks a package moves the decision to an older release, whose page is then read."""
    specs = requirement_map(requirements)
    if not any(p in PYG for p in specs):
        return []
    found: list[tuple[str, str]] = []
    for release, build in _candidates(target, catalog, specs):
        key = (minor_of(release.version), build.variant.name)
        page = catalog.pyg.get(key)
        if (page is None or not page.live) and key not in found:
            found.append(key)
    return found


def _candidates(target: Target, catalog: Catalog, specs: dict[str, SpecifierSet]) -> Iterator[tuple[Release, Build]]:
    """Each (release, build) passing every check but the facts' status, newest release first, down
    to the first release the catalog as it stands already decides on: nothing older can win."""
    loose = Search(target, catalog, specs, ignore_status=True)
    strict = Search(target, catalog, specs)
    for release in catalog.releases:
        if not public_spec(specs["torch"]).contains(release.version, prereleases=True):
            continue
        if not _release_fits(loose, release):
            continue
        for build in _candidate_builds(loose, release):
            if _variant_problem(loose, release, build) is None:
                yield release, build
        if any(_build_fits(strict, release, b) for b in _candidate_builds(strict, release)):
            return
