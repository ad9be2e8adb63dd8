"""``lock --full`` (pure): torchpin's header over uv's complete, hash-pinned resolution.

Every file is pinned by sha256, so plain ``pip install --require-hashes -r`` installs it, and an
unpinned extra index can't slip in another package of the same name (the December 2022
``torchtriton`` incident). ``envs.uv.compile_lock`` produces the body.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from packaging.utils import canonicalize_name

from torchpin.errors import UsageError
from torchpin.models import Plan

from .requirements import header

# A requirement line of uv's output: `name==version`, then ` \` when hash lines follow.
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+?)( \\)?$")
_HASH = re.compile(r"^\s+--hash=sha256:([0-9a-fA-F]{64})( \\)?$")


def bind_hashes(resolved: str, wanted: Mapping[str, set[str]]) -> str:
    """uv's resolution with each project the user hashed (``--hash`` in ``-r``) pinned to only
    the files they allow: uv reads no hash from its input. None of them left is a ``UsageError``,
    not a lock that quietly swapped the user's hashes for uv's."""
    out: list[str] = []
    project = ""
    resolved_as: dict[str, str] = {}
    kept: dict[str, int] = {}
    for line in resolved.splitlines():
        if m := _PIN.match(line):
            project = canonicalize_name(m[1])
            resolved_as[project] = m[2]
            kept.setdefault(project, 0)
        elif (sha := _HASH.match(line)) and project in wanted:
            if sha[1].lower() not in wanted[project]:
                continue
            kept[project] += 1
        out.append(line)
    for name, allowed in wanted.items():
        if name in resolved_as and not kept[name]:
            raise hash_refused(name, resolved_as[name], allowed)
    return _continuations("\n".join(out) + "\n")


def hash_refused(name: str, version: str, allowed: set[str]) -> UsageError:
    return UsageError(
        f"uv resolved {name} {version}, and none of its files has a sha256 your --hash values allow "
        f"({', '.join(sorted(h[:12] + '…' for h in allowed))}); nothing written",
        hint=f"update the --hash values for {name}, or pin the version they were made for",
    )


def _continuations(text: str) -> str:
    """A hash line dropped last leaves a `\\` before a line that isn't a hash: drop that too."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.endswith(" \\") and not nxt.lstrip().startswith("--hash="):
            lines[i] = line[: -len(" \\")]
    return "\n".join(lines) + "\n"


def full_lock(plan: Plan, resolved: str) -> str:
    """The whole lock text: torchpin's header, then uv's resolution with every pin hashed.

    uv writes no hash for what it found on a ``--find-links`` page (the torch family's route), so
    the family's lines get the sha256 torchpin chose the file by. A pin left without one is a
    ``UsageError``: a lock that says "hash-pinned" and isn't would fail ``--require-hashes``."""
    chosen = {(p.project, p.version): p.wheel.sha256 for p in plan.pins if p.wheel and p.wheel.sha256}
    body: list[str] = []
    bare: list[str] = []
    for line in resolved.splitlines():
        m = _PIN.match(line)
        sha = chosen.get((m[1], m[2])) if m and not m[3] else None
        if m and not m[3] and sha is None:
            bare.append(f"{m[1]} {m[2]}")
        body.append(f"{line} \\\n    --hash=sha256:{sha}" if sha else line)
    if bare:
        raise UsageError(
            f"--full pins every file by sha256, and none is known for {', '.join(bare)}"
            + (" (the offline snapshot lists no download.pytorch.org files)" if plan.source == "snapshot" else ""),
            hint="drop --offline so the index's hashes are read"
            if plan.source == "snapshot"
            else "use a mirror that lists sha256 fragments",
        )
    head = [*header(plan), "# Complete and hash-pinned (uv pip compile): pip install --require-hashes -r FILE"]
    return "\n".join(head) + "\n" + "\n".join(body) + "\n"
