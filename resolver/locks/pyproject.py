"""``--format pyproject`` (pure: text in, text out): route the torch family to the chosen index in a
uv project, keeping every byte of the user's file outside torchpin's own entries.

torchpin's entries are the ``[[tool.uv.index]]`` tables named ``torchpin-<variant>`` and the
``[tool.uv.sources]`` entries that point at them; re-running replaces exactly those.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from typing import Any

import tomlkit
from packaging.requirements import InvalidRequirement, Requirement
from tomlkit.exceptions import TOMLKitError

from torchpin.errors import UsageError
from torchpin.facts.flash_attn import parse_wheel_name
from torchpin.facts.pyg import local_tag, minor_of
from torchpin.models import FLASH_ATTN, PROJECTS, PYG, Plan

from .multi import markers as target_markers
from .requirements import TRITON_PROJECTS, pyg_page, variant_projects

PREFIX = "torchpin-"


def index_name(plan: Plan) -> str:
    return PREFIX + plan.variant.name


def edit(text: str, plans: Sequence[tuple[str | None, Plan]], *, add: bool = False) -> str:
    """The pyproject text with torchpin's indexes and sources for the plans (one per target; with
    several, each source carries its target's marker) and, with ``add``, the pins where the project
    already requires them. A file that can't take them is a ``UsageError``. A BOM and CRLF line
    ends stay as they were, on the lines torchpin writes too."""
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    body = text[len(bom) :]
    crlf = "\r\n" in body and body.count("\r\n") == body.count("\n")
    out = _edit(body.replace("\r\n", "\n") if crlf else body, plans, add=add)
    return bom + (out.replace("\n", "\r\n") if crlf else out)


def _edit(text: str, plans: Sequence[tuple[str | None, Plan]], *, add: bool) -> str:
    doc = _parse(text)
    if not isinstance(doc.get("project"), dict):
        raise UsageError(
            "pyproject.toml has no [project] table: uv's index sources apply to a project",
            hint="run `uv init` first, or use --format requirements",
        )
    uv = _uv_settings(doc)
    for _, plan in plans:
        _check_conflicts(uv, plan.index_url)
    # torchpin's earlier entries go first, and the rest is added to that text: a re-run then
    # writes what the first run wrote, and a run that routes nothing gives back the user's bytes.
    if _strip(uv):
        doc = _parse(_ending(tomlkit.dumps(doc), text))
    markers: list[str | None] = [None] * len(plans)
    if len(plans) > 1:
        markers = list(target_markers([(label or "", plan) for label, plan in plans]))
    ours: list[Any] = []
    routes: dict[str, list[dict[str, str]]] = {}
    for (_, plan), marker in zip(plans, markers, strict=True):
        if plan.on_pypi:  # no source matches on that target: uv takes PyPI, its default index
            continue
        name = index_name(plan)
        if name not in {str(t["name"]) for t in ours}:
            entry = tomlkit.table()
            entry.update({"name": name, "url": plan.index_url.rstrip("/"), "explicit": True})
            if plan.find_links:
                entry["format"] = "flat"
            ours.append(entry)
        for project in variant_projects(plan):
            routes.setdefault(project, []).append({"index": name} | ({"marker": marker} if marker else {}))
    for (_, plan), marker in zip(plans, markers, strict=True):
        page = pyg_page(plan)
        if page is None:
            continue
        # PyG's page for this torch and variant, as uv takes a find-links page: a flat index.
        name = f"{PREFIX}pyg-{minor_of(plan.release)}-{plan.variant.name}"
        if name not in {str(t["name"]) for t in ours}:
            entry = tomlkit.table()
            entry.update({"name": name, "url": page, "format": "flat", "explicit": True})
            ours.append(entry)
        for pin in plan.pins:
            if pin.project in PYG:
                routes.setdefault(pin.project, []).append({"index": name} | ({"marker": marker} if marker else {}))
    for (_, plan), marker in zip(plans, markers, strict=True):
        for pin in plan.pins:  # flash-attn: its release asset, by URL (uv hashes it into uv.lock)
            if pin.project == FLASH_ATTN and pin.wheel and pin.wheel.url:
                routes.setdefault(pin.project, []).append(
                    {"url": pin.wheel.url} | ({"marker": marker} if marker else {})
                )
    if ours or routes:
        uv = _table(_table(doc, "tool", "tool"), "uv", "tool.uv")
        # The indexes first, at the end of the user's own array of them, then the sources: the
        # user's tables keep their order, and what torchpin adds follows them.
        if "index" in uv:
            uv["index"].extend(ours)
        elif ours:
            aot = tomlkit.aot()
            aot.extend(ours)
            uv["index"] = aot
        new = "sources" not in uv
        sources = _table(uv, "sources", "tool.uv.sources")
        for project, entries in routes.items():
            sources[project] = _inline(entries[0]) if len(plans) == 1 else _array([_inline(e) for e in entries])
        if new:  # a blank line before whatever table follows, as between the user's own tables
            sources.add(tomlkit.nl())
    if add:
        _add_pins(doc, plans, markers)
    return _ending(tomlkit.dumps(doc), text)


def _parse(text: str) -> Any:
    try:
        return tomlkit.parse(text)
    except TOMLKitError as e:
        raise UsageError(f"pyproject.toml is not valid TOML: {str(e).splitlines()[0]}") from None


def _ending(out: str, text: str) -> str:
    """Removing a table can leave its blank line behind at the end: the file ends as it did."""
    return out.rstrip("\n") + "\n" if text.endswith("\n") and not text.endswith("\n\n") else out


def managed(doc: dict[str, Any]) -> dict[str, Any]:
    """torchpin's part of a pyproject (plain values): its indexes, the sources routed to them, and
    the torch-family requirements (pinned by ``--add``). The rest is the user's to edit."""

    def part(parent: dict[str, Any], key: str, kind: type) -> Any:
        value = parent.get(key)
        return value if isinstance(value, kind) else kind()

    uv = part(part(doc, "tool", dict), "uv", dict)
    sources, indexes, project = part(uv, "sources", dict), part(uv, "index", list), part(doc, "project", dict)
    routed = {name for name, source in sources.items() if _ours(source)}
    requirements = []
    arrays = _requirement_arrays(doc) if isinstance(project.get("dependencies"), list) else []
    for key, array in arrays:
        for entry in array:
            name = _name(entry)
            if name is not None and (name in PROJECTS or name in routed):
                requirements.append([key, str(entry)])
    return {
        "index": [i for i in indexes if isinstance(i, dict) and str(i.get("name", "")).startswith(PREFIX)],
        "sources": {name: sources[name] for name in sorted(routed)},
        "requirements": requirements,
    }


