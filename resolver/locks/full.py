"""``lock --full`` (pure): torchpin's header over uv's complete, hash-pinned resolution.

Every file is pinned by sha256, so plain ``pip install --require-hashes -r`` installs it, and an
unpinned extra index can't slip in another package of the same name (the December 2022
``torchtriton`` incident). ``envs.uv.compile_lock`` produces the body.
"""

from __future__ import annotations

import re

from torchpin.errors import UsageError
from torchpin.models import Plan

from .requirements import header

# A requirement line of uv's output: `name==version`, then ` \` when hash lines follow.
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+?)( \\)?$")


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
