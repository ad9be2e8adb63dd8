"""The shipped snapshot's newest torch release and what pairs with it, for tests whose subject is
"the newest": a refresh that adds a release must not break them (``scripts/next_release.py``
writes such a snapshot to try). A test about one release's own facts names that release."""

from __future__ import annotations

import json
from typing import Any

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from torchpin.cli.snapshot import snapshot_bytes

_DOC: dict[str, Any] = json.loads(snapshot_bytes())
TORCH: str = max(_DOC["releases"], key=Version)
_PAIRS = _DOC["releases"][TORCH]["companions"]
VISION: str = _PAIRS["torchvision"]["version"]  # the recorded pairing: what a variant index has
AUDIO: str = _PAIRS["torchaudio"]["version"]
CODEC: str = _PAIRS["torchcodec"]["version"]


def newest_declaring(project: str, torch: str = TORCH) -> str:
    """The newest release of ``project`` whose declared torch range admits ``torch``: what PyPI's
    own files give (macOS, PyPI's default Linux build)."""
    admits = [
        v
        for v, body in _DOC["projects"][project].items()
        if body.get("requires_torch") and Version(torch) in SpecifierSet(body["requires_torch"])
    ]
    return str(max(admits, key=Version)) if admits else str(_PAIRS[project]["version"])


def torch_file(tag: str, variant: str = "cpu") -> str:
    """The newest torch's wheel name on a variant page, e.g. ``torch_file("cp311-cp311-manylinux_2_28_x86_64")``."""
    return f"torch-{TORCH}+{variant}-{tag}.whl"


def _next(version: str, step: int = 1) -> str:
    v = Version(version)
    return f"{v.major}.{v.minor + step}.0"


NEXT: str = _next(TORCH)  # a release the snapshot doesn't know yet
AFTER_NEXT: str = _next(TORCH, 2)


def newest_release(project: str) -> str:
    """The newest release of ``project`` the snapshot lists."""
    return str(max(_DOC["projects"][project], key=Version))


def requires_torch(project: str, version: str) -> str | None:
    """What that companion release declares on torch (its recorded ``Requires-Dist``)."""
    spec: str | None = _DOC["projects"][project][version].get("requires_torch")
    return spec


PREVIOUS: str = sorted(_DOC["releases"], key=Version)[-2]  # the release before the newest
NEXT_VISION: str = _next(VISION)  # a torchvision the snapshot doesn't know yet
