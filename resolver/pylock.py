"""``--format pylock`` (edge): a PEP 751 ``pylock.toml`` for one or several targets.

Each target's complete set is resolved by ``uv pip compile --format pylock.toml`` (as ``--full``
does) with the torch family pinned to that target's build. The targets are merged package by
package: one entry per name and version, the wheels of every target, and a marker naming the
targets that need it. torchpin then checks what PEP 751 asks of a lock it can stand behind:
every file has an absolute URL and a sha256, and the torch family is the chosen build. Sizes the
index doesn't list (PyTorch's HTML pages carry none) are asked for with HEAD.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import UsageError
from .models import Plan
from .net import NetPolicy


def offline_gaps(plans: Sequence[tuple[str | None, Plan]]) -> list[str]:
    """The pins an offline lock knows no URL or hash for (download.pytorch.org builds)."""
    return [f"{p.project} {p.version}" for _, plan in plans for p in plan.pins
            if not (p.wheel and p.wheel.url and p.wheel.sha256)]  # fmt: skip


def pylock(
    plans: Sequence[tuple[str | None, Plan]], others: Sequence[str], policy: NetPolicy, *, offline: bool = False
) -> tuple[str, list[str]]:
    """The pylock.toml text and stderr notes."""
    from .full import compile_lock
    from .lockread import toml_values
    from .multi import marker

    if offline and (gaps := offline_gaps(plans)):
        raise UsageError(
            f"a pylock needs every file's URL and sha256, and the offline snapshot has none for {', '.join(gaps)}",
            hint="drop --offline so the index is read",
        )
    if len(plans) == 1:
        envs = [marker(plans[0][1].target, python=True)]
    else:
        from .multi import markers

        envs = markers([(label or "", plan) for label, plan in plans])
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    needed: dict[tuple[str, str], list[str]] = {}
    for (_, plan), env in zip(plans, envs, strict=True):
        doc = toml_values(compile_lock(plan, others, policy, fmt="pylock.toml", offline=offline))
        _check_family(doc, plan)
        for package in doc.get("packages", []):
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
    notes = _fill_sizes(list(merged.values()), policy)
    _check_complete(list(merged.values()))
    pythons = sorted({(p.target.python.major, p.target.python.minor) for _, p in plans})
    return _dump(envs, f">={pythons[0][0]}.{pythons[0][1]}", list(merged.values())), notes


def _check_family(doc: dict[str, Any], plan: Plan) -> None:
    got = {p["name"]: p["version"] for p in doc.get("packages", [])}
    for pin in plan.pins:
        if got.get(pin.project) != pin.version:
            raise UsageError(f"uv resolved {pin.project} {got.get(pin.project)}, not the chosen {pin.version}",
                             hint="check the other requirements' bounds on the torch family")  # fmt: skip


def _fill_sizes(packages: list[dict[str, Any]], policy: NetPolicy) -> list[str]:
    from .net import content_lengths

    files = [f for p in packages for f in [*p.get("wheels", []), *([p["sdist"]] if "sdist" in p else [])]]
    missing = [f for f in files if "size" not in f and "url" in f]
    if not missing:
        return []
    sizes = content_lengths(policy, [f["url"] for f in missing])
    for f in missing:
        if f["url"] in sizes:
            f["size"] = sizes[f["url"]]
    unknown = [f["url"].rsplit("/", 1)[-1] for f in missing if "size" not in f]
    return [f"torchpin: no size known for {len(unknown)} file(s), e.g. {unknown[0]} (PEP 751 makes size optional)\n"
            ] if unknown else []  # fmt: skip


def _check_complete(packages: list[dict[str, Any]]) -> None:
    """PEP 751: every file named by an absolute URL and pinned by a hash, or the lock isn't written."""
    for p in packages:
        files = [*p.get("wheels", []), *([p["sdist"]] if "sdist" in p else [])]
        if not files:
            raise UsageError(f"uv's lock has no file for {p['name']} {p['version']}", hint="lock it with --full")
        for f in files:
            if not str(f.get("url", "")).startswith(("https://", "http://")) or not f.get("hashes", {}).get("sha256"):
                raise UsageError(f"{p['name']} {p['version']}: a file without an absolute URL and sha256 ({f})",
                                 hint="lock from an index that lists hashes")  # fmt: skip


ORDER = {k: i for i, k in enumerate(("name", "version", "marker", "requires-python", "index", "sdist", "wheels"))}


def _dump(environments: list[str], requires_python: str, packages: list[dict[str, Any]]) -> str:
    import tomlkit

    from . import __version__

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
    import tomlkit

    table = tomlkit.inline_table()
    for k, v in values.items():
        table[k] = _inline(v) if isinstance(v, dict) else v
    return table
