"""A split fleet (pure): its kinds of node grouped by the build each runs best alone, and the
index file that lists each group's lock, the machines it was made for and their nodes, so
``torchpin install --lock INDEX`` can pick the lock for the machine it runs on.

Each group's lock is a plain lock (pip and uv install it by themselves); the index is torchpin's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import NamedTuple

from torchpin.decide.specs import spec_of
from torchpin.errors import NoCompatibleBuild, UsageError
from torchpin.models import Plan, Target

from . import INDEX_KIND
from .plan import Kind, key_of

INDEX_NAME = "torchpin-fleet.json"


class Group(NamedTuple):
    release: str
    backend: str
    kinds: tuple[Kind, ...]

    @property
    def name(self) -> str:
        return f"{self.backend}-torch{self.release}"

    def file(self, suffix: str) -> str:
        """The lock's file name; a pylock's name part may hold no dot (PEP 751)."""
        if suffix == ".toml":
            return f"pylock.{self.name.replace('.', '_')}.toml"
        return self.name + suffix


def groups_of(kinds: Sequence[Kind], own: dict[Kind, Plan | None]) -> list[Group]:
    """Kinds that run the same build best, together; newest build first."""
    lost = [k for k in kinds if own[k] is None]
    if lost:
        raise NoCompatibleBuild(
            f"no build runs on {', '.join(f'{k.label} ({k.shown})' for k in lost)}",
            hint="leave those inventories out (`torchpin lock` on such a node says why)",
        )
    grouped: dict[tuple[str, str], list[Kind]] = {}
    for kind in kinds:
        plan = own[kind]
        assert plan is not None
        grouped.setdefault((plan.release, plan.variant.name), []).append(kind)
    out = [Group(release, backend, tuple(ks)) for (release, backend), ks in grouped.items()]
    return sorted(out, key=lambda g: (_version(g.release), g.backend), reverse=True)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".") if p.isdigit())


def index_doc(groups: Sequence[tuple[Group, str]], made_with: str) -> str:
    """The index: for each group its lock file, build, machines (each a ``--target`` SPEC) and nodes."""
    doc = {
        "schema": 1,
        "kind": INDEX_KIND,
        "made_with": made_with,
        "groups": [
            {
                "name": g.name,
                "lock": file,
                "torch": g.release,
                "backend": g.backend,
                "nodes": [n for k in g.kinds for n in k.nodes],
                "machines": [
                    {"spec": spec_of(k.target, None), "shown": k.shown, "nodes": list(k.nodes)} for k in g.kinds
                ],
            }
            for g, file in groups
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


class Entry(NamedTuple):
    name: str
    lock: str
    release: str
    backend: str
    machines: tuple[tuple[str, str, tuple[str, ...]], ...]  # (spec, shown, nodes)


def read_index(text: str, where: str) -> list[Entry]:
    """The groups an index lists; anything else is a usage error naming the file."""
    try:
        doc = json.loads(text)
        if doc.get("schema") != 1 or doc.get("kind") != INDEX_KIND:
            raise ValueError("not a torchpin fleet index of schema 1")
        out = []
        for g in doc["groups"]:
            lock = str(g["lock"])
            if "/" in lock or "\\" in lock or lock.startswith("."):
                raise ValueError(f"lock {lock[:60]!r} is not a file beside the index")
            machines = tuple((str(m["spec"]), str(m["shown"]), tuple(map(str, m["nodes"]))) for m in g["machines"])
            out.append(Entry(str(g["name"]), lock, str(g["torch"]), str(g["backend"]), machines))
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise UsageError(
            f"{where}: {e}", hint="lock the fleet again with torchpin lock --machines ... --split"
        ) from None
    if not out:
        raise UsageError(
            f"{where}: lists no group", hint="lock the fleet again with torchpin lock --machines ... --split"
        )
    return out


def same_kind(entry: Entry, target: Target) -> tuple[str, str, tuple[str, ...]] | None:
    """The machine of ``entry`` this target is exactly (same Python, platform, driver, GPUs)."""
    spec = spec_of(key_of(target), None)
    return next((m for m in entry.machines if m[0] == spec), None)
