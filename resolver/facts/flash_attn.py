"""flash-attn's release wheels (pure): GitHub release assets named by torch minor, CUDA major and
torch's C++ ABI, and the recorded facts that pick one (ecosystem facts §5, §6).

PyPI has only its sdist, which guesses this very file name at install time and builds from source
(for an hour) when the guess misses: a lock names the file instead, or says there is none.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from torchpin.models import PythonTarget, Status

if TYPE_CHECKING:
    from .catalog import Catalog
    from .snapshot import _Reader


@dataclass(frozen=True)
class Asset:
    """One file a release's build matrix makes: its name says all four."""

    minor: str  # torch "2.6"
    cuda: int  # CUDA major of the torch build
    abi: bool  # torch._C._GLIBCXX_USE_CXX11_ABI
    python: PythonTarget

    @property
    def local(self) -> str:
        return f"cu{self.cuda}torch{self.minor}cxx11abi{str(self.abi).upper()}"

    def filename(self, version: str) -> str:
        return wheel_name(f"{version}+{self.local}", self.python)


@dataclass(frozen=True)
class FlashAttnRelease:
    """What one release's publish workflow built: torch minors, CUDA majors, C++ ABIs and CPythons,
    less its excludes, on linux_x86_64 only."""

    version: str
    torch: frozenset[str]  # minors, as the file names spell them
    cuda: frozenset[int]
    abi: frozenset[bool]
    python: tuple[tuple[int, int], tuple[int, int]]  # lowest and highest CPython
    exclude: frozenset[tuple[str, str]]  # (torch minor, "3.13") pairs the matrix left out
    status: Status
    source: str
    # Where only some of the matrix's files were seen (a side-branch tag): the ones seen, by local
    # tag; the rest are unconfirmed until a live look finds them.
    seen: frozenset[str] | None = None
    # torch minors built on a prerelease of that torch: unconfirmed to load on the release.
    prerelease_torch: frozenset[str] = frozenset()

    def builds(self, asset: Asset) -> bool:
        py = (asset.python.major, asset.python.minor)
        return (
            asset.minor in self.torch
            and asset.cuda in self.cuda
            and asset.abi in self.abi
            and not asset.python.freethreaded
            and self.python[0] <= py <= self.python[1]
            and (asset.minor, f"{py[0]}.{py[1]}") not in self.exclude
        )

    def status_of(self, asset: Asset) -> Status:
        if asset.minor in self.prerelease_torch or (self.seen is not None and asset.local not in self.seen):
            return "unconfirmed"
        return self.status


@dataclass(frozen=True)
class AbiRule:
    """torch's ``_GLIBCXX_USE_CXX11_ABI`` for a range of releases, on some variants or platforms."""

    torch: SpecifierSet
    variants: frozenset[str] | None  # None: every variant
    platforms: frozenset[str] | None  # None: every Linux platform
    abi: bool
    status: Status
    source: str


@dataclass(frozen=True)
class FlashAttnFacts:
    releases: Mapping[str, FlashAttnRelease] = field(default_factory=dict)
    abi: tuple[AbiRule, ...] = ()
    # What live looks at the host said, by file name: its sha256, or None (it answered 404).
    assets: Mapping[str, str | None] = field(default_factory=dict)
    # Set while the host can be asked: an unconfirmed file is then worth a look.
    live: bool = False

    def newest_first(self) -> list[FlashAttnRelease]:
        return sorted(self.releases.values(), key=lambda r: Version(r.version), reverse=True)


def cxx11_abi(facts: FlashAttnFacts, torch: Version | str, variant: str, platform: str) -> AbiRule | None:
    """The rule saying which C++ ABI this torch build was compiled with (None: not Linux, or not
    recorded). The first rule that matches wins: the snapshot lists the narrow ones first."""
    if not platform.startswith("linux_"):
        return None
    release = Version(str(torch))
    for rule in facts.abi:
        if not rule.torch.contains(release, prereleases=True):
            continue
        if rule.variants is not None and variant not in rule.variants:
            continue
        if rule.platforms is not None and platform not in rule.platforms:
            continue
        return rule
    return None


def wheel_name(pinned: str, python: PythonTarget) -> str:
    """``flash_attn-2.8.3+cu12torch2.6cxx11abiTRUE-cp312-cp312-linux_x86_64.whl`` for a pinned
    version (with its local tag), as flash-attn's setup.py ``get_wheel_url()`` spells it."""
    tag = f"cp{python.major}{python.minor}"
    return f"flash_attn-{pinned}-{tag}-{tag}-linux_x86_64.whl"


_FILE = re.compile(
    r"flash_attn-(?P<version>[0-9][0-9a-z.]*)\+cu(?P<cuda>\d+)torch(?P<minor>\d+\.\d+)cxx11abi(?P<abi>TRUE|FALSE)"
    r"-cp(?P<py>\d)(?P<pyminor>\d+)-cp(?P=py)(?P=pyminor)-linux_x86_64\.whl"
)