def _uv_settings(doc: Any) -> Any:
    """``[tool.uv]`` as it is (empty when absent), every key torchpin edits of the right type."""
    tool = doc.get("tool", {})
    if not isinstance(tool, dict):
        raise UsageError("pyproject.toml: tool is not a table")
    uv = tool.get("uv", {})
    if not isinstance(uv, dict):
        raise UsageError("pyproject.toml: tool.uv is not a table")
    if not isinstance(uv.get("sources", {}), dict):
        raise UsageError("pyproject.toml: tool.uv.sources is not a table")
    if not isinstance(uv.get("index", []), list) or not all(isinstance(i, dict) for i in uv.get("index", [])):
        raise UsageError("pyproject.toml: tool.uv.index is not an array of tables ([[tool.uv.index]])")
    return uv


def _strip(uv: Any) -> bool:
    """Remove torchpin's indexes and sources; whether there were any."""
    found = False
    sources = uv.get("sources")
    if sources is not None:
        for project in [k for k, v in sources.items() if _ours(v)]:
            del sources[project]
            found = True
        if found and not sources:
            del uv["sources"]
    aot = uv.get("index")
    if aot is not None:
        for i in reversed(range(len(aot))):
            if str(aot[i].get("name", "")).startswith(PREFIX):
                del aot[i]
                found = True
        if not len(aot):
            del uv["index"]
    return found


def _inline(values: dict[str, str]) -> Any:

    table = tomlkit.inline_table()
    table.update(values)
    return table


def _array(items: list[Any]) -> Any:

    array = tomlkit.array()
    array.extend(items)
    array.multiline(True)
    return array


def _table(parent: Any, key: str, where: str) -> Any:
    if key not in parent:
        parent[key] = tomlkit.table(is_super_table=True) if key == "tool" else tomlkit.table()
    elif not isinstance(parent[key], dict):
        raise UsageError(f"pyproject.toml: {where} is not a table")
    return parent[key]


def _ours(source: Any) -> bool:
    """An entry torchpin wrote: routed to its own index, or to a flash-attn release file by URL."""
    entries = source if isinstance(source, list) else [source]
    return all(
        isinstance(e, dict) and (str(e.get("index", "")).startswith(PREFIX) or _release_file(e)) for e in entries
    )


def _release_file(entry: Any) -> str | None:
    """The local tag of the flash-attn release wheel a ``{url = …}`` source names (None: not one)."""
    url = str(entry.get("url", "")) if isinstance(entry, dict) else ""
    parsed = parse_wheel_name(urllib.parse.unquote(url.rsplit("/", 1)[-1]))
    return parsed[1].local if parsed else None


def _check_conflicts(uv: Any, url: str) -> None:
    """The user's own routing of the torch family, or their own index for the same URL, is
    theirs: torchpin says so rather than overwrite it."""
    for project, source in (uv.get("sources") or {}).items():
        if (project in PROJECTS or project in TRITON_PROJECTS) and not _ours(source):
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


