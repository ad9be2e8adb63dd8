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
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version
from tomlkit.exceptions import TOMLKitError

from torchpin.decide.platforms import KEYS
from torchpin.errors import UsageError
from torchpin.models import PROJECTS, WheelFile

from .formats import LockFormat, assert_never
from .requirements import TRITON_PROJECTS

NOT_OURS = "pass a lock written by `torchpin lock`"


class LockTarget(NamedTuple):
    """The one machine a single-target lock says it was made for."""

    python: str  # "3.12" or "3.14t"
    os: str  # linux | macos | windows
    arch: str  # x86_64 | aarch64

    def __str__(self) -> str:
        return f"CPython {self.python} on {self.os} {self.arch}"


class LockView(NamedTuple):
    kind: LockFormat
    pins: dict[str, str]  # project → version, this machine's entry
    index_url: str | None  # the variant index (or flat page) it installs from
    variant: str | None
    index_lines: tuple[tuple[str, str], ...] = ()  # (flag, URL) for the installer, where the lock doesn't carry them
    urls: tuple[str, ...] = ()  # every URL the lock would send an installer to, every entry's
    files: tuple[WheelFile, ...] = ()  # this machine's wheels whose sha256 only torchpin would check
    hashed: bool = False  # every requirement carries --hash: the installer checks them all
    target: LockTarget | None = None  # None: several targets (markers decide), or none stated


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


# The option lines torchpin (and uv's --full output) write; any other is refused, never passed on.
_OPTION = re.compile(r"^(--index-url|--extra-index-url|--find-links)(?:\s+|=)(\S+)$")
_REQUIREMENT = re.compile(r"^([A-Za-z0-9_.-]+)\s*(?:==\s*([^\s;\\]+)|@\s*(\S+))\s*\\?\s*(?:;\s*(.*?))?\s*\\?$")
_HASH = re.compile(r"^--hash=sha256:[0-9a-f]{64}\s*\\?$")
_TARGET = re.compile(r"(?m)^# target: CPython (\d+\.\d+t?) on (linux|macOS|windows) (x86_64|aarch64|arm64)\b")


def _lines(text: str, kind: LockFormat, env: Mapping[str, str]) -> LockView:
    pins, index, options, urls, files = {}, None, [], [], []
    requirements = hashes = 0
    for raw_line in text.splitlines():
        line = raw_line.split(" #", 1)[0].strip() if not raw_line.lstrip().startswith("#") else ""
        if not line:
            continue
        if m := _OPTION.match(line):
            flag, url = m[1], m[2]
            urls.append(url)
            options.append((flag, url))
            if flag == "--index-url":
                index = index or url
            elif not _is_pyg_page(url):  # PyG's page is its packages', not the variant's
                index = _variant_index(url)
        elif _HASH.match(line):
            hashes += 1
        elif line.startswith("-"):
            raise UsageError(_option_refused(line), hint=NOT_OURS)
        elif m := _REQUIREMENT.match(line):
            requirements += 1
            hashes += "--hash=sha256:" in line
            if m[3]:
                urls.append(m[3])
            if not _applies(m[4], env):
                continue
            version = m[2]
            if m[3]:  # `name @ URL#sha256=…`: the version is in the wheel's file name
                url, _, fragment = m[3].partition("#")
                filename = url.rsplit("/", 1)[-1].replace("%2B", "+")
                try:
                    version = str(parse_wheel_filename(filename)[1])
                except ValueError:
                    raise UsageError(f"the lock names {filename[:80]!r}, which is not a wheel", hint=NOT_OURS) from None
                sha = fragment.removeprefix("sha256=") if fragment.startswith("sha256=") else None
                if sha is not None and not re.fullmatch(r"[0-9a-f]{64}", sha):
                    raise UsageError(f"the lock's sha256 for {filename[:80]} is not a sha256", hint=NOT_OURS)
                files.append(WheelFile(filename, url, sha))
                index = index or url.rsplit("/", 1)[0]
            pins[m[1].lower()] = _version(version, m[1])
    if kind is LockFormat.CONSTRAINTS:  # the index options sit in the `# use [where MARKER]: …` comment
        for where, use in re.findall(r"(?m)^# use(?: where (.*?))?: pip install -c THIS_FILE (.*?) <packages>$", text):
            found = re.findall(r"(--(?:index-url|extra-index-url|find-links)) (\S+)", use)
            urls += [u for _, u in found]
            if found and _applies(where, env) and not options:
                options = list(found)
                index = _variant_index(next((u for f, u in found if f != "--index-url"), found[0][1]))
    targets = _TARGET.findall(text)
    target = _target(*targets[0]) if len(targets) == 1 else None
    hashed = requirements > 0 and hashes >= requirements
    return LockView(kind, pins, index, _variant(pins), tuple(options), tuple(urls), tuple(files), hashed, target)


def _variant_index(url: str) -> str:
    """A family project's page used as a find-links page (``ROOT/cu126/torch/``) stands for its
    variant index (``ROOT/cu126``); any other URL for itself."""
    head, _, last = url.rstrip("/").rpartition("/")
    return head if url.endswith("/") and head and last in _PAGES else url


