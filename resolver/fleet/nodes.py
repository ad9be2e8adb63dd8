"""A fleet's inventories: the ``torchpin detect --json`` of each node, gathered by what the cluster
already runs (``srun --output=inv/%N.json``, a DaemonSet's logs, Ansible), read from files and
directories. A file may hold one document or several (one per line, or concatenated).

A node is named by its file when the file holds one document (``inv/gpu-a100-03.json`` is
``gpu-a100-03``), else by the hostname its document records.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from torchpin.errors import UsageError
from torchpin.machine.host import Host
from torchpin.machine.inventory import host_from_json

# A node's inventory is ~2 KB; a file far larger than a few thousand nodes' worth is not one.
MAX_BYTES = 64 * 1024 * 1024


class Node(NamedTuple):
    name: str
    source: str  # the file (and document number) it came from
    host: Host


def read_nodes(paths: Sequence[str]) -> list[Node]:
    """Every node of the inventories at ``paths`` (files, or directories of ``*.json``), in order;
    two documents naming the same node are one node seen twice, kept once when they agree."""
    nodes: dict[str, Node] = {}
    for given in paths:
        files = json_files(given, f"--machines {given}", "inventory", _GATHER)
        for file in files:
            for node in _read_file(file):
                seen = nodes.get(node.name)
                if seen is not None and seen.host != node.host:
                    raise UsageError(
                        f"{node.source} and {seen.source} both describe node {node.name!r}, differently",
                        hint="keep one inventory per node (gather them again)",
                    )
                nodes[node.name] = node
    return list(nodes.values())


_GATHER = "gather them with `torchpin detect --json` on each node, e.g. srun --output=inventories/%N.json"


def read_text(path: Path, hint: str) -> str:
    """A JSON file another machine wrote: UTF-8, not huge; anything else is one line naming it."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise UsageError(f"{path}: over {MAX_BYTES >> 20} MB; not one machine's JSON", hint=hint)
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text", hint=hint) from None
    except OSError as e:
        raise UsageError(f"{path}: cannot read it ({e.strerror or e})", hint=hint) from None


def _read_file(path: Path) -> list[Node]:
    docs = file_documents(path, _GATHER)
    if not docs:
        raise UsageError(f"{path}: empty; not a `torchpin detect --json` inventory", hint=_GATHER)
    out = []
    for i, (where, doc) in enumerate(docs):
        host = host_from_json(doc, where)
        name = path.stem if len(docs) == 1 else (host.hostname or f"{path.stem}#{i + 1}")
        out.append(Node(name, where, host))
    return out


def json_files(given: str, label: str, what: str, hint: str) -> list[Path]:
    """The files ``given`` names: itself, or a directory's ``*.json``; anything else is one line."""
    path = Path(given)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file())
        if not files:
            raise UsageError(f"{label}: no *.json {what} in that directory", hint=hint)
        return files
    if path.is_file():
        return [path]
    raise UsageError(f"{label}: no such file or directory", hint=hint)


def file_documents(path: Path, hint: str) -> list[tuple[str, object]]:
    """Each JSON document in ``path``, with where it is (the file, and its number when several)."""
    docs = documents(read_text(path, hint), str(path))
    return [(str(path) if len(docs) == 1 else f"{path} (document {i + 1})", doc) for i, doc in enumerate(docs)]


def documents(text: str, where: str) -> list[object]:
    """The JSON documents in ``text``, one after another (pretty-printed or one per line)."""
    decoder = json.JSONDecoder()
    docs: list[object] = []
    at = 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            return docs
        try:
            doc, at = decoder.raw_decode(text, at)
        except json.JSONDecodeError as e:
            raise UsageError(
                f"{where}: not JSON at line {e.lineno} column {e.colno} ({e.msg})",
                hint="one JSON output per node (srun --output=DIR/%N.json keeps them apart)",
            ) from None
        docs.append(doc)
