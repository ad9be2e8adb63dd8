"""``--format pyproject`` (pure: text in, text out): route the torch family to the chosen index in a
uv project, keeping every byte of the user's file outside torchpin's own entries.

torchpin's entries are the ``[[tool.uv.index]]`` tables named ``torchpin-<variant>`` and the
``[tool.uv.sources]`` entries that point at them; re-running replaces exactly those.
"""

from __future__ import annotations

from typing import Any

from .errors import UsageError
from .models import PROJECTS, Plan

PREFIX = "torchpin-"


def index_name(plan: Plan) -> str:
    return PREFIX + plan.variant.name


def routed(plan: Plan) -> list[str]:
    """Projects uv must take from the variant index: the pins, and ROCm's triton (only there)."""
    names = [p.project for p in plan.pins]
    if plan.variant.family.value == "rocm" and "torch" in names:
        names.append("pytorch-triton-rocm")
    return names


def edit(text: str, plan: Plan, *, add: bool = False) -> str:
    """The pyproject text with torchpin's index and sources for ``plan`` (and, with ``add``, the pins
    in ``[project.dependencies]``); a file that can't take them is a ``UsageError``."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

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
    name = index_name(plan)
    _check_conflicts(uv, plan.index_url)
    indexes = [i for i in uv.get("index", []) if not str(i.get("name", "")).startswith(PREFIX)]
    sources = uv.get("sources")
    if sources is not None:
        for project in [k for k, v in sources.items() if _ours(v)]:
            del sources[project]
    if not plan.on_pypi:
        entry = tomlkit.table()
        entry.update({"name": name, "url": plan.index_url.rstrip("/"), "explicit": True})
        if plan.find_links:
            entry["format"] = "flat"
        indexes.append(entry)
        sources = sources if sources is not None else _table(uv, "sources")
        for project in routed(plan):
            sources[project] = tomlkit.inline_table()
            sources[project].update({"index": name})
    _set_indexes(uv, indexes)
    if sources is not None and not sources and "sources" in uv:
        del uv["sources"]
    if add:
        _add_pins(doc["project"], plan)
    out = tomlkit.dumps(doc)
    # Removing a table can leave its blank line behind at the end: the file ends as it did.
    return out.rstrip("\n") + "\n" if text.endswith("\n") and not text.endswith("\n\n") else out


def _table(parent: Any, key: str) -> Any:
    import tomlkit

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
    import tomlkit

    if "index" in uv:
        del uv["index"]
    if indexes:
        aot = tomlkit.aot()
        for index in indexes:
            aot.append(index)
        uv["index"] = aot


def _add_pins(project: Any, plan: Plan) -> None:
    import tomlkit
    from packaging.requirements import InvalidRequirement, Requirement

    pins = {p.project: f"{p.project}=={p.version}" for p in plan.pins}
    deps = project.get("dependencies")
    if deps is None:
        deps = tomlkit.array()
        deps.multiline(True)
        project["dependencies"] = deps
    for i, dep in enumerate(list(deps)):
        try:
            name = Requirement(str(dep)).name.lower()
        except InvalidRequirement:
            continue
        if name in pins:
            deps[i] = pins.pop(name)
    for line in pins.values():
        deps.append(line)