_PAGES = frozenset({*PROJECTS, *TRITON_PROJECTS})


def _is_pyg_page(url: str) -> bool:
    """data.pyg.org's page layout (``…/torch-2.11.0+cu128.html``), wherever it is served from."""
    return re.fullmatch(r"torch-\d+\.\d+\.\d+(\+|%2B)[a-z0-9.]+\.html", url.rsplit("/", 1)[-1]) is not None


def _option_refused(line: str) -> str:
    shown = line[:80]
    if line.startswith("--trusted-host"):
        return f"the lock says {shown!r}: trust a lock file grants is not honoured (pass --trusted-host to install)"
    return f"the lock has an option line torchpin doesn't write: {shown!r}"


def _target(python: str, os_name: str, arch: str) -> LockTarget:
    return LockTarget(python, os_name.lower(), "aarch64" if arch == "arm64" else arch)


def _version(text: Any, name: str) -> str:
    """A pinned version, parsed: a newline or an option in a version field must not reach pip."""
    try:
        if not isinstance(text, str) or re.search(r"\s", text):
            raise InvalidVersion(text)
        Version(text)
    except (InvalidVersion, TypeError):
        why = f"the lock pins {name[:40]} to {str(text)[:40]!r}, which is not a version"
        raise UsageError(why, hint=NOT_OURS) from None
    return str(text)


def _json(text: str, env: Mapping[str, str]) -> LockView:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        raise UsageError("the lock is not valid JSON", hint=NOT_OURS) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("targets", doc.get("packages")), list):
        raise UsageError("the lock is JSON but not a torchpin lock (no packages list of name/version)", hint=NOT_OURS)
    multi = "targets" in doc
    entries = doc.get("targets", [doc])
    urls = [u for entry in entries if isinstance(entry, dict) for u in _json_urls(entry)]
    if multi:
        matching = [t for t in entries if isinstance(t, dict) and _applies(_str(t.get("marker")), env)]
        if not matching:
            raise UsageError(
                "no target of this multi-target lock matches this machine", hint="lock again with a --target for it"
            )
        doc = matching[0]
    pins: dict[str, str] = {}
    files = []
    packages = doc.get("packages")
    for p in packages if isinstance(packages, list) else []:
        if not isinstance(p, dict) or not isinstance(p.get("name"), str) or not re.fullmatch(_NAME, p["name"]):
            raise UsageError("the lock is JSON but not a torchpin lock (a package without a name)", hint=NOT_OURS)
        name = str(canonicalize_name(p["name"]))
        pins[name] = _version(p.get("version"), name)
        url, sha = _str(p.get("url")), _str(p.get("sha256"))
        if sha is not None and not re.fullmatch(r"[0-9a-f]{64}", sha):
            raise UsageError(f"the lock's sha256 for {name} is not a sha256", hint=NOT_OURS)
        if url and sha:
            files.append(WheelFile(url.rsplit("/", 1)[-1].split("#")[0].replace("%2B", "+"), url, sha))
    options = tuple((str(f), str(u)) for f, u in _pairs(doc.get("index_options")))
    target = None if multi else doc.get("target")
    return LockView(
        LockFormat.JSON,
        pins,
        _str(doc.get("index_url")),
        _str(doc.get("backend")),
        options,
        tuple(urls),
        tuple(files),
        target=_json_target(target),
    )


_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,100}"


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _pairs(value: Any) -> list[tuple[str, str]]:
    if not isinstance(value, list):
        return []
    out = []
    for pair in value:
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
            raise UsageError("the lock's index_options are not [flag, URL] pairs", hint=NOT_OURS)
        if pair[0] not in ("--index-url", "--extra-index-url", "--find-links"):
            raise UsageError(_option_refused(f"{pair[0]} {pair[1]}"), hint=NOT_OURS)
        out.append((pair[0], pair[1]))
    return out


def _json_urls(entry: dict[str, Any]) -> list[str]:
    urls = [u for _, u in _pairs(entry.get("index_options"))]
    urls += [u for u in (_str(entry.get("index_url")),) if u]
    packages = entry.get("packages")
    urls += [
        p["url"] for p in (packages if isinstance(packages, list) else []) if isinstance(p, dict) and _str(p.get("url"))
    ]
    return urls


def _json_target(target: Any) -> LockTarget | None:
    """``{"python_version": "3.12", "python_platform": "linux_x86_64"}`` → the lock's machine."""
    if not isinstance(target, dict):
        return None
    python, key = _str(target.get("python_version")), _str(target.get("python_platform"))
    plat = KEYS.get(key or "")
    if python is None or plat is None or not re.fullmatch(r"3\.\d{1,2}t?", python):
        return None
    return LockTarget(python, *plat)