def parse_wheel_name(filename: str) -> tuple[str, Asset] | None:
    """(release version, asset) of a release wheel's file name; None for any other name."""
    m = _FILE.fullmatch(filename)
    if m is None:
        return None
    python = PythonTarget(int(m["py"]), int(m["pyminor"]))
    return m["version"], Asset(m["minor"], int(m["cuda"]), m["abi"] == "TRUE", python)


def wheel_url(root: str, version: str, filename: str) -> str:
    """``{root}/v{version}/{file}``, the release-asset URL, '+' quoted as GitHub's links have it."""
    return f"{root.rstrip('/')}/v{version}/{urllib.parse.quote(filename)}"


def with_assets(catalog: Catalog, found: Mapping[str, str | None], *, live: bool | None = None) -> Catalog:
    """Fold what live looks said (file name → sha256, or None for 404) into the catalog."""
    fa = catalog.flash_attn
    return replace(
        catalog,
        flash_attn=replace(fa, assets={**fa.assets, **found}, live=fa.live if live is None else live),
    )


def parse(rd: _Reader, raw: dict[str, Any]) -> FlashAttnFacts:
    """The snapshot's ``flash_attn``: each release's build matrix and torch's C++ ABI rules."""
    releases = {}
    for version, body in rd.obj(raw.get("releases", {}), "flash_attn.releases").items():
        path = f"flash_attn.releases.{version}"
        row = rd.obj(body, path)
        lo, hi = (_python(rd, p, path + ".python") for p in rd.list_(row.get("python"), path + ".python"))
        seen = row.get("seen")
        releases[version] = FlashAttnRelease(
            version=str(rd.version(version, path)),
            torch=frozenset(_minor(rd, t, path + ".torch") for t in rd.list_(row.get("torch"), path + ".torch")),
            cuda=frozenset(_int(rd, c, path + ".cuda") for c in rd.list_(row.get("cuda"), path + ".cuda")),
            abi=frozenset(
                _bool(rd, a, path + ".cxx11_abi") for a in rd.list_(row.get("cxx11_abi"), path + ".cxx11_abi")
            ),
            python=(lo, hi),
            exclude=frozenset(
                (
                    _minor(rd, rd.obj(e, path + ".exclude").get("torch"), path + ".exclude"),
                    rd.str_(e.get("python"), path + ".exclude"),
                )
                for e in rd.list_(row.get("exclude", []), path + ".exclude")
            ),
            status=rd.status(row.get("status"), path + ".status"),
            source=rd.str_(row.get("source"), path + ".source"),
            seen=None
            if seen is None
            else frozenset(rd.str_(s, path + ".seen") for s in rd.list_(seen, path + ".seen")),
            prerelease_torch=frozenset(
                _minor(rd, t, path + ".prerelease_torch") for t in rd.list_(row.get("prerelease_torch", []), path)
            ),
        )
    rules = []
    for i, body in enumerate(rd.list_(raw.get("cxx11_abi", []), "flash_attn.cxx11_abi")):
        path = f"flash_attn.cxx11_abi[{i}]"
        row = rd.obj(body, path)
        variants, platforms = row.get("variants"), row.get("platforms")
        try:
            spec = SpecifierSet(rd.str_(row.get("torch"), path + ".torch"))
        except InvalidSpecifier:
            raise rd.fail(path + ".torch", "a version specifier like '>=2.6,<2.7'") from None
        rules.append(
            AbiRule(
                torch=spec,
                variants=None
                if variants is None
                else frozenset(rd.variant(v, path).name for v in rd.list_(variants, path)),
                platforms=None if platforms is None else frozenset(rd.str_(p, path) for p in rd.list_(platforms, path)),
                abi=_bool(rd, row.get("cxx11_abi"), path + ".cxx11_abi"),
                status=rd.status(row.get("status"), path + ".status"),
                source=rd.str_(row.get("source"), path + ".source"),
            )
        )
    return FlashAttnFacts(releases=releases, abi=tuple(rules))


def _minor(rd: _Reader, v: Any, path: str) -> str:
    text = rd.str_(v, path)
    major, _, minor = text.partition(".")
    if not (major.isdigit() and minor.isdigit()):
        raise rd.fail(path, "a torch minor like '2.6'")
    return text


def _python(rd: _Reader, v: Any, path: str) -> tuple[int, int]:
    major, _, minor = rd.str_(v, path).partition(".")
    if not (major.isdigit() and minor.isdigit()):
        raise rd.fail(path, "a Python version like '3.9'")
    return int(major), int(minor)


def _int(rd: _Reader, v: Any, path: str) -> int:
    if not isinstance(v, int) or isinstance(v, bool):
        raise rd.fail(path, "a CUDA major like 12")
    return v


def _bool(rd: _Reader, v: Any, path: str) -> bool:
    if not isinstance(v, bool):
        raise rd.fail(path, "true or false")
    return v
