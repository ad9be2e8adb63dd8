"""``--format pylock`` (pure): a PEP 751 ``pylock.toml`` for one or several targets.

Each target's complete set comes from ``uv pip compile --format pylock.toml`` (``envs.uv``), with
the torch family pinned to that target's build. ``merge`` folds the targets package by package:
one entry per name and version, the wheels of every target, and a marker naming the targets that
need it. ``write`` then checks what PEP 751 asks of a lock torchpin can stand behind (every file
has an absolute URL and a sha256; the torch family is the chosen build).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple
from urllib.parse import unquote

import tomlkit
from packaging.utils import canonicalize_name

from torchpin import __version__
from torchpin.errors import UsageError
from torchpin.models import Plan

from .full import hash_refused
from .multi import marker, markers

Labeled = tuple[str | None, Plan]


class Merged(NamedTuple):
    environments: list[str]
    requires_python: str
    packages: list[dict[str, Any]]


def offline_gaps(plans: Sequence[Labeled]) -> list[str]:
    """The pins an offline lock knows no URL or hash for (download.pytorch.org builds)."""
    return [
        f"{p.project} {p.version}"
        for _, plan in plans
        for p in plan.pins
        if not (p.wheel and p.wheel.url and p.wheel.sha256)
    ]


def check_offline(plans: Sequence[Labeled], what: str = "a pylock") -> None:
    """Before uv runs: an offline lock that must pin every file needs each one's URL and sha256."""
    if gaps := offline_gaps(plans):
        raise UsageError(
            f"{what} needs every file's URL and sha256, and the offline snapshot has none for {', '.join(gaps)}",
            hint="drop --offline so the index is read",
        )


def merge(plans: Sequence[Labeled], resolved: Sequence[Mapping[str, Any]]) -> Merged:
    """One package list for every target, from each target's uv pylock (as plain values)."""
    if len(plans) == 1:
        envs = [marker(plans[0][1].target, python=True)]
    else:
        envs = markers([(label or "", plan) for label, plan in plans])
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    needed: dict[tuple[str, str], list[str]] = {}
    for (_, plan), env, doc in zip(plans, envs, resolved, strict=True):
        _check_family(doc, plan)
        for package in map(_archive_as_wheel, doc.get("packages", [])):
            key = (package["name"], package["version"])
            entry = merged.setdefault(key, {k: v for k, v in package.items() if k not in ("wheels", "marker")})
            wheels = entry.setdefault("wheels", [])
            wheels += [w for w in package.get("wheels", []) if w["url"] not in {x["url"] for x in wheels}]
            needed.setdefault(key, []).append(env)
    for key, entry in merged.items():
        if len(needed[key]) < len(plans):  # not every target needs it: the marker names those that do
            entry["marker"] = " or ".join(f"({m})" for m in needed[key]) if len(needed[key]) > 1 else needed[key][0]
        if not entry["wheels"]:
            del entry["wheels"]
    pythons = sorted({(p.target.python.major, p.target.python.minor) for _, p in plans})
    return Merged(envs, f">={pythons[0][0]}.{pythons[0][1]}", list(merged.values()))


def _archive_as_wheel(package: Mapping[str, Any]) -> Mapping[str, Any]:
    """uv writes a ``name @ URL`` wheel (an untagged variant build) as an ``archive``; it is one
    wheel at an absolute URL with its hash, so the lock lists it as such, one form for every file."""
    archive = package.get("archive")
    if not (isinstance(archive, dict) and str(archive.get("url", "")).split("#")[0].endswith(".whl")):
        return package
    wheel = {"url": str(archive["url"]).split("#")[0], **{k: v for k, v in archive.items() if k != "url"}}
    return {**{k: v for k, v in package.items() if k != "archive"}, "wheels": [wheel]}


def write(merged: Merged) -> tuple[str, list[str]]:
    """The pylock.toml text and stderr notes. A size is written only where uv's lock states it: a
    server's Content-Length is a claim nobody checked, and uv refuses a lock whose size is wrong."""
    unknown = [unquote(f["url"].rsplit("/", 1)[-1]) for f in _files(merged.packages) if "size" not in f and "url" in f]
    notes = (
        [f"torchpin: no size known for {len(unknown)} file(s), e.g. {unknown[0]} (PEP 751 makes size optional)\n"]
        if unknown
        else []
    )
    _check_complete(merged.packages)
    return _dump(merged.environments, merged.requires_python, merged.packages), notes


