"""``lock --full`` (pure): torchpin's header over uv's complete, hash-pinned resolution.

Every file is pinned by sha256, so plain ``pip install --require-hashes -r`` installs it, and an
unpinned extra index can't slip in another package of the same name (the December 2022
``torchtriton`` incident). ``envs.uv.compile_lock`` produces the body.
"""

from __future__ import annotations

from torchpin.models import Plan

from .requirements import header


def full_lock(plan: Plan, resolved: str) -> str:
    """The whole lock text: torchpin's header, then uv's hash-pinned resolution."""
    head = [*header(plan), "# Complete and hash-pinned (uv pip compile): pip install --require-hashes -r FILE"]
    return "\n".join(head) + "\n" + resolved
