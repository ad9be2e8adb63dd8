"""flash-attn for a torch build (pure): the newest release whose build matrix made the file this
torch loads: its minor, its CUDA major and the C++ ABI it was compiled with, for the target's
CPython on linux_x86_64 (ecosystem facts §5, §6). Anything else is a gap said with the nearest
torch that has a file, never a lock that would build from source.
"""

from __future__ import annotations

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from torchpin.facts.flash_attn import Asset, FlashAttnFacts, cxx11_abi
from torchpin.facts.pyg import minor_of
from torchpin.facts.snapshot import Release
from torchpin.models import Family, PythonTarget, RejectionKind, Variant

from . import compat
from .search import Picked, Problem, Search

PLATFORM = "linux_x86_64"  # its publish workflow runs on ubuntu x86_64 runners only


def flash_attn_pick(s: Search, release: Release, variant: Variant, spec: SpecifierSet) -> Picked | Problem:
    """flash-attn's version (with the file's local tag) for this torch build, and why; or why none."""
    fa, plat, py = s.catalog.flash_attn, s.target.platform.key, s.target.python
    if variant.family is not Family.CUDA or variant.cuda_major is None:
        return f"flash-attn publishes release wheels for CUDA builds only (not {variant})", "companion"
    if plat != PLATFORM:
        return f"flash-attn publishes release wheels for {PLATFORM} only (not {plat})", "companion"
    rule = cxx11_abi(fa, release.version, variant.name, plat)
    if rule is None:
        return f"which C++ ABI torch {release.version} {variant} was compiled with isn't recorded", "status"
    if not compat.usable(rule.status, live=s.ignore_status):
        return f"torch {release.version} {variant}'s C++ ABI is unconfirmed ({rule.source})", "status"
    asset = Asset(minor_of(release.version), variant.cuda_major, rule.abi, py)
    gaps: list[tuple[str, RejectionKind]] = []
    for r in fa.newest_first():
        if not r.builds(asset):
            continue
        name = asset.filename(r.version)
        pinned = f"{r.version}+{asset.local}"
        if name in fa.assets and fa.assets[name] is None:
            gaps.append((f"flash-attn {r.version}'s release has no {name} (it answers 404)", "index"))
            continue
        if not spec.contains(Version(pinned), prereleases=True):
            gaps.append((f"'flash-attn{spec}' excludes flash-attn {r.version}", "requirement"))
            continue
        status = "confirmed" if name in fa.assets else r.status_of(asset)
        if not compat.usable(status, live=fa.live or s.ignore_status):
            gaps.append(
                (
                    f"flash-attn {r.version}'s {asset.local} file is unconfirmed ({r.source}): only a live look tells",
                    "status",
                )
            )
            continue
        abi = f"CXX11_ABI={int(rule.abi)} ({rule.source})"
        return Picked(
            pinned,
            f"flash-attn {r.version} is the newest release with a file for torch {asset.minor}, CUDA {asset.cuda}"
            f" and torch {release.version} {variant}'s {abi}, CPython {py}: {name}"
            + (f"; newer: {gaps[0][0]}" if gaps else ""),
        )
    if gaps:
        return gaps[0]
    return (
        f"flash-attn publishes no file for torch {asset.minor}, CUDA {asset.cuda}, cxx11abi{str(rule.abi).upper()},"
        f" CPython {py}; {nearest(fa, variant, py)}",
        "companion",
    )


def nearest(fa: FlashAttnFacts, variant: Variant, py: PythonTarget) -> str:
    """Which torch has a flash-attn file for this CUDA major and CPython, newest first: what to pin
    instead. Each torch minor is asked with the C++ ABI its build of this variant has."""
    cuda = variant.cuda_major
    if cuda is None or not any(cuda in r.cuda for r in fa.releases.values()):
        majors = sorted({c for r in fa.releases.values() for c in r.cuda})
        return f"flash-attn's releases build for CUDA {', '.join(map(str, majors))} only, not CUDA {cuda}"
    found = []
    for r in fa.releases.values():
        for minor in r.torch:
            rule = cxx11_abi(fa, f"{minor}.0", variant.name, PLATFORM)
            if rule is not None and r.builds(Asset(minor, cuda, rule.abi, py)):
                found.append((Version(minor), Version(r.version)))
    if not found:
        return f"no flash-attn release has a CUDA {cuda} file for CPython {py}"
    torch, version = max(found)
    return f"the newest torch with one for CUDA {cuda} and CPython {py} is {torch} (flash-attn {version})"
