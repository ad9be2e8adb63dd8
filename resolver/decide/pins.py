"""Exact pins and the concrete wheel each one resolves to, where the catalog knows it."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Mapping

from torchpin.facts.flash_attn import wheel_name, wheel_url
from torchpin.facts.pyg import minor_of
from torchpin.facts.snapshot import Catalog
from torchpin.facts.wheels import best_wheel
from torchpin.models import (
    DEFAULT_FLASH_ATTN_URL,
    FLASH_ATTN,
    PROJECTS,
    PYG,
    TRITON_BUILDS,
    Pin,
    Target,
    Variant,
    WheelFile,
)

from .search import ecosystem_pair, pinned_version


def pins_for(
    catalog: Catalog,
    target: Target,
    variant: Variant,
    versions: Mapping[str, str],
    *,
    on_pypi: bool,
    index: str = "",
    flash_attn: str = DEFAULT_FLASH_ATTN_URL,
) -> tuple[Pin, ...]:
    """torch first, then the requested companions and ecosystem packages (``versions``: project ->
    version) in a fixed order. ``index`` is the variant index the plan installs from, ``flash_attn``
    the root of flash-attn's release assets."""
    pins = []
    for project in PROJECTS:
        if project not in versions:
            continue
        version = versions[project]
        if project in PYG:  # by its file's URL, read from its page; by version where none was read
            host = catalog.pyg.get((minor_of(versions["torch"]), variant.name))
            wheel = best_wheel(host.files, project, version, target) if host and host.files else None
            pins.append(Pin(project, version, wheel, direct=wheel is not None and wheel.url is not None))
            continue
        if project == FLASH_ATTN:  # by its release asset's URL, hashed when a live look read it
            name = wheel_name(version, target.python)
            url = wheel_url(flash_attn, version.partition("+")[0], name)
            pins.append(Pin(project, version, WheelFile(name, url, catalog.flash_attn.assets.get(name)), direct=True))
            continue
        pypi = catalog.project(project, version)
        if project in TRITON_BUILDS:  # no local tag; CUDA's comes from PyPI, the others from their page
            page = catalog.page_files.get((variant.name, project), ())
            triton = pypi.files() if project == "triton" and pypi else page
            pins.append(Pin(project, version, best_wheel(triton, project, version, target)))
            continue
        untagged = pypi is not None and pypi.builds is not None and not ecosystem_pair(pypi).tagged
        exact = pinned_version(version, variant, on_pypi or untagged)
        files: Iterable[WheelFile]
        if on_pypi:
            files = pypi.files() if pypi else ()
        elif (variant.name, project) in catalog.page_files:
            files = catalog.page_files[(variant.name, project)]
        elif untagged:  # one file name on every variant page: the URL's folder says whose it is
            files = [f for f in catalog.variant_files.values() if f"/{variant.name}/" in (f.url or "")]
        else:
            files = catalog.variant_files.values()
        wheel = best_wheel(files, project, exact, target)
        # Only where PyPI got one variant's build under this very name and version (xformers) can
        # an installer mistake it for the variant's: the pin names the variant's file (unread, PyPI's
        # file name at the variant index, hash unknown until read). Elsewhere (flash-attn-3, nothing
        # of that version on PyPI) the find-links page decides, as for the family.
        confusable = untagged and pypi is not None and pypi.builds is not None and pypi.builds.pypi_build is not None
        if confusable and not on_pypi:
            if wheel is None and pypi is not None and (named := best_wheel(pypi.files(), project, exact, target)):
                wheel = WheelFile(named.filename, f"{index.rstrip('/')}/{urllib.parse.quote(named.filename)}", None)
            pins.append(Pin(project, exact, wheel, direct=wheel is not None and wheel.url is not None))
            continue
        pins.append(Pin(project, exact, wheel))
    return tuple(pins)
