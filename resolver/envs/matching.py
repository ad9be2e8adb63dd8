"""Which wheel of an extension from another host matches an installed torch build (pure): what
verify names when flash-attn or a PyG extension fails to load against the torch it sits beside.

Decided from the build that is there (its release, variant, CUDA, C++ ABI, CPython and platform),
not from a lock: the lock may be what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import unquote

from packaging.version import InvalidVersion, Version

from torchpin.decide.compat import usable
from torchpin.decide.flash_attn import PLATFORM, nearest
from torchpin.facts.catalog import Catalog
from torchpin.facts.flash_attn import Asset, cxx11_abi
from torchpin.facts.pyg import local_tag, minor_of
from torchpin.facts.wheels import parse_variant, platform_key
from torchpin.models import FLASH_ATTN, PYG, PythonTarget


class Build(NamedTuple):
    """The installed torch, as the smoke test saw it."""

    version: str  # "2.6.0+cu124"
    variant: str  # "cu124"
    abi: bool | None  # torch.compiled_with_cxx11_abi(); None where it couldn't tell
    python: PythonTarget
    platform: str | None  # sysconfig's "linux-x86_64"


class Matching(NamedTuple):
    wheel: str | None  # the file, or the release and page, that loads against this torch
    why: str  # what the wheel was matched by, or why none matches


def matching(catalog: Catalog, project: str, installed: str, torch: Build) -> Matching | None:
    """The wheel of ``project`` (installed at ``installed``) that matches ``torch``; None for a
    package that isn't matched by torch's build from another host."""
    try:
        public = Version(torch.version).public
    except InvalidVersion:
        return None
    plat = platform_key(torch.platform.replace("-", "_").replace(".", "_")) if torch.platform else None
    if project == FLASH_ATTN:
        return _flash_attn(catalog, installed, public, torch, plat)
    if project in PYG:
        return _pyg(catalog, project, public, torch, plat)
    return None


def _flash_attn(catalog: Catalog, installed: str, public: str, torch: Build, plat: str | None) -> Matching:
    fa = catalog.flash_attn
    variant = parse_variant(torch.variant)
    if variant.cuda_major is None:
        return Matching(None, f"flash-attn publishes release wheels for CUDA builds only, not torch {torch.version}")
    if plat != PLATFORM:
        return Matching(None, f"flash-attn publishes release wheels for {PLATFORM} only, not {plat or 'this platform'}")
    abi = torch.abi
    if abi is None:
        rule = cxx11_abi(fa, public, variant.name, PLATFORM)
        if rule is None:
            return Matching(None, f"which C++ ABI torch {torch.version} was compiled with isn't known")
        abi = rule.abi
    asset = Asset(minor_of(public), variant.cuda_major, abi, torch.python)
    have = installed.partition("+")[0]
    # Releases whose matrix made the file (and whose host didn't answer 404 for it), confirmed first.
    made = [
        r for r in fa.newest_first() if r.builds(asset) and fa.assets.get(asset.filename(r.version), "") is not None
    ]
    fits = [r.version for r in sorted(made, key=lambda r: not usable(r.status_of(asset)))]
    if not fits:
        return Matching(
            None,
            f"flash-attn publishes no file for torch {asset.minor}, CUDA {asset.cuda}, "
            f"cxx11abi{str(abi).upper()}, CPython {torch.python}; {nearest(fa, variant, torch.python)}",
        )
    version = have if have in fits else fits[0]
    return Matching(asset.filename(version), f"torch {asset.minor}, CUDA {asset.cuda}, C++ ABI {int(abi)}")


def _pyg(catalog: Catalog, project: str, public: str, torch: Build, plat: str | None) -> Matching:
    minor = minor_of(public)
    where = f"data.pyg.org's torch-{minor}.0+{torch.variant}.html"
    page = catalog.pyg.get((minor, torch.variant))
    if page is None or page.absent:
        return Matching(None, f"{where} page doesn't exist (as recorded)")
    build = page.recorded.get(project)
    if build is None or (plat is not None and plat not in build.platforms):
        return Matching(None, f"{where} has no {project} for {plat or 'this platform'} (as recorded)")
    tag = local_tag(minor, torch.variant)
    return Matching(f"{project} {build.version}+{tag} on {where}", f"torch {minor}, {torch.variant}")


def other_build(project: str, installed: str, torch: str, variant: str) -> str | None:
    """What an extension's local tag says it was built for, where that isn't this torch build
    (read without importing it: a CPU PyG wheel beside a CUDA torch imports, then fails on the GPU)."""
    local = installed.partition("+")[2]
    try:
        minor = minor_of(Version(torch).public)
    except InvalidVersion:
        return None
    if project in PYG and local and local != (want := local_tag(minor, variant)):
        return f"{project} {installed} is built for another torch (+{local}); torch {torch} takes +{want}"
    built = (
        re.fullmatch(r"cu(\d+)torch(\d+\.\d+)cxx11abi(?:true|false)", local, re.I) if project == FLASH_ATTN else None
    )
    if built and (built[2] != minor or not re.fullmatch(rf"cu{built[1]}\d", variant)):  # cu12: cu126, cu128 …
        return f"flash-attn {installed} is built for torch {built[2]} with CUDA {built[1]}; torch {torch} is not"
    return None


def installed_version(dist: Mapping[str, Any]) -> str:
    """An installed distribution's version: its METADATA's, or the file's it was installed from by
    URL where the METADATA dropped the local tag the file name carries (flash-attn's release wheels,
    renamed after the build: flash-attention#730)."""
    version = str(dist.get("version", ""))
    name = unquote(str(dist.get("url") or "")).rsplit("/", 1)[-1]
    parts = name.split("-")
    if "+" in version or not name.endswith(".whl") or len(parts) < 5:
        return version
    try:
        same = Version(parts[1]).public == Version(version).public
    except InvalidVersion:
        return version
    return parts[1] if same else version
