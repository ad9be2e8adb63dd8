"""PEP 751 (pylock.toml) rules a lock torchpin writes must meet, checked independently of torchpin."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from packaging.markers import Marker
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

SOURCES = ("vcs", "directory", "archive")


def check(text: str, machines: Sequence[Mapping[str, str]] = ()) -> dict[str, Any]:
    """Raise AssertionError on the first broken rule; return the parsed lock.

    ``machines`` are marker environments the lock is meant for: on each, every package name
    must resolve to at most one entry (PEP 751: an installer must never have to choose).
    """
    doc = _toml_loads(text)
    assert doc.get("lock-version") == "1.0", "lock-version must be '1.0'"
    assert isinstance(doc.get("created-by"), str) and doc["created-by"], "created-by is required"
    for env in doc.get("environments", []):
        Marker(env)
    if "requires-python" in doc:
        SpecifierSet(doc["requires-python"])
    packages = doc.get("packages")
    assert isinstance(packages, list) and packages, "packages must be a non-empty array of tables"
    for p in packages:
        _package(p)
    for machine in machines:
        env = dict(machine)
        if doc.get("environments"):
            assert any(Marker(e).evaluate(env) for e in doc["environments"]), f"no environment covers {env}"
        seen: dict[str, int] = {}
        for p in packages:
            if "marker" not in p or Marker(p["marker"]).evaluate(env):
                seen[p["name"]] = seen.get(p["name"], 0) + 1
        assert all(n == 1 for n in seen.values()), f"ambiguous packages on {env}: {seen}"
    return doc


def only_file(doc: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The one file a pylock pins for package ``name``: its wheel, or a direct archive."""
    package = next(p for p in doc["packages"] if p["name"] == name)
    [file] = package.get("wheels") or [package["archive"]]
    return dict(file)


def _package(p: dict[str, Any]) -> None:
    name = p.get("name")
    assert isinstance(name, str) and canonicalize_name(name) == name, f"name must be normalized: {name!r}"
    version = Version(p["version"])
    if "marker" in p:
        Marker(p["marker"])
    if "requires-python" in p:
        SpecifierSet(p["requires-python"])
    kinds = [k for k in SOURCES if k in p] + (["dist"] if "sdist" in p or "wheels" in p else [])
    assert len(kinds) == 1, f"{name}: exactly one of vcs, directory, archive, sdist/wheels ({kinds})"
    for wheel in p.get("wheels", []):
        url = wheel.get("url")
        assert url or wheel.get("path"), f"{name}: a wheel needs url or path"
        filename = wheel.get("name") or unquote(urlsplit(url).path.rsplit("/", 1)[-1])
        wheel_name, wheel_version, _, _ = parse_wheel_filename(filename)
        assert wheel_name == name and wheel_version == version, f"{filename} is not {name} {version}"
        _file(name, wheel)
    if "sdist" in p:
        _file(name, p["sdist"])


def _file(name: str, f: dict[str, Any]) -> None:
    if "url" in f:
        assert urlsplit(f["url"]).scheme in ("http", "https"), f"{name}: url must be absolute: {f['url']}"
    hashes = f.get("hashes")
    assert isinstance(hashes, dict) and hashes, f"{name}: every file needs hashes"
    assert re.fullmatch(r"[0-9a-f]{64}", hashes.get("sha256", "")), f"{name}: sha256 must be 64 hex digits"
    if "size" in f:
        assert isinstance(f["size"], int) and f["size"] >= 0, f"{name}: size must be a non-negative integer"


def _toml_loads(text: str) -> dict[str, Any]:
    """TOML as plain Python values (tomlkit: the standard library's tomllib is 3.11+)."""
    import tomlkit

    return tomlkit.parse(text).unwrap()
