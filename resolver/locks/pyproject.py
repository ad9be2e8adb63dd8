"""``--format pyproject`` (pure: text in, text out): route the torch family to the chosen index in a
uv project, keeping every byte of the user's file outside torchpin's own entries.

torchpin's entries are the ``[[tool.uv.index]]`` tables named ``torchpin-<variant>`` and the
``[tool.uv.sources]`` entries that point at them; re-running replaces exactly those.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tomlkit
from packaging.requirements import InvalidRequirement, Requirement
from tomlkit.exceptions import TOMLKitError

from torchpin.errors import UsageError
from torchpin.models import PROJECTS, Plan

from .multi import markers as target_markers

PREFIX = "torchpin-"


def index_name(plan: Plan) -> str:
    return PREFIX + plan.variant.name


def routed(plan: Plan) -> list[str]:
    """Projects uv must take from the variant index: the pins, and ROCm's triton (only there)."""
    names = [p.project for p in plan.pins]
    if plan.variant.family.value == "rocm" and "torch" in names:
        names.append("pytorch-triton-rocm")
    return names


def edit(text: str, plans: Sequence[tuple[str | None, Plan]], *, add: bool = False) -> str:
    """The pyproject text with torchpin's indexes and sources for the plans (one per target; with
    several, each source carries its target's marker) and, with ``add``, the pins in
    ``[project.dependencies]``. A file that can't take them is a ``UsageError``."""

    try:
        doc = tomlkit.parse(text)
    except TOMLKitError as e:
        raise UsageError(f"pyproject.toml is not valid TOML: {str(e).splitlines()[0]}") from None
    if not isinstance(doc.get("project"), dict):
        raise UsageError(
            "pyproject.toml has no [project] table: uv's index sources apply to a project",
            hint="run `uv init` first, or use --format requirements",
        )
    uv = _table(_table(doc, "tool"), "uv")
    markers: list[str | None] = [None] * len(plans)
    if len(plans) > 1:
        markers = list(target_markers([(label or "", plan) for label, plan in plans]))
    for _, plan in plans:
        _check_conflicts(uv, plan.index_url)
    indexes = [i for i in uv.get("index", []) if not str(i.get("name", "")).startswith(PREFIX)]
    sources = uv.get("sources")
    if sources is not None:
        for project in [k for k, v in sources.items() if _ours(v)]:
            del sources[project]
    routes: dict[str, list[dict[str, str]]] = {}
    named: set[str] = set()
    for (_, plan), marker in zip(plans, markers, strict=True):
        if plan.on_pypi:  # no source matches on that target: uv takes PyPI, its default index
            continue
        name = index_name(plan)
        if name not in named:
            named.add(name)
            entry = tomlkit.table()
            entry.update({"name": name, "url": plan.index_url.rstrip("/"), "explicit": True})
            if plan.find_links:
                entry["format"] = "flat"
            indexes.append(entry)
        for project in routed(plan):
            routes.setdefault(project, []).append({"index": name} | ({"marker": marker} if marker else {}))
    if routes:
        sources = sources if sources is not None else _table(uv, "sources")
        for project, entries in routes.items():
            sources[project] = _inline(entries[0]) if len(plans) == 1 else _array([_inline(e) for e in entries])
    _set_indexes(uv, indexes)
    if sources is not None and not sources and "sources" in uv:
        del uv["sources"]
    if add:
        _add_pins(doc["project"], plans, markers)
    out = tomlkit.dumps(doc)
    # Removing a table can leave its blank line behind at the end: the file ends as it did.
    return out.rstrip("\n") + "\n" if text.endswith("\n") and not text.endswith("\n\n") else out


def _inline(values: dict[str, str]) -> Any:

    table = tomlkit.inline_table()
    table.update(values)
    return table


def _array(items: list[Any]) -> Any:

    array = tomlkit.array()
    array.extend(items)
    array.multiline(True)
    return array


def _table(parent: Any, key: str) -> Any:

    if key not in parent:
        parent[key] = tomlkit.table(is_super_table=True) if key == "tool" else tomlkit.table()
    return parent[key]


