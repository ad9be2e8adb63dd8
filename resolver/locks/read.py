"""Read any lock torchpin writes (pure): requirements (plain, ``--full``, multi-target), constraints,
JSON (single or multi-target), pyproject and pylock → what it pins on this machine.

A multi-target lock holds entries for several machines; the markers, evaluated for this one,
pick the entry that applies, exactly as pip and uv do when they install it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

import tomlkit
from packaging.markers import InvalidMarker, Marker, default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import parse_wheel_filename
from tomlkit.exceptions import TOMLKitError

from torchpin.errors import UsageError
from torchpin.models import PROJECTS

from .formats import LockFormat, assert_never

NOT_OURS = "pass a lock written by `torchpin lock`"


class LockView(NamedTuple):
    kind: LockFormat
    pins: dict[str, str]  # project → version, this machine's entry
    index_url: str | None  # the variant index (or flat page) it installs from
    variant: str | None
    index_lines: tuple[tuple[str, str], ...] = ()  # (flag, URL) for the installer, where the lock doesn't carry them


def kind_of(text: str) -> LockFormat:
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return LockFormat.JSON
    if re.search(r"(?m)^lock-version\s*=", text):
        return LockFormat.PYLOCK
    if "[project]" in text or "[tool." in text:
        return LockFormat.PYPROJECT
    if not any(line.startswith("--") or " @ " in line for line in text.splitlines()):
        return LockFormat.CONSTRAINTS
    return LockFormat.REQUIREMENTS


def read_lock(text: str, env: Mapping[str, str] | None = None) -> LockView:
    """The lock's pins for the machine whose marker values are ``env`` (default: this one)."""

    here: dict[str, str] = {**default_environment(), **(env or {})}  # type: ignore[dict-item]
    kind = kind_of(text)
    match kind:
        case LockFormat.JSON:
            return _json(text, here)
        case LockFormat.PYLOCK | LockFormat.PYPROJECT:
            return _toml(text, kind, here)
        case LockFormat.REQUIREMENTS | LockFormat.CONSTRAINTS:
            return _lines(text, kind, here)
        case _:
            assert_never(kind)


def _applies(marker: str | None, env: Mapping[str, str]) -> bool:

    if not marker:
        return True
    try:
        return Marker(marker).evaluate(dict(env))
    except InvalidMarker:
        raise UsageError(f"the lock has an invalid marker {marker[:80]!r}", hint=NOT_OURS) from None


def _variant(pins: Mapping[str, str]) -> str | None:
    torch = pins.get("torch", "")
    return torch.split("+", 1)[1] if "+" in torch else ("cpu" if torch else None)


def _lines(text: str, kind: LockFormat, env: Mapping[str, str]) -> LockView:

    pins, index, options = {}, None, []
    for raw_line in text.splitlines():
        line = raw_line.split(" #", 1)[0].strip() if not raw_line.lstrip().startswith("#") else ""
        if m := re.match(r"^--(extra-index-url|find-links)\s+(\S+)", line):
            index = m[2]
            options.append((f"--{m[1]}", m[2]))
        elif m := re.match(r"^--index-url\s+(\S+)", line):
            index = index or m[1]
            options.append(("--index-url", m[1]))
        elif m := re.match(r"^([A-Za-z0-9_.-]+)\s*(?:==\s*([^\s;\\]+)|@\s*(\S+))\s*\\?\s*(?:;\s*(.*?))?\s*\\?$", line):
            if not _applies(m[4], env):
                continue
            version = m[2]
            if m[3]:  # `name @ URL`: the version is in the wheel's file name
                try:
                    version = str(parse_wheel_filename(m[3].split("#")[0].rsplit("/", 1)[-1].replace("%2B", "+"))[1])
                except ValueError:
                    continue
                index = index or m[3].rsplit("/", 1)[0]
            pins[m[1].lower()] = version
    if kind is LockFormat.CONSTRAINTS:  # the index options sit in the `# use [where MARKER]: …` comment
        for where, use in re.findall(r"(?m)^# use(?: where (.*?))?: pip install -c THIS_FILE (.*?) <packages>$", text):
            found = re.findall(r"(--(?:index-url|extra-index-url|find-links)) (\S+)", use)
            if found and _applies(where, env):
                options = list(found)
                index = next((u for f, u in found if f != "--index-url"), found[0][1])
                break
    return LockView(kind, pins, index, _variant(pins), tuple(options))


def _json(text: str, env: Mapping[str, str]) -> LockView:
    try:
        doc = json.loads(text)
        if "targets" in doc:
            matching = [t for t in doc["targets"] if _applies(t.get("marker"), env)]
            if not matching:
                raise UsageError(
                    "no target of this multi-target lock matches this machine", hint="lock again with a --target for it"
                )
            doc = matching[0]
        pins = {str(p["name"]).lower(): str(p["version"]) for p in doc["packages"]}
        index, backend = doc.get("index_url"), doc.get("backend")
        options = tuple((str(f), str(u)) for f, u in doc.get("index_options", []))
    except (ValueError, RecursionError, KeyError, TypeError, AttributeError):
        raise UsageError(
            "the lock is JSON but not a torchpin lock (no packages list of name/version)", hint=NOT_OURS
        ) from None
    index = index if isinstance(index, str) else None
    return LockView(LockFormat.JSON, pins, index, backend if isinstance(backend, str) else None, options)


def _toml(text: str, kind: LockFormat, env: Mapping[str, str]) -> LockView:

    try:
        doc = toml_values(text)
    except TOMLKitError as e:
        raise UsageError(f"the lock is not valid TOML: {str(e).splitlines()[0]}", hint=NOT_OURS) from None
    pins: dict[str, str] = {}
    index = None
    if kind is LockFormat.PYLOCK:
        for p in doc.get("packages", []):
            if isinstance(p, dict) and p.get("name") in PROJECTS and _applies(p.get("marker"), env):
                pins[str(p["name"])] = str(p.get("version"))
                wheels = p.get("wheels") or [{}]
                index = index or str(wheels[0].get("url", "")).rsplit("/", 1)[0] or None
        return LockView(kind, pins, index, _variant(pins))
    return _pyproject(doc, env)


def _pyproject(doc: dict[str, Any], env: Mapping[str, str]) -> LockView:

    pins: dict[str, str] = {}
    for dep in doc.get("project", {}).get("dependencies", []):
        try:
            req = Requirement(str(dep))
        except InvalidRequirement:
            continue
        spec = [s for s in req.specifier if s.operator == "=="]
        if req.name in PROJECTS and spec and (req.marker is None or req.marker.evaluate(dict(env))):
            pins[req.name] = spec[0].version
    uv = doc.get("tool", {}).get("uv", {})
    routes = uv.get("sources", {}).get("torch", [])
    names = [
        r.get("index")
        for r in (routes if isinstance(routes, list) else [routes])
        if isinstance(r, dict) and _applies(r.get("marker"), env)
    ]
    urls = {i.get("name"): i.get("url") for i in uv.get("index", []) if isinstance(i, dict)}
    index = urls.get(names[0]) if names else None
    variant = str(names[0]).removeprefix("torchpin-") if names else ("cpu" if pins else None)
    return LockView(LockFormat.PYPROJECT, pins, index, _variant(pins) if pins else variant)


def toml_values(text: str) -> dict[str, Any]:
    """TOML as plain Python values (tomlkit: the standard library's tomllib is 3.11+)."""

    return tomlkit.parse(text).unwrap()