def _add_pins(doc: Any, plans: Sequence[tuple[str | None, Plan]], markers: Sequence[str | None]) -> None:
    """Each pin goes where the project already requires it: in every requirement array (project
    dependencies, optional dependencies, dependency groups) that names it, the first line for it
    becomes the pins (its comment kept) and later lines for it go. A project required nowhere is
    added to ``[project.dependencies]``."""
    lines: dict[str, list[str]] = {}
    for (_, plan), marker in zip(plans, markers, strict=True):
        for p in plan.pins:
            lines.setdefault(p.project, []).append(f"{p.project}=={p.version}" + (f" ; {marker}" if marker else ""))
    project = doc["project"]
    if "dependencies" not in project:
        deps = tomlkit.array()
        deps.multiline(True)
        project["dependencies"] = deps
    placed: set[str] = set()
    for where, array in _requirement_arrays(doc):
        if not isinstance(array, list):
            raise UsageError(f"pyproject.toml: {where} is not an array of requirement strings")
        firsts: dict[str, int] = {}
        for i, entry in enumerate(array):
            name = _name(entry)
            if name in lines:
                firsts.setdefault(name, i)
        for i in reversed(range(len(array))):
            name = _name(array[i])
            if name in lines and firsts[name] != i:
                del array[i]
        for name, i in sorted(firsts.items(), key=lambda kv: -kv[1]):
            array[i] = lines[name][0]
            for offset, line in enumerate(lines[name][1:], start=1):
                array.insert(i + offset, line)
            placed.add(name)
    for name, pins in lines.items():
        if name not in placed:
            for line in pins:
                project["dependencies"].append(line)


def _requirement_arrays(doc: Any) -> list[tuple[str, Any]]:
    project = doc["project"]
    arrays = [("project.dependencies", project["dependencies"])]
    for key, where in (
        (project.get("optional-dependencies"), "project.optional-dependencies"),
        (doc.get("dependency-groups"), "dependency-groups"),
    ):
        if key is None:
            continue
        if not isinstance(key, dict):
            raise UsageError(f"pyproject.toml: [{where}] is not a table")
        arrays += [(f"{where}.{name}", entries) for name, entries in key.items()]
    return arrays


def _name(entry: Any) -> str | None:
    if not isinstance(entry, str):
        return None  # a dependency group's {include-group = …}
    try:
        return Requirement(str(entry)).name.lower()
    except InvalidRequirement:
        return None


def _own_variants(doc: Any) -> set[str]:
    """The local tags of the pins an earlier run wrote: the variants of its ``torchpin-<variant>``
    indexes, and ``ptXYvariant`` of its ``torchpin-pyg-X.Y-<variant>`` ones."""
    uv = doc.get("tool", {}).get("uv", {}) if isinstance(doc.get("tool"), dict) else {}
    indexes = uv.get("index", []) if isinstance(uv, dict) else []
    names = [str(t.get("name", "")) for t in indexes if isinstance(t, dict)] if isinstance(indexes, list) else []
    ours = {n.removeprefix(PREFIX) for n in names if n.startswith(PREFIX)}
    pyg = {n for n in ours if n.startswith("pyg-")}
    sources = uv.get("sources", {}) if isinstance(uv, dict) else {}
    entries = sources.get(FLASH_ATTN, []) if isinstance(sources, dict) else []
    files = {_release_file(e) for e in (entries if isinstance(entries, list) else [entries])} - {None}
    return (ours - pyg) | {local_tag(*n.removeprefix("pyg-").rsplit("-", 1)) for n in pyg} | {str(f) for f in files}


def _is_own_pin(req: Requirement, variants: set[str]) -> bool:
    """An exact ``==X+variant`` pin of a variant torchpin routes this project to: ``--add`` wrote it."""
    specs = list(req.specifier)
    return len(specs) == 1 and specs[0].operator == "==" and specs[0].version.partition("+")[2] in variants


def _unpinned(req: Requirement) -> str:
    """torchpin's own earlier pin, as the bare requirement a new run decides afresh (its marker kept)."""
    return (
        req.name
        + (f"[{','.join(sorted(req.extras))}]" if req.extras else "")
        + (f" ; {req.marker}" if req.marker else "")
    )


def declared(text: str) -> tuple[list[str], str | None]:
    """The project's own torch-family requirements ([project.dependencies], optional dependencies,
    [dependency-groups]) and its ``requires-python``: what a pyproject lock decides from unless
    REQ overrides them. The pins an earlier ``--add`` wrote (``==X+variant`` of a variant routed to
    by torchpin's own index) are torchpin's, not the user's: they come back bare, to be decided
    afresh and replaced. A key of the wrong type is exit 2 naming it."""
    try:
        doc = tomlkit.parse(text.removeprefix("\ufeff")).unwrap()
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
    ours = _own_variants(doc)
    found = []
    for where, entries in lists:
        if not isinstance(entries, list):
            raise UsageError(f"pyproject.toml: {where} is not an array of requirement strings")
        for entry in entries:
            if not isinstance(entry, str):
                continue  # a dependency group's {include-group = …} table
            try:
                req = Requirement(entry)
            except InvalidRequirement:
                raise UsageError(f"pyproject.toml: {where}: {entry[:80]!r} is not a requirement") from None
            if req.name.lower() in PROJECTS:
                found.append(_unpinned(req) if _is_own_pin(req, ours) else entry)
    requires_python = project.get("requires-python")
    if requires_python is not None and not isinstance(requires_python, str):
        raise UsageError("pyproject.toml: project.requires-python is not a string")
    return found, requires_python