def _ours(source: Any) -> bool:
    entries = source if isinstance(source, list) else [source]
    return all(isinstance(e, dict) and str(e.get("index", "")).startswith(PREFIX) for e in entries)


def _check_conflicts(uv: Any, url: str) -> None:
    """The user's own routing of the torch family, or their own index for the same URL, is
    theirs: torchpin says so rather than overwrite it."""
    for project, source in (uv.get("sources") or {}).items():
        if project in PROJECTS and not _ours(source):
            raise UsageError(
                f"[tool.uv.sources] already routes {project} ({source}); torchpin would replace it",
                hint="remove that entry and run again, or use --format requirements",
            )
    for index in uv.get("index", []):
        name = str(index.get("name", ""))
        if not name.startswith(PREFIX) and str(index.get("url", "")).rstrip("/") == url.rstrip("/"):
            raise UsageError(
                f"[[tool.uv.index]] {name!r} already names {url}; torchpin would add a second one",
                hint=f"remove it (torchpin names its own {PREFIX}…), or route the torch family to it yourself",
            )


def _set_indexes(uv: Any, indexes: list[Any]) -> None:

    if "index" in uv:
        del uv["index"]
    if indexes:
        aot = tomlkit.aot()
        for index in indexes:
            aot.append(index)
        uv["index"] = aot


def _add_pins(project: Any, plans: Sequence[tuple[str | None, Plan]], markers: Sequence[str | None]) -> None:
    """Each pin replaces the user's line for that project (all targets' pins, each behind its marker)."""

    lines: dict[str, list[str]] = {}
    for (_, plan), marker in zip(plans, markers, strict=True):
        for p in plan.pins:
            lines.setdefault(p.project, []).append(f"{p.project}=={p.version}" + (f" ; {marker}" if marker else ""))
    deps = project.get("dependencies")
    if deps is None:
        deps = tomlkit.array()
        deps.multiline(True)
        project["dependencies"] = deps
    placed: set[str] = set()
    for dep in list(deps):
        try:
            name = Requirement(str(dep)).name.lower()
        except InvalidRequirement:
            continue
        if name in lines:
            index = list(deps).index(dep)
            del deps[index]
            if name not in placed:  # the pins take the place of the user's first line for the project
                for offset, line in enumerate(lines[name]):
                    deps.insert(index + offset, line)
                placed.add(name)
    for name, pins in lines.items():
        if name not in placed:
            for line in pins:
                deps.append(line)


def declared(text: str) -> tuple[list[str], str | None]:
    """The project's own torch-family requirements ([project.dependencies], optional dependencies,
    [dependency-groups]) and its ``requires-python``: what a pyproject lock decides from unless
    REQ overrides them. A key of the wrong type is exit 2 naming it."""
    try:
        doc = tomlkit.parse(text).unwrap()
    except TOMLKitError as e:
        raise UsageError(f"pyproject.toml is not valid TOML: {str(e).splitlines()[0]}") from None
    project = doc.get("project", {})
    if not isinstance(project, dict):
        raise UsageError("pyproject.toml: [project] is not a table")
    lists: list[tuple[str, Any]] = [("project.dependencies", project.get("dependencies", []))]
    for table, where in (
        (project.get("optional-dependencies", {}), "project.optional-dependencies"),
        (doc.get("dependency-groups", {}), "dependency-groups"),
    ):
        if not isinstance(table, dict):
            raise UsageError(f"pyproject.toml: [{where}] is not a table")
        lists += [(f"{where}.{name}", entries) for name, entries in table.items()]
    found = []
    for where, entries in lists:
        if not isinstance(entries, list):
            raise UsageError(f"pyproject.toml: {where} is not an array of requirement strings")
        for entry in entries:
            if not isinstance(entry, str):
                continue  # a dependency group's {include-group = …} table
            try:
                name = Requirement(entry).name.lower()
            except InvalidRequirement:
                raise UsageError(f"pyproject.toml: {where}: {entry[:80]!r} is not a requirement") from None
            if name in PROJECTS:
                found.append(entry)
    requires_python = project.get("requires-python")
    if requires_python is not None and not isinstance(requires_python, str):
        raise UsageError("pyproject.toml: project.requires-python is not a string")
    return found, requires_python
