"""``torchpin verify --summary FILES…``: many nodes' ``verify --json`` reports, grouped (reading is
``nodes.file_documents``; the grouping is pure). Nodes that failed the same checks for the same reason
are one group, so a fleet's one broken partition reads as one line, not a hundred."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from torchpin.errors import UsageError

from .nodes import file_documents, json_files


class Outcome(NamedTuple):
    status: str  # "fail", "warn" or "pass"
    why: str  # the failed (or warned) checks and their first detail; "" for a clean pass


class Group(NamedTuple):
    outcome: Outcome
    nodes: tuple[str, ...]


def read_reports(paths: Sequence[str]) -> list[tuple[str, dict[str, Any]]]:
    """(node, report) for every ``verify --json`` in ``paths`` (files or directories of ``*.json``)."""
    out = []
    for given in paths:
        for file in json_files(given, given, "report", _HINT):
            docs = file_documents(file, _HINT)
            for i, (where, doc) in enumerate(docs):
                if not (isinstance(doc, dict) and doc.get("schema") == 1 and isinstance(doc.get("checks"), list)):
                    raise UsageError(f"{where}: not a `torchpin verify --json` report (schema 1)", hint=_HINT)
                out.append((file.stem if len(docs) == 1 else f"{file.stem}#{i + 1}", doc))
    return out


_HINT = "gather them with `torchpin verify --json` on each node, e.g. srun --output=verify/%N.json"


def outcome(report: dict[str, Any]) -> Outcome:
    checks = [c for c in report["checks"] if isinstance(c, dict)]
    for status in ("fail", "warn"):
        hit = [c for c in checks if c.get("status") == status]
        if hit:
            first = hit[0]
            said = str(first.get("cause") or first.get("detail") or "")[:200]
            ids = ", ".join(str(c.get("id")) for c in hit)
            return Outcome(status, f"{ids}: {said}" if said else ids)
    return Outcome("pass" if report.get("ok", True) else "fail", "")


def summarize(reports: Sequence[tuple[str, dict[str, Any]]]) -> list[Group]:
    """Nodes grouped by outcome: failures first, then warnings, then passes; largest group first."""
    grouped: dict[Outcome, list[str]] = {}
    for node, report in reports:
        grouped.setdefault(outcome(report), []).append(node)
    order = {"fail": 0, "warn": 1, "pass": 2}
    groups = [Group(o, tuple(nodes)) for o, nodes in grouped.items()]
    return sorted(groups, key=lambda g: (order[g.outcome.status], -len(g.nodes), g.nodes))


def as_json(groups: Sequence[Group]) -> dict[str, Any]:
    count = {s: sum(len(g.nodes) for g in groups if g.outcome.status == s) for s in ("pass", "warn", "fail")}
    return {
        "schema": 1,
        "ok": count["fail"] == 0,
        "nodes": count,
        "groups": [{"status": g.outcome.status, "why": g.outcome.why, "nodes": list(g.nodes)} for g in groups],
    }


def text(groups: Sequence[Group]) -> str:
    doc = as_json(groups)
    n = doc["nodes"]
    total = n["pass"] + n["warn"] + n["fail"]
    lines = [f"{total} node(s): {n['pass']} passed, {n['warn']} with warnings, {n['fail']} failed"]
    for g in groups:
        names = ", ".join(g.nodes[:8]) + (f" and {len(g.nodes) - 8} more" if len(g.nodes) > 8 else "")
        lines.append(
            f"{g.outcome.status:<4} {len(g.nodes):>4}  {names}"
            + (f"\n           {g.outcome.why}" if g.outcome.why else "")
        )
    return "\n".join(lines) + "\n"