def _files(packages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for p in packages for f in [*p.get("wheels", []), *([p["sdist"]] if "sdist" in p else [])]]


def _check_family(doc: Mapping[str, Any], plan: Plan) -> None:
    got = {p["name"]: p["version"] for p in doc.get("packages", [])}
    for pin in plan.pins:
        # A file pinned by URL is the build whatever its METADATA says: flash-attn's release wheels
        # carry their local tag in the file name only (flash-attention#730), so uv reports 2.8.3.
        want = pin.version.partition("+")[0] if pin.direct else pin.version
        if got.get(pin.project, "").lower() not in (pin.version.lower(), want.lower()):
            raise UsageError(
                f"uv resolved {pin.project} {got.get(pin.project)}, not the chosen {pin.version}",
                hint="check the other requirements' bounds on the torch family",
            )


def _check_complete(packages: list[dict[str, Any]]) -> None:
    """PEP 751: every file named by an absolute URL and pinned by a hash, or the lock isn't written."""
    for p in packages:
        files = [*p.get("wheels", []), *([p["sdist"]] if "sdist" in p else [])]
        if not files:
            raise UsageError(f"uv's lock has no file for {p['name']} {p['version']}", hint="lock it with --full")
        for f in files:
            if "://" not in str(f.get("url", "")) or not f.get("hashes", {}).get("sha256"):
                raise UsageError(
                    f"{p['name']} {p['version']}: a file without an absolute URL and sha256 ({f})",
                    hint="lock from an index that lists hashes",
                )


ORDER = {k: i for i, k in enumerate(("name", "version", "marker", "requires-python", "index", "sdist", "wheels"))}


def _dump(environments: list[str], requires_python: str, packages: list[dict[str, Any]]) -> str:
    doc = tomlkit.document()
    doc.add(tomlkit.comment(f"Generated by torchpin {__version__} (resolved by uv pip compile). Install:"))
    doc.add(tomlkit.comment("uv pip install -r pylock.toml  (or any PEP 751 installer)"))
    doc["lock-version"] = "1.0"
    doc["environments"] = environments
    doc["requires-python"] = requires_python
    doc["created-by"] = "torchpin"
    aot = tomlkit.aot()
    for p in sorted(packages, key=lambda p: (p["name"], p.get("marker", ""))):
        table = tomlkit.table()
        for key, value in sorted(p.items(), key=lambda kv: ORDER.get(kv[0], len(ORDER))):
            if key == "wheels":
                array = tomlkit.array()
                array.extend(_inline(w) for w in value)
                array.multiline(True)
                table[key] = array
            elif isinstance(value, dict):
                table[key] = _inline(value)
            else:
                table[key] = value
        aot.append(table)
    doc["packages"] = aot
    return tomlkit.dumps(doc)


def _inline(values: dict[str, Any]) -> Any:
    table = tomlkit.inline_table()
    for k, v in values.items():
        table[k] = _inline(v) if isinstance(v, dict) else v
    return table


def bind_hashes(packages: list[Any], wanted: Mapping[str, set[str]]) -> None:
    """Keep only the files the user's ``--hash`` values allow for the projects they hashed (uv
    reads no hash from its input); a project left with none is a ``UsageError``."""
    for package in packages:
        name = canonicalize_name(str(package.get("name", "")))
        if name not in wanted:
            continue
        allowed = wanted[name]
        package["wheels"] = [w for w in package.get("wheels", []) if _sha256(w) in allowed]
        for key in ("sdist", "archive"):
            if key in package and _sha256(package[key]) not in allowed:
                del package[key]
        if not package["wheels"]:
            del package["wheels"]
            if "sdist" not in package and "archive" not in package:
                raise hash_refused(name, str(package.get("version")), allowed)


def _sha256(file: Any) -> str:
    hashes = file.get("hashes") if isinstance(file, dict) else None
    return str(hashes.get("sha256", "")).lower() if isinstance(hashes, dict) else ""