def _toml(text: str, kind: LockFormat, env: Mapping[str, str]) -> LockView:

    try:
        doc = toml_values(text)
    except TOMLKitError as e:
        raise UsageError(f"the lock is not valid TOML: {str(e).splitlines()[0]}", hint=NOT_OURS) from None
    pins: dict[str, str] = {}
    index = None
    if kind is LockFormat.PYLOCK:
        packages = doc.get("packages", [])
        if not isinstance(packages, list):
            raise UsageError("the pylock's packages is not an array of tables", hint=NOT_OURS)
        for i, p in enumerate(packages):
            _check_pylock_entry(p, f"packages[{i}]")
        urls = [u for p in packages for u in pylock_urls(p)]
        for p in packages:
            if p.get("name") in PROJECTS and _applies(_str(p.get("marker")), env):
                pins[str(p["name"])] = _version(p.get("version"), str(p["name"]))
                first = (pylock_urls(p) or [""])[0]
                index = index or first.rsplit("/", 1)[0] or None
        return LockView(kind, pins, index, _variant(pins), urls=tuple(urls))
    return _pyproject(doc, env)


def _check_pylock_entry(p: Any, where: str) -> None:
    """One ``[[packages]]`` entry has the PEP 751 types torchpin reads: a wrong one is exit 2
    naming the key, not a crash or an entry silently skipped."""

    def refuse(key: str, what: str) -> None:
        raise UsageError(f"the pylock's {where}{key} is not {what}", hint=NOT_OURS)

    if not isinstance(p, dict):
        refuse("", "a table")
    if not isinstance(p.get("name"), str):
        refuse(".name", "a string")
    for key in ("marker", "index", "version"):
        if key in p and not isinstance(p[key], str):
            refuse(f".{key}", "a string")
    files = p.get("wheels", [])
    if not isinstance(files, list):
        refuse(".wheels", "an array of tables")
    named = [(f".wheels[{i}]", f) for i, f in enumerate(files)]
    named += [(f".{key}", p[key]) for key in ("sdist", "archive") if key in p]
    for key, f in named:
        if not isinstance(f, dict):
            refuse(key, "a table")
        if "url" in f and not isinstance(f["url"], str):
            refuse(f"{key}.url", "a string")
        if "hashes" in f and not isinstance(f["hashes"], dict):
            refuse(f"{key}.hashes", "a table")


def pylock_urls(package: dict[str, Any]) -> list[str]:
    """Every file and index URL of one pylock package entry."""
    wheels = package.get("wheels")
    files = [*(wheels if isinstance(wheels, list) else []), package.get("sdist"), package.get("archive")]
    urls = [f["url"] for f in files if isinstance(f, dict) and isinstance(f.get("url"), str)]
    return [*urls, package["index"]] if isinstance(package.get("index"), str) else urls


def _pyproject(doc: dict[str, Any], env: Mapping[str, str]) -> LockView:
    def table(value: Any, key: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise UsageError(f"pyproject.toml: {key} is not a table", hint=NOT_OURS)
        return value

    def array(value: Any, key: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise UsageError(f"pyproject.toml: {key} is not an array", hint=NOT_OURS)
        return value

    def text(value: Any, key: str) -> str | None:
        if value is not None and not isinstance(value, str):
            raise UsageError(f"pyproject.toml: {key} is not a string", hint=NOT_OURS)
        return value

    pins: dict[str, str] = {}
    for dep in array(table(doc.get("project"), "[project]").get("dependencies"), "project.dependencies"):
        try:
            req = Requirement(str(dep))
        except InvalidRequirement:
            continue
        spec = [s for s in req.specifier if s.operator == "=="]
        if req.name in PROJECTS and spec and (req.marker is None or req.marker.evaluate(dict(env))):
            pins[req.name] = spec[0].version
    uv = table(table(doc.get("tool"), "[tool]").get("uv"), "[tool.uv]")
    sources = table(uv.get("sources"), "[tool.uv.sources]")
    routes = sources.get("torch", [])
    names = [
        text(r.get("index"), "tool.uv.sources.torch.index")
        for r in (routes if isinstance(routes, list) else [routes])
        if isinstance(r, dict) and _applies(text(r.get("marker"), "tool.uv.sources.torch.marker"), env)
    ]
    indexes = [i for i in array(uv.get("index"), "tool.uv.index") if isinstance(i, dict)]
    named = {text(i.get("name"), "tool.uv.index.name"): text(i.get("url"), "tool.uv.index.url") for i in indexes}
    index = named.get(names[0]) if names else None
    variant = str(names[0]).removeprefix("torchpin-") if names else ("cpu" if pins else None)
    # Every index and every URL source uv would read (git, url); a path source is local.
    urls = [u for u in named.values() if isinstance(u, str)]
    for source in sources.values():
        for entry in source if isinstance(source, list) else [source]:
            urls += [entry[k] for k in ("url", "git") if isinstance(entry, dict) and isinstance(entry.get(k), str)]
    return LockView(LockFormat.PYPROJECT, pins, index, _variant(pins) if pins else variant, urls=tuple(urls))


def toml_values(text: str) -> dict[str, Any]:
    """TOML as plain Python values (tomlkit: the standard library's tomllib is 3.11+)."""

    return tomlkit.parse(text).unwrap()
